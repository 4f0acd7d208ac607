//! The tenant-manager's JSON, parsed strictly into a [`Route`]: a field of
//! the wrong type, an id that is not an id, or an answer about another
//! tenant or DID is an error naming the field, never a half-built route.
//!
//! Unknown fields are ignored (the platform may add some); those named
//! here must be what they say.

use crate::{
    application::ports::directory::Route,
    domain::{AgentId, Did, TenantId},
};
use serde::Deserialize;

/// Largest body read from the tenant-manager.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// Why a tenant-manager answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not JSON, or a field of the wrong type.
    #[error("malformed JSON at {path}: {message}")]
    Json {
        /// Where in the document (`stt.provider`).
        path: String,
        /// What serde said.
        message: String,
    },
    /// A field parsed but holds a value the gateway cannot use.
    #[error("field {field}: {problem}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// `GET /api/v1/tenants/{tenant}/telephony/settings`.
#[derive(Debug, Deserialize)]
struct SettingsBody {
    tenant_id: String,
    language: String,
    #[serde(default)]
    stt: Option<ProviderBody>,
    #[serde(default)]
    tts: Option<ProviderBody>,
    /// The orchestrator's concern; checked for shape only.
    #[serde(default)]
    #[allow(dead_code)]
    llm: Option<ProviderBody>,
    #[serde(default)]
    default_agent_id: Option<String>,
    #[serde(default = "yes")]
    store_transcripts: bool,
    #[serde(default)]
    secure_dtmf: bool,
    #[serde(default)]
    limits: LimitsBody,
}

