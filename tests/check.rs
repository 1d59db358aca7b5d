//! The CI cost gate: passes on an unchanged baseline, fails (exit 1) on a made-up regression,
//! tolerates changes within `--tolerance`, and `--update` rewrites the baseline.

use std::path::Path;
use std::process::{Command, Output};

const SCENARIO: &str = r#"name = "gate"
[run]
horizon = "5m"
replications = 3
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
[[stage]]
service = { kind = "exponential", mean = "100ms" }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-fixed"
vms = 1
"#;

fn check(scenario: &Path, baseline: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("check")
        .arg(scenario)
        .arg("--baseline")
        .arg(baseline)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Scales one baseline value (scenario gate, `policy`, `metric`) by `factor`.
fn edit(baseline: &Path, policy: &str, metric: &str, factor: f64) {
    let text = std::fs::read_to_string(baseline).unwrap();
    let mut hit = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f[0] == "gate" && f[1] == policy && f[2] == metric {
                hit = true;
                let v: f64 = f[3].parse().unwrap();
                format!("{},{},{},{}", f[0], f[1], f[2], v * factor)
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(hit);
    std::fs::write(baseline, out.join("\n") + "\n").unwrap();
}

#[test]
fn the_gate_fails_on_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("gate.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let baseline = dir.path().join("baseline.csv");

    // No baseline yet: bad input.
    let (code, text) = check(&scenario, &baseline, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--update"));

    let (code, text) = check(&scenario, &baseline, &["--update"]);
    assert_eq!(code, Some(0), "{text}");
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(written.starts_with("scenario,policy,metric,value\n"));
    assert_eq!(written.lines().count(), 1 + 2 * 2);

    let (code, text) = check(&scenario, &baseline, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("ok: 4 values"));

    // A made-up regression: the baseline says all-faas cost 10 % less than it does.
    edit(&baseline, "all-faas", "cost_total_usd", 0.9);
    let (code, text) = check(&scenario, &baseline, &["--tolerance", "1%"]);
    assert_eq!(code, Some(1), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("all-faas") && l.contains("cost_total_usd"))
        .unwrap();
    assert!(row.contains("REGRESSION") && row.contains("+11.1"), "{row}");
    assert!(text.contains("FAILED: 1 value"));
    // Within a 15 % tolerance it passes.
    let (code, text) = check(&scenario, &baseline, &["--tolerance", "15%"]);
    assert_eq!(code, Some(0), "{text}");

    // A p99 regression on the other policy fails too; an improvement does not.
    edit(&baseline, "all-faas", "cost_total_usd", 1.0 / 0.9);
    edit(&baseline, "vm-fixed", "latency_p99_s", 0.5);
    edit(&baseline, "all-faas", "latency_p99_s", 2.0);
    let (code, text) = check(&scenario, &baseline, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("improved"));
    assert!(text.contains("FAILED: 1 value"));

    // --update locks the current values in.
    let (code, _) = check(&scenario, &baseline, &["--update"]);
    assert_eq!(code, Some(0));
    assert_eq!(check(&scenario, &baseline, &[]).0, Some(0));

    // A policy that disappears fails the gate.
    let fewer = SCENARIO.replace("[[policy]]\nkind = \"vm-fixed\"\nvms = 1\n", "");
    std::fs::write(&scenario, fewer).unwrap();
    let (code, text) = check(&scenario, &baseline, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("MISSING"));
}
