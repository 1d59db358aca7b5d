//! What can go wrong when a MoE deployment is costed or optimised.

/// A problem with a MoE model, its inputs or a deployment. Layers and experts are numbered
/// from 0, in the order of the model.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MoeError {
    /// A configuration value is out of range.
    #[error("key `{key}`: found {found}; allowed: {allowed}")]
    Config {
        /// The key, as written in the scenario (e.g. `moe.platform.s3_bandwidth`).
        key: String,
        /// What was found.
        found: String,
        /// What is allowed, in words.
        allowed: String,
    },
    /// The token counts do not have the shape of the model.
    #[error("token counts: {0}")]
    Counts(String),
    /// A deployment does not have the shape of the model or uses a value outside the menus.
    #[error("deployment: {0}")]
    Deployment(String),
    /// Constraint (12c): no memory size on the menu holds the expert's parameters, its
    /// intermediate memory and its tokens.
    #[error(
        "memory constraint (12c): layer {layer}, expert {expert} needs {needed_mb} MB \
         (parameters + intermediate memory + tokens) but {available}"
    )]
    Memory {
        /// MoE layer.
        layer: usize,
        /// Expert in the layer.
        expert: usize,
        /// MB needed (rounded up).
        needed_mb: u64,
        /// What was available, in words.
        available: String,
    },
    /// Constraint (12f): direct transfer needs a payload larger than the limit.
    #[error(
        "payload constraint (12f): layer {layer}, {what} needs a {bytes}-byte payload in direct \
         mode, over the {limit}-byte limit"
    )]
    Payload {
        /// MoE layer.
        layer: usize,
        /// Which transfer: an expert's input or output, or the gather into the next layer.
        what: String,
        /// Payload bytes.
        bytes: u64,
        /// The limit D^p in bytes.
        limit: u64,
    },
    /// Constraint (12d): no deployment meets the latency limit.
    #[error(
        "latency limit (12d): the fastest allowed deployment takes {fastest_ns} ns end to end, \
         over the limit of {limit_ns} ns"
    )]
    LatencyLimit {
        /// The smallest achievable end-to-end latency, ns (`u64::MAX` when nothing is feasible).
        fastest_ns: u64,
        /// T^limit, ns.
        limit_ns: u64,
    },
    /// No mode at all is feasible for a layer (every mode breaks memory or payload).
    #[error("layer {layer}: no communication mode is feasible: {reason}")]
    NoFeasibleMode {
        /// MoE layer.
        layer: usize,
        /// The first constraint broken, in words.
        reason: String,
    },
}
