//! Property tests (proptest): the event queue against a reference ordered map, billing never
//! below use and monotone, costs non-negative and monotone in usage, and for random small
//! scenarios the conservation of requests and reports that do not depend on the thread count.

use std::collections::{BTreeMap, BTreeSet};

use infersim::cloud::billing::{Ledger, Prices, billed_ms, vm_billed_seconds};
use infersim::kernel::{EventQueue, SimDuration, SimTime};
use infersim::report::Metric;
use infersim::report::write::summary_csv;
use infersim::scenario::Scenario;
use proptest::prelude::*;

/// One operation on the queue.
#[derive(Clone, Debug)]
enum Op {
    /// Push an event this long after now.
    Push(u64),
    /// Cancel the n-th event pushed so far (modulo their number).
    Cancel(usize),
    /// Pop the earliest event.
    Pop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Small offsets make ties (FIFO order) frequent.
        4 => (0u64..5).prop_map(Op::Push),
        2 => (0u64..1_000_000).prop_map(Op::Push),
        1 => any::<usize>().prop_map(Op::Cancel),
        3 => Just(Op::Pop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Events come out by time, then in insertion order; cancelled ones never come out; `now`
    /// is the time of the last event popped.
    #[test]
    fn the_event_queue_orders_like_a_reference_map(ops in prop::collection::vec(op(), 1..400)) {
        let mut q: EventQueue<usize> = EventQueue::new();
        let mut reference: BTreeMap<(u64, usize), usize> = BTreeMap::new();
        let mut keys = Vec::new();
        let mut cancelled = BTreeSet::new();
        for o in ops {
            match o {
                Op::Push(dt) => {
                    let id = keys.len();
                    let at = q.now().0 + dt;
                    keys.push((q.push(SimTime(at), id), at));
                    reference.insert((at, id), id);
                }
                Op::Cancel(n) if !keys.is_empty() => {
                    let id = n % keys.len();
                    q.cancel(keys[id].0);
                    reference.remove(&(keys[id].1, id));
                    cancelled.insert(id);
                }
                Op::Cancel(_) => {}
                Op::Pop => {
                    let expected = reference.pop_first();
                    let got = q.pop();
                    prop_assert_eq!(got.map(|(t, id)| ((t.0, id), id)), expected);
                    if let Some(((t, _), id)) = expected {
                        prop_assert_eq!(q.now().0, t);
                        prop_assert!(!cancelled.contains(&id));
                    }
                }
            }
        }
        // Draining gives the rest in order.
        while let Some(e) = reference.pop_first() {
            prop_assert_eq!(q.pop().map(|(t, id)| ((t.0, id), id)), Some(e));
        }
        prop_assert!(q.pop().is_none());
    }

    /// Billed time is never below the time used, is monotone in it, and is a multiple of the
    /// granularity (in ms, for whole-ms granularities).
    #[test]
    fn billed_time_covers_used_time_for_any_granularity(
        used_ns in 0u64..10_000_000_000_000,
        more_ns in 0u64..1_000_000_000,
        granularity_ms in 1u64..2000,
    ) {
        let g = SimDuration::from_millis(granularity_ms);
        let b = billed_ms(SimDuration::from_nanos(used_ns), g);
        prop_assert!(b as u128 * 1_000_000 >= used_ns as u128);
        prop_assert_eq!(b % granularity_ms, 0);
        prop_assert!(b < used_ns / 1_000_000 + granularity_ms + 1);
        prop_assert!(billed_ms(SimDuration::from_nanos(used_ns + more_ns), g) >= b);
        for per_hour in [false, true] {
            let minimum = SimDuration::from_secs(60);
            let s = vm_billed_seconds(SimDuration::from_nanos(used_ns), minimum, per_hour);
            prop_assert!(s as u128 * 1_000_000_000 >= used_ns as u128 && s >= 60);
            prop_assert!(
                vm_billed_seconds(SimDuration::from_nanos(used_ns + more_ns), minimum, per_hour) >= s
            );
        }
    }

    /// Costs are non-negative and never fall when usage grows.
    #[test]
    fn costs_are_non_negative_and_monotone_in_usage(
        invocations in prop::collection::vec((0u64..1_000_000, 128u32..10_240), 0..50),
        extra in (0u64..1_000_000, 128u32..10_240),
        vm_seconds in 0u64..1_000_000,
        price in 0.0f64..100.0,
    ) {
        let prices = Prices {
            gb_s: 0.0000166667,
            per_request: 0.0000002,
            pc_gb_s: 0.0000041667,
            pc_duration_gb_s: 0.0000097222,
            put: 0.000005,
            get: 0.0000004,
        };
        let mut l = Ledger::default();
        for &(ms, mb) in &invocations {
            l.add_invocation(ms, mb);
        }
        l.add_vm(vm_seconds, price);
        let before = l.costs(&prices);
        for c in [before.faas_compute, before.faas_requests, before.vm, before.storage, before.transfer] {
            prop_assert!(c >= 0.0);
        }
        l.add_invocation(extra.0, extra.1);
        l.add_pc_invocation(extra.0, extra.1);
        l.add_vm(1, price);
        let after = l.costs(&prices);
        prop_assert!(after.faas_compute >= before.faas_compute);
        prop_assert!(after.faas_requests > before.faas_requests);
        prop_assert!(after.vm >= before.vm);
        prop_assert!(after.total() >= before.total());
    }
}

/// A small random scenario: arrivals, service law, platform limits and one of four policies.
fn scenario_text() -> impl Strategy<Value = String> {
    let arrivals = prop_oneof![
        (1u32..40).prop_map(|r| format!("{{ kind = \"poisson\", rate = \"{r}/s\" }}")),
        (1u32..40).prop_map(|r| format!("{{ kind = \"constant\", rate = \"{r}/s\" }}")),
        (1u32..40).prop_map(|r| format!(
            "{{ kind = \"on-off\", rate = \"{r}/s\", on = \"5s\", off = \"10s\" }}"
        )),
    ];
    let service = prop_oneof![
        (1u32..2000).prop_map(|ms| format!("{{ kind = \"constant\", value = \"{ms}ms\" }}")),
        (1u32..500).prop_map(|ms| format!(
            "{{ kind = \"lognormal\", median = \"{ms}ms\", p99 = \"{}ms\" }}",
            ms * 8
        )),
        (1u32..200, 15u32..40).prop_map(|(ms, a)| format!(
            "{{ kind = \"pareto\", scale = \"{ms}ms\", shape = {} }}",
            a as f64 / 10.0
        )),
    ];
    let throttle = prop_oneof![
        Just("queue".to_string()),
        Just("{ kind = \"drop\" }".to_string()),
        (1u32..500, 1u32..6).prop_map(|(ms, n)| format!(
            "{{ kind = \"retry\", delay = \"{ms}ms\", max_attempts = {n} }}"
        )),
    ];
    let policy = prop_oneof![
        Just("kind = \"all-faas\"".to_string()),
        (1u32..4).prop_map(|n| format!("kind = \"vm-fixed\"\nvms = {n}")),
        (0u32..3).prop_map(|n| format!("kind = \"hybrid\"\nvms = {n}")),
        Just("kind = \"vm-autoscale\"\ninterval = \"5s\"\ncooldown = \"5s\"".to_string()),
    ];
    (
        arrivals,
        service,
        throttle,
        policy,
        1u32..20,
        0u32..3,
        any::<u64>(),
        1u32..3,
    )
        .prop_map(
            |(arrivals, service, throttle, policy, limit, tasks, seed, reps)| {
                let throttle = if throttle == "queue" {
                    String::new()
                } else {
                    format!("on_throttle = {throttle}\n")
                };
                format!(
                    r#"name = "prop"
[run]
horizon = "40s"
seed = {seed}
replications = {reps}
[workload]
arrivals = {arrivals}
[platform.faas]
concurrency_limit = {limit}
{throttle}[[stage]]
service = {service}
tasks = {}
[[policy]]
{policy}
"#,
                    tasks + 1
                )
            },
        )
}

fn scenario(text: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prop.toml");
    Scenario::from_str_at(text, &path).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Every request that arrived completed, was dropped or is counted unfinished; costs are
    /// non-negative; the reports are the same on 1 and 2 threads.
    #[test]
    fn random_scenarios_conserve_requests_and_do_not_depend_on_threads(text in scenario_text()) {
        let sc = scenario(&text);
        let on = |n: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
                .install(|| infersim::run_scenario(&sc, None, None).unwrap())
        };
        let one = on(1);
        for run in one.results.iter().flatten() {
            let v = |m: Metric| run.get(m).unwrap();
            prop_assert_eq!(
                v(Metric::Requests),
                v(Metric::Completed) + v(Metric::Dropped) + v(Metric::Unfinished),
                "{}", text
            );
            prop_assert_eq!(v(Metric::Unfinished), 0.0, "{}", text);
            prop_assert!(v(Metric::CostTotal) >= 0.0, "{}", text);
        }
        prop_assert!(summary_csv(&one) == summary_csv(&on(2)), "threads changed the report:\n{}", text);
    }
}
