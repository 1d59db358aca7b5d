//! `infersim run`: every policy of a scenario (or one), then the report files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use infersim::report::latency::latency_cdf_csv;
use infersim::report::markdown::{self, Meta};
use infersim::report::plot;
use infersim::report::tidy::Tidy;
use infersim::report::write;
use infersim::sweep;

use super::common::{Output, RunFailure, UsageError, files, out_dir_for, plural, pool, write_file};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
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
}

/// Runs the scenario and writes summary, stats, timeseries and functions CSVs, the figures and
/// report.md.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        scenario,
        out,
        seed,
        replications,
        policy,
        jobs,
        json,
        no_plots,
    } = args;
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
    if let Some(r) = replications {
        let policies = if policy_index.is_some() {
            1
        } else {
            sc.policies.len()
        };
        infersim::scenario::limits::check_runs(1, policies, r, &sc.run.limits).map_err(
            |(_, m)| UsageError(format!("{}: --replications {r}: {m}", scenario.display())),
        )?;
    }
    let dir = out.unwrap_or_else(|| Path::new("reports").join(&sc.name));
    out_dir_for(Output::Run, &dir)?;
    let pool = pool(jobs)?;
    let started = std::time::Instant::now();
    let results = pool
        .install(|| infersim::run_scenario(&sc, policy_index, replications))
        .map_err(|e| UsageError(e.to_string()))?;
    let elapsed = started.elapsed();
    warn_unfinished(&sc, &results);
    write_file(&dir.join("summary.csv"), &write::summary_csv(&results))?;
    write_file(&dir.join("stats.csv"), &write::stats_csv(&results))?;
    write_file(
        &dir.join("timeseries.csv"),
        &write::timeseries_csv(&results),
    )?;
    write_file(&dir.join("functions.csv"), &write::functions_csv(&results))?;
    let cdf = latency_cdf_csv(&results);
    write_file(&dir.join("latency_cdf.csv"), &cdf)?;
    let mut extra_files = Vec::new();
    for (name, bytes) in [
        (
            "moe_layers.csv",
            infersim::report::moe::layers_csv(&sc, &results),
        ),
        (
            "moe_experts.csv",
            infersim::report::moe::experts_csv(&sc, &results),
        ),
        ("moe_bo.csv", infersim::report::moe::bo_csv(&sc, &results)),
    ] {
        if let Some(bytes) = bytes {
            write_file(&dir.join(name), &bytes)?;
            extra_files.push(name);
        } else if dir.join(name).is_file() {
            // An earlier run's file that this run does not write: `plot` would read it back
            // as this run's.
            std::fs::remove_file(dir.join(name)).map_err(|e| {
                RunFailure(format!(
                    "cannot remove the earlier run's {}: {e}",
                    dir.join(name).display()
                ))
            })?;
        }
    }
    let tidy = Tidy::from_results(&results);
    let ts = write::timeseries_csv(&results);
    let plots = if no_plots {
        Vec::new()
    } else {
        plot::plot_all(&dir, &tidy, Some(&ts), Some(&cdf))
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
                &[
                    "summary.csv",
                    "stats.csv",
                    "timeseries.csv",
                    "functions.csv",
                    "latency_cdf.csv",
                    "report.md"
                ]
                .into_iter()
                .chain(extra_files.iter().copied())
                .collect::<Vec<_>>(),
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
    let extra: String = extra_files
        .iter()
        .map(|f| format!(",{}", f.trim_end_matches(".csv")))
        .collect();
    println!(
        "\nwrote {}/{{summary,stats,timeseries,functions,latency_cdf{extra}}}.csv, report.md and {} figure{} in {:.2}s",
        dir.display(),
        plots.len(),
        plural(plots.len()),
        elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Warns about runs that stopped at the drain limit with requests still in flight.
pub fn warn_unfinished(
    sc: &infersim::scenario::Scenario,
    results: &infersim::report::ScenarioResults,
) {
    for (policy, runs) in results.policies.iter().zip(&results.results) {
        let n: f64 = runs
            .iter()
            .filter_map(|r| r.get(infersim::report::Metric::Unfinished))
            .sum();
        if n > 0.0 {
            eprintln!(
                "warning: policy \"{policy}\": {n} request{} still in flight {} after the horizon, when the run stopped (the drain limit, `[run.limits] drain`); they are counted in `unfinished`, not in the latency metrics",
                plural(n as usize),
                sc.run.limits.drain
            );
        }
    }
}
