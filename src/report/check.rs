//! The CI cost gate (`infersim check`): reruns canonical scenarios and compares every policy's
//! mean cost and p99 latency with a committed baseline.
//!
//! The baseline is a CSV file `scenario,policy,metric,value` (value: the mean over the scenario's
//! replications). A metric is a **regression** when it grew by more than the tolerance relative
//! to the baseline (or from zero to more than zero); it **improved** when it fell by more than
//! the tolerance. Only regressions and baseline rows that are missing from the run fail the gate.

use std::fmt::Write as _;
use std::path::Path;

use super::ScenarioResults;
use super::metric::{Metric, MetricKey};
use super::stats::summarize;
use super::write::{csv_field, fmt_num};

/// The metrics the gate compares (larger is worse for both).
pub const GATED: &[Metric] = &[Metric::CostTotal, Metric::LatencyP99];

/// One baseline value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Scenario name.
    pub scenario: String,
    /// Policy name.
    pub policy: String,
    /// Metric.
    pub metric: MetricKey,
    /// Mean over replications.
    pub value: f64,
}

/// The gated metrics of a scenario's results (means over replications), in policy order.
pub fn measure(r: &ScenarioResults) -> Vec<Entry> {
    let mut out = Vec::new();
    for (p, runs) in r.policies.iter().zip(&r.results) {
        for &m in GATED {
            let xs: Vec<f64> = runs
                .iter()
                .map(|run| run.get(m).unwrap_or(f64::NAN))
                .collect();
            out.push(Entry {
                scenario: r.scenario.clone(),
                policy: p.clone(),
                metric: m.into(),
                value: summarize(&xs, 0.95).mean,
            });
        }
    }
    out
}

/// Parses a baseline file.
pub fn parse_baseline(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut rd = super::csvin::reader(bytes)?;
    let h = rd.headers().map_err(|e| super::csvin::describe(&e))?;
    if h.iter().collect::<Vec<_>>() != ["scenario", "policy", "metric", "value"] {
        return Err("the header must be `scenario,policy,metric,value`".into());
    }
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| super::csvin::describe(&e))?;
        if rec.len() != 4 {
            return Err(format!("line {}: expected 4 fields", i + 2));
        }
        let value = if rec[3].is_empty() {
            f64::NAN
        } else {
            rec[3]
                .parse()
                .map_err(|_| format!("line {}: `{}` is not a number", i + 2, &rec[3]))?
        };
        let metric = Metric::from_name(&rec[2]).map_err(|e| format!("line {}: {e}", i + 2))?;
        out.push(Entry {
            scenario: rec[0].to_string(),
            policy: rec[1].to_string(),
            metric,
            value,
        });
    }
    Ok(out)
}

/// Reads a baseline file.
pub fn read_baseline(path: &Path) -> Result<Vec<Entry>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_baseline(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The baseline file's text (rows in the given order).
pub fn baseline_csv(entries: &[Entry]) -> String {
    let mut s = String::from("scenario,policy,metric,value\n");
    for e in entries {
        let _ = writeln!(
            s,
            "{},{},{},{}",
            csv_field(&e.scenario),
            csv_field(&e.policy),
            csv_field(&e.metric.name()),
            fmt_num(e.value)
        );
    }
    s
}

/// `old` with every row of the scenarios measured in `new` replaced by the new rows (other
/// scenarios' rows are kept, in their place; new scenarios are appended).
pub fn updated(old: &[Entry], new: &[Entry]) -> Vec<Entry> {
    let measured: Vec<&str> = new.iter().map(|e| e.scenario.as_str()).collect();
    let mut out: Vec<Entry> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for e in old {
        if measured.contains(&e.scenario.as_str()) {
            if !done.contains(&e.scenario.as_str()) {
                done.push(&e.scenario);
                out.extend(new.iter().filter(|n| n.scenario == e.scenario).cloned());
            }
        } else {
            out.push(e.clone());
        }
    }
    for e in new {
        if !done.contains(&e.scenario.as_str()) {
            out.push(e.clone());
        }
    }
    out
}

/// The verdict on one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Within the tolerance.
    Ok,
    /// Worse by more than the tolerance: fails the gate.
    Regression,
    /// Better by more than the tolerance: update the baseline to lock it in.
    Improved,
    /// Not in the baseline (a new scenario or policy).
    New,
    /// In the baseline but not produced by the run (a policy was removed or renamed): fails the
    /// gate.
    Missing,
}

impl Status {
    /// True when this fails the gate.
    pub fn fails(self) -> bool {
        matches!(self, Status::Regression | Status::Missing)
    }
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Regression => "REGRESSION",
            Status::Improved => "improved",
            Status::New => "new",
            Status::Missing => "MISSING",
        }
    }
}

/// One compared value.
#[derive(Clone, Debug)]
pub struct Diff {
    /// Scenario.
    pub scenario: String,
    /// Policy.
    pub policy: String,
    /// Metric.
    pub metric: MetricKey,
    /// Baseline value (NaN if none).
    pub baseline: f64,
    /// Current value (NaN if none).
    pub current: f64,
    /// Relative change (current / baseline − 1), NaN when undefined.
    pub change: f64,
    /// Verdict.
    pub status: Status,
}

