//! Statistics over replications: mean, standard deviation and a Student-t confidence interval.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Summary of independent observations of one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Observations (NaNs are skipped).
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub std: f64,
    /// Half-width of the two-sided confidence interval (NaN when n < 2).
    pub half_width: f64,
}

/// Mean and two-sided `level` (e.g. 0.95) Student-t interval of `xs`.
pub fn summarize(xs: &[f64], level: f64) -> Summary {
    let v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = v.len();
    if n == 0 {
        return Summary {
            n,
            mean: f64::NAN,
            std: f64::NAN,
            half_width: f64::NAN,
        };
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Summary {
            n,
            mean,
            std: f64::NAN,
            half_width: f64::NAN,
        };
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let t = t_quantile(1.0 - (1.0 - level) / 2.0, (n - 1) as f64);
    Summary {
        n,
        mean,
        std,
        half_width: t * std / (n as f64).sqrt(),
    }
}

/// Quantile of Student's t with `dof` degrees of freedom.
pub fn t_quantile(p: f64, dof: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, dof) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

impl Summary {
    /// True when `x` lies within the interval.
    pub fn contains(&self, x: f64) -> bool {
        (x - self.mean).abs() <= self.half_width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_by_hand() {
        // xs = 1..=5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445.
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.std - 2.5f64.sqrt()).abs() < 1e-12);
        let want = 2.776_445 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((s.half_width - want).abs() < 1e-5, "{}", s.half_width);
    }

    #[test]
    fn single_observation_has_no_interval() {
        let s = summarize(&[7.0, f64::NAN], 0.95);
        assert_eq!(s.n, 1);
        assert!(s.half_width.is_nan());
    }
}
