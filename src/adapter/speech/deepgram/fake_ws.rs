//! A local WebSocket server for the cloud adapters' protocol tests: it checks
//! one auth header (refusing with 401 otherwise) and hands each accepted
//! connection to the test, which then plays the provider's side by hand.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// The server; `url` is `ws://127.0.0.1:<port>`.
pub(crate) struct FakeServer {
    pub(crate) url: String,
    conns: mpsc::Receiver<Conn>,
}

/// One accepted client.
pub(crate) struct Conn {
    /// Path and query of the upgrade request.
    pub(crate) uri: String,
    pub(crate) ws: WebSocketStream<TcpStream>,
}

const WAIT: Duration = Duration::from_secs(10);

impl FakeServer {
    /// Accepts clients whose `header` equals `expected`.
    pub(crate) async fn start(header: &'static str, expected: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (tx, conns) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let mut uri = String::new();
                // tungstenite's callback signature fixes the error type.
                #[allow(clippy::result_large_err)]
                let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    uri = req.uri().to_string();
                    let got = req.headers().get(header).and_then(|v| v.to_str().ok());
                    if got == Some(expected) {
                        return Ok(resp);
                    }
                    let mut refused = ErrorResponse::new(Some("invalid credentials".into()));
                    *refused.status_mut() = StatusCode::UNAUTHORIZED;
                    Err(refused)
                };
                if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
                    let _ = tx.send(Conn { uri, ws }).await;
                }
            }
        });
        Self { url, conns }
    }

    /// The next client to connect.
    pub(crate) async fn accept(&mut self) -> Conn {
        timeout(WAIT, self.conns.recv())
            .await
            .expect("a client in time")
            .unwrap()
    }
}

impl Conn {
    /// The next data or close message from the client (`None`: gone).
    pub(crate) async fn next(&mut self) -> Option<Message> {
        loop {
            match timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time")
            {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(m)) => return Some(m),
                _ => return None,
            }
        }
    }

    /// The next message, which must be JSON text.
    pub(crate) async fn json(&mut self) -> serde_json::Value {
        match self.next().await {
            Some(Message::Text(t)) => serde_json::from_str(&t).unwrap(),
            other => panic!("expected JSON text, got {other:?}"),
        }
    }

    /// The next JSON message of `type` `kind`, skipping others (e.g. audio).
    pub(crate) async fn until_type(&mut self, kind: &str) -> serde_json::Value {
        loop {
            if let Some(Message::Text(t)) = self.next().await {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            } else {
                panic!("the client went away before sending {kind}");
            }
        }
    }

    pub(crate) async fn send_json(&mut self, v: serde_json::Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    pub(crate) async fn send(&mut self, m: Message) {
        self.ws.send(m).await.unwrap();
    }
}
