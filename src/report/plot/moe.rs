//! The figures of a mixture-of-experts run (Liu, Wang, Wu, INFOCOM 2025), drawn from its
//! `moe_layers.csv`, `moe_experts.csv` and, when present, `moe_bo.csv`, with the per-policy
//! statistics of its `summary.csv` (the means and 95 % intervals of `stats.csv`):
//!
//! - `moe_cost_by_layer`: per policy, a stacked bar of the simulated cost of a batch, one
//!   segment per MoE layer in a sequential palette (layers binned into at most 8 legend entries
//!   for deep models); the CPU cluster as one plain bar;
//! - `moe_cost_vs_throughput`: cost per batch against throughput, one point per policy with
//!   its 95 % intervals, labelled by name, with the throughput of the latency limit;
//! - `moe_tokens`: predicted against real tokens per expert, one panel per predicting policy;
//! - `moe_bo_convergence` (with `moe_bo.csv`): the best cost found per Bayesian-optimisation
//!   iteration, per policy, over the cost evaluated at each iteration;
//! - `moe_choices`: the deployment per layer, one panel per FaaS policy: each expert's memory,
//!   the marker's shape giving the layer's mode and its size the expert's replicas.
//!
//! Rows of policies that the run's statistics do not hold are ignored (a stale file from an
//! earlier run in the same directory draws nothing).

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Plot;
use super::figure::{
    FRONTIER, Figure, LabelPlacer, R, draw_marker_sized, draw_path, font, legend_width, log_range,
    mesh, pad_range, pe, save, save_sized,
};
use super::style::{self, Scale, SeriesStyle};
use crate::report::metric::Metric;
use crate::report::stats::Summary;
use crate::report::tidy::{Group, Tidy};

/// The MoE layers' file.
pub const LAYERS_CSV: &str = "moe_layers.csv";
/// The MoE experts' file.
pub const EXPERTS_CSV: &str = "moe_experts.csv";
/// The Bayesian-optimisation trace.
pub const BO_CSV: &str = "moe_bo.csv";

/// The mode of the CPU cluster's layers in `moe_layers.csv`.
const CPU_MODE: &str = "cpu-cluster";
/// The layer modes, in legend order (their index is their style).
const MODES: [(&str, &str); 3] = [
    ("pipelined-storage", "pipelined through storage"),
    ("storage", "through storage"),
    ("direct", "direct (payload)"),
];
/// Most legend entries for layers; deeper models bin consecutive layers.
const MAX_LAYER_BINS: usize = 8;
/// A layer-per-colour legend up to this many layers.
const MAX_PLAIN_LAYERS: usize = 12;
/// An axis is logarithmic when its largest value exceeds its smallest this many times (x of
/// the throughput figure, as the brief of the figure says).
const LOG_SPAN_X: f64 = 30.0;
/// The same for cost axes, lower: cost differences between FaaS policies are a few per cent,
/// which a linear axis reaching a CPU cluster's cost would flatten.
const LOG_SPAN_Y: f64 = 10.0;
/// Height of one row of small multiples when more rows than fit the standard size: square-ish
/// panels (tokens) and wide, low ones (deployments per layer).
const ROW_HEIGHT: u32 = 150;
const LOW_ROW_HEIGHT: u32 = 118;
/// Most panels of the deployment figure in one column (beyond, two columns).
const MAX_ONE_COLUMN: usize = 8;

// ---------------------------------------------------------------------------------------------
// Reading the CSV files.

/// One row of `moe_layers.csv`: what a MoE policy deployed for one layer, and its cost.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// Policy name.
    pub policy: String,
    /// MoE layer, from 0.
    pub layer: usize,
    /// `pipelined-storage`, `storage`, `direct` or `cpu-cluster`.
    pub mode: String,
    /// Pipelining degree β (`None` for the CPU cluster).
    pub beta: Option<u32>,
    /// Memory of each expert's function (MB); empty for the CPU cluster.
    pub memory_mb: Vec<u32>,
    /// Replicas of each expert; empty for the CPU cluster.
    pub replicas: Vec<u32>,
    /// Closed-form cost of a batch with the planned counts ($; NaN for the CPU cluster).
    pub planned_usd: f64,
    /// Closed-form latency of the layer (s; NaN for the CPU cluster).
    pub planned_latency_s: f64,
    /// Simulated cost of the layer's functions per batch ($; NaN for the CPU cluster).
    pub simulated_usd: f64,
    /// Simulated billed GB-s per batch (NaN for the CPU cluster).
    pub simulated_gb_s: f64,
}

/// One row of `moe_experts.csv`: one expert of one layer of a MoE policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpertRow {
    /// Policy name.
    pub policy: String,
    /// MoE layer, from 0.
    pub layer: usize,
    /// Expert of the layer, from 0.
    pub expert: usize,
    /// Memory of its function (MB).
    pub memory_mb: u32,
    /// Replicas.
    pub replicas: u32,
    /// Tokens the deployment was planned for.
    pub planned_tokens: f64,
    /// Mean predicted tokens per batch (NaN for policies that do not predict).
    pub predicted_tokens: f64,
    /// Mean real tokens per served batch.
    pub real_tokens: f64,
}

/// One row of `moe_bo.csv`: one iteration of a policy's Bayesian optimisation.
#[derive(Clone, Debug, PartialEq)]
pub struct BoRow {
    /// Policy name.
    pub policy: String,
    /// Iteration, from 0 or 1.
    pub iteration: u32,
    /// Cost of the deployment evaluated at this iteration ($; NaN when it failed).
    pub cost_usd: f64,
    /// Best cost found up to this iteration ($).
    pub best_usd: f64,
    /// Evaluations that ran out of memory.
    pub memory_cases: u64,
    /// Evaluations over the payload limit.
    pub payload_cases: u64,
    /// Other failed evaluations.
    pub other_cases: u64,
    /// Mean exploration rate ε.
    pub epsilon_mean: f64,
}

/// A CSV table being read: its file name (for messages) and required columns.
struct Table {
    file: String,
    cols: Vec<usize>,
    names: Vec<&'static str>,
    records: Vec<(u64, csv::StringRecord)>,
}

/// One record of a [`Table`], with typed field access by required-column index.
struct Rec<'a> {
    t: &'a Table,
    line: u64,
    rec: &'a csv::StringRecord,
}

