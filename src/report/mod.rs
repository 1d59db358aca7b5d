//! Results: what one run produces, statistics over replications, and the files and tables
//! written from them.

pub mod check;
pub mod csvin;
pub mod latency;
pub mod markdown;
pub mod metric;
pub mod moe;
pub mod plot;
pub mod stats;
pub mod tidy;
pub mod timeseries;
pub mod write;

use serde::Serialize;

pub use metric::{Metric, MetricKey, UnknownMetric};
pub use timeseries::TimeSeries;

/// The result of one run (one policy, one replication).
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Metrics in catalogue order (see [`metric`]); names carry their unit.
    pub metrics: Vec<(MetricKey, f64)>,
    /// Time series sampled every `run.sample_interval`.
    pub samples: TimeSeries,
    /// Per-function statistics (one row per deployed function).
    pub functions: Vec<FunctionStats>,
    /// The latency of every measured request, as histogram buckets.
    pub latency: latency::LatencyCounts,
}

/// What happened to one function in one run.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct FunctionStats {
    /// Function name (stage, or trace function).
    pub function: String,
    /// Memory, MB.
    pub memory_mb: u32,
    /// Invocations started.
    pub invocations: u64,
    /// Cold starts.
    pub cold_starts: u64,
    /// Idle (wasted) memory time, GB-s.
    pub idle_gb_s: f64,
    /// Billed GB-s of its invocations.
    pub billed_gb_s: f64,
    /// Storage GETs and PUTs of its tasks.
    pub storage_requests: (u64, u64),
    /// The MoE layer of an expert function (MoE plans only).
    pub moe_layer: Option<u16>,
}

impl RunResult {
    /// The value of a metric that is not per-stage, if the run reports it.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k.is(metric))
            .map(|(_, v)| *v)
    }

    /// The value of a per-stage metric for the stage named `stage`.
    pub fn get_stage(&self, metric: Metric, stage: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k.metric() == metric && k.stage_name() == Some(stage))
            .map(|(_, v)| *v)
    }

    /// The value of a metric by key.
    pub fn get_key(&self, key: &MetricKey) -> Option<f64> {
        self.metrics.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The value of a metric named by the user (`latency_p99_s`, `stage_gpu_vm_share`): an
    /// error for a name that is not a metric, `None` for one this run does not report.
    pub fn get_named(&self, name: &str) -> Result<Option<f64>, UnknownMetric> {
        Ok(self.get_key(&Metric::from_name(name)?))
    }
}

/// One time-series sample.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Sample {
    /// Time, seconds.
    pub time_s: f64,
    /// Arrivals per second over the last interval.
    pub arrival_rate_rps: f64,
    /// Requests in flight.
    pub in_flight: u64,
    /// Function instances busy (initialising or running).
    pub functions_busy: u32,
    /// Function instances idle (warm).
    pub functions_idle: u32,
    /// VMs serving.
    pub vms_running: u32,
    /// VMs booting.
    pub vms_booting: u32,
    /// Busy VM slots.
    pub vm_slots_busy: u32,
    /// Tasks queued at VMs.
    pub vm_queue: u32,
}

/// All runs of a scenario: `results[policy][replication]`.
#[derive(Clone, Debug)]
pub struct ScenarioResults {
    /// Scenario name.
    pub scenario: String,
    /// Policy names, in scenario order.
    pub policies: Vec<String>,
    /// Runs.
    pub results: Vec<Vec<RunResult>>,
    /// Replication numbers run (the same for every policy).
    pub replications: Vec<u32>,
}
