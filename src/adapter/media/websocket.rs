//! chan_websocket's media WebSocket: Asterisk 20.20.1 in server mode.
//!
//! The externalMedia answer names the channel's connection id; the session
//! passes `MediaCommand::Connect(ws://…/media/<id>)` on, and the leg opens
//! the socket (subprotocol `media`) in a task of its own so its loop never
//! waits on a handshake. Then, both ways, binary messages of audio in the
//! call's format (one 20 ms frame each, far under 65,500 bytes) and text
//! control events (`vg_media::media_websocket`):
//! - `MEDIA_START` may come before or after the first audio: nothing waits
//!   for it (its format is checked against ours when it comes).
//! - `MEDIA_XOFF`/`MEDIA_XON`: Asterisk's queue of our frames is nearly
//!   full / drained. Between them no new agent audio enters the pacer (what
//!   is in it, at most the play lead, still goes). Pacing at 20 ms keeps that
//!   queue at a frame or two, so this is a guard, not the normal path.
//! - `DTMF_END digit:d`: a second DTMF source beside ARI (the session takes
//!   the first report of each press).
//! - Barge-in sends `FLUSH_MEDIA` after flushing our own pacer, so nothing
//!   Asterisk still holds is played either.
//!
//! tungstenite allocates each message (a `Bytes` per frame both ways): the
//! price of the library; the frame is copied once into it.

use super::emit::{Emitter, Flow};
use super::metrics::MediaMetrics;
use super::wire::Wire;
use crate::application::ports::media::MediaEvent;
use ::media::media_websocket::{self, Event, FLUSH_MEDIA, MAX_MESSAGE};
use ::media::pipeline::InboundPipeline;
use ::media::rtp::RTP_HEADER_LEN;
use ::media::vad::VoiceActivityDetector;
use futures_util::{SinkExt, StreamExt};
use std::{io, net::SocketAddr, time::Duration, time::Instant};
use tokio::{net::TcpStream, sync::oneshot};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue},
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the handshake with Asterisk may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One leg's media WebSocket.
pub(crate) struct WebSocketWire {
    state: State,
    /// The call's format name as Asterisk spells it, to check `MEDIA_START`.
    format: &'static str,
    /// Between `MEDIA_XOFF` and `MEDIA_XON`.
    xoff: bool,
}

enum State {
    /// No URL yet.
    Idle,
    Connecting(oneshot::Receiver<Result<Box<Ws>, String>>),
    Connected(Box<Ws>),
    Closed,
}

impl std::fmt::Debug for WebSocketWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Connecting(_) => "connecting",
            State::Connected(_) => "connected",
            State::Closed => "closed",
        };
        write!(f, "media websocket ({state})")
    }
}

/// What [`WebSocketWire::recv`] got.
pub(crate) enum Input {
    /// The handshake ended.
    Connected(Result<Box<Ws>, String>),
    /// A message, an error, or the end of the stream.
    Message(Option<Result<Message, tungstenite::Error>>),
}

impl WebSocketWire {
    pub(crate) fn new(format: &'static str) -> Self {
        Self {
            state: State::Idle,
            format,
            xoff: false,
        }
    }

    fn close(&mut self, call: &crate::domain::CallId, why: &str) {
        tracing::debug!(%call, why, "media WebSocket closed");
        self.state = State::Closed;
    }

    fn text<V: VoiceActivityDetector>(
        &mut self,
        text: &str,
        _inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        match media_websocket::parse_event(text) {
            Ok(Event::MediaStart { format, .. }) => {
                if format.is_some_and(|f| f != self.format) {
                    tracing::warn!(call = %emit.call, ?format, expected = self.format,
                        "Asterisk's media WebSocket runs another format");
                }
                Flow::Continue
            }
            Ok(Event::Xoff) => {
                self.xoff = true;
                Flow::Continue
            }
            Ok(Event::Xon) => {
                self.xoff = false;
                Flow::Continue
            }
            Ok(Event::DtmfEnd(digit)) => emit.caller_event(MediaEvent::Dtmf { digit }),
            Ok(Event::Error(e)) => {
                tracing::warn!(call = %emit.call, error = e, "Asterisk's media WebSocket reports an error");
                Flow::Continue
            }
            Ok(_) => Flow::Continue,
            Err(e) => {
                metrics.dropped_malformed.inc();
                tracing::debug!(call = %emit.call, error = %e, "media WebSocket event refused");
                Flow::Continue
            }
        }
    }
}

