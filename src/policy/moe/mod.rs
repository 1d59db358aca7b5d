//! Serverless mixture-of-experts serving (Liu, Wang, Wu, INFOCOM 2025): the policies
//! `moe-deploy` (predict each expert's tokens, optimise a deployment, optionally refine it by
//! Bayesian optimisation), `moe-lambdaml` (every expert at 3,008 MB, one replica, through
//! storage, no prediction) and `moe-cpu-cluster` (a 128-core VM, all experts of a layer at
//! once). Each runs the scenario's `[moe]` model on the batches of its routing
//! ([`scenario::MoeScenario`]) through the MoE planner ([`crate::plan::moe`]).
//!
//! The deployment is chosen when the scenario is validated (so an infeasible latency limit or
//! memory constraint is a validation error that names the constraint), once per policy; every
//! replication serves the same batches with it.

pub mod choose;
pub mod scenario;

use std::sync::Arc;

use super::{Backend, ConfigContext, ConfigError, Deployment, Planning, Policy, PoolPlan};
use crate::cloud::pricing::InstanceType;
use crate::moe::cost::Deployment as MoeDeployment;
use crate::moe::cpu_cluster;
use crate::plan::Planner;
use crate::plan::moe::MoeRun;
use crate::scenario::Scenario;
use crate::scenario::spec::{MoeBaselineSpec, MoeDeploySpec};
pub use choose::{Choice, Optimizer, Predictor, Refine};

/// The three kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum MoeKind {
    /// `moe-deploy`: prediction, optimiser, refinement.
    Deploy {
        /// Predictor of tokens per expert.
        predictor: Predictor,
        /// Deployment optimiser.
        optimizer: Optimizer,
        /// Refinement.
        refine: Refine,
    },
    /// `moe-lambdaml`.
    Lambdaml,
    /// `moe-cpu-cluster`.
    CpuCluster,
}

impl MoeKind {
    /// The `kind` string.
    pub fn name(&self) -> &'static str {
        match self {
            MoeKind::Deploy { .. } => "moe-deploy",
            MoeKind::Lambdaml => "moe-lambdaml",
            MoeKind::CpuCluster => "moe-cpu-cluster",
        }
    }
}

/// A validated MoE policy: its kind, what it chose, and its plan of the scenario's batches.
#[derive(Clone, Debug)]
pub struct MoeConfig {
    /// Name in reports.
    pub name: String,
    /// Kind and settings.
    pub kind: MoeKind,
    /// What it chose (deployment, predicted counts, BO history).
    pub choice: Arc<Choice>,
    /// The plan of the run's batches, built once.
    pub planner: Arc<Planner>,
}

impl PartialEq for MoeConfig {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.choice == other.choice
    }
}

impl MoeConfig {
    /// Validates a `moe-deploy` table.
    pub fn deploy(
        name: String,
        spec: &MoeDeploySpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let sc = needs_moe(cx)?;
        let kind = MoeKind::Deploy {
            predictor: Predictor::parse(spec.predictor.as_deref())?,
            optimizer: Optimizer::parse(spec.optimizer.as_deref(), spec.seed)?,
            refine: Refine::parse(spec.refine.as_deref(), spec.bo.as_ref())?,
        };
        Self::with(name, kind, sc)
    }

    /// Validates a `moe-lambdaml` or `moe-cpu-cluster` table.
    pub fn baseline(
        name: String,
        kind: MoeKind,
        _spec: &MoeBaselineSpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let sc = needs_moe(cx)?;
        Self::with(name, kind, sc)
    }

    fn with(name: String, kind: MoeKind, sc: &scenario::MoeScenario) -> Result<Self, ConfigError> {
        let choice = choose::choose(&kind, sc).map_err(ConfigError::table)?;
        let cluster = matches!(kind, MoeKind::CpuCluster).then(cpu_cluster::epyc_2x64);
        let run = MoeRun {
            model: sc.setup.model.clone(),
            platform: sc.setup.platform.clone(),
            deployment: choice.deployment.clone(),
            batches: sc.test().iter().map(|b| b.counts()).collect(),
            on_overflow: sc.on_overflow,
            latency_limit_ns: sc.setup.latency_limit_ns,
            prediction_mae: choice.prediction_mae,
            cluster,
        };
        let planner = Planner::moe(&run).map_err(|e| ConfigError::table(e.to_string()))?;
        Ok(MoeConfig {
            name,
            kind,
            choice: Arc::new(choice),
            planner: Arc::new(planner),
        })
    }

    /// The deployment of the MoE layers (the LambdaML one for the CPU cluster, unused).
    pub fn deployment(&self) -> &MoeDeployment {
        &self.choice.deployment
    }
}

fn needs_moe<'a>(cx: &ConfigContext<'a>) -> Result<&'a scenario::MoeScenario, ConfigError> {
    cx.moe.ok_or_else(|| {
        ConfigError::table(
            "the MoE policies serve a mixture-of-experts model: add a [moe] table (model, routing) to the scenario",
        )
    })
}

/// The VM type of the CPU-cluster baseline ([`cpu_cluster::epyc_2x64`]).
pub fn cluster_instance() -> InstanceType {
    let c = cpu_cluster::epyc_2x64();
    InstanceType {
        name: "m7a.32xlarge".into(),
        vcpus: c.cores,
        memory_gib: (c.memory_bytes / (1 << 30)) as f64,
        price_per_hour: c.price_per_hour,
    }
}

/// A MoE policy in a run.
pub struct MoePolicy {
    config: MoeConfig,
}

impl MoePolicy {
    /// The policy of a validated table.
    pub fn new(config: MoeConfig) -> Self {
        MoePolicy { config }
    }
}

impl Policy for MoePolicy {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn deployment(&self, _scenario: &Scenario) -> Deployment {
        match self.config.kind {
            MoeKind::CpuCluster => Deployment {
                pools: vec![PoolPlan {
                    name: "cpu-cluster".into(),
                    instance: cluster_instance(),
                    initial: 1,
                }],
                default_backend: Backend::Vm(0),
                ..Deployment::default()
            },
            _ => Deployment {
                default_backend: Backend::Faas,
                ..Deployment::default()
            },
        }
    }

    fn planning(&self) -> Option<&dyn Planning> {
        Some(self)
    }
}

impl Planning for MoePolicy {
    fn planner(&self, _scenario: &Scenario) -> Planner {
        (*self.config.planner).clone()
    }
}
