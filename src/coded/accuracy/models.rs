//! The classifiers: a small MLP and a small CNN trained here on digits (seeded, on the CPU), and
//! the pretrained MNIST CNN read from its PyTorch state dict. All map `[B, 1, side, side]` images
//! to `[B, 10]` logits.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, Optimizer, VarBuilder, VarMap};
use rand::RngExt;
use rand::seq::SliceRandom;

use super::AccuracyError;
use super::data::Dataset;
use crate::kernel::rng;

/// The classes of every data set here.
pub const CLASSES: usize = 10;

/// Images per forward pass when evaluating (fixed, so results do not depend on the thread count).
pub const EVAL_CHUNK: usize = 1024;

/// A network's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// flatten → linear `hidden` → ReLU → linear 10.
    Mlp {
        /// Image side.
        side: usize,
        /// Hidden units.
        hidden: usize,
    },
    /// conv3×3 pad 1 `c1` → ReLU → maxpool 2 → conv3×3 pad 1 `c2` → ReLU → maxpool 2 → flatten →
    /// linear `hidden` → ReLU → linear 10 (the pretrained MNIST CNN's layout and tensor names).
    Cnn {
        /// Image side (a multiple of 4).
        side: usize,
        /// Channels of the first convolution.
        c1: usize,
        /// Channels of the second convolution.
        c2: usize,
        /// Hidden units.
        hidden: usize,
    },
}

impl Arch {
    /// A short tag for cache keys.
    pub fn tag(self) -> String {
        match self {
            Arch::Mlp { side, hidden } => format!("mlp{side}-h{hidden}"),
            Arch::Cnn {
                side,
                c1,
                c2,
                hidden,
            } => format!("cnn{side}-{c1}-{c2}-h{hidden}"),
        }
    }
}

/// A built network.
#[derive(Clone, Debug)]
pub enum Net {
    /// See [`Arch::Mlp`].
    Mlp {
        /// First layer.
        fc1: Linear,
        /// Output layer.
        fc2: Linear,
    },
    /// See [`Arch::Cnn`].
    Cnn {
        /// First convolution.
        conv1: Conv2d,
        /// Second convolution.
        conv2: Conv2d,
        /// Hidden layer.
        fc1: Linear,
        /// Output layer.
        fc2: Linear,
    },
}

impl Net {
    /// Builds `arch` with its variables from `vb`.
    pub fn new(arch: Arch, vb: VarBuilder) -> candle_core::Result<Net> {
        Ok(match arch {
            Arch::Mlp { side, hidden } => Net::Mlp {
                fc1: candle_nn::linear(side * side, hidden, vb.pp("fc1"))?,
                fc2: candle_nn::linear(hidden, CLASSES, vb.pp("fc2"))?,
            },
            Arch::Cnn {
                side,
                c1,
                c2,
                hidden,
            } => {
                let cfg = Conv2dConfig {
                    padding: 1,
                    ..Default::default()
                };
                let flat = c2 * (side / 4) * (side / 4);
                Net::Cnn {
                    conv1: candle_nn::conv2d(1, c1, 3, cfg, vb.pp("features.0"))?,
                    conv2: candle_nn::conv2d(c1, c2, 3, cfg, vb.pp("features.3"))?,
                    fc1: candle_nn::linear(flat, hidden, vb.pp("classifier.0"))?,
                    fc2: candle_nn::linear(hidden, CLASSES, vb.pp("classifier.2"))?,
                }
            }
        })
    }
}

impl Module for Net {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Net::Mlp { fc1, fc2 } => xs.flatten_from(1)?.apply(fc1)?.relu()?.apply(fc2),
            Net::Cnn {
                conv1,
                conv2,
                fc1,
                fc2,
            } => xs
                .apply(conv1)?
                .relu()?
                .max_pool2d(2)?
                .apply(conv2)?
                .relu()?
                .max_pool2d(2)?
                .flatten_from(1)?
                .apply(fc1)?
                .relu()?
                .apply(fc2),
        }
    }
}

/// A network and the variables it was built from.
pub struct Model {
    /// The shape.
    pub arch: Arch,
    /// The network.
    pub net: Net,
    /// Its variables (empty for a pretrained model read from a state dict).
    pub vars: VarMap,
}

