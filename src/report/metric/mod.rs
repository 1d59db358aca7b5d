//! The catalogue of metrics: every metric a run reports, defined once with its CSV name, unit,
//! scope, when it is reported and what it means; the typed keys of a run's results; the one
//! parser of user-supplied metric names; and the columns of the time series.
//!
//! The CSV names are written only here. A run's metrics come in catalogue order ([`Metric::ALL`]),
//! the per-stage ones as one block (for each stage in plan order, its per-stage metrics in
//! catalogue order) where the catalogue lists them.

mod record;

use std::borrow::Cow;
use std::fmt;

pub use record::{Layout, Recorder, Slot};

/// Placeholder for the stage name in the names of per-stage metrics (`stage_<name>_entered`).
const STAGE: &str = "<name>";

/// Which requests or time a metric covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Requests that arrive at or after `warmup` and before the horizon.
    Measured,
    /// The measurement window `[warmup, horizon)` as time.
    Window,
    /// The whole run: warm-up and the drain after the horizon included.
    WholeRun,
    /// A fact about the simulation itself, not a measurement.
    Simulation,
}

impl Scope {
    /// The scope as the README's metrics table writes it.
    pub const fn label(self) -> &'static str {
        match self {
            Scope::Measured => "measured",
            Scope::Window => "window",
            Scope::WholeRun => "whole run",
            Scope::Simulation => "—",
        }
    }
}

/// When a run reports a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Every run.
    Always,
    /// Runs of a scenario with `[run] slo`.
    WithSlo,
    /// Runs of a plan with two stages or more.
    MultiStage,
    /// Runs with several request classes (a trace naming several functions).
    SeveralFunctions,
    /// Runs of a scenario with a coded policy (`uncoded`, `replication`, `parm`, `approxifer`).
    Coded,
    /// Runs of a scenario with a `[moe]` model (`moe-deploy`, `moe-lambdaml`, `moe-cpu-cluster`).
    Moe,
}

macro_rules! catalogue {
    ($( $variant:ident = $name:literal, $unit:literal, $scope:ident, $presence:ident, $desc:literal; )*) => {
        /// A metric of the catalogue. A per-stage metric ([`Metric::per_stage`]) stands for one
        /// value per stage; its [`MetricKey`] names the stage.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Metric {
            $( #[doc = $desc] $variant, )*
        }

        impl Metric {
            /// Every metric, in the order a run reports them.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant),*];

            /// The CSV name; per-stage metrics have `<name>` where the stage name goes
            /// (`stage_<name>_entered`).
            pub const fn name(self) -> &'static str {
                match self { $(Metric::$variant => $name,)* }
            }

            /// The unit (`count`, `s`, `$`, `fraction`, …).
            pub const fn unit(self) -> &'static str {
                match self { $(Metric::$variant => $unit,)* }
            }

            /// Which requests or time the metric covers.
            pub const fn scope(self) -> Scope {
                match self { $(Metric::$variant => Scope::$scope,)* }
            }

            /// When a run reports the metric.
            pub const fn presence(self) -> Presence {
                match self { $(Metric::$variant => Presence::$presence,)* }
            }

            /// What the metric means, in one line.
            pub const fn description(self) -> &'static str {
                match self { $(Metric::$variant => $desc,)* }
            }
        }
    };
}

