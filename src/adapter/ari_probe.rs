//! Reachability of Asterisk for `/readyz`, by polling `GET /ari/asterisk/ping`.
//!
//! This is the readiness source until the ARI event stream exists; the stream's
//! connection state will then be the better signal (a ping can succeed while
//! our app's WebSocket is down).

use crate::{
    adapter::config::AriConfig,
    application::health::{DependencyState, Readiness},
};
use std::{sync::Arc, time::Duration};
use tokio::time::MissedTickBehavior;

/// The dependency name under which ARI shows in `/readyz` and metrics.
pub const DEPENDENCY: &str = "ari";

/// Polls until the task is aborted. Every state change is logged once, not every poll.
pub async fn run(cfg: AriConfig, readiness: Arc<Readiness>) {
    readiness.register(DEPENDENCY, true);
    let client = match reqwest::Client::builder()
        .timeout(cfg.request_timeout.0.min(Duration::from_secs(5)))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            readiness.set(
                DEPENDENCY,
                DependencyState::Down {
                    detail: format!("no HTTP client: {e}"),
                },
            );
            return;
        }
    };
    let url = format!("{}/ari/asterisk/ping", cfg.url.trim_end_matches('/'));
    let mut tick = tokio::time::interval(cfg.probe_interval.0);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last: Option<DependencyState> = None;
    loop {
        tick.tick().await;
        let state = probe(&client, &url, &cfg).await;
        if last.as_ref() != Some(&state) {
            match &state {
                DependencyState::Up => tracing::info!(url = %cfg.url, "ARI reachable"),
                other => tracing::warn!(url = %cfg.url, state = ?other, "ARI not reachable"),
            }
            last = Some(state.clone());
        }
        readiness.set(DEPENDENCY, state);
    }
}

async fn probe(client: &reqwest::Client, url: &str, cfg: &AriConfig) -> DependencyState {
    let req = client
        .get(url)
        .basic_auth(&cfg.username, Some(cfg.password.expose()));
    match req.send().await {
        Ok(r) if r.status().is_success() => DependencyState::Up,
        Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED => DependencyState::Down {
            detail: "Asterisk rejected the ARI credentials (401): check ari.username/ari.password"
                .into(),
        },
        Ok(r) => DependencyState::Down {
            detail: format!("ping answered HTTP {}", r.status()),
        },
        Err(e) if e.is_timeout() => DependencyState::Down {
            detail: "ping timed out".into(),
        },
        Err(e) if e.is_connect() => DependencyState::Down {
            detail: format!("cannot connect to {}", cfg.url),
        },
        Err(e) => DependencyState::Down {
            detail: format!("ping failed: {e}"),
        },
    }
}
