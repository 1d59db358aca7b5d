//! Per-request and per-task state.

use crate::kernel::{SimDuration, SimRng, SimTime};
use crate::policy::Backend;

/// A request in flight.
pub struct Request {
    /// Its arrival time.
    pub arrival: SimTime,
    /// Its own random stream (common random numbers across policies).
    pub rng: SimRng,
    /// Current stage.
    pub stage: u16,
    /// Tasks of the current stage done.
    pub done: u16,
    /// Tasks of the current stage failed.
    pub failed: u16,
    /// Tasks of the current stage.
    pub tasks: u16,
    /// Tasks that must return for it to complete (0: a per-member rule decides).
    pub needed: u16,
    /// Counted in metrics (arrived after warm-up).
    pub measured: bool,
    /// Request class (the trace function it invokes).
    pub class: u32,
    /// Service time recorded in its trace record.
    pub trace_service: Option<SimDuration>,
    /// Arrival index.
    pub index: u64,
    /// Uniform draw deciding where the request exits: it survives stage k while it is below
    /// the survival probability past k (so every policy sees the same exits).
    pub exit_u: f64,
    /// Probability of surviving the stages completed so far.
    pub survival: f64,
    /// Where the last completed stage ran.
    pub last_backend: Option<Backend>,
    /// Members of its group (1: a request on its own).
    pub group: u16,
}

impl Request {
    /// A request arriving at `arrival`.
    pub fn new(
        arrival: SimTime,
        measured: bool,
        rng: SimRng,
        class: u32,
        trace_service: Option<SimDuration>,
        index: u64,
    ) -> Self {
        Request {
            arrival,
            rng,
            stage: 0,
            done: 0,
            failed: 0,
            tasks: 0,
            needed: 0,
            measured,
            class,
            trace_service,
            index,
            exit_u: 1.0,
            survival: 1.0,
            last_backend: None,
            group: 1,
        }
    }
}

/// Lifecycle of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting (VM queue, throttle queue or retry).
    Queued,
    /// Running.
    Running,
    /// Its stage completed without it; it runs on (a function invocation cannot be cancelled).
    Orphan,
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// Nowhere yet.
    None,
    /// Running on a function instance.
    Faas {
        /// Instance id.
        inst: u32,
    },
    /// Waiting for FaaS capacity.
    FaasQueued,
    /// Its input is on the way to the backend it was routed to.
    Transit {
        /// The backend.
        to: Backend,
    },
    /// Waiting in a VM pool.
    VmQueued {
        /// Pool index.
        pool: u16,
    },
    /// Running on a VM.
    Vm {
        /// Pool index.
        pool: u16,
        /// VM id.
        vm: u32,
    },
}

/// A task's law when its work is not drawn from one (computed or exact work).
pub const NO_LAW: u16 = u16::MAX;

/// A task's function when it targets a VM pool only.
pub const NO_FUNCTION: u32 = u32::MAX;

/// One task of a stage.
pub struct Task {
    /// Owning request.
    pub req: u32,
    /// Unique sequence number (slab keys are reused).
    pub seq: u32,
    /// The function that runs it if it goes to FaaS ([`NO_FUNCTION`] for a pool-only task).
    pub func: u32,
    /// Its index in its stage (completion rules see tasks by index).
    pub index: u16,
    /// The plan's law its service was drawn from ([`NO_LAW`] for computed or exact work).
    pub law: u16,
    /// Storage GETs when it starts.
    pub gets: u16,
    /// Storage PUTs when it finishes.
    pub puts: u16,
    /// Storage time inside the task (not scaled by vCPUs).
    pub extra: SimDuration,
    /// State.
    pub state: TaskState,
    /// Location.
    pub loc: Loc,
    /// Service time on one vCPU, or on the resource it was profiled on (`profiled`).
    pub service: SimDuration,
    /// The service time was drawn from a profile of the resource it runs on: no vCPU scaling.
    pub profiled: bool,
    /// Its request is counted in metrics (a copy of [`Request::measured`]).
    pub measured: bool,
    /// When it was created (for queue waits).
    pub enqueued: SimTime,
    /// Invocation attempts so far (throttle retries).
    pub attempts: u8,
}
