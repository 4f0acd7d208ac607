//! What the cloud adapters share: an API key that never prints, and a
//! WebSocket client connection with bounded frames and typed handshake errors.
//! (It lives here because Deepgram was the first WebSocket provider; the
//! ElevenLabs adapter uses it too.)

use std::fmt;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A provider's API key. `Debug` prints `ApiKey(***)`, so a config struct
/// holding it may be logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key in environment variable `var`, if set and not empty.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var).ok().filter(|k| !k.is_empty()).map(Self)
    }

    /// The key itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// No key (self-hosted servers may need none).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// A client WebSocket to a provider.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// Its receiving half: adapters read and write from one `select!`.
pub type Reader = SplitStream<Socket>;
/// Its sending half.
pub type Writer = SplitSink<Socket, Message>;

/// Why the WebSocket could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// TCP, TLS or the handshake failed, or the URL is invalid.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered the upgrade with an HTTP error (401: bad key).
    #[error("HTTP {status}: {reason}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The provider's error header or the start of the body.
        reason: String,
    },
    /// No handshake within the bound.
    #[error("no WebSocket handshake within {0:?}")]
    Timeout(Duration),
}

/// Largest message accepted from a provider: far above any audio frame they
/// send, small enough that a broken server cannot exhaust memory.
pub const MAX_MESSAGE: usize = 4 << 20;

/// Opens `url` with `headers` (marked sensitive: they carry keys).
pub async fn connect(
    url: &str,
    headers: &[(&'static str, String)],
    timeout: Duration,
) -> Result<(Writer, Reader), ConnectError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    for (name, value) in headers {
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| ConnectError::Unreachable(format!("invalid {name} header value")))?;
        value.set_sensitive(true);
        request.headers_mut().insert(*name, value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Ok((socket, _))) => Ok(socket.split()),
        Ok(Err(tungstenite::Error::Http(response))) => Err(refused(&response)),
        Ok(Err(e)) => Err(ConnectError::Unreachable(e.to_string())),
    }
}

fn refused(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> ConnectError {
    // Deepgram says why in `dg-error`; others in the body.
    let header = ["dg-error", "x-dg-error"]
        .iter()
        .find_map(|h| response.headers().get(*h)?.to_str().ok().map(str::to_owned));
    let body = response
        .body()
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let reason = header.or(body).unwrap_or_default();
    ConnectError::Refused {
        status: response.status().as_u16(),
        reason: excerpt(&reason),
    }
}

/// The first 200 characters of a provider's message, for errors and logs.
pub fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

/// What the socket yielded, with pings and pongs taken care of.
#[derive(Debug)]
pub enum Received {
    /// A text (JSON) message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The server closed: its close code and reason, if it sent a frame.
    Closed(Option<(u16, String)>),
}

/// Why reading failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveError {
    /// The connection broke (reset, TLS, I/O).
    Transport(String),
    /// The peer sent something WebSocket forbids or we refuse (oversized,
    /// invalid UTF-8, bad framing).
    Malformed(String),
}

/// The next message.
pub async fn receive(socket: &mut Reader) -> Result<Received, ReceiveError> {
    use tungstenite::error::ProtocolError;
    loop {
        return match socket.next().await {
            None | Some(Err(tungstenite::Error::ConnectionClosed)) => Ok(Received::Closed(None)),
            Some(Err(tungstenite::Error::Protocol(
                ProtocolError::ResetWithoutClosingHandshake,
            ))) => Ok(Received::Closed(None)),
            Some(Err(
                e @ (tungstenite::Error::Capacity(_)
                | tungstenite::Error::Utf8(_)
                | tungstenite::Error::Protocol(_)),
            )) => Err(ReceiveError::Malformed(e.to_string())),
            Some(Err(e)) => Err(ReceiveError::Transport(e.to_string())),
            Some(Ok(Message::Text(text))) => Ok(Received::Text(text.as_str().to_owned())),
            Some(Ok(Message::Binary(data))) => Ok(Received::Binary(data.to_vec())),
            Some(Ok(Message::Close(frame))) => {
                Ok(Received::Closed(frame.map(|f| {
                    (u16::from(f.code), f.reason.as_str().to_owned())
                })))
            }
            // tungstenite answers pings itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
        };
    }
}

/// Sends a JSON text message.
pub async fn send_json(socket: &mut Writer, value: &serde_json::Value) -> Result<(), String> {
    socket
        .send(Message::text(value.to_string()))
        .await
        .map_err(|e| e.to_string())
}

/// Best effort: sends `last` (the provider's close message) and a close frame,
/// bounded so that a dead peer cannot hold the task.
pub async fn close(socket: &mut Writer, last: Option<serde_json::Value>) {
    let goodbye = async {
        if let Some(last) = last {
            send_json(socket, &last).await?;
        }
        socket.close().await.map_err(|e| e.to_string())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
}

/// Little-endian 16-bit samples from `bytes`, carrying a sample's odd byte
/// across calls (providers split their audio anywhere).
pub fn decode_le(odd: &mut Option<u8>, bytes: &[u8]) -> Vec<i16> {
    let mut pcm = Vec::with_capacity(bytes.len() / 2 + 1);
    let mut rest = bytes;
    if let (Some(low), Some((&high, tail))) = (*odd, rest.split_first()) {
        pcm.push(i16::from_le_bytes([low, high]));
        *odd = None;
        rest = tail;
    }
    let mut pairs = rest.chunks_exact(2);
    pcm.extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
    if let [last] = pairs.remainder() {
        *odd = Some(*last);
    }
    pcm
}
