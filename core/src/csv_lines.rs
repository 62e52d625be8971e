//! Line numbers of a CSV file's records. The csv crate counts only `\n`, so its own line
//! numbers are wrong for CR and (after the header) CRLF files; a second reader of the same
//! bytes follows the CSV reader's record offsets and counts every kind of line break.

use std::io::{BufRead, BufReader, Read};

/// Counts line breaks up to the byte offsets it is asked about (offsets only grow).
pub struct LineCounter<R: Read> {
    bytes: BufReader<R>,
    offset: u64,
    line: u64,
    after_cr: bool,
}

impl<R: Read> LineCounter<R> {
    /// A counter over a second reader of the CSV's bytes, from their start.
    pub fn new(reader: R) -> Self {
        LineCounter {
            bytes: BufReader::new(reader),
            offset: 0,
            line: 1,
            after_cr: false,
        }
    }

    /// `line N: ` for a CSV reader's error that knows where it happened, else nothing: the
    /// prefix of a malformed-file message.
    pub fn error_prefix(&mut self, error: &csv::Error) -> String {
        error
            .position()
            .and_then(|p| self.line_at(p.byte()).ok())
            .map(|line| format!("line {line}: "))
            .unwrap_or_default()
    }

    /// The line a record that starts at byte `start` begins on (`start` only grows).
    pub fn line_at(&mut self, start: u64) -> std::io::Result<u64> {
        // Up to `start`, then past the terminators in front of the record's first byte.
        loop {
            let chunk = self.bytes.fill_buf()?;
            let Some(&first) = chunk.first() else {
                return Ok(self.line);
            };
            let wanted = start.saturating_sub(self.offset) as usize;
            if wanted == 0 && first != b'\n' && first != b'\r' {
                return Ok(self.line);
            }
            let take = if wanted > 0 {
                wanted.min(chunk.len())
            } else {
                1
            };
            for &byte in &chunk[..take] {
                match byte {
                    b'\n' if self.after_cr => {} // the LF of a CRLF: one line break
                    b'\n' | b'\r' => self.line += 1,
                    _ => {}
                }
                self.after_cr = byte == b'\r';
            }
            self.bytes.consume(take);
            self.offset += take as u64;
        }
    }
}
