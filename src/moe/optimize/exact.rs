//! The exact optimiser: minimum total cost subject to (12c), (12d), (12f).
//!
//! Every layer's exact (latency, cost) frontier ([`super::frontier`]) is merged into the
//! frontier of the layers so far by a min-plus (Minkowski) sum followed by a Pareto filter,
//! dropping every partial point that cannot meet the latency budget even with the fastest
//! choice for the remaining layers. Latencies are integer ns, so nothing is discretised and the
//! result is exact; the cheapest point of the last frontier within the budget is the optimum.

use crate::moe::cost::{Deployment, LayerDeployment, Mode};
use crate::moe::error::MoeError;
use crate::moe::model::{MoeModel, Platform};

use super::frontier::{LayerPoint, layer_frontier};
use super::{Plan, Prepared};

/// The minimum-cost deployment over all modes, β, memories and replica counts whose
/// end-to-end latency is at most `limit_ns`.
pub fn exact(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    limit_ns: u64,
) -> Result<Plan, MoeError> {
    let modes = vec![Mode::ALL.to_vec(); model.layers.len()];
    exact_with_modes(model, platform, counts, limit_ns, &modes)
}

/// [`exact`] with the modes each layer may use (`modes[e]`).
pub fn exact_with_modes(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    limit_ns: u64,
    modes: &[Vec<Mode>],
) -> Result<Plan, MoeError> {
    let prep = Prepared::new(model, platform, counts)?;
    let fronts = layer_frontiers(&prep, modes)?;
    let dep = combine(&prep, &fronts, limit_ns)?;
    prep.plan(dep)
}

pub(crate) fn layer_frontiers(
    prep: &Prepared,
    modes: &[Vec<Mode>],
) -> Result<Vec<Vec<LayerPoint>>, MoeError> {
    if modes.len() != prep.model.layers.len() {
        return Err(MoeError::Deployment(format!(
            "{} mode sets for {} MoE layers",
            modes.len(),
            prep.model.layers.len()
        )));
    }
    (0..prep.model.layers.len())
        .map(|e| layer_frontier(prep, e, &modes[e]))
        .collect()
}

#[derive(Clone, Copy)]
struct Partial {
    lat: u64,
    usd: f64,
    /// Index of the partial point of the previous step this extends.
    prev: u32,
    /// Index of the layer point taken.
    pick: u32,
}

/// The cheapest combination of one point per layer within `limit_ns`.
pub(crate) fn combine(
    prep: &Prepared,
    fronts: &[Vec<LayerPoint>],
    limit_ns: u64,
) -> Result<Deployment, MoeError> {
    let fastest: u64 = prep.fixed_ns + fronts.iter().map(|f| f[0].lat).sum::<u64>();
    if fastest > limit_ns {
        return Err(MoeError::LatencyLimit {
            fastest_ns: fastest,
            limit_ns,
        });
    }
    let budget = limit_ns - prep.fixed_ns;
    // Fastest latency of layers e.. (suffix sums).
    let mut rest = vec![0u64; fronts.len() + 1];
    for e in (0..fronts.len()).rev() {
        rest[e] = rest[e + 1] + fronts[e][0].lat;
    }
    // Branch and bound: an incumbent feasible cost (each layer may use its share of the slack
    // beyond the fastest combination) and, per layer, the cheapest cost of the layers after it
    // (their cheapest points, latency ignored). A partial whose cost plus that bound exceeds
    // the incumbent cannot lead to the optimum, so dropping it keeps the result exact.
    let slack = budget - rest[0];
    let share = slack / fronts.len().max(1) as u64;
    let incumbent: f64 = fronts
        .iter()
        .map(|f| {
            let cap = f[0].lat + share;
            f.iter()
                .take_while(|p| p.lat <= cap)
                .last()
                .map_or(f[0].usd, |p| p.usd)
        })
        .sum();
    let mut cheapest_after = vec![0.0f64; fronts.len() + 1];
    for e in (0..fronts.len()).rev() {
        let min = fronts[e]
            .iter()
            .map(|p| p.usd)
            .fold(f64::INFINITY, f64::min);
        cheapest_after[e] = cheapest_after[e + 1] + min;
    }
    // Float sums in another order may differ in the last bits: a relative margin keeps ties.
    let bound = incumbent * (1.0 + 1e-9) + 1e-12;
    let mut history: Vec<Vec<Partial>> = Vec::with_capacity(fronts.len());
    let mut cur = vec![Partial {
        lat: 0,
        usd: 0.0,
        prev: 0,
        pick: 0,
    }];
    let mut next: Vec<Partial> = Vec::new();
    for (e, f) in fronts.iter().enumerate() {
        next.clear();
        let room = budget - rest[e + 1];
        for (a, pa) in cur.iter().enumerate() {
            for (b, pb) in f.iter().enumerate() {
                let lat = pa.lat + pb.lat;
                if lat > room {
                    break; // f is sorted by latency
                }
                if pa.usd + pb.usd + cheapest_after[e + 1] > bound {
                    continue;
                }
                next.push(Partial {
                    lat,
                    usd: pa.usd + pb.usd,
                    prev: a as u32,
                    pick: b as u32,
                });
            }
        }
        next.sort_unstable_by(|x, y| {
            x.lat
                .cmp(&y.lat)
                .then(x.usd.total_cmp(&y.usd))
                .then(x.prev.cmp(&y.prev))
                .then(x.pick.cmp(&y.pick))
        });
        let mut kept: Vec<Partial> = Vec::with_capacity(next.len().min(4096));
        for p in &next {
            if kept.last().is_none_or(|l| p.usd < l.usd) {
                kept.push(*p);
            }
        }
        history.push(std::mem::replace(&mut cur, kept));
    }
    // The cheapest point is the last one (costs decrease along the frontier).
    let Some(best) = cur.last().copied() else {
        return Err(MoeError::LatencyLimit {
            fastest_ns: fastest,
            limit_ns,
        });
    };
    let mut layers: Vec<LayerDeployment> = Vec::with_capacity(fronts.len());
    let mut p = best;
    for e in (0..fronts.len()).rev() {
        layers.push(fronts[e][p.pick as usize].dep.clone());
        if e > 0 {
            p = history[e][p.prev as usize];
        }
    }
    layers.reverse();
    Ok(Deployment { layers })
}
