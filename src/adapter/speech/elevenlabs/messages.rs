//! Sans-IO part of the stream-input protocol: what the server says, and which
//! text piece each audio chunk speaks.

use std::collections::VecDeque;

use base64::Engine as _;
use serde_json::Value;

/// One server message, reduced to what the adapter needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    /// Decoded audio, if the message carried some.
    pub(super) audio: Vec<u8>,
    /// Non-blank characters the audio speaks (from `alignment`), if told.
    pub(super) chars: Option<usize>,
    /// `isFinal: true`: all text up to the end-of-stream message is spoken.
    pub(super) is_final: bool,
}

/// Parses a text message; `Err(Ok(..))` is the provider's error message,
/// `Err(Err(..))` a message that breaks the protocol.
pub(super) fn parse(text: &str) -> Result<Reply, Result<String, String>> {
    let v: Value = serde_json::from_str(text).map_err(|e| Err(format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(Err("not a JSON object".into()));
    }
    if let Some(said) = v.get("error").or(v.get("message")).filter(|e| !e.is_null()) {
        let said = said
            .as_str()
            .map_or_else(|| said.to_string(), str::to_owned);
        return Err(Ok(said));
    }
    let audio = match v.get("audio").and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Err(format!("audio is not base64: {e}")))?,
        None => Vec::new(),
    };
    let chars = v["alignment"]["chars"].as_array().map(|chars| {
        chars
            .iter()
            .filter_map(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .count()
    });
    let is_final = v["isFinal"].as_bool().unwrap_or(false);
    Ok(Reply {
        audio,
        chars,
        is_final,
    })
}

/// Which piece the audio belongs to, by counting aligned characters against
/// the text of each piece sent.
#[derive(Debug, Default)]
pub(super) struct Pieces {
    /// Pieces sent, oldest first, with their non-blank characters not yet heard.
    pending: VecDeque<(u32, usize)>,
    last: u32,
}

impl Pieces {
    pub(super) fn sent(&mut self, piece: u32, text: &str) {
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        self.pending.push_back((piece, chars));
        self.last = piece;
    }

    /// Whether text was sent that no audio has covered yet.
    pub(super) fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The piece audio speaking `chars` characters belongs to (the one its
    /// first character is in); without alignment, the oldest pending.
    pub(super) fn heard(&mut self, chars: Option<usize>) -> u32 {
        let piece = self.pending.front().map_or(self.last, |(p, _)| *p);
        let mut left = chars.unwrap_or(0);
        while let Some((_, remaining)) = self.pending.front_mut() {
            if left < *remaining {
                *remaining -= left;
                break;
            }
            left -= *remaining;
            self.pending.pop_front();
        }
        piece
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_attributed_by_aligned_characters() {
        let mut pieces = Pieces::default();
        pieces.sent(0, "Hi there.");
        pieces.sent(1, "Bye.");
        assert_eq!(pieces.heard(Some(3)), 0);
        assert_eq!(pieces.heard(Some(5)), 0);
        assert_eq!(pieces.heard(Some(4)), 1);
        assert!(!pieces.waiting());
        assert_eq!(pieces.heard(None), 1);
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        assert_eq!(
            parse(r#"{"message":"quota exceeded"}"#),
            Err(Ok("quota exceeded".into()))
        );
        assert!(matches!(parse("[1]"), Err(Err(_))));
        assert!(matches!(parse(r#"{"audio":"%%%"}"#), Err(Err(_))));
        let final_only = parse(r#"{"isFinal":true}"#).unwrap();
        assert!(final_only.is_final && final_only.audio.is_empty());
    }
}
