//! The decaying multi-dimensional ε-greedy acquisition of Alg. 2 (step 5); the rules are in
//! the [module docs of `refine`](super) ("Proposal").
//!
//! All draws come from one stream per iteration and are made in a fixed order; candidates are
//! scored in parallel but collected by index, so the proposal does not depend on the number of
//! threads.

use std::collections::BTreeSet;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::gp::{Gp, Kernel};
use super::space::{Slot, Space};
use crate::kernel::rng::SimRng;

/// Expected number of dimensions a candidate moves.
const MOVED_DIMENSIONS: f64 = 16.0;
/// Standard deviation of a candidate's step, as a fraction of the dimension's range.
const STEP: f64 = 0.2;

/// What a proposal needs.
pub(crate) struct Proposal<'a> {
    pub space: &'a Space,
    /// The values of every measured iteration.
    pub xs: &'a [Vec<u64>],
    /// Their costs (infinite when the optimiser found no deployment).
    pub ys: &'a [f64],
    /// Index of the incumbent in `xs`.
    pub incumbent: usize,
    /// ε of dimensions 0..space.existing.
    pub eps_existing: f64,
    /// ε of the other dimensions.
    pub eps_normal: f64,
    /// 𝕃_τ.
    pub limited: &'a BTreeSet<Slot>,
    /// N.
    pub candidates: usize,
}

fn kernels(dims: usize, xs: &[Vec<f64>], hi: &[u64]) -> Vec<Kernel> {
    let mut d: Vec<f64> = Vec::new();
    for i in 0..xs.len() {
        for j in 0..i {
            let s: f64 = xs[i]
                .iter()
                .zip(&xs[j])
                .zip(hi)
                .map(|((a, b), &h)| ((a - b) / h as f64).powi(2))
                .sum();
            d.push(s.sqrt());
        }
    }
    d.sort_by(f64::total_cmp);
    let median = d.get(d.len() / 2).copied().unwrap_or(0.0);
    let base = if median > 0.0 { median } else { 1.0 };
    let mut out = Vec::new();
    for m in [0.5, 1.0, 2.0, 4.0] {
        for noise in [1e-6, 1e-3, 1e-2] {
            out.push(Kernel::isotropic(dims, base * m, noise));
        }
    }
    out
}

/// Proposes the next values (see the module docs).
pub(crate) fn propose(p: &Proposal<'_>, rng: &mut SimRng) -> Vec<u64> {
    let space = p.space;
    let dims = space.len();
    let inc = &p.xs[p.incumbent];
    // Candidates (drawn sequentially: the draws do not depend on threads).
    let move_p = (MOVED_DIMENSIONS / dims.max(1) as f64).min(1.0);
    let mut cands: Vec<Vec<u64>> = Vec::with_capacity(p.candidates.max(1));
    cands.push(inc.clone());
    for _ in 1..p.candidates.max(1) {
        let mut c = inc.clone();
        for (q, v) in c.iter_mut().enumerate() {
            if rng.random::<f64>() < move_p {
                let z: f64 = StandardNormal.sample(rng);
                let h = space.hi[q] as f64;
                *v = (*v as f64 + z * STEP * h).round().clamp(0.0, h) as u64;
            }
        }
        cands.push(c);
    }
    // Surrogate and greedy candidate.
    let finite: Vec<f64> = p.ys.iter().copied().filter(|y| y.is_finite()).collect();
    let worst = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let best = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let stand_in = if finite.is_empty() {
        1.0
    } else {
        worst + (worst - best).max(worst.abs() * 0.1).max(1e-12)
    };
    let ys: Vec<f64> =
        p.ys.iter()
            .map(|&y| if y.is_finite() { y } else { stand_in })
            .collect();
    let xf: Vec<Vec<f64>> =
        p.xs.iter()
            .map(|x| x.iter().map(|&v| v as f64).collect())
            .collect();
    let bounds: Vec<(f64, f64)> = space.hi.iter().map(|&h| (0.0, h as f64)).collect();
    let greedy = match Gp::fit_best(&xf, &ys, &bounds, &kernels(dims, &xf, &space.hi)) {
        Ok(gp) => {
            let means: Vec<f64> = cands
                .par_iter()
                .map(|c| {
                    let cf: Vec<f64> = c.iter().map(|&v| v as f64).collect();
                    gp.predict(&cf).0
                })
                .collect();
            let mut k = 0;
            for (i, m) in means.iter().enumerate() {
                if *m < means[k] {
                    k = i;
                }
            }
            k
        }
        Err(_) => 0,
    };
    let mut next = cands.swap_remove(greedy);
    // Per-dimension exploration.
    for (q, v) in next.iter_mut().enumerate() {
        let eps = if q < space.existing {
            p.eps_existing
        } else {
            p.eps_normal
        };
        let u: f64 = rng.random();
        let draw = rng.random_range(0..=space.hi[q]);
        if u < eps && (q >= space.existing || p.limited.contains(&space.slot(q))) {
            *v = draw;
        }
    }
    next
}
