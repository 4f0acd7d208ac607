//! A small blocking ARI client for tests: enough to originate, look at and
//! hang up channels without pulling an async runtime into a test.

use crate::HarnessError;
use base64::Engine as _;
use serde_json::Value;
use std::time::Duration;

/// Basic-auth REST calls against one Asterisk's `/ari`.
#[derive(Debug, Clone)]
pub struct AriClient {
    base: String,
    auth: String,
    agent: ureq::Agent,
}

impl AriClient {
    /// A client for `base` (`http://127.0.0.1:PORT/ari`).
    pub fn new(base: &str, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let agent = ureq::Agent::config_builder()
            // Tests look at 404s and 409s; they are answers, not errors here.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            auth: format!("Basic {token}"),
            agent,
        }
    }

    /// Any request; returns the status and the body (JSON, `Null` when empty,
    /// a JSON string when not JSON). `path` is relative to `/ari`, e.g. `/channels`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(u16, Value), HarnessError> {
        let url = format!("{}{path}", self.base);
        let what = || format!("{method} {url}");
        let fail = |e: ureq::Error| HarnessError::Request {
            request: what(),
            reason: e.to_string(),
        };
        let q = query.iter().copied();
        let resp = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &self.auth)
                .query_pairs(q)
                .call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &self.auth)
                .query_pairs(q)
                .call(),
            ("POST", None) => self
                .agent
                .post(&url)
                .header("Authorization", &self.auth)
                .query_pairs(q)
                .send_empty(),
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("Authorization", &self.auth)
                .query_pairs(q)
                .content_type("application/json")
                .send(b.to_string()),
            ("PUT", _) => self
                .agent
                .put(&url)
                .header("Authorization", &self.auth)
                .query_pairs(q)
                .send_empty(),
            _ => {
                return Err(HarnessError::Request {
                    request: what(),
                    reason: "unsupported method".into(),
                });
            }
        };
        let mut resp = resp.map_err(fail)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(fail)?;
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// A request that must succeed (2xx); its body.
    fn ok(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, HarnessError> {
        let (status, value) = self.request(method, path, query, body)?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(HarnessError::Request {
                request: format!("{method} {}{path}", self.base),
                reason: format!("{status} {value}"),
            })
        }
    }

    /// `GET`, which must answer 2xx.
    pub fn get(&self, path: &str) -> Result<Value, HarnessError> {
        self.ok("GET", path, &[], None)
    }

    /// The status of a `GET` (e.g. 404 once a channel is gone).
    pub fn status(&self, path: &str) -> Result<u16, HarnessError> {
        Ok(self.request("GET", path, &[], None)?.0)
    }

    /// `POST` with query parameters, which must answer 2xx.
    pub fn post(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, HarnessError> {
        self.ok("POST", path, query, None)
    }

    /// `POST` with query parameters and a JSON body, which must answer 2xx.
    pub fn post_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, HarnessError> {
        self.ok("POST", path, query, Some(body))
    }

    /// `DELETE`, which must answer 2xx.
    pub fn delete(&self, path: &str) -> Result<(), HarnessError> {
        self.ok("DELETE", path, &[], None).map(drop)
    }

    /// The ids of the objects a list endpoint (`/channels`, `/bridges`) returns.
    pub fn ids(&self, path: &str) -> Result<Vec<String>, HarnessError> {
        let list = self.get(path)?;
        Ok(list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}
