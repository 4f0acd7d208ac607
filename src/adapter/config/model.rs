//! The configuration's shape and its embedded defaults.
//!
//! Each field's doc is the reference an operator reads; `config/voice-gateway.toml`
//! repeats it key by key. Unknown keys are rejected so a typo never silently
//! falls back to a default.

use super::{
    HumanDuration, KafkaSection, PortRange, PostgresSection, RedisSection, Secret, SpeechSection,
};
use crate::domain::{AgentId, EndpointTemplate, TenantId, transfer::TransferTarget};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

/// The whole configuration of one gateway instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The management HTTP server (API, health, metrics).
    pub http: HttpConfig,
    /// The Asterisk REST Interface this instance drives.
    pub ari: AriConfig,
    /// The manager interface, ARI's fallback for call control (absent URL: off).
    pub ami: AmiSection,
    /// Where call audio is received and sent.
    pub media: MediaConfig,
    /// Logging.
    pub log: LogConfig,
    /// Distributed traces (`[telemetry.otlp]`; off by default).
    pub telemetry: super::TelemetrySection,
    /// Start-up and shutdown behaviour.
    pub lifecycle: LifecycleConfig,
    /// Where call events go.
    pub events: EventsConfig,
    /// The agent orchestrator (none: the built-in agent).
    pub orchestrator: OrchestratorSection,
    /// Speech providers.
    pub speech: SpeechSection,
    /// The turn loop's timing.
    pub session: SessionSection,
    /// Outbound calls.
    pub outbound: OutboundSection,
    /// Which numbers the API and the agent may dial, and which caller ids.
    pub dialing: DialingSection,
    /// Authentication of the call API.
    pub auth: AuthSection,
    /// Per-tenant limits of the call API.
    pub limits: LimitsSection,
    /// The Redis call store (absent URL: memory).
    pub redis: RedisSection,
    /// An active and a standby instance per Asterisk (off by default).
    pub ha: super::HaSection,
    /// Call events to Kafka (absent brokers: the `[events]` file).
    pub kafka: KafkaSection,
    /// PostgreSQL routing and call history (absent URL: `[[routes]]`, no history).
    pub postgres: PostgresSection,
    /// The platform's tenant-manager (absent URL: off).
    pub tenant_manager: super::TenantManagerSection,
    /// Which directories answer a DID, in order.
    pub directory: super::DirectorySection,
    /// DID routing for the embedded default: `[[routes]]` tables, tried
    /// exact DID first, then the longest matching prefix pattern, then `*`.
    pub routes: Vec<RouteConfig>,
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP server listens on, `HOST:PORT`.
    pub listen: SocketAddr,
    /// Largest request body the call API accepts.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            max_body_bytes: 16 * 1024,
        }
    }
}

/// `[ari]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AriConfig {
    /// Base URL of Asterisk's HTTP server (without `/ari`).
    pub url: String,
    /// ARI user from Asterisk's `ari.conf`.
    pub username: String,
    /// That user's password. Never printed.
    pub password: Secret,
    /// Name of the Stasis application the dialplan sends calls to.
    pub app: String,
    /// Largest delay between reconnect attempts of the events socket (the delay
    /// grows from 250 ms with jitter up to this).
    pub reconnect_max_delay: HumanDuration,
    /// Timeout of one ARI REST request.
    pub request_timeout: HumanDuration,
    /// After another connection took the Stasis app over, take it back this
    /// long later. Absent: never (two instances that both reclaim would
    /// take the app from each other forever, each takeover losing events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclaim_after: Option<HumanDuration>,
}

impl Default for AriConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8088".into(),
            username: "voice-gateway".into(),
            password: Secret::default(),
            app: "voice-gateway".into(),
            reconnect_max_delay: HumanDuration(Duration::from_secs(10)),
            request_timeout: HumanDuration(Duration::from_secs(5)),
            reclaim_after: None,
        }
    }
}

