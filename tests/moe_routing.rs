//! MoE routing traces and expert-popularity predictors: the Mixtral reader (real trace when
//! `../shared` is there, the bundled synthetic one otherwise), bad input, the generator's
//! determinism and the fit's recovery of its parameters, and the predictors' errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use infersim::moe::predict::{
    Aggregate, FeatureSet, Features, Key, MapPredictor, Oracle, Predictor, ProfileTable, Uniform,
    mean_mae, prediction_mae_tokens,
};
use infersim::moe::routing::fit::fit;
use infersim::moe::routing::mixtral::{self, Incomplete, MixtralOptions};
use infersim::moe::routing::synth::{PerLayer, Synth, SynthParams, generate};
use infersim::moe::routing::{RoutingTrace, Shape, Token, format};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn real_path() -> PathBuf {
    root().join("../shared/traces/mixtral8x7b_routing_humaneval_2problems.jsonl")
}

fn bundled() -> RoutingTrace {
    format::read(&root().join("traces/mixtral_routing_synthetic.jsonl")).unwrap()
}

/// The real Mixtral trace if `../shared` is there, else the bundled synthetic trace (the same
/// dimensions, fitted to it); the flag says which.
fn real_or_bundled() -> (RoutingTrace, bool) {
    let p = real_path();
    if p.exists() {
        let (t, _) = mixtral::read(&p, &MixtralOptions::default()).unwrap();
        (t, true)
    } else {
        eprintln!(
            "{} is absent: using the bundled synthetic trace",
            p.display()
        );
        (bundled(), false)
    }
}

