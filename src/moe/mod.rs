//! Mixture-of-experts (MoE) inference on serverless functions (Liu, Wang, Wu, INFOCOM 2025):
//! token-level routing traces and the expert-popularity predictors that a deployment policy is
//! given.
//!
//! - [`routing`]: routing traces (which experts each token picks in each MoE layer), readers of
//!   the recorded Mixtral-8x7B trace and of our own format, a seeded synthetic generator and the
//!   fit of its parameters to a trace.
//! - [`predict`]: the profiled table Ω and the predictors of tokens per expert (d_{e,i}) for a
//!   batch: the paper's Bayesian MAP predictor, Lina (token ID only), the oracle and uniform, with
//!   the paper's error metric.

pub mod predict;
pub mod routing;
