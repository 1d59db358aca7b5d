//! The staged planner: the scenario's `[[stage]]` list. Every request walks the stages in
//! order; a stage fans out into `tasks` copies of one task on its function (one per trace
//! class), routed by the policy, and completes at its quorum; data moves between stages by
//! payload or through storage, always or only when the backend changes; after a stage the
//! request may exit early. Every table is computed once per run.

use super::completion::{Completion, MemberRule};
use super::law::Law;
use super::task::{Io, Target, TaskSpec, Work};
use super::{Next, StageSpec};
use crate::cloud::deploy::FunctionSpec;
use crate::cloud::storage::{Handoff, Transfer};
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::{Scenario, Stage, StageCompletion, TaskWork};
use crate::workload::ExitModel;

/// What happens after one stage (the same for every class).
#[derive(Clone, Debug)]
struct After {
    /// It is the last stage.
    last: bool,
    exit: ExitModel,
    /// The response reaches the client this long after the last stage (its output as payload).
    respond: Option<SimDuration>,
    /// The output moves to the next stage before it starts: time, and the transfer cost.
    handoff: Option<(SimDuration, f64)>,
}

/// The `[[stage]]` plan of a scenario.
#[derive(Clone, Debug)]
pub struct Staged {
    names: Vec<String>,
    /// Per `stage × classes + class`.
    specs: Vec<StageSpec>,
    after: Vec<After>,
    laws: Vec<Law>,
    functions: Vec<FunctionSpec>,
    rules: Vec<MemberRule>,
    n_classes: usize,
    has_exits: bool,
    /// The request's input reaches the first stage after this long, at this cost.
    admission: Option<(SimDuration, f64)>,
}

