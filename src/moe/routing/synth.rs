//! Seeded synthetic routing traces with skewed, sticky and cross-layer-correlated experts.
//!
//! Every sequence is drawn from its own random stream (`rng::indexed_stream(seed,
//! "moe-routing", 0, sequence)`, a portable PCG), so a seed gives the same trace on every
//! machine. Token `t` of a sequence, in layer `l`:
//!
//! 1. **Reuse**: if `t > 0`, with probability `reuse[l]` the token takes the previous token's
//!    whole top-k list of layer `l` (same experts, same order).
//! 2. Otherwise its k experts are drawn one by one, without repeats. For slot `j`:
//!    - with probability `token_affinity` the token id's preferred expert (a fixed, seeded
//!      choice of k distinct experts per (token id, layer), one per slot);
//!    - else with probability `position_affinity` the position bucket's preferred expert
//!      (bucket = position / `position_bucket`, same construction);
//!    - else, in layers l ≥ 1 with probability `cross_layer[l − 1]`, a draw from row `a` of the
//!      layer-to-layer transition matrix, `a` being this token's slot-`j` expert in layer l − 1
//!      (given as `transition`, or by default the point mass on a seeded successor σ_l(a): a
//!      permutation of the experts per layer);
//!    - else a draw from the layer's popularity: P(expert of rank r) ∝ r^(−skew[l]), ranks
//!      given by `ranking` or a seeded permutation per layer.
//!
//!    A preferred or transition expert that is already taken falls back to the popularity
//!    draw; draws exclude the experts already taken.
//!
//! Token ids (emitted when `vocabulary` > 0) are Zipf-distributed with exponent `token_skew`
//! over 0..vocabulary (id 0 the most frequent).

use serde::{Deserialize, Serialize};

use super::{RoutingError, RoutingTrace, Shape, Token};
use crate::kernel::rng::{self, SimRng};
use rand::RngExt;

/// One value for every layer, or one per layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerLayer {
    /// The same value everywhere.
    All(f64),
    /// One value per entry.
    Each(Vec<f64>),
}

impl PerLayer {
    /// The value of entry `i`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            PerLayer::All(x) => *x,
            PerLayer::Each(v) => v.get(i).copied().unwrap_or(f64::NAN),
        }
    }

    fn check(&self, name: &str, entries: usize, lo: f64, hi: f64) -> Result<(), RoutingError> {
        let allowed = format!("a number from {lo} to {hi}");
        match self {
            PerLayer::All(x) if !(*x >= lo && *x <= hi) => Err(RoutingError(format!(
                "{name} is {x}; allowed: {allowed}, or a list of {entries} such numbers"
            ))),
            PerLayer::Each(v) if v.len() != entries => Err(RoutingError(format!(
                "{name} has {} entries; allowed: one number, or a list of {entries}",
                v.len()
            ))),
            PerLayer::Each(v) => match v.iter().position(|x| !(*x >= lo && *x <= hi)) {
                Some(i) => Err(RoutingError(format!(
                    "{name}: entry {i} is {}; allowed: {allowed}",
                    v[i]
                ))),
                None => Ok(()),
            },
            PerLayer::All(_) => Ok(()),
        }
    }
}

fn one() -> PerLayer {
    PerLayer::All(1.0)
}
fn zero() -> PerLayer {
    PerLayer::All(0.0)
}
fn one_f() -> f64 {
    1.0
}
fn sixteen() -> u32 {
    16
}

/// Parameters of the generator (a TOML table; see the module docs for their meaning).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthParams {
    /// Master seed.
    pub seed: u64,
    /// MoE layers.
    pub layers: usize,
    /// Experts per layer.
    pub experts: usize,
    /// Experts per token per layer.
    pub top_k: usize,
    /// Sequences to generate.
    pub sequences: usize,
    /// Tokens in each sequence.
    pub tokens_per_sequence: usize,
    /// Zipf exponent of each layer's popularity (0 = uniform), one or one per layer. Default 1.
    #[serde(default = "one")]
    pub skew: PerLayer,
    /// Probability that a token repeats the previous token's list in a layer. Default 0.
    #[serde(default = "zero")]
    pub reuse: PerLayer,
    /// Probability of following the transition from layer l to l + 1: one, or `layers` − 1
    /// entries. Default 0.
    #[serde(default = "zero")]
    pub cross_layer: PerLayer,
    /// Transition matrices, (`layers` − 1) × `experts` × `experts`, row a of matrix l = the
    /// weights of layer l + 1's experts after expert a in layer l (rows are normalised). Default:
    /// seeded successor permutations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Vec<Vec<Vec<f64>>>>,
    /// Experts of each layer from the most to the least popular (`layers` permutations).
    /// Default: seeded permutations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Vec<Vec<u16>>>,
    /// Token ids 0..vocabulary are emitted (0: no token ids). Default 0.
    #[serde(default)]
    pub vocabulary: u32,
    /// Zipf exponent of token-id frequencies. Default 1.
    #[serde(default = "one_f")]
    pub token_skew: f64,
    /// Probability that a slot takes the token id's preferred expert. Default 0.
    #[serde(default)]
    pub token_affinity: f64,
    /// Positions per position bucket. Default 16.
    #[serde(default = "sixteen")]
    pub position_bucket: u32,
    /// Probability that a slot takes the position bucket's preferred expert. Default 0.
    #[serde(default)]
    pub position_affinity: f64,
}

