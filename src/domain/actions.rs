//! What an API client may ask a live call to send or say.

use serde::Serialize;
use std::fmt;

const MAX_DTMF: usize = 32;
const MAX_SAY_CHARS: usize = 2000;

/// Why a string is not DTMF digits to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("digits must be 1 to {MAX_DTMF} of 0-9 * # A-D")]
pub struct DtmfError;

/// DTMF digits to send to the far end: 1 to 32 of `0-9 * # A-D`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DtmfDigits(String);

impl DtmfDigits {
    /// Validates and wraps.
    pub fn parse(s: &str) -> Result<Self, DtmfError> {
        let ok = |c: char| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D');
        if s.is_empty() || s.len() > MAX_DTMF || !s.chars().all(ok) {
            return Err(DtmfError);
        }
        Ok(Self(s.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DtmfDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not text to speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text has {chars} characters; it must be 1 to {MAX_SAY_CHARS} and not blank")]
pub struct SayTextError {
    /// Its length in characters.
    pub chars: usize,
}

/// Text to speak on a call: 1 to 2000 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SayText(String);

impl SayText {
    /// Validates and wraps.
    pub fn parse(s: impl Into<String>) -> Result<Self, SayTextError> {
        let s = s.into();
        let chars = s.chars().count();
        if s.trim().is_empty() || chars > MAX_SAY_CHARS {
            return Err(SayTextError { chars });
        }
        Ok(Self(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for SayText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_is_1_to_32_keypad_digits() {
        for ok in ["1", "0123456789*#ABCD", &"9".repeat(32)] {
            assert_eq!(DtmfDigits::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "12E", "1,2", "a", "1 2", &"1".repeat(33), "١"] {
            assert_eq!(DtmfDigits::parse(bad), Err(DtmfError), "{bad:?}");
        }
        assert_eq!(
            DtmfError.to_string(),
            "digits must be 1 to 32 of 0-9 * # A-D"
        );
    }

    #[test]
    fn say_text_is_1_to_2000_characters_not_blank() {
        assert_eq!(SayText::parse("hi").unwrap().as_str(), "hi");
        SayText::parse("é".repeat(2000)).unwrap();
        assert_eq!(SayText::parse(" \n\t"), Err(SayTextError { chars: 3 }));
        let e = SayText::parse("x".repeat(2001)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "text has 2001 characters; it must be 1 to 2000 and not blank"
        );
        assert_eq!(SayText::parse("").unwrap_err().chars, 0);
    }
}
