//! The FaaS (Lambda-style) platform: functions, execution environments ("instances") and their
//! lifecycle — cold start → busy → idle → evicted — with keep-alive, a maximum lifetime, the
//! account concurrency limit and the per-function scale-up rate.
//!
//! This module owns the state and the rules; the engine ([`crate::engine`]) turns its answers into
//! events. One request runs per instance at a time.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::kernel::{Integral, SimDuration, SimRng, SimTime};
use crate::workload::Dist;

/// Which idle instance a warm request reuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reuse {
    /// The one that became idle last (a stack; AWS-like, keeps the fewest instances warm).
    #[default]
    MostRecentlyUsed,
    /// The most recently created one (SimFaaS's rule).
    Newest,
    /// The longest-lived one.
    Oldest,
    /// Uniformly at random (from the `platform` stream).
    Random,
}

/// What happens to an invocation that finds no capacity (concurrency limit or scale-up rate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Throttle {
    /// Wait in a FIFO until capacity frees up (asynchronous invocation).
    Queue,
    /// The client retries after `delay`, at most `max_attempts` attempts in all, then gives up.
    Retry {
        /// Delay before each retry.
        delay: SimDuration,
        /// Attempts in all (the first one included).
        max_attempts: u32,
    },
    /// The invocation fails (HTTP 429) and its request is dropped.
    Drop,
}

/// How a cold start's duration combines with the service time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColdMode {
    /// Cold request takes cold-start time + its service time (the usual model).
    #[default]
    AddsToService,
    /// The cold request's whole service time is drawn from the cold-start law (SimFaaS's model).
    ReplacesService,
}

/// CPU share as a function of memory: `vcpus = min(memory / mb_per_vcpu, max_vcpus)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuCurve {
    /// MB of memory per vCPU (AWS: 1,769).
    pub mb_per_vcpu: f64,
    /// Cap on vCPUs (AWS: 6 at 10,240 MB).
    pub max_vcpus: f64,
}

impl CpuCurve {
    /// vCPUs available to an instance of `memory_mb`.
    pub fn vcpus(&self, memory_mb: u32) -> f64 {
        (memory_mb as f64 / self.mb_per_vcpu).min(self.max_vcpus)
    }
}

/// Processor architecture (selects the GB-s price).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// x86_64.
    #[default]
    X86_64,
    /// arm64 (Graviton).
    Arm64,
}

/// The validated FaaS platform of a scenario.
#[derive(Clone, Debug)]
pub struct FaasConfig {
    /// Default memory of functions, MB.
    pub memory_mb: u32,
    /// Architecture.
    pub arch: Arch,
    /// Billing granularity.
    pub granularity: SimDuration,
    /// Bill INIT on cold starts.
    pub bill_init: bool,
    /// Keep-alive of idle instances (`None`: never evicted for idleness).
    pub keep_alive: Option<SimDuration>,
    /// Maximum lifetime of an instance (`None`: unlimited).
    pub max_lifetime: Option<SimDuration>,
    /// Idle-instance reuse order.
    pub reuse: Reuse,
    /// Account concurrency limit (busy + initialising instances).
    pub concurrency_limit: u32,
    /// New instances per `scale_period` per function (token bucket; `None`: unlimited).
    pub scale_burst: Option<u32>,
    /// Refill period of the scale-up bucket.
    pub scale_period: SimDuration,
    /// What happens to throttled invocations.
    pub on_throttle: Throttle,
    /// Cold-start (INIT) duration.
    pub cold_start: Dist,
    /// How cold starts combine with service.
    pub cold_mode: ColdMode,
    /// Overhead of a warm invocation (not billed).
    pub warm_start: Dist,
    /// CPU share curve.
    pub cpu: CpuCurve,
    /// Provisioned concurrency per function.
    pub provisioned_concurrency: u32,
}

/// Lifecycle state of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Initialising or running an invocation.
    Busy,
    /// Warm and waiting.
    Idle,
    /// Evicted.
    Dead,
}

/// One execution environment.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Owning function.
    pub func: u32,
    /// Current state.
    pub state: InstanceState,
    /// Creation time.
    pub created: SimTime,
    /// When it last became idle.
    pub idle_since: SimTime,
    /// Bumped on every state change; stale timers and idle-list entries compare it.
    pub generation: u32,
    /// Provisioned concurrency (never evicted, billed at PC rates).
    pub provisioned: bool,
    /// Invocations served.
    pub served: u32,
    /// Position in the function's random-reuse vector, or in its creation order (newest/oldest).
    idle_pos: u32,
    idle_prev: u32,
    idle_next: u32,
}

const NONE: u32 = u32::MAX;

/// How the idle instances of one function are picked for reuse. Most-recently-used takes the
/// tail of the function's idle list; newest and oldest take the last or first idle instance in
/// creation order; random swaps out of a vector.
#[derive(Debug)]
enum IdleList {
    Mru,
    Newest(CreationOrder),
    Oldest(CreationOrder),
    Random(Vec<u32>),
}

