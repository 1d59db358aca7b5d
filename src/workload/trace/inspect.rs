//! `infersim trace inspect`: one streaming pass over a trace, in constant memory (besides one
//! counter per function): volume, span, rates, burstiness, service times, top functions.
//!
//! MoE routing traces are not arrival processes: [`routing_input`] recognises their formats
//! (`mixtral-routing`, `routing`) and [`read_routing`] reads them for
//! [`RoutingSummary`](crate::moe::routing::summary::RoutingSummary).

use hdrhistogram::Histogram;

use std::path::Path;

use super::{Arrival, TraceError, TraceModel};
use crate::kernel::rng;
use crate::moe::routing::mixtral::{self, Incomplete, MixtralOptions, ReadReport};
use crate::moe::routing::{RoutingTrace, Shape, format as routing_format};

/// What `inspect` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStats {
    /// Arrivals.
    pub requests: u64,
    /// First to last arrival, seconds.
    pub span_s: f64,
    /// requests / span.
    pub mean_rate_rps: f64,
    /// Most arrivals in one second.
    pub peak_per_second: u64,
    /// Most arrivals in one minute.
    pub peak_per_minute: u64,
    /// Coefficient of variation of inter-arrival times (1 for Poisson; > 1 bursty).
    pub interarrival_cv: f64,
    /// Service-time percentiles (p50, p90, p99, max), seconds, if the trace records them.
    pub service_s: Option<[f64; 4]>,
    /// Functions with their arrivals, busiest first (at most `top`).
    pub top_functions: Vec<(String, u64)>,
    /// Functions invoked at least once.
    pub functions_invoked: usize,
}

/// Streams the trace once and summarises it; fails if the trace cannot be read to its end.
pub fn inspect(model: &TraceModel, top: usize) -> Result<TraceStats, TraceError> {
    let mut n = 0u64;
    let (mut first, mut last) = (None, 0u64);
    let (mut sec, mut sec_count, mut peak_s) = (u64::MAX, 0u64, 0u64);
    let (mut min, mut min_count, mut peak_m) = (u64::MAX, 0u64, 0u64);
    // Welford over inter-arrival gaps (seconds).
    let (mut gaps, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
    let mut service = Histogram::<u64>::new(3).expect("valid precision");
    let mut per_class = vec![0u64; model.classes.len().max(1)];
    for arrival in model.open(rng::from_seed(1)) {
        let Arrival {
            time,
            class,
            service: s,
        } = arrival?;
        let t = time.0;
        n += 1;
        if first.is_none() {
            first = Some(t);
        } else {
            let g = (t - last) as f64 / 1e9;
            gaps += 1;
            let d = g - mean;
            mean += d / gaps as f64;
            m2 += d * (g - mean);
        }
        last = t;
        let s_bin = t / 1_000_000_000;
        if s_bin == sec {
            sec_count += 1;
        } else {
            sec = s_bin;
            sec_count = 1;
        }
        peak_s = peak_s.max(sec_count);
        let m_bin = t / 60_000_000_000;
        if m_bin == min {
            min_count += 1;
        } else {
            min = m_bin;
            min_count = 1;
        }
        peak_m = peak_m.max(min_count);
        if let Some(s) = s {
            let _ = service.record(s.as_nanos().max(1));
        }
        if let Some(c) = per_class.get_mut(class as usize) {
            *c += 1;
        }
    }
    let span_s = (last - first.unwrap_or(0)) as f64 / 1e9;
    let var = if gaps > 1 {
        m2 / (gaps - 1) as f64
    } else {
        f64::NAN
    };
    let service_s = (!service.is_empty()).then(|| {
        let q = |p: f64| service.value_at_quantile(p) as f64 / 1e9;
        [q(0.5), q(0.9), q(0.99), service.max() as f64 / 1e9]
    });
    let mut classes: Vec<(String, u64)> = model
        .classes
        .iter()
        .zip(&per_class)
        .map(|(c, &k)| (c.name.clone(), k))
        .filter(|(_, k)| *k > 0)
        .collect();
    let functions_invoked = classes.len();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    classes.truncate(top);
    Ok(TraceStats {
        requests: n,
        span_s,
        mean_rate_rps: if span_s > 0.0 {
            n as f64 / span_s
        } else {
            f64::NAN
        },
        peak_per_second: peak_s,
        peak_per_minute: peak_m,
        interarrival_cv: var.sqrt() / mean,
        service_s,
        top_functions: classes,
        functions_invoked,
    })
}

impl TraceStats {
    /// `metric,value` rows (the CSV of `inspect --out`).
    pub fn rows(&self) -> Vec<(String, f64)> {
        let mut r = vec![
            ("requests".to_string(), self.requests as f64),
            ("span_s".into(), self.span_s),
            ("mean_rate_rps".into(), self.mean_rate_rps),
            ("peak_per_second".into(), self.peak_per_second as f64),
            ("peak_per_minute".into(), self.peak_per_minute as f64),
            ("interarrival_cv".into(), self.interarrival_cv),
            ("functions_invoked".into(), self.functions_invoked as f64),
        ];
        if let Some(s) = self.service_s {
            for (name, v) in [
                "service_p50_s",
                "service_p90_s",
                "service_p99_s",
                "service_max_s",
            ]
            .iter()
            .zip(s)
            {
                r.push((name.to_string(), v));
            }
        }
        r
    }
}

/// The routing-trace formats of `trace inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingInput {
    /// The recorded Mixtral-8x7B JSON Lines (`mixtral-routing`), one record per token and layer.
    Mixtral,
    /// Our own JSON Lines (`routing`), one token per line.
    Routing,
}

