//! Bayesian-optimisation refinement of the profiled table Ω: the paper's Alg. 2 ("BO framework
//! with multi-dimensional ε-greedy search", `shared/reference/papers.md` §1.6).
//!
//! The black box is the billed cost of serving the learning batches with their **real** token
//! counts under the deployment that an optimiser ([`exact`](crate::moe::optimize::exact) or
//! ODS, the caller's choice) builds from the counts **predicted** with Ω. The variables are Q
//! key-value pairs written into Ω; the surrogate is a Gaussian process ([`gp`]); the acquisition
//! is a decaying ε-greedy search with one ε per dimension.
//!
//! # The dimensions
//! Chosen once, deterministically, from Ω₀ and the learning batches (ties: key order):
//! - dimensions 1..μQ (rounded half up): the keys of Ω₀ with the largest counts among those
//!   whose (features, layer) occurs in a learning batch: they adjust counts of existing keys;
//! - dimensions μQ+1..Q: keys (features, layer, expert) of the learning batches' (features,
//!   layer) × every expert that are not dimensions yet, the most frequent (features, layer)
//!   first — the part of the normal range ℙ that can change a learning batch's prediction; a
//!   value above 0 for a key Ω₀ does not have creates it.
//!
//! Fewer dimensions are used when fewer keys qualify. Dimension q ranges over the integers
//! [0, hi_q], hi_q = 2 × the largest count of Ω₀ among the keys with the same f₁ and layer (or
//! of the key itself), at least 2 — enough to flip a token's MAP expert either way.
//!
//! # Iteration τ = 0, 1, … (iteration 0 measures Ω₀ itself)
//! 1. ε_τ = ε₀/(1+ρτ) for every dimension.
//! 2. Write the pairs into Ω_τ (a count of 0 removes the key), predict every learning batch
//!    with [`MapPredictor::bayes`], **average** the J predictions into one count matrix,
//!    rounded with [`round_counts`] so that every layer sums to the mean batch's tokens × top-k,
//!    and run the optimiser on it (the caller should set the model's `batch_tokens` to the
//!    batches' size). If the optimiser finds no deployment, the iteration costs +∞ (iteration
//!    0: the error is returned).
//! 3. For every learning batch j and expert (e, i), with g the plan's replicas:
//!    r = ⌈d^pred_{j,e,i}/g⌉ (batch j's own rounded prediction) and R = ⌈d^real_{j,e,i}/g⌉.
//!    If |r − R| > α, the (features, layer e) of every token of batch j join the limited range
//!    𝕃_τ and the first matching case applies (the three are inside the α-test):
//!    (i) memory: M_real = P + M^itrm + R(D^in + D^o) ≥ the configured memory → ρ′ = ρ₁,
//!    n_new = ⌈M_real / memory⌉; (ii) payload: the layer is direct (mode 3) and R·D^in > D^p
//!    (the paper's "R^real > D^p" read in bytes) → ρ′ = ρ₂, n_new = ⌈R·D^in / D^p⌉;
//!    (iii) otherwise ρ′ = ρ₃, n_new = 1. **Replication:** R is per replica, so the expert is
//!    given min(G, g·n_new) replicas (G = the platform's `max_replicas`, 8 in the paper's), the
//!    largest over the batches, in the deployment that is then measured (and returned): (iii)
//!    leaves it unchanged. The plan is re-evaluated on the predicted counts after the change.
//!    **ε:** once per iteration (papers.md §1.6 \[INF\]), with the largest triggered ρ′,
//!    ε_{1..μQ} ← min(1, (1+ρ′τ)·ε_τ) — slower decay for the badly predicted pairs.
//! 4. c_τ = the mean over the J batches of the black box on (deployment, real counts of batch
//!    j). The pairs and c_τ join the history.
//! 5. Propose the next pairs (below: the surrogate's greedy candidate around the incumbent,
//!    then per-dimension ε-greedy exploration).
//! 6. Stop when the best cost so far, min_{t ≤ τ} c_t, has improved by at most ζ (relative to
//!    its value λ iterations earlier) over the last λ iterations, or after `max_iterations`.
//!
//! The result is the best iteration (least c_τ; ties: the earliest): its Ω, its plan (with the
//! replication of step 3) and the whole history.
//!
//! # Proposal (step 5)
//! 1. **Surrogate.** A [`gp::Gp`] is fitted to the history: the Q values of every iteration,
//!    normalised by the ranges [0, hi_q], and the costs c_τ (an iteration without a deployment
//!    stands in as the worst finite cost plus the spread of the finite ones). The kernel is
//!    isotropic, chosen by log marginal likelihood among length scales ℓ_m × {½, 1, 2, 4}
//!    (ℓ_m the median distance between the history's normalised points, 1 if they coincide) ×
//!    noise variances {10⁻⁶, 10⁻³, 10⁻²}.
//! 2. **Greedy candidate** — the exploitation step of ε-shotgun (De Ath, Everson, Fieldsend &
//!    Rahat, "ε-shotgun: ε-greedy batch Bayesian optimisation", GECCO 2020), greedy meaning the
//!    least posterior mean as in their "Greed is good" (ACM TELO 2021). N candidates are drawn
//!    around the incumbent (the best iteration's values): candidate 0 is the incumbent itself;
//!    every other one moves each dimension with probability min(1, 16/Q) by a normal step of
//!    standard deviation 0.2·hi_q, rounded and clipped to [0, hi_q]. The candidate of least
//!    posterior mean is kept (ties: the lower index, so a flat surrogate keeps the incumbent).
//! 3. **Per-dimension ε-greedy.** Dimension q keeps the candidate's value with probability
//!    1 − ε_q; with probability ε_q it explores: an integer drawn uniformly from [0, hi_q] —
//!    for dimensions 1..μQ only if their (features, layer) is in 𝕃_τ (the limited range; a
//!    dimension outside it keeps the candidate's value), for the others always (the normal
//!    range ℙ).
//!
//! # Constants the paper does not give ([`BoSettings`] defaults)
//! - Q = 1000: the paper's.
//! - μ = 0.5: no reason to favour adjusting existing keys over creating new ones.
//! - α = 32 tokens per replica: 1.25 % of an expert's even share of a 10,240-token batch over 4
//!   experts (2,560); fewer tokens barely move a GPT2-MoE expert's memory (32 × 6 KB) or
//!   time (≈ 0.14 s at 768 MB).
//! - ρ = 0.5: ε falls to 1/11 of ε₀ by τ = 20, the paper's ≈ 20 iterations to converge.
//! - ρ₁ = 0.4, ρ₂ = 0.25, ρ₃ = 0.1 (ρ₁ > ρ₂ > ρ₃, all below ρ): at τ = 20 the rescaled ε of
//!   the first μQ dimensions is 82 % (memory), 55 % (payload) or 27 % (other) of ε₀, against
//!   9 % without a trigger: an out-of-memory failure is the costliest misprediction (a failed
//!   run and a re-run), so its pairs explore longest.
//! - λ = 5 iterations, ζ = 0.001: stop once the best cost has gained at most 0.1 % over five
//!   iterations — a quarter of the paper's ≈ 20-iteration run without progress.
//! - ε₀ = 0.1: at most Q/10 = 100 pairs explored in the first proposal, few enough that the
//!   greedy candidate still decides most values.
//! - J = 1 learning batch: the paper learns on 10,240 tokens, one batch.
//! - 50 iterations at most (2.5 × the paper's convergence), N = 256 candidates per proposal
//!   (cheap next to one optimiser call), seed 0.
//!
//! # Determinism
//! Every random draw comes from the seeded portable stream `rng::indexed_stream(seed,
//! "moe-bo", 0, τ)`; maps are ordered (`BTreeMap`). Rayon builds the predictors (Ω split into
//! one part of consecutive layers per thread: a layer's posterior reads only that layer's keys,
//! so the rows are the same as with one predictor over Ω), predicts the learning batches and
//! scores the candidates; everything is collected by index, so results do not depend on the
//! number of threads. No wall time is recorded.
//!
//! # Example
//! ```
//! use infersim::moe::cost::{Deployment, evaluate};
//! use infersim::moe::optimize::{LAMBDAML_MODE, exact, lambdaml};
//! use infersim::moe::predict::{FeatureSet, ProfileTable};
//! use infersim::moe::presets::{aws_lambda_platform, gpt2_moe};
//! use infersim::moe::refine::{BoSettings, refine};
//! use infersim::moe::routing::{Shape, synth};
//!
//! let mut p = synth::SynthParams::new(Shape::new(12, 4, 1).unwrap(), 4, 256, 7);
//! (p.vocabulary, p.token_affinity) = (40, 0.5);
//! let trace = synth::generate(&p).unwrap();
//! let (profile, learn) = trace.split_by_sequence(|s| s < 3);
//! let fs = FeatureSet::TokenId { position_bucket: 64 };
//! let omega0 = ProfileTable::profile(&profile, fs).unwrap();
//! let (mut model, platform) = (gpt2_moe(), aws_lambda_platform());
//! model.batch_tokens = 256;
//! let settings = BoSettings { pairs: 40, max_iterations: 3, ..BoSettings::default() };
//! // The black box: the closed-form cost on the real counts; a deployment they do not fit is
//! // billed as LambdaML (every expert at 3,008 MB).
//! let mut bill = |d: &Deployment, real: &[Vec<u32>]| {
//!     evaluate(&model, &platform, real, d)
//!         .or_else(|_| lambdaml(&model, &platform, real, LAMBDAML_MODE).map(|p| p.evaluation))
//!         .map_or(f64::INFINITY, |e| e.usd)
//! };
//! let out = refine(
//!     &model, &platform, u64::MAX, &omega0, &learn.batches(256), &exact, &mut bill, &settings,
//! )
//! .unwrap();
//! assert!(out.history.len() <= 3);
//! assert!(out.history.windows(2).all(|w| w[1].best_usd <= w[0].best_usd));
//! assert_eq!(out.history[out.best_iteration].cost_usd, out.history.last().unwrap().best_usd);
//! ```

