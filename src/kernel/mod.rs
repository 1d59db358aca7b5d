//! The discrete-event kernel: integer time, the event queue and random streams.
//!
//! The kernel knows nothing of clouds or models; the engine ([`crate::engine`]) drives it.

pub mod integral;
pub mod queue;
pub mod rng;
pub mod time;

pub use integral::Integral;
pub use queue::{EventKey, EventKeyTime, EventQueue, InPast};
pub use rng::{SimRng, StreamFamily};
pub use time::{NANOS_PER_SEC, SimDuration, SimTime};
