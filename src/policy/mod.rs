//! Serving policies. A policy decides the deployment (functions, VM pools and their initial
//! fleets, the backend of unrouted tasks) and may take part in three more families, one trait
//! each: [`Scaling`] (rescale pools on a periodic tick), [`Routing`] (choose a backend task by
//! task) and [`KeepAlivePolicy`] (keep-alive per invocation). Policies read a [`View`] of the
//! state and return decisions; only the engine mutates the simulation.
//!
//! Validation turns each raw `[[policy]]` table ([`PolicySpec`]) into its policy's config
//! ([`PolicyConfig::from_spec`], defaults applied there); the registry of kinds is that `match`
//! and the one in [`build`].

pub mod baseline;
pub mod coded;
pub mod keepalive;
pub mod libra;
pub mod moe;
pub mod profile;
pub mod serflow;

use crate::cloud::faas::Faas;
use crate::cloud::pricing::InstanceType;
use crate::cloud::vm::Pool;
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::Scenario;
use crate::scenario::spec::PolicySpec;

/// Where a task runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The stage's function (the default backend of a [`Deployment`]).
    #[default]
    Faas,
    /// A VM pool.
    Vm(u16),
}

/// One VM pool a policy wants.
#[derive(Clone, Debug)]
pub struct PoolPlan {
    /// Name in reports.
    pub name: String,
    /// Instance type.
    pub instance: InstanceType,
    /// VMs running at time zero (launched and booted at the start, billed from it).
    pub initial: u32,
}

/// What a policy deploys at the start of a run.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    /// VM pools.
    pub pools: Vec<PoolPlan>,
    /// Memory of every stage's function (overrides stage and platform settings).
    pub function_memory_mb: Option<u32>,
    /// Keep-alive of functions (overrides the platform's).
    pub keep_alive: Option<SimDuration>,
    /// Provisioned concurrency per function (overrides the platform's).
    pub provisioned_concurrency: Option<u32>,
    /// Where every task goes when the policy does not route ([`Policy::routing`] is `None`);
    /// a routing policy sets the backend it falls back to, for the record.
    pub default_backend: Backend,
}

/// A scaling decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleAction {
    /// Launch `n` VMs in pool `pool` (they serve after booting).
    Launch {
        /// Pool index.
        pool: u16,
        /// How many.
        n: u32,
    },
    /// Retire `n` VMs of pool `pool` (booting ones first, then the least busy).
    Retire {
        /// Pool index.
        pool: u16,
        /// How many.
        n: u32,
    },
}

/// What to do with an instance whose invocation just ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// Unload now and load a fresh instance after this long (zero: keep this one loaded).
    pub prewarm: SimDuration,
    /// Then keep it loaded (idle) this long.
    pub keep_alive: SimDuration,
}

/// What a policy knows about a task it routes.
#[derive(Clone, Copy, Debug)]
pub struct TaskInfo {
    /// Stage index.
    pub stage: usize,
    /// The request's arrival index (0, 1, 2, … in arrival order).
    pub request: u64,
    /// The request's arrival time.
    pub arrival: SimTime,
    /// Where the request's previous stage ran (`None` at the first stage).
    pub previous: Option<Backend>,
}

/// A read-only view of the simulation for policies.
pub struct View<'a> {
    /// Current time.
    pub now: SimTime,
    /// VM pools.
    pub pools: &'a [Pool],
    /// The FaaS platform.
    pub faas: &'a Faas,
    /// Requests that arrived so far.
    pub arrivals: u64,
}

