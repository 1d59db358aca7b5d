//! Model and platform presets, every constant with its source or calibration
//! (`shared/reference/papers.md` §1.7 and §1.10a, `shared/reference/prices.md`).
//!
//! # Compute calibration
//! The paper gives no per-token time. Every block's per-token time on one vCPU is its
//! multiply-accumulates per token (from the model shape) × [`NS_PER_MAC`], one constant for
//! all presets, calibrated on the paper's one absolute number (§1.9, Fig. 2): GPT2-MoE on
//! 10,240 tokens with every function at 3,008 MB reaches 22.9 tokens/s end to end. The anchor
//! deployment is LambdaML's (3,008 MB, one replica, storage mode 2) with Zipf(1.0) routing
//! over the 4 experts ([`zipf_counts`]: 4,915 / 2,458 / 1,638 / 1,229 tokens). The end-to-end
//! latency is affine in the constant: with the platform below it is `A + B·c` with
//! A = 24.416 s of fixed terms (downloads, storage delays, transfers, warm starts) and
//! B = 1.0605 × 10^12 MAC on one vCPU: 12 layers × 4,915 tokens × 4,718,592 MAC (the largest
//! expert) + 11 × 10,240 × 3,148,800 (the attention blocks after layers 1–11) + 10,240 ×
//! 3,148,800 (head) + 10,240 × 38,597,376 (LM head) + 10,240 × 3,072 (final norm). Solving
//! 10,240 / 22.9 = 447.16 s = A + B·c gives c = 0.3986 ns per MAC (2.51 GMAC/s per vCPU);
//! the test `gpt2_calibration_anchor` recomputes it.
//!
//! # Parallelism
//! The paper's t^cal = r·U (eq. 3) processes tokens one after another; a per-token GEMV of
//! 768 × 3,072 is too small for PyTorch's intra-op threads to help, so the BERT/GPT-2 presets
//! use a parallelism of 1 vCPU [INF]: memory above 1,769 MB buys credit the computation
//! cannot use. (This is what makes LambdaML's fixed 3,008 MB wasteful.) Mixtral's 4,096 ×
//! 14,336 GEMVs are large enough to spread over every vCPU Lambda exposes (6) [INF].

use crate::cloud::faas::CpuCurve;
use crate::cloud::pricing::{
    AWS_LAMBDA_2025, LAMBDA_PAYLOAD_LIMIT, S3_GET_PER_REQUEST, S3_PUT_PER_REQUEST,
};
use crate::kernel::SimDuration;

use super::model::{
    ComputeLaw, DenseBlock, Eq6Reading, Expert, MemoryMenu, MoeLayer, MoeModel, Platform,
};

/// Calibrated compute speed: ns per multiply-accumulate on one Lambda vCPU (see the module
/// docs for the arithmetic).
pub const NS_PER_MAC: f64 = 0.3986;

/// Memory of every non-MoE function, MB: the Fig. 2 setting ("3008 MB functions"); the paper
/// does not bill these functions, so only their speed matters.
pub const DENSE_MEMORY_MB: u32 = 3008;

/// Intermediate memory M^itrm of an expert, bytes: the resident size of a Python 3.8 +
/// PyTorch + transformers container after import, about 300 MB [INF: typical, not measured
/// here]. It makes the 128 MB option infeasible for every preset, as for any PyTorch function.
pub const RUNTIME_BYTES: u64 = 300_000_000;

/// Names accepted by [`model_preset`].
pub const MODEL_PRESETS: &[&str] = &[
    "bert-moe",
    "bert-moe-8",
    "bert-moe-16",
    "gpt2-moe",
    "bert2bert-moe",
    "mixtral-8x7b",
];

/// A model preset by name, with the paper's 10,240-token batch.
pub fn model_preset(name: &str) -> Option<MoeModel> {
    Some(match name {
        "bert-moe" => bert_moe(4),
        "bert-moe-8" => bert_moe(8),
        "bert-moe-16" => bert_moe(16),
        "gpt2-moe" => gpt2_moe(),
        "bert2bert-moe" => bert2bert_moe(),
        "mixtral-8x7b" => mixtral_8x7b(),
        _ => return None,
    })
}