impl Table {
    /// Reads `bytes` with a header holding every `required` column (others are ignored); a
    /// record with a different number of fields than the header (a truncated file) is an error
    /// naming its line.
    fn read(bytes: &[u8], file: &str, required: &[&'static str]) -> Result<Table, String> {
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header = rd
            .headers()
            .map_err(|e| format!("{file}: line 1: {e}"))?
            .clone();
        if header.iter().all(str::is_empty) {
            return Err(format!(
                "{file}: empty, expected the header `{}`",
                required.join(",")
            ));
        }
        let cols = required
            .iter()
            .map(|name| {
                header.iter().position(|h| h == *name).ok_or_else(|| {
                    format!(
                        "{file}: line 1: no column `{name}` in the header `{}`",
                        header.iter().collect::<Vec<_>>().join(",")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut records = Vec::new();
        for rec in rd.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                format!("{file}: line {line}: {e}")
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.len() != header.len() {
                return Err(format!(
                    "{file}: line {line}: {} fields, expected {} (a truncated file?)",
                    rec.len(),
                    header.len()
                ));
            }
            records.push((line, rec));
        }
        Ok(Table {
            file: file.to_string(),
            cols,
            names: required.to_vec(),
            records,
        })
    }

    fn rows(&self) -> impl Iterator<Item = Rec<'_>> {
        self.records.iter().map(move |(line, rec)| Rec {
            t: self,
            line: *line,
            rec,
        })
    }
}

impl Rec<'_> {
    fn str(&self, i: usize) -> &str {
        &self.rec[self.t.cols[i]]
    }

    fn err(&self, i: usize, what: &str) -> String {
        format!(
            "{}: line {}: column `{}`: `{}` is not {what}",
            self.t.file,
            self.line,
            self.t.names[i],
            self.str(i)
        )
    }

    /// A number; empty is NaN.
    fn f64(&self, i: usize) -> Result<f64, String> {
        let s = self.str(i).trim();
        if s.is_empty() {
            return Ok(f64::NAN);
        }
        s.parse::<f64>().map_err(|_| self.err(i, "a number"))
    }

    fn int<T: std::str::FromStr>(&self, i: usize) -> Result<T, String> {
        self.str(i)
            .trim()
            .parse::<T>()
            .map_err(|_| self.err(i, "a non-negative integer"))
    }

    /// An integer or empty.
    fn opt_int<T: std::str::FromStr>(&self, i: usize) -> Result<Option<T>, String> {
        if self.str(i).trim().is_empty() {
            Ok(None)
        } else {
            self.int(i).map(Some)
        }
    }

    /// A "/"-joined list of integers (`768/768/960`); empty is an empty list.
    fn list(&self, i: usize) -> Result<Vec<u32>, String> {
        let s = self.str(i).trim();
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split('/')
            .map(|x| x.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| self.err(i, "a \"/\"-joined list of integers"))
    }
}

/// Parses `moe_layers.csv`; `file` names it in messages.
pub fn read_layers_csv(bytes: &[u8], file: &str) -> Result<Vec<LayerRow>, String> {
    let t = Table::read(
        bytes,
        file,
        &[
            "policy",
            "layer",
            "mode",
            "beta",
            "memory_mb",
            "replicas",
            "planned_usd",
            "planned_latency_s",
            "simulated_usd",
            "simulated_gb_s",
        ],
    )?;
    t.rows()
        .map(|r| {
            let row = LayerRow {
                policy: r.str(0).to_string(),
                layer: r.int(1)?,
                mode: r.str(2).to_string(),
                beta: r.opt_int(3)?,
                memory_mb: r.list(4)?,
                replicas: r.list(5)?,
                planned_usd: r.f64(6)?,
                planned_latency_s: r.f64(7)?,
                simulated_usd: r.f64(8)?,
                simulated_gb_s: r.f64(9)?,
            };
            if row.memory_mb.len() != row.replicas.len() {
                return Err(format!(
                    "{}: line {}: {} memory sizes but {} replica counts",
                    t.file,
                    r.line,
                    row.memory_mb.len(),
                    row.replicas.len()
                ));
            }
            Ok(row)
        })
        .collect()
}

/// Parses `moe_experts.csv`; `file` names it in messages.
pub fn read_experts_csv(bytes: &[u8], file: &str) -> Result<Vec<ExpertRow>, String> {
    let t = Table::read(
        bytes,
        file,
        &[
            "policy",
            "layer",
            "expert",
            "memory_mb",
            "replicas",
            "planned_tokens",
            "predicted_tokens",
            "real_tokens",
        ],
    )?;
    t.rows()
        .map(|r| {
            Ok(ExpertRow {
                policy: r.str(0).to_string(),
                layer: r.int(1)?,
                expert: r.int(2)?,
                memory_mb: r.int(3)?,
                replicas: r.int(4)?,
                planned_tokens: r.f64(5)?,
                predicted_tokens: r.f64(6)?,
                real_tokens: r.f64(7)?,
            })
        })
        .collect()
}

/// Parses `moe_bo.csv`; `file` names it in messages.
pub fn read_bo_csv(bytes: &[u8], file: &str) -> Result<Vec<BoRow>, String> {
    let t = Table::read(
        bytes,
        file,
        &[
            "policy",
            "iteration",
            "cost_usd",
            "best_usd",
            "memory_cases",
            "payload_cases",
            "other_cases",
            "epsilon_mean",
        ],
    )?;
    t.rows()
        .map(|r| {
            Ok(BoRow {
                policy: r.str(0).to_string(),
                iteration: r.int(1)?,
                cost_usd: r.f64(2)?,
                best_usd: r.f64(3)?,
                memory_cases: r.int(4)?,
                payload_cases: r.int(5)?,
                other_cases: r.int(6)?,
                epsilon_mean: r.f64(7)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The figures of a directory.

/// Draws the MoE figures that the files of `dir` support into `dir/plots/`: none without
/// `moe_layers.csv` and `moe_experts.csv`, no convergence figure without `moe_bo.csv`.
pub fn moe_figures(
    dir: &Path,
    tidy: &Tidy,
    style_of: &dyn Fn(&str) -> usize,
) -> Result<Vec<Plot>, String> {
    let groups = tidy.groups();
    let known = |p: &str| groups.iter().any(|g| g.policy == p);
    let path = |name: &str| dir.join(name).display().to_string();
    let layers: Vec<LayerRow> = match super::read_optional(dir, LAYERS_CSV)? {
        Some(b) => read_layers_csv(&b, &path(LAYERS_CSV))?,
        None => Vec::new(),
    }
    .into_iter()
    .filter(|r| known(&r.policy))
    .collect();
    let experts: Vec<ExpertRow> = match super::read_optional(dir, EXPERTS_CSV)? {
        Some(b) => read_experts_csv(&b, &path(EXPERTS_CSV))?,
        None => Vec::new(),
    }
    .into_iter()
    .filter(|r| known(&r.policy))
    .collect();
    let bo: Vec<BoRow> = match super::read_optional(dir, BO_CSV)? {
        Some(b) => read_bo_csv(&b, &path(BO_CSV))?,
        None => Vec::new(),
    }
    .into_iter()
    .filter(|r| known(&r.policy))
    .collect();
    let out = dir.join("plots");
    let mut plots = Vec::new();
    let mut emit = |stem: &str, caption: String, files| {
        plots.push(Plot {
            stem: stem.into(),
            caption,
            files,
        })
    };
    if let Some((fig, caption)) = cost_by_layer(&layers, &groups) {
        emit(
            "moe_cost_by_layer",
            caption,
            save(&fig, &out, "moe_cost_by_layer")?,
        );
    }
    if let Some((fig, caption)) = cost_vs_throughput(&groups, style_of) {
        emit(
            "moe_cost_vs_throughput",
            caption,
            save(&fig, &out, "moe_cost_vs_throughput")?,
        );
    }
    if let Some((fig, caption)) = tokens(&experts, &groups) {
        let size = fig.grid.size();
        emit(
            "moe_tokens",
            caption,
            save_sized(&fig, &out, "moe_tokens", size)?,
        );
    }
    if let Some((fig, caption)) = bo_convergence(&bo, style_of) {
        emit(
            "moe_bo_convergence",
            caption,
            save(&fig, &out, "moe_bo_convergence")?,
        );
    }
    if let Some((fig, caption)) = choices(&layers) {
        let size = fig.grid.size();
        emit(
            "moe_choices",
            caption,
            save_sized(&fig, &out, "moe_choices", size)?,
        );
    }
    Ok(plots)
}

// ---------------------------------------------------------------------------------------------
// Shared pieces: the sequential palette, legends, small-multiple grids, axes.

/// Viridis at 0, 1/8, …, 1: a sequential palette whose lightness rises steadily from dark
/// purple to yellow, so that its steps stay ordered and apart in grayscale too.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (0x44, 0x01, 0x54),
    (0x47, 0x2c, 0x7a),
    (0x3b, 0x51, 0x8b),
    (0x2c, 0x71, 0x8e),
    (0x21, 0x90, 0x8d),
    (0x27, 0xad, 0x81),
    (0x5c, 0xc8, 0x63),
    (0xaa, 0xdc, 0x32),
    (0xfd, 0xe7, 0x25),
];

/// The sequential palette at `t` in [0, 1].
pub fn sequential(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The plain grey of the CPU cluster's bar.
const CPU_GREY: RGBColor = RGBColor(0xA0, 0xA0, 0xA0);
/// The band behind every other layer.
const BAND: RGBColor = RGBColor(238, 238, 238);
/// Thin leader lines from a point to its label.
const LEADER: RGBColor = RGBColor(120, 120, 120);

/// The swatch of a legend entry.
#[derive(Clone, Debug)]
enum Key {
    /// A series' marker at a radius (scale-1 pixels), faint or not.
    Marker(usize, f64, bool),
    /// A series' line.
    Line(usize),
    /// A faint grey circle at a radius (points of every series).
    Faint(f64),
    /// A grey dashed line.
    Dashed,
    /// A filled box.
    Fill(RGBColor),
    /// A series' marker in dark grey at a radius (sizes, not series).
    Size(usize, f64),
}

/// Draws a legend down `area` (as `figure`'s legends: rows of 20 px, swatch then label).
fn draw_keys<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Key)],
    s: Scale,
) -> R {
    let row = s.px(20.0);
    let top = s.px(14.0);
    for (i, (label, key)) in entries.iter().enumerate() {
        let y = top + row * i as i32 + row / 2;
        let x0 = s.px(8.0);
        let mid = (x0 + s.px(14.0), y);
        match key {
            Key::Marker(k, r, faint) => {
                let st = faded(style::series(*k), *faint);
                draw_marker_sized(area, mid, st, s, s.px(*r))?;
            }
            Key::Line(k) => {
                draw_path(area, &[(x0, y), (x0 + s.px(28.0), y)], style::series(*k), s)?;
            }
            Key::Dashed => {
                area.draw(&DashedPathElement::new(
                    vec![(x0, y), (x0 + s.px(28.0), y)],
                    s.upx(7.0),
                    s.upx(4.0),
                    FRONTIER.stroke_width(s.upx(1.5)),
                ))
                .map_err(pe)?;
            }
            Key::Fill(c) => {
                let (l, t, r, b) = (
                    x0 + s.px(4.0),
                    y - s.px(6.0),
                    x0 + s.px(24.0),
                    y + s.px(6.0),
                );
                area.draw(&Rectangle::new([(l, t), (r, b)], c.filled()))
                    .map_err(pe)?;
                area.draw(&Rectangle::new(
                    [(l, t), (r, b)],
                    BLACK.stroke_width(s.upx(0.8)),
                ))
                .map_err(pe)?;
            }
            Key::Faint(r) => {
                let st = faded(
                    SeriesStyle {
                        color: RGBColor(80, 80, 80),
                        ..style::series(0)
                    },
                    true,
                );
                draw_marker_sized(area, mid, st, s, s.px(*r))?;
            }
            Key::Size(k, r) => {
                let st = SeriesStyle {
                    color: RGBColor(80, 80, 80),
                    ..style::series(*k)
                };
                draw_marker_sized(area, mid, st, s, s.px(*r))?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x0 + s.px(36.0), y),
            font(s.label()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(pe)?;
    }
    Ok(())
}

/// A series style with its colour faded (for points under a line).
fn faded(st: SeriesStyle, faint: bool) -> SeriesStyle {
    if !faint {
        return st;
    }
    let c = st.color;
    let f = |x: u8| (x as f64 + (255.0 - x as f64) * 0.6).round() as u8;
    SeriesStyle {
        color: RGBColor(f(c.0), f(c.1), f(c.2)),
        ..st
    }
}

/// Splits `root` into the plotting part and a legend on the right wide enough for `entries`.
fn with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[(String, Key)],
    s: Scale,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let labels: Vec<&str> = entries.iter().map(|(l, _)| l.as_str()).collect();
    let (w, _) = root.dim_in_pixel();
    let lw = if entries.is_empty() {
        0
    } else {
        legend_width(root, &labels, s).min(w as i32 * 2 / 5)
    };
    root.split_horizontally(w as i32 - lw)
}

/// The layout of small multiples: `n` panels in `cols` columns.
#[derive(Clone, Copy, Debug)]
struct Grid {
    n: usize,
    cols: usize,
    row_height: u32,
}

impl Grid {
    fn new(n: usize, cols: usize, row_height: u32) -> Grid {
        Grid {
            n,
            cols: cols.clamp(1, n.max(1)),
            row_height,
        }
    }

    fn rows(&self) -> usize {
        self.n.div_ceil(self.cols).max(1)
    }

    /// The figure's size: the standard one, taller when more than two rows.
    fn size(&self) -> (u32, u32) {
        let (w, h) = style::SIZE;
        let rows = self.rows() as u32;
        (w, h.max(60 + rows * self.row_height))
    }

    /// The panels' areas (row-major) in `area`, after one x-axis title under them all and one
    /// y-axis title left of them all (drawn here).
    fn split<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x_label: &str,
        y_label: &str,
        s: Scale,
    ) -> R<Vec<DrawingArea<DB, Shift>>> {
        let (w, h) = area.dim_in_pixel();
        let (upper, bottom) = area.split_vertically(h as i32 - s.px(26.0));
        let (left, grid) = upper.split_horizontally(s.px(24.0));
        let f = font(s.axis_title());
        let (_, bh) = bottom.dim_in_pixel();
        let gx = s.px(24.0) + (w as i32 - s.px(24.0)) / 2;
        bottom
            .draw(&Text::new(
                x_label.to_string(),
                (gx, bh as i32 / 2),
                f.pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(pe)?;
        let (_, lh) = left.dim_in_pixel();
        left.draw(&Text::new(
            y_label.to_string(),
            (s.px(10.0), lh as i32 / 2),
            f.transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(pe)?;
        let mut areas = grid.split_evenly((self.rows(), self.cols));
        areas.truncate(self.n);
        Ok(areas)
    }
}

/// The mesh of one small multiple: tick labels, no axis titles (the grid has them).
fn panel_mesh<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    s: Scale,
    x_labels: usize,
    integer_x: bool,
) -> R
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| style::tick(*v);
    let int_fmt = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            style::tick(v.round())
        } else {
            String::new()
        }
    };
    let mut m = chart.configure_mesh();
    if integer_x {
        // Integer categories (layers) are told apart by bands, not grid lines.
        m.disable_x_mesh();
    }
    m.label_style(font(s.label()))
        .x_label_formatter(if integer_x { &int_fmt } else { &fmt })
        .y_label_formatter(&fmt)
        .x_labels(x_labels)
        .y_labels(5)
        .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.upx(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width(s.upx(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()
        .map_err(pe)
}

/// How many tick labels fit across `area`, at most one per `spacing` pixels (scale 1).
fn ticks_for<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: Scale, spacing: f64) -> usize {
    let w = area.dim_in_pixel().0 as f64 / s.0;
    ((w / spacing).floor() as usize).clamp(3, 16)
}

/// A chart on axes `X` and `Y` (linear or logarithmic).
type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// A chart in `area` with the standard margins, and room above for a title when `titled` (see
/// [`panel_title`]).
fn chart_on<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    s: Scale,
    titled: bool,
    x_area: f64,
    y_area: f64,
    x: X,
    y: Y,
) -> R<Chart<'a, DB, X, Y>> {
    ChartBuilder::on(area)
        .margin_top(s.px(if titled { 24.0 } else { 12.0 }))
        .margin_right(s.px(14.0))
        .margin_left(s.px(6.0))
        .margin_bottom(s.px(4.0))
        .x_label_area_size(s.px(x_area))
        .y_label_area_size(s.px(y_area))
        .build_cartesian_2d(x, y)
        .map_err(pe)
}

/// A small multiple's title, centred over its plotting area `xr` at the top of `area`.
fn panel_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    xr: &std::ops::Range<i32>,
    title: &str,
    s: Scale,
) -> R {
    let (_, top) = area.get_base_pixel();
    root.draw(&Text::new(
        title.to_string(),
        ((xr.start + xr.end) / 2, top + s.px(5.0)),
        font(s.label()).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(pe)
}

/// The range of an axis: logarithmic when `log`, else padded from zero.
fn axis_range(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        log_range(lo, hi)
    } else {
        pad_range(lo, hi, true)
    }
}

/// Whether positive values spanning `lo..=hi` want a log axis at `span`.
fn wants_log(lo: f64, hi: f64, span: f64) -> bool {
    lo > 0.0 && hi.is_finite() && hi / lo > span
}

/// The statistics of `metric` of `policy`, if finite.
fn stat<'a>(groups: &'a [Group], policy: &str, metric: Metric) -> Option<&'a Summary> {
    groups
        .iter()
        .find(|g| g.policy == policy)
        .and_then(|g| g.get(metric))
        .filter(|s| s.mean.is_finite())
}

/// Distinct values in first-appearance order.
fn distinct<'a>(it: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for x in it {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Cost by layer.

/// Stacked bars of the cost of a batch, per policy.
#[derive(Clone, Debug)]
pub struct LayerCostFigure {
    /// Bars, left to right.
    pub bars: Vec<LayerBar>,
    /// Legend bins: (label, first layer, last layer), bottom of the stack first.
    pub bins: Vec<(String, usize, usize)>,
}

/// One bar of a [`LayerCostFigure`].
#[derive(Clone, Debug)]
pub struct LayerBar {
    /// Policy name.
    pub policy: String,
    /// Cost of each layer, bottom up ($); empty for the CPU cluster.
    pub layers: Vec<f64>,
    /// The CPU cluster's cost of a batch ($), for a plain bar.
    pub cpu: Option<f64>,
}

impl LayerBar {
    fn total(&self) -> f64 {
        self.cpu
            .unwrap_or_else(|| self.layers.iter().filter(|v| v.is_finite()).sum())
    }
}

/// The legend bins of `n` layers: one per layer up to [`MAX_PLAIN_LAYERS`], else consecutive
/// layers grouped into at most [`MAX_LAYER_BINS`].
pub fn layer_bins(n: usize) -> Vec<(String, usize, usize)> {
    let size = if n <= MAX_PLAIN_LAYERS {
        1
    } else {
        n.div_ceil(MAX_LAYER_BINS)
    };
    (0..n)
        .step_by(size.max(1))
        .map(|a| {
            let b = (a + size - 1).min(n - 1);
            let label = if a == b {
                format!("layer {a}")
            } else {
                format!("layers {a}–{b}")
            };
            (label, a, b)
        })
        .collect()
}

impl LayerCostFigure {
    fn bin_of(&self, layer: usize) -> usize {
        self.bins
            .iter()
            .position(|(_, a, b)| (*a..=*b).contains(&layer))
            .unwrap_or(0)
    }

    fn bin_color(&self, bin: usize) -> RGBColor {
        let n = self.bins.len();
        sequential(if n <= 1 {
            0.5
        } else {
            bin as f64 / (n - 1) as f64
        })
    }
}

fn cost_by_layer(layers: &[LayerRow], groups: &[Group]) -> Option<(LayerCostFigure, String)> {
    let policies = distinct(layers.iter().map(|r| r.policy.as_str()));
    let mut bars = Vec::new();
    let mut depth = 0;
    for p in policies {
        let rows: Vec<&LayerRow> = layers.iter().filter(|r| r.policy == p).collect();
        if rows.iter().all(|r| r.mode == CPU_MODE) {
            if let Some(s) = stat(groups, p, Metric::MoeCostPerBatch) {
                bars.push(LayerBar {
                    policy: p.to_string(),
                    layers: Vec::new(),
                    cpu: Some(s.mean),
                });
            }
            continue;
        }
        let n = rows.iter().map(|r| r.layer + 1).max().unwrap_or(0);
        let mut costs = vec![f64::NAN; n];
        for r in &rows {
            costs[r.layer] = r.simulated_usd;
        }
        if costs.iter().any(|c| c.is_finite()) {
            depth = depth.max(n);
            bars.push(LayerBar {
                policy: p.to_string(),
                layers: costs,
                cpu: None,
            });
        }
    }
    if depth == 0 {
        return None;
    }
    let cpu = bars.iter().any(|b| b.cpu.is_some());
    let bins = layer_bins(depth);
    let binned = bins.len() < depth;
    let caption = format!(
        "Simulated cost of one batch per policy (mean over replications), stacked by MoE layer from layer 0 at the bottom (moe_layers.csv){}{}.",
        if binned {
            format!(
                "; the {depth} layers are coloured in {} bins of consecutive layers, each layer a segment",
                bins.len()
            )
        } else {
            String::new()
        },
        if cpu {
            "; the CPU cluster, which runs the whole batch on one VM, is one plain bar of its cost per batch (`moe_cost_per_batch_usd`), cut with a break and labelled with its value when it is far above the others"
        } else {
            ""
        }
    );
    Some((LayerCostFigure { bars, bins }, caption))
}

/// Splits a name at its hyphens into lines at most `max_w` wide (a part wider stays whole).
fn wrap(name: &str, max_w: i32, width: &dyn Fn(&str) -> i32) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, piece) in name.split('-').enumerate() {
        let piece = if i + 1 < name.split('-').count() {
            format!("{piece}-")
        } else {
            piece.to_string()
        };
        let joined = format!("{cur}{piece}");
        if !cur.is_empty() && width(&joined) > max_w {
            parts.push(std::mem::take(&mut cur));
            cur = piece;
        } else {
            cur = joined;
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

impl Figure for LayerCostFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let mut entries: Vec<(String, Key)> = self
            .bins
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (l, _, _))| (l.clone(), Key::Fill(self.bin_color(i))))
            .collect();
        if self.bars.iter().any(|b| b.cpu.is_some()) {
            entries.push(("CPU cluster (whole batch)".into(), Key::Fill(CPU_GREY)));
        }
        let (area, legend) = with_legend(root, &entries, s);
        let n = self.bars.len().max(1);
        // The y range: to the tallest FaaS bar, unless only the CPU cluster is taller than
        // twice that, when its bar is cut.
        let faas_max = self
            .bars
            .iter()
            .filter(|b| b.cpu.is_none())
            .map(LayerBar::total)
            .fold(0.0, f64::max);
        let all_max = self.bars.iter().map(LayerBar::total).fold(0.0, f64::max);
        let cut = faas_max > 0.0 && all_max > 2.0 * faas_max;
        let (y0, y1) = if cut {
            (0.0, faas_max * 1.3)
        } else {
            let (a, b) = pad_range(0.0, all_max, true);
            (a, b * 1.06)
        };
        // Room under the bars for the names, wrapped at hyphens.
        let (w, _) = area.dim_in_pixel();
        let f = font(s.label());
        let width = |t: &str| {
            root.estimate_text_size(t, &f)
                .map(|(w, _)| w as i32)
                .unwrap_or(0)
        };
        let y_area = 76.0;
        let slot = (w as i32 - s.px(y_area + 20.0)) / n as i32;
        let names: Vec<Vec<String>> = self
            .bars
            .iter()
            .map(|b| wrap(&b.policy, slot - s.px(4.0), &width))
            .collect();
        let lines = names.iter().map(Vec::len).max().unwrap_or(1);
        let line_h = s.px(15.0);
        let x_area = (8.0 + 15.0 * lines as f64) + 4.0;
        let mut chart = chart_on(
            &area,
            s,
            false,
            x_area,
            y_area,
            -0.5..(n as f64 - 0.5),
            y0..y1,
        )?;
        let fmt = |v: &f64| style::tick(*v);
        chart
            .configure_mesh()
            .y_desc("cost per batch ($)")
            .axis_desc_style(font(s.axis_title()))
            .label_style(font(s.label()))
            .y_label_formatter(&fmt)
            .x_labels(0)
            .y_labels(6)
            .disable_x_mesh()
            .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.upx(1.0)))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.stroke_width(s.upx(1.0)))
            .set_all_tick_mark_size(s.px(4.0))
            .draw()
            .map_err(pe)?;
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let mut placer = LabelPlacer::new((xr.start, yr.start, xr.end, yr.end), s.px(2.0));
        let note = font(s.note());
        let text_size = |t: &str| {
            root.estimate_text_size(t, &note)
                .map(|(w, h)| (w as i32, h as i32))
                .unwrap_or((0, 0))
        };
        let sep = WHITE.stroke_width(s.upx(0.7));
        let outline = BLACK.stroke_width(s.upx(0.8));
        let mut tops: Vec<((i32, i32), i32, String)> = Vec::new();
        for (i, bar) in self.bars.iter().enumerate() {
            let x = i as f64;
            let (l, _) = chart.backend_coord(&(x - 0.34, 0.0));
            let (r, base) = chart.backend_coord(&(x + 0.34, 0.0));
            if let Some(c) = bar.cpu {
                let top_v = if cut { y1 } else { c };
                let (_, t) = chart.backend_coord(&(x, top_v));
                root.draw(&Rectangle::new([(l, t), (r, base)], CPU_GREY.filled()))
                    .map_err(pe)?;
                root.draw(&Rectangle::new([(l, t), (r, base)], outline))
                    .map_err(pe)?;
                let label = format!(
                    "{}{}",
                    style::tick(c),
                    if cut { " (off scale)" } else { "" }
                );
                if cut {
                    // The break: a white band across the bar below its top.
                    let (_, b0) = chart.backend_coord(&(x, y1 * 0.86));
                    let (_, b1) = chart.backend_coord(&(x, y1 * 0.90));
                    let d = s.px(3.0);
                    root.draw(&Polygon::new(
                        vec![
                            (l - s.px(2.0), b0 + d),
                            (r + s.px(2.0), b0 - d),
                            (r + s.px(2.0), b1 - d),
                            (l - s.px(2.0), b1 + d),
                        ],
                        WHITE.filled(),
                    ))
                    .map_err(pe)?;
                    for yb in [b0, b1] {
                        root.draw(&PathElement::new(
                            vec![(l - s.px(2.0), yb + d), (r + s.px(2.0), yb - d)],
                            outline,
                        ))
                        .map_err(pe)?;
                    }
                    let (_, below) = chart.backend_coord(&(x, y1 * 0.80));
                    tops.push(((l, r), below, label));
                } else {
                    tops.push(((l, r), t, label));
                }
                continue;
            }
            let mut acc = 0.0;
            let mut top = base;
            for (layer, v) in bar.layers.iter().enumerate() {
                if !v.is_finite() || *v <= 0.0 {
                    continue;
                }
                let (_, t) = chart.backend_coord(&(x, acc + v));
                let (_, b) = chart.backend_coord(&(x, acc));
                let color = self.bin_color(self.bin_of(layer));
                root.draw(&Rectangle::new([(l, t), (r, b)], color.filled()))
                    .map_err(pe)?;
                if acc > 0.0 {
                    root.draw(&PathElement::new(vec![(l, b), (r, b)], sep))
                        .map_err(pe)?;
                }
                acc += v;
                top = t;
            }
            root.draw(&Rectangle::new([(l, top), (r, base)], outline))
                .map_err(pe)?;
            tops.push(((l, r), top, style::tick(acc)));
        }
        // Each bar's total above it (a cut bar's under its break, beside the bar if wider),
        // where it fits.
        for ((l, r), top, label) in tops {
            let (tw, th) = text_size(&label);
            let gap = s.px(3.0);
            let cx = (l + r) / 2;
            let inner = top + gap + th + s.px(2.0);
            let candidates = [
                (cx - tw / 2, top - gap),
                (cx - tw / 2, inner),
                (r - tw, inner),
                (l - gap - tw, inner),
                (r - tw, top - gap),
            ];
            if let Some((left, bottom)) = placer.place((tw, th), &candidates) {
                if bottom > top && left + tw > l && left < r {
                    // Over the (grey) bar: on a white box.
                    root.draw(&Rectangle::new(
                        [
                            (left - s.px(2.0), bottom - th - s.px(1.0)),
                            (left + tw + s.px(2.0), bottom + s.px(1.0)),
                        ],
                        WHITE.filled(),
                    ))
                    .map_err(pe)?;
                }
                root.draw(&Text::new(
                    label,
                    (left, bottom),
                    note.pos(Pos::new(HPos::Left, VPos::Bottom)),
                ))
                .map_err(pe)?;
            }
        }
        // The names under the bars.
        for (i, lines) in names.iter().enumerate() {
            let (cx, base) = chart.backend_coord(&(i as f64, 0.0));
            for (k, line) in lines.iter().enumerate() {
                root.draw(&Text::new(
                    line.clone(),
                    (cx, base + s.px(8.0) + line_h * k as i32),
                    f.pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(pe)?;
            }
        }
        draw_keys(&legend, &entries, s)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Cost against throughput.

/// One policy's point: (low, mean, high) in x and y.
#[derive(Clone, Debug)]
pub struct TradePoint {
    /// Policy name (its label).
    pub policy: String,
    /// Style index.
    pub style: usize,
    /// Throughput (tokens/s): (low, mean, high).
    pub x: (f64, f64, f64),
    /// Cost per batch ($): (low, mean, high).
    pub y: (f64, f64, f64),
}

/// Cost per batch against throughput, one labelled point per policy.
#[derive(Clone, Debug)]
pub struct ThroughputFigure {
    /// Points.
    pub points: Vec<TradePoint>,
    /// The throughput at the latency limit (tokens/s), if there is one.
    pub limit: Option<f64>,
    /// Logarithmic x-axis.
    pub x_log: bool,
    /// Logarithmic y-axis.
    pub y_log: bool,
}

fn interval(s: &Summary) -> (f64, f64, f64) {
    if s.half_width.is_finite() {
        (s.mean - s.half_width, s.mean, s.mean + s.half_width)
    } else {
        (f64::NAN, s.mean, f64::NAN)
    }
}

fn cost_vs_throughput(
    groups: &[Group],
    style_of: &dyn Fn(&str) -> usize,
) -> Option<(ThroughputFigure, String)> {
    let points: Vec<TradePoint> = groups
        .iter()
        .filter_map(|g| {
            let x = g.get(Metric::TokensPerS).filter(|s| s.mean > 0.0)?;
            let y = g.get(Metric::MoeCostPerBatch).filter(|s| s.mean > 0.0)?;
            Some(TradePoint {
                policy: g.policy.clone(),
                style: style_of(&g.policy),
                x: interval(x),
                y: interval(y),
            })
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    // Batch tokens = throughput × batch latency (the same for every policy, up to rounding:
    // the median of the policies'); the limit's throughput is that over the latency limit.
    let mut limits: Vec<f64> = groups
        .iter()
        .filter_map(|g| {
            let t = g.get(Metric::TokensPerS)?.mean;
            let l = g.get(Metric::BatchLatency)?.mean;
            let lim = g.get(Metric::BatchLatencyLimit)?.mean;
            let v = t * l / lim;
            (v.is_finite() && v > 0.0).then_some(v)
        })
        .collect();
    limits.sort_by(f64::total_cmp);
    let limit = limits.get(limits.len() / 2).copied();
    let span = |f: &dyn Fn(&TradePoint) -> [f64; 3], extra: Option<f64>| {
        let vals = points
            .iter()
            .flat_map(f)
            .chain(extra)
            .filter(|v| v.is_finite() && *v > 0.0);
        vals.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
    };
    let (xlo, xhi) = span(&|p| [p.x.0, p.x.1, p.x.2], limit);
    let (ylo, yhi) = span(&|p| [p.y.0, p.y.1, p.y.2], None);
    let x_log = wants_log(xlo, xhi, LOG_SPAN_X);
    let y_log = wants_log(ylo, yhi, LOG_SPAN_Y);
    let caption = format!(
        "Cost of a batch against throughput per policy: mean over replications with 95 % confidence intervals in both directions{}{}{}; each point is labelled by its policy (points that coincide share a label).",
        match limit {
            Some(v) => format!(
                "; the dashed line is the throughput at the batch-latency limit ({} tokens/s: the batch's tokens over `batch_latency_limit_s`), policies left of it miss the limit",
                style::tick(v)
            ),
            None => String::new(),
        },
        if x_log { "; log throughput axis" } else { "" },
        if y_log { "; log cost axis" } else { "" },
    );
    Some((
        ThroughputFigure {
            points,
            limit,
            x_log,
            y_log,
        },
        caption,
    ))
}

/// Candidate (left, bottom) corners for a `w` × `h` label of a point at `p`: beside it first
/// (above right, above left, below right, below left, right, left, above, below), then in 16
/// directions on rings further out (where the label gets a leader line).
fn label_candidates((px, py): (i32, i32), (w, h): (i32, i32), s: Scale) -> Vec<(i32, i32)> {
    let d = s.px(7.0);
    let mut out = vec![
        (px + d, py - d),
        (px - d - w, py - d),
        (px + d, py + d + h),
        (px - d - w, py + d + h),
        (px + d, py + h / 2),
        (px - d - w, py + h / 2),
        (px - w / 2, py - d),
        (px - w / 2, py + d + h),
    ];
    for r in [20.0, 32.0, 46.0, 62.0, 80.0, 100.0, 125.0, 155.0, 190.0] {
        let d = s.0 * r;
        // Up-right first: the usual free corner of a cost–throughput plot.
        for k in 0..16 {
            let a = std::f64::consts::PI * (0.25 + k as f64 / 8.0);
            let (dx, dy) = (d * a.cos(), -d * a.sin());
            let (x, y) = (px + dx.round() as i32, py + dy.round() as i32);
            let left = if a.cos() > 0.3 {
                x
            } else if a.cos() < -0.3 {
                x - w
            } else {
                x - w / 2
            };
            let bottom = if a.sin() > 0.3 {
                y
            } else if a.sin() < -0.3 {
                y + h
            } else {
                y + h / 2
            };
            out.push((left, bottom));
        }
    }
    out
}

/// The pixels of the segment from `a` to `b`, one per pixel step.
fn segment_pixels(a: (i32, i32), b: (i32, i32)) -> impl Iterator<Item = (i32, i32)> {
    let n = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
    (0..=n).map(move |i| (a.0 + (b.0 - a.0) * i / n, a.1 + (b.1 - a.1) * i / n))
}

/// Whether the segment from `a` to `b` crosses the box (left, top, right, bottom).
fn crosses(a: (i32, i32), b: (i32, i32), (l, t, r, bt): (i32, i32, i32, i32)) -> bool {
    segment_pixels(a, b).any(|(x, y)| x > l && x < r && y > t && y < bt)
}

/// Whether segments `a`–`b` and `c`–`d` cross (touching ends excluded).
fn segments_cross(a: (i32, i32), b: (i32, i32), c: (i32, i32), d: (i32, i32)) -> bool {
    let orient = |p: (i32, i32), q: (i32, i32), r: (i32, i32)| {
        let v = (q.0 - p.0) as i64 * (r.1 - p.1) as i64 - (q.1 - p.1) as i64 * (r.0 - p.0) as i64;
        v.signum()
    };
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    o1 * o2 < 0 && o3 * o4 < 0
}

/// A line segment in pixels.
type Segment = ((i32, i32), (i32, i32));

/// A point's label to place: the point (pixels), the text and its size (pixels).
type PointLabel = ((i32, i32), String, (i32, i32));

/// Labels of points, placed without overlap: each label beside its point if it fits, else
/// further out with a leader line that crosses no other label, marker or leader and does not
/// run along a vertical guide line; the most crowded points are labelled first. Returns the
/// labels drawn: (text, left, bottom) and the leader lines.
fn place_point_labels(
    placer: &mut LabelPlacer,
    points: &[PointLabel],
    markers: &[(i32, i32)],
    r: i32,
    guides: &[i32],
    s: Scale,
) -> (Vec<(usize, i32, i32)>, Vec<Segment>) {
    let m = s.px(2.0);
    let near = s.px(60.0).pow(2);
    let crowd = |c: (i32, i32)| {
        markers
            .iter()
            .filter(|o| (o.0 - c.0).pow(2) + (o.1 - c.1).pow(2) <= near)
            .count()
    };
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(crowd(points[i].0)));
    let mut leaders: Vec<Segment> = Vec::new();
    let mut boxes: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut labels = Vec::new();
    for i in order {
        let (c, _, (w, h)) = points[i];
        let text_box =
            |rect: (i32, i32, i32, i32)| (rect.0 + m, rect.1 + m, rect.2 - m, rect.3 - m);
        let leader_of = |rect: (i32, i32, i32, i32)| {
            let to = nearest(text_box(rect), c);
            let far = (to.0 - c.0).pow(2) + (to.1 - c.1).pow(2) > s.px(12.0).pow(2);
            far.then_some(to)
        };
        let ok = |rect: (i32, i32, i32, i32)| {
            if leaders.iter().any(|&(a, b)| crosses(a, b, rect)) {
                return false;
            }
            let Some(to) = leader_of(rect) else {
                return true;
            };
            let along = |g: i32| {
                segment_pixels(c, to)
                    .filter(|p| (p.0 - g).abs() <= s.px(2.0))
                    .count() as i32
                    > s.px(8.0)
            };
            !boxes.iter().any(|&b| crosses(c, to, b))
                && !leaders.iter().any(|&(a, b)| segments_cross(a, b, c, to))
                && !guides.iter().any(|&g| along(g))
                && !markers.iter().any(|&o| {
                    let own = (o.0 - c.0).abs() <= r && (o.1 - c.1).abs() <= r;
                    !own && segment_pixels(c, to)
                        .any(|p| (p.0 - o.0).pow(2) + (p.1 - o.1).pow(2) <= (r + 2).pow(2))
                })
        };
        let cands = label_candidates(c, (w, h), s);
        let Some((left, bottom)) = placer.place_if((w, h), &cands, ok) else {
            continue;
        };
        let rect = (left - m, bottom - h - m, left + w + m, bottom + m);
        boxes.push(rect);
        if let Some(to) = leader_of(rect) {
            leaders.push((c, to));
        }
        labels.push((i, left, bottom));
    }
    (labels, leaders)
}

/// The point of the box (left, top, right, bottom) nearest to `p`.
fn nearest((l, t, r, b): (i32, i32, i32, i32), (x, y): (i32, i32)) -> (i32, i32) {
    (x.clamp(l, r), y.clamp(t, b))
}

fn draw_throughput<DB: DrawingBackend, X, Y>(
    fig: &ThroughputFigure,
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    root: &DrawingArea<DB, Shift>,
    s: Scale,
) -> R
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    mesh(
        chart,
        if fig.x_log {
            "throughput (tokens/s, log scale)"
        } else {
            "throughput (tokens/s)"
        },
        if fig.y_log {
            "cost per batch ($, log scale)"
        } else {
            "cost per batch ($)"
        },
        s,
        6,
        8,
    )?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    if let Some(v) = fig.limit {
        let (x, _) = chart.backend_coord(&(v, 1.0));
        root.draw(&DashedPathElement::new(
            vec![(x, yr.start), (x, yr.end)],
            s.upx(7.0),
            s.upx(4.0),
            FRONTIER.stroke_width(s.upx(1.5)),
        ))
        .map_err(pe)?;
    }
    let mut placer = LabelPlacer::new((xr.start, yr.start, xr.end, yr.end), s.px(2.0));
    let r = s.px(4.5);
    let mut centres: Vec<((i32, i32), usize)> = Vec::new();
    for (i, p) in fig.points.iter().enumerate() {
        let st = style::series(p.style);
        let bar = st.color.stroke_width(s.upx(1.3));
        let cap = s.px(4.0);
        let mut segments: Vec<[(i32, i32); 2]> = Vec::new();
        if p.y.0.is_finite() && p.y.2.is_finite() && (!fig.y_log || p.y.0 > 0.0) {
            let lo = chart.backend_coord(&(p.x.1, p.y.0));
            let hi = chart.backend_coord(&(p.x.1, p.y.2));
            segments.push([lo, hi]);
            segments.push([(lo.0 - cap, lo.1), (lo.0 + cap, lo.1)]);
            segments.push([(hi.0 - cap, hi.1), (hi.0 + cap, hi.1)]);
        }
        if p.x.0.is_finite() && p.x.2.is_finite() && (!fig.x_log || p.x.0 > 0.0) {
            let lo = chart.backend_coord(&(p.x.0, p.y.1));
            let hi = chart.backend_coord(&(p.x.2, p.y.1));
            segments.push([lo, hi]);
            segments.push([(lo.0, lo.1 - cap), (lo.0, lo.1 + cap)]);
            segments.push([(hi.0, hi.1 - cap), (hi.0, hi.1 + cap)]);
        }
        for seg in segments {
            root.draw(&PathElement::new(seg.to_vec(), bar))
                .map_err(pe)?;
        }
        let c = chart.backend_coord(&(p.x.1, p.y.1));
        draw_marker_sized(root, c, st, s, r)?;
        placer.block((c.0 - r - 1, c.1 - r - 1, c.0 + r + 1, c.1 + r + 1));
        centres.push((c, i));
    }
    // One label per group of coinciding points (within a marker's radius).
    let mut groups: Vec<((i32, i32), Vec<&str>)> = Vec::new();
    for (c, i) in &centres {
        let name = fig.points[*i].policy.as_str();
        match groups
            .iter_mut()
            .find(|(g, _)| (g.0 - c.0).abs() <= r / 2 && (g.1 - c.1).abs() <= r / 2)
        {
            Some((_, names)) => names.push(name),
            None => groups.push((*c, vec![name])),
        }
    }
    let f = font(s.note());
    let labels: Vec<PointLabel> = groups
        .into_iter()
        .map(|(c, names)| {
            let label = names.join(", ");
            let size = root
                .estimate_text_size(&label, &f)
                .map(|(w, h)| (w as i32, h as i32))
                .unwrap_or((0, 0));
            (c, label, size)
        })
        .collect();
    let markers: Vec<(i32, i32)> = centres.iter().map(|(c, _)| *c).collect();
    let guides: Vec<i32> = fig
        .limit
        .map(|v| chart.backend_coord(&(v, 1.0)).0)
        .into_iter()
        .collect();
    let (placed, leaders) = place_point_labels(&mut placer, &labels, &markers, r, &guides, s);
    for (a, b) in leaders {
        root.draw(&PathElement::new(
            vec![a, b],
            LEADER.stroke_width(s.upx(0.8)),
        ))
        .map_err(pe)?;
    }
    for (i, left, bottom) in placed {
        root.draw(&Text::new(
            labels[i].1.clone(),
            (left, bottom),
            f.pos(Pos::new(HPos::Left, VPos::Bottom)),
        ))
        .map_err(pe)?;
    }
    Ok(())
}

impl Figure for ThroughputFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let mut entries: Vec<(String, Key)> = Vec::new();
        for p in &self.points {
            if !entries.iter().any(|(l, _)| *l == p.policy) {
                entries.push((p.policy.clone(), Key::Marker(p.style, 4.5, false)));
            }
        }
        if self.limit.is_some() {
            entries.push(("latency limit".into(), Key::Dashed));
        }
        let (area, legend) = with_legend(root, &entries, s);
        let fin = |v: f64, m: f64| if v.is_finite() { v } else { m };
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in &self.points {
            let xl = fin(p.x.0, p.x.1);
            let yl = fin(p.y.0, p.y.1);
            xlo = xlo.min(if self.x_log && xl <= 0.0 { p.x.1 } else { xl });
            xhi = xhi.max(fin(p.x.2, p.x.1));
            ylo = ylo.min(if self.y_log && yl <= 0.0 { p.y.1 } else { yl });
            yhi = yhi.max(fin(p.y.2, p.y.1));
        }
        if let Some(v) = self.limit {
            xlo = xlo.min(v);
            xhi = xhi.max(v);
        }
        let (x0, x1) = axis_range(xlo, xhi, self.x_log);
        let (y0, y1) = axis_range(ylo, yhi, self.y_log);
        // Room above the highest point for its label.
        let (y0, y1) = if self.y_log {
            (y0, y1 * 1.3)
        } else {
            (y0, y1 + (y1 - y0) * 0.08)
        };
        match (self.x_log, self.y_log) {
            (false, false) => {
                let mut c = chart_on(&area, s, false, 46.0, 76.0, x0..x1, y0..y1)?;
                draw_throughput(self, &mut c, root, s)?;
            }
            (true, false) => {
                let mut c = chart_on(&area, s, false, 46.0, 76.0, (x0..x1).log_scale(), y0..y1)?;
                draw_throughput(self, &mut c, root, s)?;
            }
            (false, true) => {
                let mut c = chart_on(&area, s, false, 46.0, 76.0, x0..x1, (y0..y1).log_scale())?;
                draw_throughput(self, &mut c, root, s)?;
            }
            (true, true) => {
                let mut c = chart_on(
                    &area,
                    s,
                    false,
                    46.0,
                    76.0,
                    (x0..x1).log_scale(),
                    (y0..y1).log_scale(),
                )?;
                draw_throughput(self, &mut c, root, s)?;
            }
        }
        draw_keys(&legend, &entries, s)
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Predicted against real tokens.

/// A panel of predicted against real tokens: the policy, a note (its prediction error) and the
/// points (real, predicted, expert index), one per layer and expert.
pub type TokenPanel = (String, String, Vec<(f64, f64, usize)>);

/// Small multiples of predicted against real tokens per expert.
#[derive(Clone, Debug)]
pub struct TokensFigure {
    /// Panels, one per predicting policy.
    pub panels: Vec<TokenPanel>,
    /// Experts per layer (styles by expert index up to 8, else one style).
    pub experts: usize,
    grid: Grid,
}

fn tokens(experts: &[ExpertRow], groups: &[Group]) -> Option<(TokensFigure, String)> {
    let predicting = distinct(
        experts
            .iter()
            .filter(|r| r.predicted_tokens.is_finite())
            .map(|r| r.policy.as_str()),
    );
    if predicting.is_empty() {
        return None;
    }
    let n_experts = experts.iter().map(|r| r.expert + 1).max().unwrap_or(1);
    let panels: Vec<TokenPanel> = predicting
        .iter()
        .map(|p| {
            let pts = experts
                .iter()
                .filter(|r| r.policy == *p)
                .filter(|r| r.predicted_tokens.is_finite() && r.real_tokens.is_finite())
                .map(|r| (r.real_tokens, r.predicted_tokens, r.expert))
                .collect();
            let note = stat(groups, p, Metric::PredictionMae)
                .map(|m| format!("MAE {} tokens", style::tick(m.mean)))
                .unwrap_or_default();
            (p.to_string(), note, pts)
        })
        .collect();
    let cols = match panels.len() {
        1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    let grid = Grid::new(panels.len(), cols, ROW_HEIGHT);
    let caption = format!(
        "Predicted against real tokens per batch of each expert (one point per layer and expert, {}), one panel per predicting policy, on shared axes; the dashed line is predicted = real. Predicted: the mean of the policy's per-batch predictions; real: the mean over the served batches (moe_experts.csv); the note in each panel is the policy's mean absolute prediction error per expert and batch (`prediction_mae_tokens`).",
        if n_experts <= style::MARKERS.len() {
            "marker by expert index"
        } else {
            "every expert alike"
        }
    );
    Some((
        TokensFigure {
            panels,
            experts: n_experts,
            grid,
        },
        caption,
    ))
}

impl Figure for TokensFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let by_expert = self.experts <= style::MARKERS.len();
        let mut entries: Vec<(String, Key)> = if by_expert {
            (0..self.experts)
                .map(|x| (format!("expert {x}"), Key::Marker(x, 4.0, false)))
                .collect()
        } else {
            vec![("expert".into(), Key::Marker(0, 4.0, false))]
        };
        entries.push(("predicted = real".into(), Key::Dashed));
        let (area, legend) = with_legend(root, &entries, s);
        let areas = self.grid.split(
            &area,
            "real tokens per batch (mean over served batches)",
            "predicted tokens per batch",
            s,
        )?;
        let hi = self
            .panels
            .iter()
            .flat_map(|(_, _, p)| p.iter().flat_map(|&(a, b, _)| [a, b]))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let (_, top) = pad_range(0.0, hi, true);
        let dense = self
            .panels
            .iter()
            .map(|(_, _, p)| p.len())
            .max()
            .unwrap_or(0)
            > 100;
        let r = s.px(if dense { 2.8 } else { 3.8 });
        let f = font(s.note());
        for ((policy, note, pts), a) in self.panels.iter().zip(&areas) {
            // The error in the panel's bottom-right or top-left corner (off the diagonal, where
            // a good predictor leaves room), else in its title.
            let size = root
                .estimate_text_size(note, &f)
                .map(|(w, h)| (w as i32, h as i32))
                .unwrap_or((0, 0));
            let mut chart = chart_on(a, s, true, 24.0, 50.0, 0.0..top, 0.0..top)?;
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let mut placer = LabelPlacer::new((xr.start, yr.start, xr.end, yr.end), s.px(2.0));
            for &(x, y, _) in pts {
                let c = chart.backend_coord(&(x, y));
                placer.block((c.0 - r, c.1 - r, c.0 + r, c.1 + r));
            }
            let corner = if note.is_empty() {
                None
            } else {
                let pad = s.px(6.0);
                placer.place(
                    size,
                    &[
                        (xr.end - pad - size.0, yr.end - pad),
                        (xr.start + pad, yr.start + pad + size.1),
                    ],
                )
            };
            let title = if corner.is_none() && !note.is_empty() {
                format!("{policy} ({note})")
            } else {
                policy.clone()
            };
            panel_title(root, a, &xr, &title, s)?;
            panel_mesh(&mut chart, s, ticks_for(a, s, 55.0), false)?;
            if let Some((left, bottom)) = corner {
                root.draw(&Text::new(
                    note.clone(),
                    (left, bottom),
                    f.pos(Pos::new(HPos::Left, VPos::Bottom)),
                ))
                .map_err(pe)?;
            }
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 0.0), (top, top)],
                    s.upx(7.0),
                    s.upx(4.0),
                    FRONTIER.stroke_width(s.upx(1.3)),
                ))
                .map_err(pe)?;
            for &(x, y, e) in pts {
                let st = style::series(if by_expert { e } else { 0 });
                draw_marker_sized(root, chart.backend_coord(&(x, y)), st, s, r)?;
            }
        }
        draw_keys(&legend, &entries, s)
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Bayesian-optimisation convergence.

