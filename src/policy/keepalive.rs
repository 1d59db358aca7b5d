//! Keep-alive policies over traces: the hybrid-histogram policy of "Serverless in the Wild"
//! (Shahrad et al., USENIX ATC 2020). Fixed keep-alive (AWS-like 10 min, Azure-like 20 min) and
//! no keep-alive are the `all-faas` policy with `keep_alive` set.
//!
//! Per function, the policy keeps a histogram of idle times (time from the end of one invocation
//! to the start of the next) in `bin`-wide bins up to `range`:
//! - *representative* (coefficient of variation of the bin counts ≥ `cv_threshold`): after an
//!   invocation the instance is unloaded, a new one is loaded after the pre-warm window
//!   `head-percentile × (1 − margin)` and kept for the keep-alive window, up to
//!   `(tail-percentile + 1 bin) × (1 + margin)` after the invocation (no pre-warm when the head
//!   is in the first bin: the instance simply stays loaded that long);
//! - *not representative* (too few or too spread idle times): the instance stays loaded for the
//!   whole range (a fixed keep-alive of `range`);
//! - *out of bounds* (at least `oob_threshold` of idle times exceed the range): the paper
//!   forecasts the next idle time with ARIMA; infersim uses an exponentially weighted moving
//!   average (α = 0.5) of the out-of-range idle times as the forecast, pre-warms at
//!   `forecast × (1 − 0.15)` and keeps the instance for `0.3 × forecast` — the ARIMA
//!   substitution is a documented simplification.

use super::{Backend, ConfigError, Deployment, KeepAlive, KeepAlivePolicy, Policy};
use crate::kernel::{SimDuration, SimTime};
use crate::scenario::Scenario;
use crate::scenario::spec::HistogramSpec;

/// Parameters of the hybrid-histogram policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramRule {
    /// Histogram range.
    pub range: SimDuration,
    /// Bin width.
    pub bin: SimDuration,
    /// Head percentile (pre-warm).
    pub head: f64,
    /// Tail percentile (end of keep-alive).
    pub tail: f64,
    /// Margin on both windows.
    pub margin: f64,
    /// CV above which the histogram is representative.
    pub cv_threshold: f64,
    /// Out-of-bounds share above which the forecast is used.
    pub oob_threshold: f64,
}

/// `hybrid-histogram`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramConfig {
    /// Name in reports.
    pub name: String,
    /// The parameters, defaults applied: range 4 h, bin 1 min, head 0.05, tail 0.99, margin
    /// 0.10, CV threshold 2, out-of-bounds threshold 0.5.
    pub rule: HistogramRule,
}

impl HistogramConfig {
    /// Validates a `hybrid-histogram` table.
    pub fn from_spec(name: String, spec: &HistogramSpec) -> Result<Self, ConfigError> {
        let range = spec
            .range
            .map(|d| d.0)
            .unwrap_or(SimDuration::from_secs(4 * 3600));
        let bin = spec.bin.map(|d| d.0).unwrap_or(SimDuration::from_secs(60));
        if bin.as_nanos() == 0 || range < bin || range.as_nanos() / bin.as_nanos() > 100_000 {
            return Err(ConfigError::at(
                "bin",
                "need 0 < bin ≤ range and at most 100,000 bins",
            ));
        }
        let head = spec.head.map(|p| p.0).unwrap_or(0.05);
        let tail = spec.tail.map(|p| p.0).unwrap_or(0.99);
        if head >= tail {
            return Err(ConfigError::at("head", "head must be below tail"));
        }
        let cv_threshold = spec.cv_threshold.unwrap_or(2.0);
        if !(cv_threshold >= 0.0) {
            return Err(ConfigError::at("cv_threshold", "cv_threshold must be ≥ 0"));
        }
        Ok(HistogramConfig {
            name,
            rule: HistogramRule {
                range,
                bin,
                head,
                tail,
                margin: spec.margin.map(|p| p.0).unwrap_or(0.10),
                cv_threshold,
                oob_threshold: spec.oob_threshold.map(|p| p.0).unwrap_or(0.5),
            },
        })
    }
}

/// The idle-time histogram of one function.
#[derive(Clone, Debug, Default)]
pub struct IdleHistogram {
    bins: Vec<u32>,
    total: u64,
    sum_sq: u128,
    oob: u64,
    oob_forecast_ns: f64,
    lo: usize,
    hi: usize,
}

