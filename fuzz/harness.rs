//! The code paths the fuzz targets drive, shared with the regression test `tests/fuzz_corpus.rs`
//! (which includes this file with `#[path]`): only `std` and `infersim`, no libFuzzer.
//!
//! Every function takes the fuzzer's bytes and a scratch directory, and must return without
//! panicking, hanging or exhausting memory whatever the bytes are.

#![allow(dead_code)]

use std::path::Path;

use infersim::scenario::Scenario;
use infersim::sweep::Plan;

/// Limits written into every scenario the harness runs, so that a valid run stays short.
pub const RUN_LIMITS: &str = "[run.limits]\nrequests = 5000\nsamples = 2000\ntimer_events = 20000\ninstances = 1000\nretries = 10\ndrain = \"10m\"\n";

/// Sweeps with more points than this are parsed and counted but not expanded (expanding one
/// validates every point: a million points takes minutes, which is slow, not broken).
pub const MAX_EXPANDED_POINTS: usize = 2000;

/// `scenario_text`: the bytes, as UTF-8, validated as a scenario file in `dir` (its `[sweep]`
/// table stripped as `infersim run` does, and the text as written).
pub fn scenario_text(dir: &Path, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = dir.join("fuzz.toml");
    let _ = Scenario::from_str_at(text, &path);
    let stripped = infersim::scenario::strip_sweep_table(text);
    if stripped != text {
        let _ = Scenario::from_str_at(&stripped, &path);
    }
}

/// The trace formats `trace_readers` feeds; the first byte of the input picks one (and the
/// options), the rest is the file.
const TRACE_CASES: usize = 8;

fn trace_case(sel: u8) -> (&'static str, &'static str, &'static str, bool) {
    // (file name, options after `path`, what the fuzzed file is, durations recorded)
    match sel as usize % TRACE_CASES {
        0 => (
            "counts.txt",
            r#"format = "per-second-counts""#,
            "trace",
            false,
        ),
        1 => (
            "llm.csv",
            r#"format = "azure-llm-2023", prefill = "1ms", decode = "2ms", base = "1ms""#,
            "trace",
            true,
        ),
        2 => (
            "mooncake.jsonl",
            r#"format = "mooncake", prefill = "1ms", decode = "2ms""#,
            "trace",
            true,
        ),
        3 => (
            "any.csv",
            r#"format = "csv", time_column = "t", time_unit = "ms", function_column = "fn", duration_column = "d", duration_unit = "ms", memory_column = "m""#,
            "trace",
            true,
        ),
        4 => (
            "pacslab.csv",
            r#"format = "pacslab-lambda""#,
            "trace",
            false,
        ),
        5 => (
            "inv.csv",
            r#"format = "azure-functions-2019""#,
            "trace",
            false,
        ),
        6 => (
            "durations.csv",
            r#"format = "azure-functions-2019", durations = "durations.csv""#,
            "durations",
            true,
        ),
        _ => (
            "memory.csv",
            r#"format = "azure-functions-2019", memory = "memory.csv""#,
            "memory",
            false,
        ),
    }
}

/// A small valid Azure 2019 invocations file, for the cases that fuzz its companions.
const AZURE_INVOCATIONS: &str =
    "HashFunction,HashApp,HashOwner,minute_1,minute_2\nf1,a1,o1,3,1\nf2,a2,o1,0,2\n";

