//! The VM pool against queueing theory: Erlang C (M/M/c), Pollaczek–Khinchine (M/G/1) and
//! Little's law, with tolerances from the replications' confidence intervals.

use infersim::report::Metric;

use crate::common::{assert_in_ci, metric, scenario};

/// Erlang C: probability of waiting and mean wait in an M/M/c queue.
fn erlang_c(c: u32, lambda: f64, mu: f64) -> (f64, f64) {
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - rho);
    let p_wait = last / (sum + last);
    (p_wait, p_wait / (c as f64 * mu - lambda))
}

fn pool_scenario(slots: u32, rate: f64, service: &str, horizon: &str, reps: u32) -> String {
    format!(
        r#"
name = "queue"
[run]
horizon = "{horizon}"
warmup = "500s"
seed = 2024
replications = {reps}
[workload]
arrivals = {{ kind = "poisson", rate = "{rate}/s" }}
[platform.vm]
instance_types = [{{ name = "q", vcpus = {slots}, memory = "16GB", price_per_hour = 0.1 }}]
instance = "q"
[[stage]]
service = {service}
[[policy]]
kind = "vm-fixed"
vms = 1
"#
    )
}

#[test]
fn erlang_c_formula_matches_the_published_m_m_8_value() {
    let (p, w) = erlang_c(8, 7.2, 1.0);
    assert!((p - 0.7015).abs() < 5e-4, "{p}");
    assert!((w - 0.8769).abs() < 5e-4, "{w}");
}

#[test]
fn m_m_1_matches_erlang_c() {
    let (lambda, mu) = (0.7, 1.0);
    let sc = scenario(&pool_scenario(
        1,
        lambda,
        r#"{ kind = "exponential", mean = "1s" }"#,
        "20000s",
        20,
    ));
    let (_, wq) = erlang_c(1, lambda, mu);
    assert!((wq - 0.7 / 0.3).abs() < 1e-12);
    assert_in_ci("M/M/1 mean wait", &metric(&sc, Metric::WaitMean)[0], wq);
    assert_in_ci(
        "M/M/1 utilisation",
        &metric(&sc, Metric::VmUtilization)[0],
        lambda / mu,
    );
}

#[test]
fn m_m_8_matches_erlang_c() {
    let (lambda, mu) = (7.2, 1.0);
    let sc = scenario(&pool_scenario(
        8,
        lambda,
        r#"{ kind = "exponential", mean = "1s" }"#,
        "5000s",
        20,
    ));
    let (p_wait, wq) = erlang_c(8, lambda, mu);
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let get = |m: Metric| -> Vec<f64> { r.results[0].iter().map(|x| x.get(m).unwrap()).collect() };
    assert_in_ci("M/M/8 mean wait", &get(Metric::WaitMean), wq);
    // P(wait) = 0.7015: the share of customers that find all 8 servers busy.
    assert_in_ci("M/M/8 P(wait)", &get(Metric::WaitProbability), p_wait);
    assert_in_ci(
        "M/M/8 utilisation",
        &get(Metric::VmUtilization),
        lambda / (8.0 * mu),
    );
}