/// `[ami]`: when an ARI request to hang up, continue in the dialplan or
/// originate fails for want of ARI (no connection, timeout, 5xx), it is sent
/// over the Asterisk Manager Interface instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmiSection {
    /// `tcp://HOST[:PORT]` of the manager (`manager.conf`, port 5038 by
    /// default); absent: no fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The manager user (a `manager.conf` section with `write = call,originate`).
    pub username: String,
    /// That user's secret. Never printed.
    pub secret: Secret,
    /// Deadline of one AMI action, connecting and logging in included.
    pub timeout: HumanDuration,
}

impl Default for AmiSection {
    fn default() -> Self {
        Self {
            url: None,
            username: "voice-gateway".into(),
            secret: Secret::default(),
            timeout: HumanDuration(Duration::from_secs(5)),
        }
    }
}

/// `[media]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Local address the per-call RTP sockets bind to.
    pub bind_address: IpAddr,
    /// Address Asterisk is told to send RTP to (`external_host`). Defaults to
    /// `bind_address`; required when that is a wildcard such as `0.0.0.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_address: Option<IpAddr>,
    /// UDP ports for per-call RTP sockets, `START-END` inclusive: one per call.
    pub rtp_port_range: PortRange,
    /// How Asterisk's externalMedia reaches us: `rtp` (UnicastRTP, µ-law 8 kHz),
    /// `audiosocket` (TCP, slin 8/16 kHz) or `websocket` (chan_websocket).
    /// A route may choose another.
    pub transport: MediaTransport,
    /// Audio format on the transport: `ulaw`, `alaw`, `slin` or `slin16`.
    /// Absent: `ulaw` over RTP, `slin16` over AudioSocket and WebSocket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<WireFormat>,
    /// TCP port of the AudioSocket listener on `bind_address` (0: any free
    /// port; each call's externalMedia request names the one bound). The
    /// listener runs only when the instance or a route uses `audiosocket`.
    pub audiosocket_port: u16,
    /// Least playout delay of the RTP jitter buffer. Each talkspurt plays
    /// `4 ×` the measured interarrival jitter late, never less than this
    /// (near 0 on loopback or a LAN) nor more than `jitter_max_delay`.
    pub jitter_min_delay: HumanDuration,
    /// Most playout delay of the RTP jitter buffer, however bad the jitter.
    pub jitter_max_delay: HumanDuration,
    /// Caller sound needed before the VAD declares speech (a multiple of
    /// 20 ms, 20-200 ms): the first part of every barge-in's stop delay.
    /// Shorter hears the caller sooner and pauses the agent on more clicks
    /// (in `barge_in_mode = "pause"` a click only pauses it briefly).
    pub vad_onset: HumanDuration,
    /// `SCHED_FIFO` priority (1-99; 10 by default) of the thread that sends
    /// every RTP packet at its 20 ms slot; 0: not real-time, nice -10. Needs
    /// `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least this; refused, the
    /// thread falls back to nice -10 and says so at start.
    pub pacing_priority: u8,
}

/// The externalMedia transport (`rtp`, `audiosocket`, `websocket`).
pub use crate::application::ports::media::Transport as MediaTransport;
/// The externalMedia audio format (`ulaw`, `alaw`, `slin`, `slin16`).
pub use crate::application::ports::telephony::WireFormat;

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            advertise_address: None,
            rtp_port_range: PortRange {
                start: 20000,
                end: 29999,
            },
            transport: MediaTransport::Rtp,
            format: None,
            audiosocket_port: 0,
            jitter_min_delay: HumanDuration(Duration::ZERO),
            jitter_max_delay: HumanDuration(Duration::from_millis(200)),
            vad_onset: HumanDuration(crate::adapter::media::VAD_ONSET),
            pacing_priority: crate::adapter::media::REALTIME_PRIORITY,
        }
    }
}

