//! AudioSocket: one TCP listener for every call, one connection per call.
//!
//! The externalMedia request names our listener and a fresh UUID per leg
//! (`data`). Asterisk connects while it creates the channel and sends that
//! UUID first (`0x01`); the listener hands the connection to the leg that
//! registered the UUID, or closes it: no audio is taken from a connection
//! before its UUID matched a pending call. Then, both ways, one message per
//! 20 ms of little-endian `slin`/`slin16` (`0x10`/`0x12`), DTMF from Asterisk
//! as `0x03` (framing in `vg_media::audiosocket`).
//!
//! The leg sends as soon as the connection is matched, never waiting for
//! Asterisk's first audio: in a two-member bridge Asterisk sends nothing
//! until the caller makes a sound, and a gateway that waits for it first
//! leaves some calls silent both ways.

use super::emit::{Emitter, Flow};
use super::metrics::MediaMetrics;
use super::wire::Wire;
use crate::application::ports::media::MediaEvent;
use ::media::audiosocket::{self, HEADER_LEN, Kind, MAX_PAYLOAD, Message};
use ::media::pipeline::InboundPipeline;
use ::media::rtp::RTP_HEADER_LEN;
use ::media::vad::VoiceActivityDetector;
use std::{
    collections::HashMap,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};
use uuid::Uuid;

/// How long a new connection may take to present its UUID (Asterisk sends
/// it right after connecting, when it calls the channel).
const UUID_TIMEOUT: Duration = Duration::from_secs(5);
/// A leg's receive buffer: one whole message of the largest size, plus room
/// for the next one's start.
const RX_BUFFER: usize = HEADER_LEN + MAX_PAYLOAD + 4096;

/// A connection that presented a registered UUID.
#[derive(Debug)]
pub(crate) struct Matched {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes read after the UUID message (audio Asterisk sent at once).
    rest: Vec<u8>,
}

type Pending = Mutex<HashMap<Uuid, oneshot::Sender<Matched>>>;

/// The AudioSocket listener: accepts connections and matches them to legs.
#[derive(Debug, Clone)]
pub struct AudioSocketListener {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    local: SocketAddr,
    pending: Arc<Pending>,
    accept: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl AudioSocketListener {
    /// Binds `addr` (port 0: any free port) and starts accepting. Must be
    /// called inside a tokio runtime.
    pub fn bind(addr: SocketAddr, metrics: MediaMetrics) -> io::Result<Self> {
        let std = std::net::TcpListener::bind(addr)?;
        std.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std)?;
        let local = listener.local_addr()?;
        let pending: Arc<Pending> = Arc::default();
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&pending), metrics));
        tracing::info!(%local, "AudioSocket listener");
        Ok(Self {
            inner: Arc::new(Inner {
                local,
                pending,
                accept,
            }),
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Reserves a fresh UUID for one leg; the connection presenting it comes
    /// through the receiver. Dropping the [`Registration`] withdraws it.
    pub(crate) fn register(&self) -> (Registration, oneshot::Receiver<Matched>) {
        let (tx, rx) = oneshot::channel();
        let mut pending = lock(&self.inner.pending);
        let mut id = Uuid::new_v4();
        while pending.contains_key(&id) {
            id = Uuid::new_v4();
        }
        pending.insert(id, tx);
        let registration = Registration {
            id,
            pending: Arc::clone(&self.inner.pending),
        };
        (registration, rx)
    }
}

fn lock(p: &Pending) -> MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Matched>>> {
    // Plain inserts and removes: a panic elsewhere cannot leave it half-written.
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// A leg's claim on its UUID.
#[derive(Debug)]
pub(crate) struct Registration {
    id: Uuid,
    pending: Arc<Pending>,
}

impl Registration {
    pub(crate) fn id(&self) -> Uuid {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.pending).remove(&self.id);
    }
}

async fn accept_loop(listener: TcpListener, pending: Arc<Pending>, metrics: MediaMetrics) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let pending = Arc::clone(&pending);
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    if let Err(e) = identify(stream, peer, &pending).await {
                        metrics.dropped_foreign.inc();
                        tracing::warn!(%peer, error = %e, "AudioSocket connection refused");
                    }
                });
            }
            Err(e) => {
                // Out of descriptors, usually: back off instead of spinning.
                tracing::warn!(error = %e, "AudioSocket accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Reads the connection's first message, which must be a registered UUID,
/// and hands the connection to its leg.
async fn identify(mut stream: TcpStream, peer: SocketAddr, pending: &Pending) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 512];
    let mut filled = 0;
    let read_uuid = async {
        loop {
            match audiosocket::parse(&buf[..filled]) {
                Ok(Some((Message::Uuid(id), n))) => return Ok((Uuid::from_bytes(id), n)),
                Ok(Some((other, _))) => {
                    return Err(invalid(format!("first message is {other:?}, not a UUID")));
                }
                Err(e) => return Err(invalid(e.to_string())),
                Ok(None) => {}
            }
            // The UUID message is 19 bytes: the buffer cannot fill before it parses.
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(invalid("closed before presenting a UUID".into()));
            }
            filled += n;
        }
    };
    let (id, used) = tokio::time::timeout(UUID_TIMEOUT, read_uuid)
        .await
        .map_err(|_| invalid("no UUID within 5 s".into()))??;
    let Some(leg) = lock(pending).remove(&id) else {
        // Not ours (a stale or forged id): hang the channel up.
        let _ = stream.write_all(&audiosocket::HANGUP).await;
        return Err(invalid(format!("unknown UUID {id}")));
    };
    let matched = Matched {
        stream,
        peer,
        rest: buf[used..filled].to_vec(),
    };
    if leg.send(matched).is_err() {
        return Err(invalid(format!(
            "the leg of {id} ended before Asterisk connected"
        )));
    }
    Ok(())
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// One leg's AudioSocket connection, once Asterisk made it.
pub(crate) struct AudioSocketWire {
    /// Withdrawn from the listener when the leg ends.
    registration: Registration,
    state: State,
    /// Sample rate of the call's format: the only audio kind taken and sent.
    rate: u32,
    kind: Kind,
    rx: Box<[u8]>,
    filled: usize,
}

