//! Opening trace files with bounds on what one line and one whole file may take in memory.
//!
//! A reader buffers a line until its end, so a file that is one endless line (a binary file
//! given by mistake, a trace whose line breaks were lost, a device) would grow that buffer
//! until memory runs out. [`TraceFile`] fails a read once a line passes
//! [`MAX_LINE_BYTES`]: the reader's error then names the file and the line. Files parsed whole
//! (the MoE routing traces) are also refused above [`MAX_WHOLE_FILE_BYTES`].

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The longest line a trace may hold: 1 MiB (the longest line of the bundled and recorded
/// traces is under 3 KB).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The largest trace read whole into memory: 1 GiB.
pub const MAX_WHOLE_FILE_BYTES: u64 = 1 << 30;

/// A reader that fails once a line passes [`MAX_LINE_BYTES`].
#[derive(Debug)]
pub struct LineCapped<R> {
    inner: R,
    /// Bytes since the last line break.
    run: usize,
}

/// A trace file opened for reading, with its lines capped.
pub type TraceFile = LineCapped<File>;

impl TraceFile {
    /// Opens the file at `path`.
    pub fn open(path: &Path) -> io::Result<TraceFile> {
        File::open(path).map(LineCapped::new)
    }
}

impl<R> LineCapped<R> {
    /// Caps the lines of `inner`.
    pub fn new(inner: R) -> Self {
        LineCapped { inner, run: 0 }
    }
}

fn too_long() -> io::Error {
    io::Error::other(format!(
        "the line is longer than {} MiB, the most a trace line may hold (is this a text trace \
         of this format, with a line break after each record?)",
        MAX_LINE_BYTES >> 20
    ))
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.run > MAX_LINE_BYTES {
            return Err(too_long());
        }
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        match (
            got.iter().position(|&b| b == b'\n'),
            got.iter().rposition(|&b| b == b'\n'),
        ) {
            (Some(first), Some(last)) if self.run + first <= MAX_LINE_BYTES => {
                self.run = n - 1 - last;
            }
            (Some(first), _) => self.run += first + 1,
            _ => self.run += n,
        }
        if self.run > MAX_LINE_BYTES {
            return Err(too_long());
        }
        Ok(n)
    }
}

/// Reads the UTF-8 text file at `path` whole, within [`MAX_WHOLE_FILE_BYTES`] and
/// [`MAX_LINE_BYTES`] a line; the error says what was wrong, in words (the caller names the
/// file).
pub fn read_whole(path: &Path) -> Result<String, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    if len > MAX_WHOLE_FILE_BYTES {
        return Err(format!(
            "the file holds {len} bytes; at most {} GiB is read into memory (split the trace, or keep a part of it)",
            MAX_WHOLE_FILE_BYTES >> 30
        ));
    }
    let mut text = String::new();
    TraceFile::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => {
                "the file is not UTF-8 text (a trace must be a text file in UTF-8 or ASCII)".into()
            }
            _ => format!("cannot read the file: {e}"),
        })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn lines_up_to_the_cap_read_and_a_longer_one_fails_at_its_line() {
        let ok = "a".repeat(MAX_LINE_BYTES);
        let text = format!("x\n{ok}\ny\n{ok}b\nz\n");
        let lines: Vec<io::Result<String>> = BufReader::new(LineCapped::new(text.as_bytes()))
            .lines()
            .take(4)
            .collect();
        assert_eq!(lines[0].as_deref().unwrap(), "x");
        assert_eq!(lines[1].as_ref().unwrap().len(), MAX_LINE_BYTES);
        assert_eq!(lines[2].as_deref().unwrap(), "y");
        let e = lines[3].as_ref().unwrap_err();
        assert!(e.to_string().contains("longer than 1 MiB"), "{e}");
    }

    #[test]
    fn an_endless_line_fails_without_reading_it_all() {
        // 64 MiB of zeros with no line break: the read fails after about 1 MiB.
        let endless = io::repeat(0).take(64 << 20);
        let mut r = LineCapped::new(endless);
        let mut sink = Vec::new();
        assert!(r.read_to_end(&mut sink).is_err());
        assert!(sink.len() <= MAX_LINE_BYTES + 64 * 1024, "{}", sink.len());
    }
}
