//! Cold starts under fixed keep-alive: with Poisson arrivals at rate λ and a service time tiny
//! beside the gaps, a request is cold exactly when the gap since the previous one exceeds the
//! keep-alive T, so the cold-start share is exp(−λT).

use infersim::report::Metric;

use crate::common::{assert_in_ci, metric, scenario};

fn keepalive_scenario(rate: f64, keep_alive: &str, reuse: &str) -> String {
    format!(
        r#"
name = "coldstart"
[run]
horizon = "20000s"
seed = 11
replications = 10
[workload]
arrivals = {{ kind = "poisson", rate = "{rate}/s" }}
[platform.faas]
memory = "1769MB"
keep_alive = "{keep_alive}"
reuse = "{reuse}"
cold_start = {{ kind = "constant", value = "100us" }}
[[stage]]
service = {{ kind = "constant", value = "100us" }}
[[policy]]
kind = "all-faas"
"#
    )
}

#[test]
fn cold_start_share_is_exp_minus_lambda_t() {
    for (rate, t_s, t) in [(1.0, 1.0, "1s"), (0.5, 3.0, "3s"), (2.0, 0.25, "250ms")] {
        let sc = scenario(&keepalive_scenario(rate, t, "most-recently-used"));
        let xs = &metric(&sc, Metric::ColdStartRate)[0];
        // The instance is busy 200 µs at most, so the effective keep-alive is T + ≤ 200 µs.
        assert_in_ci(
            &format!("cold share λ={rate} T={t}"),
            xs,
            (-rate * (t_s + 0.0001)).exp(),
        );
    }
}

#[test]
fn reuse_order_changes_cold_starts_and_idle_memory() {
    // With about four busy instances on average and more alive after fluctuations, reusing the
    // most recently used instance concentrates work on a few, so the others expire; picking idle
    // instances at random spreads work over all of them and keeps more alive: fewer cold starts,
    // more idle memory.
    let text = |reuse: &str| {
        format!(
            r#"
name = "reuse"
[run]
horizon = "3000s"
seed = 3
replications = 8
[workload]
arrivals = {{ kind = "poisson", rate = "20/s" }}
[platform.faas]
memory = "1769MB"
keep_alive = "20s"
reuse = "{reuse}"
[[stage]]
service = {{ kind = "exponential", mean = "200ms" }}
[[policy]]
kind = "all-faas"
"#
        )
    };
    let summary = |reuse: &str, m: Metric| {
        infersim::report::stats::summarize(&metric(&scenario(&text(reuse)), m)[0], 0.99)
    };
    let (mru, rnd) = (
        summary("most-recently-used", Metric::IdleMemory),
        summary("random", Metric::IdleMemory),
    );
    assert!(
        rnd.mean - rnd.half_width > mru.mean + mru.half_width,
        "idle memory: random {rnd:?} vs MRU {mru:?}"
    );
    let (mru, rnd) = (
        summary("most-recently-used", Metric::ColdStarts),
        summary("random", Metric::ColdStarts),
    );
    assert!(
        rnd.mean + rnd.half_width < mru.mean - mru.half_width,
        "cold starts: random {rnd:?} vs MRU {mru:?}"
    );
}