/// A policy's Bayesian optimisation: its name, style and points (iteration, cost evaluated, best
/// cost so far), in iteration order.
pub type BoSeries = (String, usize, Vec<(f64, f64, f64)>);

/// Best cost per iteration per policy, over each iteration's cost.
#[derive(Clone, Debug)]
pub struct BoFigure {
    /// One series per policy.
    pub series: Vec<BoSeries>,
    /// Logarithmic cost axis.
    pub y_log: bool,
}

fn bo_convergence(bo: &[BoRow], style_of: &dyn Fn(&str) -> usize) -> Option<(BoFigure, String)> {
    let policies = distinct(bo.iter().map(|r| r.policy.as_str()));
    let series: Vec<BoSeries> = policies
        .iter()
        .map(|p| {
            let mut pts: Vec<(f64, f64, f64)> = bo
                .iter()
                .filter(|r| r.policy == *p)
                .map(|r| (r.iteration as f64, r.cost_usd, r.best_usd))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (p.to_string(), style_of(p), pts)
        })
        .filter(|(_, _, pts)| pts.iter().any(|p| p.2.is_finite() || p.1.is_finite()))
        .collect();
    if series.is_empty() {
        return None;
    }
    let (lo, hi) = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().flat_map(|&(_, c, b)| [c, b]))
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let y_log = wants_log(lo, hi, LOG_SPAN_Y);
    let failed = bo.iter().filter(|r| !r.cost_usd.is_finite()).count();
    let caption = format!(
        "Bayesian optimisation per policy (moe_bo.csv): the line is the best cost found up to each iteration, the faint points the cost of the deployment evaluated at each iteration{}{}.",
        if failed > 0 {
            format!("; {failed} evaluations without a cost (failed) are not drawn")
        } else {
            String::new()
        },
        if y_log { "; log cost axis" } else { "" }
    );
    Some((BoFigure { series, y_log }, caption))
}

