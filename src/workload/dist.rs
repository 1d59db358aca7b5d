//! Distributions of durations (service times, cold starts, boot times, transfer overheads).
//!
//! A [`DistSpec`] is what a scenario writes (`{ kind = "lognormal", median = "120ms", p99 = "1s" }`);
//! [`DistSpec::build`] checks it and returns a [`Dist`] that samples [`SimDuration`]s. Parameters
//! are checked once, at load time, so a bad distribution fails before the run starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto, Weibull};
use serde::{Deserialize, Serialize};

use crate::kernel::SimDuration;
use crate::units::Duration;

/// The standard normal quantile at 0.99, used to turn (median, p99) into lognormal σ.
pub const Z99: f64 = 2.326_347_874_040_841;

/// A duration distribution as written in a scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DistSpec {
    /// Always the same value.
    Constant {
        /// The value.
        value: Duration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean.
        mean: Duration,
    },
    /// Lognormal, by `median` and `p99` (both durations) or by `mu` and `sigma` (of ln seconds).
    Lognormal {
        /// Median (with `p99`).
        median: Option<Duration>,
        /// 99th percentile (with `median`); must exceed the median.
        p99: Option<Duration>,
        /// Mean of ln(seconds) (with `sigma`).
        mu: Option<f64>,
        /// Standard deviation of ln(seconds) (with `mu`).
        sigma: Option<f64>,
    },
    /// Normal, truncated at zero by rejection.
    Normal {
        /// Mean.
        mean: Duration,
        /// Standard deviation.
        sd: Duration,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound.
        max: Duration,
    },
    /// Pareto (type I) with minimum `scale` and tail index `shape` (> 0; the mean is finite
    /// only for `shape` > 1).
    Pareto {
        /// Minimum value.
        scale: Duration,
        /// Tail index α.
        shape: f64,
    },
    /// Weibull with `scale` λ and `shape` k.
    Weibull {
        /// Scale λ.
        scale: Duration,
        /// Shape k (> 0).
        shape: f64,
    },
    /// Resampled uniformly from the values of one column of a CSV file.
    Empirical {
        /// CSV file, relative to the scenario's directory.
        file: PathBuf,
        /// Column name (header) holding the values.
        column: String,
        /// Unit of the values: `ns`, `us`, `ms`, `s`.
        unit: String,
    },
    /// A stage's service time taken from the trace record of each request (only for
    /// `[[stage]] service`, with a trace that records durations or token counts).
    FromTrace,
    /// A weighted mixture of other distributions.
    Mixture {
        /// The components; weights are normalised.
        components: Vec<MixtureComponent>,
    },
}

/// One component of a mixture.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MixtureComponent {
    /// Relative weight (> 0).
    pub weight: f64,
    /// The component's distribution.
    pub dist: DistSpec,
}

/// A validated, ready-to-sample duration distribution.
#[derive(Clone, Debug)]
pub enum Dist {
    /// Constant nanoseconds.
    Constant(SimDuration),
    /// Exponential (seconds) with its mean.
    Exponential(Exp<f64>, f64),
    /// Lognormal (seconds) with its μ and σ.
    LogNormal(LogNormal<f64>, f64, f64),
    /// Normal truncated at 0 (seconds).
    Normal(Normal<f64>),
    /// Uniform (seconds).
    Uniform(f64, f64),
    /// Pareto (seconds) with scale and shape.
    Pareto(Pareto<f64>, f64, f64),
    /// Weibull (seconds) with scale and shape.
    Weibull(Weibull<f64>, f64, f64),
    /// Resampled values (nanoseconds).
    Empirical(Arc<[u64]>),
    /// Cumulative weights and components.
    Mixture(Vec<(f64, Dist)>),
}

