//! What one task is: where it runs, how long its work takes there, and what data it moves.

use crate::cloud::storage::Link;
use crate::kernel::SimDuration;

/// Where a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A deployed function, by id: the policy does not route it.
    Function(u32),
    /// A VM pool of the policy's deployment, by index: the policy does not route it.
    Pool(u16),
    /// The policy's router chooses: `function` (its FaaS option) or one of its VM pools. A
    /// policy without routing sends it to its deployment's default backend.
    Routed {
        /// The function that runs it if it goes to FaaS.
        function: u32,
    },
}

impl Target {
    /// The function a task with this target runs on when it goes to FaaS.
    #[inline]
    pub fn function(self) -> Option<u32> {
        match self {
            Target::Function(f) | Target::Routed { function: f } => Some(f),
            Target::Pool(_) => None,
        }
    }
}

/// How long a task's work takes on the backend that runs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Work {
    /// A draw from law `law` of the plan's law table ([`crate::plan::Law`]): on one vCPU and
    /// scaled by the backend's vCPU share, unless the law has a profile for that backend (then
    /// drawn from the profile, as it is).
    Law(u16),
    /// Work that takes `on_one_vcpu` on one full vCPU and can use `parallelism` vCPUs, run at
    /// the backend's vCPU share: a duration computed from data (e.g. tokens × per-token time),
    /// exact, with no draw.
    Cpu {
        /// Duration on one full vCPU.
        on_one_vcpu: SimDuration,
        /// vCPUs the work can use.
        parallelism: f64,
    },
    /// Exactly this long on any backend (already computed for the backend it targets).
    Exact(SimDuration),
    /// A worker of a coded or replicated plan: a draw from law `law` as [`Work::Law`], but
    /// from the worker's own stream (group and task index, so every scheme of a scenario sees
    /// the same worker delays), then changed by the plan's [`crate::plan::WorkerFaults`]
    /// (slowdowns, background load, failures).
    Worker(u16),
}

/// The data a task moves: storage requests and bytes, and its input hand-off.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Io {
    /// Storage GET requests when it starts (billed then).
    pub gets: u16,
    /// Bytes those GETs read (their time is inside the task).
    pub get_bytes: u64,
    /// Storage PUT requests when it finishes (billed then).
    pub puts: u16,
    /// Bytes those PUTs write (their time is inside the task).
    pub put_bytes: u64,
    /// Its input, moved from where the request's previous stage ran when it runs elsewhere
    /// (not between tasks on the same VM pool): bytes sent and the time to compress them.
    pub input_on_change: Option<(u64, SimDuration)>,
    /// The storage time inside the task, [`Io::storage_time`] at the run's store, set by
    /// [`Io::at_store`] when the plan is built.
    pub storage: SimDuration,
}

impl Io {
    /// This I/O with its storage time computed at `store` (once per plan, not per task).
    pub fn at_store(mut self, store: &Link) -> Self {
        self.storage = self.storage_time(store);
        self
    }

    /// Storage time inside the task: one GET batch and one PUT batch, each at the store's
    /// latency plus its bytes at the store's bandwidth (none without requests).
    #[inline]
    pub fn storage_time(&self, store: &Link) -> SimDuration {
        if self.gets | self.puts == 0 {
            return SimDuration::ZERO;
        }
        let mut t = SimDuration::ZERO;
        if self.gets > 0 {
            t += store.time(self.get_bytes);
        }
        if self.puts > 0 {
            t += store.time(self.put_bytes);
        }
        t
    }
}

/// One task of a stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskSpec {
    /// Where it runs.
    pub target: Target,
    /// How long it takes there.
    pub work: Work,
    /// What data it moves.
    pub io: Io,
}
