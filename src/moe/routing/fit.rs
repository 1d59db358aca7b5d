//! Estimates the [`synth`](super::synth) generator's parameters from a routing trace.
//!
//! - **Skew** (per layer): the Zipf exponent s of the frequencies of each token's *first*
//!   (highest-gate) expert, sorted from the most to the least frequent, by **maximum
//!   likelihood** for a finite Zipf law over ranks 1..E: the s at which the model's mean of
//!   ln(rank) equals the sample's (the likelihood is concave in s; solved by bisection on
//!   [0, 50]). Sorting by the observed frequencies makes small samples look skewed (a uniform
//!   layer of 8 experts seen over 334 tokens fits skews of 0.1–0.33, mean 0.21), so read the skews of
//!   short traces with care. First choices, because later slots exclude the experts already
//!   taken, which flattens them.
//! - **Reuse** (per layer): `repeat_rate` is the share of consecutive token pairs (same
//!   sequence, positions p and p + 1) whose top-k lists in the layer are equal (same experts,
//!   same order); `reuse` corrects it for chance: (repeat − c)/(1 − c), clamped to [0, 1], where
//!   c = Σ q(list)² over the layer's empirical distribution of lists, computed without bias as
//!   Σ n(n − 1) / (N(N − 1)). This inverts the generator exactly when fresh draws are independent
//!   of the previous token's; with cross-layer correlation it slightly overstates reuse.
//! - **Transition** (per layer pair l → l + 1): counts n_ab of tokens whose slot-j expert is a in
//!   layer l and b in layer l + 1 (all slots j), row-normalised with a **Jeffreys prior**
//!   (½ pseudo-count per cell): T_ab = (n_ab + ½)/(n_a + E/2). Its summary:
//!   the successor σ(a) = argmax_b T_ab, `successor_share` (the share of pairs that go to the
//!   successor), `same_index_share` (a → a, the literal diagonal), and `cross_layer`, the
//!   generator's probability of following the successor: with off-successor entries
//!   T_ab = (1 − c)·p_b, the weighted mean of T_ab over rows whose successor is not b estimates
//!   (1 − c)·p_b, and these sum to 1 − c.

use serde::Serialize;

use super::synth::{PerLayer, SynthParams};
use super::{RoutingError, RoutingTrace, Shape, previous_in};

/// What is fitted for one layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerFit {
    /// Zipf exponent of the first-choice frequencies (maximum likelihood).
    pub skew: f64,
    /// Share of consecutive token pairs with the same top-k list.
    pub repeat_rate: f64,
    /// Chance-corrected probability of repeating the previous token's list.
    pub reuse: f64,
    /// Consecutive token pairs seen.
    pub pairs: u64,
    /// Share of the layer's tokens × k routed to its most popular expert.
    pub top_share: f64,
    /// Share routed to its least popular expert.
    pub bottom_share: f64,
    /// Experts from the most to the least frequent first choice (ties: lower id first).
    pub ranking: Vec<u16>,
}

/// What is fitted for the step from layer `from` to `from` + 1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransitionFit {
    /// The source layer.
    pub from: usize,
    /// Row-normalised transition probabilities with the Jeffreys prior (expert × expert).
    pub matrix: Vec<Vec<f64>>,
    /// The most likely successor of each expert.
    pub successor: Vec<u16>,
    /// Share of the (slot-aligned) pairs that go to the successor.
    pub successor_share: f64,
    /// Share of the pairs that keep the same expert index.
    pub same_index_share: f64,
    /// Estimated probability of following the successor (the generator's `cross_layer`).
    pub cross_layer: f64,
}

/// The fit of a whole trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoutingFit {
    /// Dimensions.
    pub shape: Shape,
    /// Tokens fitted.
    pub tokens: usize,
    /// Sequences.
    pub sequences: usize,
    /// Per layer.
    pub layers: Vec<LayerFit>,
    /// Per layer pair (`layers` − 1 entries).
    pub transitions: Vec<TransitionFit>,
}

