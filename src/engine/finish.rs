//! The end of a run: bills closed at the end time and the metrics assembled, in catalogue order,
//! from the counters, the recorder, the ledger and the platform state.

use hdrhistogram::Histogram;

use super::{Counters, Sim};
use crate::cloud::billing::{Costs, Ledger};
use crate::cloud::faas::Faas;
use crate::kernel::SimTime;
use crate::report::latency::LatencyCounts;
use crate::report::metric::{Layout, Metric, Slot};
use crate::report::{FunctionStats, RunResult};

/// The `p` quantile of sorted values, by linear interpolation (R-7); NaN when empty.
fn quantile_sorted(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let h = (xs.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (h - lo as f64)
}

/// `num / den`, or `empty` when `den` is 0.
fn ratio(num: u64, den: u64, empty: f64) -> f64 {
    if den == 0 {
        empty
    } else {
        num as f64 / den as f64
    }
}

/// A mean of nanoseconds in seconds; NaN when `n` is 0.
fn mean_s(sum_ns: u128, n: u64) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        sum_ns as f64 / n as f64 / 1e9
    }
}

/// Everything a metric is computed from, once the bills are closed.
struct Totals<'a> {
    c: &'a Counters,
    latency: &'a Histogram<u64>,
    costs: Costs,
    ledger: &'a Ledger,
    faas: &'a Faas,
    end: SimTime,
    /// The measurement window, seconds.
    window: f64,
    in_system_marks: [u128; 2],
    /// VM slot-time, busy and running (ns).
    busy: u128,
    cap: u128,
    vms_launched: u64,
    events: u64,
    /// Per function invoked at least once, its cold-start percentage, sorted (several request
    /// classes only).
    cold_pct: Vec<f64>,
    /// The error locator's detection rate (coded plans with a measured table), or NaN.
    detected_rate: f64,
    /// A MoE plan's totals.
    moe: Option<MoeTotals>,
}

/// What the MoE metrics are computed from.
struct MoeTotals {
    /// Dollars and GB-s of the expert functions (NaN GB-s on the CPU cluster).
    usd: f64,
    gb_s: f64,
    batches: u64,
    tokens: u32,
    oom: u64,
    payload: u64,
    mae: f64,
    limit_s: f64,
}

impl MoeTotals {
    fn new(sim: &Sim<'_>, m: &crate::plan::moe::Moe) -> Self {
        let arrivals = sim.arrival_index;
        let (usd, gb_s) = match m.cluster_price_per_hour() {
            Some(price) => (
                price / 3600.0 * m.sum_over_arrivals(arrivals, |b| b.cluster_billed_s) as f64,
                f64::NAN,
            ),
            None => {
                let mut bill = crate::plan::moe::Bill::default();
                for (id, f) in sim.faas.functions.iter().enumerate() {
                    if m.expert_layer(id).is_some() {
                        bill.mb_ms += f.billed_ms as u128 * f.memory_mb as u128;
                        bill.invocations += f.invocations;
                        bill.gets += f.storage_requests.0;
                        bill.puts += f.storage_requests.1;
                    }
                }
                let p = &sim.sc.prices;
                let usd = bill.gb_s() * p.gb_s
                    + bill.invocations as f64 * p.per_request
                    + bill.gets as f64 * p.get
                    + bill.puts as f64 * p.put;
                (usd, bill.gb_s())
            }
        };
        MoeTotals {
            usd,
            gb_s,
            batches: arrivals,
            tokens: m.batch_tokens(),
            oom: m.sum_over_arrivals(arrivals, |b| b.oom_failures as u64),
            payload: m.sum_over_arrivals(arrivals, |b| b.payload_failures as u64),
            mae: m.prediction_mae().unwrap_or(f64::NAN),
            limit_s: m.latency_limit_s(),
        }
    }
}

