//! The MoE planner: one batch of tokens through a serverless mixture-of-experts deployment
//! (Liu, Wang, Wu, INFOCOM 2025), as stages of tasks on deployed functions whose durations
//! are computed from the batch's real routing.
//!
//! A request is one batch; its variant is the batch (arrival `n` serves batch `n mod B` of the
//! run's B batches). Every function of the model is a deployed function: the head, one
//! non-MoE function per MoE layer (attention block and next gate), the tail, and one function
//! per expert at its deployed memory size, whose G replicas are concurrent invocations. The
//! stages of a batch, for a model of L MoE layers:
//!
//! | stage | tasks |
//! |---|---|
//! | `head` | the head function: start, parameter download, compute; then, when layer 0 goes through storage, the upload of every token's input (S1) |
//! | `L<e>` | every replica of every expert of layer e with tokens; in storage modes also the next function, started at the beginning of the layer to load its parameters, billed until the experts are done |
//! | `L<e>.gather` | the next function: storage modes, download of all outputs (S3) and compute; direct mode, its invocation with the outputs, parameter load and compute; then the upload of the next layer's inputs when that layer goes through storage |
//! | `tail` | the tail function |
//!
//! Task durations are those of [`crate::moe::cost`] (eqs. 3–11 in the consistent reading) with
//! the batch's real token counts, so with warm functions a batch's latency and the experts'
//! billed GB-s equal [`crate::moe::cost::evaluate`] to the nanosecond (a test checks it); cold
//! starts, concurrency limits and keep-alive come from the platform model as for every plan.
//! The warm-start time T^str is inside every duration (the platform's `warm_start` must be 0).
//! In direct mode each replica's input arrives in its invocation payload before it starts.
//!
//! # When the routing exceeds the deployment
//! A deployment is planned on predicted counts; a batch's real counts may need more. Per
//! replica, two failures are detected and counted, with what [`Overflow`] says happens:
//! - **out of memory** (12c): the invocation starts, loads its parameters (T^h) and fails
//!   when it allocates its tokens; it is billed for that time. `retry`: it is invoked again on
//!   the expert's function at the smallest menu size that fits (deployed on demand), after the
//!   failed attempt; `fail`: the batch fails at the end of the layer.
//! - **payload** (12f), direct mode: an input or output over the payload limit is refused by
//!   the platform before it runs (not billed). `retry`: that replica goes through storage
//!   (mode 2) instead; `fail`: the batch fails. A gather payload over the limit (all of the
//!   layer's outputs into the next function) counts one payload failure; `retry` sends the
//!   layer's outputs through storage (each replica PUTs its output, the next function GETs
//!   them, S3).

use std::collections::BTreeMap;

use super::StageSpec;
use super::completion::Completion;
use super::staged::Staged;
use super::task::{Io, Target, TaskSpec, Work};
use crate::cloud::billing::billed_ms;
use crate::cloud::deploy::FunctionSpec;
use crate::kernel::SimDuration;
use crate::moe::cost::{self, Deployment, Mode};
use crate::moe::cpu_cluster::{self, CpuCluster};
use crate::moe::error::MoeError;
use crate::moe::model::{BYTES_PER_MB, MoeModel, Platform};

/// What happens when a batch's real routing exceeds what the deployment planned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Out of memory: re-invoke at the next memory size that fits; payload: through storage.
    #[default]
    Retry,
    /// The batch fails (counted as dropped).
    Fail,
}

/// Everything the MoE planner needs.
#[derive(Clone, Debug)]
pub struct MoeRun {
    /// The model.
    pub model: MoeModel,
    /// The platform (its prices must be the scenario's).
    pub platform: Platform,
    /// The deployment.
    pub deployment: Deployment,
    /// The real token counts of every batch the run serves, `[batch][layer][expert]`.
    pub batches: Vec<Vec<Vec<u32>>>,
    /// What overflows do.
    pub on_overflow: Overflow,
    /// The latency limit T^limit, ns (`u64::MAX`: none), for reports.
    pub latency_limit_ns: u64,
    /// The policy's prediction error on these batches (tokens per expert), if it predicts.
    pub prediction_mae: Option<f64>,
    /// Serve on this CPU cluster (VM pool 0) instead of functions.
    pub cluster: Option<CpuCluster>,
}

