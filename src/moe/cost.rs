//! Closed-form cost and latency of a MoE deployment: eqs. 3–11 and (12c), (12d), (12f) of the
//! paper, in the consistent reading of eq. 6 (a flag selects the printed one).
//!
//! All times are integer nanoseconds. Every transfer is rounded once, to the nearest ns, by
//! [`xfer`](super::model::xfer); per-token times are whole ns; so a discrete-event run that
//! moves the same objects can match these numbers to the nanosecond.
//!
//! # Replicas
//! An expert with d tokens and g replicas splits its tokens as evenly as integers allow:
//! `d mod g` replicas get ⌈d/g⌉ tokens, the others ⌊d/g⌋. Replicas that would get no token
//! are not invoked. Each invoked replica is billed for its own running time, rounded up to the
//! billing granularity (eq. 5 with integer tokens: when g divides d this is exactly
//! g · t^rep). Latency, memory (12c) and payload (12f) use the largest replica, r = ⌈d/g⌉.
//! An expert with no token (s_{e,i} = 0) is not invoked: no time, no cost.
//!
//! # Per-replica time t^rep (eqs. 6, 8, 10)
//! With T^h = P/B^s + T^dl + T^str (warm start and parameter download, paid by every replica
//! on every invocation — functions are stateless) and U the per-token time at the memory:
//! - storage, non-pipelined (2): `T^h + 2·T^dl + r(D^in + D^o)/B^s + r·U`;
//! - direct (3): `T^h + r(D^o/B^f + U)`;
//! - storage, pipelined (1), consistent reading: with b = min(β, r) tokens per minibatch and
//!   n = ⌈r/b⌉ minibatches, `T^h + n·t^blk + (T^dl + b·D^o/B^s)` where
//!   `t^blk = T^dl + max{b·D^in/B^s + b·U, b·D^o/B^s}`: each block downloads and computes a
//!   minibatch while the previous output uploads, then the last output uploads. The printed
//!   reading is `T^h + (T^dl + n·D^o/B^s) + b·t^blk`. Capping β at r only matters for experts
//!   smaller than β: a minibatch cannot hold more tokens than the replica has.
//!
//! # Layer latency t^lat_e (eqs. 7, 9, 11) — the stage terms of Fig. 8, derived
//! The paper omits the stage terms. From the mode definitions:
//! - modes 1 and 2 (through storage): S1, the gate function uploads every token's input,
//!   `T^dl + (Σ_i d_i)·D^in/B^s` (one function's bandwidth); then the gate invokes the
//!   experts, which finish after S2 = max over replicas of t^rep (t^rep already contains the
//!   experts' own downloads and uploads); the next non-MoE function is started in parallel at
//!   the beginning of the layer and is ready after T^load_e = T^str + T^dl + P^NE/B^s; once
//!   both are done it downloads all outputs, S3 = `T^dl + (Σ_i d_i)·D^o/B^s`. So
//!   `t^lat = max{S1 + S2, T^load_e} + S3`. In mode 1 the gather is not pipelined (§III-B)
//!   and the gate uploads the minibatches before it invokes the experts.
//! - mode 3 (direct): each replica receives its input in the invocation payload
//!   (r·D^in/B^f), runs for t^rep (which includes returning its output, r·D^o/B^f), and the
//!   next function is invoked with all outputs and then loads its parameters:
//!   `t^lat = max_replicas(r·D^in/B^f + t^rep) + T^load_e`. Eq. 11 writes the two maxima
//!   separately; they coincide when the largest replica is also the slowest (the usual case);
//!   taking the maximum per replica is what the mode does.
//!
//! # Payload (12f) in direct mode
//! The stated intent (direct transfer forbidden when the data does not fit) is applied to every
//! payload of the mode: each replica's input r·D^in and output r·D^o, and the gather, the next
//! function's invocation that carries all Σ_i d_i·D^o output bytes. The gather is what makes
//! direct mode infeasible at 2,560 tokens of 3 KB (7.9 MB > 6 MiB) whatever the routing, as
//! in the paper's communication experiment.
//!
//! # Storage fees
//! Every invocation GETs its function's parameters (1 GET). Mode 2: per invoked replica one
//! input object (PUT by the gate, GET by the replica) and one output object (PUT by the
//! replica, GET by the next function): 2 PUT + 2 GET more. Mode 1: n input and n output
//! objects per replica: 2n PUT + 2n GET more. Mode 3: none more. The objects' fees are the
//! expert's (the paper bills experts only), whichever function makes the request.
//!
//! # End to end (12d)
//! `T^head + T^tail + Σ_e (t^lat_e + T^NE_e)` with T^NE_e the next function's compute on the
//! batch, and T^head, T^tail the first and last functions' start, download and compute.