/// A serving policy: provisioning, plus the families it takes part in. A policy that does not
/// take part in a family has none (its accessor returns `None`, the default); one that does
/// implements the family's trait and returns `Some(self)`. The engine asks each accessor once
/// at the start of a run whether the family is there, and skips its calls when it is not.
pub trait Policy: Send {
    /// Name in reports.
    fn name(&self) -> &str;
    /// Provisioning: what is deployed at time zero (every policy has it).
    fn deployment(&self, scenario: &Scenario) -> Deployment;
    /// Periodic scaling, if the policy rescales its fleet.
    fn scaling(&mut self) -> Option<&mut dyn Scaling> {
        None
    }
    /// Routing, if the policy chooses backends task by task; without it every task goes to
    /// [`Deployment::default_backend`].
    fn routing(&mut self) -> Option<&mut dyn Routing> {
        None
    }
    /// Keep-alive, if the policy decides it per invocation instead of the platform's fixed
    /// keep-alive.
    fn keep_alive(&mut self) -> Option<&mut dyn KeepAlivePolicy> {
        None
    }
    /// Planning, if the policy turns requests into stages itself; without it requests follow
    /// the scenario's plan (its `[[stage]]` list, [`crate::plan::Staged`]).
    fn planning(&self) -> Option<&dyn Planning> {
        None
    }
}

/// Planning: how a policy's requests become stages and tasks.
pub trait Planning {
    /// The planner of this policy's runs of `scenario` (built once per run: its tables are
    /// precomputed, so planning a request allocates nothing).
    fn planner(&self, scenario: &Scenario) -> crate::plan::Planner;
}

/// Periodic scaling decisions.
pub trait Scaling {
    /// How often [`Scaling::on_tick`] runs (the first tick is one interval after time zero).
    fn interval(&self) -> SimDuration;
    /// The decisions of one tick.
    fn on_tick(&mut self, view: &View) -> Vec<ScaleAction>;
}

/// Task-by-task routing.
pub trait Routing {
    /// The backend for one task.
    fn route(&mut self, view: &View, task: &TaskInfo) -> Backend;
}

/// Per-invocation keep-alive: the policy observes every invocation of every function and
/// decides how long an instance that became idle stays loaded (with pre-warming).
pub trait KeepAlivePolicy {
    /// An invocation of function `func` starts at `now`.
    fn on_invocation(&mut self, func: u32, now: SimTime);
    /// An invocation of function `func` ended at `now` (called before [`KeepAlivePolicy::decide`]
    /// for the instance it leaves idle).
    fn on_completion(&mut self, func: u32, now: SimTime);
    /// The keep-alive decision for an instance of `func` that just became idle.
    fn decide(&mut self, func: u32, now: SimTime) -> KeepAlive;
}

/// A validated `[[policy]]` table: one variant per kind, each the config type of its policy's
/// module with every default applied (once, there). [`crate::scenario::Scenario::policies`]
/// holds these; the raw table ([`PolicySpec`]) does not survive validation.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyConfig {
    /// `all-faas`.
    AllFaas(baseline::AllFaasConfig),
    /// `vm-fixed`.
    VmFixed(baseline::VmFixedConfig),
    /// `vm-autoscale`.
    VmAutoscale(baseline::AutoscaleConfig),
    /// `all-vm` (the `vm-autoscale` autoscaler under the early-exit studies' name).
    AllVm(baseline::AutoscaleConfig),
    /// `libra`.
    Libra(libra::LibraConfig),
    /// `serflow`.
    Serflow(serflow::SerflowConfig),
    /// `hybrid-histogram`.
    HybridHistogram(keepalive::HistogramConfig),
    /// `hybrid`.
    Hybrid(baseline::HybridConfig),
    /// `uncoded`, `replication`, `parm` or `approxifer`.
    Coded(coded::CodedConfig),
    /// `moe-deploy`, `moe-lambdaml` or `moe-cpu-cluster`.
    Moe(moe::MoeConfig),
}

impl PolicyConfig {
    /// The policy's name in reports.
    pub fn display_name(&self) -> &str {
        match self {
            PolicyConfig::AllFaas(c) => &c.name,
            PolicyConfig::VmFixed(c) => &c.name,
            PolicyConfig::VmAutoscale(c) | PolicyConfig::AllVm(c) => &c.name,
            PolicyConfig::Libra(c) => &c.name,
            PolicyConfig::Serflow(c) => &c.name,
            PolicyConfig::HybridHistogram(c) => &c.name,
            PolicyConfig::Hybrid(c) => &c.name,
            PolicyConfig::Coded(c) => &c.name,
            PolicyConfig::Moe(c) => &c.name,
        }
    }

