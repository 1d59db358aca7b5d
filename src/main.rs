//! The `infersim` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use infersim::report::write;

mod trace_cmd;
use infersim::scenario::Scenario;

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
        } => {
            if replications == Some(0) {
                return Err(UsageError("--replications must be ≥ 1".into()).into());
            }
            let mut sc = Scenario::load(&scenario).map_err(|e| UsageError(e.to_string()))?;
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
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(jobs.unwrap_or(0))
                .build()
                .context("cannot start the worker threads")?;
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
            println!(
                "{} — {} ({} replication{}, seed {}, horizon {})",
                sc.name,
                if sc.description.is_empty() {
                    "no description"
                } else {
                    &sc.description
                },
                results.replications.len(),
                if results.replications.len() == 1 {
                    ""
                } else {
                    "s"
                },
                sc.run.seed,
                sc.run.horizon
            );
            println!("mean ± 95% CI half-width over replications\n");
            print!("{}", write::table(&results));
            println!(
                "\nwrote {}/{{summary,stats,timeseries,functions}}.csv in {:.2}s",
                dir.display(),
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
                match Scenario::load(path) {
                    Ok(sc) => println!(
                        "ok: {} ({}: {} stage{}, {} polic{})",
                        path.display(),
                        sc.name,
                        sc.stages.len(),
                        if sc.stages.len() == 1 { "" } else { "s" },
                        sc.policies.len(),
                        if sc.policies.len() == 1 { "y" } else { "ies" }
                    ),
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
    }
}
