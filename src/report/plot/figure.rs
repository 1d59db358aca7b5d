//! Figure types and their rendering with plotters: line charts with confidence bands (one or
//! more panels sharing a legend), scatter plots with error bars in both directions, and
//! horizontal stacked bars. Every figure is drawn on any plotters backend; [`save`] writes it as
//! SVG and as PNG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FONT, Hatch, Marker, Scale, SeriesStyle};
use crate::report::write::write_atomic;

pub(super) type R<T = ()> = Result<T, String>;

pub(super) fn pe<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A figure drawable on any backend.
pub trait Figure {
    /// Draws the figure on `root` (already filled white) at scale `s`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R;

    /// The size it is saved at (SVG units): [`style::SIZE`] unless it needs more room.
    fn size(&self) -> (u32, u32) {
        style::SIZE
    }
}

/// The least height of one panel of a stacked [`LineFigure`]: room for its title, four tick
/// labels and its y-axis title (three panels fit [`style::SIZE`]).
pub const MIN_PANEL_HEIGHT: u32 = 136;

/// Writes `dir/stem.svg` and `dir/stem.png` (twice the resolution), each atomically, at the
/// figure's [`size`](Figure::size).
pub fn save<F: Figure>(fig: &F, dir: &Path, stem: &str) -> R<Vec<PathBuf>> {
    save_sized(fig, dir, stem, fig.size())
}

/// [`save`] at another size (SVG units; the PNG has twice as many pixels each way), for small
/// multiples with more rows than [`style::SIZE`] holds legibly.
pub(super) fn save_sized<F: Figure>(
    fig: &F,
    dir: &Path,
    stem: &str,
    (w, h): (u32, u32),
) -> R<Vec<PathBuf>> {
    style::ensure_font();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        fig.draw(&root, Scale(1.0))?;
        root.present().map_err(pe)?;
    }
    write_atomic(&svg_path, svg.as_bytes()).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    let png_path = dir.join(format!("{stem}.png"));
    let tmp = dir.join(format!(".{stem}.tmp-{}.png", std::process::id()));
    {
        let root = BitMapBackend::new(&tmp, (w * 2, h * 2)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        fig.draw(&root, Scale(2.0))?;
        root.present().map_err(pe)?;
    }
    std::fs::rename(&tmp, &png_path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", png_path.display())
    })?;
    Ok(vec![svg_path, png_path])
}

pub(super) fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// One line of a line chart.
#[derive(Clone, Debug, Default)]
pub struct Line {
    /// Legend label.
    pub label: String,
    /// Style index (see [`style::series`]).
    pub style: usize,
    /// Points (x, y), drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Confidence band (x, low, high); empty for none.
    pub band: Vec<(f64, f64, f64)>,
    /// Where the series' marker is drawn.
    pub marks: Marks,
}

impl Line {
    /// A line with markers through `(x, mean)` and a band through `(x, low, high)` where both
    /// ends are finite, from points `(x, mean, low, high)` in drawing order.
    pub fn with_band(label: String, style: usize, pts: &[(f64, f64, f64, f64)]) -> Line {
        Line {
            label,
            style,
            points: pts.iter().map(|p| (p.0, p.1)).collect(),
            band: pts
                .iter()
                .filter(|p| p.2.is_finite() && p.3.is_finite())
                .map(|p| (p.0, p.2, p.3))
                .collect(),
            marks: Marks::All,
        }
    }
}

/// Where a line's markers go.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Marks {
    /// No markers (the legend shows the line alone).
    #[default]
    None,
    /// A marker at every point.
    All,
    /// Markers at these points only (e.g. at chosen percentiles of a dense curve).
    At(Vec<(f64, f64)>),
}

/// One panel of a line chart.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// X-axis title, with its unit.
    pub x_label: String,
    /// Y-axis title, with its unit.
    pub y_label: String,
    /// Title above the panel (empty for none).
    pub title: String,
    /// Logarithmic x-axis.
    pub x_log: bool,
    /// Logarithmic y-axis (only positive values are drawn).
    pub y_log: bool,
    /// At most this many x tick labels (default 8): the number of values of an integer axis
    /// keeps ticks on integers.
    pub x_ticks: Option<usize>,
    /// Fixed y range (otherwise from the data, starting at zero when all values are ≥ 0).
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub lines: Vec<Line>,
}

