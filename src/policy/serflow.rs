//! SERFLOW-style per-stage provisioning (Zhang and Matta, "SERFLOW: A Cross-Service Cost
//! Optimization Framework for SLO-Aware Dynamic ML Inference", arXiv 2510.27182, 2025).
//!
//! The paper's full text was not available; these rules are the reconstruction documented in
//! the README ("Policies → serflow"), every threshold named in the scenario:
//!
//! - **Profiles** (offline, from the scenario): `c_k`, the cost of one stage-k task on its
//!   function (request fee + expected billed GB-s + moving the activations in), and `μ_k`,
//!   the tasks per second one VM serves at full load (slots ÷ mean service on the VM).
//! - **T-CIP** (traffic cost-indifference point) `λᵀ_k = p_v / c_k`: the sustained stage-k
//!   rate at which a VM costs what functions cost. If `λᵀ_k > u·μ_k` a VM cannot break even
//!   at the target utilisation `u`, so stage k is FaaS-only.
//! - **S-CIP** (sparsity cost-indifference point) `s*_k = λᵀ_k / λ̂`: a stage whose measured
//!   survival fraction `s_k = λ_k / λ̂` is below it is "sparse" (too many requests left
//!   before it) and stays on functions.
//! - **Provisioning**: every epoch the stage's task count updates an EWMA mean and deviation
//!   (α = 0.2); every `replan` the share is `mean + 1·dev` and the stage gets
//!   `⌊share / (u·μ_k)⌋` VMs, plus one more if the remainder still exceeds `λᵀ_k` (each VM
//!   must carry at least its indifference rate). New VMs serve only after booting.
//! - **Load balancing**: a task goes to its stage's VMs when one of them has a free slot (or
//!   their queue is shorter than `max_queue`), else to the stage's function, so bursts and
//!   VM boot windows spill to functions.
//! - **Cut point** (optional): with a cut `c`, stages before it always have VMs and stages
//!   from it on never do; `"auto"` picks, at each re-plan, the cut with the lowest estimated
//!   cost per second.

use super::{
    Backend, ConfigContext, ConfigError, Deployment, Policy, PoolPlan, Routing, ScaleAction,
    Scaling, TaskInfo, View,
};
use crate::cloud::pricing::InstanceType;
use crate::kernel::{SimDuration, SimTime};
use crate::policy::profile::{Ewma, faas_task_cost, vm_capacity};
use crate::scenario::Scenario;
use crate::scenario::spec::{CutSpec, SerflowSpec};

/// Which stages may use VMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Every stage decides alone.
    None,
    /// Stages before the cut have VMs, the others none.
    At(usize),
    /// The cut with the lowest estimated cost, re-chosen at each re-plan.
    Auto,
}

/// `serflow`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct SerflowConfig {
    /// Name in reports.
    pub name: String,
    /// Instance type of every stage's pool (default: the platform's).
    pub instance: InstanceType,
    /// Counting epoch (default 1 s).
    pub epoch: SimDuration,
    /// EWMA weight of the newest epoch count (default 0.2).
    pub alpha: f64,
    /// How often pools are re-planned (default 300 s).
    pub replan: SimDuration,
    /// Stage share = mean + `deviations` × deviation (default 1).
    pub deviations: f64,
    /// Target VM utilisation u (default 0.8).
    pub utilization: f64,
    /// A task still goes to the VMs while their queue is shorter than this (default 0).
    pub max_queue: u32,
    /// The cut point (default: none).
    pub cut: Cut,
    /// Fewest VMs of a stage that has VMs (default 1).
    pub min_vms: u32,
    /// Most VMs per stage (default 1000).
    pub max_vms: u32,
    /// Keep-alive of the functions (`None`: the platform's).
    pub keep_alive: Option<SimDuration>,
}

