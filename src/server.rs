//! The composition root's async part: build the adapters, bind, serve, drain.
//!
//! `cmd/voice-gateway` parses the CLI and configuration, installs logging and
//! signal handling, then calls [`run`]. Shutdown is an argument (a future), not
//! a global, so tests drive the whole lifecycle in-process.

mod data;
mod ha;
mod metrics;
mod speech;
mod wiring;

pub use speech::check_speech;

use crate::adapter::{
    ari::AriClient,
    ari_stream::{self, EventStreamConfig, StreamItem, StreamMetrics},
    config::Config,
    http::{self, AppState, api::IdempotencyStore},
    telemetry::{BuildInfo, Metrics},
};
use crate::application::{
    admission::CallAdmission,
    console::{ConsoleHub, ConsoleTap},
    health::Readiness,
    ports::history::CallHistory,
    router::{CallRouter, ControlRequest, Feed, RouterHandle},
    shutdown::{ShutdownSwitch, Stage},
};
use metrics::CallMetrics;
use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::{net::TcpListener, sync::mpsc};

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
    /// An adapter could not be built from the configuration.
    #[error("{0}")]
    Setup(String),
    /// The HTTP server failed while running.
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// A task of the gateway failed (panicked) while it ran.
    #[error("gateway task failed: {0}")]
    Task(String),
}