/// A line chart of one or more panels stacked vertically, with one legend on the right.
#[derive(Clone, Debug, Default)]
pub struct LineFigure {
    /// Panels, top to bottom.
    pub panels: Vec<Panel>,
}

/// One point of a scatter plot, with intervals.
#[derive(Clone, Debug)]
pub struct ErrPoint {
    /// Style index.
    pub style: usize,
    /// x: (low, mean, high).
    pub x: (f64, f64, f64),
    /// y: (low, mean, high).
    pub y: (f64, f64, f64),
    /// A short annotation next to the point (may be empty).
    pub note: String,
}

/// A scatter plot with error bars in both directions.
#[derive(Clone, Debug, Default)]
pub struct ScatterFigure {
    /// X-axis title.
    pub x_label: String,
    /// Y-axis title.
    pub y_label: String,
    /// Points.
    pub points: Vec<ErrPoint>,
    /// Legend: (label, style index).
    pub legend: Vec<(String, usize)>,
    /// A frontier drawn under the points as a grey dashed line (e.g. the Pareto-optimal
    /// means), with its legend label; empty for none.
    pub frontier: Vec<(f64, f64)>,
    /// The frontier's legend label.
    pub frontier_label: String,
}

/// Horizontal stacked bars: one bar per category, one segment per component.
#[derive(Clone, Debug, Default)]
pub struct BarFigure {
    /// X-axis title (the value, with its unit).
    pub x_label: String,
    /// Categories, top to bottom.
    pub categories: Vec<String>,
    /// Components, stacked left to right.
    pub components: Vec<String>,
    /// `values[category][component]`.
    pub values: Vec<Vec<f64>>,
}

enum Swatch {
    Line(usize, bool),
    Marker(usize),
    Bar(usize),
    Frontier,
}

/// The width a legend needs, in pixels.
pub(super) fn legend_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[&str],
    s: Scale,
) -> i32 {
    let f = font(s.label());
    let w = labels
        .iter()
        .map(|l| {
            root.estimate_text_size(l, &f)
                .map(|(w, _)| w as i32)
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    w + s.px(48.0)
}

/// Draws a legend in `area` (pixel coordinates), starting near its top.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
    top: i32,
    s: Scale,
) -> R {
    let row = s.px(20.0);
    for (i, (label, sw)) in entries.iter().enumerate() {
        let y = top + row * i as i32 + row / 2;
        let x0 = s.px(8.0);
        match sw {
            Swatch::Line(k, markers) => {
                let st = style::series(*k);
                draw_path(area, &[(x0, y), (x0 + s.px(28.0), y)], st, s)?;
                if *markers {
                    draw_marker(area, (x0 + s.px(14.0), y), st, s)?;
                }
            }
            Swatch::Marker(k) => {
                draw_marker(area, (x0 + s.px(14.0), y), style::series(*k), s)?;
            }
            Swatch::Frontier => {
                area.draw(&DashedPathElement::new(
                    vec![(x0, y), (x0 + s.px(28.0), y)],
                    s.upx(7.0),
                    s.upx(4.0),
                    FRONTIER.stroke_width(s.upx(1.5)),
                ))
                .map_err(pe)?;
            }
            Swatch::Bar(k) => {
                let (l, t, r, b) = (
                    x0 + s.px(4.0),
                    y - s.px(6.0),
                    x0 + s.px(24.0),
                    y + s.px(6.0),
                );
                draw_hatched(area, (l, t, r, b), *k, s)?;
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

fn line_style(st: SeriesStyle, s: Scale) -> ShapeStyle {
    st.color.stroke_width(s.upx(1.8))
}

/// A polyline in pixel coordinates, dashed according to the series style.
pub(super) fn draw_path<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: &[(i32, i32)],
    st: SeriesStyle,
    s: Scale,
) -> R {
    match st.dash {
        None => area
            .draw(&PathElement::new(pts.to_vec(), line_style(st, s)))
            .map_err(pe),
        Some((d, g)) => area
            .draw(&DashedPathElement::new(
                pts.to_vec(),
                s.upx(d as f64),
                s.upx(g as f64),
                line_style(st, s),
            ))
            .map_err(pe),
    }
}

/// A marker centred at a pixel.
pub(super) fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    st: SeriesStyle,
    s: Scale,
) -> R {
    draw_marker_sized(area, at, st, s, s.px(4.5))
}

/// A marker of radius `r` pixels centred at a pixel.
pub(super) fn draw_marker_sized<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    st: SeriesStyle,
    s: Scale,
    r: i32,
) -> R {
    let fill = st.color.filled();
    let stroke = st.color.stroke_width(s.upx(1.8));
    let res = match st.marker {
        Marker::Circle => area.draw(&Circle::new((x, y), r, fill)),
        Marker::Ring => area.draw(&Circle::new((x, y), r, stroke)),
        Marker::Square => {
            let q = r * 8 / 10;
            area.draw(&Rectangle::new([(x - q, y - q), (x + q, y + q)], fill))
        }
        Marker::TriangleUp => area.draw(&Polygon::new(
            vec![(x, y - r), (x - r, y + r * 8 / 10), (x + r, y + r * 8 / 10)],
            fill,
        )),
        Marker::TriangleDown => area.draw(&Polygon::new(
            vec![(x, y + r), (x - r, y - r * 8 / 10), (x + r, y - r * 8 / 10)],
            fill,
        )),
        Marker::Diamond => area.draw(&Polygon::new(
            vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)],
            fill,
        )),
        Marker::Cross => area
            .draw(&PathElement::new(
                vec![(x - r, y - r), (x + r, y + r)],
                stroke,
            ))
            .and_then(|_| {
                area.draw(&PathElement::new(
                    vec![(x - r, y + r), (x + r, y - r)],
                    stroke,
                ))
            }),
        Marker::Plus => area
            .draw(&PathElement::new(vec![(x - r, y), (x + r, y)], stroke))
            .and_then(|_| area.draw(&PathElement::new(vec![(x, y - r), (x, y + r)], stroke))),
    };
    res.map_err(pe)
}

