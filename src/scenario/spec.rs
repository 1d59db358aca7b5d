//! The raw scenario: a serde mirror of the TOML file. Every table rejects unknown keys;
//! value types with units check themselves (see [`crate::units`]). [`super::Scenario::load`]
//! turns this into the validated model.

use serde::{Deserialize, Serialize};

use crate::cloud::coldstart_data::MeasuredColdStart;
use crate::cloud::faas::{Arch, ColdMode, Reuse};
use crate::cloud::storage::{Handoff, Transfer};
use crate::cloud::vm::Dispatch;
use crate::units::{Bandwidth, Bytes, Duration, MemoryMb, Probability};
use crate::workload::{ArrivalSpec, DistSpec, ExitSpec};

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Short name; reports go to `reports/<name>/` by default.
    pub name: String,
    /// One line on what the scenario studies.
    pub description: Option<String>,
    /// Run control.
    pub run: RunSpec,
    /// Arrivals and request input.
    pub workload: WorkloadSpec,
    /// The cloud platform.
    #[serde(default)]
    pub platform: PlatformSpec,
    /// `[[function]]`: functions deployed by name for stages' explicit tasks to run on.
    #[serde(default)]
    pub function: Vec<FunctionDeclSpec>,
    /// The request plan: one table per stage, in order (none in a `[moe]` scenario, whose plan
    /// is the model's).
    #[serde(default)]
    pub stage: Vec<StageSpec>,
    /// `[exits]`: per-stage exit probabilities from a published table (instead of each
    /// stage's `exit`).
    pub exits: Option<ExitTableSpec>,
    /// `[coded]`: what the coded policies of the scenario share (worker faults, the master's
    /// coding time, partial groups, the accuracy table).
    pub coded: Option<CodedSpec>,
    /// `[moe]`: a mixture-of-experts model, its platform and its token routing, served by the
    /// MoE policies.
    pub moe: Option<crate::moe::spec::MoeSpec>,
    /// The policies to compare.
    pub policy: Vec<PolicySpec>,
}

/// `[coded]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodedSpec {
    /// `"pad"` (default) or `"uncoded"`: what a partial group does.
    pub partial: Option<String>,
    /// `{ probability, factor }`: random slowdowns of workers.
    pub slowdown: Option<SlowdownSpec>,
    /// `{ interval, factor }`: a random worker pair slowed in each interval.
    pub background: Option<BackgroundSpec>,
    /// Probability that a worker fails (no answer).
    pub fail_probability: Option<f64>,
    /// Byzantine workers.
    pub byzantine: Option<ByzantineSpec>,
    /// The master's coding cost.
    pub master: Option<MasterSpec>,
    /// Accuracy per scheme and (K, S, E), from a CSV table.
    pub accuracy: Option<AccuracySpec>,
}

/// `[coded] slowdown`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlowdownSpec {
    /// Probability per worker.
    pub probability: f64,
    /// Service-time factor.
    pub factor: f64,
}

/// `[coded] background`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackgroundSpec {
    /// Length of one interval.
    pub interval: Duration,
    /// Service-time factor of the pair.
    pub factor: f64,
}

/// `[coded] byzantine`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSpec {
    /// Exactly this many Byzantine workers per group.
    pub per_group: Option<u16>,
    /// Each worker Byzantine with this probability.
    pub fraction: Option<f64>,
    /// `"gaussian"` or `"sign-flip"` (default).
    pub adversary: Option<String>,
    /// Noise standard deviation (gaussian).
    pub sigma: Option<f64>,
}

/// `[coded] master`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MasterSpec {
    /// Time per multiply-add of encoding and decoding (default 1 ns).
    pub ns_per_mac: Option<f64>,
    /// Elements of one query (default 784, a 28×28 image).
    pub input_elements: Option<u32>,
    /// Elements of one answer (default 10 soft labels).
    pub output_elements: Option<u32>,
}

/// `[coded] accuracy`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccuracySpec {
    /// The CSV table (the format `infersim accuracy` writes), relative to the scenario file.
    pub table: std::path::PathBuf,
    /// Its `model` to use.
    pub model: String,
}

