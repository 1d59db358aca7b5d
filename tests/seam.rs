//! The engine seam driven through plan shapes the `[[stage]]`-only engine could not express:
//! tasks on named functions with data-determined durations, grouped requests with an any-k
//! completion and a group timeout, and a per-member completion rule. Every expected value is
//! worked by hand in the comments.

use infersim::report::RunResult;

use crate::common::scenario;

/// aws-lambda-2025, x86_64: $ per GB-s and per request.
const GB_S: f64 = 0.000_016_666_7;
const FEE: f64 = 0.000_000_2;

fn run(text: &str) -> RunResult {
    infersim::engine::run(&scenario(text), 0, 0).expect("the run reads no trace")
}

fn get(r: &RunResult, name: &str) -> f64 {
    r.get_named(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no metric `{name}` in {:?}", r.metrics))
}

#[track_caller]
fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
        "got {got}, want {want}"
    );
}

/// Cold starts of 100 ms that add to the service time and are not billed, no warm-start
/// overhead, 1 vCPU per 1,024 MB.
const PLATFORM: &str = r#"
[platform.faas]
mb_per_vcpu = 1024
cold_start = { kind = "constant", value = "100ms" }
cold_start_mode = "adds-to-service"
bill_init = false
warm_start = { kind = "constant", value = "0s" }
keep_alive = "10m"
"#;

#[test]
fn tasks_on_named_functions_run_their_work_at_each_functions_vcpu_share() {
    let text = format!(
        r#"
name = "named-functions"
[run]
horizon = "60s"
[workload]
arrivals = {{ kind = "timestamps", times = ["1s"] }}
{PLATFORM}
[[function]]
name = "half"
memory = "512MB"
[[function]]
name = "one"
memory = "1024MB"
[[function]]
name = "two"
memory = "2048MB"

[[stage]]
name = "scatter"
parallelism = 2
task = [
  {{ function = "half", cpu = "1s" }},
  {{ function = "one", cpu = "1s" }},
  {{ function = "two", cpu = "1s" }},
]
[[policy]]
kind = "all-faas"
"#
    );
    let r = run(&text);
    // 1 s of work on one vCPU: 0.5 vCPU → 2 s, 1 vCPU → 1 s, 2 vCPUs (parallelism 2) → 0.5 s.
    // Each starts cold (+100 ms, not billed); the stage completes with its slowest task:
    // 1 s + 0.1 s + 2 s = 3.1 s, a latency of 2.1 s.
    close(get(&r, "latency_mean_s"), 2.1);
    assert_eq!(get(&r, "invocations"), 3.0);
    assert_eq!(get(&r, "cold_starts"), 3.0);
    // Billed: 512 MB × 2,000 ms + 1,024 MB × 1,000 ms + 2,048 MB × 500 ms = 3,072,000 MB-ms
    // = 3 GB-s; three request fees.
    close(get(&r, "cost_faas_compute_usd"), 3.0 * GB_S);
    close(get(&r, "cost_faas_requests_usd"), 3.0 * FEE);
    // functions.csv has one row per declared function, by name, with its memory.
    let rows: Vec<(&str, u32, u64)> = r
        .functions
        .iter()
        .map(|f| (f.function.as_str(), f.memory_mb, f.invocations))
        .collect();
    assert_eq!(rows, [("half", 512, 1), ("one", 1024, 1), ("two", 2048, 1)]);
}

