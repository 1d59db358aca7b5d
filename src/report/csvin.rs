//! Reading back the CSV files infersim writes (by `plot`, `merge` and `check`), so that a file
//! cut short is an error naming its line, never a figure or a verdict drawn from part of it.
//!
//! Every CSV infersim writes ends with a newline; a file that does not was cut in the middle of
//! its last line (a copy that stopped, a disk that filled). Errors from the CSV parser are put
//! in words: the line, and what was wrong with it.

/// A reader over `bytes` with a header row, after checking that the file is whole.
pub fn reader(bytes: &[u8]) -> Result<csv::Reader<&[u8]>, String> {
    whole(bytes)?;
    Ok(csv::ReaderBuilder::new().from_reader(bytes))
}

/// Checks that `bytes` hold at least a header line and end with a newline.
pub fn whole(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty (a header line was expected)".into());
    }
    if !bytes.ends_with(b"\n") {
        let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(format!(
            "line {line} ends without a newline: the file is cut short (infersim ends every CSV \
             with a newline; write it again with the command that made it, or end the line if \
             you edited the file by hand)"
        ));
    }
    Ok(())
}

/// A parser error in words: the line and what was wrong.
pub fn describe(e: &csv::Error) -> String {
    let at =
        |p: Option<&csv::Position>| p.map_or(String::new(), |p| format!("line {}: ", p.line()));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "{}{len} field{} where the header has {expected_len} (the file is cut short or was edited)",
            at(pos.as_ref()),
            if *len == 1 { "" } else { "s" }
        ),
        csv::ErrorKind::Utf8 { pos, .. } => {
            format!("{}the text is not UTF-8", at(pos.as_ref()))
        }
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_final_newline_is_cut_short_at_its_last_line() {
        let e = whole(b"a,b\n1,2\n3,").unwrap_err();
        assert!(e.starts_with("line 3 ends without a newline"), "{e}");
        assert!(whole(b"").unwrap_err().contains("empty"));
        assert!(whole(b"a,b\n1,2\n").is_ok());
    }

    #[test]
    fn a_short_row_names_its_line_and_field_counts() {
        let mut rd = reader(b"a,b,c\n1,2,3\n4,5\n").unwrap();
        let e = rd.records().find_map(Result::err).expect("a short row");
        assert_eq!(
            describe(&e),
            "line 3: 2 fields where the header has 3 (the file is cut short or was edited)"
        );
    }
}
