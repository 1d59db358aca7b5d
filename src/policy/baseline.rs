//! The baseline policies every study compares against: all-FaaS, a fixed VM fleet, threshold
//! autoscaling of VMs, and the hybrid "VMs take the base load, functions the overflow".

use super::{
    Backend, ConfigContext, ConfigError, Deployment, Policy, PoolPlan, Routing, ScaleAction,
    Scaling, TaskInfo, View,
};
use crate::cloud::pricing::InstanceType;
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::Scenario;
use crate::scenario::spec::{AllFaasSpec, AutoscaleSpec, HybridSpec, VmFixedSpec};

/// One pool named `vms` with `initial` VMs running from the start.
fn fleet(instance: &InstanceType, initial: u32) -> Vec<PoolPlan> {
    vec![PoolPlan {
        name: "vms".into(),
        instance: instance.clone(),
        initial,
    }]
}

/// `all-faas`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct AllFaasConfig {
    /// Name in reports.
    pub name: String,
    /// Keep-alive of every function (`None`: the platform's).
    pub keep_alive: Option<SimDuration>,
    /// Memory of every stage's function (`None`: the stage's or the platform's).
    pub memory_mb: Option<u32>,
    /// Provisioned concurrency per function (`None`: the platform's).
    pub provisioned_concurrency: Option<u32>,
}

impl AllFaasConfig {
    /// The config of an `all-faas` table (every key is an optional override).
    pub fn from_spec(name: String, spec: &AllFaasSpec) -> Self {
        AllFaasConfig {
            name,
            keep_alive: spec.keep_alive.map(|d| d.0),
            memory_mb: spec.memory.map(|m| m.0),
            provisioned_concurrency: spec.provisioned_concurrency,
        }
    }
}

/// Every task on functions, with a fixed keep-alive.
pub struct AllFaas {
    config: AllFaasConfig,
}

impl AllFaas {
    /// The policy of a config.
    pub fn new(config: AllFaasConfig) -> Self {
        AllFaas { config }
    }
}

impl Policy for AllFaas {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: Vec::new(),
            function_memory_mb: self.config.memory_mb,
            keep_alive: self.config.keep_alive,
            provisioned_concurrency: self.config.provisioned_concurrency,
            default_backend: Backend::Faas,
        }
    }
}

/// `vm-fixed`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct VmFixedConfig {
    /// Name in reports.
    pub name: String,
    /// Fleet size (≥ 1).
    pub vms: u32,
    /// Instance type (default: the platform's).
    pub instance: InstanceType,
}

impl VmFixedConfig {
    /// Validates a `vm-fixed` table.
    pub fn from_spec(
        name: String,
        spec: &VmFixedSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        if spec.vms == 0 {
            return Err(ConfigError::at("vms", "a fixed fleet needs vms ≥ 1"));
        }
        Ok(VmFixedConfig {
            name,
            vms: spec.vms,
            instance: cx.instance(&spec.instance)?,
        })
    }
}

/// A fixed fleet of VMs running from the start; every task queues for a VM slot.
pub struct VmFixed {
    config: VmFixedConfig,
}

impl VmFixed {
    /// The policy of a config.
    pub fn new(config: VmFixedConfig) -> Self {
        VmFixed { config }
    }
}

impl Policy for VmFixed {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: fleet(&self.config.instance, self.config.vms),
            // No functions in use: no provisioned concurrency to pay for.
            provisioned_concurrency: Some(0),
            default_backend: Backend::Vm(0),
            ..Deployment::default()
        }
    }
}

/// Thresholds of the autoscaler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoscaleRule {
    /// Fewest VMs.
    pub min: u32,
    /// Most VMs.
    pub max: u32,
    /// VMs at the start.
    pub initial: u32,
    /// Scale out above this utilisation.
    pub out_above: f64,
    /// Scale in below this utilisation.
    pub in_below: f64,
    /// Evaluation interval.
    pub interval: SimDuration,
    /// Quiet time after an action.
    pub cooldown: SimDuration,
    /// VMs per action.
    pub step: u32,
}

impl AutoscaleRule {
    /// The decision for a measured utilisation, given the VMs alive (running + booting) and
    /// running, and the time of the last action.
    pub fn decide(
        &self,
        utilisation: f64,
        alive: u32,
        running: u32,
        now: SimTime,
        last_action: Option<SimTime>,
    ) -> Option<ScaleAction> {
        if last_action.is_some_and(|t| now.since(t) < self.cooldown) {
            return None;
        }
        if utilisation > self.out_above && alive < self.max {
            let n = self.step.min(self.max - alive);
            return Some(ScaleAction::Launch { pool: 0, n });
        }
        if utilisation < self.in_below && running > self.min && alive == running {
            let n = self.step.min(running - self.min);
            return Some(ScaleAction::Retire { pool: 0, n });
        }
        None
    }
}

/// `vm-autoscale` and `all-vm`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleConfig {
    /// Name in reports.
    pub name: String,
    /// Instance type (default: the platform's).
    pub instance: InstanceType,
    /// The thresholds, defaults applied: min 1, max 100, initial `min` (at least 1), out above
    /// 0.7, in below 0.3, every 30 s, cooldown 120 s, step 1.
    pub rule: AutoscaleRule,
}

