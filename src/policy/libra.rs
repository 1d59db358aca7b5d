//! LIBRA (Raza, Zhang, Akhtar, Isahagian, Matta, "LIBRA: An Economical Hybrid Approach for
//! Cloud Applications with Strict SLAs", IC2E 2021), as its simulator's `hybrid` policy does it
//! (Zongshun96/LIBRA `simulator/manager.py`):
//!
//! - every epoch (1 s) the arrival count updates an EWMA mean and deviation (α = 0.2);
//! - at the first epoch and then every `update_interval` (300 s), the VM share is
//!   `⌊mean + 1·deviation⌋` requests per epoch and the fleet `⌈share / per-VM capacity⌉` VMs;
//! - the VM quota is `⌊0.8 · share⌋` requests per epoch: the first that many requests of each
//!   epoch go to the VMs' queue, the rest to functions. When the fleet grows, the new quota
//!   applies only once the new VMs have booted (LIBRA waits out the 100 s VM cold start);
//!   when it shrinks, at once.
//!
//! LIBRA treats a request as one unit of uniform runtime: the backend chosen at the first
//! stage serves all its stages, and the per-VM capacity ignores early exits (slots ÷ the
//! whole request's mean service time on the VM), unless `capacity_per_vm` sets it.

use super::{
    Backend, ConfigContext, ConfigError, Deployment, Policy, PoolPlan, Routing, ScaleAction,
    Scaling, TaskInfo, View,
};
use crate::cloud::pricing::InstanceType;
use crate::kernel::{SimDuration, SimTime};
use crate::policy::profile::{Ewma, vm_service_mean};
use crate::scenario::Scenario;
use crate::scenario::spec::LibraSpec;

/// `libra`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct LibraConfig {
    /// Name in reports.
    pub name: String,
    /// Instance type (default: the platform's).
    pub instance: InstanceType,
    /// Counting epoch (default 1 s).
    pub epoch: SimDuration,
    /// EWMA weight of the newest epoch count (default 0.2).
    pub alpha: f64,
    /// How often the fleet is resized (default 300 s).
    pub update_interval: SimDuration,
    /// VM share = mean + `deviations` × deviation (default 1).
    pub deviations: f64,
    /// Fraction of the share sent to VMs each epoch (default 0.8).
    pub quota: f64,
    /// Requests per second one VM serves; `None`: derived from the scenario when the policy is
    /// built (slots ÷ the whole request's mean service time on the VM, ignoring exits).
    pub capacity_per_vm: Option<f64>,
    /// Fewest VMs (default 0).
    pub min: u32,
    /// Most VMs (default 1000).
    pub max: u32,
    /// Keep-alive of the overflow functions (`None`: the platform's).
    pub keep_alive: Option<SimDuration>,
}

impl LibraConfig {
    /// Validates a `libra` table.
    pub fn from_spec(
        name: String,
        spec: &LibraSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let epoch = super::positive("epoch", spec.epoch, SimDuration::from_secs(1))?;
        let update_interval = super::positive(
            "update_interval",
            spec.update_interval,
            SimDuration::from_secs(300),
        )?;
        if spec
            .capacity_per_vm
            .is_some_and(|c| !(c > 0.0 && c.is_finite()))
        {
            return Err(ConfigError::at(
                "capacity_per_vm",
                "capacity_per_vm (requests per second per VM) must be > 0",
            ));
        }
        let deviations = super::finite("deviations", spec.deviations, 1.0)?;
        let (min, max) = (spec.min.unwrap_or(0), spec.max.unwrap_or(1000));
        if min > max {
            return Err(ConfigError::at("min", "min must not exceed max"));
        }
        if max == 0 {
            return Err(ConfigError::at(
                "max",
                "max must be ≥ 1: LIBRA sends its VM share of the requests to the VM pool, and with no VM they would never be served (to compare FaaS alone, use the all-faas policy)",
            ));
        }
        let instance = cx.instance(&spec.instance)?;
        if spec.capacity_per_vm.is_none() {
            cx.needs_service_profiles()?;
        }
        Ok(LibraConfig {
            name,
            instance,
            epoch,
            alpha: spec.alpha.map(|p| p.0).unwrap_or(0.2),
            update_interval,
            deviations,
            quota: spec.quota.map(|p| p.0).unwrap_or(0.8),
            capacity_per_vm: spec.capacity_per_vm,
            min,
            max,
            keep_alive: spec.keep_alive.map(|d| d.0),
        })
    }
}

/// The LIBRA policy.
pub struct Libra {
    name: String,
    instance: InstanceType,
    epoch: SimDuration,
    alpha: f64,
    update_interval: SimDuration,
    deviations: f64,
    quota_fraction: f64,
    /// Requests per epoch one VM serves.
    capacity_per_epoch: f64,
    min: u32,
    max: u32,
    keep_alive: Option<SimDuration>,
    ewma: Ewma,
    arrivals_seen: u64,
    next_update: Option<SimTime>,
    /// Requests per epoch sent to VMs now.
    quota: u64,
    /// The quota waiting for booting VMs.
    pending_quota: Option<u64>,
    sent_this_epoch: u64,
}

