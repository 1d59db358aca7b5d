//! How each MoE policy chooses its deployment: predict the tokens per expert of the batches it
//! will serve, optimise on the prediction, and (with `refine = "bo"`) refine the profiled table
//! by Bayesian optimisation on learning batches.
//!
//! The deployment is planned once for all served batches, on the mean of the predictions of
//! those batches (rounded to whole tokens, each layer summing to the batch's tokens × top-k):
//! the predictor sees each batch's features before it is served, as in the paper; the
//! deployment then meets the batches' real routing, and what does not fit is an overflow.

use crate::moe::error::MoeError;
use crate::moe::model::{MoeModel, Platform};
use crate::moe::optimize::{self, LAMBDAML_MODE, Plan};
use crate::moe::predict::{self, MapPredictor, Oracle, ProfileTable, Uniform};
use crate::moe::refine::{BoSettings, Iteration, refine};
use crate::moe::routing::Batch;
use crate::policy::ConfigError;

use super::MoeKind;
use super::scenario::MoeScenario;

/// A predictor of tokens per expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predictor {
    /// The paper's Bayesian MAP predictor over three features (eq. 1–2).
    Bayes,
    /// Lina: the MAP predictor over the first feature only.
    Lina,
    /// The real counts.
    Oracle,
    /// Every expert the same share.
    Uniform,
}

impl Predictor {
    /// `predictor = "bayes" | "lina" | "oracle" | "uniform"` (default bayes).
    pub fn parse(s: Option<&str>) -> Result<Self, ConfigError> {
        Ok(match s.unwrap_or("bayes") {
            "bayes" => Predictor::Bayes,
            "lina" => Predictor::Lina,
            "oracle" => Predictor::Oracle,
            "uniform" => Predictor::Uniform,
            other => {
                return Err(ConfigError::at(
                    "predictor",
                    format!("\"{other}\"; allowed: \"bayes\", \"lina\", \"oracle\" or \"uniform\""),
                ));
            }
        })
    }

    /// The predictor built on the scenario's profiled part.
    fn build(self, sc: &MoeScenario) -> Result<Box<dyn predict::Predictor>, String> {
        let table = || {
            ProfileTable::profile(&sc.profile, sc.features)
                .map_err(|e| format!("profiling the routing for the {self:?} predictor: {}", e.0))
        };
        Ok(match self {
            Predictor::Bayes => Box::new(MapPredictor::bayes(&table()?)),
            Predictor::Lina => Box::new(MapPredictor::lina(&table()?)),
            Predictor::Oracle => Box::new(Oracle),
            Predictor::Uniform => Box::new(Uniform),
        })
    }
}

/// A deployment optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// The exact minimum-cost deployment.
    Exact,
    /// The paper's ODS (Alg. 1).
    Ods,
    /// The best single mode for all layers.
    SingleMode,
    /// A seeded random mode per layer, optimal given the modes.
    RandomMode {
        /// Seed.
        seed: u64,
    },
}

impl Optimizer {
    /// `optimizer = "exact" | "ods" | "single-mode" | "random-mode"` (default exact); `seed`
    /// for random-mode.
    pub fn parse(s: Option<&str>, seed: Option<u64>) -> Result<Self, ConfigError> {
        let o = match s.unwrap_or("exact") {
            "exact" => Optimizer::Exact,
            "ods" => Optimizer::Ods,
            "single-mode" => Optimizer::SingleMode,
            "random-mode" => Optimizer::RandomMode {
                seed: seed.unwrap_or(1),
            },
            other => {
                return Err(ConfigError::at(
                    "optimizer",
                    format!(
                        "\"{other}\"; allowed: \"exact\", \"ods\", \"single-mode\" or \"random-mode\""
                    ),
                ));
            }
        };
        if seed.is_some() && !matches!(o, Optimizer::RandomMode { .. }) {
            return Err(ConfigError::at(
                "seed",
                "`seed` chooses the random modes of optimizer = \"random-mode\" only",
            ));
        }
        Ok(o)
    }

    /// Optimises a deployment for `counts` under `limit_ns`.
    pub fn run(
        self,
        model: &MoeModel,
        platform: &Platform,
        counts: &[Vec<u32>],
        limit_ns: u64,
    ) -> Result<Plan, MoeError> {
        match self {
            Optimizer::Exact => optimize::exact(model, platform, counts, limit_ns),
            Optimizer::Ods => optimize::ods(model, platform, counts, limit_ns, true).map(|p| p.0),
            Optimizer::SingleMode => optimize::single_mode(model, platform, counts, limit_ns),
            Optimizer::RandomMode { seed } => {
                optimize::random_mode(model, platform, counts, limit_ns, seed)
            }
        }
    }
}

