//! The paper style shared by every figure: one bundled font (DejaVu Sans, so text is measured
//! and rendered the same on every machine, without system font libraries), the Okabe–Ito
//! palette (distinguishable by colour-blind readers), and a marker shape, a dash pattern and a
//! hatch per series so that figures also read in grayscale.

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor, register_font};

/// The bundled font (DejaVu Sans; licence in `assets/README.md`).
pub const FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// The family name figures use (the bundled font is registered under it).
pub const FONT: &str = "sans-serif";

/// Registers the bundled font with plotters (once per process).
pub fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font checked by the tests; failure cannot happen.
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// The width in pixels of `text` set in the figures' font at `size` pixels, as the figures
/// measure it to place labels (for tests that check the layout of a drawn SVG).
pub fn text_width(text: &str, size: f64) -> f64 {
    use plotters::style::IntoFont;
    ensure_font();
    (FONT, size)
        .into_font()
        .box_size(text)
        .map_or(0.0, |(w, _)| f64::from(w))
}

/// Okabe–Ito colours, ordered so that neighbours differ in lightness as well as hue
/// (blue, vermillion, bluish green, reddish purple, orange, sky blue, black), then a mid grey
/// in place of Okabe–Ito's yellow, which has too little contrast on white (it is also the
/// time series' arrivals line).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x6E, 0x6E, 0x6E),
];

/// Marker shapes, in series order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// ●
    Circle,
    /// ■
    Square,
    /// ▲
    TriangleUp,
    /// ◆
    Diamond,
    /// ▼
    TriangleDown,
    /// ×
    Cross,
    /// +
    Plus,
    /// ○
    Ring,
}

/// Markers, in series order.
pub const MARKERS: [Marker; 8] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Cross,
    Marker::Plus,
    Marker::Ring,
];

/// Dash patterns (dash, gap) in pixels at scale 1, in series order; `None` is a solid line.
pub const DASHES: [Option<(u32, u32)>; 4] = [None, Some((9, 4)), Some((2, 3)), Some((14, 4))];

/// Hatch patterns of stacked bars, in component order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hatch {
    /// Plain fill.
    None,
    /// `////`
    Forward,
    /// `\\\\`
    Backward,
    /// `----`
    Horizontal,
    /// `xxxx`
    Cross,
    /// `||||`
    Vertical,
}

/// Hatches, in component order.
pub const HATCHES: [Hatch; 6] = [
    Hatch::None,
    Hatch::Forward,
    Hatch::Backward,
    Hatch::Horizontal,
    Hatch::Cross,
    Hatch::Vertical,
];

/// The look of series `i`.
#[derive(Clone, Copy, Debug)]
pub struct SeriesStyle {
    /// Colour.
    pub color: RGBColor,
    /// Marker.
    pub marker: Marker,
    /// Dash pattern.
    pub dash: Option<(u32, u32)>,
}

/// The style of series `i`: colours cycle every 8 series, markers and dashes shift by one at
/// each cycle, so series 8 differs from series 0 in its marker as well as its dash, and 8 × 4
/// series have distinct combinations.
pub fn series(i: usize) -> SeriesStyle {
    let cycle = i / PALETTE.len();
    SeriesStyle {
        color: PALETTE[i % PALETTE.len()],
        marker: MARKERS[(i + cycle) % MARKERS.len()],
        dash: DASHES[(i + cycle) % DASHES.len()],
    }
}

/// Sizes, in pixels, at a scale factor (1 for SVG, 2 for PNG).
#[derive(Clone, Copy, Debug)]
pub struct Scale(pub f64);

impl Scale {
    /// A length scaled.
    pub fn px(&self, x: f64) -> i32 {
        (x * self.0).round() as i32
    }
    /// A length scaled, unsigned.
    pub fn upx(&self, x: f64) -> u32 {
        (x * self.0).round().max(0.0) as u32
    }
    /// Axis titles.
    pub fn axis_title(&self) -> f64 {
        15.0 * self.0
    }
    /// Tick labels and legend entries.
    pub fn label(&self) -> f64 {
        12.5 * self.0
    }
    /// Small annotations.
    pub fn note(&self) -> f64 {
        11.0 * self.0
    }
}

/// Figure size at scale 1 (SVG units); PNGs are rendered at twice this size.
pub const SIZE: (u32, u32) = (720, 440);

/// A tick or table number: up to 4 significant digits, scientific notation only when very large
/// or small.
pub fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            String::new()
        };
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.2e}");
        // 1.50e-5 → 1.5e-5
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let digits = (4 - (a.log10().floor() as i32) - 1).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(12.345678), "12.35");
        assert_eq!(tick(0.00001234), "1.23e-5");
        assert_eq!(tick(2.5e7), "2.5e7");
    }

    #[test]
    fn styles_differ() {
        for i in 0..8 {
            for j in 0..i {
                let (a, b) = (series(i), series(j));
                assert!(a.color != b.color && a.marker != b.marker);
            }
        }
    }

    #[test]
    fn points_of_many_series_differ_in_colour_or_marker() {
        for i in 0..64 {
            for j in 0..i {
                let (a, b) = (series(i), series(j));
                assert!(
                    a.color != b.color || a.marker != b.marker,
                    "series {i} and {j}"
                );
            }
        }
    }
}
