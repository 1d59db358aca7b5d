//! Sweeps: expansion of `[sweep]`, statistics of `summary.csv` checked by hand against statrs,
//! resume after the process is killed, shards merged into the bytes of one machine, and
//! output-directory safety.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use infersim::sweep::Plan;
use statrs::distribution::{ContinuousCDF, StudentsT};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infersim"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({:?}): {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A small sweep: 2 rates × 3 keep-alives (a range with a unit), × 2 zipped memory/service
/// pairs = 12 points, 2 policies, 2 replications.
const SMALL: &str = r#"name = "small-sweep"
description = "a sweep for the tests"
[run]
horizon = "5m"
replications = 2
slo = "300ms"
[workload]
arrivals = { kind = "poisson", rate = "2/s" }
[[stage]]
service = { kind = "exponential", mean = "100ms" }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "hybrid"
vms = 1

[sweep]
"workload.arrivals.rate" = ["2/s", "6/s"]
"platform.faas.keep_alive" = { from = 1, to = 5, step = 2, unit = "m" }

[sweep.zip]
"platform.faas.memory" = ["1024MB", "2048MB"]
"stage[0].service.mean" = ["150ms", "80ms"]
"#;

/// A sweep whose runs take tens of milliseconds each (4 points × 2 policies × 5 replications).
const SLOW: &str = r#"name = "slow-sweep"
[run]
horizon = "1h"
replications = 5
[workload]
arrivals = { kind = "poisson", rate = "40/s" }
[[stage]]
service = { kind = "exponential", mean = "100ms" }
[[policy]]
kind = "all-faas"
[[policy]]
kind = "vm-fixed"
vms = 2
[sweep]
"platform.faas.keep_alive" = ["1m", "5m", "10m", "30m"]
"#;

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn expansion_of_lists_ranges_and_zips() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "small.toml", SMALL);
    let plan = Plan::new(&path, None, None).unwrap();
    assert_eq!(
        plan.params,
        [
            "workload.arrivals.rate",
            "platform.faas.keep_alive",
            "platform.faas.memory",
            "stage.0.service.mean"
        ]
    );
    assert_eq!(plan.points.len(), 2 * 3 * 2);
    assert_eq!(plan.runs.len(), 12 * 2 * 2);
    // First axis slowest; zipped keys move together.
    assert_eq!(plan.points[0].labels, ["2/s", "1m", "1024MB", "150ms"]);
    assert_eq!(plan.points[1].labels, ["2/s", "1m", "2048MB", "80ms"]);
    assert_eq!(plan.points[2].labels, ["2/s", "3m", "1024MB", "150ms"]);
    assert_eq!(plan.points[11].labels, ["6/s", "5m", "2048MB", "80ms"]);
    // The values reach the validated scenarios.
    let sc = &plan.points[11].scenario;
    assert_eq!(sc.faas.memory_mb, 2048);
    assert_eq!(
        sc.faas.keep_alive.map(|d| d.as_secs_f64()),
        Some(300.0),
        "keep_alive"
    );
    // `validate` counts the points; `run` ignores the [sweep] table.
    let out = run_ok(bin().arg("validate").arg(&path));
    assert!(String::from_utf8_lossy(&out.stdout).contains("12 sweep points"));
    let out = run_ok(
        bin()
            .arg("run")
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("run"))
            .arg("--no-plots"),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("small-sweep"));
}

