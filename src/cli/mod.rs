//! The subcommands of the `infersim` binary: one module each, owning its arguments and an
//! `execute` that returns the exit code; [`common`] holds what several of them share.

pub mod accuracy;
pub mod check;
pub mod common;
pub mod merge;
pub mod plot;
pub mod run;
pub mod sweep;
pub mod trace;
pub mod validate;
