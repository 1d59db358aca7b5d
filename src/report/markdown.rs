//! `report.md`: the results of a run or a sweep as Markdown tables, with the figures embedded,
//! and the `--json` summary printed for scripts.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::metric::Metric;
use super::plot::{COST_COMPONENTS, Plot, style::tick};
use super::stats::{Summary, format_mean_ci};
use super::tidy::{Group, Tidy};
use super::write::RESULT_COLUMNS;

/// What the report says about where the results come from.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// Scenario name (the title).
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Facts shown as a list (seed, replications, horizon, …).
    pub facts: Vec<String>,
}

fn cell(s: Option<&Summary>, scale: f64) -> String {
    s.and_then(|s| format_mean_ci(s.mean * scale, s.half_width * scale))
        .unwrap_or_else(|| "–".into())
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The Markdown report of a run or a sweep. `plots` are the figures written in `plots/`.
pub fn report(meta: &Meta, tidy: &Tidy, plots: &[Plot]) -> String {
    let groups = tidy.groups();
    let sweep = !tidy.params.is_empty();
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_escape(&meta.name));
    if !meta.description.is_empty() {
        let _ = writeln!(out, "{}\n", meta.description);
    }
    for f in &meta.facts {
        let _ = writeln!(out, "- {f}");
    }
    if !meta.facts.is_empty() {
        out.push('\n');
    }
    let reps = groups
        .iter()
        .map(|g| g.get(Metric::Requests).map_or(0, |s| s.n))
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "## Results\n");
    let _ = writeln!(
        out,
        "Mean ± half-width of the 95 % Student-t confidence interval over {reps} replication{} (the interval is omitted with one replication); the half-width has two significant digits and the mean is rounded to the same decimal place. The terminal table shows the same columns.\n",
        if reps == 1 { "" } else { "s" }
    );
    let cols: Vec<&(Metric, &str, f64)> = RESULT_COLUMNS
        .iter()
        .filter(|(m, ..)| groups.iter().any(|g| g.get(*m).is_some()))
        .collect();
    let mut head: Vec<String> = Vec::new();
    if sweep {
        head.push("point".into());
        head.extend(tidy.params.iter().map(|p| format!("`{}`", md_escape(p))));
    }
    head.push("policy".into());
    head.extend(cols.iter().map(|c| c.1.to_string()));
    table_row(&mut out, &head);
    table_rule(
        &mut out,
        head.len(),
        if sweep { tidy.params.len() + 2 } else { 1 },
    );
    for g in &groups {
        let mut row: Vec<String> = Vec::new();
        if sweep {
            row.push(format!("P{}", g.point));
            row.extend(g.params.iter().map(|v| md_escape(v)));
        }
        row.push(md_escape(&g.policy));
        row.extend(cols.iter().map(|(m, _, sc)| cell(g.get(*m), *sc)));
        table_row(&mut out, &row);
    }
    out.push('\n');

    // Cost by component.
    let comps: Vec<&(Metric, &str)> = COST_COMPONENTS
        .iter()
        .filter(|(m, _)| groups.iter().any(|g| g.get(*m).is_some()))
        .collect();
    if !comps.is_empty() {
        let _ = writeln!(out, "## Cost by component\n");
        let _ = writeln!(out, "Mean cost of one run, in dollars.\n");
        let mut head: Vec<String> = Vec::new();
        if sweep {
            head.push("point".into());
        }
        head.push("policy".into());
        head.extend(comps.iter().map(|(_, l)| l.to_string()));
        head.push("total".into());
        table_row(&mut out, &head);
        table_rule(&mut out, head.len(), if sweep { 2 } else { 1 });
        for g in &groups {
            let mut row: Vec<String> = Vec::new();
            if sweep {
                row.push(format!("P{}", g.point));
            }
            row.push(md_escape(&g.policy));
            row.extend(comps.iter().map(|(m, _)| mean_cell(g, *m)));
            row.push(mean_cell(g, Metric::CostTotal));
            table_row(&mut out, &row);
        }
        out.push('\n');
    }

    if !plots.is_empty() {
        let _ = writeln!(out, "## Figures\n");
        for p in plots {
            let _ = writeln!(
                out,
                "![{}](plots/{}.svg)\n\n*{}* (PNG: [plots/{}.png](plots/{}.png))\n",
                p.stem, p.stem, p.caption, p.stem, p.stem
            );
        }
    }
    let _ = writeln!(out, "## Files\n");
    if sweep {
        let _ = writeln!(
            out,
            "- `results.csv`: one row per point × policy × replication × metric\n- `summary.csv`: mean, standard deviation, 95 % interval and n per point × policy × metric\n- `sweep.json`, `scenario.toml`, `runs.journal`: what was swept, and the durable record of finished runs"
        );
    } else {
        let _ = writeln!(
            out,
            "- `summary.csv`: one row per policy × replication × metric\n- `stats.csv`: mean, standard deviation, 95 % interval and n per policy × metric\n- `timeseries.csv`: the sampled time series, per policy × replication\n- `functions.csv`: per policy × replication × deployed function, its memory, invocations, cold starts and idle memory time\n- `latency_cdf.csv`: per policy, the empirical distribution of the latency of every measured request, pooled over replications (one row per latency histogram bucket: latency, requests, CDF, fraction at least that latency)"
        );
    }
    out
}

fn mean_cell(g: &Group, m: Metric) -> String {
    g.get(m)
        .filter(|s| s.mean.is_finite())
        .map_or("–".into(), |s| tick(s.mean))
}

fn table_row(out: &mut String, cells: &[String]) {
    out.push('|');
    for c in cells {
        let _ = write!(out, " {c} |");
    }
    out.push('\n');
}

fn table_rule(out: &mut String, n: usize, left: usize) {
    out.push('|');
    for i in 0..n {
        out.push_str(if i < left { " --- |" } else { " ---: |" });
    }
    out.push('\n');
}

fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// The statistics of every (point, policy) group as JSON: a list of
/// `{point, params: {key: value}, policy, metrics: {name: {mean, std, ci95_low, ci95_high, n}}}`
/// (NaN as null).
pub fn groups_json(tidy: &Tidy) -> Value {
    let groups = tidy.groups();
    Value::Array(
        groups
            .iter()
            .map(|g| {
                let mut metrics = Map::new();
                for (m, s) in &g.metrics {
                    metrics.insert(
                        m.to_string(),
                        json!({
                            "mean": num(s.mean),
                            "std": num(s.std),
                            "ci95_low": num(s.mean - s.half_width),
                            "ci95_high": num(s.mean + s.half_width),
                            "n": s.n,
                        }),
                    );
                }
                let mut params = Map::new();
                for (k, v) in tidy.params.iter().zip(&g.params) {
                    params.insert(k.clone(), Value::String(v.clone()));
                }
                json!({
                    "point": g.point,
                    "params": params,
                    "policy": g.policy,
                    "metrics": metrics,
                })
            })
            .collect(),
    )
}
