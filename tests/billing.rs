//! Billing end to end: hand-computed bills for single invocations and VMs.

use infersim::report::Metric;

use crate::common::scenario;

fn one_invocation(granularity: &str, bill_init: bool, cold: &str) -> f64 {
    let sc = scenario(&format!(
        r#"
name = "bill"
[run]
horizon = "10s"
[workload]
arrivals = {{ kind = "timestamps", times = ["1s"] }}
[platform.faas]
memory = "1769MB"
billing_granularity = "{granularity}"
bill_init = {bill_init}
cold_start = {{ kind = "constant", value = "{cold}" }}
[[stage]]
service = {{ kind = "constant", value = "1.2345ms" }}
[[policy]]
kind = "all-faas"
"#
    ));
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let run = &r.results[0][0];
    assert_eq!(run.get(Metric::Invocations), Some(1.0));
    assert_eq!(run.get(Metric::ColdStarts), Some(1.0));
    assert!((run.get(Metric::CostFaasRequests).unwrap() - 2e-7).abs() < 1e-18);
    run.get(Metric::CostFaasCompute).unwrap()
}

#[test]
fn one_invocation_of_1_2345_ms_at_1769_mb() {
    let gb = 1769.0 / 1024.0;
    let price = 0.000_016_666_7;
    // 1 ms granularity: 2 ms billed. 100 ms: 100 ms billed.
    let c = one_invocation("1ms", false, "0s");
    assert!((c - 0.002 * gb * price).abs() < 1e-15, "{c}");
    let c = one_invocation("100ms", false, "0s");
    assert!((c - 0.1 * gb * price).abs() < 1e-15, "{c}");
    // With INIT billed, a 50 ms cold start adds: ceil(51.2345) = 52 ms.
    let c = one_invocation("1ms", true, "50ms");
    assert!((c - 0.052 * gb * price).abs() < 1e-15, "{c}");
    // Without INIT billing the cold start is free.
    let c = one_invocation("1ms", false, "50ms");
    assert!((c - 0.002 * gb * price).abs() < 1e-15, "{c}");
}

#[test]
fn a_fixed_vm_pays_the_60_second_minimum_and_then_per_second() {
    let bill = |horizon: &str| {
        let sc = scenario(&format!(
            r#"
name = "vmbill"
[run]
horizon = "{horizon}"
[workload]
arrivals = {{ kind = "timestamps", times = ["1s"] }}
[platform.vm]
instance = "c6i.large"
[[stage]]
service = {{ kind = "constant", value = "1ms" }}
[[policy]]
kind = "vm-fixed"
vms = 2
"#
        ));
        infersim::run_scenario(&sc, None, None).unwrap().results[0][0]
            .get(Metric::CostVm)
            .unwrap()
    };
    // Two c6i.large ($0.085/h) for 10 s: billed 60 s each.
    assert!((bill("10s") - 2.0 * 60.0 * 0.085 / 3600.0).abs() < 1e-12);
    // For 100.5 s: 101 s each.
    assert!((bill("100.5s") - 2.0 * 101.0 * 0.085 / 3600.0).abs() < 1e-12);
}

#[test]
fn autoscaled_vms_are_billed_from_launch_including_boot_and_serve_only_after_boot() {
    // One VM at start; a burst drives utilisation to 100%: the scaler launches a VM at the first
    // tick (10 s) which boots for exactly 100 s. Until 110 s only one VM serves.
    let sc = scenario(
        r#"
name = "boot"
[run]
horizon = "200s"
sample_interval = "5s"
[workload]
arrivals = { kind = "constant", rate = "10/s" }
[platform.vm]
instance_types = [{ name = "one", vcpus = 1, memory = "2GB", price_per_hour = 3.6 }]
instance = "one"
boot = { kind = "constant", value = "100s" }
[[stage]]
service = { kind = "constant", value = "150ms" }
[[policy]]
kind = "vm-autoscale"
min = 1
max = 2
initial = 1
interval = "10s"
cooldown = "1h"
"#,
    );
    let r = infersim::run_scenario(&sc, None, None).unwrap();
    let run = &r.results[0][0];
    for s in &run.samples {
        if s.time_s < 110.0 {
            assert!(s.vms_running <= 1, "{s:?}");
        }
        if s.time_s > 10.0 && s.time_s < 110.0 {
            assert_eq!(s.vms_booting, 1, "{s:?}");
        }
        if s.time_s >= 115.0 {
            assert_eq!(s.vms_running, 2, "{s:?}");
        }
    }
    // Both VMs run to the end of the run (end_time_s): the first from 0, the second from its
    // launch at 10 s, boot included. $3.6/h = $0.001/s.
    let end = run.get(Metric::EndTime).unwrap().ceil();
    let want = (end + (end - 10.0)) * 0.001;
    assert!(
        (run.get(Metric::CostVm).unwrap() - want).abs() < 1e-9,
        "{} vs {want}",
        run.get(Metric::CostVm).unwrap()
    );
}