/// A filled rectangle (pixels) with the colour and hatch of component `k`, outlined.
fn draw_hatched<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (l, t, r, b): (i32, i32, i32, i32),
    k: usize,
    s: Scale,
) -> R {
    let color = style::PALETTE[k % style::PALETTE.len()];
    area.draw(&Rectangle::new([(l, t), (r, b)], color.mix(0.85).filled()))
        .map_err(pe)?;
    let ink = WHITE.stroke_width(s.upx(1.2));
    let gap = s.px(6.0).max(3);
    let mut segs: Vec<((i32, i32), (i32, i32))> = Vec::new();
    let hatch = style::HATCHES[k % style::HATCHES.len()];
    let forward = |segs: &mut Vec<_>| {
        // x + y = c
        let mut c = l + t;
        while c <= r + b {
            let x1 = l.max(c - b);
            let x2 = r.min(c - t);
            if x1 < x2 {
                segs.push(((x1, c - x1), (x2, c - x2)));
            }
            c += gap;
        }
    };
    let backward = |segs: &mut Vec<_>| {
        // y - x = c
        let mut c = t - r;
        while c <= b - l {
            let x1 = l.max(t - c);
            let x2 = r.min(b - c);
            if x1 < x2 {
                segs.push(((x1, x1 + c), (x2, x2 + c)));
            }
            c += gap;
        }
    };
    match hatch {
        Hatch::None => {}
        Hatch::Forward => forward(&mut segs),
        Hatch::Backward => backward(&mut segs),
        Hatch::Cross => {
            forward(&mut segs);
            backward(&mut segs);
        }
        Hatch::Horizontal => {
            let mut y = t + gap / 2;
            while y < b {
                segs.push(((l, y), (r, y)));
                y += gap;
            }
        }
        Hatch::Vertical => {
            let mut x = l + gap / 2;
            while x < r {
                segs.push(((x, t), (x, b)));
                x += gap;
            }
        }
    }
    for (a, z) in segs {
        area.draw(&PathElement::new(vec![a, z], ink)).map_err(pe)?;
    }
    area.draw(&Rectangle::new(
        [(l, t), (r, b)],
        BLACK.stroke_width(s.upx(0.8)),
    ))
    .map_err(pe)?;
    Ok(())
}

