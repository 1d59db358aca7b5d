//! Token-level MoE routing traces: for every token of a batch, the top-k experts its gate picks
//! in every MoE layer.
//!
//! A [`RoutingTrace`] holds tokens in (sequence, position) order, each with its top-k expert ids
//! per layer in gating order (the highest gate weight first) and, optionally, the gate weights.
//! [`RoutingTrace::counts`] gives the paper's d_{e,i} (tokens per expert per layer); a
//! [`Batch`] is a contiguous run of tokens, and traces split into a profiling part and an
//! evaluation part by sequence or by fraction.
//!
//! Readers: [`mixtral`] (the recorded Mixtral-8x7B JSON Lines, one record per token and layer)
//! and [`format`] (our own JSON Lines, one token per line, which [`synth`] writes). [`fit`]
//! estimates the generator's parameters from a trace and [`summary`] is `trace inspect`.

pub mod fit;
pub mod format;
mod json;
pub mod mixtral;
pub mod summary;
pub mod synth;

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A routing trace or parameter set that is not consistent (what is wrong and what is allowed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RoutingError(pub String);

/// The dimensions of a trace: MoE layers, experts per layer, experts per token (top-k).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// MoE layers.
    pub layers: usize,
    /// Experts in each layer.
    pub experts: usize,
    /// Experts each token is routed to in each layer.
    pub top_k: usize,
}

impl Shape {
    /// Checks the dimensions: at least one layer, 1 ≤ top_k ≤ experts ≤ 65,536.
    pub fn new(layers: usize, experts: usize, top_k: usize) -> Result<Self, RoutingError> {
        if layers == 0 {
            return Err(RoutingError("layers is 0; allowed: at least 1".into()));
        }
        if experts == 0 || experts > 1 << 16 {
            return Err(RoutingError(format!(
                "experts is {experts}; allowed: 1 to 65536"
            )));
        }
        if top_k == 0 || top_k > experts {
            return Err(RoutingError(format!(
                "top_k is {top_k}; allowed: 1 to the number of experts ({experts})"
            )));
        }
        Ok(Shape {
            layers,
            experts,
            top_k,
        })
    }

    /// An all-zero layer × expert table.
    pub fn zeros<T: Clone + Default>(&self) -> Vec<Vec<T>> {
        vec![vec![T::default(); self.experts]; self.layers]
    }
}

/// One token: where it is, and the experts it was routed to in every layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The sequence (request, prompt, problem) it belongs to.
    pub sequence: u32,
    /// Its index in the sequence (decode step or token index).
    pub position: u32,
    /// Its vocabulary id, if the trace records it.
    pub token_id: Option<u32>,
    top_k: usize,
    experts: Vec<u16>,
    gates: Vec<f32>,
}

impl Token {
    /// A token; `experts` holds `top_k` ids per layer, layer after layer, each layer's in gating
    /// order; `gates` is empty or holds the matching gate weights. Checked by
    /// [`RoutingTrace::new`].
    pub fn new(
        sequence: u32,
        position: u32,
        token_id: Option<u32>,
        top_k: usize,
        experts: Vec<u16>,
        gates: Vec<f32>,
    ) -> Self {
        Token {
            sequence,
            position,
            token_id,
            top_k,
            experts,
            gates,
        }
    }

    /// Its top-k experts in `layer`, in gating order.
    pub fn experts(&self, layer: usize) -> &[u16] {
        &self.experts[layer * self.top_k..(layer + 1) * self.top_k]
    }

    /// Its top-k gate weights in `layer`, if the trace records them.
    pub fn gates(&self, layer: usize) -> Option<&[f32]> {
        (!self.gates.is_empty()).then(|| &self.gates[layer * self.top_k..(layer + 1) * self.top_k])
    }

    /// Whether the trace recorded gate weights for it.
    pub fn has_gates(&self) -> bool {
        !self.gates.is_empty()
    }
}

/// Tokens with their routing, in (sequence, position) order; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingTrace {
    shape: Shape,
    tokens: Vec<Token>,
}

