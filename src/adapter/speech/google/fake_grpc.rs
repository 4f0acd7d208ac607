//! A local gRPC server speaking `google.cloud.speech.v2.Speech/StreamingRecognize`
//! for the adapter tests: tonic's server-side `Grpc` with the prost codec of
//! our messages, behind a hand-written service, on hyper's HTTP/2 over
//! loopback. It checks one auth header (refusing with `UNAUTHENTICATED`),
//! can refuse every call with a status, and hands each accepted call to the
//! test, which plays Google's side by hand. `disconnect()` drops every open
//! connection, as a network failure would.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::metadata::MetadataMap;
use tonic::{Status, Streaming};

use super::proto::{
    STREAMING_RECOGNIZE, StreamingRecognizeRequest as Req, StreamingRecognizeResponse as Resp,
};

const WAIT: Duration = Duration::from_secs(10);

/// One accepted call.
pub(crate) struct FakeCall {
    pub(crate) metadata: MetadataMap,
    pub(crate) requests: Streaming<Req>,
    /// `Ok` responses, an `Err` ends the call with that status; dropping it
    /// ends the call with OK.
    pub(crate) responses: mpsc::Sender<Result<Resp, Status>>,
}

impl FakeCall {
    /// The next request from the client (`None`: it half-closed).
    pub(crate) async fn next(&mut self) -> Option<Req> {
        timeout(WAIT, self.requests.message())
            .await
            .expect("a request in time")
            .ok()
            .flatten()
    }

    /// Sends one response.
    pub(crate) async fn send(&self, r: Resp) {
        self.responses.send(Ok(r)).await.expect("client listening");
    }
}

#[derive(Clone)]
struct Shared {
    header: &'static str,
    expected: &'static str,
    refuse: Arc<Mutex<Option<Status>>>,
    calls: mpsc::Sender<FakeCall>,
}

/// The server; `url` is `http://127.0.0.1:<port>`.
pub(crate) struct FakeSpeech {
    pub(crate) url: String,
    calls: mpsc::Receiver<FakeCall>,
    refuse: Arc<Mutex<Option<Status>>>,
    kill: watch::Sender<u32>,
}

impl FakeSpeech {
    /// Accepts calls whose `header` metadata equals `expected`.
    pub(crate) async fn start(header: &'static str, expected: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, calls) = mpsc::channel(8);
        let refuse = Arc::new(Mutex::new(None));
        let shared = Shared {
            header,
            expected,
            refuse: refuse.clone(),
            calls: tx,
        };
        let (kill, killed) = watch::channel(0);
        tokio::spawn(accept(listener, shared, killed));
        Self {
            url,
            calls,
            refuse,
            kill,
        }
    }

    /// Every later call is refused with this status.
    pub(crate) fn refuse_with(&self, status: Status) {
        *self.refuse.lock().unwrap() = Some(status);
    }

    /// The next call to arrive.
    pub(crate) async fn accept(&mut self) -> FakeCall {
        timeout(WAIT, self.calls.recv())
            .await
            .expect("a call in time")
            .unwrap()
    }

    /// Drops every open connection without a word.
    pub(crate) fn disconnect(&self) {
        self.kill.send_modify(|n| *n += 1);
    }
}

async fn accept(listener: TcpListener, shared: Shared, killed: watch::Receiver<u32>) {
    while let Ok((tcp, _)) = listener.accept().await {
        // As Google's servers: no Nagle delay on small frames.
        tcp.set_nodelay(true).unwrap();
        let shared = shared.clone();
        let mut killed = killed.clone();
        killed.mark_unchanged();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(shared.clone(), req));
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), service);
            tokio::select! {
                _ = conn => {}
                _ = killed.changed() => {} // dropping `conn` closes the socket
            }
        });
    }
}

async fn serve(
    shared: Shared,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Body>, Infallible> {
    if req.uri().path() != STREAMING_RECOGNIZE {
        return Ok(Status::unimplemented(req.uri().path().to_owned()).into_http());
    }
    let got = req
        .headers()
        .get(shared.header)
        .and_then(|v| v.to_str().ok());
    if got != Some(shared.expected) {
        return Ok(
            Status::unauthenticated("Request had invalid authentication credentials.").into_http(),
        );
    }
    if let Some(status) = shared.refuse.lock().unwrap().clone() {
        return Ok(status.into_http());
    }
    let handler = tower::service_fn(move |call: tonic::Request<Streaming<Req>>| {
        let calls = shared.calls.clone();
        async move {
            let (metadata, _, requests) = call.into_parts();
            let (tx, mut rx) = mpsc::channel(16);
            let _ = calls
                .send(FakeCall {
                    metadata,
                    requests,
                    responses: tx,
                })
                .await;
            let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            Ok::<_, Status>(tonic::Response::new(stream))
        }
    });
    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default());
    Ok(grpc.streaming(handler, req).await)
}
