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

/// The built-in planners.
#[derive(Clone, Debug)]
pub enum Planner {
    /// The scenario's `[[stage]]` list.
    Staged(Staged),
    /// A coded (or replicated) group of queries on redundant workers.
    Coded(Box<Coded>),
}

impl Planner {
    /// The planner of a scenario.
    pub fn for_scenario(sc: &Scenario) -> Self {
        Planner::Staged(Staged::new(sc))
    }

    /// Stage names, in order (metrics are reported per stage).
    pub fn stage_names(&self) -> &[String] {
        match self {
            Planner::Staged(p) => p.names(),
            Planner::Coded(p) => p.names(),
        }
    }

    /// Stage `stage` of a request of class `class` whose group has `group` members.
    #[inline(always)]
    pub fn stage(&self, stage: u16, class: u32, group: u16) -> &StageSpec {
        match self {
            Planner::Staged(p) => p.stage(stage, class),
            Planner::Coded(p) => p.stage(group),
        }
    }

    /// What follows stage `stage`, completed at `now` (`exit_u` and `survival`: the
    /// request's exit draw and survival so far, updated).
    #[inline(always)]
    pub fn after(&self, stage: u16, now: SimTime, exit_u: f64, survival: &mut f64) -> Next {
        match self {
            Planner::Staged(p) => p.after(stage, now, exit_u, survival),
            Planner::Coded(p) => p.after(),
        }
    }

    /// The laws [`Work::Law`] refers to.
    pub fn laws(&self) -> &[Law] {
        match self {
            Planner::Staged(p) => p.laws(),
            Planner::Coded(p) => p.laws(),
        }
    }

    /// The functions the plan needs deployed, in id order.
    pub fn functions(&self) -> &[FunctionSpec] {
        match self {
            Planner::Staged(p) => p.functions(),
            Planner::Coded(p) => p.functions(),
        }
    }

    /// The per-member rules [`Completion::PerMember`] refers to.
    pub fn member_rules(&self) -> &[MemberRule] {
        match self {
            Planner::Staged(p) => p.rules(),
            Planner::Coded(p) => p.rules(),
        }
    }

    /// True if `stage` is the plan's last (members are answered as a per-member rule makes
    /// them done).
    pub fn is_last(&self, stage: u16) -> bool {
        match self {
            Planner::Staged(p) => p.is_last(stage),
            Planner::Coded(_) => true,
        }
    }

    /// The response time after `stage` when it is the request's last.
    pub fn response_delay(&self, stage: u16) -> Option<SimDuration> {
        match self {
            Planner::Staged(p) => p.response_delay(stage),
            Planner::Coded(p) => p.response_delay(),
        }
    }

    /// Requests draw a uniform exit number at arrival.
    pub fn has_exits(&self) -> bool {
        match self {
            Planner::Staged(p) => p.has_exits(),
            Planner::Coded(_) => false,
        }
    }

    /// The request's input reaches the first stage after this long, at this transfer cost.
    pub fn admission(&self) -> Option<(SimDuration, f64)> {
        match self {
            Planner::Staged(p) => p.admission(),
            Planner::Coded(p) => p.admission(),
        }
    }

    /// The coded plan, if this is one.
    pub fn coded(&self) -> Option<&Coded> {
        match self {
            Planner::Coded(p) => Some(p),
            Planner::Staged(_) => None,
        }
    }
}
