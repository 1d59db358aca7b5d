//! The engine: runs one policy of one scenario for one replication, as a pure function
//! [`run`]`(scenario, policy, replication) → RunResult`.
//!
//! A request walks the stages of the plan; each stage fans out into tasks that the policy routes
//! to the stage's function or to a VM pool; the stage completes at its quorum (the other tasks are
//! cancelled: queued ones vanish, VM tasks are aborted, function invocations run on and are billed
//! in full, as Lambda does); data moves between stages; after a stage the request may exit.
//! Arrivals come from a sorted stream merged beside the event heap.

mod arena;
mod events;
mod finish;
mod request;
mod source;

use rand::RngExt;

use crate::cloud::billing::{Ledger, billed_ms};
use crate::cloud::faas::{Acquire, ColdMode, Faas, Throttle, Timer};
use crate::cloud::storage::{Handoff, Transfer};
use crate::cloud::vm::{Placement, Pool};
use crate::kernel::rng::{self, streams};
use crate::kernel::{EventQueue, Integral, SimDuration, SimRng, SimTime, StreamFamily};
use crate::policy::{self, Backend, Policy, ScaleAction, TaskInfo, View};
use crate::report::metric::Recorder;
use crate::report::{RunResult, Sample};
use crate::scenario::Scenario;
use crate::scenario::StageService;
use crate::workload::trace::Arrival;
use arena::Arena;
pub use events::Event;
use request::{Loc, Request, Task, TaskState};
use source::Source;

/// Runs policy `policy` of `scenario` for replication `replication`.
pub fn run(scenario: &Scenario, policy: usize, replication: u32) -> RunResult {
    let mut sim = Sim::new(scenario, policy, replication);
    sim.run();
    sim.finish()
}

/// A policy's view of the simulation, built from disjoint fields so the policy can be
/// borrowed mutably at the same time.
macro_rules! view {
    ($sim:ident) => {
        View {
            now: $sim.queue.now(),
            pools: &$sim.pools,
            faas: &$sim.faas,
            arrivals: $sim.arrival_index,
        }
    };
}

struct Counters {
    requests: u64,
    completed: u64,
    dropped: u64,
    requests_all: u64,
    cold_starts: u64,
    invocations: u64,
    throttles: u64,
    latency_sum_ns: u128,
    slo_violations: u64,
    wait_sum_ns: u128,
    waits: u64,
    waited: u64,
    tasks_vm: Vec<u64>,
    tasks_faas: Vec<u64>,
    exits: Vec<u64>,
    stage_entries: Vec<u64>,
}

/// The part of a stage's work that depends only on the scenario, computed once per run so that
/// starting a stage does no storage or hand-off arithmetic.
#[derive(Clone, Copy)]
struct StagePlan {
    /// Storage time inside each task: the GETs of the previous stage's outputs (when it stores
    /// them) plus the PUT of this stage's output (when the next stage reads it from storage).
    extra: SimDuration,
    /// Storage GETs each task makes when it starts.
    gets: u16,
    /// Each task PUTs its output to storage when it finishes.
    puts: bool,
    /// Activations moved from the previous stage when the task runs elsewhere
    /// (`handoff = "on-change"`): bytes sent and compression time.
    handoff: Option<(u64, SimDuration)>,
}

impl StagePlan {
    fn new(sc: &Scenario, s: usize) -> Self {
        let stage = &sc.stages[s];
        let prev = s.checked_sub(1).map(|p| &sc.stages[p]);
        let mut extra = SimDuration::ZERO;
        let mut gets = 0;
        if let Some(prev) = prev
            && prev.transfer == Transfer::Storage
            && prev.output > 0
        {
            let bytes = prev.output * prev.quorum as u64;
            extra += sc.data.storage.time(bytes);
            gets = prev.quorum as u16;
        }
        let puts =
            stage.transfer == Transfer::Storage && stage.output > 0 && s + 1 < sc.stages.len();
        if puts {
            extra += sc.data.storage.time(stage.output);
        }
        let handoff = prev
            .filter(|prev| prev.handoff == Handoff::OnChange)
            .map(|prev| prev.handoff_bytes());
        StagePlan {
            extra,
            gets,
            puts,
            handoff,
        }
    }
}

/// What starting a task of one stage on one VM pool needs, computed once per run.
#[derive(Clone, Copy)]
struct VmPlan {
    /// The index of the stage's profiled service on the pool's instance type.
    profile: Option<u16>,
    /// The service-time factor of the stage's tasks on one slot (vCPU share).
    slowdown: f64,
    /// The stage's storage time inside each task.
    extra: SimDuration,
}

/// What starting an invocation of one function needs, computed once per run.
#[derive(Clone, Copy)]
struct FnPlan {
    /// The index of its stage's profiled service at its memory (drawn as given, not scaled).
    profile: Option<u16>,
    /// The service-time factor of its stage's tasks on its instances (vCPU share).
    slowdown: f64,
    /// Its stage's storage time inside each task.
    extra: SimDuration,
    /// Memory, MB (billing).
    memory_mb: u32,
}