/// `trace_readers`: byte 0 picks a format and options, the rest is written to the trace file;
/// a scenario replaying it is validated (which reads the whole trace once) and, if valid, run
/// briefly (one replication of each policy).
pub fn trace_readers(dir: &Path, data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (file, options, fuzzed, durations) = trace_case(sel);
    let spread = match (sel as usize / TRACE_CASES) % 4 {
        0 => "",
        1 => r#", spread = "uniform""#,
        2 => r#", spread = "equally-spaced""#,
        _ => r#", spread = "poisson""#,
    };
    let window = if sel & 0x80 != 0 {
        r#", repeat = 2, end = "3s", speed = 2.0"#
    } else {
        ""
    };
    let trace = match fuzzed {
        "trace" => file,
        _ => "inv.csv",
    };
    if std::fs::write(dir.join(file), body).is_err() {
        return;
    }
    if fuzzed != "trace" && std::fs::write(dir.join("inv.csv"), AZURE_INVOCATIONS).is_err() {
        return;
    }
    let service = if durations {
        r#"{ kind = "from-trace" }"#
    } else {
        r#"{ kind = "constant", value = "10ms" }"#
    };
    let text = format!(
        "name = \"fuzz-trace\"\n[run]\nhorizon = \"10s\"\nreplications = 1\n{RUN_LIMITS}\
         [workload]\narrivals = {{ kind = \"trace\", path = \"{trace}\", {options}{spread}{window} }}\n\
         [[stage]]\nservice = {service}\n\
         [[policy]]\nkind = \"all-faas\"\n[[policy]]\nkind = \"hybrid\"\nvms = 1\n"
    );
    run_if_valid(&text, &dir.join("fuzz-trace.toml"));
}

/// Validates `text` at `path` and, if it is valid, runs one replication of every policy.
pub fn run_if_valid(text: &str, path: &Path) {
    if let Ok(sc) = Scenario::from_str_at(text, path) {
        let _ = infersim::run_scenario(&sc, None, Some(1));
    }
}

/// The scenario every `sweep_expand` input is appended to (as the body of its `[sweep]`).
pub const SWEEP_BASE: &str = r#"name = "fuzz-sweep"
[run]
horizon = "60s"
replications = 2
seed = 3
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
input = "10KB"
[platform.faas]
memory = "1024MB"
keep_alive = "1m"
cold_start = { kind = "lognormal", median = "300ms", p99 = "1s" }
[platform.vm]
instance = "c6i.xlarge"
[[stage]]
name = "infer"
service = { kind = "lognormal", median = "100ms", p99 = "300ms" }
tasks = 1
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-autoscale"
min = 1
max = 4
interval = "30s"
[[policy]]
kind = "hybrid"
vms = 1
"#;

/// `sweep_expand`: the bytes, as UTF-8, are the body of a `[sweep]` table appended to
/// [`SWEEP_BASE`]; the sweep is parsed and (when it has at most [`MAX_EXPANDED_POINTS`]
/// points) expanded, every point validated, as `infersim validate` and `infersim sweep` do.
pub fn sweep_expand(dir: &Path, data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!("{SWEEP_BASE}[sweep]\n{body}\n");
    let path = dir.join("fuzz-sweep.toml");
    let Ok((_, spec)) = infersim::sweep::spec::strip_sweep(&text, &path) else {
        return;
    };
    if spec.as_ref().is_some_and(|s| s.len() > MAX_EXPANDED_POINTS) {
        return;
    }
    let _ = Plan::from_text(&text, &path, None, None);
}

/// `routing_readers`: byte 0 picks a MoE routing reader — infersim's `routing` JSONL, or the
/// recorded Mixtral JSONL with an expected shape and incomplete-token rule taken from the
/// byte — and the rest, as UTF-8, is the file. A trace that reads is summarised and fitted as
/// `infersim trace inspect` does (popularity skew, reuse, transitions).
pub fn routing_readers(data: &[u8]) {
    use infersim::moe::routing::mixtral::{self, Incomplete, MixtralOptions};
    use infersim::moe::routing::{Shape, format, summary::RoutingSummary};
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let path = Path::new("fuzz-routing.jsonl");
    let read = if sel & 1 == 0 {
        format::parse(text, path).map(|t| (t, None))
    } else {
        let opts = MixtralOptions {
            shape: Shape {
                layers: 1 + (sel >> 1 & 0x7) as usize * 5,
                experts: 1 + (sel >> 4 & 0x3) as usize * 3,
                top_k: 1 + (sel >> 6 & 0x1) as usize,
            },
            incomplete: if sel & 0x80 != 0 {
                Incomplete::Reject
            } else {
                Incomplete::Drop
            },
        };
        mixtral::parse(text, path, &opts).map(|(t, r)| (t, Some(r)))
    };
    if let Ok((trace, report)) = read
        && let Ok(summary) = RoutingSummary::new(&trace, report)
    {
        let _ = summary.rows();
        let _ = summary.text();
        let _ = trace.batches(1 + trace.len() / 3);
    }
}