/// Billing of a set of functions: summed over their invocations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    /// Σ billed ms × MB.
    pub mb_ms: u128,
    /// Invocations.
    pub invocations: u64,
    /// Storage GETs.
    pub gets: u64,
    /// Storage PUTs.
    pub puts: u64,
}

impl Bill {
    /// Billed GB-s (GB = 1,024 MB).
    pub fn gb_s(&self) -> f64 {
        self.mb_ms as f64 / 1024.0 / 1000.0
    }

    /// Dollars at `p`'s prices.
    pub fn usd(&self, p: &Platform) -> f64 {
        self.gb_s() * p.gb_s_price
            + self.invocations as f64 * p.request_fee
            + self.gets as f64 * p.s3_get_fee
            + self.puts as f64 * p.s3_put_fee
    }

    fn add(&mut self, ms: u64, memory_mb: u32, gets: u16, puts: u16) {
        self.mb_ms += ms as u128 * memory_mb as u128;
        self.invocations += 1;
        self.gets += gets as u64;
        self.puts += puts as u64;
    }
}

/// What the plan of one batch holds beyond its tasks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchPlan {
    /// Out-of-memory failures (replica invocations).
    pub oom_failures: u32,
    /// Payload failures (replica payloads and gathers).
    pub payload_failures: u32,
    /// The batch fails after this stage (`Overflow::Fail`).
    pub fails_after: Option<u16>,
    /// The experts' bill of the batch when every function is warm.
    pub experts: Bill,
    /// Its latency when every function is warm, ns.
    pub latency_ns: u64,
    /// On the CPU cluster: the seconds billed for the batch (its wall time rounded up to a
    /// second, at least the cluster's minimum: the on-demand bill of serving it).
    pub cluster_billed_s: u64,
}

/// The MoE plan's extras: per batch, its failures and warm bill; which functions are experts.
#[derive(Clone, Debug)]
pub struct Moe {
    batches: Vec<BatchPlan>,
    /// Per function id: the MoE layer of an expert function.
    expert_layer: Vec<Option<u16>>,
    tokens: u32,
    latency_limit_ns: u64,
    prediction_mae: Option<f64>,
    cluster_price_per_hour: Option<f64>,
}

impl Moe {
    /// Plans every batch of `run`: the extras and the stage tables.
    pub fn new(run: &MoeRun) -> Result<(Self, Staged), MoeError> {
        if run.batches.is_empty() {
            return Err(MoeError::Counts("no batch to serve".into()));
        }
        for counts in &run.batches {
            run.model.check_counts(counts)?;
        }
        if run.deployment.layers.len() != run.model.layers.len() {
            return Err(MoeError::Deployment(format!(
                "{} layers for a model with {} MoE layers",
                run.deployment.layers.len(),
                run.model.layers.len()
            )));
        }
        let mut b = Builder::new(run);
        let n_stages = 2 * run.model.layers.len() + 2;
        let v = run.batches.len();
        // Stage-major tables: fill per batch, then transpose.
        let mut per_batch: Vec<Vec<StageSpec>> = Vec::with_capacity(v);
        let mut plans = Vec::with_capacity(v);
        for counts in &run.batches {
            let (stages, plan) = match &run.cluster {
                None => b.batch(counts)?,
                Some(c) => b.on_cluster(counts, c)?,
            };
            debug_assert_eq!(stages.len(), n_stages);
            per_batch.push(stages);
            plans.push(plan);
        }
        let mut specs = Vec::with_capacity(n_stages * v);
        for s in 0..n_stages {
            for stages in &per_batch {
                specs.push(stages[s].clone());
            }
        }
        let mut names = vec!["head".to_string()];
        for e in 0..run.model.layers.len() {
            names.push(format!("L{e}"));
            names.push(format!("L{e}.gather"));
        }
        names.push("tail".into());
        let expert_layer = b.expert_layer;
        let tables = Staged::sequence(names, specs, v, b.functions);
        Ok((
            Moe {
                batches: plans,
                expert_layer,
                tokens: run.model.batch_tokens,
                latency_limit_ns: run.latency_limit_ns,
                prediction_mae: run.prediction_mae,
                cluster_price_per_hour: run.cluster.as_ref().map(|c| c.price_per_hour),
            },
            tables,
        ))
    }

