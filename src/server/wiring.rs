//! Building the adapters the configuration asks for.

use super::ServerError;
use crate::{
    adapter::{
        ari::{AriClient, AriClientConfig},
        config::Config,
        config::MediaTransport,
        media::{AudioSocketListener, MediaMetrics, UdpMediaConfig, UdpMediaEndpoint},
        orchestrator::{self, OrchestratorConfig},
        speech::fallback::SpeechMetrics,
    },
    application::{
        admission::AdmissionLimits,
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

/// The telephony port: ARI, with AMI behind it when `[ami] url` is set.
fn telephony(
    config: &Config,
    ari: Arc<AriClient>,
    registry: &mut Registry,
) -> Result<Arc<dyn crate::application::ports::telephony::Telephony>, ServerError> {
    use crate::adapter::ami::{AmiClient, AmiConfig, AmiMetrics, AriWithAmi};
    let a = &config.ami;
    let Some(url) = &a.url else {
        return Ok(ari);
    };
    let ami = AmiConfig::from_url(url, &a.username, a.secret.expose(), a.timeout.0)
        .map_err(|e| ServerError::Setup(format!("ami.url: {e}")))?;
    let address = ami.address.clone();
    let client = AmiClient::new(ami);
    // Checked once at start, so a wrong address or secret shows in the log
    // now rather than during the ARI outage it is there for. Not a readiness
    // condition: ARI is what calls need.
    let probe = client.clone();
    tokio::spawn(async move {
        match probe.ping().await {
            Ok(()) => tracing::info!(%address, "AMI fallback ready"),
            Err(e) => tracing::warn!(%address, error = %e, "AMI fallback not usable now"),
        }
    });
    let metrics = AmiMetrics::register(registry);
    Ok(Arc::new(AriWithAmi::new(ari, client, metrics)))
}

/// The addresses of the ARI URL's host: where an externalMedia channel that
/// reports no RTP address may send from (see `MediaCommand::Latch`). Resolved
/// once at start; a name that does not resolve leaves none (then only legs
/// whose address Asterisk reports get audio), and says so.
fn asterisk_hosts(ari_url: &str) -> Vec<std::net::IpAddr> {
    use std::net::ToSocketAddrs;
    let Ok(url) = reqwest::Url::parse(ari_url) else {
        return Vec::new();
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Vec::new();
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match (host, port).to_socket_addrs() {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(e) => {
            tracing::warn!(%host, error = %e, "ari.url host does not resolve: RTP is taken only from addresses Asterisk reports");
            Vec::new()
        }
    }
}

pub(super) fn session_deps(
    config: &Config,
    ari: Arc<AriClient>,
    data: &super::data::Data,
    registry: &mut Registry,
) -> Result<SessionDeps, ServerError> {
    let metrics = MediaMetrics::register(registry);
    let mut media_config = UdpMediaConfig::from_media_config(&config.media);
    media_config.asterisk_hosts = asterisk_hosts(&config.ari.url);
    let mut media = UdpMediaEndpoint::new(media_config).with_metrics(metrics.clone());
    if uses_audiosocket(config) {
        let addr =
            std::net::SocketAddr::new(config.media.bind_address, config.media.audiosocket_port);
        let listener = AudioSocketListener::bind(addr, metrics).map_err(|e| {
            ServerError::Setup(format!(
                "media.audiosocket_port: cannot listen on {addr}: {e}"
            ))
        })?;
        media = media.with_audiosocket(listener);
    }
    let o = &config.orchestrator;
    let orchestrator = orchestrator::from_config(&OrchestratorConfig {
        url: o.url.clone().filter(|u| !u.trim().is_empty()),
        token: o.token.clone(),
        reply_timeout: o.reply_timeout.0,
        connect_timeout: o.connect_timeout.0,
        idle_timeout: o.idle_timeout.0,
        greeting: o.greeting.clone(),
        transfer_target: o.transfer_target.clone(),
        breaker: crate::adapter::speech::fallback::BreakerConfig {
            failures: o.breaker_failures.max(1),
            cool_down: o.breaker_cool_down.0,
        },
        ..OrchestratorConfig::default()
    })
    .map_err(|e| ServerError::Setup(format!("orchestrator: {e}")))?;
    let speech_metrics = SpeechMetrics::register(registry);
    let speech = super::speech::speech(config, &speech_metrics)?;
    let s = &config.session;
    let mut session = SessionConfig {
        transport: config.media.transport,
        wire_format: config.media.wire_format(),
        advertise_ip: config.media.advertise_address,
        silence_timeout: s.silence_timeout.0,
        max_reprompts: s.max_reprompts,
        endpointing: s.endpointing.0,
        finish_on_pause: s.finish_on_pause,
        // Trailing off never ends a turn sooner than a finished sentence.
        endpointing_incomplete: s.endpointing_incomplete.0.max(s.endpointing.0),
        first_clause_words: s.first_clause_words as usize,
        speculative_reply: s.speculative_reply,
        max_turn: s.max_turn.0,
        final_timeout: s.final_timeout.0,
        playback_drain_grace: s.playback_drain_grace.0,
        barge_in: s.barge_in,
        dtmf_in_events: s.dtmf_in_events,
        barge_in_min_words: s.barge_in_min_words as usize,
        barge_in_mode: s.barge_in_mode.into(),
        barge_in_noise_max: s.barge_in_noise_max.0,
        barge_in_speech_min: s.barge_in_speech_min.0,
        barge_in_decide_timeout: s.barge_in_decide_timeout.0,
        barge_in_backchannels: s.barge_in_backchannels.clone(),
        barge_in_echo_guard: s.barge_in_echo_guard,
        barge_in_resume_early: s.barge_in_resume_early,
        transfer_context: s.transfer_context.clone(),
        transfer_mode: s.transfer_mode.into(),
        transfer_endpoints: s.transfer_endpoints.clone(),
        transfer_ring_timeout: s.transfer_ring_timeout.0,
        transfer_unavailable_text: s.transfer_unavailable_text.clone(),
        unavailable_text: s.unavailable_text.clone(),
        unknown_did_media: Some(s.unknown_did_sound.clone()).filter(|m| !m.is_empty()),
        outbound_endpoint: config.outbound.endpoint.clone(),
        screening: config.outbound.machine_detection.screen_config(),
        dialing: crate::adapter::config::dialing_policy(config)
            .map_err(|(key, problem)| ServerError::Setup(format!("{key}: {problem}")))?,
        tts_first_byte_timeout: config.speech.first_byte_timeout.0,
        resume_text: config.ha.resume_text.trim().to_owned(),
        ..SessionConfig::default()
    };
    // Resampled once, to the rate the call's audio leaves at.
    session.tts_failure_prompt = super::speech::failure_prompt(config, session.wire_format.rate())?;
    Ok(SessionDeps {
        telephony: telephony(config, ari, registry)?,
        media: Arc::new(media),
        directory: data.directory.clone(),
        orchestrator,
        stt: speech.stt,
        tts: speech.tts,
        speech: Some(speech.catalog),
        events: data.events.publisher(),
        store: data.store.clone(),
        history: data.history.clone(),
        config: Arc::new(session),
        traces: crate::adapter::telemetry::call_traces(),
    })
}

/// Whether a call may use AudioSocket: the instance's transport, a
/// `[[routes]]` entry's, or (unknown until calls come) a database route's.
fn uses_audiosocket(config: &Config) -> bool {
    config.media.transport == MediaTransport::Audiosocket
        || config
            .routes
            .iter()
            .any(|r| r.transport == Some(MediaTransport::Audiosocket))
        || config.postgres.url.is_some()
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
            jwks_insecure_http: a.jwks_insecure_http,
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

/// The instance cap, its high-water mark and the tenants' shares.
pub(super) fn admission_limits(config: &Config) -> AdmissionLimits {
    let l = &config.limits;
    let max = l.max_live_calls as usize;
    AdmissionLimits {
        max_live_calls: max,
        // Rounded up, and at least one call: a mark of 0 would never be ready.
        high_water: (max * usize::from(l.ready_high_water_percent))
            .div_ceil(100)
            .max(1),
        tenant_max: l
            .tenants
            .iter()
            .filter_map(|(t, v)| {
                let tenant = crate::domain::TenantId::parse(t.as_str()).ok()?;
                Some((tenant, v.max_live_calls? as usize))
            })
            .collect(),
    }
}
