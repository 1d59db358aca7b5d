//! Simulated time: integer nanoseconds.
//!
//! `SimTime` is an instant since the start of the run, `SimDuration` a span. Both are `u64`
//! nanoseconds (about 584 years). Floating point appears only at the edges: [`SimDuration::from_secs_f64`]
//! rounds to the nearest nanosecond (ties away from zero), and reports divide back to seconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds per second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any event.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Seconds since the start, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// The span since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of whole nanoseconds.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// A span of whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000_000)
    }
    /// A span of whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * NANOS_PER_SEC)
    }
    /// Converts seconds to nanoseconds, rounding to the nearest nanosecond; negative and NaN
    /// inputs become zero, overlarge ones saturate.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> Self {
        // For positive inputs, adding ½ and truncating rounds half away from zero like
        // `f64::round`, without a library call. No test is needed for the others: a NaN stays
        // NaN and anything ≤ 0 ends at most at ½, and `as` maps NaN and every value below 1 to
        // 0 (and saturates overlarge ones).
        SimDuration((secs * NANOS_PER_SEC as f64 + 0.5) as u64)
    }
    /// The span in seconds, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Scales the span by a non-negative factor, rounding to the nearest nanosecond.
    pub fn mul_f64(self, factor: f64) -> Self {
        if factor == 1.0 {
            return self;
        }
        SimDuration::from_secs_f64(self.as_secs_f64() * factor)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns.is_multiple_of(NANOS_PER_SEC) {
            write!(f, "{}s", ns / NANOS_PER_SEC)
        } else if ns.is_multiple_of(1_000_000) {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1_000) {
            write!(f, "{}us", ns / 1_000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_to_nearest_nanosecond() {
        assert_eq!(SimDuration::from_secs_f64(1.2345e-3).0, 1_234_500);
        assert_eq!(SimDuration::from_secs_f64(0.4e-9).0, 0);
        assert_eq!(SimDuration::from_secs_f64(0.6e-9).0, 1);
        assert_eq!(SimDuration::from_secs_f64(-3.0).0, 0);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN).0, 0);
        assert_eq!(SimDuration::from_secs_f64(-0.0).0, 0);
        assert_eq!(SimDuration::from_secs_f64(-0.4e-9).0, 0);
        assert_eq!(SimDuration::from_secs_f64(f64::NEG_INFINITY).0, 0);
        assert_eq!(SimDuration::from_secs_f64(f64::INFINITY).0, u64::MAX);
        assert_eq!(SimDuration::from_secs_f64(1e30).0, u64::MAX);
    }

    #[test]
    fn display_picks_the_coarsest_exact_unit() {
        assert_eq!(SimDuration::from_secs(10).to_string(), "10s");
        assert_eq!(SimDuration::from_millis(250).to_string(), "250ms");
        assert_eq!(SimDuration(1_500).to_string(), "1500ns");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimDuration(5), SimTime::MAX);
        assert_eq!(SimTime(3) - SimTime(5), SimDuration(0));
    }
}
