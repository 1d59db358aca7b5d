//! Serverless mixture-of-experts (MoE) inference (Liu, Wang, Wu, "Optimizing Distributed
//! Deployment of MoE Model Inference in Serverless Computing", INFOCOM 2025). A library so far:
//! policies that run these deployments in the engine are not wired yet.
//!
//! - [`routing`]: routing traces (which experts each token picks in each MoE layer), readers of
//!   the recorded Mixtral-8x7B trace and of our own format, a seeded synthetic generator and the
//!   fit of its parameters to a trace.
//! - [`predict`]: the profiled table Ω and the predictors of tokens per expert (d_{e,i}) for a
//!   batch: the paper's Bayesian MAP predictor, Lina (token ID only), the oracle and uniform, with
//!   the paper's error metric.
//! - [`model`], [`presets`], [`spec`]: the model and platform, the paper's models and
//!   Mixtral-8x7B with their sources, and the scenario table.
//! - [`cost`]: the closed-form cost and latency of a deployment (eqs. 3–11).
//! - [`optimize`]: the deployment optimisers (exact, ODS = Alg. 1, baselines);
//!   [`cpu_cluster`]: the CPU-cluster baseline.
//! - [`refine`]: the Bayesian-optimisation refinement of Ω against a measured cost (Alg. 2).
//!
//! ```
//! use infersim::moe::{optimize, presets};
//! let model = presets::gpt2_moe();
//! let platform = presets::aws_lambda_platform();
//! let counts = vec![presets::zipf_counts(10_240, 1, 4, 1.0); 12];
//! let limit = 600_000_000_000; // 600 s
//! let best = optimize::exact(&model, &platform, &counts, limit).unwrap();
//! let lml = optimize::lambdaml(&model, &platform, &counts, optimize::LAMBDAML_MODE).unwrap();
//! assert!(best.usd() < lml.usd());
//! ```

pub mod cost;
pub mod cpu_cluster;
pub mod error;
pub mod model;
pub mod optimize;
pub mod predict;
pub mod presets;
pub mod refine;
pub mod routing;
pub mod spec;