impl DistSpec {
    /// Checks the parameters and builds the sampler. `base` is the directory relative paths
    /// are resolved against.
    pub fn build(&self, base: &Path) -> Result<Dist, String> {
        let s = |d: &Duration| d.0.as_secs_f64();
        Ok(match self {
            DistSpec::Constant { value } => Dist::Constant(value.0),
            DistSpec::Exponential { mean } => {
                if mean.0.0 == 0 {
                    return Err("exponential mean must be > 0".into());
                }
                Dist::Exponential(Exp::new(1.0 / s(mean)).map_err(|e| e.to_string())?, s(mean))
            }
            DistSpec::Lognormal {
                median,
                p99,
                mu,
                sigma,
            } => {
                let (mu, sigma) = match (median, p99, *mu, *sigma) {
                    (Some(m), Some(p), None, None) => {
                        if m.0.0 == 0 {
                            return Err("lognormal median must be > 0".into());
                        }
                        if p.0 <= m.0 {
                            return Err(format!(
                                "lognormal p99 ({}) must be greater than the median ({}); allowed: p99 > median > 0",
                                p.0, m.0
                            ));
                        }
                        let mu = s(m).ln();
                        (mu, (s(p).ln() - mu) / Z99)
                    }
                    (None, None, Some(mu), Some(sigma)) => {
                        if !(sigma > 0.0) || !mu.is_finite() || !sigma.is_finite() {
                            return Err(format!(
                                "lognormal sigma must be > 0 and mu finite (got mu={mu}, sigma={sigma})"
                            ));
                        }
                        (mu, sigma)
                    }
                    _ => {
                        return Err(
                            "lognormal needs either `median` and `p99`, or `mu` and `sigma` (of ln seconds)"
                                .into(),
                        );
                    }
                };
                Dist::LogNormal(
                    LogNormal::new(mu, sigma).map_err(|e| e.to_string())?,
                    mu,
                    sigma,
                )
            }
            DistSpec::Normal { mean, sd } => {
                if mean.0.0 == 0 && sd.0.0 == 0 {
                    return Err("normal needs mean > 0 or sd > 0".into());
                }
                Dist::Normal(Normal::new(s(mean), s(sd)).map_err(|e| e.to_string())?)
            }
            DistSpec::Uniform { min, max } => {
                if max.0 < min.0 {
                    return Err(format!("uniform max ({}) is below min ({})", max.0, min.0));
                }
                Dist::Uniform(s(min), s(max))
            }
            DistSpec::Pareto { scale, shape } => {
                if scale.0.0 == 0 || !(*shape > 0.0) {
                    return Err(format!(
                        "pareto needs scale > 0 and shape > 0 (got shape {shape})"
                    ));
                }
                Dist::Pareto(
                    Pareto::new(s(scale), *shape).map_err(|e| e.to_string())?,
                    s(scale),
                    *shape,
                )
            }
            DistSpec::Weibull { scale, shape } => {
                if scale.0.0 == 0 || !(*shape > 0.0) {
                    return Err(format!(
                        "weibull needs scale > 0 and shape > 0 (got shape {shape})"
                    ));
                }
                Dist::Weibull(
                    Weibull::new(s(scale), *shape).map_err(|e| e.to_string())?,
                    s(scale),
                    *shape,
                )
            }
            DistSpec::Empirical { file, column, unit } => {
                let path = base.join(file);
                let values = read_column(&path, column, unit)?;
                Dist::Empirical(values.into())
            }
            DistSpec::FromTrace => {
                return Err(
                    "`from-trace` is only allowed as a stage's `service`, with trace arrivals that record durations or token counts"
                        .into(),
                );
            }
            DistSpec::Mixture { components } => {
                if components.is_empty() {
                    return Err("mixture needs at least one component".into());
                }
                for (i, c) in components.iter().enumerate() {
                    if !(c.weight > 0.0) || !c.weight.is_finite() {
                        return Err(format!(
                            "mixture component {} has weight {} (must be a positive, finite number)",
                            i + 1,
                            c.weight
                        ));
                    }
                }
                let total: f64 = components.iter().map(|c| c.weight).sum();
                if !total.is_finite() {
                    return Err("mixture weights add up to more than can be represented; use smaller relative weights".into());
                }
                let mut acc = 0.0;
                let mut out = Vec::with_capacity(components.len());
                for (i, c) in components.iter().enumerate() {
                    if !(c.weight > 0.0) || !c.weight.is_finite() {
                        return Err(format!(
                            "mixture component {} has weight {} (must be a positive, finite number)",
                            i + 1,
                            c.weight
                        ));
                    }
                    acc += c.weight / total;
                    let d = c
                        .dist
                        .build(base)
                        .map_err(|e| format!("mixture component {}: {e}", i + 1))?;
                    out.push((acc, d));
                }
                if let Some(last) = out.last_mut() {
                    last.0 = 1.0;
                }
                Dist::Mixture(out)
            }
        })
    }
}

/// Reads one numeric column of a CSV file, converted to nanoseconds.
pub fn read_column(path: &Path, column: &str, unit: &str) -> Result<Vec<u64>, String> {
    let scale = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        other => {
            return Err(format!(
                "unknown unit \"{other}\" for the empirical column; allowed: ns, us, ms, s"
            ));
        }
    };
    let mut rdr = crate::workload::trace::textfile::TraceFile::open(path)
        .map(csv::Reader::from_reader)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: cannot read the header: {e}", path.display()))?
        .clone();
    let idx = headers
        .iter()
        .position(|h| h.trim() == column)
        .ok_or_else(|| {
            format!(
                "{}: no column \"{column}\"; columns are: {}",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 2))?;
        let field = rec.get(idx).unwrap_or("").trim();
        if field.is_empty() {
            continue;
        }
        let v: f64 = field.parse().map_err(|_| {
            format!(
                "{}: line {}: column \"{column}\" holds \"{field}\", not a number",
                path.display(),
                i + 2
            )
        })?;
        if !(v >= 0.0) || !v.is_finite() {
            return Err(format!(
                "{}: line {}: column \"{column}\" holds {v}; durations must be finite and ≥ 0",
                path.display(),
                i + 2
            ));
        }
        out.push(SimDuration::from_secs_f64(v * scale).0);
    }
    if out.is_empty() {
        return Err(format!(
            "{}: column \"{column}\" has no values (the file is empty or the column is blank)",
            path.display()
        ));
    }
    Ok(out)
}

