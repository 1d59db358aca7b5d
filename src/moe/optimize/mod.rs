//! Deployment optimisers: input = model + predicted tokens per expert per layer d_{e,i} +
//! latency limit T^limit; output = a [`Plan`]: per layer mode a_e, per expert memory and
//! replicas, β, and the predicted cost and latency ([`evaluate`] of the deployment).
//!
//! - [`exact`]: the minimum-cost deployment under (12c), (12d), (12f) — per-layer exact
//!   Pareto frontiers, merged over layers.
//! - [`ods`]: the paper's Alg. 1.
//! - [`single_mode`], [`random_mode`], [`lambdaml`]: the baselines of §1.8.
//!
//! β is chosen per layer (each layer's gate splits its experts' inputs into minibatches of its
//! own β). The paper's (12e) has one β for the whole model; per-layer β contains that space,
//! so the optimum here is never costlier, and with one mode-1 layer the two coincide.

mod baselines;
mod exact;
mod frontier;
mod ods;

pub use baselines::{LAMBDAML_MEMORY_MB, LAMBDAML_MODE, lambdaml, random_mode, single_mode};
pub use exact::{exact, exact_with_modes};
pub use ods::{OdsOutcome, ods};

use crate::moe::cost::{Deployment, Evaluation, LayerTerms, evaluate, head_tail, layer_terms};
use crate::moe::error::MoeError;
use crate::moe::model::{MoeModel, Platform};

/// A deployment with its predicted cost and latency.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// What to deploy.
    pub deployment: Deployment,
    /// Its cost and latency on the counts it was optimised for.
    pub evaluation: Evaluation,
}

impl Plan {
    /// Dollars of all experts.
    pub fn usd(&self) -> f64 {
        self.evaluation.usd
    }

    /// End-to-end latency, ns.
    pub fn latency_ns(&self) -> u64 {
        self.evaluation.latency_ns
    }
}

/// What every optimiser needs, computed once.
pub(crate) struct Prepared<'a> {
    pub model: &'a MoeModel,
    pub platform: &'a Platform,
    pub counts: &'a [Vec<u32>],
    /// T^head + T^tail + Σ_e T^NE_e, ns.
    pub fixed_ns: u64,
    pub terms: Vec<LayerTerms>,
    /// Per-token ns, [layer][expert][memory-menu index].
    pub per_token: Vec<Vec<Vec<Option<u64>>>>,
}

impl<'a> Prepared<'a> {
    pub fn new(
        model: &'a MoeModel,
        platform: &'a Platform,
        counts: &'a [Vec<u32>],
    ) -> Result<Self, MoeError> {
        model.validate()?;
        platform.validate()?;
        model.check_counts(counts)?;
        let (head, tail) = head_tail(platform, model)?;
        let terms = (0..model.layers.len())
            .map(|e| layer_terms(platform, model, e, &counts[e]))
            .collect::<Result<Vec<_>, _>>()?;
        let fixed_ns = head + tail + terms.iter().map(|t| t.next_compute_ns).sum::<u64>();
        let per_token = model
            .layers
            .iter()
            .map(|l| {
                l.experts
                    .iter()
                    .map(|x| {
                        platform
                            .memory_menu
                            .iter()
                            .map(|&m| x.compute.per_token(m, &platform.cpu).map(|u| u.as_nanos()))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Ok(Prepared {
            model,
            platform,
            counts,
            fixed_ns,
            terms,
            per_token,
        })
    }

    /// Wraps a deployment into a plan, re-evaluating it with [`evaluate`].
    pub fn plan(&self, deployment: Deployment) -> Result<Plan, MoeError> {
        let evaluation = evaluate(self.model, self.platform, self.counts, &deployment)?;
        Ok(Plan {
            deployment,
            evaluation,
        })
    }
}