impl SynthParams {
    /// Parameters with the given dimensions and sizes and the defaults: skew 1, no reuse, no
    /// cross-layer transitions, no token ids, no affinities.
    pub fn new(shape: Shape, sequences: usize, tokens_per_sequence: usize, seed: u64) -> Self {
        SynthParams {
            seed,
            layers: shape.layers,
            experts: shape.experts,
            top_k: shape.top_k,
            sequences,
            tokens_per_sequence,
            skew: one(),
            reuse: zero(),
            cross_layer: zero(),
            transition: None,
            ranking: None,
            vocabulary: 0,
            token_skew: 1.0,
            token_affinity: 0.0,
            position_bucket: 16,
            position_affinity: 0.0,
        }
    }

    /// Checks every parameter; the error names the field and what is allowed.
    pub fn validate(&self) -> Result<Shape, RoutingError> {
        let shape = Shape::new(self.layers, self.experts, self.top_k)?;
        let (l, e) = (self.layers, self.experts);
        if self.sequences == 0 || self.tokens_per_sequence == 0 {
            return Err(RoutingError(
                "sequences and tokens_per_sequence must be at least 1".into(),
            ));
        }
        if self.sequences.saturating_mul(self.tokens_per_sequence) > 100_000_000 {
            return Err(RoutingError(
                "sequences × tokens_per_sequence is above 100,000,000; allowed: at most that"
                    .into(),
            ));
        }
        if self.tokens_per_sequence > u32::MAX as usize || self.sequences > u32::MAX as usize {
            return Err(RoutingError(
                "sequences and tokens_per_sequence must be at most 4294967295".into(),
            ));
        }
        self.skew.check("skew", l, 0.0, 50.0)?;
        self.reuse.check("reuse", l, 0.0, 1.0)?;
        self.cross_layer
            .check("cross_layer", l.saturating_sub(1).max(1), 0.0, 1.0)?;
        if let Some(m) = &self.transition {
            if m.len() != l - 1 {
                return Err(RoutingError(format!(
                    "transition has {} matrices; allowed: layers − 1 = {}",
                    m.len(),
                    l - 1
                )));
            }
            for (i, mat) in m.iter().enumerate() {
                if mat.len() != e {
                    return Err(RoutingError(format!(
                        "transition[{i}] has {} rows; allowed: {e} (one per expert)",
                        mat.len()
                    )));
                }
                for (a, row) in mat.iter().enumerate() {
                    if row.len() != e
                        || row.iter().any(|x| !(*x >= 0.0 && x.is_finite()))
                        || !(row.iter().sum::<f64>() > 0.0)
                    {
                        return Err(RoutingError(format!(
                            "transition[{i}][{a}] is not a row of {e} non-negative weights with \
                             a positive sum"
                        )));
                    }
                }
            }
        }
        if let Some(r) = &self.ranking {
            if r.len() != l {
                return Err(RoutingError(format!(
                    "ranking has {} lists; allowed: {l} (one per layer)",
                    r.len()
                )));
            }
            for (i, order) in r.iter().enumerate() {
                let mut seen = vec![false; e];
                let ok = order.len() == e
                    && order.iter().all(|&x| {
                        (x as usize) < e && !std::mem::replace(&mut seen[x as usize], true)
                    });
                if !ok {
                    return Err(RoutingError(format!(
                        "ranking[{i}] is not an order of the experts; allowed: each of 0 to {} \
                         exactly once",
                        e - 1
                    )));
                }
            }
        }
        if !(self.token_skew >= 0.0 && self.token_skew <= 50.0) {
            return Err(RoutingError(format!(
                "token_skew is {}; allowed: a number from 0 to 50",
                self.token_skew
            )));
        }
        for (name, p) in [
            ("token_affinity", self.token_affinity),
            ("position_affinity", self.position_affinity),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(RoutingError(format!(
                    "{name} is {p}; allowed: a number from 0 to 1"
                )));
            }
        }
        if self.token_affinity + self.position_affinity > 1.0 + 1e-12 {
            return Err(RoutingError(format!(
                "token_affinity + position_affinity is {}; allowed: at most 1",
                self.token_affinity + self.position_affinity
            )));
        }
        if self.token_affinity > 0.0 && self.vocabulary == 0 {
            return Err(RoutingError(
                "token_affinity is above 0 but vocabulary is 0; allowed: a vocabulary of at \
                 least 1 token id when token ids steer routing"
                    .into(),
            ));
        }
        if self.position_bucket == 0 {
            return Err(RoutingError(
                "position_bucket is 0; allowed: at least 1 position per bucket".into(),
            ));
        }
        Ok(shape)
    }
}