/// `[run]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Arrivals stop at the horizon; requests in flight then finish.
    pub horizon: Duration,
    /// Requests arriving before this are left out of latency and throughput metrics (default 0s).
    pub warmup: Option<Duration>,
    /// Master seed (default 1).
    pub seed: Option<u64>,
    /// Independent replications (default 1).
    pub replications: Option<u32>,
    /// Time-series sampling interval (default: horizon / 200, at least 1s).
    pub sample_interval: Option<Duration>,
    /// Latency target for `slo_violation_rate` (default: none).
    pub slo: Option<Duration>,
    /// Resource guards (`[run.limits]`; defaults in [`super::limits::Limits`]).
    pub limits: Option<super::limits::LimitsSpec>,
}

/// `[workload]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// The arrival process.
    pub arrivals: ArrivalSpec,
    /// Size of each request's input, passed to the first stage (default 0B).
    pub input: Option<Bytes>,
    /// Group consecutive arrivals into groups that execute one plan (default: none).
    pub group: Option<GroupSpec>,
}

/// `[workload] group`: the batcher.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Members per group (K ≥ 1).
    pub size: u32,
    /// A partial group closes this long after its first member arrived (default: it waits
    /// for K members, or for the end of arrivals).
    pub timeout: Option<Duration>,
}

/// `[[function]]`: a deployed function.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDeclSpec {
    /// Name, referred to by tasks and reported in `functions.csv`.
    pub name: String,
    /// Memory (default: the platform's).
    pub memory: Option<MemoryMb>,
    /// Keep-alive (default: the policy's, else the platform's).
    pub keep_alive: Option<Duration>,
    /// Provisioned concurrency (default: the policy's, else the platform's).
    pub provisioned_concurrency: Option<u32>,
}

/// One explicit task of a stage (`task = [ ... ]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDeclSpec {
    /// The `[[function]]` it runs on.
    pub function: String,
    /// Work on one full vCPU, run at the function's vCPU share (up to the stage's
    /// `parallelism`): duration = cpu ÷ share, exactly.
    pub cpu: Option<Duration>,
    /// Exactly this long, whatever the function's memory.
    pub time: Option<Duration>,
}

/// `completion`: when a stage completes.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CompletionSpec {
    /// Every task returns.
    All,
    /// Any `k` tasks return.
    Any {
        /// Tasks needed.
        k: u32,
    },
    /// Member i of the group is done when every task of one of `members[i]`'s sets returned.
    PerMember {
        /// Per member: alternative sets of task indices.
        members: Vec<Vec<Vec<u32>>>,
    },
}

/// `[platform]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// `[platform.faas]`.
    #[serde(default)]
    pub faas: FaasSpec,
    /// `[platform.vm]`.
    #[serde(default)]
    pub vm: VmSpec,
    /// `[platform.payload]`.
    #[serde(default)]
    pub payload: PayloadSpec,
    /// `[platform.storage]`.
    #[serde(default)]
    pub storage: StorageSpec,
    /// `[platform.network]`.
    #[serde(default)]
    pub network: NetworkSpec,
}

/// `[platform.network]`: the network between VM pools (hand-offs of early-exit stages).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Per-transfer latency (default 0.2ms).
    pub latency: Option<Duration>,
    /// Throughput (default 1.25GB/s, 10 Gbit/s).
    pub bandwidth: Option<Bandwidth>,
    /// $ per GB moved (default 0: same availability zone).
    pub price_per_gb: Option<f64>,
}