/// The on-demand instances of one function in creation order — by `(created, id)`, the order the
/// reuse rules define — with one "idle" bit each, so the newest (oldest) idle instance is the
/// highest (lowest) set bit: a few word scans instead of a heap push and pop per invocation, and
/// no stale entries. Dead instances leave holes, squeezed out when they are half the slots.
#[derive(Debug, Default)]
struct CreationOrder {
    /// Position → instance id (`NONE`: a dead instance's hole).
    slots: Vec<u32>,
    /// Idle bit of each position.
    idle: Vec<u64>,
    holes: u32,
    /// Every word below `lo` and from `hi` on is zero.
    lo: u32,
    hi: u32,
}

impl CreationOrder {
    /// Appends the new (busy) instance `id` created at `created`; among instances created at the
    /// same time, the smaller id comes first.
    fn add(&mut self, id: u32, created: SimTime, instances: &mut [Instance]) {
        let mut pos = self.slots.len();
        self.slots.push(id);
        if self.idle.len() * 64 < self.slots.len() {
            self.idle.push(0);
        }
        while pos > 0 {
            let prev = self.slots[pos - 1];
            if prev == NONE || prev < id || instances[prev as usize].created != created {
                break;
            }
            // Same creation time and a larger id: it goes after the new instance.
            let prev_idle = self.get(pos - 1);
            self.slots.swap(pos - 1, pos);
            instances[prev as usize].idle_pos = pos as u32;
            self.clear(pos - 1);
            if prev_idle {
                self.set(pos);
            }
            pos -= 1;
        }
        instances[id as usize].idle_pos = pos as u32;
    }

    #[inline]
    fn get(&self, pos: usize) -> bool {
        self.idle[pos / 64] >> (pos % 64) & 1 == 1
    }

    #[inline(always)]
    fn set(&mut self, pos: usize) {
        let w = pos / 64;
        self.idle[w] |= 1 << (pos % 64);
        if self.lo >= self.hi {
            self.lo = w as u32;
            self.hi = w as u32 + 1;
        } else {
            self.lo = self.lo.min(w as u32);
            self.hi = self.hi.max(w as u32 + 1);
        }
    }

    #[inline]
    fn clear(&mut self, pos: usize) {
        self.idle[pos / 64] &= !(1 << (pos % 64));
    }

    /// Takes the newest idle instance (clears its bit).
    #[inline]
    fn take_newest(&mut self) -> Option<u32> {
        while self.hi > self.lo {
            let w = self.hi as usize - 1;
            let bits = self.idle[w];
            if bits != 0 {
                let pos = w * 64 + 63 - bits.leading_zeros() as usize;
                self.idle[w] = bits & !(1 << (pos % 64));
                return Some(self.slots[pos]);
            }
            self.hi -= 1;
        }
        None
    }

    /// Takes the oldest idle instance (clears its bit).
    #[inline]
    fn take_oldest(&mut self) -> Option<u32> {
        while self.hi > self.lo {
            let w = self.lo as usize;
            let bits = self.idle[w];
            if bits != 0 {
                let pos = w * 64 + bits.trailing_zeros() as usize;
                self.idle[w] = bits & (bits - 1);
                return Some(self.slots[pos]);
            }
            self.lo += 1;
        }
        None
    }

    /// Instance `id` at `pos` died: leaves a hole, and squeezes the holes out when they are
    /// half the slots.
    fn remove(&mut self, pos: usize, instances: &mut [Instance]) {
        self.clear(pos);
        self.slots[pos] = NONE;
        self.holes += 1;
        if self.holes as usize * 2 > self.slots.len() + 64 {
            self.compact(instances);
        }
    }

    fn compact(&mut self, instances: &mut [Instance]) {
        let mut idle = vec![0u64; self.idle.len()];
        let mut k = 0;
        for pos in 0..self.slots.len() {
            let id = self.slots[pos];
            if id == NONE {
                continue;
            }
            if self.get(pos) {
                idle[k / 64] |= 1 << (k % 64);
            }
            self.slots[k] = id;
            instances[id as usize].idle_pos = k as u32;
            k += 1;
        }
        self.slots.truncate(k);
        idle.truncate(k.div_ceil(64));
        self.idle = idle;
        self.holes = 0;
        self.lo = 0;
        self.hi = self.idle.len() as u32;
    }
}