/// Output format of log lines.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log shippers.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter: `info`, `debug`, or `info,voice_gateway=debug`.
    pub level: String,
    /// `json` or `pretty`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Pretty,
        }
    }
}

/// `[lifecycle]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// On SIGTERM/SIGINT, how long live calls may go on before the process exits anyway.
    pub drain_deadline: HumanDuration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            drain_deadline: HumanDuration(Duration::from_secs(30)),
        }
    }
}

impl MediaConfig {
    /// The instance's format: the configured one, else the transport's best.
    pub fn wire_format(&self) -> WireFormat {
        self.format
            .unwrap_or_else(|| self.transport.default_format())
    }

    /// The address Asterisk should send this instance's RTP to.
    pub fn advertised(&self) -> IpAddr {
        self.advertise_address.unwrap_or(self.bind_address)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::default(),
            ari: AriConfig::default(),
            ami: AmiSection::default(),
            media: MediaConfig::default(),
            log: LogConfig::default(),
            telemetry: Default::default(),
            lifecycle: LifecycleConfig::default(),
            events: EventsConfig::default(),
            orchestrator: OrchestratorSection::default(),
            speech: SpeechSection::default(),
            session: SessionSection::default(),
            outbound: OutboundSection::default(),
            dialing: DialingSection::default(),
            auth: AuthSection::default(),
            limits: LimitsSection::default(),
            redis: RedisSection::default(),
            ha: super::HaSection::default(),
            kafka: KafkaSection::default(),
            postgres: PostgresSection::default(),
            tenant_manager: super::TenantManagerSection::default(),
            directory: super::DirectorySection::default(),
            // A fresh `make run` answers any DID with the built-in agent.
            routes: vec![RouteConfig {
                did: "*".into(),
                tenant: TenantId::parse("default").expect("valid"),
                agent: AgentId::parse("builtin").expect("valid"),
                greeting: None,
                language: "en-US".into(),
                stt: None,
                tts: None,
                stt_fallback: Vec::new(),
                tts_fallback: Vec::new(),
                secure_dtmf: false,
                store_transcripts: true,
                on_start_failure: None,
                transport: None,
                format: None,
            }],
        }
    }
}

/// `[events]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// JSON-lines file the embedded default appends one CloudEvents envelope per line to.
    pub path: PathBuf,
    /// CloudEvents `source` of this instance's events.
    pub source: String,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("var/events.jsonl"),
            source: "voice-gateway".into(),
        }
    }
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `*` (any), an exact DID (`+15551234567`, `100`) or a prefix ending in `*` (`+1555*`).
    pub did: String,
    /// Tenant id.
    pub tenant: TenantId,
    /// Agent id (`builtin` is the built-in agent).
    pub agent: AgentId,
    /// Greeting to speak first; absent lets the agent greet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// BCP 47 language.
    #[serde(default = "default_language")]
    pub language: String,
    /// Speech-to-text provider; absent for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stt: Option<String>,
    /// Text-to-speech provider; absent for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts: Option<String>,
    /// Speech-to-text providers that take over in order (with `stt`, or after
    /// the instance's `[speech] stt` when `stt` is absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stt_fallback: Vec<String>,
    /// Text-to-speech providers that take over in order (likewise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tts_fallback: Vec<String>,
    /// `rtp`, `audiosocket` or `websocket`; absent for `[media] transport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<MediaTransport>,
    /// `ulaw`, `alaw`, `slin` or `slin16`; absent: `[media] format` when the
    /// transport is the instance's, else the best the transport carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<WireFormat>,
    /// Every key pressed on calls of this route goes to the orchestrator
    /// only: `call.dtmf` carries no digit and the history says `[DTMF secure]`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secure_dtmf: bool,
    /// Off: calls of this route publish events without transcript text.
    #[serde(default = "default_true")]
    pub store_transcripts: bool,
    /// When the orchestrator or the recogniser cannot be had as a call
    /// starts: `apologise` (absent: `session.unavailable_text`, then the
    /// hangup) or `transfer:<target>` (a blind transfer into
    /// `session.transfer_context`; the apology if it fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_start_failure: Option<String>,
}