impl Totals<'_> {
    fn value(&self, slot: Slot) -> f64 {
        let c = self.c;
        let stage = || slot.stage.expect("per-stage metrics have a stage");
        let per_ns_of_run = |area: u128| area as f64 / self.end.0.max(1) as f64;
        match slot.metric {
            Metric::Requests => c.requests as f64,
            Metric::Completed => c.completed as f64,
            Metric::Dropped => c.dropped as f64,
            Metric::Unfinished => c.requests.saturating_sub(c.completed + c.dropped) as f64,
            Metric::ColdStarts => c.cold_starts as f64,
            Metric::Invocations => c.invocations as f64,
            Metric::ColdStartRate => ratio(c.cold_starts, c.invocations, 0.0),
            Metric::Throttles => c.throttles as f64,
            Metric::LatencyMean => mean_s(c.latency_sum_ns, c.completed),
            Metric::LatencyP50 | Metric::LatencyP90 | Metric::LatencyP99 | Metric::LatencyP999 => {
                if c.completed == 0 {
                    f64::NAN
                } else {
                    let q = slot
                        .metric
                        .latency_quantile()
                        .expect("a latency percentile");
                    self.latency.value_at_quantile(q) as f64 / 1e9
                }
            }
            Metric::LatencyMax => {
                if c.completed == 0 {
                    f64::NAN
                } else {
                    self.latency.max() as f64 / 1e9
                }
            }
            Metric::WaitMean => mean_s(c.wait_sum_ns, c.waits),
            Metric::WaitProbability => ratio(c.waited, c.waits, f64::NAN),
            Metric::Throughput => c.completed as f64 / self.window,
            Metric::ArrivalRate => c.requests as f64 / self.window,
            Metric::InSystemMean => {
                (self.in_system_marks[1] - self.in_system_marks[0]) as f64 / (self.window * 1e9)
            }
            Metric::SloViolationRate => ratio(c.slo_violations + c.dropped, c.requests, 0.0),
            Metric::CostTotal => self.costs.total(),
            Metric::CostFaasCompute => self.costs.faas_compute,
            Metric::CostFaasRequests => self.costs.faas_requests,
            Metric::CostVm => self.costs.vm,
            Metric::CostStorage => self.costs.storage,
            Metric::CostTransfer => self.costs.transfer,
            Metric::StoragePuts => self.ledger.storage_puts as f64,
            Metric::StorageGets => self.ledger.storage_gets as f64,
            Metric::CostPerMillion => {
                if c.requests_all == 0 {
                    0.0
                } else {
                    self.costs.total() / c.requests_all as f64 * 1e6
                }
            }
            Metric::VmUtilization => {
                if self.cap == 0 {
                    f64::NAN
                } else {
                    self.busy as f64 / self.cap as f64
                }
            }
            Metric::VmBusySlotTime => self.busy as f64 / 1e9,
            Metric::VmBilledHours => self.ledger.vm_billed_seconds as f64 / 3600.0,
            Metric::VmsLaunched => self.vms_launched as f64,
            Metric::InstancesCreated => self.faas.created as f64,
            Metric::IdleMemory => self.faas.idle_mb_ns as f64 / 1024.0 / 1e9,
            Metric::InstancesMean => per_ns_of_run(self.faas.alive_over_time.area(self.end)),
            Metric::InstancesBusyMean => per_ns_of_run(self.faas.busy_over_time.area(self.end)),
            Metric::InstancesIdleMean => per_ns_of_run(
                self.faas.alive_over_time.area(self.end) - self.faas.busy_over_time.area(self.end),
            ),
            Metric::InstanceLifespanMean => {
                if self.faas.evicted == 0 {
                    f64::NAN
                } else {
                    self.faas.lifetime_ns_sum as f64 / self.faas.evicted as f64 / 1e9
                }
            }
            Metric::EndTime => self.end.as_secs_f64(),
            Metric::Events => self.events as f64,
            Metric::StageEntered => c.stage_entries[stage()] as f64,
            Metric::StageExited => c.exits[stage()] as f64,
            Metric::StageVmShare => {
                let i = stage();
                let (v, f) = (c.tasks_vm[i], c.tasks_faas[i]);
                ratio(v, v + f, f64::NAN)
            }
            Metric::ColdStartPctP50Functions
            | Metric::ColdStartPctP75Functions
            | Metric::ColdStartPctP90Functions
            | Metric::ColdStartPctP99Functions => {
                let q = slot
                    .metric
                    .function_quantile()
                    .expect("a percentile over functions");
                quantile_sorted(&self.cold_pct, q)
            }
            Metric::FunctionsInvoked => self.cold_pct.len() as f64,
            Metric::WorkersPerQuery => {
                let tasks: u64 = c.tasks_faas.iter().chain(&c.tasks_vm).sum();
                ratio(tasks, c.requests, f64::NAN)
            }
            Metric::Accuracy => {
                if c.accuracy_n == 0 {
                    f64::NAN
                } else {
                    c.accuracy_sum / c.accuracy_n as f64
                }
            }
            Metric::ByzantineDetectedRate => self.detected_rate,
            Metric::MoeCost
            | Metric::MoeCostPerBatch
            | Metric::MoeGbS
            | Metric::TokensPerS
            | Metric::BatchLatency
            | Metric::BatchLatencyLimit
            | Metric::PredictionMae
            | Metric::OomFailures
            | Metric::PayloadFailures => {
                let Some(m) = &self.moe else {
                    return f64::NAN;
                };
                let latency = mean_s(c.latency_sum_ns, c.completed);
                match slot.metric {
                    Metric::MoeCost => m.usd,
                    Metric::MoeCostPerBatch => {
                        if m.batches == 0 {
                            f64::NAN
                        } else {
                            m.usd / m.batches as f64
                        }
                    }
                    Metric::MoeGbS => m.gb_s,
                    Metric::TokensPerS => m.tokens as f64 / latency,
                    Metric::BatchLatency => latency,
                    Metric::BatchLatencyLimit => m.limit_s,
                    Metric::PredictionMae => m.mae,
                    Metric::OomFailures => m.oom as f64,
                    _ => m.payload as f64,
                }
            }
        }
    }
}

