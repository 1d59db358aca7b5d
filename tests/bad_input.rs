//! Bad input: a clear message naming the file, line and key, and exit status 2 — never a panic.

use std::process::Command;

const GOOD: &str = r#"name = "bad"
[run]
horizon = "60s"
[workload]
arrivals = { kind = "poisson", rate = "5/s" }
[platform.faas]
memory = "1024MB"
[[stage]]
service = { kind = "lognormal", median = "100ms", p99 = "1s" }
[[policy]]
kind = "all-faas"
"#;

/// Runs `infersim validate` on `text` and returns (exit code, stderr).
fn validate(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// Asserts exit 2 and that stderr names the file, `line`, and contains every `needle`.
fn rejects(text: &str, line: usize, needles: &[&str]) {
    let (code, err) = validate(text);
    assert_eq!(code, 2, "expected exit 2, got {code}: {err}");
    assert!(
        err.contains(&format!("scenario.toml:{line}")),
        "no file:line {line} in: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "{n:?} missing in: {err}");
    }
}

#[test]
fn the_good_scenario_is_valid() {
    assert_eq!(validate(GOOD).0, 0);
}

#[test]
fn unknown_key_names_it_and_suggests_the_right_one() {
    rejects(
        &GOOD.replace("horizon = \"60s\"", "horizon = \"60s\"\nreplicatons = 3"),
        4,
        &["replicatons", "did you mean `replications`"],
    );
}

#[test]
fn missing_unit() {
    rejects(
        &GOOD.replace("\"60s\"", "60"),
        3,
        &["run.horizon", "needs a unit", "\"250ms\""],
    );
}

#[test]
fn zero_and_negative_rates() {
    rejects(
        &GOOD.replace("\"5/s\"", "\"0/s\""),
        5,
        &["workload.arrivals", "must be a positive"],
    );
    rejects(
        &GOOD.replace("\"5/s\"", "\"-5/s\""),
        5,
        &["workload.arrivals", "positive"],
    );
}

#[test]
fn p99_below_median() {
    rejects(
        &GOOD.replace("p99 = \"1s\"", "p99 = \"50ms\""),
        9,
        &[
            "stage[0].service",
            "p99 (50ms) must be greater than the median (100ms)",
        ],
    );
}

#[test]
fn memory_outside_lambda_limits() {
    rejects(
        &GOOD.replace("\"1024MB\"", "\"20000MB\""),
        7,
        &["platform.faas.memory", "128MB–10240MB"],
    );
    rejects(
        &GOOD.replace("\"1024MB\"", "\"64MB\""),
        7,
        &["platform.faas.memory", "outside"],
    );
}

#[test]
fn unknown_policy_kind_lists_the_allowed_ones() {
    rejects(
        &GOOD.replace("\"all-faas\"", "\"all-fass\""),
        11,
        &["policy", "all-faas", "vm-autoscale"],
    );
}

#[test]
fn missing_files() {
    let (code, err) = validate_path("/nonexistent/scenario.toml");
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/scenario.toml") && err.contains("cannot read"),
        "{err}"
    );
    rejects(
        &GOOD.replace(
            "{ kind = \"lognormal\", median = \"100ms\", p99 = \"1s\" }",
            "{ kind = \"empirical\", file = \"missing.csv\", column = \"ms\", unit = \"ms\" }",
        ),
        9,
        &["stage[0].service", "missing.csv"],
    );
}

#[test]
fn empty_traces() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.csv"), "t_s\n").unwrap();
    std::fs::write(dir.path().join("blank.csv"), "").unwrap();
    for (file, needle) in [("empty.csv", "no values"), ("blank.csv", "t_s")] {
        let text = GOOD.replace(
            "{ kind = \"poisson\", rate = \"5/s\" }",
            &format!(
                "{{ kind = \"timestamps\", file = \"{file}\", column = \"t_s\", unit = \"s\" }}"
            ),
        );
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, &text).unwrap();
        let (code, err) = validate_path(path.to_str().unwrap());
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("scenario.toml:5") && err.contains(needle) && err.contains(file),
            "{err}"
        );
    }
}

