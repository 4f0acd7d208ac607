//! The in-memory DID table the directory answers from, built from `dids` rows.
//! Matching is the configuration file's: exact DID, then the longest prefix
//! (`+1555*`), then the catch-all `*`.

use crate::{
    application::ports::{directory::Route, media::Transport, telephony::WireFormat},
    domain::{AgentId, Did, TenantId},
};
use std::collections::HashMap;

/// One `dids` row as read, before any check.
#[derive(Debug, Clone, Default)]
pub(crate) struct DidRow {
    pub(crate) pattern: String,
    pub(crate) tenant: String,
    pub(crate) agent: String,
    pub(crate) greeting: Option<String>,
    pub(crate) language: String,
    pub(crate) stt: Option<String>,
    pub(crate) tts: Option<String>,
    pub(crate) stt_fallback: Vec<String>,
    pub(crate) tts_fallback: Vec<String>,
    /// The tenant's `store_transcripts`.
    pub(crate) store_transcripts: bool,
    pub(crate) transport: Option<String>,
    pub(crate) format: Option<String>,
}

/// What a pattern matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
    Any,
}

/// The routes, ready for lookups.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    exact: HashMap<String, Route>,
    /// Longest prefix first.
    prefixes: Vec<(String, Route)>,
    any: Option<Route>,
}

impl RouteTable {
    /// The agents `tenant`'s rows name, each once, sorted.
    pub(crate) fn agents(&self, tenant: &TenantId) -> Vec<AgentId> {
        let routes = self
            .exact
            .values()
            .chain(self.prefixes.iter().map(|(_, r)| r))
            .chain(&self.any);
        crate::application::ports::directory::agents_of(routes, tenant)
    }

    /// Builds the table, skipping (and logging) every row that does not check:
    /// one bad row written by hand must not take routing down for everyone.
    pub(crate) fn build(rows: impl IntoIterator<Item = DidRow>) -> Self {
        let mut table = Self::default();
        for row in rows {
            match check(&row) {
                Ok((Pattern::Exact(d), route)) => {
                    table.exact.insert(d, route);
                }
                Ok((Pattern::Prefix(p), route)) => table.prefixes.push((p, route)),
                Ok((Pattern::Any, route)) => table.any = Some(route),
                Err(problem) => tracing::error!(
                    did_pattern = %row.pattern, %problem,
                    "dids row skipped: it cannot route calls until fixed"
                ),
            }
        }
        table
            .prefixes
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        table
    }

    /// The route for a DID.
    pub(crate) fn find(&self, did: &Did) -> Option<&Route> {
        let d = did.as_str();
        self.exact
            .get(d)
            .or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(p, _)| d.starts_with(p.as_str()))
                    .map(|(_, r)| r)
            })
            .or(self.any.as_ref())
    }

    /// The route of a DID by its number or a prefix pattern, not the catch-all.
    pub(crate) fn find_owned(&self, did: &Did) -> Option<&Route> {
        let d = did.as_str();
        self.exact.get(d).or_else(|| {
            self.prefixes
                .iter()
                .find(|(p, _)| d.starts_with(p.as_str()))
                .map(|(_, r)| r)
        })
    }

    /// How many routes it holds.
    pub(crate) fn len(&self) -> usize {
        self.exact.len() + self.prefixes.len() + usize::from(self.any.is_some())
    }
}

fn check(row: &DidRow) -> Result<(Pattern, Route), String> {
    let pattern = parse_pattern(&row.pattern)?;
    let tenant = TenantId::parse(row.tenant.as_str()).map_err(|e| e.to_string())?;
    let agent = AgentId::parse(row.agent.as_str()).map_err(|e| e.to_string())?;
    let lang = &row.language;
    if lang.is_empty()
        || lang.len() > 35
        || !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!("{lang:?} is not a BCP 47 language tag"));
    }
    let transport: Option<Transport> = parse("transport", &row.transport)?;
    let format: Option<WireFormat> = parse("format", &row.format)?;
    if let (Some(t), Some(f)) = (transport, format)
        && !t.carries(f)
    {
        return Err(format!("{} cannot carry {f:?} both ways", t.as_str()));
    }
    let route = Route {
        transport,
        format,
        tenant,
        agent,
        greeting: row.greeting.clone().filter(|g| !g.is_empty()),
        language: lang.clone(),
        stt: row.stt.clone().filter(|s| !s.is_empty()),
        tts: row.tts.clone().filter(|s| !s.is_empty()),
        // Provider names are checked when a call uses the route: an unusable
        // one is logged and the instance default serves.
        stt_fallback: row.stt_fallback.clone(),
        tts_fallback: row.tts_fallback.clone(),
        // No column for it yet: database routes are not secure by default.
        secure_dtmf: false,
        store_transcripts: row.store_transcripts,
        on_start_failure: None,
        max_live_calls: None,
    };
    Ok((pattern, route))
}

