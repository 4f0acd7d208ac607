//! Starts one session over the fakes and speaks for the caller.

use crate::fakes::{FakeMedia, FakeTelephony, MemoryEvents, SlowStore};
use std::{sync::Arc, time::Duration};
use tokio::{sync::mpsc, time::Instant};
use voice_gateway::{
    adapter::{
        config::load_from_str,
        directory::StaticDirectory,
        orchestrator::{BuiltinAgent, OrchestratorConfig},
        speech::fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig},
    },
    application::{
        admission::CallAdmission,
        ports::{
            directory::{Route, TenantDirectory},
            media::{CallerAudio, MediaEvent},
            orchestrator::AgentOrchestrator,
            speech::SpeechCatalog,
        },
        session::{
            InboundCall, OutboundStart, SessionCommand, SessionConfig, SessionDeps, SessionEnded,
            spawn_inbound,
        },
    },
    domain::{
        AgentId, CallId, Did, TenantId,
        call::{CallInput, Direction},
        screening::OnMachine,
    },
};

pub(crate) struct Call {
    pub(crate) commands: mpsc::Sender<SessionCommand>,
    pub(crate) ended: mpsc::UnboundedReceiver<SessionEnded>,
    pub(crate) telephony: Arc<FakeTelephony>,
    pub(crate) media: Arc<FakeMedia>,
    pub(crate) events: Arc<MemoryEvents>,
    pub(crate) stt: Arc<FakeStt>,
    pub(crate) tts: Arc<FakeTts>,
    pub(crate) admission: Arc<CallAdmission>,
    pub(crate) history: Arc<voice_gateway::application::ports::history::MemoryHistory>,
}

pub(crate) struct Options {
    pub(crate) did: &'static str,
    pub(crate) routes: &'static str,
    pub(crate) orchestrator: Option<Arc<dyn AgentOrchestrator>>,
    pub(crate) config: SessionConfig,
    /// The instance's default recogniser and synthesiser (fresh fakes when `None`).
    pub(crate) stt: Option<FakeStt>,
    pub(crate) tts: Option<FakeTts>,
    /// The providers routes may choose from.
    pub(crate) speech: Option<Arc<dyn SpeechCatalog>>,
    /// Replaces the directory built from `routes` (a database's rows).
    pub(crate) directory: Option<Arc<dyn TenantDirectory>>,
    /// Whether the externalMedia channel enters Stasis (the router's
    /// `MediaChannelReady`) right after the session starts.
    pub(crate) media_ready: bool,
    /// The media endpoint (a fresh fake reading audio at once when `None`).
    pub(crate) media: Option<FakeMedia>,
    /// How long each store write and each event publish takes.
    pub(crate) write_delay: Duration,
    /// An outbound call, answered, screened for a machine first when this
    /// says what a machine gets.
    pub(crate) outbound: Option<Option<OnMachine>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            did: "+15551234567",
            routes: "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
            orchestrator: None,
            // The fake leg does not model a barge-in hold's pause: these
            // sessions barge in at once (pause mode: the core's tests and
            // tests/asterisk/hold.rs).
            config: SessionConfig {
                barge_in_mode: voice_gateway::application::session::BargeInMode::Cancel,
                ..SessionConfig::default()
            },
            stt: None,
            tts: None,
            speech: None,
            directory: None,
            media_ready: true,
            media: None,
            write_delay: Duration::ZERO,
            outbound: None,
        }
    }
}

/// An answered outbound call to `did` for acme's built-in agent.
fn outbound_start(detect_machine: Option<OnMachine>) -> OutboundStart {
    let now = std::time::SystemTime::now();
    let mut call = voice_gateway::domain::call::Call::new(Direction::Outbound, now);
    call.apply(CallInput::Originate, now).unwrap();
    call.apply(CallInput::Answered, now).unwrap();
    OutboundStart {
        call_id: CallId::parse("out-1").unwrap(),
        route: Route::outbound(
            TenantId::parse("acme").unwrap(),
            AgentId::parse("builtin").unwrap(),
        ),
        call,
        metadata: Default::default(),
        detect_machine,
        published: 2,
    }
}