/// The AWS Lambda platform of the paper's experiments with the calibration constants of
/// §1.10a and the prices of `prices.md` (us-east-1, x86, 2025).
pub fn aws_lambda_platform() -> Platform {
    Platform {
        // T^dl: small S3 GETs from Lambda take 20–40 ms (blacha/s3-response-time, §1.10a);
        // the middle of that range.
        s3_delay: SimDuration::from_millis(30),
        // B^s: one TCP stream from Lambda is ~0.60 Gbit/s = 75 MB/s for every memory size
        // (sjakthol/aws-network-benchmark, 2024-06-15, §1.10a).
        s3_bandwidth: 75e6,
        // B^f: the same network interface carries invocation payloads.
        f2f_bandwidth: 75e6,
        // T^str: median AWS warm-start latency ≈ 25 ms (Wang et al., ATC 2018; prices.md §3).
        warm_start: SimDuration::from_millis(25),
        // D^p: 6 MB synchronous payload (paper Fig. 4; crate constant, 6 MiB).
        payload_limit: LAMBDA_PAYLOAD_LIMIT,
        // The paper's 14 memory options (§1.7).
        memory_menu: MemoryMenu::Paper14.sizes(),
        // G = 8 (§1.7).
        max_replicas: 8,
        // $0.0000166667 per GB-s, $0.20 per 1 M requests, 1 ms billing (prices.md §1–2).
        gb_s_price: AWS_LAMBDA_2025.gb_s_x86,
        granularity: AWS_LAMBDA_2025.granularity,
        request_fee: AWS_LAMBDA_2025.per_request,
        // S3 Standard: $0.005 per 1,000 PUT, $0.0004 per 1,000 GET (prices.md §6).
        s3_put_fee: S3_PUT_PER_REQUEST,
        s3_get_fee: S3_GET_PER_REQUEST,
        // 1 vCPU at 1,769 MB, linear in memory, 6 vCPUs at most (AWS docs; rwnx/lambda-cpuinfo).
        cpu: CpuCurve {
            mb_per_vcpu: 1769.0,
            max_vcpus: 6.0,
        },
        eq6: Eq6Reading::Consistent,
    }
}

/// The paper's evaluation batch (§1.7).
pub const PAPER_BATCH_TOKENS: u32 = 10_240;

fn law(macs: u64, parallelism: f64) -> ComputeLaw {
    ComputeLaw::Curve {
        one_vcpu: SimDuration::from_secs_f64(macs as f64 * NS_PER_MAC * 1e-9),
        parallelism,
    }
}

fn block(name: &str, params: u64, bytes_per_param: f64, macs: u64, par: f64) -> DenseBlock {
    DenseBlock {
        name: name.to_string(),
        params: (params as f64 * bytes_per_param).round() as u64,
        memory_mb: DENSE_MEMORY_MB,
        compute: law(macs, par),
    }
}

/// Shape of a BERT/GPT-2-style MoE model.
struct Shape {
    name: &'static str,
    /// Hidden size h.
    hidden: u64,
    /// FFN size f.
    ffn: u64,
    /// MoE layers.
    layers: usize,
    /// Experts per layer.
    experts: usize,
    /// Attention context over which a token attends, on average (for the 2·L·h MACs of the
    /// scores and the weighted sum).
    context: u64,
    /// Attention sub-blocks per layer (2 for a decoder with cross-attention).
    attentions: u64,
    /// Parameters of the head function (embeddings).
    head_params: u64,
    /// Parameters and MACs per token of the tail function (output head).
    tail_params: u64,
    tail_macs: u64,
}

/// fp32 weights.
const FP32: f64 = 4.0;