    /// The variant of arrival `index`: the batch it serves.
    #[inline]
    pub fn variant(&self, index: u64) -> u32 {
        (index % self.batches.len() as u64) as u32
    }

    /// The batch fails after stage `stage`.
    #[inline]
    pub fn fails_after(&self, variant: u32, stage: u16) -> bool {
        self.batches[variant as usize].fails_after == Some(stage)
    }

    /// The plans of the batches, by variant.
    pub fn batches(&self) -> &[BatchPlan] {
        &self.batches
    }

    /// The MoE layer of function `id` if it is an expert's.
    pub fn expert_layer(&self, id: usize) -> Option<u16> {
        self.expert_layer.get(id).copied().flatten()
    }

    /// Tokens per batch.
    pub fn batch_tokens(&self) -> u32 {
        self.tokens
    }

    /// T^limit in seconds (NaN without one).
    pub fn latency_limit_s(&self) -> f64 {
        if self.latency_limit_ns == u64::MAX {
            f64::NAN
        } else {
            self.latency_limit_ns as f64 / 1e9
        }
    }

    /// The policy's prediction error, if it predicts.
    pub fn prediction_mae(&self) -> Option<f64> {
        self.prediction_mae
    }

    /// The CPU cluster's price per hour, when the plan runs on one.
    pub fn cluster_price_per_hour(&self) -> Option<f64> {
        self.cluster_price_per_hour
    }

    /// Σ of `f` over the batches served by arrivals `0..arrivals`.
    pub fn sum_over_arrivals(&self, arrivals: u64, f: impl Fn(&BatchPlan) -> u64) -> u64 {
        let n = self.batches.len() as u64;
        let (full, rest) = (arrivals / n, arrivals % n);
        let all: u64 = self.batches.iter().map(&f).sum();
        full * all + self.batches[..rest as usize].iter().map(&f).sum::<u64>()
    }
}

/// One planned replica invocation: its task and when its output is ready.
struct Replica {
    task: TaskSpec,
    ready: u64,
}

struct Builder<'a> {
    run: &'a MoeRun,
    functions: Vec<FunctionSpec>,
    expert_layer: Vec<Option<u16>>,
    /// (layer, expert, memory) → function id.
    experts: BTreeMap<(usize, usize, u32), u32>,
    head: u32,
    next: Vec<u32>,
    tail: u32,
}

impl<'a> Builder<'a> {
    fn new(run: &'a MoeRun) -> Self {
        let m = &run.model;
        let mut b = Builder {
            run,
            functions: Vec::new(),
            expert_layer: Vec::new(),
            experts: BTreeMap::new(),
            head: 0,
            next: Vec::new(),
            tail: 0,
        };
        b.head = b.function("head".into(), m.head.memory_mb, None);
        for (e, layer) in m.layers.iter().enumerate() {
            let id = b.function(format!("L{e}.next"), layer.next.memory_mb, None);
            b.next.push(id);
        }
        b.tail = b.function("tail".into(), m.tail.memory_mb, None);
        // The deployed experts, in layer and expert order.
        for (e, dep) in run.deployment.layers.iter().enumerate() {
            for (i, ch) in dep.experts.iter().enumerate() {
                b.expert(e, i, ch.memory_mb);
            }
        }
        b
    }

