//! Serving policies. A policy decides the deployment (functions, VM pools and their initial
//! fleets, the backend of unrouted tasks) and may take part in three more families, one trait
//! each: [`Scaling`] (rescale pools on a periodic tick), [`Routing`] (choose a backend task by
//! task) and [`KeepAlivePolicy`] (keep-alive per invocation). Policies read a [`View`] of the
//! state and return decisions; only the engine mutates the simulation.
//!
//! The registry of kinds is the one `match` in [`build`].

pub mod baseline;
pub mod keepalive;
pub mod libra;
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

/// Builds the policy a scenario names.
pub fn build(spec: &PolicySpec, scenario: &Scenario) -> Box<dyn Policy> {
    use baseline::*;
    let instance = |name: &Option<String>| {
        name.as_deref()
            .and_then(|n| scenario.instance_type(n))
            .unwrap_or_else(|| scenario.vm.instance.clone())
    };
    let name = spec.display_name();
    match spec {
        PolicySpec::AllFaas {
            keep_alive,
            memory,
            provisioned_concurrency,
            ..
        } => Box::new(AllFaas {
            name,
            keep_alive: keep_alive.map(|d| d.0),
            memory_mb: memory.map(|m| m.0),
            provisioned: *provisioned_concurrency,
        }),
        PolicySpec::VmFixed {
            vms, instance: i, ..
        } => Box::new(VmFixed {
            name,
            vms: *vms,
            instance: instance(i),
        }),
        PolicySpec::VmAutoscale(a) | PolicySpec::AllVm(a) => {
            let min = a.min.unwrap_or(1);
            Box::new(VmAutoscale::new(
                name,
                instance(&a.instance),
                AutoscaleRule {
                    min,
                    max: a.max.unwrap_or(100),
                    initial: a.initial.unwrap_or(min.max(1)),
                    out_above: a.scale_out_above.map(|p| p.0).unwrap_or(0.7),
                    in_below: a.scale_in_below.map(|p| p.0).unwrap_or(0.3),
                    interval: a
                        .interval
                        .map(|d| d.0)
                        .unwrap_or(SimDuration::from_secs(30)),
                    cooldown: a
                        .cooldown
                        .map(|d| d.0)
                        .unwrap_or(SimDuration::from_secs(120)),
                    step: a.step.unwrap_or(1),
                },
            ))
        }
        PolicySpec::Libra(l) => {
            Box::new(libra::Libra::new(name, instance(&l.instance), l, scenario))
        }
        PolicySpec::Serflow(f) => Box::new(serflow::Serflow::new(
            name,
            instance(&f.instance),
            f,
            scenario,
        )),
        PolicySpec::HybridHistogram {
            range,
            bin,
            head,
            tail,
            margin,
            cv_threshold,
            oob_threshold,
            ..
        } => Box::new(keepalive::HybridHistogram::new(
            name,
            keepalive::HistogramRule {
                range: range
                    .map(|d| d.0)
                    .unwrap_or(SimDuration::from_secs(4 * 3600)),
                bin: bin.map(|d| d.0).unwrap_or(SimDuration::from_secs(60)),
                head: head.map(|p| p.0).unwrap_or(0.05),
                tail: tail.map(|p| p.0).unwrap_or(0.99),
                margin: margin.map(|p| p.0).unwrap_or(0.10),
                cv_threshold: cv_threshold.unwrap_or(2.0),
                oob_threshold: oob_threshold.map(|p| p.0).unwrap_or(0.5),
            },
            scenario.stages.len() * scenario.classes.len().max(1),
        )),
        PolicySpec::Hybrid {
            vms,
            instance: i,
            max_queue,
            keep_alive,
            ..
        } => Box::new(Hybrid {
            name,
            vms: *vms,
            instance: instance(i),
            max_queue: max_queue.unwrap_or(0),
            keep_alive: keep_alive.map(|d| d.0),
        }),
    }
}
