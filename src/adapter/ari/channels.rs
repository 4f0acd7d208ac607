//! Channel operations.
//!
//! Dial strings: [`Originate::endpoint`] and the `endpoint` of
//! [`AriClient::redirect`] are passed to Asterisk as given. This client cannot tell a
//! legitimate `PJSIP/+15551234567@trunk` from an injected one, so building them only
//! from validated values (E.164 newtypes, endpoint templates) is the caller's job.

use std::collections::BTreeMap;
use std::time::Duration;

use ari::{Channel, ChannelId, LiveRecording, Playback, PlaybackId, Variable};
use serde_json::Value;

use super::call::Call;
use super::client::AriClient;
use super::error::AriError;
use super::spec;

/// `DELETE /channels/{id}?reason=`: the hangup reasons Asterisk accepts (any other
/// spelling is a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Asterisk's names
pub enum HangupReason {
    Normal,
    Busy,
    Congestion,
    NoAnswer,
    Timeout,
    Rejected,
    Unallocated,
    NormalUnspecified,
    NumberIncomplete,
    CodecMismatch,
    Interworking,
    Failure,
    AnsweredElsewhere,
}

impl HangupReason {
    /// Every reason, for the contract test.
    pub const ALL: [Self; 13] = [
        Self::Normal,
        Self::Busy,
        Self::Congestion,
        Self::NoAnswer,
        Self::Timeout,
        Self::Rejected,
        Self::Unallocated,
        Self::NormalUnspecified,
        Self::NumberIncomplete,
        Self::CodecMismatch,
        Self::Interworking,
        Self::Failure,
        Self::AnsweredElsewhere,
    ];

    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Busy => "busy",
            Self::Congestion => "congestion",
            Self::NoAnswer => "no_answer",
            Self::Timeout => "timeout",
            Self::Rejected => "rejected",
            Self::Unallocated => "unallocated",
            Self::NormalUnspecified => "normal_unspecified",
            Self::NumberIncomplete => "number_incomplete",
            Self::CodecMismatch => "codec_mismatch",
            Self::Interworking => "interworking",
            Self::Failure => "failure",
            Self::AnsweredElsewhere => "answered_elsewhere",
        }
    }
}

/// An outbound call into our Stasis app (`POST /channels`).
///
/// The HTTP answer is 200 as soon as the channel exists, even when the far end will
/// be busy or never answer: the outcome arrives as `Dial` / `ChannelDestroyed`
/// events, and `StasisStart` only once answered.
#[derive(Debug, Clone, Default)]
pub struct Originate {
    /// Dial string (`PJSIP/+15551234567@trunk`). Not validated here: see the module doc.
    pub endpoint: String,
    /// Our id for the channel, so events racing the HTTP answer can be matched.
    pub channel_id: Option<ChannelId>,
    /// Id of the `;2` half of a Local channel (otherwise `<channelId>;2`).
    pub other_channel_id: Option<ChannelId>,
    /// Arguments the `StasisStart` will carry. Asterisk splits on commas, so no
    /// argument may contain one.
    pub app_args: Vec<String>,
    /// Caller id presented, `"Name" <number>` or a number.
    pub caller_id: Option<String>,
    /// Ring timeout (whole seconds are sent; Asterisk's default is 30 s).
    pub timeout: Option<Duration>,
    /// Channel variables set on the new channel (sent in the JSON body).
    pub variables: BTreeMap<String, String>,
}

/// Timing of [`AriClient::send_dtmf`], in milliseconds (Asterisk's defaults when `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DtmfTiming {
    /// Wait before the first digit.
    pub before: Option<u32>,
    /// Gap between digits.
    pub between: Option<u32>,
    /// Length of each digit.
    pub duration: Option<u32>,
    /// Wait after the last digit.
    pub after: Option<u32>,
}

/// Where [`AriClient::continue_in_dialplan`] sends the channel (its current location
/// for fields left `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // dialplan terms
pub struct DialplanTarget {
    pub context: Option<String>,
    pub extension: Option<String>,
    pub priority: Option<u32>,
    pub label: Option<String>,
}

/// Direction of a snoop's spy or whisper audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Asterisk's names
pub enum SnoopDirection {
    None,
    Both,
    Out,
    In,
}

impl SnoopDirection {
    /// Every direction, for the contract test.
    pub const ALL: [Self; 4] = [Self::None, Self::Both, Self::Out, Self::In];

    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Both => "both",
            Self::Out => "out",
            Self::In => "in",
        }
    }
}

/// A snoop channel request. Asterisk requires at least one of `spy`/`whisper`
/// other than `none` (400 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snoop {
    /// Audio to copy from the snooped channel.
    pub spy: SnoopDirection,
    /// Audio to inject into it.
    pub whisper: SnoopDirection,
    /// Arguments for the snoop channel's `StasisStart` (no commas).
    pub app_args: Vec<String>,
    /// Our id for the snoop channel.
    pub snoop_id: Option<ChannelId>,
}

/// What to do when a recording name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Asterisk's names
pub enum IfExists {
    Fail,
    Overwrite,
    Append,
}