/// One deployed function.
#[derive(Debug)]
pub struct Function {
    /// Display name.
    pub name: String,
    /// Memory, MB.
    pub memory_mb: u32,
    /// vCPUs per instance.
    pub vcpus: f64,
    /// `1 / vcpus` (the slowdown of a task that can use all of them), computed once.
    inv_vcpus: f64,
    /// Keep-alive of its idle instances.
    pub keep_alive: Option<SimDuration>,
    idle: IdleList,
    /// Idle instances now.
    pub idle_count: u32,
    /// Invocations started.
    pub invocations: u64,
    /// Invocations that started a new instance.
    pub cold_starts: u64,
    /// Σ idle memory × time of its instances, MB·ns.
    pub idle_mb_ns: u128,
    /// Σ billed ms of its invocations (on demand and on provisioned instances).
    pub billed_ms: u64,
    /// Storage GETs and PUTs its tasks made.
    pub storage_requests: (u64, u64),
    /// Busy instances now.
    pub busy_count: u32,
    tokens: f64,
    tokens_at: SimTime,
    /// On-demand idle instances in the order they became idle (a doubly linked list through
    /// the instances): the head expires first, the tail is the most recently used.
    idle_head: u32,
    idle_tail: u32,
    /// Idle provisioned instances (used before on-demand ones; never expire).
    provisioned_idle: Vec<u32>,
    sweep_pending: bool,
}

impl Function {
    /// Appends `id` to the tail of the idle list.
    #[inline(always)]
    fn link_idle(&mut self, instances: &mut [Instance], id: u32) {
        let tail = self.idle_tail;
        let inst = &mut instances[id as usize];
        inst.idle_prev = tail;
        inst.idle_next = NONE;
        if tail == NONE {
            self.idle_head = id;
        } else {
            instances[tail as usize].idle_next = id;
        }
        self.idle_tail = id;
    }

    /// Takes `id` out of the idle list. Its own links are left stale: they are only read while
    /// it is in the list, and [`Function::link_idle`] rewrites both.
    #[inline(always)]
    fn unlink_idle(&mut self, instances: &mut [Instance], id: u32) {
        let i = &instances[id as usize];
        let (prev, next) = (i.idle_prev, i.idle_next);
        if prev == NONE {
            self.idle_head = next;
        } else {
            instances[prev as usize].idle_next = next;
        }
        if next == NONE {
            self.idle_tail = prev;
        } else {
            instances[next as usize].idle_prev = prev;
        }
    }
}

/// Takes a uniformly random idle instance out of the random-reuse vector `v`.
#[cold]
#[inline(never)]
fn take_random(v: &mut Vec<u32>, instances: &mut [Instance], rng: &mut SimRng) -> u32 {
    let k = rng.random_range(0..v.len());
    let id = v[k];
    remove_random(v, instances, id);
    id
}

/// Removes `id` from the random-reuse vector `v` if it is there.
fn remove_random(v: &mut Vec<u32>, instances: &mut [Instance], id: u32) {
    let k = instances[id as usize].idle_pos as usize;
    if k < v.len() && v[k] == id {
        v.swap_remove(k);
        if k < v.len() {
            let moved = v[k];
            instances[moved as usize].idle_pos = k as u32;
        }
    }
}

/// Refills the scale-up bucket of `f` up to `now` and takes a token if there is one.
#[cold]
#[inline(never)]
fn take_token_slow(f: &mut Function, burst: u32, scale_period: SimDuration, now: SimTime) -> bool {
    let period = scale_period.as_secs_f64().max(1e-9);
    let dt = now.since(f.tokens_at).as_secs_f64();
    f.tokens = (f.tokens + dt * burst as f64 / period).min(burst as f64);
    f.tokens_at = now;
    if f.tokens >= 1.0 {
        f.tokens -= 1.0;
        true
    } else {
        false
    }
}

/// A timer the engine must set after an instance became idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// None needed.
    None,
    /// Sweep the function's expiry FIFO at `at` (at most one pending per function).
    Sweep {
        /// Function id.
        func: u32,
        /// When.
        at: SimTime,
    },
    /// Evict this instance at `at` (its maximum lifetime) unless its generation changed.
    Evict {
        /// When.
        at: SimTime,
        /// The instance's generation now.
        generation: u32,
    },
}

/// The outcome of asking for an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquire {
    /// An idle instance was reused.
    Warm(u32),
    /// A new instance was created and must initialise first.
    Cold(u32),
    /// No capacity: concurrency limit or scale-up rate.
    Throttled,
}

/// The FaaS platform's state during a run.
#[derive(Debug)]
pub struct Faas {
    /// The configuration.
    pub config: FaasConfig,
    /// Functions by id.
    pub functions: Vec<Function>,
    /// All instances ever created (ids are indices; dead ones are reused from `free`).
    pub instances: Vec<Instance>,
    free: Vec<u32>,
    /// Busy + initialising instances, account-wide.
    pub in_use: u32,
    /// Instances alive (busy or idle), account-wide.
    pub alive: u32,
    /// Σ over idle periods of memory MB × ns (wasted memory time).
    pub idle_mb_ns: u128,
    /// Σ instance lifetimes (creation to eviction), ns, of evicted instances.
    pub lifetime_ns_sum: u128,
    /// Evicted instances.
    pub evicted: u64,
    /// Instances created.
    pub created: u64,
    /// Instances alive over time.
    pub alive_over_time: Integral,
    /// Instances busy (initialising or running) over time.
    pub busy_over_time: Integral,
}

