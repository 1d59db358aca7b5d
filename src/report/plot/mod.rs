//! Paper-style figures of a run or a sweep, written as SVG and PNG into `DIR/plots/`:
//!
//! - `latency_cdf` (runs): the distribution of end-to-end latency per policy from every
//!   measured request (`latency_cdf.csv`): the CDF on a log latency axis and the tail (CCDF) on
//!   log–log axes;
//! - `cost_breakdown`: stacked bars of the mean cost by component, per policy (and sweep point);
//! - `cost_vs_slo`: mean cost against the SLO-violation rate (or the p99 latency when the scenario
//!   has no SLO), with 95 % confidence intervals in both directions;
//! - `<metric>_vs_<key>` (sweeps): cost, p99 latency and SLO violations against each swept key,
//!   with 95 % confidence bands;
//! - `timeseries` (runs): function instances and VMs over time, replication 0;
//! - `accuracy_vs_k`, `accuracy_vs_s`, `accuracy_vs_e`, `accuracy_vs_sigma` (`infersim accuracy`
//!   output): see [`accuracy`];
//! - `moe_cost_by_layer`, `moe_cost_vs_throughput`, `moe_tokens`, `moe_bo_convergence`,
//!   `moe_choices` (runs with a `[moe]` table, from `moe_layers.csv`, `moe_experts.csv` and
//!   `moe_bo.csv` when they exist): see [`moe`].
//!
//! Every figure uses the bundled font, the Okabe–Ito palette with a marker, dash or hatch per
//! series, units on every axis, and a legend beside the plotting area (never over the data).

pub mod accuracy;
pub mod figure;
pub mod moe;
pub mod style;

use std::path::{Path, PathBuf};

pub use figure::{
    BarFigure, ErrPoint, Figure, Line, LineFigure, Marks, Panel, ScatterFigure, save,
};

use super::latency::{CdfCurve, read_cdf_csv};
use super::metric::{Metric, Series};
use super::tidy::{Group, Tidy};
use crate::units;