impl Staged {
    /// The plan of `sc`'s stages.
    pub fn new(sc: &Scenario) -> Self {
        let n_classes = sc.classes.len().max(1);
        let n = sc.stages.len();
        // Declared functions first (ids 0..), then one per stage without explicit tasks × class.
        let mut functions = sc.functions.clone();
        let mut specs = Vec::with_capacity(n * n_classes);
        let mut rules = Vec::new();
        for (s, st) in sc.stages.iter().enumerate() {
            let prev = s.checked_sub(1).map(|p| &sc.stages[p]);
            let io = stage_io(st, prev, s + 1 < n).at_store(&sc.data.storage);
            let completion = match &st.completion {
                StageCompletion::All => Completion::All,
                StageCompletion::AnyK(k) => Completion::AnyK(*k as u16),
                StageCompletion::PerMember(members) => {
                    rules.push(MemberRule::from_indices(members));
                    Completion::PerMember(rules.len() as u16 - 1)
                }
            };
            if !st.task_list.is_empty() {
                // Explicit tasks on declared functions: the same for every class.
                let tasks: Vec<TaskSpec> = st
                    .task_list
                    .iter()
                    .map(|t| TaskSpec {
                        target: Target::Function(t.function as u32),
                        work: match t.work {
                            TaskWork::Service => Work::Law(s as u16),
                            TaskWork::Cpu(d) => Work::Cpu {
                                on_one_vcpu: d,
                                parallelism: st.parallelism,
                            },
                            TaskWork::Exact(d) => Work::Exact(d),
                        },
                        io,
                    })
                    .collect();
                for _ in 0..n_classes {
                    specs.push(StageSpec::new(tasks.clone(), completion));
                }
                continue;
            }
            for class in &sc.classes {
                let name = if class.name.is_empty() {
                    st.name.clone()
                } else if n == 1 {
                    class.name.clone()
                } else {
                    format!("{}/{}", st.name, class.name)
                };
                let function = functions.len() as u32;
                functions.push(st.function_spec(name, Some(class)));
                let task = TaskSpec {
                    target: Target::Routed { function },
                    work: Work::Law(s as u16),
                    io,
                };
                specs.push(StageSpec::new(vec![task; st.tasks as usize], completion));
            }
        }
        let after = sc
            .stages
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let out = st.output;
                After {
                    last: s + 1 == n,
                    exit: st.exit.clone(),
                    respond: (out > 0 && st.transfer == Transfer::Payload)
                        .then(|| sc.data.payload.time(out)),
                    handoff: (s + 1 < n
                        && out > 0
                        && st.transfer == Transfer::Payload
                        && st.handoff == Handoff::Always)
                        .then(|| {
                            let (bytes, compress) = st.handoff_bytes();
                            (
                                compress + sc.data.payload.time(bytes),
                                sc.data.payload.cost(bytes),
                            )
                        }),
                }
            })
            .collect();
        let laws = sc
            .stages
            .iter()
            .map(|st| Law {
                service: st.service.clone(),
                parallelism: st.parallelism,
                profiles: st.service_on.clone(),
            })
            .collect();
        let admission = (sc.input_bytes > 0).then(|| {
            (
                sc.data.payload.time(sc.input_bytes),
                sc.data.payload.cost(sc.input_bytes),
            )
        });
        Staged {
            names: sc.stages.iter().map(|st| st.name.clone()).collect(),
            specs,
            after,
            laws,
            functions,
            rules,
            n_classes,
            has_exits: sc.stages.iter().any(|st| !st.exit.is_zero()),
            admission,
        }
    }

    /// A one-stage plan whose stage has one spec per variant (e.g. per group size), answered
    /// after `respond`: the tables of a planner that is not a `[[stage]]` list (no exits, no
    /// hand-offs).
    #[allow(clippy::too_many_arguments)]
    pub fn single_stage(
        name: String,
        specs: Vec<StageSpec>,
        laws: Vec<Law>,
        functions: Vec<FunctionSpec>,
        rules: Vec<MemberRule>,
        admission: Option<(SimDuration, f64)>,
        respond: Option<SimDuration>,
    ) -> Self {
        Staged {
            names: vec![name],
            n_classes: specs.len().max(1),
            specs,
            after: vec![After {
                last: true,
                exit: ExitModel::default(),
                respond,
                handoff: None,
            }],
            laws,
            functions,
            rules,
            has_exits: false,
            admission,
        }
    }

    /// A plan of stages that run in order, with one spec per stage × variant
    /// (`specs[stage × variants + variant]`), no exits, no hand-offs and no response delay:
    /// the tables of a planner whose every task time is already computed (e.g. the MoE plan).
    pub fn sequence(
        names: Vec<String>,
        specs: Vec<StageSpec>,
        variants: usize,
        functions: Vec<FunctionSpec>,
    ) -> Self {
        let n = names.len();
        assert_eq!(specs.len(), n * variants, "one spec per stage and variant");
        Staged {
            after: (0..n)
                .map(|s| After {
                    last: s + 1 == n,
                    exit: ExitModel::default(),
                    respond: None,
                    handoff: None,
                })
                .collect(),
            names,
            n_classes: variants,
            specs,
            laws: Vec::new(),
            functions,
            rules: Vec::new(),
            has_exits: false,
            admission: None,
        }
    }

    /// Variants (columns of the stage tables): trace classes, or group sizes.
    pub fn variants(&self) -> usize {
        self.n_classes
    }

    /// Stage names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Stage `stage` for a request of variant `class` (its trace class).
    #[inline(always)]
    pub fn stage(&self, stage: u16, class: u32) -> &StageSpec {
        &self.specs[stage as usize * self.n_classes + class as usize]
    }

    /// The law table.
    pub fn laws(&self) -> &[Law] {
        &self.laws
    }

    /// The functions the plan needs.
    pub fn functions(&self) -> &[FunctionSpec] {
        &self.functions
    }

    /// The per-member rule table.
    pub fn rules(&self) -> &[MemberRule] {
        &self.rules
    }

    /// True if `stage` is the last one (a per-member rule answers members as they are done).
    pub fn is_last(&self, stage: u16) -> bool {
        stage as usize + 1 == self.names.len()
    }

    /// The response time after `stage` when it is the request's last.
    pub fn response_delay(&self, stage: u16) -> Option<SimDuration> {
        self.after[stage as usize].respond
    }

    /// Some stage may exit early: requests draw their exit uniform at arrival.
    pub fn has_exits(&self) -> bool {
        self.has_exits
    }

    /// The input's delay and cost before the first stage.
    pub fn admission(&self) -> Option<(SimDuration, f64)> {
        self.admission
    }

    /// What follows stage `stage`, completed at `now`, for a request whose exit draw is
    /// `exit_u` and whose survival so far is `survival` (updated).
    #[inline(always)]
    pub fn after(&self, stage: u16, now: SimTime, exit_u: f64, survival: &mut f64) -> Next {
        let s = stage as usize;
        let after = &self.after[s];
        let last = after.last;
        let mut exit = false;
        if !last && self.has_exits {
            // The request survives stage s while its draw stays below the survival probability.
            let e = after.exit.at(now);
            if e > 0.0 {
                *survival *= 1.0 - e;
                exit = exit_u >= *survival;
            }
        }
        if exit || last {
            return Next::Respond {
                delay: after.respond,
                exited: exit,
            };
        }
        Next::Stage {
            stage: stage + 1,
            handoff: after.handoff,
        }
    }
}

/// The storage and hand-off I/O of each task of stage `st` (after `prev`; `more`: a stage
/// follows it).
fn stage_io(st: &Stage, prev: Option<&Stage>, more: bool) -> Io {
    let mut io = Io::default();
    if let Some(prev) = prev
        && prev.transfer == Transfer::Storage
        && prev.output > 0
    {
        // One GET per output of the previous stage's quorum, all read before the task runs.
        io.gets = prev.quorum as u16;
        io.get_bytes = prev.output * prev.quorum as u64;
    }
    if st.transfer == Transfer::Storage && st.output > 0 && more {
        io.puts = 1;
        io.put_bytes = st.output;
    }
    io.input_on_change = prev
        .filter(|prev| prev.handoff == Handoff::OnChange)
        .map(|prev| prev.handoff_bytes());
    io
}
