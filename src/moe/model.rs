//! The MoE model and the serverless platform it is deployed on (Liu, Wang, Wu, INFOCOM 2025,
//! §III; notation of `shared/reference/papers.md` §1.4).
//!
//! A model is a head function, a sequence of MoE layers — each followed by the non-MoE function
//! that gathers its outputs (attention block plus the next gate, or the final norm after the
//! last layer) — and a tail function. Every function and every expert has a parameter size, a
//! per-token compute law and (for non-MoE functions) a fixed memory size. Sizes are bytes,
//! memory sizes are Lambda MB (MiB), times are integer nanoseconds ([`SimDuration`]).

use crate::cloud::faas::CpuCurve;
use crate::kernel::SimDuration;

use super::error::MoeError;

/// Bytes in one Lambda "MB" (Lambda memory sizes are MiB).
pub const BYTES_PER_MB: u64 = 1024 * 1024;

/// Per-token compute time as a function of the function's memory size (U_j in eq. 3).
#[derive(Clone, Debug, PartialEq)]
pub enum ComputeLaw {
    /// Profiled: one per-token time per memory size. Memory sizes not in the table cannot be
    /// used by this function.
    Table(Vec<(u32, SimDuration)>),
    /// Parametric: the time on one full vCPU divided by the vCPU share, where the share is
    /// the platform's CPU curve (Lambda: 1 vCPU at 1,769 MB, linear in memory) capped by the
    /// model's parallelism (how many vCPUs the per-token computation can use).
    Curve {
        /// Per-token time on exactly one vCPU.
        one_vcpu: SimDuration,
        /// vCPUs the computation can use (≥ 1).
        parallelism: f64,
    },
}

impl ComputeLaw {
    /// Per-token time at `memory_mb`, or `None` when a table has no entry for it. The curve
    /// rounds to the nearest nanosecond.
    pub fn per_token(&self, memory_mb: u32, cpu: &CpuCurve) -> Option<SimDuration> {
        match self {
            ComputeLaw::Table(rows) => rows.iter().find(|r| r.0 == memory_mb).map(|r| r.1),
            ComputeLaw::Curve {
                one_vcpu,
                parallelism,
            } => {
                let share = cpu.vcpus(memory_mb).min(*parallelism);
                Some(SimDuration::from_secs_f64(one_vcpu.as_secs_f64() / share))
            }
        }
    }

    /// Per-token time on one dedicated core (used by the CPU-cluster model): the curve's
    /// one-vCPU time; for a table, the entry at the smallest tabulated memory of at least one
    /// vCPU (`cpu.mb_per_vcpu`), or the largest entry when none reaches one vCPU.
    pub fn one_core(&self, cpu: &CpuCurve) -> SimDuration {
        match self {
            ComputeLaw::Curve { one_vcpu, .. } => *one_vcpu,
            ComputeLaw::Table(rows) => {
                let at_least_one = rows
                    .iter()
                    .filter(|r| r.0 as f64 >= cpu.mb_per_vcpu)
                    .min_by_key(|r| r.0);
                let largest = rows.iter().max_by_key(|r| r.0);
                at_least_one.or(largest).map(|r| r.1).unwrap_or_default()
            }
        }
    }