/// A figure written, with a caption for the Markdown report.
#[derive(Clone, Debug)]
pub struct Plot {
    /// File stem in `plots/` (`latency_cdf` → `plots/latency_cdf.svg` and `.png`).
    pub stem: String,
    /// One-sentence caption.
    pub caption: String,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// The cost components, in stacking order: (metric, label).
pub const COST_COMPONENTS: &[(Metric, &str)] = &[
    (Metric::CostFaasCompute, "FaaS compute"),
    (Metric::CostFaasRequests, "FaaS requests"),
    (Metric::CostVm, "VMs"),
    (Metric::CostStorage, "storage"),
    (Metric::CostTransfer, "transfer"),
];

/// Style index of the arrival-rate line in time series.
const ARRIVALS_STYLE: usize = 7;
/// Most bars in a cost breakdown; larger sweeps skip that figure.
const MAX_BARS: usize = 40;
/// Most panels (combinations of the other swept keys) in a metric-vs-key figure before the
/// other keys are held at their first values.
const MAX_PANELS: usize = 6;

/// Plots an output directory (a run's, a sweep's or an `infersim accuracy` run's) into
/// `DIR/plots/`.
pub fn plot_dir(dir: &Path) -> Result<Vec<Plot>, String> {
    let accuracy = dir.join("accuracy.csv");
    if accuracy.is_file() && !dir.join("summary.csv").exists() && !dir.join("results.csv").exists()
    {
        let text = std::fs::read_to_string(&accuracy)
            .map_err(|e| format!("{}: {e}", accuracy.display()))?;
        let rows = crate::coded::accuracy::table::parse_csv(&text)
            .map_err(|e| format!("{}: {e}", accuracy.display()))?;
        return accuracy::accuracy_figures(&rows, dir);
    }
    let tidy = Tidy::load_dir(dir)?;
    let ts = read_optional(dir, "timeseries.csv")?;
    let cdf = read_optional(dir, "latency_cdf.csv")?;
    plot_all(dir, &tidy, ts.as_deref(), cdf.as_deref())
}

/// Reads the CSV file `dir/name` if it exists; a file cut short is an error naming it.
pub(super) fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, String> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(b) => {
            crate::report::csvin::whole(&b).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Some(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes every figure that the data supports into `dir/plots/`.
pub fn plot_all(
    dir: &Path,
    tidy: &Tidy,
    timeseries: Option<&[u8]>,
    latency_cdf: Option<&[u8]>,
) -> Result<Vec<Plot>, String> {
    let out = dir.join("plots");
    let groups = tidy.groups();
    let policies = tidy.policies();
    let style_of = |p: &str| policies.iter().position(|q| q == p).unwrap_or(0);
    let mut plots = Vec::new();
    let mut emit = |stem: &str, caption: String, files: Vec<PathBuf>| {
        plots.push(Plot {
            stem: stem.to_string(),
            caption,
            files,
        });
    };

    if tidy.points() == 1 {
        let curves = match latency_cdf {
            Some(bytes) => read_cdf_csv(bytes, &dir.join("latency_cdf.csv").display().to_string())?,
            None => Vec::new(),
        };
        if let Some(fig) = latency_distribution(&curves, &style_of) {
            let files = save(&fig, &out, "latency_cdf")?;
            emit(
                "latency_cdf",
                "Latency distribution per policy from every measured request, pooled over replications (latency_cdf.csv): above, the CDF on a log latency axis; below, the tail, the fraction of requests at least x, on log–log axes (down to 1/n at the maximum). Markers at p50, p99 and p99.9.".into(),
                files,
            );
        } else if let Some(fig) = latency_percentiles(&groups, &style_of) {
            let files = save(&fig, &out, "latency_cdf")?;
            emit(
                "latency_cdf",
                "Latency distribution per policy: each marker is a reported percentile (p50, p90, p99, p99.9, max), mean over replications; log x-axis (this directory has no latency_cdf.csv).".into(),
                files,
            );
        }
    }
    if let Some(fig) = cost_breakdown(tidy, &groups) {
        let files = save(&fig, &out, "cost_breakdown")?;
        emit(
            "cost_breakdown",
            "Mean cost of a run by component (stacked), per policy.".into(),
            files,
        );
    }
    if let Some((fig, caption)) = tradeoff(tidy, &groups, &style_of) {
        let files = save(&fig, &out, "cost_vs_slo")?;
        emit("cost_vs_slo", caption, files);
    }
    if tidy.points() == 1
        && let Some((fig, caption)) = keepalive_tradeoff(&groups, &style_of)
    {
        let files = save(&fig, &out, "keepalive_tradeoff")?;
        emit("keepalive_tradeoff", caption, files);
    }
    for (k, key) in tidy.params.iter().enumerate() {
        for (metric, name, y_label, scale) in [
            (Metric::CostTotal, "cost", "cost per run ($)", 1.0),
            (Metric::LatencyP99, "p99", "p99 latency (ms)", 1e3),
            (Metric::SloViolationRate, "slo", "SLO violations (%)", 100.0),
        ] {
            if let Some((fig, note)) =
                metric_vs_param(&groups, &tidy.params, k, metric, y_label, scale, &style_of)
            {
                let stem = format!("{name}_vs_{}", file_safe(key));
                let files = save(&fig, &out, &stem)?;
                emit(
                    &stem,
                    format!(
                        "{y_label} against `{key}`: mean over replications with its 95 % confidence band{note}."
                    ),
                    files,
                );
            }
        }
    }
    if let Some(ts) = timeseries
        && let Some(fig) = timeseries_figure(ts, &style_of)?
    {
        let files = save(&fig, &out, "timeseries")?;
        emit(
            "timeseries",
            "Arrival rate, function instances (busy + idle) and VMs (running) over time, replication 0.".into(),
            files,
        );
    }
    // The MoE figures, from the MoE files of a run's directory when they exist.
    if tidy.points() == 1 {
        plots.extend(moe::moe_figures(dir, tidy, &style_of)?);
    }
    Ok(plots)
}

/// A key path as a file name part.
pub fn file_safe(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The percentiles marked on each latency curve (so that coinciding curves stay told apart).
const MARKED_QUANTILES: [f64; 3] = [0.5, 0.99, 0.999];

/// Latency distribution per policy from the whole distribution (`latency_cdf.csv`): the CDF on
/// a log latency axis above, the tail (the fraction of requests at least x) on log–log axes
/// below, sharing the x-axis title.
fn latency_distribution(
    curves: &[CdfCurve],
    style_of: &dyn Fn(&str) -> usize,
) -> Option<LineFigure> {
    let mut cdf_lines = Vec::new();
    let mut tail_lines = Vec::new();
    for c in curves {
        let (Some(first), Some(_)) = (c.points.first(), c.points.last()) else {
            continue;
        };
        let x0 = first.latency_s * 1e3;
        // The CDF starts at 0 at the minimum.
        let mut cdf: Vec<(f64, f64)> = vec![(x0, 0.0)];
        cdf.extend(c.points.iter().map(|p| (p.latency_s * 1e3, p.cdf)));
        let tail: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|p| (p.latency_s * 1e3, p.at_least))
            .collect();
        let mark = |q: f64| {
            c.points
                .iter()
                .find(|p| p.cdf >= q)
                .map(|p| (p.latency_s * 1e3, p))
        };
        let cdf_marks = MARKED_QUANTILES
            .iter()
            .filter_map(|&q| mark(q).map(|(x, p)| (x, p.cdf)))
            .collect();
        let tail_marks = MARKED_QUANTILES
            .iter()
            .filter_map(|&q| mark(q).map(|(x, p)| (x, p.at_least)))
            .collect();
        let style = style_of(&c.policy);
        cdf_lines.push(Line {
            label: c.policy.clone(),
            style,
            points: thin(&cdf, false),
            band: Vec::new(),
            marks: Marks::At(cdf_marks),
        });
        tail_lines.push(Line {
            label: c.policy.clone(),
            style,
            points: thin(&tail, true),
            band: Vec::new(),
            marks: Marks::At(tail_marks),
        });
    }
    (!cdf_lines.is_empty()).then(|| LineFigure {
        panels: vec![
            Panel {
                x_label: String::new(),
                y_label: "fraction of requests ≤ x".into(),
                x_log: true,
                y_log: false,
                x_ticks: None,
                title: String::new(),
                y_range: Some((0.0, 1.02)),
                lines: cdf_lines,
            },
            Panel {
                x_label: "end-to-end latency x (ms, log scale)".into(),
                y_label: "fraction ≥ x (log scale)".into(),
                x_log: true,
                y_log: true,
                x_ticks: None,
                title: String::new(),
                y_range: None,
                lines: tail_lines,
            },
        ],
    })
}

/// Drops points closer than a figure can show (0.1 % of a decade in x, 0.2 % of the range or of
/// a decade in y), keeping the first and the last: a dense empirical CDF stays smooth in a
/// small file.
fn thin(points: &[(f64, f64)], y_log: bool) -> Vec<(f64, f64)> {
    let fy = |y: f64| {
        if y_log {
            y.max(f64::MIN_POSITIVE).log10()
        } else {
            y
        }
    };
    // 0.2 % of the unit range (CDF) or of a decade (tail).
    let dy = 0.002;
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len().min(4096));
    for (i, &(x, y)) in points.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(&(lx, ly)) => {
                i + 1 == points.len()
                    || (x.max(f64::MIN_POSITIVE).log10() - lx.max(f64::MIN_POSITIVE).log10()).abs()
                        >= 0.001
                    || (fy(y) - fy(ly)).abs() >= dy
            }
        };
        if keep {
            out.push((x, y));
        }
    }
    out
}

