//! Predictors of tokens per expert, d_{e,i}, for a batch (what a deployment is sized on), and
//! the paper's error metric.
//!
//! A [`Predictor`] turns a [`Batch`] into a layer × expert table of predicted token counts
//! (each token counts once for each of its k experts, as in
//! [`RoutingTrace::counts`](crate::moe::routing::RoutingTrace::counts)). The predictors:
//! - [`MapPredictor::bayes`]: the paper's MAP predictor (eq. 1–2) over the profiled table Ω;
//! - [`MapPredictor::lina`]: Lina's, f₁ (token id or its stand-in) only;
//! - either with [`Aggregate::Expected`]: expected counts instead of the paper's top-k votes;
//! - [`Oracle`]: the batch's real counts;
//! - [`Uniform`]: tokens × k / experts for every expert.
//!
//! [`table`] holds Ω and the features (which stand in for the paper's token, position and
//! attention IDs in our traces); [`prediction_mae_tokens`] is the paper's accuracy metric.

pub mod bayes;
pub mod table;

pub use bayes::{Aggregate, MapKind, MapPredictor};
pub use table::{FeatureSet, Features, Key, ProfileTable};

use crate::moe::routing::Batch;

/// Predicts tokens per expert per layer (layer × expert) for a batch.
pub trait Predictor {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// The predicted d_{e,i} of `batch`.
    fn predict(&self, batch: &Batch<'_>) -> Vec<Vec<f64>>;
}

/// The real counts (prediction error 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct Oracle;

impl Predictor for Oracle {
    fn name(&self) -> &str {
        "oracle"
    }
    fn predict(&self, batch: &Batch<'_>) -> Vec<Vec<f64>> {
        batch
            .counts()
            .into_iter()
            .map(|r| r.into_iter().map(f64::from).collect())
            .collect()
    }
}

/// Every expert gets tokens × k / experts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Uniform;

impl Predictor for Uniform {
    fn name(&self) -> &str {
        "uniform"
    }
    fn predict(&self, batch: &Batch<'_>) -> Vec<Vec<f64>> {
        let s = batch.shape();
        let share = (batch.len() * s.top_k) as f64 / s.experts as f64;
        vec![vec![share; s.experts]; s.layers]
    }
}

/// The paper's metric: the mean, over every (layer, expert), of |real − predicted| tokens.
/// Tables of different sizes compare only their common part; an empty table gives NaN.
pub fn prediction_mae_tokens(real: &[Vec<u32>], predicted: &[Vec<f64>]) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for (r, p) in real.iter().zip(predicted) {
        for (a, b) in r.iter().zip(p) {
            s += (f64::from(*a) - b).abs();
            n += 1;
        }
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// The mean of [`prediction_mae_tokens`] over `batches` (NaN if there are none).
pub fn mean_mae(predictor: &dyn Predictor, batches: &[Batch<'_>]) -> f64 {
    if batches.is_empty() {
        return f64::NAN;
    }
    batches
        .iter()
        .map(|b| prediction_mae_tokens(&b.counts(), &predictor.predict(b)))
        .sum::<f64>()
        / batches.len() as f64
}
