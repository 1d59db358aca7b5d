//! The accuracy experiment: real classifiers on real images, served uncoded, replicated, with
//! ParM's parity model and with ApproxIFER's Berrut code, scored against the true labels.
//!
//! - [`data`]: the bundled UCI digits (8×8) and the MNIST sample (28×28, read from outside).
//! - [`models`]: an MLP and a CNN trained here (candle, CPU, seeded), the pretrained MNIST CNN.
//! - [`parm`]: ParM's parity model, trained on the training split.
//! - [`sweep`]: the points (K, S, E, adversary, σ) and how each scheme is run on them.
//! - [`table`]: the rows of `accuracy.csv`.
//!
//! [`prepare`] loads the data, trains (or loads from the cache) the classifier and the parity
//! models; [`sweep::run_sweep`] runs the points.

pub mod data;
pub mod models;
pub mod parm;
pub mod sweep;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use data::Dataset;
use models::{Arch, Model, TrainConfig};
use parm::ParityConfig;

/// A failure of the accuracy experiment: bad input (a file, a value) or a numerical library's
/// error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccuracyError {
    /// Bad input, with a message saying what and where.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A bad shape handed to the coding functions.
    #[error(transparent)]
    Code(#[from] crate::coded::CodeError),
    /// candle failed.
    #[error("tensor library: {0}")]
    Candle(#[from] candle_core::Error),
}

impl AccuracyError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AccuracyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The classifiers of the experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// An MLP trained here on the digits (8×8).
    DigitsMlp,
    /// A small CNN trained here on the digits (8×8).
    DigitsCnn,
    /// The pretrained MNIST CNN on the MNIST sample (28×28).
    MnistCnn,
}

impl ModelChoice {
    /// Every choice, in command-line order.
    pub const ALL: [ModelChoice; 3] = [
        ModelChoice::DigitsMlp,
        ModelChoice::DigitsCnn,
        ModelChoice::MnistCnn,
    ];

    /// The command-line name and the `model` column.
    pub fn name(self) -> &'static str {
        match self {
            ModelChoice::DigitsMlp => "digits-mlp",
            ModelChoice::DigitsCnn => "digits-cnn",
            ModelChoice::MnistCnn => "mnist-cnn",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<ModelChoice> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The network's shape.
    pub fn arch(self) -> Arch {
        match self {
            ModelChoice::DigitsMlp => Arch::Mlp {
                side: 8,
                hidden: 64,
            },
            ModelChoice::DigitsCnn => Arch::Cnn {
                side: 8,
                c1: 16,
                c2: 32,
                hidden: 64,
            },
            ModelChoice::MnistCnn => models::MNIST_CNN,
        }
    }

    /// Test images of the default split (digits: 1,297 train / 500 test; MNIST: 4,000 / 1,000).
    pub fn default_test(self) -> usize {
        match self {
            ModelChoice::DigitsMlp | ModelChoice::DigitsCnn => 500,
            ModelChoice::MnistCnn => 1000,
        }
    }

    /// Default training (ignored for the pretrained model).
    pub fn default_train(self) -> TrainConfig {
        match self {
            ModelChoice::DigitsMlp => TrainConfig {
                epochs: 60,
                batch: 32,
                seed: 0,
            },
            _ => TrainConfig {
                epochs: 30,
                batch: 32,
                seed: 0,
            },
        }
    }

    /// Default parity-model training: enough steps for the MLP's parity model to converge
    /// (seconds); the CNNs' parity models are trained far less than ParM's, for time.
    pub fn default_parity(self) -> ParityConfig {
        match self {
            ModelChoice::DigitsMlp => ParityConfig {
                steps: 6000,
                batch: 64,
                seed: 0,
            },
            ModelChoice::DigitsCnn => ParityConfig {
                steps: 1500,
                batch: 64,
                seed: 0,
            },
            ModelChoice::MnistCnn => ParityConfig {
                steps: 600,
                batch: 32,
                seed: 0,
            },
        }
    }
}

/// Where the inputs are and how the models are trained.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The classifier.
    pub model: ModelChoice,
    /// The MNIST sample (for `mnist-cnn`).
    pub mnist: PathBuf,
    /// The pretrained MNIST CNN (for `mnist-cnn`).
    pub pretrained: PathBuf,
    /// Where trained models are cached (none: always train).
    pub cache: Option<PathBuf>,
    /// Test images of the split.
    pub test: usize,
    /// The seed of the split.
    pub split_seed: u64,
    /// The classifier's training.
    pub train: TrainConfig,
    /// The parity models' training.
    pub parity: ParityConfig,
}