/// The routing format named `format`, if it is one.
pub fn routing_input(format: &str) -> Option<RoutingInput> {
    match format {
        "mixtral-routing" => Some(RoutingInput::Mixtral),
        "routing" => Some(RoutingInput::Routing),
        _ => None,
    }
}

/// Options of `trace inspect` on a routing trace (`--set KEY=VALUE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoutingOptions {
    /// Expected dimensions and the handling of incomplete tokens (Mixtral format).
    pub mixtral: MixtralOptions,
    /// Seed written into the printed generator parameters.
    pub seed: u64,
}

impl RoutingOptions {
    /// Sets one option: `seed` for both formats; `layers`, `experts`, `top_k` and `incomplete`
    /// (`drop` or `reject`) for `mixtral-routing`.
    pub fn set(&mut self, input: RoutingInput, key: &str, value: &str) -> Result<(), String> {
        let number = |what: &str| {
            value
                .parse::<usize>()
                .map_err(|_| format!("{what} is \"{value}\"; allowed: a whole number"))
        };
        let shape = self.mixtral.shape;
        match (input, key) {
            (_, "seed") => {
                self.seed = value
                    .parse()
                    .map_err(|_| format!("seed is \"{value}\"; allowed: a whole number"))?
            }
            (RoutingInput::Mixtral, "layers") => {
                self.mixtral.shape = Shape::new(number("layers")?, shape.experts, shape.top_k)
                    .map_err(|e| e.to_string())?
            }
            (RoutingInput::Mixtral, "experts") => {
                self.mixtral.shape = Shape::new(shape.layers, number("experts")?, shape.top_k)
                    .map_err(|e| e.to_string())?
            }
            (RoutingInput::Mixtral, "top_k") => {
                self.mixtral.shape = Shape::new(shape.layers, shape.experts, number("top_k")?)
                    .map_err(|e| e.to_string())?
            }
            (RoutingInput::Mixtral, "incomplete") => {
                self.mixtral.incomplete = match value {
                    "drop" => Incomplete::Drop,
                    "reject" => Incomplete::Reject,
                    _ => {
                        return Err(format!("incomplete is \"{value}\"; allowed: drop, reject"));
                    }
                }
            }
            (RoutingInput::Mixtral, _) => {
                return Err(format!(
                    "unknown option \"{key}\"; allowed: layers, experts, top_k, incomplete, seed"
                ));
            }
            (RoutingInput::Routing, _) => {
                return Err(format!("unknown option \"{key}\"; allowed: seed"));
            }
        }
        Ok(())
    }
}

/// Reads a routing trace (and, for the Mixtral format, the reader's report).
pub fn read_routing(
    path: &Path,
    input: RoutingInput,
    opts: &RoutingOptions,
) -> Result<(RoutingTrace, Option<ReadReport>), TraceError> {
    match input {
        RoutingInput::Mixtral => mixtral::read(path, &opts.mixtral).map(|(t, r)| (t, Some(r))),
        RoutingInput::Routing => routing_format::read(path).map(|t| (t, None)),
    }
}
