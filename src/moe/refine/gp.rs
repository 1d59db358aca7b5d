//! A Gaussian-process surrogate with a squared-exponential (RBF) kernel: the "surrogate: Gaussian
//! process" of the paper's Alg. 2 (the paper uses Optuna's).
//!
//! Inputs are normalised to [0, 1] per dimension by the bounds given at fit time (a dimension
//! whose bounds coincide is left unscaled); outputs are standardised by their mean and
//! population standard deviation (1 when all outputs are equal or there is one). On the
//! normalised inputs x and standardised outputs y the kernel is
//!
//! ```text
//! k(a, b) = σ_f² · exp(−½ Σ_d ((a_d − b_d) / ℓ_d)²)
//! ```
//!
//! and the posterior at x* is, with K = k(X, X) + σ_n² I = L Lᵀ (Cholesky, nalgebra),
//! α = K⁻¹ y, k* = k(X, x*) and v = L⁻¹ k*:
//! mean = kᵀ* α, variance = σ_f² − vᵀ v (the latent function's, without the noise), both
//! mapped back to the outputs' units. [`Gp::log_marginal_likelihood`] is
//! −½ yᵀα − Σ log L_ii − (n/2) log 2π on the standardised outputs; [`Gp::fit_best`] picks the
//! kernel of largest likelihood from a list (ties: the first).

use nalgebra::{DMatrix, DVector};

/// A fit that cannot be made (what is wrong, in words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Gaussian process: {0}")]
pub struct GpError(pub String);

/// Hyperparameters of the RBF kernel, in normalised input units and standardised output units.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// ℓ_d: one length scale per input dimension (positive).
    pub length_scales: Vec<f64>,
    /// σ_f²: the prior variance of the standardised function (positive).
    pub signal_variance: f64,
    /// σ_n²: the noise variance of the standardised outputs (positive: it is also the jitter
    /// that keeps K positive definite).
    pub noise_variance: f64,
}

impl Kernel {
    /// The same length scale in all `dims` dimensions, unit signal variance.
    pub fn isotropic(dims: usize, length_scale: f64, noise_variance: f64) -> Self {
        Kernel {
            length_scales: vec![length_scale; dims],
            signal_variance: 1.0,
            noise_variance,
        }
    }

    /// k(a, b) on normalised inputs.
    pub fn eval(&self, a: &[f64], b: &[f64]) -> f64 {
        let s: f64 = a
            .iter()
            .zip(b)
            .zip(&self.length_scales)
            .map(|((x, y), l)| ((x - y) / l).powi(2))
            .sum();
        self.signal_variance * (-0.5 * s).exp()
    }

    fn check(&self, dims: usize) -> Result<(), GpError> {
        if self.length_scales.len() != dims {
            return Err(GpError(format!(
                "{} length scales for {dims} input dimensions; allowed: one per dimension",
                self.length_scales.len()
            )));
        }
        let bad = |x: f64| !(x > 0.0) || !x.is_finite();
        if self.length_scales.iter().any(|&l| bad(l)) {
            return Err(GpError("a length scale is not a positive number".into()));
        }
        if bad(self.signal_variance) || bad(self.noise_variance) {
            return Err(GpError(
                "the signal and noise variances must be positive numbers".into(),
            ));
        }
        Ok(())
    }
}

/// A fitted Gaussian process.
#[derive(Clone, Debug)]
pub struct Gp {
    kernel: Kernel,
    /// Lower bound and span of every input dimension.
    lo: Vec<f64>,
    span: Vec<f64>,
    /// Training inputs divided by their length scales (after normalisation).
    x: Vec<Vec<f64>>,
    /// Lower Cholesky factor of K.
    l: DMatrix<f64>,
    alpha: DVector<f64>,
    y_mean: f64,
    y_scale: f64,
    lml: f64,
}

