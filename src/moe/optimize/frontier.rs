//! Per-layer Pareto frontiers (latency, cost) over modes × β × per-expert (memory, replicas).
//!
//! Given a mode and β, a layer's latency is a non-decreasing function of the latest expert
//! ready time (see [`layer_latency`]), and its cost is the sum of the experts' costs. So for a
//! threshold L on the ready time every expert independently takes its cheapest option ready
//! by L; sweeping L over all options' ready times gives the exact frontier.
//!
//! # β candidates (mode 1)
//! For a replica of r tokens the number of minibatches is n = ⌈r/β⌉; on an interval of β
//! where every replica size of the layer keeps its n ("piece"), every replica time and every
//! object count is non-decreasing in β, so the left end of each piece, some ⌈r/n⌉, is best
//! in it. A piece is dropped when its left end β makes every replica r of the layer either
//! unaffected (r ≤ β) or no better than one single minibatch: with the consistent reading,
//! `(n−1)·T^dl ≥ r·D^o/B^s + n + 1` ns implies t^rep(β) ≥ t^rep(r) (the n blocks carry at
//! least the r tokens' download and compute, and the extra T^dl's exceed the whole output
//! upload; the n + 1 ns cover rounding) and 2n ≥ 2 objects; such a piece is dominated by
//! β = max r, which is always a candidate. Nothing is dropped for the printed reading or
//! when T^dl = 0.

use crate::moe::cost::{
    ExpertChoice, LayerDeployment, Mode, Violation, expert_cost, layer_latency, violation_error,
};
use crate::moe::error::MoeError;
use crate::moe::model::Eq6Reading;

use super::Prepared;

/// One point of a layer's frontier.
#[derive(Clone, Debug)]
pub(crate) struct LayerPoint {
    /// t^lat_e, ns.
    pub lat: u64,
    /// Dollars of the layer's experts.
    pub usd: f64,
    /// The deployment achieving it.
    pub dep: LayerDeployment,
}

#[derive(Clone, Copy, Debug)]
struct Opt {
    ready: u64,
    usd: f64,
    mem: u32,
    g: u32,
}

/// The exact frontier of layer `e` restricted to `modes`, sorted by latency with strictly
/// decreasing cost; an error naming the first broken constraint when it is empty.
pub(crate) fn layer_frontier(
    prep: &Prepared,
    e: usize,
    modes: &[Mode],
) -> Result<Vec<LayerPoint>, MoeError> {
    let mut points = Vec::new();
    let mut first_err: Option<MoeError> = None;
    for &mode in modes {
        let betas = if mode == Mode::PipelinedStorage {
            beta_candidates(prep, e)
        } else {
            vec![1]
        };
        for beta in betas {
            match mode_beta_frontier(prep, e, mode, beta, &mut points) {
                Ok(()) => {}
                Err(err) => {
                    first_err.get_or_insert(err);
                }
            }
        }
    }
    if points.is_empty() {
        return Err(first_err.unwrap_or(MoeError::NoFeasibleMode {
            layer: e,
            reason: "no mode was allowed".into(),
        }));
    }
    Ok(pareto(points))
}

/// Sorts by (latency, cost) and keeps the points whose cost is strictly below every
/// faster point's.
pub(crate) fn pareto(mut points: Vec<LayerPoint>) -> Vec<LayerPoint> {
    points.sort_by(|a, b| a.lat.cmp(&b.lat).then(a.usd.total_cmp(&b.usd)));
    let mut out: Vec<LayerPoint> = Vec::with_capacity(points.len());
    for p in points {
        if out.last().is_none_or(|l| p.usd < l.usd) {
            out.push(p);
        }
    }
    out
}

