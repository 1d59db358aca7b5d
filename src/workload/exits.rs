//! Early exits: the probability that a request leaves the pipeline after a stage.
//!
//! A stage's `exit` key is an [`ExitSpec`]: a plain probability, or a table whose `kind` makes
//! the probability drift with simulated time (input mix changing over the day, a model update).
//! [`ExitSpec::build`] checks it once, at load time, and returns an [`ExitModel`], which the
//! engine asks for the probability at each stage completion ([`ExitModel::at`]) and planners ask
//! for a time average ([`ExitModel::mean_over`]).
//!
//! ```toml
//! [[stage]]
//! exit = 0.3                                                   # constant
//! [[stage]]
//! exit = { kind = "linear", from = 0.2, to = 0.6, start = "0s", end = "2h" }
//! [[stage]]
//! exit = { kind = "sine", mean = 0.4, amplitude = 0.2, period = "1h", phase = "0s" }
//! [[stage]]
//! exit = { kind = "steps", at = ["0s", "1h", "2h"], values = [0.2, 0.5, 0.3] }
//! ```
//!
//! Realistic per-stage probabilities for early-exit networks come from the BranchyNet
//! measurements: [`branchynet_exits`] returns them for a network and its entropy thresholds,
//! from figures embedded here or from the full CSV file.
//!
//! ```
//! use infersim::kernel::SimTime;
//! use infersim::workload::exits::{ExitSpec, branchynet_exits};
//!
//! #[derive(serde::Deserialize)]
//! struct Stage {
//!     exit: ExitSpec,
//! }
//! let stage: Stage =
//!     toml::from_str(r#"exit = { kind = "linear", from = 0.2, to = 0.6, end = "2h" }"#).unwrap();
//! let model = stage.exit.build().unwrap();
//! assert!((model.at(SimTime(3_600_000_000_000)) - 0.4).abs() < 1e-12);
//!
//! // B-LeNet on MNIST with entropy threshold 0.05: 95.11 % leave at the side branch.
//! let e = branchynet_exits(None, "B-LeNet", &[0.05]).unwrap();
//! assert!((e[0] - 0.9511).abs() < 1e-12 && e[1] == 1.0);
//! ```

use std::f64::consts::{PI, TAU};
use std::fmt;
use std::path::Path;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::kernel::SimTime;
use crate::units::Duration;

/// A stage's `exit` key as written in a scenario: the probability that a request leaves the
/// pipeline when this stage completes, possibly varying with simulated time.
///
/// In TOML it is either a plain number in [0, 1] ([`ExitSpec::Constant`]) or a table with a
/// `kind` (`"linear"`, `"sine"`, `"steps"`); tables reject unknown keys. Deserialising also
/// runs the checks of [`ExitSpec::build`], so an invalid value fails with its TOML line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExitSpec {
    /// `{ kind = "linear", from, to, start = "0s", end }`: `from` until `start`, then a straight
    /// line to `to` at `end`, then `to`.
    Linear {
        /// Probability at and before `start`, in [0, 1].
        from: f64,
        /// Probability at and after `end`, in [0, 1].
        to: f64,
        /// Start of the drift (default `"0s"`).
        start: Duration,
        /// End of the drift; must be after `start`.
        end: Duration,
    },
    /// `{ kind = "sine", mean, amplitude, period, phase = "0s" }`:
    /// p(t) = mean + amplitude·sin(2π(t + phase)/period), clamped to [0, 1].
    Sine {
        /// Centre of the wave, in [0, 1].
        mean: f64,
        /// Half the peak-to-peak swing (≥ 0); parts of the wave outside [0, 1] are clipped.
        amplitude: f64,
        /// Period (> 0).
        period: Duration,
        /// Shift added to the time (default `"0s"`): a phase of period/4 starts at the peak.
        phase: Duration,
    },
    /// `{ kind = "steps", at = [times], values = [probabilities] }`: `values[i]` from `at[i]` on,
    /// and `values[0]` before `at[0]`.
    Steps {
        /// Times at which the probability changes, strictly increasing, at least one.
        at: Vec<Duration>,
        /// The probability from each time on, one per time, each in [0, 1].
        values: Vec<f64>,
    },
    /// A plain number: the same probability at every time.
    // Last, because serde requires untagged variants at the end; written as a bare number.
    #[serde(untagged)]
    Constant(f64),
}

/// The table forms, with an explicit `kind` tag, so serde's messages for a wrong `kind`, an
/// unknown key or a missing key reach the user (an untagged enum would hide them).
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum Table {
    Linear {
        from: f64,
        to: f64,
        #[serde(default)]
        start: Duration,
        end: Duration,
    },
    Sine {
        mean: f64,
        amplitude: f64,
        period: Duration,
        #[serde(default)]
        phase: Duration,
    },
    Steps {
        at: Vec<Duration>,
        values: Vec<f64>,
    },
}

impl From<Table> for ExitSpec {
    fn from(t: Table) -> ExitSpec {
        match t {
            Table::Linear {
                from,
                to,
                start,
                end,
            } => ExitSpec::Linear {
                from,
                to,
                start,
                end,
            },
            Table::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => ExitSpec::Sine {
                mean,
                amplitude,
                period,
                phase,
            },
            Table::Steps { at, values } => ExitSpec::Steps { at, values },
        }
    }
}

/// What an `exit` value may be, appended to serde's messages about the table's shape.
const ALLOWED_FORMS: &str = "an `exit` is a probability in [0, 1] such as 0.3, \
     or one of the tables { kind = \"linear\", from, to, end, start = \"0s\" }, \
     { kind = \"sine\", mean, amplitude, period, phase = \"0s\" }, \
     { kind = \"steps\", at = [times], values = [probabilities] }";

