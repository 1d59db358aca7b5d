//! Coded straggler- and Byzantine-tolerant inference (ApproxIFER, AAAI 2022): the numerics, and
//! the measured accuracy of real models under coding.
//!
//! - [`berrut`]: Berrut rational interpolation, the model-agnostic encoder and decoder: K queries
//!   become N coded queries, and any N − S answers decode approximate answers to all K.
//! - [`locator`]: the least-squares rational Berlekamp–Welch locator that finds E corrupted
//!   answers before decoding.
//! - [`accuracy`]: the accuracy experiment with real classifiers (trained here or pretrained) and
//!   real images, against ParM and replication, written as `accuracy.csv`.
//!
//! All matrices are `nalgebra::DMatrix<f64>` with one row per query, coded query or answer.

pub mod accuracy;
pub mod berrut;
pub mod locator;

pub use berrut::{BerrutCode, EvalPoints};
pub use locator::{Located, byzantine_workers, locate_errors, max_errors};

/// A bad shape or index handed to the coding functions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// K must be at least 1 and at most N.
    #[error("a code needs 1 ≤ K ≤ N, got K = {k}, N = {n}")]
    BadShape {
        /// Queries.
        k: usize,
        /// Workers.
        n: usize,
    },
    /// Too few workers for the evaluation points.
    #[error("{} evaluation points need N ≥ {}, got N = {n}", kind.name(), match kind { EvalPoints::AuthorsCode => 1, EvalPoints::ChebyshevSecondKind => 2 })]
    TooFewWorkers {
        /// Workers.
        n: usize,
        /// The evaluation points asked for.
        kind: EvalPoints,
    },
    /// No worker answered.
    #[error("no answers to decode")]
    NoAnswers,
    /// A worker index is out of range.
    #[error("worker {worker} does not exist (N = {n})")]
    UnknownWorker {
        /// The index.
        worker: usize,
        /// Workers.
        n: usize,
    },
    /// The returned workers are not strictly increasing.
    #[error("the returned workers must be strictly increasing")]
    NotIncreasing,
    /// A matrix has the wrong number of rows.
    #[error("expected {expected} rows of {what}, got {got}")]
    RowCount {
        /// What the rows are.
        what: &'static str,
        /// Rows expected.
        expected: usize,
        /// Rows given.
        got: usize,
    },
    /// Fewer answers than the locator's unknowns.
    #[error(
        "locating E = {e} errors with K = {k} needs {needed} answers (2(K+E) − 1), got {answers}"
    )]
    TooFewToLocate {
        /// Answers given.
        answers: usize,
        /// Answers needed.
        needed: usize,
        /// Queries.
        k: usize,
        /// Errors to locate.
        e: usize,
    },
    /// The least-squares solve failed.
    #[error("least-squares solve failed: {0}")]
    Numerics(String),
}
