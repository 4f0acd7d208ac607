//! `/ari/asterisk`, `/ari/applications`, `/ari/playbacks`, and the read-only odds and ends.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Params, S, no_content, ok, reply, value_body};
use crate::sim::Sim;
use crate::sim::error::ApiError;
use crate::util::timestamp;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/asterisk/info", get(info))
        .route("/asterisk/ping", get(ping))
        .route("/asterisk/variable", get(global_var))
        .route("/applications", get(apps))
        .route("/applications/{name}", get(app))
        .route("/playbacks/{id}", get(playback).delete(stop))
        .route("/playbacks/{id}/control", post(control))
        .route("/endpoints", get(endpoints))
        .route("/sounds/{id}", get(sound))
        .route("/recordings/live/{name}/stop", post(no_recording))
        .route("/recordings/live/{name}", get(no_recording))
}

async fn info(State(sim): S) -> Response {
    ok(json!({
        "build": {"os": "Linux", "kernel": "6.1.0-sim", "machine": "x86_64", "options": "OPTIONAL_API",
                  "date": "2026-11-21 05:28:50 UTC", "user": "root"},
        "system": {"version": "20.20.1", "entity_id": sim.cfg.asterisk_id},
        "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
        "status": {"startup_time": timestamp(), "last_reload_time": timestamp()},
    }))
}

async fn ping(State(sim): S) -> Response {
    ok(json!({"ping": "pong", "timestamp": timestamp(), "asterisk_id": sim.cfg.asterisk_id}))
}

async fn global_var(State(sim): S, RawQuery(q): RawQuery) -> Response {
    let r = Params::parse(q, &Bytes::new()).and_then(|p| match p.get("variable") {
        None | Some("") => Err(ApiError::new(400, "Variable name is required")),
        Some(v) => sim
            .lock()
            .globals
            .get(v)
            .cloned()
            .ok_or_else(|| ApiError::new(404, "Provided variable was not found")),
    });
    reply(r.map(|v: String| ok(value_body(&v))))
}

async fn apps(State(sim): S) -> Response {
    let st = sim.lock();
    let mut names: Vec<&String> = st.apps.keys().collect();
    names.sort();
    ok(Value::Array(
        names.iter().filter_map(|n| st.app_json(n)).collect(),
    ))
}

async fn app(State(sim): S, Path(name): Path<String>) -> Response {
    reply(
        sim.lock()
            .app_json(&name)
            .map(ok)
            .ok_or_else(|| ApiError::new(404, "Application not found")),
    )
}

async fn playback(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().playback_json(&id).map(ok))
}

async fn stop(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().stop_playback(&sim, &id).map(|_| no_content()))
}

async fn control(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .control_playback(&sim, &id, p.get("operation"))
            .map(|_| no_content())
    });
    reply(r)
}

async fn endpoints() -> Response {
    ok(json!([]))
}

async fn sound(State(sim): S, Path(id): Path<String>) -> Response {
    let known = sim.cfg.sound_durations.contains_key(&id);
    reply(if known {
        Ok(ok(
            json!({"id": id, "formats": [{"language": "en", "format": "slin"}]}),
        ))
    } else {
        Err(ApiError::new(404, "Sound not found"))
    })
}

async fn no_recording() -> Response {
    reply(Err(ApiError::new(404, "Recording not found")))
}