    /// The `kind` of the table it came from.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyConfig::AllFaas(_) => "all-faas",
            PolicyConfig::VmFixed(_) => "vm-fixed",
            PolicyConfig::VmAutoscale(_) => "vm-autoscale",
            PolicyConfig::AllVm(_) => "all-vm",
            PolicyConfig::Libra(_) => "libra",
            PolicyConfig::Serflow(_) => "serflow",
            PolicyConfig::HybridHistogram(_) => "hybrid-histogram",
            PolicyConfig::Hybrid(_) => "hybrid",
            PolicyConfig::Coded(c) => c.kind.name(),
            PolicyConfig::Moe(c) => c.kind.name(),
        }
    }

    /// True for the coded kinds (`uncoded`, `replication`, `parm`, `approxifer`).
    pub fn is_coded(&self) -> bool {
        matches!(self, PolicyConfig::Coded(_))
    }

    /// The name a raw table gives its policy in reports: its `name`, or else its kind.
    pub fn name_of(spec: &PolicySpec) -> String {
        let (name, kind) = match spec {
            PolicySpec::AllFaas(s) => (&s.name, "all-faas"),
            PolicySpec::VmFixed(s) => (&s.name, "vm-fixed"),
            PolicySpec::VmAutoscale(s) => (&s.name, "vm-autoscale"),
            PolicySpec::AllVm(s) => (&s.name, "all-vm"),
            PolicySpec::Libra(s) => (&s.name, "libra"),
            PolicySpec::Serflow(s) => (&s.name, "serflow"),
            PolicySpec::HybridHistogram(s) => (&s.name, "hybrid-histogram"),
            PolicySpec::Hybrid(s) => (&s.name, "hybrid"),
            PolicySpec::Uncoded(s) => (&s.name, "uncoded"),
            PolicySpec::Replication(s) => (&s.name, "replication"),
            PolicySpec::Parm(s) => (&s.name, "parm"),
            PolicySpec::Approxifer(s) => (&s.name, "approxifer"),
            PolicySpec::MoeDeploy(s) => (&s.name, "moe-deploy"),
            PolicySpec::MoeLambdaml(s) => (&s.name, "moe-lambdaml"),
            PolicySpec::MoeCpuCluster(s) => (&s.name, "moe-cpu-cluster"),
        };
        name.clone().unwrap_or_else(|| kind.to_string())
    }

    /// Validates one raw `[[policy]]` table into its policy's config (the registry of kinds).
    pub fn from_spec(spec: &PolicySpec, cx: &ConfigContext) -> Result<PolicyConfig, ConfigError> {
        use baseline::*;
        let name = Self::name_of(spec);
        Ok(match spec {
            PolicySpec::AllFaas(s) => PolicyConfig::AllFaas(AllFaasConfig::from_spec(name, s)),
            PolicySpec::VmFixed(s) => PolicyConfig::VmFixed(VmFixedConfig::from_spec(name, s, cx)?),
            PolicySpec::VmAutoscale(s) => {
                PolicyConfig::VmAutoscale(AutoscaleConfig::from_spec(name, s, cx)?)
            }
            PolicySpec::AllVm(s) => PolicyConfig::AllVm(AutoscaleConfig::from_spec(name, s, cx)?),
            PolicySpec::Libra(s) => {
                PolicyConfig::Libra(libra::LibraConfig::from_spec(name, s, cx)?)
            }
            PolicySpec::Serflow(s) => {
                PolicyConfig::Serflow(serflow::SerflowConfig::from_spec(name, s, cx)?)
            }
            PolicySpec::HybridHistogram(s) => {
                PolicyConfig::HybridHistogram(keepalive::HistogramConfig::from_spec(name, s)?)
            }
            PolicySpec::Hybrid(s) => PolicyConfig::Hybrid(HybridConfig::from_spec(name, s, cx)?),
            PolicySpec::Uncoded(s) => coded_config(name, coded::Kind::Uncoded, s, cx)?,
            PolicySpec::Replication(s) => coded_config(name, coded::Kind::Replication, s, cx)?,
            PolicySpec::Parm(s) => coded_config(name, coded::Kind::Parm, s, cx)?,
            PolicySpec::Approxifer(s) => coded_config(name, coded::Kind::Approxifer, s, cx)?,
            PolicySpec::MoeDeploy(s) => PolicyConfig::Moe(moe::MoeConfig::deploy(name, s, cx)?),
            PolicySpec::MoeLambdaml(s) => PolicyConfig::Moe(moe::MoeConfig::baseline(
                name,
                moe::MoeKind::Lambdaml,
                s,
                cx,
            )?),
            PolicySpec::MoeCpuCluster(s) => PolicyConfig::Moe(moe::MoeConfig::baseline(
                name,
                moe::MoeKind::CpuCluster,
                s,
                cx,
            )?),
        })
    }
}

