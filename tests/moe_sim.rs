//! MoE serving as discrete events: with warm functions and constant times the simulated batch
//! latency, each layer's time and the experts' billed GB-s and dollars equal the closed-form
//! model (eqs. 3–11, consistent reading) to the nanosecond and the cent; overflows of the
//! deployment by the real routing are counted and handled as `on_overflow` says; the MoE
//! policies report their metrics.

use std::sync::Arc;

use infersim::moe::cost::{Deployment, ExpertChoice, LayerDeployment, Mode, evaluate};
use infersim::moe::optimize;
use infersim::plan::Planner;
use infersim::plan::moe::{MoeRun, Overflow};
use infersim::policy::PolicyConfig;
use infersim::policy::moe::{MoeConfig, MoeKind};
use infersim::report::metric::Metric;
use infersim::scenario::Scenario;

/// A scenario serving one batch at time 0 with cold starts of zero (every start is as warm).
fn scenario(model: &str, tokens: u32, extra: &str) -> Scenario {
    let text = format!(
        r#"
name = "moe-exact"
[run]
horizon = "1ms"
seed = 5
[workload]
arrivals = {{ kind = "timestamps", times = ["0s"] }}
[platform.faas]
cold_start = {{ kind = "constant", value = "0s" }}
[moe]
model = "{model}"
batch_tokens = {tokens}
{extra}
[moe.routing]
test_batches = 1
[moe.routing.synthetic]
seed = 3
layers = 12
experts = 4
top_k = 1
sequences = 4
tokens_per_sequence = {tokens}
skew = 1.2
[[policy]]
kind = "moe-lambdaml"
"#
    );
    let dir = tempfile::tempdir().unwrap();
    Scenario::from_str_at(&text, &dir.path().join("s.toml")).unwrap()
}

/// Runs `deployment` on the scenario's batch (its first `layers` MoE layers) and returns
/// the run's metrics.
fn simulate(
    sc: &Scenario,
    deployment: &Deployment,
    layers: usize,
    on_overflow: Overflow,
) -> infersim::report::RunResult {
    let model = sc.moe.as_ref().unwrap().setup.model.clone();
    simulate_model(sc, model, deployment, layers, on_overflow)
}

/// [`simulate`] with another model of the same shape.
fn simulate_model(
    sc: &Scenario,
    mut model: infersim::moe::model::MoeModel,
    deployment: &Deployment,
    layers: usize,
    on_overflow: Overflow,
) -> infersim::report::RunResult {
    let moe = sc.moe.as_ref().unwrap();
    model.layers.truncate(layers);
    let mut dep = deployment.clone();
    dep.layers.truncate(layers);
    let mut counts = moe.test()[0].counts();
    counts.truncate(layers);
    let run = MoeRun {
        model: model.clone(),
        platform: moe.setup.platform.clone(),
        deployment: dep.clone(),
        batches: vec![counts.clone()],
        on_overflow,
        latency_limit_ns: u64::MAX,
        prediction_mae: None,
        cluster: None,
    };
    let planner = Planner::moe(&run).unwrap();
    let mut sc = sc.clone();
    let PolicyConfig::Moe(base) = &sc.policies[0] else {
        panic!("a MoE policy")
    };
    let config = MoeConfig {
        name: "custom".into(),
        kind: MoeKind::Lambdaml,
        choice: base.choice.clone(),
        planner: Arc::new(planner),
    };
    sc.policies = vec![PolicyConfig::Moe(config)];
    infersim::engine::run(&sc, 0, 0).unwrap()
}