/// A `transport` or `format` column, spelt as in the configuration file.
fn parse<T: serde::de::DeserializeOwned>(
    what: &str,
    v: &Option<String>,
) -> Result<Option<T>, String> {
    v.as_deref()
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned()))
                .map_err(|_| format!("{s:?} is not a media {what}"))
        })
        .transpose()
}

/// The same rule as `[[routes]] did`: `*`, or `+`? then 1-20 digits, then `*`?.
fn parse_pattern(p: &str) -> Result<Pattern, String> {
    if p == "*" {
        return Ok(Pattern::Any);
    }
    let (body, prefix) = match p.strip_suffix('*') {
        Some(b) => (b, true),
        None => (p, false),
    };
    let digits = body.strip_prefix('+').unwrap_or(body);
    let ok = !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
    match (ok, prefix) {
        (false, _) => Err(format!("{p:?} is not a DID pattern")),
        (true, true) => Ok(Pattern::Prefix(body.to_owned())),
        // An exact pattern must also be a DID a call can carry (E.164 length rules).
        (true, false) => Did::parse(p)
            .map(|d| Pattern::Exact(d.as_str().to_owned()))
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pattern: &str, tenant: &str, agent: &str) -> DidRow {
        DidRow {
            pattern: pattern.into(),
            tenant: tenant.into(),
            agent: agent.into(),
            language: "en-US".into(),
            store_transcripts: true,
            ..DidRow::default()
        }
    }

    #[test]
    fn exact_then_longest_prefix_then_any() {
        let t = RouteTable::build([
            row("*", "t0", "any"),
            row("+1555*", "t1", "short"),
            row("+155512*", "t1", "long"),
            row("+15551234567", "t2", "exact"),
        ]);
        let agent = |d: &str| t.find(&Did::parse(d).unwrap()).map(|r| r.agent.to_string());
        assert_eq!(agent("+15551234567").as_deref(), Some("exact"));
        assert_eq!(agent("+15551299999").as_deref(), Some("long"));
        assert_eq!(agent("+15559999999").as_deref(), Some("short"));
        assert_eq!(agent("100").as_deref(), Some("any"));
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn bad_rows_are_skipped_and_the_rest_still_route() {
        let t = RouteTable::build([
            row("+1555**", "t", "a"),
            row("12ab", "t", "a"),
            row("", "t", "a"),
            row("100", "bad tenant!", "a"),
            row("101", "t", "bad agent!"),
            DidRow {
                language: "en US; drop".into(),
                ..row("102", "t", "a")
            },
            row("103", "t", "good"),
        ]);
        assert_eq!(t.len(), 1);
        assert!(t.find(&Did::parse("100").unwrap()).is_none());
        assert_eq!(
            t.find(&Did::parse("103").unwrap()).unwrap().agent.as_str(),
            "good"
        );
    }

    #[test]
    fn a_row_may_choose_its_media_and_an_unusable_pair_is_skipped() {
        let media = |did: &str, t: Option<&str>, f: Option<&str>| DidRow {
            transport: t.map(str::to_owned),
            format: f.map(str::to_owned),
            ..row(did, "t", "a")
        };
        let t = RouteTable::build([
            media("200", Some("audiosocket"), Some("slin16")),
            media("201", None, Some("slin")),
            media("202", Some("audiosocket"), Some("ulaw")),
            media("203", Some("rtp"), Some("slin16")),
            media("204", Some("websocket"), Some("ulaw")),
            media("205", Some("carrier-pigeon"), None),
            media("206", None, Some("opus")),
        ]);
        assert_eq!(t.len(), 3);
        let r = t.find(&Did::parse("200").unwrap()).unwrap();
        assert_eq!(
            (r.transport, r.format),
            (Some(Transport::Audiosocket), Some(WireFormat::Slin16))
        );
        let r = t.find(&Did::parse("201").unwrap()).unwrap();
        assert_eq!((r.transport, r.format), (None, Some(WireFormat::Slin)));
    }
}