    fn function(&mut self, name: String, memory_mb: u32, layer: Option<u16>) -> u32 {
        self.functions.push(FunctionSpec {
            name,
            memory_mb: Some(memory_mb),
            keep_alive: None,
            provisioned_concurrency: None,
        });
        self.expert_layer.push(layer);
        self.functions.len() as u32 - 1
    }

    /// The function of expert `i` of layer `e` at `memory_mb` (deployed on first use).
    fn expert(&mut self, e: usize, i: usize, memory_mb: u32) -> u32 {
        if let Some(&id) = self.experts.get(&(e, i, memory_mb)) {
            return id;
        }
        let deployed = self.run.deployment.layers[e].experts[i].memory_mb;
        let name = if memory_mb == deployed {
            format!("L{e}.E{i}")
        } else {
            format!("L{e}.E{i}@{memory_mb}MB")
        };
        let id = self.function(name, memory_mb, Some(e as u16));
        self.experts.insert((e, i, memory_mb), id);
        id
    }

    fn exact(&self, target: u32, d: u64, gets: u16, puts: u16) -> TaskSpec {
        TaskSpec {
            target: Target::Function(target),
            work: Work::Exact(SimDuration(d)),
            io: Io {
                gets,
                puts,
                ..Io::default()
            },
        }
    }

    /// The stages of one batch with real counts `counts`, and what it holds.
    fn batch(&mut self, counts: &[Vec<u32>]) -> Result<(Vec<StageSpec>, BatchPlan), MoeError> {
        let run = self.run;
        let (m, p) = (&run.model, &run.platform);
        let n = m.layers.len();
        let mut plan = BatchPlan::default();
        let terms: Vec<cost::LayerTerms> = (0..n)
            .map(|e| cost::layer_terms(p, m, e, &counts[e]))
            .collect::<Result<_, _>>()?;
        let mode = |e: usize| run.deployment.layers[e].mode;
        // S1 of layer e: the gate's upload of the inputs (storage modes).
        let s1 = |e: usize| {
            if e < n && mode(e) != Mode::Direct {
                terms[e].scatter_ns
            } else {
                0
            }
        };
        let (head_ns, tail_ns) = cost::head_tail(p, m)?;
        let mut stages = Vec::with_capacity(2 * n + 2);
        let mut latency = head_ns + s1(0);
        stages.push(StageSpec::new(
            vec![self.exact(self.head, head_ns + s1(0), 1, 0)],
            Completion::All,
        ));
        for e in 0..n {
            let stage_b = (1 + 2 * e) as u16;
            let (replicas, gather_overflow) = self.layer(e, &counts[e], &mut plan, stage_b)?;
            let t = &terms[e];
            let max_ready = replicas.iter().map(|r| r.ready).max().unwrap_or(0);
            let mut tasks: Vec<TaskSpec> = replicas.into_iter().map(|r| r.task).collect();
            let next = self.next[e];
            let (b_ns, c_ns, c_gets) = if mode(e) == Mode::Direct {
                let gather = if gather_overflow { t.gather_ns } else { 0 };
                (
                    max_ready,
                    t.load_next_ns + gather + t.next_compute_ns + s1(e + 1),
                    1,
                )
            } else {
                // The next function starts with the layer, loads, and waits for the experts.
                let wait = t.load_next_ns.saturating_sub(s1(e)).max(max_ready);
                tasks.push(self.exact(next, wait, 1, 0));
                (wait, t.gather_ns + t.next_compute_ns + s1(e + 1), 0)
            };
            if tasks.is_empty() {
                // A layer whose experts got no token: the next function still runs.
                tasks.push(self.exact(next, 0, 0, 0));
            }
            latency += b_ns + c_ns;
            stages.push(StageSpec::new(tasks, Completion::All));
            stages.push(StageSpec::new(
                vec![self.exact(next, c_ns, c_gets, 0)],
                Completion::All,
            ));
        }
        latency += tail_ns;
        plan.latency_ns = latency;
        stages.push(StageSpec::new(
            vec![self.exact(self.tail, tail_ns, 1, 0)],
            Completion::All,
        ));
        Ok((stages, plan))
    }