use crate::cloud::billing::billed_ms;
use crate::kernel::SimDuration;

use super::error::MoeError;
use super::model::{BYTES_PER_MB, DenseBlock, Eq6Reading, Expert, MoeModel, Platform};

/// A scatter-gather communication mode a_e.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// a = 1: pipelined indirect transfer through storage, minibatches of β tokens.
    PipelinedStorage,
    /// a = 2: non-pipelined indirect transfer through storage.
    Storage,
    /// a = 3: direct invocation, data in the payload.
    Direct,
}

impl Mode {
    /// The three modes, in the paper's order.
    pub const ALL: [Mode; 3] = [Mode::PipelinedStorage, Mode::Storage, Mode::Direct];

    /// The paper's number for the mode (1, 2 or 3).
    pub fn number(self) -> u8 {
        match self {
            Mode::PipelinedStorage => 1,
            Mode::Storage => 2,
            Mode::Direct => 3,
        }
    }

    /// Index into [`Mode::ALL`].
    pub fn index(self) -> usize {
        self.number() as usize - 1
    }
}

/// Memory and replica count of one expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpertChoice {
    /// Memory of every replica, MB.
    pub memory_mb: u32,
    /// Replicas g (1..=G).
    pub replicas: u32,
}

/// The deployment of one MoE layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LayerDeployment {
    /// Communication mode a_e.
    pub mode: Mode,
    /// Pipeline degree β (tokens per minibatch; used by mode 1 only, 1 otherwise).
    pub beta: u32,
    /// One choice per expert.
    pub experts: Vec<ExpertChoice>,
}

/// A deployment of all MoE layers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Deployment {
    /// One entry per MoE layer.
    pub layers: Vec<LayerDeployment>,
}

/// Cost and time of one expert (all its replicas).
#[derive(Clone, Debug, PartialEq)]
pub struct ExpertCost {
    /// Tokens d_{e,i}.
    pub tokens: u32,
    /// Replicas invoked (min(g, d)).
    pub replicas_invoked: u32,
    /// Tokens of the largest replica, r = ⌈d/g⌉.
    pub largest_replica_tokens: u32,
    /// t^rep of the largest replica, ns.
    pub replica_time_ns: u64,
    /// When the expert's last output is ready, from the start of S2 (modes 1, 2) or of the
    /// layer (mode 3, including the input payload), ns.
    pub ready_ns: u64,
    /// Billed ms summed over replicas.
    pub billed_ms: u64,
    /// Σ billed ms × MB over replicas.
    pub mb_ms: u128,
    /// Invocations (request fees).
    pub requests: u64,
    /// Storage PUTs.
    pub puts: u64,
    /// Storage GETs.
    pub gets: u64,
    /// Dollars: GB-s × price + request fees + storage fees.
    pub usd: f64,
}

impl ExpertCost {
    /// Billed GB-s (GB = 1,024 MB).
    pub fn gb_s(&self) -> f64 {
        self.mb_ms as f64 / 1024.0 / 1000.0
    }
}

/// Cost and time of one MoE layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCost {
    /// The mode.
    pub mode: Mode,
    /// β.
    pub beta: u32,
    /// Per expert.
    pub experts: Vec<ExpertCost>,
    /// The layer's fixed terms.
    pub terms: LayerTerms,
    /// t^lat_e, ns.
    pub latency_ns: u64,
    /// Dollars of all experts.
    pub usd: f64,
    /// Billed GB-s of all experts.
    pub gb_s: f64,
}