mod acquisition;
pub mod gp;
mod space;

pub use space::round_counts;

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernel::rng;
use crate::moe::cost::{Deployment, Mode, evaluate};
use crate::moe::error::MoeError;
use crate::moe::model::{BYTES_PER_MB, MoeModel, Platform, config};
use crate::moe::optimize::Plan;
use crate::moe::predict::{Key, MapPredictor, Predictor, ProfileTable, prediction_mae_tokens};
use crate::moe::routing::Batch;

use acquisition::Proposal;
use space::Slot;

/// A deployment optimiser: (model, platform, integer counts layer × expert, latency limit in
/// ns) → plan; e.g. `&optimize::exact`, or ODS through
/// `&|m, p, c, l| optimize::ods(m, p, c, l, true).map(|r| r.0)`.
pub type Optimiser<'a> =
    dyn Fn(&MoeModel, &Platform, &[Vec<u32>], u64) -> Result<Plan, MoeError> + 'a;

/// The black box: the billed dollars of serving one learning batch whose real counts are the
/// second argument under the deployment (+∞ for a run that cannot be served; never NaN or
/// negative).
pub type BlackBox<'a> = dyn FnMut(&Deployment, &[Vec<u32>]) -> f64 + 'a;

/// The most refinement work a scenario may ask for: `max_iterations × candidates × pairs ×
/// learning_batches` (the defaults give 1.28 × 10⁷, about 4 s on one core).
pub const MAX_BO_WORK: u128 = 1_000_000_000;