#[test]
fn cross_field_errors_point_at_the_key() {
    rejects(
        &GOOD.replace("[[policy]]", "[[stage]]\nservice = { kind = \"constant\", value = \"1s\" }\ntasks = 3\nquorum = 4\n\n[[policy]]"),
        13,
        &["stage[1].quorum", "between 1 and tasks (3)"],
    );
    rejects(
        &GOOD.replace("horizon = \"60s\"", "horizon = \"60s\"\nwarmup = \"2m\""),
        4,
        &["run.warmup", "shorter than the horizon"],
    );
}

#[test]
fn run_rejects_an_unknown_policy_name_and_zero_replications() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, GOOD).unwrap();
    for args in [vec!["--policy", "nope"], vec!["--replications", "0"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
            .arg("run")
            .arg(&path)
            .args(["--out", dir.path().join("out").to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

fn validate_path(path: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
        .arg("validate")
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn early_exit_errors_point_at_the_key() {
    let stage = "service = { kind = \"lognormal\", median = \"100ms\", p99 = \"1s\" }";
    rejects(
        &GOOD.replace(
            stage,
            &format!("{stage}\nexit = {{ kind = \"linear\", from = 0.1, to = 1.3, end = \"1h\" }}"),
        ),
        10,
        &["stage[0].exit", "`to` = 1.3", "[0, 1]"],
    );
    rejects(
        &GOOD.replace(
            stage,
            &format!("{stage}\n[stage.service_on]\n\"m9.huge\" = {{ kind = \"constant\", value = \"1s\" }}"),
        ),
        10,
        &["m9.huge", "neither an instance type"],
    );
    rejects(
        &GOOD.replace(
            "kind = \"all-faas\"",
            "kind = \"serflow\"\ncut = \"sometimes\"",
        ),
        12,
        &["policy[0].cut", "\"auto\""],
    );
    rejects(
        &GOOD.replace(
            "[[stage]]",
            "[exits]\ntable = \"branchynet\"\nnetwork = \"B-AlexNet\"\nthresholds = [0.0001, 0.01]\n[[stage]]",
        ),
        10,
        &["exits.network", "3 exits", "1 stages"],
    );
}

#[test]
fn planning_policies_reject_trace_driven_service() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/azure2019-keepalive.toml"
    ));
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("from-trace"));
    let text = format!("{text}\n[[policy]]\nkind = \"serflow\"\n");
    let err = infersim::scenario::Scenario::from_str_at(&text, path)
        .map(|_| ())
        .expect_err("serflow on from-trace service must be rejected")
        .to_string();
    assert!(
        err.contains("from-trace") && err.contains("key `policy["),
        "{err}"
    );
}

/// A corrupt line in a trace of any streamed format: `infersim run` stops with exit 2 and a
/// message naming the file, the line, what is wrong and what is allowed — never a panic.
#[test]
fn run_reports_a_corrupt_trace_line_with_file_and_line() {
    for case in crate::common::corrupt_traces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(case.file), &case.corrupt).unwrap();
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, case.scenario()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
            .arg("run")
            .arg(&path)
            .args(["--no-plots", "--out"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", case.what);
        assert!(!err.contains("panicked"), "{}: {err}", case.what);
        let at = format!("{}: line {}: ", case.file, case.line);
        assert!(
            err.contains(&at) && err.contains(case.needle),
            "{}: no {at:?} and {:?} in: {err}",
            case.what,
            case.needle
        );
        assert!(
            !dir.path().join("out/summary.csv").exists(),
            "{}",
            case.what
        );
    }
}

/// The plan shapes of the engine seam: named functions, explicit tasks, completion rules and
/// groups are checked at load, with the key and what is allowed.
#[test]
fn seam_keys_are_checked_with_the_key_and_what_is_allowed() {
    let plan = |functions: &str, stage: &str, workload: &str| {
        GOOD.replace("[platform.faas]", &format!("{workload}\n[platform.faas]"))
            .replace(
                "[[stage]]\nservice = { kind = \"lognormal\", median = \"100ms\", p99 = \"1s\" }",
                &format!("{functions}\n[[stage]]\n{stage}"),
            )
    };
    let f = "[[function]]\nname = \"model\"\n[[function]]\nname = \"parity\"\nmemory = \"512MB\"";
    // A task naming a function that is not declared: the closest name is suggested.
    rejects(
        &plan(f, "task = [ { function = \"modle\", time = \"1s\" } ]", ""),
        15,
        &[
            "stage[0].task[0].function",
            "no [[function]] is named \"modle\"",
            "did you mean \"model\"",
        ],
    );
    // `tasks` and `task` together.
    rejects(
        &plan(
            f,
            "tasks = 2\ntask = [ { function = \"model\", time = \"1s\" } ]",
            "",
        ),
        15,
        &["stage[0].tasks", "either `tasks`", "not both"],
    );
    // `cpu` and `time` together.
    rejects(
        &plan(
            f,
            "task = [ { function = \"model\", cpu = \"1s\", time = \"1s\" } ]",
            "",
        ),
        15,
        &["stage[0].task[0]", "either `cpu`", "not both"],
    );
    // A service is needed by a task without its own work.
    rejects(
        &plan(f, "task = [ { function = \"model\" } ]", ""),
        14,
        &["stage[0]", "missing `service`"],
    );
    // any-k beyond the tasks.
    rejects(
        &plan(
            f,
            "task = [ { function = \"model\", time = \"1s\" } ]\ncompletion = { kind = \"any\", k = 2 }",
            "",
        ),
        16,
        &[
            "stage[0].completion",
            "k = 2 must be between 1 and the stage's tasks (1)",
        ],
    );
    // A per-member rule naming a task the stage does not have.
    let parm = "task = [ { function = \"model\", time = \"1s\" }, { function = \"parity\", time = \"1s\" } ]\ncompletion = { kind = \"per-member\", members = [ [[0], [2]] ] }";
    rejects(
        &plan(f, parm, ""),
        16,
        &[
            "stage[0].completion",
            "member 0 names task 2",
            "numbered 0 to 1",
        ],
    );
    // A per-member rule with one member, but groups of two.
    let ok_rule = parm.replace("[[0], [2]]", "[[0], [1]]");
    rejects(
        &plan(f, &ok_rule, "group = { size = 2 }"),
        16,
        &["stage[0].completion", "lists 1 members but groups have 2"],
    );
    // A group beyond 64 members (they are bits of one word), a group of zero, a zero timeout.
    rejects(
        &plan(
            f,
            "task = [ { function = \"model\", time = \"1s\" } ]",
            "group = { size = 65 }",
        ),
        6,
        &[
            "workload.group.size",
            "group size 65 must be between 1 and 64",
        ],
    );
    rejects(
        &plan(
            f,
            "task = [ { function = \"model\", time = \"1s\" } ]",
            "group = { size = 0 }",
        ),
        6,
        &["workload.group.size", "between 1 and 64"],
    );
    rejects(
        &plan(
            f,
            "task = [ { function = \"model\", time = \"1s\" } ]",
            "group = { size = 2, timeout = \"0s\" }",
        ),
        6,
        &["workload.group.timeout", "must be > 0"],
    );
    // Two functions with one name.
    rejects(
        &plan(
            "[[function]]\nname = \"model\"\n[[function]]\nname = \"model\"",
            "task = [ { function = \"model\", time = \"1s\" } ]",
            "",
        ),
        12,
        &[
            "function[1].name",
            "two [[function]] tables are named \"model\"",
        ],
    );
    // And a well-formed plan of each shape is valid.
    assert_eq!(validate(&plan(f, &ok_rule, "")).0, 0);
}
