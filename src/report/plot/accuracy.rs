//! Figures of an `infersim accuracy` output (`accuracy.csv`): accuracy against K, S and E (and
//! σ), one panel per model, one line per scheme or attack, with 95 % Wilson intervals as bands.
//!
//! A figure against one setting holds the others fixed and says at which values in its caption:
//! against K at the smallest S measured and E = 0; against S at the largest K measured with
//! several S; against E (ApproxIFER) at the K and S measured with the most values of E, each
//! attack's line starting from the straggler-only accuracy at E = 0.

use std::path::Path;

use super::Plot;
use super::figure::{Line, LineFigure, Panel, save};
use crate::coded::accuracy::table::{Adversary, Row, Scheme};

/// One measured point of a figure: its panel (the model), its line and its x.
struct Item<'a> {
    panel: &'a str,
    series: String,
    x: f64,
    row: &'a Row,
}

/// The items of `rows` that `keep` selects, one panel per model.
fn items<'a>(
    rows: &'a [Row],
    keep: impl Fn(&Row) -> bool,
    x: impl Fn(&Row) -> f64,
    series: impl Fn(&Row) -> String,
) -> Vec<Item<'a>> {
    rows.iter()
        .filter(|r| keep(r))
        .map(|r| Item {
            panel: &r.model,
            series: series(r),
            x: x(r),
            row: r,
        })
        .collect()
}

/// Draws every accuracy figure that `rows` support into `dir/plots/`.
pub fn accuracy_figures(rows: &[Row], dir: &Path) -> Result<Vec<Plot>, String> {
    let out = dir.join("plots");
    let mut plots = Vec::new();
    let plain = |r: &Row| r.e == 0 && r.adversary == Adversary::None;

    // Against K: E = 0 at the smallest S (ParM and replication tolerate one straggler, S = 1).
    if let Some(s_ref) = rows.iter().filter(|r| plain(r)).map(|r| r.s).min() {
        let it = items(
            rows,
            |r| plain(r) && r.s == s_ref,
            |r| r.k as f64,
            |r| r.scheme.name().to_string(),
        );
        if let Some(fig) = figure(&it, "queries per group K", false) {
            let files = save(&fig, &out, "accuracy_vs_k")?;
            plots.push(Plot {
                stem: "accuracy_vs_k".into(),
                caption: format!(
                    "Accuracy against the group size K at S = {s_ref}, E = 0, per scheme and model, with 95 % Wilson intervals (ParM: accuracy of the reconstructed answers)."
                ),
                files,
            });
        }
    }

    // Against S: at the largest K with several S values, E = 0.
    let k_for_s = largest_with_several(rows, &|r| plain(r), &|r| r.k, &|r| r.s);
    if let Some(k_ref) = k_for_s {
        let it = items(
            rows,
            |r| plain(r) && r.k == k_ref,
            |r| r.s as f64,
            |r| r.scheme.name().to_string(),
        );
        if let Some(fig) = figure(&it, "stragglers tolerated S", false) {
            let files = save(&fig, &out, "accuracy_vs_s")?;
            plots.push(Plot {
                stem: "accuracy_vs_s".into(),
                caption: format!(
                    "Accuracy against the stragglers tolerated S at K = {k_ref}, E = 0, per scheme and model, with 95 % Wilson intervals."
                ),
                files,
            });
        }
    }

    // Against E (ApproxIFER with the error locator): at the (K, S) with the most E values.
    let approx = |r: &Row| r.scheme == Scheme::Approxifer;
    if let Some((k_ref, s_ref)) = most_values_of_e(rows) {
        let keep = |r: &Row| approx(r) && r.k == k_ref && r.s == s_ref;
        let attacked: Vec<String> = rows
            .iter()
            .filter(|r| keep(r) && r.e > 0)
            .map(attack_name)
            .fold(Vec::new(), |mut v, a| {
                if !v.contains(&a) {
                    v.push(a);
                }
                v
            });
        // Each attack's line starts from the straggler-only row at E = 0.
        let mut it: Vec<Item> = Vec::new();
        for r in rows.iter().filter(|r| keep(r)) {
            let lines = if r.e == 0 && r.adversary == Adversary::None {
                attacked.clone()
            } else if r.e > 0 {
                vec![attack_name(r)]
            } else {
                Vec::new()
            };
            for series in lines {
                it.push(Item {
                    panel: &r.model,
                    series,
                    x: r.e as f64,
                    row: r,
                });
            }
        }
        let fig = figure(&it, "Byzantine workers E", false);
        if let Some(fig) = fig {
            let files = save(&fig, &out, "accuracy_vs_e")?;
            plots.push(Plot {
                stem: "accuracy_vs_e".into(),
                caption: format!(
                    "ApproxIFER accuracy with the error locator against the Byzantine workers E at K = {k_ref}, S = {s_ref}, per attack and model, with 95 % Wilson intervals{}.",
                    if it.iter().any(|i| i.row.e == 0) {
                        "; E = 0 is the straggler-only accuracy"
                    } else {
                        ""
                    }
                ),
                files,
            });
        }
    }

    // Against σ (Gaussian attack): at the (K, S) above, one line per E.
    if let Some((k_ref, s_ref)) = most_values_of_e(rows) {
        let keep = |r: &Row| {
            approx(r)
                && r.k == k_ref
                && r.s == s_ref
                && r.adversary == Adversary::Gaussian
                && r.sigma.is_some_and(|s| s > 0.0)
        };
        let it = items(
            rows,
            keep,
            |r| r.sigma.unwrap_or(f64::NAN),
            |r| format!("E = {}", r.e),
        );
        if let Some(fig) = figure(&it, "noise σ of the Byzantine outputs (log scale)", true) {
            let files = save(&fig, &out, "accuracy_vs_sigma")?;
            plots.push(Plot {
                stem: "accuracy_vs_sigma".into(),
                caption: format!(
                    "ApproxIFER accuracy with the error locator against the Gaussian noise σ of the Byzantine outputs at K = {k_ref}, S = {s_ref}, per E and model, with 95 % Wilson intervals."
                ),
                files,
            });
        }
    }
    Ok(plots)
}

