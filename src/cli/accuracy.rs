//! `infersim accuracy`: measure the accuracy of coded inference (ApproxIFER), ParM, replication
//! and the uncoded model on real classifiers and images; write `accuracy.csv`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use infersim::coded::EvalPoints;
use infersim::coded::accuracy::sweep::{Experiment, SweepSpec, run_sweep};
use infersim::coded::accuracy::table::{self, Adversary, Scheme};
use infersim::coded::accuracy::{self, ModelChoice, Setup};
use infersim::report::plot::accuracy::accuracy_figures;

use super::common::{Output, UsageError, out_dir_for, pool, write_file};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
    /// Classifiers, comma-separated: digits-mlp, digits-cnn (trained here on the bundled digits),
    /// mnist-cnn (pretrained, on the MNIST sample).
    #[arg(long, default_value = "digits-mlp", value_parser = parse_models)]
    model: Models,
    /// Queries per group K: a list and/or ranges, e.g. 8,10,12 or 2..16.
    #[arg(long = "k", default_value = "8,10,12", value_parser = parse_list)]
    ks: List,
    /// Stragglers S (list or ranges).
    #[arg(long = "s", default_value = "1", value_parser = parse_list)]
    ss: List,
    /// Byzantine workers E (list or ranges); N = K + S for E = 0, 2(K+E) + S − 1 otherwise.
    #[arg(long = "e", default_value = "0", value_parser = parse_list)]
    es: List,
    /// What Byzantine workers return, comma-separated: gaussian (outputs + N(0, σ²)) or sign-flip.
    #[arg(long, default_value = "gaussian", value_parser = parse_adversaries)]
    adversary: Adversaries,
    /// Noise levels σ of the Gaussian adversary, comma-separated.
    #[arg(long, default_value = "10", value_parser = parse_sigmas)]
    sigma: Sigmas,
    /// Groups of K queries per point.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    groups: u64,
    /// Seed of the groups, stragglers and Byzantine workers (the training seeds are fixed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// ApproxIFER's evaluation points: authors (cos(nπ/N)) or chebyshev2 (cos(nπ/(N−1))).
    #[arg(long, default_value = "authors", value_parser = parse_points)]
    points: EvalPoints,
    /// Do not train or run ParM's parity models.
    #[arg(long)]
    no_parm: bool,
    /// Training epochs of the classifiers trained here (default: 60 for digits-mlp, 30 for
    /// digits-cnn).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    epochs: Option<u64>,
    /// Optimiser steps of each parity model (default: 1,500 on digits, 600 on MNIST).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    parity_steps: Option<u64>,
    /// The MNIST sample for mnist-cnn (mnist_5k.csv.gz).
    #[arg(long, default_value = accuracy::data::MNIST_PATH)]
    mnist: PathBuf,
    /// The pretrained MNIST CNN (a PyTorch state dict).
    #[arg(long, default_value = "data/mnist_cnn_ccexam.pth")]
    pretrained: PathBuf,
    /// Where trained models are cached.
    #[arg(long, default_value = "reports/models")]
    cache: PathBuf,
    /// Train every model afresh and do not write the cache.
    #[arg(long)]
    no_cache: bool,
    /// Output directory.
    #[arg(long, default_value = "reports/accuracy")]
    out: PathBuf,
    /// Do not draw the figures (accuracy against K, S, E and σ in OUT/plots/).
    #[arg(long)]
    no_plots: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(Clone, Debug)]
struct Models(Vec<ModelChoice>);
#[derive(Clone, Debug)]
struct List(Vec<usize>);
#[derive(Clone, Debug)]
struct Adversaries(Vec<Adversary>);
#[derive(Clone, Debug)]
struct Sigmas(Vec<f64>);

