//! Which numbers may be dialled: the toll-fraud guard.
//!
//! Every number the gateway dials on someone's word — an API originate, an
//! API transfer, an agent's transfer — passes one of these rules first. The
//! rules are allowlists of E.164 prefixes: what is not listed is refused, so
//! a new premium range somewhere in the world is refused before anyone has
//! heard of it. Premium-rate and satellite ranges are refused even under a
//! broader allow (`"+1"` does not open `+1900`; `"*"` does not open `+882`)
//! unless a prefix at least as specific names them.

use super::phone::E164;
use std::fmt;

/// Premium-rate, shared-cost and satellite ranges, refused unless allowed by
/// a prefix at least this specific. Conservative on purpose: a range missing
/// here is still refused by any allowlist that does not name it.
pub const PREMIUM_PREFIXES: &[&str] = &[
    "+1900",  // NANP premium
    "+1976",  // NANP premium (legacy)
    "+44871", // UK shared revenue
    "+44872", "+44873", "+449",   // UK premium rate
    "+3389",  // France premium (08 9x)
    "+49900", // Germany premium
    "+39899", // Italy premium
    "+34803", "+34806", "+34807", // Spain premium
    "+61190", // Australia premium
    "+808",   // international shared cost
    "+870",   // Inmarsat
    "+881",   // global mobile satellite
    "+882",   // international networks
    "+883",   // international networks
    "+979",   // international premium rate
];

/// A prefix of E.164 numbers: `+` and 1 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NumberPrefix(String);

/// Why a pattern is not a usable prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// `+` alone (or empty) would match every number.
    #[error("{0:?} matches every number; write \"*\" to allow every destination on purpose")]
    MatchesEverything(String),
    /// Not `+` and digits.
    #[error("{0:?} is not a number prefix: expected + and 1 to 15 digits, e.g. \"+1\" or \"+44\"")]
    Malformed(String),
}

impl NumberPrefix {
    /// `+` and 1 to 15 digits, the first not 0.
    pub fn parse(s: &str) -> Result<Self, PrefixError> {
        match s.strip_prefix('+') {
            None if s.is_empty() => Err(PrefixError::MatchesEverything(s.to_owned())),
            Some("") => Err(PrefixError::MatchesEverything(s.to_owned())),
            Some(d)
                if d.len() <= 15
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && !d.starts_with('0') =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(PrefixError::Malformed(s.to_owned())),
        }
    }

    /// Whether `n` starts with this prefix.
    pub fn matches(&self, n: &E164) -> bool {
        n.as_str().starts_with(&self.0)
    }

    /// Digits after the `+`: how specific the prefix is.
    fn len(&self) -> usize {
        self.0.len() - 1
    }

    /// The prefix as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NumberPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One allowlist with its deny list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRules {
    /// `"*"` was given: every destination that is not premium or denied.
    everything: bool,
    allow: Vec<NumberPrefix>,
    deny: Vec<NumberPrefix>,
}

/// Why a number may not be dialled. The text names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialRefusal {
    /// In a configured deny list.
    #[error("{number} is refused by the deny prefix {prefix} of the dialing policy")]
    Denied {
        /// The number, redacted.
        number: String,
        /// The deny prefix.
        prefix: String,
    },
    /// A premium-rate or satellite range not allowed explicitly.
    #[error(
        "{number} is in the premium-rate or satellite range {prefix}; only an allowed prefix \
         at least as specific as {prefix} opens it"
    )]
    Premium {
        /// The number, redacted.
        number: String,
        /// The premium range.
        prefix: &'static str,
    },
    /// No allowed prefix matches.
    #[error("{number} matches no allowed destination prefix of the dialing policy")]
    NotAllowed {
        /// The number, redacted.
        number: String,
    },
}

impl DialRules {
    /// Nothing may be dialled.
    pub fn nothing() -> Self {
        Self {
            everything: false,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }

    /// From patterns as configured: prefixes, or `"*"` for every destination.
    pub fn parse<'a>(
        allow: impl IntoIterator<Item = &'a str>,
        deny: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, PrefixError> {
        let mut rules = Self::nothing();
        for p in allow {
            if p == "*" {
                rules.everything = true;
            } else {
                rules.allow.push(NumberPrefix::parse(p)?);
            }
        }
        for p in deny {
            rules.deny.push(NumberPrefix::parse(p)?);
        }
        Ok(rules)
    }

    /// Whether `n` may be dialled.
    pub fn check(&self, n: &E164) -> Result<(), DialRefusal> {
        let number = || n.redacted().to_string();
        if let Some(p) = self.deny.iter().find(|p| p.matches(n)) {
            return Err(DialRefusal::Denied {
                number: number(),
                prefix: p.to_string(),
            });
        }
        let best_allow = self
            .allow
            .iter()
            .filter(|p| p.matches(n))
            .map(NumberPrefix::len)
            .max();
        if let Some(premium) = PREMIUM_PREFIXES.iter().find(|p| n.as_str().starts_with(*p))
            && best_allow.is_none_or(|len| len < premium.len() - 1)
        {
            return Err(DialRefusal::Premium {
                number: number(),
                prefix: premium,
            });
        }
        if self.everything || best_allow.is_some() {
            Ok(())
        } else {
            Err(DialRefusal::NotAllowed { number: number() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> E164 {
        E164::parse(s).unwrap()
    }

    #[test]
    fn each_rule_allows_and_refuses_as_documented() {
        let us = DialRules::parse(["+1"], ["+1555000"]).unwrap();
        let any = DialRules::parse(["*"], []).unwrap();
        let premium_ok = DialRules::parse(["+1", "+1900"], []).unwrap();
        let none = DialRules::nothing();
        type Case<'a> = (&'a DialRules, &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (&us, "+15551234567", None),
            (&us, "+442071234567", Some("matches no allowed")),
            (&us, "+15550001234", Some("deny prefix +1555000")),
            (
                &us,
                "+19005551234",
                Some("premium-rate or satellite range +1900"),
            ),
            (&any, "+442071234567", None),
            (&any, "+882123456789", Some("range +882")),
            (&any, "+449012345678", Some("range +449")),
            (&premium_ok, "+19005551234", None),
            (&premium_ok, "+19765551234", Some("range +1976")),
            (&none, "+15551234567", Some("matches no allowed")),
        ];
        for (rules, number, want) in cases {
            let got = rules.check(&n(number));
            match want {
                None => assert!(got.is_ok(), "{number}: {got:?}"),
                Some(text) => {
                    let e = got.expect_err(number).to_string();
                    assert!(e.contains(text), "{number}: {e}");
                    assert!(!e.contains(&number[3..]), "the number is redacted: {e}");
                }
            }
        }
    }

    #[test]
    fn a_pattern_that_would_match_everything_must_say_so() {
        for p in ["+", ""] {
            assert!(matches!(
                NumberPrefix::parse(p),
                Err(PrefixError::MatchesEverything(_))
            ));
        }
        for p in ["1", "+1a", "+0", "+1234567890123456", "+1 555"] {
            assert!(
                matches!(NumberPrefix::parse(p), Err(PrefixError::Malformed(_))),
                "{p}"
            );
        }
        assert!(DialRules::parse(["*"], []).is_ok());
    }
}