#[test]
fn m_g_1_matches_pollaczek_khinchine() {
    // Lognormal with mu = -σ²/2 has mean 1 s; E[S²] = exp(2mu + 2σ²) = exp(σ²).
    let sigma: f64 = 0.5;
    let mu = -sigma * sigma / 2.0;
    let lambda = 0.6;
    let es2 = (sigma * sigma).exp();
    let wq = lambda * es2 / (2.0 * (1.0 - lambda));
    let service = format!(r#"{{ kind = "lognormal", mu = {mu}, sigma = {sigma} }}"#);
    let sc = scenario(&pool_scenario(1, lambda, &service, "20000s", 20));
    assert_in_ci("M/G/1 mean wait", &metric(&sc, Metric::WaitMean)[0], wq);
    // Mean latency = wait + mean service.
    assert_in_ci(
        "M/G/1 mean latency",
        &metric(&sc, Metric::LatencyMean)[0],
        wq + 1.0,
    );
}

#[test]
fn m_d_1_matches_pollaczek_khinchine() {
    let lambda = 0.8;
    let wq = lambda * 1.0 / (2.0 * (1.0 - lambda));
    let sc = scenario(&pool_scenario(
        1,
        lambda,
        r#"{ kind = "constant", value = "1s" }"#,
        "20000s",
        20,
    ));
    assert_in_ci("M/D/1 mean wait", &metric(&sc, Metric::WaitMean)[0], wq);
}

#[test]
fn littles_law_holds_for_a_multi_stage_faas_plan() {
    let sc = scenario(
        r#"
name = "little"
[run]
horizon = "3000s"
warmup = "200s"
seed = 5
replications = 12
[workload]
arrivals = { kind = "mmpp", rates = ["20/s", "4/s"], mean_durations = ["60s", "120s"] }
[platform.faas]
memory = "1769MB"
keep_alive = "30s"
cold_start = { kind = "lognormal", median = "300ms", p99 = "2s" }
[[stage]]
service = { kind = "exponential", mean = "200ms" }
exit = 0.4
output = "2MB"
[[stage]]
service = { kind = "weibull", scale = "300ms", shape = 0.8 }
[[policy]]
kind = "all-faas"
"#,
    );
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let diffs: Vec<f64> = r.results[0]
        .iter()
        .map(|run| {
            let l = run.get(Metric::InSystemMean).unwrap();
            let lw = run.get(Metric::ArrivalRate).unwrap() * run.get(Metric::LatencyMean).unwrap();
            (l - lw) / l
        })
        .collect();
    let s = infersim::report::stats::summarize(&diffs, 0.99);
    assert!(
        s.mean.abs() <= s.half_width.max(0.005),
        "L vs λW relative difference {:.5} ± {:.5}",
        s.mean,
        s.half_width
    );
}

fn faas_limited(limit: u32, rate: f64, throttle: &str) -> String {
    format!(
        r#"
name = "limit"
[run]
horizon = "20000s"
warmup = "200s"
seed = 77
replications = 20
[workload]
arrivals = {{ kind = "poisson", rate = "{rate}/s" }}
[platform.faas]
memory = "1769MB"
keep_alive = "1h"
concurrency_limit = {limit}
scale_rate = "unlimited"
on_throttle = {throttle}
cold_start = {{ kind = "constant", value = "0s" }}
[[stage]]
service = {{ kind = "exponential", mean = "1s" }}
[[policy]]
kind = "all-faas"
"#
    )
}

/// Erlang B: blocking probability of an M/M/c/c loss system.
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

#[test]
fn concurrency_limit_with_drop_is_an_erlang_b_loss_system() {
    let (c, a) = (4, 3.0);
    let sc = scenario(&faas_limited(c, a, r#"{ kind = "drop" }"#));
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let blocked: Vec<f64> = r.results[0]
        .iter()
        .map(|run| run.get(Metric::Dropped).unwrap() / run.get(Metric::Requests).unwrap())
        .collect();
    assert_in_ci("Erlang B blocking", &blocked, erlang_b(c, a));
}

#[test]
fn concurrency_limit_with_queue_is_an_erlang_c_delay_system() {
    let (c, lambda) = (4, 3.0);
    let sc = scenario(&faas_limited(c, lambda, r#"{ kind = "queue" }"#));
    let (_, wq) = erlang_c(c, lambda, 1.0);
    let faas = metric(&sc, Metric::WaitMean)[0].clone();
    assert_in_ci("throttle-queue wait", &faas, wq);
    // The same requests (common random numbers) on a 4-slot VM pool wait exactly as long: both
    // are FIFO M/M/4 queues.
    let vm = scenario(
        &pool_scenario(
            c,
            lambda,
            r#"{ kind = "exponential", mean = "1s" }"#,
            "20000s",
            20,
        )
        .replace("seed = 2024", "seed = 77")
        .replace("warmup = \"500s\"", "warmup = \"200s\""),
    );
    assert_eq!(faas, metric(&vm, Metric::WaitMean)[0]);
}
