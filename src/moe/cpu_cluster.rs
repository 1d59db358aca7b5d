//! The CPU-cluster baseline (§1.7: 2 × 64-core AMD EPYC, 512 GB DRAM), charged by wall time.
//!
//! # Mapping to the compute model
//! The cluster's cores are split evenly among the experts of a layer, which run concurrently
//! (§1.8, baseline 5); an expert's tokens are split evenly over its cores (token-level data
//! parallelism, as Lambda replicas do), and one token on one core takes the same time as on
//! one Lambda vCPU ([`ComputeLaw::one_core`](super::model::ComputeLaw::one_core)) divided by
//! `core_speedup`. Non-MoE blocks spread the batch over all cores. Parameters stay in DRAM and
//! activations in shared memory: no download, no transfer. Layers run one after another.
//! The bill is `price_per_hour × max(⌈wall⌉ s, min_billed) / 3600`.

use crate::kernel::SimDuration;

use super::error::MoeError;
use super::model::{BYTES_PER_MB, DenseBlock, MoeModel, Platform};

/// A CPU machine and its price.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuCluster {
    /// Name, for reports.
    pub name: String,
    /// Cores available to the model.
    pub cores: u32,
    /// DRAM, bytes.
    pub memory_bytes: u64,
    /// On-demand price, $ per hour.
    pub price_per_hour: f64,
    /// Speed of one core relative to one Lambda vCPU.
    pub core_speedup: f64,
    /// Shortest billed time (AWS on-demand Linux: 60 s); zero bills pure wall time.
    pub min_billed: SimDuration,
}

/// The paper's cluster as an EC2 instance of the same shape: **m7a.32xlarge** — 128 vCPUs,
/// each a physical core (4th-generation AMD EPYC, no SMT), 512 GiB — at **$7.4189 per hour**
/// on demand, us-east-1 (instances.vantage.sh figure quoted in a stored public cost table; not
/// in `prices.md`, which lists no 128-core instance). Per-second billing, 60 s minimum
/// (prices.md §4). Core speed equal to a Lambda vCPU (both are recent x86 server cores) [INF].
pub fn epyc_2x64() -> CpuCluster {
    CpuCluster {
        name: "m7a.32xlarge (2 × 64-core EPYC class, 512 GiB)".into(),
        cores: 128,
        memory_bytes: 512 * 1024 * BYTES_PER_MB,
        price_per_hour: 7.4189,
        core_speedup: 1.0,
        min_billed: SimDuration::from_secs(60),
    }
}

/// Wall time and bill of one batch on the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuClusterCost {
    /// Wall time, ns.
    pub wall_ns: u64,
    /// Of which the MoE layers (their slowest expert), ns.
    pub moe_ns: u64,
    /// Billed seconds.
    pub billed_s: u64,
    /// Dollars.
    pub usd: f64,
}

/// Per-token time of `block_law` on one cluster core, ns.
pub(crate) fn per_token_ns(block_law: &super::model::ComputeLaw, p: &Platform, speed: f64) -> u64 {
    SimDuration::from_secs_f64(block_law.one_core(&p.cpu).as_secs_f64() / speed).as_nanos()
}

/// Time of a non-MoE block on `tokens` tokens over all the cluster's cores, ns.
pub(crate) fn dense_ns(b: &DenseBlock, tokens: u32, c: &CpuCluster, p: &Platform) -> u64 {
    (tokens.div_ceil(c.cores) as u64).saturating_mul(per_token_ns(&b.compute, p, c.core_speedup))
}

/// Wall time and cost of serving `counts` (layer × expert tokens) on `cluster`; `platform`
/// supplies the CPU curve used to read table compute laws.
pub fn cpu_cluster_cost(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    cluster: &CpuCluster,
) -> Result<CpuClusterCost, MoeError> {
    model.check_counts(counts)?;
    if cluster.cores == 0 || !(cluster.core_speedup > 0.0) || !(cluster.price_per_hour >= 0.0) {
        return Err(super::model::config(
            "moe.cpu_cluster",
            &format!(
                "{} cores, speed-up {}, ${} per hour",
                cluster.cores, cluster.core_speedup, cluster.price_per_hour
            ),
            "at least 1 core, a positive speed-up and a price of at least $0",
        ));
    }
    if model.total_params() > cluster.memory_bytes {
        return Err(super::model::config(
            "moe.cpu_cluster.memory",
            &format!("{} bytes of parameters", model.total_params()),
            &format!(
                "at most the cluster's {} bytes of DRAM",
                cluster.memory_bytes
            ),
        ));
    }
    let t = model.batch_tokens;
    let mut wall =
        dense_ns(&model.head, t, cluster, platform) + dense_ns(&model.tail, t, cluster, platform);
    let mut moe = 0u64;
    for (layer, c) in model.layers.iter().zip(counts) {
        let per_expert = (cluster.cores / layer.experts.len() as u32).max(1);
        let slowest = layer
            .experts
            .iter()
            .zip(c)
            .map(|(x, &d)| {
                (d.div_ceil(per_expert) as u64).saturating_mul(per_token_ns(
                    &x.compute,
                    platform,
                    cluster.core_speedup,
                ))
            })
            .max()
            .unwrap_or(0);
        moe += slowest;
        wall += slowest + dense_ns(&layer.next, t, cluster, platform);
    }
    let billed_s = wall.div_ceil(crate::kernel::NANOS_PER_SEC).max(
        cluster
            .min_billed
            .as_nanos()
            .div_ceil(crate::kernel::NANOS_PER_SEC),
    );
    Ok(CpuClusterCost {
        wall_ns: wall,
        moe_ns: moe,
        billed_s,
        usd: billed_s as f64 * cluster.price_per_hour / 3600.0,
    })
}