impl Dist {
    /// Draws one duration. The two commonest laws are drawn inline; the others out of line, so
    /// that this stays small enough to inline into the engine's hot path.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            Dist::Exponential(d, _) => SimDuration::from_secs_f64(d.sample(rng)),
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            Dist::Exponential(d, _) => SimDuration::from_secs_f64(d.sample(rng)),
            Dist::LogNormal(d, _, _) => SimDuration::from_secs_f64(d.sample(rng)),
            Dist::Normal(d) => {
                for _ in 0..1000 {
                    let x = d.sample(rng);
                    if x >= 0.0 {
                        return SimDuration::from_secs_f64(x);
                    }
                }
                SimDuration::ZERO
            }
            Dist::Uniform(a, b) => SimDuration::from_secs_f64(a + (b - a) * rng.random::<f64>()),
            Dist::Pareto(d, _, _) => SimDuration::from_secs_f64(d.sample(rng)),
            Dist::Weibull(d, _, _) => SimDuration::from_secs_f64(d.sample(rng)),
            Dist::Empirical(v) => SimDuration(v[rng.random_range(0..v.len())]),
            Dist::Mixture(parts) => {
                let u: f64 = rng.random();
                let i = parts.partition_point(|(c, _)| *c < u).min(parts.len() - 1);
                parts[i].1.sample(rng)
            }
        }
    }

    /// The mean in seconds, when finite (used by policies and validation tests).
    pub fn mean_secs(&self) -> f64 {
        match self {
            Dist::Constant(d) => d.as_secs_f64(),
            Dist::Exponential(_, mean) => *mean,
            Dist::LogNormal(_, mu, s) => (mu + s * s / 2.0).exp(),
            Dist::Normal(d) => d.mean().max(0.0),
            Dist::Uniform(a, b) => (a + b) / 2.0,
            Dist::Pareto(_, scale, shape) => {
                if *shape > 1.0 {
                    scale * shape / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            Dist::Weibull(_, scale, shape) => {
                scale * statrs::function::gamma::gamma(1.0 + 1.0 / shape)
            }
            Dist::Empirical(v) => v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64 / 1e9,
            Dist::Mixture(parts) => {
                let mut prev = 0.0;
                let mut m = 0.0;
                for (c, d) in parts {
                    m += (c - prev) * d.mean_secs();
                    prev = *c;
                }
                m
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rng;

    fn spec(toml_text: &str) -> DistSpec {
        #[derive(Deserialize)]
        struct W {
            d: DistSpec,
        }
        toml::from_str::<W>(toml_text).unwrap().d
    }

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut r = rng::from_seed(1);
        (0..n).map(|_| d.sample(&mut r).as_secs_f64()).sum::<f64>() / n as f64
    }

    #[test]
    fn lognormal_by_median_and_p99_hits_both_quantiles() {
        let d = spec(r#"d = { kind = "lognormal", median = "100ms", p99 = "1s" }"#)
            .build(Path::new("."))
            .unwrap();
        let mut r = rng::from_seed(3);
        let mut xs: Vec<f64> = (0..200_000)
            .map(|_| d.sample(&mut r).as_secs_f64())
            .collect();
        xs.sort_by(f64::total_cmp);
        let med = xs[100_000];
        let p99 = xs[198_000];
        assert!((med - 0.1).abs() < 0.003, "median {med}");
        assert!((p99 - 1.0).abs() < 0.05, "p99 {p99}");
    }

    #[test]
    fn sample_means_match_closed_forms() {
        for text in [
            r#"d = { kind = "exponential", mean = "2s" }"#,
            r#"d = { kind = "uniform", min = "1s", max = "3s" }"#,
            r#"d = { kind = "pareto", scale = "1s", shape = 3.0 }"#,
            r#"d = { kind = "weibull", scale = "1s", shape = 1.5 }"#,
            r#"d = { kind = "lognormal", mu = 0.0, sigma = 0.5 }"#,
            r#"d = { kind = "mixture", components = [ { weight = 3, dist = { kind = "constant", value = "1s" } }, { weight = 1, dist = { kind = "constant", value = "5s" } } ] }"#,
        ] {
            let d = spec(text).build(Path::new(".")).unwrap();
            let m = sample_mean(&d, 200_000);
            let want = d.mean_secs();
            assert!(
                (m - want).abs() / want < 0.02,
                "{text}: sample mean {m} vs {want}"
            );
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let e = spec(r#"d = { kind = "lognormal", median = "1s", p99 = "500ms" }"#)
            .build(Path::new("."))
            .unwrap_err();
        assert!(e.contains("must be greater than the median"), "{e}");
        let e = spec(r#"d = { kind = "lognormal", median = "1s" }"#)
            .build(Path::new("."))
            .unwrap_err();
        assert!(e.contains("either"), "{e}");
        let e = spec(r#"d = { kind = "empirical", file = "nope.csv", column = "x", unit = "ms" }"#)
            .build(Path::new("."))
            .unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
