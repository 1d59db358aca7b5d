//! Berrut rational interpolation: the encoder and decoder of ApproxIFER (§3.2–3.3 of the
//! reference notes).
//!
//! The K queries sit at the interpolation nodes `α_j = cos((2j+1)π/(2K))` (Chebyshev points of
//! the first kind, decreasing in j). Worker n gets the coded query `u(z_n)`, where `u` is Berrut's
//! first-form barycentric interpolant through `(α_j, X_j)`; the decoder interpolates the returned
//! answers `f(u(z_i))` back at the nodes. Both are linear maps: a weight matrix times the stacked
//! inputs (one row per query or answer).

use nalgebra::DMatrix;

use super::CodeError;

/// Below this distance an evaluation point is taken to be the node itself, whose weight limit is
/// the unit vector (the barycentric formula would divide by zero, or by a subnormal).
pub const NODE_TOLERANCE: f64 = 1e-13;

/// Where the N workers' coded queries are evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EvalPoints {
    /// `z_n = cos(nπ/N)`, n = 0..N−1: what the authors' scripts use and what produced their plots.
    #[default]
    AuthorsCode,
    /// `z_n = cos(nπ/(N−1))`: Chebyshev points of the second kind (BACC's choice; needs N ≥ 2).
    ChebyshevSecondKind,
}

impl EvalPoints {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EvalPoints::AuthorsCode => "authors",
            EvalPoints::ChebyshevSecondKind => "chebyshev2",
        }
    }
}

/// The K interpolation nodes `α_j = cos((2j+1)π/(2K))`.
pub fn interpolation_nodes(k: usize) -> Vec<f64> {
    (0..k)
        .map(|j| ((2 * j + 1) as f64 * std::f64::consts::PI / (2 * k) as f64).cos())
        .collect()
}

/// The N evaluation points of `kind`; an error when `n` is 0 (or 1 for the second kind).
pub fn evaluation_points(n: usize, kind: EvalPoints) -> Result<Vec<f64>, CodeError> {
    let denom = match kind {
        EvalPoints::AuthorsCode if n >= 1 => n,
        EvalPoints::ChebyshevSecondKind if n >= 2 => n - 1,
        _ => return Err(CodeError::TooFewWorkers { n, kind }),
    };
    Ok((0..n)
        .map(|i| (i as f64 * std::f64::consts::PI / denom as f64).cos())
        .collect())
}

/// Berrut weights interpolating from `sources` to `targets`: row t holds the weights of every
/// source at `targets[t]`, `w_l = [(−1)^l/(t−s_l)] / Σ_m (−1)^m/(t−s_m)`, the sign alternating
/// with the position l in `sources`. A target within [`NODE_TOLERANCE`] of a source gets that
/// source's unit vector. Each row sums to 1.
pub fn berrut_weights(targets: &[f64], sources: &[f64]) -> DMatrix<f64> {
    let mut w = DMatrix::zeros(targets.len(), sources.len());
    for (t, &x) in targets.iter().enumerate() {
        if let Some(l) = sources.iter().position(|&s| (x - s).abs() < NODE_TOLERANCE) {
            w[(t, l)] = 1.0;
            continue;
        }
        let mut total = 0.0;
        for (l, &s) in sources.iter().enumerate() {
            let sign = if l % 2 == 0 { 1.0 } else { -1.0 };
            let v = sign / (x - s);
            w[(t, l)] = v;
            total += v;
        }
        for l in 0..sources.len() {
            w[(t, l)] /= total;
        }
    }
    w
}

/// An ApproxIFER code: K queries, N workers, their nodes and evaluation points.
#[derive(Clone, Debug)]
pub struct BerrutCode {
    k: usize,
    alpha: Vec<f64>,
    z: Vec<f64>,
}

impl BerrutCode {
    /// The code for `k` queries on `n` workers; an error unless 1 ≤ k ≤ n (and n ≥ 2 for
    /// [`EvalPoints::ChebyshevSecondKind`]).
    pub fn new(k: usize, n: usize, points: EvalPoints) -> Result<Self, CodeError> {
        if k == 0 || k > n {
            return Err(CodeError::BadShape { k, n });
        }
        Ok(BerrutCode {
            k,
            alpha: interpolation_nodes(k),
            z: evaluation_points(n, points)?,
        })
    }

    /// The number of queries K.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The number of workers N.
    pub fn n(&self) -> usize {
        self.z.len()
    }

    /// The interpolation nodes α_0..α_{K−1}.
    pub fn nodes(&self) -> &[f64] {
        &self.alpha
    }

    /// The evaluation points z_0..z_{N−1}.
    pub fn points(&self) -> &[f64] {
        &self.z
    }

    /// The N×K encoding matrix: row n gives the coded query `u(z_n)` as a combination of the K
    /// queries.
    pub fn encoding_weights(&self) -> DMatrix<f64> {
        berrut_weights(&self.z, &self.alpha)
    }

