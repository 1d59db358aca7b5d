//! The MoE deployment optimisers on the paper's setting: GPT2-MoE, 12 MoE layers × 4 experts,
//! top-1, 10,240 tokens with Zipf(1.0) popularity, the 14-option memory menu, G = 8, and a
//! latency limit of LambdaML's latency / 0.8124 (throughput ≥ 81.24 % of LambdaML's).
//!
//! `refine` times the BO refinement of Ω (Alg. 2) on the same model: Ω₀ profiled on a synthetic
//! GPT2-MoE-shaped trace, one learning batch of 10,240 tokens, 20 iterations (patience off),
//! then the refined plan billed on 100 test batches of 10,240 tokens.
//!
//! Run with `cargo bench --bench moe`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use infersim::moe::cost::{Deployment, Mode, evaluate};
use infersim::moe::error::MoeError;
use infersim::moe::model::{BYTES_PER_MB, MoeModel, Platform};
use infersim::moe::optimize::{LAMBDAML_MODE, exact, lambdaml, ods};
use infersim::moe::predict::{FeatureSet, MapPredictor, Predictor, ProfileTable};
use infersim::moe::presets::{aws_lambda_platform, gpt2_moe, zipf_counts};
use infersim::moe::refine::{BoSettings, refine, round_counts};
use infersim::moe::routing::synth::{PerLayer, SynthParams, generate};
use infersim::moe::routing::{Batch, Shape};

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

/// Billed dollars of `dep` on the real counts: [`evaluate`], with an expert that runs out of
/// memory re-run at the smallest menu size that fits and a direct layer over the payload limit
/// re-run through storage.
fn billed(model: &MoeModel, p: &Platform, dep: &Deployment, real: &[Vec<u32>]) -> f64 {
    let mut dep = dep.clone();
    for _ in 0..1000 {
        match evaluate(model, p, real, &dep) {
            Ok(ev) => return ev.usd,
            Err(MoeError::Memory { layer, expert, .. }) => {
                let ch = &mut dep.layers[layer].experts[expert];
                let x = &model.layers[layer].experts[expert];
                let r = real[layer][expert].div_ceil(ch.replicas.max(1)) as u64;
                let need = x.params + x.intermediate + r * (model.d_in + model.d_out);
                match p
                    .memory_menu
                    .iter()
                    .find(|&&m| m as u64 * BYTES_PER_MB >= need)
                {
                    Some(&m) => ch.memory_mb = m,
                    None => return f64::INFINITY,
                }
            }
            Err(MoeError::Payload { layer, .. }) => dep.layers[layer].mode = Mode::Storage,
            Err(_) => return f64::INFINITY,
        }
    }
    f64::INFINITY
}

fn bench_refine(c: &mut Criterion) {
    const TOKENS: usize = 10_240;
    let model = gpt2_moe();
    let platform = aws_lambda_platform();
    // 40 profiling sequences, 20 learning ones (one batch), 2,000 test ones (100 batches).
    let mut p = SynthParams::new(Shape::new(12, 4, 1).unwrap(), 2060, 512, 3);
    p.skew = PerLayer::All(1.2);
    p.vocabulary = 2000;
    p.token_affinity = 0.4;
    p.reuse = PerLayer::All(0.1);
    let trace = generate(&p).unwrap();
    let (profile, rest) = trace.split_by_sequence(|s| s < 40);
    let (learn, test) = rest.split_by_sequence(|s| s < 60);
    let fs = FeatureSet::TokenId {
        position_bucket: 64,
    };
    let omega0 = ProfileTable::profile(&profile, fs).unwrap();
    let learn: Vec<Batch<'_>> = learn.batches(TOKENS);
    let test: Vec<Batch<'_>> = test.batches(TOKENS);
    assert_eq!((learn.len(), test.len()), (1, 100));
    let lml = lambdaml(&model, &platform, &learn[0].counts(), LAMBDAML_MODE).unwrap();
    let limit = (lml.latency_ns() as f64 / 0.8124) as u64;
    let settings = BoSettings {
        max_iterations: 20,
        patience: 20,
        ..BoSettings::default()
    };
    let test_counts: Vec<Vec<Vec<u32>>> = test.iter().map(|b| b.counts()).collect();
    let run = || {
        let mut bb = |d: &Deployment, real: &[Vec<u32>]| billed(&model, &platform, d, real);
        let r = refine(
            &model, &platform, limit, &omega0, &learn, &exact, &mut bb, &settings,
        )
        .unwrap();
        let test_usd = test_counts
            .iter()
            .map(|c| billed(&model, &platform, &r.plan.deployment, c))
            .sum::<f64>()
            / test_counts.len() as f64;
        (r, test_usd)
    };
    let (r, test_usd) = run();
    let pred = MapPredictor::bayes(&omega0).predict(&learn[0]);
    let base = exact(
        &model,
        &platform,
        &round_counts(&pred, TOKENS as u64),
        limit,
    )
    .unwrap();
    let base_usd = test_counts
        .iter()
        .map(|c| billed(&model, &platform, &base.deployment, c))
        .sum::<f64>()
        / test_counts.len() as f64;
    eprintln!(
        "refine: Ω₀ {} keys, {} iterations, learning batch ${:.6} (iteration 0) → ${:.6}; \
         100 test batches: unrefined ${base_usd:.6}, refined ${test_usd:.6}",
        omega0.len(),
        r.history.len(),
        r.history[0].cost_usd,
        r.history.last().unwrap().best_usd
    );
    let mut g = c.benchmark_group("moe");
    g.sample_size(10);
    g.bench_function("refine_gpt2_12x4_10240tok_20it", |b| {
        b.iter(|| black_box(run()))
    });
    g.finish();
}

criterion_group!(benches, bench, bench_refine);
criterion_main!(benches);
