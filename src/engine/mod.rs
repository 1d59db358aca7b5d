//! The engine: runs one policy of one scenario for one replication, as a pure function
//! [`run`]`(scenario, policy, replication) → Result<RunResult, RunError>`.
//!
//! The engine executes plans; it knows nothing of early exits, experts or codes. The policy's
//! planning family (or the scenario's `[[stage]]` list) gives a [`Planner`]; a request — or a
//! group of requests from the batcher ([`crate::workload::batch`]) — asks it for each stage, a
//! [`crate::plan::StageSpec`]: task specs and a completion rule. For each task spec the engine
//! resolves the target (the policy routes `Routed` tasks), draws or computes the task's
//! duration on that backend, bills its storage requests and moves its input, and runs it on a
//! function instance or a VM slot. When the stage's rule is met, the stragglers are cancelled
//! (queued ones vanish, VM tasks are aborted, function invocations run on and are billed in
//! full, as Lambda does) and the planner says what follows: the next stage after a hand-off,
//! or the response. Members of a group are answered on their own (`group.rs`). Arrivals come
//! from a sorted stream merged beside the event heap.

mod arena;
mod error;
mod events;
mod finish;
mod group;
mod request;
mod source;

use rand::RngExt;

use crate::cloud::billing::{Ledger, billed_ms};
use crate::cloud::deploy::{FunctionOverrides, PlatformDefaults};
use crate::cloud::faas::{Acquire, ColdMode, Faas, Throttle, Timer};
use crate::cloud::vm::{Placement, Pool};
use crate::kernel::rng::{self, streams};
use crate::kernel::{
    EventKeyTime, EventQueue, Integral, SimDuration, SimRng, SimTime, StreamFamily,
};
use crate::plan::{Completion, FaultStreams, Next, Outcome, Planner, Target, Work, WorkerFaults};
use crate::policy::{self, Backend, Policy, ScaleAction, TaskInfo, View};
use crate::report::metric::Recorder;
use crate::report::{RunResult, Sample};
use crate::scenario::Scenario;
use crate::workload::batch::{Batcher, Member};
use crate::workload::trace::Arrival;
use arena::Arena;
pub use error::RunError;
pub use events::Event;
use request::{Loc, NO_FUNCTION, NO_LAW, Request, Task, TaskState};
use source::Source;

/// Runs policy `policy` of `scenario` for replication `replication`; fails when the arrival trace
/// cannot be read to its end (the run stops at the first error).
pub fn run(scenario: &Scenario, policy: usize, replication: u32) -> Result<RunResult, RunError> {
    let policy = policy::build(&scenario.policies[policy], scenario);
    let planner = match policy.planning() {
        Some(p) => p.planner(scenario),
        None => Planner::for_scenario(scenario),
    };
    let mut sim = Sim::new(scenario, &planner, policy, replication);
    sim.run();
    if let Some(e) = sim.arrivals.take_error() {
        return Err(e.into());
    }
    Ok(sim.finish())
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
    /// Coded plans: the expected accuracy summed over answered measured queries, and their
    /// count.
    accuracy_sum: f64,
    accuracy_n: u64,
}

