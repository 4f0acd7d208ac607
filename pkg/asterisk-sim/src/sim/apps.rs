//! Stasis application registry: one active events socket per app (fixture 10).
//!
//! A second socket takes the app over and the first gets `ApplicationReplaced` but stays open
//! and silent. Closing the active socket deactivates the app; an app with nothing left
//! (no channels, no bridges) is unregistered, even if a replaced socket is still open.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::State;
use super::model::WsOut;
use crate::util::timestamp;

impl State {
    /// Registers a socket for `app`; returns its connection id.
    pub(crate) fn register_socket(
        &mut self,
        app: &str,
        subscribe_all: bool,
        tx: mpsc::UnboundedSender<WsOut>,
    ) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        let asterisk_id = self.asterisk_id.clone();
        let a = self.apps.entry(app.to_string()).or_default();
        if let Some(old) = a.active.take() {
            let ev = json!({
                "type": "ApplicationReplaced",
                "timestamp": timestamp(),
                "application": app,
                "asterisk_id": asterisk_id,
            });
            let _ = old.1.send(WsOut::Text(ev.to_string()));
            a.replaced.push(old);
        }
        a.active = Some((conn, tx));
        a.subscribe_all = subscribe_all;
        conn
    }

    /// Forgets a closed socket.
    pub(crate) fn unregister_socket(&mut self, app: &str, conn: u64) {
        let Some(a) = self.apps.get_mut(app) else {
            return;
        };
        a.replaced.retain(|(c, _)| *c != conn);
        if a.active.as_ref().is_some_and(|(c, _)| *c == conn) {
            a.active = None;
            let in_use = self
                .channels
                .values()
                .any(|c| c.app.as_deref() == Some(app))
                || self.bridges.values().any(|b| b.app.as_deref() == Some(app));
            if !in_use {
                self.apps.remove(app);
            }
        }
    }

    pub(crate) fn app_json(&self, name: &str) -> Option<Value> {
        let a = self.apps.get(name)?;
        let (chans, bridges, endpoints, devices): (
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
        ) = if a.subscribe_all {
            (
                vec!["__AST_CHANNEL_ALL_TOPIC".into()],
                vec!["__AST_BRIDGE_ALL_TOPIC".into()],
                vec!["__AST_ENDPOINT_ALL_TOPIC".into()],
                vec!["__AST_DEVICE_STATE_ALL_TOPIC".into()],
            )
        } else {
            let mut c: Vec<String> = self
                .channels
                .values()
                .filter(|c| c.app.as_deref() == Some(name))
                .map(|c| c.id.clone())
                .collect();
            c.sort();
            let mut b: Vec<String> = self
                .bridges
                .values()
                .filter(|b| b.app.as_deref() == Some(name))
                .map(|b| b.id.clone())
                .collect();
            b.sort();
            (c, b, vec![], vec![])
        };
        Some(json!({
            "name": name,
            "channel_ids": chans,
            "bridge_ids": bridges,
            "endpoint_ids": endpoints,
            "device_names": devices,
            "events_allowed": [],
            "events_disallowed": [],
        }))
    }

    /// Whether any socket ever registered `app` and it has not been unregistered since.
    pub(crate) fn app_registered(&self, app: &str) -> bool {
        self.apps.contains_key(app)
    }

    /// Closes every events socket abruptly (no close frame), as a crash or restart does.
    pub(crate) fn abort_sockets(&mut self, app: Option<&str>) {
        for (name, a) in self.apps.iter_mut() {
            if app.is_some_and(|x| x != name) {
                continue;
            }
            for (_, tx) in a.active.iter().chain(a.replaced.iter()) {
                let _ = tx.send(WsOut::Abort);
            }
        }
    }

    /// A bare event envelope for events without a channel.
    pub(crate) fn envelope(ty: &str, extra: Value) -> Map<String, Value> {
        let mut ev = Map::new();
        ev.insert("type".into(), json!(ty));
        ev.insert("timestamp".into(), json!(timestamp()));
        if let Value::Object(m) = extra {
            ev.extend(m);
        }
        ev
    }
}