impl RouteConfig {
    /// Where `on_start_failure` sends the caller: `None` to apologise.
    pub fn start_failure_target(&self) -> Result<Option<TransferTarget>, String> {
        let Some(value) = self.on_start_failure.as_deref() else {
            return Ok(None);
        };
        if value == "apologise" {
            return Ok(None);
        }
        let Some(target) = value.strip_prefix("transfer:") else {
            return Err(format!(
                "{value:?} is neither \"apologise\" nor \"transfer:<target>\""
            ));
        };
        TransferTarget::parse(target)
            .map(Some)
            .map_err(|e| format!("{value:?}: {e}"))
    }
}

fn default_true() -> bool {
    true
}

fn default_language() -> String {
    "en-US".into()
}

/// `[orchestrator]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrchestratorSection {
    /// Base URL of the agent orchestrator; absent: the built-in agent answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Bearer token for it. Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Time allowed for the first part of a reply; then the fallback sentence.
    pub reply_timeout: HumanDuration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: HumanDuration,
    /// Longest gap between parts of a streamed reply.
    pub idle_timeout: HumanDuration,
    /// Built-in agent: its greeting (absent: the stock one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// Built-in agent: the extension it transfers callers to.
    pub transfer_target: String,
    /// Failures in a row (unreachable, timeouts, 5xx, 429) after which the
    /// orchestrator is not asked for `breaker_cool_down`: callers hear the
    /// fallback sentence at once instead of waiting `reply_timeout` each.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one request tries again.
    pub breaker_cool_down: HumanDuration,
}

