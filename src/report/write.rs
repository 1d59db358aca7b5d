//! Output files (written atomically: temp file + rename) and the terminal table.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use super::ScenarioResults;
use super::metric::{Metric, Series};
use super::stats::{format_mean_ci, summarize};

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Formats a float for CSV: shortest round-trip representation; NaN as empty.
pub fn fmt_num(x: f64) -> String {
    num(x)
}

/// Escapes one CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        std::borrow::Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A number as the CSV files write it (empty for NaN).
pub fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x}")
    }
}

/// The tidy per-run CSV: `policy,replication,metric,value`.
pub fn summary_csv(r: &ScenarioResults) -> Vec<u8> {
    let mut out = String::from("policy,replication,metric,value\n");
    for (p, runs) in r.policies.iter().zip(&r.results) {
        for (rep, run) in r.replications.iter().zip(runs) {
            for (m, v) in &run.metrics {
                let _ = writeln!(
                    out,
                    "{},{rep},{},{}",
                    csv_field(p),
                    csv_field(&m.name()),
                    num(*v)
                );
            }
        }
    }
    out.into_bytes()
}

/// The per-policy statistics CSV: `policy,metric,mean,std,ci95_low,ci95_high,n`.
pub fn stats_csv(r: &ScenarioResults) -> Vec<u8> {
    let mut out = String::from("policy,metric,mean,std,ci95_low,ci95_high,n\n");
    for (p, runs) in r.policies.iter().zip(&r.results) {
        let Some(first) = runs.first() else { continue };
        for (i, (m, _)) in first.metrics.iter().enumerate() {
            let xs: Vec<f64> = runs.iter().map(|run| run.metrics[i].1).collect();
            let s = summarize(&xs, 0.95);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{}",
                csv_field(p),
                csv_field(&m.name()),
                num(s.mean),
                num(s.std),
                num(s.mean - s.half_width),
                num(s.mean + s.half_width),
                s.n
            );
        }
    }
    out.into_bytes()
}

/// The time series CSV: `policy,replication,time_s,…` (the columns of [`Series::ALL`]).
pub fn timeseries_csv(r: &ScenarioResults) -> Vec<u8> {
    let mut out = String::from("policy,replication");
    for c in Series::ALL {
        let _ = write!(out, ",{c}");
    }
    out.push('\n');
    for (p, runs) in r.policies.iter().zip(&r.results) {
        for (rep, run) in r.replications.iter().zip(runs) {
            for s in &run.samples {
                let _ = write!(out, "{},{rep}", csv_field(p));
                for c in Series::ALL {
                    let _ = match c {
                        Series::Time => write!(out, ",{}", num(s.time_s)),
                        Series::ArrivalRate => write!(out, ",{}", num(s.arrival_rate_rps)),
                        Series::InFlight => write!(out, ",{}", s.in_flight),
                        Series::FunctionsBusy => write!(out, ",{}", s.functions_busy),
                        Series::FunctionsIdle => write!(out, ",{}", s.functions_idle),
                        Series::VmsRunning => write!(out, ",{}", s.vms_running),
                        Series::VmsBooting => write!(out, ",{}", s.vms_booting),
                        Series::VmSlotsBusy => write!(out, ",{}", s.vm_slots_busy),
                        Series::VmQueue => write!(out, ",{}", s.vm_queue),
                    };
                }
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

/// The metrics of the results table, in the terminal and in `report.md`: (metric, column
/// title, scale).
pub const RESULT_COLUMNS: &[(Metric, &str, f64)] = &[
    (Metric::Requests, "requests", 1.0),
    (Metric::Completed, "completed", 1.0),
    (Metric::Dropped, "dropped", 1.0),
    (Metric::ColdStarts, "cold starts", 1.0),
    (Metric::LatencyMean, "mean (ms)", 1e3),
    (Metric::LatencyP50, "p50 (ms)", 1e3),
    (Metric::LatencyP99, "p99 (ms)", 1e3),
    (Metric::SloViolationRate, "SLO viol. (%)", 100.0),
    (Metric::Throughput, "req/s", 1.0),
    (Metric::CostTotal, "cost ($)", 1.0),
    (Metric::CostPerMillion, "$ per 1M", 1.0),
];

/// A readable per-policy table: mean ± 95% CI half-width over replications.
pub fn table(r: &ScenarioResults) -> String {
    let cols: Vec<&(Metric, &str, f64)> = RESULT_COLUMNS
        .iter()
        .filter(|(m, ..)| r.results.iter().flatten().any(|run| run.get(*m).is_some()))
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["policy".to_string()];
    header.extend(cols.iter().map(|c| c.1.to_string()));
    rows.push(header);
    for (p, runs) in r.policies.iter().zip(&r.results) {
        let mut row = vec![p.clone()];
        for (metric, _, scale) in &cols {
            let xs: Vec<f64> = runs
                .iter()
                .map(|run| run.get(*metric).unwrap_or(f64::NAN) * scale)
                .collect();
            let s = summarize(&xs, 0.95);
            row.push(format_mean_ci(s.mean, s.half_width).unwrap_or_else(|| "-".into()));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(out, "{cell:<w$}", w = widths[c]);
            } else {
                let _ = write!(out, "  {cell:>w$}", w = widths[c]);
            }
        }
        out.push('\n');
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// The per-function CSV: `policy,replication,function,memory_mb,invocations,cold_starts,cold_start_pct,idle_gb_s`.
pub fn functions_csv(r: &ScenarioResults) -> Vec<u8> {
    let mut out = String::from(
        "policy,replication,function,memory_mb,invocations,cold_starts,cold_start_pct,idle_gb_s\n",
    );
    for (p, runs) in r.policies.iter().zip(&r.results) {
        for (rep, run) in r.replications.iter().zip(runs) {
            for f in &run.functions {
                let pct = if f.invocations == 0 {
                    f64::NAN
                } else {
                    100.0 * f.cold_starts as f64 / f.invocations as f64
                };
                let _ = writeln!(
                    out,
                    "{},{rep},{},{},{},{},{},{}",
                    csv_field(p),
                    csv_field(&f.function),
                    f.memory_mb,
                    f.invocations,
                    f.cold_starts,
                    num(pct),
                    num(f.idle_gb_s)
                );
            }
        }
    }
    out.into_bytes()
}
