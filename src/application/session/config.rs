//! The turn loop's knobs.

use crate::{
    application::ports::{calls::TransferMode, telephony::WireFormat},
    domain::{EndpointTemplate, TransferTarget},
};
use std::{collections::BTreeMap, net::IpAddr, sync::Arc, time::Duration};

/// A pre-recorded clip, already at the rate the call's audio leaves at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Samples per second of `pcm`.
    pub rate: u32,
    /// 16-bit linear samples.
    pub pcm: Arc<[i16]>,
}

impl Prompt {
    /// How long it plays.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.pcm.len() as f64 / f64::from(self.rate.max(1)))
    }
}

/// What caller sound over the agent's speech does (`session.barge_in_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BargeInMode {
    /// Stop the agent and cancel the rest of its reply at once.
    Cancel,
    /// Pause the agent's audio at once; resume it where it stopped if the
    /// sound was noise, a backchannel or our own echo, cancel if speech.
    Pause,
}

/// The backchannels a caller says while listening, as transcribed.
pub const DEFAULT_BACKCHANNELS: [&str; 15] = [
    "mm-hmm", "mhm", "mm", "hmm", "uh-huh", "uh", "oh", "yeah", "yes", "yep", "okay", "ok",
    "right", "sure", "alright",
];

/// How a call session behaves. Defaults follow the platform's failure strategy
/// (DESIGN.md, "When things fail").
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Encoding of the externalMedia leg, unless the route chooses.
    pub wire_format: WireFormat,
    /// The externalMedia transport, unless the route chooses.
    pub transport: crate::application::ports::media::Transport,
    /// Address Asterisk should send RTP to; the leg's own address when `None`.
    pub advertise_ip: Option<IpAddr>,
    /// Silence after the VAD's end of speech before the turn ends.
    pub endpointing: Duration,
    /// Ask for the transcript at the VAD's pause (before the end of speech);
    /// a transcript that ends a sentence then ends the turn.
    pub finish_on_pause: bool,
    /// `endpointing` when the transcript trails off ("and", "um", ",").
    pub endpointing_incomplete: Duration,
    /// The reply's first clause of at least this many words is synthesised
    /// on its own (0: whole sentences only).
    pub first_clause_words: usize,
    /// Send the turn as heard so far while its end is awaited; hold the
    /// reply until the turn is over.
    pub speculative_reply: bool,
    /// How long to wait for the STT's final result after `finish`.
    pub final_timeout: Duration,
    /// A caller turn longer than this is cut and sent as is.
    pub max_turn: Duration,
    /// Silence while listening before a reprompt.
    pub silence_timeout: Duration,
    /// Reprompts before the goodbye.
    pub max_reprompts: u32,
    /// Spoken on caller silence.
    pub reprompt_text: String,
    /// Spoken before hanging up after the last reprompt.
    pub goodbye_text: String,
    /// Spoken when the agent fails or times out.
    pub fallback_text: String,
    /// Spoken, then the call ends, when the agent or the recogniser cannot be
    /// had at the start of an answered call; empty: it ends at once.
    pub unavailable_text: String,
    /// Said to the caller of a call another instance took over (`[ha]`),
    /// after the short gap in its audio; then the agent listens.
    pub resume_text: String,
    /// A TTS stream that gives no audio this long after its first text fails.
    /// With a fallback chain each provider has this long (the chain switches
    /// by itself), plus one second for the chain to report its own failure.
    pub tts_first_byte_timeout: Duration,
    /// How long past the end of a speech's audio the call waits for the
    /// media leg to report it played out; then it goes on as if it had (a
    /// leg that never reports must not hold the call in its speech).
    pub playback_drain_grace: Duration,
    /// Played instead of speech every TTS provider failed to give; `None`:
    /// the caller hears nothing for it. At `wire_format`'s rate.
    pub tts_failure_prompt: Option<Prompt>,
    /// Whether the caller may interrupt the agent.
    pub barge_in: bool,
    /// Whether `call.dtmf` events carry the key (never for secure input).
    pub dtmf_in_events: bool,
    /// An STT interim result needs this many words to count as a barge-in
    /// (the VAD's onset is the other trigger; short noises pass neither).
    pub barge_in_min_words: usize,
    /// What caller sound over the agent does: cancel at once, or pause the
    /// agent and decide (noise, backchannel, echo: resume; speech: cancel).
    pub barge_in_mode: BargeInMode,
    /// Pause mode: sound shorter than this (onset → the VAD's end of it) is
    /// noise; the agent resumes at once.
    pub barge_in_noise_max: Duration,
    /// Pause mode: sound still going this long after its onset is speech.
    pub barge_in_speech_min: Duration,
    /// Pause mode: a sound between the two waits for its transcript until
    /// this long after its onset; none by then counts as speech.
    pub barge_in_decide_timeout: Duration,
    /// Pause mode: words (lowercase) a transcript made only of is a
    /// backchannel ("mm-hmm", "yeah"): the agent resumes.
    pub barge_in_backchannels: Vec<String>,
    /// Pause mode: an onset whose sound matches the agent audio just sent
    /// (our own voice coming back) pauses nothing.
    pub barge_in_echo_guard: bool,
    /// Pause mode: a sound over before `barge_in_speech_min` lets the agent
    /// play on while its transcript is awaited; other words then cancel.
    pub barge_in_resume_early: bool,
    /// Dialplan context for blind transfers of non-SIP channels (`continue`).
    pub transfer_context: String,
    /// How the agent's `transfer` actions are carried out (the API chooses per request).
    pub transfer_mode: TransferMode,
    /// Attended transfers: target names (`agents`) and the endpoints that
    /// reach them (`PJSIP/agents`), set by the operator. An E.164 target goes
    /// through `outbound_endpoint` instead; nothing else is dialled.
    pub transfer_endpoints: BTreeMap<String, String>,
    /// Attended transfers: how long the person's phone may ring.
    pub transfer_ring_timeout: Duration,
    /// Attended transfers: spoken when nobody takes the call; the call goes on.
    pub transfer_unavailable_text: String,
    /// Dial endpoint of outbound calls and of attended transfers to a number.
    /// Answering-machine detection's rules (`[outbound.machine_detection]`).
    pub screening: crate::domain::screening::ScreenConfig,
    pub outbound_endpoint: EndpointTemplate,
    /// Which numbers the API and the agents may dial, per tenant.
    pub dialing: crate::application::dialing::DialingPolicy,
    /// Media URI (`sound:ss-noservice`) played to callers of a DID with no
    /// route, after answering and before hanging up; `None` hangs up at once.
    pub unknown_did_media: Option<String>,
    /// How long setup waits for the externalMedia channel to enter Stasis
    /// before the call fails with an error naming the channel.
    pub media_channel_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            wire_format: WireFormat::Ulaw,
            transport: Default::default(),
            advertise_ip: None,
            endpointing: Duration::from_millis(200),
            finish_on_pause: true,
            endpointing_incomplete: Duration::from_millis(800),
            first_clause_words: 4,
            speculative_reply: true,
            final_timeout: Duration::from_secs(2),
            max_turn: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(5),
            max_reprompts: 2,
            reprompt_text: "Sorry, I didn't catch that. Could you say it again?".into(),
            goodbye_text: "I still can't hear you, so I'll hang up now. Goodbye.".into(),
            fallback_text: "Sorry, I'm having trouble answering right now. Could you repeat that?"
                .into(),
            unavailable_text:
                "Sorry, we can't take your call right now. Please try again later. Goodbye.".into(),
            resume_text: "Sorry, where were we?".into(),
            tts_first_byte_timeout: Duration::from_secs(5),
            playback_drain_grace: Duration::from_secs(5),
            tts_failure_prompt: None,
            barge_in: true,
            dtmf_in_events: false,
            barge_in_min_words: 1,
            barge_in_mode: BargeInMode::Cancel,
            barge_in_noise_max: Duration::from_millis(300),
            barge_in_speech_min: Duration::from_millis(900),
            barge_in_decide_timeout: Duration::from_secs(3),
            barge_in_backchannels: DEFAULT_BACKCHANNELS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
            barge_in_echo_guard: true,
            barge_in_resume_early: true,
            transfer_context: "transfer".into(),
            transfer_mode: TransferMode::Blind,
            transfer_endpoints: BTreeMap::new(),
            transfer_ring_timeout: Duration::from_secs(30),
            transfer_unavailable_text:
                "Sorry, nobody is available to take your call right now. How else can I help?"
                    .into(),
            unknown_did_media: Some("sound:ss-noservice".into()),
            screening: crate::domain::screening::ScreenConfig::default(),
            outbound_endpoint: EndpointTemplate::parse("PJSIP/{number}@trunk")
                .expect("the default template is valid"),
            dialing: Default::default(),
            media_channel_timeout: Duration::from_secs(5),
        }
    }
}