impl Gp {
    /// Fits `kernel` to the points `x` (each of the length of `bounds`) and outputs `y`;
    /// `bounds[d]` = (low, high) of dimension d, used to normalise it.
    pub fn fit(
        x: &[Vec<f64>],
        y: &[f64],
        bounds: &[(f64, f64)],
        kernel: Kernel,
    ) -> Result<Gp, GpError> {
        let n = x.len();
        let dims = bounds.len();
        if n == 0 || n != y.len() {
            return Err(GpError(format!(
                "{n} inputs and {} outputs; allowed: the same positive number",
                y.len()
            )));
        }
        if let Some(p) = x.iter().position(|p| p.len() != dims) {
            return Err(GpError(format!(
                "input {p} has {} coordinates for {dims} dimensions",
                x[p].len()
            )));
        }
        if x.iter().flatten().chain(y).any(|v| !v.is_finite()) {
            return Err(GpError("an input or output is not a finite number".into()));
        }
        kernel.check(dims)?;
        let lo: Vec<f64> = bounds.iter().map(|b| b.0).collect();
        let span: Vec<f64> = bounds
            .iter()
            .map(|b| {
                let s = b.1 - b.0;
                if s > 0.0 && s.is_finite() { s } else { 1.0 }
            })
            .collect();
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n as f64;
        let y_scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        let mut gp = Gp {
            x: Vec::with_capacity(n),
            lo,
            span,
            l: DMatrix::zeros(0, 0),
            alpha: DVector::zeros(0),
            y_mean,
            y_scale,
            lml: f64::NAN,
            kernel,
        };
        gp.x = x.iter().map(|p| gp.scaled(p)).collect();
        let mut k = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..=i {
                let v = gp.k_scaled(&gp.x[i], &gp.x[j]);
                k[(i, j)] = v;
                k[(j, i)] = v;
            }
            k[(i, i)] += gp.kernel.noise_variance;
        }
        let chol = k.cholesky().ok_or_else(|| {
            GpError("the kernel matrix is not positive definite; raise the noise variance".into())
        })?;
        let ys = DVector::from_iterator(n, y.iter().map(|v| (v - y_mean) / y_scale));
        gp.alpha = chol.solve(&ys);
        gp.l = chol.unpack();
        let log_det_half: f64 = (0..n).map(|i| gp.l[(i, i)].ln()).sum();
        gp.lml = -0.5 * ys.dot(&gp.alpha)
            - log_det_half
            - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        Ok(gp)
    }

    /// Fits every kernel of `kernels` and keeps the one of largest log marginal likelihood
    /// (ties and NaN: the earlier one); kernels that cannot be fitted are skipped.
    pub fn fit_best(
        x: &[Vec<f64>],
        y: &[f64],
        bounds: &[(f64, f64)],
        kernels: &[Kernel],
    ) -> Result<Gp, GpError> {
        let mut best: Option<Gp> = None;
        let mut first_err = None;
        for k in kernels {
            match Gp::fit(x, y, bounds, k.clone()) {
                Ok(g) => {
                    if best.as_ref().is_none_or(|b| g.lml > b.lml) {
                        best = Some(g);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        best.ok_or_else(|| first_err.unwrap_or_else(|| GpError("no kernel to fit".into())))
    }

    /// Normalises a point and divides it by the length scales.
    fn scaled(&self, p: &[f64]) -> Vec<f64> {
        p.iter()
            .zip(&self.lo)
            .zip(&self.span)
            .zip(&self.kernel.length_scales)
            .map(|(((v, lo), s), l)| (v - lo) / s / l)
            .collect()
    }

    fn k_scaled(&self, a: &[f64], b: &[f64]) -> f64 {
        let s: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        self.kernel.signal_variance * (-0.5 * s).exp()
    }

    /// The posterior mean and variance (of the function, without the noise) at `p`, in the
    /// outputs' units. `p` has one coordinate per dimension (missing ones count as the lower
    /// bound, extra ones are ignored).
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let mut q = self.lo.clone();
        for (d, v) in q.iter_mut().zip(p) {
            *d = *v;
        }
        let xs = self.scaled(&q);
        let n = self.x.len();
        let ks = DVector::from_iterator(n, self.x.iter().map(|xi| self.k_scaled(xi, &xs)));
        let mean = ks.dot(&self.alpha);
        let v = self
            .l
            .solve_lower_triangular(&ks)
            .unwrap_or_else(|| DVector::zeros(n));
        let var = (self.kernel.signal_variance - v.dot(&v)).max(0.0);
        (
            self.y_mean + self.y_scale * mean,
            self.y_scale * self.y_scale * var,
        )
    }

    /// The log marginal likelihood of the standardised outputs under the kernel.
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.lml
    }

    /// The kernel it was fitted with.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Training points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether it has no training point (never: a fit needs at least one).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_training_points_at_low_noise() {
        let x: Vec<Vec<f64>> = [0.0, 1.0, 2.5, 4.0, 5.0]
            .iter()
            .map(|&a| vec![a, 10.0 - a])
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (p[0] * 0.7).sin() * 3.0 + 10.0).collect();
        let bounds = [(0.0, 5.0), (5.0, 10.0)];
        let gp = Gp::fit(&x, &y, &bounds, Kernel::isotropic(2, 0.3, 1e-10)).unwrap();
        for (p, v) in x.iter().zip(&y) {
            let (m, var) = gp.predict(p);
            assert!((m - v).abs() < 1e-5, "{m} vs {v}");
            assert!(var < 1e-6, "{var}");
        }
    }

    #[test]
    fn variance_shrinks_near_data() {
        let x = vec![vec![0.2], vec![0.3]];
        let y = vec![1.0, 2.0];
        let gp = Gp::fit(&x, &y, &[(0.0, 1.0)], Kernel::isotropic(1, 0.1, 1e-6)).unwrap();
        let (_, near) = gp.predict(&[0.25]);
        let (_, mid) = gp.predict(&[0.5]);
        let (m_far, far) = gp.predict(&[0.95]);
        assert!(near < mid && mid < far, "{near} {mid} {far}");
        // Far from the data: the prior (mean of the outputs, their variance 0.25).
        assert!((m_far - 1.5).abs() < 1e-6 && (far - 0.25).abs() < 1e-6);
    }

    #[test]
    fn two_point_posterior_by_hand() {
        // Inputs 0 and 1 with bounds (0, 2) normalise to 0 and 0.5; ℓ = 0.5, so the two are
        // one length scale apart: k = b = e^{−1/2}. Outputs 1 and 3: mean 2, standard deviation
        // 1, standardised −1 and 1. K = [[a, b], [b, a]] with a = 1 + σ_n² = 1.01.
        // α = K⁻¹(−1, 1) = (−1, 1)/(a − b). At x* = 0: k* = (1, b), so
        // mean = 2 + (b − 1)/(a − b) and variance = 1 − k*ᵀK⁻¹k* with
        // k*ᵀK⁻¹k* = (a(1 + b²) − 2b²)/(a² − b²).
        let gp = Gp::fit(
            &[vec![0.0], vec![1.0]],
            &[1.0, 3.0],
            &[(0.0, 2.0)],
            Kernel::isotropic(1, 0.5, 0.01),
        )
        .unwrap();
        let (a, b) = (1.01_f64, (-0.5_f64).exp());
        let (m, v) = gp.predict(&[0.0]);
        assert!((m - (2.0 + (b - 1.0) / (a - b))).abs() < 1e-12, "{m}");
        let quad = (a * (1.0 + b * b) - 2.0 * b * b) / (a * a - b * b);
        assert!((v - (1.0 - quad)).abs() < 1e-12, "{v}");
        // Log marginal likelihood: −½ yᵀα − ½ log det K − log 2π, yᵀα = 2/(a − b).
        let lml =
            -0.5 * 2.0 / (a - b) - 0.5 * (a * a - b * b).ln() - (2.0 * std::f64::consts::PI).ln();
        assert!((gp.log_marginal_likelihood() - lml).abs() < 1e-12);
        // Halfway, by symmetry: the mean of the outputs.
        assert!((gp.predict(&[0.5]).0 - 2.0).abs() < 1e-12);
    }

    #[test]
    fn bad_fits_are_refused_in_words() {
        let e = Gp::fit(&[], &[], &[(0.0, 1.0)], Kernel::isotropic(1, 1.0, 0.1)).unwrap_err();
        assert!(e.0.contains("inputs"), "{e}");
        let e = Gp::fit(
            &[vec![0.0]],
            &[1.0],
            &[(0.0, 1.0)],
            Kernel::isotropic(2, 1.0, 0.1),
        )
        .unwrap_err();
        assert!(e.0.contains("length scales"), "{e}");
        let e = Gp::fit(
            &[vec![0.0]],
            &[f64::NAN],
            &[(0.0, 1.0)],
            Kernel::isotropic(1, 1.0, 0.1),
        )
        .unwrap_err();
        assert!(e.0.contains("finite"), "{e}");
        // The better of two kernels on a smooth function is the smoother one.
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| p[0] * 2.0).collect();
        let ks = [
            Kernel::isotropic(1, 0.01, 1e-4),
            Kernel::isotropic(1, 1.0, 1e-4),
        ];
        let gp = Gp::fit_best(&x, &y, &[(0.0, 1.0)], &ks).unwrap();
        assert_eq!(gp.kernel().length_scales, vec![1.0]);
    }
}