impl SerflowConfig {
    /// Validates a `serflow` table.
    pub fn from_spec(
        name: String,
        spec: &SerflowSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let epoch = super::positive("epoch", spec.epoch, SimDuration::from_secs(1))?;
        let replan = super::positive("replan", spec.replan, SimDuration::from_secs(300))?;
        let utilization = spec.utilization.map(|p| p.0).unwrap_or(0.8);
        if utilization == 0.0 {
            return Err(ConfigError::at("utilization", "utilization must be > 0"));
        }
        let deviations = super::finite("deviations", spec.deviations, 1.0)?;
        let (min_vms, max_vms) = (spec.min_vms.unwrap_or(1), spec.max_vms.unwrap_or(1000));
        if min_vms > max_vms {
            return Err(ConfigError::at(
                "min_vms",
                "min_vms must not exceed max_vms",
            ));
        }
        let n_stages = cx.stages;
        let cut = match &spec.cut {
            None => Cut::None,
            Some(CutSpec::Mode(m)) if m == "none" => Cut::None,
            Some(CutSpec::Mode(m)) if m == "auto" => Cut::Auto,
            Some(CutSpec::Stage(n)) if (*n as usize) <= n_stages => Cut::At(*n as usize),
            Some(other) => {
                return Err(ConfigError::at(
                    "cut",
                    format!(
                        "cut {other:?} is not allowed: use \"none\", \"auto\" or a stage number 0..={n_stages} (stages before it may use VMs)"
                    ),
                ));
            }
        };
        let instance = cx.instance(&spec.instance)?;
        cx.needs_service_profiles()?;
        Ok(SerflowConfig {
            name,
            instance,
            epoch,
            alpha: spec.alpha.map(|p| p.0).unwrap_or(0.2),
            replan,
            deviations,
            utilization,
            max_queue: spec.max_queue.unwrap_or(0),
            cut,
            min_vms,
            max_vms,
            keep_alive: spec.keep_alive.map(|d| d.0),
        })
    }
}

/// What SERFLOW knows about one stage.
#[derive(Clone, Debug)]
pub struct StageProfile {
    /// `c_k`: dollars per task on the function.
    pub faas_cost: f64,
    /// `μ_k`: tasks per second of one VM at full load.
    pub vm_capacity: f64,
    /// `λᵀ_k = p_v / c_k` (tasks per second).
    pub t_cip: f64,
    /// `λᵀ_k ≤ u·μ_k`: a VM can break even.
    pub vm_feasible: bool,
}

/// The planning rules, separate from the simulation state so they can be checked by hand.
#[derive(Clone, Debug)]
pub struct Planner {
    /// Per stage.
    pub stages: Vec<StageProfile>,
    /// VM price, $ per second.
    pub vm_price_per_s: f64,
    /// Target utilisation u.
    pub utilization: f64,
    /// Fewest VMs of a stage that has VMs.
    pub min_vms: u32,
    /// Most VMs of a stage.
    pub max_vms: u32,
}

impl Planner {
    /// Builds the profiles: `p_v` from the instance price, `c_k` and `μ_k` from the stages.
    pub fn new(sc: &Scenario, instance: &InstanceType, utilization: f64) -> Self {
        let vm = sc.vm_config_for(instance);
        let p_v = instance.price_per_hour / 3600.0;
        let stages = (0..sc.stages.len())
            .map(|k| {
                let c = faas_task_cost(sc, k, sc.run.seed).map_or(f64::INFINITY, |c| c.total());
                let mu = vm_capacity(&sc.stages[k], &vm).unwrap_or(0.0);
                let t_cip = p_v / c;
                StageProfile {
                    faas_cost: c,
                    vm_capacity: mu,
                    t_cip,
                    vm_feasible: mu > 0.0 && t_cip <= utilization * mu,
                }
            })
            .collect();
        Planner {
            stages,
            vm_price_per_s: p_v,
            utilization,
            min_vms: 1,
            max_vms: 1000,
        }
    }

    /// The S-CIP of stage `k` for an ingress rate `ingress` (tasks per second).
    pub fn s_cip(&self, k: usize, ingress: f64) -> f64 {
        if ingress > 0.0 {
            self.stages[k].t_cip / ingress
        } else {
            f64::INFINITY
        }
    }