/// The constants of Alg. 2 (a TOML table; every key optional, unknown keys rejected). The
/// defaults and the reasons for them are in the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoSettings {
    /// Q: key-value pairs searched (at least 1). Default 1000 (the paper's).
    pub pairs: usize,
    /// μ: the share of the Q pairs that adjust existing keys of Ω₀ (0 to 1). Default 0.5.
    pub split: f64,
    /// α: the per-replica token error above which an expert's prediction counts as wrong,
    /// tokens (at least 0). Default 32.
    pub count_error: f64,
    /// ρ: the decay rate of ε, ε_τ = ε₀/(1+ρτ) (positive). Default 0.5.
    pub decay: f64,
    /// ρ₁: the decay rate kept for the first μQ pairs after an out-of-memory misprediction
    /// (above ρ₂, below ρ). Default 0.4.
    pub decay_memory: f64,
    /// ρ₂: the same after a payload-limit misprediction (above ρ₃). Default 0.25.
    pub decay_payload: f64,
    /// ρ₃: the same after any other misprediction (at least 0). Default 0.1.
    pub decay_other: f64,
    /// λ: iterations without progress before stopping (at least 1). Default 5.
    pub patience: usize,
    /// ζ: the relative improvement of the best cost over λ iterations that counts as no
    /// progress (at least 0). Default 0.001.
    pub tolerance: f64,
    /// ε₀: the initial exploration probability of every pair (0 to 1). Default 0.1.
    pub epsilon0: f64,
    /// J: how many of the given batches are learning batches, from the first (at least 1).
    /// Default 1.
    pub learning_batches: usize,
    /// Iterations at most, iteration 0 (Ω₀ itself) included (at least 1). Default 50.
    pub max_iterations: usize,
    /// N: candidates scored by the surrogate per proposal (at least 1). Default 256.
    pub candidates: usize,
    /// Seed of the random streams. Default 0.
    pub seed: u64,
}

impl Default for BoSettings {
    fn default() -> Self {
        BoSettings {
            pairs: 1000,
            split: 0.5,
            count_error: 32.0,
            decay: 0.5,
            decay_memory: 0.4,
            decay_payload: 0.25,
            decay_other: 0.1,
            patience: 5,
            tolerance: 0.001,
            epsilon0: 0.1,
            learning_batches: 1,
            max_iterations: 50,
            candidates: 256,
            seed: 0,
        }
    }
}

fn key(name: &str) -> String {
    format!("moe.refine.{name}")
}

