//! Building the adapters the configuration asks for.

use super::ServerError;
use crate::{
    adapter::{
        ari::{AriClient, AriClientConfig},
        config::{Config, SpeechProvider},
        directory::StaticDirectory,
        media::{MediaMetrics, UdpMediaConfig, UdpMediaEndpoint},
        orchestrator::{self, OrchestratorConfig},
        speech::{
            fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig},
            wyoming::{WyomingStt, WyomingSttConfig, WyomingTts, WyomingTtsConfig},
        },
    },
    application::{
        ports::{
            events::EventPublisher,
            speech::{SpeechToText, TextToSpeech},
            store::CallStore,
        },
        session::{SessionConfig, SessionDeps},
    },
};
use prometheus_client::registry::Registry;
use std::sync::Arc;

pub(super) fn ari_client(config: &Config) -> Result<AriClient, ServerError> {
    AriClient::new(AriClientConfig {
        base_url: format!("{}/ari", config.ari.url.trim_end_matches('/')),
        username: config.ari.username.clone(),
        password: config.ari.password.expose().to_owned(),
        app: config.ari.app.clone(),
        request_timeout: config.ari.request_timeout.0,
    })
    .map_err(|e| ServerError::Ari(e.to_string()))
}

pub(super) fn session_deps(
    config: &Config,
    ari: Arc<AriClient>,
    events: Arc<dyn EventPublisher>,
    store: Arc<dyn CallStore>,
    registry: &mut Registry,
) -> Result<SessionDeps, ServerError> {
    let media = UdpMediaEndpoint::new(UdpMediaConfig::from_media_config(&config.media))
        .with_metrics(MediaMetrics::register(registry));
    let o = &config.orchestrator;
    let orchestrator = orchestrator::from_config(&OrchestratorConfig {
        url: o.url.clone().filter(|u| !u.trim().is_empty()),
        token: o.token.clone(),
        reply_timeout: o.reply_timeout.0,
        connect_timeout: o.connect_timeout.0,
        idle_timeout: o.idle_timeout.0,
        greeting: o.greeting.clone(),
        transfer_target: o.transfer_target.clone(),
        ..OrchestratorConfig::default()
    })
    .map_err(|e| ServerError::Setup(format!("orchestrator: {e}")))?;
    let stt = speech_to_text(config);
    let tts = text_to_speech(config);
    let s = &config.session;
    let session = SessionConfig {
        advertise_ip: config.media.advertise_address,
        silence_timeout: s.silence_timeout.0,
        max_reprompts: s.max_reprompts,
        endpointing: s.endpointing.0,
        max_turn: s.max_turn.0,
        final_timeout: s.final_timeout.0,
        barge_in: s.barge_in,
        barge_in_min_words: s.barge_in_min_words as usize,
        transfer_context: s.transfer_context.clone(),
        outbound_endpoint: config.outbound.endpoint.clone(),
        ..SessionConfig::default()
    };
    Ok(SessionDeps {
        telephony: ari,
        media: Arc::new(media),
        directory: Arc::new(StaticDirectory::new(&config.routes)),
        orchestrator,
        stt,
        tts,
        events,
        store,
        config: Arc::new(session),
    })
}

/// The instance's default speech-to-text provider (`[speech] stt`).
fn speech_to_text(config: &Config) -> Arc<dyn SpeechToText> {
    let s = &config.speech;
    match s.stt {
        SpeechProvider::Wyoming => Arc::new(WyomingStt::new(WyomingSttConfig::new(
            s.wyoming.stt.clone(),
        ))),
        SpeechProvider::Fake => Arc::new(FakeStt::new(FakeSttConfig::default())),
    }
}

/// The instance's default text-to-speech provider (`[speech] tts`).
fn text_to_speech(config: &Config) -> Arc<dyn TextToSpeech> {
    let s = &config.speech;
    match s.tts {
        SpeechProvider::Wyoming => Arc::new(WyomingTts::new(WyomingTtsConfig {
            voice: s.wyoming.voice.clone(),
            ..WyomingTtsConfig::new(s.wyoming.tts.clone())
        })),
        SpeechProvider::Fake => Arc::new(FakeTts::new(FakeTtsConfig::default())),
    }
}

/// The call API's settings, or `None` when no authentication is configured
/// (then the call API is not served: it must never run unauthenticated).
pub(super) fn api_config(config: &Config) -> Option<crate::adapter::http::api::ApiConfig> {
    use crate::adapter::http::api::{ApiConfig, AuthConfig, LimitsConfig, TenantLimits};
    let a = &config.auth;
    if a.jwt_secret.is_none() && a.jwks_url.is_none() {
        return None;
    }
    let l = &config.limits;
    Some(ApiConfig {
        auth: AuthConfig {
            jwt_secret: a.jwt_secret.as_ref().map(|s| s.expose().to_owned()),
            jwks_url: a.jwks_url.clone(),
            issuer: a.issuer.clone(),
            audience: a.audience.clone(),
            tenant_claim: a.tenant_claim.clone(),
            scope_claim: a.scope_claim.clone(),
            leeway: a.leeway.0.as_secs(),
        },
        limits: LimitsConfig {
            max_concurrent_calls: l.max_concurrent_calls,
            originate_per_minute: l.originate_per_minute,
            burst: l.burst,
            per_tenant: l
                .tenants
                .iter()
                .map(|(k, v)| {
                    let t = TenantLimits {
                        max_concurrent_calls: v.max_concurrent_calls,
                        originate_per_minute: v.originate_per_minute,
                        burst: v.burst,
                    };
                    (k.clone(), t)
                })
                .collect(),
        },
        max_body_bytes: config.http.max_body_bytes,
    })
}