/// A gateway whose sockets are bound but which does not serve yet.
pub struct Gateway {
    config: Config,
    listener: TcpListener,
    state: AppState,
    ari: Arc<AriClient>,
    stream_cfg: EventStreamConfig,
    stream_metrics: StreamMetrics,
    call_metrics: CallMetrics,
    router: CallRouter,
    control: RouterHandle,
    control_rx: mpsc::Receiver<ControlRequest>,
    events: data::Events,
    idempotency: Arc<dyn IdempotencyStore>,
    console: Arc<ConsoleHub>,
    history: Arc<dyn CallHistory>,
    /// With `[ha] enabled`: the lease, which decides when the events socket opens.
    ha: Option<(ha::Ha, ha::RoleMetrics)>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("http", &self.listener.local_addr().ok())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds every adapter and binds the HTTP listener (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        let addr = config.http.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        let build = BuildInfo::current();
        let mut metrics = Metrics::new(&build);
        let stream_metrics = StreamMetrics::register(metrics.registry_mut());
        let call_metrics = CallMetrics::register(metrics.registry_mut());
        let ari = Arc::new(wiring::ari_client(&config)?);
        let url =
            ari_stream::events_url(&config.ari.url, &config.ari.app).map_err(ServerError::Ari)?;
        let mut stream_cfg = EventStreamConfig::new(
            url,
            config.ari.username.clone(),
            config.ari.password.clone(),
        );
        stream_cfg.backoff_max = config.ari.reconnect_max_delay.0;
        stream_cfg.reclaim_after = config.ari.reclaim_after.map(|d| d.0);
        stream_cfg.backoff_min = stream_cfg.backoff_min.min(stream_cfg.backoff_max);
        // The data adapters report into readiness before the HTTP state exists.
        let readiness = Arc::new(Readiness::default());
        let mut data = data::build(&config, &readiness, metrics.registry_mut()).await?;
        let mut deps = wiring::session_deps(&config, ari.clone(), &data, metrics.registry_mut())?;
        let ha = data.ha.take().map(|ha| {
            deps.telephony = ha.fenced(deps.telephony.clone());
            (ha, ha::RoleMetrics::register(metrics.registry_mut()))
        });
        if ha.is_none() {
            // Not ready until the ARI events socket is up. Declared here, not
            // only by the stream's task: `/readyz` may be served before that
            // task first runs, and with nothing declared it said ready. A
            // call Asterisk sent then found no Stasis app and was lost.
            readiness.register(&stream_cfg.dependency, true);
        }
        // The console sees every call event on its way out.
        let console = Arc::new(ConsoleHub::default());
        deps.events = Arc::new(ConsoleTap::new(deps.events, console.clone()));
        let mut state = AppState::with_metrics(build, metrics);
        state.readiness = readiness;
        state.admission = Arc::new(CallAdmission::new(wiring::admission_limits(&config)));
        let mut router = CallRouter::new(deps, state.admission.clone());
        if let Some((ha, _)) = &ha {
            router = router.with_peers(ha.peers());
        }
        let (control, control_rx) = RouterHandle::new(data.store, data.history.clone());
        Ok(Self {
            config,
            listener,
            state,
            ari,
            stream_cfg,
            stream_metrics,
            call_metrics,
            router,
            control,
            control_rx,
            events: data.events,
            idempotency: data.idempotency,
            history: data.history,
            console,
            ha,
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

    /// Call control, as the HTTP API uses it.
    pub fn control(&self) -> RouterHandle {
        self.control.clone()
    }

    /// Serves until `shutdown` resolves, then drains: `/readyz` answers 503 at
    /// once, new calls are refused, and this returns when the live calls have
    /// ended or `lifecycle.drain_deadline` has passed (then the calls still up
    /// are hung up). HTTP and the events socket keep running during the drain.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let Self {
            config,
            listener,
            state,
            ari,
            stream_cfg,
            stream_metrics,
            call_metrics,
            router,
            control,
            control_rx,
            events,
            idempotency,
            console,
            history,
            ha,
        } = self;
        let http_addr = listener.local_addr().map_err(ServerError::Serve)?;
        let (stop_stream, stream_stop_rx) = tokio::sync::watch::channel(false);
        let (items_tx, items) = mpsc::channel(1024);
        let (died_tx, mut died) = mpsc::unbounded_channel();
        let forward = match &ha {
            Some((ha, _)) => ha.forwarder()?,
            None => None,
        };
        let (stream, lease) = match ha {
            None => (
                tokio::spawn(watched(
                    "ARI event stream",
                    ari_stream::run(
                        stream_cfg,
                        ari,
                        items_tx,
                        state.readiness.clone(),
                        stream_metrics,
                        stream_stop_rx,
                    ),
                    died_tx.clone(),
                )),
                None,
            ),
            Some((ha, role_metrics)) => {
                let lease = ha.start(role_metrics)?;
                let s = ha::Stream {
                    cfg: stream_cfg,
                    ari,
                    items: items_tx,
                    readiness: state.readiness.clone(),
                    metrics: stream_metrics,
                };
                let keeper = ha::keep_stream(s, lease.role.clone(), stream_stop_rx);
                let task = tokio::spawn(watched("ARI event stream", keeper, died_tx.clone()));
                (task, Some(lease))
            }
        };
        let stop = ShutdownSwitch::new();
        let consumer = tokio::spawn(watched(
            "call router",
            router.run(items, control_rx, stop.subscribe(), move |outcome| {
                call_metrics.record(outcome)
            }),
            died_tx,
        ));
        let mut http_stop = stop.subscribe();
        let app = match wiring::api_config(&config) {
            Some(api) => {
                // The composition root gives the API and the console their clock.
                #[allow(clippy::disallowed_methods)]
                let clock: http::api::Clock = Arc::new(std::time::SystemTime::now);
                let console =
                    http::console_router(state.clone(), console, history, &api, clock.clone())
                        .map_err(|e| ServerError::Setup(format!("console: {e}")))?;
                tracing::info!(url = %format!("http://{http_addr}/console"), "operator console");
                http::router(state.clone())
                    .merge(
                        http::api::api_router_forwarding(
                            Arc::new(control),
                            api,
                            idempotency,
                            clock,
                            forward,
                        )
                        .map_err(|e| ServerError::Setup(format!("call API: {e}")))?,
                    )
                    .merge(console)
            }
            None => {
                tracing::warn!(
                    "call API disabled: set auth.jwt_secret or auth.jwks_url to serve /v1/calls"
                );
                http::router(state.clone())
            }
        };
        let mut server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    http_stop.reached(Stage::Close).await;
                })
                .await
        });
        tracing::info!(http = %http_addr, ari = %config.ari.url, app = %config.ari.app, "voice-gateway started");

        tokio::select! {
            () = shutdown => {}
            res = &mut server => {
                let _ = stop_stream.send(true);
                return flatten(res);
            }
            // A core task that panics leaves no one to take calls: turn
            // /readyz red and exit non-zero, so whatever runs the gateway
            // (systemd, Kubernetes) restarts it.
            Some(died) = died.recv() => {
                tracing::error!(task = died.task, error = %died.error, "a core task stopped: exiting");
                state.readiness.begin_drain();
                let _ = stop_stream.send(true);
                if let Some(lease) = lease {
                    lease.release().await;
                }
                stop.advance(Stage::Close);
                let _ = server.await;
                return Err(ServerError::Task(format!("{}: {}", died.task, died.error)));
            }
        }

        let deadline = config.lifecycle.drain_deadline.0;
        state.readiness.begin_drain();
        state.admission.begin_drain();
        // With a standby alive, the calls go to it now rather than drain here.
        let lease = match lease {
            Some(l) => l.hand_over(state.admission.wait_idle()).await,
            None => None,
        };
        tracing::info!(live_calls = state.admission.live_calls(), deadline = ?deadline, "draining");
        match tokio::time::timeout(deadline, state.admission.wait_idle()).await {
            Ok(()) => {
                tracing::info!("all calls ended");
                // Sessions may remain only for calls handed to a person
                // (attended transfer): told to shut down, they leave caller
                // and person connected on Asterisk and end.
                stop.advance(Stage::HangUp);
            }
            Err(_) => {
                tracing::warn!(
                    live_calls = state.admission.live_calls(),
                    "drain deadline passed with calls still live; hanging them up"
                );
                stop.advance(Stage::HangUp);
                // Each session releases its channels, bridge and leg on the way out.
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    state.admission.wait_idle(),
                )
                .await;
            }
        }
        // The events socket stays up through the drain: live calls still need
        // their hangups and DTMF. Closing it unregisters the app on Asterisk.
        let _ = stop_stream.send(true);
        let streamed = stream.await;
        // The socket is closed: a standby may take the app (and the lease) now
        // rather than when the lease expires.
        if let Some(lease) = lease {
            lease.release().await;
        }
        let consumed = consumer.await;
        events.close().await;
        stop.advance(Stage::Close);
        let served = flatten(server.await);
        // A panicked task must not pass for a clean exit (exit code 0).
        for (task, res) in [("ARI event stream", streamed), ("call router", consumed)] {
            if let Err(join) = res {
                return Err(ServerError::Task(format!("{task}: {join}")));
            }
        }
        if let Ok(died) = died.try_recv() {
            return Err(ServerError::Task(format!("{}: {}", died.task, died.error)));
        }
        served
    }
}

