//! Where arrivals come from: a synthetic process drawn ahead in sorted blocks, or a trace stream.

use crate::kernel::{SimRng, SimTime};
use crate::workload::trace::{Arrival, ArrivalStream, TraceError};
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
    /// A trace stream; a read error ends it and is kept for the engine to report.
    Stream {
        arrivals: ArrivalStream,
        error: Option<TraceError>,
    },
}

/// Arrival times drawn ahead per block.
const BLOCK: usize = 256;

impl Source {
    pub(super) fn new(model: &ArrivalModel, rng: SimRng) -> Self {
        match model {
            ArrivalModel::Trace(_) => Source::Stream {
                arrivals: model.open(rng),
                error: None,
            },
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
            Source::Stream { arrivals, error } => match arrivals.next()? {
                Ok(a) => Some(a),
                Err(e) => {
                    *error = Some(e);
                    None
                }
            },
        }
    }

    /// True when a read error ended the stream (the run cannot be completed).
    #[cold]
    pub(super) fn failed(&self) -> bool {
        matches!(self, Source::Stream { error: Some(_), .. })
    }

    /// The read error that ended the stream, if any.
    pub(super) fn take_error(&mut self) -> Option<TraceError> {
        match self {
            Source::Stream { error, .. } => error.take(),
            Source::Synthetic { .. } => None,
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
