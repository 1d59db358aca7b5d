//! The `[moe]` scenario table: a serde mirror of the TOML (unknown keys rejected; durations,
//! sizes, bandwidths and memory sizes written with units as everywhere in infersim), turned by
//! [`MoeSpec::build`] into a validated model, platform and latency limit.
//!
//! ```toml
//! [moe]
//! model = "gpt2-moe"          # a preset name (see presets::MODEL_PRESETS)
//! batch_tokens = 10240        # default: 10,240 (the paper's batch)
//! latency_limit = "600s"      # T^limit; default: none
//! [moe.platform]              # every key optional; defaults: presets::aws_lambda_platform
//! s3_delay = "30ms"
//! s3_bandwidth = "75MB/s"
//! f2f_bandwidth = "75MB/s"
//! warm_start = "25ms"
//! payload_limit = "6MiB"
//! memory_menu = "paper-14"    # or "legacy-64mb", "all-1mb", or ["768MB", "1769MB"]
//! max_replicas = 8
//! gb_s_price = 0.0000166667
//! billing_granularity = "1ms"
//! request_fee = 0.0000002
//! s3_put_fee = 0.000005
//! s3_get_fee = 0.0000004
//! mb_per_vcpu = 1769.0
//! max_vcpus = 6.0
//! eq6 = "consistent"          # or "printed"
//! ```

use serde::{Deserialize, Serialize};

use crate::units::{Bandwidth, Bytes, Duration, MemoryMb};

use super::error::MoeError;
use super::model::{Eq6Reading, MemoryMenu, MoeModel, Platform, config};
use super::presets;

/// `[moe]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MoeSpec {
    /// Model preset name.
    pub model: String,
    /// Tokens per batch (default 10,240).
    pub batch_tokens: Option<u32>,
    /// T^limit (default: no limit).
    pub latency_limit: Option<Duration>,
    /// Platform overrides.
    #[serde(default)]
    pub platform: PlatformSpec,
    /// What happens when a batch's real routing exceeds its deployment (default `retry`).
    pub on_overflow: Option<crate::plan::moe::Overflow>,
    /// Where the batches' token routing comes from (needed by the MoE policies).
    pub routing: Option<RoutingSpec>,
}

/// `[moe.routing]`: the token routing the policies profile, predict and serve.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// A routing trace file (relative to the scenario).
    pub trace: Option<std::path::PathBuf>,
    /// Its format: `"routing"` (infersim's) or `"mixtral-routing"` (the recorded Mixtral JSONL).
    pub format: Option<String>,
    /// Seeded synthetic routing: the generator's parameters, inline or a file of them.
    pub synthetic: Option<SynthSource>,
    /// Overrides of the generator's sequences.
    pub sequences: Option<usize>,
    /// Overrides of the generator's tokens per sequence.
    pub tokens_per_sequence: Option<usize>,
    /// Overrides of the generator's seed.
    pub seed: Option<u64>,
    /// Fraction of the tokens (in trace order) that profile Ω; the rest are served (default 0.5).
    pub profile_fraction: Option<f64>,
    /// Batches served by a run, from the served part (default: all full batches there).
    pub test_batches: Option<usize>,
    /// Batches the BO refinement learns on, from the end of the profiled part (default 4).
    pub learning_batches: Option<usize>,
    /// The predictors' features: `"token-id"` or `"previous-layer"` (default: token ids when
    /// the trace has them).
    pub features: Option<String>,
    /// Positions per position bucket (feature f₂; default 16).
    pub position_bucket: Option<u32>,
}

/// The synthetic generator's parameters: a table, or a file holding one.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SynthSource {
    /// A TOML file of parameters (relative to the scenario).
    File(std::path::PathBuf),
    /// The parameters.
    Inline(Box<crate::moe::routing::synth::SynthParams>),
}

/// `[moe.platform]`: every key overrides [`presets::aws_lambda_platform`].
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// T^dl.
    pub s3_delay: Option<Duration>,
    /// B^s.
    pub s3_bandwidth: Option<Bandwidth>,
    /// B^f.
    pub f2f_bandwidth: Option<Bandwidth>,
    /// T^str.
    pub warm_start: Option<Duration>,
    /// D^p.
    pub payload_limit: Option<Bytes>,
    /// The memory menu.
    pub memory_menu: Option<MenuSpec>,
    /// G.
    pub max_replicas: Option<u32>,
    /// $ per GB-s.
    pub gb_s_price: Option<f64>,
    /// Billing granularity.
    pub billing_granularity: Option<Duration>,
    /// $ per invocation.
    pub request_fee: Option<f64>,
    /// $ per storage PUT.
    pub s3_put_fee: Option<f64>,
    /// $ per storage GET.
    pub s3_get_fee: Option<f64>,
    /// MB per vCPU.
    pub mb_per_vcpu: Option<f64>,
    /// Largest vCPU share.
    pub max_vcpus: Option<f64>,
    /// Reading of eq. 6.
    pub eq6: Option<Eq6Reading>,
}

/// A memory menu: a name or a list of sizes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum MenuSpec {
    /// `"paper-14"`, `"legacy-64mb"` or `"all-1mb"`.
    Named(String),
    /// Explicit sizes, e.g. `["768MB", "1769MB"]`.
    List(Vec<MemoryMb>),
}

/// A validated `[moe]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct MoeSetup {
    /// The model.
    pub model: MoeModel,
    /// The platform.
    pub platform: Platform,
    /// T^limit, ns (`u64::MAX` when none is given).
    pub latency_limit_ns: u64,
}

