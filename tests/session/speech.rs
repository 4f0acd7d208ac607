//! Per-route speech providers on the paused clock. Fakes stand behind the
//! provider names: the catalog maps names to providers, whatever they are.

use crate::harness::{Call, Options, start};
use serde_json::json;
use std::{sync::Arc, time::Duration};
use voice_gateway::{
    adapter::speech::{
        catalog::ProviderCatalog,
        fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig, FakeTtsFailure},
        fallback::{FallbackConfig, SpeechMetrics},
    },
    application::{
        ports::{
            directory::{DirectoryError, Route, TenantDirectory},
            orchestrator::BoxFuture,
            speech::SpeechCatalog,
        },
        session::SessionCommand,
    },
    domain::{AgentId, Did, TenantId},
};

/// The instance default is `fake` (the harness's own fakes); `wyoming` and
/// `deepgram` are two more fakes; `elevenlabs` lacks its key.
pub(crate) struct Speech {
    pub(crate) default_stt: FakeStt,
    pub(crate) default_tts: FakeTts,
    pub(crate) wyoming_tts: FakeTts,
    pub(crate) deepgram_tts: FakeTts,
    pub(crate) wyoming_stt: FakeStt,
    pub(crate) metrics: SpeechMetrics,
    pub(crate) catalog: Arc<dyn SpeechCatalog>,
}

pub(crate) fn speech() -> Speech {
    let metrics = SpeechMetrics::default();
    let mut c = ProviderCatalog::new(
        vec!["fake".into()],
        vec!["fake".into()],
        FallbackConfig::default(),
        metrics.clone(),
    );
    let tts = || FakeTts::new(FakeTtsConfig::default());
    let (default_tts, wyoming_tts, deepgram_tts) = (tts(), tts(), tts());
    let stt = || {
        FakeStt::new(FakeSttConfig {
            trailing_silence: None,
            ..Default::default()
        })
    };
    let (default_stt, wyoming_stt) = (stt(), stt());
    c.add_tts("fake", Arc::new(default_tts.clone()));
    c.add_tts("wyoming", Arc::new(wyoming_tts.clone()));
    c.add_tts("deepgram", Arc::new(deepgram_tts.clone()));
    c.add_stt("fake", Arc::new(default_stt.clone()), true);
    c.add_stt("wyoming", Arc::new(wyoming_stt.clone()), true);
    c.add_unavailable("elevenlabs", "speech.elevenlabs.api_key is not set");
    Speech {
        default_stt,
        default_tts,
        wyoming_tts,
        deepgram_tts,
        wyoming_stt,
        metrics,
        catalog: Arc::new(c),
    }
}

pub(crate) fn options(s: &Speech, routes: &'static str) -> Options {
    Options {
        routes,
        stt: Some(s.default_stt.clone()),
        tts: Some(s.default_tts.clone()),
        speech: Some(s.catalog.clone()),
        ..Options::default()
    }
}

fn greeting_said_by(tts: &FakeTts) -> bool {
    tts.log()
        .texts
        .iter()
        .any(|t| t.contains("built-in assistant"))
}

#[tokio::test(start_paused = true)]
async fn a_route_speaks_and_listens_with_the_providers_it_names() {
    let s = speech();
    let call = start(options(
        &s,
        "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
         stt = \"wyoming\"\ntts = \"wyoming\"\n",
    ));
    call.until_event("tts.generated").await;
    assert!(
        greeting_said_by(&s.wyoming_tts),
        "{:?}",
        s.wyoming_tts.log()
    );
    assert!(s.default_tts.log().texts.is_empty());
    assert_eq!((s.wyoming_stt.log().opened, call.stt.log().opened), (1, 0));

    s.wyoming_stt.expect_utterances(["hello there"]);
    call.speak(Duration::from_millis(800)).await;
    call.until(|c| c.count("tts.generated") == 2, "the reply played")
        .await;
    assert_eq!(call.data("stt.transcribed")["text"], "hello there");
    assert!(
        s.wyoming_tts
            .log()
            .texts
            .iter()
            .any(|t| t.contains("You said: hello there"))
    );
    assert!(s.default_tts.log().texts.is_empty());
    let ended = hang_up(call).await;
    assert_eq!(ended["stt_providers"], json!(["wyoming"]));
    assert_eq!(ended["tts_providers"], json!(["wyoming"]));
}

/// The caller hangs up; the data of `call.ended`.
async fn hang_up(mut call: Call) -> serde_json::Value {
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    call.ended().await;
    call.data("call.ended")
}