impl Faas {
    /// A platform with no functions.
    pub fn new(config: FaasConfig) -> Self {
        Faas {
            config,
            functions: Vec::new(),
            instances: Vec::new(),
            free: Vec::new(),
            in_use: 0,
            alive: 0,
            idle_mb_ns: 0,
            lifetime_ns_sum: 0,
            evicted: 0,
            created: 0,
            alive_over_time: Integral::default(),
            busy_over_time: Integral::default(),
        }
    }

    /// Deploys a function and returns its id.
    pub fn add_function(
        &mut self,
        name: String,
        memory_mb: u32,
        keep_alive: Option<SimDuration>,
    ) -> u32 {
        let idle = match self.config.reuse {
            Reuse::MostRecentlyUsed => IdleList::Mru,
            Reuse::Newest => IdleList::Newest(CreationOrder::default()),
            Reuse::Oldest => IdleList::Oldest(CreationOrder::default()),
            Reuse::Random => IdleList::Random(Vec::new()),
        };
        self.functions.push(Function {
            name,
            memory_mb,
            vcpus: self.config.cpu.vcpus(memory_mb),
            inv_vcpus: 1.0 / self.config.cpu.vcpus(memory_mb).max(1e-9),
            keep_alive,
            idle,
            idle_count: 0,
            invocations: 0,
            cold_starts: 0,
            idle_mb_ns: 0,
            billed_ms: 0,
            storage_requests: (0, 0),
            busy_count: 0,
            tokens: self.config.scale_burst.unwrap_or(0) as f64,
            tokens_at: SimTime::ZERO,
            idle_head: NONE,
            idle_tail: NONE,
            provisioned_idle: Vec::new(),
            sweep_pending: false,
        });
        (self.functions.len() - 1) as u32
    }

    /// Creates `n` provisioned (pre-initialised, never evicted) idle instances of `func`.
    pub fn provision(&mut self, func: u32, n: u32, now: SimTime) {
        for _ in 0..n {
            let id = self.new_instance(func, now, true);
            self.instances[id as usize].state = InstanceState::Idle;
            self.instances[id as usize].idle_since = now;
            self.push_idle(func, id);
            self.functions[func as usize].idle_count += 1;
        }
    }

    /// Loads an instance of `func` ahead of demand (pre-warming): it is idle from `now` and
    /// counts as created but not as a cold start. Returns its id and generation.
    pub fn prewarm(&mut self, func: u32, now: SimTime) -> (u32, u32) {
        let id = self.new_instance(func, now, false);
        let inst = &mut self.instances[id as usize];
        inst.state = InstanceState::Idle;
        inst.idle_since = now;
        inst.generation = inst.generation.wrapping_add(1);
        let generation = inst.generation;
        self.functions[func as usize].idle_count += 1;
        self.push_idle(func, id);
        (id, generation)
    }

    fn new_instance(&mut self, func: u32, now: SimTime, provisioned: bool) -> u32 {
        self.created += 1;
        self.alive += 1;
        self.alive_over_time.set(now, self.alive as u64);
        let inst = Instance {
            func,
            state: InstanceState::Busy,
            created: now,
            idle_since: now,
            generation: 0,
            provisioned,
            served: 0,
            idle_pos: NONE,
            idle_prev: NONE,
            idle_next: NONE,
        };
        let id = if let Some(id) = self.free.pop() {
            let generation = self.instances[id as usize].generation.wrapping_add(1);
            self.instances[id as usize] = Instance { generation, ..inst };
            id
        } else {
            self.instances.push(inst);
            (self.instances.len() - 1) as u32
        };
        if !provisioned
            && let IdleList::Newest(o) | IdleList::Oldest(o) =
                &mut self.functions[func as usize].idle
        {
            o.add(id, now, &mut self.instances);
        }
        id
    }

    /// Appends `id` to the tail of its function's idle list (general path).
    fn link_idle(&mut self, func: u32, id: u32) {
        self.functions[func as usize].link_idle(&mut self.instances, id);
    }

    /// Takes `id` out of its function's idle list (general path).
    fn unlink_idle(&mut self, id: u32) {
        let func = self.instances[id as usize].func;
        self.functions[func as usize].unlink_idle(&mut self.instances, id);
    }

    /// Makes the (already idle-marked) instance `id` of `func` available for reuse (general
    /// path: provisioned instances, random reuse, pre-warming).
    fn push_idle(&mut self, func: u32, id: u32) {
        let inst = &self.instances[id as usize];
        if inst.provisioned {
            self.functions[func as usize].provisioned_idle.push(id);
            return;
        }
        let pos = inst.idle_pos;
        self.link_idle(func, id);
        match &mut self.functions[func as usize].idle {
            IdleList::Mru => {}
            IdleList::Newest(o) | IdleList::Oldest(o) => o.set(pos as usize),
            IdleList::Random(v) => {
                self.instances[id as usize].idle_pos = v.len() as u32;
                v.push(id);
            }
        }
    }

