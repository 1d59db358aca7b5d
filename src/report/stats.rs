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

/// A mean and its interval half-width as text, by one rule: the half-width to two significant
/// digits and the mean rounded to the same decimal place (`124.00 ± 0.91`, `0.014 ± 0.018`,
/// `68500 ± 1800`). Without a half-width (one replication, or NaN), or with a zero one, the mean
/// alone to four significant digits, whole numbers kept whole (and `± 0` for zero). `None` for a NaN mean.
pub fn format_mean_ci(mean: f64, half_width: f64) -> Option<String> {
    if !mean.is_finite() {
        return None;
    }
    if !half_width.is_finite() || half_width == 0.0 {
        let m = significant(mean, 4);
        return Some(if half_width == 0.0 {
            format!("{m} ± 0")
        } else {
            m
        });
    }
    // The place of the half-width's second significant digit: 10^place.
    let place = half_width.abs().log10().floor() as i32 - 1;
    let unit = 10f64.powi(place);
    let round = |x: f64| (x / unit).round() * unit;
    let decimals = (-place).max(0) as usize;
    let m = round(mean);
    let m = if m == 0.0 { 0.0 } else { m };
    Some(format!("{m:.decimals$} ± {:.decimals$}", round(half_width)))
}

/// `x` to `digits` significant digits but never rounded left of the decimal point (68458 stays
/// 68458), without an exponent and without trailing zeros past the decimal point.
fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let place = (x.abs().log10().floor() as i32 - (digits - 1)).min(0);
    let decimals = (-place).max(0) as usize;
    let unit = 10f64.powi(place);
    let r = (x / unit).round() * unit;
    let s = format!("{r:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mean_and_its_interval_follow_one_rule() {
        use super::format_mean_ci as f;
        assert_eq!(f(124.0, 0.9141).unwrap(), "124.00 ± 0.91");
        assert_eq!(f(0.01401, 0.01751).unwrap(), "0.014 ± 0.018");
        assert_eq!(f(68458.0, 1798.0).unwrap(), "68500 ± 1800");
        assert_eq!(f(99.59, 0.67).unwrap(), "99.59 ± 0.67");
        assert_eq!(f(0.1256, 0.0055).unwrap(), "0.1256 ± 0.0055");
        assert_eq!(f(-0.004, 0.03).unwrap(), "-0.004 ± 0.030");
        assert_eq!(f(120.0, 0.0).unwrap(), "120 ± 0");
        assert_eq!(f(0.123456, f64::NAN).unwrap(), "0.1235");
        assert_eq!(f(68458.0, f64::NAN).unwrap(), "68458");
        assert_eq!(f(f64::NAN, 1.0), None);
    }

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