/// `[platform.faas]`: every key is optional; the preset fills the rest.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaasSpec {
    /// Price and limit preset: `aws-lambda-2025` (default) or `aws-lambda-2020`.
    pub preset: Option<String>,
    /// Default function memory (default 1024MB; 128MB–10240MB).
    pub memory: Option<MemoryMb>,
    /// `x86_64` (default) or `arm64`.
    pub architecture: Option<Arch>,
    /// Billing granularity (preset: 1ms; 2020: 100ms).
    pub billing_granularity: Option<Duration>,
    /// Bill INIT on cold starts (preset: true; 2020: false).
    pub bill_init: Option<bool>,
    /// Override: $ per GB-s.
    pub price_per_gb_s: Option<f64>,
    /// Override: $ per request.
    pub price_per_request: Option<f64>,
    /// Keep-alive of idle instances (default 10m; "0s" = no keep-alive).
    pub keep_alive: Option<Duration>,
    /// Maximum lifetime of an instance (default: unlimited).
    pub max_lifetime: Option<Duration>,
    /// Idle instance reuse: most-recently-used (default), newest, oldest, random.
    pub reuse: Option<Reuse>,
    /// Account concurrency limit (preset: 1000).
    pub concurrency_limit: Option<u32>,
    /// Scale-up rate: `{ burst = 1000, per = "10s" }` (preset) or `"unlimited"`.
    pub scale_rate: Option<ScaleRateSpec>,
    /// Throttled invocations: `{ kind = "queue" }` (default), `{ kind = "drop" }`,
    /// `{ kind = "retry", delay = "100ms", max_attempts = 3 }`.
    pub on_throttle: Option<ThrottleSpec>,
    /// Cold-start duration distribution (default lognormal, median 250ms, p99 1s).
    pub cold_start: Option<DistSpec>,
    /// Cold starts from measurements instead: `{ runtime = "python3.12" }`.
    pub cold_start_measured: Option<MeasuredColdStart>,
    /// `adds-to-service` (default) or `replaces-service`.
    pub cold_start_mode: Option<ColdMode>,
    /// Overhead of a warm invocation, not billed (default 0s).
    pub warm_start: Option<DistSpec>,
    /// MB of memory per vCPU (default 1769).
    pub mb_per_vcpu: Option<f64>,
    /// Largest vCPU share (default 6).
    pub max_vcpus: Option<f64>,
    /// Provisioned concurrency per function (default 0).
    pub provisioned_concurrency: Option<u32>,
}

/// Scale-up rate of new instances per function.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ScaleRateSpec {
    /// `"unlimited"`.
    Named(String),
    /// `{ burst = N, per = "10s" }`.
    Bucket {
        /// New instances per period (and the bucket size).
        burst: u32,
        /// Refill period.
        per: Duration,
    },
}

/// What happens to throttled invocations.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ThrottleSpec {
    /// Wait for capacity in a FIFO.
    Queue,
    /// Fail the invocation (and its request).
    Drop,
    /// Retry after `delay`, at most `max_attempts` attempts in all.
    Retry {
        /// Delay between attempts.
        delay: Duration,
        /// Attempts in all (≥ 1).
        max_attempts: u32,
    },
}

/// `[platform.vm]`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    /// Price preset: `aws-ec2-2026` (default).
    pub preset: Option<String>,
    /// Instance type from the preset or from `instance_types` (default c6i.large).
    pub instance: Option<String>,
    /// Extra instance types.
    #[serde(default)]
    pub instance_types: Vec<InstanceTypeSpec>,
    /// Tasks a VM runs at once (default: its vCPUs).
    pub slots: Option<u32>,
    /// Boot time (default normal, mean 100s, sd 10s).
    pub boot: Option<DistSpec>,
    /// `per-second` (default) or `per-hour`.
    pub billing: Option<VmBillingSpec>,
    /// Minimum billed time per VM (default 60s).
    pub minimum_billed: Option<Duration>,
    /// `shared-queue` (default) or `least-loaded`.
    pub dispatch: Option<Dispatch>,
}

/// A custom instance type.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceTypeSpec {
    /// Name used by `instance`.
    pub name: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory.
    pub memory: Bytes,
    /// $ per hour.
    pub price_per_hour: f64,
}

/// VM billing unit.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum VmBillingSpec {
    /// Per second with a minimum.
    PerSecond,
    /// Whole hours.
    PerHour,
}

/// `[platform.payload]`: direct invocation payloads.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadSpec {
    /// Latency per transfer (default 1ms).
    pub latency: Option<Duration>,
    /// Bandwidth (default 100MB/s).
    pub bandwidth: Option<Bandwidth>,
    /// Size limit (default 6MiB, Lambda's synchronous limit).
    pub limit: Option<Bytes>,
    /// $ per GB moved (default 0).
    pub price_per_gb: Option<f64>,
    /// $ per transfer, e.g. an API gateway request in front of the function (default 0).
    pub price_per_transfer: Option<f64>,
}

/// `[platform.storage]`: the S3-like store.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// Latency per PUT or GET (default 20ms).
    pub latency: Option<Duration>,
    /// Bandwidth per transfer (default 80MB/s).
    pub bandwidth: Option<Bandwidth>,
    /// $ per PUT (default 0.000005).
    pub put_price: Option<f64>,
    /// $ per GET (default 0.0000004).
    pub get_price: Option<f64>,
    /// Largest object (default 5TB).
    pub max_object: Option<Bytes>,
}