/// The parts of a layer's latency that do not depend on the experts' choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerTerms {
    /// Σ_i d_{e,i}.
    pub tokens: u64,
    /// S1 in storage modes: the gate's upload of all inputs, ns.
    pub scatter_ns: u64,
    /// S3 in storage modes: the next function's download of all outputs, ns.
    pub gather_ns: u64,
    /// T^load_e: start and parameter download of the next function, ns.
    pub load_next_ns: u64,
    /// T^NE_e: the next function's compute on the batch, ns.
    pub next_compute_ns: u64,
    /// Bytes of the direct-mode gather payload, Σ_i d_i·D^o.
    pub gather_payload: u64,
}

/// Cost and latency of a whole deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Per MoE layer.
    pub layers: Vec<LayerCost>,
    /// T^head, ns.
    pub head_ns: u64,
    /// T^tail, ns.
    pub tail_ns: u64,
    /// End-to-end latency (12d), ns.
    pub latency_ns: u64,
    /// Dollars of all experts (the objective).
    pub usd: f64,
    /// Billed GB-s of all experts.
    pub gb_s: f64,
    /// Batch tokens per second of end-to-end latency.
    pub tokens_per_s: f64,
}

/// A broken per-expert constraint, before the caller names the layer and expert.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Violation {
    /// (12c): bytes needed.
    Memory(u64),
    /// (12f): which payload and its bytes.
    Payload(&'static str, u64),
    /// The compute law has no time for the memory.
    NoTime,
}

/// T^h = P/B^s + T^dl + T^str, ns.
#[inline]
pub fn head_time(p: &Platform, params: u64) -> u64 {
    p.s3_xfer(params) + p.s3_delay.as_nanos() + p.warm_start.as_nanos()
}

/// t^rep of one replica with `r` tokens (eqs. 6, 8, 10), ns; 0 when `r` = 0.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn replica_time(
    p: &Platform,
    mode: Mode,
    beta: u32,
    r: u32,
    params: u64,
    per_token_ns: u64,
    d_in: u64,
    d_out: u64,
) -> u64 {
    if r == 0 {
        return 0;
    }
    let h = head_time(p, params);
    let dl = p.s3_delay.as_nanos();
    let r64 = r as u64;
    let compute = r64.saturating_mul(per_token_ns);
    match mode {
        Mode::Storage => h + 2 * dl + p.s3_xfer(r64 * (d_in + d_out)) + compute,
        Mode::Direct => h + p.f2f_xfer(r64 * d_out) + compute,
        Mode::PipelinedStorage => {
            let b = beta.clamp(1, r) as u64;
            let n = r64.div_ceil(b);
            let blk = dl
                + (p.s3_xfer(b * d_in) + b.saturating_mul(per_token_ns)).max(p.s3_xfer(b * d_out));
            match p.eq6 {
                Eq6Reading::Consistent => h + n.saturating_mul(blk) + dl + p.s3_xfer(b * d_out),
                Eq6Reading::Printed => h + dl + p.s3_xfer(n * d_out) + b.saturating_mul(blk),
            }
        }
    }
}

/// Storage objects (each one PUT and one GET) of one replica with `r` tokens.
#[inline]
pub fn objects(mode: Mode, beta: u32, r: u32) -> u64 {
    match mode {
        Mode::Direct => 0,
        Mode::Storage => 2,
        Mode::PipelinedStorage => 2 * (r as u64).div_ceil(beta.clamp(1, r.max(1)) as u64),
    }
}

/// Memory (12c) a replica of `expert` with `r` tokens needs, bytes: parameters, intermediate
/// memory and the tokens' inputs and outputs.
#[inline]
pub fn needed_bytes(model: &MoeModel, expert: &Expert, r: u32) -> u64 {
    expert.params + expert.intermediate + r as u64 * (model.d_in + model.d_out)
}

