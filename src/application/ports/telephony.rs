//! The telephony port: what the application asks of Asterisk.
//!
//! Implemented over ARI by `adapter::ari`. Ids are the ARI models' newtypes; the
//! caller chooses channel and bridge ids up front, so events that arrive before
//! an HTTP response (fixture 01) can already be matched to the call.

use super::orchestrator::BoxFuture;
use ari::{BridgeId, ChannelId};
use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

/// Audio encoding on the externalMedia leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireFormat {
    /// G.711 µ-law, 8 kHz (RTP default).
    Ulaw,
    /// G.711 A-law, 8 kHz.
    Alaw,
    /// 16-bit linear, 8 kHz.
    Slin,
    /// 16-bit linear, 16 kHz (AudioSocket / WebSocket only: over UnicastRTP
    /// Asterisk drops it in our direction).
    Slin16,
}

impl WireFormat {
    /// Samples per second.
    pub fn rate(self) -> u32 {
        match self {
            Self::Slin16 => 16_000,
            _ => 8_000,
        }
    }
}

/// How the externalMedia channel reaches the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioTransport {
    /// UnicastRTP toward our UDP socket.
    Rtp {
        /// Our socket, as Asterisk should address it.
        external_host: SocketAddr,
    },
    /// AudioSocket: Asterisk connects to our TCP listener and presents `uuid`.
    AudioSocket {
        /// Our listener.
        external_host: SocketAddr,
        /// The id Asterisk presents.
        uuid: String,
    },
    /// chan_websocket in server mode: we connect to Asterisk's
    /// `/media/<connection id>` once the channel exists.
    WebSocket,
}

/// The externalMedia channel created for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaChannel {
    /// Its id.
    pub channel: ChannelId,
    /// For RTP: where Asterisk receives our packets (`UNICASTRTP_LOCAL_*`).
    pub asterisk_rtp: Option<SocketAddr>,
    /// For the media WebSocket: the URL of the channel's media socket.
    pub media_websocket: Option<String>,
}

impl MediaChannel {
    /// What the call's media leg must be told about the channel Asterisk
    /// made (where to send RTP, which WebSocket to open), if anything.
    pub fn leg_command(&self) -> Option<super::media::MediaCommand> {
        use super::media::MediaCommand;
        self.asterisk_rtp
            .map(MediaCommand::SetPeer)
            .or_else(|| self.media_websocket.clone().map(MediaCommand::Connect))
    }
}

/// Why a channel is hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupCause {
    /// Normal clearing.
    Normal,
    /// Busy.
    Busy,
    /// No answer.
    NoAnswer,
    /// Failure.
    Failure,
    /// No capacity: the caller's network may try elsewhere (Q.850 cause 34).
    Congestion,
}

/// An outbound call to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateRequest {
    /// The id the new channel gets.
    pub channel_id: ChannelId,
    /// A dial endpoint built from a template and a validated E.164 number only.
    pub endpoint: String,
    /// Caller id shown to the callee.
    pub caller_id: Option<String>,
    /// Ring timeout.
    pub timeout: Duration,
    /// Stasis arguments.
    pub app_args: Vec<String>,
    /// Channel variables.
    pub variables: BTreeMap<String, String>,
}

/// Why a telephony request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelephonyError {
    /// The channel or bridge no longer exists (usually: the caller hung up).
    #[error("{0} no longer exists")]
    Gone(String),
    /// Asterisk refused the request.
    #[error("Asterisk refused {operation}: {message}")]
    Refused {
        /// What was asked.
        operation: String,
        /// Asterisk's message.
        message: String,
    },
    /// Asterisk could not be reached in time.
    #[error("Asterisk unavailable: {0}")]
    Unavailable(#[source] super::Cause),
}

/// Call control toward Asterisk.
#[allow(missing_docs)] // each method is the ARI operation of the same name
pub trait Telephony: Send + Sync {
    fn answer<'a>(&'a self, channel: &'a ChannelId) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn hangup<'a>(
        &'a self,
        channel: &'a ChannelId,
        cause: HangupCause,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn create_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn destroy_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn add_to_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
        channel: &'a ChannelId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn external_media<'a>(
        &'a self,
        channel: &'a ChannelId,
        transport: &'a AudioTransport,
        format: WireFormat,
    ) -> BoxFuture<'a, Result<MediaChannel, TelephonyError>>;
    /// Plays a media URI (`sound:…`) on a channel.
    fn play<'a>(
        &'a self,
        channel: &'a ChannelId,
        media: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    /// Moves a channel to another endpoint (blind transfer of SIP channels).
    fn redirect<'a>(
        &'a self,
        channel: &'a ChannelId,
        endpoint: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    /// Leaves Stasis into the dialplan at `context,extension,1`.
    fn continue_in_dialplan<'a>(
        &'a self,
        channel: &'a ChannelId,
        context: &'a str,
        extension: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn originate<'a>(
        &'a self,
        request: &'a OriginateRequest,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
    fn send_dtmf<'a>(
        &'a self,
        channel: &'a ChannelId,
        digits: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>>;
}
