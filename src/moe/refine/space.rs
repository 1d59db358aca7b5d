//! The search space of the refinement (which keys of Ω are its Q dimensions, and their ranges)
//! and the rounding of predicted counts to the optimisers' integer counts.

use std::collections::{BTreeMap, BTreeSet};

use crate::moe::predict::{Features, Key, ProfileTable};
use crate::moe::routing::Batch;

/// A (features, layer) pair: what a token of a batch contributes to the limited range 𝕃_τ and
/// to the normal range ℙ (every expert of the layer with these features is a key of ℙ).
pub(crate) type Slot = (Features, u16);

/// The Q dimensions: dimension q writes the count `value[q]` into Ω under `keys[q]`.
#[derive(Clone, Debug)]
pub(crate) struct Space {
    /// The key of each dimension: first the `existing` ones (keys of Ω₀), then the normal-range
    /// ones.
    pub keys: Vec<Key>,
    /// Dimensions 0..existing adjust counts of keys of Ω₀ (the paper's 1..μQ).
    pub existing: usize,
    /// Upper end of each dimension's range [0, hi].
    pub hi: Vec<u64>,
    /// Ω₀'s count of each key (0 for keys Ω₀ does not have).
    pub start: Vec<u64>,
}

impl Space {
    /// Number of dimensions.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The (features, layer) of dimension q.
    pub fn slot(&self, q: usize) -> Slot {
        (self.keys[q].features, self.keys[q].layer)
    }
}

/// How often each (features, layer) occurs in `batches` (token by token, every layer).
pub(crate) fn slots(omega0: &ProfileTable, batches: &[Batch<'_>]) -> BTreeMap<Slot, u64> {
    let fs = omega0.feature_set();
    let layers = omega0.shape().layers;
    let mut freq: BTreeMap<Slot, u64> = BTreeMap::new();
    for b in batches {
        for i in 0..b.len() {
            for l in 0..layers {
                *freq.entry((fs.features(b, i, l), l as u16)).or_default() += 1;
            }
        }
    }
    freq
}

/// Chooses the dimensions (see the module docs of [`super`]): the ⌊μQ + ½⌋ keys of Ω₀ with
/// the largest counts among those whose (features, layer) occur in the learning batches, then
/// up to Q minus that many keys (features, layer, expert) of those (features, layer) that are
/// not dimensions yet, the most frequent (features, layer) first. Ties: key order.
pub(crate) fn choose(
    omega0: &ProfileTable,
    freq: &BTreeMap<Slot, u64>,
    pairs: usize,
    split: f64,
) -> Space {
    let experts = omega0.shape().experts;
    let want_existing = ((pairs as f64) * split + 0.5).floor() as usize;
    let mut existing: Vec<(u64, Key)> = omega0
        .iter()
        .filter(|(k, _)| freq.contains_key(&(k.features, k.layer)))
        .map(|(k, &c)| (c, *k))
        .collect();
    existing.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    existing.truncate(want_existing.min(pairs));
    let chosen: BTreeSet<Key> = existing.iter().map(|(_, k)| *k).collect();
    let mut normal: Vec<(u64, Key)> = freq
        .iter()
        .flat_map(|(&(features, layer), &f)| {
            (0..experts).map(move |e| {
                (
                    f,
                    Key {
                        features,
                        layer,
                        expert: e as u16,
                    },
                )
            })
        })
        .filter(|(_, k)| !chosen.contains(k))
        .collect();
    normal.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    normal.truncate(pairs - existing.len());
    // Range: [0, 2 × the largest count of Ω₀ among the keys with the same f₁ and layer (or of
    // the key itself)], at least [0, 2].
    let mut group_max: BTreeMap<(u32, u16), u64> = BTreeMap::new();
    for (k, &c) in omega0.iter() {
        let g = group_max.entry((k.features.f1, k.layer)).or_default();
        *g = (*g).max(c);
    }
    let keys: Vec<Key> = existing.iter().chain(&normal).map(|(_, k)| *k).collect();
    let start: Vec<u64> = keys.iter().map(|k| omega0.get(k)).collect();
    let hi = keys
        .iter()
        .zip(&start)
        .map(|(k, &s)| {
            let g = group_max
                .get(&(k.features.f1, k.layer))
                .copied()
                .unwrap_or(0);
            (2 * g.max(s)).max(2)
        })
        .collect();
    Space {
        existing: existing.len(),
        keys,
        hi,
        start,
    }
}

/// Predicted (fractional) counts of one layer × expert table rounded to integers whose every
/// layer sums to `total` (the batch's tokens × top-k): each row is scaled to `total` (a row
/// that sums to 0 is spread evenly), floored, and the units still missing go to the largest
/// fractional parts (ties: the lower expert) — Hamilton's largest-remainder method. A row of
/// integers that already sums to `total` is unchanged; otherwise this agrees with rounding half
/// up whenever that already gives the total.
pub fn round_counts(predicted: &[Vec<f64>], total: u64) -> Vec<Vec<u32>> {
    predicted
        .iter()
        .map(|row| {
            let n = row.len();
            if n == 0 {
                return Vec::new();
            }
            let clean: Vec<f64> = row
                .iter()
                .map(|&x| if x.is_finite() && x > 0.0 { x } else { 0.0 })
                .collect();
            let sum: f64 = clean.iter().sum();
            let exact: Vec<f64> = if sum > 0.0 {
                clean.iter().map(|x| x / sum * total as f64).collect()
            } else {
                vec![total as f64 / n as f64; n]
            };
            let mut c: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
            let mut left = total.saturating_sub(c.iter().sum::<u64>());
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| {
                let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
                fb.total_cmp(&fa).then(a.cmp(&b))
            });
            // Floating-point slack can leave more than n units; cycle until none is left.
            let mut i = 0;
            while left > 0 {
                c[order[i % n]] += 1;
                left -= 1;
                i += 1;
            }
            c.into_iter()
                .map(|x| x.min(u32::MAX as u64) as u32)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_totals_and_integers() {
        // Integers that already sum to the total are unchanged.
        assert_eq!(
            round_counts(&[vec![3.0, 0.0, 7.0]], 10),
            vec![vec![3, 0, 7]]
        );
        // 2.5, 2.5, 5: floors 2, 2, 5, one unit left → the first of the tied remainders.
        assert_eq!(
            round_counts(&[vec![2.5, 2.5, 5.0]], 10),
            vec![vec![3, 2, 5]]
        );
        // Scaled to the total: (1, 1, 2) → 2.5, 2.5, 5 again.
        assert_eq!(
            round_counts(&[vec![1.0, 1.0, 2.0]], 10),
            vec![vec![3, 2, 5]]
        );
        // 3.4, 3.3, 3.3 → 3, 3, 3 + the one unit to 3.4.
        assert_eq!(
            round_counts(&[vec![3.4, 3.3, 3.3]], 10),
            vec![vec![4, 3, 3]]
        );
        // Nothing predicted: spread evenly.
        assert_eq!(round_counts(&[vec![0.0; 4]], 6), vec![vec![2, 2, 1, 1]]);
        for row in round_counts(&[vec![0.1, 7.7, 1.9, 0.3], vec![1e-9, 0.0, 3.0, 9.0]], 4097) {
            assert_eq!(row.iter().map(|&x| x as u64).sum::<u64>(), 4097);
        }
    }
}
