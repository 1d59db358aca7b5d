//! Coded straggler-tolerant serving, after ApproxIFER (Soleymani, Ali, Mahdavifar and
//! Avestimehr, AAAI 2022) and its baselines: `uncoded`, `replication`, `parm` (Kosaian et al.,
//! SOSP 2019) and `approxifer`. Each is a policy whose plan is a [`crate::plan::Coded`] stage
//! of worker tasks for each group the scenario's batcher forms (`[workload] group`); the
//! scenario's single `[[stage]]` is the worker (service law, memory, profiles), and `[coded]`
//! ([`settings`]) holds what the schemes share: worker faults, the master's coding cost, what
//! partial groups do, and the accuracy table ([`table`]).

pub mod settings;
pub mod table;

use super::{Backend, ConfigContext, ConfigError, Deployment, Planning, Policy, PoolPlan};
use crate::cloud::pricing::InstanceType;
use crate::plan::{AccuracyModel, CodedSetup, Planner, Scheme, Staged, Target};
use crate::scenario::Scenario;
use crate::scenario::spec::CodedPolicySpec;
use settings::{CodedSettings, Master};

/// The most worker tasks a group may start (completion rules are bits of one word).
pub const MAX_WORKERS: u16 = 64;

/// The four kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `uncoded`.
    Uncoded,
    /// `replication`.
    Replication,
    /// `parm`.
    Parm,
    /// `approxifer`.
    Approxifer,
}

impl Kind {
    /// The `kind` string.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Uncoded => "uncoded",
            Kind::Replication => "replication",
            Kind::Parm => "parm",
            Kind::Approxifer => "approxifer",
        }
    }
}

/// A validated coded policy table.
#[derive(Clone, Debug, PartialEq)]
pub struct CodedConfig {
    /// Name in reports.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// The scheme, with its S and E.
    pub scheme: Scheme,
    /// Queries per group (the scenario's batcher size).
    pub k: u16,
    /// Workers on a fixed VM pool of this many VMs of this type, instead of functions.
    pub vms: Option<(u32, InstanceType)>,
    /// Worker function overrides: memory, keep-alive, provisioned concurrency.
    pub memory_mb: Option<u32>,
    /// Keep-alive override.
    pub keep_alive: Option<crate::kernel::SimDuration>,
    /// Provisioned concurrency override.
    pub provisioned_concurrency: Option<u32>,
    /// Expected accuracy of its answers (when the scenario has an accuracy table).
    pub accuracy: Option<AccuracyModel>,
    /// The shared settings.
    pub settings: CodedSettings,
}