#[derive(Debug, Deserialize)]
struct ProviderBody {
    provider: String,
    #[serde(default)]
    fallback: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LimitsBody {
    #[serde(default)]
    max_live_calls: Option<u32>,
}

/// `GET /api/v1/tenants/{tenant}/telephony/dids/{did}`.
#[derive(Debug, Deserialize)]
struct DidBody {
    did: String,
    tenant_id: String,
    agent_id: String,
    #[serde(default)]
    greeting: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

fn yes() -> bool {
    true
}

/// A tenant's telephony settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// BCP 47 language of its calls.
    pub language: String,
    /// Speech-to-text provider and fallbacks.
    pub stt: Option<(String, Vec<String>)>,
    /// Text-to-speech provider and fallbacks.
    pub tts: Option<(String, Vec<String>)>,
    /// The agent of calls that name none.
    pub default_agent: Option<AgentId>,
    /// Off: no transcript text in events.
    pub store_transcripts: bool,
    /// Every key is secure.
    pub secure_dtmf: bool,
    /// The tenant's live calls at most.
    pub max_live_calls: Option<u32>,
}

/// One DID's answer, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidAnswer {
    /// The agent that answers.
    pub agent: AgentId,
    /// A greeting to speak first.
    pub greeting: Option<String>,
    /// Overrides the tenant's language.
    pub language: Option<String>,
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, WireError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| WireError::Json {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

fn invalid(field: &'static str, problem: impl Into<String>) -> WireError {
    WireError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// Parses a settings body for `tenant`.
pub fn parse_settings(tenant: &TenantId, body: &[u8]) -> Result<Settings, WireError> {
    let b: SettingsBody = json(body)?;
    if b.tenant_id != tenant.as_str() {
        return Err(invalid(
            "tenant_id",
            format!("{:?} answers for another tenant than {tenant}", b.tenant_id),
        ));
    }
    check_language("language", &b.language)?;
    if b.limits.max_live_calls == Some(0) {
        return Err(invalid(
            "limits.max_live_calls",
            "is 0: no call could ever start",
        ));
    }
    Ok(Settings {
        language: b.language,
        stt: provider("stt", b.stt)?,
        tts: provider("tts", b.tts)?,
        default_agent: b
            .default_agent_id
            .map(|a| AgentId::parse(a).map_err(|e| invalid("default_agent_id", e.to_string())))
            .transpose()?,
        store_transcripts: b.store_transcripts,
        secure_dtmf: b.secure_dtmf,
        max_live_calls: b.limits.max_live_calls,
    })
}

/// Parses a DID body for `did` of `tenant`.
pub fn parse_did(tenant: &TenantId, did: &Did, body: &[u8]) -> Result<DidAnswer, WireError> {
    let b: DidBody = json(body)?;
    if b.tenant_id != tenant.as_str() {
        return Err(invalid(
            "tenant_id",
            format!("{:?} is not the tenant asked ({tenant})", b.tenant_id),
        ));
    }
    if b.did != did.as_str() {
        return Err(invalid("did", format!("{:?} is not the DID asked", b.did)));
    }
    let agent = AgentId::parse(b.agent_id).map_err(|e| invalid("agent_id", e.to_string()))?;
    if let Some(g) = &b.greeting
        && (g.trim().is_empty() || g.len() > 2000)
    {
        return Err(invalid("greeting", "is empty or longer than 2000 bytes"));
    }
    if let Some(l) = &b.language {
        check_language("language", l)?;
    }
    Ok(DidAnswer {
        agent,
        greeting: b.greeting,
        language: b.language,
    })
}

/// The route a DID answer and its tenant's settings make.
pub fn route(tenant: &TenantId, did: DidAnswer, s: &Settings) -> Route {
    let (stt, stt_fallback) = split(&s.stt);
    let (tts, tts_fallback) = split(&s.tts);
    Route {
        tenant: tenant.clone(),
        agent: did.agent,
        greeting: did.greeting,
        language: did.language.unwrap_or_else(|| s.language.clone()),
        stt,
        tts,
        stt_fallback,
        tts_fallback,
        transport: None,
        format: None,
        secure_dtmf: s.secure_dtmf,
        store_transcripts: s.store_transcripts,
        on_start_failure: None,
        max_live_calls: s.max_live_calls,
    }
}

fn split(p: &Option<(String, Vec<String>)>) -> (Option<String>, Vec<String>) {
    match p {
        Some((primary, fallback)) => (Some(primary.clone()), fallback.clone()),
        None => (None, Vec::new()),
    }
}

fn provider(
    field: &'static str,
    p: Option<ProviderBody>,
) -> Result<Option<(String, Vec<String>)>, WireError> {
    let Some(p) = p else { return Ok(None) };
    for name in std::iter::once(&p.provider).chain(&p.fallback) {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(invalid(
                field,
                format!("provider name {name:?} is not 1-64 of A-Z a-z 0-9 - _ ."),
            ));
        }
    }
    Ok(Some((p.provider, p.fallback)))
}

/// BCP 47 in the shape the speech adapters take: `en`, `en-US`, `zh-Hant-TW`.
fn check_language(field: &'static str, l: &str) -> Result<(), WireError> {
    let ok = !l.is_empty()
        && l.len() <= 35
        && l.split('-').enumerate().all(|(i, part)| {
            let len_ok = if i == 0 {
                (2..=3).contains(&part.len())
            } else {
                (1..=8).contains(&part.len())
            };
            len_ok
                && part.bytes().all(|b| b.is_ascii_alphanumeric())
                && (i > 0 || part.bytes().all(|b| b.is_ascii_alphabetic()))
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{l:?} is not a BCP 47 language tag such as en-US"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn did() -> Did {
        Did::parse("+15551230001").unwrap()
    }

    #[test]
    fn a_full_answer_makes_the_route() {
        let s = parse_settings(
            &acme(),
            br#"{"tenant_id":"acme","language":"de-DE","stt":{"provider":"deepgram","fallback":["whisper"]},
                "tts":{"provider":"piper"},"llm":{"provider":"openai"},"default_agent_id":"sales",
                "store_transcripts":false,"secure_dtmf":true,"limits":{"max_live_calls":3},"new_field":1}"#,
        )
        .unwrap();
        let d = parse_did(
            &acme(),
            &did(),
            br#"{"did":"+15551230001","tenant_id":"acme","agent_id":"support","greeting":"Hi"}"#,
        )
        .unwrap();
        let r = route(&acme(), d, &s);
        assert_eq!(r.agent.as_str(), "support");
        assert_eq!(r.language, "de-DE");
        assert_eq!(r.stt.as_deref(), Some("deepgram"));
        assert_eq!(r.stt_fallback, ["whisper"]);
        assert_eq!(r.tts.as_deref(), Some("piper"));
        assert!(r.tts_fallback.is_empty());
        assert!(!r.store_transcripts && r.secure_dtmf);
        assert_eq!(r.max_live_calls, Some(3));
        assert_eq!(r.greeting.as_deref(), Some("Hi"));
    }

    #[test]
    fn wrong_types_and_values_name_the_field() {
        let cases: [(&[u8], &str); 7] = [
            (br#"{"tenant_id":"acme","language":5}"#, "language"),
            (br#"{"tenant_id":"acme"}"#, "language"),
            (br#"{"tenant_id":"globex","language":"en"}"#, "tenant_id"),
            (
                br#"{"tenant_id":"acme","language":"english please"}"#,
                "language",
            ),
            (
                br#"{"tenant_id":"acme","language":"en","stt":{"provider":"a b"}}"#,
                "stt",
            ),
            (
                br#"{"tenant_id":"acme","language":"en","limits":{"max_live_calls":0}}"#,
                "max_live_calls",
            ),
            (
                br#"{"tenant_id":"acme","language":"en","stt":{"provider":"x","fallback":"y"}}"#,
                "stt.fallback",
            ),
        ];
        for (body, field) in cases {
            let e = parse_settings(&acme(), body).unwrap_err().to_string();
            assert!(e.contains(field), "{e} should name {field}");
        }
        let e = parse_did(
            &acme(),
            &did(),
            br#"{"did":"+15550000000","tenant_id":"acme","agent_id":"a"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("did"), "{e}");
        let e = parse_did(
            &acme(),
            &did(),
            br#"{"did":"+15551230001","tenant_id":"acme","agent_id":"a/../b"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("agent_id"), "{e}");
    }

    proptest! {
        /// Arbitrary bytes never panic the parsers.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_settings(&acme(), &body);
            let _ = parse_did(&acme(), &did(), &body);
        }

        /// Any well-formed answer parses, and whatever an accepted answer
        /// holds is what the route carries.
        #[test]
        fn well_formed_answers_round_trip(
            agent in "[a-z][a-z0-9_-]{0,20}",
            lang in "[a-z]{2}(-[A-Z]{2})?",
            stt in "[a-z0-9_.-]{1,20}",
            fallback in proptest::collection::vec("[a-z0-9]{1,10}", 0..3),
            max in proptest::option::of(1u32..1000),
        ) {
            let settings = serde_json::json!({
                "tenant_id": "acme", "language": lang,
                "stt": {"provider": stt, "fallback": fallback},
                "limits": {"max_live_calls": max},
            });
            let d = serde_json::json!({"did": "+15551230001", "tenant_id": "acme", "agent_id": agent});
            let s = parse_settings(&acme(), settings.to_string().as_bytes()).unwrap();
            let a = parse_did(&acme(), &did(), d.to_string().as_bytes()).unwrap();
            let r = route(&acme(), a, &s);
            prop_assert_eq!(r.agent.as_str(), agent.as_str());
            prop_assert_eq!(&r.language, &lang);
            prop_assert_eq!(r.stt.as_deref(), Some(stt.as_str()));
            prop_assert_eq!(&r.stt_fallback, &fallback);
            prop_assert_eq!(r.max_live_calls, max);
        }

        /// Mutating one field of a valid answer to another JSON type is
        /// refused with an error naming that field, never accepted.
        #[test]
        fn a_retyped_field_is_refused(field in prop::sample::select(vec!["did", "tenant_id", "agent_id"]), n in any::<i64>()) {
            let mut d = serde_json::json!({"did": "+15551230001", "tenant_id": "acme", "agent_id": "sales"});
            d[field] = serde_json::json!(n);
            let e = parse_did(&acme(), &did(), d.to_string().as_bytes()).unwrap_err();
            prop_assert!(e.to_string().contains(field), "{}", e);
        }
    }
}