impl IfExists {
    /// Every value, for the contract test.
    pub const ALL: [Self; 3] = [Self::Fail, Self::Overwrite, Self::Append];

    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Overwrite => "overwrite",
            Self::Append => "append",
        }
    }
}

/// DTMF that ends a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Asterisk's names
pub enum TerminateOn {
    None,
    Any,
    Star,
    Hash,
}

impl TerminateOn {
    /// Every value, for the contract test.
    pub const ALL: [Self; 4] = [Self::None, Self::Any, Self::Star, Self::Hash];

    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Any => "any",
            Self::Star => "*",
            Self::Hash => "#",
        }
    }
}

/// A recording request (channel or bridge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Recording name (also its address for stop).
    pub name: String,
    /// File format (`wav`, `gsm`, ...).
    pub format: String,
    /// Longest recording, in whole seconds.
    pub max_duration: Option<Duration>,
    /// Longest silence before stopping, in whole seconds.
    pub max_silence: Option<Duration>,
    /// Name clash policy.
    pub if_exists: Option<IfExists>,
    /// Beep before recording.
    pub beep: Option<bool>,
    /// DTMF that ends it.
    pub terminate_on: Option<TerminateOn>,
}

/// Refuses values that would change the request's meaning once Asterisk splits
/// them on commas (app arguments, media lists).
pub(crate) fn comma_list(
    operation: &'static str,
    what: &str,
    items: &[impl AsRef<str>],
) -> Result<String, AriError> {
    if let Some(bad) = items.iter().find(|i| i.as_ref().contains(',')) {
        return Err(AriError::InvalidRequest {
            operation,
            reason: format!("{what} `{}` contains a comma", bad.as_ref()),
        });
    }
    Ok(items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(","))
}

/// The media list of a play request: at least one URI, none with a comma.
pub(crate) fn media_list(operation: &'static str, media: &[&str]) -> Result<String, AriError> {
    if media.is_empty() || media.iter().any(|m| m.is_empty()) {
        return Err(AriError::InvalidRequest {
            operation,
            reason: "empty media URI".to_owned(),
        });
    }
    comma_list(operation, "media URI", media)
}

pub(crate) fn record_call(call: Call, record: &Record) -> Call {
    call.query("name", &record.name)
        .query("format", &record.format)
        .query_opt(
            "maxDurationSeconds",
            record.max_duration.map(|d| d.as_secs()),
        )
        .query_opt("maxSilenceSeconds", record.max_silence.map(|d| d.as_secs()))
        .query_opt("ifExists", record.if_exists.map(IfExists::as_str))
        .query_opt("beep", record.beep)
        .query_opt("terminateOn", record.terminate_on.map(TerminateOn::as_str))
}

