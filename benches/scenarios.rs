//! End-to-end benchmarks: whole runs of `infersim::engine::run` on small scenarios.
//!
//! * `quickstart/<policy>`: `scenarios/quickstart.toml`, one replication of each policy;
//! * `faas-single`: one function, Poisson arrivals at 1000/s, constant 10 ms service,
//!   all-FaaS with a 10-minute keep-alive, unlimited scale-up and a large concurrency limit;
//! * `mm8`: one 8-slot VM, Poisson arrivals at 7.2/s, exponential service with mean 1 s
//!   (M/M/8 at ρ = 0.9);
//! * `azure2019-1h/<policy>`: the first hour of the bundled Azure Functions 2019 replay
//!   (1,000 functions), fixed 10-minute keep-alive and hybrid histogram;
//! * `early-exit-vgg16-10m/<policy>`: the first 10 minutes of `scenarios/early-exit-vgg16.toml`
//!   (4 early-exit stages at 150–450 req/s): all-FaaS, all-VM, LIBRA and SERFLOW;
//! * `coded-lambda-10m/<policy>`: `scenarios/coded-lambda.toml` (groups of 12 queries at
//!   120/s): uncoded, replication, ParM and ApproxIFER on the same workers.
//!
//! Criterion's throughput is in engine events (the run's `events` metric, counted once before
//! benchmarking), so `thrpt` reads as events per second. After each benchmark a line gives the
//! median time per run over criterion's samples, with events/s and requests/s (`requests`
//! counts the requests that arrived after the warm-up only).
//!
//! Run with `cargo bench --bench scenarios`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use infersim::engine;
use infersim::kernel::SimDuration;
use infersim::report::Metric;
use infersim::scenario::Scenario;

/// Single-function FaaS: the engine's hot path (arrival, warm invocation, completion).
const FAAS_SINGLE: &str = r#"
name = "bench-faas-single"
[run]
horizon = "2m"
seed = 1
[workload]
arrivals = { kind = "poisson", rate = "1000/s" }
[platform.faas]
memory = "1769MB"
keep_alive = "10m"
scale_rate = "unlimited"
concurrency_limit = 100000
[[stage]]
name = "infer"
service = { kind = "constant", value = "10ms" }
[[policy]]
kind = "all-faas"
"#;

/// M/M/8 at ρ = 0.9 on one VM with a shared FIFO.
const MM8: &str = r#"
name = "bench-mm8"
[run]
horizon = "2h"
seed = 8
[workload]
arrivals = { kind = "poisson", rate = "7.2/s" }
[platform.vm]
instance = "bench8"
instance_types = [ { name = "bench8", vcpus = 8, memory = "16GB", price_per_hour = 0.34 } ]
[[stage]]
name = "serve"
service = { kind = "exponential", mean = "1s" }
[[policy]]
kind = "vm-fixed"
vms = 1
"#;

fn inline(text: &str) -> Scenario {
    Scenario::from_str_at(text, Path::new("bench.toml"))
        .unwrap_or_else(|e| panic!("bench scenario: {e}"))
}

/// Samples per benchmark (criterion's `sample_size`).
const SAMPLES: usize = 10;

/// Counts the events and requests of one run, benchmarks the run with criterion (throughput in
/// events), then prints events/s and requests/s from the median of the measured samples.
fn bench_run(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, sc: &Scenario, policy: usize) {
    let first = engine::run(sc, policy, 0).expect("the bundled traces can be read");
    let events = first
        .get(Metric::Events)
        .expect("every run reports `events`");
    let requests = first
        .get(Metric::Requests)
        .expect("every run reports `requests`");
    group.throughput(Throughput::Elements(events as u64));
    // Every (iterations, elapsed) pair criterion asks for: warm-up first, then the samples.
    let mut log: Vec<(u64, Duration)> = Vec::new();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let _ = black_box(engine::run(black_box(sc), policy, 0));
            }
            let elapsed = start.elapsed();
            log.push((iters, elapsed));
            elapsed
        })
    });
    // Filtered out, or run in test mode: nothing (or too little) to report.
    if log.len() < SAMPLES {
        return;
    }
    let mut per_run: Vec<f64> = log[log.len() - SAMPLES..]
        .iter()
        .map(|&(iters, elapsed)| elapsed.as_secs_f64() / iters as f64)
        .collect();
    per_run.sort_by(f64::total_cmp);
    let median = (per_run[SAMPLES / 2 - 1] + per_run[SAMPLES / 2]) / 2.0;
    println!(
        "{id}: {events} events and {requests} requests per run; median {:.3} ms per run \
         => {:.2} M events/s, {:.0} requests/s",
        median * 1e3,
        events / median / 1e6,
        requests / median,
    );
}

fn scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenarios");
    group.sample_size(SAMPLES);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml");
    let mut quickstart =
        Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("quickstart: {e}"));
    // The full 30 minutes run in a few milliseconds per policy: no need to shorten.
    quickstart.run.horizon = SimDuration::from_secs(30 * 60);
    for p in 0..quickstart.policies.len() {
        let id = format!("quickstart/{}", quickstart.policies[p].display_name());
        bench_run(&mut group, &id, &quickstart, p);
    }

    bench_run(&mut group, "faas-single", &inline(FAAS_SINGLE), 0);
    bench_run(&mut group, "mm8", &inline(MM8), 0);

    // The Azure Functions 2019 replay: 1,000 functions, fixed 10-minute keep-alive and the
    // hybrid histogram, on the first hour of the day (the whole day takes ~7 s per run; its
    // figures are in BENCHMARKS.md, measured with `infersim run`).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/azure2019-keepalive.toml"
    );
    let text = std::fs::read_to_string(path).expect("bundled scenario");
    let text = text.replace("horizon = \"24h\"", "horizon = \"1h\"");
    let azure =
        Scenario::from_str_at(&text, Path::new(path)).unwrap_or_else(|e| panic!("azure: {e}"));
    for name in ["fixed-10m", "hybrid-histogram"] {
        let p = azure
            .policy_index(name)
            .expect("policy in the bundled scenario");
        bench_run(&mut group, &format!("azure2019-1h/{name}"), &azure, p);
    }

    // The early-exit family: the first 10 minutes (about 180,000 requests) of the VGG16 model.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/early-exit-vgg16.toml"
    );
    let mut early = Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("vgg16: {e}"));
    early.run.horizon = SimDuration::from_secs(600);
    early.run.warmup = SimDuration::from_secs(60);
    for p in 0..early.policies.len() {
        let id = format!("early-exit-vgg16-10m/{}", early.policies[p].display_name());
        bench_run(&mut group, &id, &early, p);
    }

    // The coded family: `scenarios/coded-lambda.toml` (K = 12 groups at 120 queries/s), the
    // first 10 minutes of every scheme on the same workers (uncoded is the baseline).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/coded-lambda.toml");
    let coded = Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("coded: {e}"));
    for p in 0..coded.policies.len() {
        let id = format!("coded-lambda-10m/{}", coded.policies[p].display_name());
        bench_run(&mut group, &id, &coded, p);
    }

    group.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: criterion's plotters backend needs system fonts a fresh machine may lack.
    config = Criterion::default().without_plots();
    targets = scenarios
}
criterion_main!(benches);