impl Default for OrchestratorSection {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            reply_timeout: HumanDuration(Duration::from_secs(10)),
            connect_timeout: HumanDuration(Duration::from_secs(2)),
            idle_timeout: HumanDuration(Duration::from_secs(5)),
            greeting: None,
            transfer_target: "agents".into(),
            breaker_failures: 5,
            breaker_cool_down: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// `[session]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    /// Caller silence before a reprompt.
    pub silence_timeout: HumanDuration,
    /// Reprompts before goodbye and hangup.
    pub max_reprompts: u32,
    /// Silence after the end of speech before the turn ends.
    pub endpointing: HumanDuration,
    /// Ask the recogniser for the transcript as soon as the caller pauses
    /// (160 ms), not only at the end of the turn: Whisper then decodes
    /// while the turn's silence runs, and a transcript that ends a sentence
    /// ends the turn at once.
    pub finish_on_pause: bool,
    /// Silence after the end of speech before the turn ends when the
    /// transcript so far trails off ("and", "um", a comma).
    pub endpointing_incomplete: HumanDuration,
    /// A reply's first clause ("Let me check that for you,") of at least
    /// this many words is spoken on its own, before its sentence is
    /// complete; 0: whole sentences only.
    pub first_clause_words: u32,
    /// Send the caller's words to the agent as soon as the recogniser has
    /// them while the turn's end is still awaited; the reply is held and
    /// used if the caller says nothing more, dropped (and the agent told,
    /// `superseded`) if they go on.
    pub speculative_reply: bool,
    /// Longest caller turn.
    pub max_turn: HumanDuration,
    /// Wait for the STT's final transcript after the end of speech.
    pub final_timeout: HumanDuration,
    /// How long past the end of a speech's audio the call waits for the
    /// media leg's report that it played out before going on without it.
    pub playback_drain_grace: HumanDuration,
    /// Whether callers may interrupt the agent.
    pub barge_in: bool,
    /// Whether `call.dtmf` events carry the key pressed. Off: they say only
    /// that a key was pressed (`"masked": true`), so a card number or PIN
    /// typed on the keypad never reaches Kafka.
    pub dtmf_in_events: bool,
    /// Words an interim transcript needs to count as a barge-in (cancel mode).
    pub barge_in_min_words: u32,
    /// What caller sound over the agent does: `pause` (hold, then resume or
    /// cancel) or `cancel` (at once).
    pub barge_in_mode: super::BargeInModeSetting,
    /// Pause mode: sound shorter than this is noise; the agent resumes.
    pub barge_in_noise_max: HumanDuration,
    /// Pause mode: sound still going this long after its onset is speech.
    pub barge_in_speech_min: HumanDuration,
    /// Pause mode: how long after the onset a transcript may decide.
    pub barge_in_decide_timeout: HumanDuration,
    /// Pause mode: transcripts made only of these words resume the agent.
    pub barge_in_backchannels: Vec<String>,
    /// Pause mode: our own voice coming back pauses nothing.
    pub barge_in_echo_guard: bool,
    /// Pause mode: play on while a short sound's transcript is awaited.
    pub barge_in_resume_early: bool,
    /// Dialplan context that blind transfers to an extension enter.
    pub transfer_context: String,
    /// How the agent's transfer actions are done: blind or attended.
    pub transfer_mode: super::TransferModeSetting,
    /// Attended transfers: target name → dial endpoint.
    pub transfer_endpoints: std::collections::BTreeMap<String, String>,
    /// Attended transfers: how long the person's phone rings.
    pub transfer_ring_timeout: HumanDuration,
    /// Attended transfers: spoken when nobody answers.
    pub transfer_unavailable_text: String,
    /// Spoken before the call ends when the agent or the recogniser cannot
    /// be had as an answered call starts; empty: hang up at once.
    pub unavailable_text: String,
    /// Media played to callers of an unrouted DID before hanging up; empty: hang up at once.
    pub unknown_did_sound: String,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self {
            silence_timeout: HumanDuration(Duration::from_secs(5)),
            max_reprompts: 2,
            endpointing: HumanDuration(Duration::from_millis(200)),
            finish_on_pause: true,
            endpointing_incomplete: HumanDuration(Duration::from_millis(800)),
            first_clause_words: 4,
            speculative_reply: true,
            max_turn: HumanDuration(Duration::from_secs(30)),
            // Whisper tiny.en on a loaded two-core machine took 3.3 s for a
            // 4 s utterance (Wyoming STT only starts at the end of speech);
            // 2 s lost such turns.
            final_timeout: HumanDuration(Duration::from_secs(5)),
            playback_drain_grace: HumanDuration(Duration::from_secs(5)),
            barge_in: true,
            dtmf_in_events: false,
            barge_in_min_words: 1,
            barge_in_mode: super::BargeInModeSetting::Pause,
            barge_in_noise_max: HumanDuration(Duration::from_millis(300)),
            barge_in_speech_min: HumanDuration(Duration::from_millis(900)),
            barge_in_decide_timeout: HumanDuration(Duration::from_secs(3)),
            barge_in_backchannels: crate::application::session::DEFAULT_BACKCHANNELS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
            barge_in_echo_guard: false,
            barge_in_resume_early: true,
            transfer_context: "transfer".into(),
            transfer_mode: Default::default(),
            transfer_endpoints: Default::default(),
            transfer_ring_timeout: HumanDuration(Duration::from_secs(30)),
            transfer_unavailable_text:
                "Sorry, nobody is available to take your call right now. How else can I help?"
                    .into(),
            unavailable_text:
                "Sorry, we can't take your call right now. Please try again later. Goodbye.".into(),
            unknown_did_sound: "sound:ss-noservice".into(),
        }
    }
}

/// `[outbound]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSection {
    /// Dial endpoint template; `{number}` becomes the validated E.164 number.
    /// Checked as it is read: one `{number}`, `TECH/...`, no dial-string syntax.
    pub endpoint: EndpointTemplate,
    /// Answering-machine detection of calls placed with `detect_machine`.
    pub machine_detection: MachineDetectionSection,
}