#[test]
fn groups_of_four_complete_at_two_of_four_and_a_partial_group_closes_at_its_timeout() {
    let text = format!(
        r#"
name = "groups"
[run]
horizon = "60s"
[workload]
arrivals = {{ kind = "timestamps", times = ["0s", "1s", "2s", "3s", "10s", "11s"] }}
group = {{ size = 4, timeout = "5s" }}
{PLATFORM}
[[function]]
name = "worker"
memory = "1024MB"

[[stage]]
name = "coded"
task = [
  {{ function = "worker", time = "1s" }},
  {{ function = "worker", time = "2s" }},
  {{ function = "worker", time = "3s" }},
  {{ function = "worker", time = "4s" }},
]
completion = {{ kind = "any", k = 2 }}
[[policy]]
kind = "all-faas"
"#
    );
    let r = run(&text);
    // Group 1 = the arrivals at 0, 1, 2, 3 s: full at 3 s. Four cold instances (+0.1 s); the
    // second task to finish ends at 3 + 0.1 + 2 = 5.1 s: member latencies 5.1, 4.1, 3.1, 2.1.
    // The 3 s and 4 s tasks are stragglers: invocations run on (ending at 6.1 and 7.1 s).
    // Group 2 = 10 s and 11 s, partial: it closes at its timeout, 10 + 5 = 15 s. The four
    // instances are idle (keep-alive 10 min): warm starts with no overhead; the second task
    // ends at 17 s: latencies 7 and 6.
    assert_eq!(get(&r, "requests"), 6.0);
    assert_eq!(get(&r, "completed"), 6.0);
    close(
        get(&r, "latency_mean_s"),
        (5.1 + 4.1 + 3.1 + 2.1 + 7.0 + 6.0) / 6.0,
    );
    let max = get(&r, "latency_max_s");
    assert!(
        (7.0..=7.0 * (1.0 + 1.0 / 1024.0)).contains(&max),
        "max {max}"
    );
    assert_eq!(get(&r, "invocations"), 8.0);
    assert_eq!(get(&r, "cold_starts"), 4.0);
    assert_eq!(get(&r, "instances_created"), 4.0);
    // Every invocation is billed in full, stragglers included: 2 × (1 + 2 + 3 + 4) s × 1 GB.
    close(get(&r, "cost_faas_compute_usd"), 20.0 * GB_S);
    close(get(&r, "cost_faas_requests_usd"), 8.0 * FEE);
}

#[test]
fn a_per_member_rule_answers_each_member_by_its_own_task_or_by_parity_and_the_other() {
    let text = format!(
        r#"
name = "parm"
[run]
horizon = "60s"
[workload]
arrivals = {{ kind = "timestamps", times = ["0s", "500ms"] }}
group = {{ size = 2 }}
{PLATFORM}
[[function]]
name = "model"
memory = "1024MB"
[[function]]
name = "parity"
memory = "1024MB"

[[stage]]
name = "parm"
task = [
  {{ function = "model", time = "5s" }},
  {{ function = "model", time = "1s" }},
  {{ function = "parity", time = "2s" }},
]
# Member i is answered by its own task i, or reconstructed from the parity and the other.
completion = {{ kind = "per-member", members = [ [[0], [1, 2]], [[1], [0, 2]] ] }}
[[policy]]
kind = "all-faas"
"#
    );
    let r = run(&text);
    // The group is full at 0.5 s; cold starts +0.1 s. Completions, in order: task 1 at 1.6 s
    // (member 1 done by its own task: latency 1.6 − 0.5 = 1.1 s), the parity at 2.6 s
    // (member 0 reconstructed from {1, parity}: latency 2.6 s). Task 0 (5 s) is a straggler:
    // it runs on to 5.6 s and is billed in full.
    assert_eq!(get(&r, "completed"), 2.0);
    close(get(&r, "latency_mean_s"), (1.1 + 2.6) / 2.0);
    let max = get(&r, "latency_max_s");
    assert!(
        (2.6..=2.6 * (1.0 + 1.0 / 1024.0)).contains(&max),
        "max {max}"
    );
    close(get(&r, "cost_faas_compute_usd"), 8.0 * GB_S);
    assert_eq!(get(&r, "invocations"), 3.0);
    // Members are in the system from their arrival to their answer: (1.1 + 2.6) s over 60 s.
    close(get(&r, "in_system_mean"), 3.7 / 60.0);
}

#[test]
fn a_member_is_answered_by_its_own_task_when_the_parity_is_slower() {
    // The same rule with the parity slower than member 0's task: member 0 is answered by its
    // own task. Group full at 0.5 s; task 1 at 0.5 + 0.1 + 1 = 1.6 s (member 1: 1.1 s), task 0
    // at 0.5 + 0.1 + 2 = 2.6 s (member 0: 2.6 s, its own); the parity (6 s) is the straggler.
    let text = format!(
        r#"
name = "parm-own"
[run]
horizon = "60s"
[workload]
arrivals = {{ kind = "timestamps", times = ["0s", "500ms"] }}
group = {{ size = 2 }}
{PLATFORM}
[[function]]
name = "model"
memory = "1024MB"

[[stage]]
task = [
  {{ function = "model", time = "2s" }},
  {{ function = "model", time = "1s" }},
  {{ function = "model", time = "6s" }},
]
completion = {{ kind = "per-member", members = [ [[0], [1, 2]], [[1], [0, 2]] ] }}
[[policy]]
kind = "all-faas"
"#
    );
    let r = run(&text);
    close(get(&r, "latency_mean_s"), (1.1 + 2.6) / 2.0);
    close(get(&r, "cost_faas_compute_usd"), 9.0 * GB_S);
}