pub(crate) fn start(opts: Options) -> Call {
    let cfg = load_from_str(opts.routes, Vec::new()).unwrap();
    let media_ready = opts.media_ready;
    let telephony = Arc::new(FakeTelephony::default());
    let media = Arc::new(opts.media.unwrap_or_default());
    let events = Arc::new(MemoryEvents(Default::default(), opts.write_delay));
    let history = Arc::new(voice_gateway::application::ports::history::MemoryHistory::default());
    let stt = Arc::new(opts.stt.unwrap_or_else(|| {
        FakeStt::new(FakeSttConfig {
            trailing_silence: None,
            ..Default::default()
        })
    }));
    let tts = Arc::new(
        opts.tts
            .unwrap_or_else(|| FakeTts::new(FakeTtsConfig::default())),
    );
    let orchestrator = opts
        .orchestrator
        .unwrap_or_else(|| Arc::new(BuiltinAgent::new(&OrchestratorConfig::default()).unwrap()));
    let deps = SessionDeps {
        telephony: telephony.clone(),
        media: media.clone(),
        directory: opts
            .directory
            .unwrap_or_else(|| Arc::new(StaticDirectory::new(&cfg.routes))),
        orchestrator,
        stt: stt.clone(),
        tts: tts.clone(),
        speech: opts.speech,
        events: events.clone(),
        store: Arc::new(SlowStore {
            delay: opts.write_delay,
            ..SlowStore::default()
        }),
        history: history.clone(),
        config: Arc::new(opts.config),
        traces: Arc::new(voice_gateway::application::ports::traces::NoTraces),
    };
    let admission = Arc::new(CallAdmission::default());
    let (ended_tx, ended) = mpsc::unbounded_channel();
    let inbound = InboundCall {
        caller: ari::ChannelId::new("1795241008.163"),
        channel_name: "PJSIP/trunk-00000001".into(),
        did: Did::parse(opts.did).unwrap(),
        caller_number: "+15557654321".into(),
        outbound: opts.outbound.map(outbound_start),
    };
    let handle = spawn_inbound(deps, inbound, admission.try_admit().unwrap(), ended_tx);
    // What the router forwards once Asterisk puts the externalMedia channel
    // into Stasis; setup waits for it before bridging the channel.
    if media_ready {
        handle
            .commands
            .try_send(SessionCommand::MediaChannelReady)
            .unwrap();
    }
    Call {
        commands: handle.commands,
        ended,
        telephony,
        media,
        events,
        stt,
        tts,
        admission,
        history,
    }
}

impl Call {
    /// The event types published so far, in order.
    pub(crate) fn types(&self) -> Vec<String> {
        self.events
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.event_type.as_str().to_owned())
            .collect()
    }

    /// The data of the last event of a type.
    pub(crate) fn data(&self, t: &str) -> serde_json::Value {
        let events = self.events.0.lock().unwrap();
        events
            .iter()
            .rev()
            .find(|e| e.event_type.as_str() == t)
            .map(|e| e.data.clone())
            .unwrap_or_default()
    }

    /// Waits (in virtual time) until `pred` holds; panics after 120 virtual seconds.
    pub(crate) async fn until(&self, pred: impl Fn(&Call) -> bool, what: &str) {
        let end = Instant::now() + Duration::from_secs(120);
        while !pred(self) {
            assert!(
                Instant::now() < end,
                "never happened: {what}; events: {:?}",
                self.types()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub(crate) async fn until_event(&self, t: &str) {
        self.until(|c| c.types().iter().any(|x| x == t), t).await;
    }

    pub(crate) fn count(&self, t: &str) -> usize {
        self.types().iter().filter(|x| *x == t).count()
    }

    /// The caller talks for `duration`: VAD start, loud frames every 20 ms, VAD end.
    pub(crate) async fn speak(&self, duration: Duration) {
        let tx = self
            .media
            .caller
            .lock()
            .unwrap()
            .clone()
            .expect("media leg open");
        tx.send(MediaEvent::SpeechStarted {
            at: Instant::now().into_std(),
            echo: false,
        })
        .await
        .unwrap();
        // At the rate the leg was opened to deliver (the recogniser's).
        let rate = self.media.log.lock().unwrap().stt_rate.unwrap_or(16_000);
        let len = rate as usize / 50;
        let frames = duration.as_millis() / 20;
        for n in 0..frames {
            let pcm = (0..len)
                .map(|i| {
                    let t = (n as usize * len + i) as f64 / f64::from(rate);
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            let frame = CallerAudio {
                pcm,
                rate,
                at: Instant::now().into_std(),
            };
            tx.send(MediaEvent::Audio(frame)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.send(MediaEvent::SpeechEnded {
            at: Instant::now().into_std(),
        })
        .await
        .unwrap();
    }

    /// Waits for the session's end report.
    pub(crate) async fn ended(&mut self) -> SessionEnded {
        tokio::time::timeout(Duration::from_secs(120), self.ended.recv())
            .await
            .expect("session ends")
            .unwrap()
    }
}