pub(crate) fn variables_body(variables: &BTreeMap<String, String>) -> Value {
    Value::Object(
        variables
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl AriClient {
    /// `GET /channels`: every channel Asterisk has (not only ours).
    pub async fn list_channels(&self) -> Result<Vec<Channel>, AriError> {
        self.json(Call::new(&spec::CHANNELS_LIST)).await
    }

    /// `GET /channels/{id}`.
    pub async fn get_channel(&self, channel: &ChannelId) -> Result<Channel, AriError> {
        self.json(Call::new(&spec::CHANNELS_GET).path("channelId", channel.as_str()))
            .await
    }

    /// `POST /channels`: originate into this client's Stasis app.
    pub async fn originate(&self, request: &Originate) -> Result<Channel, AriError> {
        let op = spec::CHANNELS_ORIGINATE.name;
        if request.endpoint.is_empty() {
            return Err(AriError::InvalidRequest {
                operation: op,
                reason: "empty endpoint".into(),
            });
        }
        let mut call = Call::new(&spec::CHANNELS_ORIGINATE)
            .query("endpoint", &request.endpoint)
            .query("app", self.app())
            .query_opt("channelId", request.channel_id.as_ref())
            .query_opt("otherChannelId", request.other_channel_id.as_ref())
            .query_opt("callerId", request.caller_id.as_ref())
            .query_opt("timeout", request.timeout.map(|t| t.as_secs().max(1)));
        if !request.app_args.is_empty() {
            call = call.query(
                "appArgs",
                comma_list(op, "app argument", &request.app_args)?,
            );
        }
        if !request.variables.is_empty() {
            call = call.body("variables", variables_body(&request.variables));
        }
        self.json(call).await
    }

    /// `POST /channels/{id}/answer`.
    pub async fn answer(&self, channel: &ChannelId) -> Result<(), AriError> {
        self.empty(Call::new(&spec::CHANNELS_ANSWER).path("channelId", channel.as_str()))
            .await
    }

    /// `DELETE /channels/{id}`. A dialplan-entered channel then sends `StasisEnd`
    /// and nothing more; an originated one also `ChannelDestroyed`.
    pub async fn hangup(
        &self,
        channel: &ChannelId,
        reason: Option<HangupReason>,
    ) -> Result<(), AriError> {
        let call = Call::new(&spec::CHANNELS_HANGUP)
            .path("channelId", channel.as_str())
            .query_opt("reason", reason.map(HangupReason::as_str));
        self.empty(call).await
    }

    /// `POST /channels/{id}/ring`: indicate ringing to the caller.
    pub async fn ring(&self, channel: &ChannelId) -> Result<(), AriError> {
        self.empty(Call::new(&spec::CHANNELS_RING).path("channelId", channel.as_str()))
            .await
    }

    /// `POST /channels/{id}/play`: queue media (`sound:x`, `recording:x`, `tone:x`,
    /// `digits:x`); several URIs play as a list. Answers 201 with the playback
    /// (`queued`, or `playing` if idle).
    pub async fn play(
        &self,
        channel: &ChannelId,
        media: &[&str],
        playback_id: Option<&PlaybackId>,
    ) -> Result<Playback, AriError> {
        let call = Call::new(&spec::CHANNELS_PLAY)
            .path("channelId", channel.as_str())
            .query("media", media_list(spec::CHANNELS_PLAY.name, media)?)
            .query_opt("playbackId", playback_id);
        self.json(call).await
    }

    /// `POST /channels/{id}/record`.
    pub async fn record(
        &self,
        channel: &ChannelId,
        record: &Record,
    ) -> Result<LiveRecording, AriError> {
        let call = Call::new(&spec::CHANNELS_RECORD).path("channelId", channel.as_str());
        self.json(record_call(call, record)).await
    }

    /// `POST /channels/{id}/snoop`: a channel that hears and/or whispers into another,
    /// delivered to this client's app.
    pub async fn snoop(&self, channel: &ChannelId, snoop: &Snoop) -> Result<Channel, AriError> {
        let op = spec::CHANNELS_SNOOP.name;
        let mut call = Call::new(&spec::CHANNELS_SNOOP)
            .path("channelId", channel.as_str())
            .query("spy", snoop.spy.as_str())
            .query("whisper", snoop.whisper.as_str())
            .query("app", self.app())
            .query_opt("snoopId", snoop.snoop_id.as_ref());
        if !snoop.app_args.is_empty() {
            call = call.query("appArgs", comma_list(op, "app argument", &snoop.app_args)?);
        }
        self.json(call).await
    }

    /// `POST /channels/{id}/redirect`: hand the call to another endpoint (a SIP
    /// REFER or 302). The original channel stays in Stasis until hung up; a Local
    /// channel gets a 204 and nothing happens. `endpoint` is not validated here.
    pub async fn redirect(&self, channel: &ChannelId, endpoint: &str) -> Result<(), AriError> {
        let call = Call::new(&spec::CHANNELS_REDIRECT)
            .path("channelId", channel.as_str())
            .query("endpoint", endpoint);
        self.empty(call).await
    }

    /// `POST /channels/{id}/continue`: leave Stasis and go on in the dialplan
    /// (`StasisEnd` follows at once).
    pub async fn continue_in_dialplan(
        &self,
        channel: &ChannelId,
        target: &DialplanTarget,
    ) -> Result<(), AriError> {
        let call = Call::new(&spec::CHANNELS_CONTINUE)
            .path("channelId", channel.as_str())
            .query_opt("context", target.context.as_ref())
            .query_opt("extension", target.extension.as_ref())
            .query_opt("priority", target.priority)
            .query_opt("label", target.label.as_ref());
        self.empty(call).await
    }

    /// `GET /channels/{id}/variable`. A variable that is not set is a 404.
    pub async fn get_variable(&self, channel: &ChannelId, name: &str) -> Result<String, AriError> {
        let call = Call::new(&spec::CHANNELS_GET_VAR)
            .path("channelId", channel.as_str())
            .query("variable", name);
        self.json::<Variable>(call).await.map(|v| v.value)
    }

    /// `POST /channels/{id}/variable`. Waits behind a running ARI playback on the
    /// channel: set variables before playing.
    pub async fn set_variable(
        &self,
        channel: &ChannelId,
        name: &str,
        value: &str,
    ) -> Result<(), AriError> {
        let call = Call::new(&spec::CHANNELS_SET_VAR)
            .path("channelId", channel.as_str())
            .query("variable", name)
            .query("value", value);
        self.empty(call).await
    }

    /// `POST /channels/{id}/dtmf`: digits `0-9 A-D * #`, `,` for a pause.
    pub async fn send_dtmf(
        &self,
        channel: &ChannelId,
        dtmf: &str,
        timing: DtmfTiming,
    ) -> Result<(), AriError> {
        let valid = |c: char| c.is_ascii_digit() || matches!(c, 'A'..='D' | '*' | '#' | ',');
        if dtmf.is_empty() || !dtmf.chars().all(valid) {
            return Err(AriError::InvalidRequest {
                operation: spec::CHANNELS_DTMF.name,
                reason: format!("`{dtmf}` is not a DTMF string"),
            });
        }
        let call = Call::new(&spec::CHANNELS_DTMF)
            .path("channelId", channel.as_str())
            .query("dtmf", dtmf)
            .query_opt("before", timing.before)
            .query_opt("between", timing.between)
            .query_opt("duration", timing.duration)
            .query_opt("after", timing.after);
        self.empty(call).await
    }
}