impl AutoscaleConfig {
    /// Validates a `vm-autoscale` or `all-vm` table.
    pub fn from_spec(
        name: String,
        spec: &AutoscaleSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let (min, max) = (spec.min.unwrap_or(1), spec.max.unwrap_or(100));
        if max == 0 || min > max {
            return Err(ConfigError::at(
                "max",
                format!("need 0 ≤ min ({min}) ≤ max ({max}) and max ≥ 1"),
            ));
        }
        let initial = spec.initial.unwrap_or(min.max(1));
        if initial < min || initial > max {
            return Err(ConfigError::at(
                "initial",
                format!("initial ({initial}) must lie within min ({min}) and max ({max})"),
            ));
        }
        let out_above = spec.scale_out_above.map(|p| p.0).unwrap_or(0.7);
        let in_below = spec.scale_in_below.map(|p| p.0).unwrap_or(0.3);
        if in_below >= out_above {
            return Err(ConfigError::at(
                "scale_in_below",
                format!("scale_in_below ({in_below}) must be below scale_out_above ({out_above})"),
            ));
        }
        let interval = super::positive("interval", spec.interval, SimDuration::from_secs(30))?;
        let step = spec.step.unwrap_or(1);
        if step == 0 {
            return Err(ConfigError::at("step", "step must be ≥ 1"));
        }
        Ok(AutoscaleConfig {
            name,
            instance: cx.instance(&spec.instance)?,
            rule: AutoscaleRule {
                min,
                max,
                initial,
                out_above,
                in_below,
                interval,
                cooldown: spec
                    .cooldown
                    .map(|d| d.0)
                    .unwrap_or(SimDuration::from_secs(120)),
                step,
            },
        })
    }
}

/// A VM fleet scaled out above a utilisation threshold and in below another, with a cooldown.
/// Utilisation is busy slot-time over running slot-time during the last interval.
pub struct VmAutoscale {
    name: String,
    instance: InstanceType,
    rule: AutoscaleRule,
    last_busy: u128,
    last_capacity: u128,
    last_action: Option<SimTime>,
}

impl VmAutoscale {
    /// The autoscaler of a config.
    pub fn new(config: AutoscaleConfig) -> Self {
        VmAutoscale {
            name: config.name,
            instance: config.instance,
            rule: config.rule,
            last_busy: 0,
            last_capacity: 0,
            last_action: None,
        }
    }
}

impl Policy for VmAutoscale {
    fn name(&self) -> &str {
        &self.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: fleet(&self.instance, self.rule.initial),
            provisioned_concurrency: Some(0),
            default_backend: Backend::Vm(0),
            ..Deployment::default()
        }
    }
    fn scaling(&mut self) -> Option<&mut dyn Scaling> {
        Some(self)
    }
}

impl Scaling for VmAutoscale {
    fn interval(&self) -> SimDuration {
        self.rule.interval
    }
    fn on_tick(&mut self, view: &View) -> Vec<ScaleAction> {
        let pool = &view.pools[0];
        let busy = pool.busy_slots.area(view.now);
        let cap = pool.running_slots.area(view.now);
        let (db, dc) = (busy - self.last_busy, cap - self.last_capacity);
        self.last_busy = busy;
        self.last_capacity = cap;
        let utilisation = if dc == 0 {
            // Nothing running: saturated if work is waiting.
            if pool.queued > 0 { 1.0 } else { 0.0 }
        } else {
            db as f64 / dc as f64
        };
        let decision = self.rule.decide(
            utilisation,
            pool.booting + pool.running,
            pool.running,
            view.now,
            self.last_action,
        );
        if decision.is_some() {
            self.last_action = Some(view.now);
        }
        decision.into_iter().collect()
    }
}

/// `hybrid`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridConfig {
    /// Name in reports.
    pub name: String,
    /// Base fleet (may be 0).
    pub vms: u32,
    /// Instance type (default: the platform's).
    pub instance: InstanceType,
    /// VM queue length below which tasks still go to the VMs (default 0: only to a free slot).
    pub max_queue: u32,
    /// Keep-alive of the overflow functions (`None`: the platform's).
    pub keep_alive: Option<SimDuration>,
}

impl HybridConfig {
    /// Validates a `hybrid` table.
    pub fn from_spec(
        name: String,
        spec: &HybridSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        Ok(HybridConfig {
            name,
            vms: spec.vms,
            instance: cx.instance(&spec.instance)?,
            max_queue: spec.max_queue.unwrap_or(0),
            keep_alive: spec.keep_alive.map(|d| d.0),
        })
    }
}

/// A fixed VM fleet takes the base load; a task that finds no free VM slot (or a VM queue at
/// `max_queue`) runs on the stage's function instead.
pub struct Hybrid {
    config: HybridConfig,
}

impl Hybrid {
    /// The policy of a config.
    pub fn new(config: HybridConfig) -> Self {
        Hybrid { config }
    }
}

