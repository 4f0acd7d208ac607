//! `/ari/bridges` routes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

use super::channels::created;
use super::{Params, S, no_content, ok, reply};
use crate::sim::Sim;
use crate::sim::playback::Target;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/bridges", get(list).post(create))
        .route(
            "/bridges/{id}",
            get(get_one).post(create_with_id).delete(destroy),
        )
        .route("/bridges/{id}/addChannel", post(add))
        .route("/bridges/{id}/removeChannel", post(remove))
        .route("/bridges/{id}/play", post(play))
        .route("/bridges/{id}/play/{pid}", post(play_with_id))
}

async fn list(State(sim): S) -> Response {
    let st = sim.lock();
    let mut v: Vec<_> = st.bridges.values().collect();
    v.sort_by(|a, b| a.creationtime.cmp(&b.creationtime));
    ok(Value::Array(v.iter().map(|b| b.json()).collect()))
}

async fn get_one(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().bridge_json(&id).map(ok))
}

async fn create(State(sim): S, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .create_bridge(p.get("type"), p.get("bridgeId"), p.get("name"))
            .map(ok)
    });
    reply(r)
}

async fn create_with_id(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .create_bridge(p.get("type"), Some(&id), p.get("name"))
            .map(ok)
    });
    reply(r)
}

async fn destroy(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().destroy_bridge(&sim, &id).map(|_| no_content()))
}

async fn add(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .add_to_bridge(&sim, &id, p.get("channel"))
            .map(|_| no_content())
    });
    reply(r)
}

async fn remove(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .remove_from_bridge(&sim, &id, p.get("channel"))
            .map(|_| no_content())
    });
    reply(r)
}

fn do_play(
    sim: &Arc<Sim>,
    id: &str,
    pid: Option<&str>,
    q: Option<String>,
    body: &Bytes,
) -> Response {
    let r = Params::parse(q, body).and_then(|p| {
        let pid = pid.or(p.get("playbackId"));
        sim.lock()
            .play(sim, Target::Bridge(id), p.get("media"), p.get("lang"), pid)
            .map(created)
    });
    reply(r)
}

async fn play(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    do_play(&sim, &id, None, q, &body)
}

async fn play_with_id(
    State(sim): S,
    Path((id, pid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    do_play(&sim, &id, Some(&pid), q, &body)
}
