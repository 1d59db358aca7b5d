//! `infersim merge`: join the output directories of a sweep's shards.

use std::path::PathBuf;
use std::process::ExitCode;

use infersim::report::markdown;
use infersim::sweep;

use super::common::{UsageError, files, finish_sweep, plural};

// The subcommand's about text is the doc comment of its variant in `main.rs`.
#[derive(clap::Args)]
pub struct Args {
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
}

/// Merges the shards into `--out`, then writes the figures and report.md.
pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        shards,
        out,
        force,
        json,
        no_plots,
    } = args;
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
