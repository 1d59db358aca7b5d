//! Request plans: a three-stage plan with exits, and a fan-out of five with quorum three.

use infersim::report::Metric;

use crate::common::{assert_in_ci, metric, scenario};

const THREE_STAGES: &str = r#"
name = "plan3"
[run]
horizon = "2000s"
seed = 8
replications = 10
[workload]
arrivals = { kind = "poisson", rate = "20/s" }
[platform.faas]
memory = "1769MB"
keep_alive = "1h"
cold_start = { kind = "constant", value = "0s" }
[platform.payload]
latency = "1ms"
bandwidth = "100MB/s"
[[stage]]
name = "a"
service = { kind = "constant", value = "50ms" }
exit = 0.5
output = "1MB"
[[stage]]
name = "b"
service = { kind = "constant", value = "100ms" }
exit = 0.3
[[stage]]
name = "c"
service = { kind = "constant", value = "200ms" }
[[policy]]
kind = "all-faas"
"#;

#[test]
fn surviving_fraction_is_the_product_of_continuation_probabilities() {
    let sc = scenario(THREE_STAGES);
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let frac = |stage: &str| -> Vec<f64> {
        r.results[0]
            .iter()
            .map(|run| {
                run.get_stage(Metric::StageEntered, stage).unwrap()
                    / run.get(Metric::Requests).unwrap()
            })
            .collect()
    };
    assert_in_ci("entered a", &frac("a"), 1.0);
    assert_in_ci("entered b", &frac("b"), 0.5);
    assert_in_ci("entered c", &frac("c"), 0.5 * 0.7);
}

#[test]
fn latency_of_a_deterministic_plan_is_its_path_mix() {
    // Stage a's 1 MB output moves by payload (1 ms + 1 MB at 100 MB/s = 11 ms), to stage b or,
    // when the request exits after a, back to the client. Paths: exit after a (p = .5):
    // 50 + 11 ms; exit after b (p = .5 · .3 = .15): 50 + 11 + 100; through c (p = .35):
    // 50 + 11 + 100 + 200.
    let sc = scenario(THREE_STAGES);
    let mean_ms = 0.5 * 61.0 + 0.15 * 161.0 + 0.35 * 361.0;
    let xs: Vec<f64> = metric(&sc, Metric::LatencyMean)[0]
        .iter()
        .map(|x| x * 1e3)
        .collect();
    assert_in_ci("mean latency (ms)", &xs, mean_ms);
    // The slowest path (35 % of requests) sets the 90th percentile (histogram precision: three
    // significant digits).
    for p90 in &metric(&sc, Metric::LatencyP90)[0] {
        assert!((p90 - 0.361).abs() < 0.0005, "p90 {p90}");
    }
}

fn fanout(policy: &str) -> String {
    format!(
        r#"
name = "fanout"
[run]
horizon = "4000s"
seed = 21
replications = 10
[workload]
arrivals = {{ kind = "poisson", rate = "1/s" }}
[platform.faas]
memory = "1769MB"
keep_alive = "1h"
cold_start = {{ kind = "constant", value = "0s" }}
[platform.vm]
instance_types = [{{ name = "big", vcpus = 64, memory = "128GB", price_per_hour = 1.0 }}]
instance = "big"
[[stage]]
service = {{ kind = "exponential", mean = "1s" }}
tasks = 5
quorum = 3
{policy}
"#
    )
}

#[test]
fn fan_out_five_quorum_three_completes_at_the_third_order_statistic() {
    // E[X(3) of 5 Exp(1)] = 1/5 + 1/4 + 1/3.
    let want = 1.0 / 5.0 + 1.0 / 4.0 + 1.0 / 3.0;
    for policy in [
        "[[policy]]\nkind = \"all-faas\"",
        "[[policy]]\nkind = \"vm-fixed\"\nvms = 1",
    ] {
        let sc = scenario(&fanout(policy));
        assert_in_ci(
            &format!("{policy}: stage time"),
            &metric(&sc, Metric::LatencyMean)[0],
            want,
        );
    }
}

#[test]
fn cancelled_stragglers_are_billed_in_full_on_faas_and_aborted_on_vms() {
    // FaaS: all five invocations run to completion: 5 × E[X] = 5 s of 1769 MB per request.
    let sc = scenario(&fanout("[[policy]]\nkind = \"all-faas\""));
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let per_request: Vec<f64> = r.results[0]
        .iter()
        .map(|run| {
            let gb_s = run.get(Metric::CostFaasCompute).unwrap() / 0.000_016_666_7;
            gb_s / (1769.0 / 1024.0) / run.get(Metric::Requests).unwrap()
        })
        .collect();
    // Billed per 1 ms, rounded up: + 0.5 ms per invocation on average.
    assert_in_ci("billed GB-s per request / GB", &per_request, 5.0025);
    let inv: Vec<f64> = r.results[0]
        .iter()
        .map(|run| run.get(Metric::Invocations).unwrap() / run.get(Metric::Requests).unwrap())
        .collect();
    assert!(inv.iter().all(|x| (x - 5.0).abs() < 0.01), "{inv:?}");

    // VM: the two stragglers are aborted at the third completion:
    // busy time = X(1) + X(2) + X(3) + 2·X(3) = 0.2 + 0.45 + 0.7833 + 2·0.7833 = 3.0 s.
    let sc = scenario(&fanout("[[policy]]\nkind = \"vm-fixed\"\nvms = 1"));
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let busy: Vec<f64> = r.results[0]
        .iter()
        .map(|run| run.get(Metric::VmBusySlotTime).unwrap() / run.get(Metric::Requests).unwrap())
        .collect();
    assert_in_ci("VM busy seconds per request", &busy, 3.0);
}

#[test]
fn storage_requests_are_billed_only_when_they_happen() {
    // Stage 1: five shards, quorum three, each writes 1 MB to storage; stage 2 reads the three.
    // On functions the two stragglers run on and write their output (5 PUTs); on VMs they are
    // aborted before writing (3 PUTs). Either way stage 2 makes 3 GETs.
    let text = |policy: &str| {
        format!(
            r#"
name = "storage"
[run]
horizon = "500s"
seed = 4
[workload]
arrivals = {{ kind = "poisson", rate = "2/s" }}
[platform.faas]
cold_start = {{ kind = "constant", value = "0s" }}
[platform.vm]
instance_types = [{{ name = "big", vcpus = 64, memory = "128GB", price_per_hour = 1.0 }}]
instance = "big"
[[stage]]
service = {{ kind = "exponential", mean = "500ms" }}
tasks = 5
quorum = 3
output = "1MB"
transfer = "storage"
[[stage]]
service = {{ kind = "constant", value = "10ms" }}
{policy}
"#
        )
    };
    for (policy, puts) in [
        ("[[policy]]\nkind = \"all-faas\"", 5.0),
        ("[[policy]]\nkind = \"vm-fixed\"\nvms = 1", 3.0),
    ] {
        let sc = scenario(&text(policy));
        let run = &infersim::run_scenario(&sc, None, None).unwrap().results[0][0];
        let n = run.get(Metric::Requests).unwrap();
        assert_eq!(run.get(Metric::StoragePuts).unwrap(), puts * n, "{policy}");
        assert_eq!(run.get(Metric::StorageGets).unwrap(), 3.0 * n, "{policy}");
        let fee = puts * n * 0.005 / 1000.0 + 3.0 * n * 0.0004 / 1000.0;
        assert!(
            (run.get(Metric::CostStorage).unwrap() - fee).abs() < 1e-12,
            "{policy}"
        );
    }
}
