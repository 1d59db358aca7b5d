//! The end of a run: bills closed at the end time and the metrics assembled.

use super::Sim;
use crate::kernel::SimTime;
use crate::report::{FunctionStats, RunResult};

/// The `p` quantile of sorted values, by linear interpolation; NaN when empty.
fn quantile_sorted(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let h = (xs.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (h - lo as f64)
}

impl Sim<'_> {
    /// Closes the bills at the end time and assembles the run's metrics.
    pub(super) fn finish(mut self) -> RunResult {
        let end = self.now().max(self.horizon);
        self.faas.finish(end);
        for p in &mut self.pools {
            p.finish(end, &mut self.ledger);
        }
        for (f, &pc) in self.faas.functions.iter().zip(&self.provisioned) {
            if pc > 0 {
                self.ledger
                    .add_pc_configured(pc, f.memory_mb, end.since(SimTime::ZERO));
            }
        }
        let costs = self.ledger.costs(&self.sc.prices);
        let latency = self.latency.histogram();
        let c = &self.counters;
        let window = (self.horizon.since(self.warmup)).as_secs_f64();
        let q = |p: f64| {
            if c.completed == 0 {
                f64::NAN
            } else {
                latency.value_at_quantile(p) as f64 / 1e9
            }
        };
        let mean = |sum: u128, n: u64| {
            if n == 0 {
                f64::NAN
            } else {
                sum as f64 / n as f64 / 1e9
            }
        };
        let (busy, cap) = self.pools.iter().fold((0u128, 0u128), |(b, c), p| {
            (b + p.busy_slots.area(end), c + p.running_slots.area(end))
        });
        let mut m: Vec<(String, f64)> = vec![
            ("requests".into(), c.requests as f64),
            ("completed".into(), c.completed as f64),
            ("dropped".into(), c.dropped as f64),
            ("cold_starts".into(), c.cold_starts as f64),
            ("invocations".into(), c.invocations as f64),
            (
                "cold_start_rate".into(),
                if c.invocations == 0 {
                    0.0
                } else {
                    c.cold_starts as f64 / c.invocations as f64
                },
            ),
            ("throttles".into(), c.throttles as f64),
            ("latency_mean_s".into(), mean(c.latency_sum_ns, c.completed)),
            ("latency_p50_s".into(), q(0.5)),
            ("latency_p90_s".into(), q(0.9)),
            ("latency_p99_s".into(), q(0.99)),
            ("latency_p999_s".into(), q(0.999)),
            (
                "latency_max_s".into(),
                if c.completed == 0 {
                    f64::NAN
                } else {
                    latency.max() as f64 / 1e9
                },
            ),
            ("wait_mean_s".into(), mean(c.wait_sum_ns, c.waits)),
            (
                "wait_probability".into(),
                if c.waits == 0 {
                    f64::NAN
                } else {
                    c.waited as f64 / c.waits as f64
                },
            ),
            ("throughput_rps".into(), c.completed as f64 / window),
            ("arrival_rate_rps".into(), c.requests as f64 / window),
            (
                "in_system_mean".into(),
                (self.in_system_marks[1] - self.in_system_marks[0]) as f64 / (window * 1e9),
            ),
        ];
        if self.sc.run.slo.is_some() {
            m.push((
                "slo_violation_rate".into(),
                if c.requests == 0 {
                    0.0
                } else {
                    (c.slo_violations + c.dropped) as f64 / c.requests as f64
                },
            ));
        }
        m.extend([
            ("cost_total_usd".into(), costs.total()),
            ("cost_faas_compute_usd".into(), costs.faas_compute),
            ("cost_faas_requests_usd".into(), costs.faas_requests),
            ("cost_vm_usd".into(), costs.vm),
            ("cost_storage_usd".into(), costs.storage),
            ("cost_transfer_usd".into(), costs.transfer),
            ("storage_puts".into(), self.ledger.storage_puts as f64),
            ("storage_gets".into(), self.ledger.storage_gets as f64),
            (
                "cost_per_million_usd".into(),
                if c.requests_all == 0 {
                    0.0
                } else {
                    costs.total() / c.requests_all as f64 * 1e6
                },
            ),
            (
                "vm_utilization".into(),
                if cap == 0 {
                    f64::NAN
                } else {
                    busy as f64 / cap as f64
                },
            ),
            ("vm_busy_slot_s".into(), busy as f64 / 1e9),
            (
                "vm_billed_hours".into(),
                self.ledger.vm_billed_seconds as f64 / 3600.0,
            ),
            (
                "vms_launched".into(),
                self.pools.iter().map(|p| p.launched).sum::<u64>() as f64,
            ),
            ("instances_created".into(), self.faas.created as f64),
            (
                "idle_memory_gb_s".into(),
                self.faas.idle_mb_ns as f64 / 1024.0 / 1e9,
            ),
            (
                "instances_mean".into(),
                self.faas.alive_over_time.area(end) as f64 / end.0.max(1) as f64,
            ),
            (
                "instances_busy_mean".into(),
                self.faas.busy_over_time.area(end) as f64 / end.0.max(1) as f64,
            ),
            (
                "instances_idle_mean".into(),
                (self.faas.alive_over_time.area(end) - self.faas.busy_over_time.area(end)) as f64
                    / end.0.max(1) as f64,
            ),
            (
                "instance_lifespan_mean_s".into(),
                if self.faas.evicted == 0 {
                    f64::NAN
                } else {
                    self.faas.lifetime_ns_sum as f64 / self.faas.evicted as f64 / 1e9
                },
            ),
            ("end_time_s".into(), end.as_secs_f64()),
            ("events".into(), self.events as f64),
        ]);
        for (i, name) in self.planner.stage_names().iter().enumerate() {
            let (v, f) = (c.tasks_vm[i], c.tasks_faas[i]);
            if self.planner.stage_names().len() > 1 {
                m.push((format!("stage_{}_entered", name), c.stage_entries[i] as f64));
                m.push((format!("stage_{}_exited", name), c.exits[i] as f64));
            }
            m.push((
                format!("stage_{}_vm_share", name),
                if v + f == 0 {
                    f64::NAN
                } else {
                    v as f64 / (v + f) as f64
                },
            ));
        }
        let functions: Vec<FunctionStats> = self
            .faas
            .functions
            .iter()
            .map(|f| FunctionStats {
                function: f.name.clone(),
                memory_mb: f.memory_mb,
                invocations: f.invocations,
                cold_starts: f.cold_starts,
                idle_gb_s: f.idle_mb_ns as f64 / 1024.0 / 1e9,
            })
            .collect();
        if self.n_classes > 1 {
            // Distribution over functions of the cold-start percentage (functions invoked at
            // least once), as in "Serverless in the Wild".
            let mut pct: Vec<f64> = functions
                .iter()
                .filter(|f| f.invocations > 0)
                .map(|f| 100.0 * f.cold_starts as f64 / f.invocations as f64)
                .collect();
            pct.sort_by(f64::total_cmp);
            for (name, p) in [("p50", 0.50), ("p75", 0.75), ("p90", 0.90), ("p99", 0.99)] {
                m.push((
                    format!("cold_start_pct_{name}_functions"),
                    quantile_sorted(&pct, p),
                ));
            }
            m.push(("functions_invoked".into(), pct.len() as f64));
        }
        RunResult {
            metrics: m,
            samples: self.samples,
            functions,
        }
    }
}
