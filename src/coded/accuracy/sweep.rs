//! The accuracy sweep: ApproxIFER run for real on a classifier (Berrut-encoded pixel tensors in,
//! logits out, stragglers dropped, Byzantine answers corrupted, located and dropped, the K soft
//! labels decoded), beside ParM, replication and the uncoded model on the same images.
//!
//! Randomness: the K test images of group g depend only on (seed, K, g), so every scheme and every
//! (S, E, adversary) point of one K sees the same images (common random numbers). The stragglers
//! and Byzantine workers of group g depend on (seed, the point, g). Groups run in parallel and are
//! summed in index order, and forward passes go in fixed chunks, so the numbers do not depend on
//! the thread count.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use nalgebra::DMatrix;
use rand::RngExt;
use rand::seq::index;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use super::AccuracyError;
use super::data::Dataset;
use super::models::{CLASSES, Model, argmax};
use super::parm::sum_encode;
use super::table::{Adversary, Row, Scheme, wilson};
use crate::coded::{BerrutCode, EvalPoints, locate_errors};
use crate::kernel::rng;

/// The points to run.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// Queries per group.
    pub ks: Vec<usize>,
    /// Stragglers.
    pub ss: Vec<usize>,
    /// Byzantine workers (N = K + S when 0, 2(K+E) + S − 1 otherwise).
    pub es: Vec<usize>,
    /// Adversaries of the points with E > 0 (not [`Adversary::None`]).
    pub adversaries: Vec<Adversary>,
    /// Noise levels of the Gaussian adversary.
    pub sigmas: Vec<f64>,
    /// Groups of K queries per point.
    pub groups: usize,
    /// Master seed.
    pub seed: u64,
    /// ApproxIFER's evaluation points.
    pub points: EvalPoints,
}

impl SweepSpec {
    /// Checks the values against each other and against `test_images`; the message names the
    /// setting.
    pub fn validate(&self, test_images: usize) -> Result<(), AccuracyError> {
        let bad = |m: String| Err(AccuracyError::Input(m));
        if self.ks.is_empty() || self.ss.is_empty() || self.es.is_empty() {
            return bad("the K, S and E lists must not be empty".into());
        }
        if let Some(k) = self.ks.iter().find(|&&k| k < 1 || k > test_images) {
            return bad(format!(
                "K = {k}: K must be 1..={test_images} (the test images)"
            ));
        }
        if self.groups == 0 {
            return bad("groups must be at least 1".into());
        }
        if self.es.iter().any(|&e| e > 0) {
            if self.adversaries.is_empty() || self.adversaries.contains(&Adversary::None) {
                return bad("points with E > 0 need an adversary: gaussian or sign-flip".into());
            }
            if self.adversaries.contains(&Adversary::Gaussian) && self.sigmas.is_empty() {
                return bad("the gaussian adversary needs at least one sigma".into());
            }
        }
        if let Some(s) = self.sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return bad(format!(
                "sigma = {s}: the noise level must be a positive number"
            ));
        }
        Ok(())
    }

    /// The (adversary, σ) pairs of a point with `e` Byzantine workers.
    fn attacks(&self, e: usize) -> Vec<(Adversary, Option<f64>)> {
        if e == 0 {
            return vec![(Adversary::None, None)];
        }
        let mut out = Vec::new();
        for &a in &self.adversaries {
            match a {
                Adversary::Gaussian => out.extend(self.sigmas.iter().map(|&s| (a, Some(s)))),
                _ => out.push((a, None)),
            }
        }
        out
    }
}

/// What the sweep runs on: a classifier, its test split, and its parity models by K.
pub struct Experiment<'a> {
    /// The `model` column.
    pub name: &'a str,
    /// The classifier.
    pub model: &'a Model,
    /// The test images.
    pub test: &'a Dataset,
    /// Parity models by K (ParM is run for the K that have one).
    pub parity: &'a BTreeMap<usize, Model>,
}

/// ParM's accuracy on the queries whose answer was reconstructed (the straggler's), which is what
/// the paper's ParM bars measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Degraded {
    /// Queries per group.
    pub k: usize,
    /// Reconstructed answers.
    pub queries: usize,
    /// Of which correct.
    pub correct: usize,
}

/// The sweep's rows (`accuracy.csv`) and ParM's degraded-mode accuracy.
#[derive(Clone, Debug, Default)]
pub struct SweepOutput {
    /// The table, in order: per K, ParM's row, then per S, E, adversary and σ the uncoded,
    /// replication and ApproxIFER rows.
    pub rows: Vec<Row>,
    /// ParM's reconstructed-only accuracy per K.
    pub degraded: Vec<Degraded>,
}