impl BoSettings {
    /// Checks every constant; the error names the setting, what it is, and what is allowed.
    pub fn validate(&self) -> Result<(), MoeError> {
        let bad =
            |name: &str, found: String, allowed: &str| Err(config(&key(name), &found, allowed));
        if self.pairs == 0 {
            return bad(
                "pairs",
                "0 key-value pairs (Q)".into(),
                "the number of key-value pairs Q searched must be at least 1",
            );
        }
        if !(0.0..=1.0).contains(&self.split) {
            return bad(
                "split",
                format!("a split ratio μ of {}", self.split),
                "the split ratio μ (the share of pairs that adjust existing keys) must be \
                 from 0 to 1",
            );
        }
        if !(self.count_error >= 0.0) || !self.count_error.is_finite() {
            return bad(
                "count_error",
                format!("a count-error threshold α of {}", self.count_error),
                "the count-error threshold α must be a finite number of tokens, at least 0",
            );
        }
        if !(self.decay > 0.0) || !self.decay.is_finite() {
            return bad(
                "decay",
                format!("a decay rate ρ of {}", self.decay),
                "the decay rate ρ of ε must be a finite positive number",
            );
        }
        if !(self.decay_other >= 0.0) {
            return bad(
                "decay_other",
                format!("ρ₃ = {}", self.decay_other),
                "the other-case decay rate ρ₃ must be at least 0",
            );
        }
        if !(self.decay_payload > self.decay_other) {
            return bad(
                "decay_payload",
                format!(
                    "ρ₂ = {}, not above the other-case rate ρ₃ = {}",
                    self.decay_payload, self.decay_other
                ),
                "the payload-case decay rate ρ₂ must be above the other-case rate ρ₃ \
                 (ρ₁ > ρ₂ > ρ₃, all below ρ)",
            );
        }
        if !(self.decay_memory > self.decay_payload) {
            return bad(
                "decay_memory",
                format!(
                    "ρ₁ = {}, not above the payload-case rate ρ₂ = {}",
                    self.decay_memory, self.decay_payload
                ),
                "the memory-case decay rate ρ₁ must be above the payload-case rate ρ₂ \
                 (ρ₁ > ρ₂ > ρ₃, all below ρ)",
            );
        }
        if !(self.decay_memory < self.decay) {
            return bad(
                "decay_memory",
                format!(
                    "ρ₁ = {}, not below the decay rate ρ = {}",
                    self.decay_memory, self.decay
                ),
                "every case's decay rate ρ′ (ρ₁, ρ₂, ρ₃) must be below the decay rate ρ of ε, \
                 or the rescaled ε would not decay",
            );
        }
        if self.patience == 0 {
            return bad(
                "patience",
                "0 iterations (λ)".into(),
                "the patience λ must be at least 1 iteration",
            );
        }
        if !(self.tolerance >= 0.0) || !self.tolerance.is_finite() {
            return bad(
                "tolerance",
                format!("a tolerance ζ of {}", self.tolerance),
                "the relative tolerance ζ must be a finite number, at least 0",
            );
        }
        if !(0.0..=1.0).contains(&self.epsilon0) {
            return bad(
                "epsilon0",
                format!("an initial exploration probability ε₀ of {}", self.epsilon0),
                "the initial exploration probability ε₀ must be from 0 to 1",
            );
        }
        if self.learning_batches == 0 {
            return bad(
                "learning_batches",
                "0 learning batches (J)".into(),
                "the number of learning batches J must be at least 1",
            );
        }
        if self.max_iterations == 0 {
            return bad(
                "max_iterations",
                "0 iterations".into(),
                "the maximum number of iterations must be at least 1",
            );
        }
        if self.candidates == 0 {
            return bad(
                "candidates",
                "0 candidates".into(),
                "the number of candidates scored per proposal must be at least 1",
            );
        }
        // The surrogate scores every candidate over every pair in every iteration: bound the
        // product, which drives the refinement's time (validation runs it).
        let work = (self.max_iterations as u128)
            * (self.candidates as u128)
            * (self.pairs as u128)
            * (self.learning_batches as u128);
        if work > MAX_BO_WORK {
            return bad(
                "max_iterations",
                format!(
                    "max_iterations × candidates × pairs × learning_batches = {} × {} × {} × {} = {work:.3e}",
                    self.max_iterations, self.candidates, self.pairs, self.learning_batches
                ),
                &format!(
                    "at most {MAX_BO_WORK:.0e} (about 5 minutes of refinement on one core; the defaults give 1.3e7): lower one of them"
                ),
            );
        }
        Ok(())
    }
}

