//! Server-sent events framing (the WHATWG rules, minus reconnection): fields
//! per line, events dispatched at a blank line.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SseEvent {
    /// The `event:` name; empty for the default (`message`).
    pub(super) name: String,
    /// The `data:` lines joined with `\n`.
    pub(super) data: String,
}

/// Assembles events from lines.
#[derive(Debug, Default)]
pub(super) struct SseParser {
    name: String,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// Takes one line; returns the event a blank line completes.
    pub(super) fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.name = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {} // `id`, `retry`: no reconnection here; unknown: ignored by the spec
        }
        None
    }

    /// At the end of the body: the event still being assembled, if it has data.
    /// (The spec drops it; a server that omits the last blank line still meant it.)
    pub(super) fn finish(&mut self) -> Option<SseEvent> {
        self.dispatch()
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let name = std::mem::take(&mut self.name);
        if !std::mem::take(&mut self.has_data) {
            return None; // an event without data is not dispatched
        }
        Some(SseEvent {
            name,
            data: std::mem::take(&mut self.data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out: Vec<_> = lines.iter().filter_map(|l| p.line(l)).collect();
        out.extend(p.finish());
        out
    }

    fn ev(name: &str, data: &str) -> SseEvent {
        SseEvent {
            name: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn fields_comments_and_multi_line_data() {
        assert_eq!(
            events(&[
                ": keep-alive",
                "id: 7",
                "retry: 100",
                "data: {\"text\":",
                "data:\"Hi\"}",
                "",
                "event: done",
                "data",
                "",
                "",
                "event: lonely",
                "",
                "data:  two spaces",
            ]),
            [
                ev("", "{\"text\":\n\"Hi\"}"),
                ev("done", ""),
                ev("", " two spaces")
            ]
        );
    }
}
