//! `accuracy.csv`: one row per (model, scheme, K, S, E, adversary, σ), with a 95 % Wilson score
//! interval on the per-query outcomes.
//!
//! Columns: `model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate`;
//! `sigma` is empty unless the adversary is Gaussian, `detected_rate` unless E > 0, and the
//! counts and interval are empty in tables copied from a paper.

use std::fmt::Write as _;
use std::path::Path;

use super::AccuracyError;
use crate::report::write::{fmt_num, write_atomic};

/// The header of `accuracy.csv`.
pub const HEADER: &str =
    "model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate";

/// How the queries were served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// One worker per query, no redundancy: the base model's accuracy.
    Uncoded,
    /// S + 2E + 1 copies per query, majority vote: the base model's accuracy.
    Replication,
    /// K data workers and one parity model.
    Parm,
    /// Berrut-coded queries on N workers.
    Approxifer,
}

impl Scheme {
    /// The `scheme` column.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Uncoded => "uncoded",
            Scheme::Replication => "replication",
            Scheme::Parm => "parm",
            Scheme::Approxifer => "approxifer",
        }
    }

    /// Parses the `scheme` column.
    pub fn parse(s: &str) -> Option<Scheme> {
        [
            Scheme::Uncoded,
            Scheme::Replication,
            Scheme::Parm,
            Scheme::Approxifer,
        ]
        .into_iter()
        .find(|x| x.name() == s)
    }
}

/// What the Byzantine workers return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Adversary {
    /// No Byzantine worker.
    None,
    /// Their outputs plus N(0, σ²) noise per coordinate.
    Gaussian,
    /// Their outputs negated.
    SignFlip,
}

impl Adversary {
    /// The `adversary` column (and command-line value).
    pub fn name(self) -> &'static str {
        match self {
            Adversary::None => "none",
            Adversary::Gaussian => "gaussian",
            Adversary::SignFlip => "sign-flip",
        }
    }

    /// Parses the `adversary` column.
    pub fn parse(s: &str) -> Option<Adversary> {
        [Adversary::None, Adversary::Gaussian, Adversary::SignFlip]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

/// One row of `accuracy.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The model (and data set).
    pub model: String,
    /// The scheme.
    pub scheme: Scheme,
    /// Queries per group.
    pub k: usize,
    /// Stragglers.
    pub s: usize,
    /// Byzantine workers.
    pub e: usize,
    /// What the Byzantine workers do.
    pub adversary: Adversary,
    /// The Gaussian adversary's σ.
    pub sigma: Option<f64>,
    /// Groups run (0 for a paper's row).
    pub groups: usize,
    /// Queries scored (0 for a paper's row).
    pub queries: usize,
    /// Fraction of queries whose prediction equals the true label.
    pub accuracy: f64,
    /// Lower end of the 95 % Wilson interval (NaN for a paper's row).
    pub ci95_low: f64,
    /// Upper end of the 95 % Wilson interval (NaN for a paper's row).
    pub ci95_high: f64,
    /// Fraction of Byzantine workers the locator found (E > 0 only).
    pub detected_rate: Option<f64>,
}

/// The 95 % Wilson score interval of `successes` out of `n` Bernoulli trials.
pub fn wilson(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = successes as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The CSV text of `rows`, header first.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    let count = |n: usize| if n == 0 { String::new() } else { n.to_string() };
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            crate::report::write::csv_field(&r.model),
            r.scheme.name(),
            r.k,
            r.s,
            r.e,
            r.adversary.name(),
            r.sigma.map(fmt_num).unwrap_or_default(),
            count(r.groups),
            count(r.queries),
            fmt_num(r.accuracy),
            fmt_num(r.ci95_low),
            fmt_num(r.ci95_high),
            r.detected_rate.map(fmt_num).unwrap_or_default(),
        );
    }
    out
}

/// Writes `rows` to `path` atomically.
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<(), AccuracyError> {
    write_atomic(path, to_csv(rows).as_bytes()).map_err(|e| AccuracyError::io(path, e))
}

/// Parses an `accuracy.csv` (ours or a paper's); errors name the line and the column.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, AccuracyError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| AccuracyError::Input(format!("accuracy table header: {e}")))?;
    if header.iter().collect::<Vec<_>>().join(",") != HEADER {
        return Err(AccuracyError::Input(format!(
            "accuracy table header must be `{HEADER}`"
        )));
    }
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| AccuracyError::Input(format!("line {line}: {e}")))?;
        let bad = |col: &str| AccuracyError::Input(format!("line {line}: bad `{col}` value"));
        let int = |c: usize, name: &str, empty_ok: bool| -> Result<usize, AccuracyError> {
            match &rec[c] {
                "" if empty_ok => Ok(0),
                v => v.parse().map_err(|_| bad(name)),
            }
        };
        let float = |c: usize, name: &str| -> Result<Option<f64>, AccuracyError> {
            match &rec[c] {
                "" => Ok(None),
                v => v.parse().map(Some).map_err(|_| bad(name)),
            }
        };
        rows.push(Row {
            model: rec[0].to_string(),
            scheme: Scheme::parse(&rec[1]).ok_or_else(|| bad("scheme"))?,
            k: int(2, "k", false)?,
            s: int(3, "s", false)?,
            e: int(4, "e", false)?,
            adversary: Adversary::parse(&rec[5]).ok_or_else(|| bad("adversary"))?,
            sigma: float(6, "sigma")?,
            groups: int(7, "groups", true)?,
            queries: int(8, "queries", true)?,
            accuracy: float(9, "accuracy")?.ok_or_else(|| bad("accuracy"))?,
            ci95_low: float(10, "ci95_low")?.unwrap_or(f64::NAN),
            ci95_high: float(11, "ci95_high")?.unwrap_or(f64::NAN),
            detected_rate: float(12, "detected_rate")?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_brackets_the_estimate() {
        let (lo, hi) = wilson(80, 100);
        assert!(lo < 0.8 && 0.8 < hi);
        // Known value: 80/100 → [0.7112, 0.8666].
        assert!(
            (lo - 0.7112).abs() < 1e-3 && (hi - 0.8666).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 10);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.2 && hi < 0.35);
        assert!(wilson(0, 0).0.is_nan());
    }

    #[test]
    fn csv_round_trips() {
        let row = Row {
            model: "m".into(),
            scheme: Scheme::Approxifer,
            k: 4,
            s: 1,
            e: 1,
            adversary: Adversary::Gaussian,
            sigma: Some(10.0),
            groups: 5,
            queries: 20,
            accuracy: 0.75,
            ci95_low: 0.5,
            ci95_high: 0.9,
            detected_rate: Some(0.8),
        };
        let text = to_csv(std::slice::from_ref(&row));
        assert_eq!(
            text.lines().nth(1),
            Some("m,approxifer,4,1,1,gaussian,10,5,20,0.75,0.5,0.9,0.8")
        );
        assert_eq!(parse_csv(&text).unwrap(), vec![row]);
        assert!(parse_csv("a,b\n").is_err());
        assert!(parse_csv(&text.replace("gaussian", "loud")).is_err());
    }
}
