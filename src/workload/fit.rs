//! Maximum-likelihood fits of positive samples to lognormal, Weibull, Pareto and exponential
//! laws, each with its Kolmogorov–Smirnov statistic, for `infersim trace fit`.

use statrs::distribution::{ContinuousCDF, Exp, LogNormal, Pareto, Weibull};

/// One fitted law.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Law name (a distribution `kind` of scenarios).
    pub kind: &'static str,
    /// Parameters by name (in the sample's unit; `mu`/`sigma` of ln values for lognormal).
    pub params: Vec<(&'static str, f64)>,
    /// Log-likelihood of the sample.
    pub log_likelihood: f64,
    /// Kolmogorov–Smirnov statistic sup |F_n − F|.
    pub ks: f64,
}

/// Fits all four laws to `xs` (values must be positive and finite; at least two distinct).
pub fn fit_all(xs: &[f64]) -> Result<Vec<Fit>, String> {
    if xs.len() < 2 {
        return Err(format!("need at least 2 values to fit, got {}", xs.len()));
    }
    if let Some(bad) = xs.iter().find(|x| !(**x > 0.0) || !x.is_finite()) {
        return Err(format!(
            "all values must be positive and finite to fit these laws (found {bad})"
        ));
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted[0] == sorted[sorted.len() - 1] {
        return Err("all values are equal: nothing to fit".into());
    }
    let n = xs.len() as f64;
    let logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let sum_log: f64 = logs.iter().sum();
    let mut out = Vec::new();

    // Lognormal: μ, σ of ln x.
    let mu = sum_log / n;
    let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / n).sqrt();
    let d = LogNormal::new(mu, sigma).map_err(|e| e.to_string())?;
    let ll = logs
        .iter()
        .map(|l| {
            -l - sigma.ln()
                - 0.5 * (2.0 * std::f64::consts::PI).ln()
                - (l - mu).powi(2) / (2.0 * sigma * sigma)
        })
        .sum();
    out.push(Fit {
        kind: "lognormal",
        params: vec![("mu", mu), ("sigma", sigma)],
        log_likelihood: ll,
        ks: ks(&sorted, |x| d.cdf(x)),
    });

    // Exponential: rate = 1 / mean.
    let mean = xs.iter().sum::<f64>() / n;
    let rate = 1.0 / mean;
    let d = Exp::new(rate).map_err(|e| e.to_string())?;
    out.push(Fit {
        kind: "exponential",
        params: vec![("mean", mean)],
        log_likelihood: n * rate.ln() - rate * mean * n,
        ks: ks(&sorted, |x| d.cdf(x)),
    });

    // Pareto: scale = min, shape = n / Σ ln(x / min).
    let xm = sorted[0];
    let alpha = n / (sum_log - n * xm.ln());
    let d = Pareto::new(xm, alpha).map_err(|e| e.to_string())?;
    out.push(Fit {
        kind: "pareto",
        params: vec![("scale", xm), ("shape", alpha)],
        log_likelihood: n * alpha.ln() + n * alpha * xm.ln() - (alpha + 1.0) * sum_log,
        ks: ks(&sorted, |x| d.cdf(x)),
    });

    // Weibull: Newton's method on the shape k, then the scale λ.
    let k = weibull_shape(xs, &logs)?;
    let lambda = (xs.iter().map(|x| x.powf(k)).sum::<f64>() / n).powf(1.0 / k);
    let d = Weibull::new(k, lambda).map_err(|e| e.to_string())?;
    let ll = xs
        .iter()
        .zip(&logs)
        .map(|(x, l)| k.ln() - k * lambda.ln() + (k - 1.0) * l - (x / lambda).powf(k))
        .sum();
    out.push(Fit {
        kind: "weibull",
        params: vec![("scale", lambda), ("shape", k)],
        log_likelihood: ll,
        ks: ks(&sorted, |x| d.cdf(x)),
    });
    Ok(out)
}

/// Solves Σ x^k ln x / Σ x^k − 1/k − mean(ln x) = 0 for k.
fn weibull_shape(xs: &[f64], logs: &[f64]) -> Result<f64, String> {
    let n = xs.len() as f64;
    let mean_log = logs.iter().sum::<f64>() / n;
    // Work on x / max to keep x^k finite.
    let max = xs.iter().cloned().fold(0.0, f64::max);
    let ys: Vec<f64> = xs.iter().map(|x| x / max).collect();
    let ly: Vec<f64> = ys.iter().map(|y| y.ln()).collect();
    let mean_ly = mean_log - max.ln();
    let g = |k: f64| {
        let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
        for (y, l) in ys.iter().zip(&ly) {
            let p = y.powf(k);
            s0 += p;
            s1 += p * l;
            s2 += p * l * l;
        }
        let f = s1 / s0 - 1.0 / k - mean_ly;
        let df = (s2 * s0 - s1 * s1) / (s0 * s0) + 1.0 / (k * k);
        (f, df)
    };
    let mut k = 1.0;
    for _ in 0..200 {
        let (f, df) = g(k);
        let step = f / df;
        let next = (k - step).max(k / 10.0);
        if (next - k).abs() < 1e-12 * k {
            return Ok(next);
        }
        k = next;
    }
    if k.is_finite() && k > 0.0 {
        Ok(k)
    } else {
        Err("the Weibull fit did not converge".into())
    }
}

/// sup |F_n − F| over the sorted sample.
fn ks(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::Distribution;

    fn sample(d: impl Distribution<f64>, n: usize) -> Vec<f64> {
        let mut r = crate::kernel::rng::from_seed(17);
        (0..n).map(|_| d.sample(&mut r)).collect()
    }

    fn get<'a>(fits: &'a [Fit], kind: &str) -> &'a Fit {
        fits.iter().find(|f| f.kind == kind).unwrap()
    }

    #[test]
    fn recovers_known_parameters_and_picks_the_true_law() {
        let xs = sample(rand_distr::LogNormal::new(-1.0, 0.7).unwrap(), 20_000);
        let fits = fit_all(&xs).unwrap();
        let ln = get(&fits, "lognormal");
        assert!((ln.params[0].1 + 1.0).abs() < 0.02 && (ln.params[1].1 - 0.7).abs() < 0.02);
        let best = fits.iter().min_by(|a, b| a.ks.total_cmp(&b.ks)).unwrap();
        assert_eq!(best.kind, "lognormal");
        // KS of the true law is about 1/sqrt(n); the exponential is far off.
        assert!(ln.ks < 0.015 && get(&fits, "exponential").ks > 0.05);

        let xs = sample(rand_distr::Weibull::new(2.0, 1.5).unwrap(), 20_000);
        let w = get(&fit_all(&xs).unwrap(), "weibull").clone();
        assert!(
            (w.params[0].1 - 2.0).abs() < 0.03 && (w.params[1].1 - 1.5).abs() < 0.03,
            "{w:?}"
        );

        let xs = sample(rand_distr::Pareto::new(0.5, 2.5).unwrap(), 20_000);
        let p = get(&fit_all(&xs).unwrap(), "pareto").clone();
        assert!((p.params[1].1 - 2.5).abs() < 0.06, "{p:?}");
    }

    #[test]
    fn rejects_unfittable_samples() {
        assert!(fit_all(&[1.0]).is_err());
        assert!(fit_all(&[1.0, -2.0]).unwrap_err().contains("positive"));
        assert!(fit_all(&[3.0, 3.0]).unwrap_err().contains("equal"));
    }
}
