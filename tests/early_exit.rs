//! Early-exit inference across VMs and functions: exits, VM boot and billing, hand-offs, the
//! cost-indifference points by hand, and the LIBRA and SERFLOW reproduction targets.

use std::path::Path;

use infersim::policy::serflow::Planner;
use infersim::report::{Metric, MetricKey};
use infersim::scenario::Scenario;

use crate::common::{assert_in_ci, scenario};

fn get(
    r: &infersim::report::ScenarioResults,
    policy: &str,
    rep: usize,
    metric: impl Into<MetricKey>,
) -> f64 {
    let metric = metric.into();
    let p = r.policies.iter().position(|n| n == policy).unwrap();
    r.results[p][rep]
        .get_key(&metric)
        .unwrap_or_else(|| panic!("no metric {metric}"))
}

fn mean(r: &infersim::report::ScenarioResults, policy: &str, metric: Metric) -> f64 {
    let n = r.replications.len();
    (0..n).map(|i| get(r, policy, i, metric)).sum::<f64>() / n as f64
}

const FOUR_STAGES: &str = r#"
name = "exits4"
[run]
horizon = "600s"
seed = 31
replications = 8
[workload]
arrivals = { kind = "poisson", rate = "60/s" }
[platform.faas]
memory = "1769MB"
cold_start = { kind = "constant", value = "200ms" }
[platform.vm]
instance = "c6i.large"
boot = { kind = "constant", value = "30s" }
[[stage]]
name = "s1"
service = { kind = "lognormal", median = "10ms", p99 = "40ms" }
exit = 0.6
output = "64KB"
compression = 2
handoff = "on-change"
[[stage]]
name = "s2"
service = { kind = "lognormal", median = "15ms", p99 = "50ms" }
exit = 0.5
[[stage]]
name = "s3"
service = { kind = "lognormal", median = "20ms", p99 = "60ms" }
exit = 0.25
[[stage]]
name = "s4"
service = { kind = "lognormal", median = "25ms", p99 = "80ms" }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "libra"
update_interval = "60s"
[[policy]]
kind = "serflow"
replan = "60s"
"#;

#[test]
fn survival_per_stage_is_the_product_of_continuation_probabilities_for_every_policy() {
    let sc = scenario(FOUR_STAGES);
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let expected = [1.0, 0.4, 0.4 * 0.5, 0.4 * 0.5 * 0.75];
    for (k, &s) in expected.iter().enumerate() {
        let stage = Metric::StageEntered.of_stage(&format!("s{}", k + 1));
        let frac: Vec<f64> = (0..8)
            .map(|i| {
                get(&r, "all-faas", i, stage.clone()) / get(&r, "all-faas", i, Metric::Requests)
            })
            .collect();
        assert_in_ci(&stage.to_string(), &frac, s);
        // Exits are coupled to the request: every policy sees the same requests leave.
        for i in 0..8 {
            let a = get(&r, "all-faas", i, stage.clone());
            assert_eq!(a, get(&r, "libra", i, stage.clone()), "{stage} rep {i}");
            assert_eq!(a, get(&r, "serflow", i, stage.clone()), "{stage} rep {i}");
        }
    }
}

fn libra(horizon: &str, arrivals: &str, extra: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "libra-boot"
[run]
horizon = "{horizon}"
seed = 5
[workload]
arrivals = {arrivals}
[platform.faas]
memory = "512MB"
[platform.vm]
instance = "m4.large"
slots = 16
boot = {{ kind = "constant", value = "100s" }}
minimum_billed = "60s"
[[stage]]
name = "req"
service = {{ kind = "constant", value = "1s" }}
[stage.service_on]
"m4.large" = {{ kind = "constant", value = "1s" }}
[[policy]]
kind = "libra"
capacity_per_vm = 16
{extra}
[[policy]]
kind = "serflow"
"#
    ))
}

#[test]
fn vms_take_no_load_before_they_boot() {
    // The first decision comes at the end of the first epoch (t = 1 s); the VMs boot for
    // 100 s, so every request arriving before t = 101 s runs on a function.
    let constant = r#"{ kind = "constant", rate = "20/s" }"#;
    let sc = libra("100s", constant, "");
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    for p in ["libra", "serflow"] {
        assert_eq!(
            get(&r, p, 0, Metric::StageVmShare.of_stage("req")),
            0.0,
            "{p}"
        );
        assert!(
            get(&r, p, 0, Metric::VmsLaunched) >= 1.0,
            "{p} launched no VM"
        );
    }
    // Once booted, they take the share.
    let sc = libra("600s", constant, "");
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    for p in ["libra", "serflow"] {
        assert!(
            get(&r, p, 0, Metric::StageVmShare.of_stage("req")) > 0.6,
            "{p}"
        );
        for s in &r.results[r.policies.iter().position(|n| n == p).unwrap()][0].samples {
            if s.vms_running == 0 {
                assert_eq!(s.vm_slots_busy, 0, "{p}: busy VM slot at {} s", s.time_s);
            }
        }
    }
}

