//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the code paths of the
//! fuzz targets (`fuzz/harness.rs`, shared with them), without libFuzzer: no input may panic.

use std::path::{Path, PathBuf};

#[path = "../fuzz/harness.rs"]
mod harness;

/// Every file of `fuzz/corpus/<target>/`, sorted.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

/// Runs `f` on every corpus file of `target`, each in a fresh scratch directory, and fails
/// naming every file that panicked.
fn replay(target: &str, f: fn(&Path, &[u8])) {
    let files = corpus(target);
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(dir.path(), &data)));
        if ok.is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs panicked:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn scenario_text_corpus() {
    replay("scenario_text", harness::scenario_text);
}

#[test]
fn trace_readers_corpus() {
    replay("trace_readers", harness::trace_readers);
}

#[test]
fn sweep_expand_corpus() {
    replay("sweep_expand", harness::sweep_expand);
}

#[test]
fn routing_readers_corpus() {
    replay("routing_readers", |_, data| harness::routing_readers(data));
}
