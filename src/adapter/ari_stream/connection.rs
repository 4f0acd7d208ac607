//! One connection of the events socket: connect, then read until it ends.

use super::supervisor::{EventStreamConfig, StreamItem, StreamMetrics};
use ari::{Event, decode_event};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::{net::TcpStream, sync::mpsc, time::Instant};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue},
};

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ConnectError {
    /// Asterisk refused the credentials (401 on the upgrade).
    #[error("Asterisk rejected the ARI credentials (401): check ari.username/ari.password")]
    Unauthorized,
    /// The upgrade got another HTTP status (e.g. 503 while Asterisk boots).
    #[error("events socket upgrade answered HTTP {0}")]
    Status(u16),
    /// No answer in time.
    #[error("events socket connect timed out")]
    Timeout,
    /// Network or protocol failure.
    #[error("events socket connect failed: {0}")]
    Other(String),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    /// Asterisk (or a proxy) closed it; `code` is absent without a close frame.
    Closed { code: Option<u16> },
    /// Pings went unanswered: half-open TCP or a hung peer.
    Dead,
    /// Another socket took the app over.
    Replaced,
    /// Read or write failed.
    Error(String),
    /// The consumer went away or a stop was requested.
    Stopped,
}

impl Ended {
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Closed { code: Some(c) } => format!("closed by Asterisk (code {c})"),
            Self::Closed { code: None } => "connection dropped without a close frame".into(),
            Self::Dead => "no answer to pings: connection presumed dead".into(),
            Self::Replaced => {
                "another connection took the Stasis app over (ApplicationReplaced)".into()
            }
            Self::Error(e) => format!("connection failed: {e}"),
            Self::Stopped => "stopped".into(),
        }
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Dead => "dead",
            Self::Replaced => "replaced",
            Self::Error(_) => "error",
            Self::Stopped => "stopped",
        }
    }
}

pub(super) async fn connect(cfg: &EventStreamConfig) -> Result<Ws, ConnectError> {
    let mut request = cfg
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Other(e.to_string()))?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        cfg.username,
        cfg.password.expose()
    ));
    let auth = HeaderValue::from_str(&format!("Basic {token}"))
        .map_err(|_| ConnectError::Other("credentials are not valid in an HTTP header".into()))?;
    request.headers_mut().insert("authorization", auth);
    match tokio::time::timeout(
        cfg.connect_timeout,
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Err(_) => Err(ConnectError::Timeout),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tungstenite::Error::Http(res))) if res.status() == 401 => {
            Err(ConnectError::Unauthorized)
        }
        Ok(Err(tungstenite::Error::Http(res))) => Err(ConnectError::Status(res.status().as_u16())),
        Ok(Err(e)) => Err(ConnectError::Other(e.to_string())),
    }
}

/// Reads events until the connection ends, forwarding them in socket order.
pub(super) async fn pump(
    mut ws: Ws,
    cfg: &EventStreamConfig,
    out: &mpsc::Sender<StreamItem>,
    metrics: &StreamMetrics,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Ended {
    let mut ping = tokio::time::interval(cfg.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.reset(); // the first tick would fire at once
    let mut pings = PingWatch::default();
    let ended = loop {
        // Biased: what the socket holds is read before a ping's deadline is
        // judged (see `PingWatch`).
        tokio::select! {
            biased;
            _ = stop.changed() => break Ended::Stopped,
            msg = ws.next() => {
                pings.heard();
                match msg {
                    None => break Ended::Closed { code: None },
                    Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => {
                        break Ended::Closed { code: None }
                    }
                    Some(Err(tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                    ))) => break Ended::Closed { code: None },
                    Some(Err(e)) => break Ended::Error(e.to_string()),
                    Some(Ok(Message::Close(frame))) => break Ended::Closed { code: frame.map(|f| f.code.into()) },
                    Some(Ok(Message::Text(text))) => {
                        if let Some(end) = deliver(&text, out, metrics).await {
                            break end;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => { metrics.unexpected_frames.inc(); }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                }
            }
            _ = ping.tick() => {
                if pings.tick(Instant::now(), cfg.pong_timeout) == Verdict::Dead {
                    break Ended::Dead;
                }
                if let Err(e) = ws.send(Message::Ping(Vec::new().into())).await {
                    break Ended::Error(e.to_string());
                }
            }
        }
    };
    if matches!(ended, Ended::Stopped | Ended::Replaced) {
        // A polite close; the socket is dropped either way.
        let _ = tokio::time::timeout(cfg.ping_interval, ws.close(None)).await;
    }
    ended
}

/// Decodes and forwards one text message. Malformed events are logged and
/// counted; they never end the stream.
async fn deliver(
    text: &str,
    out: &mpsc::Sender<StreamItem>,
    metrics: &StreamMetrics,
) -> Option<Ended> {
    match decode_event(text) {
        Ok(event) => {
            metrics.count_event(&event);
            let replaced = matches!(event, Event::ApplicationReplaced(_));
            if out.send(StreamItem::Event(event)).await.is_err() {
                return Some(Ended::Stopped);
            }
            replaced.then_some(Ended::Replaced)
        }
        Err(e) => {
            metrics.decode_errors.inc();
            let sample: String = text.chars().take(200).collect();
            tracing::warn!(error = %e, event = %sample, "undecodable ARI event skipped");
            None
        }
    }
}

/// Whether the connection still answers: pings sent with nothing heard since.
///
/// Dead takes two pings in a row unanswered *and* the pong timeout passed
/// since the first. A process starved for longer than the timeout (its
/// runtime busy, the machine loaded) wakes at one tick with the pong of its
/// last ping unread: by time alone it would call a live connection dead,
/// reconnect, and lose every hangup in between (20 calls ended
/// `channel_lost` so, under load, on the real Asterisk). The second ping
/// gives the socket one more interval to show it is alive.
#[derive(Debug, Default)]
pub(super) struct PingWatch {
    /// When the first unanswered ping went out.
    since: Option<Instant>,
    /// Pings sent since anything was heard.
    unanswered: u32,
}

/// What a ping tick decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Send a ping.
    Ping,
    /// Nothing heard for two pings and the timeout: reconnect.
    Dead,
}

impl PingWatch {
    /// A frame came: the connection is alive.
    pub(super) fn heard(&mut self) {
        self.since = None;
        self.unanswered = 0;
    }

    /// A tick at `now`.
    pub(super) fn tick(&mut self, now: Instant, timeout: std::time::Duration) -> Verdict {
        if self.unanswered >= 2 && self.since.is_some_and(|s| now.duration_since(s) >= timeout) {
            return Verdict::Dead;
        }
        self.since.get_or_insert(now);
        self.unanswered += 1;
        Verdict::Ping
    }
}
