//! The events socket against a real WebSocket server on loopback that plays
//! Asterisk's part: it checks credentials, sends events, drops connections,
//! goes silent, and takes the app over.
#![allow(clippy::result_large_err)] // tungstenite's handshake callback returns its large ErrorResponse

use super::*;
use crate::{
    adapter::config::Secret,
    application::health::{DependencyState, Readiness},
};
use ari::{Bridge, Channel, Event};
use futures_util::SinkExt;
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch},
    task::JoinHandle,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        handshake::server::{ErrorResponse, Request, Response},
        http::StatusCode,
    },
};

const STASIS_START: &str = include_str!("testdata/stasis_start.json");

/// A WebSocket server that hands each accepted connection to the test.
struct FakeEvents {
    url: String,
    conns: mpsc::Receiver<WebSocketStream<TcpStream>>,
    attempts: Arc<AtomicUsize>,
}

impl FakeEvents {
    async fn start(password: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, conns) = mpsc::channel(256);
        let attempts = Arc::new(AtomicUsize::new(0));
        let seen = attempts.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let expected = format!(
                    "Basic {}",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        format!("gw:{password}")
                    )
                );
                let check = move |req: &Request,
                                  res: Response|
                      -> Result<Response, ErrorResponse> {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok());
                    let query = req.uri().query().unwrap_or_default();
                    if req.uri().path() != "/ari/events" || !query.contains("app=voice-gateway") {
                        let mut e = ErrorResponse::new(Some("not found".into()));
                        *e.status_mut() = StatusCode::NOT_FOUND;
                        return Err(e);
                    }
                    if auth != Some(expected.as_str()) {
                        let mut e = ErrorResponse::new(Some(
                            "{\"message\":\"Authentication required\"}".into(),
                        ));
                        *e.status_mut() = StatusCode::UNAUTHORIZED;
                        return Err(e);
                    }
                    Ok(res)
                };
                if let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, check).await {
                    let _ = tx.send(ws).await;
                }
            }
        });
        Self {
            url,
            conns,
            attempts,
        }
    }

    async fn next_conn(&mut self) -> WebSocketStream<TcpStream> {
        tokio::time::timeout(Duration::from_secs(10), self.conns.recv())
            .await
            .expect("the stream connects")
            .unwrap()
    }
}

#[derive(Clone, Default)]
struct CountingResync(Arc<AtomicUsize>);

impl Resync for CountingResync {
    async fn snapshot(&self) -> Result<(Vec<Channel>, Vec<Bridge>), String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok((Vec::new(), Vec::new()))
    }
}

struct Running {
    items: mpsc::Receiver<StreamItem>,
    readiness: Arc<Readiness>,
    metrics: StreamMetrics,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    resyncs: Arc<AtomicUsize>,
}

fn config(base: &str, password: &str) -> EventStreamConfig {
    let mut cfg = EventStreamConfig::new(
        events_url(base, "voice-gateway").unwrap(),
        "gw".into(),
        Secret::new(password),
    );
    cfg.backoff_min = Duration::from_millis(1);
    cfg.backoff_max = Duration::from_millis(5);
    cfg.ping_interval = Duration::from_millis(50);
    cfg.pong_timeout = Duration::from_millis(150);
    cfg
}

fn spawn_stream(cfg: EventStreamConfig) -> Running {
    let (tx, items) = mpsc::channel(64);
    let readiness = Arc::new(Readiness::default());
    let metrics = StreamMetrics::default();
    let (stop, stop_rx) = watch::channel(false);
    let resync = CountingResync::default();
    let resyncs = resync.0.clone();
    let task = tokio::spawn(run(
        cfg,
        resync,
        tx,
        readiness.clone(),
        metrics.clone(),
        stop_rx,
    ));
    Running {
        items,
        readiness,
        metrics,
        stop,
        task,
        resyncs,
    }
}

impl Running {
    async fn next(&mut self) -> StreamItem {
        tokio::time::timeout(Duration::from_secs(10), self.items.recv())
            .await
            .expect("an item arrives")
            .expect("stream still running")
    }

    async fn expect_connected(&mut self, reconnect: bool) {
        match self.next().await {
            StreamItem::Connected { reconnect: r } => assert_eq!(r, reconnect),
            other => panic!("expected Connected, got {other:?}"),
        }
        assert!(matches!(self.next().await, StreamItem::Resynced { .. }));
    }
}

