//! Worker faults of coded and replicated plans: random slowdowns, background-load stragglers,
//! failed workers and Byzantine workers.
//!
//! Every draw comes from a stream keyed by the group (its first member's arrival index) and the
//! task's index in the stage, or by the time interval, never from a shared sequence: every
//! scheme of a scenario sees the same fate for worker `i` of group `g` (common random numbers),
//! whatever the number of workers it starts.

use rand::RngExt;

use crate::kernel::{SimDuration, SimRng, SimTime, StreamFamily};

/// Which workers of a group return corrupted outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Byzantine {
    /// None.
    #[default]
    None,
    /// Exactly this many per group, uniformly at random among its workers.
    PerGroup(u16),
    /// Each worker independently with this probability.
    Fraction(f64),
}

/// How corrupted outputs are corrupted (it matters to the measured accuracy tables).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Adversary {
    /// Gaussian noise of standard deviation `sigma` added to every output coordinate.
    Gaussian {
        /// Standard deviation.
        sigma: f64,
    },
    /// The output negated.
    #[default]
    SignFlip,
}

/// The fault model of a plan's workers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WorkerFaults {
    /// With this probability a worker is slowed by the factor.
    pub slowdown: Option<(f64, f64)>,
    /// Background load: in each interval of this length a random pair of worker positions is
    /// slowed by the factor (the paper's AWS runs: a random worker pair exchanging traffic).
    pub background: Option<(SimDuration, f64)>,
    /// A worker fails (returns no answer; its invocation ends in an error at the time it would
    /// have answered) with this probability.
    pub fail_probability: f64,
    /// Byzantine workers.
    pub byzantine: Byzantine,
    /// How Byzantine outputs are corrupted.
    pub adversary: Adversary,
}

/// What happens to one worker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fate {
    /// Its service time is multiplied by this.
    pub factor: f64,
    /// It fails (no answer).
    pub fails: bool,
}

/// The streams a run draws worker fates from.
#[derive(Clone, Copy, Debug)]
pub struct FaultStreams {
    /// Per worker (group × 64 + task index): its service draw, then its fate.
    pub worker: StreamFamily,
    /// Per group: its Byzantine workers.
    pub byzantine: StreamFamily,
    /// Per background interval: the slowed pair.
    pub background: StreamFamily,
}

impl WorkerFaults {
    /// The stream of worker `task` of the group whose first member is arrival `group`.
    #[inline]
    pub fn worker_rng(streams: &FaultStreams, group: u64, task: u16) -> SimRng {
        streams
            .worker
            .get(group.wrapping_mul(64).wrapping_add(task as u64))
    }

    /// The fate of worker `task` of a group of `n` workers, starting at `start`; `rng` is the
    /// worker's stream after its service draw.
    pub fn fate(
        &self,
        streams: &FaultStreams,
        rng: &mut SimRng,
        task: u16,
        n: u16,
        start: SimTime,
    ) -> Fate {
        let mut factor = 1.0;
        // Always draw both uniforms, so a setting changes no other draw.
        let (u_slow, u_fail) = (rng.random::<f64>(), rng.random::<f64>());
        if let Some((p, f)) = self.slowdown
            && u_slow < p
        {
            factor *= f;
        }
        if let Some((interval, f)) = self.background
            && n >= 2
            && self
                .background_pair(streams, interval, start, n)
                .contains(&task)
        {
            factor *= f;
        }
        Fate {
            factor,
            fails: u_fail < self.fail_probability,
        }
    }

    /// The two worker positions (of `n`) slowed by background load in the interval holding `t`.
    pub fn background_pair(
        &self,
        streams: &FaultStreams,
        interval: SimDuration,
        t: SimTime,
        n: u16,
    ) -> [u16; 2] {
        let k = t.0 / interval.as_nanos().max(1);
        let mut rng = streams.background.get(k);
        let a = rng.random_range(0..n);
        let mut b = rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        [a, b]
    }