/// Dispatches on number versus table, so the table's tagged errors pass through unchanged.
struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = ExitSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "an exit probability: a number in [0, 1] or a table with `kind` = \"linear\", \"sine\" or \"steps\""
        )
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ExitSpec, E> {
        checked(ExitSpec::Constant(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExitSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExitSpec, E> {
        self.visit_f64(v as f64)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExitSpec, A::Error> {
        let table = Table::deserialize(MapAccessDeserializer::new(map)).map_err(|e| {
            let msg = e.to_string();
            // serde's own messages about the table's shape; others (a duration without a unit,
            // a string for a number) are precise already.
            let shape = ["unknown variant", "unknown field", "missing field"]
                .iter()
                .any(|s| msg.contains(s));
            if shape {
                de::Error::custom(format!("{}\n{ALLOWED_FORMS}", msg.trim_end()))
            } else {
                e
            }
        })?;
        checked(table.into())
    }
}

/// Runs [`ExitSpec::build`]'s checks during deserialisation.
fn checked<E: de::Error>(spec: ExitSpec) -> Result<ExitSpec, E> {
    spec.build().map(|_| spec).map_err(E::custom)
}

impl<'de> Deserialize<'de> for ExitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SpecVisitor)
    }
}

/// Checks that `p` is a probability; the error names `key`.
fn probability(key: &str, p: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!(
            "`{key}` = {p} is not a probability: use a number in [0, 1]"
        ))
    }
}

impl ExitSpec {
    /// Checks the parameters and builds the model. The error names the offending key: every
    /// probability in [0, 1]; `linear`: `end` after `start`; `sine`: `amplitude` finite and ≥ 0,
    /// `period` > 0; `steps`: at least one step, as many `values` as `at` times, times strictly
    /// increasing.
    pub fn build(&self) -> Result<ExitModel, String> {
        let shape = match self {
            ExitSpec::Constant(p) => Shape::Constant(probability("exit", *p)?),
            ExitSpec::Linear {
                from,
                to,
                start,
                end,
            } => {
                let (from, to) = (probability("from", *from)?, probability("to", *to)?);
                if end.0 <= start.0 {
                    return Err(format!(
                        "`end` ({}) must be later than `start` ({})",
                        end.0, start.0
                    ));
                }
                Shape::Linear {
                    from,
                    to,
                    start: start.0.0,
                    end: end.0.0,
                }
            }
            ExitSpec::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => {
                let mean = probability("mean", *mean)?;
                if !(*amplitude >= 0.0) || !amplitude.is_finite() {
                    return Err(format!(
                        "`amplitude` = {amplitude} must be a finite number ≥ 0 (shift the wave with `phase`)"
                    ));
                }
                let period = period.0.0;
                if period == 0 {
                    return Err("`period` must be longer than 0s".into());
                }
                Shape::Sine {
                    mean,
                    amplitude: *amplitude,
                    period,
                    phase: phase.0.0 % period,
                }
            }
            ExitSpec::Steps { at, values } => {
                if at.is_empty() && values.is_empty() {
                    return Err("`at` and `values` are empty: give at least one step".into());
                }
                if at.len() != values.len() {
                    return Err(format!(
                        "`at` has {} times but `values` has {} probabilities: give one value per time",
                        at.len(),
                        values.len()
                    ));
                }
                for (i, w) in at.windows(2).enumerate() {
                    if w[1] <= w[0] {
                        return Err(format!(
                            "`at` must be strictly increasing: `at[{}]` ({}) is not after `at[{i}]` ({})",
                            i + 1,
                            w[1].0,
                            w[0].0
                        ));
                    }
                }
                for (i, v) in values.iter().enumerate() {
                    probability(&format!("values[{i}]"), *v)?;
                }
                Shape::Steps {
                    at: at.iter().map(|d| d.0.0).collect(),
                    values: values.clone().into_boxed_slice(),
                }
            }
        };
        Ok(ExitModel(shape))
    }
}

/// A validated exit probability as a function of simulated time. Build it with
/// [`ExitSpec::build`] or [`ExitModel::constant`]; the default never exits.
#[derive(Clone, Debug, PartialEq)]
pub struct ExitModel(Shape);

/// The model's curve; times in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    Constant(f64),
    Linear {
        from: f64,
        to: f64,
        start: u64,
        end: u64,
    },
    Sine {
        mean: f64,
        amplitude: f64,
        period: u64,
        /// Reduced modulo `period`.
        phase: u64,
    },
    Steps {
        at: Box<[u64]>,
        values: Box<[f64]>,
    },
}

impl Default for ExitModel {
    fn default() -> ExitModel {
        ExitModel::NEVER
    }
}

impl ExitModel {
    /// Never exits.
    pub const NEVER: ExitModel = ExitModel(Shape::Constant(0.0));

