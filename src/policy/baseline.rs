//! The baseline policies every study compares against: all-FaaS, a fixed VM fleet, threshold
//! autoscaling of VMs, and the hybrid "VMs take the base load, functions the overflow".

use super::{Backend, Deployment, Policy, PoolPlan, Routing, ScaleAction, Scaling, TaskInfo, View};
use crate::cloud::pricing::InstanceType;
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::Scenario;

/// One pool named `vms` with `initial` VMs running from the start.
fn fleet(instance: &InstanceType, initial: u32) -> Vec<PoolPlan> {
    vec![PoolPlan {
        name: "vms".into(),
        instance: instance.clone(),
        initial,
    }]
}

/// Every task on functions, with a fixed keep-alive.
pub struct AllFaas {
    /// Name.
    pub name: String,
    /// Keep-alive override.
    pub keep_alive: Option<SimDuration>,
    /// Memory override.
    pub memory_mb: Option<u32>,
    /// Provisioned concurrency override.
    pub provisioned: Option<u32>,
}

impl Policy for AllFaas {
    fn name(&self) -> &str {
        &self.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: Vec::new(),
            function_memory_mb: self.memory_mb,
            keep_alive: self.keep_alive,
            provisioned_concurrency: self.provisioned,
            default_backend: Backend::Faas,
        }
    }
}

/// A fixed fleet of VMs running from the start; every task queues for a VM slot.
pub struct VmFixed {
    /// Name.
    pub name: String,
    /// Fleet size.
    pub vms: u32,
    /// Instance type.
    pub instance: InstanceType,
}

impl Policy for VmFixed {
    fn name(&self) -> &str {
        &self.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: fleet(&self.instance, self.vms),
            // No functions in use: no provisioned concurrency to pay for.
            provisioned_concurrency: Some(0),
            default_backend: Backend::Vm(0),
            ..Deployment::default()
        }
    }
}

/// Thresholds of the autoscaler.
#[derive(Clone, Copy, Debug)]
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
    /// A new autoscaler.
    pub fn new(name: String, instance: InstanceType, rule: AutoscaleRule) -> Self {
        VmAutoscale {
            name,
            instance,
            rule,
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

/// A fixed VM fleet takes the base load; a task that finds no free VM slot (or a VM queue at
/// `max_queue`) runs on the stage's function instead.
pub struct Hybrid {
    /// Name.
    pub name: String,
    /// Base fleet.
    pub vms: u32,
    /// Instance type.
    pub instance: InstanceType,
    /// VM queue length below which tasks still go to the VMs.
    pub max_queue: u32,
    /// Keep-alive of the overflow functions.
    pub keep_alive: Option<SimDuration>,
}

impl Policy for Hybrid {
    fn name(&self) -> &str {
        &self.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            pools: fleet(&self.instance, self.vms),
            keep_alive: self.keep_alive,
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
        if pool.free_slots() > 0 || pool.queued < self.max_queue && pool.running > 0 {
            Backend::Vm(0)
        } else {
            Backend::Faas
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
