//! ApproxIFER's numerics at the master: Berrut encoding of K = 12 queries for N = 13 workers,
//! decoding of K = 12 soft-label vectors (10 classes) from 12 answers, and the error locator at
//! K = 12, E = 1 (N = 2(K+E) + S − 1 = 26 with S = 1, 25 answers, 10 coordinates).
//!
//! Run with `cargo bench --bench coded`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use infersim::coded::{BerrutCode, EvalPoints, byzantine_workers, locate_errors};
use infersim::kernel::rng;
use nalgebra::DMatrix;
use rand::RngExt;

fn random(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
    let mut r = rng::from_seed(seed);
    DMatrix::from_fn(rows, cols, |_, _| r.random::<f64>() * 2.0 - 1.0)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("coded");
    let code = BerrutCode::new(12, 13, EvalPoints::AuthorsCode).unwrap();
    // Encoding: the weights, then 12 digits images (8×8 = 64 pixels) into 13 coded ones.
    let x = random(12, 64, 1);
    g.bench_function("encode_k12_n13_64px", |b| {
        b.iter(|| code.encode(black_box(&x)).unwrap())
    });
    // Decoding: 12 of the 13 answers (worker 5 straggles), 10 classes each.
    let returned: Vec<usize> = (0..13).filter(|&i| i != 5).collect();
    let y = random(12, 10, 2);
    g.bench_function("decode_k12_from12_10classes", |b| {
        b.iter(|| code.decode(black_box(&returned), black_box(&y)).unwrap())
    });
    // Locator: K = 12, E = 1, S = 1.
    let n = byzantine_workers(12, 1, 1);
    let bcode = BerrutCode::new(12, n, EvalPoints::AuthorsCode).unwrap();
    let ret: Vec<usize> = (0..n).filter(|&i| i != 7).collect();
    let coded = bcode
        .encode(&random(12, 10, 3))
        .unwrap()
        .map(|v| 2.0 * v.tanh());
    let mut ys = coded.select_rows(&ret);
    for c in 0..10 {
        ys[(4, c)] += 10.0;
    }
    g.bench_function("locate_k12_e1_25answers_10classes", |b| {
        b.iter(|| locate_errors(&bcode, black_box(&ret), black_box(&ys), 1).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
