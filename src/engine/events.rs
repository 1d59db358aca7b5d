//! The engine's closed set of events (16 bytes each).

/// Something that happens at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A task finished on its backend (stale if the task's sequence number differs).
    TaskDone {
        /// Task key.
        task: u32,
        /// Task sequence number.
        seq: u32,
    },
    /// A request's data reached its next stage.
    StageReady {
        /// Request key.
        req: u32,
    },
    /// A request's response reached the client.
    Respond {
        /// Request key.
        req: u32,
    },
    /// Keep-alive or lifetime timer of an idle instance (stale if the generation differs).
    Evict {
        /// Instance id.
        inst: u32,
        /// Instance generation when the timer was set.
        generation: u32,
    },
    /// Evict the instances of a function whose keep-alive ran out.
    Sweep {
        /// Function id.
        func: u32,
    },
    /// Load a fresh instance of a function ahead of its predicted next invocation (stale if the
    /// function's pre-warm generation changed).
    Prewarm {
        /// Function id.
        func: u32,
        /// Pre-warm generation when scheduled.
        generation: u32,
    },
    /// A VM finished booting.
    VmBooted {
        /// Pool index.
        pool: u16,
        /// VM id.
        vm: u32,
    },
    /// A task's input arrived where it runs (after a hand-off transfer): place it.
    TaskReady {
        /// Task key.
        task: u32,
        /// Task sequence.
        seq: u32,
    },
    /// The open group's timeout ran out (stale if the batcher's generation differs).
    GroupTimeout {
        /// The group's generation.
        generation: u32,
    },
    /// A member of a group got its answer (per-member completion).
    MemberRespond {
        /// Request key.
        req: u32,
        /// Member index in the group.
        member: u16,
    },
    /// A throttled invocation retries.
    Retry {
        /// Task key.
        task: u32,
        /// Task sequence number.
        seq: u32,
    },
    /// The scale-up bucket refilled: serve throttled invocations.
    ThrottleWake,
    /// A policy's periodic decision.
    Tick,
    /// Start (0) and end (1) of the measurement window; the drain limit (2).
    Mark(u8),
}