#[test]
fn sweep_writes_tidy_results_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "small.toml", SMALL);
    let out_dir = dir.path().join("out");
    run_ok(
        bin()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(&out_dir)
            .arg("--no-plots"),
    );
    let results = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    let header = results.lines().next().unwrap();
    assert_eq!(
        header,
        "point,workload.arrivals.rate,platform.faas.keep_alive,platform.faas.memory,stage.0.service.mean,policy,replication,metric,value"
    );
    let metrics = results
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("0,2/s,1m,1024MB,150ms,all-faas,0,"))
        .count();
    assert!(metrics > 20);
    assert_eq!(results.lines().count(), 1 + 12 * 2 * 2 * metrics);
    // Common random numbers: at a point, every policy sees the same requests.
    let rows: Vec<Vec<&str>> = results
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for point in 0..12 {
        for rep in ["0", "1"] {
            let reqs: Vec<&str> = rows
                .iter()
                .filter(|r| r[0] == point.to_string() && r[6] == rep && r[7] == "requests")
                .map(|r| r[8])
                .collect();
            assert_eq!(reqs.len(), 2);
            assert_eq!(reqs[0], reqs[1], "point {point} replication {rep}");
        }
    }
}

/// summary.csv against statistics computed here by hand, with statrs' Student t.
#[test]
fn summary_intervals_match_statrs_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace("replications = 2", "replications = 4");
    let path = write_scenario(dir.path(), "small.toml", &text);
    let out_dir = dir.path().join("out");
    run_ok(
        bin()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(&out_dir)
            .arg("--no-plots"),
    );
    let results = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    let t = StudentsT::new(0.0, 1.0, 3.0).unwrap().inverse_cdf(0.975);
    assert!((t - 3.182_446).abs() < 1e-5, "t(0.975, 3) = {t}");
    let mut checked = 0;
    for metric in [
        "cost_total_usd",
        "latency_p99_s",
        "requests",
        "slo_violation_rate",
    ] {
        for point in [0usize, 7, 11] {
            for policy in ["all-faas", "hybrid"] {
                let xs: Vec<f64> = results
                    .lines()
                    .map(|l| l.split(',').collect::<Vec<_>>())
                    .filter(|r| r[0] == point.to_string() && r[5] == policy && r[7] == metric)
                    .map(|r| r[8].parse().unwrap())
                    .collect();
                assert_eq!(xs.len(), 4);
                let n = xs.len() as f64;
                let mean = xs.iter().sum::<f64>() / n;
                let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                let hw = t * sd / n.sqrt();
                let row: Vec<&str> = summary
                    .lines()
                    .map(|l| l.split(',').collect::<Vec<_>>())
                    .find(|r| r[0] == point.to_string() && r[5] == policy && r[6] == metric)
                    .unwrap_or_else(|| panic!("no summary row for {point} {policy} {metric}"));
                let got: Vec<f64> = row[7..11].iter().map(|v| v.parse().unwrap()).collect();
                let want = [mean, sd, mean - hw, mean + hw];
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                        "{metric} at {point}/{policy}: got {got:?}, want {want:?}"
                    );
                }
                assert_eq!(row[11], "4");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 24);
}

