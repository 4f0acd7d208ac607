//! The fake's recognition side: one WebSocket connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::{Shared, SttFault, TurnLog, lock};
use crate::adapter::speech::azure::wire::{self, WavFormat};

const PATH: &str = "/speech/recognition/conversation/cognitiveservices/v1";

/// Audio in a turn, with speech, before the first hypothesis.
const HYPOTHESIS_AFTER: Duration = Duration::from_millis(200);

type Ws = WebSocketStream<TcpStream>;

/// The upgrade's verdict: refused with a status, or accepted with the query.
fn check(
    req: &Request,
    state: &Shared,
    throttled: bool,
) -> Result<String, (StatusCode, &'static str)> {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let (key, authorization) = (header("ocp-apim-subscription-key"), header("authorization"));
    if !lock(state).authorized(key, authorization) {
        return Err((StatusCode::UNAUTHORIZED, "invalid subscription key"));
    }
    if throttled {
        return Err((StatusCode::TOO_MANY_REQUESTS, "too many requests"));
    }
    let query = req.uri().query().unwrap_or_default().to_owned();
    let ok = req.uri().path() == PATH
        && query.contains("language=")
        && query.contains("format=detailed")
        && req.headers().contains_key("x-connectionid");
    if !ok {
        return Err((StatusCode::BAD_REQUEST, "bad path, query or X-ConnectionId"));
    }
    Ok(query)
}

pub(super) async fn serve(tcp: TcpStream, state: Shared) {
    let fault = lock(&state).stt_faults.front().cloned();
    let mut query = None;
    #[allow(clippy::result_large_err)] // tungstenite's callback signature
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match check(req, &state, fault == Some(SttFault::Throttled)) {
            Ok(q) => {
                query = Some(q);
                Ok(resp)
            }
            Err((status, why)) => {
                let mut refused = ErrorResponse::new(Some(why.into()));
                *refused.status_mut() = status;
                Err(refused)
            }
        }
    };
    let accepted = tokio_tungstenite::accept_hdr_async(tcp, callback).await;
    let (Ok(ws), Some(query)) = (accepted, query) else {
        // A refusal for a wrong key leaves the fault for the next connection.
        if fault == Some(SttFault::Throttled) {
            lock(&state).stt_faults.pop_front();
        }
        return;
    };
    let fault = {
        let mut s = lock(&state);
        s.log.stt_connections += 1;
        s.log.stt_queries.push(query);
        s.stt_faults.pop_front()
    };
    let mut conn = Conn {
        ws,
        state,
        fault,
        configured: false,
        turn: None,
        audio_messages: 0,
    };
    conn.run().await;
}

/// The turn being recognised.
struct Turn {
    id: String,
    format: WavFormat,
    rate: u32,
    bytes: usize,
    /// Audio with speech in it.
    voiced: Duration,
    started: bool,
    hypotheses: u32,
    /// The client sent the empty audio message.
    ended: bool,
}

struct Conn {
    ws: Ws,
    state: Shared,
    fault: Option<SttFault>,
    configured: bool,
    turn: Option<Turn>,
    audio_messages: u32,
}

impl Conn {
    async fn run(&mut self) {
        while let Some(Ok(message)) = self.ws.next().await {
            let ok = match message {
                Message::Text(t) => self.on_text(t.as_str()),
                Message::Binary(b) => self.on_audio(&b).await,
                Message::Close(_) => break,
                _ => Ok(()),
            };
            match ok {
                Ok(()) => {}
                Err(Stop::Violation(what)) => {
                    lock(&self.state).violation(what.clone());
                    let _ = self.close(1007, &what).await;
                    return;
                }
                Err(Stop::Drop) => return,
            }
        }
    }