fn parse_models(s: &str) -> Result<Models, String> {
    s.split(',')
        .map(|m| {
            ModelChoice::parse(m.trim()).ok_or_else(|| {
                format!(
                    "unknown model {m:?}; models: {}",
                    ModelChoice::ALL.map(|m| m.name()).join(", ")
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Models)
}

fn parse_list(s: &str) -> Result<List, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let num = |x: &str| {
            x.trim().parse::<usize>().map_err(|_| {
                format!("{x:?} is not a non-negative integer (use e.g. 1,2,3 or 2..16)")
            })
        };
        match part.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b.trim_start_matches('='))?);
                if a > b {
                    return Err(format!("empty range {part:?}: the start exceeds the end"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    if out.len() > 10_000 {
        return Err("at most 10,000 values".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(List(out))
}

fn parse_adversaries(s: &str) -> Result<Adversaries, String> {
    s.split(',')
        .map(|a| match Adversary::parse(a.trim()) {
            Some(Adversary::None) | None => Err(format!(
                "unknown adversary {a:?}; adversaries: gaussian, sign-flip"
            )),
            Some(a) => Ok(a),
        })
        .collect::<Result<_, _>>()
        .map(Adversaries)
}

fn parse_sigmas(s: &str) -> Result<Sigmas, String> {
    s.split(',')
        .map(|x| match x.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(format!("{x:?} is not a positive number")),
        })
        .collect::<Result<_, _>>()
        .map(Sigmas)
}

fn parse_points(s: &str) -> Result<EvalPoints, String> {
    [EvalPoints::AuthorsCode, EvalPoints::ChebyshevSecondKind]
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| format!("unknown evaluation points {s:?}; choose authors or chebyshev2"))
}

/// Prepares each model (training or loading its cache), runs the sweep, writes
/// `OUT/accuracy.csv` and prints a summary.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    out_dir_for(Output::Accuracy, &args.out)?;
    let ks = &args.ks.0;
    if let Some(k) = ks.iter().find(|&&k| k == 0 || k > 64) {
        return Err(UsageError(format!("--k: K = {k} is not allowed; K must be 1..=64")).into());
    }
    if let Some(s) = args.ss.0.iter().find(|&&s| s > 64) {
        return Err(UsageError(format!("--s: S = {s} is not allowed; S must be 0..=64")).into());
    }
    if let Some(e) = args.es.0.iter().find(|&&e| e > 16) {
        return Err(UsageError(format!("--e: E = {e} is not allowed; E must be 0..=16")).into());
    }
    if args.ss.0.contains(&0) && args.es.0.contains(&0) {
        return Err(UsageError(
            "--s 0 with --e 0 is a point without redundancy: S must be ≥ 1 when E = 0 \
             (drop 0 from --s or from --e)"
                .into(),
        )
        .into());
    }
    let pool = pool(args.jobs)?;
    let spec = SweepSpec {
        ks: ks.clone(),
        ss: args.ss.0.clone(),
        es: args.es.0.clone(),
        adversaries: args.adversary.0.clone(),
        sigmas: args.sigma.0.clone(),
        groups: args.groups as usize,
        seed: args.seed,
        points: args.points,
    };
    let mut rows = Vec::new();
    let started = Instant::now();
    for &choice in &args.model.0 {
        let mut setup = Setup::new(choice);
        setup.mnist = args.mnist.clone();
        setup.pretrained = args.pretrained.clone();
        setup.cache = (!args.no_cache).then(|| args.cache.clone());
        if let Some(e) = args.epochs {
            setup.train.epochs = e as usize;
        }
        if let Some(s) = args.parity_steps {
            setup.parity.steps = s as usize;
        }
        let t0 = Instant::now();
        let prepared = pool
            .install(|| accuracy::prepare(&setup))
            .map_err(|e| UsageError(format!("{}: {e}", choice.name())))?;
        spec.validate(prepared.test.len())
            .map_err(|e| UsageError(format!("--k/--groups for {}: {e}", choice.name())))?;
        eprintln!(
            "{}: base accuracy {:.4} on {} test images ({} in {:.1}s)",
            choice.name(),
            prepared.base_accuracy,
            prepared.test.len(),
            match (choice, prepared.cached) {
                (ModelChoice::MnistCnn, _) => "pretrained, loaded",
                (_, true) => "cached",
                (_, false) => "trained",
            },
            t0.elapsed().as_secs_f64()
        );
        let t1 = Instant::now();
        let parity = if args.no_parm {
            Default::default()
        } else {
            pool.install(|| accuracy::prepare_parity(&setup, &prepared, ks))
                .map_err(|e| UsageError(format!("{} parity models: {e}", choice.name())))?
        };
        if !parity.is_empty() {
            eprintln!(
                "{}: {} parity model{} ready in {:.1}s",
                choice.name(),
                parity.len(),
                if parity.len() == 1 { "" } else { "s" },
                t1.elapsed().as_secs_f64()
            );
        }
        let exp = Experiment {
            name: choice.name(),
            model: &prepared.model,
            test: &prepared.test,
            parity: &parity,
        };
        let out = pool
            .install(|| run_sweep(&exp, &spec))
            .map_err(|e| UsageError(format!("{}: {e}", choice.name())))?;
        for d in &out.degraded {
            eprintln!(
                "{}: ParM K = {}: reconstructed answers correct {:.4} ({} of {})",
                choice.name(),
                d.k,
                d.correct as f64 / d.queries.max(1) as f64,
                d.correct,
                d.queries
            );
        }
        for r in out.rows.iter().filter(|r| r.scheme == Scheme::Approxifer) {
            let attack = match (r.adversary, r.sigma) {
                (Adversary::None, _) => String::new(),
                (a, Some(s)) => format!(" {} σ={s}", a.name()),
                (a, None) => format!(" {}", a.name()),
            };
            let det = r
                .detected_rate
                .map(|d| format!(", located {:.3}", d))
                .unwrap_or_default();
            eprintln!(
                "{}: ApproxIFER K={} S={} E={}{attack}: {:.4} [{:.4}, {:.4}]{det}",
                r.model, r.k, r.s, r.e, r.accuracy, r.ci95_low, r.ci95_high
            );
        }
        rows.extend(out.rows);
    }
    let path = args.out.join("accuracy.csv");
    write_file(&path, table::to_csv(&rows).as_bytes())?;
    let plots = if args.no_plots {
        Vec::new()
    } else {
        accuracy_figures(&rows, &args.out)
            .map_err(|e| UsageError(format!("cannot draw the figures: {e}")))?
    };
    eprintln!(
        "wrote {} ({} rows) and {} figure{} in {:.1}s",
        path.display(),
        rows.len(),
        plots.len(),
        if plots.len() == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