/// The old latency figure, for an output directory written before `latency_cdf.csv` existed:
/// the reported percentiles, mean over replications.
fn latency_percentiles(groups: &[Group], style_of: &dyn Fn(&str) -> usize) -> Option<LineFigure> {
    let mut lines = Vec::new();
    for g in groups {
        let mut pts: Vec<(f64, f64)> = g
            .metrics
            .iter()
            .filter_map(|(m, s)| {
                let q = m.metric().latency_quantile()?;
                (s.mean.is_finite() && s.mean > 0.0).then_some((s.mean * 1e3, q))
            })
            .collect();
        pts.sort_by(|a, b| a.1.total_cmp(&b.1));
        if pts.len() >= 2 {
            lines.push(Line {
                label: g.policy.clone(),
                style: style_of(&g.policy),
                points: pts,
                band: Vec::new(),
                marks: Marks::All,
            });
        }
    }
    (!lines.is_empty()).then(|| LineFigure {
        panels: vec![Panel {
            x_label: "end-to-end latency (ms, log scale)".into(),
            y_label: "fraction of requests".into(),
            x_log: true,
            y_log: false,
            x_ticks: None,
            title: String::new(),
            y_range: Some((0.0, 1.02)),
            lines,
        }],
    })
}

fn group_label(tidy: &Tidy, g: &Group) -> String {
    if tidy.points() == 1 {
        g.policy.clone()
    } else {
        format!("P{}: {}", g.point, g.policy)
    }
}

