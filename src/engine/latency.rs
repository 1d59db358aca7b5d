//! Request latencies: an HDR histogram fed in batches.

use hdrhistogram::Histogram;

/// Latencies recorded per batch.
const BATCH: usize = 256;

/// The latency histogram (3 significant digits, ns) with a small buffer in front: a request's
/// completion only stores its latency, and the batch is recorded in one loop, where the
/// histogram's index arithmetic and its scattered counter updates pipeline. The histogram is
/// the same as recording each value at once (counts do not depend on order).
pub struct Latencies {
    pending: Box<[u64; BATCH]>,
    len: usize,
    hist: Histogram<u64>,
}

impl Latencies {
    /// An empty record.
    pub fn new() -> Self {
        Latencies {
            pending: Box::new([0; BATCH]),
            len: 0,
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
        }
    }

    /// Records one latency in ns (at least 1).
    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
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

    /// The histogram of everything recorded.
    pub fn histogram(&mut self) -> &Histogram<u64> {
        self.flush();
        &self.hist
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_histogram_equals_direct_recording() {
        let mut direct = Histogram::<u64>::new(3).unwrap();
        let mut batched = Latencies::new();
        let mut x: u64 = 12345;
        // Several batches and a partial one; values over nine orders of magnitude.
        for _ in 0..(3 * BATCH + 17) {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 34) % 1_000_000_000 + 1;
            direct.record(v).unwrap();
            batched.record(v);
        }
        let h = batched.histogram();
        assert_eq!(h.len(), direct.len());
        assert_eq!(h.max(), direct.max());
        assert_eq!(h.min(), direct.min());
        for p in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(h.value_at_quantile(p), direct.value_at_quantile(p));
        }
    }
}
