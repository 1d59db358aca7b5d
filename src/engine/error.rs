//! [`RunError`]: why a run could not be completed.

use crate::workload::trace::TraceError;

/// Why [`run`](super::run) could not complete a run. Valid scenarios are checked when they are
/// loaded, so this only comes from what changes under a run: its input files.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The arrival trace could not be read to its end (the run stopped at the first error).
    #[error(transparent)]
    Trace(#[from] TraceError),
}
