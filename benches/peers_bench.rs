//! Simulation-only timing of infersim on the peer-comparison scenarios of `benches/peers/`
//! (`mm8.toml`: M/M/8 at ρ = 0.9, 10^6 customers; `simfaas.toml`: SimFaaS's single-function
//! model over 10^6 s).
//!
//! Each run times one `infersim::engine::run(&scenario, 0, replication)` call — the whole
//! simulation from the first arrival to the metrics, without loading the TOML or writing
//! reports — for replications `--first`, `--first` + 1, … (default 0; each run simulates other
//! requests). `benches/peers/run.sh` runs it between the peers, round by round. The scenario's
//! warm-up is set to 0 here so that the `requests` metric counts every arrival (the warm-up only
//! changes what is measured, not what is simulated). Throughput is requests (customers) per
//! second of wall time; the median over the runs is reported.
//!
//! ```text
//! cargo bench --bench peers_bench                            # 7 runs of each scenario
//! cargo bench --bench peers_bench -- --runs 3 --first 6 --only mm8 --json target/peers/b.json
//! ```

use std::path::Path;
use std::time::Instant;

use infersim::engine;
use infersim::kernel::SimDuration;
use infersim::report::Metric;
use infersim::scenario::Scenario;

struct Args {
    runs: u32,
    first: u32,
    only: Option<String>,
    json: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        runs: 7,
        first: 0,
        only: None,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--first" => a.first = it.next().and_then(|v| v.parse().ok()).expect("--first R"),
            "--only" => a.only = it.next(),
            "--json" => a.json = it.next(),
            // `cargo bench` passes `--bench`; filters and other flags are not used here.
            _ => {}
        }
    }
    assert!(a.runs >= 1, "--runs must be ≥ 1");
    a
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let a = args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers");
    let mut json = Vec::new();
    for name in ["mm8", "simfaas"] {
        if a.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let path = dir.join(format!("{name}.toml"));
        let mut sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        sc.run.warmup = SimDuration::ZERO;
        let mut secs = Vec::new();
        let mut rates = Vec::new();
        let mut works = Vec::new();
        let mut events = Vec::new();
        for r in a.first..a.first + a.runs {
            let start = Instant::now();
            let result = std::hint::black_box(engine::run(std::hint::black_box(&sc), 0, r))
                .expect("the peer scenarios have no trace to fail");
            let s = start.elapsed().as_secs_f64();
            let work = result
                .get(Metric::Requests)
                .expect("every run reports `requests`");
            secs.push(s);
            rates.push(work / s);
            works.push(work);
            events.push(
                result
                    .get(Metric::Events)
                    .expect("every run reports `events`"),
            );
        }
        let per_run: Vec<String> = secs.iter().map(|s| format!("{:.4}", s)).collect();
        let med_s = median(&mut secs.clone());
        let med_rate = median(&mut rates.clone());
        let work = works.iter().sum::<f64>() / works.len() as f64;
        let ev = events.iter().sum::<f64>() / events.len() as f64;
        println!(
            "peers_bench {name}: {} runs, median {:.4} s per run ({}), {:.0} requests and \
             {:.0} events per run => median {:.2} M requests/s, {:.2} M events/s",
            a.runs,
            med_s,
            per_run.join(" "),
            work,
            ev,
            med_rate / 1e6,
            ev / med_s / 1e6
        );
        json.push(format!(
            "{{\"scenario\":\"{name}\",\"runs\":{},\"median_s\":{med_s},\"median_rate\":{med_rate},\
             \"work_mean\":{work},\"events_mean\":{ev},\"seconds\":[{}]}}",
            a.runs,
            secs.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if let Some(p) = a.json {
        std::fs::write(&p, format!("[{}]\n", json.join(",")))
            .unwrap_or_else(|e| panic!("cannot write {p}: {e}"));
    }
}