fn coded_config(
    name: String,
    kind: coded::Kind,
    spec: &crate::scenario::spec::CodedPolicySpec,
    cx: &ConfigContext,
) -> Result<PolicyConfig, ConfigError> {
    Ok(PolicyConfig::Coded(coded::CodedConfig::from_spec(
        name, kind, spec, cx,
    )?))
}

/// A problem in one `[[policy]]` table, found while validating it into its config.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The key inside the table (`vms`, `cut`, …), or `None` for the table as a whole.
    pub field: Option<&'static str>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    /// A problem with key `field` of the table.
    pub fn at(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A problem with the table as a whole.
    pub fn table(message: impl Into<String>) -> Self {
        ConfigError {
            field: None,
            message: message.into(),
        }
    }
}

/// What validating a `[[policy]]` table needs from the rest of the scenario.
pub struct ConfigContext<'a> {
    /// The platform's instance type (`[platform.vm] instance`), for a table that names none.
    pub default_instance: &'a InstanceType,
    /// Resolves an instance type by name (the scenario's own types, then the presets); the
    /// error says what is known.
    pub lookup_instance: &'a dyn Fn(&str) -> Result<InstanceType, String>,
    /// Stages in the request plan.
    pub stages: usize,
    /// Some stage takes its service from the trace (`from-trace`).
    pub traced_service: bool,
    /// The batcher's group size (`[workload] group`), if arrivals are grouped.
    pub group_size: Option<u16>,
    /// The scenario's `[coded]` settings (defaults without the table).
    pub coded: &'a coded::settings::CodedSettings,
    /// The scenario's `[moe]` model and routing, if it has one.
    pub moe: Option<&'a moe::scenario::MoeScenario>,
}

impl ConfigContext<'_> {
    /// The instance type a table's `instance` key names, or the platform's.
    pub fn instance(&self, name: &Option<String>) -> Result<InstanceType, ConfigError> {
        match name {
            None => Ok(self.default_instance.clone()),
            Some(n) => (self.lookup_instance)(n).map_err(|m| ConfigError::at("instance", m)),
        }
    }

    /// For a policy that plans from each stage's service distribution: fails when a stage
    /// takes its service from the trace.
    pub fn needs_service_profiles(&self) -> Result<(), ConfigError> {
        if self.traced_service {
            return Err(ConfigError::table(
                "this policy plans from each stage's service distribution, but a stage takes its service from the trace (`from-trace`); give the stages a `service` distribution (libra also accepts `capacity_per_vm`)",
            ));
        }
        Ok(())
    }
}

/// A duration key that, when given, must be > 0; `default` otherwise.
pub(crate) fn positive(
    field: &'static str,
    value: Option<crate::units::Duration>,
    default: SimDuration,
) -> Result<SimDuration, ConfigError> {
    match value {
        Some(d) if d.0.as_nanos() == 0 => {
            Err(ConfigError::at(field, format!("{field} must be > 0")))
        }
        Some(d) => Ok(d.0),
        None => Ok(default),
    }
}

/// A number key that, when given, must be finite; `default` otherwise.
pub(crate) fn finite(
    field: &'static str,
    value: Option<f64>,
    default: f64,
) -> Result<f64, ConfigError> {
    match value {
        Some(x) if !x.is_finite() => Err(ConfigError::at(field, "must be a finite number")),
        Some(x) => Ok(x),
        None => Ok(default),
    }
}

