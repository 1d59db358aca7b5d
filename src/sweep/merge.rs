//! `infersim merge`: joins the directories of shards (or of partial runs of one sweep) into the
//! files one machine would have written.

use std::path::{Path, PathBuf};

use super::journal::{self, Blocks};
use super::runner::{Manifest, SCENARIO_COPY, prepare_dir, results_csv, summary_csv};
use super::{SweepError, io_err};
use crate::report::tidy::Tidy;
use crate::report::write::write_atomic;

/// What [`merge`] did.
#[derive(Debug)]
pub struct Merged {
    /// The sweep's manifest (as one machine writes it).
    pub manifest: Manifest,
    /// Runs merged.
    pub runs: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The merged results.
    pub tidy: Tidy,
}

/// Merges shard directories into `out`. Every directory must hold a sweep with the same
/// fingerprint; together they must cover every run (a run found twice must have the same rows).
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> Result<Merged, SweepError> {
    if dirs.is_empty() {
        return Err(SweepError::Merge("no shard directory given".into()));
    }
    let mut first: Option<(PathBuf, Manifest)> = None;
    let mut blocks = Blocks::new();
    let mut counts = Vec::new();
    for d in dirs {
        let m = Manifest::read(d)?.ok_or_else(|| {
            SweepError::Merge(format!(
                "{} holds no {} (is it a sweep's output directory?)",
                d.display(),
                super::runner::MANIFEST
            ))
        })?;
        if let Some((fd, fm)) = &first {
            if fm.fingerprint != m.fingerprint {
                return Err(SweepError::Merge(format!(
                    "{} and {} hold different sweeps (scenario, [sweep], --seed, --replications or infersim version differ)",
                    fd.display(),
                    d.display()
                )));
            }
        } else {
            first = Some((d.clone(), m.clone()));
        }
        if let Some(s) = m.shard {
            counts.push(s.count);
        }
        let jpath = d.join(journal::FILE);
        let c = journal::read(&jpath)?;
        for (id, rows) in c.blocks {
            if id >= m.runs {
                return Err(SweepError::Corrupt {
                    path: jpath.clone(),
                    message: format!("run {id} does not belong to this sweep"),
                });
            }
            if let Some(old) = blocks.get(&id) {
                if *old != rows {
                    return Err(SweepError::Merge(format!(
                        "run {id} appears in two shards with different results"
                    )));
                }
            } else {
                blocks.insert(id, rows);
            }
        }
    }
    let (fdir, mut manifest) = first.expect("at least one directory");
    let missing: Vec<usize> = (0..manifest.runs)
        .filter(|id| !blocks.contains_key(id))
        .collect();
    if !missing.is_empty() {
        let mut why = format!(
            "{} of {} runs are missing (first: run {})",
            missing.len(),
            manifest.runs,
            missing[0]
        );
        counts.sort_unstable();
        counts.dedup();
        if let [n] = counts[..] {
            let mut shards: Vec<usize> = missing.iter().map(|id| id % n as usize).collect();
            shards.sort_unstable();
            shards.dedup();
            let list: Vec<String> = shards.iter().map(|i| format!("{i}/{n}")).collect();
            why.push_str(&format!(
                "; unfinished or not given: shard{} {} (finish with `infersim sweep … --shard i/n --resume`)",
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ));
        }
        return Err(SweepError::Merge(why));
    }
    manifest.shard = None;
    prepare_dir(out, false, force, None)?;
    manifest.write(out)?;
    let src = fdir.join(SCENARIO_COPY);
    let text = std::fs::read(&src).map_err(io_err(&src))?;
    let copy = out.join(SCENARIO_COPY);
    write_atomic(&copy, &text).map_err(io_err(&copy))?;
    journal::write_all(&out.join(journal::FILE), &blocks)?;
    let results = results_csv(&manifest.params, &blocks);
    let rpath = out.join("results.csv");
    write_atomic(&rpath, results.as_bytes()).map_err(io_err(&rpath))?;
    let tidy = Tidy::parse_csv(results.as_bytes()).map_err(|message| SweepError::Corrupt {
        path: rpath.clone(),
        message,
    })?;
    let spath = out.join("summary.csv");
    write_atomic(&spath, summary_csv(&tidy).as_bytes()).map_err(io_err(&spath))?;
    Ok(Merged {
        runs: blocks.len(),
        manifest,
        files: vec![rpath, spath],
        tidy,
    })
}
