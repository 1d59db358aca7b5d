//! Integration tests: one binary, one module per concern.

mod common;

mod bad_input;
mod billing;
mod check;
mod coded;
mod coded_serving;
mod coldstart;
mod determinism;
mod early_exit;
mod fuzz_corpus;
mod hostile;
mod moe_cost;
mod moe_refine;
mod moe_routing;
mod moe_sim;
mod plans;
mod plots;
mod properties;
mod queueing;
mod readme;
mod seam;
mod sweep;
mod traces;
