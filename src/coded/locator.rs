//! The Byzantine error locator of ApproxIFER (§3.4 of the reference notes): a least-squares
//! rational Berlekamp–Welch, run per output coordinate, then a vote across coordinates.
//!
//! For coordinate c, with returned points z_i and answers y_i, it fits polynomials P and Q of
//! degree ≤ K+E−1 (Q's constant term fixed to 1) with `P(z_i) = y_i·Q(z_i)` in the least-squares
//! sense (an SVD pseudo-inverse: f∘u is only approximately rational). Q is then the error locator
//! times the Berrut denominator, small at the corrupted points: the E returned points with the
//! smallest |Q(z_i)| get a mark. The E workers with the most marks over all coordinates are the
//! suspects (ties go to the lower worker index).

use nalgebra::DMatrix;

use super::CodeError;
use super::berrut::BerrutCode;

/// Singular values below this fraction of the largest are treated as zero in the least-squares
/// solve (the pseudo-inverse's cut-off).
pub const LOCATOR_RCOND: f64 = 1e-12;

/// The most errors a code can locate: `e_max = ⌊(N − 2K + 1)/2⌋` (0 when N < 2K − 1).
pub fn max_errors(n: usize, k: usize) -> usize {
    (n + 1).saturating_sub(2 * k) / 2
}

/// The workers that tolerate `s` stragglers and locate `e` Byzantine answers among K queries:
/// `N = 2(K+E) + S − 1`.
pub fn byzantine_workers(k: usize, e: usize, s: usize) -> usize {
    (2 * (k + e) + s).saturating_sub(1)
}

/// The outcome of [`locate_errors`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The E suspected workers (worker indices), in increasing order.
    pub suspects: Vec<usize>,
    /// Marks per returned worker (same order as `returned`), summed over the coordinates.
    pub votes: Vec<u32>,
}

