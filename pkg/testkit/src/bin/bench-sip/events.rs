//! The gateway's events file read as it grows: which calls were answered
//! and ended, and how many caller turns got their spoken reply.

use serde_json::Value;
use std::{
    collections::HashMap,
    io::{Read, Seek, SeekFrom},
    path::PathBuf,
};

/// One call as its events tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallSeen {
    pub(crate) answered: bool,
    pub(crate) ended: bool,
    /// `time` of each transcript (`true`) and spoken reply (`false`). The
    /// file's order is not the events' order: a turn's `stt.transcribed` was
    /// seen written after its `agent.responded` and `tts.generated`.
    speech: Vec<(String, bool)>,
}

impl CallSeen {
    /// Turns completed: a transcript followed (in event time) by the reply
    /// spoken (`tts.generated`). The greeting, spoken before any transcript,
    /// is not one.
    pub(crate) fn turns(&self) -> u32 {
        let mut marks = self.speech.clone();
        marks.sort();
        let (mut heard, mut turns) = (false, 0);
        for (_, transcript) in marks {
            if transcript {
                heard = true;
            } else if heard {
                (heard, turns) = (false, turns + 1);
            }
        }
        turns
    }
}

/// Reads new lines of the events file and keeps per-call state.
pub(crate) struct Events {
    path: PathBuf,
    offset: u64,
    partial: String,
    pub(crate) calls: HashMap<String, CallSeen>,
}

impl Events {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            partial: String::new(),
            calls: HashMap::new(),
        }
    }

    /// Takes in what was appended since the last call.
    pub(crate) fn poll(&mut self) -> std::io::Result<()> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(()); // Not written yet.
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut text = String::new();
        self.offset += f.read_to_string(&mut text)? as u64;
        self.partial.push_str(&text);
        // A line is complete once its newline is written.
        let complete = self.partial.rfind('\n').map_or(0, |i| i + 1);
        let lines: String = self.partial.drain(..complete).collect();
        for line in lines.lines() {
            self.take(line);
        }
        Ok(())
    }

    fn take(&mut self, line: &str) {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let (Some(kind), Some(call)) = (e["type"].as_str(), e["subject"].as_str()) else {
            return;
        };
        let c = self.calls.entry(call.to_owned()).or_default();
        // RFC 3339 UTC with a fixed number of digits: text order is time order.
        let time = || e["time"].as_str().unwrap_or_default().to_owned();
        match kind {
            "call.answered" => c.answered = true,
            "call.ended" => c.ended = true,
            "stt.transcribed" => c.speech.push((time(), true)),
            "tts.generated" => c.speech.push((time(), false)),
            _ => {}
        }
    }

    pub(crate) fn answered(&self) -> u64 {
        self.calls.values().filter(|c| c.answered).count() as u64
    }

    pub(crate) fn ended(&self) -> u64 {
        self.calls.values().filter(|c| c.ended).count() as u64
    }

    pub(crate) fn turns(&self) -> u64 {
        self.calls.values().map(|c| u64::from(c.turns())).sum()
    }

    /// Answered calls that completed fewer than `turns` turns.
    pub(crate) fn short_calls(&self, turns: u32) -> u64 {
        self.calls
            .values()
            .filter(|c| c.answered && c.turns() < turns)
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(kind: &str, call: &str, at: u32) -> String {
        format!(
            "{{\"type\":\"{kind}\",\"subject\":\"{call}\",\"time\":\"2026-12-06T17:31:{at:02}.000Z\",\"data\":{{}}}}\n"
        )
    }

    #[test]
    fn turns_are_transcripts_answered_and_lines_may_arrive_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        let mut ev = Events::new(path);
        ev.poll().unwrap();
        let mut text = String::new();
        for (k, c, at) in [
            ("call.answered", "a", 0),
            ("tts.generated", "a", 5), // the greeting
            ("stt.transcribed", "a", 8),
            ("tts.generated", "a", 10),
            ("tts.generated", "a", 16), // written before its transcript
            ("stt.transcribed", "a", 14),
            ("stt.transcribed", "a", 20), // no reply yet
            ("call.answered", "b", 1),
            ("call.ended", "a", 21),
        ] {
            text.push_str(&line(k, c, at));
        }
        let cut = text.len() - 10;
        f.write_all(&text.as_bytes()[..cut]).unwrap();
        ev.poll().unwrap();
        assert_eq!(ev.ended(), 0, "half a line is not read");
        f.write_all(&text.as_bytes()[cut..]).unwrap();
        ev.poll().unwrap();
        assert_eq!((ev.answered(), ev.ended(), ev.turns()), (2, 1, 2));
        assert_eq!(ev.short_calls(2), 1);
    }
}