impl Sim<'_> {
    /// Closes the bills at the end time and assembles the run's metrics.
    pub(super) fn finish(mut self) -> RunResult {
        // Every arrival is a request; the measured ones came from the warm-up mark on.
        self.counters.requests_all = self.arrival_index;
        self.counters.requests = self.arrival_index - self.arrivals_before_warmup;
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
        let functions: Vec<FunctionStats> = self
            .faas
            .functions
            .iter()
            .enumerate()
            .map(|(id, f)| FunctionStats {
                function: f.name.clone(),
                memory_mb: f.memory_mb,
                invocations: f.invocations,
                cold_starts: f.cold_starts,
                idle_gb_s: f.idle_mb_ns as f64 / 1024.0 / 1e9,
                billed_gb_s: f.billed_ms as f64 * f.memory_mb as f64 / 1024.0 / 1000.0,
                storage_requests: f.storage_requests,
                moe_layer: self.planner.moe_plan().and_then(|m| m.expert_layer(id)),
            })
            .collect();
        let layout = Layout {
            slo: self.sc.run.slo.is_some(),
            stages: self
                .planner
                .stage_names()
                .iter()
                .map(|s| s.as_str())
                .collect(),
            several_functions: self.n_classes > 1,
            coded: self.sc.policies.iter().any(|p| p.is_coded()),
            moe: self.sc.moe.is_some(),
        };
        // Distribution over functions of the cold-start percentage (functions invoked at least
        // once), as in "Serverless in the Wild".
        let mut cold_pct: Vec<f64> = if layout.several_functions {
            functions
                .iter()
                .filter(|f| f.invocations > 0)
                .map(|f| 100.0 * f.cold_starts as f64 / f.invocations as f64)
                .collect()
        } else {
            Vec::new()
        };
        cold_pct.sort_by(f64::total_cmp);
        let (busy, cap) = self.pools.iter().fold((0u128, 0u128), |(b, c), p| {
            (b + p.busy_slots.area(end), c + p.running_slots.area(end))
        });
        let planner = self.planner;
        let moe_totals = planner.moe_plan().map(|m| MoeTotals::new(&self, m));
        let totals = Totals {
            c: &self.counters,
            latency: self.rec.latency(),
            costs: self.ledger.costs(&self.sc.prices),
            ledger: &self.ledger,
            faas: &self.faas,
            end,
            window: (self.horizon.since(self.warmup)).as_secs_f64(),
            in_system_marks: self.in_system_marks,
            busy,
            cap,
            vms_launched: self.pools.iter().map(|p| p.launched).sum(),
            events: self.events,
            cold_pct,
            detected_rate: self
                .planner
                .coded_plan()
                .and_then(|c| c.setup().accuracy)
                .and_then(|a| a.detected_rate)
                .unwrap_or(f64::NAN),
            moe: moe_totals,
        };
        let metrics = layout.assemble(|slot| totals.value(slot));
        let latency = LatencyCounts::from_histogram(totals.latency);
        RunResult {
            metrics,
            samples: self.rec.into_samples(),
            functions,
            latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::report::RunResult;
    use crate::report::metric::{Metric, Presence};
    use crate::scenario::Scenario;

    fn run(text: &str, dir: &std::path::Path) -> RunResult {
        let sc = Scenario::from_str_at(text, &dir.join("t.toml")).unwrap();
        crate::engine::run(&sc, 0, 0).expect("the run reads no trace")
    }

    /// The run's metrics come in catalogue order, the per-stage ones as one block (each stage in
    /// plan order, its metrics in catalogue order) at the catalogue's place; the metrics reported
    /// are those whose condition holds.
    fn assert_catalogue_order(r: &RunResult, stages: &[&str], slo: bool, several: bool) {
        let pos = |m: Metric| Metric::ALL.iter().position(|&n| n == m).unwrap();
        let first_stage = Metric::ALL.iter().position(|m| m.per_stage()).unwrap();
        let mut expected: Vec<String> = Vec::new();
        for &m in Metric::ALL {
            let present = match m.presence() {
                Presence::Always => true,
                Presence::WithSlo => slo,
                Presence::MultiStage => stages.len() > 1,
                Presence::SeveralFunctions => several,
                Presence::Coded | Presence::Moe => false,
            };
            if present && !m.per_stage() {
                expected.push(m.name().to_string());
            }
        }
        let at = expected
            .iter()
            .position(|n| pos(Metric::from_name(n).unwrap().metric()) > first_stage)
            .unwrap_or(expected.len());
        let mut block = Vec::new();
        for s in stages {
            for &m in Metric::ALL {
                if m.per_stage() && (stages.len() > 1 || m.presence() == Presence::Always) {
                    block.push(m.of_stage(s).to_string());
                }
            }
        }
        expected.splice(at..at, block);
        let got: Vec<String> = r.metrics.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_runs_metrics_come_in_catalogue_order() {
        let dir = tempfile::tempdir().unwrap();
        let two_stages = r#"
name = "order"
[run]
horizon = "30s"
slo = "300ms"
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
[[stage]]
name = "first"
service = { kind = "exponential", mean = "50ms" }
exit = 0.5
[[stage]]
name = "second"
service = { kind = "exponential", mean = "50ms" }
[[policy]]
kind = "all-faas"
"#;
        let r = run(two_stages, dir.path());
        assert_catalogue_order(&r, &["first", "second"], true, false);
        assert!(r.get(Metric::Requests).unwrap() > 50.0);
        assert!(r.get(Metric::SloViolationRate).is_some());
        assert_eq!(
            r.get_stage(Metric::StageEntered, "first"),
            r.get(Metric::Requests)
        );
        assert_eq!(r.get_stage(Metric::StageVmShare, "second"), Some(0.0));
        assert_eq!(r.get(Metric::ColdStartPctP50Functions), None);

        // One stage, no SLO, a trace of two functions.
        std::fs::write(
            dir.path().join("trace.csv"),
            "t,fn\n0,a\n100,b\n200,a\n5000,b\n9000,a\n",
        )
        .unwrap();
        let traced = r#"
name = "order2"
[run]
horizon = "20s"
[workload]
arrivals = { kind = "trace", format = "csv", path = "trace.csv", time_column = "t", time_unit = "ms", function_column = "fn" }
[[stage]]
name = "only"
service = { kind = "constant", value = "10ms" }
[[policy]]
kind = "all-faas"
"#;
        let r = run(traced, dir.path());
        assert_catalogue_order(&r, &["only"], false, true);
        assert_eq!(r.get(Metric::FunctionsInvoked), Some(2.0));
        assert_eq!(r.get(Metric::Requests), Some(5.0));
    }
}