/// A data range padded by 5 % on each side (or made non-empty), starting at zero when `zero`
/// and every value is ≥ 0.
pub(super) fn pad_range(lo: f64, hi: f64, zero: bool) -> (f64, f64) {
    let (mut lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if zero && lo >= 0.0 {
        lo = 0.0;
    }
    if hi <= lo {
        let d = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
        return (lo - if lo == 0.0 { 0.0 } else { d }, hi + d);
    }
    let d = (hi - lo) * 0.05;
    (if zero && lo == 0.0 { 0.0 } else { lo - d }, hi + d)
}

pub(super) fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    let lo = if lo > 0.0 && lo.is_finite() { lo } else { 1e-3 };
    let hi = if hi > lo && hi.is_finite() {
        hi
    } else {
        lo * 10.0
    };
    (lo / 1.25, hi * 1.25)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn mesh<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_label: &str,
    y_label: &str,
    s: Scale,
    y_labels: usize,
    x_labels: usize,
) -> R
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fmt = |v: &f64| style::tick(*v);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style(font(s.axis_title()))
        .label_style(font(s.label()))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .x_labels(x_labels)
        .y_labels(y_labels)
        .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.upx(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width(s.upx(1.0)))
        .set_all_tick_mark_size(s.px(4.0))
        .draw()
        .map_err(pe)
}

fn draw_panel_lines<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    root: &DrawingArea<DB, Shift>,
    panel: &Panel,
    s: Scale,
) -> R
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    mesh(
        chart,
        &panel.x_label,
        &panel.y_label,
        s,
        6,
        panel.x_ticks.unwrap_or(8),
    )?;
    // Bands first, under every line.
    for l in &panel.lines {
        if l.band.len() >= 2 {
            let st = style::series(l.style);
            let mut poly: Vec<(f64, f64)> = l.band.iter().map(|&(x, lo, _)| (x, lo)).collect();
            poly.extend(l.band.iter().rev().map(|&(x, _, hi)| (x, hi)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    st.color.mix(0.18).filled(),
                )))
                .map_err(pe)?;
        }
    }
    for l in &panel.lines {
        let st = style::series(l.style);
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        match st.dash {
            None => {
                chart
                    .draw_series(LineSeries::new(pts.clone(), line_style(st, s)))
                    .map_err(pe)?;
            }
            Some((d, g)) => {
                chart
                    .draw_series(DashedLineSeries::new(
                        pts.clone(),
                        s.upx(d as f64),
                        s.upx(g as f64),
                        line_style(st, s),
                    ))
                    .map_err(pe)?;
            }
        }
        let marked: &[(f64, f64)] = match &l.marks {
            Marks::None => &[],
            Marks::All => &pts,
            Marks::At(at) => at,
        };
        if !marked.is_empty() {
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            for p in marked {
                let (px, py) = chart.backend_coord(p);
                if xr.contains(&px) && (yr.start..=yr.end).contains(&py) {
                    draw_marker(root, (px, py), st, s)?;
                }
            }
        }
    }
    Ok(())
}

