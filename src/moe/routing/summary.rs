//! `infersim trace inspect` for routing traces: the dimensions, per-layer popularity and the
//! fitted generator parameters, as text, CSV tables and a TOML snippet.

use std::fmt::Write as _;

use super::RoutingError;
use super::RoutingTrace;
use super::fit::{RoutingFit, TransitionForm, fit};
use super::mixtral::ReadReport;
use super::synth::SynthParams;

/// What `trace inspect` reports on a routing trace.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingSummary {
    /// The fit (dimensions, per-layer and per-transition estimates).
    pub fit: RoutingFit,
    /// Tokens per expert per layer.
    pub counts: Vec<Vec<u32>>,
    /// Whether every token has gate weights.
    pub gates: bool,
    /// Whether every token has a token id.
    pub token_ids: bool,
    /// The reader's report (Mixtral format only).
    pub report: Option<ReadReport>,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs.filter(|x| x.is_finite()) {
        s += x;
        n += 1;
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

fn range(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
}

impl RoutingSummary {
    /// Fits `trace` (at least two tokens).
    pub fn new(trace: &RoutingTrace, report: Option<ReadReport>) -> Result<Self, RoutingError> {
        Ok(RoutingSummary {
            fit: fit(trace)?,
            counts: trace.counts(),
            gates: trace.tokens().iter().all(|t| t.has_gates()),
            token_ids: trace.tokens().iter().all(|t| t.token_id.is_some()),
            report,
        })
    }

    /// `metric,value` rows.
    pub fn rows(&self) -> Vec<(String, f64)> {
        let f = &self.fit;
        let (smin, smax) = range(f.layers.iter().map(|l| l.skew));
        let (rmin, rmax) = range(f.layers.iter().map(|l| l.reuse));
        let mut r = vec![
            ("tokens".to_string(), f.tokens as f64),
            ("sequences".into(), f.sequences as f64),
            ("layers".into(), f.shape.layers as f64),
            ("experts".into(), f.shape.experts as f64),
            ("top_k".into(), f.shape.top_k as f64),
        ];
        if let Some(rep) = &self.report {
            r.push(("records".into(), rep.records as f64));
            r.push((
                "incomplete_tokens_dropped".into(),
                rep.incomplete.len() as f64,
            ));
            r.push(("missing_records".into(), rep.missing_records() as f64));
            r.push(("duplicate_records".into(), rep.duplicates.len() as f64));
        }
        r.extend([
            ("skew_min".into(), smin),
            ("skew_mean".into(), mean(f.layers.iter().map(|l| l.skew))),
            ("skew_max".into(), smax),
            (
                "top_share_max".into(),
                range(f.layers.iter().map(|l| l.top_share)).1,
            ),
            (
                "bottom_share_min".into(),
                range(f.layers.iter().map(|l| l.bottom_share)).0,
            ),
            (
                "repeat_rate_mean".into(),
                mean(f.layers.iter().map(|l| l.repeat_rate)),
            ),
            ("reuse_min".into(), rmin),
            ("reuse_mean".into(), mean(f.layers.iter().map(|l| l.reuse))),
            ("reuse_max".into(), rmax),
            (
                "successor_share_mean".into(),
                mean(f.transitions.iter().map(|t| t.successor_share)),
            ),
            (
                "same_index_share_mean".into(),
                mean(f.transitions.iter().map(|t| t.same_index_share)),
            ),
            (
                "cross_layer_mean".into(),
                mean(f.transitions.iter().map(|t| t.cross_layer)),
            ),
        ]);
        r
    }

    /// The per-layer table (`routing_layers.csv`).
    pub fn layers_csv(&self) -> String {
        let mut s = String::from(
            "layer,skew,repeat_rate,reuse,pairs,top_expert,top_share,bottom_share,\
             successor_share,same_index_share,cross_layer\n",
        );
        for (l, x) in self.fit.layers.iter().enumerate() {
            let t = l.checked_sub(1).and_then(|i| self.fit.transitions.get(i));
            let g = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
            let _ = writeln!(
                s,
                "{l},{:.6},{:.6},{:.6},{},{},{:.6},{:.6},{},{},{}",
                x.skew,
                x.repeat_rate,
                x.reuse,
                x.pairs,
                x.ranking[0],
                x.top_share,
                x.bottom_share,
                g(t.map(|t| t.successor_share)),
                g(t.map(|t| t.same_index_share)),
                g(t.map(|t| t.cross_layer)),
            );
        }
        s
    }

    /// Tokens per expert per layer (`routing_counts.csv`).
    pub fn counts_csv(&self) -> String {
        let mut s = String::from("layer,expert,tokens\n");
        for (l, row) in self.counts.iter().enumerate() {
            for (e, c) in row.iter().enumerate() {
                let _ = writeln!(s, "{l},{e},{c}");
            }
        }
        s
    }

    /// The transition matrices (`routing_transitions.csv`): into layer `from` + 1.
    pub fn transitions_csv(&self) -> String {
        let mut s = String::from("from_layer,from_expert,to_expert,probability\n");
        for t in &self.fit.transitions {
            for (a, row) in t.matrix.iter().enumerate() {
                for (b, p) in row.iter().enumerate() {
                    let _ = writeln!(s, "{},{a},{b},{p:.6}", t.from);
                }
            }
        }
        s
    }

    /// The generator's parameters as TOML (`form` picks how transitions are written), for the
    /// trace's own number of sequences and tokens per sequence.
    pub fn params(&self, form: TransitionForm, seed: u64) -> SynthParams {
        let seqs = self.fit.sequences.max(1);
        let per = self.fit.tokens.div_ceil(seqs);
        self.fit.to_params(form, seqs, per, seed)
    }

    /// The compact TOML snippet of the generator's parameters (successor form).
    pub fn toml_snippet(&self, seed: u64) -> String {
        toml::to_string(&self.params(TransitionForm::Successor, seed))
            .unwrap_or_else(|e| format!("# cannot write the parameters: {e}\n"))
    }

    /// The text `trace inspect` prints (after its title line).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.rows() {
            let _ = writeln!(s, "  {k:<26} {}", short(v));
        }
        let _ = writeln!(
            s,
            "  gate weights: {}; token ids: {}",
            if self.gates { "yes" } else { "no" },
            if self.token_ids { "yes" } else { "no" }
        );
        if let Some(rep) = &self.report {
            for t in &rep.incomplete {
                let name = rep
                    .sequences
                    .get(t.sequence as usize)
                    .map(String::as_str)
                    .unwrap_or("?");
                let _ = writeln!(
                    s,
                    "  dropped {name} token {}: no record for layer(s) {:?}",
                    t.position, t.missing_layers
                );
            }
            for d in &rep.duplicates {
                let _ = writeln!(
                    s,
                    "  line {} repeats line {} (kept once)",
                    d.line, d.first_line
                );
            }
        }
        let _ = writeln!(
            s,
            "  {:>5} {:>7} {:>7} {:>7} {:>10} {:>9} {:>10} {:>11}",
            "layer", "skew", "repeat", "reuse", "top (id)", "least", "successor", "cross-layer"
        );
        for (l, x) in self.fit.layers.iter().enumerate() {
            let t = l.checked_sub(1).and_then(|i| self.fit.transitions.get(i));
            let _ = writeln!(
                s,
                "  {l:>5} {:>7.3} {:>7.3} {:>7.3} {:>6.1}% ({}) {:>8.1}% {:>10} {:>11}",
                x.skew,
                x.repeat_rate,
                x.reuse,
                100.0 * x.top_share,
                x.ranking[0],
                100.0 * x.bottom_share,
                t.map(|t| format!("{:.1}%", 100.0 * t.successor_share))
                    .unwrap_or_else(|| "-".into()),
                t.map(|t| format!("{:.3}", t.cross_layer))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        s
    }
}

/// A number for the console: integers plainly, others with 4 significant decimals.
fn short(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}