fn deployments(layers: usize) -> Vec<(&'static str, Deployment)> {
    let layer = |mode, beta, mem: [u32; 4], reps: [u32; 4]| LayerDeployment {
        mode,
        beta,
        experts: mem
            .iter()
            .zip(reps)
            .map(|(&memory_mb, replicas)| ExpertChoice {
                memory_mb,
                replicas,
            })
            .collect(),
    };
    let all = |l: LayerDeployment| Deployment {
        layers: vec![l; layers],
    };
    let mixed = Deployment {
        layers: (0..layers)
            .map(|e| match e % 3 {
                0 => layer(
                    Mode::PipelinedStorage,
                    37,
                    [1536, 3072, 960, 2112],
                    [3, 1, 2, 1],
                ),
                1 => layer(Mode::Storage, 1, [3072, 1344, 1344, 768], [1, 2, 1, 1]),
                _ => layer(Mode::Direct, 1, [2880, 2880, 1152, 1920], [2, 2, 1, 1]),
            })
            .collect(),
    };
    vec![
        (
            "storage",
            all(layer(Mode::Storage, 1, [3072; 4], [1, 1, 1, 1])),
        ),
        (
            "pipelined",
            all(layer(Mode::PipelinedStorage, 64, [2304; 4], [2, 3, 1, 8])),
        ),
        (
            "direct",
            all(layer(
                Mode::Direct,
                1,
                [1728, 3072, 2496, 960],
                [1, 2, 4, 1],
            )),
        ),
        ("mixed", mixed),
    ]
}

#[test]
fn warm_simulation_equals_the_closed_form_to_the_nanosecond_and_the_cent() {
    let sc = scenario("gpt2-moe", 512, "");
    let moe = sc.moe.as_ref().unwrap();
    let (model, platform) = (&moe.setup.model, &moe.setup.platform);
    let counts = moe.test()[0].counts();
    for (name, dep) in deployments(model.layers.len()) {
        let ev = evaluate(model, platform, &counts, &dep).unwrap();
        let r = simulate(&sc, &dep, model.layers.len(), Overflow::Retry);
        let end_ns = (r.get(Metric::EndTime).unwrap() * 1e9).round() as u64;
        assert_eq!(end_ns, ev.latency_ns, "{name}: batch latency");
        let gb_s = r.get(Metric::MoeGbS).unwrap();
        assert!(
            (gb_s - ev.gb_s).abs() < 1e-9 * ev.gb_s,
            "{name}: {gb_s} vs {}",
            ev.gb_s
        );
        let usd = r.get(Metric::MoeCost).unwrap();
        assert!((usd - ev.usd).abs() < 1e-9, "{name}: ${usd} vs ${}", ev.usd);
        assert_eq!(r.get(Metric::OomFailures), Some(0.0));
        assert_eq!(r.get(Metric::Completed), Some(1.0));
    }
}

#[test]
fn every_layer_takes_its_closed_form_time() {
    // Layer by layer: the simulated latency of the first k layers minus that of the first
    // k − 1 is layer k's t^lat + T^NE.
    let sc = scenario("gpt2-moe", 512, "");
    let moe = sc.moe.as_ref().unwrap();
    let (model, platform) = (&moe.setup.model, &moe.setup.platform);
    let counts = moe.test()[0].counts();
    let (_, dep) = deployments(model.layers.len()).pop().unwrap();
    let ev = evaluate(model, platform, &counts, &dep).unwrap();
    let mut previous = None;
    for k in 1..=4 {
        let r = simulate(&sc, &dep, k, Overflow::Retry);
        let end_ns = (r.get(Metric::EndTime).unwrap() * 1e9).round() as u64;
        if let Some(p) = previous {
            let l = &ev.layers[k - 1];
            assert_eq!(
                end_ns - p,
                l.latency_ns + l.terms.next_compute_ns,
                "layer {}",
                k - 1
            );
        }
        previous = Some(end_ns);
    }
}

