//! The `infersim` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use infersim::report::markdown::{self, Meta};
use infersim::report::plot::{self, Plot};
use infersim::report::tidy::Tidy;
use infersim::report::{check, write};
use infersim::sweep::{self, Plan, Shard};

mod trace_cmd;

#[derive(Parser)]
#[command(
    name = "infersim",
    version,
    about = "Simulate the cost and latency of ML inference on serverless functions and VMs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every policy of a scenario (or one) and write reports.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Output directory (default: reports/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the number of replications.
        #[arg(long)]
        replications: Option<u32>,
        /// Run only the policy with this name.
        #[arg(long)]
        policy: Option<String>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Print a JSON summary on standard output instead of the table.
        #[arg(long)]
        json: bool,
        /// Do not draw the figures (report.md is still written).
        #[arg(long)]
        no_plots: bool,
    },
    /// Inspect a recorded trace or fit distributions to one of its columns.
    Trace {
        #[command(subcommand)]
        command: trace_cmd::TraceCommand,
    },
    /// Check scenarios without running them (exit 0 if all are valid, 2 otherwise).
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Run the points of a scenario's [sweep] × policies × replications, resumably.
    Sweep {
        /// The scenario file (TOML), usually with a [sweep] table.
        scenario: PathBuf,
        /// Output directory (default: reports/<scenario name>-sweep/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed (at every point).
        #[arg(long)]
        seed: Option<u64>,
        /// Override the number of replications (at every point).
        #[arg(long)]
        replications: Option<u32>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Finish the sweep in the output directory: only unfinished runs are run.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Delete the results already in the output directory and start over.
        #[arg(long)]
        force: bool,
        /// Run only shard i of n (0 ≤ i < n): the runs whose index is i modulo n.
        #[arg(long, value_name = "i/n")]
        shard: Option<Shard>,
        /// Print a JSON summary on standard output.
        #[arg(long)]
        json: bool,
        /// Do not draw the figures (report.md is still written).
        #[arg(long)]
        no_plots: bool,
    },
    /// Join the output directories of a sweep's shards into one.
    Merge {
        /// Shard output directories.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Delete the results already in the output directory first.
        #[arg(long)]
        force: bool,
        /// Print a JSON summary on standard output.
        #[arg(long)]
        json: bool,
        /// Do not draw the figures (report.md is still written).
        #[arg(long)]
        no_plots: bool,
    },
    /// Draw the figures of run or sweep output directories into DIR/plots/.
    Plot {
        /// Output directories of `run`, `sweep` or `merge`.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Rerun scenarios and compare each policy's cost and p99 latency with a baseline.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// The baseline CSV (scenario,policy,metric,value).
        #[arg(long)]
        baseline: PathBuf,
        /// Allowed relative increase before a value counts as a regression (`1%` or `0.01`).
        #[arg(long, default_value = "1%", value_parser = check::parse_tolerance)]
        tolerance: f64,
        /// Write the current values into the baseline instead of failing.
        #[arg(long)]
        update: bool,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
    },
}