fn dense_moe(s: Shape) -> MoeModel {
    let h = s.hidden;
    // One FFN expert: two matrices h×f and f×h plus biases (§1.10a): 2·768·3072 + 3072 + 768
    // = 4,722,432 parameters = 18,889,728 bytes in fp32 for BERT/GPT-2.
    let expert_params = 2 * h * s.ffn + s.ffn + h;
    let expert_macs = 2 * h * s.ffn;
    // Attention block: Q, K, V, O (4h² + 4h) and two LayerNorms (4h) per attention, plus the
    // next linear gate (h × N). MACs: 4h² projections + 2·L·h scores and weighted sum, plus
    // the gate.
    let n = s.experts as u64;
    let attn_params = s.attentions * (4 * h * h + 4 * h + 4 * h) + h * n;
    let attn_macs = s.attentions * (4 * h * h + 2 * s.context * h) + h * n;
    let expert = Expert {
        params: (expert_params as f64 * FP32) as u64,
        intermediate: RUNTIME_BYTES,
        compute: law(expert_macs, 1.0),
    };
    let mut layers: Vec<MoeLayer> = (0..s.layers)
        .map(|_| MoeLayer {
            experts: vec![expert.clone(); s.experts],
            next: block("attention + gate", attn_params, FP32, attn_macs, 1.0),
        })
        .collect();
    // After the last MoE layer: the top-k combination, residual and final LayerNorm
    // (2h parameters, about 4h MACs per token).
    if let Some(last) = layers.last_mut() {
        last.next = block("combine + final norm", 2 * h, FP32, 4 * h, 1.0);
    }
    MoeModel {
        name: s.name.to_string(),
        head: block(
            "embeddings + attention + gate",
            s.head_params + attn_params,
            FP32,
            attn_macs,
            1.0,
        ),
        layers,
        tail: block("output head", s.tail_params, FP32, s.tail_macs, 1.0),
        top_k: 1,
        // Activations: h × 4 bytes per token in fp32 = 3,072 bytes (§1.10a).
        d_in: h * 4,
        d_out: h * 4,
        batch_tokens: PAPER_BATCH_TOKENS,
    }
}

/// BERT-base turned into 12 MoE layers of `experts` FFN experts (4, 8 or 16 in the paper),
/// top-1. Hidden 768, FFN 3,072, vocabulary 30,522, 512 positions, fp32.
pub fn bert_moe(experts: usize) -> MoeModel {
    let (h, vocab) = (768, 30_522);
    dense_moe(Shape {
        name: match experts {
            4 => "bert-moe",
            8 => "bert-moe-8",
            16 => "bert-moe-16",
            _ => "bert-moe-custom",
        },
        hidden: h,
        ffn: 3072,
        layers: 12,
        experts,
        // Bidirectional attention over a 512-token sequence.
        context: 512,
        attentions: 1,
        // Word (30,522 × 768), position (512 × 768) and type (2 × 768) embeddings + LayerNorm.
        head_params: vocab * h + 512 * h + 2 * h + 2 * h,
        // MLM head: dense h² + h, LayerNorm 2h, decoder tied to the word embeddings
        // (downloaded again by the tail function) + bias; logits for every token.
        tail_params: h * h + h + 2 * h + vocab * h + vocab,
        tail_macs: h * h + vocab * h,
    })
}

/// GPT-2 small turned into 12 MoE layers × 4 experts, top-1 (the paper prints "1.5B
/// parameters", inconsistent with 12 layers; the 12-layer shape is used). Hidden 768, FFN
/// 3,072, vocabulary 50,257, 1,024 positions, fp32.
pub fn gpt2_moe() -> MoeModel {
    let (h, vocab) = (768, 50_257);
    dense_moe(Shape {
        name: "gpt2-moe",
        hidden: h,
        ffn: 3072,
        layers: 12,
        experts: 4,
        // Causal attention over 1,024 positions: 512 on average.
        context: 512,
        attentions: 1,
        // Token (50,257 × 768) and position (1,024 × 768) embeddings.
        head_params: vocab * h + 1024 * h,
        // LM head tied to the token embeddings (downloaded again), logits for every token.
        tail_params: vocab * h,
        tail_macs: vocab * h,
    })
}