/// `[[stage]]`: one step of the request plan.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Name in reports (default `stage<N>`).
    pub name: Option<String>,
    /// Service time of one task on one full vCPU (required unless every explicit task gives
    /// its `cpu` or `time`).
    pub service: Option<DistSpec>,
    /// vCPUs a task can use (default 1): fewer slow it down, more do not help beyond this.
    pub parallelism: Option<f64>,
    /// Tasks the stage fans out into (default 1).
    pub tasks: Option<u32>,
    /// Tasks that must finish for the stage to complete (default: all).
    pub quorum: Option<u32>,
    /// Explicit tasks, each on a named `[[function]]` (instead of `tasks` copies).
    pub task: Option<Vec<TaskDeclSpec>>,
    /// How the stage completes (instead of `quorum`).
    pub completion: Option<CompletionSpec>,
    /// Probability that a request reaching this stage exits after it (default 0): a number,
    /// or a drifting model (`linear`, `sine`, `steps`).
    pub exit: Option<ExitSpec>,
    /// Size of the stage's output passed to the next stage (default 0B).
    pub output: Option<Bytes>,
    /// `payload` (default) or `storage`.
    pub transfer: Option<Transfer>,
    /// Function memory for this stage (default: the platform's).
    pub memory: Option<MemoryMb>,
    /// Profiled service times per resource, replacing `service` scaled by vCPUs there: keys
    /// are an instance type (`"m4.large"`: one task on one slot), `"function"` (any memory)
    /// or `"function:<MB>"` (that memory).
    pub service_on: Option<std::collections::BTreeMap<String, DistSpec>>,
    /// When the output moves to the next stage: `always` (default) or `on-change` (only when
    /// the next task runs elsewhere: not between tasks on the same VM pool).
    pub handoff: Option<Handoff>,
    /// The output is compressed by this ratio before it moves (default 1).
    pub compression: Option<f64>,
    /// Compression speed (raw bytes per second) added to each hand-off (default: free).
    pub compression_throughput: Option<Bandwidth>,
}

/// `[exits]`: exit probabilities of every stage from a published early-exit table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExitTableSpec {
    /// The table: `"branchynet"` (Teerapittayanon et al., ICPR 2016, CPU results).
    pub table: String,
    /// The network, e.g. `"B-AlexNet"` (3 exits) or `"B-LeNet"` (2 exits).
    pub network: String,
    /// The entropy thresholds of the side branches, one per branch.
    pub thresholds: Vec<f64>,
    /// A CSV file in the table's format (default: the figures built into infersim).
    pub file: Option<std::path::PathBuf>,
}

/// `[[policy]]`: a serving policy, selected by `kind`. This is the raw table only: validation
/// turns it into the policy's own config ([`crate::policy::PolicyConfig`]), with its defaults.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PolicySpec {
    /// Every task runs on functions; fixed keep-alive.
    AllFaas(AllFaasSpec),
    /// A fixed fleet of VMs, running from the start.
    VmFixed(VmFixedSpec),
    /// A VM fleet scaled on utilisation thresholds.
    VmAutoscale(AutoscaleSpec),
    /// All-VM: the same threshold autoscaler as `vm-autoscale`, named `all-vm` in reports (the
    /// early-exit studies' IaaS-only baseline).
    AllVm(AutoscaleSpec),
    /// LIBRA (Raza et al., IC2E 2021): VMs sized every `update_interval` from an EWMA of the
    /// per-epoch arrival count; the first `quota` × share requests of each epoch go to VMs,
    /// the rest to functions, each request as one unit.
    Libra(LibraSpec),
    /// SERFLOW-style per-stage provisioning (Zhang and Matta, 2025; reconstructed rules):
    /// cost-indifference points decide which stages get VMs and how many; a task goes to its
    /// stage's VMs when they have headroom, else to a function.
    Serflow(SerflowSpec),
    /// Functions only, with the hybrid-histogram keep-alive and pre-warming of "Serverless in
    /// the Wild" (Shahrad et al., ATC 2020), per function.
    HybridHistogram(HistogramSpec),
    /// VMs take the base load; tasks that find no free VM slot overflow to functions.
    Hybrid(HybridSpec),
    /// Coded serving baseline: one worker per query of a group.
    Uncoded(CodedPolicySpec),
    /// Each query on S + 1 workers; the first answer wins.
    Replication(CodedPolicySpec),
    /// ParM (Kosaian et al., SOSP 2019): K queries and one parity worker per group.
    Parm(CodedPolicySpec),
    /// ApproxIFER (Soleymani et al., AAAI 2022): Berrut-coded queries, decoded from the first
    /// N − S answers.
    Approxifer(CodedPolicySpec),
    /// MoE (Liu, Wang, Wu, INFOCOM 2025): predict tokens per expert, optimise the deployment,
    /// optionally refine by Bayesian optimisation.
    MoeDeploy(MoeDeploySpec),
    /// MoE baseline after LambdaML: every expert at 3,008 MB, one replica, through storage.
    MoeLambdaml(MoeBaselineSpec),
    /// MoE baseline: a 128-core CPU VM running all experts of a layer at once.
    MoeCpuCluster(MoeBaselineSpec),
}

