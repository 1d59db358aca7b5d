//! Helpers shared by the subcommands: the bad-input error, the worker pool, file writing, the
//! `--json` file list and the report of a finished sweep (or merge).

use std::path::Path;

use anyhow::Context;

use infersim::report::markdown::{self, Meta};
use infersim::report::plot::{self, Plot};
use infersim::report::tidy::Tidy;
use infersim::report::write;
use infersim::sweep;

/// An error that exits with status 2 and a message (bad input, not a bug).
#[derive(Debug)]
pub struct UsageError(pub String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// An error that exits with status 3: a run that failed while running (its outputs could not
/// be written, or a guard stopped it), not bad input.
#[derive(Debug)]
pub struct RunFailure(pub String);
impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RunFailure {}

/// Fails with a usage error when `out` exists and is not a directory.
pub fn out_dir_usable(out: &Path) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(UsageError(format!(
            "--out {}: that is a file, not a directory; give a directory for the reports (it is created if missing)",
            out.display()
        ))
        .into());
    }
    Ok(())
}

/// Files that mark a directory as a sweep's or a merge's output.
const SWEEP_FILES: &[&str] = &[
    sweep::runner::MANIFEST,
    sweep::journal::FILE,
    sweep::runner::SCENARIO_COPY,
    "results.csv",
];
/// Files that mark a directory as `infersim run`'s output.
const RUN_FILES: &[&str] = &["summary.csv", "stats.csv", "timeseries.csv"];
/// Files that mark a directory as `infersim accuracy`'s output.
const ACCURACY_FILES: &[&str] = &["accuracy.csv"];

/// The output a command writes, to keep one command's files out of another's directory (a
/// mixed directory would be read back, by `plot` or `merge`, as one output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `infersim run`.
    Run,
    /// `infersim accuracy`.
    Accuracy,
}

/// Fails with a usage error when `out` is a file, or holds the output of another command
/// (its marking files are named; the command's own earlier output is replaced).
pub fn out_dir_for(output: Output, out: &Path) -> anyhow::Result<()> {
    out_dir_usable(out)?;
    let foreign: &[(&[&str], &str)] = match output {
        Output::Run => &[
            (SWEEP_FILES, "a sweep"),
            (ACCURACY_FILES, "`infersim accuracy`"),
        ],
        Output::Accuracy => &[(SWEEP_FILES, "a sweep"), (RUN_FILES, "`infersim run`")],
    };
    for (files, whose) in foreign {
        let present: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| out.join(f).exists())
            .collect();
        if !present.is_empty() {
            return Err(UsageError(format!(
                "--out {}: it holds the output of {whose} ({}); writing here would mix two outputs in one directory: give another --out, or delete those files first",
                out.display(),
                present.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// The plural ending of a count: "" for 1, "s" otherwise.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The most worker threads `--jobs` may ask for.
pub const MAX_JOBS: usize = 1024;

/// The worker threads (`--jobs`; all cores by default).
pub fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    if jobs == Some(0) {
        return Err(UsageError("--jobs must be at least 1".into()).into());
    }
    if let Some(n) = jobs.filter(|&n| n > MAX_JOBS) {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        return Err(UsageError(format!(
            "--jobs {n}: at most {MAX_JOBS} worker threads (this machine has {cores} cores; more threads than cores do not make a run faster)"
        ))
        .into());
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")
}

/// Writes a file atomically; a failure is a run failure (exit 3) naming the file.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write::write_atomic(path, bytes)
        .map_err(|e| RunFailure(format!("cannot write {}: {e}", path.display())).into())
}

/// The files of an output directory, for `--json`.
pub fn files(dir: &Path, names: &[&str], plots: &[Plot]) -> Vec<String> {
    names
        .iter()
        .map(|n| dir.join(n))
        .chain(plots.iter().flat_map(|p| p.files.iter().cloned()))
        .map(|p| p.display().to_string())
        .collect()
}

/// Figures and report.md of a finished sweep (or merge).
pub fn finish_sweep(
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
        plot::plot_all(dir, tidy, None, None)
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
