//! Where a call can be handed over to.

use super::phone::{E164, PhoneError};
use serde::{Serialize, Serializer};
use std::fmt;

/// How a transfer is done (events name it `blind` or `attended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    /// Hand the caller over at once.
    Blind,
    /// Reach the person first, then connect.
    Attended,
}

/// The most characters a transfer target may have.
const MAX_TARGET: usize = 128;
/// The most digits of a dialplan extension.
const MAX_EXTENSION: usize = 20;

/// Why a string is not a transfer target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferTargetError {
    /// Nothing given.
    #[error("transfer target is empty")]
    Empty,
    /// Longer than [`MAX_TARGET`].
    #[error("transfer target is {len} characters long; at most {MAX_TARGET} are allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A character no target form has (the dial-string injection case).
    #[error(
        "transfer target {input:?} contains {found:?}; a target is an E.164 number \
         (+15551234567), an extension of digits or a name of A-Z a-z 0-9 - _ . +"
    )]
    BadChar {
        /// The input, cut to 64 characters.
        input: String,
        /// The first offending character.
        found: char,
    },
}

/// A transfer target, parsed once where the text enters the gateway (the API
/// body, the orchestrator's action, the built-in agent's configuration). No
/// form holds `/`, `,`, `&`, `@` or spaces, so none can become a second
/// destination, a technology or a dial option.
///
/// A blind transfer enters the transfer context at the target's text; an
/// attended one dials a [`TransferTarget::Number`] through the outbound
/// endpoint template and looks any other form up among the configured
/// transfer endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransferTarget {
    /// An E.164 number.
    Number(E164),
    /// A dialplan extension: 1 to 20 digits (`100`).
    Extension(Extension),
    /// Any other name (`agents`, `billing`): a dialplan extension for a
    /// blind transfer, a `session.transfer_endpoints` key for an attended one.
    Name(TargetName),
}

/// 1 to 20 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension(String);

/// 1 to 128 of `A-Z a-z 0-9 - _ . +`, neither an E.164 number nor an
/// [`Extension`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetName(String);

impl Extension {
    fn parse(s: &str) -> Option<Self> {
        ((1..=MAX_EXTENSION).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(s.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TargetName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TransferTarget {
    /// Any form: an E.164 number, an extension, or a name. What an agent
    /// (the orchestrator's `transfer` action, the built-in agent's
    /// `orchestrator.transfer_target`) may name.
    pub fn parse(s: &str) -> Result<Self, TransferTargetError> {
        if s.is_empty() {
            return Err(TransferTargetError::Empty);
        }
        if s.len() > MAX_TARGET {
            return Err(TransferTargetError::TooLong { len: s.len() });
        }
        if let Some(found) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')))
        {
            return Err(TransferTargetError::BadChar {
                input: s.chars().take(64).collect(),
                found,
            });
        }
        if let Ok(n) = E164::parse(s) {
            return Ok(Self::Number(n));
        }
        Ok(match Extension::parse(s) {
            Some(e) => Self::Extension(e),
            None => Self::Name(TargetName(s.to_owned())),
        })
    }

    /// A number or an extension only, as the HTTP API takes them: E.164
    /// (`+15551234567`) or 1 to 20 digits. The errors are the DID's.
    pub fn parse_number_or_extension(s: &str) -> Result<Self, PhoneError> {
        if s.starts_with('+') {
            return E164::parse(s).map(Self::Number);
        }
        Extension::parse(s)
            .map(Self::Extension)
            .ok_or_else(|| PhoneError::BadDid(s.to_owned()))
    }

    /// The target as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Number(n) => n.as_str(),
            Self::Extension(e) => e.as_str(),
            Self::Name(n) => n.as_str(),
        }
    }

    /// The number, when the target is one.
    pub fn number(&self) -> Option<&E164> {
        match self {
            Self::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for TransferTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TransferTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_its_variant() {
        assert!(matches!(
            TransferTarget::parse("+15551234567"),
            Ok(TransferTarget::Number(n)) if n.as_str() == "+15551234567"
        ));
        assert!(matches!(
            TransferTarget::parse("100"),
            Ok(TransferTarget::Extension(e)) if e.as_str() == "100"
        ));
        for name in [
            "agents",
            "billing.v2",
            "sales-1_a",
            "+0123",
            "1+2",
            "1".repeat(21).as_str(),
        ] {
            let t = TransferTarget::parse(name).unwrap();
            assert!(matches!(t, TransferTarget::Name(_)), "{name}: {t:?}");
            assert_eq!(t.as_str(), name);
        }
        assert_eq!(
            serde_json::to_string(&TransferTarget::parse("agents").unwrap()).unwrap(),
            "\"agents\""
        );
    }

    #[test]
    fn dial_string_syntax_is_refused_with_what_was_wrong() {
        for (bad, want) in [
            ("PJSIP/x,1", "contains '/'"),
            ("agents&PJSIP/x", "contains '&'"),
            ("a b", "contains ' '"),
            ("100@ctx", "contains '@'"),
            ("", "transfer target is empty"),
        ] {
            let e = TransferTarget::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
        let e = TransferTarget::parse(&"x".repeat(129)).unwrap_err();
        assert_eq!(e, TransferTargetError::TooLong { len: 129 });
        assert_eq!(
            e.to_string(),
            "transfer target is 129 characters long; at most 128 are allowed"
        );
        TransferTarget::parse(&"x".repeat(128)).unwrap();
        let long = format!("{}/", "x".repeat(100));
        match TransferTarget::parse(&long) {
            Err(TransferTargetError::BadChar { input, found: '/' }) => {
                assert_eq!(input.len(), 64)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_api_takes_numbers_and_extensions_only() {
        assert!(matches!(
            TransferTarget::parse_number_or_extension("+15551234567"),
            Ok(TransferTarget::Number(_))
        ));
        assert!(matches!(
            TransferTarget::parse_number_or_extension("100"),
            Ok(TransferTarget::Extension(_))
        ));
        for (bad, want) in [
            (
                "agents",
                "is not a DID: expected E.164 (+15551234567) or 1-20 digits",
            ),
            ("PJSIP/agent", "is not a DID"),
            ("+1555x", "contains 'x'"),
            (&"1".repeat(21), "is not a DID"),
            ("", "is not a DID"),
        ] {
            let e = TransferTarget::parse_number_or_extension(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
    }
}
