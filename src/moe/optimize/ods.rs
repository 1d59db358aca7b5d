//! ODS, the paper's Alg. 1.
//!
//! 1. Solve the problem three times with one mode a for all layers (here: exactly, with
//!    [`super::exact_with_modes`]; the paper uses Gurobi on the MIQCP), giving the per-layer
//!    costs c_{a,e} and designs. A mode whose problem is infeasible has c_{a,e} = ∞.
//! 2. At most 2|𝔼| times: take â_e = argmin_a c_{a,e} for every layer (ties: the lower mode
//!    number), combine the layers' designs and compute the end-to-end latency. If (12d) holds,
//!    stop. Otherwise set c_{â,ẽ} = ∞ for the layer ẽ of **highest** latency t^lat_e (the text
//!    says highest; the printed pseudo-code says argmin).
//! 3. Fallback: the single-mode solution of least total cost.
//!
//! Deviation, on by default ([`ods`]'s `keep_cheaper_fallback`): when step 2 ends with a mix
//! that costs more than the fallback (possible after repairs), the fallback is returned, so ODS
//! is never costlier than the best single mode. With the flag off, Alg. 1 as printed.

use crate::moe::cost::{Deployment, LayerDeployment, Mode};
use crate::moe::error::MoeError;
use crate::moe::model::{MoeModel, Platform};

use super::exact::{combine, layer_frontiers};
use super::{Plan, Prepared};

/// How ODS ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OdsOutcome {
    /// A per-layer mix met the latency limit after this many repairs.
    Mix {
        /// Layers whose cheapest mode was struck out.
        repairs: usize,
    },
    /// The single-mode fallback (step 3) was used.
    Fallback,
}

/// Runs Alg. 1; returns the plan and how it ended.
pub fn ods(
    model: &MoeModel,
    platform: &Platform,
    counts: &[Vec<u32>],
    limit_ns: u64,
    keep_cheaper_fallback: bool,
) -> Result<(Plan, OdsOutcome), MoeError> {
    let prep = Prepared::new(model, platform, counts)?;
    let n = model.layers.len();
    // Step 1: the three single-mode solutions.
    let mut designs: Vec<Option<Deployment>> = Vec::with_capacity(3);
    let mut first_err = None;
    for mode in Mode::ALL {
        let modes = vec![vec![mode]; n];
        let sol = layer_frontiers(&prep, &modes).and_then(|f| combine(&prep, &f, limit_ns));
        match sol {
            Ok(d) => designs.push(Some(d)),
            Err(e) => {
                first_err.get_or_insert(e);
                designs.push(None);
            }
        }
    }
    let mut cost = [
        vec![f64::INFINITY; n],
        vec![f64::INFINITY; n],
        vec![f64::INFINITY; n],
    ];
    let mut lats = [vec![0u64; n], vec![0u64; n], vec![0u64; n]];
    let mut totals = [f64::INFINITY; 3];
    for (a, d) in designs.iter().enumerate() {
        if let Some(d) = d {
            let ev = prep.plan(d.clone())?.evaluation;
            for (e, l) in ev.layers.iter().enumerate() {
                cost[a][e] = l.usd;
                lats[a][e] = l.latency_ns;
            }
            totals[a] = ev.usd;
        }
    }
    let fallback = (0..3)
        .filter(|&a| designs[a].is_some())
        .min_by(|&x, &y| totals[x].total_cmp(&totals[y]));
    let Some(fallback) = fallback else {
        return Err(first_err.unwrap_or(MoeError::LatencyLimit {
            fastest_ns: u64::MAX,
            limit_ns,
        }));
    };
    // Step 2: per-layer argmin with SLO repair.
    for repairs in 0..2 * n {
        let mut pick = vec![0usize; n];
        let mut ok = true;
        for (e, p) in pick.iter_mut().enumerate() {
            let best = (0..3)
                .filter(|&a| cost[a][e].is_finite())
                .min_by(|&x, &y| cost[x][e].total_cmp(&cost[y][e]));
            match best {
                Some(a) => *p = a,
                None => ok = false,
            }
        }
        if !ok {
            break;
        }
        let latency = prep.fixed_ns + (0..n).map(|e| lats[pick[e]][e]).sum::<u64>();
        if latency <= limit_ns {
            let layers: Vec<LayerDeployment> = (0..n)
                .map(|e| designs[pick[e]].as_ref().map(|d| d.layers[e].clone()))
                .collect::<Option<_>>()
                .ok_or_else(|| MoeError::Deployment("ODS lost a layer design".into()))?;
            let plan = prep.plan(Deployment { layers })?;
            if keep_cheaper_fallback && plan.usd() > totals[fallback] {
                break;
            }
            return Ok((plan, OdsOutcome::Mix { repairs }));
        }
        let worst = (0..n)
            .max_by(|&x, &y| lats[pick[x]][x].cmp(&lats[pick[y]][y]).then(y.cmp(&x)))
            .unwrap_or(0);
        cost[pick[worst]][worst] = f64::INFINITY;
    }
    // Step 3: the best single mode.
    let d = designs[fallback]
        .clone()
        .ok_or_else(|| MoeError::Deployment("ODS lost the fallback design".into()))?;
    Ok((prep.plan(d)?, OdsOutcome::Fallback))
}