/// Opens `url` with subprotocol `media`. A refused attempt (Asterisk's
/// HTTP server busy with many calls set up at once) is tried again after a
/// short pause, within [`CONNECT_TIMEOUT`] in all.
async fn connect(url: String) -> Result<Box<Ws>, String> {
    let attempt = async || {
        let mut request = url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("media"));
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(ws, _)| Box::new(ws))
    };
    let attempts = async {
        let mut pause = Duration::from_millis(50);
        loop {
            match attempt().await {
                Ok(ws) => return Ok(ws),
                Err(e) if is_final(&e) => return Err(format!("{url}: {e}")),
                Err(e) => {
                    tracing::debug!(%url, error = %e, ?pause, "media WebSocket refused; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(800));
                }
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempts).await {
        Err(_) => Err(format!(
            "no handshake with {url} within {CONNECT_TIMEOUT:?}"
        )),
        Ok(result) => result,
    }
}

/// Whether a failed attempt would fail the same way again: a URL that does
/// not parse, or Asterisk answering the upgrade with a 4xx (no such
/// connection id, or the request refused). A refused or reset connection or
/// a 5xx is Asterisk's HTTP server busy with many calls set up at once, and
/// is tried again.
fn is_final(e: &tungstenite::Error) -> bool {
    match e {
        tungstenite::Error::Url(_) | tungstenite::Error::HttpFormat(_) => true,
        tungstenite::Error::Http(response) => response.status().is_client_error(),
        _ => false,
    }
}

impl Wire for WebSocketWire {
    type Input = Input;

    async fn recv(&mut self) -> Input {
        match &mut self.state {
            // Both are cancel-safe: a oneshot keeps its value, and the
            // stream buffers a message until `next` returns it.
            State::Connecting(rx) => Input::Connected(
                rx.await
                    .unwrap_or_else(|_| Err("the connecting task ended".into())),
            ),
            State::Connected(ws) => Input::Message(ws.next().await),
            State::Idle | State::Closed => std::future::pending().await,
        }
    }

    fn handle<V: VoiceActivityDetector>(
        &mut self,
        input: Input,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        match input {
            Input::Connected(Ok(ws)) => {
                let peer = match ws.get_ref() {
                    MaybeTlsStream::Plain(s) => s.peer_addr().ok(),
                    _ => None,
                };
                self.state = State::Connected(ws);
                match peer {
                    Some(peer) => emit.control(MediaEvent::Latched { peer }),
                    None => Flow::Continue,
                }
            }
            // No audio either way for the whole call: the leg ends, and the
            // session ends the call (`media leg ended`) rather than keep
            // the caller on dead air.
            Input::Connected(Err(e)) => {
                tracing::warn!(call = %emit.call, error = %e, "cannot open Asterisk's media WebSocket; the leg ends");
                self.close(&emit.call, "connect failed");
                Flow::Stop
            }
            Input::Message(Some(Ok(Message::Binary(audio)))) => {
                if audio.len() > MAX_MESSAGE {
                    metrics.dropped_malformed.inc();
                    return Flow::Continue;
                }
                metrics.packets_in.inc();
                super::wire::take_pcm(&audio, now, inbound, emit)
            }
            Input::Message(Some(Ok(Message::Text(text)))) => {
                self.text(text.as_str(), inbound, emit, metrics)
            }
            Input::Message(Some(Ok(Message::Close(_))) | None) => {
                self.close(&emit.call, "closed by Asterisk");
                Flow::Continue
            }
            // Pings are answered by tungstenite on the next read or write.
            Input::Message(Some(Ok(_))) => Flow::Continue,
            Input::Message(Some(Err(e))) => {
                tracing::debug!(call = %emit.call, error = %e, "media WebSocket read failed");
                self.close(&emit.call, "read error");
                Flow::Continue
            }
        }
    }

    async fn send(&mut self, buf: &mut [u8], n: usize) -> io::Result<bool> {
        let State::Connected(ws) = &mut self.state else {
            return Ok(false);
        };
        let payload = buf.get(RTP_HEADER_LEN..n).unwrap_or_default();
        match ws.send(Message::binary(payload.to_vec())).await {
            Ok(()) => Ok(true),
            Err(e) => {
                self.state = State::Closed;
                Err(io::Error::other(e))
            }
        }
    }

    async fn flushed(&mut self) -> io::Result<()> {
        let State::Connected(ws) = &mut self.state else {
            return Ok(());
        };
        ws.send(Message::text(FLUSH_MEDIA))
            .await
            .map_err(io::Error::other)
    }

    fn ready(&self) -> bool {
        matches!(self.state, State::Connected(_)) && !self.xoff
    }

    fn set_peer(&mut self, _addr: SocketAddr) {}

    fn connect(&mut self, url: String) {
        if !matches!(self.state, State::Idle) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            // The leg may have ended meanwhile; the socket then just drops.
            let _ = tx.send(connect(url).await);
        });
        self.state = State::Connecting(rx);
    }
}