impl SessionConfig {
    /// The endpoint an attended transfer to `target` dials: a number through
    /// the outbound template, any other target only if the operator
    /// configured it. `None`: it reaches nobody.
    pub fn attended_endpoint(&self, target: &TransferTarget) -> Option<String> {
        match target {
            TransferTarget::Number(n) => Some(self.outbound_endpoint.dial(n)),
            other => self.transfer_endpoints.get(other.as_str()).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attended_transfers_dial_numbers_and_configured_targets_only() {
        let cfg = SessionConfig {
            transfer_endpoints: [
                ("agents".to_owned(), "PJSIP/agents".to_owned()),
                ("100".to_owned(), "PJSIP/6100".to_owned()),
            ]
            .into(),
            ..SessionConfig::default()
        };
        let t = |s: &str| TransferTarget::parse(s).unwrap();
        assert_eq!(
            cfg.attended_endpoint(&t("+15550002222")).as_deref(),
            Some("PJSIP/+15550002222@trunk")
        );
        assert_eq!(
            cfg.attended_endpoint(&t("agents")).as_deref(),
            Some("PJSIP/agents")
        );
        assert_eq!(
            cfg.attended_endpoint(&t("100")).as_deref(),
            Some("PJSIP/6100")
        );
        assert_eq!(cfg.attended_endpoint(&t("101")), None);
        assert_eq!(cfg.attended_endpoint(&t("sales")), None);
    }
}
