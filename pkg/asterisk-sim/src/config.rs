//! Simulator configuration: credentials, media durations and originate outcomes.

use std::collections::HashMap;
use std::time::Duration;

/// What happens when an originate dials a destination (fixture 04 shows the real events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The far end rings for `after` (no ringing at all when zero), then answers.
    Answer {
        /// Ringing time before the answer.
        after: Duration,
    },
    /// `Busy()`: Dial BUSY, cause 17 on the far half, 0 on the originated channel.
    Busy,
    /// `Congestion()`: Dial CONGESTION, cause 34 on the far half.
    Congestion,
    /// Rings until the originate `timeout` expires: cause 19.
    NoAnswer,
    /// `Hangup(cause)` before answer: Dial NOANSWER and that cause.
    Reject {
        /// The Q.850 cause the far end hangs up with (21 = call rejected).
        cause: u16,
    },
    /// The extension or context does not exist: only `ChannelDestroyed` cause 0.
    NoSuchExtension,
    /// Channel allocation fails: HTTP 500 `{"error":"Allocation failed"}`.
    AllocationFailed,
}

/// Everything a simulator instance needs to know up front.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Port to listen on (0 = any free port), always on 127.0.0.1.
    pub port: u16,
    /// ARI user name.
    pub username: String,
    /// ARI password.
    pub password: String,
    /// `asterisk_id` in every event (Asterisk's entity id).
    pub asterisk_id: String,
    /// Durations of `sound:` media by name (without the scheme).
    pub sound_durations: HashMap<String, Duration>,
    /// Duration of a `sound:` not in the table, unless `unknown_sounds_fail`.
    pub default_sound_duration: Duration,
    /// When set, a `sound:` missing from the table fails like a missing file (fixture 06).
    pub unknown_sounds_fail: bool,
    /// Outcome per dialed number (the extension of `Local/EXT@ctx`, the user part otherwise),
    /// or per `@context` for a whole Local context.
    pub outcomes: HashMap<String, Outcome>,
    /// Outcome for numbers not in `outcomes`.
    pub default_outcome: Outcome,
    /// Keep every received media payload (tests); off for load runs to keep memory flat.
    pub record_payloads: bool,
    /// Keep every received packet at all; off, only summaries are kept (talkspurts, loss,
    /// pacing jitter), which is what thousands of calls in a load run need.
    pub record_packets: bool,
    /// Whether the simulated caller keeps sending (silent) frames between utterances, which
    /// TALK_DETECT needs to ever send `ChannelTalkingFinished` (fixture 07).
    pub caller_sends_silence: bool,
    /// Whether media toward the gateway (RTP, AudioSocket or WebSocket) flows without pause
    /// (silence between utterances), like a phone without silence suppression through a mixing
    /// bridge; off, a two-party bridge sends nothing while the caller is silent, as Asterisk's
    /// does on every transport.
    pub continuous_media: bool,
    /// Number of timer tasks that send media (each serves a share of the streams).
    pub media_shards: usize,
    /// The Stasis app `place_inbound_call` dials into (`Stasis(app, DID)`).
    pub inbound_app: String,
    /// How long after answering `POST /channels/externalMedia` the new channel enters
    /// Stasis (`StasisStart`); until then it cannot be bridged (422). The real Asterisk
    /// answers while the channel is `Down` and raises `StasisStart` a moment later: on
    /// an idle machine the gap is shorter than one loopback request (the real-Asterisk
    /// test `fidelity` saw no 422 in 20 tries), under load it is not (8 of 20 calls
    /// failed in issue 13). The default, 5 ms, makes the race certain, so a client that
    /// bridges too early fails every time here. `None` puts the channel into Stasis
    /// before the response, the rare order (fixtures README).
    pub external_media_stasis_delay: Option<Duration>,
}

impl Default for SimConfig {
    fn default() -> Self {
        let ms = Duration::from_millis;
        // Measured in fixture 06 (PlaybackStarted → PlaybackFinished).
        let sound_durations = [
            ("hello-world", ms(1403)),
            ("tt-weasels", ms(2950)),
            ("tt-monkeys", ms(4500)),
            ("beep", ms(424)),
            ("demo-congrats", ms(30_000)),
            ("vm-goodbye", ms(800)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        // The test dialplan's far ends (fixtures README, `[fx-caller]`).
        let outcomes = [
            ("busy", Outcome::Busy),
            ("congestion", Outcome::Congestion),
            ("noanswer", Outcome::NoAnswer),
            ("reject", Outcome::Reject { cause: 21 }),
            ("nosuchexten", Outcome::NoSuchExtension),
            // A key `@context` applies to every number dialed into that context.
            ("@nosuchcontext", Outcome::NoSuchExtension),
            ("ring-then-answer", Outcome::Answer { after: ms(2000) }),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self {
            port: 0,
            username: "gw".into(),
            password: "gwsecret".into(),
            asterisk_id: "02:fc:00:00:00:01".into(),
            sound_durations,
            default_sound_duration: ms(1000),
            unknown_sounds_fail: false,
            outcomes,
            default_outcome: Outcome::Answer {
                after: Duration::ZERO,
            },
            record_payloads: true,
            record_packets: true,
            caller_sends_silence: true,
            continuous_media: false,
            media_shards: 4,
            inbound_app: "voice-gateway".into(),
            external_media_stasis_delay: Some(ms(5)),
        }
    }
}
