//! Named random-number streams.
//!
//! Every purpose (arrivals, cold starts, boot times, each request's own draws, …) gets its own
//! generator derived from `(master seed, stream name, replication[, index])`, so adding a draw in
//! one place never shifts the numbers seen elsewhere, and every policy of a scenario sees the same
//! requests (common random numbers). The generator is `rand_pcg::Pcg64Mcg`: portable, fast, and
//! with a documented algorithm, so a seed means the same thing on every machine.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// The generator used everywhere in the simulator.
pub type SimRng = Pcg64Mcg;

/// Well-known stream names.
pub mod streams {
    /// Arrival times.
    pub const ARRIVALS: &str = "arrivals";
    /// Per-request draws (service times, exits, sizes): combined with the request index.
    pub const REQUEST: &str = "request";
    /// FaaS cold-start durations.
    pub const COLD_START: &str = "cold-start";
    /// VM boot durations.
    pub const BOOT: &str = "vm-boot";
    /// Platform choices (random instance reuse, retries).
    pub const PLATFORM: &str = "platform";
    /// Stochastic policies.
    pub const POLICY: &str = "policy";
    /// Coded plans: each worker's service draw and fate (group × 64 + task index).
    pub const WORKER: &str = "worker";
    /// Coded plans: each group's Byzantine workers.
    pub const BYZANTINE: &str = "byzantine";
    /// Coded plans: the worker pair slowed by background load in each interval.
    pub const BACKGROUND: &str = "background-load";
}

/// SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a stream name (stable across Rust versions, unlike `DefaultHasher`).
fn name_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Derives the 128-bit seed of one stream.
fn derive(seed: u64, name: &str, replication: u64, index: u64) -> u128 {
    let a = mix(seed ^ mix(name_hash(name)));
    let b = mix(a ^ mix(replication.wrapping_add(0x1234_5678)));
    let c = mix(b ^ mix(index.wrapping_add(0x0009_8765_4321)));
    let d = mix(c ^ 0xDEAD_BEEF_CAFE_F00D);
    ((c as u128) << 64) | d as u128
}

/// The generator of stream `name` for one replication.
pub fn stream(seed: u64, name: &str, replication: u64) -> SimRng {
    indexed_stream(seed, name, replication, 0)
}

/// The generator of stream `name`, item `index` (e.g. one request), for one replication.
#[inline]
pub fn indexed_stream(seed: u64, name: &str, replication: u64, index: u64) -> SimRng {
    Pcg64Mcg::new(derive(seed, name, replication, index) | 1)
}

/// A precomputed stream family, to derive per-item generators cheaply in hot loops.
#[derive(Clone, Copy, Debug)]
pub struct StreamFamily {
    base: u64,
}

impl StreamFamily {
    /// The family of stream `name` in one replication.
    pub fn new(seed: u64, name: &str, replication: u64) -> Self {
        StreamFamily {
            base: mix(mix(seed ^ mix(name_hash(name))) ^ mix(replication.wrapping_add(0x1234_5678))),
        }
    }
    /// The generator of item `index`.
    #[inline]
    pub fn get(&self, index: u64) -> SimRng {
        let c = mix(self.base ^ mix(index.wrapping_add(0x0009_8765_4321)));
        let d = mix(c ^ 0xDEAD_BEEF_CAFE_F00D);
        Pcg64Mcg::new((((c as u128) << 64) | d as u128) | 1)
    }
}

/// A generator seeded from a plain `u64`, for tests and tools outside a run.
pub fn from_seed(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(1, "arrivals", 0).random();
        let a2: u64 = stream(1, "arrivals", 0).random();
        let b: u64 = stream(1, "service", 0).random();
        let c: u64 = stream(1, "arrivals", 1).random();
        let d: u64 = stream(2, "arrivals", 0).random();
        assert_eq!(a, a2);
        assert!(a != b && a != c && a != d && b != c);
    }

    #[test]
    fn family_matches_indexed_stream() {
        let fam = StreamFamily::new(9, "request", 3);
        for i in [0u64, 1, 99, 1 << 40] {
            let x: u64 = fam.get(i).random();
            let y: u64 = indexed_stream(9, "request", 3, i).random();
            assert_eq!(x, y);
        }
    }

    #[test]
    fn uniform_draws_look_uniform() {
        // Chi-square over 10 bins with 100,000 draws; 9 d.o.f., 0.1% critical value 27.88.
        let mut rng = stream(42, "chi", 0);
        let mut bins = [0u32; 10];
        for _ in 0..100_000 {
            bins[(rng.random::<f64>() * 10.0) as usize] += 1;
        }
        let chi2: f64 = bins
            .iter()
            .map(|&o| (o as f64 - 10_000.0).powi(2) / 10_000.0)
            .sum();
        assert!(chi2 < 27.88, "chi2 = {chi2}");
    }
}