impl Figure for LineFigure {
    /// Taller than [`style::SIZE`] when its stacked panels need it ([`MIN_PANEL_HEIGHT`] each).
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        (style::SIZE.0, style::SIZE.1.max(n * MIN_PANEL_HEIGHT + 30))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        // The legend: every distinct label across the panels, in order.
        let mut entries: Vec<(String, Swatch)> = Vec::new();
        for p in &self.panels {
            for l in &p.lines {
                if !l.label.is_empty() && !entries.iter().any(|(e, _)| e == &l.label) {
                    entries.push((
                        l.label.clone(),
                        Swatch::Line(l.style, l.marks != Marks::None),
                    ));
                }
            }
        }
        let labels: Vec<&str> = entries.iter().map(|(l, _)| l.as_str()).collect();
        let (w, _) = root.dim_in_pixel();
        let lw = if entries.is_empty() {
            0
        } else {
            legend_width(root, &labels, s).min(w as i32 * 2 / 5)
        };
        let (plot_area, legend_area) = root.split_horizontally(w as i32 - lw);
        let n = self.panels.len().max(1);
        let panels = plot_area.split_evenly((n, 1));
        for (panel, area) in self.panels.iter().zip(&panels) {
            let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
            let (mut xlo, mut xhi) = (f64::INFINITY, f64::NEG_INFINITY);
            for l in &panel.lines {
                for &(x, y) in &l.points {
                    if x.is_finite()
                        && y.is_finite()
                        && (!panel.x_log || x > 0.0)
                        && (!panel.y_log || y > 0.0)
                    {
                        xlo = xlo.min(x);
                        xhi = xhi.max(x);
                        ylo = ylo.min(y);
                        yhi = yhi.max(y);
                    }
                }
                for &(_, lo, hi) in &l.band {
                    if lo.is_finite() && hi.is_finite() && (!panel.y_log || lo > 0.0) {
                        ylo = ylo.min(lo);
                        yhi = yhi.max(hi);
                    }
                }
            }
            let (y0, y1) = panel.y_range.unwrap_or_else(|| {
                if panel.y_log {
                    log_range(ylo, yhi)
                } else {
                    pad_range(ylo, yhi, true)
                }
            });
            let (x0, x1) = if panel.x_log {
                log_range(xlo, xhi)
            } else {
                pad_range(xlo, xhi, false)
            };
            let mut b = ChartBuilder::on(area);
            b.margin_top(s.px(12.0))
                .margin_right(s.px(14.0))
                .margin_left(s.px(6.0))
                .margin_bottom(s.px(4.0))
                .x_label_area_size(s.px(if panel.x_label.is_empty() { 28.0 } else { 46.0 }))
                .y_label_area_size(s.px(66.0));
            if !panel.title.is_empty() {
                b.caption(panel.title.as_str(), font(s.axis_title()));
            }
            match (panel.x_log, panel.y_log) {
                (false, false) => {
                    let mut chart = b.build_cartesian_2d(x0..x1, y0..y1).map_err(pe)?;
                    draw_panel_lines(&mut chart, root, panel, s)?;
                }
                (true, false) => {
                    let mut chart = b
                        .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                        .map_err(pe)?;
                    draw_panel_lines(&mut chart, root, panel, s)?;
                }
                (false, true) => {
                    let mut chart = b
                        .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                        .map_err(pe)?;
                    draw_panel_lines(&mut chart, root, panel, s)?;
                }
                (true, true) => {
                    let mut chart = b
                        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                        .map_err(pe)?;
                    draw_panel_lines(&mut chart, root, panel, s)?;
                }
            }
        }
        if !entries.is_empty() {
            draw_legend(&legend_area, &entries, s.px(14.0), s)?;
        }
        Ok(())
    }
}

type Chart<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

fn build<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a DrawingArea<DB, Shift>,
    s: Scale,
    y_area: f64,
    x: X,
    y: Y,
) -> R<Chart<'a, DB, X, Y>> {
    ChartBuilder::on(area)
        .margin_top(s.px(12.0))
        .margin_right(s.px(14.0))
        .margin_left(s.px(6.0))
        .margin_bottom(s.px(4.0))
        .x_label_area_size(s.px(46.0))
        .y_label_area_size(s.px(y_area))
        .build_cartesian_2d(x, y)
        .map_err(pe)
}