/// The maximum-likelihood Zipf exponent for counts by rank (most frequent first).
pub fn zipf_mle(sorted_counts: &[u64]) -> f64 {
    let n: u64 = sorted_counts.iter().sum();
    if n == 0 || sorted_counts.len() < 2 {
        return 0.0;
    }
    let target: f64 = sorted_counts
        .iter()
        .enumerate()
        .map(|(r, &c)| c as f64 * ((r + 1) as f64).ln())
        .sum::<f64>()
        / n as f64;
    let model_mean = |s: f64| {
        let (mut z, mut m) = (0.0, 0.0);
        for r in 1..=sorted_counts.len() {
            let w = (r as f64).powf(-s);
            z += w;
            m += w * (r as f64).ln();
        }
        m / z
    };
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    if model_mean(lo) <= target {
        return 0.0;
    }
    if model_mean(hi) >= target {
        return hi;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if model_mean(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Fits `trace` (at least two tokens); see the module docs.
pub fn fit(trace: &RoutingTrace) -> Result<RoutingFit, RoutingError> {
    let shape = trace.shape();
    let (e, k) = (shape.experts, shape.top_k);
    let tokens = trace.tokens();
    if tokens.len() < 2 {
        return Err(RoutingError(format!(
            "the trace has {} token; allowed: at least 2 to fit",
            tokens.len()
        )));
    }
    let counts = trace.counts();
    let mut layers = Vec::with_capacity(shape.layers);
    for (l, row) in counts.iter().enumerate() {
        let mut first = vec![0u64; e];
        let mut lists: std::collections::HashMap<&[u16], u64> = Default::default();
        let (mut pairs, mut repeats) = (0u64, 0u64);
        for (i, t) in tokens.iter().enumerate() {
            let ex = t.experts(l);
            first[ex[0] as usize] += 1;
            *lists.entry(ex).or_default() += 1;
            if let Some(p) = previous_in(tokens, i) {
                pairs += 1;
                repeats += u64::from(p.experts(l) == ex);
            }
        }
        let nt = tokens.len() as f64;
        let chance = lists.values().map(|&c| (c * (c - 1)) as f64).sum::<f64>() / (nt * (nt - 1.0));
        let repeat_rate = if pairs > 0 {
            repeats as f64 / pairs as f64
        } else {
            f64::NAN
        };
        let reuse = if pairs == 0 {
            0.0
        } else if chance >= 1.0 {
            1.0
        } else {
            ((repeat_rate - chance) / (1.0 - chance)).clamp(0.0, 1.0)
        };
        let mut ranking: Vec<u16> = (0..e as u32).map(|x| x as u16).collect();
        ranking.sort_by(|a, b| first[*b as usize].cmp(&first[*a as usize]).then(a.cmp(b)));
        let sorted: Vec<u64> = ranking.iter().map(|&x| first[x as usize]).collect();
        let total = (tokens.len() * k) as f64;
        layers.push(LayerFit {
            skew: zipf_mle(&sorted),
            repeat_rate,
            reuse,
            pairs,
            top_share: row.iter().copied().max().unwrap_or(0) as f64 / total,
            bottom_share: row.iter().copied().min().unwrap_or(0) as f64 / total,
            ranking,
        });
    }
    let mut transitions = Vec::with_capacity(shape.layers.saturating_sub(1));
    for l in 0..shape.layers.saturating_sub(1) {
        let mut n = vec![vec![0u64; e]; e];
        for t in tokens {
            for (a, b) in t.experts(l).iter().zip(t.experts(l + 1)) {
                n[*a as usize][*b as usize] += 1;
            }
        }
        let row_n: Vec<u64> = n.iter().map(|r| r.iter().sum()).collect();
        let matrix: Vec<Vec<f64>> = n
            .iter()
            .zip(&row_n)
            .map(|(r, &s)| {
                r.iter()
                    .map(|&c| (c as f64 + 0.5) / (s as f64 + 0.5 * e as f64))
                    .collect()
            })
            .collect();
        let successor: Vec<u16> = matrix
            .iter()
            .map(|r| {
                let mut best = 0;
                for (b, x) in r.iter().enumerate() {
                    if *x > r[best] {
                        best = b;
                    }
                }
                best as u16
            })
            .collect();
        let all: u64 = row_n.iter().sum();
        let succ: u64 = (0..e).map(|a| n[a][successor[a] as usize]).sum();
        let same: u64 = (0..e).map(|a| n[a][a]).sum();
        // Σ_b of the weighted mean of T_ab over rows whose successor is not b = 1 − c.
        let row_mean = |b: usize, other: bool| {
            let (mut w, mut s) = (0.0, 0.0);
            for (a, row) in matrix.iter().enumerate() {
                if !other || successor[a] as usize != b {
                    let weight = if other { row_n[a] as f64 } else { 1.0 };
                    w += weight;
                    s += weight * row[b];
                }
            }
            (w > 0.0).then(|| s / w)
        };
        // When every row's successor is b, b's off-successor weight is unknown: take the rows'
        // plain mean (this understates cross_layer).
        let off: f64 = (0..e)
            .map(|b| {
                row_mean(b, true)
                    .or_else(|| row_mean(b, false))
                    .unwrap_or(0.0)
            })
            .sum();
        transitions.push(TransitionFit {
            from: l,
            matrix,
            successor,
            successor_share: succ as f64 / all.max(1) as f64,
            same_index_share: same as f64 / all.max(1) as f64,
            cross_layer: (1.0 - off).clamp(0.0, 1.0),
        });
    }
    Ok(RoutingFit {
        shape,
        tokens: tokens.len(),
        sequences: trace.sequences().len(),
        layers,
        transitions,
    })
}

/// How the fitted transitions become generator parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionForm {
    /// `cross_layer` per layer pair with seeded successors (compact; the expert identities of
    /// the fitted trace are not kept).
    Successor,
    /// The fitted matrices, followed always (`cross_layer` = 1) from the fitted ranking of
    /// layer 0: reproduces the trace's cross-layer structure and, through it, its per-layer
    /// popularity.
    Matrix,
}

impl RoutingFit {
    /// Generator parameters that reproduce this fit, for `sequences` × `tokens_per_sequence`
    /// tokens drawn with `seed` (values rounded to 4 decimals).
    pub fn to_params(
        &self,
        form: TransitionForm,
        sequences: usize,
        tokens_per_sequence: usize,
        seed: u64,
    ) -> SynthParams {
        let r4 = |x: f64| (x * 1e4).round() / 1e4;
        let mut p = SynthParams::new(self.shape, sequences, tokens_per_sequence, seed);
        p.skew = PerLayer::Each(self.layers.iter().map(|l| r4(l.skew)).collect());
        p.reuse = PerLayer::Each(self.layers.iter().map(|l| r4(l.reuse)).collect());
        if self.transitions.is_empty() {
            p.cross_layer = PerLayer::All(0.0);
        } else {
            match form {
                TransitionForm::Successor => {
                    p.cross_layer = PerLayer::Each(
                        self.transitions.iter().map(|t| r4(t.cross_layer)).collect(),
                    );
                }
                TransitionForm::Matrix => {
                    p.cross_layer = PerLayer::All(1.0);
                    p.transition = Some(
                        self.transitions
                            .iter()
                            .map(|t| {
                                t.matrix
                                    .iter()
                                    .map(|r| r.iter().map(|x| r4(*x)).collect())
                                    .collect()
                            })
                            .collect(),
                    );
                    p.ranking = Some(self.layers.iter().map(|l| l.ranking.clone()).collect());
                }
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_mle_inverts_exact_zipf_counts() {
        for s in [0.0, 0.5, 1.0, 2.0] {
            let counts: Vec<u64> = (1..=8)
                .map(|r| (1e6 * (r as f64).powf(-s)).round() as u64)
                .collect();
            assert!((zipf_mle(&counts) - s).abs() < 1e-3, "s = {s}");
        }
        assert_eq!(zipf_mle(&[10, 0, 0]), 50.0);
        assert_eq!(zipf_mle(&[]), 0.0);
    }
}
