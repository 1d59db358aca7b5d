//! What the engine records during a run (the latency histogram and the time series), and the
//! layout that turns a run's totals into its metrics in catalogue order.
//!
//! Counts stay plain integer fields of the engine for the hot path; at the end of the run the
//! engine computes each slot of the [`Layout`] from them, the recorder, the ledger and the
//! platform state.

use hdrhistogram::Histogram;

use super::{Metric, MetricKey, Presence};
use crate::kernel::{SimDuration, SimTime};
use crate::report::{Sample, TimeSeries};

/// Latencies recorded per batch.
const BATCH: usize = 256;

/// The latency histogram (3 significant digits, ns) with a small buffer in front: a request's
/// completion only stores its latency, and the batch is recorded in one loop, where the
/// histogram's index arithmetic and its scattered counter updates pipeline. The histogram is
/// the same as recording each value at once (counts do not depend on order).
struct Latencies {
    pending: Box<[u64; BATCH]>,
    len: usize,
    hist: Histogram<u64>,
}

impl Latencies {
    fn new() -> Self {
        Latencies {
            pending: Box::new([0; BATCH]),
            len: 0,
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
        }
    }

    #[inline(always)]
    fn record(&mut self, ns: u64) {
        if self.len == BATCH {
            self.flush();
        }
        self.pending[self.len] = ns.max(1);
        self.len += 1;
    }

    #[inline(never)]
    fn flush(&mut self) {
        for &v in &self.pending[..self.len] {
            // Auto-resizing: recording cannot fail for values ≥ 1.
            let _ = self.hist.record(v);
        }
        self.len = 0;
    }

    fn histogram(&mut self) -> &Histogram<u64> {
        self.flush();
        &self.hist
    }
}

/// What the engine writes into during a run: the end-to-end latencies of measured requests
/// (an HDR histogram, batched) and the time series.
pub struct Recorder {
    latency: Latencies,
    samples: TimeSeries,
}

impl Recorder {
    /// An empty record, for a time series sampled every `sample_interval`.
    pub fn new(sample_interval: SimDuration) -> Self {
        Recorder {
            latency: Latencies::new(),
            samples: TimeSeries::new(sample_interval),
        }
    }

    /// Records the latency of a completed request, in ns (at least 1).
    #[inline(always)]
    pub fn record_latency(&mut self, ns: u64) {
        self.latency.record(ns);
    }

    /// Appends the time-series sample taken at `at`, and `repeats` equal ones after it (see
    /// [`TimeSeries::push`]).
    pub fn record_samples(&mut self, at: SimTime, sample: Sample, repeats: u64) {
        self.samples.push(at, sample, repeats);
    }

    /// The histogram of every latency recorded (ns).
    pub fn latency(&mut self) -> &Histogram<u64> {
        self.latency.histogram()
    }

    /// The time series recorded.
    pub fn into_samples(self) -> TimeSeries {
        self.samples
    }
}

/// One value of a run's metrics: a metric and, for a per-stage metric, the stage's index in the
/// plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The metric.
    pub metric: Metric,
    /// The stage (per-stage metrics only).
    pub stage: Option<usize>,
}

/// What decides which metrics a run reports.
#[derive(Clone, Debug)]
pub struct Layout<'a> {
    /// The scenario sets `[run] slo`.
    pub slo: bool,
    /// The stage names, in plan order.
    pub stages: Vec<&'a str>,
    /// The run has several request classes (trace functions).
    pub several_functions: bool,
    /// The scenario has a coded policy.
    pub coded: bool,
    /// The scenario has a `[moe]` model.
    pub moe: bool,
}

impl Layout<'_> {
    /// True when a run reports `metric`.
    pub fn has(&self, metric: Metric) -> bool {
        match metric.presence() {
            Presence::Always => true,
            Presence::WithSlo => self.slo,
            Presence::MultiStage => self.stages.len() > 1,
            Presence::SeveralFunctions => self.several_functions,
            Presence::Coded => self.coded,
            Presence::Moe => self.moe,
        }
    }

    /// The run's values in order: the catalogue's, the per-stage metrics as one block where the
    /// catalogue lists them (for each stage, its per-stage metrics in catalogue order).
    pub fn slots(&self) -> Vec<Slot> {
        let mut out = Vec::new();
        let mut stage_block_done = false;
        for &m in Metric::ALL {
            if !m.per_stage() {
                if self.has(m) {
                    out.push(Slot {
                        metric: m,
                        stage: None,
                    });
                }
            } else if !stage_block_done {
                stage_block_done = true;
                for i in 0..self.stages.len() {
                    for &s in Metric::ALL {
                        if s.per_stage() && self.has(s) {
                            out.push(Slot {
                                metric: s,
                                stage: Some(i),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// The key of a slot.
    pub fn key(&self, slot: Slot) -> MetricKey {
        match slot.stage {
            Some(i) => MetricKey::stage(slot.metric, self.stages[i]),
            None => MetricKey::from(slot.metric),
        }
    }

    /// The run's metrics: every slot with its value.
    pub fn assemble(&self, mut value: impl FnMut(Slot) -> f64) -> Vec<(MetricKey, f64)> {
        self.slots()
            .into_iter()
            .map(|s| (self.key(s), value(s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_histogram_equals_direct_recording() {
        let mut direct = Histogram::<u64>::new(3).unwrap();
        let mut batched = Recorder::new(SimDuration::from_secs(1));
        let mut x: u64 = 12345;
        // Several batches and a partial one; values over nine orders of magnitude.
        for _ in 0..(3 * BATCH + 17) {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 34) % 1_000_000_000 + 1;
            direct.record(v).unwrap();
            batched.record_latency(v);
        }
        let h = batched.latency();
        assert_eq!(h.len(), direct.len());
        assert_eq!(h.max(), direct.max());
        assert_eq!(h.min(), direct.min());
        for p in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(h.value_at_quantile(p), direct.value_at_quantile(p));
        }
    }

    #[test]
    fn layouts_follow_presence() {
        let one = Layout {
            slo: false,
            stages: vec!["a"],
            several_functions: false,
            coded: false,
            moe: false,
        };
        let names: Vec<String> = one
            .assemble(|_| 0.0)
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert!(names.contains(&"stage_a_vm_share".to_string()));
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with("_entered") || n.ends_with("_functions"))
        );
        assert!(!names.contains(&Metric::SloViolationRate.name().to_string()));
        let all = Layout {
            slo: true,
            stages: vec!["a", "b"],
            several_functions: true,
            coded: true,
            moe: true,
        };
        let slots = all.slots();
        assert_eq!(
            slots.len(),
            Metric::ALL.len() + Metric::ALL.iter().filter(|m| m.per_stage()).count()
        );
        let stages: Vec<Option<usize>> = slots.iter().filter_map(|s| s.stage.map(Some)).collect();
        assert_eq!(stages, [0, 0, 0, 1, 1, 1].map(Some));
    }
}
