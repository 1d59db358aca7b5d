//! Maximum-a-posteriori predictors built from Ω: the paper's (§IV, eq. 1–2) and Lina's.
//!
//! For a new token only f₁′ is observed. With P* the probabilities computed from Ω (counts
//! n(f, e, i), m(f) = Σᵢ n(f, e, i), and so on), the paper's posterior for layer e is
//!
//! ```text
//! P(N_{e,i} | f₁′) ∝ Σ_{f₂} Σ_{f₃} P*(N_{e,i} | f₁′, f₂, f₃)
//!                     · [P*(f₁′, f₂, f₃) P′(f₃) / P*(f₁′, f₂)] · [P*(f₁′, f₂) P′(f₂) / P*(f₁′)]
//! ```
//!
//! with P′(f₂) uniform over the f₂ values of the layer in Ω and P′(f₃) the frequency of f₃ in
//! the layer in Ω (the paper: the token-id frequency of the dataset). The sums run over the
//! (f₂, f₃) seen with f₁′; the result is normalised over experts (which does not change the
//! argmax). Lina conditions on f₁′ only: P(N_{e,i} | f₁′) = Σ_{f₂,f₃} n(f₁′, f₂, f₃, e, i) /
//! m(f₁′) in layer e.
//!
//! Each token is predicted its k experts with the largest posteriors (eq. 2 extended to top-k;
//! ties go to the lower expert id) and the predictions are summed over the batch into d_{e,i}.
//! [`Aggregate::Expected`] (not the paper's) sums k × the posterior instead: the expected
//! counts, which do not pile every token that shares f₁′ onto the same k experts.
//! **Unseen f₁′** (no key of the layer has it): the token backs off to the layer's marginal
//! P*(N_{e,i}) = Σ_f n(f, e, i) / Σ_{f,i} n(f, e, i), i.e. its k most popular experts; a layer
//! with no key at all predicts the uniform share k/E per token.

use std::collections::BTreeMap;

use super::Predictor;
use super::table::{FeatureSet, ProfileTable};
use crate::moe::routing::{Batch, Shape};

/// The features (f₁, f₂, f₃) of a key of one layer and its counts per expert.
type Row = ((u32, u32, u32), Vec<f64>);

/// Which posterior.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// The paper's eq. 1 (f₂, f₃ marginalised with the priors).
    Bayes,
    /// Lina: f₁ only.
    Lina,
}

/// How per-token posteriors become the batch's d_{e,i}.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// The paper's: 1 for each of the k experts with the largest posteriors.
    #[default]
    TopK,
    /// k × the posterior (expected counts).
    Expected,
}

/// A MAP predictor with its posteriors precomputed from Ω (rebuild it after editing Ω).
#[derive(Clone, Debug)]
pub struct MapPredictor {
    kind: MapKind,
    aggregate: Aggregate,
    shape: Shape,
    features: FeatureSet,
    /// Per layer: f₁ → posterior over experts.
    posterior: Vec<BTreeMap<u32, Vec<f64>>>,
    /// Per layer: the marginal over experts (empty when the layer has no key).
    marginal: Vec<Vec<f64>>,
}

fn normalised(v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    if s > 0.0 {
        v.into_iter().map(|x| x / s).collect()
    } else {
        v
    }
}