#[test]
fn vm_bills_include_the_boot_and_the_minimum() {
    // One VM launched at t = 1 s (share 20 req/s at 16 req/s per VM: 2 VMs), booting for
    // 100 s and billed from launch to the end of the run, rounded up to whole seconds.
    let sc = libra("600s", r#"{ kind = "constant", rate = "20/s" }"#, "");
    let r = infersim::run_scenario(&sc, Some(0), None).unwrap();
    let end = get(&r, "libra", 0, Metric::EndTime);
    let billed = 2.0 * (end - 1.0).ceil();
    assert_eq!(get(&r, "libra", 0, Metric::VmsLaunched), 2.0);
    assert!((get(&r, "libra", 0, Metric::VmBilledHours) * 3600.0 - billed).abs() < 1e-6);
    let price = 0.10 / 3600.0; // m4.large
    assert!((get(&r, "libra", 0, Metric::CostVm) - billed * price).abs() < 1e-12);

    // Ten requests in the first second, then nothing: one VM is launched at t = 1 s and
    // retired at the next update (t = 31 s), still booting. It is billed the 60 s minimum.
    let times = (1..=10)
        .map(|i| format!("\"{}ms\"", i * 90))
        .collect::<Vec<_>>()
        .join(", ");
    let sc = libra(
        "120s",
        &format!(r#"{{ kind = "timestamps", times = [{times}] }}"#),
        r#"update_interval = "30s""#,
    );
    let r = infersim::run_scenario(&sc, Some(0), None).unwrap();
    assert_eq!(get(&r, "libra", 0, Metric::VmsLaunched), 1.0);
    assert_eq!(get(&r, "libra", 0, Metric::VmBilledHours) * 3600.0, 60.0);
    assert!((get(&r, "libra", 0, Metric::CostVm) - 60.0 * price).abs() < 1e-12);
    assert_eq!(
        get(&r, "libra", 0, Metric::StageVmShare.of_stage("req")),
        0.0
    );
}

fn two_stage(policy: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "handoff"
[run]
horizon = "300s"
seed = 3
[workload]
arrivals = {{ kind = "poisson", rate = "2/s" }}
[platform.faas]
memory = "1769MB"
keep_alive = "1h"
cold_start = {{ kind = "constant", value = "0s" }}
[platform.vm]
instance = "c6i.large"
[platform.payload]
latency = "10ms"
bandwidth = "10MB/s"
price_per_gb = 0.09
price_per_transfer = 0.0000035
[[stage]]
name = "a"
service = {{ kind = "constant", value = "40ms" }}
output = "200KB"
compression = 4
compression_throughput = "100MB/s"
handoff = "on-change"
[[stage]]
name = "b"
service = {{ kind = "constant", value = "60ms" }}
{policy}
"#
    ))
}

#[test]
fn activations_move_only_when_the_next_stage_runs_elsewhere() {
    // Functions: every hand-off compresses 200 KB (2 ms at 100 MB/s) and sends 50 KB over
    // the payload link (10 ms + 5 ms), and pays 50 KB × $0.09/GB + $0.0000035.
    let sc = two_stage("[[policy]]\nkind = \"all-faas\"");
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let lat = get(&r, "all-faas", 0, Metric::LatencyMean);
    assert!(
        (lat - (0.040 + 0.002 + 0.015 + 0.060)).abs() < 1e-6,
        "{lat}"
    );
    let n = get(&r, "all-faas", 0, Metric::Requests);
    let per = 50_000.0 / 1e9 * 0.09 + 0.0000035;
    assert!((get(&r, "all-faas", 0, Metric::CostTransfer) - n * per).abs() < 1e-9);
    // One VM pool: both stages in the same process, nothing moves.
    let sc = two_stage("[[policy]]\nkind = \"vm-fixed\"\nvms = 4");
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let lat = get(&r, "vm-fixed", 0, Metric::LatencyMean);
    // A c6i.large slot is one vCPU: the services are as written, plus any queueing.
    assert!((0.100 - 1e-9..0.101).contains(&lat), "{lat}");
    assert_eq!(get(&r, "vm-fixed", 0, Metric::CostTransfer), 0.0);
}

