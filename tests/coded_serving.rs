//! Coded serving (`uncoded`, `replication`, `parm`, `approxifer`) on the engine: worker counts,
//! straggler tolerance in the tail, what cancelled copies cost on functions and on VMs, and
//! accuracy from a table by how each query was answered. Every expectation is derived in the
//! comments.

use infersim::report::RunResult;
use infersim::scenario::Scenario;

fn run_all(text: &str) -> Vec<RunResult> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("acc.csv"), TABLE).unwrap();
    let sc =
        Scenario::from_str_at(text, &dir.path().join("c.toml")).unwrap_or_else(|e| panic!("{e}"));
    (0..sc.policies.len())
        .map(|p| infersim::engine::run(&sc, p, 0).expect("no trace"))
        .collect()
}

fn get(r: &RunResult, name: &str) -> f64 {
    r.get_named(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no metric `{name}`"))
}

const TABLE: &str =
    "model,scheme,k,s,e,adversary,sigma,groups,queries,accuracy,ci95_low,ci95_high,detected_rate
m,uncoded,1,0,0,none,,,,0.98,,,
m,approxifer,4,1,0,none,,,,0.8,,,
m,approxifer,4,2,0,none,,,,0.7,,,
m,approxifer,4,0,1,sign-flip,,,,0.9,,,0.95
m,parm,4,1,0,none,,,,0.5,,,
";

/// Four schemes on groups of K = 4, constant 100 ms workers of which 2 % are slowed 20×.
fn scenario(extra: &str) -> String {
    format!(
        r#"
name = "coded"
[run]
horizon = "400s"
seed = 7
[workload]
arrivals = {{ kind = "poisson", rate = "20/s" }}
group = {{ size = 4, timeout = "1s" }}
[platform.faas]
cold_start = {{ kind = "constant", value = "0s" }}
warm_start = {{ kind = "constant", value = "0s" }}
[[stage]]
name = "worker"
service = {{ kind = "constant", value = "100ms" }}
[coded]
slowdown = {{ probability = 0.02, factor = 20.0 }}
accuracy = {{ table = "acc.csv", model = "m" }}
{extra}
[[policy]]
kind = "uncoded"
[[policy]]
kind = "replication"
stragglers = 1
[[policy]]
kind = "parm"
[[policy]]
kind = "approxifer"
stragglers = 2
"#
    )
}

#[test]
fn workers_per_query_are_one_s_plus_one_and_n_over_k() {
    let r = run_all(&scenario(""));
    let q = get(&r[0], "requests");
    // Groups of 4 from the batcher; only the last may be partial (the run has no gaps of 1 s
    // at 20/s … almost surely): ParM and ApproxIFER pad it, the per-query schemes do not.
    let groups = (q / 4.0).ceil();
    assert_eq!(get(&r[0], "workers_per_query"), 1.0);
    assert_eq!(get(&r[1], "workers_per_query"), 2.0);
    let parm = get(&r[2], "workers_per_query");
    let approx = get(&r[3], "workers_per_query");
    // ParM: K + 1 = 5 per group; ApproxIFER, S = 2: N = K + S = 6 per group.
    assert!((parm * q - 5.0 * groups).abs() < 5.0 * 3.0, "{parm} × {q}");
    assert!(
        (approx * q - 6.0 * groups).abs() < 6.0 * 3.0,
        "{approx} × {q}"
    );
    assert!((parm - 1.25).abs() < 0.01 && (approx - 1.5).abs() < 0.01);
}

#[test]
fn redundancy_keeps_the_slowed_workers_out_of_the_tail() {
    let r = run_all(&scenario(""));
    let p99 = |i: usize| get(&r[i], "latency_p99_s");
    // Uncoded: 2 % of queries wait for a 2 s worker, so the p99 is at least 2 s.
    assert!(p99(0) >= 2.0, "uncoded p99 {}", p99(0));
    // Replication: both copies slowed with probability 0.0004; ParM: own worker and one of the
    // 4 others slowed, ≈ 0.02 × 0.078 = 0.0016; ApproxIFER (N = 6, S = 2): ≥ 3 of 6 slowed,
    // ≈ 20 × 0.02³ = 0.00016. All below 1 %: the p99 is the batch wait plus 100 ms.
    for i in 1..4 {
        assert!(p99(i) < 1.2, "policy {i} p99 {}", p99(i));
    }
}

#[test]
fn cancelled_copies_are_billed_on_functions_and_freed_on_vms() {
    let r = run_all(&scenario(""));
    // Lambda cannot cancel: both copies run to the end and are billed, twice the compute of
    // one worker per query (the second copies are other workers: the same law, ±5 %).
    let c = |i: usize| get(&r[i], "cost_faas_compute_usd");
    let ratio = c(1) / c(0);
    assert!(
        (1.9..2.1).contains(&ratio),
        "replication / uncoded compute = {ratio}"
    );
    // On VMs the copy that loses is stopped when the first answers: busy time per query is
    // 2 × 100 ms unless a copy is slowed (then it is cut at 100 ms), against 0.98 × 0.1 +
    // 0.02 × 2 = 0.138 s uncoded: a ratio of ≈ 0.2 / 0.138 = 1.45, well below 2.
    let vms = scenario("").replace(
        "kind = \"replication\"\nstragglers = 1",
        "kind = \"replication\"\nstragglers = 1\nvms = 40\ninstance = \"c6i.large\"",
    );
    let vms = vms.replace(
        "kind = \"uncoded\"",
        "kind = \"uncoded\"\nvms = 40\ninstance = \"c6i.large\"",
    );
    let r = run_all(&vms);
    let busy = |i: usize| get(&r[i], "vm_busy_slot_s");
    let ratio = busy(1) / busy(0);
    assert!((1.3..1.6).contains(&ratio), "VM busy ratio {ratio}");
}

#[test]
fn accuracy_follows_how_each_query_was_answered() {
    let r = run_all(&scenario(""));
    // Own, honest workers: the base accuracy.
    assert!((get(&r[0], "accuracy") - 0.98).abs() < 1e-9);
    assert!((get(&r[1], "accuracy") - 0.98).abs() < 1e-9);
    // ApproxIFER decodes every query: the table's (K, S, E) = (4, 2, 0) value.
    assert!((get(&r[3], "accuracy") - 0.7).abs() < 1e-12);
    // ParM reconstructs a query when its own worker is slower than parity and the others:
    // mostly when it is slowed (2 %), else on ties broken by order. Between the two values.
    let parm = get(&r[2], "accuracy");
    assert!(parm < 0.98 && parm > 0.9, "ParM accuracy {parm}");
    assert!(get(&r[0], "byzantine_detected_rate").is_nan());
}

#[test]
fn byzantine_workers_corrupt_plain_answers_and_the_locator_removes_them() {
    let text = scenario("byzantine = { per_group = 1 }").replace(
        "kind = \"approxifer\"\nstragglers = 2",
        "kind = \"approxifer\"\nstragglers = 0\nbyzantine = 1",
    );
    let r = run_all(&text);
    // One of 4 workers per group is Byzantine: a quarter of uncoded answers are corrupted
    // (chance, 1/10), the rest are right at the base rate.
    let uncoded = get(&r[0], "accuracy");
    let want = 0.75 * 0.98 + 0.25 * 0.1;
    assert!((uncoded - want).abs() < 0.01, "{uncoded} vs {want}");
    // ApproxIFER with E = 1 (N = 2(K + E) − 1 = 9) locates the one Byzantine answer: the
    // table's value, with its detection rate.
    assert!((get(&r[3], "accuracy") - 0.9).abs() < 1e-12);
    assert_eq!(get(&r[3], "byzantine_detected_rate"), 0.95);
    assert!((get(&r[3], "workers_per_query") - 9.0 / 4.0).abs() < 0.01);
}

#[test]
fn coded_policies_check_what_they_need() {
    let err = |text: &str| match Scenario::from_str_at(text, std::path::Path::new("c.toml")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    let base = scenario("").replace("accuracy = { table = \"acc.csv\", model = \"m\" }", "");
    let e = err(&base.replace("group = { size = 4, timeout = \"1s\" }", ""));
    assert!(e.contains("[workload] group"), "{e}");
    let e = err(&base
        .replace("size = 4", "size = 40")
        .replace("stragglers = 2", "stragglers = 30"));
    assert!(
        e.contains("more than 64") && e.contains("workers per group of 40"),
        "{e}"
    );
    let e = err(&base.replace("stragglers = 1", "stragglers = 65535"));
    assert!(
        e.contains("policy[1].stragglers") && e.contains("at most 64"),
        "{e}"
    );
    let e = err(&base.replace("probability = 0.02", "probability = 2"));
    assert!(
        e.contains("coded.slowdown.probability") && e.contains("between 0 and 1"),
        "{e}"
    );
    // A table without the row a policy needs names what it has.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("acc.csv"), TABLE).unwrap();
    let text = scenario("").replace("stragglers = 2", "stragglers = 3");
    let e = Scenario::from_str_at(&text, &dir.path().join("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(K, S, E) = (4, 3, 0)") && e.contains("(4, 1, 0)"),
        "{e}"
    );
}

#[test]
fn failed_workers_drop_uncoded_queries_and_redundancy_survives_them() {
    let text =
        scenario("fail_probability = 0.05").replace("probability = 0.02", "probability = 0.0");
    let r = run_all(&text);
    let lost = |i: usize| get(&r[i], "dropped") / get(&r[i], "requests");
    // Uncoded: a query is lost with its worker, 5 % (binomial over ≈ 8,000 queries: ±0.7 %).
    assert!((0.04..0.06).contains(&lost(0)), "uncoded lost {}", lost(0));
    // Replication: both copies fail, 0.25 %; ParM: own worker and parity-or-another fail,
    // 0.05 × (1 − 0.95⁴) ≈ 0.93 %; ApproxIFER (N = 6, S = 2): ≥ 3 of 6 fail, ≈ 0.22 %.
    assert!(lost(1) < 0.006, "replication lost {}", lost(1));
    assert!(lost(2) < 0.016, "ParM lost {}", lost(2));
    assert!(lost(3) < 0.006, "ApproxIFER lost {}", lost(3));
    // A failed invocation is billed up to its error, like any other: uncoded compute is the
    // same as without failures (every worker runs its 100 ms).
    let quiet = run_all(&scenario("").replace("probability = 0.02", "probability = 0.0"));
    let (a, b) = (
        get(&r[0], "cost_faas_compute_usd"),
        get(&quiet[0], "cost_faas_compute_usd"),
    );
    assert!((a / b - 1.0).abs() < 1e-9, "{a} vs {b}");
}
