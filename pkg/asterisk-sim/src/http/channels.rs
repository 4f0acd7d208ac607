//! `/ari/channels` routes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Params, S, no_content, ok, reply, value_body};
use crate::sim::Sim;
use crate::sim::channels::HangupBy;
use crate::sim::error::{ApiError, ApiResult};
use crate::sim::external_media;
use crate::sim::inbound::send_dtmf_to_media;
use crate::sim::originate::Originate;
use crate::sim::playback::Target;

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/channels", get(list).post(originate))
        .route("/channels/externalMedia", post(external))
        .route(
            "/channels/{id}",
            get(get_one).post(originate_with_id).delete(hangup),
        )
        .route("/channels/{id}/answer", post(answer))
        .route("/channels/{id}/ring", post(ring).delete(stasis_noop))
        .route("/channels/{id}/play", post(play))
        .route("/channels/{id}/play/{pid}", post(play_with_id))
        .route("/channels/{id}/dtmf", post(dtmf))
        .route("/channels/{id}/redirect", post(redirect))
        .route("/channels/{id}/continue", post(cont))
        .route("/channels/{id}/variable", get(get_var).post(set_var))
        .route("/channels/{id}/snoop", post(snoop))
        .route("/channels/{id}/hold", post(stasis_noop).delete(stasis_noop))
        .route("/channels/{id}/mute", post(stasis_noop).delete(stasis_noop))
        .route("/channels/{id}/moh", post(stasis_noop).delete(stasis_noop))
        .route(
            "/channels/{id}/silence",
            post(stasis_noop).delete(stasis_noop),
        )
}

async fn list(State(sim): S) -> Response {
    let st = sim.lock();
    let mut v: Vec<&crate::sim::model::Channel> = st.channels.values().collect();
    v.sort_by(|a, b| a.creationtime.cmp(&b.creationtime).then(a.id.cmp(&b.id)));
    ok(Value::Array(v.iter().map(|c| c.json()).collect()))
}

async fn get_one(State(sim): S, Path(id): Path<String>) -> Response {
    let st = sim.lock();
    reply(
        st.channels
            .get(&id)
            .map(|c| ok(c.json()))
            .ok_or_else(ApiError::channel_not_found),
    )
}

fn do_originate(
    sim: &Arc<Sim>,
    id: Option<&str>,
    q: Option<String>,
    body: &Bytes,
) -> ApiResult<Response> {
    let p = Params::parse(q, body)?;
    let o = Originate::from_params(&p.map, p.variables, id)?;
    let json = sim.lock().originate(sim, o)?;
    Ok(ok(json))
}

async fn originate(State(sim): S, RawQuery(q): RawQuery, body: Bytes) -> Response {
    reply(do_originate(&sim, None, q, &body))
}

async fn originate_with_id(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(do_originate(&sim, Some(&id), q, &body))
}

async fn external(State(sim): S, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let r = async {
        let p = Params::parse(q, &body)?;
        Ok(ok(external_media::create(&sim, &p.map).await?))
    };
    reply(r.await)
}

const REASONS: [(&str, u16); 13] = [
    ("normal", 16),
    ("busy", 17),
    ("congestion", 34),
    ("no_answer", 19),
    ("timeout", 19),
    ("rejected", 21),
    ("unallocated", 1),
    ("normal_unspecified", 31),
    ("number_incomplete", 28),
    ("codec_mismatch", 58),
    ("interworking", 127),
    ("failure", 38),
    ("answered_elsewhere", 26),
];

async fn hangup(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = (|| {
        let p = Params::parse(q, &body)?;
        let mut st = sim.lock();
        if !st.channels.contains_key(&id) {
            return Err(ApiError::channel_not_found());
        }
        let cause = match (p.get("reason_code"), p.get("reason")) {
            (Some(code), _) => code.parse::<u16>().map_err(|_| {
                ApiError::new(400, "Invalid reason for hangup reason code provided")
            })?,
            (None, Some(r)) => REASONS
                .iter()
                .find(|(n, _)| *n == r)
                .map(|(_, c)| *c)
                .ok_or_else(|| ApiError::new(400, "Invalid reason for hangup reason provided"))?,
            (None, None) => 16,
        };
        st.hangup(
            &sim,
            &id,
            HangupBy::Ari {
                destroy_cause: cause,
            },
        );
        Ok(no_content())
    })();
    reply(r)
}

async fn answer(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().answer(&id).map(|_| no_content()))
}

async fn ring(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().ring(&id).map(|_| no_content()))
}

async fn stasis_noop(State(sim): S, Path(id): Path<String>) -> Response {
    reply(sim.lock().stasis_channel(&id).map(|_| no_content()))
}

