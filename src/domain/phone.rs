//! Phone numbers: E.164 for anything that reaches a dial string, DIDs as dialled,
//! and a wrapper that keeps numbers out of logs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not an acceptable number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Does not start with `+`.
    #[error(
        "{0:?} is not in E.164 form: it must start with + and the country code, e.g. +15551234567"
    )]
    NoPlus(String),
    /// Wrong number of digits.
    #[error("{input:?} has {digits} digits; E.164 numbers have 2 to 15 after the +")]
    Length {
        /// The input.
        input: String,
        /// Its digit count.
        digits: usize,
    },
    /// Country code starting with 0.
    #[error("{0:?} starts with 0 after the +; country codes start with 1-9")]
    LeadingZero(String),
    /// A character that is not a digit (the dial-string injection case).
    #[error("{input:?} contains {found:?}; only digits may follow the +")]
    BadChar {
        /// The input.
        input: String,
        /// The first offending character.
        found: char,
    },
    /// A DID that is neither E.164 nor a plain extension.
    #[error("{0:?} is not a DID: expected E.164 (+15551234567) or 1-20 digits")]
    BadDid(String),
}

/// A number in E.164 form: `+`, a country code not starting with 0, 2 to 15
/// digits in all. Nothing else can be held, so placing one into an ARI endpoint
/// template cannot inject a channel technology, a second destination or a
/// variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct E164(String);

impl E164 {
    /// Validates strictly: no spaces, dashes or brackets are stripped, so what
    /// an API client sent is exactly what would be dialled.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        let digits = s
            .strip_prefix('+')
            .ok_or_else(|| PhoneError::NoPlus(s.to_owned()))?;
        if let Some(found) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::BadChar {
                input: s.to_owned(),
                found,
            });
        }
        if !(2..=15).contains(&digits.len()) {
            return Err(PhoneError::Length {
                input: s.to_owned(),
                digits: digits.len(),
            });
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The number, `+` included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe for logs.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(&self.0)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The number a caller dialled, as Asterisk passes it to `Stasis()`: E.164 when
/// the trunk delivers it so, or a plain extension (digits) from internal phones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Did(String);

impl Did {
    /// Accepts E.164 or 1-20 digits.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        if s.starts_with('+') {
            return E164::parse(s).map(|e| Self(e.0));
        }
        if (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self(s.to_owned()));
        }
        Err(PhoneError::BadDid(s.to_owned()))
    }

    /// The DID as dialled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A form safe for logs.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(&self.0)
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Prints a number with all but its last 4 digits masked (`+1******4567`), so
/// logs can still tell calls apart without holding the number. Debugging
/// switches to the full number at the call site, not here.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(&'a str);

impl<'a> Redacted<'a> {
    /// Any number-like text (a caller id as Asterisk reported it), masked the same way.
    pub fn of(text: &'a str) -> Self {
        Self(text)
    }
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let (prefix, rest) = match s.strip_prefix('+') {
            Some(r) => ("+", r),
            None => ("", s),
        };
        let keep_head = if prefix.is_empty() {
            0
        } else {
            1.min(rest.len())
        };
        let keep_tail = 4.min(rest.len().saturating_sub(keep_head));
        let masked = rest.len() - keep_head - keep_tail;
        write!(
            f,
            "{prefix}{}{}{}",
            &rest[..keep_head],
            "*".repeat(masked),
            &rest[rest.len() - keep_tail..]
        )
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_accepts_only_plus_and_digits() {
        assert_eq!(
            E164::parse("+15551234567").unwrap().as_str(),
            "+15551234567"
        );
        E164::parse("+44").unwrap();
        for (bad, want) in [
            ("15551234567", "must start with +"),
            ("+1 555 123", "contains ' '"),
            ("+1555&Dial(PJSIP/x)", "contains '&'"),
            ("+1555@trunk", "contains '@'"),
            ("+1555,1", "contains ','"),
            ("+1555\n", "contains '\\n'"),
            ("+0123456", "starts with 0"),
            ("+1", "has 1 digits"),
            ("+1234567890123456", "has 16 digits"),
            ("", "must start with +"),
            ("+١٢٣٤", "contains"),
        ] {
            let e = E164::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
    }

    #[test]
    fn did_is_e164_or_an_extension() {
        assert_eq!(Did::parse("+15551234567").unwrap().as_str(), "+15551234567");
        assert_eq!(Did::parse("100").unwrap().as_str(), "100");
        assert!(Did::parse("s").is_err());
        assert!(Did::parse("100;evil").is_err());
        assert!(Did::parse("+1555x").is_err());
        assert!(serde_json::from_str::<Did>("\"1#\"").is_err());
    }

    #[test]
    fn redaction_keeps_only_the_last_four() {
        assert_eq!(
            E164::parse("+15551234567").unwrap().redacted().to_string(),
            "+1******4567"
        );
        assert_eq!(Did::parse("100").unwrap().redacted().to_string(), "100");
        assert_eq!(
            Did::parse("123456").unwrap().redacted().to_string(),
            "**3456"
        );
        assert_eq!(E164::parse("+44").unwrap().redacted().to_string(), "+44");
    }
}