    /// The stages of one batch on the CPU cluster (VM pool 0): the same stages, each function
    /// and each expert one task on the cluster's cores ([`cpu_cluster`]'s timing: the experts
    /// of a layer run concurrently, each on its share of the cores).
    fn on_cluster(
        &mut self,
        counts: &[Vec<u32>],
        c: &CpuCluster,
    ) -> Result<(Vec<StageSpec>, BatchPlan), MoeError> {
        let (m, p) = (&self.run.model, &self.run.platform);
        let t = m.batch_tokens;
        let task = |d: u64| TaskSpec {
            target: Target::Pool(0),
            work: Work::Exact(SimDuration(d)),
            io: Io::default(),
        };
        let one = |d: u64| StageSpec::new(vec![task(d)], Completion::All);
        let mut plan = BatchPlan::default();
        let head = cpu_cluster::dense_ns(&m.head, t, c, p);
        let mut stages = vec![one(head)];
        let mut latency = head;
        for (layer, counts) in m.layers.iter().zip(counts) {
            let per_expert = (c.cores / layer.experts.len() as u32).max(1);
            let mut tasks: Vec<TaskSpec> =
                layer
                    .experts
                    .iter()
                    .zip(counts)
                    .filter(|(_, d)| **d > 0)
                    .map(|(x, &d)| {
                        task((d.div_ceil(per_expert) as u64).saturating_mul(
                            cpu_cluster::per_token_ns(&x.compute, p, c.core_speedup),
                        ))
                    })
                    .collect();
            if tasks.is_empty() {
                tasks.push(task(0));
            }
            let slowest = tasks
                .iter()
                .map(|t| match t.work {
                    Work::Exact(d) => d.as_nanos(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            let next = cpu_cluster::dense_ns(&layer.next, t, c, p);
            latency += slowest + next;
            stages.push(StageSpec::new(tasks, Completion::All));
            stages.push(one(next));
        }
        let tail = cpu_cluster::dense_ns(&m.tail, t, c, p);
        stages.push(one(tail));
        plan.latency_ns = latency + tail;
        plan.cluster_billed_s = plan
            .latency_ns
            .max(c.min_billed.as_nanos())
            .div_ceil(crate::kernel::NANOS_PER_SEC);
        Ok((stages, plan))
    }

    /// The replica invocations of layer `e` (stage `stage`), and whether its gather payload
    /// overflowed (and goes through storage).
    fn layer(
        &mut self,
        e: usize,
        counts: &[u32],
        plan: &mut BatchPlan,
        stage: u16,
    ) -> Result<(Vec<Replica>, bool), MoeError> {
        let run = self.run;
        let (m, p) = (&run.model, &run.platform);
        let dep = &run.deployment.layers[e];
        let layer = &m.layers[e];
        if dep.experts.len() != layer.experts.len() {
            return Err(MoeError::Deployment(format!(
                "layer {e} has {} expert choices for {} experts",
                dep.experts.len(),
                layer.experts.len()
            )));
        }
        let tokens: u64 = counts.iter().map(|&d| d as u64).sum();
        let gather_overflow = dep.mode == Mode::Direct && tokens * m.d_out > p.payload_limit;
        if gather_overflow {
            plan.payload_failures += 1;
            if run.on_overflow == Overflow::Fail {
                plan.fails_after.get_or_insert(stage);
            }
        }
        let mut out = Vec::new();
        for (i, ch) in dep.experts.iter().enumerate() {
            let d = counts[i];
            if d == 0 {
                continue;
            }
            // Replicas split the tokens as evenly as integers allow (as `cost` does).
            let g = ch.replicas.clamp(1, d);
            let (q, rem) = (d / g, d % g);
            for j in 0..g {
                let r = q + u32::from(j < rem);
                self.replica(e, i, r, gather_overflow, plan, stage, &mut out)?;
            }
        }
        Ok((out, gather_overflow))
    }

    /// Plans one replica with `r` tokens of expert `i` of layer `e`.
    #[allow(clippy::too_many_arguments)]
    fn replica(
        &mut self,
        e: usize,
        i: usize,
        r: u32,
        outputs_via_storage: bool,
        plan: &mut BatchPlan,
        stage: u16,
        out: &mut Vec<Replica>,
    ) -> Result<(), MoeError> {
        let run = self.run;
        let (m, p) = (&run.model, &run.platform);
        let dep = &run.deployment.layers[e];
        let x = &m.layers[e].experts[i];
        let memory = dep.experts[i].memory_mb;
        let r64 = r as u64;
        let mut mode = dep.mode;
        if mode == Mode::Direct
            && (r64 * m.d_in > p.payload_limit || r64 * m.d_out > p.payload_limit)
        {
            plan.payload_failures += 1;
            match run.on_overflow {
                Overflow::Retry => mode = Mode::Storage,
                Overflow::Fail => {
                    plan.fails_after.get_or_insert(stage);
                    return Ok(());
                }
            }
        }
        // Direct mode: the input arrives in the invocation payload first.
        let payload_in = if mode == Mode::Direct {
            p.f2f_xfer(r64 * m.d_in)
        } else {
            0
        };
        let mut delay = 0u64;
        let mut memory_used = memory;
        let needed = cost::needed_bytes(m, x, r);
        if needed > memory as u64 * BYTES_PER_MB {
            plan.oom_failures += 1;
            // The failed attempt: started, parameters loaded, fails allocating the tokens.
            let fail_ns = cost::head_time(p, x.params);
            let f = self.expert(e, i, memory);
            let mut task = self.exact(f, fail_ns, 1, 0);
            if payload_in > 0 {
                task.io.input_on_change = Some((r64 * m.d_in, SimDuration::ZERO));
            }
            plan.experts
                .add(billed_ms(SimDuration(fail_ns), p.granularity), memory, 1, 0);
            out.push(Replica {
                task,
                ready: payload_in + fail_ns,
            });
            let fits = p.memory_menu.iter().copied().find(|&mm| {
                mm as u64 * BYTES_PER_MB >= needed && x.compute.per_token(mm, &p.cpu).is_some()
            });
            match (run.on_overflow, fits) {
                (Overflow::Retry, Some(mm)) => {
                    memory_used = mm;
                    delay = payload_in + fail_ns;
                }
                _ => {
                    plan.fails_after.get_or_insert(stage);
                    return Ok(());
                }
            }
        }
        let per_token = x
            .compute
            .per_token(memory_used, &p.cpu)
            .ok_or_else(|| {
                MoeError::Deployment(format!(
                    "layer {e}, expert {i}: the compute table has no per-token time for {memory_used} MB"
                ))
            })?
            .as_nanos();
        let mut t = cost::replica_time(p, mode, dep.beta, r, x.params, per_token, m.d_in, m.d_out);
        let objects = cost::objects(mode, dep.beta, r) as u16;
        let (mut gets, mut puts) = (1 + objects, objects);
        if outputs_via_storage {
            // The output goes to storage (the gather payload is over the limit).
            t += p.s3_delay.as_nanos() + p.s3_xfer(r64 * m.d_out);
            gets += 1;
            puts += 1;
        }
        let f = self.expert(e, i, memory_used);
        let mut task = self.exact(f, t, gets, puts);
        if payload_in > 0 || delay > 0 {
            let bytes = if mode == Mode::Direct {
                r64 * m.d_in
            } else {
                0
            };
            task.io.input_on_change = Some((bytes, SimDuration(delay)));
        }
        plan.experts.add(
            billed_ms(SimDuration(t), p.granularity),
            memory_used,
            gets,
            puts,
        );
        out.push(Replica {
            task,
            ready: delay + payload_in + t,
        });
        Ok(())
    }
}