/// `kind = "moe-deploy"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MoeDeploySpec {
    /// Name in reports (default `moe-deploy`).
    pub name: Option<String>,
    /// `"bayes"` (default), `"lina"`, `"oracle"` or `"uniform"`.
    pub predictor: Option<String>,
    /// `"exact"` (default), `"ods"`, `"single-mode"` or `"random-mode"`.
    pub optimizer: Option<String>,
    /// `"none"` (default) or `"bo"`.
    pub refine: Option<String>,
    /// Seed of `random-mode`.
    pub seed: Option<u64>,
    /// Settings of the BO refinement.
    pub bo: Option<toml::Value>,
}

/// `kind = "moe-lambdaml" | "moe-cpu-cluster"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MoeBaselineSpec {
    /// Name in reports (default: the kind).
    pub name: Option<String>,
}

/// `kind = "uncoded" | "replication" | "parm" | "approxifer"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodedPolicySpec {
    /// Name in reports (default: the kind).
    pub name: Option<String>,
    /// Stragglers tolerated, S (replication: S + 1 copies; ApproxIFER: N − S answers decode).
    pub stragglers: Option<u16>,
    /// Byzantine workers located, E (ApproxIFER only).
    pub byzantine: Option<u16>,
    /// Workers on this many VMs (a fixed pool) instead of functions.
    pub vms: Option<u32>,
    /// Instance type of the VMs.
    pub instance: Option<String>,
    /// Memory of the worker function.
    pub memory: Option<MemoryMb>,
    /// Keep-alive of the worker function.
    pub keep_alive: Option<Duration>,
    /// Provisioned concurrency of the worker function.
    pub provisioned_concurrency: Option<u32>,
}

/// `kind = "all-faas"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllFaasSpec {
    /// Name in reports (default `all-faas`).
    pub name: Option<String>,
    /// Keep-alive override.
    pub keep_alive: Option<Duration>,
    /// Memory override for every stage's function.
    pub memory: Option<MemoryMb>,
    /// Provisioned concurrency override.
    pub provisioned_concurrency: Option<u32>,
}

/// `kind = "vm-fixed"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmFixedSpec {
    /// Name in reports (default `vm-fixed`).
    pub name: Option<String>,
    /// Number of VMs.
    pub vms: u32,
    /// Instance type override.
    pub instance: Option<String>,
}

/// `kind = "hybrid-histogram"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistogramSpec {
    /// Name in reports (default `hybrid-histogram`).
    pub name: Option<String>,
    /// Range of the idle-time histogram (default 4h).
    pub range: Option<Duration>,
    /// Bin width (default 1m).
    pub bin: Option<Duration>,
    /// Percentile of idle times that sets the pre-warm window (default 0.05).
    pub head: Option<Probability>,
    /// Percentile that sets the end of the keep-alive window (default 0.99).
    pub tail: Option<Probability>,
    /// Safety margin on both windows (default 0.10).
    pub margin: Option<Probability>,
    /// Coefficient of variation of the bin counts above which the histogram is trusted
    /// (default 2).
    pub cv_threshold: Option<f64>,
    /// Share of idle times beyond the range above which the idle time is predicted from
    /// the recent out-of-range ones instead (default 0.5).
    pub oob_threshold: Option<Probability>,
}

