//! Measured Lambda cold starts (maxday/lambda-perf `Init Duration`), as an empirical
//! distribution selected by runtime, architecture, packaging and memory.

use std::path::{Path, PathBuf};

/// The bundled measurement file (Apache-2.0, see `traces/README.md`).
pub fn bundled_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/lambda_perf_coldstarts_2026-08-16_to_2026-08-22.csv")
}

/// Which measurements to use.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredColdStart {
    /// Runtime as named in the file, e.g. `python3.12`, `nodejs22.x`, `java21`.
    pub runtime: String,
    /// `x86_64` or `arm64` (default `x86_64`).
    pub arch: Option<String>,
    /// `zip` or `image` (default `zip`).
    pub package: Option<String>,
    /// Memory whose measurements to use (the nearest measured size: 128, 256, 512, 1024 MB);
    /// default: the function's memory.
    pub memory: Option<crate::units::MemoryMb>,
    /// Measurement file (default: the bundled one).
    pub file: Option<PathBuf>,
}

/// Loads the init durations (ns) matching the selection.
pub fn load(sel: &MeasuredColdStart, memory_mb: u32, base: &Path) -> Result<Vec<u64>, String> {
    let path = match &sel.file {
        Some(f) => base.join(f),
        None => bundled_file(),
    };
    let arch = sel.arch.as_deref().unwrap_or("x86_64");
    let package = sel.package.as_deref().unwrap_or("zip");
    let want_mem = sel.memory.map(|m| m.0).unwrap_or(memory_mb);
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| {
        format!(
            "cannot read cold-start measurements {}: {e}",
            path.display()
        )
    })?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: missing column \"{name}\"", path.display()))
    };
    let (c_rt, c_arch, c_pkg, c_mem, c_init) = (
        col("runtime")?,
        col("arch")?,
        col("package_type")?,
        col("memory_mb")?,
        col("init_duration_ms")?,
    );
    let mut rows: Vec<(u32, u64)> = Vec::new();
    let mut runtimes = std::collections::BTreeSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: line {}: {e}", path.display(), i + 2))?;
        runtimes.insert(rec[c_rt].to_string());
        if rec[c_rt] != *sel.runtime || &rec[c_arch] != arch || &rec[c_pkg] != package {
            continue;
        }
        let mem: u32 = rec[c_mem]
            .parse()
            .map_err(|_| format!("{}: line {}: bad memory_mb", path.display(), i + 2))?;
        let ms: f64 = rec[c_init]
            .parse()
            .map_err(|_| format!("{}: line {}: bad init_duration_ms", path.display(), i + 2))?;
        rows.push((mem, (ms * 1e6).round() as u64));
    }
    if rows.is_empty() {
        return Err(format!(
            "no cold-start measurements for runtime \"{}\" ({arch}, {package}) in {}; runtimes: {}",
            sel.runtime,
            path.display(),
            runtimes.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let nearest = rows
        .iter()
        .map(|&(m, _)| m)
        .min_by_key(|&m| (m as i64 - want_mem as i64).abs())
        .unwrap_or(want_mem);
    Ok(rows
        .into_iter()
        .filter(|&(m, _)| m == nearest)
        .map(|(_, v)| v)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_cold_starts_match_the_published_medians() {
        let sel = MeasuredColdStart {
            runtime: "python3.12".into(),
            arch: None,
            package: None,
            memory: None,
            file: None,
        };
        let mut v = load(&sel, 1024, Path::new(".")).unwrap();
        assert!(v.len() >= 60, "{} samples", v.len());
        v.sort_unstable();
        let median_ms = v[v.len() / 2] as f64 / 1e6;
        // prices.md: python3.12 p50 ≈ 84 ms over these seven days.
        assert!((60.0..110.0).contains(&median_ms), "median {median_ms} ms");
    }

    #[test]
    fn unknown_runtime_lists_the_known_ones() {
        let sel = MeasuredColdStart {
            runtime: "cobol".into(),
            arch: None,
            package: None,
            memory: None,
            file: None,
        };
        let e = load(&sel, 1024, Path::new(".")).unwrap_err();
        assert!(e.contains("python3.12") && e.contains("cobol"), "{e}");
    }
}