async fn send(ws: &mut WebSocketStream<TcpStream>, text: &str) {
    ws.send(Message::Text(text.to_owned().into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn forwards_events_in_order_and_skips_bad_ones() {
    let mut server = FakeEvents::start("secret").await;
    let mut s = spawn_stream(config(&server.url, "secret"));
    let mut conn = server.next_conn().await;
    s.expect_connected(false).await;
    assert_eq!(
        s.readiness.report().dependencies["ari"].state,
        DependencyState::Up
    );

    send(&mut conn, STASIS_START).await;
    send(&mut conn, "{not json").await;
    send(&mut conn, r#"{"no_type": 1}"#).await;
    send(&mut conn, r#"{"type":"StasisStart","channel":42}"#).await;
    send(
        &mut conn,
        r#"{"type":"ChannelFutureThing","application":"voice-gateway","x":1}"#,
    )
    .await;
    conn.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    send(&mut conn, STASIS_START).await;

    assert!(matches!(
        s.next().await,
        StreamItem::Event(Event::StasisStart(_))
    ));
    match s.next().await {
        StreamItem::Event(Event::Unknown { event_type, raw }) => {
            assert_eq!(event_type, "ChannelFutureThing");
            assert_eq!(raw["x"], 1);
        }
        other => panic!("expected the unknown event, got {other:?}"),
    }
    assert!(matches!(
        s.next().await,
        StreamItem::Event(Event::StasisStart(_))
    ));
    assert_eq!(s.metrics.decode_errors(), 3);
    assert_eq!(s.metrics.events_of("StasisStart"), 2);
    assert_eq!(s.metrics.events_of("unknown"), 1);

    s.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn survives_100_forced_drops_with_a_resync_after_each() {
    let mut server = FakeEvents::start("secret").await;
    let mut s = spawn_stream(config(&server.url, "secret"));
    for round in 0..=100 {
        let mut conn = server.next_conn().await;
        s.expect_connected(round > 0).await;
        send(&mut conn, STASIS_START).await;
        assert!(
            matches!(s.next().await, StreamItem::Event(Event::StasisStart(_))),
            "round {round}"
        );
        // Alternate a clean close and a drop without a close frame (as a restart does).
        if round % 2 == 0 {
            conn.close(None).await.unwrap();
        }
        drop(conn);
        match s.next().await {
            StreamItem::Disconnected(reason) => {
                assert!(
                    reason.contains("closed") || reason.contains("dropped"),
                    "{reason}"
                )
            }
            other => panic!("round {round}: expected Disconnected, got {other:?}"),
        }
    }
    assert_eq!(s.metrics.connects(), 101);
    assert_eq!(s.resyncs.load(Ordering::SeqCst), 101);
    assert_eq!(s.metrics.events_of("StasisStart"), 101);
    s.stop.send(true).unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_found_dead_and_replaced() {
    let mut server = FakeEvents::start("secret").await;
    let mut s = spawn_stream(config(&server.url, "secret"));
    // Hold the connection but never read it: pings go unanswered, like a
    // half-open TCP connection after a network partition.
    let _silent = server.next_conn().await;
    s.expect_connected(false).await;
    match s.next().await {
        StreamItem::Disconnected(reason) => assert!(reason.contains("pings"), "{reason}"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    let _fresh = server.next_conn().await;
    s.expect_connected(true).await;
}

#[tokio::test]
async fn application_replaced_stops_the_stream_instead_of_fighting() {
    let mut server = FakeEvents::start("secret").await;
    let mut cfg = config(&server.url, "secret");
    cfg.watch_after_takeover = Duration::from_millis(20);
    let mut s = spawn_stream(cfg);
    let mut conn = server.next_conn().await;
    s.expect_connected(false).await;
    send(
        &mut conn,
        r#"{"type":"ApplicationReplaced","application":"voice-gateway","timestamp":"2026-11-21T06:03:28.135+0000","asterisk_id":"02:42:ac:11:00:02"}"#,
    )
    .await;
    assert!(matches!(
        s.next().await,
        StreamItem::Event(Event::ApplicationReplaced(_))
    ));
    assert!(matches!(s.next().await, StreamItem::Replaced));
    // From then on only what Asterisk still has, asked again and again.
    for _ in 0..3 {
        assert!(matches!(s.next().await, StreamItem::Resynced { .. }));
    }
    assert!(s.resyncs.load(Ordering::SeqCst) >= 4);
    match &s.readiness.report().dependencies["ari"].state {
        DependencyState::Down { detail } => {
            assert!(detail.contains("ApplicationReplaced"), "{detail}")
        }
        other => panic!("expected down, got {other:?}"),
    }
    // The consumer gone, the stream ends.
    let Running { items, task, .. } = s;
    drop(items);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stream ends")
        .unwrap();
    assert_eq!(
        server.attempts.load(Ordering::SeqCst),
        1,
        "no reconnect after a takeover"
    );
}

#[tokio::test]
async fn with_reclaim_after_the_stream_takes_the_app_back_after_a_takeover() {
    let mut server = FakeEvents::start("secret").await;
    let mut cfg = config(&server.url, "secret");
    cfg.watch_after_takeover = Duration::from_millis(20);
    cfg.reclaim_after = Some(Duration::from_millis(200));
    let mut s = spawn_stream(cfg);
    let mut conn = server.next_conn().await;
    s.expect_connected(false).await;
    send(
        &mut conn,
        r#"{"type":"ApplicationReplaced","application":"voice-gateway","timestamp":"2026-11-21T06:03:28.135+0000","asterisk_id":"02:42:ac:11:00:02"}"#,
    )
    .await;
    assert!(matches!(s.next().await, StreamItem::Event(_)));
    assert!(matches!(s.next().await, StreamItem::Replaced));
    // Snapshots until the reclaim, then a connection of its own again.
    let _second = server.next_conn().await;
    loop {
        match s.next().await {
            StreamItem::Resynced { .. } => continue,
            StreamItem::Connected { reconnect } => break assert!(reconnect),
            other => panic!("expected snapshots then Connected, got {other:?}"),
        }
    }
    assert!(matches!(s.next().await, StreamItem::Resynced { .. }));
    assert_eq!(server.attempts.load(Ordering::SeqCst), 2);
    assert_eq!(
        s.readiness.report().dependencies["ari"].state,
        DependencyState::Up
    );
    s.stop.send(true).unwrap();
}

#[tokio::test]
async fn wrong_credentials_show_in_readiness_and_are_retried() {
    let server = FakeEvents::start("right").await;
    let s = spawn_stream(config(&server.url, "wrong"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.attempts.load(Ordering::SeqCst) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "retries");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match &s.readiness.report().dependencies["ari"].state {
        DependencyState::Down { detail } => assert!(detail.contains("credentials"), "{detail}"),
        other => panic!("expected down, got {other:?}"),
    }
    s.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .unwrap()
        .unwrap();
}

/// A reader starved past the pong timeout wakes at one tick with its last
/// ping's pong unread: it pings again instead of calling the connection
/// dead (by time alone it did, and 20 calls on the real Asterisk ended
/// `channel_lost`). Two pings unanswered past the timeout are dead.
#[test]
fn one_late_tick_is_a_ping_two_unanswered_past_the_timeout_are_dead() {
    use super::connection::{PingWatch, Verdict};
    let timeout = Duration::from_secs(3);
    let t0 = tokio::time::Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut w = PingWatch::default();
    assert_eq!(w.tick(at(0), timeout), Verdict::Ping);
    // Starved for 10 s: the first tick after it pings again.
    assert_eq!(w.tick(at(10_000), timeout), Verdict::Ping);
    // The pong was waiting: heard, alive.
    w.heard();
    assert_eq!(w.tick(at(12_000), timeout), Verdict::Ping);
    assert_eq!(
        w.tick(at(14_000), timeout),
        Verdict::Ping,
        "2 s: within the timeout"
    );
    assert_eq!(
        w.tick(at(16_000), timeout),
        Verdict::Dead,
        "two unanswered, 4 s"
    );
    // A silent connection at the defaults is found dead at the third tick,
    // as before: 4 s after its first unanswered ping.
    let mut w = PingWatch::default();
    let verdicts: Vec<Verdict> = [0, 2_000, 4_000].map(|ms| w.tick(at(ms), timeout)).into();
    assert_eq!(verdicts, [Verdict::Ping, Verdict::Ping, Verdict::Dead]);
}