/// The bit mask of `n` task indices (all 64 for n ≥ 64).
#[inline]
fn all_tasks(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// What starting a task of one law on one VM pool needs, computed once per run.
#[derive(Clone, Copy)]
struct VmPlan {
    /// The index of the law's profile on the pool's instance type.
    profile: Option<u16>,
    /// The service-time factor of the law's tasks on one slot (vCPU share).
    slowdown: f64,
}

/// What starting an invocation of one function needs, computed once per run for the law its
/// plan uses it with (its home law; other laws are resolved when they occur).
#[derive(Clone, Copy)]
struct FnPlan {
    /// The law this plan is for ([`NO_LAW`] if none).
    law: u16,
    /// The index of the law's profile at the function's memory (drawn as given, not scaled).
    profile: Option<u16>,
    /// The service-time factor of the law's tasks on its instances (vCPU share).
    slowdown: f64,
    /// Memory, MB (billing).
    memory_mb: u32,
}

struct Sim<'a> {
    sc: &'a Scenario,
    /// The request plan.
    planner: &'a Planner,
    /// Its law table.
    laws: &'a [crate::plan::Law],
    policy: Box<dyn Policy>,
    queue: EventQueue<Event>,
    arrivals: Source,
    /// The next arrival, if any before the horizon.
    next_arrival: Option<Arrival>,
    /// Its time, or `SimTime::MAX` when there is none (the event loop compares only this).
    next_arrival_time: SimTime,
    /// Request classes (trace functions).
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
    /// Arrivals before the warm-up ended (set at its mark).
    arrivals_before_warmup: u64,
    /// The latency SLO in nanoseconds (`u64::MAX`: none).
    slo_ns: u64,
    /// The planner's admission of a request's input (delay and cost), if any.
    admission: Option<(SimDuration, f64)>,
    in_flight: u64,
    /// Cancelled invocations still running (they finish and are billed).
    orphans: u64,
    /// The drain limit passed: the run ends with what is in flight unfinished.
    stopped: bool,
    /// Time-series samples taken.
    samples: u64,
    /// The queue key of the next time-series sample, kept beside the heap (`NEVER`: none).
    next_sample: EventKeyTime,
    /// Its time (`SimTime::MAX`: none).
    next_sample_time: SimTime,
    events: u64,
    horizon: SimTime,
    warmup: SimTime,
    /// Per function: its provisioned concurrency (billed while configured).
    provisioned: Vec<u32>,
    /// The policy observes invocations and sets keep-alive per invocation (with pre-warming).
    keeps_alive: bool,
    /// Per function: generation of the pending pre-warm, and the keep-alive it will get.
    prewarm: Vec<(u32, SimDuration)>,
    /// Per `law × pools + pool`: the law's profile and vCPU factor on that pool.
    vm_plans: Vec<VmPlan>,
    /// Per function: what starting one of its invocations needs.
    fn_plans: Vec<FnPlan>,
    /// Some stage may exit early (requests draw `exit_u`).
    has_exits: bool,
    /// The policy routes task by task.
    routes: bool,
    /// The backend of every routed task when it does not.
    default_backend: Backend,
    /// The policy's scaling interval, if it scales.
    tick: Option<SimDuration>,
    /// Requests are grouped, or some stage completes per member: arrivals go through
    /// [`Sim::arrive_member`].
    grouped: bool,
    /// The batcher and its timeout, when arrivals are grouped.
    batch: Option<(Batcher, Option<SimDuration>)>,
    /// The members of the group being started (the vector is reused).
    open_group: Vec<Member>,
    /// Per request key, in grouped mode: its members and their answers.
    groups: Vec<group::Group>,
    /// The coded plan's worker streams (fates of workers, Byzantine sets, background load).
    fault_streams: FaultStreams,
}