/// A core task that panicked.
struct Stopped {
    task: &'static str,
    error: String,
}

/// Runs a core task; a panic is reported on `died` (the task itself just
/// ends, as a returning one does). A task may end on its own (the stream
/// when another connection takes the app over): only a panic is a death.
async fn watched(
    task: &'static str,
    run: impl Future<Output = ()>,
    died: mpsc::UnboundedSender<Stopped>,
) {
    use futures_util::FutureExt;
    if let Err(panic) = std::panic::AssertUnwindSafe(run).catch_unwind().await {
        let error = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned());
        let _ = died.send(Stopped { task, error });
    }
}

fn flatten(
    res: Result<Result<(), std::io::Error>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match res {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServerError::Serve(e)),
        Err(join) => Err(ServerError::Serve(std::io::Error::other(join))),
    }
}

impl From<StreamItem> for Feed {
    fn from(item: StreamItem) -> Self {
        match item {
            StreamItem::Event(e) => Feed::Event(e),
            StreamItem::Resynced {
                channels,
                bridges,
                requested_at,
            } => Feed::Resynced {
                requested_at,
                answered: channels
                    .iter()
                    .filter(|c| c.state == ari::ChannelState::Up)
                    .map(|c| (c.id.clone(), c.name.clone()))
                    .collect(),
                channels: channels.into_iter().map(|c| c.id).collect(),
                bridges,
            },
            StreamItem::Replaced => Feed::Replaced,
            StreamItem::Connected { .. } => Feed::Listening,
            other => Feed::Status(format!("{other:?}")),
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

#[cfg(test)]
mod supervision_tests {
    use super::watched;

    #[tokio::test]
    async fn a_panicking_core_task_is_reported_and_one_that_returns_is_not() {
        let (tx, mut died) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(watched("ARI event stream", async {}, tx.clone()))
            .await
            .unwrap();
        tokio::spawn(watched("call router", async { panic!("router bug") }, tx))
            .await
            .unwrap();
        let stopped = died.recv().await.unwrap();
        assert_eq!(
            (stopped.task, stopped.error.as_str()),
            ("call router", "router bug")
        );
        assert!(
            died.recv().await.is_none(),
            "the returning task is not a death"
        );
    }
}
