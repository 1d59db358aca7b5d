//! Workloads: arrival processes and duration distributions.

pub mod arrivals;
pub mod dist;
pub mod exits;

pub use arrivals::{ArrivalModel, ArrivalSpec, Arrivals};
pub use dist::{Dist, DistSpec};
pub use exits::{ExitModel, ExitSpec, branchynet_exits};
pub mod batch;
pub mod fit;
pub mod trace;