    /// VMs for stage `k` given its mean rate and its share (mean + deviations), tasks per
    /// second, and the ingress rate: zero if a VM cannot break even or the stage is sparse.
    pub fn vms(&self, k: usize, mean: f64, share: f64, ingress: f64) -> u32 {
        let p = &self.stages[k];
        let survival = if ingress > 0.0 { mean / ingress } else { 0.0 };
        if !p.vm_feasible || survival < self.s_cip(k, ingress) {
            return 0;
        }
        self.size(k, share).max(self.min_vms).min(self.max_vms)
    }

    /// `⌊share/(u·μ)⌋` VMs, plus one if the remainder exceeds `λᵀ`.
    fn size(&self, k: usize, share: f64) -> u32 {
        let p = &self.stages[k];
        let per_vm = self.utilization * p.vm_capacity;
        if !(per_vm > 0.0) {
            return 0;
        }
        let full = (share / per_vm).floor();
        let rest = share - full * per_vm;
        (full as u32) + u32::from(rest >= p.t_cip && rest > 0.0)
    }

    /// VMs for a stage forced onto VMs by a cut (at least one).
    pub fn forced_vms(&self, k: usize, share: f64) -> u32 {
        self.size(k, share)
            .max(self.min_vms)
            .max(1)
            .min(self.max_vms)
    }

    /// Estimated dollars per second of stage `k` at mean rate `mean` with `n` VMs: the VMs
    /// plus the overflow above what they carry at the target utilisation, on functions.
    pub fn cost_rate(&self, k: usize, mean: f64, n: u32) -> f64 {
        let p = &self.stages[k];
        let carried = (n as f64 * self.utilization * p.vm_capacity).min(mean);
        n as f64 * self.vm_price_per_s + (mean - carried) * p.faas_cost
    }
}

/// The SERFLOW policy.
pub struct Serflow {
    name: String,
    instance: InstanceType,
    planner: Planner,
    epoch: SimDuration,
    alpha: f64,
    replan: SimDuration,
    deviations: f64,
    max_queue: u32,
    cut: Cut,
    keep_alive: Option<SimDuration>,
    /// Tasks routed per stage in the current epoch.
    counts: Vec<u64>,
    ewma: Vec<Ewma>,
    next_replan: Option<SimTime>,
    /// Planned VMs per stage.
    target: Vec<u32>,
}

impl Serflow {
    /// SERFLOW with a config, in scenario `sc`.
    pub fn new(config: &SerflowConfig, sc: &Scenario) -> Self {
        let mut planner = Planner::new(sc, &config.instance, config.utilization);
        planner.min_vms = config.min_vms;
        planner.max_vms = config.max_vms;
        let n = sc.stages.len();
        Serflow {
            name: config.name.clone(),
            instance: config.instance.clone(),
            planner,
            epoch: config.epoch,
            alpha: config.alpha,
            replan: config.replan,
            deviations: config.deviations,
            max_queue: config.max_queue,
            cut: config.cut,
            keep_alive: config.keep_alive,
            counts: vec![0; n],
            ewma: vec![Ewma::default(); n],
            next_replan: None,
            target: vec![0; n],
        }
    }

    /// The planner (profiles and rules).
    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// VMs per stage for the current estimates (rates in tasks per second).
    fn plan(&self) -> Vec<u32> {
        let secs = self.epoch.as_secs_f64();
        let n = self.ewma.len();
        let mean: Vec<f64> = self
            .ewma
            .iter()
            .map(|e| e.mean.unwrap_or(0.0) / secs)
            .collect();
        let share: Vec<f64> = self
            .ewma
            .iter()
            .map(|e| e.share(self.deviations).max(0.0) / secs)
            .collect();
        let ingress = mean[0];
        let free: Vec<u32> = (0..n)
            .map(|k| self.planner.vms(k, mean[k], share[k], ingress))
            .collect();
        let with_cut = |c: usize| -> Vec<u32> {
            (0..n)
                .map(|k| {
                    if k < c {
                        self.planner.forced_vms(k, share[k])
                    } else {
                        0
                    }
                })
                .collect()
        };
        match self.cut {
            Cut::None => free,
            Cut::At(c) => with_cut(c),
            Cut::Auto => {
                let cost = |plan: &[u32]| -> f64 {
                    (0..n)
                        .map(|k| self.planner.cost_rate(k, mean[k], plan[k]))
                        .sum()
                };
                let mut best = with_cut(0);
                let mut best_cost = cost(&best);
                for c in 1..=n {
                    let p = with_cut(c);
                    let pc = cost(&p);
                    if pc < best_cost {
                        best = p;
                        best_cost = pc;
                    }
                }
                best
            }
        }
    }
}

