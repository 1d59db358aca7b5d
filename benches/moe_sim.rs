//! One MoE batch as discrete events: GPT2-MoE (12 MoE layers × 4 experts, top-1) with a
//! 10,240-token batch, and Mixtral-8x7B (32 × 8, top-2) with a 10,240-token batch, each
//! planned (the stage tables of the batch) and simulated through the engine on the LambdaML
//! and the exact deployment. Routing is synthetic, generated once outside the timing.
//!
//! Mixtral's exact deployment is also simulated with one time-series sample a minute instead
//! of the default one a second, which separates the events from the sampling (the series
//! stores a quiet stretch as one sample and a count, so the two are close).
//!
//! Run with `cargo bench --bench moe_sim -- --noplot`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use infersim::plan::Planner;
use infersim::plan::moe::MoeRun;
use infersim::policy::PolicyConfig;
use infersim::scenario::Scenario;

fn scenario(model: &str, layers: usize, experts: usize, top_k: usize, sampling: &str) -> Scenario {
    let text = format!(
        r#"
name = "bench"
[run]
horizon = "1ms"
{sampling}
[workload]
arrivals = {{ kind = "timestamps", times = ["0s"] }}
[moe]
model = "{model}"
batch_tokens = 10240
[moe.routing]
test_batches = 1
[moe.routing.synthetic]
seed = 3
layers = {layers}
experts = {experts}
top_k = {top_k}
sequences = 2
tokens_per_sequence = 10240
[[policy]]
kind = "moe-lambdaml"
[[policy]]
kind = "moe-deploy"
predictor = "oracle"
"#
    );
    let dir = std::env::temp_dir().join("infersim-bench-moe");
    std::fs::create_dir_all(&dir).unwrap();
    Scenario::from_str_at(&text, &dir.join("s.toml")).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("moe_batch");
    for (name, model, shape) in [
        ("gpt2_12x4", "gpt2-moe", (12, 4, 1)),
        ("mixtral_32x8", "mixtral-8x7b", (32, 8, 2)),
    ] {
        let sc = scenario(model, shape.0, shape.1, shape.2, "");
        for (p, policy) in ["lambdaml", "exact"].iter().enumerate() {
            g.bench_function(format!("simulate_{name}_{policy}_10240tok"), |b| {
                b.iter(|| infersim::engine::run(black_box(&sc), p, 0).unwrap())
            });
            let PolicyConfig::Moe(c) = &sc.policies[p] else {
                panic!("MoE policies")
            };
            let moe = sc.moe.as_ref().unwrap();
            let run = MoeRun {
                model: moe.setup.model.clone(),
                platform: moe.setup.platform.clone(),
                deployment: c.choice.deployment.clone(),
                batches: vec![moe.test()[0].counts()],
                on_overflow: moe.on_overflow,
                latency_limit_ns: u64::MAX,
                prediction_mae: None,
                cluster: None,
            };
            g.bench_function(format!("plan_{name}_{policy}_10240tok"), |b| {
                b.iter(|| Arc::new(Planner::moe(black_box(&run)).unwrap()))
            });
        }
    }
    // The default time series samples every second of the batch (Mixtral's takes hours of
    // simulated time); with one sample a minute the run is nearly the events alone.
    let sc = scenario("mixtral-8x7b", 32, 8, 2, "sample_interval = \"1min\"");
    g.bench_function("simulate_mixtral_32x8_exact_10240tok_sampled_1min", |b| {
        b.iter(|| infersim::engine::run(black_box(&sc), 1, 0).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
