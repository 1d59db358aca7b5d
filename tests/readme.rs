//! README.md's examples are true: every fenced block that shows a session (`$ infersim …`
//! followed by its output) is run from the repository root and its output compared with what
//! README shows, and the counts README states about bundled scenarios are checked against them.
//!
//! In a shown output, a line `...` stands for any number of lines, and `…` within a line for
//! any text (README cuts long numbers and lists so).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The fenced blocks of `text`, each as its lines, with the line number of its first line.
fn blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            match open.take() {
                Some(b) => out.push(b),
                None => open = Some((i + 2, Vec::new())),
            }
        } else if let Some((_, lines)) = &mut open {
            lines.push(line);
        }
    }
    out
}

/// Whether `actual` matches `shown`, where each `…` in `shown` stands for any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let (shown, actual) = (shown.trim_end(), actual.trim_end());
    let pieces: Vec<&str> = shown.split('…').collect();
    if pieces.len() == 1 {
        return shown == actual;
    }
    let Some(mut rest) = actual.strip_prefix(pieces[0]) else {
        return false;
    };
    for (k, piece) in pieces.iter().enumerate().skip(1) {
        if k == pieces.len() - 1 {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Whether the output lines `actual` match the shown lines, a `...` line skipping any number.
fn output_matches(shown: &[&str], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((s, rest)) if s.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((s, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(s, a) && output_matches(rest, more)),
    }
}

#[test]
fn the_matcher_skips_lines_and_text_only_where_readme_cuts() {
    assert!(line_matches("mu = 0.63…, sigma", "mu = 0.6329, sigma"));
    assert!(!line_matches("mu = 0.64…, sigma", "mu = 0.6329, sigma"));
    assert!(line_matches("  a  ", "  a"));
    assert!(output_matches(&["a", "...", "d"], &["a", "b", "c", "d"]));
    assert!(output_matches(&["a", "..."], &["a", "b"]));
    assert!(!output_matches(&["a", "d"], &["a", "b", "d"]));
    assert!(!output_matches(&["a", "...", "e"], &["a", "b", "d"]));
}

#[test]
fn every_session_shown_in_readme_prints_what_readme_shows() {
    let text = readme();
    let mut sessions = 0;
    for (line, block) in blocks(&text) {
        let Some(command) = block.first().and_then(|l| l.strip_prefix("$ infersim ")) else {
            continue;
        };
        sessions += 1;
        let out = Command::new(env!("CARGO_BIN_EXE_infersim"))
            .args(command.split_whitespace())
            .current_dir(root())
            .output()
            .expect("run infersim");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "README.md:{line}: `infersim {command}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: Vec<&str> = stdout.lines().collect();
        assert!(
            output_matches(&block[1..], &actual),
            "README.md:{line}: `infersim {command}` printed\n{stdout}\nwhere README shows\n{}",
            block[1..].join("\n")
        );
    }
    assert!(sessions >= 2, "README.md shows {sessions} sessions");
}

#[test]
fn the_quick_start_sweep_has_the_points_and_policies_readme_states() {
    // README, Quick start: "5 rates × 2 keep-alives × 3 policies".
    let text = readme();
    assert!(text.contains("sweep-load.toml   # 5 rates × 2 keep-alives × 3 policies"));
    let plan = infersim::sweep::Plan::new(&root().join("scenarios/sweep-load.toml"), None, None)
        .expect("plan");
    assert_eq!(plan.params.len(), 2, "{:?}", plan.params);
    assert_eq!(plan.points.len(), 5 * 2);
    let sc = infersim::sweep::load_scenario(&root().join("scenarios/sweep-load.toml")).unwrap();
    assert_eq!(sc.policies.len(), 3);
}