#[test]
fn mixtral_trace_groups_records_into_tokens_and_reports_the_gaps() {
    let p = real_path();
    if p.exists() {
        let (t, rep) = mixtral::read(&p, &MixtralOptions::default()).unwrap();
        // ../shared/traces/README.md §6: problems 0 (83 tokens) and 1 (255 tokens), 10,779 of
        // 10,816 records; all missing records are in the last tokens of each problem.
        assert_eq!(rep.records, 10_779);
        assert_eq!(rep.missing_records(), 10_816 - 10_779);
        assert!(rep.duplicates.is_empty());
        assert_eq!(rep.sequences, vec!["humaneval/0", "humaneval/1"]);
        let dropped: Vec<(u32, u32)> = rep
            .incomplete
            .iter()
            .map(|t| (t.sequence, t.position))
            .collect();
        assert_eq!(
            dropped,
            vec![(0, 81), (0, 82), (1, 252), (1, 253), (1, 254)]
        );
        assert_eq!(t.len(), 83 + 255 - 5);
        assert!(t.tokens().iter().all(|t| t.has_gates()));
        let g = t.tokens()[0].gates(0).unwrap();
        assert!(
            (g[0] + g[1] - 1.0).abs() < 1e-4,
            "renormalised top-2 weights"
        );
        let strict = MixtralOptions {
            incomplete: Incomplete::Reject,
            ..MixtralOptions::default()
        };
        let e = mixtral::read(&p, &strict).unwrap_err().to_string();
        assert!(
            e.contains("humaneval/0 token_idx 81 has no record for layers [13]"),
            "{e}"
        );
    } else {
        eprintln!(
            "{} is absent: checking the bundled synthetic trace instead",
            p.display()
        );
    }
    let (t, _) = real_or_bundled();
    let s = t.shape();
    assert_eq!((s.layers, s.experts, s.top_k), (32, 8, 2));
    for row in t.counts() {
        assert_eq!(row.iter().sum::<u32>() as usize, 2 * t.len());
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = r#"{"dataset": "humaneval", "problem_id": 0, "layer": 0, "experts": [6, 5], "gating_probs": [0.7, 0.3], "token_idx": 0}"#;

#[test]
fn malformed_mixtral_lines_name_file_line_field_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 9] = [
        ("not json", "{\"dataset\": ", &["line 2", "not valid JSON"]),
        (
            "a list",
            "[1, 2]",
            &["line 2", "a list of 2 items", "a JSON object"],
        ),
        (
            "expert out of range",
            r#"{"dataset": "h", "problem_id": 0, "layer": 1, "experts": [6, 8], "gating_probs": [0.7, 0.3], "token_idx": 0}"#,
            &[
                "line 2",
                "field \"experts\"",
                "expert id 8 is out of range",
                "from 0 to 7",
            ],
        ),
        (
            "layer out of range",
            r#"{"dataset": "h", "problem_id": 0, "layer": 32, "experts": [6, 5], "gating_probs": [0.7, 0.3], "token_idx": 0}"#,
            &["field \"layer\" is the number 32", "from 0 to 31"],
        ),
        (
            "wrong type",
            r#"{"dataset": "h", "problem_id": "zero", "layer": 1, "experts": [6, 5], "gating_probs": [0.7, 0.3], "token_idx": 0}"#,
            &[
                "field \"problem_id\" is the string \"zero\"",
                "a whole number",
            ],
        ),
        (
            "missing field",
            r#"{"dataset": "h", "problem_id": 0, "layer": 1, "experts": [6, 5], "gating_probs": [0.7, 0.3]}"#,
            &["field \"token_idx\" is missing"],
        ),
        (
            "top-1 list",
            r#"{"dataset": "h", "problem_id": 0, "layer": 1, "experts": [6], "gating_probs": [1.0], "token_idx": 0}"#,
            &[
                "field \"experts\" has 1 ids",
                "a list of 2 distinct expert ids",
            ],
        ),
        (
            "repeated expert",
            r#"{"dataset": "h", "problem_id": 0, "layer": 1, "experts": [6, 6], "gating_probs": [0.7, 0.3], "token_idx": 0}"#,
            &["names expert 6 twice"],
        ),
        (
            "bad weight",
            r#"{"dataset": "h", "problem_id": 0, "layer": 1, "experts": [6, 5], "gating_probs": [1.7, 0.3], "token_idx": 0}"#,
            &[
                "field \"gating_probs\" holds the number 1.7",
                "numbers from 0 to 1",
            ],
        ),
    ];
    for (what, line, needles) in cases {
        let p = write(dir.path(), "bad.jsonl", &format!("{GOOD}\n{line}\n"));
        let e = match mixtral::read(&p, &MixtralOptions::default()) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("bad.jsonl"), "{what}: {e}");
        for n in needles {
            assert!(e.contains(n), "{what}: \"{n}\" not in: {e}");
        }
        // No Rust type names in messages.
        for t in ["u64", "usize", "Value", "invalid type"] {
            assert!(!e.contains(t), "{what}: {e}");
        }
    }
    let p = write(dir.path(), "empty.jsonl", "\n  \n");
    let e = mixtral::read(&p, &MixtralOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.jsonl") && e.contains("no records"), "{e}");
    let e = mixtral::read(&dir.path().join("absent.jsonl"), &MixtralOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.jsonl: cannot read the file"), "{e}");
    // A lone layer-0 record is a token missing 31 layers: nothing complete is left.
    let p = write(dir.path(), "one.jsonl", GOOD);
    let e = mixtral::read(&p, &MixtralOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no token has a record for every layer 0 to 31"),
        "{e}"
    );
}

fn params(layers: usize, sequences: usize, tokens: usize, seed: u64) -> SynthParams {
    SynthParams::new(Shape::new(layers, 8, 2).unwrap(), sequences, tokens, seed)
}

#[test]
fn synthetic_traces_are_deterministic_and_the_bundled_one_regenerates_exactly() {
    let mut p = params(6, 4, 300, 11);
    p.reuse = PerLayer::All(0.2);
    p.cross_layer = PerLayer::All(0.4);
    p.vocabulary = 500;
    p.token_affinity = 0.5;
    let a = format::write(&generate(&p).unwrap());
    assert_eq!(a, format::write(&generate(&p).unwrap()));
    // Our format round-trips.
    let back = format::parse(&a, Path::new("x.jsonl")).unwrap();
    assert_eq!(format::write(&back), a);
    // traces/README.md: the bundled trace is `synth-routing --params
    // traces/mixtral_routing_synthetic.toml --sequences 8 --tokens-per-sequence 256`.
    let text =
        std::fs::read_to_string(root().join("traces/mixtral_routing_synthetic.toml")).unwrap();
    let mut p: SynthParams = toml::from_str(&text).unwrap();
    p.sequences = 8;
    p.tokens_per_sequence = 256;
    let bundled_text =
        std::fs::read_to_string(root().join("traces/mixtral_routing_synthetic.jsonl")).unwrap();
    assert!(
        format::write(&generate(&p).unwrap()) == bundled_text,
        "bundled trace is stale"
    );
    assert!(bundled_text.len() < 2_000_000);
}

#[test]
fn fit_recovers_the_generators_skew() {
    let mut p = params(5, 4, 5000, 3);
    let skews = [0.0, 0.4, 0.8, 1.2, 2.0];
    p.skew = PerLayer::Each(skews.to_vec());
    let f = fit(&generate(&p).unwrap()).unwrap();
    for (l, s) in skews.iter().enumerate() {
        let got = f.layers[l].skew;
        assert!(
            (got - s).abs() < 0.06,
            "layer {l}: skew {s} fitted as {got}"
        );
    }
    // Reuse and transitions are off: the fit must not find them.
    assert!(f.layers.iter().all(|l| l.reuse < 0.02), "{:?}", f.layers);
    assert!(f.transitions.iter().all(|t| t.cross_layer < 0.05));
}

#[test]
fn fit_recovers_the_generators_reuse() {
    let mut p = params(4, 4, 5000, 4);
    let reuse = [0.0, 0.25, 0.5, 0.8];
    p.reuse = PerLayer::Each(reuse.to_vec());
    p.skew = PerLayer::All(1.0);
    let f = fit(&generate(&p).unwrap()).unwrap();
    for (l, r) in reuse.iter().enumerate() {
        let got = f.layers[l].reuse;
        assert!(
            (got - r).abs() < 0.025,
            "layer {l}: reuse {r} fitted as {got}"
        );
        assert!(
            f.layers[l].repeat_rate >= got - 1e-9,
            "chance correction lowers the rate"
        );
    }
}

#[test]
fn fit_recovers_the_generators_transitions() {
    let mut p = params(4, 4, 5000, 5);
    let cross = [0.3, 0.6, 0.9];
    p.cross_layer = PerLayer::Each(cross.to_vec());
    p.skew = PerLayer::All(0.7);
    let synth = Synth::new(p.clone()).unwrap();
    let f = fit(&synth.generate()).unwrap();
    for (l, c) in cross.iter().enumerate() {
        let t = &f.transitions[l];
        let got = t.cross_layer;
        assert!(
            (got - c).abs() < 0.05,
            "layers {l}→{}: cross_layer {c} fitted as {got}",
            l + 1
        );
        for a in 0..8u16 {
            assert_eq!(
                t.successor[a as usize],
                synth.successor(l + 1, a),
                "layer {l}, expert {a}"
            );
            let row: f64 = t.matrix[a as usize].iter().sum();
            assert!((row - 1.0).abs() < 1e-9);
        }
    }
}

fn tok(seq: u32, pos: u32, id: u32, expert: u16) -> Token {
    Token::new(seq, pos, Some(id), 1, vec![expert], vec![])
}

#[test]
fn predictors_on_a_hand_built_table_give_the_hand_computed_counts() {
    // One layer, 3 experts, top-1; features (f1 token id, f2 position bucket, f3 previous id).
    let shape = Shape::new(1, 3, 1).unwrap();
    let fs = FeatureSet::TokenId { position_bucket: 1 };
    let mut omega = ProfileTable::empty(shape, fs);
    let key = |f1, f2, f3, expert| Key {
        features: Features { f1, f2, f3 },
        layer: 0,
        expert,
    };
    omega.set(key(0, 0, 0, 0), 6).unwrap();
    omega.set(key(0, 1, 1, 1), 2).unwrap();
    omega.set(key(1, 0, 1, 2), 40).unwrap();
    assert_eq!(omega.keys().len(), 3);
    assert!(
        omega.set(key(0, 0, 0, 3), 1).is_err(),
        "expert 3 does not exist"
    );
    // By hand: P'(f2) = 1/2 (f2 ∈ {0, 1}); P'(f3=0) = 6/48, P'(f3=1) = 42/48; m(f1=0) = 8.
    // Bayes, f1 = 0: e0 ∝ 6·½·(6/48)/8 = 0.046875, e1 ∝ 2·½·(42/48)/8 = 0.109375 → 0.3, 0.7.
    // Lina, f1 = 0: 6/8, 2/8. Unseen f1 = 5: the marginal (6, 2, 40)/48.
    let bayes = MapPredictor::bayes(&omega);
    let lina = MapPredictor::lina(&omega);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(
        close(bayes.posterior(0, 0), &[0.3, 0.7, 0.0]),
        "{:?}",
        bayes.posterior(0, 0)
    );
    assert!(close(lina.posterior(0, 0), &[0.75, 0.25, 0.0]));
    assert!(close(bayes.posterior(0, 1), &[0.0, 0.0, 1.0]));
    assert!(close(
        bayes.posterior(0, 5),
        &[6.0 / 48.0, 2.0 / 48.0, 40.0 / 48.0]
    ));
    // A batch with token ids 0, 0, 1, 5, really routed to experts 1, 2, 2, 2: d = (0, 1, 3).
    let trace = RoutingTrace::new(
        shape,
        vec![
            tok(0, 0, 0, 1),
            tok(0, 1, 0, 2),
            tok(0, 2, 1, 2),
            tok(0, 3, 5, 2),
        ],
    )
    .unwrap();
    let b = trace.all();
    assert_eq!(b.counts(), vec![vec![0, 1, 3]]);
    assert_eq!(bayes.predict(&b), vec![vec![0.0, 2.0, 2.0]]);
    assert_eq!(lina.predict(&b), vec![vec![2.0, 0.0, 2.0]]);
    let mae = |p: &dyn Predictor| prediction_mae_tokens(&b.counts(), &p.predict(&b));
    assert!((mae(&bayes) - 2.0 / 3.0).abs() < 1e-12);
    assert!((mae(&lina) - 4.0 / 3.0).abs() < 1e-12);
    assert!((mae(&Uniform) - (4.0 / 3.0 + 1.0 / 3.0 + 5.0 / 3.0) / 3.0).abs() < 1e-12);
    assert_eq!(mae(&Oracle), 0.0);
    // Ω is editable: more weight on (f1 = 0 → expert 0) flips bayes for token id 0, and makes
    // expert 0 the marginal's favourite (60 of 102) for the unseen token id 5.
    omega.set(key(0, 0, 0, 0), 60).unwrap();
    assert_eq!(omega.get(&key(0, 0, 0, 0)), 60);
    assert_eq!(
        MapPredictor::bayes(&omega).predict(&b),
        vec![vec![3.0, 0.0, 1.0]]
    );
    omega.set(key(1, 0, 1, 2), 0).unwrap();
    assert_eq!(omega.keys().len(), 2, "a zero count removes the key");
}

#[test]
fn bayes_beats_uniform_on_a_skewed_trace_with_strong_affinities() {
    let mut p = params(4, 12, 400, 21);
    p.skew = PerLayer::All(1.2);
    p.vocabulary = 300;
    p.token_affinity = 0.7;
    p.position_affinity = 0.1;
    p.reuse = PerLayer::All(0.1);
    let trace = generate(&p).unwrap();
    // Profile on sequences 0–9, evaluate on 10–11 in batches of 128 tokens.
    let (profile, eval) = trace.split_by_sequence(|s| s < 10);
    assert_eq!((profile.len(), eval.len()), (4000, 800));
    let batches = eval.batches(128);
    let fs = FeatureSet::TokenId {
        position_bucket: 16,
    };
    let omega = ProfileTable::profile(&profile, fs).unwrap();
    let bayes = mean_mae(&MapPredictor::bayes(&omega), &batches);
    let lina = mean_mae(&MapPredictor::lina(&omega), &batches);
    let uniform = mean_mae(&Uniform, &batches);
    assert_eq!(mean_mae(&Oracle, &batches), 0.0);
    eprintln!(
        "token-id synthetic, batches of 128: MAE bayes {bayes:.3}, lina {lina:.3}, uniform {uniform:.3}"
    );
    assert!(bayes < 0.6 * uniform, "bayes {bayes} vs uniform {uniform}");
    assert!(lina < 0.6 * uniform, "lina {lina} vs uniform {uniform}");
    // Profiling on what is evaluated can only help.
    let seen = ProfileTable::profile(&eval, fs).unwrap();
    assert!(mean_mae(&MapPredictor::bayes(&seen), &batches) <= bayes + 1e-9);
    // Without token ids the token-id features are refused, with a reason.
    let (bare, _) = real_or_bundled();
    let e = ProfileTable::profile(&bare, fs).unwrap_err().to_string();
    assert!(e.contains("no token id"), "{e}");
}

/// Mean MAE of bayes, lina, their expected-count variants and uniform (in that order).
fn maes(omega: &ProfileTable, batches: &[infersim::moe::routing::Batch<'_>]) -> [f64; 5] {
    let b = MapPredictor::bayes(omega);
    let l = MapPredictor::lina(omega);
    [
        mean_mae(&b, batches),
        mean_mae(&l, batches),
        mean_mae(&b.with_aggregate(Aggregate::Expected), batches),
        mean_mae(&l.with_aggregate(Aggregate::Expected), batches),
        mean_mae(&Uniform, batches),
    ]
}

#[test]
fn previous_layer_features_predict_the_mixtral_routing() {
    // Real (when ../shared is there): profile on problem 0, evaluate on problem 1, and the
    // reverse. Bundled (always): sequences 0–5 against 6–7.
    let mut splits = Vec::new();
    let (trace, real) = real_or_bundled();
    if real {
        splits.push(("real 0→1", trace.split_by_sequence(|s| s == 0)));
        splits.push(("real 1→0", trace.split_by_sequence(|s| s == 1)));
    }
    splits.push(("bundled 0-5→6-7", bundled().split_by_sequence(|s| s < 6)));
    for (name, (profile, eval)) in &splits {
        for bucket in [8, 1 << 20] {
            let fs = FeatureSet::PreviousLayer {
                position_bucket: bucket,
            };
            let omega = ProfileTable::profile(profile, fs).unwrap();
            for size in [64, eval.len()] {
                let batches = eval.batches(size);
                let [b, l, be, le, u] = maes(&omega, &batches);
                eprintln!(
                    "{name}, position bucket {bucket}, batches of {size}: MAE bayes \
                     {b:.3}, lina {l:.3}, bayes-expected {be:.3}, lina-expected {le:.3}, \
                     uniform {u:.3}"
                );
                assert_eq!(mean_mae(&Oracle, &batches), 0.0);
                // Expected counts beat the paper's top-k votes here: with 8 values of f1 the
                // votes pile onto few experts.
                assert!(be < b && le < l, "{name}: {be} {b} {le} {l}");
                if name.starts_with("bundled") {
                    // The bundled trace (2,048 tokens, fitted transitions) is predictable enough
                    // for the expected counts to beat uniform.
                    assert!(be < u && le < u, "{name}: {be} {le} vs uniform {u}");
                }
            }
        }
    }
}

#[test]
fn trace_inspect_reads_both_routing_formats() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_infersim"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let bundled = root().join("traces/mixtral_routing_synthetic.jsonl");
    let out = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "trace",
        "inspect",
        "--format",
        "routing",
        bundled.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("tokens") && stdout.contains("2048"),
        "{stdout}"
    );
    assert!(stdout.contains("skew = ["), "{stdout}");
    let layers = std::fs::read_to_string(out.join("routing_layers.csv")).unwrap();
    assert_eq!(layers.lines().count(), 33);
    let params: SynthParams =
        toml::from_str(&std::fs::read_to_string(out.join("routing_synth.toml")).unwrap()).unwrap();
    assert_eq!(params.layers, 32);
    // The Mixtral reader through the command line, on a small file (two layers).
    let small = write(
        dir.path(),
        "small.jsonl",
        &[0, 1]
            .iter()
            .flat_map(|t| {
                (0..2).map(move |l| {
                    format!(
                        "{{\"dataset\": \"d\", \"problem_id\": 0, \"layer\": {l}, \"experts\": [{t}, 3], \"gating_probs\": [0.6, 0.4], \"token_idx\": {t}}}"
                    )
                })
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (code, stdout, stderr) = run(&[
        "trace",
        "inspect",
        "--format",
        "mixtral-routing",
        small.to_str().unwrap(),
        "--set",
        "layers=2",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("records") && stdout.contains("top_k"),
        "{stdout}"
    );
    let (code, _, stderr) = run(&[
        "trace",
        "inspect",
        "--format",
        "mixtral-routing",
        small.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no token has a record for every layer 0 to 31"),
        "{stderr}"
    );
}