impl CodedConfig {
    /// Validates a coded policy table of kind `kind`.
    pub fn from_spec(
        name: String,
        kind: Kind,
        spec: &CodedPolicySpec,
        cx: &ConfigContext,
    ) -> Result<Self, ConfigError> {
        let Some(k) = cx.group_size else {
            return Err(ConfigError::table(format!(
                "a `{}` policy serves groups of queries: set [workload] group = {{ size = K, timeout = \"…\" }}",
                kind.name()
            )));
        };
        if cx.stages != 1 {
            return Err(ConfigError::table(format!(
                "a `{}` policy needs exactly one [[stage]] (the worker), found {}",
                kind.name(),
                cx.stages
            )));
        }
        let s = spec.stragglers;
        let e = spec.byzantine;
        // Bounds first, so the worker counts below cannot overflow.
        if let Some(s) = s.filter(|&s| s > MAX_WORKERS) {
            return Err(ConfigError::at(
                "stragglers",
                format!("{s} stragglers: a group may start at most {MAX_WORKERS} workers"),
            ));
        }
        if let Some(e) = e.filter(|&e| e > MAX_WORKERS / 2) {
            return Err(ConfigError::at(
                "byzantine",
                format!(
                    "{e} Byzantine workers: a group may start at most {MAX_WORKERS} workers (N = 2(K + E) + S − 1)"
                ),
            ));
        }
        let scheme = match kind {
            Kind::Uncoded => {
                if s.is_some() || e.is_some() {
                    return Err(ConfigError::table(
                        "`uncoded` tolerates no stragglers: remove `stragglers` and `byzantine`",
                    ));
                }
                Scheme::Uncoded
            }
            Kind::Replication => {
                if e.is_some() {
                    return Err(ConfigError::at(
                        "byzantine",
                        "only `approxifer` locates Byzantine workers",
                    ));
                }
                let s = s.unwrap_or(1);
                if s == 0 {
                    return Err(ConfigError::at(
                        "stragglers",
                        "replication needs stragglers ≥ 1 (S + 1 copies per query)",
                    ));
                }
                Scheme::Replication { copies: s + 1 }
            }
            Kind::Parm => {
                if e.is_some() {
                    return Err(ConfigError::at(
                        "byzantine",
                        "only `approxifer` locates Byzantine workers",
                    ));
                }
                if s.is_some_and(|s| s != 1) {
                    return Err(ConfigError::at(
                        "stragglers",
                        "ParM is built here with one parity model (r = 1): it tolerates 1 straggler per group",
                    ));
                }
                Scheme::Parm
            }
            Kind::Approxifer => {
                let s = s.unwrap_or(1);
                let e = e.unwrap_or(0);
                if s == 0 && e == 0 {
                    return Err(ConfigError::at(
                        "stragglers",
                        "ApproxIFER with S = 0 and E = 0 is uncoded: give stragglers ≥ 1 or byzantine ≥ 1",
                    ));
                }
                Scheme::ApproxIfer {
                    stragglers: s,
                    byzantine: e,
                }
            }
        };
        let workers = scheme.workers(k) as u32;
        if workers > MAX_WORKERS as u32 {
            return Err(ConfigError::table(format!(
                "{} workers per group of {k} (more than {MAX_WORKERS}); use smaller groups or fewer stragglers",
                workers
            )));
        }
        let vms = match spec.vms {
            None => {
                if spec.instance.is_some() {
                    return Err(ConfigError::at("instance", "`instance` needs `vms`"));
                }
                None
            }
            Some(0) => {
                return Err(ConfigError::at(
                    "vms",
                    "give vms ≥ 1, or leave it out for functions",
                ));
            }
            Some(n) => Some((n, cx.instance(&spec.instance)?)),
        };
        let accuracy = match &cx.coded.accuracy {
            None => None,
            Some((rows, model)) => Some(accuracy_model(rows, model, kind, scheme, k, cx.coded)?),
        };
        Ok(CodedConfig {
            name,
            kind,
            scheme,
            k,
            vms,
            memory_mb: spec.memory.map(|m| m.0),
            keep_alive: spec.keep_alive.map(|d| d.0),
            provisioned_concurrency: spec.provisioned_concurrency,
            accuracy,
            settings: cx.coded.clone(),
        })
    }
}

/// The expected accuracies of `scheme` at K = `k` from an accuracy table.
fn accuracy_model(
    rows: &[table::AccuracyRow],
    model: &str,
    kind: Kind,
    scheme: Scheme,
    k: u16,
    settings: &CodedSettings,
) -> Result<AccuracyModel, ConfigError> {
    let base = table::base(rows, model).map_or(f64::NAN, |r| r.accuracy);
    let adversary = match settings.faults.adversary {
        crate::plan::Adversary::Gaussian { .. } => "gaussian",
        crate::plan::Adversary::SignFlip => "sign-flip",
    };
    let (decoded, detected_rate) = match scheme {
        Scheme::Uncoded | Scheme::Replication { .. } => (base, None),
        Scheme::Parm | Scheme::ApproxIfer { .. } => {
            let (s, e) = match scheme {
                Scheme::ApproxIfer {
                    stragglers,
                    byzantine,
                } => (stragglers, byzantine),
                _ => (1, 0),
            };
            let row = table::lookup(rows, model, kind.name(), (k, s, e), adversary).ok_or_else(|| {
                let have: Vec<String> = rows
                    .iter()
                    .filter(|r| r.model == model && r.scheme.name() == kind.name())
                    .map(|r| format!("({}, {}, {})", r.k, r.s, r.e))
                    .collect();
                ConfigError::table(format!(
                    "the accuracy table has no `{}` row for model \"{model}\" at (K, S, E) = ({k}, {s}, {e}); it has {}",
                    kind.name(),
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                ))
            })?;
            (row.accuracy, row.detected_rate.filter(|_| e > 0))
        }
    };
    Ok(AccuracyModel {
        base,
        decoded,
        corrupted: 1.0 / settings.master.output_elements.max(1) as f64,
        detected_rate,
    })
}