    /// The K×F decoding matrix from the answers of `returned`, the workers that answered, in
    /// strictly increasing order (F = `returned.len()` ≥ 1); the sign alternates with the
    /// position in `returned`, not with the worker index.
    pub fn decoding_weights(&self, returned: &[usize]) -> Result<DMatrix<f64>, CodeError> {
        self.check_returned(returned)?;
        let z: Vec<f64> = returned.iter().map(|&i| self.z[i]).collect();
        Ok(berrut_weights(&self.alpha, &z))
    }

    /// The N coded queries: `encoding_weights() · x`, `x` having one row per query (K rows).
    pub fn encode(&self, x: &DMatrix<f64>) -> Result<DMatrix<f64>, CodeError> {
        if x.nrows() != self.k {
            return Err(CodeError::RowCount {
                what: "queries",
                expected: self.k,
                got: x.nrows(),
            });
        }
        Ok(self.encoding_weights() * x)
    }

    /// The K decoded answers from `y`, one row per worker of `returned` (same order).
    pub fn decode(&self, returned: &[usize], y: &DMatrix<f64>) -> Result<DMatrix<f64>, CodeError> {
        if y.nrows() != returned.len() {
            return Err(CodeError::RowCount {
                what: "answers",
                expected: returned.len(),
                got: y.nrows(),
            });
        }
        Ok(self.decoding_weights(returned)? * y)
    }

