//! Parameter sweeps: a scenario's `[sweep]` table expanded into points, every point × policy ×
//! replication run in parallel, results appended durably to a journal so that an interrupted
//! sweep resumes where it stopped, deterministic shards for cluster job arrays, and the merge of
//! shards into exactly the files one machine would have written.
//!
//! - [`spec`]: the `[sweep]` syntax, its expansion into points and [`strip_sweep`].
//! - [`plan`](mod@plan): the runs of a sweep in canonical order, and their fingerprint.
//! - [`journal`]: the append-only, fsynced record of finished runs, with torn-tail detection.
//! - [`runner`]: running a sweep (or one shard of it), resuming, and writing the outputs.
//! - [`merge`](mod@merge): joining shard directories.

pub mod journal;
pub mod merge;
pub mod plan;
pub mod runner;
pub mod spec;

use std::path::{Path, PathBuf};

/// CSV escaping lives with the other CSV writers, in [`crate::report::write`].
pub use crate::report::write::csv_field;
pub use merge::merge;
pub use plan::{Plan, RunKey, Shard};
pub use runner::{Options, Outcome, execute};
pub use spec::{SweepSpec, strip_sweep};

use crate::scenario::{Scenario, ScenarioError};

/// An error of a sweep or a merge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The scenario or its `[sweep]` table is invalid.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// The output directory already holds results and neither `--resume` nor `--force` was given.
    #[error(
        "{0} already holds results ({1}); pass --resume to finish that sweep or --force to delete them and start over"
    )]
    Exists(PathBuf, String),
    /// `--resume` on a directory that holds a different sweep.
    #[error("{dir}: cannot resume: {why}; pass --force to delete its results and start over")]
    Mismatch {
        /// The directory.
        dir: PathBuf,
        /// What differs.
        why: String,
    },
    /// Shards that do not form one complete sweep.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A run could not be completed (its arrival trace could not be read to its end).
    #[error("{run}: {source}")]
    Run {
        /// The run, as [`Plan::describe`] gives it.
        run: String,
        /// The cause.
        source: crate::engine::RunError,
    },
    /// A file did not have the expected content.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads and validates a scenario file that may hold a `[sweep]` table: the table is stripped and
/// the rest validated (what `infersim run` runs). Use [`plan::Plan::new`] to expand the sweep.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    spec::load_base(path).map(|(_, _, _, sc)| sc)
}

/// FNV-1a, 64 bits: a stable hash for fingerprints and journal checksums.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