fn markers(journal: &Path) -> usize {
    std::fs::read(journal)
        .map(|b| {
            b.split(|&c| c == b'\n')
                .filter(|l| l.starts_with(b"#run,"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_killed_sweep_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "slow.toml", SLOW);
    // Reference: uninterrupted, two threads.
    let whole = dir.path().join("whole");
    run_ok(
        bin()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(&whole)
            .args(["--jobs", "2", "--no-plots"]),
    );
    // Interrupted: one thread, killed once a few runs are in the journal.
    let part = dir.path().join("part");
    let journal = part.join("runs.journal");
    let mut child = bin()
        .arg("sweep")
        .arg(&path)
        .arg("--out")
        .arg(&part)
        .args(["--jobs", "1", "--no-plots"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while markers(&journal) < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no progress in the journal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = markers(&journal);
    assert!(
        done < 40,
        "the sweep finished before it was killed ({done} runs)"
    );
    assert!(!part.join("summary.csv").exists());
    // Simulate a run torn in the middle of its write.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"3,30m,all-faas,4,requests,14").unwrap();
    drop(f);
    // Without --resume the directory is protected.
    let out = bin()
        .arg("sweep")
        .arg(&path)
        .arg("--out")
        .arg(&part)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    // Resume: only the unfinished runs are run.
    let out = run_ok(bin().arg("sweep").arg(&path).arg("--out").arg(&part).args([
        "--resume",
        "--jobs",
        "2",
        "--no-plots",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(&format!("({} run now, {done} already done)", 40 - done)),
        "{stdout}"
    );
    assert!(stderr.contains("dropped an unfinished run"), "{stderr}");
    for f in ["results.csv", "summary.csv", "report.md", "sweep.json"] {
        let a = std::fs::read(whole.join(f)).unwrap();
        let b = std::fs::read(part.join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between the uninterrupted and the resumed sweep"
        );
    }
    assert_eq!(markers(&journal), 40);
    // Resuming a finished sweep runs nothing and changes nothing.
    let out = run_ok(
        bin()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(&part)
            .args(["--resume", "--no-plots"]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(0 run now, 40 already done)"));
    assert_eq!(
        std::fs::read(whole.join("results.csv")).unwrap(),
        std::fs::read(part.join("results.csv")).unwrap()
    );
}

#[test]
fn shards_merge_into_the_bytes_of_one_machine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "small.toml", SMALL);
    let single = dir.path().join("single");
    run_ok(bin().arg("sweep").arg(&path).arg("--out").arg(&single));
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("shard{i}")))
        .collect();
    for (i, d) in shards.iter().enumerate() {
        run_ok(
            bin()
                .arg("sweep")
                .arg(&path)
                .arg("--out")
                .arg(d)
                .arg("--shard")
                .arg(format!("{i}/3"))
                .args(["--jobs", "1"]),
        );
        // A shard holds only its runs: ids ≡ i (mod 3).
        let j = std::fs::read_to_string(d.join("runs.journal")).unwrap();
        for l in j.lines().filter(|l| l.starts_with("#run,")) {
            let id: usize = l.split(',').nth(1).unwrap().parse().unwrap();
            assert_eq!(id % 3, i);
        }
    }
    // Missing a shard: a clear error naming it.
    let merged = dir.path().join("merged");
    let out = bin()
        .arg("merge")
        .arg(&shards[0])
        .arg(&shards[2])
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shard 1/3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Shards given in any order.
    run_ok(
        bin()
            .arg("merge")
            .arg(&shards[2])
            .arg(&shards[0])
            .arg(&shards[1])
            .arg("--out")
            .arg(&merged),
    );
    for f in [
        "results.csv",
        "summary.csv",
        "report.md",
        "sweep.json",
        "scenario.toml",
        "plots/cost_vs_workload.arrivals.rate.svg",
        "plots/cost_vs_slo.png",
    ] {
        let a = std::fs::read(single.join(f)).unwrap();
        let b = std::fs::read(merged.join(f)).unwrap();
        assert!(
            a == b,
            "{f} differs between one machine and the merged shards"
        );
    }
    // Merging again into the same directory needs --force.
    let out = bin()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    run_ok(
        bin()
            .arg("merge")
            .args(&shards)
            .arg("--out")
            .arg(&merged)
            .arg("--force"),
    );
}

#[test]
fn existing_results_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "small.toml", SMALL);
    let out_dir = dir.path().join("out");
    let sweep = |extra: &[&str]| {
        bin()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(&out_dir)
            .arg("--no-plots")
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(sweep(&[]).status.success());
    let before = std::fs::read(out_dir.join("results.csv")).unwrap();
    let again = sweep(&[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    // A different sweep cannot be resumed into it.
    let other = sweep(&["--resume", "--seed", "7"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("different sweep"));
    assert_eq!(std::fs::read(out_dir.join("results.csv")).unwrap(), before);
    // --force starts over.
    assert!(sweep(&["--force", "--seed", "7"]).status.success());
    assert_ne!(std::fs::read(out_dir.join("results.csv")).unwrap(), before);
}

#[test]
fn bad_sweep_keys_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        (
            "\"workload.arivals.rate\" = [\"1/s\"]",
            &["workload.arivals.rate", "did you mean `arrivals`"],
        ),
        (
            "\"policy.5.vms\" = [1, 2]",
            &["policy[5].vms", "no index 5"],
        ),
        (
            "\"workload.arrivals.rate\" = [\"5/s\", \"fast\"]",
            &["workload.arrivals.rate", "sweep point 1", "fast"],
        ),
        (
            "\"run.horizon\" = \"1m\"",
            &["run.horizon", "list of values"],
        ),
        (
            "\"run.replications\" = { from = 1, to = 3 }",
            &["run.replications", "step"],
        ),
    ];
    let base = SMALL.split("[sweep]").next().unwrap();
    let line = base.lines().count() + 2;
    for (entry, needles) in cases {
        let text = format!("{base}[sweep]\n{entry}\n");
        let path = write_scenario(dir.path(), "bad.toml", &text);
        for cmd in ["validate", "sweep"] {
            let out = bin().arg(cmd).arg(&path).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {entry}: {err}");
            assert!(
                err.contains(&format!("bad.toml:{line}: key `sweep.")),
                "{cmd} {entry}: no file:line:key in {err}"
            );
            for n in *needles {
                assert!(err.contains(n), "{cmd} {entry}: {n:?} missing in {err}");
            }
        }
    }
}

/// A sweep whose trace breaks after planning: the failed runs are not journaled as done, the
/// command exits 2 naming the file and line, and `--resume` with the trace repaired runs just
/// the missing runs.
#[test]
fn a_run_whose_trace_breaks_is_not_journaled_and_resume_reruns_it() {
    use infersim::sweep::{self, SweepError, journal};
    let dir = tempfile::tempdir().unwrap();
    let good = "1\n2\n3\n2\n1\n";
    std::fs::write(dir.path().join("a.txt"), good).unwrap();
    std::fs::write(dir.path().join("b.txt"), good).unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        r#"name = "trace-sweep"
[run]
horizon = "30s"
replications = 2
[workload]
arrivals = { kind = "trace", format = "per-second-counts", path = "a.txt" }
[[stage]]
service = { kind = "constant", value = "10ms" }
[[policy]]
kind = "all-faas"
[sweep]
"workload.arrivals.path" = ["a.txt", "b.txt"]
"#,
    )
    .unwrap();
    let plan = Plan::new(&scenario, None, None).unwrap();
    assert_eq!(plan.runs.len(), 4);
    // Point 1 (b.txt) breaks at line 4 once the plan is made.
    std::fs::write(dir.path().join("b.txt"), "1\n2\n3\nfour\n1\n").unwrap();
    let out = dir.path().join("out");
    let opts = sweep::Options {
        out: out.clone(),
        ..Default::default()
    };
    let e = sweep::execute(&plan, &opts).unwrap_err();
    assert!(matches!(e, SweepError::Run { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("(point 1, policy all-faas, replication")
            && text.contains("b.txt: line 4: \"four\" is not a non-negative integer count"),
        "{text}"
    );
    let done = journal::read(&out.join(journal::FILE)).unwrap();
    assert!(
        done.blocks.keys().all(|&id| plan.runs[id].point == 0),
        "a failed run was journaled: {:?}",
        done.blocks.keys()
    );
    assert!(!out.join("results.csv").exists());
    // The command line says the same, with exit 2.
    let cli = bin()
        .args(["sweep", "--resume", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&cli.stderr);
    // (Planned again, the broken file is now caught when the scenario is loaded.)
    assert_eq!(cli.status.code(), Some(2), "{err}");
    assert!(err.contains("b.txt: line 4: "), "{err}");
    // Repaired: --resume runs only what is missing.
    std::fs::write(dir.path().join("b.txt"), good).unwrap();
    let resumed = sweep::execute(
        &plan,
        &sweep::Options {
            out: out.clone(),
            resume: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(resumed.skipped, done.blocks.len());
    assert_eq!(resumed.ran, 4 - done.blocks.len());
    assert!(out.join("results.csv").exists());
}