/// Refinement of the prediction.
#[derive(Clone, Debug, PartialEq)]
pub enum Refine {
    /// None: deploy on the prediction.
    None,
    /// The paper's BO refinement of Ω (Alg. 2, [`crate::moe::refine`]) on the scenario's
    /// learning batches, with the simulated bill of each learning batch as the black box.
    Bo(Box<BoSettings>),
}

impl Refine {
    /// `refine = "none" | "bo"` (default none), `bo` its settings.
    pub fn parse(s: Option<&str>, bo: Option<&toml::Value>) -> Result<Self, ConfigError> {
        match s.unwrap_or("none") {
            "none" => {
                if bo.is_some() {
                    return Err(ConfigError::at(
                        "bo",
                        "`bo` settings are for refine = \"bo\"",
                    ));
                }
                Ok(Refine::None)
            }
            "bo" => {
                let settings: BoSettings = match bo {
                    None => BoSettings::default(),
                    Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
                        ConfigError::at("bo", e.message().to_string())
                    })?,
                };
                settings
                    .validate()
                    .map_err(|e| ConfigError::at("bo", e.to_string()))?;
                Ok(Refine::Bo(Box::new(settings)))
            }
            other => Err(ConfigError::at(
                "refine",
                format!("\"{other}\"; allowed: \"none\" or \"bo\""),
            )),
        }
    }
}

/// What a policy chose, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The deployment of the MoE layers.
    pub deployment: crate::moe::cost::Deployment,
    /// The counts it was optimised for (`[layer][expert]`).
    pub planned_counts: Vec<Vec<u32>>,
    /// The mean predicted tokens per expert over the served batches (predicting policies).
    pub predicted: Option<Vec<Vec<f64>>>,
    /// The mean real tokens per expert over the served batches.
    pub real: Vec<Vec<f64>>,
    /// Mean prediction error over the served batches (tokens per expert).
    pub prediction_mae: Option<f64>,
    /// The closed-form cost and latency on the planned counts.
    pub planned: Plan,
    /// The BO refinement's iterations (`refine = "bo"`).
    pub bo_history: Vec<Iteration>,
}

/// Chooses the deployment of a policy of kind `kind` in `sc`.
pub fn choose(kind: &MoeKind, sc: &MoeScenario) -> Result<Choice, String> {
    let (m, p) = (&sc.setup.model, &sc.setup.platform);
    let limit = sc.setup.latency_limit_ns;
    let test = sc.test();
    let real = mean_counts(test.iter().map(|b| to_f64(&b.counts())));
    let total = m.batch_tokens as u64 * m.top_k as u64;
    let infeasible = |e: MoeError| format!("no deployment: {e}");
    match kind {
        MoeKind::Lambdaml | MoeKind::CpuCluster => {
            let counts = round_to_total(&real, total);
            let planned = optimize::lambdaml(m, p, &counts, LAMBDAML_MODE).map_err(infeasible)?;
            Ok(Choice {
                deployment: planned.deployment.clone(),
                planned_counts: counts,
                predicted: None,
                real,
                prediction_mae: None,
                planned,
                bo_history: Vec::new(),
            })
        }
        MoeKind::Deploy {
            predictor,
            optimizer,
            refine: Refine::None,
        } => {
            let pred = predictor.build(sc)?;
            planned_choice(pred.as_ref(), optimizer, sc, real, Vec::new())
        }
        MoeKind::Deploy {
            predictor,
            optimizer,
            refine: Refine::Bo(settings),
        } => {
            if *predictor != Predictor::Bayes {
                return Err(
                    "refine = \"bo\" refines the profiled table of the \"bayes\" predictor; use predictor = \"bayes\"".into(),
                );
            }
            let table = ProfileTable::profile(&sc.profile, sc.features)
                .map_err(|e| format!("profiling the routing: {}", e.0))?;
            let learning = sc.learning();
            let mut settings = (**settings).clone();
            settings.learning_batches = settings.learning_batches.min(learning.len()).max(1);
            if learning.is_empty() {
                return Err("refine = \"bo\" needs learning batches: the profiled part of the routing holds no full batch (raise profile_fraction or the routing's tokens)".into());
            }
            let optimise =
                |m: &MoeModel, p: &Platform, c: &[Vec<u32>], l: u64| optimizer.run(m, p, c, l);
            // The black box: the simulated bill of the experts for one learning batch, warm
            // (the planner's bill, which the engine reproduces to the cent with warm functions).
            let mut black_box = |d: &crate::moe::cost::Deployment, real: &[Vec<u32>]| {
                let run = crate::plan::moe::MoeRun {
                    model: m.clone(),
                    platform: p.clone(),
                    deployment: d.clone(),
                    batches: vec![real.to_vec()],
                    on_overflow: sc.on_overflow,
                    latency_limit_ns: limit,
                    prediction_mae: None,
                    cluster: None,
                };
                match crate::plan::moe::Moe::new(&run) {
                    Ok((moe, _)) => {
                        let b = &moe.batches()[0];
                        if b.fails_after.is_some() {
                            f64::INFINITY
                        } else {
                            b.experts.usd(p)
                        }
                    }
                    Err(_) => f64::INFINITY,
                }
            };
            let refined = refine(
                m,
                p,
                limit,
                &table,
                &learning,
                &optimise,
                &mut black_box,
                &settings,
            )
            .map_err(|e| format!("BO refinement: {e}"))?;
            // The refined table is a predictor like the profiled one: the served deployment is
            // planned on its prediction of the served batches, as without refinement (the BO's
            // own best plan fits its learning batches, not the batches served).
            let pred = MapPredictor::bayes(&refined.table);
            planned_choice(&pred, optimizer, sc, real, refined.history)
        }
    }
}