    fn is_idle(&self, id: u32, generation: u32) -> bool {
        let i = &self.instances[id as usize];
        i.generation == generation && i.state == InstanceState::Idle
    }

    fn remove_from_random(&mut self, id: u32) {
        let func = self.instances[id as usize].func;
        if let IdleList::Random(v) = &mut self.functions[func as usize].idle {
            remove_random(v, &mut self.instances, id);
        }
    }

    fn take_token(&mut self, func: u32, now: SimTime) -> bool {
        let Some(burst) = self.config.scale_burst else {
            return true;
        };
        take_token_slow(
            &mut self.functions[func as usize],
            burst,
            self.config.scale_period,
            now,
        )
    }

    /// When the scale-up bucket of `func` will hold a token again (for throttled queues).
    pub fn next_token_time(&self, func: u32, now: SimTime) -> SimTime {
        let Some(burst) = self.config.scale_burst else {
            return now;
        };
        let f = &self.functions[func as usize];
        let period = self.config.scale_period.as_secs_f64().max(1e-9);
        let dt = now.since(f.tokens_at).as_secs_f64();
        let have = (f.tokens + dt * burst as f64 / period).min(burst as f64);
        if have >= 1.0 {
            now
        } else {
            now + SimDuration::from_secs_f64((1.0 - have) * period / burst as f64) + SimDuration(1)
        }
    }

    /// Finds an instance for one invocation of `func`: an idle one (warm) or a new one (cold),
    /// within the concurrency limit and the scale-up rate.
    #[inline(always)]
    pub fn acquire(&mut self, func: u32, now: SimTime, rng: &mut SimRng) -> Acquire {
        if self.in_use >= self.config.concurrency_limit {
            return Acquire::Throttled;
        }
        let f = &mut self.functions[func as usize];
        // The idle instance the reuse rule picks, if any (provisioned ones first).
        let id = if let Some(id) = f.provisioned_idle.pop() {
            id
        } else if f.idle_head == NONE {
            return self.acquire_cold(func, now);
        } else {
            let id = match &mut f.idle {
                IdleList::Mru => f.idle_tail,
                IdleList::Newest(o) => match o.take_newest() {
                    Some(id) => id,
                    None => return self.acquire_cold(func, now),
                },
                IdleList::Oldest(o) => match o.take_oldest() {
                    Some(id) => id,
                    None => return self.acquire_cold(func, now),
                },
                IdleList::Random(v) => take_random(v, &mut self.instances, rng),
            };
            f.unlink_idle(&mut self.instances, id);
            id
        };
        let inst = &mut self.instances[id as usize];
        let idle = now.since(inst.idle_since).as_nanos() as u128 * f.memory_mb as u128;
        inst.state = InstanceState::Busy;
        inst.generation = inst.generation.wrapping_add(1);
        inst.served += 1;
        self.idle_mb_ns += idle;
        f.idle_mb_ns += idle;
        f.invocations += 1;
        f.idle_count -= 1;
        f.busy_count += 1;
        self.in_use += 1;
        self.busy_over_time.set(now, self.in_use as u64);
        Acquire::Warm(id)
    }

    /// No idle instance: starts a new one if the scale-up rate allows.
    #[cold]
    #[inline(never)]
    fn acquire_cold(&mut self, func: u32, now: SimTime) -> Acquire {
        if !self.take_token(func, now) {
            return Acquire::Throttled;
        }
        let id = self.new_instance(func, now, false);
        self.instances[id as usize].served = 1;
        let f = &mut self.functions[func as usize];
        f.busy_count += 1;
        f.invocations += 1;
        f.cold_starts += 1;
        self.in_use += 1;
        self.busy_over_time.set(now, self.in_use as u64);
        Acquire::Cold(id)
    }

    /// An invocation finished on `id`; it becomes idle (or is evicted now if it outlived its
    /// maximum lifetime). Returns the timer the engine must set, if any.
    #[inline(always)]
    pub fn release(&mut self, id: u32, now: SimTime) -> Timer {
        self.in_use -= 1;
        self.busy_over_time.set(now, self.in_use as u64);
        let inst = &mut self.instances[id as usize];
        let func = inst.func;
        let f = &mut self.functions[func as usize];
        f.busy_count -= 1;
        if inst.provisioned
            || self.config.max_lifetime.is_some()
            || matches!(f.idle, IdleList::Random(_))
        {
            return self.release_slow(id, func, now);
        }
        // An on-demand instance without a maximum lifetime: it becomes idle, and expires by
        // keep-alive only.
        inst.state = InstanceState::Idle;
        inst.idle_since = now;
        inst.generation = inst.generation.wrapping_add(1);
        let pos = inst.idle_pos;
        f.idle_count += 1;
        f.link_idle(&mut self.instances, id);
        if let IdleList::Newest(o) | IdleList::Oldest(o) = &mut f.idle {
            o.set(pos as usize);
        }
        match f.keep_alive {
            // Fixed keep-alive: instances expire in the order they became idle, so one
            // pending sweep per function replaces a heap timer per invocation.
            Some(k) if !f.sweep_pending => {
                f.sweep_pending = true;
                Timer::Sweep { func, at: now + k }
            }
            _ => Timer::None,
        }
    }