catalogue! {
    Requests = "requests", "count", Measured, Always,
        "requests that arrived";
    Completed = "completed", "count", Measured, Always,
        "requests that finished";
    Dropped = "dropped", "count", Measured, Always,
        "requests that failed (throttled with `drop`, or out of retries)";
    Unfinished = "unfinished", "count", Measured, Always,
        "requests still in flight when the run stopped at the drain limit (`[run.limits] drain`); 0 when every request finished";
    ColdStarts = "cold_starts", "count", WholeRun, Always,
        "invocations that created an instance";
    Invocations = "invocations", "count", WholeRun, Always,
        "function invocations (tasks started on functions, orphans included)";
    ColdStartRate = "cold_start_rate", "fraction", WholeRun, Always,
        "`cold_starts / invocations` (0 if no invocations)";
    Throttles = "throttles", "count", WholeRun, Always,
        "throttled invocations (once per queued invocation, once per throttled attempt with `retry`)";
    LatencyMean = "latency_mean_s", "s", Measured, Always,
        "mean end-to-end latency (arrival to response) of completed requests";
    LatencyP50 = "latency_p50_s", "s", Measured, Always,
        "median latency (HdrHistogram, 3 significant digits)";
    LatencyP90 = "latency_p90_s", "s", Measured, Always,
        "90th percentile of latency (HdrHistogram, 3 significant digits)";
    LatencyP99 = "latency_p99_s", "s", Measured, Always,
        "99th percentile of latency (HdrHistogram, 3 significant digits)";
    LatencyP999 = "latency_p999_s", "s", Measured, Always,
        "99.9th percentile of latency (HdrHistogram, 3 significant digits)";
    LatencyMax = "latency_max_s", "s", Measured, Always,
        "largest latency";
    WaitMean = "wait_mean_s", "s", Measured, Always,
        "mean time a task waited from creation to start on its backend (VM queue, throttle queue, retries); cold-start time is not waiting";
    WaitProbability = "wait_probability", "fraction", Measured, Always,
        "fraction of started tasks that waited at all (P(wait) of a queue)";
    Throughput = "throughput_rps", "1/s", Measured, Always,
        "`completed / (horizon − warmup)`";
    ArrivalRate = "arrival_rate_rps", "1/s", Measured, Always,
        "`requests / (horizon − warmup)`";
    InSystemMean = "in_system_mean", "requests", Window, Always,
        "time-average number of requests in flight between `warmup` and the horizon (Little's L)";
    SloViolationRate = "slo_violation_rate", "fraction", Measured, WithSlo,
        "(completed requests slower than `slo` + dropped requests) / `requests`; only when `[run] slo` is set";
    CostTotal = "cost_total_usd", "$", WholeRun, Always,
        "total cost";
    CostFaasCompute = "cost_faas_compute_usd", "$", WholeRun, Always,
        "function duration charges (on demand, provisioned duration and provisioned capacity)";
    CostFaasRequests = "cost_faas_requests_usd", "$", WholeRun, Always,
        "function request fees";
    CostVm = "cost_vm_usd", "$", WholeRun, Always,
        "VM charges";
    CostStorage = "cost_storage_usd", "$", WholeRun, Always,
        "storage PUT and GET fees";
    CostTransfer = "cost_transfer_usd", "$", WholeRun, Always,
        "payload and VM-network transfer charges";
    StoragePuts = "storage_puts", "count", WholeRun, Always,
        "object-store PUT requests (made when a task that writes to storage finishes)";
    StorageGets = "storage_gets", "count", WholeRun, Always,
        "object-store GET requests (made when a task that reads from storage starts)";
    CostPerMillion = "cost_per_million_usd", "$", WholeRun, Always,
        "`cost_total_usd` per million arrivals (warm-up included)";
    VmUtilization = "vm_utilization", "fraction", WholeRun, Always,
        "busy slot-time / slot-time of running VMs (empty if no VMs)";
    VmBusySlotTime = "vm_busy_slot_s", "slot-s", WholeRun, Always,
        "busy VM slot-time";
    VmBilledHours = "vm_billed_hours", "h", WholeRun, Always,
        "billed VM time";
    VmsLaunched = "vms_launched", "count", WholeRun, Always,
        "VMs launched, initial fleet included";
    InstancesCreated = "instances_created", "count", WholeRun, Always,
        "function instances created, provisioned ones included";
    IdleMemory = "idle_memory_gb_s", "GB-s", WholeRun, Always,
        "memory held by idle (warm, unused) function instances × time, until eviction or the end of the run (GB = 1,024 MB)";
    InstancesMean = "instances_mean", "instances", WholeRun, Always,
        "time-average number of function instances alive";
    InstancesBusyMean = "instances_busy_mean", "instances", WholeRun, Always,
        "time-average number of busy (initialising or running) instances";
    InstancesIdleMean = "instances_idle_mean", "instances", WholeRun, Always,
        "time-average number of idle instances";
    InstanceLifespanMean = "instance_lifespan_mean_s", "s", WholeRun, Always,
        "mean creation-to-eviction time of evicted instances (empty if none was evicted)";
    EndTime = "end_time_s", "s", Simulation, Always,
        "end of the run: `max(horizon, last completion)`";
    Events = "events", "count", Simulation, Always,
        "arrivals plus events processed (a measure of simulation work)";
    StageEntered = "stage_<name>_entered", "count", Measured, MultiStage,
        "requests that started the stage (plans with ≥ 2 stages)";
    StageExited = "stage_<name>_exited", "count", Measured, MultiStage,
        "requests that exited after the stage, not counting the end of the plan (plans with ≥ 2 stages)";
    StageVmShare = "stage_<name>_vm_share", "fraction", Measured, Always,
        "fraction of the stage's tasks routed to VMs (empty if none)";
    ColdStartPctP50Functions = "cold_start_pct_p50_functions", "%", WholeRun, SeveralFunctions,
        "median over functions (those invoked at least once) of each function's cold-start percentage";
    ColdStartPctP75Functions = "cold_start_pct_p75_functions", "%", WholeRun, SeveralFunctions,
        "75th percentile over functions (those invoked at least once) of each function's cold-start percentage";
    ColdStartPctP90Functions = "cold_start_pct_p90_functions", "%", WholeRun, SeveralFunctions,
        "90th percentile over functions (those invoked at least once) of each function's cold-start percentage";
    ColdStartPctP99Functions = "cold_start_pct_p99_functions", "%", WholeRun, SeveralFunctions,
        "99th percentile over functions (those invoked at least once) of each function's cold-start percentage";
    FunctionsInvoked = "functions_invoked", "count", WholeRun, SeveralFunctions,
        "functions invoked at least once (with several trace functions)";
    WorkersPerQuery = "workers_per_query", "tasks", Measured, Coded,
        "worker tasks started ÷ queries (resource overhead of redundancy: 1 uncoded, S + 1 replication, (K + S)/K ApproxIFER)";
    Accuracy = "accuracy", "fraction", Measured, Coded,
        "expected accuracy of the answered queries, from the scenario's accuracy table by how each was answered (own worker, decoded, reconstructed, corrupted); empty without a table";
    ByzantineDetectedRate = "byzantine_detected_rate", "fraction", Measured, Coded,
        "fraction of Byzantine workers the error locator finds, from the accuracy table (ApproxIFER with E > 0; empty otherwise)";
    MoeCost = "moe_cost_usd", "$", WholeRun, Moe,
        "billed cost of the expert functions of every MoE layer: duration, request fees and the storage requests of their data (the paper's objective); CPU cluster: its hourly price × each batch's wall time, rounded up to a second, at least 60 s (EC2 on-demand billing)";
    MoeCostPerBatch = "moe_cost_per_batch_usd", "$", WholeRun, Moe,
        "`moe_cost_usd` per batch served";
    MoeGbS = "moe_gb_s", "GB-s", WholeRun, Moe,
        "billed GB-s of the expert functions (GB = 1,024 MB; empty for the CPU cluster)";
    TokensPerS = "tokens_per_s", "tokens/s", Measured, Moe,
        "tokens of a batch ÷ mean batch latency (the paper's throughput)";
    BatchLatency = "batch_latency_s", "s", Measured, Moe,
        "mean end-to-end latency of a batch through all layers (the paper's T^head + T^tail + Σ(t^lat + T^NE))";
    BatchLatencyLimit = "batch_latency_limit_s", "s", Simulation, Moe,
        "the scenario's latency limit T^limit (`[moe] latency_limit`; empty without one)";
    PredictionMae = "prediction_mae_tokens", "tokens", Simulation, Moe,
        "mean absolute difference between real and predicted tokens per expert over the served batches (the paper's prediction error; empty for a policy that predicts nothing)";
    OomFailures = "oom_failures", "count", WholeRun, Moe,
        "expert invocations that ran out of memory because the real routing gave them more tokens than planned";
    PayloadFailures = "payload_failures", "count", WholeRun, Moe,
        "direct-mode payloads (a replica's input or output, or a layer's gather) over the payload limit";
}

