//! The cloud model: FaaS functions, VM pools, data movement, billing and price presets.
//!
//! Nothing here knows about requests or policies; the engine composes these parts.

pub mod billing;
pub mod coldstart_data;
pub mod deploy;
pub mod faas;
pub mod pricing;
pub mod storage;
pub mod vm;