/// A validated generator.
#[derive(Clone, Debug)]
pub struct Synth {
    params: SynthParams,
    shape: Shape,
    /// Popularity weights per layer (layer × expert).
    popularity: Vec<Vec<f64>>,
    /// Successor of each expert, per layer l ≥ 1 (index l − 1), when no matrix is given.
    successors: Vec<Vec<u16>>,
    /// Normalised transition rows, if given.
    transition: Option<Vec<Vec<Vec<f64>>>>,
    /// Cumulative token-id weights.
    token_cdf: Vec<f64>,
}

/// A random permutation of 0..n (Fisher–Yates).
fn permutation(rng: &mut SimRng, n: usize) -> Vec<u16> {
    let mut v: Vec<u16> = (0..n as u32).map(|x| x as u16).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v
}

/// A draw from `weights` excluding `taken` (none if nothing is left with a positive weight).
fn draw(rng: &mut SimRng, weights: &[f64], taken: &[u16]) -> Option<u16> {
    let total: f64 = weights
        .iter()
        .enumerate()
        .filter(|(e, _)| !taken.contains(&(*e as u16)))
        .map(|(_, w)| *w)
        .sum();
    if !(total > 0.0) {
        return None;
    }
    let mut u = rng.random::<f64>() * total;
    let mut last = None;
    for (e, w) in weights.iter().enumerate() {
        if taken.contains(&(e as u16)) || !(*w > 0.0) {
            continue;
        }
        last = Some(e as u16);
        if u < *w {
            return last;
        }
        u -= w;
    }
    last
}

impl Synth {
    /// Validates `params` and precomputes popularity, successors and token-id weights.
    pub fn new(params: SynthParams) -> Result<Self, RoutingError> {
        let shape = params.validate()?;
        let e = shape.experts;
        let mut rank_rng = rng::stream(params.seed, "moe-routing-ranks", 0);
        let popularity = (0..shape.layers)
            .map(|l| {
                let order = match &params.ranking {
                    Some(r) => r[l].clone(),
                    None => permutation(&mut rank_rng, e),
                };
                let s = params.skew.get(l);
                let mut w = vec![0.0; e];
                for (r, &x) in order.iter().enumerate() {
                    w[x as usize] = ((r + 1) as f64).powf(-s);
                }
                w
            })
            .collect();
        let mut succ_rng = rng::stream(params.seed, "moe-routing-successors", 0);
        let successors = (1..shape.layers)
            .map(|_| permutation(&mut succ_rng, e))
            .collect();
        let transition = params.transition.as_ref().map(|m| {
            m.iter()
                .map(|mat| {
                    mat.iter()
                        .map(|row| {
                            let s: f64 = row.iter().sum();
                            row.iter().map(|x| x / s).collect()
                        })
                        .collect()
                })
                .collect()
        });
        let mut acc = 0.0;
        let token_cdf = (0..params.vocabulary)
            .map(|r| {
                acc += ((r + 1) as f64).powf(-params.token_skew);
                acc
            })
            .collect();
        Ok(Synth {
            params,
            shape,
            popularity,
            successors,
            transition,
            token_cdf,
        })
    }

    /// The dimensions.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The parameters.
    pub fn params(&self) -> &SynthParams {
        &self.params
    }

    /// The popularity of each expert of each layer (normalised, layer × expert).
    pub fn popularity(&self) -> Vec<Vec<f64>> {
        self.popularity
            .iter()
            .map(|w| {
                let s: f64 = w.iter().sum();
                w.iter().map(|x| x / s).collect()
            })
            .collect()
    }

    /// The seeded successor of expert `a` of layer `layer` − 1 in layer `layer` (≥ 1), used
    /// when no transition matrices are given.
    pub fn successor(&self, layer: usize, a: u16) -> u16 {
        self.successors[layer - 1][a as usize]
    }

    /// The preferred experts (one per slot) of a key (token id or position bucket) in a layer.
    fn preferred(&self, stream: &str, layer: usize, key: u64) -> Vec<u16> {
        let mut r = rng::indexed_stream(self.params.seed, stream, layer as u64, key);
        let mut v: Vec<u16> = (0..self.shape.experts as u32).map(|x| x as u16).collect();
        for i in 0..self.shape.top_k {
            let j = r.random_range(i..v.len());
            v.swap(i, j);
        }
        v.truncate(self.shape.top_k);
        v
    }

