//! A scenario's `[moe]` table, validated: the model, the platform (its prices and billing
//! granularity are the scenario's `[platform.faas]` ones, so the closed-form model and the
//! simulation bill alike), the overflow rule, and the token routing split into a profiled
//! part (Ω, the BO learning batches) and the batches a run serves.

use std::path::Path;

use crate::cloud::billing::Prices;
use crate::kernel::SimDuration;
use crate::moe::predict::FeatureSet;
use crate::moe::routing::{self, Batch, RoutingTrace, synth};
use crate::moe::spec::{MoeSetup, MoeSpec, RoutingSpec, SynthSource};
use crate::plan::moe::Overflow;

/// A validated `[moe]` table with its routing.
#[derive(Clone, Debug, PartialEq)]
pub struct MoeScenario {
    /// Model, platform and latency limit.
    pub setup: MoeSetup,
    /// What overflows do.
    pub on_overflow: Overflow,
    /// The profiled part of the routing.
    pub profile: RoutingTrace,
    /// The served part.
    pub served: RoutingTrace,
    /// Batches a run serves (from the served part).
    pub test_batches: usize,
    /// Batches BO learns on (the last full batches of the profiled part).
    pub learning_batches: usize,
    /// The predictors' features.
    pub features: FeatureSet,
    /// Where the routing came from, in words.
    pub source: String,
}

/// A problem with a key of `[moe]`: the key and the message.
pub type KeyError = (String, String);

fn err(key: &str, message: impl Into<String>) -> KeyError {
    (key.to_string(), message.into())
}

impl MoeScenario {
    /// Validates `spec` (paths relative to `dir`); `prices` and `granularity` are the
    /// scenario's.
    pub fn build(
        spec: &MoeSpec,
        dir: &Path,
        prices: &Prices,
        granularity: SimDuration,
    ) -> Result<Self, KeyError> {
        for (set, key) in [
            (spec.platform.gb_s_price.is_some(), "gb_s_price"),
            (spec.platform.request_fee.is_some(), "request_fee"),
            (spec.platform.s3_put_fee.is_some(), "s3_put_fee"),
            (spec.platform.s3_get_fee.is_some(), "s3_get_fee"),
            (
                spec.platform.billing_granularity.is_some(),
                "billing_granularity",
            ),
        ] {
            if set {
                return Err(err(
                    &format!("moe.platform.{key}"),
                    "in a scenario the prices and the billing granularity are the platform's: set them in [platform.faas] and [platform.storage] (the simulation bills with those)",
                ));
            }
        }
        let mut setup = spec.build().map_err(|e| err("moe", e.to_string()))?;
        let p = &mut setup.platform;
        p.gb_s_price = prices.gb_s;
        p.request_fee = prices.per_request;
        p.s3_put_fee = prices.put;
        p.s3_get_fee = prices.get;
        p.granularity = granularity;
        let Some(r) = &spec.routing else {
            return Err(err(
                "moe.routing",
                "the MoE policies serve batches of routed tokens: add [moe.routing] with `trace` (a routing trace) or `synthetic` (the generator's parameters)",
            ));
        };
        let (trace, source) = routing_trace(r, dir)?;
        let shape = trace.shape();
        let m = &setup.model;
        if shape.layers != m.layers.len()
            || m.layers.iter().any(|l| l.experts.len() != shape.experts)
            || shape.top_k != m.top_k as usize
        {
            return Err(err(
                "moe.routing",
                format!(
                    "the routing has {} layers × {} experts, top-{}, but the model {} has {} MoE layers × {} experts, top-{}; use routing of the model's shape",
                    shape.layers,
                    shape.experts,
                    shape.top_k,
                    m.name,
                    m.layers.len(),
                    m.layers[0].experts.len(),
                    m.top_k
                ),
            ));
        }
        let fraction = r.profile_fraction.unwrap_or(0.5);
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(err(
                "moe.routing.profile_fraction",
                format!("{fraction}; allowed: a fraction strictly between 0 and 1"),
            ));
        }
        let (profile, served) = trace.split_fraction(fraction);
        let size = m.batch_tokens as usize;
        let full = served.len() / size;
        let test_batches = r.test_batches.unwrap_or(full);
        if test_batches == 0 || test_batches > full {
            return Err(err(
                "moe.routing.test_batches",
                format!(
                    "{test_batches} batches of {size} tokens; the served part of the routing ({} tokens) holds {full}; allowed: 1 to {full} (generate more tokens, or lower batch_tokens)",
                    served.len()
                ),
            ));
        }
        let learnable = profile.len() / size;
        let learning_batches = r.learning_batches.unwrap_or(4.min(learnable));
        if learning_batches > learnable {
            return Err(err(
                "moe.routing.learning_batches",
                format!(
                    "{learning_batches} batches of {size} tokens; the profiled part ({} tokens) holds {learnable}",
                    profile.len()
                ),
            ));
        }
        let bucket = r.position_bucket.unwrap_or(16);
        let has_ids = trace.tokens().iter().all(|t| t.token_id.is_some());
        let features = match r.features.as_deref() {
            None if has_ids => FeatureSet::TokenId {
                position_bucket: bucket,
            },
            None | Some("previous-layer") => FeatureSet::PreviousLayer {
                position_bucket: bucket,
            },
            Some("token-id") => FeatureSet::TokenId {
                position_bucket: bucket,
            },
            Some(other) => {
                return Err(err(
                    "moe.routing.features",
                    format!("\"{other}\"; allowed: \"token-id\" or \"previous-layer\""),
                ));
            }
        };
        features
            .check(&trace)
            .map_err(|e| err("moe.routing.features", e.0))?;
        Ok(MoeScenario {
            setup,
            on_overflow: spec.on_overflow.unwrap_or_default(),
            profile,
            served,
            test_batches,
            learning_batches,
            features,
            source,
        })
    }

    /// The batches a run serves, in order.
    pub fn test(&self) -> Vec<Batch<'_>> {
        let size = self.setup.model.batch_tokens as usize;
        let mut b = self.served.batches(size);
        b.truncate(self.test_batches);
        b
    }

    /// The batches BO learns on.
    pub fn learning(&self) -> Vec<Batch<'_>> {
        let size = self.setup.model.batch_tokens as usize;
        let full = self.profile.len() / size;
        let mut b = self.profile.batches(size);
        b.truncate(full);
        b.split_off(full - self.learning_batches)
    }
}