/// The master's encoding and decoding times of `scheme` for K = `k`: multiply-adds of Berrut
/// encoding (N × K inputs) and decoding (K × (N − S) answers, plus the least-squares locator
/// when E > 0), or of ParM's summation encoder and subtraction decoder.
pub fn coding_times(
    scheme: Scheme,
    k: u16,
    m: &Master,
) -> (crate::kernel::SimDuration, crate::kernel::SimDuration) {
    let (k_f, din, dout) = (k as f64, m.input_elements as f64, m.output_elements as f64);
    match scheme {
        Scheme::ApproxIfer {
            stragglers,
            byzantine,
        } => {
            let n = scheme.workers(k) as f64;
            let from = n - stragglers as f64;
            let mut decode = k_f * from * dout;
            if byzantine > 0 {
                // Per output coordinate, a least-squares fit of 2K + 2E − 1 unknowns from
                // N − S equations (≈ rows × unknowns² multiply-adds).
                let unknowns = 2.0 * (k_f + byzantine as f64) - 1.0;
                decode += dout * from * unknowns * unknowns;
            }
            (m.time(n * k_f * din), m.time(decode))
        }
        Scheme::Parm => (m.time(k_f * din), m.time(k_f * dout)),
        _ => Default::default(),
    }
}

/// A coded policy.
pub struct CodedPolicy {
    config: CodedConfig,
}

impl CodedPolicy {
    /// The policy of a validated table.
    pub fn new(config: CodedConfig) -> Self {
        CodedPolicy { config }
    }
}

impl Policy for CodedPolicy {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn deployment(&self, _: &Scenario) -> Deployment {
        let c = &self.config;
        match &c.vms {
            Some((n, instance)) => Deployment {
                pools: vec![PoolPlan {
                    name: format!("{}-workers", c.name),
                    instance: instance.clone(),
                    initial: *n,
                }],
                provisioned_concurrency: Some(0),
                default_backend: Backend::Vm(0),
                ..Deployment::default()
            },
            None => Deployment {
                function_memory_mb: c.memory_mb,
                keep_alive: c.keep_alive,
                provisioned_concurrency: c.provisioned_concurrency,
                default_backend: Backend::Faas,
                ..Deployment::default()
            },
        }
    }

    fn planning(&self) -> Option<&dyn Planning> {
        Some(self)
    }
}

impl Planning for CodedPolicy {
    fn planner(&self, sc: &Scenario) -> Planner {
        let c = &self.config;
        let staged = Staged::new(sc);
        let worker = &sc.stages[0];
        let (encode, decode) = coding_times(c.scheme, c.k, &c.settings.master);
        Planner::coded(CodedSetup {
            scheme: c.scheme,
            k: c.k,
            partial: c.settings.partial,
            target: if c.vms.is_some() {
                Target::Pool(0)
            } else {
                Target::Function(0)
            },
            law: staged.laws()[0].clone(),
            function: worker.function_spec(worker.name.clone(), None),
            faults: c.settings.faults,
            encode,
            decode,
            admission: staged.admission(),
            respond: staged.response_delay(0),
            accuracy: c.accuracy,
            name: worker.name.clone(),
        })
    }
}