    fn validate(&self, key: &str) -> Result<(), MoeError> {
        match self {
            ComputeLaw::Table(rows) if rows.is_empty() => Err(config(
                key,
                "an empty table",
                "at least one (memory, per-token time) row",
            )),
            ComputeLaw::Table(_) => Ok(()),
            ComputeLaw::Curve { parallelism, .. } => {
                if !(*parallelism >= 1.0) || !parallelism.is_finite() {
                    Err(config(
                        key,
                        &format!("parallelism {parallelism}"),
                        "a finite number of vCPUs of at least 1",
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// A non-MoE function: the head, the tail, or the attention block plus next gate after a MoE
/// layer. Its cost is not part of the objective (the paper bills only the experts); its time is.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseBlock {
    /// What the block holds, for reports.
    pub name: String,
    /// Parameter bytes downloaded from storage at every start.
    pub params: u64,
    /// Memory size of the function, MB.
    pub memory_mb: u32,
    /// Per-token compute law.
    pub compute: ComputeLaw,
}

/// One expert of a MoE layer (one Lambda function, possibly replicated).
#[derive(Clone, Debug, PartialEq)]
pub struct Expert {
    /// Parameter bytes P_{e,i}.
    pub params: u64,
    /// Intermediate memory M^itrm_{e,i}, bytes (runtime and working memory).
    pub intermediate: u64,
    /// Per-token compute law (U_j).
    pub compute: ComputeLaw,
}

/// One MoE layer and the non-MoE function after it.
#[derive(Clone, Debug, PartialEq)]
pub struct MoeLayer {
    /// The experts N_e (their number may differ between layers).
    pub experts: Vec<Expert>,
    /// The function that gathers this layer's outputs (T^load_e, T^NE_e).
    pub next: DenseBlock,
}

/// An MoE model.
#[derive(Clone, Debug, PartialEq)]
pub struct MoeModel {
    /// Name, for reports.
    pub name: String,
    /// First non-MoE function (T^head): embeddings, first attention block, first gate.
    pub head: DenseBlock,
    /// The MoE layers 𝔼, in order.
    pub layers: Vec<MoeLayer>,
    /// Last non-MoE function (T^tail), e.g. the LM head.
    pub tail: DenseBlock,
    /// Experts per token (top-k routing).
    pub top_k: u32,
    /// D^in: bytes of one token's input to an expert.
    pub d_in: u64,
    /// D^o: bytes of one token's output from an expert.
    pub d_out: u64,
    /// Tokens in a batch (what every non-MoE function processes).
    pub batch_tokens: u32,
}

impl MoeModel {
    /// Checks the shape and values; errors name the key, what was found and what is allowed.
    pub fn validate(&self) -> Result<(), MoeError> {
        if self.layers.is_empty() {
            return Err(config("moe.model.layers", "no MoE layers", "at least one"));
        }
        for (e, layer) in self.layers.iter().enumerate() {
            if layer.experts.is_empty() {
                return Err(config(
                    &format!("moe.model.layers[{e}].experts"),
                    "no experts",
                    "at least one expert per MoE layer",
                ));
            }
            if self.top_k as usize > layer.experts.len() {
                return Err(config(
                    "moe.model.top_k",
                    &format!(
                        "{} with {} experts in layer {e}",
                        self.top_k,
                        layer.experts.len()
                    ),
                    "at least 1 and at most the number of experts of every layer",
                ));
            }
            for (i, x) in layer.experts.iter().enumerate() {
                x.compute
                    .validate(&format!("moe.model.layers[{e}].experts[{i}].compute"))?;
            }
            layer
                .next
                .compute
                .validate(&format!("moe.model.layers[{e}].next.compute"))?;
        }
        self.head.compute.validate("moe.model.head.compute")?;
        self.tail.compute.validate("moe.model.tail.compute")?;
        if self.top_k == 0 {
            return Err(config("moe.model.top_k", "0", "at least 1"));
        }
        if self.batch_tokens == 0 {
            return Err(config("moe.batch_tokens", "0", "at least 1 token"));
        }
        if self.d_in == 0 || self.d_out == 0 {
            return Err(config(
                "moe.model.token_bytes",
                "0 bytes",
                "a positive size per token",
            ));
        }
        Ok(())
    }

    /// Checks that `counts` (layer × expert tokens, d_{e,i}) has the model's shape.
    pub fn check_counts(&self, counts: &[Vec<u32>]) -> Result<(), MoeError> {
        if counts.len() != self.layers.len() {
            return Err(MoeError::Counts(format!(
                "{} layers of counts for a model with {} MoE layers",
                counts.len(),
                self.layers.len()
            )));
        }
        for (e, (c, l)) in counts.iter().zip(&self.layers).enumerate() {
            if c.len() != l.experts.len() {
                return Err(MoeError::Counts(format!(
                    "layer {e} has {} counts for {} experts",
                    c.len(),
                    l.experts.len()
                )));
            }
        }
        Ok(())
    }

    /// Parameter bytes of all functions and experts.
    pub fn total_params(&self) -> u64 {
        let experts: u64 = self
            .layers
            .iter()
            .flat_map(|l| l.experts.iter().map(|x| x.params))
            .sum();
        let dense: u64 = self.layers.iter().map(|l| l.next.params).sum();
        experts + dense + self.head.params + self.tail.params
    }
}

/// Which reading of eq. 6 (pipelined replica time) the closed forms use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eq6Reading {
    /// `T^h + ⌈r/β⌉·t^blk + (T^dl + β·D^o/B^s)`: ⌈r/β⌉ blocks, then the last upload.
    #[default]
    Consistent,
    /// As printed: `T^h + (T^dl + ⌈r/β⌉·D^o/B^s) + β·t^blk`.
    Printed,
}

/// The memory sizes a function may be given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryMenu {
    /// The paper's 14 sizes (§1.7): 128, 768, 960, …, 3072 MB.
    Paper14,
    /// Lambda's legacy menu: 128–3,008 MB in 64 MB steps (46 sizes).
    Legacy64,
    /// Lambda today: 128–10,240 MB in 1 MB steps.
    AllMb,
    /// An explicit list.
    Custom(Vec<u32>),
}

/// The paper's 14 memory options, MB (§1.7).
pub const PAPER_MEMORY_MB: [u32; 14] = [
    128, 768, 960, 1152, 1344, 1536, 1728, 1920, 2112, 2304, 2496, 2688, 2880, 3072,
];

impl MemoryMenu {
    /// The sizes, ascending, MB.
    pub fn sizes(&self) -> Vec<u32> {
        let mut v = match self {
            MemoryMenu::Paper14 => PAPER_MEMORY_MB.to_vec(),
            MemoryMenu::Legacy64 => (128..=3008).step_by(64).collect(),
            MemoryMenu::AllMb => (128..=10240).collect(),
            MemoryMenu::Custom(v) => v.clone(),
        };
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The serverless platform constants of §1.4 and the prices.
#[derive(Clone, Debug, PartialEq)]
pub struct Platform {
    /// T^dl: storage access delay (per object GET or PUT).
    pub s3_delay: SimDuration,
    /// B^s: storage ↔ function bandwidth, bytes/s (one transfer).
    pub s3_bandwidth: f64,
    /// B^f: function ↔ function (invocation payload) bandwidth, bytes/s.
    pub f2f_bandwidth: f64,
    /// T^str: warm-start time of a function.
    pub warm_start: SimDuration,
    /// D^p: invocation payload limit, bytes.
    pub payload_limit: u64,
    /// Memory sizes an expert may get, MB, ascending.
    pub memory_menu: Vec<u32>,
    /// G: most replicas of one expert.
    pub max_replicas: u32,
    /// $ per GB-s (GB = 1,024 MB).
    pub gb_s_price: f64,
    /// Billing granularity of a function's running time.
    pub granularity: SimDuration,
    /// $ per invocation.
    pub request_fee: f64,
    /// $ per storage PUT.
    pub s3_put_fee: f64,
    /// $ per storage GET.
    pub s3_get_fee: f64,
    /// vCPU share as a function of memory.
    pub cpu: CpuCurve,
    /// Which reading of eq. 6 to use.
    pub eq6: Eq6Reading,
}

impl Platform {
    /// Checks the values; errors name the key, what was found and what is allowed.
    pub fn validate(&self) -> Result<(), MoeError> {
        let k = "moe.platform.";
        for (name, bw) in [
            ("s3_bandwidth", self.s3_bandwidth),
            ("f2f_bandwidth", self.f2f_bandwidth),
        ] {
            if !(bw > 0.0) || !bw.is_finite() {
                return Err(config(
                    &format!("{k}{name}"),
                    &format!("{bw} bytes per second"),
                    "a positive bandwidth such as \"75MB/s\"",
                ));
            }
        }
        if self.memory_menu.is_empty() {
            return Err(config(
                &format!("{k}memory_menu"),
                "an empty menu",
                "at least one memory size",
            ));
        }
        if let Some(&m) = self
            .memory_menu
            .iter()
            .find(|&&m| !(128..=10240).contains(&m))
        {
            return Err(config(
                &format!("{k}memory_menu"),
                &format!("{m} MB"),
                "sizes from 128 MB to 10,240 MB",
            ));
        }
        if self.memory_menu.windows(2).any(|w| w[0] >= w[1]) {
            return Err(config(
                &format!("{k}memory_menu"),
                "sizes out of order or repeated",
                "distinct sizes in ascending order",
            ));
        }
        if self.max_replicas == 0 || self.max_replicas > 1024 {
            return Err(config(
                &format!("{k}max_replicas"),
                &self.max_replicas.to_string(),
                "from 1 to 1,024 replicas per expert",
            ));
        }
        if self.granularity.as_nanos() == 0 {
            return Err(config(
                &format!("{k}billing_granularity"),
                "0",
                "a positive duration such as \"1ms\" (AWS since Dec 2020) or \"100ms\"",
            ));
        }
        for (name, fee) in [
            ("gb_s_price", self.gb_s_price),
            ("request_fee", self.request_fee),
            ("s3_put_fee", self.s3_put_fee),
            ("s3_get_fee", self.s3_get_fee),
        ] {
            if !(fee >= 0.0) || !fee.is_finite() {
                return Err(config(
                    &format!("{k}{name}"),
                    &fee.to_string(),
                    "a finite price of at least 0 dollars",
                ));
            }
        }
        if !(self.cpu.mb_per_vcpu > 0.0) || !(self.cpu.max_vcpus > 0.0) {
            return Err(config(
                &format!("{k}mb_per_vcpu"),
                &format!(
                    "{} MB per vCPU, at most {} vCPUs",
                    self.cpu.mb_per_vcpu, self.cpu.max_vcpus
                ),
                "positive numbers (AWS: 1769 MB per vCPU, at most 6 vCPUs)",
            ));
        }
        Ok(())
    }

    /// Time to move `bytes` over storage at B^s (no access delay), rounded to the nearest ns.
    #[inline]
    pub fn s3_xfer(&self, bytes: u64) -> u64 {
        xfer(bytes, self.s3_bandwidth)
    }

    /// Time to move `bytes` between functions at B^f, rounded to the nearest ns.
    #[inline]
    pub fn f2f_xfer(&self, bytes: u64) -> u64 {
        xfer(bytes, self.f2f_bandwidth)
    }
}

/// `bytes / bandwidth` in ns, rounded to the nearest ns (the one rounding rule of the MoE
/// closed forms; a discrete-event run must use the same helper to match them exactly).
#[inline]
pub fn xfer(bytes: u64, bandwidth: f64) -> u64 {
    SimDuration::from_secs_f64(bytes as f64 / bandwidth).as_nanos()
}

pub(crate) fn config(key: &str, found: &str, allowed: &str) -> MoeError {
    MoeError::Config {
        key: key.to_string(),
        found: found.to_string(),
        allowed: allowed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> CpuCurve {
        CpuCurve {
            mb_per_vcpu: 1769.0,
            max_vcpus: 6.0,
        }
    }

    #[test]
    fn curve_share_is_linear_then_capped_by_parallelism() {
        let law = ComputeLaw::Curve {
            one_vcpu: SimDuration::from_millis(2),
            parallelism: 2.0,
        };
        // 884.5 MB is half a vCPU: 4 ms per token.
        assert_eq!(
            law.per_token(1769, &cpu()),
            Some(SimDuration::from_millis(2))
        );
        // 3538 MB is two vCPUs: 1 ms. 7076 MB would be 4 vCPUs, capped at 2: still 1 ms.
        assert_eq!(
            law.per_token(3538, &cpu()),
            Some(SimDuration::from_millis(1))
        );
        assert_eq!(
            law.per_token(7076, &cpu()),
            Some(SimDuration::from_millis(1))
        );
        // 768 MB: 2 ms × 1769/768 = 4.606770833 ms.
        assert_eq!(
            law.per_token(768, &cpu()),
            Some(SimDuration::from_nanos(4_606_771))
        );
    }

    #[test]
    fn tables_only_know_their_rows() {
        let law = ComputeLaw::Table(vec![
            (1024, SimDuration::from_millis(3)),
            (2048, SimDuration::from_millis(2)),
        ]);
        assert_eq!(
            law.per_token(2048, &cpu()),
            Some(SimDuration::from_millis(2))
        );
        assert_eq!(law.per_token(3008, &cpu()), None);
        // One core: the smallest row of at least 1,769 MB.
        assert_eq!(law.one_core(&cpu()), SimDuration::from_millis(2));
    }

    #[test]
    fn menus() {
        assert_eq!(MemoryMenu::Paper14.sizes().len(), 14);
        let legacy = MemoryMenu::Legacy64.sizes();
        assert_eq!((legacy.len(), legacy[0], legacy[45]), (46, 128, 3008));
        assert_eq!(MemoryMenu::AllMb.sizes().len(), 10240 - 128 + 1);
    }

    #[test]
    fn transfer_rounds_to_the_nearest_nanosecond() {
        // 3,072 bytes at 75 MB/s = 40.96 µs.
        assert_eq!(xfer(3072, 75e6), 40_960);
        // 1 byte at 3 bytes/s = 333,333,333.33 ns → 333,333,333.
        assert_eq!(xfer(1, 3.0), 333_333_333);
    }
}