/// The routing trace `[moe.routing]` names, and where it came from in words.
fn routing_trace(r: &RoutingSpec, dir: &Path) -> Result<(RoutingTrace, String), KeyError> {
    match (&r.trace, &r.synthetic) {
        (Some(_), Some(_)) | (None, None) => Err(err(
            "moe.routing",
            "give either `trace` (a routing trace file) or `synthetic` (the generator's parameters), not both",
        )),
        (Some(path), None) => {
            if r.sequences.is_some() || r.tokens_per_sequence.is_some() || r.seed.is_some() {
                return Err(err(
                    "moe.routing",
                    "`sequences`, `tokens_per_sequence` and `seed` change the synthetic generator; a trace has its own tokens",
                ));
            }
            let full = dir.join(path);
            let trace = match r.format.as_deref().unwrap_or("routing") {
                "routing" => routing::format::read(&full)
                    .map_err(|e| err("moe.routing.trace", e.to_string()))?,
                "mixtral-routing" => {
                    routing::mixtral::read(&full, &Default::default())
                        .map_err(|e| err("moe.routing.trace", e.to_string()))?
                        .0
                }
                other => {
                    return Err(err(
                        "moe.routing.format",
                        format!("\"{other}\"; allowed: \"routing\" or \"mixtral-routing\""),
                    ));
                }
            };
            Ok((trace, format!("trace {}", path.display())))
        }
        (None, Some(source)) => {
            if r.format.is_some() {
                return Err(err("moe.routing.format", "`format` is for a `trace` file"));
            }
            let mut params = match source {
                SynthSource::Inline(p) => (**p).clone(),
                SynthSource::File(path) => {
                    let full = dir.join(path);
                    let text = std::fs::read_to_string(&full).map_err(|e| {
                        err(
                            "moe.routing.synthetic",
                            format!("cannot read {}: {e}", full.display()),
                        )
                    })?;
                    toml::from_str(&text).map_err(|e| {
                        err(
                            "moe.routing.synthetic",
                            format!("{}: {}", full.display(), e.message()),
                        )
                    })?
                }
            };
            if let Some(v) = r.sequences {
                params.sequences = v;
            }
            if let Some(v) = r.tokens_per_sequence {
                params.tokens_per_sequence = v;
            }
            if let Some(v) = r.seed {
                params.seed = v;
            }
            const MAX_TOKENS: usize = 20_000_000;
            let tokens = params.sequences.saturating_mul(params.tokens_per_sequence);
            if tokens > MAX_TOKENS {
                return Err(err(
                    "moe.routing.sequences",
                    format!(
                        "{} sequences × {} tokens = {tokens} tokens; allowed: at most {MAX_TOKENS} (a run serves whole batches of them)",
                        params.sequences, params.tokens_per_sequence
                    ),
                ));
            }
            let trace = synth::generate(&params).map_err(|e| err("moe.routing.synthetic", e.0))?;
            Ok((
                trace,
                format!(
                    "synthetic (seed {}, {} sequences × {} tokens)",
                    params.seed, params.sequences, params.tokens_per_sequence
                ),
            ))
        }
    }
}
