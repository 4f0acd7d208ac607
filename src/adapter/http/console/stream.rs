//! `GET /console/api/stream`: server-sent events for the live table. First a
//! `snapshot` (the live calls the viewer may see, the recently ended ones and
//! the gateway's health), then a `call` event for each change of a visible
//! call (state `ended`: it left), and `health` every [`HEALTH_EVERY`] and
//! after a call came or went.
//! A console that falls too far behind gets `reload` and starts over.

use super::{ConsoleState, Viewer};
use crate::application::{
    console::{CallRow, Visibility},
    health::ReadinessReport,
};
use axum::{
    extract::State,
    http::header,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::stream::{self, Stream};
use serde::Serialize;
use std::{convert::Infallible, time::Duration};
use tokio::{
    sync::broadcast::{Receiver, error::RecvError},
    time::{Interval, MissedTickBehavior},
};

/// How often the health line is refreshed.
const HEALTH_EVERY: Duration = Duration::from_secs(2);
/// Ended calls listed in the snapshot.
const RECENT: usize = 50;

/// The top of the page. A tenant sees its own live-call count, not the
/// instance's (another tenant's volume is not its business).
#[derive(Serialize)]
struct Health {
    status: String,
    draining: bool,
    live_calls: usize,
    all_tenants: bool,
    report: Option<ReadinessReport>,
}

fn health(s: &ConsoleState, who: &Visibility) -> Health {
    let report = s.app.readiness.report_with(&s.app.admission);
    let all = *who == Visibility::All;
    Health {
        status: serde_json::to_value(report.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        draining: s.app.admission.is_draining(),
        live_calls: if all {
            s.app.admission.live_calls()
        } else {
            s.hub.live(who).len()
        },
        all_tenants: all,
        // Dependency states are the operator's; a tenant sees only the status.
        report: all.then_some(report),
    }
}

fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event("reload").data("{}"))
}

struct Feed {
    s: ConsoleState,
    who: Visibility,
    rx: Receiver<CallRow>,
    tick: Interval,
    first: bool,
    /// A visible call changed: the live count follows at once.
    health_due: bool,
}

impl Feed {
    async fn next(&mut self) -> Event {
        if std::mem::take(&mut self.first) {
            let snapshot = serde_json::json!({
                "live": self.s.hub.live(&self.who),
                "recent": self.s.hub.recent(&self.who, RECENT),
                "health": health(&self.s, &self.who),
            });
            return event("snapshot", &snapshot);
        }
        if std::mem::take(&mut self.health_due) {
            return event("health", &health(&self.s, &self.who));
        }
        loop {
            tokio::select! {
                // Call changes first: the health line can wait a moment.
                biased;
                got = self.rx.recv() => match got {
                    Ok(row) if self.who.sees(&row.tenant_id) => {
                        self.health_due = row.state == "ended" || row.state == "ringing" || row.state == "originating";
                        return event("call", &row);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        self.first = true;
                        return event("reload", &serde_json::json!({}));
                    }
                    // The hub lives as long as the gateway: only at exit.
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = self.tick.tick() => return event("health", &health(&self.s, &self.who)),
            }
        }
    }
}

fn feed(s: ConsoleState, who: Visibility) -> impl Stream<Item = Result<Event, Infallible>> {
    // Subscribed before the snapshot is taken: no change falls in between.
    let rx = s.hub.subscribe();
    let mut tick = tokio::time::interval(HEALTH_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.reset();
    let f = Feed {
        s,
        who,
        rx,
        tick,
        first: true,
        health_due: false,
    };
    stream::unfold(f, |mut f| async move {
        let e = f.next().await;
        Some((Ok(e), f))
    })
}

pub(super) async fn stream(State(s): State<ConsoleState>, Viewer(who): Viewer) -> Response {
    let mut res = Sse::new(feed(s, who))
        .keep_alive(KeepAlive::default())
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        super::assets::CSP.parse().expect("static"),
    );
    // Proxies that buffer (nginx) would hold the events back.
    h.insert("x-accel-buffering", "no".parse().expect("static"));
    res
}
