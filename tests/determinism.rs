//! Same scenario and seed: byte-identical reports, whatever the thread count; common random
//! numbers: every policy sees the same requests.

use infersim::report::Metric;
use infersim::report::write::summary_csv;

use crate::common::scenario;

const TEXT: &str = r#"
name = "det"
[run]
horizon = "600s"
seed = 99
replications = 6
slo = "500ms"
[workload]
arrivals = { kind = "on-off", rate = "30/s", on = "20s", off = "40s" }
[platform.faas]
reuse = "random"
[[stage]]
service = { kind = "lognormal", median = "80ms", p99 = "600ms" }
tasks = 3
quorum = 2
exit = 0.2
[[stage]]
service = { kind = "pareto", scale = "20ms", shape = 2.5 }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-autoscale"
interval = "10s"
cooldown = "20s"
[[policy]]
kind = "hybrid"
vms = 1
[[policy]]
kind = "libra"
update_interval = "60s"
[[policy]]
kind = "serflow"
replan = "60s"
"#;

fn csv_with_threads(n: usize) -> Vec<u8> {
    let sc = scenario(TEXT);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap();
    summary_csv(&pool.install(|| infersim::run_scenario(&sc, None, None).unwrap()))
}

#[test]
fn reports_do_not_depend_on_thread_count() {
    let one = csv_with_threads(1);
    let four = csv_with_threads(4);
    assert!(one.len() > 1000);
    assert!(one == four, "summary.csv differs between 1 and 4 threads");
    assert!(
        one == csv_with_threads(1),
        "summary.csv differs between two runs"
    );
}

#[test]
fn different_seeds_give_different_results() {
    let mut sc = scenario(TEXT);
    let a = summary_csv(&infersim::run_scenario(&sc, Some(0), Some(1)).unwrap());
    sc.run.seed = 100;
    let b = summary_csv(&infersim::run_scenario(&sc, Some(0), Some(1)).unwrap());
    assert!(a != b);
}

#[test]
fn every_policy_sees_the_same_requests() {
    let sc = scenario(TEXT);
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    for rep in 0..6 {
        let counts: Vec<f64> = r
            .results
            .iter()
            .map(|p| p[rep].get(Metric::Requests).unwrap())
            .collect();
        assert!(
            counts.windows(2).all(|w| w[0] == w[1]),
            "replication {rep}: {counts:?}"
        );
        // Exits are drawn from each request's own stream: the same requests exit everywhere.
        let exits: Vec<f64> = r
            .results
            .iter()
            .map(|p| p[rep].get_stage(Metric::StageExited, "stage1").unwrap())
            .collect();
        assert!(
            exits.windows(2).all(|w| w[0] == w[1]),
            "replication {rep}: {exits:?}"
        );
    }
}

/// A GPT2-MoE scenario whose validation runs the Bayesian-optimisation refinement (rayon
/// evaluates its candidates in parallel) and the random-mode optimiser.
const MOE: &str = r#"
name = "det-moe"
[run]
horizon = "2h"
seed = 5
[workload]
arrivals = { kind = "constant", rate = "4/h" }
[moe]
model = "gpt2-moe"
batch_tokens = 1024
latency_limit = "120s"
[moe.routing]
test_batches = 4
learning_batches = 2
[moe.routing.synthetic]
seed = 2
layers = 12
experts = 4
top_k = 1
sequences = 8
tokens_per_sequence = 1024
skew = 1.0
cross_layer = 0.5
vocabulary = 50257
token_affinity = 0.6
[[policy]]
kind = "moe-deploy"
name = "bayes-bo"
refine = "bo"
bo = { max_iterations = 8, learning_batches = 2, seed = 4 }
[[policy]]
kind = "moe-deploy"
name = "bayes-random-mode"
optimizer = "random-mode"
seed = 3
[[policy]]
kind = "moe-lambdaml"
name = "lambdaml"
"#;

/// summary.csv and the three MoE reports of the MoE scenario, validated and run on `n` threads.
fn moe_reports_with_threads(n: usize) -> Vec<Vec<u8>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap();
    pool.install(|| {
        let sc = scenario(MOE);
        let r = infersim::run_scenario(&sc, None, None).unwrap();
        let moe = infersim::report::moe::layers_csv(&sc, &r).into_iter();
        let moe = moe
            .chain(infersim::report::moe::experts_csv(&sc, &r))
            .chain(infersim::report::moe::bo_csv(&sc, &r));
        std::iter::once(summary_csv(&r)).chain(moe).collect()
    })
}

#[test]
fn moe_reports_with_bayesian_optimisation_do_not_depend_on_thread_count() {
    let one = moe_reports_with_threads(1);
    assert_eq!(one.len(), 4, "summary, layers, experts and BO reports");
    let bo = String::from_utf8(one[3].clone()).unwrap();
    assert!(bo.lines().count() >= 3, "the BO ran iterations:\n{bo}");
    let two = moe_reports_with_threads(2);
    for (i, name) in ["summary", "moe_layers", "moe_experts", "moe_bo"]
        .iter()
        .enumerate()
    {
        assert!(
            one[i] == two[i],
            "{name}.csv differs between 1 and 2 threads"
        );
    }
}