impl Setup {
    /// The defaults for `model`: data where the repository keeps it, cache under
    /// `reports/models/`.
    pub fn new(model: ModelChoice) -> Setup {
        Setup {
            model,
            mnist: PathBuf::from(data::MNIST_PATH),
            pretrained: PathBuf::from("data/mnist_cnn_ccexam.pth"),
            cache: Some(PathBuf::from("reports/models")),
            test: model.default_test(),
            split_seed: 0,
            train: model.default_train(),
            parity: model.default_parity(),
        }
    }

    /// The file stem identifying the classifier's settings in the cache.
    fn base_key(&self, train_len: usize) -> String {
        match self.model {
            ModelChoice::MnistCnn => "mnist-cnn-pretrained".to_string(),
            m => format!(
                "{}-{}-seed{}-ep{}-b{}-split{}-{}-{}-v1",
                m.name(),
                m.arch().tag(),
                self.train.seed,
                self.train.epochs,
                self.train.batch,
                self.split_seed,
                train_len,
                self.test
            ),
        }
    }

    fn parity_key(&self, train_len: usize, k: usize) -> String {
        format!(
            "{}-parity-sum-k{k}-seed{}-steps{}-b{}-split{}-{}-{}-v1",
            self.base_key(train_len),
            self.parity.seed,
            self.parity.steps,
            self.parity.batch,
            self.split_seed,
            train_len,
            self.test
        )
    }
}

/// A classifier ready to be measured.
pub struct Prepared {
    /// The classifier.
    pub model: Model,
    /// The training split.
    pub train: Dataset,
    /// The test split.
    pub test: Dataset,
    /// The classifier's accuracy on the test split.
    pub base_accuracy: f64,
    /// Whether the classifier came from the cache (or was pretrained).
    pub cached: bool,
}

/// Loads the data, splits it, and trains the classifier (or loads it from the cache).
pub fn prepare(setup: &Setup) -> Result<Prepared, AccuracyError> {
    let all = match setup.model {
        ModelChoice::MnistCnn => data::load_mnist(&setup.mnist)?,
        _ => data::load_digits()?,
    };
    let (train, test) = all.split(setup.test, setup.split_seed)?;
    let (model, cached) = match setup.model {
        ModelChoice::MnistCnn => (Model::pretrained_mnist(&setup.pretrained)?, true),
        m => {
            let key = setup.base_key(train.len());
            cached_or(setup.cache.as_deref(), &key, m.arch(), || {
                models::train_classifier(m.arch(), &train, setup.train)
            })?
        }
    };
    let base_accuracy = model.accuracy(&test)?;
    Ok(Prepared {
        model,
        train,
        test,
        base_accuracy,
        cached,
    })
}

/// The parity models for each K of `ks` (trained in parallel, or loaded from the cache).
pub fn prepare_parity(
    setup: &Setup,
    prepared: &Prepared,
    ks: &[usize],
) -> Result<BTreeMap<usize, Model>, AccuracyError> {
    let train = &prepared.train;
    let base_logits = prepared.model.logits(&train.pixels, train.side)?;
    let mut ks: Vec<usize> = ks.iter().copied().filter(|&k| k >= 2).collect();
    ks.sort_unstable();
    ks.dedup();
    let models: Vec<Result<Model, AccuracyError>> = ks
        .par_iter()
        .map(|&k| {
            let key = setup.parity_key(train.len(), k);
            cached_or(setup.cache.as_deref(), &key, prepared.model.arch, || {
                parm::train_parity(&prepared.model, train, &base_logits, k, setup.parity)
            })
            .map(|(m, _)| m)
        })
        .collect();
    ks.into_iter()
        .zip(models)
        .map(|(k, m)| m.map(|m| (k, m)))
        .collect()
}

/// The model cached as `dir/key.safetensors`, or `train()` saved there.
fn cached_or(
    dir: Option<&Path>,
    key: &str,
    arch: Arch,
    train: impl FnOnce() -> Result<Model, AccuracyError>,
) -> Result<(Model, bool), AccuracyError> {
    let Some(dir) = dir else {
        return Ok((train()?, false));
    };
    let path = dir.join(format!("{key}.safetensors"));
    if path.exists() {
        let mut m = Model::init(arch, 0, "cache-shape")?;
        if m.load(&path).is_ok() {
            return Ok((m, true));
        }
        // A damaged cache entry is retrained and overwritten.
    }
    let m = train()?;
    m.save(&path)?;
    Ok((m, false))
}