/// How an attack is named in a legend.
fn attack_name(r: &Row) -> String {
    match (r.adversary, r.sigma) {
        (Adversary::Gaussian, Some(s)) => format!("gaussian σ = {s}"),
        (a, _) => a.name().to_string(),
    }
}

/// The largest value of `group` among `keep` rows whose rows take at least two values of `x`.
fn largest_with_several(
    rows: &[Row],
    keep: &dyn Fn(&Row) -> bool,
    group: &dyn Fn(&Row) -> usize,
    x: &dyn Fn(&Row) -> usize,
) -> Option<usize> {
    let mut groups: Vec<usize> = rows.iter().filter(|r| keep(r)).map(group).collect();
    groups.sort_unstable();
    groups.dedup();
    groups.into_iter().rev().find(|&g| {
        let mut xs: Vec<usize> = rows
            .iter()
            .filter(|r| keep(r) && group(r) == g)
            .map(x)
            .collect();
        xs.sort_unstable();
        xs.dedup();
        xs.len() >= 2
    })
}

/// The ApproxIFER (K, S) with the most Byzantine rows (E > 0), largest K first on ties.
fn most_values_of_e(rows: &[Row]) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), usize)> = None;
    for r in rows
        .iter()
        .filter(|r| r.scheme == Scheme::Approxifer && r.e > 0)
    {
        let key = (r.k, r.s);
        let n = rows
            .iter()
            .filter(|q| q.scheme == Scheme::Approxifer && (q.k, q.s) == key && q.e > 0)
            .count();
        if best.is_none_or(|(b, m)| n > m || (n == m && key.0 > b.0)) {
            best = Some((key, n));
        }
    }
    best.map(|(k, _)| k)
}

/// One panel per model, one line per series, in order of first appearance; `None` unless some
/// line has at least two points.
fn figure(items: &[Item], x_label: &str, x_log: bool) -> Option<LineFigure> {
    let mut models: Vec<&str> = Vec::new();
    let mut series: Vec<&str> = Vec::new();
    for i in items {
        if !models.contains(&i.panel) {
            models.push(i.panel);
        }
        if !series.contains(&i.series.as_str()) {
            series.push(&i.series);
        }
    }
    // A y range fitted to the data and its intervals, within 0–100 %.
    let (lo, hi) = items
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
            let r = i.row;
            let low = if r.ci95_low.is_finite() {
                r.ci95_low
            } else {
                r.accuracy
            };
            let high = if r.ci95_high.is_finite() {
                r.ci95_high
            } else {
                r.accuracy
            };
            (lo.min(100.0 * low), hi.max(100.0 * high))
        });
    let pad = ((hi - lo) * 0.08).max(0.5);
    let y_range =
        (lo.is_finite() && hi.is_finite()).then(|| ((lo - pad).max(0.0), (hi + pad).min(100.0)));
    // Integer settings (K, S, E) keep their ticks on integers.
    let mut xs: Vec<f64> = items
        .iter()
        .map(|i| i.x)
        .filter(|x| x.is_finite())
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let integer = xs.iter().all(|x| x.fract() == 0.0);
    let x_ticks = integer.then(|| {
        let span = xs.last().copied().unwrap_or(0.0) - xs.first().copied().unwrap_or(0.0);
        (span as usize + 1).min(16)
    });
    let mut panels = Vec::new();
    let mut drawable = false;
    for m in &models {
        let mut lines = Vec::new();
        for (style, name) in series.iter().enumerate() {
            let mut pts: Vec<(f64, f64, f64, f64)> = items
                .iter()
                .filter(|i| i.panel == *m && i.series == *name)
                .map(|i| {
                    (
                        i.x,
                        100.0 * i.row.accuracy,
                        100.0 * i.row.ci95_low,
                        100.0 * i.row.ci95_high,
                    )
                })
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            drawable |= pts.len() >= 2;
            lines.push(Line::with_band(name.to_string(), style, &pts));
        }
        panels.push(Panel {
            title: if models.len() > 1 {
                m.to_string()
            } else {
                String::new()
            },
            x_label: String::new(),
            y_label: "accuracy (%)".into(),
            x_log,
            y_log: false,
            x_ticks,
            y_range,
            lines,
        });
    }
    if let Some(last) = panels.last_mut() {
        last.x_label = x_label.to_string();
    }
    (drawable && !panels.is_empty()).then_some(LineFigure { panels })
}