impl MoeSpec {
    /// Validates the table.
    pub fn build(&self) -> Result<MoeSetup, MoeError> {
        let mut model = presets::model_preset(&self.model).ok_or_else(|| {
            config(
                "moe.model",
                &format!("\"{}\"", self.model),
                &format!("one of the presets {}", presets::MODEL_PRESETS.join(", ")),
            )
        })?;
        if let Some(b) = self.batch_tokens {
            model.batch_tokens = b;
        }
        model.validate()?;
        let mut p = presets::aws_lambda_platform();
        let s = &self.platform;
        if let Some(v) = s.s3_delay {
            p.s3_delay = v.0;
        }
        if let Some(v) = s.s3_bandwidth {
            p.s3_bandwidth = v.0;
        }
        if let Some(v) = s.f2f_bandwidth {
            p.f2f_bandwidth = v.0;
        }
        if let Some(v) = s.warm_start {
            p.warm_start = v.0;
        }
        if let Some(v) = s.payload_limit {
            p.payload_limit = v.0;
        }
        if let Some(m) = &s.memory_menu {
            p.memory_menu = match m {
                MenuSpec::Named(n) => match n.as_str() {
                    "paper-14" => MemoryMenu::Paper14,
                    "legacy-64mb" => MemoryMenu::Legacy64,
                    "all-1mb" => MemoryMenu::AllMb,
                    other => {
                        return Err(config(
                            "moe.platform.memory_menu",
                            &format!("\"{other}\""),
                            "\"paper-14\", \"legacy-64mb\", \"all-1mb\" or a list of sizes such as [\"768MB\", \"1769MB\"]",
                        ));
                    }
                }
                .sizes(),
                MenuSpec::List(v) => {
                    let mut sizes: Vec<u32> = v.iter().map(|m| m.0).collect();
                    sizes.sort_unstable();
                    sizes.dedup();
                    sizes
                }
            };
        }
        if let Some(v) = s.max_replicas {
            p.max_replicas = v;
        }
        if let Some(v) = s.gb_s_price {
            p.gb_s_price = v;
        }
        if let Some(v) = s.billing_granularity {
            p.granularity = v.0;
        }
        if let Some(v) = s.request_fee {
            p.request_fee = v;
        }
        if let Some(v) = s.s3_put_fee {
            p.s3_put_fee = v;
        }
        if let Some(v) = s.s3_get_fee {
            p.s3_get_fee = v;
        }
        if let Some(v) = s.mb_per_vcpu {
            p.cpu.mb_per_vcpu = v;
        }
        if let Some(v) = s.max_vcpus {
            p.cpu.max_vcpus = v;
        }
        if let Some(v) = s.eq6 {
            p.eq6 = v;
        }
        p.validate()?;
        Ok(MoeSetup {
            model,
            platform: p,
            latency_limit_ns: self
                .latency_limit
                .map(|d| d.0.as_nanos())
                .unwrap_or(u64::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str) -> Result<MoeSetup, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Top {
            moe: MoeSpec,
        }
        let top: Top = toml::from_str(text).map_err(|e| e.to_string())?;
        top.moe.build().map_err(|e| e.to_string())
    }

    #[test]
    fn units_parse_and_override_the_preset() {
        let s = build(
            r#"
[moe]
model = "bert-moe-8"
batch_tokens = 256
latency_limit = "90s"
[moe.platform]
s3_delay = "20ms"
s3_bandwidth = "0.6Gbit/s"
memory_menu = ["1769MB", "768MB"]
billing_granularity = "100ms"
eq6 = "printed"
"#,
        )
        .unwrap();
        assert_eq!(s.model.batch_tokens, 256);
        assert_eq!(s.model.layers[0].experts.len(), 8);
        assert_eq!(s.latency_limit_ns, 90_000_000_000);
        assert_eq!(s.platform.s3_delay.as_nanos(), 20_000_000);
        assert_eq!(s.platform.s3_bandwidth, 75e6);
        assert_eq!(s.platform.memory_menu, vec![768, 1769]);
        assert_eq!(s.platform.granularity.as_nanos(), 100_000_000);
        assert_eq!(s.platform.eq6, Eq6Reading::Printed);
    }

    #[test]
    fn errors_name_the_key_and_what_is_allowed() {
        let e = build("[moe]\nmodel = \"gpt5\"\n").unwrap_err();
        assert!(e.contains("moe.model") && e.contains("gpt2-moe"), "{e}");
        let e =
            build("[moe]\nmodel = \"gpt2-moe\"\n[moe.platform]\nmax_replicas = 0\n").unwrap_err();
        assert!(e.contains("max_replicas") && e.contains("from 1 to"), "{e}");
        let e = build("[moe]\nmodel = \"gpt2-moe\"\n[moe.platform]\ns3_delay = 30\n").unwrap_err();
        assert!(e.contains("needs a unit"), "{e}");
        let e = build("[moe]\nmodel = \"gpt2-moe\"\nbogus = 1\n").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let e = build("[moe]\nmodel = \"gpt2-moe\"\n[moe.platform]\nmemory_menu = \"tiny\"\n")
            .unwrap_err();
        assert!(e.contains("paper-14"), "{e}");
        let e = build("[moe]\nmodel = \"gpt2-moe\"\nbatch_tokens = 0\n").unwrap_err();
        assert!(
            e.contains("batch_tokens") && e.contains("at least 1"),
            "{e}"
        );
    }
}
