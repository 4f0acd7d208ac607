//! A string that never prints, and a URL that prints without its password.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A secret value (password, key). `Debug`, `Display` and `Serialize` mask it,
/// so neither logs nor `check-config` can leak it; call [`Secret::expose`] at the
/// one place that needs the real value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value. Keep its use at the edge (an HTTP header, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a value is set at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn masked(&self) -> &'static str {
        if self.0.is_empty() { "" } else { "********" }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.masked())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A connection URL that may carry a password (`redis://u:pw@host/0`,
/// `postgres://u:pw@db/x`). It prints with the password replaced, so
/// `check-config` still shows which server is meant; [`SecretUrl::expose`]
/// gives the real URL to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real URL, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the password of its user part and any `password=`
    /// query parameter replaced by `********`.
    pub fn masked(&self) -> String {
        let url = &self.0;
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _)) => format!("{name}:********@{host}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let q: Vec<String> = query
                    .split('&')
                    .map(|kv| match kv.split_once('=') {
                        Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                            format!("{k}=********")
                        }
                        _ => kv.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", q.join("&"))
            }
            None => tail.to_owned(),
        };
        if scheme.is_empty() {
            format!("{authority}{tail}")
        } else {
            format!("{scheme}://{authority}{tail}")
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.masked())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretUrl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "********");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"********\"");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{}", Secret::default()), "");
    }

    #[test]
    fn urls_print_without_their_password() {
        let cases = [
            ("redis://:pw1@r:6379/0", "redis://:********@r:6379/0"),
            ("redis://u:pw1@r:6379", "redis://u:********@r:6379"),
            (
                "postgres://vg:p@ss@db:5432/x",
                "postgres://vg:********@db:5432/x",
            ),
            (
                "postgres://db/x?user=vg&password=pw1",
                "postgres://db/x?user=vg&password=********",
            ),
            ("redis://r:6379/0", "redis://r:6379/0"),
            ("redis://user@r", "redis://user@r"),
        ];
        for (raw, shown) in cases {
            let u = SecretUrl::new(raw);
            assert_eq!(u.to_string(), shown);
            assert!(!format!("{u:?}").contains("pw1"));
            assert_eq!(serde_json::to_string(&u).unwrap(), format!("{shown:?}"));
            assert_eq!(u.expose(), raw);
        }
    }
}
