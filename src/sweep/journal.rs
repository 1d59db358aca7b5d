//! The journal of a sweep (`runs.journal`): every finished run appended as its `results.csv`
//! rows followed by a marker line `#run,<id>,<rows>,<checksum>`, in one write, then fsynced.
//!
//! A sweep killed at any moment leaves at most one torn block at the end (rows without their
//! marker, or a marker cut short). [`read`] keeps the blocks whose marker matches their rows and
//! reports where the valid part ends, so that the torn tail is truncated before the sweep appends
//! again.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SweepError, fnv1a, io_err};

/// The journal's file name in an output directory.
pub const FILE: &str = "runs.journal";

/// Finished runs: id → their rows (complete lines).
pub type Blocks = BTreeMap<usize, String>;

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct Contents {
    /// The complete blocks.
    pub blocks: Blocks,
    /// Length of the valid prefix of the file, in bytes.
    pub valid_len: u64,
    /// Bytes after the valid prefix (a torn block).
    pub torn_bytes: u64,
}

/// Encodes one run's block: its rows and the marker.
pub fn encode(id: usize, rows: &str) -> String {
    let n = rows.lines().count();
    format!("{rows}#run,{id},{n},{:016x}\n", fnv1a(rows.as_bytes()))
}

/// Reads a journal; a missing file is an empty journal. Blocks are kept only when their marker
/// is whole and matches their rows; the first bad block ends the valid part.
pub fn read(path: &Path) -> Result<Contents, SweepError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut out = Contents::default();
    let mut pos = 0usize; // start of the current (unfinished) block
    let mut cur = 0usize; // start of the current line
    let mut rows = 0usize;
    while cur < bytes.len() {
        let Some(nl) = bytes[cur..].iter().position(|&b| b == b'\n') else {
            break; // a line without its newline: torn
        };
        let line = &bytes[cur..cur + nl];
        let next = cur + nl + 1;
        if line.starts_with(b"#run,") {
            let ok = std::str::from_utf8(line).ok().and_then(|l| {
                let mut f = l.split(',').skip(1);
                let id: usize = f.next()?.parse().ok()?;
                let n: usize = f.next()?.parse().ok()?;
                let h = u64::from_str_radix(f.next()?, 16).ok()?;
                if f.next().is_some() || n != rows {
                    return None;
                }
                let body = std::str::from_utf8(&bytes[pos..cur]).ok()?;
                (fnv1a(body.as_bytes()) == h).then(|| (id, body.to_string()))
            });
            let Some((id, body)) = ok else { break };
            match out.blocks.get(&id) {
                Some(old) if *old != body => {
                    return Err(SweepError::Corrupt {
                        path: path.to_path_buf(),
                        message: format!("run {id} appears twice with different results"),
                    });
                }
                _ => {
                    out.blocks.insert(id, body);
                }
            }
            pos = next;
            rows = 0;
        } else {
            rows += 1;
        }
        cur = next;
    }
    out.valid_len = pos as u64;
    out.torn_bytes = (bytes.len() - pos) as u64;
    Ok(out)
}

/// An open journal, appending whole blocks durably.
#[derive(Debug)]
pub struct Writer {
    file: File,
    path: PathBuf,
}

impl Writer {
    /// Opens `path` for appending, first cutting it to `valid_len` (dropping a torn tail).
    pub fn open(path: &Path, valid_len: u64) -> Result<Writer, SweepError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        if file.metadata().map_err(io_err(path))?.len() != valid_len {
            file.set_len(valid_len).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        Ok(Writer {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one block in a single write, then flushes it to disk.
    pub fn append(&mut self, id: usize, rows: &str) -> Result<(), SweepError> {
        let block = encode(id, rows);
        self.file
            .write_all(block.as_bytes())
            .and_then(|_| self.file.flush())
            .and_then(|_| self.file.sync_data())
            .map_err(io_err(&self.path))
    }
}

/// Writes a whole journal (blocks in id order), atomically.
pub fn write_all(path: &Path, blocks: &Blocks) -> Result<(), SweepError> {
    let mut s = String::new();
    for (id, rows) in blocks {
        s.push_str(&encode(*id, rows));
    }
    crate::report::write::write_atomic(path, s.as_bytes()).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        let mut w = Writer::open(&p, 0).unwrap();
        w.append(3, "0,a,0,x,1\n0,a,0,y,2\n").unwrap();
        w.append(1, "0,b,0,x,1\n").unwrap();
        drop(w);
        let whole = std::fs::read(&p).unwrap();
        // Every cut inside the last block keeps exactly the first block.
        let first_len = encode(3, "0,a,0,x,1\n0,a,0,y,2\n").len();
        for cut in first_len..whole.len() {
            std::fs::write(&p, &whole[..cut]).unwrap();
            let c = read(&p).unwrap();
            assert_eq!(c.blocks.len(), 1, "cut at {cut}");
            assert_eq!(c.valid_len as usize, first_len);
        }
        std::fs::write(&p, &whole).unwrap();
        let c = read(&p).unwrap();
        assert_eq!(c.blocks.keys().copied().collect::<Vec<_>>(), [1, 3]);
        assert_eq!(c.torn_bytes, 0);
        // A corrupted row breaks its checksum.
        let mut bad = whole.clone();
        bad[2] = b'9';
        std::fs::write(&p, &bad).unwrap();
        assert_eq!(read(&p).unwrap().blocks.len(), 0);
    }
}
