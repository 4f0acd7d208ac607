//! Building the adapters the configuration asks for.

use super::ServerError;
use crate::{
    adapter::{
        ari::{AriClient, AriClientConfig},
        config::{CloudSection, Config, SpeechProvider},
        media::{MediaMetrics, UdpMediaConfig, UdpMediaEndpoint},
        orchestrator::{self, OrchestratorConfig},
        speech::{
            deepgram::{ApiKey, DeepgramConfig, DeepgramStt, DeepgramTts},
            elevenlabs::{ElevenLabsConfig, ElevenLabsTts},
            fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig},
            fallback::{FallbackConfig, FallbackStt, FallbackTts, SpeechMetrics},
            openai::{OpenAiTts, OpenAiTtsConfig},
            wyoming::{WyomingStt, WyomingSttConfig, WyomingTts, WyomingTtsConfig},
        },
    },
    application::{
        ports::speech::{SpeechToText, TextToSpeech},
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
    data: &super::data::Data,
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
    let speech_metrics = SpeechMetrics::register(registry);
    let stt = speech_to_text(config, &speech_metrics)?;
    let tts = text_to_speech(config, &speech_metrics)?;
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
        transfer_mode: s.transfer_mode.into(),
        transfer_endpoints: s.transfer_endpoints.clone(),
        transfer_ring_timeout: s.transfer_ring_timeout.0,
        transfer_unavailable_text: s.transfer_unavailable_text.clone(),
        unknown_did_media: Some(s.unknown_did_sound.clone()).filter(|m| !m.is_empty()),
        outbound_endpoint: config.outbound.endpoint.clone(),
        ..SessionConfig::default()
    };
    Ok(SessionDeps {
        telephony: ari,
        media: Arc::new(media),
        directory: data.directory.clone(),
        orchestrator,
        stt,
        tts,
        events: data.events.publisher(),
        store: data.store.clone(),
        history: data.history.clone(),
        config: Arc::new(session),
    })
}

/// The STT the sessions use: the `[speech] stt` provider, behind a fallback
/// decorator when `stt_fallback` names others.
fn speech_to_text(
    config: &Config,
    metrics: &SpeechMetrics,
) -> Result<Arc<dyn SpeechToText>, ServerError> {
    let s = &config.speech;
    let one = |p: SpeechProvider| -> Result<Arc<dyn SpeechToText>, ServerError> {
        Ok(match p {
            SpeechProvider::Wyoming => Arc::new(WyomingStt::new(WyomingSttConfig::new(
                s.wyoming.stt.clone(),
            ))),
            SpeechProvider::Fake => Arc::new(FakeStt::new(FakeSttConfig::default())),
            SpeechProvider::Deepgram => Arc::new(DeepgramStt::new(deepgram(config)?)),
            other => {
                return Err(ServerError::Setup(format!(
                    "speech.stt: {} offers no speech-to-text",
                    other.name()
                )));
            }
        })
    };
    if s.stt_fallback.is_empty() {
        return one(s.stt);
    }
    let chain = std::iter::once(s.stt).chain(s.stt_fallback.iter().copied());
    let providers = chain
        .map(|p| Ok((p.name().to_owned(), one(p)?)))
        .collect::<Result<Vec<_>, ServerError>>()?;
    // Wyoming answers only at the end of an utterance: no stall detection then.
    let wyoming = std::iter::once(s.stt)
        .chain(s.stt_fallback.iter().copied())
        .any(|p| p == SpeechProvider::Wyoming);
    let cfg = FallbackConfig {
        first_byte_timeout: s.first_byte_timeout.0,
        stt_stall_timeout: if wyoming {
            None
        } else {
            FallbackConfig::default().stt_stall_timeout
        },
        ..FallbackConfig::default()
    };
    Ok(Arc::new(FallbackStt::new(providers, cfg, metrics.clone())))
}

/// The TTS the sessions use: the `[speech] tts` provider, behind a fallback
/// decorator when `tts_fallback` names others.
fn text_to_speech(
    config: &Config,
    metrics: &SpeechMetrics,
) -> Result<Arc<dyn TextToSpeech>, ServerError> {
    let s = &config.speech;
    let one = |p: SpeechProvider| -> Result<Arc<dyn TextToSpeech>, ServerError> {
        Ok(match p {
            SpeechProvider::Wyoming => Arc::new(WyomingTts::new(WyomingTtsConfig {
                voice: s.wyoming.voice.clone(),
                ..WyomingTtsConfig::new(s.wyoming.tts.clone())
            })),
            SpeechProvider::Fake => Arc::new(FakeTts::new(FakeTtsConfig::default())),
            SpeechProvider::Deepgram => Arc::new(DeepgramTts::new(deepgram(config)?)),
            SpeechProvider::Elevenlabs => Arc::new(ElevenLabsTts::new(elevenlabs(config)?)),
            SpeechProvider::Openai => Arc::new(
                OpenAiTts::new(openai(config))
                    .map_err(|e| ServerError::Setup(format!("speech.openai: {e}")))?,
            ),
        })
    };
    if s.tts_fallback.is_empty() {
        return one(s.tts);
    }
    let chain = std::iter::once(s.tts).chain(s.tts_fallback.iter().copied());
    let providers = chain
        .map(|p| Ok((p.name().to_owned(), one(p)?)))
        .collect::<Result<Vec<_>, ServerError>>()?;
    let cfg = FallbackConfig {
        first_byte_timeout: s.first_byte_timeout.0,
        ..FallbackConfig::default()
    };
    Ok(Arc::new(FallbackTts::new(providers, cfg, metrics.clone())))
}

/// A cloud API key from the config file, else from its environment variable.
fn key(section: &CloudSection, var: &str, what: &str) -> Result<ApiKey, ServerError> {
    section
        .api_key
        .as_ref()
        .map(|k| ApiKey::new(k.expose()))
        .or_else(|| ApiKey::from_env(var))
        .ok_or_else(|| ServerError::Setup(format!("speech.{what}.api_key is not set (nor {var})")))
}

fn deepgram(config: &Config) -> Result<DeepgramConfig, ServerError> {
    let c = &config.speech.deepgram;
    let mut d = DeepgramConfig {
        api_key: key(c, "DEEPGRAM_API_KEY", "deepgram")?,
        ..DeepgramConfig::default()
    };
    if let Some(v) = &c.base_url {
        d.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        d.stt_model = v.clone();
    }
    if let Some(v) = &c.voice {
        d.tts_model = v.clone();
    }
    if c.language.is_some() {
        d.language = c.language.clone();
    }
    Ok(d)
}

fn elevenlabs(config: &Config) -> Result<ElevenLabsConfig, ServerError> {
    let c = &config.speech.elevenlabs;
    let mut e = ElevenLabsConfig {
        api_key: key(c, "ELEVENLABS_API_KEY", "elevenlabs")?,
        ..ElevenLabsConfig::default()
    };
    if let Some(v) = &c.base_url {
        e.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        e.model_id = v.clone();
    }
    if let Some(v) = &c.voice {
        e.voice_id = v.clone();
    }
    Ok(e)
}

/// Self-hosted OpenAI-compatible servers may need no key.
fn openai(config: &Config) -> OpenAiTtsConfig {
    let c = &config.speech.openai;
    let mut o = OpenAiTtsConfig {
        api_key: key(c, "OPENAI_API_KEY", "openai").unwrap_or_default(),
        ..OpenAiTtsConfig::default()
    };
    if let Some(v) = &c.base_url {
        o.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        o.model = v.clone();
    }
    if let Some(v) = &c.voice {
        o.voice = v.clone();
    }
    o
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
