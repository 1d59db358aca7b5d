//! Workloads: arrival processes and duration distributions.

pub mod arrivals;
pub mod dist;

pub use arrivals::{ArrivalModel, ArrivalSpec, Arrivals};
pub use dist::{Dist, DistSpec};
pub mod fit;
pub mod trace;