    /// Checks that `returned` is a non-empty, strictly increasing list of worker indices.
    pub(crate) fn check_returned(&self, returned: &[usize]) -> Result<(), CodeError> {
        if returned.is_empty() {
            return Err(CodeError::NoAnswers);
        }
        for (i, &w) in returned.iter().enumerate() {
            if w >= self.z.len() {
                return Err(CodeError::UnknownWorker {
                    worker: w,
                    n: self.z.len(),
                });
            }
            if i > 0 && returned[i - 1] >= w {
                return Err(CodeError::NotIncreasing);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rng;
    use rand::RngExt;

    fn random_matrix(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
        let mut r = rng::from_seed(seed);
        DMatrix::from_fn(rows, cols, |_, _| r.random::<f64>() * 2.0 - 1.0)
    }

    #[test]
    fn interpolant_reproduces_the_nodes() {
        let k = 7;
        let x = random_matrix(k, 5, 1);
        let nodes = interpolation_nodes(k);
        let u = berrut_weights(&nodes, &nodes) * &x;
        assert!((u - &x).abs().max() < 1e-15);
        // And through the decoder's path: evaluate the interpolant of x at the nodes via
        // points that include them exactly.
        let w = berrut_weights(&[nodes[3]], &nodes);
        assert_eq!(w.row(0).iter().copied().collect::<Vec<_>>()[3], 1.0);
    }

    #[test]
    fn weights_sum_to_one() {
        for points in [EvalPoints::AuthorsCode, EvalPoints::ChebyshevSecondKind] {
            for (k, n) in [(1, 2), (4, 5), (8, 11), (12, 26)] {
                let code = BerrutCode::new(k, n, points).unwrap();
                let enc = code.encoding_weights();
                assert_eq!(enc.shape(), (n, k));
                for r in enc.row_iter() {
                    assert!((r.sum() - 1.0).abs() < 1e-12, "{k} {n} {points:?}");
                }
                let returned: Vec<usize> = (0..n).filter(|i| i % 3 != 1).collect();
                let dec = code.decoding_weights(&returned).unwrap();
                assert_eq!(dec.shape(), (k, returned.len()));
                for r in dec.row_iter() {
                    assert!((r.sum() - 1.0).abs() < 1e-12, "{k} {n} {points:?}");
                }
            }
        }
    }

    #[test]
    fn no_blow_up_at_or_near_a_node() {
        let nodes = interpolation_nodes(5);
        let a = nodes[2];
        for z in [a, a + 1e-15, a - 1e-15, a + 1e-12] {
            let w = berrut_weights(&[z], &nodes);
            assert!(w.iter().all(|v| v.is_finite()), "z = {z}: {w}");
            assert!((w.sum() - 1.0).abs() < 1e-9);
            assert!((w[(0, 2)] - 1.0).abs() < 1e-9, "z = {z}: {w}");
        }
        // Evaluation points that are nodes: K = 2, N = 4 gives z_1 = α_0 and z_3 = α_1.
        let code = BerrutCode::new(2, 4, EvalPoints::AuthorsCode).unwrap();
        let enc = code.encoding_weights();
        assert!(enc.iter().all(|v| v.is_finite()));
        assert_eq!((enc[(1, 0)], enc[(1, 1)]), (1.0, 0.0));
        assert_eq!((enc[(3, 0)], enc[(3, 1)]), (0.0, 1.0));
        let dec = code.decoding_weights(&[0, 1, 3]).unwrap();
        assert_eq!(
            dec.row(0).iter().copied().collect::<Vec<_>>(),
            [0.0, 1.0, 0.0]
        );
    }

    /// The worst decoding error of f(x) = sin(3x) applied to coded scalars, with `s` stragglers
    /// chosen at random, averaged over trials.
    fn sine_error(k: usize, n: usize, trials: u64) -> f64 {
        let code = BerrutCode::new(k, n, EvalPoints::AuthorsCode).unwrap();
        let mut total = 0.0;
        for t in 0..trials {
            let mut r = rng::from_seed(100 + t);
            let x = DMatrix::from_fn(k, 1, |_, _| r.random::<f64>() * 2.0 - 1.0);
            let y = code.encode(&x).unwrap().map(|v| (3.0 * v).sin());
            let straggler = r.random_range(0..n);
            let returned: Vec<usize> = (0..n).filter(|&i| i != straggler).collect();
            let ys = DMatrix::from_fn(returned.len(), 1, |i, _| y[(returned[i], 0)]);
            let d = code.decode(&returned, &ys).unwrap();
            let truth = x.map(|v| (3.0 * v).sin());
            total += (d - truth).abs().max();
        }
        total / trials as f64
    }

    #[test]
    fn decoding_a_smooth_function_converges_as_n_grows() {
        // Queries on a smooth curve of the node: X_j = g(α_j). Then f∘u interpolates f∘g and
        // the error shrinks with N. With random X_j (what inference sees) it does not shrink to
        // zero: that is the approximation error ApproxIFER lives with.
        let k = 4;
        // Odd N: no evaluation point is a node (that would make the decoding exact).
        let errs: Vec<f64> = [9, 17, 33, 65, 129]
            .iter()
            .map(|&n| {
                let code = BerrutCode::new(k, n, EvalPoints::AuthorsCode).unwrap();
                let g = |a: f64| 0.8 * a + 0.3 * (2.0 * a).cos();
                let x = DMatrix::from_fn(k, 1, |j, _| g(code.nodes()[j]));
                let y = code.encode(&x).unwrap().map(|v| (3.0 * v).sin());
                let returned: Vec<usize> = (0..n).filter(|&i| i != n / 3).collect();
                let ys = DMatrix::from_fn(returned.len(), 1, |i, _| y[(returned[i], 0)]);
                let d = code.decode(&returned, &ys).unwrap();
                (d - x.map(|v| (3.0 * v).sin())).abs().max()
            })
            .collect();
        for w in errs.windows(2) {
            assert!(w[1] < w[0] * 1.05, "not decreasing: {errs:?}");
        }
        assert!(errs[4] < errs[0] / 8.0, "errors {errs:?}");
        // Random queries: bounded, but far from exact.
        let e = sine_error(4, 5, 50);
        assert!(e > 1e-3 && e < 2.0, "{e}");
    }

    #[test]
    fn decoding_softmax_of_a_linear_map_converges() {
        // Vector queries on a smooth curve, f = softmax(A x): the argmax-bearing case.
        let k = 5;
        let a = random_matrix(10, 6, 7);
        let f = |x: &DMatrix<f64>| {
            let logits = x * a.transpose();
            let mut out = logits.clone();
            for (r, row) in logits.row_iter().enumerate() {
                let m = row.max();
                let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
                let s: f64 = e.iter().sum();
                for (c, v) in e.iter().enumerate() {
                    out[(r, c)] = v / s;
                }
            }
            out
        };
        let base = random_matrix(2, 6, 8);
        let errs: Vec<f64> = [6, 12, 24, 48, 96]
            .iter()
            .map(|&n| {
                let code = BerrutCode::new(k, n, EvalPoints::ChebyshevSecondKind).unwrap();
                let x = DMatrix::from_fn(k, 6, |j, c| {
                    let t = code.nodes()[j];
                    base[(0, c)] * t + base[(1, c)] * t * t
                });
                let y = f(&code.encode(&x).unwrap());
                let returned: Vec<usize> = (0..n).filter(|&i| i != 1).collect();
                let ys = y.select_rows(&returned);
                let d = code.decode(&returned, &ys).unwrap();
                (d - f(&x)).abs().max()
            })
            .collect();
        assert!(errs[4] < errs[0] / 8.0, "errors {errs:?}");
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(BerrutCode::new(0, 3, EvalPoints::AuthorsCode).is_err());
        assert!(BerrutCode::new(4, 3, EvalPoints::AuthorsCode).is_err());
        assert!(BerrutCode::new(1, 1, EvalPoints::ChebyshevSecondKind).is_err());
        let code = BerrutCode::new(2, 4, EvalPoints::AuthorsCode).unwrap();
        assert!(code.decoding_weights(&[]).is_err());
        assert!(code.decoding_weights(&[2, 1]).is_err());
        assert!(code.decoding_weights(&[1, 1]).is_err());
        assert!(code.decoding_weights(&[0, 4]).is_err());
        assert!(code.encode(&DMatrix::zeros(3, 2)).is_err());
        assert!(code.decode(&[0, 1], &DMatrix::zeros(3, 2)).is_err());
    }
}