#[tokio::test(start_paused = true)]
async fn a_route_naming_nothing_keeps_the_instance_default() {
    let s = speech();
    let call = start(options(&s, Options::default().routes));
    call.until_event("tts.generated").await;
    assert!(greeting_said_by(&s.default_tts));
    assert!(s.wyoming_tts.log().texts.is_empty());
    assert_eq!((call.stt.log().opened, s.wyoming_stt.log().opened), (1, 0));
}

/// A directory answering one fixed route, as a database row would.
struct OneRoute(Route);

impl TenantDirectory for OneRoute {
    fn lookup<'a>(&'a self, _: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
        let r = self.0.clone();
        Box::pin(async move { Ok(Some(r)) })
    }

    fn owner<'a>(&'a self, _: &'a Did) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
        Box::pin(async move { Ok(None) })
    }

    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
        let agents = (self.0.tenant == *tenant).then(|| self.0.agent.clone());
        Box::pin(async move { Ok(agents.into_iter().collect()) })
    }
}

#[tokio::test(start_paused = true)]
async fn a_database_route_naming_unusable_providers_gets_the_default() {
    let s = speech();
    let route = Route {
        stt: Some("whisper-9000".into()),
        tts: Some("elevenlabs".into()),
        tts_fallback: vec!["wyoming".into()],
        ..Route::outbound(
            TenantId::parse("acme").unwrap(),
            AgentId::parse("builtin").unwrap(),
        )
    };
    let call = start(Options {
        directory: Some(Arc::new(OneRoute(route))),
        ..options(&s, Options::default().routes)
    });
    call.until_event("tts.generated").await;
    assert!(greeting_said_by(&s.default_tts));
    assert!(s.wyoming_tts.log().texts.is_empty());
    assert_eq!(call.stt.log().opened, 1);
    assert_eq!(call.count("error.tts_failed"), 0);
    let ended = hang_up(call).await;
    assert_eq!(ended["stt_providers"], json!(["fake"]));
    assert_eq!(ended["tts_providers"], json!(["fake"]));
}

#[tokio::test(start_paused = true)]
async fn a_stalled_first_provider_is_replaced_before_the_session_gives_up() {
    let s = speech();
    // The chain switches after its 5 s first-byte timeout; the session's own
    // backstop must leave it that time (it used to fire at 5 s as well).
    s.wyoming_tts.fail_next(FakeTtsFailure::StallAfterChunks(0));
    let call = start(options(
        &s,
        "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
         tts = \"wyoming\"\ntts_fallback = [\"deepgram\"]\n",
    ));
    call.until_event("tts.generated").await;
    assert!(greeting_said_by(&s.deepgram_tts), "{:?}", call.types());
    assert_eq!(call.count("error.tts_failed"), 0, "{:?}", call.types());
    assert_eq!(s.metrics.fallbacks("tts", "wyoming"), 1);
    let ended = hang_up(call).await;
    assert_eq!(ended["tts_providers"], json!(["wyoming", "deepgram"]));
    assert_eq!(ended["stt_providers"], json!(["fake"]));
}

/// A synthesis that takes longer to open than the first-byte timeout (a
/// busy machine, a slow handshake) still has the whole timeout for its first
/// audio once open: the deadline counts from the text sent, not from the
/// input that asked for the speech.
#[tokio::test(start_paused = true)]
async fn a_slow_opening_does_not_spend_the_first_byte_timeout() {
    let config = voice_gateway::application::session::SessionConfig {
        tts_first_byte_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let call = start(Options {
        config,
        tts: Some(FakeTts::new(FakeTtsConfig {
            open_delay: Duration::from_secs(3),
            first_audio_delay: Duration::from_millis(100),
            ..FakeTtsConfig::default()
        })),
        ..Options::default()
    });
    call.until_event("tts.generated").await;
    assert_eq!(call.count("error.tts_failed"), 0, "{:?}", call.types());
}

/// The leg plays the agent's audio but never reports it played out (its
/// report lost, the leg stuck): past the audio and
/// `session.playback_drain_grace`, the call goes on as if it had — the
/// greeting's `tts.generated`, then the caller's turn answered.
#[tokio::test(start_paused = true)]
async fn a_speech_whose_playout_is_never_reported_ends_after_the_grace() {
    let config = voice_gateway::application::session::SessionConfig {
        playback_drain_grace: Duration::from_secs(2),
        ..Default::default()
    };
    let call = start(Options {
        config,
        media: Some(crate::fakes::FakeMedia {
            never_drains: true,
            ..crate::fakes::FakeMedia::default()
        }),
        ..Options::default()
    });
    call.until_event("tts.generated").await;
    call.speak(Duration::from_millis(800)).await;
    call.until(|c| c.count("tts.generated") == 2, "the turn answered")
        .await;
    assert_eq!(call.media.log.lock().unwrap().drained, 0);
}