fn mode_beta_frontier(
    prep: &Prepared,
    e: usize,
    mode: Mode,
    beta: u32,
    out: &mut Vec<LayerPoint>,
) -> Result<(), MoeError> {
    let (model, p) = (prep.model, prep.platform);
    let terms = &prep.terms[e];
    if mode == Mode::Direct && terms.gather_payload > p.payload_limit {
        return Err(MoeError::Payload {
            layer: e,
            what: "the gather into the next function".into(),
            bytes: terms.gather_payload,
            limit: p.payload_limit,
        });
    }
    let layer = &model.layers[e];
    let counts = &prep.counts[e];
    let mut fronts: Vec<Vec<Opt>> = Vec::with_capacity(layer.experts.len());
    for (i, x) in layer.experts.iter().enumerate() {
        let d = counts[i];
        let mut opts = Vec::new();
        let mut last_violation: Option<(Violation, u32)> = None;
        if d == 0 {
            opts.push(Opt {
                ready: 0,
                usd: 0.0,
                mem: p.memory_menu[0],
                g: 1,
            });
        } else {
            for (j, &mem) in p.memory_menu.iter().enumerate() {
                let Some(u) = prep.per_token[e][i][j] else {
                    last_violation = Some((Violation::NoTime, mem));
                    continue;
                };
                for g in 1..=p.max_replicas.min(d) {
                    match expert_cost(p, model, x, mode, beta, d, mem, g, u) {
                        Ok(c) => opts.push(Opt {
                            ready: c.ready_ns,
                            usd: c.usd,
                            mem,
                            g,
                        }),
                        Err(v) => last_violation = Some((v, mem)),
                    }
                }
            }
        }
        if opts.is_empty() {
            let (v, mem) = last_violation.unwrap_or((Violation::NoTime, 0));
            let err = match v {
                Violation::Memory(bytes) => MoeError::Memory {
                    layer: e,
                    expert: i,
                    needed_mb: bytes.div_ceil(crate::moe::model::BYTES_PER_MB),
                    available: format!(
                        "the largest size on the menu is {} MB",
                        p.memory_menu.last().copied().unwrap_or(0)
                    ),
                },
                other => violation_error(other, e, i, mem, p.payload_limit),
            };
            return Err(err);
        }
        opts.sort_by(|a, b| a.ready.cmp(&b.ready).then(a.usd.total_cmp(&b.usd)));
        let mut f: Vec<Opt> = Vec::with_capacity(16);
        for o in opts {
            if f.last().is_none_or(|l| o.usd < l.usd) {
                f.push(o);
            }
        }
        fronts.push(f);
    }
    // Sweep the threshold L over all ready times, starting where every expert has an option.
    let start = fronts.iter().map(|f| f[0].ready).max().unwrap_or(0);
    let mut idx: Vec<usize> = fronts
        .iter()
        .map(|f| f.partition_point(|o| o.ready <= start) - 1)
        .collect();
    let mut events: Vec<(u64, usize)> = fronts
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.iter()
                .filter(|o| o.ready > start)
                .map(move |o| (o.ready, i))
        })
        .collect();
    events.sort_unstable();
    let mut last_usd = f64::INFINITY;
    let mut emit = |idx: &[usize], last_usd: &mut f64| {
        let usd: f64 = idx.iter().zip(&fronts).map(|(&k, f)| f[k].usd).sum();
        if usd < *last_usd {
            *last_usd = usd;
            let ready = idx
                .iter()
                .zip(&fronts)
                .map(|(&k, f)| f[k].ready)
                .max()
                .unwrap_or(0);
            out.push(LayerPoint {
                lat: layer_latency(mode, terms, ready),
                usd,
                dep: LayerDeployment {
                    mode,
                    beta,
                    experts: idx
                        .iter()
                        .zip(&fronts)
                        .map(|(&k, f)| ExpertChoice {
                            memory_mb: f[k].mem,
                            replicas: f[k].g,
                        })
                        .collect(),
                },
            });
        }
    };
    emit(&idx, &mut last_usd);
    let mut k = 0;
    while k < events.len() {
        let l = events[k].0;
        while k < events.len() && events[k].0 == l {
            let i = events[k].1;
            idx[i] += 1;
            k += 1;
        }
        emit(&idx, &mut last_usd);
    }
    Ok(())
}

/// The β values worth trying for mode 1 in layer `e` (see the module docs).
pub(crate) fn beta_candidates(prep: &Prepared, e: usize) -> Vec<u32> {
    let p = prep.platform;
    let g_max = p.max_replicas;
    let mut sizes: Vec<u32> = Vec::new();
    for &d in &prep.counts[e] {
        for g in 1..=g_max.min(d) {
            let q = d / g;
            sizes.push(d.div_ceil(g));
            if q > 0 {
                sizes.push(q);
            }
        }
    }
    sizes.sort_unstable();
    sizes.dedup();
    let Some(&r_max) = sizes.last() else {
        return vec![1];
    };
    let dl = p.s3_delay.as_nanos();
    let prune = p.eq6 == Eq6Reading::Consistent && dl > 0;
    // Replica r at block count n is no better than one minibatch.
    let bad = |r: u32, n: u64| -> bool {
        prune && (n - 1).saturating_mul(dl) > p.s3_xfer(r as u64 * prep.model.d_out) + n
    };
    let mut cands: Vec<u32> = Vec::new();
    for &r in &sizes {
        // Left ends ⌈r/n⌉ for every n: O(√r) distinct values.
        let mut n = 1u32;
        while n <= r {
            let b = r.div_ceil(n);
            cands.push(b);
            // Next n giving a smaller ⌈r/n⌉.
            let next = if b > 1 { r.div_ceil(b - 1) } else { r + 1 };
            n = next.max(n + 1);
        }
    }
    cands.sort_unstable();
    cands.dedup();
    cands.retain(|&b| {
        b == r_max
            || sizes
                .iter()
                .any(|&r| r > b && !bad(r, (r as u64).div_ceil(b as u64)))
    });
    cands
}