impl IdleHistogram {
    fn new(n: usize) -> Self {
        IdleHistogram {
            bins: vec![0; n],
            lo: usize::MAX,
            ..Default::default()
        }
    }

    /// Records one idle time.
    pub fn record(&mut self, idle: SimDuration, bin: SimDuration) {
        let b = (idle.as_nanos() / bin.as_nanos().max(1)) as usize;
        if b >= self.bins.len() {
            self.oob += 1;
            let x = idle.as_nanos() as f64;
            self.oob_forecast_ns = if self.oob == 1 {
                x
            } else {
                0.5 * x + 0.5 * self.oob_forecast_ns
            };
            return;
        }
        let c = self.bins[b] as u128;
        self.sum_sq += 2 * c + 1;
        self.bins[b] += 1;
        self.total += 1;
        self.lo = self.lo.min(b);
        self.hi = if self.total == 1 { b } else { self.hi.max(b) };
    }

    /// Coefficient of variation of the bin counts (0 when empty).
    pub fn cv(&self) -> f64 {
        let n = self.bins.len() as f64;
        if self.total == 0 || n < 2.0 {
            return 0.0;
        }
        let mean = self.total as f64 / n;
        let var = (self.sum_sq as f64 - n * mean * mean) / (n - 1.0);
        var.max(0.0).sqrt() / mean
    }

    /// The bin holding the `p` quantile of recorded idle times.
    pub fn percentile_bin(&self, p: f64) -> usize {
        let need = p * self.total as f64;
        let mut acc = 0.0;
        for b in self.lo..=self.hi {
            acc += self.bins[b] as f64;
            if acc >= need {
                return b;
            }
        }
        self.hi
    }

    fn oob_rate(&self) -> f64 {
        let all = self.total + self.oob;
        if all == 0 {
            0.0
        } else {
            self.oob as f64 / all as f64
        }
    }
}

impl HistogramRule {
    /// The decision for one function's histogram.
    pub fn decide(&self, h: &IdleHistogram) -> KeepAlive {
        let bin = self.bin.as_secs_f64();
        let secs = SimDuration::from_secs_f64;
        if h.total + h.oob > 0 && h.oob_rate() >= self.oob_threshold {
            let forecast = h.oob_forecast_ns / 1e9;
            return KeepAlive {
                prewarm: secs(forecast * (1.0 - 0.15)),
                keep_alive: secs(forecast * 0.15 * 2.0),
            };
        }
        if h.total == 0 || h.cv() < self.cv_threshold {
            return KeepAlive {
                prewarm: SimDuration::ZERO,
                keep_alive: self.range,
            };
        }
        let head = h.percentile_bin(self.head) as f64 * bin * (1.0 - self.margin);
        let end = (h.percentile_bin(self.tail) + 1) as f64 * bin * (1.0 + self.margin);
        KeepAlive {
            prewarm: secs(head),
            keep_alive: secs((end - head).max(bin)),
        }
    }
}

/// Functions only, with per-function hybrid-histogram keep-alive and pre-warming.
pub struct HybridHistogram {
    name: String,
    rule: HistogramRule,
    hist: Vec<IdleHistogram>,
    last_end: Vec<Option<SimTime>>,
    busy: Vec<u32>,
}

impl HybridHistogram {
    /// The policy of a config, for `functions` functions.
    pub fn new(config: &HistogramConfig, functions: usize) -> Self {
        let rule = config.rule;
        let n = (rule.range.as_nanos() / rule.bin.as_nanos().max(1)).max(1) as usize;
        HybridHistogram {
            name: config.name.clone(),
            rule,
            hist: vec![IdleHistogram::new(n); functions],
            last_end: vec![None; functions],
            busy: vec![0; functions],
        }
    }
}

impl Policy for HybridHistogram {
    fn name(&self) -> &str {
        &self.name
    }
    fn deployment(&self, _: &Scenario) -> Deployment {
        Deployment {
            provisioned_concurrency: Some(0),
            default_backend: Backend::Faas,
            ..Deployment::default()
        }
    }
    fn keep_alive(&mut self) -> Option<&mut dyn KeepAlivePolicy> {
        Some(self)
    }
}

