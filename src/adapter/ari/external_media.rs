//! `POST /channels/externalMedia`: the channel that carries a call's audio to and
//! from the gateway, over one of the three transports Asterisk 20 offers.
//!
//! What the fixtures showed (Asterisk 20.20.1):
//! - UnicastRTP: Asterisk sends RTP to `external_host` and expects ours at
//!   `UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT` (in the response's
//!   `channelvars`). `slin16` works only from Asterisk to us (our PT 118 packets are
//!   dropped): for two-way audio use `ulaw`, `alaw` or `slin`.
//! - AudioSocket: Asterisk connects to `external_host` over TCP and sends our UUID
//!   first; 16 kHz works both ways, and DTMF arrives in-band.
//! - Media WebSocket (`connection_type=server`): we connect to
//!   `/media/<MEDIA_WEBSOCKET_CONNECTION_ID>` with subprotocol `media`; Asterisk
//!   queues and re-times what we send.
//!
//! The answer shows the channel `Down`; its `StasisStart` (state `Up`) may arrive
//! before the HTTP answer.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ari::{Channel, ChannelId};

use super::call::Call;
use super::channels::variables_body;
use super::client::AriClient;
use super::error::AriError;
use super::spec;

/// Audio format of the externalMedia channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFormat {
    /// G.711 µ-law, 8 kHz (RTP PT 0).
    Ulaw,
    /// G.711 A-law, 8 kHz (RTP PT 8).
    Alaw,
    /// 16-bit linear, 8 kHz (RTP PT 10, big-endian; AudioSocket `0x10`, little-endian).
    Slin,
    /// 16-bit linear, 16 kHz (RTP PT 118, one-way only; AudioSocket `0x12`).
    Slin16,
}

impl MediaFormat {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ulaw => "ulaw",
            Self::Alaw => "alaw",
            Self::Slin => "slin",
            Self::Slin16 => "slin16",
        }
    }
}

/// Who opens the media WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebSocketConnection {
    /// Asterisk listens; we connect to `/media/<connection id>`.
    Server,
    /// Asterisk connects out, to the `websocket_client.conf` entry named here.
    Client {
        /// Name of the client connection in Asterisk's configuration.
        connection: String,
    },
}

/// Transport and its addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalMediaTransport {
    /// RTP over UDP (`encapsulation=rtp`, `transport=udp`) to our socket.
    UnicastRtp {
        /// Where Asterisk sends RTP.
        external_host: SocketAddr,
    },
    /// AudioSocket over TCP (`encapsulation=audiosocket`, `transport=tcp`).
    AudioSocket {
        /// Where Asterisk connects.
        external_host: SocketAddr,
        /// UUID Asterisk sends first on the connection (required by Asterisk), so the
        /// gateway can tell which call a connection belongs to.
        uuid: String,
    },
    /// chan_websocket (`transport=websocket`, `encapsulation=none`).
    WebSocket {
        /// Who connects.
        connection: WebSocketConnection,
        /// Options such as `f(json)` (control messages as JSON).
        transport_data: Option<String>,
    },
}

/// An externalMedia request. The channel goes to this client's Stasis app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalMedia {
    /// Transport.
    pub transport: ExternalMediaTransport,
    /// Audio format.
    pub format: MediaFormat,
    /// Our id for the channel (a duplicate id is a 500, not a 409).
    pub channel_id: Option<ChannelId>,
    /// Channel variables (sent in the JSON body).
    pub variables: BTreeMap<String, String>,
}

/// Where the audio of an externalMedia channel goes, read from its `channelvars`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalMediaInfo {
    /// Asterisk's RTP socket: send our RTP here.
    Rtp {
        /// `UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT`.
        asterisk_rtp: SocketAddr,
    },
    /// The AudioSocket UUID Asterisk will present.
    AudioSocket {
        /// `AUDIOSOCKET_UUID`.
        uuid: String,
    },
    /// The media WebSocket to connect to.
    WebSocket {
        /// `MEDIA_WEBSOCKET_CONNECTION_ID`: connect to `/media/<id>`.
        connection_id: String,
        /// `MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE` in bytes, when sent.
        optimal_frame_size: Option<usize>,
    },
}

impl ExternalMediaInfo {
    /// Reads the channel variables of an externalMedia answer (or a later `GET`).
    pub fn from_channel(channel: &Channel) -> Option<Self> {
        if let (Some(addr), Some(port)) = (
            channel.channelvar("UNICASTRTP_LOCAL_ADDRESS"),
            channel.channelvar("UNICASTRTP_LOCAL_PORT"),
        ) {
            let ip: IpAddr = addr.parse().ok()?;
            let port: u16 = port.parse().ok()?;
            return Some(Self::Rtp {
                asterisk_rtp: SocketAddr::new(ip, port),
            });
        }
        if let Some(uuid) = channel.channelvar("AUDIOSOCKET_UUID") {
            return Some(Self::AudioSocket {
                uuid: uuid.to_owned(),
            });
        }
        let connection_id = channel.channelvar("MEDIA_WEBSOCKET_CONNECTION_ID")?;
        Some(Self::WebSocket {
            connection_id: connection_id.to_owned(),
            optimal_frame_size: channel
                .channelvar("MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE")
                .and_then(|s| s.parse().ok()),
        })
    }
}

/// Asterisk insists on a UUID for AudioSocket; checking the shape here turns a
/// would-be 400 into a local error and keeps arbitrary text out of the request.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl AriClient {
    /// `POST /channels/externalMedia`.
    pub async fn external_media(&self, request: &ExternalMedia) -> Result<Channel, AriError> {
        let op = spec::CHANNELS_EXTERNAL_MEDIA.name;
        let mut call = Call::new(&spec::CHANNELS_EXTERNAL_MEDIA)
            .query("app", self.app())
            .query("format", request.format.as_str())
            .query_opt("channelId", request.channel_id.as_ref());
        call = match &request.transport {
            ExternalMediaTransport::UnicastRtp { external_host } => call
                .query("external_host", external_host)
                .query("encapsulation", "rtp")
                .query("transport", "udp"),
            ExternalMediaTransport::AudioSocket {
                external_host,
                uuid,
            } => {
                if !is_uuid(uuid) {
                    return Err(AriError::InvalidRequest {
                        operation: op,
                        reason: format!("AudioSocket id `{uuid}` is not a UUID"),
                    });
                }
                call.query("external_host", external_host)
                    .query("encapsulation", "audiosocket")
                    .query("transport", "tcp")
                    .query("data", uuid)
            }
            ExternalMediaTransport::WebSocket {
                connection,
                transport_data,
            } => {
                let call = call
                    .query("transport", "websocket")
                    .query("encapsulation", "none")
                    .query_opt("transport_data", transport_data.as_ref());
                match connection {
                    WebSocketConnection::Server => call.query("connection_type", "server"),
                    WebSocketConnection::Client { connection } => call
                        .query("connection_type", "client")
                        .query("external_host", connection),
                }
            }
        };
        if !request.variables.is_empty() {
            call = call.body("variables", variables_body(&request.variables));
        }
        self.json(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("24cfda69-4aa5-40c1-9dda-7efedfbb10d5"));
        assert!(!is_uuid("24cfda69-4aa5-40c1-9dda-7efedfbb10d"));
        assert!(!is_uuid("24cfda69-4aa5-40c1-9dda-7efedfbb10d5&x=1"));
        assert!(!is_uuid(""));
    }
}