/// How many (learning batch, expert) pairs triggered each case of step 3 in an iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cases {
    /// (i): the real tokens need at least the configured memory.
    pub memory: usize,
    /// (ii): direct mode and the real per-replica input exceeds the payload limit.
    pub payload: usize,
    /// (iii): any other error above α.
    pub other: usize,
}

impl Cases {
    /// All triggers.
    pub fn total(&self) -> usize {
        self.memory + self.payload + self.other
    }
}

/// One iteration of the history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Iteration {
    /// τ (0 = Ω₀).
    pub tau: usize,
    /// c_τ: the mean black-box dollars over the learning batches (+∞ without a deployment).
    pub cost_usd: f64,
    /// min_{t ≤ τ} c_t.
    pub best_usd: f64,
    /// Whether the optimiser found a deployment.
    pub feasible: bool,
    /// Triggers of the three cases.
    pub cases: Cases,
    /// The ρ′ used to rescale ε (0 when nothing triggered).
    pub rho_prime: f64,
    /// |𝕃_τ|: distinct (features, layer) in the limited range.
    pub limited_slots: usize,
    /// Replicas added by the replication of step 3.
    pub replicas_added: u32,
    /// Mean ε over the Q dimensions used for the next proposal.
    pub mean_epsilon: f64,
    /// Mean over the learning batches of the paper's prediction error (tokens per expert).
    pub mae_tokens: f64,
}

/// Why the refinement stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Stop {
    /// The best cost improved by at most ζ over λ iterations.
    Patience,
    /// `max_iterations` were run.
    MaxIterations,
}

/// The outcome of [`refine`].
#[derive(Clone, Debug, PartialEq)]
pub struct Refined {
    /// Ω with the best iteration's pairs written in.
    pub table: ProfileTable,
    /// The best iteration's plan: the optimiser's deployment with the replication of step 3,
    /// evaluated on `counts`.
    pub plan: Plan,
    /// The averaged predicted counts the plan was optimised for.
    pub counts: Vec<Vec<u32>>,
    /// Every iteration, in order.
    pub history: Vec<Iteration>,
    /// τ of the best iteration.
    pub best_iteration: usize,
    /// The key of every dimension, in dimension order.
    pub dimensions: Vec<Key>,
    /// How many of the dimensions (the first ones) adjust keys of Ω₀.
    pub existing_dimensions: usize,
    /// Why it stopped.
    pub stop: Stop,
}

/// The best iteration so far.
struct Best {
    tau: usize,
    plan: Plan,
    counts: Vec<Vec<u32>>,
    x: Vec<u64>,
}

/// What step 3 did to one plan.
struct Checked {
    plan: Plan,
    cases: Cases,
    rho_prime: f64,
    limited: BTreeSet<Slot>,
    added: u32,
}