    /// The rest of [`Faas::release`] for provisioned instances, a maximum lifetime or random
    /// reuse (the busy counts are already updated).
    #[cold]
    #[inline(never)]
    fn release_slow(&mut self, id: u32, func: u32, now: SimTime) -> Timer {
        let inst = &self.instances[id as usize];
        if !inst.provisioned
            && let Some(life) = self.config.max_lifetime
            && now.since(inst.created) >= life
        {
            self.kill(id, now);
            return Timer::None;
        }
        let inst = &mut self.instances[id as usize];
        inst.state = InstanceState::Idle;
        inst.idle_since = now;
        inst.generation = inst.generation.wrapping_add(1);
        let provisioned = inst.provisioned;
        let created = inst.created;
        self.functions[func as usize].idle_count += 1;
        self.push_idle(func, id);
        if provisioned {
            return Timer::None;
        }
        let generation = self.instances[id as usize].generation;
        let by_idle = self.functions[func as usize].keep_alive.map(|k| now + k);
        let by_life = self.config.max_lifetime.map(|l| created + l);
        match (by_idle, by_life) {
            (_, Some(life)) if by_idle.is_none_or(|idle| life < idle) => Timer::Evict {
                at: life,
                generation,
            },
            (Some(at), _) => {
                let f = &mut self.functions[func as usize];
                if f.sweep_pending {
                    Timer::None
                } else {
                    f.sweep_pending = true;
                    Timer::Sweep { func, at }
                }
            }
            _ => Timer::None,
        }
    }

    /// The sweep of `func` fired: evicts every idle instance whose keep-alive ran out. Returns
    /// when to sweep again, if any idle instance is left.
    pub fn sweep(&mut self, func: u32, now: SimTime) -> Option<SimTime> {
        let Some(keep_alive) = self.functions[func as usize].keep_alive else {
            self.functions[func as usize].sweep_pending = false;
            return None;
        };
        loop {
            let head = self.functions[func as usize].idle_head;
            if head == NONE {
                self.functions[func as usize].sweep_pending = false;
                return None;
            }
            let inst = &self.instances[head as usize];
            let at = inst.idle_since + keep_alive;
            if at > now {
                return Some(at);
            }
            let generation = inst.generation;
            self.expire(head, generation, now);
        }
    }

    /// The generation an eviction timer must carry for `id` (its current one).
    pub fn generation_of(&self, id: u32) -> u32 {
        self.instances[id as usize].generation
    }

    /// A keep-alive or lifetime timer fired: evicts `id` if it is still idle in generation `generation`.
    pub fn expire(&mut self, id: u32, generation: u32, now: SimTime) -> bool {
        if !self.is_idle(id, generation) {
            return false;
        }
        let func = self.instances[id as usize].func;
        let mem = self.functions[func as usize].memory_mb as u128;
        self.idle_mb_ns +=
            now.since(self.instances[id as usize].idle_since).as_nanos() as u128 * mem;
        self.functions[func as usize].idle_count -= 1;
        self.remove_from_random(id);
        self.unlink_idle(id);
        self.kill(id, now);
        true
    }

    fn kill(&mut self, id: u32, now: SimTime) {
        let (func, pos, provisioned) = {
            let i = &self.instances[id as usize];
            (i.func, i.idle_pos, i.provisioned)
        };
        if !provisioned
            && let IdleList::Newest(o) | IdleList::Oldest(o) =
                &mut self.functions[func as usize].idle
        {
            o.remove(pos as usize, &mut self.instances);
        }
        let inst = &mut self.instances[id as usize];
        inst.state = InstanceState::Dead;
        inst.generation = inst.generation.wrapping_add(1);
        self.lifetime_ns_sum += now.since(inst.created).as_nanos() as u128;
        self.evicted += 1;
        self.alive -= 1;
        self.alive_over_time.set(now, self.alive as u64);
        self.free.push(id);
    }

    /// Closes the books at the end of a run: idle time of still-idle instances up to `end`.
    pub fn finish(&mut self, end: SimTime) {
        for inst in &self.instances {
            if inst.state == InstanceState::Idle {
                let f = &mut self.functions[inst.func as usize];
                let idle = end.since(inst.idle_since).as_nanos() as u128 * f.memory_mb as u128;
                self.idle_mb_ns += idle;
                f.idle_mb_ns += idle;
            }
        }
    }