/// Bert2Bert (BERT encoder + BERT decoder, 247 M parameters) turned into 24 MoE layers × 4
/// experts, top-1. The 12 decoder layers also cross-attend (counted as a second attention in
/// every layer's non-MoE block — a slight over-count for the encoder half, stated).
pub fn bert2bert_moe() -> MoeModel {
    let (h, vocab) = (768, 30_522);
    let mut m = dense_moe(Shape {
        name: "bert2bert-moe",
        hidden: h,
        ffn: 3072,
        layers: 24,
        experts: 4,
        context: 512,
        attentions: 1,
        head_params: vocab * h + 512 * h + 2 * h + 2 * h,
        tail_params: h * h + h + 2 * h + vocab * h + vocab,
        tail_macs: h * h + vocab * h,
    });
    // Decoder half (layers 12..23): self- plus cross-attention before each MoE layer, so the
    // block after MoE layer 11..22 holds two attentions.
    let n = 4;
    let two_params = 2 * (4 * h * h + 8 * h) + h * n;
    let two_macs = 2 * (4 * h * h + 2 * 512 * h) + h * n;
    for layer in &mut m.layers[11..23] {
        layer.next = block(
            "self + cross attention + gate",
            two_params,
            FP32,
            two_macs,
            1.0,
        );
    }
    m
}

/// Mixtral-8x7B: 32 MoE layers × 8 experts, top-2. Hidden 4,096, FFN 14,336, three matrices
/// per expert (176,160,768 parameters, 352 MB in bf16 — too slow to download at 75 MB/s on
/// every invocation). The preset uses **int4 weights with one fp16 scale per 32 weights
/// (4.5 bits per weight, GPTQ/AWQ-style)**: 99,090,432 bytes per expert (1.3 s to download).
/// Activations are bf16 (8,192 bytes per token). Grouped-query attention (32 query heads,
/// 8 KV heads of 128), context 4,096 (2,048 on average, causal), vocabulary 32,000; the
/// embeddings stay bf16, the LM head is int4. The per-token GEMVs use all 6 vCPUs [INF].
pub fn mixtral_8x7b() -> MoeModel {
    let (h, f, vocab, n) = (4096u64, 14_336u64, 32_000u64, 8u64);
    const INT4: f64 = 4.5 / 8.0;
    // bf16 embeddings: 2 bytes per weight.
    const BF16: u64 = 2;
    let expert_params = 3 * h * f;
    let expert = Expert {
        params: (expert_params as f64 * INT4).round() as u64,
        intermediate: RUNTIME_BYTES,
        compute: law(3 * h * f, 6.0),
    };
    // Q and O: h × h; K and V: h × 1,024; two RMSNorms; the next gate h × 8.
    let attn_params = 2 * h * h + 2 * h * 1024;
    let attn_macs = attn_params + 2 * 2048 * h + h * n;
    let attn = DenseBlock {
        name: "attention + gate".into(),
        params: (attn_params as f64 * INT4).round() as u64 + (2 * h + h * n) * 2,
        memory_mb: DENSE_MEMORY_MB,
        compute: law(attn_macs, 6.0),
    };
    let mut layers: Vec<MoeLayer> = (0..32)
        .map(|_| MoeLayer {
            experts: vec![expert.clone(); n as usize],
            next: attn.clone(),
        })
        .collect();
    if let Some(last) = layers.last_mut() {
        last.next = DenseBlock {
            name: "combine + final norm".into(),
            params: h * 2,
            memory_mb: DENSE_MEMORY_MB,
            compute: law(4 * h, 6.0),
        };
    }
    MoeModel {
        name: "mixtral-8x7b".into(),
        head: DenseBlock {
            name: "embeddings + attention + gate".into(),
            params: vocab * h * BF16 + attn.params,
            memory_mb: DENSE_MEMORY_MB,
            compute: law(attn_macs, 6.0),
        },
        layers,
        tail: DenseBlock {
            name: "output head".into(),
            params: ((vocab * h) as f64 * INT4).round() as u64,
            memory_mb: DENSE_MEMORY_MB,
            compute: law(vocab * h, 6.0),
        },
        top_k: 2,
        d_in: h * 2,
        d_out: h * 2,
        batch_tokens: PAPER_BATCH_TOKENS,
    }
}