    /// The Byzantine workers (bit per task index) of the group whose first member is arrival
    /// `group`, among its `n` workers.
    pub fn byzantine_mask(&self, streams: &FaultStreams, group: u64, n: u16) -> u64 {
        match self.byzantine {
            Byzantine::None => 0,
            Byzantine::PerGroup(e) => {
                let mut rng = streams.byzantine.get(group);
                let mut idx: Vec<u16> = (0..n).collect();
                // A partial Fisher–Yates shuffle: the first e positions are a uniform e-subset.
                let e = e.min(n);
                for i in 0..e as usize {
                    let j = rng.random_range(i..n as usize);
                    idx.swap(i, j);
                }
                idx[..e as usize].iter().fold(0, |m, &i| m | 1u64 << i)
            }
            Byzantine::Fraction(f) => {
                let mut rng = streams.byzantine.get(group);
                (0..n).fold(0, |m, i| {
                    if rng.random::<f64>() < f {
                        m | 1u64 << i
                    } else {
                        m
                    }
                })
            }
        }
    }

    /// True when some fault is configured.
    pub fn any(&self) -> bool {
        self.slowdown.is_some()
            || self.background.is_some()
            || self.fail_probability > 0.0
            || self.byzantine != Byzantine::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams() -> FaultStreams {
        FaultStreams {
            worker: StreamFamily::new(1, "worker", 0),
            byzantine: StreamFamily::new(1, "byzantine", 0),
            background: StreamFamily::new(1, "background", 0),
        }
    }

    #[test]
    fn slowdowns_hit_the_configured_fraction_of_workers() {
        let f = WorkerFaults {
            slowdown: Some((0.1, 5.0)),
            ..Default::default()
        };
        let s = streams();
        let n = 20_000;
        let slowed = (0..n)
            .filter(|&g| {
                let mut rng = WorkerFaults::worker_rng(&s, g, 0);
                f.fate(&s, &mut rng, 0, 4, SimTime(0)).factor == 5.0
            })
            .count();
        // Binomial(20000, 0.1): sd ≈ 42; 5 sd either side.
        assert!((1790..2210).contains(&slowed), "{slowed}");
    }

    #[test]
    fn per_group_byzantine_picks_exactly_e_distinct_workers() {
        let f = WorkerFaults {
            byzantine: Byzantine::PerGroup(3),
            ..Default::default()
        };
        let s = streams();
        let mut hits = [0u32; 10];
        for g in 0..5_000 {
            let m = f.byzantine_mask(&s, g, 10);
            assert_eq!(m.count_ones(), 3);
            assert_eq!(m >> 10, 0);
            for (i, h) in hits.iter_mut().enumerate() {
                *h += (m >> i & 1) as u32;
            }
        }
        // Each position is Byzantine in 3/10 of groups: 1,500 ± 5 sd (sd ≈ 32).
        assert!(hits.iter().all(|&h| (1340..1660).contains(&h)), "{hits:?}");
    }

    #[test]
    fn the_background_pair_is_two_distinct_workers_fixed_within_an_interval() {
        let f = WorkerFaults::default();
        let s = streams();
        let iv = SimDuration::from_secs(1);
        for k in 0..200u64 {
            let t0 = SimTime(k * 1_000_000_000);
            let p = f.background_pair(&s, iv, t0, 5);
            assert_ne!(p[0], p[1]);
            assert!(p[0] < 5 && p[1] < 5);
            assert_eq!(p, f.background_pair(&s, iv, SimTime(t0.0 + 999_999_999), 5));
        }
    }

    #[test]
    fn a_worker_sees_the_same_fate_whatever_the_group_size() {
        let f = WorkerFaults {
            slowdown: Some((0.3, 4.0)),
            fail_probability: 0.2,
            ..Default::default()
        };
        let s = streams();
        for g in 0..500 {
            for t in 0..4 {
                let a = f.fate(
                    &s,
                    &mut WorkerFaults::worker_rng(&s, g, t),
                    t,
                    4,
                    SimTime(0),
                );
                let b = f.fate(
                    &s,
                    &mut WorkerFaults::worker_rng(&s, g, t),
                    t,
                    13,
                    SimTime(0),
                );
                assert_eq!(a, b);
            }
        }
    }
}
