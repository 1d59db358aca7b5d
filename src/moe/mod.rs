//! Serverless MoE inference (Liu, Wang, Wu, "Optimizing Distributed Deployment of MoE Model
//! Inference in Serverless Computing", INFOCOM 2025): the model and platform, presets, the
//! closed-form cost and latency of a deployment (eqs. 3–11), the deployment optimisers
//! (exact, ODS = Alg. 1, baselines) and a CPU-cluster baseline. A pure library: policies that
//! run these deployments in the engine are not wired yet.
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
pub mod presets;
pub mod spec;
