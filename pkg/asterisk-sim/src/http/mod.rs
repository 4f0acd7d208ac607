//! The HTTP face: ARI REST under `/ari`, the events WebSocket, chan_websocket media.
//!
//! Middleware order mirrors Asterisk: authentication first (401 with the Basic realm), then
//! the boot check (503) and injected faults; unknown paths 404 and wrong methods 405 with
//! Asterisk's bodies (fixture 05).

mod bridges;
mod channels;
mod events;
mod media_ws;
mod misc;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::sim::Sim;
use crate::sim::error::ApiError;

pub(crate) type S = State<Arc<Sim>>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.body)
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) fn reply(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// Request parameters: the query string merged with a JSON object body, as Asterisk does;
/// `variables` of the body are returned apart.
pub(crate) struct Params {
    pub(crate) map: HashMap<String, String>,
    pub(crate) variables: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn parse(query: Option<String>, body: &Bytes) -> Result<Self, ApiError> {
        let mut map = HashMap::new();
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                map.insert(url_decode(k), url_decode(v));
            }
        }
        let mut variables = Vec::new();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: Value = serde_json::from_slice(body)
                .map_err(|_| ApiError::new(400, "Error parsing request body"))?;
            if let Value::Object(o) = v {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("variables", Value::Object(vars)) => {
                            for (vk, vv) in vars {
                                variables.push((vk, value_str(&vv)));
                            }
                        }
                        (_, v) => {
                            map.insert(k, value_str(&v));
                        }
                    }
                }
            }
        }
        Ok(Self { map, variables })
    }

    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }
}

fn value_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(x) => {
                        out.push(x);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn authorized(sim: &Sim, req: &Request) -> bool {
    let want = format!("{}:{}", sim.cfg.username, sim.cfg.password);
    if let Some(q) = req.uri().query() {
        for pair in q.split('&') {
            if let Some(v) = pair.strip_prefix("api_key=") {
                return url_decode(v) == want;
            }
        }
    }
    let Some(h) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = h.strip_prefix("Basic ") else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .is_ok_and(|d| d == want.as_bytes())
}

async fn guard(State(sim): S, req: Request, next: Next) -> Response {
    if !authorized(&sim, &req) {
        let mut r = ApiError::new(401, "Authentication required").into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Asterisk REST Interface\""),
        );
        return r;
    }
    let booting = sim
        .lock()
        .booting_until
        .is_some_and(|t| tokio::time::Instant::now() < t);
    if booting {
        return ApiError::new(503, "Asterisk not booted").into_response();
    }
    // Inside the `/ari` nest the path lost its prefix; faults are written with full paths.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path().to_string(), |u| u.path().to_string());
    if let Some(f) = sim.faults.take(req.method().as_str(), &path) {
        if !f.delay.is_zero() {
            tokio::time::sleep(f.delay).await;
        }
        if let Some(status) = f.status {
            let msg = match status {
                404 => "Resource not found",
                503 => "Asterisk not booted",
                _ => "An internal error prevented this request from being handled",
            };
            return ApiError::new(status, msg).into_response();
        }
    }
    next.run(req).await
}

async fn not_found() -> Response {
    ApiError::new(404, "Resource not found").into_response()
}

async fn bad_method() -> Response {
    ApiError::new(405, "Invalid method").into_response()
}

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    let ari = Router::new()
        .merge(channels::routes())
        .merge(bridges::routes())
        .merge(misc::routes())
        .merge(events::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(bad_method)
        .layer(middleware::from_fn_with_state(Arc::clone(&sim), guard));
    Router::new()
        .nest("/ari", ari)
        .merge(media_ws::routes())
        .fallback(not_found)
        .with_state(sim)
}

/// A convenience for handlers: `{"value": …}`.
pub(crate) fn value_body(v: &str) -> Value {
    json!({ "value": v })
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn decodes() {
        assert_eq!(url_decode("a%20b+c%3A"), "a b c:");
        assert_eq!(url_decode("100%"), "100%");
    }
}
