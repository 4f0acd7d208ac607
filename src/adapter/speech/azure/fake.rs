//! A fake Azure Speech service on loopback, speaking the real wire protocol
//! on one port: WebSocket recognition (`/speech/recognition/conversation/
//! cognitiveservices/v1`) and REST synthesis (`POST /cognitiveservices/v1`,
//! chunked). It checks what the client sends (key, query, message framing,
//! RIFF header, request ids, SSML escaping) and records protocol violations,
//! recognises "speech" by energy (answering with scripted transcripts), and
//! fails on demand: 401 for a wrong key (or bearer token, see
//! [`FakeAzure::accept_token`]), 429, a dropped connection
//! mid-stream, an `Error` recognition status, a truncated audio body.
//!
//! For the adapters' tests, the call tests through the simulator and the
//! benchmark; point `AzureConfig::base_url` (or `[speech.azure] base_url`)
//! at [`FakeAzure::url`].

mod recognize;
mod synthesize;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};

/// How the next recognition connection fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SttFault {
    /// The handshake is answered 429 Too Many Requests.
    Throttled,
    /// The TCP connection drops, without a close frame, after this many
    /// audio messages.
    DisconnectAfter(u32),
    /// The TCP connection drops, without a close frame, once 200 ms of
    /// speech were heard: a failure in the middle of the caller's utterance.
    DisconnectOnSpeech,
    /// After its first turn's `turn.end` the service closes the connection
    /// (1000), as it does with idle and long-lived ones.
    CloseAfterTurn,
    /// The first audio of the first turn is answered by a close (1000)
    /// instead of `turn.start`: the service ending an idle connection just
    /// as the client began a turn.
    CloseBeforeTurn,
    /// The first turn's `speech.phrase` has `RecognitionStatus: Error`.
    ErrorStatus,
}

/// How the next synthesis request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsFault {
    /// 429 Too Many Requests with `Retry-After`.
    Throttled,
    /// This HTTP status (e.g. 500, 400).
    Status(u16),
    /// Half the audio, then the connection drops (no final chunk).
    DisconnectMidBody,
}

/// One recognition turn as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnLog {
    /// Its `X-RequestId`.
    pub request_id: String,
    /// What its RIFF header announced: µ-law or not, and the rate.
    pub mulaw: bool,
    /// Sample rate from the RIFF header.
    pub sample_rate: u32,
    /// Audio bytes after the header.
    pub audio_bytes: usize,
    /// Whether the client ended it (empty audio message).
    pub ended: bool,
}

/// One synthesis request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtsLog {
    /// The text, unescaped from the SSML.
    pub text: String,
    /// `<voice name>`.
    pub voice: String,
    /// `xml:lang`.
    pub language: String,
    /// `X-Microsoft-OutputFormat`.
    pub format: String,
}

/// What the fake saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeAzureLog {
    /// Accepted recognition WebSockets.
    pub stt_connections: u32,
    /// Their query strings.
    pub stt_queries: Vec<String>,
    /// Turns, in order.
    pub turns: Vec<TurnLog>,
    /// `speech.context` bodies, in order.
    pub contexts: Vec<String>,
    /// Accepted synthesis requests.
    pub tts: Vec<TtsLog>,
    /// What the client did against the protocol (empty for a correct client).
    pub violations: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    key: String,
    /// A bearer token accepted instead of the key.
    token: Option<String>,
    transcripts: Vec<String>,
    next_transcript: usize,
    stt_faults: VecDeque<SttFault>,
    tts_faults: VecDeque<TtsFault>,
    log: FakeAzureLog,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running fake; dropping it stops accepting.
#[derive(Debug)]
pub struct FakeAzure {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Shared,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAzure {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeAzure {
    /// Starts on a free loopback port, accepting `key`; each recognised turn
    /// with speech is answered with the next of `transcripts`, in turn.
    pub async fn start(key: &str, transcripts: &[&str]) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            transcripts: transcripts.iter().map(|t| (*t).to_owned()).collect(),
            ..State::default()
        }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, shared.clone()));
            }
        });
        Ok(Self { url, state, accept })
    }

    /// Accepts `Authorization: Bearer <token>` as well as the key, as the
    /// service accepts a token from its `issueToken` endpoint.
    pub fn accept_token(&self, token: &str) {
        lock(&self.state).token = Some(token.to_owned());
    }

    /// The next recognition connection fails so.
    pub fn fail_next_stt(&self, fault: SttFault) {
        lock(&self.state).stt_faults.push_back(fault);
    }

    /// The next synthesis request fails so.
    pub fn fail_next_tts(&self, fault: TtsFault) {
        lock(&self.state).tts_faults.push_back(fault);
    }

    /// What it saw so far.
    pub fn log(&self) -> FakeAzureLog {
        lock(&self.state).log.clone()
    }
}

impl State {
    /// Whether a request with these `Ocp-Apim-Subscription-Key` and
    /// `Authorization` values may pass.
    fn authorized(&self, key: Option<&str>, authorization: Option<&str>) -> bool {
        let bearer = authorization.and_then(|a| a.strip_prefix("Bearer "));
        key == Some(self.key.as_str()) || (bearer.is_some() && bearer == self.token.as_deref())
    }

    fn violation(&mut self, what: String) {
        tracing::warn!(%what, "fake azure: protocol violation");
        self.log.violations.push(what);
    }

    /// The transcript the next turn with speech gets.
    fn upcoming(&self) -> String {
        if self.transcripts.is_empty() {
            return String::new();
        }
        self.transcripts[self.next_transcript % self.transcripts.len()].clone()
    }

    fn transcript(&mut self) -> String {
        if self.transcripts.is_empty() {
            return String::new();
        }
        let t = self.transcripts[self.next_transcript % self.transcripts.len()].clone();
        self.next_transcript += 1;
        t
    }
}

/// Reads the request head without consuming it, then hands the connection
/// to the WebSocket or the HTTP side.
async fn serve(tcp: TcpStream, state: Shared) {
    // Small messages at once, as a real service's: Nagle plus the client's
    // delayed ACK would add ~40 ms to every answer and hide the adapter's cost.
    let _ = tcp.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    let head = loop {
        let Ok(n) = tcp.peek(&mut buf).await else {
            return;
        };
        let seen = &buf[..n];
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        }
        if n == 0 || n == buf.len() {
            return;
        }
        // Peek returns what has arrived, at once: wait a little for more.
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    };
    if head.contains("upgrade: websocket") {
        recognize::serve(tcp, state).await;
    } else {
        synthesize::serve(tcp, state).await;
    }
}