impl RoutingTrace {
    /// Checks every token against `shape` (expert ids in range, no expert twice in a layer,
    /// gates in [0, 1]) and that tokens are in strictly increasing (sequence, position) order.
    pub fn new(shape: Shape, tokens: Vec<Token>) -> Result<Self, RoutingError> {
        let per = shape.layers * shape.top_k;
        for (i, t) in tokens.iter().enumerate() {
            let at = || {
                format!(
                    "token {i} (sequence {}, position {})",
                    t.sequence, t.position
                )
            };
            if t.top_k != shape.top_k || t.experts.len() != per {
                return Err(RoutingError(format!(
                    "{}: has {} expert ids with top-k {}; allowed: {} ({} layers × top-k {})",
                    at(),
                    t.experts.len(),
                    t.top_k,
                    per,
                    shape.layers,
                    shape.top_k
                )));
            }
            if !t.gates.is_empty() && t.gates.len() != per {
                return Err(RoutingError(format!(
                    "{}: has {} gate weights; allowed: none or {per}",
                    at(),
                    t.gates.len()
                )));
            }
            if let Some(g) = t.gates.iter().find(|g| !(**g >= 0.0 && **g <= 1.0)) {
                return Err(RoutingError(format!(
                    "{}: gate weight {g}; allowed: 0 to 1",
                    at()
                )));
            }
            for l in 0..shape.layers {
                let ex = t.experts(l);
                if let Some(e) = ex.iter().find(|e| **e as usize >= shape.experts) {
                    return Err(RoutingError(format!(
                        "{}: layer {l}: expert {e}; allowed: 0 to {}",
                        at(),
                        shape.experts - 1
                    )));
                }
                if (1..ex.len()).any(|j| ex[..j].contains(&ex[j])) {
                    return Err(RoutingError(format!(
                        "{}: layer {l}: experts {ex:?} repeat an expert; allowed: {} distinct ids",
                        at(),
                        shape.top_k
                    )));
                }
            }
            if i > 0 {
                let p = &tokens[i - 1];
                if (p.sequence, p.position) >= (t.sequence, t.position) {
                    return Err(RoutingError(format!(
                        "{}: follows sequence {}, position {}; allowed: tokens in increasing \
                         (sequence, position) order, each once",
                        at(),
                        p.sequence,
                        p.position
                    )));
                }
            }
        }
        Ok(RoutingTrace { shape, tokens })
    }

    /// The dimensions.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The tokens, in (sequence, position) order.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The distinct sequence ids, in order.
    pub fn sequences(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self.tokens.iter().map(|t| t.sequence).collect();
        s.dedup();
        s
    }

    /// Tokens per expert per layer (layer × expert), d_{e,i}: with top-k a token counts once for
    /// each of its k experts, so every layer sums to tokens × k.
    pub fn counts(&self) -> Vec<Vec<u32>> {
        self.all().counts()
    }

    /// The whole trace as one batch.
    pub fn all(&self) -> Batch<'_> {
        Batch {
            trace: self,
            range: 0..self.tokens.len(),
        }
    }

    /// Consecutive batches of `size` tokens (in trace order, across sequences); the last one
    /// holds the remainder and may be shorter. `size` 0 is treated as 1.
    pub fn batches(&self, size: usize) -> Vec<Batch<'_>> {
        let size = size.max(1);
        (0..self.tokens.len())
            .step_by(size)
            .map(|s| Batch {
                trace: self,
                range: s..(s + size).min(self.tokens.len()),
            })
            .collect()
    }

    /// Splits into (tokens of the sequences for which `profile` is true, the others).
    pub fn split_by_sequence(&self, profile: impl Fn(u32) -> bool) -> (RoutingTrace, RoutingTrace) {
        let (a, b): (Vec<Token>, Vec<Token>) = self
            .tokens
            .iter()
            .cloned()
            .partition(|t| profile(t.sequence));
        (self.with(a), self.with(b))
    }

    /// Splits into (the first ⌊fraction × tokens⌋ tokens, the rest), in trace order; a fraction
    /// outside [0, 1] is clamped.
    pub fn split_fraction(&self, fraction: f64) -> (RoutingTrace, RoutingTrace) {
        let f = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let n = ((self.tokens.len() as f64) * f).floor() as usize;
        (
            self.with(self.tokens[..n].to_vec()),
            self.with(self.tokens[n..].to_vec()),
        )
    }

    /// Splits into (the first `fraction` of every sequence's tokens, the rest of each), so both
    /// parts see every sequence.
    pub fn split_within_sequences(&self, fraction: f64) -> (RoutingTrace, RoutingTrace) {
        let f = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut start = 0;
        while start < self.tokens.len() {
            let seq = self.tokens[start].sequence;
            let end = start
                + self.tokens[start..]
                    .iter()
                    .take_while(|t| t.sequence == seq)
                    .count();
            let n = (((end - start) as f64) * f).floor() as usize;
            a.extend_from_slice(&self.tokens[start..start + n]);
            b.extend_from_slice(&self.tokens[start + n..end]);
            start = end;
        }
        (self.with(a), self.with(b))
    }

    /// The same shape with a subsequence of these tokens (still ordered).
    fn with(&self, tokens: Vec<Token>) -> RoutingTrace {
        RoutingTrace {
            shape: self.shape,
            tokens,
        }
    }
}