struct Sim<'a> {
    sc: &'a Scenario,
    /// Per stage: its scenario-only constants.
    plans: Vec<StagePlan>,
    policy: Box<dyn Policy>,
    queue: EventQueue<Event>,
    arrivals: Source,
    /// The next arrival, if any before the horizon.
    next_arrival: Option<Arrival>,
    /// Its time, or `SimTime::MAX` when there is none (the event loop compares only this).
    next_arrival_time: SimTime,
    /// Request classes (trace functions); functions are indexed `stage × classes + class`.
    n_classes: usize,
    arrival_index: u64,
    request_rngs: StreamFamily,
    /// The next request's stream, derived one arrival ahead (off the arrival's critical path).
    next_request_rng: SimRng,
    requests: Arena<Request>,
    /// Per request key: the tasks of its current stage as (key, sequence), kept only for
    /// fan-outs (to cancel the rest at the quorum); the vectors are reused.
    siblings: Vec<Vec<(u32, u32)>>,
    tasks: Arena<Task>,
    task_seq: u32,
    faas: Faas,
    /// Function id of each stage.
    stage_fn: Vec<u32>,
    pools: Vec<Pool>,
    /// Throttled invocations waiting for capacity: (task key, seq).
    throttled: std::collections::VecDeque<(u32, u32)>,
    wake_pending: bool,
    ledger: Ledger,
    cold_rng: SimRng,
    boot_rng: SimRng,
    platform_rng: SimRng,
    counters: Counters,
    rec: Recorder,
    in_system: Integral,
    in_system_marks: [u128; 2],
    arrivals_at_last_sample: u64,
    in_flight: u64,
    /// Cancelled invocations still running (they finish and are billed).
    orphans: u64,
    events: u64,
    horizon: SimTime,
    warmup: SimTime,
    pc_per_function: u32,
    /// The policy sets keep-alive per invocation (with pre-warming).
    dynamic_keep_alive: bool,
    /// Per function: generation of the pending pre-warm, and the keep-alive it will get.
    prewarm: Vec<(u32, SimDuration)>,
    /// Per `stage × pools + pool`: the index of the stage's profiled service on that pool.
    vm_plans: Vec<VmPlan>,
    /// Per function: what starting one of its invocations needs.
    fn_plans: Vec<FnPlan>,
    /// Some stage may exit early (requests draw `exit_u`).
    has_exits: bool,
    /// The policy's backend for every task, when it never routes otherwise.
    fixed_route: Option<Backend>,
    /// The policy wants `on_invocation` / `on_completion`.
    observes_invocations: bool,
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, policy_index: usize, replication: u32) -> Self {
        let seed = sc.run.seed;
        let rep = replication as u64;
        let policy = policy::build(&sc.policies[policy_index], sc);
        let deployment = policy.deployment(sc);
        let mut faas = Faas::new(sc.faas.clone());
        let dynamic_keep_alive = policy.dynamic_keep_alive();
        let keep_alive = match deployment.keep_alive {
            _ if dynamic_keep_alive => None,
            Some(k) => Some(k),
            None => sc.faas.keep_alive,
        };
        let n_classes = sc.classes.len().max(1);
        let mut stage_fn: Vec<u32> = Vec::with_capacity(sc.stages.len() * n_classes);
        for st in &sc.stages {
            for class in &sc.classes {
                let mem = deployment
                    .function_memory_mb
                    .or(st.memory_mb)
                    .or(class.memory_mb)
                    .unwrap_or(sc.faas.memory_mb);
                let name = if class.name.is_empty() {
                    st.name.clone()
                } else if sc.stages.len() == 1 {
                    class.name.clone()
                } else {
                    format!("{}/{}", st.name, class.name)
                };
                stage_fn.push(faas.add_function(name, mem, keep_alive));
            }
        }
        let n_functions = stage_fn.len();
        let pc = deployment
            .provisioned_concurrency
            .unwrap_or(sc.faas.provisioned_concurrency);
        for &f in &stage_fn {
            faas.provision(f, pc, SimTime::ZERO);
        }
        let ledger = Ledger::default();
        let mut pools = Vec::new();
        for plan in &deployment.pools {
            let config = sc.vm_config_for(&plan.instance);
            let mut pool = Pool::new(plan.name.clone(), config);
            for _ in 0..plan.initial {
                let id = pool.launch(SimTime::ZERO);
                pool.booted(id, SimTime::ZERO);
            }
            pools.push(pool);
        }
        let n_stages = sc.stages.len();
        let profile_index = |st: &crate::scenario::Stage, d: Option<&crate::workload::Dist>| {
            d.and_then(|d| {
                st.service_on
                    .iter()
                    .position(|(_, x)| std::ptr::eq(x, d))
                    .map(|i| i as u16)
            })
        };
        let mut vm_plans = Vec::with_capacity(n_stages * pools.len());
        for (s, st) in sc.stages.iter().enumerate() {
            for p in &pools {
                vm_plans.push(VmPlan {
                    profile: profile_index(st, st.service_on_vm(&p.config.instance.name)),
                    slowdown: p.slowdown(st.parallelism),
                    extra: StagePlan::new(sc, s).extra,
                });
            }
        }
        let fn_plans = (0..n_functions)
            .map(|f| {
                let s = f / n_classes;
                let st = &sc.stages[s];
                let memory_mb = faas.functions[f].memory_mb;
                FnPlan {
                    profile: profile_index(st, st.service_on_function(memory_mb)),
                    slowdown: faas.slowdown(f as u32, st.parallelism),
                    extra: StagePlan::new(sc, s).extra,
                    memory_mb,
                }
            })
            .collect();
        let has_exits = sc.stages.iter().any(|st| !st.exit.is_zero());
        let mut sim = Sim {
            sc,
            plans: (0..n_stages).map(|s| StagePlan::new(sc, s)).collect(),
            policy,
            queue: EventQueue::with_capacity(1024),
            n_classes,
            arrivals: Source::new(&sc.arrivals, rng::stream(seed, streams::ARRIVALS, rep)),
            next_arrival: None,
            next_arrival_time: SimTime::MAX,
            arrival_index: 0,
            request_rngs: StreamFamily::new(seed, streams::REQUEST, rep),
            next_request_rng: StreamFamily::new(seed, streams::REQUEST, rep).get(0),
            requests: Arena::with_capacity(1024),
            siblings: Vec::new(),
            tasks: Arena::with_capacity(1024),
            task_seq: 0,
            faas,
            stage_fn,
            pools,
            throttled: Default::default(),
            wake_pending: false,
            ledger,
            cold_rng: rng::stream(seed, streams::COLD_START, rep),
            boot_rng: rng::stream(seed, streams::BOOT, rep),
            platform_rng: rng::stream(seed, streams::PLATFORM, rep),
            counters: Counters {
                requests: 0,
                completed: 0,
                dropped: 0,
                requests_all: 0,
                cold_starts: 0,
                invocations: 0,
                throttles: 0,
                latency_sum_ns: 0,
                slo_violations: 0,
                wait_sum_ns: 0,
                waits: 0,
                waited: 0,
                tasks_vm: vec![0; n_stages],
                tasks_faas: vec![0; n_stages],
                exits: vec![0; n_stages],
                stage_entries: vec![0; n_stages],
            },
            rec: Recorder::new(),
            in_system: Integral::default(),
            in_system_marks: [0; 2],
            arrivals_at_last_sample: 0,
            in_flight: 0,
            orphans: 0,
            events: 0,
            horizon: SimTime(sc.run.horizon.as_nanos()),
            warmup: SimTime(sc.run.warmup.as_nanos()),
            pc_per_function: pc,
            dynamic_keep_alive,
            prewarm: vec![(0, SimDuration::ZERO); n_functions],
            vm_plans,
            fn_plans,
            has_exits,
            fixed_route: None,
            observes_invocations: false,
        };
        sim.fixed_route = sim.policy.fixed_route();
        sim.observes_invocations = sim.policy.observes_invocations();
        sim.fetch_arrival();
        if let Some(iv) = sim.policy.tick_interval() {
            let _ = sim.queue.push(SimTime::ZERO + iv, Event::Tick);
        }
        let _ = sim.queue.push(SimTime::ZERO, Event::Sample);
        let _ = sim.queue.push(sim.warmup, Event::Mark(0));
        let _ = sim.queue.push(sim.horizon, Event::Mark(1));
        sim
    }

    fn run(&mut self) {
        loop {
            let next_event = self.queue.peek_time().unwrap_or(SimTime::MAX);
            // Arrivals merge beside the heap; on a tie the event goes first.
            if self.next_arrival_time < next_event {
                self.events += 1;
                self.arrive();
                continue;
            }
            if next_event == SimTime::MAX || self.done() {
                break;
            }
            let Some((_, ev)) = self.queue.pop() else {
                break;
            };
            self.events += 1;
            self.handle(ev);
        }
    }

    /// Takes the next arrival from the source (none from the horizon on).
    #[inline(always)]
    fn fetch_arrival(&mut self) {
        self.next_arrival = self.arrivals.next().filter(|a| a.time < self.horizon);
        self.next_arrival_time = self.next_arrival.map_or(SimTime::MAX, |a| a.time);
    }

    /// True when arrivals are over and nothing is in flight: only timers remain.
    fn done(&self) -> bool {
        self.in_flight == 0
            && self.orphans == 0
            && self.next_arrival.is_none()
            && self.queue.now() >= self.horizon
    }

    fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// The function that runs `task`: its stage's, for its request's class.
    #[inline]
    fn function_of(&self, task: u32) -> u32 {
        self.tasks[task as usize].func
    }

    #[inline]
    fn arrive(&mut self) {
        let Some(a) = self.next_arrival else {
            return;
        };
        let t = a.time;
        self.queue.advance_to(t);
        let idx = self.arrival_index;
        self.arrival_index += 1;
        self.fetch_arrival();
        let measured = t >= self.warmup;
        self.counters.requests_all += 1;
        if measured {
            self.counters.requests += 1;
        }
        self.in_flight += 1;
        self.in_system.set(t, self.in_flight);
        let rng = std::mem::replace(&mut self.next_request_rng, self.request_rngs.get(idx + 1));
        let mut request = Request::new(t, measured, rng, a.class, a.service, idx);
        if self.has_exits {
            request.exit_u = request.rng.random::<f64>();
        }
        let req = self.requests.insert(request) as u32;
        let input = self.sc.input_bytes;
        if input > 0 {
            self.ledger.transfer_usd += self.sc.data.payload.cost(input);
            let delay = self.sc.data.payload.time(input);
            let _ = self.queue.push(t + delay, Event::StageReady { req });
        } else {
            self.start_stage(req);
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::TaskDone { task, seq } => self.task_done(task, seq),
            Event::StageReady { req } => self.start_stage(req),
            Event::Respond { req } => self.finish_request(req, true),
            Event::Evict { inst, generation } => {
                self.faas.expire(inst, generation, self.now());
            }
            Event::Sweep { func } => {
                let now = self.now();
                if let Some(at) = self.faas.sweep(func, now) {
                    let _ = self.queue.push(at, Event::Sweep { func });
                }
            }
            Event::VmBooted { pool, vm } => self.vm_booted(pool, vm),
            Event::Prewarm { func, generation } => {
                let (current, keep) = self.prewarm[func as usize];
                if current == generation && self.faas.functions[func as usize].idle_count == 0 {
                    let now = self.now();
                    let (inst, g) = self.faas.prewarm(func, now);
                    let _ = self.queue.push(
                        now + keep,
                        Event::Evict {
                            inst,
                            generation: g,
                        },
                    );
                }
            }
            Event::Retry { task, seq } => self.retry(task, seq),
            Event::TaskReady { task, seq } => self.task_ready(task, seq),
            Event::ThrottleWake => {
                self.wake_pending = false;
                self.serve_throttled();
            }
            Event::Tick => self.tick(),
            Event::Sample => self.sample(),
            Event::Mark(i) => {
                self.in_system_marks[i as usize] = self.in_system.area(self.now());
            }
        }
    }

    // ----- stages and tasks -------------------------------------------------------------

    #[inline]
    fn start_stage(&mut self, req: u32) {
        let now = self.now();
        let r = &mut self.requests[req as usize];
        let s = r.stage as usize;
        let stage = &self.sc.stages[s];
        let handoff = self.plans[s].handoff;
        if r.measured {
            self.counters.stage_entries[s] += 1;
        }
        r.done = 0;
        r.failed = 0;
        // What the tasks need from their request is fixed for the stage: read it once.
        let (previous, index, arrival, measured) = (r.last_backend, r.index, r.arrival, r.measured);
        let func = self.stage_fn[s * self.n_classes + r.class as usize];
        if stage.tasks > 1 {
            self.siblings_of(req).clear();
        }
        for _ in 0..stage.tasks {
            let backend = match self.fixed_route {
                Some(b) => b,
                None => {
                    let info = TaskInfo {
                        stage: s,
                        request: index,
                        arrival,
                        previous,
                    };
                    self.policy.route(&view!(self), &info)
                }
            };
            let profile = match backend {
                Backend::Faas => self.fn_plans[func as usize].profile,
                Backend::Vm(p) => self.vm_plans[s * self.pools.len() + p as usize].profile,
            };
            let r = &mut self.requests[req as usize];
            let service = match (profile, &stage.service) {
                (Some(i), _) => stage.service_on[i as usize].1.sample(&mut r.rng),
                (None, StageService::Dist(d)) => d.sample(&mut r.rng),
                (None, StageService::FromTrace) => r.trace_service.unwrap_or_default(),
            };
            // Storage requests are billed when they happen: GETs when the task starts, the PUT
            // when it finishes (a task aborted or cancelled before then pays neither).
            self.task_seq = self.task_seq.wrapping_add(1);
            let task = self.tasks.insert(Task {
                req,
                seq: self.task_seq,
                func,
                stage: s as u16,
                state: TaskState::Queued,
                loc: Loc::None,
                service,
                profiled: profile.is_some(),
                measured,
                enqueued: now,
                attempts: 0,
            }) as u32;
            if stage.tasks > 1 {
                let seq = self.task_seq;
                self.siblings_of(req).push((task, seq));
            }
            if measured {
                match backend {
                    Backend::Faas => self.counters.tasks_faas[s] += 1,
                    Backend::Vm(_) => self.counters.tasks_vm[s] += 1,
                }
            }
            let transit = handoff.and_then(|(bytes, compress)| {
                let link = match (previous, backend) {
                    (Some(Backend::Vm(a)), Backend::Vm(b)) if a == b => return None,
                    (Some(Backend::Vm(_)), Backend::Vm(_)) => &self.sc.data.network,
                    _ => &self.sc.data.payload,
                };
                self.ledger.transfer_usd += link.cost(bytes);
                Some(compress + link.time(bytes))
            });
            match transit {
                Some(delay) => {
                    let t = &mut self.tasks[task as usize];
                    t.loc = Loc::Transit { to: backend };
                    t.enqueued = now + delay;
                    let seq = t.seq;
                    let _ = self.queue.push(now + delay, Event::TaskReady { task, seq });
                }
                None => self.place(task, backend),
            }
            // A failed task may have dropped the request (only a throttled invocation fails);
            // after a single task the loop ends anyway.
            if stage.tasks > 1 && !self.requests.contains(req as usize) {
                return;
            }
        }
    }

    /// Hands `task` to the backend it was routed to.
    #[inline]
    fn place(&mut self, task: u32, backend: Backend) {
        match backend {
            Backend::Faas => self.invoke(task),
            Backend::Vm(pool) => self.place_on_vm(task, pool),
        }
    }

    /// A task's input arrived after a hand-off: place it (unless its stage already ended).
    #[inline(never)]
    fn task_ready(&mut self, task: u32, seq: u32) {
        let Some(t) = self.tasks.get(task as usize) else {
            return;
        };
        if let (true, Loc::Transit { to }) = (t.seq == seq, t.loc) {
            self.tasks[task as usize].loc = Loc::None;
            self.place(task, to);
        }
    }

    /// Invokes the stage's function for `task`; on throttling applies the platform's rule.
    #[inline(always)]
    fn invoke(&mut self, task: u32) {
        let t = &self.tasks[task as usize];
        if t.attempts == 0 {
            let func = t.func;
            let now = self.now();
            if self.observes_invocations {
                self.policy.on_invocation(func, now);
            }
            if self.dynamic_keep_alive {
                // A pending pre-warm is superseded by this invocation.
                self.prewarm[func as usize].0 = self.prewarm[func as usize].0.wrapping_add(1);
            }
        }
        if !self.try_start_faas(task) {
            self.throttled_invocation(task);
        }
    }

    /// The platform refused to start `task`: queue it, retry it later or fail it.
    #[cold]
    #[inline(never)]
    fn throttled_invocation(&mut self, task: u32) {
        self.counters.throttles += 1;
        let now = self.now();
        let func = self.function_of(task);
        match self.sc.faas.on_throttle {
            Throttle::Queue => {
                let t = &mut self.tasks[task as usize];
                t.loc = Loc::FaasQueued;
                self.throttled.push_back((task, t.seq));
                self.schedule_wake(func);
            }
            Throttle::Retry {
                delay,
                max_attempts,
            } => {
                let t = &mut self.tasks[task as usize];
                t.attempts = t.attempts.saturating_add(1);
                if (t.attempts as u32) < max_attempts {
                    t.loc = Loc::FaasQueued;
                    let seq = t.seq;
                    let _ = self.queue.push(now + delay, Event::Retry { task, seq });
                } else {
                    self.fail_task(task);
                }
            }
            Throttle::Drop => self.fail_task(task),
        }
    }

    /// Starts `task` on a warm or new instance; false if the platform throttles it.
    #[inline(always)]
    fn try_start_faas(&mut self, task: u32) -> bool {
        let now = self.now();
        let t = &self.tasks[task as usize];
        let func = t.func;
        let plan = self.fn_plans[func as usize];
        let exec = if t.profiled {
            t.service
        } else {
            t.service.mul_f64(plan.slowdown)
        } + plan.extra;
        match self.faas.acquire(func, now, &mut self.platform_rng) {
            Acquire::Warm(inst) => {
                let overhead = self.sc.faas.warm_start.sample(&mut self.platform_rng);
                self.bill_invocation(inst, exec, plan.memory_mb);
                self.begin(task, Loc::Faas { inst }, now + overhead + exec);
                true
            }
            Acquire::Cold(inst) => {
                self.counters.cold_starts += 1;
                let cold = self.sc.faas.cold_start.sample(&mut self.cold_rng);
                let (total, billed) = match self.sc.faas.cold_mode {
                    ColdMode::ReplacesService => (cold, cold),
                    ColdMode::AddsToService => {
                        let billed = if self.sc.faas.bill_init {
                            exec + cold
                        } else {
                            exec
                        };
                        (cold + exec, billed)
                    }
                };
                self.bill_invocation(inst, billed, plan.memory_mb);
                self.begin(task, Loc::Faas { inst }, now + total);
                true
            }
            Acquire::Throttled => false,
        }
    }

    #[inline]
    fn bill_invocation(&mut self, inst: u32, duration: SimDuration, mem: u32) {
        self.counters.invocations += 1;
        let ms = billed_ms(duration, self.sc.faas.granularity);
        if self.faas.instances[inst as usize].provisioned {
            self.ledger.add_pc_invocation(ms, mem);
        } else {
            self.ledger.add_invocation(ms, mem);
        }
    }

    /// Wakes the throttled queue when the scale-up bucket refills (capacity freed by a
    /// finishing invocation wakes it directly).
    #[inline(never)]
    fn schedule_wake(&mut self, func: u32) {
        if self.wake_pending {
            return;
        }
        let now = self.now();
        let at = self.faas.next_token_time(func, now);
        if at > now {
            self.wake_pending = true;
            let _ = self.queue.push(at, Event::ThrottleWake);
        }
    }

    /// Starts throttled invocations, in FIFO order, while capacity allows.
    #[inline(never)]
    fn serve_throttled(&mut self) {
        while let Some(&(task, seq)) = self.throttled.front() {
            let valid = self.tasks.get(task as usize).is_some_and(|t| t.seq == seq);
            if !valid {
                self.throttled.pop_front();
                continue;
            }
            if !self.try_start_faas(task) {
                let func = self.function_of(task);
                self.schedule_wake(func);
                return;
            }
            self.throttled.pop_front();
        }
    }

    #[inline(never)]
    fn retry(&mut self, task: u32, seq: u32) {
        if self.tasks.get(task as usize).is_some_and(|t| t.seq == seq) {
            self.invoke(task);
        }
    }

    #[inline(always)]
    fn place_on_vm(&mut self, task: u32, pool: u16) {
        let now = self.now();
        let seq = self.tasks[task as usize].seq;
        match self.pools[pool as usize].place((task, seq as u64), now) {
            Placement::Start(vm) => self.start_on_vm(task, pool, vm),
            Placement::Queued => self.tasks[task as usize].loc = Loc::VmQueued { pool },
        }
    }

    #[inline]
    fn start_on_vm(&mut self, task: u32, pool: u16, vm: u32) {
        let now = self.now();
        let t = &self.tasks[task as usize];
        let plan = self.vm_plans[t.stage as usize * self.pools.len() + pool as usize];
        let exec = if t.profiled {
            t.service
        } else {
            t.service.mul_f64(plan.slowdown)
        } + plan.extra;
        self.begin(task, Loc::Vm { pool, vm }, now + exec);
    }

    #[inline(always)]
    fn begin(&mut self, task: u32, loc: Loc, done_at: SimTime) {
        let now = self.now();
        let t = &mut self.tasks[task as usize];
        t.state = TaskState::Running;
        t.loc = loc;
        let wait = now.since(t.enqueued);
        let seq = t.seq;
        self.ledger.storage_gets += self.plans[t.stage as usize].gets as u64;
        if t.measured {
            self.counters.wait_sum_ns += wait.as_nanos() as u128;
            self.counters.waits += 1;
            self.counters.waited += u64::from(wait > SimDuration::ZERO);
        }
        let _ = self.queue.push(done_at, Event::TaskDone { task, seq });
    }

    #[inline]
    fn task_done(&mut self, task: u32, seq: u32) {
        let Some(t) = self.tasks.get(task as usize) else {
            return;
        };
        if t.seq != seq || t.state == TaskState::Queued {
            return;
        }
        let now = self.now();
        let (loc, state, req) = (t.loc, t.state, t.req);
        if self.plans[t.stage as usize].puts {
            self.ledger.storage_puts += 1;
        }
        self.release(loc);
        self.tasks.free(task as usize);
        if state == TaskState::Orphan {
            self.orphans -= 1;
            return;
        }
        let r = &mut self.requests[req as usize];
        r.done += 1;
        let s = r.stage as usize;
        let stage = &self.sc.stages[s];
        if r.done < stage.quorum as u16 {
            return;
        }
        // Quorum reached: cancel the rest (a single-task stage has none), then exit or move on.
        let r = if stage.tasks > 1 {
            self.cancel_siblings(req);
            &mut self.requests[req as usize]
        } else {
            r
        };
        r.last_backend = Some(match loc {
            Loc::Vm { pool, .. } => Backend::Vm(pool),
            _ => Backend::Faas,
        });
        let last = s + 1 == self.sc.stages.len();
        let mut exit = false;
        if !last && self.has_exits {
            // The request survives stage s while its draw stays below the survival probability.
            let e = stage.exit.at(now);
            if e > 0.0 {
                r.survival *= 1.0 - e;
                exit = r.exit_u >= r.survival;
            }
        }
        if exit || last {
            if exit && r.measured {
                self.counters.exits[s] += 1;
            }
            let out = stage.output;
            if out > 0 && stage.transfer == Transfer::Payload {
                let _ = self
                    .queue
                    .push(now + self.sc.data.payload.time(out), Event::Respond { req });
            } else {
                self.finish_request(req, true);
            }
            return;
        }
        r.stage += 1;
        let delay = match (stage.transfer, stage.handoff) {
            (Transfer::Payload, Handoff::Always) if stage.output > 0 => {
                let (bytes, compress) = stage.handoff_bytes();
                self.ledger.transfer_usd += self.sc.data.payload.cost(bytes);
                Some(compress + self.sc.data.payload.time(bytes))
            }
            _ => None,
        };
        match delay {
            Some(d) => {
                let _ = self.queue.push(now + d, Event::StageReady { req });
            }
            None => self.start_stage(req),
        }
    }

    /// Frees the backend a finished or aborted task held.
    #[inline(always)]
    fn release(&mut self, loc: Loc) {
        let now = self.now();
        match loc {
            Loc::Faas { inst } => {
                let func = self.faas.instances[inst as usize].func;
                match self.faas.release(inst, now) {
                    Timer::None => {}
                    Timer::Sweep { func, at } => {
                        let _ = self.queue.push(at, Event::Sweep { func });
                    }
                    Timer::Evict { at, generation } => {
                        let _ = self.queue.push(at, Event::Evict { inst, generation });
                    }
                }
                if self.observes_invocations {
                    self.policy.on_completion(func, now);
                }
                if self.dynamic_keep_alive {
                    self.dynamic_keep_alive_after(func, inst, now);
                }
                if !self.throttled.is_empty() {
                    self.serve_throttled();
                }
            }
            Loc::Vm { pool, vm } => {
                // The next queued task takes the slot over: the VM's busy count (and the
                // pool's busy-slot integral, whose value would drop and rise again at the same
                // instant) stay as they are.
                if let Some(task) = self.next_queued(pool, vm) {
                    self.start_on_vm(task, pool, vm);
                    self.fill_vm(pool, vm);
                    return;
                }
                let p = &mut self.pools[pool as usize];
                if p.free(vm, now) {
                    p.drained(vm, now, &mut self.ledger);
                }
                // No queued task is left for this VM: nothing to fill.
            }
            Loc::None | Loc::FaasQueued | Loc::VmQueued { .. } | Loc::Transit { .. } => {}
        }
    }

    /// Applies the policy's keep-alive decision to an instance that just became idle.
    #[inline(never)]
    fn dynamic_keep_alive_after(&mut self, func: u32, inst: u32, now: SimTime) {
        let i = &self.faas.instances[inst as usize];
        if i.state != crate::cloud::faas::InstanceState::Idle || i.provisioned {
            return;
        }
        let generation = i.generation;
        let mut d = self.policy.keep_alive(func, now);
        // The decision is about the function's idle period: it applies in full to its last
        // instance. Extra instances (others still alive) scale down after the platform's
        // keep-alive at most, and are never unloaded for a pre-warm.
        let f = &self.faas.functions[func as usize];
        if f.busy_count + f.idle_count > 1 {
            let fixed = self.sc.faas.keep_alive.unwrap_or(SimDuration::ZERO);
            d = crate::policy::KeepAlive {
                prewarm: SimDuration::ZERO,
                keep_alive: (d.prewarm + d.keep_alive).min(fixed),
            };
        }
        if d.prewarm > SimDuration::ZERO {
            // Unload now; load a fresh instance when the next invocation is predicted.
            self.faas.expire(inst, generation, now);
            let p = &mut self.prewarm[func as usize];
            p.0 = p.0.wrapping_add(1);
            p.1 = d.keep_alive;
            let generation = p.0;
            let _ = self
                .queue
                .push(now + d.prewarm, Event::Prewarm { func, generation });
        } else {
            let _ = self
                .queue
                .push(now + d.keep_alive, Event::Evict { inst, generation });
        }
    }

    /// Starts queued tasks on free slots of `vm`.
    fn fill_vm(&mut self, pool: u16, vm: u32) {
        loop {
            let p = &self.pools[pool as usize];
            if p.vms[vm as usize].busy >= p.config.slots {
                return;
            }
            let Some(task) = self.next_queued(pool, vm) else {
                return;
            };
            let now = self.now();
            self.pools[pool as usize].start_queued(vm, now);
            self.start_on_vm(task, pool, vm);
        }
    }

    /// Pops the next task still waiting for a slot of `vm` (none unless it is running),
    /// skipping cancelled entries.
    #[inline]
    fn next_queued(&mut self, pool: u16, vm: u32) -> Option<u32> {
        let tasks = &self.tasks;
        self.pools[pool as usize]
            .next_queued(vm, |k, seq| {
                tasks
                    .get(k as usize)
                    .is_some_and(|t| t.seq as u64 == seq && t.state == TaskState::Queued)
            })
            .map(|(task, _)| task)
    }

    /// The sibling list of request `req` (a fan-out stage's tasks).
    #[inline(never)]
    fn siblings_of(&mut self, req: u32) -> &mut Vec<(u32, u32)> {
        let i = req as usize;
        if i >= self.siblings.len() {
            self.siblings.resize_with(i + 1, Vec::new);
        }
        &mut self.siblings[i]
    }

    /// Cancels the tasks of the request's current stage that have not finished.
    #[inline(never)]
    fn cancel_siblings(&mut self, req: u32) {
        let siblings = std::mem::take(self.siblings_of(req));
        for &(key, seq) in &siblings {
            let Some(t) = self.tasks.get(key as usize) else {
                continue;
            };
            if t.seq != seq {
                continue;
            }
            match (t.state, t.loc) {
                (TaskState::Running, Loc::Faas { .. }) => {
                    // Lambda cannot cancel an invocation: it runs to the end and is billed.
                    self.tasks[key as usize].state = TaskState::Orphan;
                    self.orphans += 1;
                }
                (TaskState::Running, loc @ Loc::Vm { .. }) => {
                    self.tasks.free(key as usize);
                    self.release(loc);
                }
                _ => {
                    // Queued (VM queue, throttle queue, retry pending): its entries go stale.
                    self.tasks.free(key as usize);
                }
            }
        }
        // Keep the allocation for the next stage (or the next request in this slot).
        let mut siblings = siblings;
        siblings.clear();
        self.siblings[req as usize] = siblings;
    }

    #[inline(never)]
    fn fail_task(&mut self, task: u32) {
        let t = &self.tasks[task as usize];
        let req = t.req;
        self.tasks.free(task as usize);
        let r = &mut self.requests[req as usize];
        r.failed += 1;
        let stage = &self.sc.stages[r.stage as usize];
        if r.failed as u32 > stage.tasks - stage.quorum {
            self.cancel_siblings(req);
            self.finish_request(req, false);
        }
    }

    #[inline(always)]
    fn finish_request(&mut self, req: u32, ok: bool) {
        let now = self.now();
        let (measured, arrival) = {
            let r = &self.requests[req as usize];
            (r.measured, r.arrival)
        };
        self.requests.free(req as usize);
        self.in_flight -= 1;
        self.in_system.set(now, self.in_flight);
        if !measured {
            return;
        }
        if !ok {
            self.counters.dropped += 1;
            return;
        }
        let lat = now.since(arrival).as_nanos();
        self.counters.completed += 1;
        self.counters.latency_sum_ns += lat as u128;
        self.rec.record_latency(lat);
        if let Some(slo) = self.sc.run.slo
            && lat > slo.as_nanos()
        {
            self.counters.slo_violations += 1;
        }
    }

    // ----- VMs and policy ---------------------------------------------------------------

    #[inline(never)]
    fn vm_booted(&mut self, pool: u16, vm: u32) {
        let now = self.now();
        if self.pools[pool as usize].booted(vm, now) {
            self.fill_vm(pool, vm);
        }
    }

    #[inline(never)]
    fn tick(&mut self) {
        let actions = self.policy.on_tick(&view!(self));
        let now = self.now();
        for a in actions {
            match a {
                ScaleAction::Launch { pool, n } => {
                    for _ in 0..n {
                        let p = &mut self.pools[pool as usize];
                        let vm = p.launch(now);
                        let boot = p.config.boot.sample(&mut self.boot_rng);
                        let _ = self.queue.push(now + boot, Event::VmBooted { pool, vm });
                    }
                }
                ScaleAction::Retire { pool, n } => {
                    self.pools[pool as usize].retire(n, now, &mut self.ledger);
                    self.spill_stranded(pool);
                }
            }
        }
        if let Some(iv) = self.policy.tick_interval()
            && (now < self.horizon || self.in_flight + self.orphans > 0)
        {
            let _ = self.queue.push(now + iv, Event::Tick);
        }
    }

    /// Tasks queued at a pool that has no VM left (none running or booting) would wait for
    /// ever: they go to their stage's function instead.
    #[inline(never)]
    fn spill_stranded(&mut self, pool: u16) {
        let p = &mut self.pools[pool as usize];
        if p.queued == 0 || p.running + p.booting > 0 {
            return;
        }
        let mut stranded: Vec<(u32, u64)> = p.queue.drain(..).collect();
        for vm in &mut p.vms {
            stranded.extend(vm.queue.drain(..));
        }
        p.queued = 0;
        for (task, seq) in stranded {
            let valid = self.tasks.get(task as usize).is_some_and(|t| {
                t.seq as u64 == seq
                    && t.state == TaskState::Queued
                    && t.loc == Loc::VmQueued { pool }
            });
            if valid {
                self.tasks[task as usize].loc = Loc::None;
                self.invoke(task);
            }
        }
    }

    #[inline(never)]
    fn sample(&mut self) {
        let now = self.now();
        let iv = self.sc.run.sample_interval;
        let arrived = self.arrival_index - self.arrivals_at_last_sample;
        self.arrivals_at_last_sample = self.arrival_index;
        let (mut fb, mut fi) = (0, 0);
        for f in &self.faas.functions {
            fb += f.busy_count;
            fi += f.idle_count;
        }
        let mut s = Sample {
            time_s: now.as_secs_f64(),
            arrival_rate_rps: if now == SimTime::ZERO {
                0.0
            } else {
                arrived as f64 / iv.as_secs_f64()
            },
            in_flight: self.in_flight,
            functions_busy: fb,
            functions_idle: fi,
            ..Sample::default()
        };
        for p in &self.pools {
            s.vms_running += p.running;
            s.vms_booting += p.booting;
            s.vm_slots_busy += p.busy_slots.value() as u32;
            s.vm_queue += p.queued;
        }
        self.rec.record_sample(s);
        if now < self.horizon || self.in_flight + self.orphans > 0 {
            let _ = self.queue.push(now + iv, Event::Sample);
        }
    }
}

#[cfg(test)]
mod tests;