#[test]
fn indifference_points_match_the_hand_computation() {
    // c6i.large: $0.085/h → p_v = 2.3611e-5 $/s. A 100 ms task on 1024 MB billed per 1 ms:
    // c = 2e-7 + 1 GB × 0.1 s × 1.66667e-5 = 1.866667e-6 $, so T-CIP = p_v / c = 12.649 /s.
    // One VM (2 slots, 100 ms) serves μ = 20 /s; at u = 0.8, 16 /s ≥ T-CIP: feasible.
    let sc = scenario(
        r#"
name = "cip"
[run]
horizon = "10s"
[workload]
arrivals = { kind = "poisson", rate = "1/s" }
[platform.faas]
preset = "aws-lambda-2025"
memory = "1024MB"
[platform.vm]
instance = "c6i.large"
slots = 2
[[stage]]
service = { kind = "constant", value = "100ms" }
[stage.service_on]
"c6i.large" = { kind = "constant", value = "100ms" }
"function" = { kind = "constant", value = "100ms" }
[[stage]]
service = { kind = "constant", value = "1s" }
memory = "128MB"
[stage.service_on]
"c6i.large" = { kind = "constant", value = "1s" }
"function" = { kind = "constant", value = "1s" }
[[policy]]
kind = "serflow"
"#,
    );
    let inst = sc.instance_type("c6i.large").unwrap();
    let p = Planner::new(&sc, &inst, 0.8);
    let p_v = 0.085 / 3600.0;
    let c0 = 2e-7 + 1.0 * 0.1 * 0.0000166667;
    assert!((p.stages[0].faas_cost - c0).abs() < 1e-12);
    assert!((p.stages[0].t_cip - p_v / c0).abs() < 1e-9);
    assert!((p.stages[0].vm_capacity - 20.0).abs() < 1e-12);
    assert!(p.stages[0].vm_feasible);
    // S-CIP at 100 /s ingress: 12.649 / 100.
    assert!((p.s_cip(0, 100.0) - p_v / c0 / 100.0).abs() < 1e-12);
    // Share 40 /s: ⌊40/16⌋ = 2 VMs, remainder 8 < 12.65 → no third. Share 45: 13 ≥ 12.65 → 3.
    assert_eq!(p.vms(0, 30.0, 40.0, 100.0), 2);
    assert_eq!(p.vms(0, 30.0, 45.0, 100.0), 3);
    // A sparse stage (10 of 100 /s survive: 0.10 < S-CIP 0.1265) stays on functions.
    assert_eq!(p.vms(0, 10.0, 14.0, 100.0), 0);
    // Stage 2: 128 MB × 1 s costs 2e-7 + 0.125 × 1.66667e-5 = 2.2833e-6 $, T-CIP = 10.34 /s,
    // but one VM serves only 2 tasks/s (1.6 at u = 0.8): it can never break even.
    let c1 = 2e-7 + 0.125 * 0.0000166667;
    assert!((p.stages[1].faas_cost - c1).abs() < 1e-12);
    assert!(!p.stages[1].vm_feasible);
    assert_eq!(p.vms(1, 50.0, 60.0, 50.0), 0);
}