/// The test images of each group for `k`.
fn groups_for(spec: &SweepSpec, n_test: usize, k: usize) -> Vec<Vec<usize>> {
    let name = format!("accuracy-groups-k{k}");
    (0..spec.groups)
        .map(|g| {
            index::sample(
                &mut rng::indexed_stream(spec.seed, &name, 0, g as u64),
                n_test,
                k,
            )
            .into_vec()
        })
        .collect()
}

/// Runs every point of `spec` on `exp`.
pub fn run_sweep(exp: &Experiment, spec: &SweepSpec) -> Result<SweepOutput, AccuracyError> {
    spec.validate(exp.test.len())?;
    let test = exp.test;
    let base_logits = exp.model.logits(&test.pixels, test.side)?;
    let base_ok: Vec<bool> = base_logits
        .chunks(CLASSES)
        .zip(&test.labels)
        .map(|(l, &y)| argmax(l) == y as usize)
        .collect();
    let mut out = SweepOutput::default();
    for &k in &spec.ks {
        let groups = groups_for(spec, test.len(), k);
        let queries = groups.len() * k;
        let base_correct: usize = groups
            .iter()
            .flat_map(|g| g.iter())
            .filter(|&&i| base_ok[i])
            .count();
        if let Some(parity) = exp.parity.get(&k) {
            let (row, deg) = parm_point(exp, spec, parity, &groups, &base_logits, k)?;
            out.rows.push(row);
            out.degraded.push(deg);
        }
        // Coded logits per N, shared by the points with the same N.
        let mut coded: BTreeMap<usize, (BerrutCode, Vec<f32>)> = BTreeMap::new();
        for &s in &spec.ss {
            for &e in &spec.es {
                let n = if e == 0 { k + s } else { 2 * (k + e) + s - 1 };
                let (code, logits) = match coded.entry(n) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(v) => {
                        let code = BerrutCode::new(k, n, spec.points)?;
                        let logits = coded_logits(exp.model, test, &code, &groups)?;
                        v.insert((code, logits))
                    }
                };
                let (code, logits) = (&*code, &*logits);
                for (adv, sigma) in spec.attacks(e) {
                    let point = Point {
                        k,
                        s,
                        e,
                        adv,
                        sigma,
                    };
                    let row = |scheme, correct: usize, detected_rate| {
                        let (lo, hi) = wilson(correct, queries);
                        Row {
                            model: exp.name.to_string(),
                            scheme,
                            k,
                            s,
                            e,
                            adversary: adv,
                            sigma,
                            groups: groups.len(),
                            queries,
                            accuracy: correct as f64 / queries as f64,
                            ci95_low: lo,
                            ci95_high: hi,
                            detected_rate,
                        }
                    };
                    out.rows.push(row(Scheme::Uncoded, base_correct, None));
                    out.rows.push(row(Scheme::Replication, base_correct, None));
                    let (correct, detected) =
                        approxifer_point(spec, &point, code, logits, &groups, test)?;
                    let rate = (e > 0).then(|| detected as f64 / (groups.len() * e) as f64);
                    out.rows.push(row(Scheme::Approxifer, correct, rate));
                }
            }
        }
    }
    Ok(out)
}

/// The logits of the N coded queries of every group: `groups × N × 10`.
fn coded_logits(
    model: &Model,
    test: &Dataset,
    code: &BerrutCode,
    groups: &[Vec<usize>],
) -> Result<Vec<f32>, AccuracyError> {
    let w = code.encoding_weights();
    let d = test.dim();
    let mut pixels = Vec::with_capacity(groups.len() * code.n() * d);
    for g in groups {
        let x = DMatrix::from_fn(g.len(), d, |j, c| test.image(g[j])[c] as f64);
        let coded = &w * x;
        for r in 0..coded.nrows() {
            pixels.extend(coded.row(r).iter().map(|&v| v as f32));
        }
    }
    model.logits(&pixels, test.side)
}

struct Point {
    k: usize,
    s: usize,
    e: usize,
    adv: Adversary,
    sigma: Option<f64>,
}

impl Point {
    fn stream_name(&self) -> String {
        format!(
            "approxifer-k{}-s{}-e{}-{}-{}",
            self.k,
            self.s,
            self.e,
            self.adv.name(),
            self.sigma.map(|s| s.to_string()).unwrap_or_default()
        )
    }
}