    fn on_text(&mut self, text: &str) -> Result<(), Stop> {
        let frame = wire::parse_text(text).map_err(Stop::Violation)?;
        let id = frame.header("x-requestid").unwrap_or_default();
        if !is_id(id) || frame.header("x-timestamp").is_none() {
            return Err(Stop::Violation(format!(
                "bad X-RequestId/X-Timestamp in {text:?}"
            )));
        }
        serde_json::from_str::<serde_json::Value>(&frame.body)
            .map_err(|e| Stop::Violation(format!("body is not JSON: {e}")))?;
        match frame.path().as_deref() {
            Some("speech.config") => self.configured = true,
            Some("speech.context") => lock(&self.state).log.contexts.push(frame.body),
            other => return Err(Stop::Violation(format!("unexpected text path {other:?}"))),
        }
        Ok(())
    }

    async fn on_audio(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let frame = wire::parse_binary(bytes).map_err(Stop::Violation)?;
        let id = frame.header("x-requestid").unwrap_or_default().to_owned();
        let framed = frame.path().as_deref() == Some("audio")
            && is_id(&id)
            && frame.header("x-timestamp").is_some()
            && frame.header("content-type") == Some("audio/x-wav");
        if !framed {
            return Err(Stop::Violation(format!(
                "bad audio headers {:?}",
                frame.headers
            )));
        }
        self.audio_messages += 1;
        if let Some(SttFault::DisconnectAfter(n)) = self.fault
            && self.audio_messages > n
        {
            return Err(Stop::Drop);
        }
        if self.turn.as_ref().is_none_or(|t| t.id != id) {
            self.open_turn(id, &frame.body).await?;
            return Ok(());
        }
        if self.turn.as_ref().is_some_and(|t| t.ended) {
            return Err(Stop::Violation(format!("audio after the end of turn {id}")));
        }
        if frame.body.is_empty() {
            return self.end_turn().await;
        }
        self.hear(&frame.body).await
    }

    async fn open_turn(&mut self, id: String, body: &[u8]) -> Result<(), Stop> {
        if !self.configured {
            return Err(Stop::Violation("audio before speech.config".into()));
        }
        let (format, rate) = wire::parse_wav_header(body)
            .map_err(|e| Stop::Violation(format!("first audio of a turn: {e}")))?;
        self.turn = Some(Turn {
            id: id.clone(),
            format,
            rate,
            bytes: 0,
            voiced: Duration::ZERO,
            started: false,
            hypotheses: 0,
            ended: false,
        });
        lock(&self.state).log.turns.push(TurnLog {
            request_id: id,
            mulaw: format == WavFormat::Mulaw,
            sample_rate: rate,
            audio_bytes: 0,
            ended: false,
        });
        if self.fault == Some(SttFault::CloseBeforeTurn) {
            let _ = self.close(1000, "idle").await;
            return Err(Stop::Drop);
        }
        self.send("turn.start", json!({"context": {"serviceTag": "fake"}}))
            .await?;
        self.hear(&body[44..]).await
    }

    /// Counts audio, and reports speech as it accumulates.
    async fn hear(&mut self, audio: &[u8]) -> Result<(), Stop> {
        let turn = self.turn.as_mut().expect("a turn is open");
        turn.bytes += audio.len();
        let (samples, voiced) = energy(turn.format, audio);
        let length = Duration::from_secs_f64(samples as f64 / f64::from(turn.rate.max(1)));
        if voiced {
            turn.voiced += length;
        }
        let (bytes, elapsed) = (turn.bytes, turn_time(turn));
        if let Some(t) = lock(&self.state).log.turns.last_mut() {
            t.audio_bytes = bytes;
        }
        let turn = self.turn.as_mut().expect("a turn is open");
        if voiced && !turn.started {
            turn.started = true;
            let at = elapsed.saturating_sub(length);
            self.send("speech.startDetected", json!({"Offset": ticks(at)}))
                .await?;
        }
        let turn = self.turn.as_mut().expect("a turn is open");
        if self.fault == Some(SttFault::DisconnectOnSpeech) && turn.voiced >= HYPOTHESIS_AFTER {
            return Err(Stop::Drop);
        }
        let due = HYPOTHESIS_AFTER * (turn.hypotheses + 1);
        if turn.voiced >= due {
            turn.hypotheses += 1;
            let words = turn.hypotheses as usize;
            let upcoming = lock(&self.state).upcoming();
            let text: Vec<&str> = upcoming.split_whitespace().take(words).collect();
            let text = text.join(" ");
            let body = json!({"Text": text, "Offset": 0, "Duration": ticks(elapsed)});
            self.send("speech.hypothesis", body).await?;
        }
        Ok(())
    }

