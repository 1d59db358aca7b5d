//! Baseline deployments of §1.8: the best single mode, a random mode per layer, LambdaML.

use rand::RngExt;

use crate::kernel::rng;
use crate::moe::cost::{Deployment, ExpertChoice, LayerDeployment, Mode};
use crate::moe::error::MoeError;
use crate::moe::model::{MoeModel, Platform};

use super::exact::{combine, layer_frontiers};
use super::frontier::layer_frontier;
use super::{Plan, Prepared};

/// The cheapest deployment that uses one mode for every layer (the "single MIQCP over all
/// methods" baseline, with the mode fixed model-wide), under the latency limit.
pub fn single_mode(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    limit_ns: u64,
) -> Result<Plan, MoeError> {
    let prep = Prepared::new(model, platform, counts)?;
    let mut best: Option<Plan> = None;
    let mut first_err = None;
    for mode in Mode::ALL {
        let modes = vec![vec![mode]; model.layers.len()];
        match layer_frontiers(&prep, &modes)
            .and_then(|f| combine(&prep, &f, limit_ns))
            .and_then(|d| prep.plan(d))
        {
            Ok(p) => {
                if best.as_ref().is_none_or(|b| p.usd() < b.usd()) {
                    best = Some(p);
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    best.ok_or_else(|| first_err.unwrap_or(MoeError::Deployment("no mode".into())))
}

/// A mode drawn per layer with a seeded generator (uniformly among the modes feasible for that
/// layer, so a draw never makes the problem infeasible by itself), then the exact optimum for
/// those modes under the latency limit.
pub fn random_mode(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    limit_ns: u64,
    seed: u64,
) -> Result<Plan, MoeError> {
    let prep = Prepared::new(model, platform, counts)?;
    let mut r = rng::from_seed(seed);
    let mut fronts = Vec::with_capacity(model.layers.len());
    for e in 0..model.layers.len() {
        let mut per_mode = Vec::new();
        let mut first_err = None;
        for mode in Mode::ALL {
            match layer_frontier(&prep, e, &[mode]) {
                Ok(f) => per_mode.push(f),
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
        if per_mode.is_empty() {
            return Err(first_err.unwrap_or(MoeError::NoFeasibleMode {
                layer: e,
                reason: "no mode is feasible".into(),
            }));
        }
        let k = r.random_range(0..per_mode.len());
        fronts.push(per_mode.swap_remove(k));
    }
    let d = combine(&prep, &fronts, limit_ns)?;
    prep.plan(d)
}

/// LambdaML's memory size: every function at 3,008 MB (§1.8; the legacy maximum).
pub const LAMBDAML_MEMORY_MB: u32 = 3008;

/// LambdaML's mode: non-pipelined storage (2). LambdaML exchanges data between functions
/// through storage services (S3, ElastiCache, DynamoDB) and does not pipeline; and it has no
/// prediction, so picking the mode per batch from the predicted counts (the cheapest feasible
/// mode) would give it information it does not use. Mode 2 is also the only mode feasible at
/// every batch size (direct breaks the payload limit from 2,560 tokens of 3 KB).
pub const LAMBDAML_MODE: Mode = Mode::Storage;

/// LambdaML: every expert at 3,008 MB, one replica, mode `mode` (use [`LAMBDAML_MODE`]); no
/// latency limit is applied (report its latency). Errors when a constraint breaks.
pub fn lambdaml(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    mode: Mode,
) -> Result<Plan, MoeError> {
    let prep = Prepared::new(model, platform, counts)?;
    let layers = model
        .layers
        .iter()
        .map(|l| LayerDeployment {
            mode,
            beta: 1,
            experts: vec![
                ExpertChoice {
                    memory_mb: LAMBDAML_MEMORY_MB,
                    replicas: 1,
                };
                l.experts.len()
            ],
        })
        .collect();
    prep.plan(Deployment { layers })
}
