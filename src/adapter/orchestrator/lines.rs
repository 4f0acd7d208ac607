//! Splits a byte stream into bounded UTF-8 lines, whatever the chunking.

use crate::application::ports::orchestrator::OrchestratorError;

/// Accumulates bytes and hands out complete lines. A line ends at `\n`,
/// `\r\n` or a lone `\r` (the SSE rule; NDJSON only uses the first two).
#[derive(Debug)]
pub(super) struct LineBuffer {
    partial: Vec<u8>,
    max_line: usize,
    /// The last chunk ended in `\r`: a `\n` starting the next one belongs to it.
    skip_lf: bool,
}

impl LineBuffer {
    pub(super) fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_line,
            skip_lf: false,
        }
    }

    /// Feeds bytes, calling `on_line` for each completed line (without its end).
    pub(super) fn feed(
        &mut self,
        mut bytes: &[u8],
        on_line: &mut impl FnMut(&str) -> Result<(), OrchestratorError>,
    ) -> Result<(), OrchestratorError> {
        if self.skip_lf && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.skip_lf = false;
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend(&bytes[..end])?;
            let crlf = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if crlf {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.skip_lf = true,
                    Some(_) => {}
                }
            }
            self.emit(on_line)?;
        }
        self.extend(bytes)
    }

    /// At the end of the body: the last line, if it had no line end.
    pub(super) fn finish(
        &mut self,
        on_line: &mut impl FnMut(&str) -> Result<(), OrchestratorError>,
    ) -> Result<(), OrchestratorError> {
        if self.partial.is_empty() {
            return Ok(());
        }
        self.emit(on_line)
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), OrchestratorError> {
        if self.partial.len() + bytes.len() > self.max_line {
            return Err(OrchestratorError::TooLarge {
                limit: self.max_line,
                what: "one line",
            });
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    fn emit(
        &mut self,
        on_line: &mut impl FnMut(&str) -> Result<(), OrchestratorError>,
    ) -> Result<(), OrchestratorError> {
        let line = std::str::from_utf8(&self.partial)
            .map_err(|e| OrchestratorError::Malformed(format!("a line is not UTF-8: {e}")))?;
        let r = on_line(line);
        self.partial.clear();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> Result<Vec<String>, OrchestratorError> {
        let mut buf = LineBuffer::new(max);
        let mut out = Vec::new();
        let mut push = |l: &str| {
            out.push(l.to_owned());
            Ok(())
        };
        for c in chunks {
            buf.feed(c, &mut push)?;
        }
        buf.finish(&mut push)?;
        Ok(out)
    }

    #[test]
    fn every_line_end_and_any_chunking() {
        let want = ["a", "b", "", "c", "d", "é"];
        assert_eq!(lines(&[b"a\nb\r\n\rc\rd\n\xc3\xa9"], 64).unwrap(), want);
        // CRLF split across chunks is one line end, not two.
        assert_eq!(
            lines(&[b"a\nb\r", b"\n", b"\rc", b"\r", b"d\n\xc3", b"\xa9"], 64).unwrap(),
            want
        );
    }

    #[test]
    fn bounds_a_line_and_refuses_bad_utf8() {
        assert!(matches!(
            lines(&[b"12345", b"6\n"], 5),
            Err(OrchestratorError::TooLarge { limit: 5, .. })
        ));
        assert_eq!(lines(&[b"12345\n12345"], 5).unwrap(), ["12345", "12345"]);
        assert!(matches!(
            lines(&[b"\xff\n"], 5),
            Err(OrchestratorError::Malformed(_))
        ));
    }
}