    /// The same probability `p` at all times.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    pub fn constant(p: f64) -> ExitModel {
        assert!(
            (0.0..=1.0).contains(&p),
            "exit probability {p} is outside [0, 1]"
        );
        ExitModel(Shape::Constant(p))
    }

    /// The exit probability at time `t`, in [0, 1]. Cheap: no allocation; a binary search for
    /// `steps`, one `sin` for `sine`.
    #[inline]
    pub fn at(&self, t: SimTime) -> f64 {
        match &self.0 {
            Shape::Constant(p) => *p,
            Shape::Linear {
                from,
                to,
                start,
                end,
            } => {
                if t.0 <= *start {
                    *from
                } else if t.0 >= *end {
                    *to
                } else {
                    from + (to - from) * ((t.0 - start) as f64 / (end - start) as f64)
                }
            }
            Shape::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => {
                let theta = TAU * (phase_offset(t.0, *phase, *period) as f64 / *period as f64);
                (mean + amplitude * theta.sin()).clamp(0.0, 1.0)
            }
            Shape::Steps { at, values } => values[at.partition_point(|&a| a <= t.0).max(1) - 1],
        }
    }

    /// The probability if it does not depend on time.
    pub fn as_constant(&self) -> Option<f64> {
        match self.0 {
            Shape::Constant(p) => Some(p),
            _ => None,
        }
    }

    /// True if the probability is 0 at every time, so the stage never ends a request.
    pub fn is_zero(&self) -> bool {
        match &self.0 {
            Shape::Constant(p) => *p == 0.0,
            Shape::Linear { from, to, .. } => *from == 0.0 && *to == 0.0,
            Shape::Sine {
                mean, amplitude, ..
            } => mean + amplitude <= 0.0,
            Shape::Steps { values, .. } => values.iter().all(|&v| v == 0.0),
        }
    }

    /// The time average of [`at`](Self::at) over `[from, to]`, exact (piecewise integrals; the
    /// clipped sine is integrated between its crossings of 0 and 1). If `to <= from` it is the
    /// value at `from`.
    pub fn mean_over(&self, from: SimTime, to: SimTime) -> f64 {
        if to <= from {
            return self.at(from);
        }
        let (a, b) = (from.0, to.0);
        let span = (b - a) as f64;
        // Length of [a, b] ∩ [lo, hi].
        let overlap = |lo: u64, hi: u64| b.min(hi).saturating_sub(a.max(lo)) as f64;
        match &self.0 {
            Shape::Constant(p) => *p,
            Shape::Linear {
                from: p0,
                to: p1,
                start,
                end,
            } => {
                let (u, v) = (a.max(*start), b.min(*end));
                let ramp = if v > u {
                    0.5 * (self.at(SimTime(u)) + self.at(SimTime(v))) * (v - u) as f64
                } else {
                    0.0
                };
                (p0 * overlap(0, *start) + ramp + p1 * overlap(*end, u64::MAX)) / span
            }
            Shape::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => {
                if *amplitude == 0.0 {
                    return *mean;
                }
                let p = *period as f64;
                let len = b - a;
                let theta0 = TAU * (phase_offset(a, *phase, *period) as f64 / p);
                let theta1 = theta0 + TAU * ((len % period) as f64 / p);
                let part = |x, y| clamped_sine_integral(*mean, *amplitude, x, y);
                let mut integral = (len / period) as f64 * part(0.0, TAU);
                integral += if theta1 <= TAU {
                    part(theta0, theta1)
                } else {
                    part(theta0, TAU) + part(0.0, theta1 - TAU)
                };
                integral / (TAU * (len as f64 / p))
            }
            Shape::Steps { at, values } => {
                let mut sum = 0.0;
                for (i, v) in values.iter().enumerate() {
                    let lo = if i == 0 { 0 } else { at[i] };
                    let hi = at.get(i + 1).copied().unwrap_or(u64::MAX);
                    sum += v * overlap(lo, hi);
                }
                sum / span
            }
        }
    }
}

/// `(t + phase) mod period` without overflow, for `phase < period`.
#[inline]
fn phase_offset(t: u64, phase: u64, period: u64) -> u64 {
    let x = t % period;
    if x >= period - phase {
        x - (period - phase)
    } else {
        x + phase
    }
}

/// ∫ clamp(m + a·sin θ, 0, 1) dθ over [x, y] ⊆ [0, 2π], for a > 0: exact, by cutting [x, y]
/// where the wave crosses 0 and 1 and integrating each piece in closed form.
fn clamped_sine_integral(m: f64, a: f64, x: f64, y: f64) -> f64 {
    let mut cuts = [y; 6];
    cuts[0] = x;
    let mut n = 1;
    for level in [0.0, 1.0] {
        let s = (level - m) / a;
        if s > -1.0 && s < 1.0 {
            let r = s.asin();
            // The two solutions of sin θ = s in [0, 2π).
            for c in [r.rem_euclid(TAU), PI - r] {
                if c > x && c < y {
                    cuts[n] = c;
                    n += 1;
                }
            }
        }
    }
    n += 1; // cuts[n - 1] is y
    cuts[..n].sort_unstable_by(f64::total_cmp);
    cuts[..n]
        .windows(2)
        .map(|w| {
            let (u, v) = (w[0], w[1]);
            // Between cuts the wave stays on one side of 0 and of 1: its midpoint says which.
            let mid = m + a * (0.5 * (u + v)).sin();
            if mid > 1.0 {
                v - u
            } else if mid < 0.0 {
                0.0
            } else {
                m * (v - u) - a * (v.cos() - u.cos())
            }
        })
        .sum()
}

/// Per-stage conditional exit probabilities from the percentage of all samples that leave at
/// each exit (BranchyNet's `exit_pct_per_stage`): e_k = pct_k / (100 − Σ_{j<k} pct_j), the
/// share of the samples *reaching* stage k that leave there. The last stage is the final
/// classifier, so e_n = 1; a stage that no sample reaches gets 0. Results are clamped to [0, 1]
/// against rounding in the percentages.
pub fn conditional_exits(pct_per_stage: &[f64]) -> Vec<f64> {
    let n = pct_per_stage.len();
    let mut reaching = 100.0;
    pct_per_stage
        .iter()
        .enumerate()
        .map(|(k, &pct)| {
            let e = if k + 1 == n {
                1.0
            } else if reaching <= 1e-9 {
                0.0
            } else {
                (pct / reaching).clamp(0.0, 1.0)
            };
            reaching -= pct;
            e
        })
        .collect()
}

/// A BranchyNet row: network, entropy thresholds (one per side branch), % of samples leaving
/// at each exit.
type Row<'a> = (&'a str, &'a [f64], &'a [f64]);

