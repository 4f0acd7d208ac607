//! The tenant directory port: which tenant, agent and voice serve a dialled number.

use super::{
    media::Transport, orchestrator::BoxFuture, speech::SpeechChoice, telephony::WireFormat,
};
use crate::domain::{AgentId, Did, TenantId, transfer::TransferTarget};
use serde::{Deserialize, Serialize};

/// Everything the gateway needs to answer a DID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The tenant the call belongs to (scopes its keys and events).
    pub tenant: TenantId,
    /// The agent that answers.
    pub agent: AgentId,
    /// A greeting to speak first; `None` lets the agent choose.
    pub greeting: Option<String>,
    /// BCP 47 language, e.g. `en-US`.
    pub language: String,
    /// Speech-to-text provider name; `None` for the instance default.
    pub stt: Option<String>,
    /// Text-to-speech provider name; `None` for the instance default.
    pub tts: Option<String>,
    /// Speech-to-text providers that take over in order when `stt` fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stt_fallback: Vec<String>,
    /// Text-to-speech providers that take over in order when `tts` fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tts_fallback: Vec<String>,
    /// The externalMedia transport; `None` for the instance default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The audio format on it; `None`: the instance's format when the
    /// transport is the instance's, else the best the transport carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<WireFormat>,
    /// Every key the caller presses is secure: handed to the orchestrator
    /// only, never to events, history or logs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secure_dtmf: bool,
    /// Off: the call's events carry no transcript text (the tenant's
    /// `store_transcripts`; call records lose theirs too).
    #[serde(default = "yes")]
    pub store_transcripts: bool,
    /// Where a caller goes when the orchestrator or the recogniser cannot
    /// be had as the call starts; `None`: the apology. `[[routes]]` only.
    #[serde(skip)]
    pub on_start_failure: Option<TransferTarget>,
    /// The tenant's live calls at most, from its tenant-manager settings
    /// (the lower of this and `[limits.tenants]` applies); `None`: the
    /// configuration's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_live_calls: Option<u32>,
}

fn yes() -> bool {
    true
}

impl Route {
    /// An outbound call's: the tenant and agent the API request named, the
    /// instance's speech, transport and format. Rebuilt from the call's
    /// record when another instance takes the call over, so it holds
    /// nothing the record does not.
    pub fn outbound(tenant: TenantId, agent: AgentId) -> Self {
        Self {
            tenant,
            agent,
            greeting: None,
            language: "en-US".into(),
            stt: None,
            tts: None,
            stt_fallback: Vec::new(),
            tts_fallback: Vec::new(),
            secure_dtmf: false,
            store_transcripts: true,
            on_start_failure: None,
            max_live_calls: None,
            transport: None,
            format: None,
        }
    }

    /// The call's transport and format: the route's, else the instance's.
    pub fn media(&self, transport: Transport, format: WireFormat) -> (Transport, WireFormat) {
        let t = self.transport.unwrap_or(transport);
        let default = if t == transport {
            format
        } else {
            t.default_format()
        };
        (t, self.format.unwrap_or(default))
    }

    /// The route's speech-to-text choice.
    pub fn stt_choice(&self) -> SpeechChoice {
        SpeechChoice {
            primary: self.stt.clone(),
            fallbacks: self.stt_fallback.clone(),
        }
    }

    /// The route's text-to-speech choice.
    pub fn tts_choice(&self) -> SpeechChoice {
        SpeechChoice {
            primary: self.tts.clone(),
            fallbacks: self.tts_fallback.clone(),
        }
    }
}

/// Why a lookup could not be answered (not: "no route", which is `Ok(None)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The backing store is unreachable.
    #[error("tenant directory unavailable: {0}")]
    Unavailable(#[source] super::Cause),
}

/// Looks a DID up.
pub trait TenantDirectory: Send + Sync {
    /// The route for `did`, or `None` when no route matches.
    fn lookup<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>>;

    /// The tenant a DID belongs to: routed to it by its exact number or a
    /// prefix pattern (`+1555*`), never by the catch-all `*`. What makes a
    /// number a caller id the tenant may present.
    fn owner<'a>(&'a self, did: &'a Did)
    -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>>;

    /// The agents `tenant`'s routes name, each once, sorted. A tenant with
    /// exactly one is that agent's by default (an outbound call that names
    /// no agent gets it).
    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>>;
}

/// The distinct agents of `tenant` among `routes`, sorted: what
/// [`TenantDirectory::agents`] answers for a routing table held in memory.
pub fn agents_of<'a>(
    routes: impl IntoIterator<Item = &'a Route>,
    tenant: &TenantId,
) -> Vec<AgentId> {
    let agents: std::collections::BTreeSet<&AgentId> = routes
        .into_iter()
        .filter(|r| &r.tenant == tenant)
        .map(|r| &r.agent)
        .collect();
    agents.into_iter().cloned().collect()
}
