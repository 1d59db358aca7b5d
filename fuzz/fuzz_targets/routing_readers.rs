//! Byte 0 picks a MoE routing reader and its options, the rest is the routing file: read,
//! summarised and fitted.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::routing_readers(data));
