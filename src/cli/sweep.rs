//! `infersim sweep`: the points of a scenario's `[sweep]` × policies × replications, resumably.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use infersim::report::markdown;
use infersim::sweep::{self, Plan, Shard};

use super::common::{UsageError, files, finish_sweep, plural, pool};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
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
}

/// Runs the sweep (or one shard) and, when it is whole, writes the figures and report.md.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
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
    } = args;
    if replications == Some(0) {
        return Err(UsageError("--replications must be ≥ 1".into()).into());
    }
    let plan = Plan::new(&scenario, seed, replications).map_err(|e| UsageError(e.to_string()))?;
    let dir = out.unwrap_or_else(|| Path::new("reports").join(format!("{}-sweep", plan.name)));
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