/// Exit percentages measured for BranchyNet (CPU runs), a subset of the published tables:
/// every B-LeNet (MNIST) setting, and 16 of the 121 B-AlexNet (CIFAR-10) threshold pairs (first
/// threshold 0.0001 with a spread of second thresholds, and equal pairs from 0.001 to 5).
///
/// Source: Teerapittayanon, McDanel & Kung, "BranchyNet: Fast Inference via Early Exiting from
/// Deep Neural Networks", ICPR 2016; numbers from the "CPU Results" tables in
/// kunglab/branchynet `experiment_lenet_mnist.ipynb` and `experiment_alex_cifar10.ipynb` @
/// 155454224ccb5b5438456e1bdf49e222dd03a081. Only the exit percentages are reproduced, as
/// figures with this citation; pass the CSV file to [`branchynet_exits`] for every row.
const BRANCHYNET_CPU: &[Row<'static>] = &[
    ("B-LeNet", &[0.0001], &[71.57, 28.43]),
    ("B-LeNet", &[0.0005], &[81.05, 18.95]),
    ("B-LeNet", &[0.001], &[84.24, 15.76]),
    ("B-LeNet", &[0.005], &[90.19, 9.81]),
    ("B-LeNet", &[0.01], &[92.1, 7.9]),
    ("B-LeNet", &[0.025], &[93.95, 6.05]),
    ("B-LeNet", &[0.05], &[95.11, 4.89]),
    ("B-LeNet", &[0.075], &[95.71, 4.29]),
    ("B-LeNet", &[0.1], &[96.16, 3.84]),
    ("B-LeNet", &[0.25], &[97.35, 2.65]),
    ("B-LeNet", &[0.5], &[98.51, 1.49]),
    ("B-LeNet", &[0.75], &[99.62, 0.38]),
    ("B-LeNet", &[1.0], &[99.88, 0.12]),
    ("B-LeNet", &[2.0], &[100.0, 0.0]),
    ("B-LeNet", &[3.0], &[100.0, 0.0]),
    ("B-LeNet", &[5.0], &[100.0, 0.0]),
    ("B-LeNet", &[10.0], &[100.0, 0.0]),
    ("B-AlexNet", &[0.0001, 0.0001], &[43.61, 17.41, 38.98]),
    ("B-AlexNet", &[0.0001, 0.001], &[43.61, 23.21, 33.18]),
    ("B-AlexNet", &[0.0001, 0.01], &[43.61, 29.96, 26.43]),
    ("B-AlexNet", &[0.0001, 0.05], &[43.61, 35.79, 20.6]),
    ("B-AlexNet", &[0.0001, 0.1], &[43.61, 38.98, 17.41]),
    ("B-AlexNet", &[0.0001, 0.5], &[43.61, 48.45, 7.94]),
    ("B-AlexNet", &[0.0001, 1.0], &[43.61, 55.83, 0.56]),
    ("B-AlexNet", &[0.0001, 10.0], &[43.61, 56.39, 0.0]),
    ("B-AlexNet", &[0.001, 0.001], &[52.62, 17.96, 29.42]),
    ("B-AlexNet", &[0.01, 0.01], &[63.42, 17.14, 19.44]),
    ("B-AlexNet", &[0.05, 0.05], &[72.19, 15.73, 12.08]),
    ("B-AlexNet", &[0.1, 0.1], &[76.54, 14.55, 8.91]),
    ("B-AlexNet", &[0.5, 0.5], &[89.61, 8.26, 2.13]),
    ("B-AlexNet", &[0.75, 0.75], &[96.76, 2.93, 0.31]),
    ("B-AlexNet", &[1.0, 1.0], &[98.97, 0.99, 0.04]),
    ("B-AlexNet", &[5.0, 5.0], &[100.0, 0.0, 0.0]),
];

/// How the embedded table is named in errors.
const EMBEDDED_SOURCE: &str =
    "the embedded BranchyNet table (a subset: pass the CSV file for every setting)";

/// Conditional per-stage exit probabilities (see [`conditional_exits`]; length = number of
/// exits, the last is 1) of a BranchyNet `network` (`"B-LeNet"`, `"B-AlexNet"`) run with the
/// entropy `thresholds` (one per side branch, matched as numbers with a relative tolerance of
/// 1e-6).
///
/// With `file = None` the figures embedded in this module are used (all B-LeNet settings and a
/// subset of B-AlexNet's); with `Some(path)` the CSV file `branchynet_exit_rates_cpu.csv`
/// (columns `network`, `entropy_thresholds` `;`-separated, `n_exits`, `exit_pct_per_stage`
/// `;`-separated) is read and checked. Errors name the file, line and column, and when no row
/// matches they list the networks or the threshold settings available.
pub fn branchynet_exits(
    file: Option<&Path>,
    network: &str,
    thresholds: &[f64],
) -> Result<Vec<f64>, String> {
    match file {
        None => select(BRANCHYNET_CPU, network, thresholds, EMBEDDED_SOURCE),
        Some(path) => {
            let owned = read_branchynet_csv(path)?;
            let rows: Vec<Row> = owned
                .iter()
                .map(|(n, t, p)| (n.as_str(), &t[..], &p[..]))
                .collect();
            select(&rows, network, thresholds, &path.display().to_string())
        }
    }
}

/// Finds the row of `network` with `thresholds` and converts it.
fn select(
    rows: &[Row],
    network: &str,
    thresholds: &[f64],
    source: &str,
) -> Result<Vec<f64>, String> {
    let same = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-6 * x.abs().max(y.abs()))
    };
    let of_network: Vec<&Row> = rows.iter().filter(|r| r.0 == network).collect();
    if of_network.is_empty() {
        let mut networks: Vec<&str> = Vec::new();
        for r in rows {
            if !networks.contains(&r.0) {
                networks.push(r.0);
            }
        }
        return Err(format!(
            "no BranchyNet network \"{network}\" in {source}; networks: {}",
            networks.join(", ")
        ));
    }
    if let Some(r) = of_network.iter().find(|r| same(r.1, thresholds)) {
        return Ok(conditional_exits(r.2));
    }
    let show = |t: &[f64]| {
        let parts: Vec<String> = t.iter().map(|x| x.to_string()).collect();
        format!("[{}]", parts.join(", "))
    };
    let mut listed: Vec<String> = of_network.iter().take(10).map(|r| show(r.1)).collect();
    if of_network.len() > 10 {
        listed.push(format!("… ({} settings in all)", of_network.len()));
    }
    let branches = of_network[0].1.len();
    let hint = if of_network.iter().all(|r| r.1.len() == branches) && thresholds.len() != branches {
        format!(" ({network} takes {branches} thresholds, one per side branch)")
    } else {
        String::new()
    };
    Err(format!(
        "no \"{network}\" row with entropy thresholds {} in {source}{hint}; available: {}",
        show(thresholds),
        listed.join(", ")
    ))
}

/// A row read from a file, owned.
type OwnedRow = (String, Vec<f64>, Vec<f64>);