/// Compares the values of the measured scenarios with the baseline. `tolerance` is relative
/// (0.01 = 1 %).
pub fn compare(baseline: &[Entry], current: &[Entry], tolerance: f64) -> Vec<Diff> {
    // Tiny absolute differences (float noise) never count.
    const ABS_EPS: f64 = 1e-12;
    let mut out = Vec::new();
    for c in current {
        let b = baseline
            .iter()
            .find(|b| b.scenario == c.scenario && b.policy == c.policy && b.metric == c.metric);
        let (base, status, change) = match b {
            None => (f64::NAN, Status::New, f64::NAN),
            Some(b) => {
                let (x, y) = (b.value, c.value);
                let change = if x != 0.0 { y / x - 1.0 } else { f64::NAN };
                let status = if x.is_nan() && y.is_nan() {
                    Status::Ok
                } else if x.is_nan() || y.is_nan() {
                    if y.is_nan() {
                        Status::Regression
                    } else {
                        Status::New
                    }
                } else if (y - x).abs() <= ABS_EPS {
                    Status::Ok
                } else if y > x * (1.0 + tolerance) + ABS_EPS || (x == 0.0 && y > ABS_EPS) {
                    Status::Regression
                } else if y < x * (1.0 - tolerance) - ABS_EPS {
                    Status::Improved
                } else {
                    Status::Ok
                };
                (x, status, change)
            }
        };
        out.push(Diff {
            scenario: c.scenario.clone(),
            policy: c.policy.clone(),
            metric: c.metric.clone(),
            baseline: base,
            current: c.value,
            change,
            status,
        });
    }
    let measured: Vec<&str> = current.iter().map(|e| e.scenario.as_str()).collect();
    for b in baseline {
        if measured.contains(&b.scenario.as_str())
            && !current
                .iter()
                .any(|c| c.scenario == b.scenario && c.policy == b.policy && c.metric == b.metric)
        {
            out.push(Diff {
                scenario: b.scenario.clone(),
                policy: b.policy.clone(),
                metric: b.metric.clone(),
                baseline: b.value,
                current: f64::NAN,
                change: f64::NAN,
                status: Status::Missing,
            });
        }
    }
    out
}

/// Parses a tolerance: `1%`, `0.5 %` or a fraction `0.01`.
pub fn parse_tolerance(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| {
        format!("tolerance `{s}` must be a percentage such as `1%` or a fraction such as `0.01`")
    })?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("tolerance `{s}` must be ≥ 0"));
    }
    Ok(v)
}

/// A readable table of the differences.
pub fn table(diffs: &[Diff]) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "scenario".into(),
        "policy".into(),
        "metric".into(),
        "baseline".into(),
        "current".into(),
        "change".into(),
        "status".into(),
    ]];
    let fmt = |x: f64| {
        if x.is_nan() {
            "-".to_string()
        } else {
            format!("{x:.6}")
        }
    };
    for d in diffs {
        rows.push([
            d.scenario.clone(),
            d.policy.clone(),
            d.metric.to_string(),
            fmt(d.baseline),
            fmt(d.current),
            if d.change.is_nan() {
                "-".into()
            } else {
                format!("{:+.2}%", d.change * 100.0)
            },
            d.status.word().into(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        for (c, cell) in r.iter().enumerate() {
            if c > 0 {
                out.push_str("  ");
            }
            if (3..6).contains(&c) {
                let _ = write!(out, "{cell:>w$}", w = widths[c]);
            } else if c == 6 {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}", w = widths[c]);
            }
        }
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 12));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(p: &str, m: Metric, v: f64) -> Entry {
        Entry {
            scenario: "s".into(),
            policy: p.into(),
            metric: m.into(),
            value: v,
        }
    }

    #[test]
    fn verdicts() {
        let base = vec![
            e("a", Metric::CostTotal, 1.0),
            e("b", Metric::CostTotal, 1.0),
        ];
        let cur = vec![
            e("a", Metric::CostTotal, 1.005),
            e("c", Metric::CostTotal, 1.0),
        ];
        let d = compare(&base, &cur, 0.01);
        assert_eq!(d[0].status, Status::Ok);
        assert_eq!(d[1].status, Status::New);
        assert_eq!(d[2].status, Status::Missing);
        let d = compare(&base[..1], &[e("a", Metric::CostTotal, 1.02)], 0.01);
        assert_eq!(d[0].status, Status::Regression);
        let d = compare(&base[..1], &[e("a", Metric::CostTotal, 0.9)], 0.01);
        assert_eq!(d[0].status, Status::Improved);
        let d = compare(
            &[e("a", Metric::Events, 0.0)],
            &[e("a", Metric::Events, 0.1)],
            0.5,
        );
        assert_eq!(d[0].status, Status::Regression);
    }

    #[test]
    fn baselines_name_known_metrics() {
        let b = parse_baseline(b"scenario,policy,metric,value\ns,a,latency_p99_s,0.5\n").unwrap();
        assert_eq!(b, vec![e("a", Metric::LatencyP99, 0.5)]);
        assert_eq!(parse_baseline(baseline_csv(&b).as_bytes()).unwrap(), b);
        let err =
            parse_baseline(b"scenario,policy,metric,value\ns,a,latency_p99,0.5\n").unwrap_err();
        assert!(
            err.starts_with("line 2: unknown metric `latency_p99`"),
            "{err}"
        );
        assert!(err.contains("`latency_p99_s`"), "{err}");
    }

    #[test]
    fn tolerances() {
        assert_eq!(parse_tolerance("1%").unwrap(), 0.01);
        assert_eq!(parse_tolerance("0.02").unwrap(), 0.02);
        assert!(parse_tolerance("-1%").is_err());
        assert!(parse_tolerance("abc").is_err());
    }

    #[test]
    fn update_keeps_other_scenarios() {
        let mut other = e("a", Metric::Events, 5.0);
        other.scenario = "t".into();
        let old = vec![e("a", Metric::Events, 1.0), other.clone()];
        let new = vec![e("a", Metric::Events, 2.0), e("b", Metric::Events, 3.0)];
        let u = updated(&old, &new);
        assert_eq!(u, vec![new[0].clone(), new[1].clone(), other]);
    }
}
