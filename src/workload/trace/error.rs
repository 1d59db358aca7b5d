//! [`TraceError`]: a trace that cannot be read to its end at run time.

use std::fmt;
use std::path::{Path, PathBuf};

/// A trace that could not be read to its end while a run replayed it: the file, the 1-based line
/// (or record) where reading stopped, and what is wrong there. A trace is checked in full when
/// the scenario is loaded, so this happens when the file cannot be opened or read any more, or
/// changed since it was checked.
///
/// Displayed as `FILE: line N: MESSAGE` (or `FILE: MESSAGE` when no line applies). Boxed so that
/// a `Result<Arrival, TraceError>` is hardly larger than an arrival.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(Box<Detail>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Detail {
    path: PathBuf,
    line: Option<u64>,
    message: String,
}

impl TraceError {
    /// An error in `path` at `line` (1-based; none when the file as a whole is at fault).
    pub fn new(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        TraceError(Box::new(Detail {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }))
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// The 1-based line (or record) where reading stopped, if the error is on one.
    pub fn line(&self) -> Option<u64> {
        self.0.line
    }

    /// What is wrong (and what is allowed), without the file and line.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}: line {n}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}