#[test]
fn the_next_functions_load_overlaps_the_experts() {
    // With a heavy attention block after some layers, loading the next function (started with
    // the layer) takes longer than scatter + experts: max{S1 + S2, T^load} decides.
    let sc = scenario("gpt2-moe", 64, "");
    let moe = sc.moe.as_ref().unwrap();
    let mut model = moe.setup.model.clone();
    for e in [0, 1, 4] {
        model.layers[e].next.params = 300 * 1024 * 1024;
    }
    let platform = &moe.setup.platform;
    let counts = moe.test()[0].counts();
    for (name, dep) in deployments(model.layers.len()) {
        let ev = evaluate(&model, platform, &counts, &dep).unwrap();
        let loads = ev
            .layers
            .iter()
            .filter(|l| l.mode != Mode::Direct && l.terms.load_next_ns > l.terms.scatter_ns)
            .count();
        let r = simulate_model(
            &sc,
            model.clone(),
            &dep,
            model.layers.len(),
            Overflow::Retry,
        );
        let end_ns = (r.get(Metric::EndTime).unwrap() * 1e9).round() as u64;
        assert_eq!(
            end_ns, ev.latency_ns,
            "{name}: batch latency ({loads} loads dominate)"
        );
    }
}

#[test]
fn an_expert_short_of_memory_is_retried_larger_or_fails_the_batch() {
    let sc = scenario("gpt2-moe", 512, "");
    let moe = sc.moe.as_ref().unwrap();
    let (model, platform) = (&moe.setup.model, &moe.setup.platform);
    let counts = moe.test()[0].counts();
    // 128 MB cannot hold a GPT2-MoE expert's 18.9 MB of parameters and its runtime.
    let mut dep = deployments(model.layers.len()).swap_remove(0).1;
    dep.layers[0].experts[0].memory_mb = 128;
    let retried = simulate(&sc, &dep, model.layers.len(), Overflow::Retry);
    assert_eq!(retried.get(Metric::OomFailures), Some(1.0));
    assert_eq!(retried.get(Metric::Completed), Some(1.0));
    // The retry runs at the smallest menu size that fits, after the failed attempt: it costs
    // more than planning that size from the start, by the failed attempt's bill at least.
    let mut fixed = dep.clone();
    let needed =
        infersim::moe::cost::needed_bytes(model, &model.layers[0].experts[0], counts[0][0]);
    let fits = platform
        .memory_menu
        .iter()
        .copied()
        .find(|&m| m as u64 * 1024 * 1024 >= needed)
        .unwrap();
    fixed.layers[0].experts[0].memory_mb = fits;
    let ev = evaluate(model, platform, &counts, &fixed).unwrap();
    let usd = retried.get(Metric::MoeCost).unwrap();
    assert!(usd > ev.usd, "${usd} vs ${}", ev.usd);
    let end_ns = (retried.get(Metric::EndTime).unwrap() * 1e9).round() as u64;
    assert!(end_ns > ev.latency_ns);
    let failed = simulate(&sc, &dep, model.layers.len(), Overflow::Fail);
    assert_eq!(failed.get(Metric::OomFailures), Some(1.0));
    assert_eq!(failed.get(Metric::Completed), Some(0.0));
    assert_eq!(failed.get(Metric::Dropped), Some(1.0));
}

#[test]
fn a_direct_payload_over_the_limit_goes_through_storage_or_fails() {
    // 2,560 tokens × 3,072 bytes = 7.9 MB of outputs: over the 6 MiB payload limit.
    let sc = scenario("gpt2-moe", 2560, "");
    let moe = sc.moe.as_ref().unwrap();
    let model = &moe.setup.model;
    let (_, dep) = deployments(model.layers.len()).swap_remove(2);
    assert_eq!(dep.layers[0].mode, Mode::Direct);
    let retried = simulate(&sc, &dep, 1, Overflow::Retry);
    assert!(retried.get(Metric::PayloadFailures).unwrap() >= 1.0);
    assert_eq!(retried.get(Metric::Completed), Some(1.0));
    let failed = simulate(&sc, &dep, 1, Overflow::Fail);
    assert_eq!(failed.get(Metric::Dropped), Some(1.0));
    // The optimiser never plans direct mode there.
    let counts = moe.test()[0].counts();
    let plan = optimize::exact(model, &moe.setup.platform, &counts, u64::MAX).unwrap();
    assert!(
        plan.deployment
            .layers
            .iter()
            .all(|l| l.mode != Mode::Direct)
    );
}