/// Correct decoded queries and correctly located Byzantine workers over all groups.
fn approxifer_point(
    spec: &SweepSpec,
    p: &Point,
    code: &BerrutCode,
    logits: &[f32],
    groups: &[Vec<usize>],
    test: &Dataset,
) -> Result<(usize, usize), AccuracyError> {
    let n = code.n();
    let name = p.stream_name();
    let noise = match p.sigma {
        Some(s) => Some(Normal::new(0.0, s).map_err(|e| AccuracyError::Input(e.to_string()))?),
        None => None,
    };
    let per_group: Vec<Result<(usize, usize), AccuracyError>> = (0..groups.len())
        .into_par_iter()
        .map(|g| {
            let mut r = rng::indexed_stream(spec.seed, &name, 0, g as u64);
            let stragglers = index::sample(&mut r, n, p.s).into_vec();
            let returned: Vec<usize> = (0..n).filter(|i| !stragglers.contains(i)).collect();
            let ans = &logits[g * n * CLASSES..(g + 1) * n * CLASSES];
            let mut y = DMatrix::from_fn(returned.len(), CLASSES, |i, c| {
                ans[returned[i] * CLASSES + c] as f64
            });
            // Byzantine workers among the returned ones (rows of y).
            let bad: Vec<usize> = index::sample(&mut r, returned.len(), p.e).into_vec();
            for &i in &bad {
                for c in 0..CLASSES {
                    y[(i, c)] = match (p.adv, &noise) {
                        (Adversary::SignFlip, _) => -y[(i, c)],
                        (Adversary::Gaussian, Some(d)) => y[(i, c)] + d.sample(&mut r),
                        _ => y[(i, c)],
                    };
                }
            }
            let (kept, detected) = if p.e > 0 {
                let loc = locate_errors(code, &returned, &y, p.e)?;
                let detected = bad
                    .iter()
                    .filter(|&&i| loc.suspects.contains(&returned[i]))
                    .count();
                let kept: Vec<usize> = (0..returned.len())
                    .filter(|&i| !loc.suspects.contains(&returned[i]))
                    .collect();
                (kept, detected)
            } else {
                ((0..returned.len()).collect(), 0)
            };
            let workers: Vec<usize> = kept.iter().map(|&i| returned[i]).collect();
            let decoded = code.decode(&workers, &y.select_rows(&kept))?;
            let correct = (0..p.k)
                .filter(|&j| {
                    let row: Vec<f64> = decoded.row(j).iter().copied().collect();
                    argmax(&row) == test.labels[groups[g][j]] as usize
                })
                .count();
            Ok((correct, detected))
        })
        .collect();
    let mut total = (0, 0);
    for r in per_group {
        let (c, d) = r?;
        total.0 += c;
        total.1 += d;
    }
    Ok(total)
}

/// ParM with one parity worker: the straggler is uniform among the K + 1 workers; its row is the
/// accuracy of the reconstructed answers (a query's own worker gives the base accuracy).
fn parm_point(
    exp: &Experiment,
    spec: &SweepSpec,
    parity: &Model,
    groups: &[Vec<usize>],
    base_logits: &[f32],
    k: usize,
) -> Result<(Row, Degraded), AccuracyError> {
    let test = exp.test;
    let mut pixels = Vec::with_capacity(groups.len() * test.dim());
    for g in groups {
        pixels.extend(sum_encode(test, g));
    }
    let parity_logits = parity.logits(&pixels, test.side)?;
    let name = format!("parm-k{k}");
    let (mut rec, mut rec_ok) = (0, 0);
    for (gi, g) in groups.iter().enumerate() {
        let straggler = rng::indexed_stream(spec.seed, &name, 0, gi as u64).random_range(0..=k);
        for (j, &img) in g.iter().enumerate() {
            if j == straggler {
                let mut v = parity_logits[gi * CLASSES..(gi + 1) * CLASSES].to_vec();
                for &other in g.iter().filter(|&&o| o != img) {
                    for (c, x) in v.iter_mut().enumerate() {
                        *x -= base_logits[other * CLASSES + c];
                    }
                }
                rec += 1;
                rec_ok += (argmax(&v) == test.labels[img] as usize) as usize;
            }
        }
    }
    // The row holds the accuracy of the reconstructed answers (what the paper's ParM bars
    // measure and what a run's accuracy model needs); the others are the base model's.
    let queries = rec;
    let (lo, hi) = wilson(rec_ok, rec);
    Ok((
        Row {
            model: exp.name.to_string(),
            scheme: Scheme::Parm,
            k,
            s: 1,
            e: 0,
            adversary: Adversary::None,
            sigma: None,
            groups: groups.len(),
            queries,
            accuracy: rec_ok as f64 / rec.max(1) as f64,
            ci95_low: lo,
            ci95_high: hi,
            detected_rate: None,
        },
        Degraded {
            k,
            queries: rec,
            correct: rec_ok,
        },
    ))
}
