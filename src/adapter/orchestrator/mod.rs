//! Agent orchestrator adapters: [`HttpOrchestrator`] for the external service
//! and [`BuiltinAgent`], the embedded default when no URL is configured
//! ([`from_config`] picks one).
//!
//! # The HTTP contract
//! - `POST {base}/api/v1/conversations` with `{call_id, tenant_id, agent_id,
//!   direction, caller?, callee?, language, metadata}` → `application/json`
//!   `{conversation_id, greeting?}`.
//! - `POST {base}/api/v1/conversations/{id}/turns` with `{text, interrupted?,
//!   heard_text?, dtmf?, superseded?, resumed_after_takeover?, answered_by?}`
//!   → a reply in one of three encodings, by `Content-Type`. `superseded:
//!   true`: the previous turn request was sent ahead of the caller's end of
//!   turn and dropped unspoken because the caller went on; this turn (whose
//!   text includes it) replaces it. `resumed_after_takeover: true`: the first
//!   turn after another gateway instance took the call over; the reply in
//!   flight when the first instance stopped, if any, was cut and what the
//!   caller heard of it is unknown. `answered_by` (`human | machine | unknown`): on every turn of an
//!   outbound call placed with `detect_machine`.
//! - `POST {base}/api/v1/conversations/{id}/transfer` with `{target}` → any 2xx.
//!
//! `{id}` is percent-encoded as one path segment. Every request carries
//! `Authorization: Bearer <token>` when a token is configured.
//!
//! # Reply encodings and the shapes accepted
//! Each of them carries *reply objects*: a JSON object with any of
//! `text` (a string: an incremental chunk), `action` (one action), `actions`
//! (a list of actions), `done` (`true` ends the reply), `error` (a string or
//! `{message}`: the reply failed). Fields are taken in that order; unknown
//! fields are ignored; a JSON value that is not an object is malformed.
//! Actions: `{"type":"transfer","target":"agents"}`, `{"type":"hangup"}`,
//! `{"type":"send_dtmf","digits":"12#"}`; an unknown type is malformed.
//! - `application/json`: the whole reply is one reply object, e.g.
//!   `{"text":"Hello.","actions":[{"type":"hangup"}]}`; its end is the end.
//! - `text/event-stream`: one reply object per event `data` (multi-line data
//!   joined with `\n`); `data: [DONE]`, `{"done":true}` or an `event: done`
//!   ends the reply; `event: error` fails it with its data as the message;
//!   events named `message`, `delta`, `text`, `action` or unnamed are reply
//!   objects, other names (`ping`, ...) and `:` comments are ignored; `id:`
//!   and `retry:` are ignored. Lines end in LF, CRLF or CR.
//! - `application/x-ndjson` (also `application/ndjson`, `application/jsonl`):
//!   one reply object per line, blank lines skipped, `{"done":true}` ends it.
//!
//! A streamed reply whose body ends before its terminator yields
//! `Truncated` after the parts that did arrive. Bounds: the reply's text
//! (`max_reply_bytes`, 64 KiB), one line (twice that plus 1 KiB) and the raw
//! body (16 times that plus 64 KiB, keep-alives included).
//!
//! # Timeouts and retries
//! `reply_timeout` (10 s) runs from the first poll of a turn's stream to its
//! first part, retry included; `idle_timeout` bounds the silence between
//! chunks after that; `connect_timeout` bounds each connection attempt. A
//! request is retried once, after `retry_backoff`, when it could not connect
//! or got 503: nothing of a reply has been received then. A 429 is not
//! retried: the session decides (queue, or hand to a person).

mod breaker;
mod builtin;
mod client;
mod config;
mod decode;
mod lines;
mod reply;
mod sse;
mod wire;

use std::sync::Arc;

pub use builtin::{BuiltinAgent, DEFAULT_GREETING};
pub use client::{ClientBuildError, HttpOrchestrator};
pub use config::OrchestratorConfig;

use crate::application::ports::orchestrator::AgentOrchestrator;

/// The orchestrator `config` asks for: HTTP when a URL is set, else the
/// built-in agent.
pub fn from_config(
    config: &OrchestratorConfig,
) -> Result<Arc<dyn AgentOrchestrator>, ClientBuildError> {
    match config
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) => Ok(Arc::new(breaker::Guarded::new(
            Arc::new(HttpOrchestrator::new(url, config.clone())?),
            config.breaker,
        ))),
        None => BuiltinAgent::new(config)
            .map(|a| Arc::new(a) as Arc<dyn AgentOrchestrator>)
            .map_err(|e| ClientBuildError::Config(e.to_string())),
    }
}

#[cfg(test)]
mod tests;
