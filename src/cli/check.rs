//! `infersim check`: rerun scenarios and compare cost and p99 latency with a baseline.

use std::path::PathBuf;
use std::process::ExitCode;

use infersim::report::check;
use infersim::sweep;

use super::common::{UsageError, plural, pool, write_file};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
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
}

/// Exit 0 when every value is within the tolerance (or `--update` rewrote the baseline), 1 on
/// a regression.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        scenarios,
        baseline,
        tolerance,
        update,
        jobs,
    } = args;
    // The baseline is read first: a bad one fails before any scenario runs.
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
        let r = pool
            .install(|| infersim::run_scenario(&sc, None, None))
            .map_err(|e| UsageError(e.to_string()))?;
        current.extend(check::measure(&r));
    }
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