/// Cost and time of one expert with `d` tokens on `g` replicas of `memory_mb` (whose
/// per-token time is `per_token_ns`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn expert_cost(
    p: &Platform,
    model: &MoeModel,
    expert: &Expert,
    mode: Mode,
    beta: u32,
    d: u32,
    memory_mb: u32,
    g: u32,
    per_token_ns: u64,
) -> Result<ExpertCost, Violation> {
    if d == 0 {
        return Ok(ExpertCost {
            tokens: 0,
            replicas_invoked: 0,
            largest_replica_tokens: 0,
            replica_time_ns: 0,
            ready_ns: 0,
            billed_ms: 0,
            mb_ms: 0,
            requests: 0,
            puts: 0,
            gets: 0,
            usd: 0.0,
        });
    }
    let g = g.clamp(1, d);
    let (q, rem) = (d / g, d % g);
    let big = q + u32::from(rem > 0);
    let big64 = big as u64;
    let needed = needed_bytes(model, expert, big);
    if needed > memory_mb as u64 * BYTES_PER_MB {
        return Err(Violation::Memory(needed));
    }
    if mode == Mode::Direct {
        if big64 * model.d_in > p.payload_limit {
            return Err(Violation::Payload("input", big64 * model.d_in));
        }
        if big64 * model.d_out > p.payload_limit {
            return Err(Violation::Payload("output", big64 * model.d_out));
        }
    }
    let t = |r: u32| {
        replica_time(
            p,
            mode,
            beta,
            r,
            expert.params,
            per_token_ns,
            model.d_in,
            model.d_out,
        )
    };
    // `rem` replicas of `big` tokens (all g of them when rem = 0), the rest of `q`.
    let (n_big, n_small) = if rem == 0 { (g, 0) } else { (rem, g - rem) };
    let t_big = t(big);
    let t_small = if n_small > 0 { t(q) } else { 0 };
    let gran = p.granularity;
    let ms_big = billed_ms(SimDuration(t_big), gran);
    let ms_small = billed_ms(SimDuration(t_small), gran);
    let billed = n_big as u64 * ms_big + n_small as u64 * ms_small;
    let mb_ms = billed as u128 * memory_mb as u128;
    let objs = n_big as u64 * objects(mode, beta, big) + n_small as u64 * objects(mode, beta, q);
    let requests = g as u64;
    // Every invocation also GETs the expert's parameters.
    let usd = mb_ms as f64 / 1024.0 / 1000.0 * p.gb_s_price
        + requests as f64 * (p.request_fee + p.s3_get_fee)
        + objs as f64 * (p.s3_put_fee + p.s3_get_fee);
    let ready = match mode {
        Mode::Direct => p.f2f_xfer(big64 * model.d_in) + t_big,
        _ => t_big,
    };
    Ok(ExpertCost {
        tokens: d,
        replicas_invoked: g,
        largest_replica_tokens: big,
        replica_time_ns: t_big,
        ready_ns: ready,
        billed_ms: billed,
        mb_ms,
        requests,
        puts: objs,
        gets: objs + requests,
        usd,
    })
}

/// Start, parameter download and compute of a non-MoE function on `tokens` tokens, ns.
pub fn dense_time(
    p: &Platform,
    block: &DenseBlock,
    tokens: u32,
    key: &str,
) -> Result<u64, MoeError> {
    Ok(dense_load(p, block) + dense_compute(p, block, tokens, key)?)
}

/// T^load: start and parameter download of a non-MoE function, ns.
pub fn dense_load(p: &Platform, block: &DenseBlock) -> u64 {
    p.warm_start.as_nanos() + p.s3_delay.as_nanos() + p.s3_xfer(block.params)
}

/// Compute of a non-MoE function on `tokens` tokens, ns.
pub fn dense_compute(
    p: &Platform,
    block: &DenseBlock,
    tokens: u32,
    key: &str,
) -> Result<u64, MoeError> {
    let u = block
        .compute
        .per_token(block.memory_mb, &p.cpu)
        .ok_or_else(|| {
            super::model::config(
                key,
                &format!("no per-token time for {} MB", block.memory_mb),
                "a compute table with a row for the function's memory size",
            )
        })?;
    Ok((tokens as u64).saturating_mul(u.as_nanos()))
}

