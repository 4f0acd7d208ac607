//! The dial string outbound calls and attended transfers to a number use.

use super::phone::E164;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

const PLACEHOLDER: &str = "{number}";

/// Why a string is not an endpoint template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointTemplateError {
    /// `{number}` missing or repeated.
    #[error("{input:?} holds {count} {{number}}; it must hold exactly one")]
    Placeholders {
        /// The template.
        input: String,
        /// How many `{number}` it holds.
        count: usize,
    },
    /// Not `TECH/...`.
    #[error("{0:?} does not start with a channel technology and / (e.g. PJSIP/{{number}}@trunk)")]
    NoTechnology(String),
    /// A dial-string character (`&`, `,`, `(`, …) outside `{number}`.
    #[error(
        "{input:?} contains {found:?}; outside {{number}} only A-Z a-z 0-9 / @ . - _ may appear"
    )]
    BadChar {
        /// The template.
        input: String,
        /// The first offending character.
        found: char,
    },
}

/// An ARI endpoint with one `{number}` (`PJSIP/{number}@trunk`), checked at
/// configuration load: a technology, a `/`, and no dial-string syntax, so the
/// only variable part is a validated [`E164`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointTemplate(String);

impl EndpointTemplate {
    /// Validates a template.
    pub fn parse(s: &str) -> Result<Self, EndpointTemplateError> {
        let count = s.matches(PLACEHOLDER).count();
        if count != 1 {
            return Err(EndpointTemplateError::Placeholders {
                input: s.to_owned(),
                count,
            });
        }
        let tech_ok = s.split_once('/').is_some_and(|(tech, _)| {
            !tech.is_empty() && tech.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !tech_ok {
            return Err(EndpointTemplateError::NoTechnology(s.to_owned()));
        }
        if let Some(found) = s
            .replace(PLACEHOLDER, "")
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '@' | '.' | '-' | '_')))
        {
            return Err(EndpointTemplateError::BadChar {
                input: s.to_owned(),
                found,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The endpoint that dials `number`.
    pub fn dial(&self, number: &E164) -> String {
        self.0.replacen(PLACEHOLDER, number.as_str(), 1)
    }

    /// The template as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EndpointTemplate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EndpointTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_in_a_validated_number() {
        let n = E164::parse("+15551234567").unwrap();
        for (t, want) in [
            ("PJSIP/{number}@trunk", "PJSIP/+15551234567@trunk"),
            ("Local/{number}@vg-out", "Local/+15551234567@vg-out"),
            ("SIP/trunk/{number}", "SIP/trunk/+15551234567"),
        ] {
            assert_eq!(EndpointTemplate::parse(t).unwrap().dial(&n), want);
        }
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (bad, want) in [
            ("PJSIP/trunk", "holds 0 {number}"),
            ("PJSIP/{number}&PJSIP/{number}", "holds 2 {number}"),
            ("{number}@trunk", "does not start with a channel technology"),
            ("/{number}", "does not start with a channel technology"),
            (
                "PJ SIP/{number}",
                "does not start with a channel technology",
            ),
            ("PJSIP/{number}@trunk,30", "contains ','"),
            ("PJSIP/{number}&Local/x", "contains '&'"),
            ("PJSIP/{number}@${TRUNK}", "contains '$'"),
        ] {
            let e = EndpointTemplate::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad:?}: {e}");
        }
        let e: Result<EndpointTemplate, _> = serde_json::from_str("\"PJSIP/x\"");
        assert!(e.unwrap_err().to_string().contains("{number}"));
    }
}