/// Builds the policy a validated table describes, for one run of `scenario`.
pub fn build(config: &PolicyConfig, scenario: &Scenario) -> Box<dyn Policy> {
    use baseline::*;
    match config {
        PolicyConfig::AllFaas(c) => Box::new(AllFaas::new(c.clone())),
        PolicyConfig::VmFixed(c) => Box::new(VmFixed::new(c.clone())),
        PolicyConfig::VmAutoscale(c) | PolicyConfig::AllVm(c) => {
            Box::new(VmAutoscale::new(c.clone()))
        }
        PolicyConfig::Libra(c) => Box::new(libra::Libra::new(c, scenario)),
        PolicyConfig::Serflow(c) => Box::new(serflow::Serflow::new(c, scenario)),
        PolicyConfig::HybridHistogram(c) => Box::new(keepalive::HybridHistogram::new(
            c,
            scenario.stages.len() * scenario.classes.len().max(1),
        )),
        PolicyConfig::Hybrid(c) => Box::new(Hybrid::new(c.clone())),
        PolicyConfig::Coded(c) => Box::new(coded::CodedPolicy::new(c.clone())),
        PolicyConfig::Moe(c) => Box::new(moe::MoePolicy::new(c.clone())),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Validates one `[[policy]]` table (TOML text) as in a two-stage scenario whose platform
    /// instance type is c6i.large; `traced`: a stage takes its service from the trace.
    pub fn validate_in(table: &str, traced: bool) -> Result<PolicyConfig, ConfigError> {
        let spec: PolicySpec = toml::from_str(table).expect("a valid table");
        let default = crate::cloud::pricing::ec2_instance("c6i.large").unwrap();
        let lookup = |n: &str| {
            crate::cloud::pricing::ec2_instance(n).ok_or_else(|| format!("unknown \"{n}\""))
        };
        let coded = coded::settings::CodedSettings::default();
        let cx = ConfigContext {
            default_instance: &default,
            lookup_instance: &lookup,
            stages: 2,
            traced_service: traced,
            group_size: None,
            coded: &coded,
            moe: None,
        };
        PolicyConfig::from_spec(&spec, &cx)
    }

    /// [`validate_in`] without trace-driven stages.
    pub fn validate(table: &str) -> Result<PolicyConfig, ConfigError> {
        validate_in(table, false)
    }

    /// The c6i.large preset.
    pub fn c6i_large() -> InstanceType {
        crate::cloud::pricing::ec2_instance("c6i.large").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn names_default_to_the_kind_and_kinds_round_trip() {
        for kind in [
            "all-faas",
            "vm-autoscale",
            "all-vm",
            "libra",
            "serflow",
            "hybrid-histogram",
        ] {
            let c = validate(&format!("kind = \"{kind}\"")).unwrap();
            assert_eq!((c.display_name(), c.kind()), (kind, kind));
            let named = validate(&format!("kind = \"{kind}\"\nname = \"mine\"")).unwrap();
            assert_eq!(named.display_name(), "mine");
        }
        for kind in ["vm-fixed", "hybrid"] {
            let c = validate(&format!("kind = \"{kind}\"\nvms = 1")).unwrap();
            assert_eq!((c.display_name(), c.kind()), (kind, kind));
        }
    }

    #[test]
    fn instance_types_resolve_at_validation() {
        let Ok(PolicyConfig::VmFixed(c)) =
            validate("kind = \"vm-fixed\"\nvms = 1\ninstance = \"m5.large\"")
        else {
            panic!("vm-fixed")
        };
        assert_eq!(c.instance.name, "m5.large");
        let e = validate("kind = \"libra\"\ninstance = \"m9.huge\"").unwrap_err();
        assert_eq!(e, ConfigError::at("instance", "unknown \"m9.huge\""));
    }

    #[test]
    fn planning_policies_need_service_distributions() {
        for table in ["kind = \"libra\"", "kind = \"serflow\""] {
            let e = validate_in(table, true).unwrap_err();
            assert_eq!(e.field, None);
            assert!(e.message.contains("from-trace"), "{}", e.message);
        }
        assert!(validate_in("kind = \"libra\"\ncapacity_per_vm = 10.0", true).is_ok());
        assert!(validate_in("kind = \"all-faas\"", true).is_ok());
    }
}
