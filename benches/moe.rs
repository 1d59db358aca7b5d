//! The MoE deployment optimisers on the paper's setting: GPT2-MoE, 12 MoE layers × 4 experts,
//! top-1, 10,240 tokens with Zipf(1.0) popularity, the 14-option memory menu, G = 8, and a
//! latency limit of LambdaML's latency / 0.8124 (throughput ≥ 81.24 % of LambdaML's).
//!
//! Run with `cargo bench --bench moe`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use infersim::moe::optimize::{LAMBDAML_MODE, exact, lambdaml, ods};
use infersim::moe::presets::{aws_lambda_platform, gpt2_moe, zipf_counts};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("moe");
    let model = gpt2_moe();
    let platform = aws_lambda_platform();
    let counts = vec![zipf_counts(10_240, 1, 4, 1.0); 12];
    let lml = lambdaml(&model, &platform, &counts, LAMBDAML_MODE).unwrap();
    let limit = (lml.latency_ns() as f64 / 0.8124) as u64;
    g.bench_function("exact_gpt2_12x4_10240tok", |b| {
        b.iter(|| exact(black_box(&model), &platform, black_box(&counts), limit).unwrap())
    });
    g.bench_function("ods_gpt2_12x4_10240tok", |b| {
        b.iter(|| {
            ods(
                black_box(&model),
                &platform,
                black_box(&counts),
                limit,
                true,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