    fn token_id(&self, rng: &mut SimRng) -> Option<u32> {
        let total = *self.token_cdf.last()?;
        let u = rng.random::<f64>() * total;
        let i = self.token_cdf.partition_point(|&c| c <= u);
        Some(i.min(self.token_cdf.len() - 1) as u32)
    }

    /// Generates the trace.
    pub fn generate(&self) -> RoutingTrace {
        let p = &self.params;
        let (layers, k) = (self.shape.layers, self.shape.top_k);
        let mut tokens = Vec::with_capacity(p.sequences * p.tokens_per_sequence);
        for s in 0..p.sequences {
            let mut r = rng::indexed_stream(p.seed, "moe-routing", 0, s as u64);
            let mut prev: Option<Vec<u16>> = None;
            for t in 0..p.tokens_per_sequence {
                let token_id = self.token_id(&mut r);
                let bucket = t as u64 / p.position_bucket as u64;
                let mut ex: Vec<u16> = Vec::with_capacity(layers * k);
                for l in 0..layers {
                    if let Some(pv) = &prev
                        && r.random::<f64>() < p.reuse.get(l)
                    {
                        ex.extend_from_slice(&pv[l * k..(l + 1) * k]);
                        continue;
                    }
                    let tok_pref = match token_id {
                        Some(id) if p.token_affinity > 0.0 => {
                            self.preferred("moe-routing-token", l, id as u64)
                        }
                        _ => Vec::new(),
                    };
                    let pos_pref = if p.position_affinity > 0.0 {
                        self.preferred("moe-routing-position", l, bucket)
                    } else {
                        Vec::new()
                    };
                    let start = ex.len();
                    for j in 0..k {
                        let taken = &ex[start..];
                        let v = r.random::<f64>();
                        let mut pick = None;
                        if v < p.token_affinity {
                            pick = tok_pref.get(j).copied();
                        } else if v < p.token_affinity + p.position_affinity {
                            pick = pos_pref.get(j).copied();
                        } else if l > 0 && r.random::<f64>() < p.cross_layer.get(l - 1) {
                            let a = ex[start - k + j];
                            pick = match &self.transition {
                                Some(m) => draw(&mut r, &m[l - 1][a as usize], taken),
                                None => Some(self.successor(l, a)),
                            };
                        }
                        let pick = match pick {
                            Some(e) if !taken.contains(&e) => e,
                            _ => draw(&mut r, &self.popularity[l], taken).unwrap_or(0),
                        };
                        ex.push(pick);
                    }
                }
                prev = Some(ex.clone());
                tokens.push(Token::new(s as u32, t as u32, token_id, k, ex, Vec::new()));
            }
        }
        RoutingTrace {
            shape: self.shape,
            tokens,
        }
    }
}

/// Validates `params` and generates the trace.
pub fn generate(params: &SynthParams) -> Result<RoutingTrace, RoutingError> {
    Ok(Synth::new(params.clone())?.generate())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SynthParams {
        SynthParams::new(Shape::new(4, 8, 2).unwrap(), 3, 200, 5)
    }

    #[test]
    fn same_seed_same_trace_and_tokens_are_valid() {
        let mut p = base();
        p.reuse = PerLayer::All(0.3);
        p.cross_layer = PerLayer::All(0.5);
        p.vocabulary = 100;
        p.token_affinity = 0.4;
        p.position_affinity = 0.2;
        let a = generate(&p).unwrap();
        assert_eq!(a, generate(&p).unwrap());
        // Checked by the constructor: ids in range, no repeats, ordered.
        let a = RoutingTrace::new(a.shape(), a.tokens().to_vec()).unwrap();
        assert_eq!(a.len(), 600);
        p.seed = 6;
        assert_ne!(a, generate(&p).unwrap());
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let mut p = base();
        p.reuse = PerLayer::Each(vec![0.1, 0.2, 1.5, 0.0]);
        let e = generate(&p).unwrap_err().0;
        assert!(
            e.contains("reuse: entry 2 is 1.5; allowed: a number from 0 to 1"),
            "{e}"
        );
        let mut p = base();
        p.token_affinity = 0.5;
        assert!(generate(&p).unwrap_err().0.contains("vocabulary"));
        let mut p = base();
        p.ranking = Some(vec![vec![0, 1, 2, 3, 4, 5, 6, 6]; 4]);
        assert!(generate(&p).unwrap_err().0.contains("ranking[0]"));
        let e = toml::from_str::<SynthParams>(
            "seed = 1\nlayers = 2\nexperts = 4\ntop_k = 1\nsequences = 1\ntokens_per_sequence = 5\nskw = 1",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `skw`"), "{e}");
    }
}