    /// Service-time factor of `func` for a task that can use `parallelism` vCPUs, relative to
    /// one full vCPU: duration = service × factor.
    #[inline]
    pub fn slowdown(&self, func: u32, parallelism: f64) -> f64 {
        let f = &self.functions[func as usize];
        // `min` ignores a NaN parallelism: so does this test.
        if !(parallelism < f.vcpus) {
            // The common case (a single-threaded task on ≤ 1 vCPU): no division.
            return f.inv_vcpus;
        }
        1.0 / parallelism.max(1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rng;
    use rand::RngExt;

    fn config(reuse: Reuse) -> FaasConfig {
        FaasConfig {
            memory_mb: 1024,
            arch: Arch::X86_64,
            granularity: SimDuration::from_millis(1),
            bill_init: true,
            keep_alive: Some(SimDuration::from_secs(600)),
            max_lifetime: None,
            reuse,
            concurrency_limit: 3,
            scale_burst: None,
            scale_period: SimDuration::from_secs(10),
            on_throttle: Throttle::Drop,
            cold_start: Dist::Constant(SimDuration::from_millis(200)),
            cold_mode: ColdMode::AddsToService,
            warm_start: Dist::Constant(SimDuration::ZERO),
            cpu: CpuCurve {
                mb_per_vcpu: 1769.0,
                max_vcpus: 6.0,
            },
            provisioned_concurrency: 0,
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    #[test]
    fn lifecycle_cold_warm_expire() {
        let mut f = Faas::new(config(Reuse::MostRecentlyUsed));
        let func = f.add_function("f".into(), 1024, Some(SimDuration::from_secs(600)));
        let mut r = rng::from_seed(1);
        let Acquire::Cold(a) = f.acquire(func, t(0), &mut r) else {
            panic!()
        };
        assert_eq!(f.release(a, t(1)), Timer::Sweep { func, at: t(601) });
        assert_eq!(f.acquire(func, t(2), &mut r), Acquire::Warm(a));
        // A sweep is already pending: no second timer.
        assert_eq!(f.release(a, t(3)), Timer::None);
        // The first sweep finds the instance reused and idle again: it comes back at 603 s.
        assert_eq!(f.sweep(func, t(601)), Some(t(603)));
        assert_eq!(f.alive, 1);
        assert_eq!(f.sweep(func, t(603)), None);
        assert_eq!(f.alive, 0);
        // 1 s + 600 s idle at 1,024 MB.
        assert_eq!(f.idle_mb_ns, 601 * 1_000_000_000 * 1024);
        assert!(matches!(f.acquire(func, t(700), &mut r), Acquire::Cold(_)));
    }

    #[test]
    fn concurrency_limit_throttles() {
        let mut f = Faas::new(config(Reuse::MostRecentlyUsed));
        let func = f.add_function("f".into(), 1024, None);
        let mut r = rng::from_seed(1);
        for _ in 0..3 {
            assert!(matches!(f.acquire(func, t(0), &mut r), Acquire::Cold(_)));
        }
        assert_eq!(f.acquire(func, t(0), &mut r), Acquire::Throttled);
    }

    #[test]
    fn reuse_orders_pick_different_instances() {
        for (reuse, want) in [
            (Reuse::MostRecentlyUsed, 0usize),
            (Reuse::Newest, 2),
            (Reuse::Oldest, 1),
        ] {
            let mut f = Faas::new(config(reuse));
            let func = f.add_function("f".into(), 1024, None);
            let mut r = rng::from_seed(1);
            let ids: Vec<u32> = (0..3)
                .map(|_| match f.acquire(func, t(0), &mut r) {
                    Acquire::Cold(id) => id,
                    _ => panic!(),
                })
                .collect();
            // Release in the order 1, 2, 0: MRU picks 0, newest-created picks 2, oldest picks 0?
            // Creation order is 0, 1, 2 but instance 0 is released last.
            f.release(ids[1], t(1));
            f.release(ids[2], t(2));
            f.release(ids[0], t(3));
            let got = match f.acquire(func, t(4), &mut r) {
                Acquire::Warm(id) => id,
                other => panic!("{other:?}"),
            };
            let want = match reuse {
                Reuse::Oldest => ids[0],
                _ => ids[want],
            };
            assert_eq!(got, want, "{reuse:?}");
        }
    }

    /// Newest and oldest pick the idle instance with the largest (smallest) `(created, id)`,
    /// checked against a scan of all instances under a random load with many creation-time
    /// ties, expiries (holes, compaction) and hundreds of instances (several bit words).
    #[test]
    fn newest_and_oldest_match_a_scan_of_all_instances() {
        use rand::SeedableRng;
        for reuse in [Reuse::Newest, Reuse::Oldest] {
            let mut c = config(reuse);
            c.concurrency_limit = 1_000_000;
            let mut f = Faas::new(c);
            let func = f.add_function("f".into(), 1024, Some(SimDuration::from_secs(40)));
            let other = f.add_function("g".into(), 1024, Some(SimDuration::from_secs(40)));
            let mut r = rng::from_seed(1);
            let mut load = rand_pcg::Pcg64Mcg::seed_from_u64(99);
            let mut busy: Vec<u32> = Vec::new();
            let mut sweep_at: Option<SimTime> = None;
            let (mut warm, mut cold) = (0, 0);
            for step in 0..60_000u64 {
                // Whole seconds: many events share a time.
                let now = t(step / 20);
                if sweep_at.is_some_and(|at| at <= now) {
                    sweep_at = f.sweep(func, now);
                }
                // Bursts of acquisitions alternate with bursts of releases.
                let phase = (step / 3000) % 2 == 0;
                let acquire = busy.is_empty() || load.random_bool(if phase { 0.7 } else { 0.3 });
                if acquire {
                    let want = f
                        .instances
                        .iter()
                        .enumerate()
                        .filter(|(_, i)| i.func == func && i.state == InstanceState::Idle)
                        .map(|(id, i)| (i.created, id as u32));
                    let want = match reuse {
                        Reuse::Newest => want.max(),
                        _ => want.min(),
                    }
                    .map(|(_, id)| id);
                    match f.acquire(func, now, &mut r) {
                        Acquire::Warm(id) => {
                            assert_eq!(Some(id), want, "{reuse:?} step {step}");
                            warm += 1;
                            busy.push(id);
                        }
                        Acquire::Cold(id) => {
                            assert_eq!(want, None, "{reuse:?} step {step}");
                            cold += 1;
                            busy.push(id);
                        }
                        Acquire::Throttled => unreachable!(),
                    }
                    // Another function's instances interleave in the instance ids.
                    if load.random_bool(0.1)
                        && let Acquire::Cold(id) | Acquire::Warm(id) = f.acquire(other, now, &mut r)
                    {
                        f.release(id, now);
                    }
                } else {
                    let k = load.random_range(0..busy.len());
                    let id = busy.swap_remove(k);
                    if let Timer::Sweep { at, .. } = f.release(id, now) {
                        sweep_at = Some(at);
                    }
                }
            }
            assert!(
                warm > 10_000 && cold > 500,
                "{reuse:?}: {warm} warm, {cold} cold"
            );
            assert!(f.evicted > 500, "{reuse:?}: {} evicted", f.evicted);
        }
    }

    #[test]
    fn provisioned_instances_are_used_first_and_never_expire() {
        let mut f = Faas::new(config(Reuse::MostRecentlyUsed));
        let func = f.add_function("f".into(), 1024, Some(SimDuration::from_secs(1)));
        let mut r = rng::from_seed(1);
        let Acquire::Cold(od) = f.acquire(func, t(0), &mut r) else {
            panic!()
        };
        f.provision(func, 1, t(0));
        assert!(matches!(f.release(od, t(1)), Timer::Sweep { .. }));
        // Both idle: the provisioned one is taken although the on-demand one is more recent.
        let Acquire::Warm(pc) = f.acquire(func, t(1), &mut r) else {
            panic!()
        };
        assert!(f.instances[pc as usize].provisioned);
        assert_eq!(f.release(pc, t(2)), Timer::None);
        // The sweep evicts the on-demand instance only.
        assert_eq!(f.sweep(func, t(10)), None);
        assert_eq!(f.alive, 1);
        assert_eq!(f.acquire(func, t(11), &mut r), Acquire::Warm(pc));
    }

    #[test]
    fn scale_rate_limits_new_instances() {
        let mut c = config(Reuse::MostRecentlyUsed);
        c.concurrency_limit = 1000;
        c.scale_burst = Some(2);
        let mut f = Faas::new(c);
        let func = f.add_function("f".into(), 1024, None);
        let mut r = rng::from_seed(1);
        assert!(matches!(f.acquire(func, t(0), &mut r), Acquire::Cold(_)));
        assert!(matches!(f.acquire(func, t(0), &mut r), Acquire::Cold(_)));
        assert_eq!(f.acquire(func, t(0), &mut r), Acquire::Throttled);
        // Two tokens per 10 s: one token after 5 s.
        assert_eq!(f.next_token_time(func, t(0)), t(5) + SimDuration(1));
        assert!(matches!(
            f.acquire(func, t(5) + SimDuration(1), &mut r),
            Acquire::Cold(_)
        ));
    }

    #[test]
    fn max_lifetime_evicts_on_release() {
        let mut c = config(Reuse::MostRecentlyUsed);
        c.max_lifetime = Some(SimDuration::from_secs(100));
        let mut f = Faas::new(c);
        let func = f.add_function("f".into(), 1024, Some(SimDuration::from_secs(600)));
        let mut r = rng::from_seed(1);
        let Acquire::Cold(a) = f.acquire(func, t(0), &mut r) else {
            panic!()
        };
        // Idle at 50 s: evicted at its lifetime (100 s), before keep-alive (650 s).
        let generation = f.generation_of(a);
        assert_eq!(
            f.release(a, t(50)),
            Timer::Evict {
                at: t(100),
                generation: generation + 1
            }
        );
        assert_eq!(f.acquire(func, t(60), &mut r), Acquire::Warm(a));
        assert_eq!(f.release(a, t(120)), Timer::None);
        assert_eq!(f.alive, 0);
    }
}