    async fn end_turn(&mut self) -> Result<(), Stop> {
        let turn = self.turn.as_mut().expect("a turn is open");
        turn.ended = true;
        let (heard, length) = (turn.voiced > Duration::ZERO, turn_time(turn));
        let transcript = {
            let mut s = lock(&self.state);
            if let Some(t) = s.log.turns.last_mut() {
                t.ended = true;
            }
            if heard { s.transcript() } else { String::new() }
        };
        let failing = self.fault == Some(SttFault::ErrorStatus);
        if failing {
            self.fault = None;
        }
        let phrase = if failing {
            json!({"RecognitionStatus": "Error", "Offset": 0, "Duration": 0})
        } else if heard {
            json!({
                "RecognitionStatus": "Success", "Offset": 0, "Duration": ticks(length),
                "DisplayText": transcript,
                "NBest": [{"Confidence": 0.9, "Lexical": transcript.to_lowercase(),
                           "ITN": transcript, "MaskedITN": transcript, "Display": transcript}],
            })
        } else {
            json!({"RecognitionStatus": "NoMatch", "Offset": ticks(length), "Duration": 0})
        };
        self.send("speech.phrase", phrase).await?;
        self.send("speech.endDetected", json!({"Offset": ticks(length)}))
            .await?;
        self.send("turn.end", json!({})).await?;
        if self.fault == Some(SttFault::CloseAfterTurn) {
            let _ = self.close(1000, "idle").await;
            return Err(Stop::Drop);
        }
        Ok(())
    }

    async fn send(&mut self, path: &str, body: serde_json::Value) -> Result<(), Stop> {
        let id = self.turn.as_ref().map(|t| t.id.clone()).unwrap_or_default();
        let ts = wire::timestamp();
        let headers = [
            ("X-RequestId", id.as_str()),
            ("Path", path),
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-Timestamp", ts.as_str()),
        ];
        let text = wire::encode_text(&headers, &body.to_string());
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|_| Stop::Drop)
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Stop> {
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.chars().take(100).collect::<String>().into(),
        };
        self.ws.close(Some(frame)).await.map_err(|_| Stop::Drop)
    }
}

enum Stop {
    /// The client broke the protocol: close with 1007 and record it.
    Violation(String),
    /// Drop the connection without a word (a fault, or the client left).
    Drop,
}

fn is_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX)
}

fn turn_time(turn: &Turn) -> Duration {
    let per_sample = if turn.format == WavFormat::Mulaw {
        1
    } else {
        2
    };
    let samples = (turn.bytes / per_sample) as f64;
    Duration::from_secs_f64(samples / f64::from(turn.rate.max(1)))
}

/// Samples in `audio`, and whether they carry speech (mean magnitude above
/// a quiet room's).
fn energy(format: WavFormat, audio: &[u8]) -> (usize, bool) {
    use media::codec::{Codec, Pcmu};
    let pcm: Vec<i16> = match format {
        WavFormat::Pcm16 => audio
            .chunks_exact(2)
            .map(|p| i16::from_le_bytes([p[0], p[1]]))
            .collect(),
        WavFormat::Mulaw => {
            let mut out = vec![0i16; audio.len()];
            let _ = Pcmu::new().decode(audio, &mut out);
            out
        }
    };
    if pcm.is_empty() {
        return (0, false);
    }
    let mean = pcm.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / pcm.len() as i64;
    (pcm.len(), mean > 500)
}
