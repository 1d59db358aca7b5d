//! Running a sweep: output-directory safety (`--resume`, `--force`), the parallel runs with a
//! progress bar, the journal, and the final files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::journal::{self, Blocks};
use super::plan::{Plan, Shard, results_header, summary_header};
use super::{SweepError, csv_field, io_err};
use crate::report::tidy::Tidy;
use crate::report::write::{fmt_num, write_atomic};

/// The manifest's file name: what sweep a directory holds.
pub const MANIFEST: &str = "sweep.json";
/// The copy of the scenario (with its `[sweep]` table).
pub const SCENARIO_COPY: &str = "scenario.toml";
/// Files of a sweep directory; any of them makes the directory "not empty" for `--force`.
pub const OUTPUT_FILES: &[&str] = &[
    MANIFEST,
    journal::FILE,
    SCENARIO_COPY,
    "results.csv",
    "summary.csv",
    "report.md",
];
/// Files `infersim run` writes; a sweep refuses to mix with them.
const RUN_FILES: &[&str] = &["stats.csv", "timeseries.csv"];

/// Options of [`execute`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Output directory.
    pub out: PathBuf,
    /// Finish the sweep already in `out` (or start it if there is none).
    pub resume: bool,
    /// Delete whatever sweep results `out` holds and start over.
    pub force: bool,
    /// Run only this shard.
    pub shard: Option<Shard>,
    /// Show a progress bar on standard error (only drawn when it is a terminal).
    pub progress: bool,
}

/// What a sweep directory is: written first, checked on `--resume` and by `merge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this file.
    pub format: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's description.
    pub description: String,
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// Swept keys.
    pub params: Vec<String>,
    /// Number of points.
    pub points: usize,
    /// Number of runs of the whole sweep.
    pub runs: usize,
    /// `--seed` override.
    pub seed: Option<u64>,
    /// `--replications` override.
    pub replications: Option<u32>,
    /// The shard this directory holds (none: the whole sweep).
    pub shard: Option<Shard>,
}

impl Manifest {
    /// The manifest of a plan (for a shard, or the whole sweep).
    pub fn of(plan: &Plan, shard: Option<Shard>) -> Manifest {
        Manifest {
            format: 1,
            scenario: plan.name.clone(),
            description: plan.description.clone(),
            fingerprint: plan.fingerprint.clone(),
            params: plan.params.clone(),
            points: plan.points.len(),
            runs: plan.runs.len(),
            seed: plan.seed,
            replications: plan.replications,
            shard,
        }
    }