impl<'a> Sim<'a> {
    fn new(
        sc: &'a Scenario,
        planner: &'a Planner,
        mut policy: Box<dyn Policy>,
        replication: u32,
    ) -> Self {
        let seed = sc.run.seed;
        let rep = replication as u64;
        let deployment = policy.deployment(sc);
        let routes = policy.routing().is_some();
        let tick = policy.scaling().map(|s| s.interval());
        let keeps_alive = policy.keep_alive().is_some();
        let mut faas = Faas::new(sc.faas.clone());
        let overrides = FunctionOverrides {
            memory_mb: deployment.function_memory_mb,
            keep_alive: deployment.keep_alive,
            provisioned_concurrency: deployment.provisioned_concurrency,
        };
        let platform = PlatformDefaults {
            memory_mb: sc.faas.memory_mb,
            keep_alive: sc.faas.keep_alive,
            provisioned_concurrency: sc.faas.provisioned_concurrency,
        };
        let mut provisioned = Vec::with_capacity(planner.functions().len());
        for spec in planner.functions() {
            let f = spec.resolve(&overrides, &platform);
            let keep_alive = if keeps_alive { None } else { f.keep_alive };
            faas.add_function(spec.name.clone(), f.memory_mb, keep_alive);
            provisioned.push(f.provisioned_concurrency);
        }
        for (f, &pc) in provisioned.iter().enumerate() {
            faas.provision(f as u32, pc, SimTime::ZERO);
        }
        let n_functions = provisioned.len();
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
        let laws = planner.laws();
        let mut vm_plans = Vec::with_capacity(laws.len() * pools.len());
        for law in laws {
            for p in &pools {
                vm_plans.push(VmPlan {
                    profile: law.profile_on_vm(&p.config.instance.name),
                    slowdown: p.slowdown(law.parallelism),
                });
            }
        }
        // Each function's home law: the law of the first task that names it.
        let mut home = vec![NO_LAW; n_functions];
        for s in 0..planner.stage_names().len() as u16 {
            for class in 0..planner.variants() as u32 {
                for t in &planner.stage(s, class).tasks {
                    if let (Some(f), Work::Law(l) | Work::Worker(l)) = (t.target.function(), t.work)
                        && home[f as usize] == NO_LAW
                    {
                        home[f as usize] = l;
                    }
                }
            }
        }
        let fn_plans = (0..n_functions)
            .map(|f| {
                let memory_mb = faas.functions[f].memory_mb;
                let law = home[f];
                match laws.get(law as usize) {
                    Some(l) => FnPlan {
                        law,
                        profile: l.profile_on_function(memory_mb),
                        slowdown: faas.slowdown(f as u32, l.parallelism),
                        memory_mb,
                    },
                    None => FnPlan {
                        // Matches no task's law (not even NO_LAW): computed work is scaled
                        // by its own parallelism.
                        law: NO_LAW - 1,
                        profile: None,
                        slowdown: faas.slowdown(f as u32, 1.0),
                        memory_mb,
                    },
                }
            })
            .collect();
        let n_stages = planner.stage_names().len();
        let has_exits = planner.has_exits();
        let mut sim = Sim {
            sc,
            planner,
            laws,
            policy,
            queue: EventQueue::with_capacity(1024),
            n_classes: sc.classes.len().max(1),
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
                accuracy_sum: 0.0,
                accuracy_n: 0,
            },
            rec: Recorder::new(sc.run.sample_interval),
            in_system: Integral::default(),
            in_system_marks: [0; 2],
            arrivals_at_last_sample: 0,
            arrivals_before_warmup: 0,
            slo_ns: sc.run.slo.map_or(u64::MAX, |d| d.as_nanos()),
            admission: planner.admission(),
            in_flight: 0,
            orphans: 0,
            stopped: false,
            samples: 0,
            next_sample: EventKeyTime::NEVER,
            next_sample_time: SimTime::MAX,
            events: 0,
            horizon: SimTime(sc.run.horizon.as_nanos()),
            warmup: SimTime(sc.run.warmup.as_nanos()),
            provisioned,
            keeps_alive,
            prewarm: vec![(0, SimDuration::ZERO); n_functions],
            vm_plans,
            fn_plans,
            has_exits,
            routes,
            default_backend: deployment.default_backend,
            tick,
            grouped: sc.group.is_some() || !planner.member_rules().is_empty(),
            batch: sc.group.map(|g| (Batcher::new(g.size), g.timeout)),
            open_group: Vec::new(),
            groups: Vec::new(),
            fault_streams: FaultStreams {
                worker: StreamFamily::new(seed, streams::WORKER, rep),
                byzantine: StreamFamily::new(seed, streams::BYZANTINE, rep),
                background: StreamFamily::new(seed, streams::BACKGROUND, rep),
            },
        };
        sim.fetch_arrival();
        if let Some(iv) = sim.tick {
            let _ = sim.queue.push(SimTime::ZERO + iv, Event::Tick);
        }
        let first = sim.queue.reserve_key(SimTime::ZERO);
        sim.set_next_sample(first);
        let _ = sim.queue.push(sim.warmup, Event::Mark(0));
        let _ = sim.queue.push(sim.horizon, Event::Mark(1));
        // The drain limit: requests still in flight this long after the horizon are left
        // unfinished (counted in `unfinished`), so a run that cannot end still ends.
        let drain_end = SimTime(sim.horizon.0.saturating_add(sc.run.limits.drain.as_nanos()));
        let _ = sim.queue.push(drain_end, Event::Mark(2));
        sim
    }

    fn run(&mut self) {
        loop {
            let next_event = self.queue.peek_time().unwrap_or(SimTime::MAX);
            // The time-series sample waits beside the heap (once per sample interval).
            if self.next_sample_time <= next_event && self.sample_if_next() {
                continue;
            }
            // Arrivals merge beside the heap; on a tie the event goes first.
            if self.next_arrival_time < next_event {
                self.events += 1;
                self.arrive();
                continue;
            }
            if next_event == SimTime::MAX || self.done() || self.stopped {
                break;
            }
            let Some((_, ev)) = self.queue.pop() else {
                break;
            };
            self.events += 1;
            self.handle(ev);
        }
    }

    /// Takes the time-series sample if it is the next event: before the heap's earliest event
    /// by their keys (the sample's key is the one a push would have given it, so it runs
    /// exactly where it would have run as a heap event), not after an arrival, and the run
    /// not over. Returns whether it did.
    #[cold]
    #[inline(never)]
    fn sample_if_next(&mut self) -> bool {
        let top = self.queue.peek_key().unwrap_or(EventKeyTime::NEVER);
        if self.next_sample >= top
            || self.next_arrival_time < self.next_sample_time
            || self.done()
            || self.stopped
        {
            return false;
        }
        self.queue.advance_to(self.next_sample_time);
        self.set_next_sample(EventKeyTime::NEVER);
        self.events += 1;
        self.sample();
        true
    }

    fn set_next_sample(&mut self, key: EventKeyTime) {
        self.next_sample = key;
        self.next_sample_time = key.time();
    }

    /// Takes the next arrival from the source (none from the horizon on). A trace read error
    /// ends the run: the horizon is pulled in to now, so only what is in flight drains.
    #[inline(always)]
    fn fetch_arrival(&mut self) {
        self.next_arrival = self.arrivals.next().filter(|a| a.time < self.horizon);
        self.next_arrival_time = self.next_arrival.map_or(SimTime::MAX, |a| a.time);
        if self.next_arrival.is_none() && self.arrivals.failed() {
            self.horizon = self.now();
        }
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
        // `requests` and `requests_all` follow from the arrival index (see `finish`).
        let measured = t >= self.warmup;
        self.in_flight += 1;
        self.in_system.set(t, self.in_flight);
        if self.grouped {
            return self.arrive_member(Member {
                arrival: t,
                index: idx,
                measured,
                class: a.class,
                service: a.service,
            });
        }
        let rng = std::mem::replace(&mut self.next_request_rng, self.request_rngs.get(idx + 1));
        let variant = self.planner.arrival_variant(a.class, idx);
        let mut request = Request::new(t, measured, rng, variant, a.service, idx);
        if self.has_exits {
            request.exit_u = request.rng.random::<f64>();
        }
        let req = self.requests.insert(request) as u32;
        match self.admission {
            Some((delay, cost)) => {
                self.ledger.transfer_usd += cost;
                let _ = self.queue.push(t + delay, Event::StageReady { req });
            }
            None => self.start_stage(req),
        }
    }

    #[inline(always)]
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
            Event::GroupTimeout { generation } => self.group_timeout(generation),
            Event::MemberRespond { req, member } => self.member_respond(req, member),
            Event::TaskReady { task, seq } => self.task_ready(task, seq),
            Event::ThrottleWake => {
                self.wake_pending = false;
                self.serve_throttled();
            }
            Event::Tick => self.tick(),
            Event::Mark(2) => self.stopped = true,
            Event::Mark(i) => {
                if i == 0 {
                    // Arrivals at the warm-up instant come after this event (ties: events
                    // first), so these are exactly the unmeasured ones.
                    self.arrivals_before_warmup = self.arrival_index;
                }
                self.in_system_marks[i as usize] = self.in_system.area(self.now());
            }
        }
    }

    // ----- stages and tasks -------------------------------------------------------------

    #[inline(always)]
    fn start_stage(&mut self, req: u32) {
        let now = self.now();
        let planner = self.planner;
        let r = &mut self.requests[req as usize];
        let s = r.stage as usize;
        let spec = planner.stage(r.stage, r.class);
        if r.measured {
            self.counters.stage_entries[s] += 1;
        }
        r.done = 0;
        r.failed = 0;
        // The completion rule, as the task counts the return path checks (0: per member).
        r.tasks = spec.tasks.len() as u16;
        r.needed = spec.needed();
        // What the tasks need from their request is fixed for the stage: read it once.
        let (previous, measured) = (r.last_backend, r.measured);
        let fan_out = spec.tasks.len() > 1;
        if fan_out {
            self.siblings_of(req).clear();
        }
        for (i, ts) in spec.tasks.iter().enumerate() {
            let (backend, func) = match ts.target {
                Target::Routed { function } => {
                    let backend = if self.routes {
                        let r = &self.requests[req as usize];
                        let info = TaskInfo {
                            stage: s,
                            request: r.index,
                            arrival: r.arrival,
                            previous,
                        };
                        self.route(info)
                    } else {
                        self.default_backend
                    };
                    (backend, function)
                }
                Target::Function(f) => (Backend::Faas, f),
                Target::Pool(p) => (Backend::Vm(p), NO_FUNCTION),
            };
            let (service, profiled, law) = match ts.work {
                Work::Law(l) => {
                    let profile = self.profile_for(l, backend, func);
                    let r = &mut self.requests[req as usize];
                    let law = &self.laws[l as usize];
                    let service = law.sample(profile, &mut r.rng, r.trace_service);
                    (service, profile.is_some(), l)
                }
                Work::Cpu { on_one_vcpu, .. } => (on_one_vcpu, false, NO_LAW),
                Work::Exact(d) => (d, true, NO_LAW),
                Work::Worker(l) => {
                    let n = spec.tasks.len() as u16;
                    let (service, profiled) = self.worker_work(req, l, i as u16, n, backend, func);
                    (service, profiled, l)
                }
            };
            // Storage requests are billed when they happen: GETs when the task starts, the PUT
            // when it finishes (a task aborted or cancelled before then pays neither).
            let io = &ts.io;
            self.task_seq = self.task_seq.wrapping_add(1);
            let task = self.tasks.insert(Task {
                req,
                seq: self.task_seq,
                func,
                index: i as u16,
                law,
                gets: io.gets,
                puts: io.puts,
                extra: io.storage,
                state: TaskState::Queued,
                loc: Loc::None,
                service,
                profiled,
                measured,
                enqueued: now,
                attempts: 0,
            }) as u32;
            if fan_out {
                let seq = self.task_seq;
                self.siblings_of(req).push((task, seq));
            }
            if measured {
                match backend {
                    Backend::Faas => self.counters.tasks_faas[s] += 1,
                    Backend::Vm(_) => self.counters.tasks_vm[s] += 1,
                }
            }
            let transit = io.input_on_change.and_then(|(bytes, compress)| {
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
            if fan_out && !self.requests.contains(req as usize) {
                return;
            }
        }
    }

    /// The profile of law `l` on `backend` (function `func` when it is FaaS), if it has one.
    #[inline(always)]
    fn profile_for(&self, l: u16, backend: Backend, func: u32) -> Option<u16> {
        match backend {
            Backend::Faas => {
                let plan = &self.fn_plans[func as usize];
                if plan.law == l {
                    plan.profile
                } else {
                    let memory = plan.memory_mb;
                    self.laws[l as usize].profile_on_function(memory)
                }
            }
            Backend::Vm(p) => self.vm_plans[l as usize * self.pools.len() + p as usize].profile,
        }
    }

    /// The work of worker `index` (of `n`) of `req`'s coded stage, drawn from law `l` on the
    /// worker's own stream and changed by the plan's faults: its service and whether it was
    /// drawn from a profile. A worker that will fail is marked in its group (coded stages
    /// complete per member, so only the per-member return path looks).
    #[inline(never)]
    fn worker_work(
        &mut self,
        req: u32,
        l: u16,
        index: u16,
        n: u16,
        backend: Backend,
        func: u32,
    ) -> (SimDuration, bool) {
        let profile = self.profile_for(l, backend, func);
        let r = &self.requests[req as usize];
        let mut rng = WorkerFaults::worker_rng(&self.fault_streams, r.index, index);
        let service = self.laws[l as usize].sample(profile, &mut rng, r.trace_service);
        let now = self.now();
        match self.planner.coded_plan() {
            Some(c) => {
                let fate = c
                    .faults()
                    .fate(&self.fault_streams, &mut rng, index, n, now);
                if fate.fails {
                    self.groups[req as usize].failing |= 1u64 << index;
                }
                (service.mul_f64(fate.factor), profile.is_some())
            }
            None => (service, profile.is_some()),
        }
    }

    /// vCPUs the work of `task` can use, from its spec (off the common path: a function's or a
    /// pool's factor for its law is precomputed).
    #[cold]
    #[inline(never)]
    fn parallelism_of(&self, task: u32) -> f64 {
        let t = &self.tasks[task as usize];
        let r = &self.requests[t.req as usize];
        match self.planner.stage(r.stage, r.class).tasks[t.index as usize].work {
            Work::Law(l) | Work::Worker(l) => self.laws[l as usize].parallelism,
            Work::Cpu { parallelism, .. } => parallelism,
            Work::Exact(_) => 1.0,
        }
    }

    /// The policy's backend for a routed task.
    #[inline(never)]
    fn route(&mut self, info: TaskInfo) -> Backend {
        match self.policy.routing() {
            Some(r) => r.route(&view!(self), &info),
            None => self.default_backend,
        }
    }

    /// Hands `task` to the backend it was routed to.
    #[inline(always)]
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
            if self.keeps_alive
                && let Some(k) = self.policy.keep_alive()
            {
                k.on_invocation(func, now);
            }
            if self.keeps_alive {
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
        } else if t.law == plan.law {
            t.service.mul_f64(plan.slowdown)
        } else {
            t.service
                .mul_f64(self.faas.slowdown(func, self.parallelism_of(task)))
        } + t.extra;
        match self.faas.acquire(func, now, &mut self.platform_rng) {
            Acquire::Warm(inst) => {
                let overhead = self.sc.faas.warm_start.sample(&mut self.platform_rng);
                self.bill_invocation(func, inst, exec, plan.memory_mb);
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
                self.bill_invocation(func, inst, billed, plan.memory_mb);
                self.begin(task, Loc::Faas { inst }, now + total);
                true
            }
            Acquire::Throttled => false,
        }
    }

    #[inline]
    fn bill_invocation(&mut self, func: u32, inst: u32, duration: SimDuration, mem: u32) {
        self.counters.invocations += 1;
        let ms = billed_ms(duration, self.sc.faas.granularity);
        self.faas.functions[func as usize].billed_ms += ms;
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
        let exec = if t.profiled {
            t.service
        } else if t.law != NO_LAW {
            let plan = self.vm_plans[t.law as usize * self.pools.len() + pool as usize];
            t.service.mul_f64(plan.slowdown)
        } else {
            t.service
                .mul_f64(self.pools[pool as usize].slowdown(self.parallelism_of(task)))
        } + t.extra;
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
        if t.gets > 0 {
            self.ledger.storage_gets += t.gets as u64;
            if let Loc::Faas { .. } = loc {
                self.faas.functions[t.func as usize].storage_requests.0 += t.gets as u64;
            }
        }
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
        let (loc, state, req, puts, index) = (t.loc, t.state, t.req, t.puts, t.index);
        if puts > 0 {
            self.ledger.storage_puts += puts as u64;
            if let Loc::Faas { .. } = loc {
                self.faas.functions[t.func as usize].storage_requests.1 += puts as u64;
            }
        }
        self.release(loc);
        self.tasks.free(task as usize);
        if state == TaskState::Orphan {
            self.orphans -= 1;
            return;
        }
        let r = &mut self.requests[req as usize];
        r.done += 1;
        // All or any k: complete at the k-th return (`Completion::counted`, unrolled).
        if r.done < r.needed {
            return;
        }
        if r.needed == 0 {
            return self.member_task_done(req, index, loc);
        }
        // Cancel the stragglers (a single-task stage has none).
        if r.tasks > 1 {
            self.cancel_siblings(req);
        }
        self.complete_stage(req, loc);
    }

    /// The current stage of `req` is complete (its last returned task ran at `loc`; its
    /// stragglers are cancelled): answer or move on.
    #[inline(always)]
    fn complete_stage(&mut self, req: u32, loc: Loc) {
        let now = self.now();
        let r = &mut self.requests[req as usize];
        r.last_backend = Some(match loc {
            Loc::Vm { pool, .. } => Backend::Vm(pool),
            _ => Backend::Faas,
        });
        let stage = r.stage;
        let exit_u = r.exit_u;
        match self
            .planner
            .after(stage, r.class, now, exit_u, &mut r.survival)
        {
            Next::Respond { delay, exited } => {
                if exited && r.measured {
                    self.counters.exits[stage as usize] += 1;
                }
                match delay {
                    Some(d) => {
                        let _ = self.queue.push(now + d, Event::Respond { req });
                    }
                    None => self.finish_request(req, true),
                }
            }
            Next::Stage { stage, handoff } => {
                r.stage = stage;
                match handoff {
                    Some((d, cost)) => {
                        self.ledger.transfer_usd += cost;
                        let _ = self.queue.push(now + d, Event::StageReady { req });
                    }
                    None => self.start_stage(req),
                }
            }
            Next::Fail => self.finish_request(req, false),
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
                if self.keeps_alive
                    && let Some(k) = self.policy.keep_alive()
                {
                    k.on_completion(func, now);
                }
                if self.keeps_alive {
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
        let Some(k) = self.policy.keep_alive() else {
            return;
        };
        let mut d = k.decide(func, now);
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
            if !self.pools[pool as usize].has_free_slot(vm) {
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
            self.cancel_task(key, seq);
        }
        // Keep the allocation for the next stage (or the next request in this slot).
        let mut siblings = siblings;
        siblings.clear();
        self.siblings[req as usize] = siblings;
    }

    /// Cancels the tasks of `req`'s current stage whose index is in `mask` (tasks that no
    /// member can use any more, e.g. the other copies of a replicated query once it is
    /// answered).
    #[inline(never)]
    pub(super) fn cancel_tasks(&mut self, req: u32, mask: u64) {
        let siblings = std::mem::take(self.siblings_of(req));
        for (i, &(key, seq)) in siblings.iter().enumerate() {
            if mask >> i & 1 == 1 {
                self.cancel_task(key, seq);
            }
        }
        self.siblings[req as usize] = siblings;
    }

    /// Cancels one task (`key`, `seq`) if it is still the one meant and has not finished.
    #[inline(always)]
    fn cancel_task(&mut self, key: u32, seq: u32) {
        let Some(t) = self.tasks.get(key as usize) else {
            return;
        };
        if t.seq != seq {
            return;
        }
        match (t.state, t.loc) {
            // Cancelled already (it runs on and is billed).
            (TaskState::Orphan, _) => {}
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

    #[inline(never)]
    fn fail_task(&mut self, task: u32) {
        let t = &self.tasks[task as usize];
        let (req, index) = (t.req, t.index);
        self.tasks.free(task as usize);
        self.task_failed(req, index);
    }

    /// Task `index` of `req`'s current stage failed (it is freed already).
    #[inline(never)]
    fn task_failed(&mut self, req: u32, index: u16) {
        let r = &mut self.requests[req as usize];
        r.failed += 1;
        let spec = self.planner.stage(r.stage, r.class);
        match spec.completion {
            Completion::PerMember(_) => self.member_task_failed(req, index),
            c => {
                if c.counted(spec.tasks.len() as u16, r.done, r.failed) == Outcome::Failed {
                    self.cancel_siblings(req);
                    self.finish_request(req, false);
                }
            }
        }
    }

    #[inline(always)]
    fn finish_request(&mut self, req: u32, ok: bool) {
        if self.grouped {
            return self.finish_group(req, ok);
        }
        let now = self.now();
        let (measured, arrival) = {
            let r = &self.requests[req as usize];
            (r.measured, r.arrival)
        };
        self.requests.free(req as usize);
        self.in_flight -= 1;
        self.in_system.set(now, self.in_flight);
        if measured {
            self.record_outcome(now.since(arrival).as_nanos(), ok);
        }
    }

    /// A measured query's outcome: answered after `lat` nanoseconds, or dropped.
    #[inline(always)]
    fn record_outcome(&mut self, lat: u64, ok: bool) {
        if !ok {
            self.counters.dropped += 1;
            return;
        }
        self.counters.completed += 1;
        self.counters.latency_sum_ns += lat as u128;
        self.rec.record_latency(lat);
        if lat > self.slo_ns {
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
        let actions = match self.policy.scaling() {
            Some(s) => s.on_tick(&view!(self)),
            None => Vec::new(),
        };
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
        if let Some(iv) = self.tick
            && (now < self.horizon || self.in_flight + self.orphans > 0)
        {
            let _ = self.queue.push(now + iv, Event::Tick);
        }
    }

    /// Tasks queued at a pool that has no VM left (none running or booting) would wait for
    /// ever: they go to their function instead (a task that names the pool fails).
    #[inline(never)]
    fn spill_stranded(&mut self, pool: u16) {
        for (task, seq) in self.pools[pool as usize].take_stranded() {
            let valid = self.tasks.get(task as usize).is_some_and(|t| {
                t.seq as u64 == seq
                    && t.state == TaskState::Queued
                    && t.loc == Loc::VmQueued { pool }
            });
            if valid {
                self.tasks[task as usize].loc = Loc::None;
                if self.tasks[task as usize].func == NO_FUNCTION {
                    // It may run only on this pool: it fails.
                    self.fail_task(task);
                } else {
                    self.invoke(task);
                }
            }
        }
    }

    #[inline(never)]
    fn sample(&mut self) {
        let now = self.now();
        let iv = self.sc.run.sample_interval;
        let arrived = self.arrival_index - self.arrivals_at_last_sample;
        self.arrivals_at_last_sample = self.arrival_index;
        // Every live instance is busy (counted in `in_use`) or idle: the account-wide counters
        // give the sums over functions without a loop over them.
        let (fb, fi) = (self.faas.in_use, self.faas.alive - self.faas.in_use);
        debug_assert_eq!(
            (fb, fi),
            self.faas
                .functions
                .iter()
                .fold((0, 0), |(b, i), f| (b + f.busy_count, i + f.idle_count))
        );
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
        // The samples that would follow before anything changes are stored with this one.
        let repeats = self.quiet_samples_after(now, iv);
        self.rec.record_samples(now, s, repeats);
        self.samples += 1 + repeats;
        self.events += repeats;
        let now = SimTime(now.0 + repeats * iv.as_nanos());
        self.queue.advance_to(now);
        // Sampling stops at the samples limit (validation keeps the horizon within it; a long
        // drain may reach it).
        if self.samples < self.sc.run.limits.samples
            && (now < self.horizon || self.in_flight + self.orphans > 0)
        {
            let next = self.queue.reserve_key(now + iv);
            self.set_next_sample(next);
        }
    }

    /// How many samples after the one taken at `now` would be taken, one interval apart,
    /// before any event or arrival: nothing changes in between, so they equal it (with no
    /// arrivals). Each is taken where the loop would have taken it: strictly before the heap's
    /// earliest event (whose key, pushed before theirs, wins a tie), not after an arrival,
    /// within the samples limit and, with nothing in flight, only while the previous one was
    /// before the horizon.
    fn quiet_samples_after(&mut self, now: SimTime, iv: SimDuration) -> u64 {
        let iv = iv.as_nanos();
        let top = self.queue.peek_time().unwrap_or(SimTime::MAX);
        let next = now.0.saturating_add(iv);
        if top.0 <= next || self.next_arrival_time.0 < next {
            return 0; // the common case while events are denser than samples
        }
        let mut n = (u64::MAX - now.0) / iv;
        n = n.min(top.0.saturating_sub(now.0).saturating_sub(1) / iv);
        n = n.min(self.next_arrival_time.0.saturating_sub(now.0) / iv);
        n = n.min(self.sc.run.limits.samples.saturating_sub(self.samples + 1));
        if self.in_flight + self.orphans == 0 {
            n = n.min(self.horizon.0.saturating_sub(now.0).div_ceil(iv));
        }
        n
    }
}

#[cfg(test)]
mod tests;