impl Model {
    /// The optimiser every model here is trained with: AdamW over its variables, learning rate
    /// 10⁻³, no weight decay.
    pub fn optimizer(&self) -> Result<candle_nn::AdamW, AccuracyError> {
        Ok(candle_nn::AdamW::new(
            self.vars.all_vars_sorted(),
            candle_nn::ParamsAdamW {
                lr: 1e-3,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?)
    }

    /// A fresh model, initialised like PyTorch's defaults (uniform ±1/√fan_in for weights and
    /// biases) from the seeded stream `name`: reproducible, unlike candle's own CPU generator.
    pub fn init(arch: Arch, seed: u64, name: &str) -> Result<Model, AccuracyError> {
        let vars = VarMap::new();
        let vb = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu);
        let net = Net::new(arch, vb)?;
        let mut r = rng::stream(seed, name, 0);
        let data = vars.data().lock().map_err(|_| poisoned())?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        let fan_in = |w: &str| -> usize {
            data.get(w)
                .map(|v| v.dims().iter().skip(1).product())
                .unwrap_or(1)
        };
        for name in names {
            let var = &data[name];
            let fan = match name.strip_suffix(".bias") {
                Some(layer) => fan_in(&format!("{layer}.weight")),
                None => var.dims().iter().skip(1).product(),
            };
            let bound = 1.0 / (fan.max(1) as f32).sqrt();
            let values: Vec<f32> = (0..var.elem_count())
                .map(|_| (r.random::<f32>() * 2.0 - 1.0) * bound)
                .collect();
            var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
        }
        drop(data);
        Ok(Model { arch, net, vars })
    }

    /// The pretrained MNIST CNN of `data/mnist_cnn_ccexam.pth` (a PyTorch state dict).
    pub fn pretrained_mnist(path: &Path) -> Result<Model, AccuracyError> {
        if !path.exists() {
            return Err(AccuracyError::Input(format!(
                "the pretrained MNIST CNN {} is missing (it is shipped as data/mnist_cnn_ccexam.pth; \
                 run from the repository root or pass --pretrained)",
                path.display()
            )));
        }
        let tensors: HashMap<String, Tensor> = candle_core::pickle::read_all(path)
            .map_err(|e| AccuracyError::Input(format!("{}: {e}", path.display())))?
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?)))
            .collect::<candle_core::Result<_>>()?;
        let arch = MNIST_CNN;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let net = Net::new(arch, vb)
            .map_err(|e| AccuracyError::Input(format!("{}: {e}", path.display())))?;
        Ok(Model {
            arch,
            net,
            vars: VarMap::new(),
        })
    }

    /// Loads the variables from a safetensors file written by [`Model::save`].
    pub fn load(&mut self, path: &Path) -> Result<(), AccuracyError> {
        self.vars
            .load(path)
            .map_err(|e| AccuracyError::Input(format!("cached model {}: {e}", path.display())))
    }

    /// Saves the variables as safetensors, atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), AccuracyError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| AccuracyError::io(dir, e))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        self.vars.save(&tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            AccuracyError::io(path, e)
        })
    }

    /// Logits of every image of `pixels` (`len × side²`, flattened), in chunks of
    /// [`EVAL_CHUNK`] images.
    pub fn logits(&self, pixels: &[f32], side: usize) -> Result<Vec<f32>, AccuracyError> {
        let dim = side * side;
        let mut out = Vec::with_capacity(pixels.len() / dim * CLASSES);
        for chunk in pixels.chunks(EVAL_CHUNK * dim) {
            let b = chunk.len() / dim;
            let x = Tensor::from_slice(chunk, (b, 1, side, side), &Device::Cpu)?;
            let y = self.net.forward(&x)?;
            out.extend(y.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Fraction of `data` classified correctly.
    pub fn accuracy(&self, data: &Dataset) -> Result<f64, AccuracyError> {
        let logits = self.logits(&data.pixels, data.side)?;
        let correct = logits
            .chunks(CLASSES)
            .zip(&data.labels)
            .filter(|(l, y)| argmax(l) == **y as usize)
            .count();
        Ok(correct as f64 / data.len().max(1) as f64)
    }
}

/// The pretrained MNIST CNN's shape.
pub const MNIST_CNN: Arch = Arch::Cnn {
    side: 28,
    c1: 32,
    c2: 64,
    hidden: 128,
};

/// Index of the largest value (the first on ties; NaN never wins).
pub fn argmax<T: Copy + Into<f64>>(v: &[T]) -> usize {
    let mut best = 0;
    let mut top = f64::NAN;
    for (i, x) in v.iter().enumerate() {
        let x: f64 = (*x).into();
        if x > top || (top.is_nan() && !x.is_nan()) {
            best = i;
            top = x;
        }
    }
    best
}

fn poisoned() -> AccuracyError {
    AccuracyError::Input("a model's variables were left locked by a failed thread".into())
}

/// How a classifier is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainConfig {
    /// Passes over the training split.
    pub epochs: usize,
    /// Images per step.
    pub batch: usize,
    /// The seed of the initialisation and of the batch order.
    pub seed: u64,
}

/// Trains a classifier of `arch` on `train` with AdamW (learning rate 1e-3) and cross-entropy.
pub fn train_classifier(
    arch: Arch,
    train: &Dataset,
    cfg: TrainConfig,
) -> Result<Model, AccuracyError> {
    let model = Model::init(arch, cfg.seed, "accuracy-init")?;
    let mut opt = model.optimizer()?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut r = rng::stream(cfg.seed, "accuracy-batches", 0);
    for _ in 0..cfg.epochs {
        order.shuffle(&mut r);
        for idx in order.chunks(cfg.batch.max(1)) {
            let b = train.subset(idx);
            let x = Tensor::from_vec(
                b.pixels,
                (idx.len(), 1, train.side, train.side),
                &Device::Cpu,
            )?;
            let y = Tensor::from_vec(
                b.labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
                idx.len(),
                &Device::Cpu,
            )?;
            let loss = candle_nn::loss::cross_entropy(&model.net.forward(&x)?, &y)?;
            opt.backward_step(&loss)?;
        }
    }
    Ok(model)
}

/// The variables of a map in name order (the optimiser's order must not depend on hashing).
pub trait SortedVars {
    /// All variables, sorted by name.
    fn all_vars_sorted(&self) -> Vec<candle_core::Var>;
}

impl SortedVars for VarMap {
    fn all_vars_sorted(&self) -> Vec<candle_core::Var> {
        let Ok(data) = self.data().lock() else {
            return Vec::new();
        };
        let mut v: Vec<(&String, &candle_core::Var)> = data.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.into_iter().map(|(_, var)| var.clone()).collect()
    }
}