/// An error that exits with status 2 and a message (bad input, not a bug).
#[derive(Debug)]
struct UsageError(String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            replications,
            policy,
            jobs,
            json,
            no_plots,
        } => {
            if replications == Some(0) {
                return Err(UsageError("--replications must be ≥ 1".into()).into());
            }
            let mut sc = sweep::load_scenario(&scenario).map_err(|e| UsageError(e.to_string()))?;
            if let Some(s) = seed {
                sc.run.seed = s;
            }
            let policy_index = match &policy {
                None => None,
                Some(name) => Some(sc.policy_index(name).ok_or_else(|| {
                    UsageError(format!(
                        "{}: no policy named \"{name}\"; policies: {}",
                        scenario.display(),
                        sc.policies
                            .iter()
                            .map(|p| p.display_name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?),
            };
            let pool = pool(jobs)?;
            let started = std::time::Instant::now();
            let results = pool.install(|| infersim::run_scenario(&sc, policy_index, replications));
            let elapsed = started.elapsed();
            let dir = out.unwrap_or_else(|| Path::new("reports").join(&sc.name));
            write::write_atomic(&dir.join("summary.csv"), &write::summary_csv(&results))
                .with_context(|| format!("cannot write {}", dir.join("summary.csv").display()))?;
            write::write_atomic(&dir.join("stats.csv"), &write::stats_csv(&results))
                .with_context(|| format!("cannot write {}", dir.join("stats.csv").display()))?;
            write::write_atomic(
                &dir.join("timeseries.csv"),
                &write::timeseries_csv(&results),
            )
            .with_context(|| format!("cannot write {}", dir.join("timeseries.csv").display()))?;
            write::write_atomic(&dir.join("functions.csv"), &write::functions_csv(&results))
                .with_context(|| format!("cannot write {}", dir.join("functions.csv").display()))?;
            let tidy = Tidy::from_results(&results);
            let ts = write::timeseries_csv(&results);
            let plots = if no_plots {
                Vec::new()
            } else {
                plot::plot_all(&dir, &tidy, Some(&ts))
                    .map_err(|e| UsageError(format!("cannot draw the figures: {e}")))?
            };
            let meta = Meta {
                name: sc.name.clone(),
                description: sc.description.clone(),
                facts: vec![
                    format!("scenario: `{}`", scenario.display()),
                    format!(
                        "seed {}, {} replication{} per policy",
                        sc.run.seed,
                        results.replications.len(),
                        plural(results.replications.len())
                    ),
                    format!("horizon {}, warm-up {}", sc.run.horizon, sc.run.warmup),
                    format!("infersim {}", env!("CARGO_PKG_VERSION")),
                ],
            };
            write_file(
                &dir.join("report.md"),
                markdown::report(&meta, &tidy, &plots).as_bytes(),
            )?;
            if json {
                let v = serde_json::json!({
                    "command": "run",
                    "scenario": sc.name,
                    "description": sc.description,
                    "seed": sc.run.seed,
                    "replications": results.replications.len(),
                    "out": dir.display().to_string(),
                    "files": files(
                        &dir,
                        &["summary.csv", "stats.csv", "timeseries.csv", "functions.csv", "report.md"],
                        &plots
                    ),
                    "results": markdown::groups_json(&tidy),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} — {} ({} replication{}, seed {}, horizon {})",
                sc.name,
                if sc.description.is_empty() {
                    "no description"
                } else {
                    &sc.description
                },
                results.replications.len(),
                plural(results.replications.len()),
                sc.run.seed,
                sc.run.horizon
            );
            println!("mean ± 95% CI half-width over replications\n");
            print!("{}", write::table(&results));
            println!(
                "\nwrote {}/{{summary,stats,timeseries,functions}}.csv, report.md and {} figure{} in {:.2}s",
                dir.display(),
                plots.len(),
                plural(plots.len()),
                elapsed.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Trace { command } => {
            trace_cmd::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { scenarios } => {
            let mut bad = 0;
            for path in &scenarios {
                match Plan::new(path, None, None) {
                    Ok(plan) => {
                        let sc = &plan.points[0].scenario;
                        let points = if plan.params.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", {} sweep point{}",
                                plan.points.len(),
                                plural(plan.points.len())
                            )
                        };
                        println!(
                            "ok: {} ({}: {} stage{}, {} polic{}{points})",
                            path.display(),
                            sc.name,
                            sc.stages.len(),
                            if sc.stages.len() == 1 { "" } else { "s" },
                            sc.policies.len(),
                            if sc.policies.len() == 1 { "y" } else { "ies" }
                        )
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        bad += 1;
                    }
                }
            }
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Sweep {
            scenario,
            out,
            seed,
            replications,
            jobs,
            resume,
            force,
            shard,
            json,
            no_plots,
        } => {
            if replications == Some(0) {
                return Err(UsageError("--replications must be ≥ 1".into()).into());
            }
            let plan =
                Plan::new(&scenario, seed, replications).map_err(|e| UsageError(e.to_string()))?;
            let dir =
                out.unwrap_or_else(|| Path::new("reports").join(format!("{}-sweep", plan.name)));
            let opts = sweep::Options {
                out: dir.clone(),
                resume,
                force,
                shard,
                progress: !json,
            };
            let started = std::time::Instant::now();
            let outcome = pool(jobs)?
                .install(|| sweep::execute(&plan, &opts))
                .map_err(|e| UsageError(e.to_string()))?;
            let elapsed = started.elapsed();
            if outcome.torn_bytes > 0 {
                eprintln!(
                    "note: dropped an unfinished run ({} bytes) from the end of {}",
                    outcome.torn_bytes,
                    dir.join(sweep::journal::FILE).display()
                );
            }
            let policies = plan.points[0].scenario.policies.len();
            let reps = plan.points[0].scenario.run.replications;
            let reps = if plan
                .points
                .iter()
                .all(|p| p.scenario.run.replications == reps)
            {
                format!("{reps} replication{}", plural(reps as usize))
            } else {
                "replications".into()
            };
            let shape = format!(
                "{} point{} × {policies} polic{} × {reps} = {} runs",
                plan.points.len(),
                plural(plan.points.len()),
                if policies == 1 { "y" } else { "ies" },
                outcome.total
            );
            let Some(tidy) = outcome.tidy else {
                let shard = shard.expect("a partial result is a shard");
                if json {
                    let v = serde_json::json!({
                        "command": "sweep",
                        "scenario": plan.name,
                        "out": dir.display().to_string(),
                        "shard": shard.to_string(),
                        "runs": outcome.total,
                        "shard_runs": outcome.mine,
                        "ran": outcome.ran,
                        "skipped": outcome.skipped,
                    });
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    println!(
                        "{}: shard {shard} of {shape}: {} runs ({} run now, {} already done) in {:.2}s\nwrote {}; join the shards with `infersim merge SHARD_DIR... --out DIR`",
                        plan.name,
                        outcome.mine,
                        outcome.ran,
                        outcome.skipped,
                        elapsed.as_secs_f64(),
                        dir.join("results.csv").display()
                    );
                }
                return Ok(ExitCode::SUCCESS);
            };
            let plots = finish_sweep(
                &dir,
                &plan.name,
                &plan.description,
                &tidy,
                no_plots,
                outcome.total,
            )?;
            if json {
                let v = serde_json::json!({
                    "command": "sweep",
                    "scenario": plan.name,
                    "out": dir.display().to_string(),
                    "params": plan.params,
                    "points": plan.points.len(),
                    "runs": outcome.total,
                    "ran": outcome.ran,
                    "skipped": outcome.skipped,
                    "files": files(&dir, &["results.csv", "summary.csv", "report.md"], &plots),
                    "results": markdown::groups_json(&tidy),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{}: {shape} ({} run now, {} already done) in {:.2}s\nwrote {}/{{results,summary}}.csv, report.md and {} figure{}",
                    plan.name,
                    outcome.ran,
                    outcome.skipped,
                    elapsed.as_secs_f64(),
                    dir.display(),
                    plots.len(),
                    plural(plots.len())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge {
            shards,
            out,
            force,
            json,
            no_plots,
        } => {
            let m = sweep::merge(&shards, &out, force).map_err(|e| UsageError(e.to_string()))?;
            let plots = finish_sweep(
                &out,
                &m.manifest.scenario,
                &m.manifest.description,
                &m.tidy,
                no_plots,
                m.runs,
            )?;
            if json {
                let v = serde_json::json!({
                    "command": "merge",
                    "scenario": m.manifest.scenario,
                    "out": out.display().to_string(),
                    "shards": shards.len(),
                    "runs": m.runs,
                    "files": files(&out, &["results.csv", "summary.csv", "report.md"], &plots),
                    "results": markdown::groups_json(&m.tidy),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "merged {} director{} ({} runs) into {}/{{results,summary}}.csv, report.md and {} figure{}",
                    shards.len(),
                    if shards.len() == 1 { "y" } else { "ies" },
                    m.runs,
                    out.display(),
                    plots.len(),
                    plural(plots.len())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plot { dirs } => {
            for dir in &dirs {
                let plots = plot::plot_dir(dir).map_err(UsageError)?;
                println!(
                    "{}: {} figure{} in {}",
                    dir.display(),
                    plots.len(),
                    plural(plots.len()),
                    dir.join("plots").display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            scenarios,
            baseline,
            tolerance,
            update,
            jobs,
        } => {
            let pool = pool(jobs)?;
            let mut current = Vec::new();
            for path in &scenarios {
                let sc = sweep::load_scenario(path).map_err(|e| UsageError(e.to_string()))?;
                if current.iter().any(|e: &check::Entry| e.scenario == sc.name) {
                    return Err(UsageError(format!(
                        "{}: another scenario is also named \"{}\"; the baseline keys rows by name",
                        path.display(),
                        sc.name
                    ))
                    .into());
                }
                let r = pool.install(|| infersim::run_scenario(&sc, None, None));
                current.extend(check::measure(&r));
            }
            let old = if baseline.exists() {
                check::read_baseline(&baseline).map_err(UsageError)?
            } else if update {
                Vec::new()
            } else {
                return Err(UsageError(format!(
                    "{}: no baseline; create it with `infersim check {} --baseline {} --update`",
                    baseline.display(),
                    scenarios
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    baseline.display()
                ))
                .into());
            };
            let diffs = check::compare(&old, &current, tolerance);
            print!("{}", check::table(&diffs));
            if update {
                let new = check::updated(&old, &current);
                write_file(&baseline, check::baseline_csv(&new).as_bytes())?;
                println!("\nupdated {} ({} rows)", baseline.display(), new.len());
                return Ok(ExitCode::SUCCESS);
            }
            let failed = diffs.iter().filter(|d| d.status.fails()).count();
            let improved = diffs
                .iter()
                .filter(|d| d.status == check::Status::Improved)
                .count();
            if failed > 0 {
                println!(
                    "\nFAILED: {failed} value{} worse than the baseline by more than {}% (or missing); if the change is intended, run with --update and commit {}",
                    plural(failed),
                    tolerance * 100.0,
                    baseline.display()
                );
                return Ok(ExitCode::from(1));
            }
            println!(
                "\nok: {} value{} within {}% of the baseline{}",
                diffs.len(),
                plural(diffs.len()),
                tolerance * 100.0,
                if improved > 0 {
                    format!("; {improved} improved (run with --update to lock the gain in)")
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write::write_atomic(path, bytes)
        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())).into())
}

/// The files of an output directory, for `--json`.
fn files(dir: &Path, names: &[&str], plots: &[Plot]) -> Vec<String> {
    names
        .iter()
        .map(|n| dir.join(n))
        .chain(plots.iter().flat_map(|p| p.files.iter().cloned()))
        .map(|p| p.display().to_string())
        .collect()
}

/// Figures and report.md of a finished sweep (or merge).
fn finish_sweep(
    dir: &Path,
    name: &str,
    description: &str,
    tidy: &Tidy,
    no_plots: bool,
    runs: usize,
) -> anyhow::Result<Vec<Plot>> {
    let plots = if no_plots {
        Vec::new()
    } else {
        plot::plot_all(dir, tidy, None)
            .map_err(|e| UsageError(format!("cannot draw the figures: {e}")))?
    };
    let mut facts = vec![format!(
        "the scenario file, `[sweep]` included, is copied in `{}`",
        sweep::runner::SCENARIO_COPY
    )];
    facts.push(format!(
        "{} sweep point{}, {runs} runs",
        tidy.points(),
        plural(tidy.points())
    ));
    if !tidy.params.is_empty() {
        facts.push(format!(
            "swept: {}",
            tidy.params
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let meta = Meta {
        name: name.to_string(),
        description: description.to_string(),
        facts,
    };
    write_file(
        &dir.join("report.md"),
        markdown::report(&meta, tidy, &plots).as_bytes(),
    )?;
    Ok(plots)
}