impl Default for OutboundSection {
    fn default() -> Self {
        Self {
            endpoint: EndpointTemplate::parse("PJSIP/{number}@trunk")
                .expect("the default template is valid"),
            machine_detection: MachineDetectionSection::default(),
        }
    }
}

/// `[outbound.machine_detection]`: the timing rules of answering-machine
/// detection (`crate::domain::screening`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineDetectionSection {
    /// No sound this long after the answer: `unknown`.
    pub initial_silence: HumanDuration,
    /// More speech than this in all: `machine`.
    pub greeting_max: HumanDuration,
    /// Quiet this long after speech: `human`.
    pub after_greeting_silence: HumanDuration,
    /// More utterances than this: `machine`.
    pub max_utterances: u32,
    /// The latest decision: `unknown` if none by then.
    pub decision_timeout: HumanDuration,
    /// Leaving a message: how long to wait for the beep before speaking anyway.
    pub beep_timeout: HumanDuration,
}

impl Default for MachineDetectionSection {
    fn default() -> Self {
        let d = crate::domain::screening::ScreenConfig::default();
        Self {
            initial_silence: HumanDuration(d.initial_silence),
            greeting_max: HumanDuration(d.greeting_max),
            after_greeting_silence: HumanDuration(d.after_greeting_silence),
            max_utterances: d.max_utterances,
            decision_timeout: HumanDuration(d.decision_timeout),
            beep_timeout: HumanDuration(d.beep_timeout),
        }
    }
}

impl MachineDetectionSection {
    /// The screener's rules.
    pub fn screen_config(&self) -> crate::domain::screening::ScreenConfig {
        crate::domain::screening::ScreenConfig {
            initial_silence: self.initial_silence.0,
            greeting_max: self.greeting_max.0,
            after_greeting_silence: self.after_greeting_silence.0,
            max_utterances: self.max_utterances,
            decision_timeout: self.decision_timeout.0,
            beep_timeout: self.beep_timeout.0,
        }
    }

    /// Each rule within reach of the others.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        use std::time::Duration;
        let within = |key: &'static str, d: Duration, lo: Duration, hi: Duration| {
            if d < lo || d > hi {
                Err((
                    key,
                    format!(
                        "is {} ms; it must be {} to {} ms",
                        d.as_millis(),
                        lo.as_millis(),
                        hi.as_millis()
                    ),
                ))
            } else {
                Ok(())
            }
        };
        let ms = Duration::from_millis;
        let decision = self.decision_timeout.0;
        within(
            "outbound.machine_detection.decision_timeout",
            decision,
            ms(1000),
            ms(30_000),
        )?;
        within(
            "outbound.machine_detection.initial_silence",
            self.initial_silence.0,
            ms(200),
            decision,
        )?;
        within(
            "outbound.machine_detection.greeting_max",
            self.greeting_max.0,
            ms(200),
            decision,
        )?;
        within(
            "outbound.machine_detection.after_greeting_silence",
            self.after_greeting_silence.0,
            ms(100),
            decision,
        )?;
        within(
            "outbound.machine_detection.beep_timeout",
            self.beep_timeout.0,
            ms(0),
            ms(60_000),
        )?;
        if !(1..=50).contains(&self.max_utterances) {
            return Err((
                "outbound.machine_detection.max_utterances",
                format!("is {}; it must be 1 to 50", self.max_utterances),
            ));
        }
        Ok(())
    }
}

