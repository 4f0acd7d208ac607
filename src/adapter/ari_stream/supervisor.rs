//! The reconnect loop around [`connection`](super::connection).

use super::{
    backoff::Backoff,
    connection::{self, ConnectError, Ended},
};
use crate::{
    adapter::config::Secret,
    application::health::{DependencyState, Readiness},
};
use ari::{Bridge, Channel, Event};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};

/// Settings of the events socket.
#[derive(Debug, Clone)]
pub struct EventStreamConfig {
    /// `ws[s]://…/ari/events?app=…` (see [`super::events_url`]).
    pub url: String,
    /// ARI user.
    pub username: String,
    /// ARI password.
    pub password: Secret,
    /// Name under which the stream reports to readiness.
    pub dependency: String,
    /// Time allowed for TCP + WebSocket handshake.
    pub connect_timeout: Duration,
    /// How often a ping goes out.
    pub ping_interval: Duration,
    /// How long a ping may stay unanswered before the connection counts as dead.
    pub pong_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// A connection that lived this long resets the backoff.
    pub stable_after: Duration,
    /// After a takeover: how often Asterisk is asked which channels remain.
    pub watch_after_takeover: Duration,
    /// After a takeover, connect again (taking the app back) this long
    /// later; `None`: never.
    pub reclaim_after: Option<Duration>,
}

impl EventStreamConfig {
    /// Defaults that detect a dead connection within about 5 s.
    pub fn new(url: String, username: String, password: Secret) -> Self {
        Self {
            url,
            username,
            password,
            dependency: "ari".into(),
            connect_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(2),
            pong_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            stable_after: Duration::from_secs(10),
            watch_after_takeover: Duration::from_secs(1),
            reclaim_after: None,
        }
    }
}

/// What the stream tells its consumer, in order.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // events dominate; boxing them would allocate per event
pub enum StreamItem {
    /// The socket is up. `reconnect` is false only for the first connection.
    Connected {
        /// Whether events may have been lost since the previous connection.
        reconnect: bool,
    },
    /// What Asterisk has now, fetched right after each connect: reconcile the
    /// calls held against it (a call whose channel vanished has ended).
    Resynced {
        /// Every channel Asterisk has.
        channels: Vec<Channel>,
        /// Every bridge Asterisk has.
        bridges: Vec<Bridge>,
        /// When the snapshot was asked for: a channel created later may be
        /// missing from it without having ended.
        requested_at: std::time::SystemTime,
    },
    /// The snapshot could not be fetched; the next reconnect tries again.
    ResyncFailed(String),
    /// An event, in the order Asterisk sent it.
    Event(Event),
    /// The socket is down; the stream is reconnecting.
    Disconnected(String),
    /// Another connection took the app over: no more events come. The
    /// stream then sends a [`StreamItem::Resynced`] every
    /// `watch_after_takeover`, so calls whose channels vanish can end, until
    /// stopped, or until `reclaim_after` when set: then it connects again
    /// (`Connected { reconnect: true }`), taking the app back.
    Replaced,
}

/// Fetches what Asterisk has after a (re)connect. The ARI client implements it.
pub trait Resync: Send + Sync + 'static {
    /// Lists channels and bridges.
    fn snapshot(&self) -> impl Future<Output = Result<(Vec<Channel>, Vec<Bridge>), String>> + Send;
}

impl<T: Resync> Resync for Arc<T> {
    fn snapshot(&self) -> impl Future<Output = Result<(Vec<Channel>, Vec<Bridge>), String>> + Send {
        T::snapshot(self)
    }
}

impl Resync for crate::adapter::ari::AriClient {
    async fn snapshot(&self) -> Result<(Vec<Channel>, Vec<Bridge>), String> {
        let channels = self.list_channels().await.map_err(|e| e.to_string())?;
        let bridges = self.list_bridges().await.map_err(|e| e.to_string())?;
        Ok((channels, bridges))
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    r#type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The stream's metrics.
#[derive(Debug, Clone, Default)]
pub struct StreamMetrics {
    events: Family<TypeLabel, Counter>,
    pub(super) decode_errors: Counter,
    pub(super) unexpected_frames: Counter,
    connects: Counter,
    disconnects: Family<ReasonLabel, Counter>,
    connected: Gauge,
}

impl StreamMetrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "ari_events",
            "ARI events received, by type",
            m.events.clone(),
        );
        registry.register(
            "ari_event_decode_errors",
            "ARI events that could not be decoded and were skipped",
            m.decode_errors.clone(),
        );
        registry.register(
            "ari_unexpected_frames",
            "Binary frames on the ARI events socket (ignored)",
            m.unexpected_frames.clone(),
        );
        registry.register(
            "ari_connects",
            "Successful events-socket connections",
            m.connects.clone(),
        );
        registry.register(
            "ari_disconnects",
            "Events-socket disconnections, by reason",
            m.disconnects.clone(),
        );
        registry.register(
            "ari_connected",
            "1 while the events socket is up",
            m.connected.clone(),
        );
        m
    }

    pub(super) fn count_event(&self, event: &Event) {
        // Unknown types share one label so a misbehaving peer cannot grow the series.
        let name = match event {
            Event::Unknown { .. } => "unknown",
            other => other.type_name(),
        };
        self.events
            .get_or_create(&TypeLabel {
                r#type: name.to_owned(),
            })
            .inc();
    }

    /// Events received of one type (for tests and the benchmark).
    pub fn events_of(&self, name: &str) -> u64 {
        self.events
            .get_or_create(&TypeLabel {
                r#type: name.to_owned(),
            })
            .get()
    }

    /// Successful connections so far.
    pub fn connects(&self) -> u64 {
        self.connects.get()
    }

    /// Undecodable events so far.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.get()
    }
}

