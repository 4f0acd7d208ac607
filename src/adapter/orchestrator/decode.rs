//! Turns a reply body, chunk by chunk, into reply parts: sans-IO, so the
//! framing rules are tested without a server.

use std::collections::VecDeque;

use super::lines::LineBuffer;
use super::sse::{SseEvent, SseParser};
use super::wire::{Delta, error_message, parse_delta};
use crate::application::ports::orchestrator::{OrchestratorError, ReplyPart};

/// The three reply encodings, chosen by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `application/json`: one object for the whole reply.
    Json,
    /// `text/event-stream`.
    Sse,
    /// `application/x-ndjson` (or `application/jsonl`): one object per line.
    Ndjson,
}

impl Format {
    /// The format a `Content-Type` header names.
    pub(super) fn from_content_type(ct: Option<&str>) -> Result<Self, OrchestratorError> {
        let essence = ct
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/json") => Ok(Self::Json),
            Some("text/event-stream") => Ok(Self::Sse),
            Some("application/x-ndjson" | "application/ndjson" | "application/jsonl") => {
                Ok(Self::Ndjson)
            }
            other => Err(OrchestratorError::Malformed(format!(
                "unsupported content type {other:?}"
            ))),
        }
    }
}

/// Size bounds, all derived from the bound on the reply text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Total text of the reply.
    pub(super) text: usize,
    /// One SSE or NDJSON line (JSON escaping can double the text).
    pub(super) line: usize,
    /// Raw body bytes, framing and keep-alives included.
    pub(super) body: usize,
}

impl Limits {
    pub(super) fn for_text(text: usize) -> Self {
        Self {
            text,
            line: 2 * text + 1024,
            body: 16 * text + 64 * 1024,
        }
    }
}

/// Decodes one reply body.
#[derive(Debug)]
pub(super) struct ReplyDecoder {
    format: Format,
    body_limit: usize,
    body_bytes: usize,
    lines: LineBuffer,
    json_body: Vec<u8>,
    asm: Assembler,
}

/// Everything past line framing: events, objects, bounds, the part queue.
/// Apart from [`LineBuffer`] so a line callback can borrow it alone.
#[derive(Debug)]
struct Assembler {
    format: Format,
    sse: SseParser,
    text_limit: usize,
    text_bytes: usize,
    parts: VecDeque<ReplyPart>,
    done: bool,
}

impl ReplyDecoder {
    pub(super) fn new(format: Format, limits: Limits) -> Self {
        Self {
            format,
            body_limit: limits.body,
            body_bytes: 0,
            lines: LineBuffer::new(limits.line),
            json_body: Vec::new(),
            asm: Assembler {
                format,
                sse: SseParser::default(),
                text_limit: limits.text,
                text_bytes: 0,
                parts: VecDeque::new(),
                done: false,
            },
        }
    }

    /// The next decoded part, in order.
    pub(super) fn pop(&mut self) -> Option<ReplyPart> {
        self.asm.parts.pop_front()
    }

    /// Whether the terminator was seen (it is queued, or already popped).
    #[cfg(test)]
    pub(super) fn is_done(&self) -> bool {
        self.asm.done
    }

    /// Takes the next chunk of the body. Bytes after the terminator are ignored.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> Result<(), OrchestratorError> {
        if self.asm.done {
            return Ok(());
        }
        self.body_bytes += chunk.len();
        if self.body_bytes > self.body_limit {
            return Err(OrchestratorError::TooLarge {
                limit: self.body_limit,
                what: "reply body",
            });
        }
        match self.format {
            Format::Json => {
                self.json_body.extend_from_slice(chunk);
                Ok(())
            }
            Format::Sse | Format::Ndjson => self.lines.feed(chunk, &mut |l| self.asm.line(l)),
        }
    }

    /// The body ended. Afterwards, `is_done` false means the reply was cut.
    pub(super) fn finish(&mut self) -> Result<(), OrchestratorError> {
        if self.asm.done {
            return Ok(());
        }
        match self.format {
            Format::Json => {
                let d = parse_delta(&self.json_body)?;
                self.asm.delta(d)?;
                self.asm.push(ReplyPart::Done)
            }
            Format::Sse | Format::Ndjson => {
                self.lines.finish(&mut |l| self.asm.line(l))?;
                match self.asm.sse.finish() {
                    Some(ev) if self.format == Format::Sse => self.asm.event(ev),
                    _ => Ok(()),
                }
            }
        }
    }
}

impl Assembler {
    fn line(&mut self, line: &str) -> Result<(), OrchestratorError> {
        if self.done {
            return Ok(());
        }
        match self.format {
            Format::Sse => match self.sse.line(line) {
                Some(ev) => self.event(ev),
                None => Ok(()),
            },
            _ if line.trim().is_empty() => Ok(()),
            _ => self.delta(parse_delta(line.as_bytes())?),
        }
    }

    fn event(&mut self, ev: SseEvent) -> Result<(), OrchestratorError> {
        if self.done {
            return Ok(());
        }
        match ev.name.as_str() {
            "done" => self.push(ReplyPart::Done),
            "error" => Err(OrchestratorError::Agent(
                match serde_json::from_str::<serde_json::Value>(&ev.data) {
                    Ok(v) => error_message(&v),
                    Err(_) => ev.data,
                },
            )),
            "" | "message" | "delta" | "text" | "action" => {
                if ev.data.trim() == "[DONE]" {
                    self.push(ReplyPart::Done)
                } else {
                    self.delta(parse_delta(ev.data.as_bytes())?)
                }
            }
            _ => Ok(()), // `ping` and names we do not know: not ours to act on
        }
    }

    fn delta(&mut self, d: Delta) -> Result<(), OrchestratorError> {
        d.into_parts(|p| self.push(p))
    }

    fn push(&mut self, part: ReplyPart) -> Result<(), OrchestratorError> {
        if self.done {
            return Ok(()); // `{"done":true}` then `[DONE]`: one terminator
        }
        match &part {
            ReplyPart::Text(t) => {
                self.text_bytes += t.len();
                if self.text_bytes > self.text_limit {
                    return Err(OrchestratorError::TooLarge {
                        limit: self.text_limit,
                        what: "reply text",
                    });
                }
            }
            ReplyPart::Done => self.done = true,
            ReplyPart::Action(_) => {}
        }
        self.parts.push_back(part);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