fn do_play(
    sim: &Arc<Sim>,
    id: &str,
    pid: Option<&str>,
    q: Option<String>,
    body: &Bytes,
) -> ApiResult<Response> {
    let p = Params::parse(q, body)?;
    let pid = pid.or(p.get("playbackId"));
    let json = sim
        .lock()
        .play(sim, Target::Channel(id), p.get("media"), p.get("lang"), pid)?;
    Ok(created(json))
}

/// 201 with `Location: /ari/playbacks/<id>` (fixture 05/06).
pub(super) fn created(json: Value) -> Response {
    let loc = format!("/ari/playbacks/{}", json["id"].as_str().unwrap_or_default());
    let mut r = super::json_response(StatusCode::CREATED, &json);
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn play(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(do_play(&sim, &id, None, q, &body))
}

async fn play_with_id(
    State(sim): S,
    Path((id, pid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(do_play(&sim, &id, Some(&pid), q, &body))
}

async fn dtmf(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = (|| {
        let p = Params::parse(q, &body)?;
        let st = sim.lock();
        st.stasis_channel(&id)?;
        let digits = p
            .get("dtmf")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ApiError::new(400, "DTMF is required"))?;
        // Toward an RTP peer nothing is sent at all (fixture 02); AudioSocket and WebSocket
        // peers get the digits (fixture 12).
        if let Some(kind) = st.channels.get(&id).map(|c| c.kind.clone()) {
            for d in digits.chars() {
                send_dtmf_to_media(&sim, &id, &kind, d);
            }
        }
        Ok(no_content())
    })();
    reply(r)
}

async fn redirect(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .redirect(&id, p.get("endpoint"))
            .map(|_| no_content())
    });
    reply(r)
}

async fn cont(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = Params::parse(q, &body).and_then(|p| {
        sim.lock()
            .continue_in_dialplan(&sim, &id, p.get("label"))
            .map(|_| no_content())
    });
    reply(r)
}

async fn get_var(State(sim): S, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let r = Params::parse(q, &Bytes::new()).and_then(|p| {
        sim.lock()
            .get_var(&id, p.get("variable").unwrap_or(""))
            .map(|v| ok(value_body(&v)))
    });
    reply(r)
}

/// A set waits behind a running playback on the channel (observed on the real Asterisk);
/// a caller that times out simply stops waiting, the set still happens later.
async fn set_var(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let p = match Params::parse(q, &body) {
        Ok(p) => p,
        Err(e) => return reply(Err(e)),
    };
    let (name, value) = (
        p.get("variable").unwrap_or("").to_string(),
        p.get("value").unwrap_or("").to_string(),
    );
    loop {
        let idle = sim.playback_idle.notified();
        {
            let mut st = sim.lock();
            if let Err(e) = st.stasis_channel(&id) {
                return reply(Err(e));
            }
            if !st.has_playback(&id) {
                return reply(st.set_var(&id, &name, &value).map(|_| no_content()));
            }
        }
        // Re-check at least every second in case a notification raced the lock.
        let _ = tokio::time::timeout(Duration::from_secs(1), idle).await;
    }
}

/// Snoop creates a channel in the app; the simulator keeps it media-less.
async fn snoop(
    State(sim): S,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = (|| {
        let p = Params::parse(q, &body)?;
        let spy = p.get("spy").unwrap_or("none");
        let whisper = p.get("whisper").unwrap_or("none");
        if spy == "none" && whisper == "none" {
            return Err(ApiError::new(
                400,
                "Direction must be specified for at least spy or whisper",
            ));
        }
        let mut st = sim.lock();
        if !st.channels.contains_key(&id) {
            return Err(ApiError::channel_not_found());
        }
        let app = p
            .get("app")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::new(400, "Application name is required"))?;
        let snoop_id = p
            .get("snoopId")
            .map(String::from)
            .unwrap_or_else(|| st.new_channel_id());
        let mut ch = st
            .channels
            .get(&id)
            .cloned()
            .ok_or_else(ApiError::channel_not_found)?;
        let seq = st.next_name_seq();
        ch.id = snoop_id.clone();
        ch.name = format!("Snoop/{id}-{seq}");
        ch.state = "Up";
        ch.bridge = None;
        ch.call = None;
        ch.playbacks.clear();
        ch.origin = crate::sim::model::Origin::Ari;
        ch.kind = crate::sim::model::ChanKind::Outside;
        ch.dialplan = crate::sim::model::Dialplan::outgoing("default", "s");
        ch.creationtime = crate::util::timestamp();
        let json = ch.json();
        st.channels.insert(snoop_id.clone(), ch);
        let args: Vec<String> = p
            .get("appArgs")
            .map(|a| a.split(',').map(String::from).collect())
            .unwrap_or_default();
        st.stasis_start(&snoop_id, app, args);
        let _ = json!({});
        Ok(ok(json))
    })();
    reply(r)
}