#[test]
fn libra_sizes_the_fleet_from_the_ewma_share() {
    // 150 req/s steady: share = 150, ⌈150/16⌉ = 10 VMs; the quota is ⌊0.8 × 150⌋ = 120 req/s,
    // so 80 % of the requests run on VMs once they booted.
    let sc = libra("900s", r#"{ kind = "constant", rate = "150/s" }"#, "");
    let mut sc = sc;
    sc.run.warmup = infersim::kernel::SimDuration::from_secs(120);
    let r = infersim::run_scenario(&sc, Some(0), None).unwrap();
    assert_eq!(get(&r, "libra", 0, Metric::VmsLaunched), 10.0);
    let share = get(&r, "libra", 0, Metric::StageVmShare.of_stage("req"));
    assert!((share - 0.8).abs() < 0.002, "{share}");
}

fn bundled(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn libra_reproduces_its_papers_claims_in_its_own_setting() {
    // LIBRA (IC2E 2021): > 85 % fewer SLA violations than threshold autoscaling, and cheaper
    // than all-serverless.
    let sc = bundled("early-exit-libra.toml");
    let r = infersim::run_scenario(&sc, None, Some(2)).unwrap();
    let (libra, vm, faas) = (
        mean(&r, "libra", Metric::SloViolationRate),
        mean(&r, "all-vm", Metric::SloViolationRate),
        mean(&r, "all-faas", Metric::CostTotal),
    );
    assert!(vm > 0.001, "autoscaling should queue during bursts: {vm}");
    assert!(libra < 0.15 * vm, "libra {libra} vs all-vm {vm}");
    assert!(mean(&r, "libra", Metric::CostTotal) < 0.8 * faas);
}

#[test]
fn serflow_costs_at_least_23_percent_less_than_libra_and_the_gap_grows_with_exits() {
    let mut sc = bundled("early-exit-vgg16.toml");
    sc.run.horizon = infersim::kernel::SimDuration::from_secs(3600);
    let mut gap = Vec::new();
    for exit in [0.3, 0.7, 0.9] {
        sc.stages[0].exit = infersim::workload::ExitModel::constant(exit);
        let r = infersim::run_scenario(&sc, None, Some(1)).unwrap();
        let (s, l) = (
            mean(&r, "serflow", Metric::CostTotal),
            mean(&r, "libra", Metric::CostTotal),
        );
        let (sv, lv) = (
            mean(&r, "serflow", Metric::SloViolationRate),
            mean(&r, "libra", Metric::SloViolationRate),
        );
        if exit == 0.7 {
            assert!(s <= 0.77 * l, "serflow ${s} vs libra ${l}");
            assert!(sv <= lv + 1e-4, "SLO: serflow {sv} vs libra {lv}");
        }
        gap.push(1.0 - s / l);
    }
    assert!(gap[0] < gap[1] && gap[1] < gap[2], "gap {gap:?}");
}

fn exits_plan(stages: &str, exits: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "exit-models"
[run]
horizon = "1200s"
seed = 17
replications = 8
[workload]
arrivals = {{ kind = "poisson", rate = "40/s" }}
[platform.faas]
cold_start = {{ kind = "constant", value = "0s" }}
{exits}
{stages}
[[policy]]
kind = "all-faas"
"#
    ))
}

#[test]
fn branchynet_table_sets_the_exit_probabilities() {
    // B-AlexNet with entropy thresholds (0.0001, 0.01): 43.61 % of samples leave at exit 1,
    // 29.96 % at exit 2, 26.43 % reach the final classifier (the paper's CPU results).
    let stage = "[[stage]]\nservice = { kind = \"constant\", value = \"5ms\" }\n";
    let sc = exits_plan(
        &stage.repeat(3),
        "[exits]\ntable = \"branchynet\"\nnetwork = \"B-AlexNet\"\nthresholds = [0.0001, 0.01]",
    );
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    for (k, expected) in [(2, 1.0 - 0.4361), (3, 0.2643)] {
        let frac: Vec<f64> = (0..8)
            .map(|i| {
                get(
                    &r,
                    "all-faas",
                    i,
                    Metric::StageEntered.of_stage(&format!("stage{k}")),
                ) / get(&r, "all-faas", i, Metric::Requests)
            })
            .collect();
        assert_in_ci(&format!("stage {k}"), &frac, expected);
    }
}

#[test]
fn drifting_exit_probabilities_follow_the_clock() {
    // Exit 0.2 for the first 600 s, 0.8 after: over the run, half of the requests exit.
    let sc = exits_plan(
        r#"
[[stage]]
name = "a"
service = { kind = "constant", value = "5ms" }
exit = { kind = "steps", at = ["0s", "600s"], values = [0.2, 0.8] }
[[stage]]
name = "b"
service = { kind = "constant", value = "5ms" }
"#,
        "",
    );
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let frac: Vec<f64> = (0..8)
        .map(|i| {
            get(&r, "all-faas", i, Metric::StageExited.of_stage("a"))
                / get(&r, "all-faas", i, Metric::Requests)
        })
        .collect();
    assert_in_ci("exited after a", &frac, 0.5);
}

#[test]
fn tasks_queued_at_a_pool_whose_vms_are_all_retired_go_to_functions() {
    // LIBRA told a VM serves 100 req/s when it serves 16: its one VM's queue grows by 24 req/s
    // until the horizon. When the arrivals stop, the next update retires the VM; the queued
    // requests then run on functions instead of waiting for ever.
    let sc = libra(
        "400s",
        r#"{ kind = "constant", rate = "50/s" }"#,
        "update_interval = \"300s\"",
    );
    let mut sc = sc;
    sc.policies.truncate(1);
    if let infersim::policy::PolicyConfig::Libra(l) = &mut sc.policies[0] {
        l.capacity_per_vm = Some(100.0);
    }
    let r = infersim::run_scenario(&sc, Some(0), None).unwrap();
    assert_eq!(
        get(&r, "libra", 0, Metric::Completed),
        get(&r, "libra", 0, Metric::Requests)
    );
    assert!(
        get(&r, "libra", 0, Metric::LatencyMax) > 60.0,
        "the queue should have grown"
    );
    assert!(get(&r, "libra", 0, Metric::EndTime) < 1000.0);
}
