//! The composition root's async part: bind, serve, drain.
//!
//! `cmd/voice-gateway` parses the CLI and configuration, installs logging and
//! signal handling, then calls [`run`]. Shutdown is an argument (a future), not
//! a global, so tests drive the whole lifecycle in-process.

use crate::adapter::{
    ari_probe,
    config::Config,
    http::{self, AppState},
    telemetry::BuildInfo,
};
use std::{future::Future, net::SocketAddr};
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
}

impl Gateway {
    /// Binds the HTTP listener (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        let addr = config.http.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Self {
            config,
            listener,
            state: AppState::new(BuildInfo::current()),
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
        } = self;
        let http_addr = listener.local_addr().map_err(ServerError::Serve)?;
        let probe = tokio::spawn(ari_probe::run(config.ari.clone(), state.readiness.clone()));
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
                probe.abort();
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
        probe.abort();
        let _ = stop_http.send(());
        match server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::Serve(e)),
            Err(join) => Err(ServerError::Serve(std::io::Error::other(join))),
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