fn check_shapes(
    model: &MoeModel,
    omega0: &ProfileTable,
    batches: &[Batch<'_>],
) -> Result<(), MoeError> {
    let s = omega0.shape();
    if model.layers.len() != s.layers
        || model.layers.iter().any(|l| l.experts.len() != s.experts)
        || model.top_k as usize != s.top_k
    {
        return Err(MoeError::Counts(format!(
            "the profiled table has {} layers × {} experts, top-{}, but the model has {} MoE \
             layers of {} experts, top-{}",
            s.layers,
            s.experts,
            s.top_k,
            model.layers.len(),
            model.layers.first().map_or(0, |l| l.experts.len()),
            model.top_k
        )));
    }
    if let Some((j, b)) = batches.iter().enumerate().find(|(_, b)| b.shape() != s) {
        return Err(MoeError::Counts(format!(
            "learning batch {j} has {} layers × {} experts, top-{}; the profiled table has \
             {} × {}, top-{}",
            b.shape().layers,
            b.shape().experts,
            b.shape().top_k,
            s.layers,
            s.experts,
            s.top_k
        )));
    }
    if let Some(j) = batches.iter().position(|b| b.is_empty()) {
        return Err(MoeError::Counts(format!(
            "learning batch {j} has no token; allowed: at least one"
        )));
    }
    Ok(())
}

/// Ω split by layer into parts, one MAP predictor per part. The posterior of a layer (eq. 1,
/// and the marginal of unseen f₁) reads only that layer's keys ([`MapPredictor`]'s docs: P′(f₂)
/// and P′(f₃) are taken per layer), so each part's predictor gives its layers' rows exactly as
/// one predictor over Ω would (the unit test `parts_predict_like_one_table` checks it); the
/// parts are built and queried in parallel.
struct Parts {
    tables: Vec<ProfileTable>,
    /// The part of each layer.
    of_layer: Vec<usize>,
}

impl Parts {
    /// `omega0` in `n` parts (at least 1, at most one per layer) of consecutive layers.
    fn new(omega0: &ProfileTable, n: usize) -> Self {
        let layers = omega0.shape().layers;
        let n = n.clamp(1, layers.max(1));
        let of_layer: Vec<usize> = (0..layers).map(|l| l * n / layers.max(1)).collect();
        let mut tables = vec![ProfileTable::empty(omega0.shape(), omega0.feature_set()); n];
        for (k, &c) in omega0.iter() {
            // Keys of Ω₀ are valid keys of the same shape.
            let _ = tables[of_layer[k.layer as usize]].set(*k, c);
        }
        Parts { tables, of_layer }
    }

    /// The predictions of `batches` (batch × layer × expert) with the values `x` written under
    /// the keys `dims`.
    fn predict(
        &self,
        dims: &[Key],
        x: &[u64],
        batches: &[Batch<'_>],
    ) -> Result<Vec<Vec<Vec<f64>>>, MoeError> {
        let predictors: Vec<MapPredictor> = (0..self.tables.len())
            .into_par_iter()
            .map(|p| {
                let mut t = self.tables[p].clone();
                for (k, &v) in dims.iter().zip(x) {
                    if self.of_layer[k.layer as usize] == p {
                        t.set(*k, v).map_err(|e| MoeError::Counts(e.0))?;
                    }
                }
                Ok(MapPredictor::bayes(&t))
            })
            .collect::<Result<_, MoeError>>()?;
        let jobs: Vec<(usize, usize)> = (0..batches.len())
            .flat_map(|j| (0..predictors.len()).map(move |p| (j, p)))
            .collect();
        let rows: Vec<Vec<Vec<f64>>> = jobs
            .par_iter()
            .map(|&(j, p)| predictors[p].predict(&batches[j]))
            .collect();
        Ok((0..batches.len())
            .map(|j| {
                self.of_layer
                    .iter()
                    .enumerate()
                    .map(|(l, &p)| rows[j * predictors.len() + p][l].clone())
                    .collect()
            })
            .collect())
    }
}

/// Ω₀ with the values `x` written under the dimensions' keys.
fn write(omega0: &ProfileTable, dims: &[Key], x: &[u64]) -> Result<ProfileTable, MoeError> {
    let mut t = omega0.clone();
    for (k, &v) in dims.iter().zip(x) {
        t.set(*k, v).map_err(|e| MoeError::Counts(e.0))?;
    }
    Ok(t)
}

/// Step 3: the three cases, 𝕃_τ and the replication.
#[allow(clippy::too_many_arguments)]
fn check_plan(
    model: &MoeModel,
    platform: &Platform,
    slots: &[Vec<Vec<Slot>>],
    real: &[Vec<Vec<u32>>],
    predicted: &[Vec<Vec<u32>>],
    counts: &[Vec<u32>],
    plan: Plan,
    s: &BoSettings,
) -> Result<Checked, MoeError> {
    let dep0 = &plan.deployment;
    let mut replicas: Vec<Vec<u32>> = dep0
        .layers
        .iter()
        .map(|l| l.experts.iter().map(|c| c.replicas).collect())
        .collect();
    let mut cases = Cases::default();
    let mut rho_prime: f64 = 0.0;
    let mut limited = BTreeSet::new();
    let mut added_slots: BTreeSet<(usize, usize)> = BTreeSet::new();
    let g_max = platform.max_replicas.max(1);
    for j in 0..real.len() {
        for (e, layer) in dep0.layers.iter().enumerate() {
            for (i, ch) in layer.experts.iter().enumerate() {
                let g = ch.replicas.max(1) as u64;
                let r = (predicted[j][e][i] as u64).div_ceil(g);
                let big_r = (real[j][e][i] as u64).div_ceil(g);
                if (r as f64 - big_r as f64).abs() <= s.count_error {
                    continue;
                }
                if added_slots.insert((j, e)) {
                    limited.extend(slots[j][e].iter().copied());
                }
                let x = &model.layers[e].experts[i];
                let need = x.params + x.intermediate + big_r * (model.d_in + model.d_out);
                let mem = ch.memory_mb as u64 * BYTES_PER_MB;
                let input = big_r * model.d_in;
                let (rho, n_new) = if need >= mem {
                    cases.memory += 1;
                    (s.decay_memory, need.div_ceil(mem.max(1)))
                } else if layer.mode == Mode::Direct && input > platform.payload_limit {
                    cases.payload += 1;
                    (
                        s.decay_payload,
                        input.div_ceil(platform.payload_limit.max(1)),
                    )
                } else {
                    cases.other += 1;
                    (s.decay_other, 1)
                };
                rho_prime = rho_prime.max(rho);
                let want = g.saturating_mul(n_new).min(g_max as u64) as u32;
                replicas[e][i] = replicas[e][i].max(want);
            }
        }
    }
    let mut added = 0;
    let mut dep: Deployment = dep0.clone();
    for (l, row) in dep.layers.iter_mut().zip(&replicas) {
        for (c, &g) in l.experts.iter_mut().zip(row) {
            added += g - c.replicas;
            c.replicas = g;
        }
    }
    let plan = if added > 0 {
        Plan {
            evaluation: evaluate(model, platform, counts, &dep)?,
            deployment: dep,
        }
    } else {
        plan
    };
    Ok(Checked {
        plan,
        cases,
        rho_prime,
        limited,
        added,
    })
}

/// Runs Alg. 2 (see the [module docs](self)): refines Ω₀ with the first J of `batches` as the
/// learning batches, the deployment optimiser `optimiser` under the latency limit `limit_ns`,
/// and `black_box` as the measured cost. Errors: invalid settings (naming the setting), shapes
/// that do not match, fewer batches than J, the optimiser's error at iteration 0, a NaN or
/// negative black-box value.
#[allow(clippy::too_many_arguments)]
pub fn refine(
    model: &MoeModel,
    platform: &Platform,
    limit_ns: u64,
    omega0: &ProfileTable,
    batches: &[Batch<'_>],
    optimiser: &Optimiser<'_>,
    black_box: &mut BlackBox<'_>,
    settings: &BoSettings,
) -> Result<Refined, MoeError> {
    let s = settings;
    s.validate()?;
    if batches.len() < s.learning_batches {
        return Err(config(
            &key("learning_batches"),
            &format!(
                "J = {} learning batches, but {} given",
                s.learning_batches,
                match batches.len() {
                    1 => "only 1 batch is".to_string(),
                    n => format!("{n} batches are"),
                }
            ),
            "the number of learning batches J must be at most the number of batches given",
        ));
    }
    let learn = &batches[..s.learning_batches];
    check_shapes(model, omega0, learn)?;
    let k = model.top_k as u64;
    let real: Vec<Vec<Vec<u32>>> = learn.iter().map(|b| b.counts()).collect();
    let totals: Vec<u64> = learn.iter().map(|b| b.len() as u64 * k).collect();
    let tokens: usize = learn.iter().map(|b| b.len()).sum();
    let mean_total = (tokens as f64 / learn.len() as f64).round() as u64 * k;
    let freq = space::slots(omega0, learn);
    let space = space::choose(omega0, &freq, s.pairs, s.split);
    if space.len() == 0 {
        return Err(MoeError::Counts(
            "no key to refine: the learning batches have no (features, layer) and no expert".into(),
        ));
    }
    let q = space.len();
    let fs = omega0.feature_set();
    let batch_slots: Vec<Vec<Vec<Slot>>> = learn
        .iter()
        .map(|b| {
            (0..omega0.shape().layers)
                .map(|e| {
                    let set: BTreeSet<Slot> = (0..b.len())
                        .map(|t| (fs.features(b, t, e), e as u16))
                        .collect();
                    set.into_iter().collect()
                })
                .collect()
        })
        .collect();
    let parts = Parts::new(omega0, rayon::current_num_threads());
    let mut x = space.start.clone();
    let mut xs: Vec<Vec<u64>> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    let mut history: Vec<Iteration> = Vec::new();
    let mut best: Option<Best> = None;
    let mut best_usd = f64::INFINITY;
    let mut stop = Stop::MaxIterations;
    for tau in 0..s.max_iterations {
        let per_batch = parts.predict(&space.keys, &x, learn)?;
        let mae = real
            .iter()
            .zip(&per_batch)
            .map(|(r, p)| prediction_mae_tokens(r, p))
            .sum::<f64>()
            / learn.len() as f64;
        let rounded: Vec<Vec<Vec<u32>>> = per_batch
            .iter()
            .zip(&totals)
            .map(|(p, &t)| round_counts(p, t))
            .collect();
        let shape = omega0.shape();
        let mut mean: Vec<Vec<f64>> = shape.zeros();
        for p in &per_batch {
            for (m, row) in mean.iter_mut().zip(p) {
                for (a, b) in m.iter_mut().zip(row) {
                    *a += b / learn.len() as f64;
                }
            }
        }
        let counts = round_counts(&mean, mean_total);
        let mut checked = match optimiser(model, platform, &counts, limit_ns) {
            Ok(plan) => Some(check_plan(
                model,
                platform,
                &batch_slots,
                &real,
                &rounded,
                &counts,
                plan,
                s,
            )?),
            Err(e) if tau == 0 => return Err(e),
            Err(_) => None,
        };
        let (cost, cases, rho_prime, limited, added) = match &mut checked {
            Some(c) => {
                let mut sum = 0.0;
                for (j, r) in real.iter().enumerate() {
                    let v = black_box(&c.plan.deployment, r);
                    if v.is_nan() || v < 0.0 {
                        return Err(config(
                            "black box",
                            &format!("{v} dollars for learning batch {j} at iteration {tau}"),
                            "a billed cost of at least 0 dollars (+∞ for a run that cannot be \
                             served)",
                        ));
                    }
                    sum += v;
                }
                (
                    sum / learn.len() as f64,
                    c.cases,
                    c.rho_prime,
                    std::mem::take(&mut c.limited),
                    c.added,
                )
            }
            None => (f64::INFINITY, Cases::default(), 0.0, BTreeSet::new(), 0),
        };
        let feasible = checked.is_some();
        if let Some(c) = checked
            && (cost < best_usd || best.is_none())
        {
            best_usd = best_usd.min(cost);
            best = Some(Best {
                tau,
                plan: c.plan,
                counts,
                x: x.clone(),
            });
        }
        let base = s.epsilon0 / (1.0 + s.decay * tau as f64);
        let eps_existing = (base * (1.0 + rho_prime * tau as f64)).min(1.0);
        let eps_normal = base.min(1.0);
        let normal = q - space.existing;
        history.push(Iteration {
            tau,
            cost_usd: cost,
            best_usd,
            feasible,
            cases,
            rho_prime,
            limited_slots: limited.len(),
            replicas_added: added,
            mean_epsilon: (space.existing as f64 * eps_existing + normal as f64 * eps_normal)
                / q as f64,
            mae_tokens: mae,
        });
        xs.push(x.clone());
        ys.push(cost);
        if tau >= s.patience {
            let before = history[tau - s.patience].best_usd;
            if before - best_usd <= s.tolerance * before.abs() {
                stop = Stop::Patience;
                break;
            }
        }
        if tau + 1 == s.max_iterations {
            break;
        }
        let incumbent = best.as_ref().map_or(0, |b| b.tau);
        let mut r = rng::indexed_stream(s.seed, "moe-bo", 0, tau as u64);
        x = acquisition::propose(
            &Proposal {
                space: &space,
                xs: &xs,
                ys: &ys,
                incumbent,
                eps_existing,
                eps_normal,
                limited: &limited,
                candidates: s.candidates,
            },
            &mut r,
        );
    }
    let Best {
        tau: best_iteration,
        plan,
        counts,
        x: bx,
    } = best.ok_or_else(|| MoeError::Deployment("the refinement measured no plan".into()))?;
    Ok(Refined {
        table: write(omega0, &space.keys, &bx)?,
        plan,
        counts,
        history,
        best_iteration,
        dimensions: space.keys,
        existing_dimensions: space.existing,
        stop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moe::predict::FeatureSet;
    use crate::moe::routing::Shape;
    use crate::moe::routing::synth::{SynthParams, generate};

    #[test]
    fn refinement_work_beyond_the_bound_is_rejected_naming_the_settings() {
        assert!(BoSettings::default().validate().is_ok());
        let big = BoSettings {
            max_iterations: 10_000,
            candidates: 100_000,
            ..BoSettings::default()
        };
        let e = big.validate().unwrap_err().to_string();
        assert!(
            e.contains("max_iterations")
                && e.contains("10000 × 100000 × 1000 × 1")
                && e.contains("at most 1e9"),
            "{e}"
        );
    }

    #[test]
    fn parts_predict_like_one_table() {
        let mut p = SynthParams::new(Shape::new(5, 4, 2).unwrap(), 6, 120, 3);
        (p.vocabulary, p.token_affinity) = (30, 0.5);
        let trace = generate(&p).unwrap();
        let (profile, eval) = trace.split_by_sequence(|s| s < 4);
        let omega =
            ProfileTable::profile(&profile, FeatureSet::TokenId { position_bucket: 8 }).unwrap();
        let batches = eval.batches(100);
        // Some written pairs: one existing key dropped, one raised, one created.
        let keys = omega.keys();
        let mut dims = vec![keys[0], keys[keys.len() / 2]];
        let mut new = keys[1];
        new.expert = (new.expert + 1) % 4;
        while omega.get(&new) > 0 {
            new.features.f2 += 1;
        }
        dims.push(new);
        let x = vec![0, 50, 7];
        let whole = write(&omega, &dims, &x).unwrap();
        let one = MapPredictor::bayes(&whole);
        let expected: Vec<Vec<Vec<f64>>> = batches.iter().map(|b| one.predict(b)).collect();
        for n in [1, 2, 3, 5, 9] {
            let got = Parts::new(&omega, n).predict(&dims, &x, &batches).unwrap();
            assert_eq!(got, expected, "{n} parts");
        }
    }
}