impl Figure for ScatterFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let mut labels: Vec<&str> = self.legend.iter().map(|(l, _)| l.as_str()).collect();
        if self.frontier.len() >= 2 {
            labels.push(&self.frontier_label);
        }
        let (w, _) = root.dim_in_pixel();
        let lw = legend_width(root, &labels, s).min(w as i32 * 2 / 5);
        let (area, legend_area) = root.split_horizontally(w as i32 - lw);
        let fin = |v: f64, m: f64| if v.is_finite() { v } else { m };
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in &self.points {
            if !(p.x.1.is_finite() && p.y.1.is_finite()) {
                continue;
            }
            xlo = xlo.min(fin(p.x.0, p.x.1));
            xhi = xhi.max(fin(p.x.2, p.x.1));
            ylo = ylo.min(fin(p.y.0, p.y.1));
            yhi = yhi.max(fin(p.y.2, p.y.1));
        }
        let (x0, x1) = pad_range(xlo, xhi, true);
        let (y0, y1) = pad_range(ylo, yhi, true);
        let mut chart = build(&area, s, 76.0, x0..x1, y0..y1)?;
        mesh(&mut chart, &self.x_label, &self.y_label, s, 6, 8)?;
        if self.frontier.len() >= 2 {
            chart
                .draw_series(DashedLineSeries::new(
                    self.frontier.clone(),
                    s.upx(7.0),
                    s.upx(4.0),
                    FRONTIER.stroke_width(s.upx(1.5)),
                ))
                .map_err(pe)?;
        }
        let mut notes: Vec<((i32, i32), String)> = Vec::new();
        for p in &self.points {
            if !(p.x.1.is_finite() && p.y.1.is_finite()) {
                continue;
            }
            let st = style::series(p.style);
            // Error bars as plain segments with caps (plotters' ErrorBar draws a circle at the
            // centre, which would hide the series' marker shape).
            let bar = st.color.stroke_width(s.upx(1.3));
            let cap = s.px(4.0);
            let mut segments: Vec<[(i32, i32); 2]> = Vec::new();
            if p.y.0.is_finite() && p.y.2.is_finite() {
                let lo = chart.backend_coord(&(p.x.1, p.y.0));
                let hi = chart.backend_coord(&(p.x.1, p.y.2));
                segments.push([lo, hi]);
                segments.push([(lo.0 - cap, lo.1), (lo.0 + cap, lo.1)]);
                segments.push([(hi.0 - cap, hi.1), (hi.0 + cap, hi.1)]);
            }
            if p.x.0.is_finite() && p.x.2.is_finite() {
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
            let px = chart.backend_coord(&(p.x.1, p.y.1));
            draw_marker(root, px, st, s)?;
            if !p.note.is_empty() {
                notes.push((px, p.note.clone()));
            }
        }
        // Point labels after every marker: above right of the point (above left near the
        // right edge), inside the plotting area, and left out where they would overlap a
        // label already placed.
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let f = font(s.note());
        // A margin around the text, so that labels do not touch either.
        let mut placer = LabelPlacer::new((xr.start, yr.start, xr.end, yr.end), s.px(2.0));
        for (px, note) in notes {
            let (w, h) = root
                .estimate_text_size(&note, &f)
                .map(|(w, h)| (w as i32, h as i32))
                .unwrap_or((0, 0));
            let right = px.0 + s.px(7.0);
            let left = if right + w <= xr.end {
                right
            } else {
                px.0 - s.px(7.0) - w
            };
            let bottom = px.1 - s.px(7.0);
            let Some((left, bottom)) = placer.place((w, h), &[(left, bottom)]) else {
                continue;
            };
            root.draw(&Text::new(
                note,
                (left, bottom),
                f.pos(Pos::new(HPos::Left, VPos::Bottom)),
            ))
            .map_err(pe)?;
        }
        let mut entries: Vec<(String, Swatch)> = self
            .legend
            .iter()
            .map(|(l, k)| (l.clone(), Swatch::Marker(*k)))
            .collect();
        if self.frontier.len() >= 2 {
            entries.push((self.frontier_label.clone(), Swatch::Frontier));
        }
        draw_legend(&legend_area, &entries, s.px(14.0), s)
    }
}

/// Places text labels so that no two overlap: each label takes the first of its candidate
/// positions whose box (with a margin) lies inside the bounds and overlaps no box already
/// placed or blocked; a label with no such position is left out.
pub(super) struct LabelPlacer {
    /// Bounds (left, top, right, bottom) in pixels.
    bounds: (i32, i32, i32, i32),
    /// Margin around each text box, in pixels.
    margin: i32,
    /// Boxes taken (left, top, right, bottom), margins included.
    taken: Vec<(i32, i32, i32, i32)>,
}

impl LabelPlacer {
    /// A placer within `bounds` (left, top, right, bottom), with `margin` pixels around texts.
    pub(super) fn new(bounds: (i32, i32, i32, i32), margin: i32) -> LabelPlacer {
        LabelPlacer {
            bounds,
            margin,
            taken: Vec::new(),
        }
    }

    /// Keeps labels off a box (left, top, right, bottom), e.g. a marker.
    pub(super) fn block(&mut self, rect: (i32, i32, i32, i32)) {
        self.taken.push(rect);
    }

