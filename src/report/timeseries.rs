//! The sampled time series of a run, stored run-length encoded.
//!
//! Between two events nothing in the system changes, so the samples that fall between them are
//! equal except for their time (and an arrival rate of zero). A long quiet stretch — a batch
//! that computes for hours, a drain — is kept as one stored sample and a repeat count, so its
//! memory follows the number of events, not the number of sampling intervals. Iterating gives
//! every sample, exactly as if each had been stored.

use super::Sample;
use crate::kernel::{SimDuration, SimTime};

/// A stored sample and how many samples follow it unchanged, one interval apart.
#[derive(Clone, Debug, PartialEq)]
struct Stretch {
    first: Sample,
    at: SimTime,
    repeats: u64,
}

/// The samples of a run, every `interval` of simulated time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    interval: SimDuration,
    stretches: Vec<Stretch>,
    len: u64,
}

impl TimeSeries {
    /// An empty series sampled every `interval`.
    pub fn new(interval: SimDuration) -> Self {
        TimeSeries {
            interval,
            stretches: Vec::new(),
            len: 0,
        }
    }

    /// Appends the sample taken at `at` and `repeats` more, at `at + interval`, `at + 2 ×
    /// interval`, …, equal to it but with no arrivals in their interval.
    pub fn push(&mut self, at: SimTime, sample: Sample, repeats: u64) {
        debug_assert_eq!(sample.time_s, at.as_secs_f64());
        self.len += 1 + repeats;
        self.stretches.push(Stretch {
            first: sample,
            at,
            repeats,
        });
    }

    /// The number of samples.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// How many samples are stored, each with its repeats: what the series' memory follows.
    pub fn stored(&self) -> usize {
        self.stretches.len()
    }

    /// True when no sample was taken.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every sample, in time order.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        let iv = self.interval.as_nanos();
        self.stretches.iter().flat_map(move |s| {
            std::iter::once(s.first.clone()).chain((1..=s.repeats).map(move |j| Sample {
                time_s: SimTime(s.at.0 + j * iv).as_secs_f64(),
                arrival_rate_rps: 0.0,
                ..s.first.clone()
            }))
        })
    }
}

impl<'a> IntoIterator for &'a TimeSeries {
    type Item = Sample;
    type IntoIter = Box<dyn Iterator<Item = Sample> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: SimTime, in_flight: u64, rate: f64) -> Sample {
        Sample {
            time_s: at.as_secs_f64(),
            arrival_rate_rps: rate,
            in_flight,
            ..Sample::default()
        }
    }

    #[test]
    fn repeats_expand_one_interval_apart_with_no_arrivals() {
        let iv = SimDuration::from_millis(250);
        let mut ts = TimeSeries::new(iv);
        ts.push(SimTime::ZERO, sample(SimTime::ZERO, 0, 0.0), 0);
        let t1 = SimTime::ZERO + iv;
        ts.push(t1, sample(t1, 3, 8.0), 2);
        let t4 = SimTime(4 * iv.as_nanos());
        ts.push(t4, sample(t4, 1, 4.0), 0);
        let got: Vec<Sample> = ts.iter().collect();
        assert_eq!(ts.len(), 5);
        assert_eq!(
            got.iter().map(|s| s.time_s).collect::<Vec<_>>(),
            vec![0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(
            got.iter().map(|s| s.arrival_rate_rps).collect::<Vec<_>>(),
            vec![0.0, 8.0, 0.0, 0.0, 4.0]
        );
        assert_eq!(
            got.iter().map(|s| s.in_flight).collect::<Vec<_>>(),
            vec![0, 3, 3, 3, 1]
        );
        assert_eq!((&ts).into_iter().count(), 5);
    }

    #[test]
    fn an_empty_series_has_no_samples() {
        let ts = TimeSeries::new(SimDuration::from_secs(1));
        assert!(ts.is_empty());
        assert_eq!(ts.iter().count(), 0);
    }
}
