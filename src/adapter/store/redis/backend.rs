//! The Redis half of the store: each operation bounded by `op_timeout`, so a
//! slow or lost server costs a call at most that long. Failures are returned,
//! never hidden: the store above decides to fall back to memory.

use super::{
    config::RedisStoreConfig,
    keys::Keys,
    record::{StoredCall, score},
    scripts,
};
use crate::{
    application::ports::calls::{CallSummary, ListFilter, Page},
    domain::{CallId, TenantId},
};
use redis::{Script, aio::ConnectionManager};
use std::{future::Future, time::Duration};

/// What a versioned write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored: it was newer than what Redis held.
    Written,
    /// Ignored: Redis already holds this version or a newer one.
    Stale,
    /// Ignored: the call has ended and this write would bring it back.
    Ended,
    /// Ignored: a newer lease holder (a higher fencing token) wrote the call.
    Fenced,
    /// Kept in memory: Redis is unreachable; written back when it returns.
    Pending,
}

/// Connection, keys and scripts.
pub(super) struct Backend {
    conn: ConnectionManager,
    keys: Keys,
    put: Script,
    list: Script,
    op_timeout: Duration,
    ended_ttl_secs: u64,
    instance: String,
    /// `rediss://`: a timeout may be a server without TLS, which reads the
    /// handshake as a command and waits for its end.
    tls: bool,
    /// The lease's fencing token each write carries (none: 0, no HA).
    fence: std::sync::OnceLock<std::sync::Arc<crate::application::lease::Fence>>,
}

/// Calls one `LIST` script looks at, at most (about 1 ms of Redis time).
pub(super) const LIST_LOOK_AT: usize = 1000;

impl Backend {
    pub(super) fn new(conn: ConnectionManager, config: &RedisStoreConfig) -> Self {
        Self {
            conn,
            keys: Keys::new(&config.key_prefix),
            put: Script::new(scripts::PUT),
            list: Script::new(scripts::LIST),
            op_timeout: config.op_timeout,
            ended_ttl_secs: config.ended_ttl.as_secs().max(1),
            instance: config.gateway_instance.clone(),
            tls: config.url.starts_with("rediss://"),
            fence: std::sync::OnceLock::new(),
        }
    }

    /// Makes every later write carry `fence`'s token (once; later calls are ignored).
    pub(super) fn fence_with(&self, fence: std::sync::Arc<crate::application::lease::Fence>) {
        let _ = self.fence.set(fence);
    }

    fn fence_token(&self) -> u64 {
        self.fence.get().map_or(0, |f| f.token())
    }

    pub(super) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Runs one operation within the time bound; a timeout is an error like any other.
    pub(super) async fn bounded<T>(
        &self,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.op_timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) if self.tls => Err(format!(
                "no answer within {:?} (TLS: a server without TLS on this port never answers the handshake)",
                self.op_timeout
            )),
            Err(_) => Err(format!("no answer within {:?}", self.op_timeout)),
        }
    }

    pub(super) async fn ping(&self) -> Result<(), String> {
        let mut c = self.conn();
        self.bounded(redis::cmd("PING").query_async::<String>(&mut c))
            .await
            .map(drop)
    }

    pub(super) async fn put(&self, c: &CallSummary, version: u64) -> Result<Applied, String> {
        let fence = self.fence_token();
        let json = serde_json::to_string(&StoredCall::new(c, &self.instance, version, fence))
            .map_err(|e| e.to_string())?;
        let (t, id) = (&c.tenant_id, &c.call_id);
        let mut inv = self.put.prepare_invoke();
        inv.key(self.keys.call(t, id))
            .key(self.keys.live(t))
            .key(self.keys.calls(t))
            .key(self.keys.ended(t))
            .key(self.keys.gateway_live(&self.instance))
            .arg(version)
            .arg(json)
            .arg(&c.state)
            .arg(if c.ended_at.is_some() { "1" } else { "0" })
            .arg(score(c))
            .arg(id.as_str())
            .arg(self.ended_ttl_secs)
            .arg(&self.instance)
            .arg(Keys::gateway_member(t, id))
            .arg(self.keys.gateway_prefix())
            .arg(fence);
        let mut conn = self.conn();
        let code: i64 = self.bounded(inv.invoke_async(&mut conn)).await?;
        Ok(match code {
            1 => Applied::Written,
            0 => Applied::Stale,
            -2 => Applied::Fenced,
            _ => Applied::Ended,
        })
    }

    pub(super) async fn get(
        &self,
        t: &TenantId,
        id: &CallId,
    ) -> Result<Option<CallSummary>, String> {
        let mut conn = self.conn();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.keys.call(t, id)).arg("record");
        let get = cmd.query_async::<Option<String>>(&mut conn);
        let json = self.bounded(get).await?;
        Ok(json.as_deref().and_then(StoredCall::decode))
    }

    /// One page: the script looks at [`LIST_LOOK_AT`] calls at most.
    pub(super) async fn list(&self, t: &TenantId, filter: &ListFilter) -> Result<Page, String> {
        let limit = filter.limit.clamp(1, 100);
        let mut inv = self.list.prepare_invoke();
        inv.key(self.keys.calls(t))
            .arg(self.keys.call_prefix(t))
            .arg(filter.cursor.as_deref().unwrap_or(""))
            .arg(filter.state.as_deref().unwrap_or(""))
            .arg(limit + 1)
            .arg(LIST_LOOK_AT);
        let mut conn = self.conn();
        let (resume, found): (String, Vec<String>) =
            self.bounded(inv.invoke_async(&mut conn)).await?;
        let more = found.len() > limit;
        let calls: Vec<CallSummary> = found
            .iter()
            .take(limit)
            .filter_map(|j| StoredCall::decode(j))
            .collect();
        let next_cursor = if more {
            calls.last().map(|c| c.call_id.to_string())
        } else {
            // The walk stopped at its bound: a short (even empty) page that
            // says where the next one goes on.
            Some(resume).filter(|r| !r.is_empty())
        };
        Ok(Page { calls, next_cursor })
    }

    /// This instance's live calls, from its live index (`max` at most).
    /// A member whose record has gone (expired) is skipped.
    pub(super) async fn owned_live(&self, max: usize) -> Result<Vec<CallSummary>, String> {
        self.live_of(&self.instance, max).await
    }

    /// The live calls `instance`'s index names.
    pub(super) async fn live_of(
        &self,
        instance: &str,
        max: usize,
    ) -> Result<Vec<CallSummary>, String> {
        let mut conn = self.conn();
        let mut range = redis::cmd("ZRANGE");
        range
            .arg(self.keys.gateway_live(instance))
            .arg(0)
            .arg(max.max(1) - 1);
        let members: Vec<String> = self.bounded(range.query_async(&mut conn)).await?;
        // An empty pipeline is an error to the client ("empty command"),
        // which would count Redis as lost.
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for m in &members {
            let parsed = m
                .split_once(':')
                .and_then(|(t, id)| Some((TenantId::parse(t).ok()?, CallId::parse(id).ok()?)));
            if let Some((t, id)) = parsed {
                pipe.cmd("HGET").arg(self.keys.call(&t, &id)).arg("record");
            }
        }
        let found: Vec<Option<String>> = self.bounded(pipe.query_async(&mut conn)).await?;
        Ok(found
            .iter()
            .flatten()
            .filter_map(|j| StoredCall::decode(j))
            .filter(|c| c.ended_at.is_none())
            .collect())
    }
}