fn draw_bo<DB: DrawingBackend, X, Y>(
    fig: &BoFigure,
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    root: &DrawingArea<DB, Shift>,
    s: Scale,
    x_labels: usize,
) -> R
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| style::tick(*v);
    let int_fmt = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            style::tick(v.round())
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("iteration of the Bayesian optimisation")
        .y_desc(if fig.y_log {
            "cost per batch ($, log scale)"
        } else {
            "cost per batch ($)"
        })
        .axis_desc_style(font(s.axis_title()))
        .label_style(font(s.label()))
        .x_label_formatter(&int_fmt)
        .y_label_formatter(&fmt)
        .x_labels(x_labels)
        .y_labels(6)
        .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.upx(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width(s.upx(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()
        .map_err(pe)?;
    let ok = |v: f64| v.is_finite() && (!fig.y_log || v > 0.0);
    let r = s.px(3.2);
    // The faint evaluated costs first, under every line.
    for (_, k, pts) in &fig.series {
        let st = faded(style::series(*k), true);
        for &(x, c, _) in pts {
            if ok(c) {
                draw_marker_sized(root, chart.backend_coord(&(x, c)), st, s, r)?;
            }
        }
    }
    for (_, k, pts) in &fig.series {
        // The best so far as steps: it holds until the next iteration improves it.
        let mut path: Vec<(i32, i32)> = Vec::new();
        let mut last: Option<(f64, f64)> = None;
        for &(x, _, b) in pts {
            if !ok(b) {
                continue;
            }
            if let Some((_, lb)) = last {
                path.push(chart.backend_coord(&(x, lb)));
            }
            path.push(chart.backend_coord(&(x, b)));
            last = Some((x, b));
        }
        if path.len() >= 2 {
            draw_path(root, &path, style::series(*k), s)?;
        }
    }
    Ok(())
}

impl Figure for BoFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let mut entries: Vec<(String, Key)> = self
            .series
            .iter()
            .map(|(p, k, _)| (p.clone(), Key::Line(*k)))
            .collect();
        entries.push(("cost at each iteration".into(), Key::Faint(3.2)));
        let (area, legend) = with_legend(root, &entries, s);
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (_, _, pts) in &self.series {
            for &(x, c, b) in pts {
                xlo = xlo.min(x);
                xhi = xhi.max(x);
                for v in [c, b] {
                    if v.is_finite() && (!self.y_log || v > 0.0) {
                        ylo = ylo.min(v);
                        yhi = yhi.max(v);
                    }
                }
            }
        }
        let (x0, x1) = pad_range(xlo, xhi, false);
        let (y0, y1) = axis_range(ylo, yhi, self.y_log);
        let span = (xhi - xlo).max(0.0) as usize + 1;
        let x_labels = span.min(10);
        if self.y_log {
            let mut c = chart_on(&area, s, false, 46.0, 76.0, x0..x1, (y0..y1).log_scale())?;
            draw_bo(self, &mut c, root, s, x_labels)?;
        } else {
            let mut c = chart_on(&area, s, false, 46.0, 76.0, x0..x1, y0..y1)?;
            draw_bo(self, &mut c, root, s, x_labels)?;
        }
        draw_keys(&legend, &entries, s)
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The deployment per layer.

/// A layer's deployment: the layer, its mode's style index and each expert's (memory in MB,
/// replicas).
pub type LayerChoice = (usize, usize, Vec<(u32, u32)>);
/// A policy's deployment: its name and its layers.
pub type ChoicePanel = (String, Vec<LayerChoice>);

/// Small multiples of each layer's deployment: expert memory by layer, mode as marker shape,
/// replicas as marker size.
#[derive(Clone, Debug)]
pub struct ChoicesFigure {
    /// Panels, one per FaaS policy.
    pub panels: Vec<ChoicePanel>,
    /// Modes present: (style, legend label), in legend order.
    pub modes: Vec<(usize, String)>,
    /// Layers.
    pub layers: usize,
    grid: Grid,
}

/// The style index and legend label of a layer mode.
fn mode_style(mode: &str) -> (usize, String) {
    match MODES.iter().position(|(m, _)| *m == mode) {
        Some(i) => (i, MODES[i].1.to_string()),
        None => (MODES.len(), mode.to_string()),
    }
}

/// A marker's radius (scale-1 pixels) for `replicas`: its area grows with the replicas, up to
/// 16.
fn replica_radius(replicas: u32, base: f64) -> f64 {
    base * (replicas.clamp(1, 16) as f64).sqrt().powf(0.75)
}

/// The replica counts shown in the size legend: the smallest, the largest and up to two
/// between.
fn size_keys(mut reps: Vec<u32>) -> Vec<u32> {
    reps.sort_unstable();
    reps.dedup();
    if reps.len() <= 4 {
        return reps;
    }
    let n = reps.len();
    vec![reps[0], reps[n / 3], reps[2 * n / 3], reps[n - 1]]
}

fn choices(layers: &[LayerRow]) -> Option<(ChoicesFigure, String)> {
    let policies = distinct(
        layers
            .iter()
            .filter(|r| r.mode != CPU_MODE && !r.memory_mb.is_empty())
            .map(|r| r.policy.as_str()),
    );
    if policies.is_empty() {
        return None;
    }
    let mut modes: Vec<(usize, String)> = Vec::new();
    let panels: Vec<ChoicePanel> = policies
        .iter()
        .map(|p| {
            let rows = layers
                .iter()
                .filter(|r| r.policy == *p && r.mode != CPU_MODE)
                .map(|r| {
                    let m = mode_style(&r.mode);
                    if !modes.contains(&m) {
                        modes.push(m.clone());
                    }
                    (
                        r.layer,
                        m.0,
                        r.memory_mb
                            .iter()
                            .copied()
                            .zip(r.replicas.iter().copied())
                            .collect(),
                    )
                })
                .collect();
            (p.to_string(), rows)
        })
        .collect();
    modes.sort();
    let n_layers = layers.iter().map(|r| r.layer + 1).max().unwrap_or(1);
    // One wide column, so that layers (and the experts within them) stand apart.
    let cols = if panels.len() <= MAX_ONE_COLUMN { 1 } else { 2 };
    let grid = Grid::new(panels.len(), cols, LOW_ROW_HEIGHT);
    let caption = "The deployment of each FaaS policy per MoE layer (moe_layers.csv): one point per expert at the memory of its function (side by side within a layer where there is room); the marker's shape and colour give the layer's mode, its size the expert's replicas.".to_string();
    Some((
        ChoicesFigure {
            panels,
            modes,
            layers: n_layers,
            grid,
        },
        caption,
    ))
}

impl Figure for ChoicesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let base = if self.layers > 16 { 2.6 } else { 3.4 };
        let mut entries: Vec<(String, Key)> = self
            .modes
            .iter()
            .map(|(k, l)| (l.clone(), Key::Marker(*k, 4.0, false)))
            .collect();
        let reps: Vec<u32> = self
            .panels
            .iter()
            .flat_map(|(_, ls)| ls.iter().flat_map(|(_, _, e)| e.iter().map(|x| x.1)))
            .collect();
        for r in size_keys(reps) {
            entries.push((
                format!("{r} replica{}", if r == 1 { "" } else { "s" }),
                Key::Size(0, replica_radius(r, base)),
            ));
        }
        let (area, legend) = with_legend(root, &entries, s);
        let areas = self
            .grid
            .split(&area, "MoE layer", "expert memory (MB)", s)?;
        let hi = self
            .panels
            .iter()
            .flat_map(|(_, ls)| ls.iter().flat_map(|(_, _, e)| e.iter().map(|x| x.0 as f64)))
            .fold(0.0, f64::max);
        let (y0, y1) = pad_range(0.0, hi, true);
        let (y0, y1) = (y0, y1 + (y1 - y0) * 0.04);
        for ((title, ls), a) in self.panels.iter().zip(&areas) {
            let x_labels = self.layers.min(ticks_for(a, s, 30.0));
            let mut chart = chart_on(
                a,
                s,
                true,
                24.0,
                50.0,
                -0.6..(self.layers as f64 - 0.4),
                y0..y1,
            )?;
            // Every other layer on a light band, so that each layer's experts read as a group.
            for layer in (1..self.layers).step_by(2) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(layer as f64 - 0.5, y0), (layer as f64 + 0.5, y1)],
                        BAND.filled(),
                    )))
                    .map_err(pe)?;
            }
            panel_mesh(&mut chart, s, x_labels, true)?;
            panel_title(
                root,
                a,
                &chart.plotting_area().get_pixel_range().0,
                title,
                s,
            )?;
            // Experts side by side within their layer when there is room for their markers.
            let (xr, _) = chart.plotting_area().get_pixel_range();
            let layer_px = (xr.end - xr.start) as f64 / self.layers as f64;
            for (layer, k, experts) in ls {
                let e = experts.len().max(1);
                let spread = if e > 1 && layer_px * 0.7 / (e - 1) as f64 >= 2.2 * base * s.0 {
                    0.7
                } else {
                    0.0
                };
                let st = style::series(*k);
                for (i, &(mem, rep)) in experts.iter().enumerate() {
                    let off = if e > 1 {
                        spread * (i as f64 / (e - 1) as f64 - 0.5)
                    } else {
                        0.0
                    };
                    let c = chart.backend_coord(&(*layer as f64 + off, mem as f64));
                    draw_marker_sized(root, c, st, s, s.px(replica_radius(rep, base)))?;
                }
            }
        }
        draw_keys(&legend, &entries, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: &str = "policy,layer,mode,beta,memory_mb,replicas,planned_usd,planned_latency_s,simulated_usd,simulated_gb_s\n\
a,0,pipelined-storage,3,768/960,1/2,0.1,2.5,0.11,3\n\
cpu,0,cpu-cluster,,,,,,,\n";

    #[test]
    fn readers_parse_good_files() {
        let rows = read_layers_csv(LAYERS.as_bytes(), "moe_layers.csv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].memory_mb, vec![768, 960]);
        assert_eq!(rows[0].replicas, vec![1, 2]);
        assert_eq!(rows[0].beta, Some(3));
        assert!(rows[1].memory_mb.is_empty() && rows[1].simulated_usd.is_nan());
        let e = read_experts_csv(
            b"policy,layer,expert,memory_mb,replicas,planned_tokens,predicted_tokens,real_tokens\na,0,1,768,2,10,,9.5\n",
            "moe_experts.csv",
        )
        .unwrap();
        assert!(e[0].predicted_tokens.is_nan());
        assert_eq!(e[0].real_tokens, 9.5);
        let b = read_bo_csv(
            b"policy,iteration,cost_usd,best_usd,memory_cases,payload_cases,other_cases,epsilon_mean\na,1,,0.5,1,0,0,0.1\n",
            "moe_bo.csv",
        )
        .unwrap();
        assert!(b[0].cost_usd.is_nan() && b[0].memory_cases == 1);
    }

    #[test]
    fn readers_name_file_and_line_of_bad_input() {
        // Truncated: the last record stops mid-row.
        let cut = &LAYERS[..LAYERS.len() - 8];
        let e = read_layers_csv(cut.as_bytes(), "dir/moe_layers.csv").unwrap_err();
        assert!(
            e.contains("dir/moe_layers.csv") && e.contains("line 3"),
            "{e}"
        );
        // Cut inside the header: its columns are missing.
        let e = read_layers_csv(&LAYERS.as_bytes()[..30], "moe_layers.csv").unwrap_err();
        assert!(e.contains("moe_layers.csv: line 1: no column"), "{e}");
        // Empty.
        let e = read_experts_csv(b"", "moe_experts.csv").unwrap_err();
        assert!(e.contains("moe_experts.csv") && e.contains("empty"), "{e}");
        // A bad number, a bad list, lists of different lengths.
        let bad = LAYERS.replace("0.11", "0.1x");
        let e = read_layers_csv(bad.as_bytes(), "moe_layers.csv").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("`simulated_usd`") && e.contains("`0.1x`"),
            "{e}"
        );
        let bad = LAYERS.replace("768/960", "768/x");
        let e = read_layers_csv(bad.as_bytes(), "moe_layers.csv").unwrap_err();
        assert!(e.contains("line 2") && e.contains("`memory_mb`"), "{e}");
        let bad = LAYERS.replace("1/2", "1");
        let e = read_layers_csv(bad.as_bytes(), "moe_layers.csv").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("2 memory sizes but 1"),
            "{e}"
        );
        let e = read_bo_csv(
            b"policy,iteration,cost_usd,best_usd,memory_cases,payload_cases,other_cases,epsilon_mean\na,1,0.5,0.5,-1,0,0,0.1\n",
            "moe_bo.csv",
        )
        .unwrap_err();
        assert!(
            e.contains("moe_bo.csv: line 2") && e.contains("`memory_cases`"),
            "{e}"
        );
        // Not UTF-8: an error, not a panic.
        let mut bytes = LAYERS.as_bytes().to_vec();
        bytes.extend_from_slice(b"a,1,storage,1,\xff\xfe,1,0,0,0,0\n");
        let e = read_layers_csv(&bytes, "moe_layers.csv").unwrap_err();
        assert!(e.contains("moe_layers.csv: line 4"), "{e}");
    }

    #[test]
    fn bins_and_palette() {
        assert_eq!(layer_bins(12).len(), 12);
        assert_eq!(layer_bins(12)[11].0, "layer 11");
        let b = layer_bins(32);
        assert_eq!(b.len(), 8);
        assert_eq!(b[0], ("layers 0–3".to_string(), 0, 3));
        assert_eq!(b[7].2, 31);
        let b = layer_bins(13);
        assert!(b.len() <= MAX_LAYER_BINS && b.last().unwrap().2 == 12);
        // The palette's lightness (grayscale) rises strictly, so its steps stay ordered.
        let luma = |c: RGBColor| 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
        let steps: Vec<f64> = (0..12).map(|i| luma(sequential(i as f64 / 11.0))).collect();
        assert!(steps.windows(2).all(|w| w[1] - w[0] > 8.0), "{steps:?}");
    }

    #[test]
    fn names_wrap_at_hyphens() {
        let width = |t: &str| t.chars().count() as i32;
        assert_eq!(
            wrap("bayes-random-mode", 7, &width),
            vec!["bayes-", "random-", "mode"]
        );
        assert_eq!(wrap("lambdaml", 3, &width), vec!["lambdaml"]);
        assert_eq!(wrap("a-b", 10, &width), vec!["a-b"]);
    }
}