impl KeepAlivePolicy for HybridHistogram {
    fn on_invocation(&mut self, func: u32, now: SimTime) {
        let f = func as usize;
        // An idle time is the gap between the end of the last invocation and this start,
        // when the function was not busy in between.
        if self.busy[f] == 0
            && let Some(end) = self.last_end[f]
        {
            self.hist[f].record(now.since(end), self.rule.bin);
        }
        self.busy[f] += 1;
    }
    fn on_completion(&mut self, func: u32, now: SimTime) {
        let f = func as usize;
        self.busy[f] = self.busy[f].saturating_sub(1);
        self.last_end[f] = Some(now);
    }
    fn decide(&mut self, func: u32, _now: SimTime) -> KeepAlive {
        self.rule.decide(&self.hist[func as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyConfig;
    use crate::policy::testing::validate;

    #[test]
    fn histogram_defaults_are_the_papers() {
        assert_eq!(
            validate("kind = \"hybrid-histogram\"").unwrap(),
            PolicyConfig::HybridHistogram(HistogramConfig {
                name: "hybrid-histogram".into(),
                rule: rule(),
            })
        );
        for (table, field) in [
            ("bin = \"0s\"", "bin"),
            ("range = \"1m\"\nbin = \"2m\"", "bin"),
            ("head = 0.99", "head"),
            ("cv_threshold = -1.0", "cv_threshold"),
        ] {
            let e = validate(&format!("kind = \"hybrid-histogram\"\n{table}")).unwrap_err();
            assert_eq!(e.field, Some(field), "{table}");
        }
    }

    fn rule() -> HistogramRule {
        HistogramRule {
            range: SimDuration::from_secs(4 * 3600),
            bin: SimDuration::from_secs(60),
            head: 0.05,
            tail: 0.99,
            margin: 0.1,
            cv_threshold: 2.0,
            oob_threshold: 0.5,
        }
    }

    #[test]
    fn a_periodic_function_gets_a_prewarm_and_a_short_keep_alive() {
        // Idle times of 30 minutes (± under a minute): all in bin 30.
        let mut h = IdleHistogram::new(240);
        for k in 0..50u64 {
            h.record(
                SimDuration::from_secs(30 * 60 + k % 50),
                SimDuration::from_secs(60),
            );
        }
        assert!(h.cv() > 2.0, "cv {}", h.cv());
        let d = rule().decide(&h);
        assert_eq!(d.prewarm, SimDuration::from_secs_f64(30.0 * 60.0 * 0.9));
        // Loaded from 27 min to 31 min × 1.1 = 34.1 min.
        assert_eq!(
            d.keep_alive,
            SimDuration::from_secs_f64(31.0 * 60.0 * 1.1 - 30.0 * 60.0 * 0.9)
        );
    }

    #[test]
    fn an_unpredictable_function_gets_the_whole_range() {
        let mut h = IdleHistogram::new(240);
        for k in 0..240u64 {
            h.record(
                SimDuration::from_secs(60 * k + 1),
                SimDuration::from_secs(60),
            );
        }
        assert!(h.cv() < 0.01);
        let d = rule().decide(&h);
        assert_eq!(d.prewarm, SimDuration::ZERO);
        assert_eq!(d.keep_alive, SimDuration::from_secs(4 * 3600));
    }

    #[test]
    fn out_of_range_idle_times_are_forecast() {
        let mut h = IdleHistogram::new(240);
        for _ in 0..3 {
            h.record(
                SimDuration::from_secs(10 * 3600),
                SimDuration::from_secs(60),
            );
        }
        let d = rule().decide(&h);
        assert_eq!(d.prewarm, SimDuration::from_secs_f64(10.0 * 3600.0 * 0.85));
        assert_eq!(
            d.keep_alive,
            SimDuration::from_secs_f64(10.0 * 3600.0 * 0.3)
        );
    }

    #[test]
    fn cv_matches_the_direct_formula() {
        let mut h = IdleHistogram::new(10);
        for (b, n) in [(0u64, 5), (3, 2), (9, 1)] {
            for _ in 0..n {
                h.record(
                    SimDuration::from_secs(60 * b + 5),
                    SimDuration::from_secs(60),
                );
            }
        }
        let counts = [5.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let mean: f64 = counts.iter().sum::<f64>() / 10.0;
        let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / 9.0;
        assert!((h.cv() - var.sqrt() / mean).abs() < 1e-12);
        assert_eq!(h.percentile_bin(0.5), 0);
        assert_eq!(h.percentile_bin(0.99), 9);
    }
}