/// The fixed terms of layer `e` with the given counts.
pub fn layer_terms(
    p: &Platform,
    model: &MoeModel,
    e: usize,
    counts: &[u32],
) -> Result<LayerTerms, MoeError> {
    let tokens: u64 = counts.iter().map(|&d| d as u64).sum();
    let dl = p.s3_delay.as_nanos();
    let (scatter, gather) = if tokens == 0 {
        (0, 0)
    } else {
        (
            dl + p.s3_xfer(tokens * model.d_in),
            dl + p.s3_xfer(tokens * model.d_out),
        )
    };
    let next = &model.layers[e].next;
    Ok(LayerTerms {
        tokens,
        scatter_ns: scatter,
        gather_ns: gather,
        load_next_ns: dense_load(p, next),
        next_compute_ns: dense_compute(
            p,
            next,
            model.batch_tokens,
            &format!("moe.model.layers[{e}].next.compute"),
        )?,
        gather_payload: tokens * model.d_out,
    })
}

/// t^lat_e from the fixed terms and the latest expert ready time.
#[inline]
pub fn layer_latency(mode: Mode, terms: &LayerTerms, max_ready_ns: u64) -> u64 {
    match mode {
        Mode::Direct => max_ready_ns + terms.load_next_ns,
        _ => (terms.scatter_ns + max_ready_ns).max(terms.load_next_ns) + terms.gather_ns,
    }
}

/// T^head and T^tail, ns.
pub fn head_tail(p: &Platform, model: &MoeModel) -> Result<(u64, u64), MoeError> {
    Ok((
        dense_time(p, &model.head, model.batch_tokens, "moe.model.head.compute")?,
        dense_time(p, &model.tail, model.batch_tokens, "moe.model.tail.compute")?,
    ))
}

pub(crate) fn violation_error(
    v: Violation,
    layer: usize,
    expert: usize,
    memory_mb: u32,
    limit: u64,
) -> MoeError {
    match v {
        Violation::Memory(bytes) => MoeError::Memory {
            layer,
            expert,
            needed_mb: bytes.div_ceil(BYTES_PER_MB),
            available: format!("the deployment gives it {memory_mb} MB"),
        },
        Violation::Payload(what, bytes) => MoeError::Payload {
            layer,
            what: format!("expert {expert}'s {what}"),
            bytes,
            limit,
        },
        Violation::NoTime => MoeError::Deployment(format!(
            "layer {layer}, expert {expert}: the compute table has no per-token time for {memory_mb} MB"
        )),
    }
}

/// Cost and latency of `deployment` for the token counts `counts` (layer × expert).
pub fn evaluate(
    model: &MoeModel,
    p: &Platform,
    counts: &[Vec<u32>],
    deployment: &Deployment,
) -> Result<Evaluation, MoeError> {
    model.check_counts(counts)?;
    if deployment.layers.len() != model.layers.len() {
        return Err(MoeError::Deployment(format!(
            "{} layers for a model with {} MoE layers",
            deployment.layers.len(),
            model.layers.len()
        )));
    }
    let (head_ns, tail_ns) = head_tail(p, model)?;
    let mut layers = Vec::with_capacity(model.layers.len());
    let mut latency = head_ns + tail_ns;
    let (mut usd, mut gb_s) = (0.0, 0.0);
    for (e, ((layer, dep), c)) in model
        .layers
        .iter()
        .zip(&deployment.layers)
        .zip(counts)
        .enumerate()
    {
        let lc = evaluate_layer(model, p, e, layer, dep, c)?;
        latency += lc.latency_ns + lc.terms.next_compute_ns;
        usd += lc.usd;
        gb_s += lc.gb_s;
        layers.push(lc);
    }
    Ok(Evaluation {
        layers,
        head_ns,
        tail_ns,
        latency_ns: latency,
        usd,
        gb_s,
        tokens_per_s: model.batch_tokens as f64 / (latency as f64 / 1e9),
    })
}