/// Runs the events socket until `stop` turns true or the consumer drops
/// `out`. After a takeover it connects again only after `reclaim_after`
/// (see [`StreamItem::Replaced`]).
pub async fn run<R: Resync>(
    cfg: EventStreamConfig,
    resync: R,
    out: mpsc::Sender<StreamItem>,
    readiness: Arc<Readiness>,
    metrics: StreamMetrics,
    mut stop: watch::Receiver<bool>,
) {
    readiness.register(&cfg.dependency, true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = u64::from(std::process::id()) ^ now.as_nanos() as u64;
    let mut backoff = Backoff::new(cfg.backoff_min, cfg.backoff_max, seed);
    let mut connected_before = false;
    let mut last_error: Option<ConnectError> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        match connection::connect(&cfg).await {
            Ok(ws) => {
                last_error = None;
                metrics.connects.inc();
                metrics.connected.set(1);
                readiness.set(&cfg.dependency, DependencyState::Up);
                tracing::info!(url = %cfg.url, reconnect = connected_before, "ARI events socket connected");
                let reconnect = std::mem::replace(&mut connected_before, true);
                if out.send(StreamItem::Connected { reconnect }).await.is_err() {
                    return;
                }
                let requested_at = std::time::SystemTime::now();
                let item = match resync.snapshot().await {
                    Ok((channels, bridges)) => StreamItem::Resynced {
                        channels,
                        bridges,
                        requested_at,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "ARI resync failed");
                        StreamItem::ResyncFailed(e)
                    }
                };
                if out.send(item).await.is_err() {
                    return;
                }
                let since = Instant::now();
                let ended = connection::pump(ws, &cfg, &out, &metrics, &mut stop).await;
                metrics.connected.set(0);
                metrics
                    .disconnects
                    .get_or_create(&ReasonLabel {
                        reason: ended.label(),
                    })
                    .inc();
                if since.elapsed() >= cfg.stable_after {
                    backoff.reset();
                }
                match ended {
                    Ended::Stopped => return,
                    Ended::Replaced => {
                        tracing::error!(
                            url = %cfg.url,
                            "another connection took over this Stasis app; this instance stops listening \
                             rather than fight for it"
                        );
                        readiness.set(
                            &cfg.dependency,
                            DependencyState::Down {
                                detail: ended.describe(),
                            },
                        );
                        if out.send(StreamItem::Replaced).await.is_err() {
                            return;
                        }
                        let watch =
                            watch_channels(&resync, &out, &mut stop, cfg.watch_after_takeover);
                        let Some(after) = cfg.reclaim_after else {
                            return watch.await;
                        };
                        if tokio::time::timeout(after, watch).await.is_ok() {
                            return; // stopped, or the consumer went
                        }
                        tracing::warn!(url = %cfg.url, ?after, "taking the Stasis app back (ari.reclaim_after)");
                        continue;
                    }
                    other => {
                        let reason = other.describe();
                        tracing::warn!(%reason, "ARI events socket lost; reconnecting");
                        readiness.set(
                            &cfg.dependency,
                            DependencyState::Down {
                                detail: reason.clone(),
                            },
                        );
                        if out.send(StreamItem::Disconnected(reason)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Err(e) => {
                if last_error.as_ref() != Some(&e) {
                    tracing::warn!(url = %cfg.url, error = %e, "ARI events socket cannot connect");
                }
                readiness.set(
                    &cfg.dependency,
                    DependencyState::Down {
                        detail: e.to_string(),
                    },
                );
                last_error = Some(e);
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// After a takeover the app's events go to the other connection, but the
/// calls this instance holds go on over their media. Without their hangups,
/// a call whose caller left would talk to no one until its silence timeout:
/// so Asterisk is asked every `every` which channels remain, and the router
/// reconciles as after a reconnect. Ends on `stop` or when the consumer goes.
pub async fn watch_channels<R: Resync>(
    resync: &R,
    out: &mpsc::Sender<StreamItem>,
    stop: &mut watch::Receiver<bool>,
    every: Duration,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
            () = out.closed() => return,
        }
        let requested_at = std::time::SystemTime::now();
        let item = match resync.snapshot().await {
            Ok((channels, bridges)) => StreamItem::Resynced {
                channels,
                bridges,
                requested_at,
            },
            Err(e) => StreamItem::ResyncFailed(e),
        };
        if out.send(item).await.is_err() {
            return;
        }
    }
}