/// Indices of the k largest values (ties: lower index first).
pub(crate) fn top_k(p: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

impl MapPredictor {
    /// The paper's Bayesian predictor over `table`.
    pub fn bayes(table: &ProfileTable) -> Self {
        Self::build(table, MapKind::Bayes)
    }

    /// Lina's token-id-only predictor over `table`.
    pub fn lina(table: &ProfileTable) -> Self {
        Self::build(table, MapKind::Lina)
    }

    fn build(table: &ProfileTable, kind: MapKind) -> Self {
        let shape = table.shape();
        let e = shape.experts;
        // n(f, i) per layer, in (f1, f2, f3) order: Ω iterates in key order (features, then
        // layer, then expert), so each layer's rows come sorted and a feature's experts are
        // consecutive. Sorted runs then give m(f1, f2) and m(f1) without maps.
        let mut per_layer: Vec<Vec<Row>> = vec![Vec::new(); shape.layers];
        for (k, &c) in table.iter() {
            let f = (k.features.f1, k.features.f2, k.features.f3);
            let rows = &mut per_layer[k.layer as usize];
            if rows.last().is_none_or(|(g, _)| *g != f) {
                rows.push((f, vec![0.0; e]));
            }
            rows.last_mut().expect("pushed").1[k.expert as usize] += c as f64;
        }
        let mut posterior = vec![BTreeMap::new(); shape.layers];
        let mut marginal = vec![Vec::new(); shape.layers];
        for (l, n) in per_layer.into_iter().enumerate() {
            if n.is_empty() {
                continue;
            }
            // m(f) per row; m(f1, f2) and m(f1) per run; m(f3) and the f2 values by lookup.
            let m_f: Vec<f64> = n.iter().map(|(_, row)| row.iter().sum()).collect();
            let mut m12 = vec![0.0; n.len()];
            let mut m1 = vec![0.0; n.len()];
            let mut m3: std::collections::HashMap<u32, f64> = std::collections::HashMap::new();
            let mut f2_seen = std::collections::HashSet::new();
            let mut marg = vec![0.0; e];
            let mut total = 0.0;
            let mut i = 0;
            while i < n.len() {
                let f1 = n[i].0.0;
                let end1 = i + n[i..].iter().take_while(|r| r.0.0 == f1).count();
                let mut s1 = 0.0;
                let mut j = i;
                while j < end1 {
                    let f2 = n[j].0.1;
                    let end2 = j + n[j..end1].iter().take_while(|r| r.0.1 == f2).count();
                    let mut s12 = 0.0;
                    for &m in &m_f[j..end2] {
                        s12 += m;
                        s1 += m;
                    }
                    m12[j..end2].iter_mut().for_each(|x| *x = s12);
                    f2_seen.insert(f2);
                    j = end2;
                }
                m1[i..end1].iter_mut().for_each(|x| *x = s1);
                total += s1;
                i = end1;
            }
            for ((f, row), &s) in n.iter().zip(&m_f) {
                *m3.entry(f.2).or_default() += s;
                for (x, y) in marg.iter_mut().zip(row) {
                    *x += y;
                }
            }
            let prior_f2 = 1.0 / f2_seen.len() as f64;
            let mut post: Vec<(u32, Vec<f64>)> = Vec::new();
            for (r, ((f, row), &mf)) in n.iter().zip(&m_f).enumerate() {
                if post.last().is_none_or(|(g, _)| *g != f.0) {
                    post.push((f.0, vec![0.0; e]));
                }
                let acc = &mut post.last_mut().expect("pushed").1;
                match kind {
                    MapKind::Bayes => {
                        let p_f3 = m3[&f.2] / total;
                        // P*(f1,f2,f3)/P*(f1,f2) = m(f)/m(f1,f2); P*(f1,f2)/P*(f1) likewise.
                        let w = (mf / m12[r]) * p_f3 * (m12[r] / m1[r]) * prior_f2;
                        for (a, c) in acc.iter_mut().zip(row) {
                            *a += (c / mf) * w;
                        }
                    }
                    MapKind::Lina => {
                        for (a, c) in acc.iter_mut().zip(row) {
                            *a += c / m1[r];
                        }
                    }
                }
            }
            posterior[l] = post
                .into_iter()
                .map(|(f1, v)| (f1, normalised(v)))
                .collect();
            marginal[l] = normalised(marg);
        }
        MapPredictor {
            kind,
            aggregate: Aggregate::TopK,
            shape,
            features: table.feature_set(),
            posterior,
            marginal,
        }
    }

    /// Which posterior it uses.
    pub fn kind(&self) -> MapKind {
        self.kind
    }

    /// The same predictor aggregating with `aggregate`.
    pub fn with_aggregate(mut self, aggregate: Aggregate) -> Self {
        self.aggregate = aggregate;
        self
    }

    /// The posterior over the experts of `layer` for a token with f₁ = `f1` (the marginal if
    /// unseen; empty if the layer has no key).
    pub fn posterior(&self, layer: usize, f1: u32) -> &[f64] {
        self.posterior[layer]
            .get(&f1)
            .map(Vec::as_slice)
            .unwrap_or(&self.marginal[layer])
    }
}

impl Predictor for MapPredictor {
    fn name(&self) -> &str {
        match (self.kind, self.aggregate) {
            (MapKind::Bayes, Aggregate::TopK) => "bayes",
            (MapKind::Lina, Aggregate::TopK) => "lina",
            (MapKind::Bayes, Aggregate::Expected) => "bayes-expected",
            (MapKind::Lina, Aggregate::Expected) => "lina-expected",
        }
    }

    fn predict(&self, batch: &Batch<'_>) -> Vec<Vec<f64>> {
        let shape = self.shape;
        let mut d: Vec<Vec<f64>> = shape.zeros();
        for i in 0..batch.len() {
            for (l, row) in d.iter_mut().enumerate() {
                let f = self.features.features(batch, i, l);
                let p = self.posterior(l, f.f1);
                if p.is_empty() {
                    let share = shape.top_k as f64 / shape.experts as f64;
                    row.iter_mut().for_each(|x| *x += share);
                } else if self.aggregate == Aggregate::Expected {
                    let k = shape.top_k as f64;
                    row.iter_mut().zip(p).for_each(|(x, q)| *x += k * q);
                } else {
                    for e in top_k(p, shape.top_k) {
                        row[e] += 1.0;
                    }
                }
            }
        }
        d
    }
}