    /// Reads `dir/sweep.json`, if present.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, SweepError> {
        let path = dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| SweepError::Corrupt {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes `dir/sweep.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), SweepError> {
        let path = dir.join(MANIFEST);
        let mut s = serde_json::to_string_pretty(self).expect("serialisable");
        s.push('\n');
        write_atomic(&path, s.as_bytes()).map_err(io_err(&path))
    }
}

/// What [`execute`] did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Runs of the whole sweep.
    pub total: usize,
    /// Runs of this shard (all of them without `--shard`).
    pub mine: usize,
    /// Runs found finished in the journal and skipped.
    pub skipped: usize,
    /// Runs executed now.
    pub ran: usize,
    /// Bytes of a torn block dropped from the journal.
    pub torn_bytes: u64,
    /// Files written (results, summary).
    pub files: Vec<PathBuf>,
    /// The results (all of this shard's runs), when the sweep is whole (not a shard).
    pub tidy: Option<Tidy>,
}

/// Prepares `dir` for writing sweep results: refuses to overwrite existing results unless
/// `force` (which deletes them) or `resume`. Returns true when an existing sweep is resumed.
pub fn prepare_dir(
    dir: &Path,
    resume: bool,
    force: bool,
    expected: Option<&Manifest>,
) -> Result<bool, SweepError> {
    let present: Vec<&str> = OUTPUT_FILES
        .iter()
        .chain(RUN_FILES)
        .copied()
        .filter(|f| dir.join(f).exists())
        .collect();
    if present.is_empty() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        return Ok(false);
    }
    if force {
        for f in &present {
            let p = dir.join(f);
            std::fs::remove_file(&p).map_err(io_err(&p))?;
        }
        let plots = dir.join("plots");
        if plots.is_dir() {
            std::fs::remove_dir_all(&plots).map_err(io_err(&plots))?;
        }
        return Ok(false);
    }
    if !resume {
        return Err(SweepError::Exists(dir.to_path_buf(), present.join(", ")));
    }
    let Some(expected) = expected else {
        return Err(SweepError::Exists(dir.to_path_buf(), present.join(", ")));
    };
    match Manifest::read(dir)? {
        None => Err(SweepError::Mismatch {
            dir: dir.to_path_buf(),
            why: format!(
                "it holds {} but no {MANIFEST}, so it is not a sweep's directory",
                present.join(", ")
            ),
        }),
        Some(m) if m.fingerprint != expected.fingerprint => Err(SweepError::Mismatch {
            dir: dir.to_path_buf(),
            why: "it holds a different sweep (the scenario, its [sweep] table, --seed, --replications or the infersim version changed)".into(),
        }),
        Some(m) if m.shard != expected.shard => Err(SweepError::Mismatch {
            dir: dir.to_path_buf(),
            why: format!(
                "it holds {} and this is {}",
                shard_name(m.shard),
                shard_name(expected.shard)
            ),
        }),
        Some(_) => Ok(true),
    }
}

fn shard_name(s: Option<Shard>) -> String {
    match s {
        Some(s) => format!("shard {s}"),
        None => "the whole sweep".into(),
    }
}

/// Runs a sweep (or one shard), resuming from the journal when asked, and writes
/// `results.csv` (and, for a whole sweep, `summary.csv`). Plots and the Markdown report are
/// written by the caller from [`Outcome::tidy`].
pub fn execute(plan: &Plan, opts: &Options) -> Result<Outcome, SweepError> {
    let dir = &opts.out;
    let manifest = Manifest::of(plan, opts.shard);
    let resuming = prepare_dir(dir, opts.resume, opts.force, Some(&manifest))?;
    let jpath = dir.join(journal::FILE);
    let contents = if resuming {
        journal::read(&jpath)?
    } else {
        journal::Contents::default()
    };
    if !resuming {
        manifest.write(dir)?;
        let copy = dir.join(SCENARIO_COPY);
        write_atomic(&copy, plan.text.as_bytes()).map_err(io_err(&copy))?;
    }
    for id in contents.blocks.keys() {
        if *id >= plan.runs.len() || opts.shard.is_some_and(|s| !s.owns(*id)) {
            return Err(SweepError::Corrupt {
                path: jpath.clone(),
                message: format!("run {id} does not belong to this sweep"),
            });
        }
    }
    let writer = journal::Writer::open(&jpath, contents.valid_len)?;
    let mine: Vec<usize> = (0..plan.runs.len())
        .filter(|&id| opts.shard.is_none_or(|s| s.owns(id)))
        .collect();
    let todo: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|id| !contents.blocks.contains_key(id))
        .collect();
    let skipped = mine.len() - todo.len();

    let bar = if opts.progress && std::io::stderr().is_terminal() && !todo.is_empty() {
        let b = ProgressBar::new(mine.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} runs, ETA {eta}",
            )
            .expect("valid template"),
        );
        b.set_prefix(plan.name.clone());
        b.set_position(skipped as u64);
        b.reset_eta();
        b
    } else {
        ProgressBar::hidden()
    };
    let shared = Mutex::new((writer, Blocks::new()));
    todo.par_iter()
        .try_for_each(|&id| -> Result<(), SweepError> {
            // A failed run is not journaled: `--resume` runs it again.
            let result = plan.run(id).map_err(|source| SweepError::Run {
                run: plan.describe(id),
                source,
            })?;
            let rows = plan.rows(id, &result);
            let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
            g.0.append(id, &rows)?;
            g.1.insert(id, rows);
            drop(g);
            bar.inc(1);
            Ok(())
        })?;
    bar.finish_and_clear();
    let (_, new_blocks) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut blocks = contents.blocks;
    blocks.extend(new_blocks);

    let mut files = Vec::new();
    let results = results_csv(&plan.params, &blocks);
    let rpath = dir.join("results.csv");
    write_atomic(&rpath, results.as_bytes()).map_err(io_err(&rpath))?;
    files.push(rpath);
    let mut tidy = None;
    if opts.shard.is_none() {
        let t = Tidy::parse_csv(results.as_bytes()).map_err(|message| SweepError::Corrupt {
            path: dir.join("results.csv"),
            message,
        })?;
        let spath = dir.join("summary.csv");
        write_atomic(&spath, summary_csv(&t).as_bytes()).map_err(io_err(&spath))?;
        files.push(spath);
        tidy = Some(t);
    }
    Ok(Outcome {
        total: plan.runs.len(),
        mine: mine.len(),
        skipped,
        ran: todo.len(),
        torn_bytes: contents.torn_bytes,
        files,
        tidy,
    })
}

/// `results.csv`: the header, then every run's rows in canonical (id) order.
pub fn results_csv(params: &[String], blocks: &Blocks) -> String {
    let mut s = results_header(params);
    for rows in blocks.values() {
        s.push_str(rows);
    }
    s
}

/// A sweep's `summary.csv`: per point, policy and metric, the mean, the standard deviation and
/// the 95 % Student-t interval over replications.
pub fn summary_csv(t: &Tidy) -> String {
    let mut s = summary_header(&t.params);
    for g in t.groups() {
        let mut prefix = format!("{}", g.point);
        for l in &g.params {
            prefix.push(',');
            prefix.push_str(&csv_field(l));
        }
        prefix.push(',');
        prefix.push_str(&csv_field(&g.policy));
        for (m, st) in &g.metrics {
            s.push_str(&format!(
                "{prefix},{},{},{},{},{},{}\n",
                csv_field(&m.name()),
                fmt_num(st.mean),
                fmt_num(st.std),
                fmt_num(st.mean - st.half_width),
                fmt_num(st.mean + st.half_width),
                st.n
            ));
        }
    }
    s
}
