//! Where arrivals come from: a synthetic process drawn ahead in sorted blocks, or a trace stream.

use crate::kernel::{SimRng, SimTime};
use crate::workload::trace::Arrival;
use crate::workload::{ArrivalModel, Arrivals};

/// Where arrivals come from: a synthetic process, drawn ahead in blocks (the fast path), or any
/// stream.
// One per run: boxing the large variant would only add an indirection on the hot path.
#[allow(clippy::large_enum_variant)]
pub(super) enum Source {
    /// A synthetic process and its next arrival times, drawn [`BLOCK`] at a time: the draws of a
    /// block pipeline in one tight loop (the `ln` of each inter-arrival time no longer sits on
    /// the event loop's critical path), and the stream is already sorted, so it merges beside
    /// the event heap. The draws and their order are those of drawing one at a time.
    Synthetic {
        process: Arrivals,
        block: Vec<SimTime>,
        next: usize,
    },
    Stream(Box<dyn Iterator<Item = Arrival> + Send>),
}

/// Arrival times drawn ahead per block.
const BLOCK: usize = 256;

impl Source {
    pub(super) fn new(model: &ArrivalModel, rng: SimRng) -> Self {
        match model {
            ArrivalModel::Trace(_) => Source::Stream(model.open(rng)),
            other => Source::Synthetic {
                process: Arrivals::new(other.clone(), rng),
                block: Vec::with_capacity(BLOCK),
                next: 0,
            },
        }
    }

    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<Arrival> {
        match self {
            Source::Synthetic {
                process,
                block,
                next,
            } => {
                if *next == block.len() {
                    Self::refill(process, block);
                    *next = 0;
                }
                let time = *block.get(*next)?;
                *next += 1;
                Some(Arrival {
                    time,
                    class: 0,
                    service: None,
                })
            }
            Source::Stream(s) => s.next(),
        }
    }

    /// Draws the next block of arrival times (fewer, or none, when the process ends).
    #[inline(never)]
    fn refill(process: &mut Arrivals, block: &mut Vec<SimTime>) {
        block.clear();
        while block.len() < BLOCK {
            match process.next_time() {
                Some(t) => block.push(t),
                None => break,
            }
        }
    }
}