/// A contiguous run of a trace's tokens (what a deployment serves at once).
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    trace: &'a RoutingTrace,
    range: Range<usize>,
}

impl<'a> Batch<'a> {
    /// The dimensions.
    pub fn shape(&self) -> Shape {
        self.trace.shape
    }

    /// Its tokens.
    pub fn tokens(&self) -> &'a [Token] {
        &self.trace.tokens[self.range.clone()]
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether it holds no tokens.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The token before the `i`-th of the batch in the same sequence (position − 1), looked up
    /// in the whole trace, so the first token of a batch still sees its predecessor.
    pub fn previous(&self, i: usize) -> Option<&'a Token> {
        let at = self.range.start + i;
        previous_in(&self.trace.tokens, at)
    }

    /// Tokens per expert per layer (layer × expert); see [`RoutingTrace::counts`].
    pub fn counts(&self) -> Vec<Vec<u32>> {
        let shape = self.trace.shape;
        let mut c: Vec<Vec<u32>> = shape.zeros();
        for t in self.tokens() {
            for (l, row) in c.iter_mut().enumerate() {
                for &e in t.experts(l) {
                    row[e as usize] += 1;
                }
            }
        }
        c
    }
}

/// The token before `tokens[at]` in the same sequence at position − 1, if there is one.
pub(crate) fn previous_in(tokens: &[Token], at: usize) -> Option<&Token> {
    let t = tokens.get(at)?;
    let p = tokens.get(at.checked_sub(1)?)?;
    (p.sequence == t.sequence && p.position + 1 == t.position).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(seq: u32, pos: u32, ex: &[u16]) -> Token {
        Token::new(seq, pos, None, 2, ex.to_vec(), vec![])
    }

    fn trace() -> RoutingTrace {
        let shape = Shape::new(2, 4, 2).unwrap();
        RoutingTrace::new(
            shape,
            vec![
                tok(0, 0, &[0, 1, 2, 3]),
                tok(0, 1, &[0, 2, 2, 1]),
                tok(1, 0, &[3, 0, 1, 0]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn counts_count_every_top_k_expert() {
        let c = trace().counts();
        assert_eq!(c, vec![vec![3, 1, 1, 1], vec![1, 2, 2, 1]]);
        assert!(c.iter().all(|row| row.iter().sum::<u32>() == 6));
    }

    #[test]
    fn batches_and_splits_keep_order_and_predecessors() {
        let t = trace();
        let b = t.batches(2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].len(), 1);
        assert!(b[1].previous(0).is_none(), "sequence 1 starts the batch");
        let b = t.batches(1);
        assert_eq!(b[1].previous(0).map(|p| p.position), Some(0));
        let (p, e) = t.split_by_sequence(|s| s == 0);
        assert_eq!((p.len(), e.len()), (2, 1));
        let (p, e) = t.split_fraction(0.5);
        assert_eq!((p.len(), e.len()), (1, 2));
        let (p, e) = t.split_within_sequences(0.5);
        assert_eq!(p.tokens()[0].position, 0);
        assert_eq!((p.len(), e.len()), (1, 2));
    }

    #[test]
    fn inconsistent_tokens_are_rejected_with_what_is_allowed() {
        let shape = Shape::new(2, 4, 2).unwrap();
        let e = RoutingTrace::new(shape, vec![tok(0, 0, &[0, 4, 1, 2])]).unwrap_err();
        assert!(e.0.contains("expert 4; allowed: 0 to 3"), "{e}");
        let e = RoutingTrace::new(shape, vec![tok(0, 0, &[1, 1, 1, 2])]).unwrap_err();
        assert!(e.0.contains("repeat an expert"), "{e}");
        let e = RoutingTrace::new(
            shape,
            vec![tok(0, 1, &[0, 1, 0, 1]), tok(0, 1, &[0, 1, 0, 1])],
        )
        .unwrap_err();
        assert!(e.0.contains("increasing"), "{e}");
        assert!(Shape::new(1, 4, 5).is_err());
    }
}