enum State {
    Waiting(oneshot::Receiver<Matched>),
    Connected(TcpStream),
    Closed,
}

impl std::fmt::Debug for AudioSocketWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Waiting(_) => "waiting",
            State::Connected(_) => "connected",
            State::Closed => "closed",
        };
        write!(f, "audiosocket {} ({state})", self.registration.id())
    }
}

/// What [`AudioSocketWire::recv`] got.
pub(crate) enum Input {
    /// Asterisk connected and presented our UUID (`None`: the listener is gone).
    Matched(Option<Matched>),
    /// Bytes read into the buffer (0: Asterisk closed the connection).
    Read(io::Result<usize>),
}

impl AudioSocketWire {
    /// `rate`: 8000 (`slin`) or 16000 (`slin16`).
    pub(crate) fn new(
        registration: Registration,
        matched: oneshot::Receiver<Matched>,
        rate: u32,
    ) -> Self {
        Self {
            registration,
            state: State::Waiting(matched),
            rate,
            kind: Kind::Audio { rate },
            rx: vec![0; RX_BUFFER].into_boxed_slice(),
            filled: 0,
        }
    }

    fn close(&mut self, call: &crate::domain::CallId, why: &str) {
        tracing::debug!(%call, why, "AudioSocket connection closed");
        self.state = State::Closed;
        self.filled = 0;
    }

    /// Takes every whole message in the buffer; keeps a partial one.
    fn take_messages<V: VoiceActivityDetector>(
        &mut self,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        let mut at = 0;
        loop {
            let (message, n) = match audiosocket::parse(&self.rx[at..self.filled]) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    // The stream cannot be resynchronised after a bad header.
                    metrics.dropped_malformed.inc();
                    tracing::warn!(call = %emit.call, error = %e, "AudioSocket stream refused");
                    self.close(&emit.call, "malformed");
                    return Flow::Continue;
                }
            };
            at += n;
            match message {
                Message::Audio { rate, pcm } if rate == self.rate => {
                    metrics.packets_in.inc();
                    if super::wire::take_pcm(pcm, now, inbound, emit) == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                Message::Audio { rate, .. } => {
                    metrics.dropped_malformed.inc();
                    tracing::debug!(call = %emit.call, rate, "AudioSocket audio at another rate dropped");
                }
                Message::Dtmf(digit) => {
                    if emit.caller_event(MediaEvent::Dtmf { digit }) == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                Message::Uuid(_) => {
                    tracing::debug!(call = %emit.call, "AudioSocket UUID repeated; ignored");
                }
                Message::Error(code) => {
                    tracing::warn!(call = %emit.call, ?code, "Asterisk reports an AudioSocket error");
                }
                Message::Hangup => {
                    self.close(&emit.call, "hangup message");
                    return Flow::Continue;
                }
            }
        }
        self.rx.copy_within(at..self.filled, 0);
        self.filled -= at;
        Flow::Continue
    }
}

impl Wire for AudioSocketWire {
    type Input = Input;

    async fn recv(&mut self) -> Input {
        match &mut self.state {
            // Both are cancel-safe: a oneshot keeps its value, `read` reads
            // nothing unless it completes.
            State::Waiting(rx) => Input::Matched(rx.await.ok()),
            State::Connected(stream) => Input::Read(stream.read(&mut self.rx[self.filled..]).await),
            State::Closed => std::future::pending().await,
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
            Input::Matched(None) => {
                self.close(&emit.call, "listener gone");
                Flow::Continue
            }
            Input::Matched(Some(m)) => {
                let _ = m.stream.set_nodelay(true);
                self.state = State::Connected(m.stream);
                // At most the 512-byte first read, well within the buffer.
                let n = m.rest.len().min(self.rx.len());
                self.rx[..n].copy_from_slice(&m.rest[..n]);
                self.filled = n;
                if emit.control(MediaEvent::Latched { peer: m.peer }) == Flow::Stop {
                    return Flow::Stop;
                }
                self.take_messages(now, inbound, emit, metrics)
            }
            Input::Read(Ok(0)) => {
                self.close(&emit.call, "closed by Asterisk");
                Flow::Continue
            }
            Input::Read(Ok(n)) => {
                self.filled += n;
                self.take_messages(now, inbound, emit, metrics)
            }
            Input::Read(Err(e)) => {
                tracing::debug!(call = %emit.call, error = %e, "AudioSocket read failed");
                self.close(&emit.call, "read error");
                Flow::Continue
            }
        }
    }

    async fn send(&mut self, buf: &mut [u8], n: usize) -> io::Result<bool> {
        let State::Connected(stream) = &mut self.state else {
            return Ok(false);
        };
        // The RTP header's last three bytes become the AudioSocket header:
        // the payload goes out where it lies.
        let start = RTP_HEADER_LEN - HEADER_LEN;
        let header = audiosocket::header(self.kind, n.saturating_sub(RTP_HEADER_LEN))
            .ok_or_else(|| invalid(format!("no AudioSocket kind for {} Hz", self.rate)))?;
        buf[start..RTP_HEADER_LEN].copy_from_slice(&header);
        match stream.write_all(&buf[start..n]).await {
            Ok(()) => Ok(true),
            Err(e) => {
                self.state = State::Closed;
                Err(e)
            }
        }
    }

    fn ready(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    fn set_peer(&mut self, _addr: SocketAddr) {}
}