fn evaluate_layer(
    model: &MoeModel,
    p: &Platform,
    e: usize,
    layer: &super::model::MoeLayer,
    dep: &LayerDeployment,
    counts: &[u32],
) -> Result<LayerCost, MoeError> {
    if dep.experts.len() != layer.experts.len() {
        return Err(MoeError::Deployment(format!(
            "layer {e} has {} expert choices for {} experts",
            dep.experts.len(),
            layer.experts.len()
        )));
    }
    if dep.beta == 0 {
        return Err(MoeError::Deployment(format!(
            "layer {e}: β is 0; it must be at least 1 token"
        )));
    }
    let terms = layer_terms(p, model, e, counts)?;
    if dep.mode == Mode::Direct && terms.gather_payload > p.payload_limit {
        return Err(MoeError::Payload {
            layer: e,
            what: "the gather into the next function".into(),
            bytes: terms.gather_payload,
            limit: p.payload_limit,
        });
    }
    let mut experts = Vec::with_capacity(counts.len());
    let (mut usd, mut mb_ms, mut max_ready) = (0.0, 0u128, 0u64);
    for (i, ((x, ch), &d)) in layer
        .experts
        .iter()
        .zip(&dep.experts)
        .zip(counts)
        .enumerate()
    {
        if ch.replicas == 0 || ch.replicas > p.max_replicas {
            return Err(MoeError::Deployment(format!(
                "layer {e}, expert {i}: {} replicas; allowed: 1 to {}",
                ch.replicas, p.max_replicas
            )));
        }
        if !(128..=10240).contains(&ch.memory_mb) {
            return Err(MoeError::Deployment(format!(
                "layer {e}, expert {i}: {} MB; allowed: 128 MB to 10,240 MB",
                ch.memory_mb
            )));
        }
        let u = x.compute.per_token(ch.memory_mb, &p.cpu);
        let ec = u
            .ok_or(Violation::NoTime)
            .and_then(|u| {
                expert_cost(
                    p,
                    model,
                    x,
                    dep.mode,
                    dep.beta,
                    d,
                    ch.memory_mb,
                    ch.replicas,
                    u.as_nanos(),
                )
            })
            .map_err(|v| violation_error(v, e, i, ch.memory_mb, p.payload_limit))?;
        usd += ec.usd;
        mb_ms += ec.mb_ms;
        max_ready = max_ready.max(ec.ready_ns);
        experts.push(ec);
    }
    Ok(LayerCost {
        mode: dep.mode,
        beta: dep.beta,
        experts,
        latency_ns: layer_latency(dep.mode, &terms, max_ready),
        terms,
        usd,
        gb_s: mb_ms as f64 / 1024.0 / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::faas::CpuCurve;
    use crate::moe::model::{ComputeLaw, MoeLayer};

    /// T^dl = 10 ms, B^s = 1 MB/s, B^f = 2 MB/s, T^str = 5 ms, 1 ms billing.
    fn platform() -> Platform {
        Platform {
            s3_delay: SimDuration::from_millis(10),
            s3_bandwidth: 1e6,
            f2f_bandwidth: 2e6,
            warm_start: SimDuration::from_millis(5),
            payload_limit: 1_000_000,
            memory_menu: vec![128, 1024],
            max_replicas: 8,
            gb_s_price: 1e-5,
            granularity: SimDuration::from_millis(1),
            request_fee: 1e-7,
            s3_put_fee: 5e-6,
            s3_get_fee: 4e-7,
            cpu: CpuCurve {
                mb_per_vcpu: 1769.0,
                max_vcpus: 6.0,
            },
            eq6: Eq6Reading::Consistent,
        }
    }

    /// One layer of two experts: 1 MB of parameters (1 s to download), 2 ms per token at
    /// 1,024 MB, 1,000-byte tokens; the next function has 0.5 MB of parameters.
    fn model() -> MoeModel {
        let law = ComputeLaw::Table(vec![(1024, SimDuration::from_millis(2))]);
        let expert = Expert {
            params: 1_000_000,
            intermediate: 0,
            compute: law.clone(),
        };
        let block = |params| DenseBlock {
            name: "b".into(),
            params,
            memory_mb: 1024,
            compute: law.clone(),
        };
        MoeModel {
            name: "toy".into(),
            head: block(0),
            layers: vec![MoeLayer {
                experts: vec![expert.clone(), expert],
                next: block(500_000),
            }],
            tail: block(0),
            top_k: 1,
            d_in: 1000,
            d_out: 1000,
            batch_tokens: 10,
        }
    }

    fn one(mode: Mode, beta: u32, g: u32) -> ExpertCost {
        let m = model();
        expert_cost(
            &platform(),
            &m,
            &m.layers[0].experts[0],
            mode,
            beta,
            10,
            1024,
            g,
            2_000_000,
        )
        .unwrap()
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn replica_times_by_hand() {
        // T^h = 1 MB / 1 MB/s + 10 ms + 5 ms = 1,015 ms.
        // Mode 2, r = 10: T^h + 2·10 ms + 10·2,000 B / 1 MB/s (20 ms) + 10·2 ms = 1,075 ms.
        let c = one(Mode::Storage, 1, 1);
        assert_eq!(c.replica_time_ns, 1075 * MS);
        // Billed 1,075 ms × 1,024 MB = 1.075 GB-s → $1.075e-5; 1 request $1e-7;
        // 2 PUT ($1e-5) + 2 GET ($8e-7) of the objects, 1 GET of the parameters ($4e-7).
        // Total $2.205e-5.
        assert_eq!((c.billed_ms, c.puts, c.gets, c.requests), (1075, 2, 3, 1));
        assert!((c.usd - 2.205e-5).abs() < 1e-15, "{}", c.usd);
        // Mode 3: T^h + 10·(1,000 B / 2 MB/s = 0.5 ms + 2 ms) = 1,040 ms; ready after the
        // 10,000-byte input payload (5 ms): 1,045 ms. No storage objects.
        let c = one(Mode::Direct, 1, 1);
        assert_eq!(
            (c.replica_time_ns, c.ready_ns, c.puts),
            (1040 * MS, 1045 * MS, 0)
        );
        // Mode 1, β = 4: n = 3 blocks of t^blk = 10 ms + max(4 ms + 8 ms, 4 ms) = 22 ms,
        // then the last upload 10 ms + 4 ms: 1,015 + 66 + 14 = 1,095 ms; 3 + 3 objects (and
        // the parameters' GET).
        let c = one(Mode::PipelinedStorage, 4, 1);
        assert_eq!((c.replica_time_ns, c.puts, c.gets), (1095 * MS, 6, 7));
        // β larger than r: one minibatch of 10 tokens, the same time as mode 2.
        assert_eq!(
            one(Mode::PipelinedStorage, 20, 1).replica_time_ns,
            1075 * MS
        );
    }

    #[test]
    fn printed_eq6_swaps_blocks_and_beta() {
        // T^h + (10 ms + 3·1 ms) + 4·22 ms = 1,015 + 13 + 88 = 1,116 ms.
        let mut p = platform();
        p.eq6 = Eq6Reading::Printed;
        let m = model();
        let c = expert_cost(
            &p,
            &m,
            &m.layers[0].experts[0],
            Mode::PipelinedStorage,
            4,
            10,
            1024,
            1,
            2_000_000,
        )
        .unwrap();
        assert_eq!(c.replica_time_ns, 1116 * MS);
    }

    #[test]
    fn replicas_split_tokens_and_are_each_billed() {
        // 10 tokens on 3 replicas: 4, 3, 3. Mode 2: t(4) = 1,015 + 20 + 8 + 8 = 1,051 ms,
        // t(3) = 1,015 + 20 + 6 + 6 = 1,047 ms; billed 1,051 + 2·1,047 = 3,145 ms.
        let c = one(Mode::Storage, 1, 3);
        assert_eq!(c.largest_replica_tokens, 4);
        assert_eq!(c.replica_time_ns, 1051 * MS);
        assert_eq!((c.billed_ms, c.requests, c.puts), (3145, 3, 6));
        assert_eq!(c.mb_ms, 3145 * 1024);
        // More replicas than tokens: only as many as tokens are invoked.
        assert_eq!(one(Mode::Storage, 1, 8).replicas_invoked, 8);
        let m = model();
        let c = expert_cost(
            &platform(),
            &m,
            &m.layers[0].experts[0],
            Mode::Storage,
            1,
            2,
            1024,
            8,
            2_000_000,
        )
        .unwrap();
        assert_eq!(c.replicas_invoked, 2);
    }

    #[test]
    fn billing_granularity_rounds_each_replica_up() {
        let mut p = platform();
        p.granularity = SimDuration::from_millis(100);
        let m = model();
        let c = expert_cost(
            &p,
            &m,
            &m.layers[0].experts[0],
            Mode::Storage,
            1,
            10,
            1024,
            1,
            2_000_000,
        )
        .unwrap();
        // 1,075 ms → 1,100 ms.
        assert_eq!(c.billed_ms, 1100);
    }

    #[test]
    fn layer_latency_and_end_to_end_by_hand() {
        let (m, p) = (model(), platform());
        let counts = vec![vec![10, 0]];
        let dep = |mode| Deployment {
            layers: vec![LayerDeployment {
                mode,
                beta: 1,
                experts: vec![
                    ExpertChoice {
                        memory_mb: 1024,
                        replicas: 1,
                    };
                    2
                ],
            }],
        };
        // S1 = S3 = 10 ms + 10,000 B / 1 MB/s = 20 ms; T^load = 5 + 10 + 500 ms = 515 ms.
        // Mode 2: max(20 + 1,075, 515) + 20 = 1,115 ms. The idle expert costs nothing.
        let ev = evaluate(&m, &p, &counts, &dep(Mode::Storage)).unwrap();
        let l = &ev.layers[0];
        assert_eq!((l.terms.scatter_ns, l.terms.gather_ns), (20 * MS, 20 * MS));
        assert_eq!(l.terms.load_next_ns, 515 * MS);
        assert_eq!(l.latency_ns, 1115 * MS);
        assert_eq!(l.experts[1].usd, 0.0);
        // T^head = T^tail = 5 + 10 + 0 + 10 tokens · 2 ms = 35 ms; T^NE = 20 ms.
        // End to end: 35 + 35 + 1,115 + 20 = 1,205 ms.
        assert_eq!((ev.head_ns, ev.tail_ns), (35 * MS, 35 * MS));
        assert_eq!(ev.latency_ns, 1205 * MS);
        assert!((ev.usd - 2.205e-5).abs() < 1e-15);
        // Mode 3: ready 1,045 ms + T^load 515 ms = 1,560 ms.
        let ev = evaluate(&m, &p, &counts, &dep(Mode::Direct)).unwrap();
        assert_eq!(ev.layers[0].latency_ns, 1560 * MS);
    }

    #[test]
    fn constraints_name_layer_and_expert() {
        let (mut m, mut p) = (model(), platform());
        let counts = vec![vec![10, 4]];
        let dep = |mode, mem| Deployment {
            layers: vec![LayerDeployment {
                mode,
                beta: 1,
                experts: vec![
                    ExpertChoice {
                        memory_mb: mem,
                        replicas: 1,
                    };
                    2
                ],
            }],
        };
        m.layers[0].experts[1].intermediate = 200 * BYTES_PER_MB;
        m.layers[0].experts[1].compute =
            ComputeLaw::Table(vec![(128, SimDuration::from_millis(2))]);
        m.layers[0].experts[0].compute =
            ComputeLaw::Table(vec![(128, SimDuration::from_millis(2))]);
        // 1 MB + 200 MiB + 4 tokens × 2,000 B = 210,723,200 B = 200.96 MiB → 201 MB.
        let err = evaluate(&m, &p, &counts, &dep(Mode::Storage, 128)).unwrap_err();
        assert!(
            matches!(
                err,
                MoeError::Memory {
                    layer: 0,
                    expert: 1,
                    needed_mb: 201,
                    ..
                }
            ),
            "{err}"
        );
        // 10 tokens × 1,000 B = 10,000 B over a 5,000 B payload limit: the gather (10 + 4
        // tokens) breaks it first.
        let m = model();
        p.payload_limit = 5_000;
        let err = evaluate(&m, &p, &counts, &dep(Mode::Direct, 1024)).unwrap_err();
        assert!(
            matches!(
                err,
                MoeError::Payload {
                    layer: 0,
                    bytes: 14_000,
                    ..
                }
            ),
            "{err}"
        );
        // 2,000-byte inputs, 500-byte outputs: the gather of 12 tokens (6,000 B) fits a
        // 20,000 B limit, expert 0's input (24,000 B) does not.
        let mut m = model();
        (m.d_in, m.d_out) = (2000, 500);
        p.payload_limit = 20_000;
        let err = evaluate(&m, &p, &[vec![12, 0]], &dep(Mode::Direct, 1024)).unwrap_err();
        assert!(err.to_string().contains("expert 0's input"), "{err}");
    }
}