/// Expert token counts under Zipf(`s`) popularity: expert i (0-based) gets a share ∝ 1/(i+1)^s
/// of the `top_k × tokens` assignments, rounded by largest remainder so they sum exactly; no
/// expert gets more than `tokens` (a token picks k distinct experts), the excess going to the
/// next experts. Deterministic; the same counts for every layer.
pub fn zipf_counts(tokens: u32, top_k: u32, experts: usize, s: f64) -> Vec<u32> {
    if experts == 0 {
        return Vec::new();
    }
    let total = tokens as u64 * top_k as u64;
    let w: Vec<f64> = (0..experts)
        .map(|i| 1.0 / ((i + 1) as f64).powf(s))
        .collect();
    let sum: f64 = w.iter().sum();
    let exact: Vec<f64> = w.iter().map(|x| x / sum * total as f64).collect();
    let mut c: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut left = total - c.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..experts).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(experts * 2) {
        if left == 0 {
            break;
        }
        c[i] += 1;
        left -= 1;
    }
    // Cap at `tokens` and push the excess down the list.
    let mut carry = 0u64;
    for x in c.iter_mut() {
        *x += carry;
        carry = x.saturating_sub(tokens as u64);
        *x = (*x).min(tokens as u64);
    }
    c.into_iter().map(|x| x as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_sizes_follow_the_model_shapes() {
        let g = gpt2_moe();
        // 2·768·3072 + 3072 + 768 = 4,722,432 parameters × 4 bytes.
        assert_eq!(g.layers[0].experts[0].params, 18_889_728);
        assert_eq!((g.d_in, g.d_out), (3072, 3072));
        assert_eq!(g.layers.len(), 12);
        assert_eq!(bert_moe(16).layers[3].experts.len(), 16);
        assert_eq!(bert2bert_moe().layers.len(), 24);
        let m = mixtral_8x7b();
        // 3·4096·14336 = 176,160,768 weights × 4.5 bits = 99,090,432 bytes.
        assert_eq!(m.layers[0].experts[0].params, 99_090_432);
        assert_eq!(
            (m.layers.len(), m.layers[0].experts.len(), m.top_k),
            (32, 8, 2)
        );
        for name in MODEL_PRESETS {
            let m = model_preset(name).unwrap();
            m.validate().unwrap();
        }
        aws_lambda_platform().validate().unwrap();
    }

    #[test]
    fn zipf_counts_sum_and_skew() {
        let c = zipf_counts(10_240, 1, 4, 1.0);
        // Shares 1, 1/2, 1/3, 1/4 over H = 25/12: 4915.2, 2457.6, 1638.4, 1228.8.
        assert_eq!(c, vec![4915, 2458, 1638, 1229]);
        let c2 = zipf_counts(100, 2, 8, 1.0);
        assert_eq!(c2.iter().sum::<u32>(), 200);
        assert!(c2.iter().all(|&x| x <= 100));
        let u = zipf_counts(10, 1, 4, 0.0);
        assert_eq!(u.iter().sum::<u32>(), 10);
        assert!(u.iter().all(|&x| x == 2 || x == 3));
    }
}

#[cfg(test)]
mod calibration {
    use super::*;
    use crate::moe::optimize::{LAMBDAML_MODE, lambdaml};

    #[test]
    fn gpt2_calibration_anchor() {
        // Fig. 2: GPT2-MoE, 10,240 tokens, 3,008 MB functions → 22.9 tokens/s end to end.
        let m = gpt2_moe();
        let p = aws_lambda_platform();
        let counts = vec![zipf_counts(10_240, 1, 4, 1.0); 12];
        let plan = lambdaml(&m, &p, &counts, LAMBDAML_MODE).unwrap();
        let ev = &plan.evaluation;
        // The fixed terms A and the MAC total B of the module docs, recomputed.
        let mut m0 = m.clone();
        let zero = |b: &mut DenseBlock| {
            b.compute = ComputeLaw::Curve {
                one_vcpu: SimDuration::ZERO,
                parallelism: 1.0,
            }
        };
        zero(&mut m0.head);
        zero(&mut m0.tail);
        for l in &mut m0.layers {
            zero(&mut l.next);
            for x in &mut l.experts {
                x.compute = ComputeLaw::Curve {
                    one_vcpu: SimDuration::ZERO,
                    parallelism: 1.0,
                };
            }
        }
        let a = lambdaml(&m0, &p, &counts, LAMBDAML_MODE)
            .unwrap()
            .latency_ns();
        // A = 24.416 s.
        assert_eq!(a / 1_000_000, 24_415);
        assert!((ev.tokens_per_s - 22.9).abs() < 0.05, "{}", ev.tokens_per_s);
    }
}