impl Policy for Serflow {
    fn name(&self) -> &str {
        &self.name
    }

    fn deployment(&self, sc: &Scenario) -> Deployment {
        Deployment {
            pools: sc
                .stages
                .iter()
                .map(|st| PoolPlan {
                    name: format!("vms-{}", st.name),
                    instance: self.instance.clone(),
                    initial: 0,
                })
                .collect(),
            keep_alive: self.keep_alive,
            // Pools start empty: a stage without VMs runs on its function.
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

impl Routing for Serflow {
    fn route(&mut self, view: &View, task: &TaskInfo) -> Backend {
        let k = task.stage;
        self.counts[k] += 1;
        let pool = &view.pools[k];
        let headroom = pool.free_slots() > 0 || (pool.running > 0 && pool.queued < self.max_queue);
        if headroom {
            Backend::Vm(k as u16)
        } else {
            Backend::Faas
        }
    }
}

impl Scaling for Serflow {
    fn interval(&self) -> SimDuration {
        self.epoch
    }

    fn on_tick(&mut self, view: &View) -> Vec<ScaleAction> {
        for (e, c) in self.ewma.iter_mut().zip(self.counts.iter_mut()) {
            e.observe(*c as f64, self.alpha);
            *c = 0;
        }
        if self.next_replan.is_some_and(|t| view.now < t) {
            return Vec::new();
        }
        self.next_replan = Some(view.now + self.replan);
        self.target = self.plan();
        let mut actions = Vec::new();
        for (k, &want) in self.target.iter().enumerate() {
            let pool = &view.pools[k];
            let alive = pool.booting + pool.running;
            let pool = k as u16;
            if want > alive {
                actions.push(ScaleAction::Launch {
                    pool,
                    n: want - alive,
                });
            } else if want < alive {
                actions.push(ScaleAction::Retire {
                    pool,
                    n: alive - want,
                });
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyConfig;
    use crate::policy::testing::{c6i_large, validate};

    #[test]
    fn serflow_defaults_and_cut_points() {
        let want = SerflowConfig {
            name: "serflow".into(),
            instance: c6i_large(),
            epoch: SimDuration::from_secs(1),
            alpha: 0.2,
            replan: SimDuration::from_secs(300),
            deviations: 1.0,
            utilization: 0.8,
            max_queue: 0,
            cut: Cut::None,
            min_vms: 1,
            max_vms: 1000,
            keep_alive: None,
        };
        assert_eq!(
            validate("kind = \"serflow\"").unwrap(),
            PolicyConfig::Serflow(want.clone())
        );
        // The test context has two stages.
        for (cut, want_cut) in [
            ("\"none\"", Cut::None),
            ("\"auto\"", Cut::Auto),
            ("0", Cut::At(0)),
            ("2", Cut::At(2)),
        ] {
            let Ok(PolicyConfig::Serflow(c)) =
                validate(&format!("kind = \"serflow\"\ncut = {cut}"))
            else {
                panic!("{cut}")
            };
            assert_eq!(c.cut, want_cut);
        }
        for (table, field) in [
            ("cut = 3", "cut"),
            ("cut = \"best\"", "cut"),
            ("epoch = \"0s\"", "epoch"),
            ("replan = \"0s\"", "replan"),
            ("utilization = 0.0", "utilization"),
            ("deviations = inf", "deviations"),
            ("min_vms = 3\nmax_vms = 2", "min_vms"),
        ] {
            let e = validate(&format!("kind = \"serflow\"\n{table}")).unwrap_err();
            assert_eq!(e.field, Some(field), "{table}");
        }
    }
}