/// `kind = "hybrid"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HybridSpec {
    /// Name in reports (default `hybrid`).
    pub name: Option<String>,
    /// VMs in the base fleet, running from the start.
    pub vms: u32,
    /// Instance type override.
    pub instance: Option<String>,
    /// A task goes to the VMs while their queue is shorter than this (default 0: only
    /// when a slot is free).
    pub max_queue: Option<u32>,
    /// Keep-alive override for the overflow functions.
    pub keep_alive: Option<Duration>,
}

/// Threshold autoscaling of one VM fleet (`vm-autoscale`, `all-vm`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSpec {
    /// Name in reports (default: the kind).
    pub name: Option<String>,
    /// Instance type override.
    pub instance: Option<String>,
    /// Fewest VMs (default 1).
    pub min: Option<u32>,
    /// Most VMs (default 100).
    pub max: Option<u32>,
    /// VMs at the start, already running (default `min`).
    pub initial: Option<u32>,
    /// Scale out when utilisation over the last interval exceeds this (default 0.7).
    pub scale_out_above: Option<Probability>,
    /// Scale in when it falls below this (default 0.3).
    pub scale_in_below: Option<Probability>,
    /// Evaluation interval (default 30s).
    pub interval: Option<Duration>,
    /// No scaling action within this time of the previous one (default 120s).
    pub cooldown: Option<Duration>,
    /// VMs added or removed per action (default 1).
    pub step: Option<u32>,
}

/// `kind = "libra"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibraSpec {
    /// Name in reports (default `libra`).
    pub name: Option<String>,
    /// Instance type override.
    pub instance: Option<String>,
    /// Counting epoch (default 1s).
    pub epoch: Option<Duration>,
    /// EWMA weight of the newest epoch count (default 0.2).
    pub alpha: Option<Probability>,
    /// How often the fleet is resized (default 300s).
    pub update_interval: Option<Duration>,
    /// VM share = mean + `deviations` × deviation (default 1).
    pub deviations: Option<f64>,
    /// Fraction of the share sent to VMs each epoch (default 0.8).
    pub quota: Option<Probability>,
    /// Requests per second one VM serves (default: slots ÷ the whole request's mean service
    /// time on the VM, ignoring exits).
    pub capacity_per_vm: Option<f64>,
    /// Fewest VMs (default 0).
    pub min: Option<u32>,
    /// Most VMs (default 1000).
    pub max: Option<u32>,
    /// Keep-alive of the overflow functions.
    pub keep_alive: Option<Duration>,
}

/// `kind = "serflow"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SerflowSpec {
    /// Name in reports (default `serflow`).
    pub name: Option<String>,
    /// Instance type of every stage's pool.
    pub instance: Option<String>,
    /// Counting epoch (default 1s).
    pub epoch: Option<Duration>,
    /// EWMA weight of the newest epoch count (default 0.2).
    pub alpha: Option<Probability>,
    /// How often pools are re-planned (default 300s).
    pub replan: Option<Duration>,
    /// Stage share = mean + `deviations` × deviation (default 1).
    pub deviations: Option<f64>,
    /// Target VM utilisation u: a VM is planned for u × its capacity, and a stage whose
    /// traffic indifference point exceeds that never gets VMs (default 0.8).
    pub utilization: Option<Probability>,
    /// A task still goes to the VMs while their queue is shorter than this (default 0: only
    /// to a free slot).
    pub max_queue: Option<u32>,
    /// Cut point: `"none"` (default: every stage decides alone), a stage number N (stages
    /// before it may use VMs, the rest run on functions), or `"auto"` (the cut with the
    /// lowest estimated cost at each re-plan).
    pub cut: Option<CutSpec>,
    /// Fewest VMs of a stage that has VMs (default 1).
    pub min_vms: Option<u32>,
    /// Most VMs per stage (default 1000).
    pub max_vms: Option<u32>,
    /// Keep-alive of the functions.
    pub keep_alive: Option<Duration>,
}

/// SERFLOW's cut point.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum CutSpec {
    /// Stages `0..n` may use VMs.
    Stage(u32),
    /// `"none"` or `"auto"`.
    Mode(String),
}