impl Metric {
    /// True for a metric reported once per stage (its name holds the stage name).
    pub fn per_stage(self) -> bool {
        self.name().contains(STAGE)
    }

    /// The quantile of a latency percentile (`LatencyP99` → 0.99), 1 for the maximum.
    pub const fn latency_quantile(self) -> Option<f64> {
        match self {
            Metric::LatencyP50 => Some(0.5),
            Metric::LatencyP90 => Some(0.9),
            Metric::LatencyP99 => Some(0.99),
            Metric::LatencyP999 => Some(0.999),
            Metric::LatencyMax => Some(1.0),
            _ => None,
        }
    }

    /// The quantile of a percentile over functions (`ColdStartPctP75Functions` → 0.75).
    pub const fn function_quantile(self) -> Option<f64> {
        match self {
            Metric::ColdStartPctP50Functions => Some(0.5),
            Metric::ColdStartPctP75Functions => Some(0.75),
            Metric::ColdStartPctP90Functions => Some(0.9),
            Metric::ColdStartPctP99Functions => Some(0.99),
            _ => None,
        }
    }

    /// The key of this metric for one stage. Panics if the metric is not per-stage.
    pub fn of_stage(self, stage: &str) -> MetricKey {
        MetricKey::stage(self, stage)
    }

    /// The text around the stage name of a per-stage metric's name.
    fn stage_affixes(self) -> Option<(&'static str, &'static str)> {
        self.name().split_once(STAGE)
    }