/// `[dialing]`: the toll-fraud guard. Allowlists of E.164 prefixes (`"+1"`,
/// `"+4420"`) or `"*"` for every destination; premium-rate and satellite
/// ranges stay refused unless a prefix at least as specific names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialingSection {
    /// Destinations of `POST /v1/calls` and of API transfers to a number.
    pub api_allow: Vec<String>,
    /// Numbers the agent may transfer a caller to (attended: dialled through
    /// `outbound.endpoint`; blind: sent to the transfer context). Empty: the
    /// agent reaches only `session.transfer_endpoints` names and extensions.
    pub transfer_allow: Vec<String>,
    /// Prefixes refused whatever the allowlists say, for every tenant.
    pub deny: Vec<String>,
    /// What the agent says when the policy refuses its transfer.
    pub refused_transfer_text: String,
    /// Per-tenant policy: `[dialing.tenants.acme]`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tenants: std::collections::BTreeMap<String, TenantDialingSection>,
}

impl Default for DialingSection {
    fn default() -> Self {
        Self {
            api_allow: vec!["+1".into()],
            transfer_allow: Vec::new(),
            deny: Vec::new(),
            refused_transfer_text:
                "Sorry, I can't transfer you to that number. How else can I help?".into(),
            tenants: Default::default(),
        }
    }
}

/// `[dialing.tenants.<id>]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantDialingSection {
    /// Replaces `dialing.api_allow` for this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_allow: Option<Vec<String>>,
    /// Replaces `dialing.transfer_allow` for this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_allow: Option<Vec<String>>,
    /// Caller ids (`from`) the tenant may send, as prefixes; the DIDs routed
    /// to the tenant are its own too.
    pub caller_ids: Vec<String>,
}

/// `[auth]`: bearer JWTs on the call API. Without a secret or a JWKS URL the
/// call API is not served at all (never unauthenticated).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// HS256 shared secret (at least 32 bytes). Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_secret: Option<Secret>,
    /// JWKS URL for RS256/ES256 keys (Keycloak and other identity providers); `https://`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// Accept an `http://` JWKS URL (tests on loopback only: keys fetched in
    /// clear can be swapped on the way).
    pub jwks_insecure_http: bool,
    /// Required `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Required `aud`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Claim holding the tenant id.
    pub tenant_claim: String,
    /// Claim holding the scopes (`calls:read`, `calls:write`).
    pub scope_claim: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: HumanDuration,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwks_url: None,
            jwks_insecure_http: false,
            issuer: None,
            audience: None,
            tenant_claim: "tenant_id".into(),
            scope_claim: "scope".into(),
            leeway: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Live calls on this instance, inbound and outbound together. Past it an
    /// inbound call is refused before answer (hung up with cause congestion)
    /// and an originate answers 503 with `Retry-After`.
    pub max_live_calls: u32,
    /// Percent of `max_live_calls` at which `/readyz` answers 503
    /// (`at_capacity`) so a load balancer sends no more; calls are still
    /// admitted up to the cap meanwhile.
    pub ready_high_water_percent: u8,
    /// Concurrent API-placed calls per tenant.
    pub max_concurrent_calls: u32,
    /// Originates per minute per tenant (token bucket rate).
    pub originate_per_minute: u32,
    /// Originates allowed at once (token bucket size).
    pub burst: u32,
    /// Ended calls this process keeps in memory for the API (oldest dropped
    /// first, and none older than an hour): bounds the store's memory.
    pub ended_calls_kept: u32,
    /// Per-tenant overrides: `[limits.tenants.acme]`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tenants: std::collections::BTreeMap<String, TenantLimitsSection>,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_live_calls: 2_000,
            ready_high_water_percent: 90,
            max_concurrent_calls: 50,
            originate_per_minute: 60,
            burst: 10,
            ended_calls_kept: 10_000,
            tenants: Default::default(),
        }
    }
}

/// `[limits.tenants.<id>]`: any of the limits, for one tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimitsSection {
    /// The tenant's share of `limits.max_live_calls` (inbound and outbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_live_calls: Option<u32>,
    /// Override of `limits.max_concurrent_calls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_calls: Option<u32>,
    /// Override of `limits.originate_per_minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originate_per_minute: Option<u32>,
    /// Override of `limits.burst`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}