impl Policy for Hybrid {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: fleet(&self.config.instance, self.config.vms),
            keep_alive: self.config.keep_alive,
            // The base fleet (every task is routed).
            default_backend: Backend::Vm(0),
            ..Deployment::default()
        }
    }
    fn routing(&mut self) -> Option<&mut dyn Routing> {
        Some(self)
    }
}

impl Routing for Hybrid {
    fn route(&mut self, view: &View, _: &TaskInfo) -> Backend {
        let pool = &view.pools[0];
        if pool.free_slots() > 0 || pool.queued < self.config.max_queue && pool.running > 0 {
            Backend::Vm(0)
        } else {
            Backend::Faas
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyConfig;
    use crate::policy::testing::{c6i_large, validate};

    #[test]
    fn all_faas_defaults_override_nothing() {
        assert_eq!(
            validate("kind = \"all-faas\"").unwrap(),
            PolicyConfig::AllFaas(AllFaasConfig {
                name: "all-faas".into(),
                keep_alive: None,
                memory_mb: None,
                provisioned_concurrency: None,
            })
        );
    }

    #[test]
    fn vm_fixed_defaults_to_the_platform_instance_and_needs_vms() {
        assert_eq!(
            validate("kind = \"vm-fixed\"\nvms = 3").unwrap(),
            PolicyConfig::VmFixed(VmFixedConfig {
                name: "vm-fixed".into(),
                vms: 3,
                instance: c6i_large(),
            })
        );
        let e = validate("kind = \"vm-fixed\"\nvms = 0").unwrap_err();
        assert_eq!(e, ConfigError::at("vms", "a fixed fleet needs vms ≥ 1"));
    }

    #[test]
    fn autoscale_defaults_are_the_documented_thresholds() {
        let want = AutoscaleConfig {
            name: "vm-autoscale".into(),
            instance: c6i_large(),
            rule: AutoscaleRule {
                min: 1,
                max: 100,
                initial: 1,
                out_above: 0.7,
                in_below: 0.3,
                interval: SimDuration::from_secs(30),
                cooldown: SimDuration::from_secs(120),
                step: 1,
            },
        };
        assert_eq!(
            validate("kind = \"vm-autoscale\"").unwrap(),
            PolicyConfig::VmAutoscale(want.clone())
        );
        assert_eq!(
            validate("kind = \"all-vm\"").unwrap(),
            PolicyConfig::AllVm(AutoscaleConfig {
                name: "all-vm".into(),
                ..want
            })
        );
        // `initial` defaults to `min`, at least 1.
        let Ok(PolicyConfig::VmAutoscale(c)) = validate("kind = \"vm-autoscale\"\nmin = 0") else {
            panic!()
        };
        assert_eq!((c.rule.min, c.rule.initial), (0, 1));
        let Ok(PolicyConfig::VmAutoscale(c)) = validate("kind = \"vm-autoscale\"\nmin = 4") else {
            panic!()
        };
        assert_eq!(c.rule.initial, 4);
        for (table, field) in [
            ("min = 5\nmax = 4", "max"),
            ("initial = 200", "initial"),
            ("scale_in_below = 0.8", "scale_in_below"),
            ("interval = \"0s\"", "interval"),
            ("step = 0", "step"),
        ] {
            let e = validate(&format!("kind = \"vm-autoscale\"\n{table}")).unwrap_err();
            assert_eq!(e.field, Some(field), "{table}");
        }
    }

    #[test]
    fn hybrid_defaults_send_tasks_to_vms_only_to_a_free_slot() {
        assert_eq!(
            validate("kind = \"hybrid\"\nvms = 0").unwrap(),
            PolicyConfig::Hybrid(HybridConfig {
                name: "hybrid".into(),
                vms: 0,
                instance: c6i_large(),
                max_queue: 0,
                keep_alive: None,
            })
        );
    }

    fn rule() -> AutoscaleRule {
        AutoscaleRule {
            min: 1,
            max: 4,
            initial: 1,
            out_above: 0.7,
            in_below: 0.3,
            interval: SimDuration::from_secs(30),
            cooldown: SimDuration::from_secs(120),
            step: 2,
        }
    }

    #[test]
    fn thresholds_cooldown_and_bounds() {
        let r = rule();
        let t = |s: u64| SimTime(s * 1_000_000_000);
        assert_eq!(
            r.decide(0.8, 1, 1, t(0), None),
            Some(ScaleAction::Launch { pool: 0, n: 2 })
        );
        assert_eq!(r.decide(0.8, 3, 3, t(60), Some(t(0))), None, "cooldown");
        assert_eq!(
            r.decide(0.8, 3, 3, t(200), Some(t(0))),
            Some(ScaleAction::Launch { pool: 0, n: 1 }),
            "capped at max"
        );
        assert_eq!(r.decide(0.5, 3, 3, t(200), None), None, "dead band");
        assert_eq!(
            r.decide(0.1, 3, 3, t(200), None),
            Some(ScaleAction::Retire { pool: 0, n: 2 })
        );
        assert_eq!(r.decide(0.1, 1, 1, t(200), None), None, "at min");
        assert_eq!(r.decide(0.1, 3, 2, t(200), None), None, "not while booting");
    }
}
