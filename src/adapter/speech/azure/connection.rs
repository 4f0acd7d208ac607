//! What opens a recognition connection and configures its turns: the
//! WebSocket dial (reused when the service closed the connection between
//! turns), `speech.config` and `speech.context`.

use std::time::Duration;

use super::wire;
use crate::adapter::speech::deepgram::config::stt_connect_error;
use crate::adapter::speech::deepgram::socket::{self, Reader, Writer};
use crate::application::ports::speech::SttError;

/// How to (re)open the WebSocket.
pub(super) struct Dial {
    pub(super) url: String,
    pub(super) auth: (&'static str, String),
    pub(super) timeout: Duration,
}

impl Dial {
    pub(super) async fn connect(&self) -> Result<(Writer, Reader), SttError> {
        let headers = [self.auth.clone(), ("x-connectionid", wire::new_id())];
        socket::connect(&self.url, &headers, self.timeout)
            .await
            .map_err(stt_connect_error)
    }
}

/// `speech.config`: who is speaking to the service, and in which mode.
pub(super) fn speech_config(rate: u32) -> String {
    serde_json::json!({
        "context": {
            "system": {"name": "voice-gateway", "version": env!("CARGO_PKG_VERSION"),
                       "build": "Rust", "lang": "Rust"},
            "os": {"platform": std::env::consts::OS, "name": "voice-gateway", "version": ""},
            "audio": {"source": {"bitspersample": 16, "channelcount": 1, "samplerate": rate,
                                 "connectivity": "Unknown", "type": "Stream",
                                 "manufacturer": "voice-gateway", "model": "telephony"}},
        },
        "recognition": "conversation",
    })
    .to_string()
}

/// `speech.context`: the session's hints as a phrase list (dynamic grammar).
pub(super) fn context(hints: &[String]) -> String {
    let items: Vec<_> = hints
        .iter()
        .map(|h| serde_json::json!({ "Text": h }))
        .collect();
    let mut ctx = serde_json::json!({
        "phraseOutput": {"format": "Detailed", "detailed": {"options": ["WordTimings"]}},
    });
    if !items.is_empty() {
        ctx["dgi"] = serde_json::json!({"Groups": [{"Type": "Generic", "Items": items}]});
    }
    ctx.to_string()
}
