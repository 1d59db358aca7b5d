//! The classic "hold model" benchmark of a future event list.
//!
//! A queue holds `PENDING` events. Each hold operation pops the earliest event and schedules
//! one at `now + increment`, with exponential increments, so the queue size stays constant.
//! The same loop runs on the kernel's [`EventQueue`] and on a bare
//! `BinaryHeap<Reverse<(time, seq)>>` (the cheapest FIFO-stable heap one can write), in one
//! criterion group so the two are measured in the same invocation and their ratio is
//! meaningful. Both variants consume the same pre-generated increments.
//!
//! A second group, `exp_sample`, compares the two ways of drawing exponential variates (see
//! [`exp_sample`]).
//!
//! Run with `cargo bench --bench kernel`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use infersim::kernel::{EventQueue, SimDuration, SimTime, rng};
use rand::RngExt;
use rand_distr::{Distribution, Exp, Exp1};

/// Events pending in the queue throughout the benchmark.
const PENDING: usize = 10_000;
/// Hold operations per criterion iteration.
const HOLDS_PER_ITER: usize = 10_000;
/// Pre-generated increments (a power of two, cycled through with a mask).
const INCREMENTS: usize = 1 << 16;
/// Mean increment: 1 ms, in nanoseconds.
const MEAN_INCREMENT_NS: f64 = 1e6;

/// Exponential increments in whole nanoseconds, from a seeded `Pcg64Mcg`.
fn increments(seed: u64, n: usize) -> Vec<u64> {
    let mut rng = rng::from_seed(seed);
    let exp = Exp::new(1.0 / MEAN_INCREMENT_NS).expect("a positive rate");
    (0..n)
        .map(|_| exp.sample(&mut rng).round() as u64)
        .collect()
}

fn hold(c: &mut Criterion) {
    let incs = increments(2024, INCREMENTS);
    let initial = increments(7, PENDING);
    let mask = INCREMENTS - 1;

    let mut group = c.benchmark_group(format!("hold_{PENDING}"));
    group.throughput(Throughput::Elements(HOLDS_PER_ITER as u64));
    group.sample_size(50);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("EventQueue", |b| {
        let mut q: EventQueue<u64> = EventQueue::with_capacity(PENDING + 1);
        for (i, &t) in initial.iter().enumerate() {
            let _ = q.push(SimTime(t), i as u64);
        }
        let mut cursor = 0usize;
        b.iter(|| {
            let mut acc = 0u64;
            for _ in 0..HOLDS_PER_ITER {
                let (t, ev) = q.pop().expect("the queue never empties");
                acc = acc.wrapping_add(ev);
                let _ = q.push(t + SimDuration(incs[cursor & mask]), ev);
                cursor = cursor.wrapping_add(1);
            }
            black_box(acc)
        });
        assert_eq!(q.len(), PENDING);
    });

    group.bench_function("BinaryHeap", |b| {
        let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(PENDING + 1);
        let mut seq = 0u64;
        for &t in &initial {
            heap.push(Reverse((t, seq)));
            seq += 1;
        }
        let mut cursor = 0usize;
        b.iter(|| {
            let mut acc = 0u64;
            for _ in 0..HOLDS_PER_ITER {
                let Reverse((t, s)) = heap.pop().expect("the heap never empties");
                acc = acc.wrapping_add(s);
                heap.push(Reverse((t + incs[cursor & mask], seq)));
                seq += 1;
                cursor = cursor.wrapping_add(1);
            }
            black_box(acc)
        });
        assert_eq!(heap.len(), PENDING);
    });

    group.finish();
}

/// Exponential draws per criterion iteration of `exp_sample`.
const DRAWS_PER_ITER: usize = 10_000;

/// The exponential samplers the workload can use, on the simulator's generator: the inverse
/// CDF `-ln(1 - u) / rate` (one libm `ln` per draw) and `rand_distr`'s ziggurat `Exp1` (a table
/// lookup and a multiply on ≈ 98 % of draws), each followed by the rounding to nanoseconds
/// every inter-arrival time goes through.
fn exp_sample(c: &mut Criterion) {
    let rate = 0.9;
    let mut group = c.benchmark_group("exp_sample");
    group.throughput(Throughput::Elements(DRAWS_PER_ITER as u64));
    group.sample_size(50);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    group.bench_function("inverse_cdf_ln", |b| {
        let mut rng = rng::from_seed(5);
        b.iter(|| {
            let mut t = 0.0f64;
            let mut acc = 0u64;
            for _ in 0..DRAWS_PER_ITER {
                let u: f64 = 1.0 - rng.random::<f64>();
                t += -u.ln() / rate;
                acc = acc.wrapping_add(SimDuration::from_secs_f64(t).0);
            }
            black_box(acc)
        });
    });

    group.bench_function("ziggurat_exp1", |b| {
        let mut rng = rng::from_seed(5);
        b.iter(|| {
            let mut t = 0.0f64;
            let mut acc = 0u64;
            for _ in 0..DRAWS_PER_ITER {
                let e: f64 = Exp1.sample(&mut rng);
                t += e / rate;
                acc = acc.wrapping_add(SimDuration::from_secs_f64(t).0);
            }
            black_box(acc)
        });
    });

    group.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: criterion's plotters backend needs system fonts a fresh machine may lack.
    config = Criterion::default().without_plots();
    targets = hold, exp_sample
}
criterion_main!(benches);
