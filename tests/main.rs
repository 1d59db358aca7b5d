//! Integration tests: one binary, one module per concern.

mod common;

mod bad_input;
mod billing;
mod coldstart;
mod determinism;
mod plans;
mod queueing;
mod traces;