fn cost_breakdown(tidy: &Tidy, groups: &[Group]) -> Option<BarFigure> {
    if groups.is_empty() || groups.len() > MAX_BARS {
        return None;
    }
    let present: Vec<&(Metric, &str)> = COST_COMPONENTS
        .iter()
        .filter(|(m, _)| {
            groups.iter().any(|g| {
                g.get(*m)
                    .is_some_and(|s| s.mean.is_finite() && s.mean > 0.0)
            })
        })
        .collect();
    if present.is_empty() {
        return None;
    }
    Some(BarFigure {
        x_label: "mean cost per run ($)".into(),
        categories: groups.iter().map(|g| group_label(tidy, g)).collect(),
        components: present.iter().map(|(_, l)| l.to_string()).collect(),
        values: groups
            .iter()
            .map(|g| {
                present
                    .iter()
                    .map(|(m, _)| g.get(*m).map_or(f64::NAN, |s| s.mean))
                    .collect()
            })
            .collect(),
    })
}

/// (low, mean, high) of a 95 % interval, scaled. Every metric the figures draw with an
/// interval (costs, latencies, rates, shares) is non-negative, so the low end of a
/// non-negative mean is clipped at 0: a t-interval of few replications would otherwise reach
/// below what the quantity can be.
fn interval(s: &crate::report::stats::Summary, scale: f64) -> (f64, f64, f64) {
    let low = s.mean - s.half_width;
    (
        if s.mean >= 0.0 { low.max(0.0) } else { low } * scale,
        s.mean * scale,
        (s.mean + s.half_width) * scale,
    )
}

