//! The composition root's async part: bind, serve, drain.
//!
//! `cmd/voice-gateway` parses the CLI and configuration, installs logging and
//! signal handling, then calls [`run`]. Shutdown is an argument (a future), not
//! a global, so tests drive the whole lifecycle in-process.

use crate::adapter::{
    ari::{AriClient, AriClientConfig},
    ari_stream::{self, EventStreamConfig, StreamItem, StreamMetrics},
    config::Config,
    http::{self, AppState},
    telemetry::{BuildInfo, Metrics},
};
use crate::application::{
    admission::CallAdmission,
    live_calls::{Change, LiveCalls},
};
use crate::domain::call::EndReason;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};
use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;

/// Why the gateway could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The HTTP listen address could not be bound.
    #[error("cannot listen on {addr} (http.listen): {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The ARI settings cannot make a client or an events URL.
    #[error("ARI configuration: {0}")]
    Ari(String),
    /// The HTTP server failed while running.
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A gateway whose sockets are bound but which does not serve yet.
#[derive(Debug)]
pub struct Gateway {
    config: Config,
    listener: TcpListener,
    state: AppState,
    ari: AriClient,
    stream_cfg: EventStreamConfig,
    stream_metrics: StreamMetrics,
    call_metrics: CallMetrics,
}

impl Gateway {
    /// Binds the HTTP listener (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        let addr = config.http.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let build = BuildInfo::current();
        let mut metrics = Metrics::new(&build);
        let stream_metrics = StreamMetrics::register(metrics.registry_mut());
        let call_metrics = CallMetrics::register(metrics.registry_mut());
        let ari = AriClient::new(AriClientConfig {
            base_url: format!("{}/ari", config.ari.url.trim_end_matches('/')),
            username: config.ari.username.clone(),
            password: config.ari.password.expose().to_owned(),
            app: config.ari.app.clone(),
            request_timeout: config.ari.request_timeout.0,
        })
        .map_err(|e| ServerError::Ari(e.to_string()))?;
        let url =
            ari_stream::events_url(&config.ari.url, &config.ari.app).map_err(ServerError::Ari)?;
        let stream_cfg = EventStreamConfig::new(
            url,
            config.ari.username.clone(),
            config.ari.password.clone(),
        );
        let state = AppState::with_metrics(build, metrics);
        Ok(Self {
            config,
            listener,
            state,
            ari,
            stream_cfg,
            stream_metrics,
            call_metrics,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Shared state, so tests can observe readiness and admit calls.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains: `/readyz` answers 503 at
    /// once, new calls are refused, and this returns when the live calls have
    /// ended or `lifecycle.drain_deadline` has passed. HTTP keeps serving during
    /// the drain so load balancers and operators can watch it.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let Self {
            config,
            listener,
            state,
            ari,
            mut stream_cfg,
            stream_metrics,
            call_metrics,
        } = self;
        let http_addr = listener.local_addr().map_err(ServerError::Serve)?;
        stream_cfg.backoff_max = config.ari.reconnect_max_delay.0;
        stream_cfg.backoff_min = stream_cfg.backoff_min.min(stream_cfg.backoff_max);
        let (stop_stream, stream_stop_rx) = tokio::sync::watch::channel(false);
        let (items_tx, items) = tokio::sync::mpsc::channel(1024);
        let stream = tokio::spawn(ari_stream::run(
            stream_cfg,
            ari,
            items_tx,
            state.readiness.clone(),
            stream_metrics,
            stream_stop_rx,
        ));
        let consumer = tokio::spawn(consume(items, state.admission.clone(), call_metrics));
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let app = http::router(state.clone());
        let mut server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = http_stopped.await;
                })
                .await
        });
        tracing::info!(http = %http_addr, ari = %config.ari.url, app = %config.ari.app, "voice-gateway started");

        tokio::select! {
            () = shutdown => {}
            res = &mut server => {
                let _ = stop_stream.send(true);
                return match res {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(ServerError::Serve(e)),
                    Err(join) => Err(ServerError::Serve(std::io::Error::other(join))),
                };
            }
        }

        let deadline = config.lifecycle.drain_deadline.0;
        state.readiness.begin_drain();
        state.admission.begin_drain();
        tracing::info!(live_calls = state.admission.live_calls(), deadline = ?deadline, "draining");
        match tokio::time::timeout(deadline, state.admission.wait_idle()).await {
            Ok(()) => tracing::info!("all calls ended"),
            Err(_) => tracing::warn!(
                live_calls = state.admission.live_calls(),
                "drain deadline passed with calls still live; exiting anyway"
            ),
        }
        // The events socket stays up through the drain: live calls still need
        // their hangups and DTMF. Closing it unregisters the app on Asterisk.
        let _ = stop_stream.send(true);
        let _ = stream.await;
        let _ = consumer.await;
        let _ = stop_http.send(());
        match server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::Serve(e)),
            Err(join) => Err(ServerError::Serve(std::io::Error::other(join))),
        }
    }
}

/// Takes the events stream's items and keeps the live-call registry in step.
/// (The conversation work attaches a session to each call; until then calls are
/// tracked, reconciled after reconnects, and counted for the drain.)
async fn consume(
    mut items: tokio::sync::mpsc::Receiver<StreamItem>,
    admission: Arc<CallAdmission>,
    metrics: CallMetrics,
) {
    let mut calls = LiveCalls::default();
    while let Some(item) = items.recv().await {
        let now = std::time::SystemTime::now();
        match item {
            StreamItem::Event(e) => {
                if let Some(change) = calls.on_event(&e, &admission, now) {
                    metrics.record(&change);
                }
            }
            StreamItem::Resynced { channels, bridges } => {
                let changes = calls.reconcile(channels.iter().map(|c| &c.id), now);
                tracing::info!(
                    channels = channels.len(),
                    bridges = bridges.len(),
                    held = calls.len(),
                    ended = changes.len(),
                    "ARI resynchronised"
                );
                changes.iter().for_each(|c| metrics.record(c));
            }
            other => tracing::debug!(item = ?other, "ARI stream"),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// Call counts by outcome.
#[derive(Debug, Clone, Default)]
struct CallMetrics {
    started: Counter,
    refused: Counter,
    ended: Family<ReasonLabel, Counter>,
}

impl CallMetrics {
    fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register("calls_started", "Calls taken on", m.started.clone());
        registry.register(
            "calls_refused",
            "Calls refused (draining, bad DID argument)",
            m.refused.clone(),
        );
        registry.register("calls_ended", "Calls ended, by reason", m.ended.clone());
        m
    }

    fn record(&self, change: &Change) {
        match change {
            Change::Started { channel, .. } => {
                self.started.inc();
                tracing::info!(%channel, "call started");
            }
            Change::Refused { channel, reason } => {
                self.refused.inc();
                tracing::warn!(%channel, %reason, "call refused");
            }
            Change::Ended {
                channel, reason, ..
            } => {
                let label = match reason {
                    EndReason::Error(_) => "error".to_owned(),
                    other => other.to_string(),
                };
                self.ended
                    .get_or_create(&ReasonLabel { reason: label })
                    .inc();
                tracing::info!(%channel, %reason, "call ended");
            }
        }
    }
}

/// Binds and runs the gateway until `shutdown` resolves and the drain completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    Gateway::bind(config).await?.run(shutdown).await
}
