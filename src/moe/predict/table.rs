//! The profiled table Ω: key (token features f, layer e, expert i), value = how often a token
//! with features f was routed to expert i of layer e in the profiling part of a trace.
//!
//! The paper's features are f₁ token ID, f₂ position ID and f₃ "attention ID" (the token ID of
//! the most attended token before the MoE layer). Traces give different things, so the
//! [`FeatureSet`] says what stands in for each:
//!
//! - [`FeatureSet::TokenId`] (traces with token ids, e.g. the synthetic generator's): f₁ = the
//!   token id, f₂ = the position bucket (position / `position_bucket`), f₃ = the id of the
//!   previous token of the sequence. No trace records attention scores; in decoding the
//!   previous token is usually among the most attended ones, and like the paper's f₃ it is a
//!   token id, so P′(f₃) is again the token-id frequency. All three are known before the batch
//!   is served (the text of the batch is), as in the paper.
//! - [`FeatureSet::PreviousLayer`] (the Mixtral trace: positions and routing, no token ids):
//!   f₁ = the token's first (highest-gate) expert in layer e − 1 (none in layer 0), f₂ = the
//!   position bucket, f₃ = the previous token's first expert in layer e (none for a sequence's
//!   first token). f₁ is known once the gate of layer e − 1 has run and f₃ once the previous
//!   decode step has finished, i.e. at **run time**, not before deployment: predictions with
//!   these features are what a policy that re-plans (or prefetches) per layer or per step could
//!   achieve, an optimistic bound for a deploy-once policy. Layer 0 has no f₁, so all its
//!   tokens get the same prediction (the layer's posterior for "none").
//!
//! Ω is editable ([`ProfileTable::set`], [`ProfileTable::keys`]) so that the BO refinement can
//! write key-value pairs into it; predictors are rebuilt from it.

use std::collections::BTreeMap;

use crate::moe::routing::{Batch, RoutingError, RoutingTrace, Shape};

/// The value of a feature that does not exist (no previous layer, no previous token).
pub const NONE: u32 = u32::MAX;

/// A token's three features (their meaning depends on the [`FeatureSet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Features {
    /// f₁: the feature known for a new token (token id or its stand-in).
    pub f1: u32,
    /// f₂: the position feature.
    pub f2: u32,
    /// f₃: the attention-ID feature (or its stand-in).
    pub f3: u32,
}

/// What stands in for the paper's three features; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureSet {
    /// f₁ token id, f₂ position bucket, f₃ the previous token's id.
    TokenId {
        /// Positions per bucket (at least 1).
        position_bucket: u32,
    },
    /// f₁ the token's first expert in the previous layer, f₂ position bucket, f₃ the previous
    /// token's first expert in this layer.
    PreviousLayer {
        /// Positions per bucket (at least 1).
        position_bucket: u32,
    },
}

impl FeatureSet {
    /// Checks that every token of `trace` has what the features need.
    pub fn check(&self, trace: &RoutingTrace) -> Result<(), RoutingError> {
        let bucket = match self {
            FeatureSet::TokenId { position_bucket }
            | FeatureSet::PreviousLayer { position_bucket } => *position_bucket,
        };
        if bucket == 0 {
            return Err(RoutingError(
                "position_bucket is 0; allowed: at least 1 position per bucket".into(),
            ));
        }
        if matches!(self, FeatureSet::TokenId { .. })
            && let Some(t) = trace.tokens().iter().find(|t| t.token_id.is_none())
        {
            return Err(RoutingError(format!(
                "token (sequence {}, position {}) has no token id; the token-id features need \
                 one for every token (use the previous-layer features for traces without them)",
                t.sequence, t.position
            )));
        }
        Ok(())
    }

    /// The features of token `i` of `batch` in `layer` (token ids missing → [`NONE`]).
    pub fn features(&self, batch: &Batch<'_>, i: usize, layer: usize) -> Features {
        let t = &batch.tokens()[i];
        let prev = batch.previous(i);
        match *self {
            FeatureSet::TokenId { position_bucket } => Features {
                f1: t.token_id.unwrap_or(NONE),
                f2: t.position / position_bucket.max(1),
                f3: prev.and_then(|p| p.token_id).unwrap_or(NONE),
            },
            FeatureSet::PreviousLayer { position_bucket } => Features {
                f1: layer
                    .checked_sub(1)
                    .map(|l| t.experts(l)[0] as u32)
                    .unwrap_or(NONE),
                f2: t.position / position_bucket.max(1),
                f3: prev.map(|p| p.experts(layer)[0] as u32).unwrap_or(NONE),
            },
        }
    }
}

/// A key of Ω: features, layer, expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The token's features.
    pub features: Features,
    /// The MoE layer.
    pub layer: u16,
    /// The expert.
    pub expert: u16,
}

/// Ω: occurrence counts by key, in key order (deterministic).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileTable {
    shape: Shape,
    features: FeatureSet,
    counts: BTreeMap<Key, u64>,
}

impl ProfileTable {
    /// An empty table.
    pub fn empty(shape: Shape, features: FeatureSet) -> Self {
        ProfileTable {
            shape,
            features,
            counts: BTreeMap::new(),
        }
    }

    /// Profiles `trace`: every token adds 1 to the key of each of its k experts in every layer.
    pub fn profile(trace: &RoutingTrace, features: FeatureSet) -> Result<Self, RoutingError> {
        features.check(trace)?;
        let mut t = ProfileTable::empty(trace.shape(), features);
        let batch = trace.all();
        for i in 0..batch.len() {
            let tok = &batch.tokens()[i];
            for l in 0..trace.shape().layers {
                let f = features.features(&batch, i, l);
                for &e in tok.experts(l) {
                    *t.counts
                        .entry(Key {
                            features: f,
                            layer: l as u16,
                            expert: e,
                        })
                        .or_default() += 1;
                }
            }
        }
        Ok(t)
    }

    /// The dimensions.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The feature set the keys are in.
    pub fn feature_set(&self) -> FeatureSet {
        self.features
    }

    /// The count of `key` (0 if absent).
    pub fn get(&self, key: &Key) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// Sets the count of `key` (0 removes it); the layer and expert must exist.
    pub fn set(&mut self, key: Key, count: u64) -> Result<(), RoutingError> {
        if key.layer as usize >= self.shape.layers || key.expert as usize >= self.shape.experts {
            return Err(RoutingError(format!(
                "key (layer {}, expert {}) is outside the table; allowed: layers 0 to {}, \
                 experts 0 to {}",
                key.layer,
                key.expert,
                self.shape.layers - 1,
                self.shape.experts - 1
            )));
        }
        if count == 0 {
            self.counts.remove(&key);
        } else {
            self.counts.insert(key, count);
        }
        Ok(())
    }

    /// The keys with a positive count, in order.
    pub fn keys(&self) -> Vec<Key> {
        self.counts.keys().copied().collect()
    }

    /// (key, count) pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &u64)> {
        self.counts.iter()
    }

    /// Keys with a positive count.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no key has a positive count.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}