fn tradeoff(
    tidy: &Tidy,
    groups: &[Group],
    style_of: &dyn Fn(&str) -> usize,
) -> Option<(ScatterFigure, String)> {
    // Coded schemes trade cost against tail latency: their figure is always against p99.
    let coded = groups
        .iter()
        .any(|g| g.get(Metric::WorkersPerQuery).is_some());
    let has_slo = !coded
        && groups
            .iter()
            .any(|g| g.get(Metric::SloViolationRate).is_some());
    let (xm, x_label, xs) = if has_slo {
        (
            Metric::SloViolationRate,
            "SLO violations (% of requests)",
            100.0,
        )
    } else {
        (Metric::LatencyP99, "p99 latency (ms)", 1e3)
    };
    let annotate = tidy.points() > 1 && groups.len() <= 30;
    let points: Vec<ErrPoint> = groups
        .iter()
        .filter_map(|g| {
            let x = g.get(xm)?;
            let y = g.get(Metric::CostTotal)?;
            Some(ErrPoint {
                style: style_of(&g.policy),
                x: interval(x, xs),
                y: interval(y, 1.0),
                note: if annotate {
                    point_label(&g.params)
                } else {
                    String::new()
                },
            })
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    let legend = tidy
        .policies()
        .into_iter()
        .map(|p| {
            let k = style_of(&p);
            (p, k)
        })
        .collect();
    // The frontier of the policies of one setting; across sweep points it would mix settings.
    let frontier = if tidy.points() == 1 {
        pareto_frontier(points.iter().map(|p| (p.x.1, p.y.1)))
    } else {
        Vec::new()
    };
    let caption = format!(
        "Cost against {}: mean over replications with 95 % confidence intervals in both directions{}{}.",
        if has_slo {
            "the SLO-violation rate"
        } else if coded {
            "the p99 latency of queries"
        } else {
            "the p99 latency (the scenario sets no SLO)"
        },
        if frontier.len() >= 2 {
            format!(
                "; the dashed line joins the Pareto-optimal means (no other point has both a lower cost and a lower {})",
                if has_slo { "violation rate" } else { "p99" }
            )
        } else {
            String::new()
        },
        if annotate {
            "; each point is labelled by its swept values (labels that would overlap another are left out)"
        } else {
            ""
        }
    );
    Some((
        ScatterFigure {
            x_label: x_label.into(),
            y_label: "cost per run ($)".into(),
            points,
            legend,
            frontier_label: "Pareto frontier".into(),
            frontier,
        },
        caption,
    ))
}

/// A sweep point's label: its swept values, joined ("45/s, 10min").
fn point_label(params: &[String]) -> String {
    params.join(", ")
}

/// The points no other point dominates (lower or equal in both coordinates, lower in one), in
/// increasing x: the cost–latency frontier. Non-finite points are ignored.
pub fn pareto_frontier(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in pts {
        if out.last().is_none_or(|l| p.1 < l.1) {
            out.push(p);
        }
    }
    out
}

/// Numeric values of a swept key's labels, with the axis unit: plain numbers, or quantities with
/// units (durations in s, rates in 1/s, memory in MB, sizes in bytes, bandwidths in B/s).
pub fn numeric_axis(labels: &[&str]) -> Option<(Vec<f64>, &'static str)> {
    type P = fn(&str) -> Option<f64>;
    let kinds: [(P, &'static str); 6] = [
        (|s| s.trim().parse::<f64>().ok(), ""),
        (
            |s| units::parse_duration(s).ok().map(|d| d.as_secs_f64()),
            "s",
        ),
        (|s| units::parse_rate(s).ok(), "1/s"),
        (|s| units::parse_memory(s).ok().map(f64::from), "MB"),
        (|s| units::parse_bytes(s).ok().map(|b| b as f64), "B"),
        (|s| units::parse_bandwidth(s).ok(), "B/s"),
    ];
    kinds.iter().find_map(|(parse, unit)| {
        let v: Option<Vec<f64>> = labels.iter().map(|l| parse(l)).collect();
        v.map(|v| (v, *unit))
    })
}

#[allow(clippy::too_many_arguments)]
fn metric_vs_param(
    groups: &[Group],
    params: &[String],
    k: usize,
    metric: Metric,
    y_label: &str,
    scale: f64,
    style_of: &dyn Fn(&str) -> usize,
) -> Option<(LineFigure, String)> {
    let key = params[k].as_str();
    let mut distinct: Vec<&str> = Vec::new();
    for g in groups {
        if !distinct.contains(&g.params[k].as_str()) {
            distinct.push(&g.params[k]);
        }
    }
    if distinct.len() < 2 || !groups.iter().any(|g| g.get(metric).is_some()) {
        return None;
    }
    let (xs, unit) = numeric_axis(&distinct)?;
    let x_of = |label: &str| xs[distinct.iter().position(|d| *d == label).unwrap_or(0)];
    // A line per policy and combination of the other keys' values.
    let others = |g: &Group| -> Vec<String> {
        g.params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    // One panel per combination of the other keys' values (small multiples), one line per
    // policy in each; beyond MAX_PANELS combinations, the first combination only, said so.
    let mut combos: Vec<Vec<String>> = Vec::new();
    let mut policies: Vec<&str> = Vec::new();
    for g in groups {
        let o = others(g);
        if !combos.contains(&o) {
            combos.push(o);
        }
        if !policies.contains(&g.policy.as_str()) {
            policies.push(&g.policy);
        }
    }
    let other_names: Vec<&str> = params
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != k)
        .map(|(_, n)| n.as_str())
        .collect();
    let describe = |o: &[String]| -> String {
        other_names
            .iter()
            .zip(o)
            .map(|(name, v)| format!("{} = {v}", key_title(name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut note = String::new();
    if combos.len() > MAX_PANELS {
        note = format!(
            "; the other swept keys are held at their first values ({}), of {} combinations",
            describe(&combos[0]),
            combos.len()
        );
        combos.truncate(1);
    } else if combos.len() > 1 {
        note = "; one panel per value of the other swept keys".into();
    }
    let x_label = if unit.is_empty() {
        key_title(key)
    } else {
        format!("{} ({unit})", key_title(key))
    };
    let mut panels = Vec::new();
    for o in &combos {
        let mut lines = Vec::new();
        for pol in &policies {
            let mut pts: Vec<(f64, f64, f64, f64)> = groups
                .iter()
                .filter(|g| g.policy == *pol && &others(g) == o)
                .filter_map(|g| {
                    let s = g.get(metric)?;
                    let (lo, m, hi) = interval(s, scale);
                    Some((x_of(&g.params[k]), m, lo, hi))
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            lines.push(Line::with_band(pol.to_string(), style_of(pol), &pts));
        }
        panels.push(Panel {
            x_label: String::new(),
            y_label: y_label.into(),
            x_log: false,
            y_log: false,
            x_ticks: None,
            title: if combos.len() > 1 {
                describe(o)
            } else {
                String::new()
            },
            y_range: None,
            lines,
        });
    }
    if let Some(last) = panels.last_mut() {
        last.x_label = x_label;
    }
    Some((LineFigure { panels }, note))
}

/// A swept key's name in words for an axis title or a panel title: known keys by a table,
/// others by their last path segment with spaces (`platform.faas.keep_alive` → "keep-alive").
pub fn key_title(key: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("workload.arrivals.rate", "arrival rate"),
        ("workload.arrivals.mean_rate", "mean arrival rate"),
        ("workload.arrivals.speed", "trace speed-up"),
        ("workload.group.size", "queries per group"),
        ("workload.group.timeout", "group timeout"),
        ("workload.input", "input size"),
        ("platform.faas.keep_alive", "keep-alive"),
        ("platform.faas.concurrency_limit", "concurrency limit"),
        ("platform.faas.memory", "function memory"),
        ("platform.vm.boot_time", "VM boot time"),
        ("run.slo", "SLO"),
        ("run.seed", "seed"),
        ("coded.slowdown.probability", "straggler probability"),
        ("coded.slowdown.factor", "straggler slowdown"),
        ("coded.fail_probability", "worker failure probability"),
    ];
    if let Some((_, t)) = KNOWN.iter().find(|(k, _)| *k == key) {
        return t.to_string();
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    // `policy[1].vms`, `stage[0].memory`: the field, said in words.
    let field = last
        .rsplit(']')
        .next()
        .unwrap_or(last)
        .trim_start_matches('.');
    match field {
        "keep_alive" => "keep-alive".into(),
        "vms" => "VMs".into(),
        "memory" => "memory".into(),
        f => f.replace('_', " "),
    }
}

fn timeseries_figure(
    bytes: &[u8],
    style_of: &dyn Fn(&str) -> usize,
) -> Result<Option<LineFigure>, String> {
    let mut rd = csv::Reader::from_reader(bytes);
    let header = rd.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("timeseries.csv has no column `{name}`"))
    };
    let (cp, cr, ct) = (
        col("policy")?,
        col("replication")?,
        col(Series::Time.name())?,
    );
    let (cb, ci, cv) = (
        col(Series::FunctionsBusy.name())?,
        col(Series::FunctionsIdle.name())?,
        col(Series::VmsRunning.name())?,
    );
    // Every policy sees the same arrivals: one line, from the first policy.
    let ca = col(Series::ArrivalRate.name()).ok();
    let mut arrivals: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut inst: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut vms: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut first_rep: Option<String> = None;
    for rec in rd.records() {
        let rec =
            rec.map_err(|e| format!("timeseries.csv: {}", crate::report::csvin::describe(&e)))?;
        let rep = &rec[cr];
        match &first_rep {
            None => first_rep = Some(rep.to_string()),
            Some(r) if r != rep => continue,
            _ => {}
        }
        let num = |i: usize| rec[i].parse::<f64>().unwrap_or(f64::NAN);
        let t = num(ct) / 60.0;
        let pol = rec[cp].to_string();
        if inst.last().is_none_or(|(p, _)| *p != pol) {
            inst.push((pol.clone(), Vec::new()));
            vms.push((pol.clone(), Vec::new()));
        }
        if let Some(ca) = ca
            && inst.len() == 1
            && t > 0.0
        {
            if arrivals.is_empty() {
                arrivals.push(("arrivals".into(), Vec::new()));
            }
            arrivals[0].1.push((t, num(ca)));
        }
        inst.last_mut()
            .expect("pushed")
            .1
            .push((t, num(cb) + num(ci)));
        vms.last_mut().expect("pushed").1.push((t, num(cv)));
    }
    // Long runs in hours.
    let t_max = inst
        .iter()
        .flat_map(|(_, v)| v.iter().map(|p| p.0))
        .fold(0.0, f64::max);
    let (unit, div) = if t_max > 180.0 {
        ("time (h)", 60.0)
    } else {
        ("time (min)", 1.0)
    };
    for (_, v) in inst
        .iter_mut()
        .chain(vms.iter_mut())
        .chain(arrivals.iter_mut())
    {
        for p in v.iter_mut() {
            p.0 /= div;
        }
    }
    let nonzero =
        |s: &[(String, Vec<(f64, f64)>)]| s.iter().any(|(_, v)| v.iter().any(|p| p.1 > 0.0));
    let mk = |s: Vec<(String, Vec<(f64, f64)>)>, y: &str| Panel {
        x_label: unit.into(),
        y_label: y.into(),
        x_log: false,
        y_log: false,
        x_ticks: None,
        title: String::new(),
        y_range: None,
        lines: s
            .into_iter()
            .map(|(p, pts)| Line {
                // The arrivals line takes the last style, apart from the policies'.
                style: if p == "arrivals" {
                    ARRIVALS_STYLE
                } else {
                    style_of(&p)
                },
                label: p,
                points: pts,
                band: Vec::new(),
                marks: Marks::None,
            })
            .collect(),
    };
    let mut panels = Vec::new();
    if nonzero(&arrivals) {
        panels.push(mk(arrivals, "arrivals (req/s)"));
    }
    if nonzero(&inst) {
        panels.push(mk(inst, "function instances"));
    }
    if nonzero(&vms) {
        panels.push(mk(vms, "VMs running"));
    }
    // One x-axis title, under the bottom panel.
    let last = panels.len().saturating_sub(1);
    for p in &mut panels[..last] {
        p.x_label.clear();
    }
    Ok((!panels.is_empty()).then_some(LineFigure { panels }))
}

/// The keep-alive trade-off of "Serverless in the Wild" (its Fig. 15 style): per policy, the 75th
/// percentile over functions of the cold-start percentage against wasted memory time,
/// normalised to the `fixed-10m` policy if there is one (else to the largest). Drawn when the
/// runs have several trace functions.
fn keepalive_tradeoff(
    groups: &[Group],
    style_of: &dyn Fn(&str) -> usize,
) -> Option<(ScatterFigure, String)> {
    let y_metric = Metric::ColdStartPctP75Functions;
    let x_metric = Metric::IdleMemory;
    let with: Vec<&Group> = groups
        .iter()
        .filter(|g| g.get(y_metric).is_some() && g.get(x_metric).is_some())
        .collect();
    if with.len() < 2 {
        return None;
    }
    let reference = with
        .iter()
        .find(|g| g.policy == "fixed-10m")
        .and_then(|g| g.get(x_metric).map(|s| ("fixed-10m", s.mean)))
        .or_else(|| {
            with.iter()
                .filter_map(|g| g.get(x_metric).map(|s| s.mean))
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
                .map(|m| ("the largest", m))
        })?;
    if !(reference.1 > 0.0) {
        return None;
    }
    let points = with
        .iter()
        .map(|g| ErrPoint {
            style: style_of(&g.policy),
            x: interval(g.get(x_metric).expect("filtered"), 1.0 / reference.1),
            y: interval(g.get(y_metric).expect("filtered"), 1.0),
            note: String::new(),
        })
        .collect();
    let mut legend: Vec<(String, usize)> = Vec::new();
    for g in &with {
        if !legend.iter().any(|(p, _)| *p == g.policy) {
            legend.push((g.policy.clone(), style_of(&g.policy)));
        }
    }
    Some((
        ScatterFigure {
            x_label: format!(
                "wasted memory time (idle GB-s, relative to {})",
                reference.0
            ),
            y_label: "cold starts, 75th percentile over functions (%)".into(),
            points,
            legend,
            frontier: Vec::new(),
            frontier_label: String::new(),
        },
        format!(
            "Keep-alive trade-off: per policy, the 75th percentile over functions of the cold-start percentage against the idle (wasted) memory time relative to {}; mean over replications with 95 % intervals.",
            reference.0
        ),
    ))
}
