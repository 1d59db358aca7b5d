//! Request plans as values: the seam between what a request asks for and how the engine runs
//! it.
//!
//! A [`Planner`] turns a request (or a group of requests) into stages. Each stage is a
//! [`StageSpec`]: a list of [`TaskSpec`]s — each saying where it runs ([`Target`]: a deployed
//! function, a VM pool, or "let the policy route it"), how long its work takes there
//! ([`Work`]: a draw from a [`Law`], a duration computed from data, or an exact duration), and
//! what data it moves ([`Io`]) — and a [`Completion`] rule. After a stage the planner says what
//! comes next ([`Next`]). The engine executes whatever it is given; it knows nothing of early
//! exits, experts or codes.
//!
//! Planners are a closed enum of built-in kinds, dispatched statically; their tables are
//! computed once per run, so planning a request allocates nothing.

pub mod coded;
pub mod completion;
pub mod faults;
pub mod law;
pub mod moe;
pub mod staged;
pub mod task;

pub use coded::{AccuracyModel, Coded, CodedSetup, Partial, Scheme};
pub use completion::{Completion, MemberProgress, MemberRule, Outcome};
pub use faults::{Adversary, Byzantine, Fate, FaultStreams, WorkerFaults};
pub use law::Law;
pub use staged::Staged;
pub use task::{Io, Target, TaskSpec, Work};

use crate::cloud::deploy::FunctionSpec;
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::Scenario;

/// One stage of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSpec {
    /// Its tasks, by index (at most 64 under a per-member rule).
    pub tasks: Vec<TaskSpec>,
    /// When it completes.
    pub completion: Completion,
    /// Returns the rule counts to (0: a per-member rule), precomputed for the return path.
    needed: u16,
}

impl StageSpec {
    /// A stage of `tasks` completing by `completion`.
    pub fn new(tasks: Vec<TaskSpec>, completion: Completion) -> Self {
        let needed = match completion {
            Completion::PerMember(_) => 0,
            c => c.needed(tasks.len() as u16),
        };
        StageSpec {
            tasks,
            completion,
            needed,
        }
    }

    /// Task returns that complete the stage under an all or any-k rule; 0 under a per-member
    /// rule (whose progress is tracked per member).
    #[inline(always)]
    pub fn needed(&self) -> u16 {
        self.needed
    }
}

/// What follows a completed stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// The request fails (counted as dropped): a MoE batch whose routing overflowed its
    /// deployment under `on_overflow = "fail"`.
    Fail,
    /// Stage `stage` starts, after the hand-off of the output (time, transfer cost), if any.
    Stage {
        /// The next stage.
        stage: u16,
        /// Hand-off time and cost.
        handoff: Option<(SimDuration, f64)>,
    },
    /// The request is answered; the response reaches the client after `delay`, if any.
    Respond {
        /// Response transfer time.
        delay: Option<SimDuration>,
        /// It leaves before the last stage (an early exit).
        exited: bool,
    },
}

/// A request plan: its tables (a [`Staged`] plan: stage specs per variant, what follows each
/// stage, laws, functions, rules), which the engine reads on every request without dispatch,
/// and the extras of a planner family that needs more (a coded plan's scheme and faults).
///
/// The built-in planners: the scenario's `[[stage]]` list ([`Planner::for_scenario`]; a
/// request's variant is its trace class), and a coded group of queries ([`Planner::coded`];
/// a group's variant is its size).
#[derive(Clone, Debug)]
pub struct Planner {
    tables: Staged,
    coded: Option<Box<Coded>>,
    moe: Option<Box<moe::Moe>>,
}

impl Planner {
    /// The planner of a scenario's `[[stage]]` list.
    pub fn for_scenario(sc: &Scenario) -> Self {
        Planner {
            tables: Staged::new(sc),
            coded: None,
            moe: None,
        }
    }

    /// The planner of a coded scheme.
    pub fn coded(setup: CodedSetup) -> Self {
        let (coded, tables) = Coded::new(setup);
        Planner {
            tables,
            coded: Some(Box::new(coded)),
            moe: None,
        }
    }

    /// The planner of a MoE deployment serving a run's batches ([`moe::Moe`]).
    pub fn moe(run: &moe::MoeRun) -> Result<Self, crate::moe::error::MoeError> {
        let (moe, tables) = moe::Moe::new(run)?;
        Ok(Planner {
            tables,
            coded: None,
            moe: Some(Box::new(moe)),
        })
    }

    /// The variant of the `index`-th arrival of trace class `class`: its class, or for a MoE
    /// plan the batch it serves.
    #[inline(always)]
    pub fn arrival_variant(&self, class: u32, index: u64) -> u32 {
        match &self.moe {
            None => class,
            Some(m) => m.variant(index),
        }
    }

    /// The variant of a request of trace class `class` in a group of `group` members: the
    /// column of the stage tables it reads.
    pub fn variant(&self, class: u32, group: u16) -> u32 {
        match &self.coded {
            None => class,
            Some(c) => c.variant(group),
        }
    }

    /// Variants: the columns of the stage tables.
    pub fn variants(&self) -> usize {
        self.tables.variants()
    }

    /// Stage names, in order (metrics are reported per stage).
    pub fn stage_names(&self) -> &[String] {
        self.tables.names()
    }

    /// Stage `stage` of a request of variant `variant` ([`Planner::variant`]).
    #[inline(always)]
    pub fn stage(&self, stage: u16, variant: u32) -> &StageSpec {
        self.tables.stage(stage, variant)
    }

    /// What follows stage `stage` of a request of variant `variant`, completed at `now`
    /// (`exit_u` and `survival`: the request's exit draw and survival so far, updated).
    #[inline(always)]
    pub fn after(
        &self,
        stage: u16,
        variant: u32,
        now: SimTime,
        exit_u: f64,
        survival: &mut f64,
    ) -> Next {
        if let Some(m) = &self.moe
            && m.fails_after(variant, stage)
        {
            return Next::Fail;
        }
        self.tables.after(stage, now, exit_u, survival)
    }

    /// The laws [`Work::Law`] refers to.
    pub fn laws(&self) -> &[Law] {
        self.tables.laws()
    }

    /// The functions the plan needs deployed, in id order.
    pub fn functions(&self) -> &[FunctionSpec] {
        self.tables.functions()
    }

    /// The per-member rules [`Completion::PerMember`] refers to.
    pub fn member_rules(&self) -> &[MemberRule] {
        self.tables.rules()
    }

    /// True if `stage` is the plan's last (members are answered as a per-member rule makes
    /// them done).
    pub fn is_last(&self, stage: u16) -> bool {
        self.tables.is_last(stage)
    }

    /// The response time after `stage` when it is the request's last.
    pub fn response_delay(&self, stage: u16) -> Option<SimDuration> {
        self.tables.response_delay(stage)
    }

    /// Requests draw a uniform exit number at arrival.
    pub fn has_exits(&self) -> bool {
        self.tables.has_exits()
    }

    /// The request's input reaches the first stage after this long, at this transfer cost.
    pub fn admission(&self) -> Option<(SimDuration, f64)> {
        self.tables.admission()
    }

    /// The MoE plan's extras, if this is one.
    pub fn moe_plan(&self) -> Option<&moe::Moe> {
        self.moe.as_deref()
    }

    /// The coded plan's extras, if this is one.
    pub fn coded_plan(&self) -> Option<&Coded> {
        self.coded.as_deref()
    }
}
