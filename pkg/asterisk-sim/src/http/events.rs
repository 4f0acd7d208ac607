//! The events WebSocket `/ari/events?app=…[&subscribeAll=true]`.
//!
//! The app is registered before the 101 is written, so an event caused right after the
//! client sees the upgrade cannot be lost in between. A missing `app` gets Asterisk's HTML 400
//! (fixture 05).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::{Params, S};
use crate::sim::Sim;
use crate::sim::model::WsOut;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new().route("/events", get(events))
}

const MISSING_APP: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>400 Bad Request</title>\r\n</head><body>\r\n<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n<address>Asterisk/20.20.1</address>\r\n</body></html>\r\n";

async fn events(State(sim): S, RawQuery(q): RawQuery, ws: WebSocketUpgrade) -> Response {
    let p = match Params::parse(q, &Bytes::new()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let apps: Vec<String> = p
        .get("app")
        .unwrap_or("")
        .split(',')
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    if apps.is_empty() {
        let mut r = (StatusCode::BAD_REQUEST, MISSING_APP).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        return r;
    }
    let subscribe_all = p.get("subscribeAll") == Some("true");
    let (tx, rx) = mpsc::unbounded_channel();
    let conns: Vec<(String, u64)> = {
        let mut st = sim.lock();
        apps.iter()
            .map(|a| (a.clone(), st.register_socket(a, subscribe_all, tx.clone())))
            .collect()
    };
    drop(tx);
    let (sim2, conns2) = (Arc::clone(&sim), conns.clone());
    let ws = ws.on_failed_upgrade(move |_| {
        let mut st = sim2.lock();
        for (a, c) in &conns2 {
            st.unregister_socket(a, *c);
        }
    });
    ws.on_upgrade(move |socket| run(sim, socket, rx, conns))
}

async fn run(
    sim: Arc<Sim>,
    socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<WsOut>,
    conns: Vec<(String, u64)>,
) {
    let (mut tx, mut incoming) = socket.split();
    let graceful = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(WsOut::Text(t)) => {
                    if tx.send(Message::Text(t.into())).await.is_err() {
                        break false;
                    }
                }
                // Dropping the socket without a close frame: the client sees 1006 (fixture 10).
                Some(WsOut::Abort) | None => break false,
            },
            msg = incoming.next() => match msg {
                Some(Ok(Message::Close(_))) => break true,
                None | Some(Err(_)) => break false,
                Some(Ok(_)) => {}
            },
        }
    };
    {
        // Unregister before answering the close, so a client that saw its socket closed
        // finds the app already gone (fixture 10: GET /applications → []).
        let mut st = sim.lock();
        for (a, c) in &conns {
            st.unregister_socket(a, *c);
        }
    }
    if graceful {
        // Answer the client's close frame, as Asterisk does (code 1000).
        let _ = tx.close().await;
    }
}