/// Reads and checks every row of a BranchyNet CSV file: (network, thresholds, percentages).
fn read_branchynet_csv(path: &Path) -> Result<Vec<OwnedRow>, String> {
    let name = path.display();
    let mut reader = crate::workload::trace::textfile::TraceFile::open(path)
        .map(csv::Reader::from_reader)
        .map_err(|e| format!("{name}: cannot read: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{name}: line 1: {e}"))?
        .clone();
    let column = |c: &str| {
        headers.iter().position(|h| h.trim() == c).ok_or_else(|| {
            format!(
                "{name}: line 1: no column \"{c}\" in the header; BranchyNet files need network, entropy_thresholds, n_exits, exit_pct_per_stage"
            )
        })
    };
    let c_network = column("network")?;
    let c_thresholds = column("entropy_thresholds")?;
    let c_n = column("n_exits")?;
    let c_pct = column("exit_pct_per_stage")?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("{name}: line {}: {e}", p.line()),
            None => format!("{name}: {e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let list = |c: usize| -> Result<Vec<f64>, String> {
            let text = field(c);
            if text.is_empty() {
                return Ok(Vec::new());
            }
            text.split(';')
                .map(|x| x.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
                .collect::<Option<Vec<f64>>>()
                .ok_or_else(|| {
                    format!(
                        "{name}: line {line}: column \"{}\" holds \"{text}\", not a ;-separated list of numbers ≥ 0",
                        &headers[c]
                    )
                })
        };
        let thresholds = list(c_thresholds)?;
        let pct = list(c_pct)?;
        let n: usize = field(c_n).parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
            format!(
                "{name}: line {line}: column \"n_exits\" holds \"{}\", not a whole number ≥ 1",
                field(c_n)
            )
        })?;
        if pct.len() != n {
            return Err(format!(
                "{name}: line {line}: column \"exit_pct_per_stage\" has {} values but n_exits is {n}",
                pct.len()
            ));
        }
        if thresholds.len() + 1 != n {
            return Err(format!(
                "{name}: line {line}: column \"entropy_thresholds\" has {} values; a network with {n} exits has {}",
                thresholds.len(),
                n - 1
            ));
        }
        let total: f64 = pct.iter().sum();
        if (total - 100.0).abs() > 0.05 {
            return Err(format!(
                "{name}: line {line}: column \"exit_pct_per_stage\" sums to {total}%, not 100%"
            ));
        }
        rows.push((field(c_network).to_string(), thresholds, pct));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const MIN: u64 = 60_000_000_000;
    const HOUR: u64 = 60 * MIN;

    fn t(ns: u64) -> SimTime {
        SimTime(ns)
    }

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want} ± {tol}");
    }

    fn model(toml_value: &str) -> ExitModel {
        parse(toml_value).unwrap().build().unwrap()
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct Wrapper {
        exit: ExitSpec,
    }

    fn parse(toml_value: &str) -> Result<ExitSpec, String> {
        toml::from_str::<Wrapper>(&format!("exit = {toml_value}"))
            .map(|w| w.exit)
            .map_err(|e| e.to_string())
    }

    /// The average of `at` over [a, b] by the midpoint rule with `n` points.
    fn brute_mean(m: &ExitModel, a: u64, b: u64, n: u64) -> f64 {
        let h = (b - a) as f64 / n as f64;
        (0..n)
            .map(|i| m.at(t(a + ((i as f64 + 0.5) * h) as u64)))
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(parse("0.3").unwrap(), ExitSpec::Constant(0.3));
        assert_eq!(parse("1").unwrap(), ExitSpec::Constant(1.0));
        assert_eq!(parse("0").unwrap(), ExitSpec::Constant(0.0));
        let d = |s: &str| s.parse::<Duration>().unwrap();
        assert_eq!(
            parse(r#"{ kind = "linear", from = 0.2, to = 0.6, end = "2h" }"#).unwrap(),
            ExitSpec::Linear {
                from: 0.2,
                to: 0.6,
                start: d("0s"),
                end: d("2h")
            }
        );
        assert_eq!(
            parse(
                r#"{ kind = "sine", mean = 0.4, amplitude = 0.2, period = "1h", phase = "10m" }"#
            )
            .unwrap(),
            ExitSpec::Sine {
                mean: 0.4,
                amplitude: 0.2,
                period: d("1h"),
                phase: d("10m")
            }
        );
        assert_eq!(
            parse(r#"{ kind = "steps", at = ["0s", "1h", "2h"], values = [0.2, 0.5, 0] }"#)
                .unwrap(),
            ExitSpec::Steps {
                at: vec![d("0s"), d("1h"), d("2h")],
                values: vec![0.2, 0.5, 0.0]
            }
        );
        // A standard table works as well as an inline one.
        let w: Wrapper =
            toml::from_str("[exit]\nkind = \"linear\"\nfrom = 0\nto = 1\nend = \"1h\"\n").unwrap();
        assert_eq!(w.exit.build().unwrap().at(t(HOUR / 2)), 0.5);
    }

    #[test]
    fn serialises_back_to_the_same_spec() {
        for text in [
            "0.25",
            r#"{ kind = "linear", from = 0.2, to = 0.6, start = "30m", end = "2h" }"#,
            r#"{ kind = "sine", mean = 0.4, amplitude = 0.2, period = "1h", phase = "0s" }"#,
            r#"{ kind = "steps", at = ["0s", "1h"], values = [0.2, 0.5] }"#,
        ] {
            let spec = parse(text).unwrap();
            let out = toml::to_string(&Wrapper { exit: spec.clone() }).unwrap();
            let back: Wrapper = toml::from_str(&out).unwrap();
            assert_eq!(back.exit, spec, "{out}");
        }
        let out = toml::to_string(&Wrapper {
            exit: ExitSpec::Constant(0.25),
        })
        .unwrap();
        assert_eq!(out.trim(), "exit = 0.25");
    }

    #[test]
    fn bad_tables_say_what_is_allowed() {
        let err = parse(r#"{ kind = "linaer", from = 0.2, to = 0.6, end = "2h" }"#).unwrap_err();
        assert!(err.contains("linaer"), "{err}");
        for kind in ["\"linear\"", "\"sine\"", "\"steps\""] {
            assert!(err.contains(kind), "{err}");
        }

        let err = parse(r#"{ kind = "linear", from = 0.2, to = 0.6, end = "2h", ned = "3h" }"#)
            .unwrap_err();
        assert!(err.contains("unknown field `ned`"), "{err}");
        assert!(err.contains("`start`"), "{err}");

        let err = parse(r#"{ kind = "sine", mean = 0.4, amplitude = 0.2 }"#).unwrap_err();
        assert!(err.contains("missing field `period`"), "{err}");

        let err = parse(r#"{ from = 0.2, to = 0.6, end = "2h" }"#).unwrap_err();
        assert!(err.contains("`kind`"), "{err}");

        let err = parse(r#""0.3""#).unwrap_err();
        assert!(err.contains("a number in [0, 1] or a table"), "{err}");

        // A duration without a unit keeps the units module's own message.
        let err = parse(r#"{ kind = "linear", from = 0.2, to = 0.6, end = 7200 }"#).unwrap_err();
        assert!(err.contains("needs a unit"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let cases = [
            ("1.3", "`exit` = 1.3"),
            ("-0.1", "`exit` = -0.1"),
            ("nan", "`exit` = NaN"),
            (
                r#"{ kind = "linear", from = 0.2, to = 1.3, end = "2h" }"#,
                "`to` = 1.3",
            ),
            (
                r#"{ kind = "linear", from = 0.2, to = 0.6, start = "2h", end = "1h" }"#,
                "`end` (3600s) must be later than `start` (7200s)",
            ),
            (
                r#"{ kind = "sine", mean = 1.2, amplitude = 0.2, period = "1h" }"#,
                "`mean` = 1.2",
            ),
            (
                r#"{ kind = "sine", mean = 0.4, amplitude = -0.2, period = "1h" }"#,
                "`amplitude` = -0.2",
            ),
            (
                r#"{ kind = "sine", mean = 0.4, amplitude = 0.2, period = "0s" }"#,
                "`period`",
            ),
            (
                r#"{ kind = "steps", at = [], values = [] }"#,
                "at least one step",
            ),
            (
                r#"{ kind = "steps", at = ["0s", "1h"], values = [0.2] }"#,
                "`at` has 2 times but `values` has 1",
            ),
            (
                r#"{ kind = "steps", at = ["1h", "1h"], values = [0.2, 0.3] }"#,
                "`at[1]` (3600s) is not after `at[0]`",
            ),
            (
                r#"{ kind = "steps", at = ["0s", "1h"], values = [0.2, 2] }"#,
                "`values[1]` = 2 is not a probability",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        // `build` checks specs made in code the same way.
        let spec = ExitSpec::Linear {
            from: 0.2,
            to: 1.3,
            start: Duration::default(),
            end: "1h".parse().unwrap(),
        };
        assert_eq!(
            spec.build().unwrap_err(),
            "`to` = 1.3 is not a probability: use a number in [0, 1]"
        );
    }

    #[test]
    fn constant_model() {
        let m = model("0.3");
        assert_eq!(m.at(t(0)), 0.3);
        assert_eq!(m.at(SimTime::MAX), 0.3);
        assert_eq!(m.mean_over(t(0), t(HOUR)), 0.3);
        assert_eq!(m.as_constant(), Some(0.3));
        assert!(!m.is_zero());
        assert!(model("0").is_zero());
        assert!(ExitModel::default().is_zero());
        assert_eq!(ExitModel::constant(0.3), m);
    }

    #[test]
    #[should_panic(expected = "outside [0, 1]")]
    fn constant_rejects_non_probabilities() {
        ExitModel::constant(1.5);
    }

    #[test]
    fn linear_model() {
        let m = model(r#"{ kind = "linear", from = 0.2, to = 0.6, end = "2h" }"#);
        close(m.at(t(0)), 0.2, 1e-15);
        close(m.at(t(HOUR)), 0.4, 1e-15);
        close(m.at(t(90 * MIN)), 0.5, 1e-15);
        close(m.at(t(2 * HOUR)), 0.6, 1e-15);
        close(m.at(t(5 * HOUR)), 0.6, 1e-15);
        // Ramp only: average of the end points; ramp + 2 h flat at 0.6; half ramp + 1 h flat.
        close(m.mean_over(t(0), t(2 * HOUR)), 0.4, 1e-12);
        close(m.mean_over(t(0), t(4 * HOUR)), 0.5, 1e-12);
        close(m.mean_over(t(HOUR), t(3 * HOUR)), 0.55, 1e-12);
        close(m.mean_over(t(3 * HOUR), t(4 * HOUR)), 0.6, 1e-12);
        assert_eq!(m.mean_over(t(HOUR), t(HOUR)), m.at(t(HOUR)));
        assert!(m.as_constant().is_none());
        assert!(!m.is_zero());

        let late = model(r#"{ kind = "linear", from = 0.6, to = 0.2, start = "1h", end = "2h" }"#);
        close(late.at(t(30 * MIN)), 0.6, 1e-15);
        close(late.at(t(90 * MIN)), 0.4, 1e-15);
        // 1 h flat at 0.6, 1 h ramp averaging 0.4: 0.5.
        close(late.mean_over(t(0), t(2 * HOUR)), 0.5, 1e-12);
        close(
            late.mean_over(t(17 * MIN), t(131 * MIN)),
            brute_mean(&late, 17 * MIN, 131 * MIN, 100_000),
            1e-6,
        );
        assert!(model(r#"{ kind = "linear", from = 0, to = 0, end = "1s" }"#).is_zero());
    }

    #[test]
    fn sine_model() {
        let m = model(r#"{ kind = "sine", mean = 0.4, amplitude = 0.2, period = "1h" }"#);
        close(m.at(t(0)), 0.4, 1e-12);
        close(m.at(t(15 * MIN)), 0.6, 1e-12);
        close(m.at(t(30 * MIN)), 0.4, 1e-12);
        close(m.at(t(45 * MIN)), 0.2, 1e-12);
        close(m.at(t(1000 * HOUR + 15 * MIN)), 0.6, 1e-12);
        // Whole periods average the mean; the positive half-wave adds amplitude·2/π.
        close(m.mean_over(t(0), t(HOUR)), 0.4, 1e-12);
        close(m.mean_over(t(7 * MIN), t(7 * MIN + 5 * HOUR)), 0.4, 1e-12);
        let half = 0.4 + 0.2 * 2.0 / PI;
        close(m.mean_over(t(0), t(30 * MIN)), half, 1e-12);
        close(
            m.mean_over(t(0), t(7 * HOUR / 2)),
            (3.0 * 0.4 + 0.5 * half) / 3.5,
            1e-12,
        );

        let shifted = model(
            r#"{ kind = "sine", mean = 0.4, amplitude = 0.2, period = "1h", phase = "15m" }"#,
        );
        close(shifted.at(t(0)), 0.6, 1e-12);
        close(shifted.at(t(30 * MIN)), 0.2, 1e-12);
        close(shifted.mean_over(t(45 * MIN), t(75 * MIN)), half, 1e-12);

        // Clipped at 1: the wave 0.8 + 0.5·sin θ loses ∫(0.5 sin θ − 0.2) where sin θ > 0.4.
        let clipped = model(r#"{ kind = "sine", mean = 0.8, amplitude = 0.5, period = "1h" }"#);
        close(clipped.at(t(15 * MIN)), 1.0, 0.0);
        close(clipped.at(t(45 * MIN)), 0.3, 1e-12);
        let r = 0.4f64.asin();
        let excess = 0.5 * 2.0 * r.cos() - 0.2 * (PI - 2.0 * r);
        close(clipped.mean_over(t(0), t(HOUR)), 0.8 - excess / TAU, 1e-12);
        // Clipped at both ends, over a window that is not a whole number of periods.
        let both = model(
            r#"{ kind = "sine", mean = 0.3, amplitude = 0.9, period = "10m", phase = "1m" }"#,
        );
        assert_eq!(both.at(t(MIN + MIN / 2)), 1.0);
        assert_eq!(both.at(t(6 * MIN + MIN / 2)), 0.0);
        close(
            both.mean_over(t(3 * MIN), t(37 * MIN)),
            brute_mean(&both, 3 * MIN, 37 * MIN, 200_000),
            1e-6,
        );

        assert!(!model(r#"{ kind = "sine", mean = 0, amplitude = 0.1, period = "1h" }"#).is_zero());
        assert!(model(r#"{ kind = "sine", mean = 0, amplitude = 0, period = "1h" }"#).is_zero());
    }

    #[test]
    fn steps_model() {
        let m = model(r#"{ kind = "steps", at = ["1h", "2h", "3h"], values = [0.2, 0.5, 0.3] }"#);
        assert_eq!(m.at(t(0)), 0.2);
        assert_eq!(m.at(t(HOUR)), 0.2);
        assert_eq!(m.at(t(2 * HOUR - 1)), 0.2);
        assert_eq!(m.at(t(2 * HOUR)), 0.5);
        assert_eq!(m.at(t(3 * HOUR)), 0.3);
        assert_eq!(m.at(SimTime::MAX), 0.3);
        // Half an hour at 0.2, an hour at 0.5, half an hour at 0.3.
        close(m.mean_over(t(90 * MIN), t(210 * MIN)), 0.375, 1e-12);
        close(m.mean_over(t(0), t(2 * HOUR)), 0.2, 1e-12);
        assert!(!m.is_zero());
        assert!(model(r#"{ kind = "steps", at = ["0s", "1h"], values = [0, 0] }"#).is_zero());
        let one = model(r#"{ kind = "steps", at = ["1h"], values = [0.7] }"#);
        assert_eq!(one.at(t(0)), 0.7);
        assert_eq!(one.mean_over(t(0), t(5 * HOUR)), 0.7);
    }

    /// Fractions of all samples leaving at each stage, from conditional probabilities.
    fn unconditional(e: &[f64]) -> Vec<f64> {
        let mut surviving = 1.0;
        e.iter()
            .map(|&e| {
                let leaving = surviving * e;
                surviving *= 1.0 - e;
                leaving
            })
            .collect()
    }

    #[test]
    fn conditional_exits_reproduce_the_percentages() {
        for (network, thresholds, pct) in BRANCHYNET_CPU {
            let e = branchynet_exits(None, network, thresholds).unwrap();
            assert_eq!(e.len(), pct.len());
            assert_eq!(*e.last().unwrap(), 1.0);
            assert!(e.iter().all(|e| (0.0..=1.0).contains(e)));
            for (k, (got, want)) in unconditional(&e).iter().zip(pct.iter()).enumerate() {
                close(*got, want / 100.0, 1e-9);
                assert!(k < pct.len());
            }
        }
        // By hand: 43.61 % leave at exit 1, 17.41 of the remaining 56.39 % at exit 2.
        let e = branchynet_exits(None, "B-AlexNet", &[0.0001, 0.0001]).unwrap();
        close(e[0], 0.4361, 1e-15);
        close(e[1], 17.41 / 56.39, 1e-15);
        // Nobody reaches the later stages: 0, except the final classifier.
        assert_eq!(conditional_exits(&[100.0, 0.0, 0.0]), vec![1.0, 0.0, 1.0]);
        assert_eq!(conditional_exits(&[100.0]), vec![1.0]);
    }

    fn shared_csv() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces/branchynet_exit_rates_cpu.csv")
    }

    #[test]
    fn embedded_rows_match_the_published_file() {
        // Always: the embedded rows are well formed.
        let count = |net: &str| BRANCHYNET_CPU.iter().filter(|r| r.0 == net).count();
        assert_eq!(count("B-LeNet"), 17);
        assert!((12..=20).contains(&count("B-AlexNet")));
        for (network, thresholds, pct) in BRANCHYNET_CPU {
            let n_exits = if *network == "B-LeNet" { 2 } else { 3 };
            assert_eq!(pct.len(), n_exits, "{network} {thresholds:?}");
            assert_eq!(thresholds.len(), n_exits - 1, "{network} {thresholds:?}");
            close(pct.iter().sum::<f64>(), 100.0, 0.05);
        }
        for (i, a) in BRANCHYNET_CPU.iter().enumerate() {
            for b in &BRANCHYNET_CPU[..i] {
                assert!(a.0 != b.0 || a.1 != b.1, "duplicate row {a:?}");
            }
        }

        let path = shared_csv();
        if !path.exists() {
            // Without the published file (it is not shipped), the embedded rows are written in
            // its format and read back through the same reader: the reader and the file path of
            // `branchynet_exits` are still checked, only not against the published numbers.
            eprintln!(
                "{} is absent: the embedded BranchyNet rows are checked through the file format, not against the published file",
                path.display()
            );
            let dir = tempfile::tempdir().unwrap();
            let fixture = dir.path().join("branchynet.csv");
            let mut text = String::from(
                "network,dataset,is_baseline,accuracy_pct,time_ms_cpu,speedup_vs_baseline,entropy_thresholds,n_exits,exit_pct_per_stage\n",
            );
            let join = |v: &[f64]| {
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            for (network, thresholds, pct) in BRANCHYNET_CPU {
                text.push_str(&format!(
                    "{network},MNIST,0,99.0,1.0,2.0,{},{},{}\n",
                    join(thresholds),
                    pct.len(),
                    join(pct)
                ));
            }
            std::fs::write(&fixture, text).unwrap();
            let rows = read_branchynet_csv(&fixture).unwrap();
            assert_eq!(rows.len(), BRANCHYNET_CPU.len());
            for (network, thresholds, pct) in BRANCHYNET_CPU {
                let row = rows
                    .iter()
                    .find(|r| r.0 == *network && r.1 == *thresholds)
                    .unwrap_or_else(|| panic!("{network} {thresholds:?} not read back"));
                assert_eq!(row.2, *pct, "{network} {thresholds:?}");
                assert_eq!(
                    branchynet_exits(Some(&fixture), network, thresholds).unwrap(),
                    branchynet_exits(None, network, thresholds).unwrap()
                );
            }
            return;
        }
        let rows = read_branchynet_csv(&path).unwrap();
        assert_eq!(rows.len(), 140);
        assert_eq!(rows.iter().filter(|r| r.0 == "B-LeNet").count(), 17);
        for (network, thresholds, pct) in BRANCHYNET_CPU {
            let row = rows
                .iter()
                .find(|r| r.0 == *network && r.1 == *thresholds)
                .unwrap_or_else(|| panic!("{network} {thresholds:?} is not in the file"));
            assert_eq!(row.2, *pct, "{network} {thresholds:?}");
            assert_eq!(
                branchynet_exits(Some(&path), network, thresholds).unwrap(),
                branchynet_exits(None, network, thresholds).unwrap()
            );
        }
        // A row only in the file, and every file row converts consistently.
        let e = branchynet_exits(Some(&path), "B-AlexNet", &[0.75, 0.1]).unwrap();
        close(e[0], 0.9676, 1e-12);
        for (_, _, pct) in &rows {
            for (got, want) in unconditional(&conditional_exits(pct)).iter().zip(pct) {
                close(*got, want / 100.0, 1e-9);
            }
        }
    }

    #[test]
    fn unknown_settings_list_what_exists() {
        let err = branchynet_exits(None, "B-ResNet", &[0.1]).unwrap_err();
        assert!(err.contains("\"B-ResNet\""), "{err}");
        assert!(err.contains("B-LeNet, B-AlexNet"), "{err}");

        let err = branchynet_exits(None, "B-LeNet", &[0.3]).unwrap_err();
        assert!(err.contains("[0.3]"), "{err}");
        assert!(err.contains("[0.0001], [0.0005]"), "{err}");
        assert!(err.contains("… (17 settings in all)"), "{err}");
        assert!(
            !err.contains("[10]"),
            "only the first ten are listed: {err}"
        );

        let err = branchynet_exits(None, "B-AlexNet", &[0.1]).unwrap_err();
        assert!(err.contains("takes 2 thresholds"), "{err}");

        // Thresholds match as numbers.
        let e = branchynet_exits(None, "B-LeNet", &[1.0000000001]).unwrap();
        close(e[0], 0.9988, 1e-12);
        assert_eq!(e[1], 1.0);
    }

    #[test]
    fn bad_files_are_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let header = "network,entropy_thresholds,n_exits,exit_pct_per_stage\n";
        let cases = [
            (
                "number.csv",
                format!("{header}B-LeNet,0.1,2,96.16;3.84\nB-LeNet,0.2,2,97;x\n"),
                "line 3: column \"exit_pct_per_stage\" holds \"97;x\"",
            ),
            (
                "count.csv",
                format!("{header}B-LeNet,0.1,3,96.16;3.84\n"),
                "line 2: column \"exit_pct_per_stage\" has 2 values but n_exits is 3",
            ),
            (
                "sum.csv",
                format!("{header}B-LeNet,0.1,2,96.16;3.00\n"),
                "line 2: column \"exit_pct_per_stage\" sums to 99.16",
            ),
            (
                "n.csv",
                format!("{header}B-LeNet,0.1,two,96.16;3.84\n"),
                "line 2: column \"n_exits\" holds \"two\"",
            ),
            (
                "header.csv",
                "network,thresholds,n_exits,exit_pct_per_stage\nB-LeNet,0.1,2,96.16;3.84\n".into(),
                "line 1: no column \"entropy_thresholds\"",
            ),
            ("ragged.csv", format!("{header}B-LeNet,0.1,2\n"), "line 2:"),
        ];
        for (name, text, want) in cases {
            let path = write(name, &text);
            let err = branchynet_exits(Some(&path), "B-LeNet", &[0.1]).unwrap_err();
            assert!(err.starts_with(&path.display().to_string()), "{err}");
            assert!(err.contains(want), "{name}: {err}");
        }
        let missing = dir.path().join("missing.csv");
        let err = branchynet_exits(Some(&missing), "B-LeNet", &[0.1]).unwrap_err();
        assert!(err.contains("missing.csv"), "{err}");

        let good = write("good.csv", &format!("{header}B-LeNet,0.1,2,96.16;3.84\n"));
        let e = branchynet_exits(Some(&good), "B-LeNet", &[0.1]).unwrap();
        close(e[0], 0.9616, 1e-12);
        assert_eq!(e[1], 1.0);
        let err = branchynet_exits(Some(&good), "B-LeNet", &[0.2]).unwrap_err();
        assert!(
            err.contains("good.csv") && err.contains("available: [0.1]"),
            "{err}"
        );
    }
}