/// The deployment `optimizer` plans on `pred`'s prediction of the served batches, whose mean
/// real counts are `real`.
fn planned_choice(
    pred: &dyn predict::Predictor,
    optimizer: &Optimizer,
    sc: &MoeScenario,
    real: Vec<Vec<f64>>,
    bo_history: Vec<Iteration>,
) -> Result<Choice, String> {
    let (m, p) = (&sc.setup.model, &sc.setup.platform);
    let total = m.batch_tokens as u64 * m.top_k as u64;
    let (predicted, mae) = predict_batches(pred, &sc.test());
    let counts = round_to_total(&predicted, total);
    let planned = optimizer
        .run(m, p, &counts, sc.setup.latency_limit_ns)
        .map_err(|e| format!("no deployment: {e}"))?;
    Ok(Choice {
        deployment: planned.deployment.clone(),
        planned_counts: counts,
        predicted: Some(predicted),
        real,
        prediction_mae: Some(mae),
        planned,
        bo_history,
    })
}

/// The mean prediction over `batches` and the mean prediction error.
fn predict_batches(p: &dyn predict::Predictor, batches: &[Batch<'_>]) -> (Vec<Vec<f64>>, f64) {
    let preds: Vec<Vec<Vec<f64>>> = batches.iter().map(|b| p.predict(b)).collect();
    let mae = batches
        .iter()
        .zip(&preds)
        .map(|(b, q)| predict::prediction_mae_tokens(&b.counts(), q))
        .sum::<f64>()
        / batches.len().max(1) as f64;
    (mean_counts(preds.into_iter()), mae)
}

fn to_f64(c: &[Vec<u32>]) -> Vec<Vec<f64>> {
    c.iter()
        .map(|r| r.iter().map(|&x| x as f64).collect())
        .collect()
}

/// The element-wise mean of count matrices.
fn mean_counts(it: impl Iterator<Item = Vec<Vec<f64>>>) -> Vec<Vec<f64>> {
    let mut sum: Vec<Vec<f64>> = Vec::new();
    let mut n = 0usize;
    for c in it {
        if sum.is_empty() {
            sum = c;
        } else {
            for (s, r) in sum.iter_mut().zip(&c) {
                for (a, b) in s.iter_mut().zip(r) {
                    *a += b;
                }
            }
        }
        n += 1;
    }
    for r in &mut sum {
        for a in r.iter_mut() {
            *a /= n.max(1) as f64;
        }
    }
    sum
}

/// Rounds each layer of `x` to whole tokens summing to `total` (largest remainders; ties to
/// the lower expert index).
pub fn round_to_total(x: &[Vec<f64>], total: u64) -> Vec<Vec<u32>> {
    x.iter()
        .map(|row| {
            let sum: f64 = row.iter().map(|v| v.max(0.0)).sum();
            let scale = if sum > 0.0 { total as f64 / sum } else { 0.0 };
            let exact: Vec<f64> = row.iter().map(|v| v.max(0.0) * scale).collect();
            let mut out: Vec<u32> = exact.iter().map(|v| v.floor() as u32).collect();
            let mut left = total.saturating_sub(out.iter().map(|&v| v as u64).sum());
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| {
                let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
                rb.total_cmp(&ra).then(a.cmp(&b))
            });
            for &i in order.iter().cycle().take(row.len() * 2) {
                if left == 0 {
                    break;
                }
                out[i] += 1;
                left -= 1;
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_each_layer_total() {
        let r = round_to_total(&[vec![1.5, 1.5, 7.0], vec![0.2, 0.2, 0.6]], 10);
        assert_eq!(r[0].iter().sum::<u32>(), 10);
        assert_eq!(r[0], vec![2, 1, 7]);
        assert_eq!(r[1], vec![2, 2, 6]);
        // Nothing predicted: the total is spread from the first expert on.
        assert_eq!(round_to_total(&[vec![0.0, 0.0]], 3)[0], vec![2, 1]);
    }
}
