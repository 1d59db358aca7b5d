//! ParM's parity model (Kosaian et al., SOSP 2019), trained the ParM way: a network of the base
//! model's shape learns `F_P(X_1 + … + X_K) ≈ F(X_1) + … + F(X_K)` (the summation encoder, MSE
//! against the base model's logits), so a straggler's answer is `F_P(P) − Σ_{i≠j} F(X_i)`.
//!
//! Only the summation encoder is built: ParM's concatenation encoder would shrink each of the K
//! images to fit one input (an 8×8 digit into a 2×2 tile at K = 16), which says little at these
//! sizes.

use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use rand::seq::index;

use super::AccuracyError;
use super::data::Dataset;
use super::models::{CLASSES, Model};
use crate::kernel::rng;

/// How a parity model is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParityConfig {
    /// Optimiser steps.
    pub steps: usize,
    /// Parity samples (groups of K training images) per step.
    pub batch: usize,
    /// Seed of the initialisation and of the groups drawn.
    pub seed: u64,
}

/// The summation encoder: the pixel-wise sum of the group's images.
pub fn sum_encode(data: &Dataset, group: &[usize]) -> Vec<f32> {
    let mut p = vec![0.0; data.dim()];
    for &i in group {
        for (a, b) in p.iter_mut().zip(data.image(i)) {
            *a += b;
        }
    }
    p
}

/// Trains the parity model for groups of `k` on `train`, whose base-model logits are
/// `base_logits` (`train.len() × 10`), with AdamW (learning rate 1e-3) and MSE.
pub fn train_parity(
    base: &Model,
    train: &Dataset,
    base_logits: &[f32],
    k: usize,
    cfg: ParityConfig,
) -> Result<Model, AccuracyError> {
    if k < 2 || k > train.len() {
        return Err(AccuracyError::Input(format!(
            "a parity model needs 2 ≤ K ≤ {} (the training images), got K = {k}",
            train.len()
        )));
    }
    let name = format!("parm-init-k{k}");
    let model = Model::init(base.arch, cfg.seed, &name)?;
    let mut opt = model.optimizer()?;
    let mut r = rng::stream(cfg.seed, &format!("parm-groups-k{k}"), 0);
    let side = train.side;
    for _ in 0..cfg.steps {
        let mut x = Vec::with_capacity(cfg.batch * train.dim());
        let mut t = vec![0.0f32; cfg.batch * CLASSES];
        for b in 0..cfg.batch {
            let group = index::sample(&mut r, train.len(), k).into_vec();
            x.extend(sum_encode(train, &group));
            for &i in &group {
                for c in 0..CLASSES {
                    t[b * CLASSES + c] += base_logits[i * CLASSES + c];
                }
            }
        }
        let x = Tensor::from_vec(x, (cfg.batch, 1, side, side), &Device::Cpu)?;
        let t = Tensor::from_vec(t, (cfg.batch, CLASSES), &Device::Cpu)?;
        let loss = candle_nn::loss::mse(&candle_core::Module::forward(&model.net, &x)?, &t)?;
        opt.backward_step(&loss)?;
    }
    Ok(model)
}