    /// The first candidate (left, bottom) of a text of `size` (w, h) that fits, recorded as
    /// taken; `None` when none fits.
    pub(super) fn place(
        &mut self,
        size: (i32, i32),
        candidates: &[(i32, i32)],
    ) -> Option<(i32, i32)> {
        self.place_if(size, candidates, |_| true)
    }

    /// [`LabelPlacer::place`] among the candidates whose box (left, top, right, bottom, margin
    /// included) `ok` also accepts.
    pub(super) fn place_if(
        &mut self,
        (w, h): (i32, i32),
        candidates: &[(i32, i32)],
        ok: impl Fn((i32, i32, i32, i32)) -> bool,
    ) -> Option<(i32, i32)> {
        let m = self.margin;
        let (bl, bt, br, bb) = self.bounds;
        for &(left, bottom) in candidates {
            let rect = (left - m, bottom - h - m, left + w + m, bottom + m);
            let inside = left >= bl && left + w <= br && bottom - h >= bt && bottom <= bb;
            let overlaps = self
                .taken
                .iter()
                .any(|r| rect.0 < r.2 && r.0 < rect.2 && rect.1 < r.3 && r.1 < rect.3);
            if inside && !overlaps && ok(rect) {
                self.taken.push(rect);
                return Some((left, bottom));
            }
        }
        None
    }
}

/// The colour of a frontier line (dark grey: visible on white, apart from the palette).
pub(super) const FRONTIER: RGBColor = RGBColor(90, 90, 90);

impl Figure for BarFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: Scale) -> R {
        let labels: Vec<&str> = self.components.iter().map(String::as_str).collect();
        let (w, _) = root.dim_in_pixel();
        let lw = legend_width(root, &labels, s).min(w as i32 * 2 / 5);
        let (area, legend_area) = root.split_horizontally(w as i32 - lw);
        // Room for the category names on the left.
        let f = font(s.label());
        let name_w = self
            .categories
            .iter()
            .map(|c| {
                root.estimate_text_size(c, &f)
                    .map(|(w, _)| w as i32)
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
            .min(w as i32 / 3);
        let total: f64 = self
            .values
            .iter()
            .map(|v| v.iter().filter(|x| x.is_finite()).sum::<f64>())
            .fold(0.0, f64::max);
        let (x0, x1) = pad_range(0.0, total, true);
        let n = self.categories.len().max(1) as f64;
        let y_area = (name_w as f64 / s.0) + 14.0;
        let mut chart = build(&area, s, y_area, x0..x1, 0.0..n)?;
        let fmt = |v: &f64| style::tick(*v);
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .axis_desc_style(font(s.axis_title()))
            .label_style(font(s.label()))
            .x_label_formatter(&fmt)
            .y_labels(0)
            .x_labels(8)
            .disable_y_mesh()
            .bold_line_style(RGBColor(225, 225, 225).stroke_width(s.upx(1.0)))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.stroke_width(s.upx(1.0)))
            .set_all_tick_mark_size(s.px(4.0))
            .draw()
            .map_err(pe)?;
        for (i, (cat, vals)) in self.categories.iter().zip(&self.values).enumerate() {
            // Category i from the top.
            let yc = n - i as f64 - 0.5;
            let (top, bottom) = (yc + 0.35, yc - 0.35);
            let mut acc = 0.0;
            for (k, v) in vals.iter().enumerate() {
                if !v.is_finite() || *v <= 0.0 {
                    continue;
                }
                let (l, t) = chart.backend_coord(&(acc, top));
                let (r, b) = chart.backend_coord(&(acc + v, bottom));
                if r > l {
                    draw_hatched(root, (l, t, r, b), k, s)?;
                }
                acc += v;
            }
            let (ax, ay) = chart.backend_coord(&(0.0, yc));
            root.draw(&Text::new(
                cat.clone(),
                (ax - s.px(8.0), ay),
                font(s.label()).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(pe)?;
        }
        let entries: Vec<(String, Swatch)> = self
            .components
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), Swatch::Bar(k)))
            .collect();
        draw_legend(&legend_area, &entries, s.px(14.0), s)
    }
}