    /// Parses a metric name as written in the CSV files (`latency_p99_s`, `stage_gpu_vm_share`).
    /// An unknown name is an error that lists the closest valid names.
    pub fn from_name(name: &str) -> Result<MetricKey, UnknownMetric> {
        for &m in Metric::ALL {
            match m.stage_affixes() {
                None if m.name() == name => return Ok(MetricKey::from(m)),
                Some((pre, post))
                    if name.len() >= pre.len() + post.len()
                        && name.starts_with(pre)
                        && name.ends_with(post) =>
                {
                    return Ok(MetricKey::stage(
                        m,
                        &name[pre.len()..name.len() - post.len()],
                    ));
                }
                _ => {}
            }
        }
        Err(UnknownMetric {
            name: name.to_string(),
            suggestions: suggest(name),
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// At most three valid names close to `name`, the closest first. For per-stage metrics the
/// stage name is guessed from `name` when it starts like one.
fn suggest(name: &str) -> Vec<String> {
    let stage = guess_stage(name);
    let mut scored: Vec<(f64, String)> = Vec::new();
    for &m in Metric::ALL {
        let candidate = match (m.stage_affixes(), stage) {
            (Some((pre, post)), Some(stage)) => format!("{pre}{stage}{post}"),
            _ => m.name().to_string(),
        };
        scored.push((strsim::jaro_winkler(name, &candidate), candidate));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .filter(|(s, _)| *s >= 0.8)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

/// The stage name in a misspelt per-stage metric name: after the common prefix (`stage_`), the
/// text before the tail that is closest to one of the per-stage suffixes.
fn guess_stage(name: &str) -> Option<&str> {
    let mut best: Option<(f64, &str)> = None;
    for &m in Metric::ALL {
        let Some((pre, post)) = m.stage_affixes() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(pre) else {
            continue;
        };
        for i in rest.char_indices().map(|(i, _)| i).chain([rest.len()]) {
            let score = strsim::jaro_winkler(&rest[i..], post);
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, &rest[..i]));
            }
        }
    }
    best.map(|(_, stage)| stage)
}

/// A metric name that is not in the catalogue, with the closest valid names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMetric {
    /// The name given.
    pub name: String,
    /// Close valid names, the closest first (possibly none).
    pub suggestions: Vec<String>,
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown metric `{}`", self.name)?;
        match self.suggestions.as_slice() {
            [] => f.write_str(" (the metrics are listed in README.md, section Metrics)"),
            [one] => write!(f, "; did you mean `{one}`?"),
            [init @ .., last] => {
                f.write_str("; did you mean ")?;
                for (i, s) in init.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{s}`")?;
                }
                write!(f, " or `{last}`?")
            }
        }
    }
}

impl std::error::Error for UnknownMetric {}

/// A metric as a run reports it: a catalogue metric and, for a per-stage one, the stage. Its
/// [`Display`](fmt::Display) is the CSV name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricKey {
    metric: Metric,
    stage: Option<Box<str>>,
}

impl MetricKey {
    /// The key of a per-stage metric for one stage. Panics if the metric is not per-stage.
    pub fn stage(metric: Metric, stage: &str) -> MetricKey {
        assert!(metric.per_stage(), "{metric} is not a per-stage metric");
        MetricKey {
            metric,
            stage: Some(stage.into()),
        }
    }

    /// The catalogue metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The stage of a per-stage metric.
    pub fn stage_name(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// True when this is the key of `metric` (not per-stage).
    pub fn is(&self, metric: Metric) -> bool {
        self.metric == metric && self.stage.is_none()
    }

    /// The CSV name (borrowed unless the metric is per-stage).
    pub fn name(&self) -> Cow<'static, str> {
        match &self.stage {
            None => Cow::Borrowed(self.metric.name()),
            Some(_) => Cow::Owned(self.to_string()),
        }
    }
}

impl From<Metric> for MetricKey {
    /// The key of a metric that is not per-stage. Panics if it is per-stage.
    fn from(metric: Metric) -> MetricKey {
        assert!(
            !metric.per_stage(),
            "{metric} is per-stage: use MetricKey::stage"
        );
        MetricKey {
            metric,
            stage: None,
        }
    }
}

impl PartialEq<Metric> for MetricKey {
    fn eq(&self, other: &Metric) -> bool {
        self.is(*other)
    }
}

impl fmt::Display for MetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.stage, self.metric.stage_affixes()) {
            (Some(stage), Some((pre, post))) => write!(f, "{pre}{stage}{post}"),
            _ => f.write_str(self.metric.name()),
        }
    }
}

impl std::str::FromStr for MetricKey {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<MetricKey, UnknownMetric> {
        Metric::from_name(s)
    }
}

macro_rules! series {
    ($( $variant:ident = $name:literal, $unit:literal, $desc:literal; )*) => {
        /// A column of the time series (`timeseries.csv`), one value per [`Sample`](super::Sample).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Series {
            $( #[doc = $desc] $variant, )*
        }

        impl Series {
            /// Every column, in file order.
            pub const ALL: &'static [Series] = &[$(Series::$variant),*];

            /// The CSV column name.
            pub const fn name(self) -> &'static str {
                match self { $(Series::$variant => $name,)* }
            }

            /// The unit.
            pub const fn unit(self) -> &'static str {
                match self { $(Series::$variant => $unit,)* }
            }

            /// What the column holds, in one line.
            pub const fn description(self) -> &'static str {
                match self { $(Series::$variant => $desc,)* }
            }
        }
    };
}

series! {
    Time = "time_s", "s", "time of the sample";
    ArrivalRate = "arrival_rate_rps", "1/s", "arrivals per second over the last interval";
    InFlight = "in_flight", "requests", "requests in flight";
    FunctionsBusy = "functions_busy", "instances", "function instances busy (initialising or running)";
    FunctionsIdle = "functions_idle", "instances", "function instances idle (warm)";
    VmsRunning = "vms_running", "VMs", "VMs serving";
    VmsBooting = "vms_booting", "VMs", "VMs booting";
    VmSlotsBusy = "vm_slots_busy", "slots", "busy VM slots";
    VmQueue = "vm_queue", "tasks", "tasks queued at VMs";
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key of every metric, per-stage ones for `stage`.
    fn keys(stage: &str) -> Vec<MetricKey> {
        Metric::ALL
            .iter()
            .map(|&m| {
                if m.per_stage() {
                    m.of_stage(stage)
                } else {
                    m.into()
                }
            })
            .collect()
    }

    #[test]
    fn every_name_round_trips_through_the_parser() {
        // Stage names that look like parts of metric names, or hold CSV specials.
        for stage in [
            "gpu",
            "",
            "a_b",
            "x_exited",
            "y_vm_share",
            "s_entered_",
            "a,b",
            "é",
        ] {
            for k in keys(stage) {
                let name = k.to_string();
                assert_eq!(Metric::from_name(&name), Ok(k.clone()), "{name}");
                assert_eq!(name.parse::<MetricKey>(), Ok(k.clone()));
                assert_eq!(k.name(), name);
                assert_eq!(k.stage_name(), k.metric().per_stage().then_some(stage));
            }
        }
    }

    #[test]
    fn names_are_unique_and_unambiguous() {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        for (i, a) in names.iter().enumerate() {
            assert!(!names[..i].contains(a), "`{a}` is defined twice");
        }
        // No fixed name reads as a per-stage name, and no per-stage suffix ends another (a name
        // parses to one metric whatever the stage name).
        for &m in Metric::ALL {
            let Some((pre, post)) = m.stage_affixes() else {
                continue;
            };
            for &n in Metric::ALL {
                match n.stage_affixes() {
                    None => assert!(
                        !(n.name().starts_with(pre) && n.name().ends_with(post)),
                        "`{n}` reads as `{m}`"
                    ),
                    Some((_, other)) if n != m => {
                        assert!(!other.ends_with(post), "`{n}` and `{m}` overlap")
                    }
                    _ => {}
                }
            }
        }
        let cols: Vec<&str> = Series::ALL.iter().map(|s| s.name()).collect();
        for (i, a) in cols.iter().enumerate() {
            assert!(!cols[..i].contains(a), "column `{a}` is defined twice");
        }
    }

    #[test]
    fn the_catalogue_is_described_and_per_stage_metrics_are_contiguous() {
        for &m in Metric::ALL {
            assert!(!m.description().is_empty() && !m.unit().is_empty(), "{m}");
            assert!(!m.description().contains('\n'), "{m}: one line");
            assert!(
                m.name().bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'_'
                    || STAGE.as_bytes().contains(&b)),
                "{m}"
            );
        }
        let stage: Vec<usize> = (0..Metric::ALL.len())
            .filter(|&i| Metric::ALL[i].per_stage())
            .collect();
        assert!(!stage.is_empty());
        assert_eq!(stage.last().unwrap() - stage[0] + 1, stage.len());
    }

    #[test]
    fn unknown_names_list_close_suggestions() {
        let e = Metric::from_name("cost_totl_usd").unwrap_err();
        assert_eq!(e.suggestions[0], "cost_total_usd");
        assert!(
            e.to_string().contains("did you mean `cost_total_usd`"),
            "{e}"
        );
        let e = Metric::from_name("latency_p95_s").unwrap_err();
        assert!(
            e.suggestions.iter().any(|s| s == "latency_p99_s"),
            "{:?}",
            e.suggestions
        );
        // The stage name is kept in per-stage suggestions.
        let e = Metric::from_name("stage_gpu_vmshare").unwrap_err();
        assert_eq!(e.suggestions[0], "stage_gpu_vm_share", "{e}");
        assert!(
            e.suggestions.iter().all(|s| s.starts_with("stage_gpu_")),
            "{e}"
        );
        let e = Metric::from_name("qqqqqqqq").unwrap_err();
        assert!(e.suggestions.is_empty());
        assert!(e.to_string().contains("README"), "{e}");
    }

    #[test]
    fn quantiles_of_percentile_metrics() {
        assert_eq!(Metric::LatencyP50.latency_quantile(), Some(0.5));
        assert_eq!(Metric::LatencyP999.latency_quantile(), Some(0.999));
        assert_eq!(Metric::LatencyMax.latency_quantile(), Some(1.0));
        assert_eq!(Metric::LatencyMean.latency_quantile(), None);
        assert_eq!(
            Metric::ColdStartPctP75Functions.function_quantile(),
            Some(0.75)
        );
        // Every latency percentile and percentile over functions says so in its name.
        for &m in Metric::ALL {
            if let Some(q) = m.latency_quantile().filter(|&q| q < 1.0) {
                let digits = format!("{q}").trim_start_matches("0.").to_string();
                let digits = if digits.len() == 1 {
                    format!("{digits}0")
                } else {
                    digits
                };
                assert_eq!(m.name(), format!("latency_p{digits}_s"));
            }
            if let Some(q) = m.function_quantile() {
                let digits = format!("{}", (q * 100.0).round());
                assert_eq!(m.name(), format!("cold_start_pct_p{digits}_functions"));
            }
        }
    }
}