/// Locates `e` corrupted answers among `y` (one row per worker of `returned`, strictly
/// increasing; one column per output coordinate). Needs at least `2(K+E) − 1` answers, the
/// number of unknowns. With `e` = 0 nothing is suspected.
pub fn locate_errors(
    code: &BerrutCode,
    returned: &[usize],
    y: &DMatrix<f64>,
    e: usize,
) -> Result<Located, CodeError> {
    code.check_returned(returned)?;
    if y.nrows() != returned.len() {
        return Err(CodeError::RowCount {
            what: "answers",
            expected: returned.len(),
            got: y.nrows(),
        });
    }
    let m = returned.len();
    let mut votes = vec![0u32; m];
    if e == 0 {
        return Ok(Located {
            suspects: Vec::new(),
            votes,
        });
    }
    let deg = code.k() + e; // coefficients of P and of Q
    let unknowns = 2 * deg - 1;
    if m < unknowns {
        return Err(CodeError::TooFewToLocate {
            answers: m,
            needed: unknowns,
            k: code.k(),
            e,
        });
    }
    // Powers z_i^d, d = 0..deg−1, shared by every coordinate.
    let z: Vec<f64> = returned.iter().map(|&i| code.points()[i]).collect();
    let powers = DMatrix::from_fn(m, deg, |i, d| z[i].powi(d as i32));
    // The system is [V | −diag(y)·W] (p, q) = y, V the powers 0..deg−1 (P's columns, the same for
    // every coordinate) and W the powers 1..deg−1. P is eliminated exactly: for a given q the best
    // p leaves the residual's part orthogonal to V's column space, so q solves the least-squares
    // problem projected by I − UUᵀ (U an orthonormal basis of V's columns, from its SVD), a
    // system of deg − 1 unknowns instead of 2·deg − 1 and the same q.
    let vsvd = powers.clone().svd(true, false);
    let u_full = vsvd
        .u
        .ok_or_else(|| CodeError::Numerics("SVD without U".into()))?;
    let vmax = vsvd.singular_values.max();
    let rank = vsvd
        .singular_values
        .iter()
        .filter(|&&s| s > vmax * LOCATOR_RCOND)
        .count();
    let u = u_full.columns(0, rank).into_owned();
    let project = |a: &DMatrix<f64>| -> DMatrix<f64> { a - &u * (u.transpose() * a) };
    let mut aq = DMatrix::zeros(m, deg - 1);
    let mut q_abs = vec![0.0; m];
    let mut order: Vec<usize> = (0..m).collect();
    for c in 0..y.ncols() {
        let yc = y.column(c);
        for i in 0..m {
            for d in 1..deg {
                aq[(i, d - 1)] = -yc[i] * powers[(i, d)];
            }
        }
        let a = project(&aq);
        let b = project(&DMatrix::from_iterator(m, 1, yc.iter().copied()));
        let svd = a.svd(true, true);
        let eps = svd.singular_values.max() * LOCATOR_RCOND;
        let sol = svd
            .solve(&b, eps)
            .map_err(|msg| CodeError::Numerics(msg.to_string()))?;
        for i in 0..m {
            let mut q = 1.0;
            for d in 1..deg {
                q += sol[d - 1] * powers[(i, d)];
            }
            q_abs[i] = if q.is_nan() { f64::INFINITY } else { q.abs() };
        }
        order.sort_by(|&i, &j| q_abs[i].total_cmp(&q_abs[j]).then(i.cmp(&j)));
        for &i in &order[..e.min(m)] {
            votes[i] += 1;
        }
    }
    let mut ranked: Vec<usize> = (0..m).collect();
    ranked.sort_by(|&i, &j| votes[j].cmp(&votes[i]).then(i.cmp(&j)));
    let mut suspects: Vec<usize> = ranked[..e.min(m)].iter().map(|&i| returned[i]).collect();
    suspects.sort_unstable();
    Ok(Located { suspects, votes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coded::berrut::EvalPoints;
    use crate::kernel::rng;
    use rand::RngExt;
    use rand::seq::SliceRandom;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn worker_counts() {
        assert_eq!(byzantine_workers(12, 1, 1), 26);
        assert_eq!(byzantine_workers(12, 3, 0), 29);
        assert_eq!(max_errors(26 - 1, 12), 1);
        assert_eq!(max_errors(29, 12), 3);
        assert_eq!(max_errors(5, 4), 0);
        for k in 1..10 {
            for e in 0..4 {
                assert_eq!(max_errors(byzantine_workers(k, e, 0), k), e);
            }
        }
    }

    /// A smooth vector-valued model: softmax-free logits `tanh(A x)` with 10 outputs.
    fn model(x: &DMatrix<f64>, a: &DMatrix<f64>) -> DMatrix<f64> {
        (x * a.transpose()).map(|v| 2.0 * v.tanh())
    }

    /// The detection rate over `trials` groups: corrupted answers `+N(0, σ²)` on `e` random
    /// workers among the returned ones.
    fn detection_rate(k: usize, e: usize, sigma: f64, trials: u64) -> f64 {
        let n = byzantine_workers(k, e, 1);
        let code = BerrutCode::new(k, n, EvalPoints::AuthorsCode).unwrap();
        let mut r = rng::from_seed(5);
        let a = DMatrix::from_fn(10, 6, |_, _| r.random::<f64>() - 0.5);
        let noise = Normal::new(0.0, sigma).unwrap();
        let mut found = 0;
        for t in 0..trials {
            let mut r = rng::from_seed(1000 + t);
            let x = DMatrix::from_fn(k, 6, |_, _| r.random::<f64>() * 2.0 - 1.0);
            let y = model(&code.encode(&x).unwrap(), &a);
            let straggler = r.random_range(0..n);
            let returned: Vec<usize> = (0..n).filter(|&i| i != straggler).collect();
            let mut ys = y.select_rows(&returned);
            let mut rows: Vec<usize> = (0..returned.len()).collect();
            rows.shuffle(&mut r);
            let bad: Vec<usize> = rows[..e].to_vec();
            for &i in &bad {
                for c in 0..ys.ncols() {
                    ys[(i, c)] += noise.sample(&mut r);
                }
            }
            let loc = locate_errors(&code, &returned, &ys, e).unwrap();
            found += bad
                .iter()
                .filter(|&&i| loc.suspects.contains(&returned[i]))
                .count();
            assert_eq!(loc.suspects.len(), e);
        }
        found as f64 / (trials as usize * e) as f64
    }

    #[test]
    fn locator_finds_large_errors() {
        for (k, e) in [(4, 1), (6, 2), (8, 3)] {
            let rate = detection_rate(k, e, 100.0, 40);
            assert!(rate > 0.95, "K = {k}, E = {e}: detection rate {rate}");
        }
    }

    #[test]
    fn locator_is_unreliable_when_errors_are_small() {
        let easy = detection_rate(6, 2, 100.0, 60);
        let hard = detection_rate(6, 2, 0.01, 60);
        eprintln!("detection rate: σ = 100 {easy}, σ = 0.01 {hard}");
        assert!(hard > 0.0 && hard < 1.0, "hard-case detection rate {hard}");
        assert!(hard < easy, "hard {hard} vs easy {easy}");
    }

    #[test]
    fn exact_rational_data_is_located_exactly() {
        // f = identity: the answers are exactly a Berrut interpolant, so BW is exact.
        let (k, e) = (5, 2);
        let n = byzantine_workers(k, e, 0);
        let code = BerrutCode::new(k, n, EvalPoints::AuthorsCode).unwrap();
        let mut r = rng::from_seed(3);
        let x = DMatrix::from_fn(k, 3, |_, _| r.random::<f64>());
        let mut y = code.encode(&x).unwrap();
        let returned: Vec<usize> = (0..n).collect();
        for c in 0..3 {
            y[(2, c)] = -y[(2, c)] + 3.0;
            y[(9, c)] += 5.0;
        }
        let loc = locate_errors(&code, &returned, &y, e).unwrap();
        assert_eq!(loc.suspects, vec![2, 9]);
        assert_eq!(loc.votes[2], 3);
    }

    /// The locator's Q on the full system `[V | −diag(y)W]`, solved by one SVD (the textbook
    /// form), to check the elimination of P.
    fn full_system_q(z: &[f64], y: &[f64], deg: usize) -> Vec<f64> {
        let m = z.len();
        let a = DMatrix::from_fn(m, 2 * deg - 1, |i, j| {
            if j < deg {
                z[i].powi(j as i32)
            } else {
                -y[i] * z[i].powi((j - deg + 1) as i32)
            }
        });
        let b = DMatrix::from_column_slice(m, 1, y);
        let svd = a.svd(true, true);
        let eps = svd.singular_values.max() * LOCATOR_RCOND;
        let sol = svd.solve(&b, eps).unwrap();
        z.iter()
            .map(|&zi| {
                1.0 + (1..deg)
                    .map(|d| sol[deg + d - 1] * zi.powi(d as i32))
                    .sum::<f64>()
            })
            .collect()
    }

    #[test]
    fn eliminating_p_gives_the_full_least_squares_marks() {
        let (k, e) = (6, 2);
        let n = byzantine_workers(k, e, 1);
        let code = BerrutCode::new(k, n, EvalPoints::AuthorsCode).unwrap();
        let mut r = rng::from_seed(11);
        let a = DMatrix::from_fn(4, 3, |_, _| r.random::<f64>() - 0.5);
        let x = DMatrix::from_fn(k, 3, |_, _| r.random::<f64>() * 2.0 - 1.0);
        let y = model(&code.encode(&x).unwrap(), &a);
        let returned: Vec<usize> = (0..n).filter(|&i| i != 4).collect();
        let mut ys = y.select_rows(&returned);
        for c in 0..ys.ncols() {
            ys[(3, c)] += 50.0;
            ys[(10, c)] -= 50.0;
        }
        let loc = locate_errors(&code, &returned, &ys, e).unwrap();
        let z: Vec<f64> = returned.iter().map(|&i| code.points()[i]).collect();
        let mut votes = vec![0u32; returned.len()];
        for c in 0..ys.ncols() {
            let yc: Vec<f64> = ys.column(c).iter().copied().collect();
            let q = full_system_q(&z, &yc, k + e);
            let mut order: Vec<usize> = (0..q.len()).collect();
            order.sort_by(|&i, &j| q[i].abs().total_cmp(&q[j].abs()).then(i.cmp(&j)));
            for &i in &order[..e] {
                votes[i] += 1;
            }
        }
        assert_eq!(loc.votes, votes);
        assert!(loc.suspects.contains(&returned[3]) && loc.suspects.contains(&returned[10]));
    }

    #[test]
    fn too_few_answers_is_an_error() {
        // K = 4, E = 1 has 9 unknowns; E = 2 has 11.
        let code = BerrutCode::new(4, 9, EvalPoints::AuthorsCode).unwrap();
        let returned: Vec<usize> = (0..9).collect();
        let y = DMatrix::zeros(9, 2);
        assert!(matches!(
            locate_errors(&code, &returned, &y, 1),
            Ok(Located { .. })
        ));
        assert!(matches!(
            locate_errors(&code, &returned, &y, 2),
            Err(CodeError::TooFewToLocate { .. })
        ));
    }
}
