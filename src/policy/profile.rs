//! Offline profiling for planning policies: what a stage's task costs on a function, how many
//! tasks per second one VM serves, and the per-epoch EWMA of a count that LIBRA and SERFLOW
//! both track. Everything here is computed from the scenario, deterministically.

use rand::SeedableRng;

use crate::cloud::billing::billed_ms;
use crate::cloud::vm::VmConfig;
use crate::scenario::{Scenario, Stage, StageService};
use crate::workload::Dist;

/// Draws used to estimate a billed mean.
const PROFILE_DRAWS: usize = 4096;

/// EWMA of a per-epoch count and of its absolute deviation, as in LIBRA's manager:
/// `dev ← (1−α)·dev + α·|mean − n|`, then `mean ← (1−α)·mean + α·n`; the first observation
/// sets the mean (deviation 0).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ewma {
    /// Mean count per epoch (`None` before the first epoch).
    pub mean: Option<f64>,
    /// Mean absolute deviation per epoch.
    pub dev: f64,
}

impl Ewma {
    /// Adds the count of one epoch with weight `alpha`.
    pub fn observe(&mut self, n: f64, alpha: f64) {
        match self.mean {
            None => {
                self.mean = Some(n);
                self.dev = 0.0;
            }
            Some(m) => {
                self.dev = (1.0 - alpha) * self.dev + alpha * (m - n).abs();
                self.mean = Some((1.0 - alpha) * m + alpha * n);
            }
        }
    }

    /// `mean + k·dev` (0 before the first epoch).
    pub fn share(&self, k: f64) -> f64 {
        self.mean.map_or(0.0, |m| m + k * self.dev)
    }
}

/// Mean service time (s) of one task of `stage` on a slot of a VM with configuration `vm`;
/// `None` when the stage's service comes from a trace.
pub fn vm_service_mean(stage: &Stage, vm: &VmConfig) -> Option<f64> {
    if let Some(d) = stage.service_on_vm(&vm.instance.name) {
        return Some(d.mean_secs());
    }
    match &stage.service {
        StageService::Dist(d) => {
            let v = vm.vcpus_per_slot.min(stage.parallelism).max(1e-9);
            Some(d.mean_secs() / v)
        }
        StageService::FromTrace => None,
    }
}

/// Tasks per second one VM of configuration `vm` serves at full load for `stage`.
pub fn vm_capacity(stage: &Stage, vm: &VmConfig) -> Option<f64> {
    vm_service_mean(stage, vm).map(|m| vm.slots as f64 / m.max(1e-12))
}

/// Memory (MB) of `stage`'s function that its profile assumes: the scenario's rule
/// ([`Scenario::function_memory_mb`]) without a deployment override (planning policies set none)
/// and with the trace's class when it names exactly one function; a stage shared by several
/// classes is profiled at the stage's (or the platform's) memory.
pub fn function_memory(sc: &Scenario, stage: &Stage) -> u32 {
    let class = match sc.classes.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    sc.function_memory_mb(None, stage, class)
}

/// The FaaS cost model of one stage: dollars per task on its function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaasTaskCost {
    /// Expected billed duration × memory × price, plus the request fee.
    pub compute_and_request: f64,
    /// Moving the previous stage's output in, when the previous stage ran elsewhere.
    pub transfer_in: f64,
}

impl FaasTaskCost {
    /// The total `c_k`.
    pub fn total(&self) -> f64 {
        self.compute_and_request + self.transfer_in
    }
}

/// `c_k = p_req + (m_k/1024)·E[⌈T_k/g⌉g]·p_GBs + transfer`, with the billed mean estimated
/// from 4,096 draws of the stage's service on its function (seeded by `seed`; warm starts,
/// cold starts excluded). `None` for trace-driven service.
pub fn faas_task_cost(sc: &Scenario, k: usize, seed: u64) -> Option<FaasTaskCost> {
    let stage = &sc.stages[k];
    let mem = function_memory(sc, stage);
    let (dist, factor): (&Dist, f64) = match stage.service_on_function(mem) {
        Some(d) => (d, 1.0),
        None => match &stage.service {
            StageService::Dist(d) => {
                let v = sc.faas.cpu.vcpus(mem).min(stage.parallelism).max(1e-9);
                (d, 1.0 / v)
            }
            StageService::FromTrace => return None,
        },
    };
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37));
    let g = sc.faas.granularity;
    let total_ms: u64 = (0..PROFILE_DRAWS)
        .map(|_| billed_ms(dist.sample(&mut rng).mul_f64(factor), g))
        .sum();
    let mean_s = total_ms as f64 / PROFILE_DRAWS as f64 / 1000.0;
    let compute = sc.prices.per_request + mem as f64 / 1024.0 * mean_s * sc.prices.gb_s;
    let transfer_in = if k == 0 {
        0.0
    } else {
        let (bytes, _) = sc.stages[k - 1].handoff_bytes();
        if bytes > 0 || sc.data.payload.price_per_transfer > 0.0 {
            sc.data.payload.cost(bytes)
        } else {
            0.0
        }
    };
    Some(FaasTaskCost {
        compute_and_request: compute,
        transfer_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_follows_libra_update_order() {
        let mut e = Ewma::default();
        e.observe(100.0, 0.2);
        assert_eq!((e.mean, e.dev), (Some(100.0), 0.0));
        e.observe(200.0, 0.2);
        // dev uses the old mean: 0.8·0 + 0.2·|100 − 200| = 20; mean = 0.8·100 + 0.2·200 = 120.
        assert!((e.dev - 20.0).abs() < 1e-12);
        assert!((e.mean.unwrap() - 120.0).abs() < 1e-12);
        assert!((e.share(1.0) - 140.0).abs() < 1e-12);
    }
}
