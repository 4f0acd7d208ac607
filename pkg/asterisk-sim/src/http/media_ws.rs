//! chan_websocket in server mode (fixture 12): the gateway connects to
//! `/media/<MEDIA_WEBSOCKET_CONNECTION_ID>` with subprotocol `media`, gets `MEDIA_START`, then
//! 20 ms binary frames of the caller's audio (in a two-member bridge only while the caller
//! talks: `webchan_write` sends just the frames the bridge hands it). Frames it sends are
//! queued and re-timed by Asterisk (unlike RTP): the recording stamps each frame with its
//! play-out time, 20 ms after the previous one at the earliest. The load figures (pacing,
//! talkspurts) take each frame's arrival instead, timed when this task reads it (no kernel
//! stamp through the WebSocket stack). `HANGUP` ends the channel. `FLUSH_MEDIA` drops what is
//! still queued (frames stamped after now); with 900 frames queued the sim sends `MEDIA_XOFF`,
//! and `MEDIA_XON` once fewer than 800 are (`QUEUE_LENGTH_XOFF_LEVEL`/`XON_LEVEL` of
//! chan_websocket.c). (Marks, PAUSE_MEDIA and JSON mode are not simulated.)

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::S;
use crate::media::Sink;
use crate::media::record::RxPacket;
use crate::sim::Sim;
use crate::sim::error::ApiError;
use crate::sim::model::{ChanKind, MediaKind};

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new().route("/media/{conn}", get(media))
}

async fn media(State(sim): S, Path(conn): Path<String>, ws: WebSocketUpgrade) -> Response {
    let found = {
        let st = sim.lock();
        st.channels.values().find_map(|c| match &c.kind {
            ChanKind::Media {
                kind: MediaKind::WebSocket { conn: k },
                format,
            } if *k == conn => Some((c.id.clone(), c.name.clone(), *format)),
            _ => None,
        })
    };
    let Some((id, name, format)) = found else {
        return ApiError::new(404, "Resource not found").into_response();
    };
    ws.protocols(["media"])
        .on_upgrade(move |s| run(sim, s, id, name, conn, format))
}

async fn run(
    sim: Arc<Sim>,
    socket: WebSocket,
    id: String,
    name: String,
    conn: String,
    format: crate::media::record::MediaFormat,
) {
    let (bin_tx, mut bin_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let (txt_tx, mut txt_rx) = mpsc::unbounded_channel::<String>();
    let rec = sim.media.add(&id, Sink::WebSocket(bin_tx), format, true);
    sim.media.add_ws_text(&id, txt_tx);
    let fmt = match format {
        crate::media::record::MediaFormat::Ulaw => "ulaw",
        crate::media::record::MediaFormat::Alaw => "alaw",
        crate::media::record::MediaFormat::Slin => "slin",
        crate::media::record::MediaFormat::Slin16 => "slin16",
    };
    let frame = format.samples_per_frame() * if fmt == "ulaw" || fmt == "alaw" { 1 } else { 2 };
    let (mut tx, mut rx) = socket.split();
    let start = format!(
        "MEDIA_START connection_id:{conn} channel:{name} channel_id:{id} format:{fmt} optimal_frame_size:{frame} ptime:20"
    );
    if tx.send(Message::Text(start.into())).await.is_err() {
        return;
    }
    let mut next_play = 0.0f64;
    // Frames of ours Asterisk still holds, from their play-out stamps.
    let queued = |next_play: f64| ((next_play - sim.media.now_ms()) / 20.0).max(0.0);
    let mut xoff = false;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
    loop {
        if xoff && queued(next_play) < 800.0 {
            xoff = false;
            if tx.send(Message::Text("MEDIA_XON".into())).await.is_err() {
                break;
            }
        }
        tokio::select! {
            _ = tick.tick(), if xoff => {}
            b = bin_rx.recv() => match b {
                Some(b) => if tx.send(Message::Binary(b.into())).await.is_err() { break },
                None => break,
            },
            t = txt_rx.recv() => match t {
                Some(t) => if tx.send(Message::Text(t.into())).await.is_err() { break },
                None => break,
            },
            m = rx.next() => match m {
                Some(Ok(Message::Binary(b))) => {
                    let now = sim.media.now_ms();
                    // Load figures by arrival, the recording by play-out time.
                    sim.media.rx.framed(&rec, None, now, b.len());
                    next_play = next_play.max(now);
                    if sim.media.rx.record_packets {
                        rec.lock().unwrap_or_else(|e| e.into_inner()).packets.push(RxPacket {
                            at_ms: next_play, seq: 0, ts: 0, marker: false, pt: 0, ssrc: 0,
                            payload: if sim.media.record_payloads { b.to_vec() } else { Vec::new() },
                            forwarded: true,
                        });
                    }
                    next_play += 20.0 * (b.len() as f64 / frame as f64).max(1.0);
                    if !xoff && queued(next_play) >= 900.0 {
                        xoff = true;
                        if tx.send(Message::Text("MEDIA_XOFF".into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Text(t))) if t.trim() == "FLUSH_MEDIA" => {
                    let now = sim.media.now_ms();
                    rec.lock().unwrap_or_else(|e| e.into_inner()).packets.retain(|p| p.at_ms <= now);
                    next_play = now;
                }
                Some(Ok(Message::Text(t))) if t.trim() == "HANGUP" => {
                    let mut st = sim.lock();
                    if st.channels.contains_key(&id) {
                        st.chan_event(&id, "ChannelHangupRequest", serde_json::json!({"cause": 16, "tech_cause": 1000}));
                        st.teardown(&sim, &id, 16, false);
                    }
                    break;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = tx.close().await;
}