impl Libra {
    /// LIBRA with a config, in scenario `sc`.
    pub fn new(config: &LibraConfig, sc: &Scenario) -> Self {
        let epoch = config.epoch;
        let vm = sc.vm_config_for(&config.instance);
        let per_second = config.capacity_per_vm.unwrap_or_else(|| {
            // Uniform runtime: every stage, no exits.
            let whole: f64 = sc
                .stages
                .iter()
                .map(|st| vm_service_mean(st, &vm).unwrap_or(1.0))
                .sum();
            vm.slots as f64 / whole.max(1e-12)
        });
        Libra {
            name: config.name.clone(),
            instance: config.instance.clone(),
            epoch,
            alpha: config.alpha,
            update_interval: config.update_interval,
            deviations: config.deviations,
            quota_fraction: config.quota,
            capacity_per_epoch: per_second * epoch.as_secs_f64(),
            min: config.min,
            max: config.max,
            keep_alive: config.keep_alive,
            ewma: Ewma::default(),
            arrivals_seen: 0,
            next_update: None,
            quota: 0,
            pending_quota: None,
            sent_this_epoch: 0,
        }
    }

    /// VMs for a share of `share` requests per epoch.
    pub fn vms_for(&self, share: f64) -> u32 {
        let n = (share / self.capacity_per_epoch).ceil();
        (n.max(0.0) as u32).clamp(self.min, self.max)
    }
}

impl Policy for Libra {
    fn name(&self) -> &str {
        &self.name
    }

    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: vec![PoolPlan {
                name: "vms".into(),
                instance: self.instance.clone(),
                initial: 0,
            }],
            keep_alive: self.keep_alive,
            // Until the quota is set, every request runs on functions.
            default_backend: Backend::Faas,
            ..Deployment::default()
        }
    }

    fn routing(&mut self) -> Option<&mut dyn Routing> {
        Some(self)
    }

    fn scaling(&mut self) -> Option<&mut dyn Scaling> {
        Some(self)
    }
}

impl Routing for Libra {
    fn route(&mut self, _: &View, task: &TaskInfo) -> Backend {
        if let Some(previous) = task.previous {
            return previous;
        }
        if self.sent_this_epoch < self.quota {
            self.sent_this_epoch += 1;
            Backend::Vm(0)
        } else {
            Backend::Faas
        }
    }
}

impl Scaling for Libra {
    fn interval(&self) -> SimDuration {
        self.epoch
    }

    fn on_tick(&mut self, view: &View) -> Vec<ScaleAction> {
        let n = view.arrivals - self.arrivals_seen;
        self.arrivals_seen = view.arrivals;
        self.sent_this_epoch = 0;
        self.ewma.observe(n as f64, self.alpha);
        let pool = &view.pools[0];
        if let Some(q) = self.pending_quota
            && pool.booting == 0
        {
            self.quota = q;
            self.pending_quota = None;
        }
        if self.next_update.is_some_and(|t| view.now < t) {
            return Vec::new();
        }
        self.next_update = Some(view.now + self.update_interval);
        let share = self.ewma.share(self.deviations).max(0.0).floor();
        let target = self.vms_for(share);
        let quota = (share * self.quota_fraction).floor() as u64;
        let alive = pool.booting + pool.running;
        if target > alive {
            self.pending_quota = Some(quota);
            vec![ScaleAction::Launch {
                pool: 0,
                n: target - alive,
            }]
        } else {
            self.quota = quota;
            self.pending_quota = None;
            if target < alive {
                vec![ScaleAction::Retire {
                    pool: 0,
                    n: alive - target,
                }]
            } else {
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyConfig;
    use crate::policy::testing::{c6i_large, validate};

    #[test]
    fn libra_defaults_are_its_simulators() {
        assert_eq!(
            validate("kind = \"libra\"").unwrap(),
            PolicyConfig::Libra(LibraConfig {
                name: "libra".into(),
                instance: c6i_large(),
                epoch: SimDuration::from_secs(1),
                alpha: 0.2,
                update_interval: SimDuration::from_secs(300),
                deviations: 1.0,
                quota: 0.8,
                capacity_per_vm: None,
                min: 0,
                max: 1000,
                keep_alive: None,
            })
        );
        for (table, field) in [
            ("epoch = \"0s\"", "epoch"),
            ("update_interval = \"0s\"", "update_interval"),
            ("max = 0", "max"),
            ("capacity_per_vm = 0.0", "capacity_per_vm"),
            ("deviations = nan", "deviations"),
            ("min = 3\nmax = 2", "min"),
        ] {
            let e = validate(&format!("kind = \"libra\"\n{table}")).unwrap_err();
            assert_eq!(e.field, Some(field), "{table}");
        }
    }
}
