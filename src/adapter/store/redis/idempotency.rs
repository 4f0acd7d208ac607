//! The API's idempotency keys in Redis, shared by every instance: a retry of
//! `POST /v1/calls` landing on another instance replays the first call
//! instead of dialling twice.
//!
//! One hash per key, `P:{tenant}:idem:{key}` with `fp` (the request's
//! fingerprint) and, once the call exists, `call`. Claimed as `SET NX EX`
//! would (a script, so the fingerprint and the call sit in one key): it
//! expires after [`IN_FLIGHT_TTL`] unless completed, then after
//! [`RETENTION`]. Expiry is Redis's clock, not the `now` passed in. When
//! Redis does not answer, an in-memory store stands in: keys are then only
//! this instance's, which is still better than refusing calls.

use super::{keys::Keys, metrics::StoreMetrics};
use crate::{
    adapter::http::api::{
        dto::CallView,
        idempotency::{Begin, IN_FLIGHT_TTL, IdempotencyStore, MemoryIdempotency, RETENTION},
    },
    application::ports::orchestrator::BoxFuture,
    domain::TenantId,
};
use redis::{Script, aio::ConnectionManager};
use std::time::{Duration, SystemTime};

const BEGIN: &str = r#"
local cur = redis.call('HMGET', KEYS[1], 'fp', 'call')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {}
end
return {cur[1], cur[2] or ''}
"#;

const COMPLETE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'call', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"#;

/// [`IdempotencyStore`] over Redis.
pub struct RedisIdempotency {
    conn: ConnectionManager,
    keys: Keys,
    op_timeout: Duration,
    in_flight_ttl: Duration,
    retention: Duration,
    begin: Script,
    complete: Script,
    fallback: MemoryIdempotency,
    metrics: StoreMetrics,
}

impl RedisIdempotency {
    /// Keys under `key_prefix` on `conn` (e.g. [`super::RedisCallStore::connection`]).
    pub fn new(
        conn: ConnectionManager,
        key_prefix: &str,
        op_timeout: Duration,
        metrics: StoreMetrics,
    ) -> Self {
        Self {
            conn,
            keys: Keys::new(key_prefix),
            op_timeout,
            in_flight_ttl: IN_FLIGHT_TTL,
            retention: RETENTION,
            begin: Script::new(BEGIN),
            complete: Script::new(COMPLETE),
            fallback: MemoryIdempotency::new(10_000),
            metrics,
        }
    }

    /// Other lifetimes than the API's (tests).
    pub fn with_ttls(mut self, in_flight: Duration, retention: Duration) -> Self {
        self.in_flight_ttl = in_flight;
        self.retention = retention;
        self
    }

    async fn bounded<T>(&self, op: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        self.metrics.op("idempotency");
        match tokio::time::timeout(self.op_timeout, op).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(_) => self.failed("timeout"),
        }
    }

    fn failed<T>(&self, error: &str) -> Option<T> {
        self.metrics.error("idempotency");
        tracing::warn!(%error, "idempotency keys: redis unreachable, using memory");
        None
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().max(1) as u64
}

impl IdempotencyStore for RedisIdempotency {
    fn begin<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        fingerprint: u64,
        now: SystemTime,
    ) -> BoxFuture<'a, Begin> {
        Box::pin(async move {
            let mut inv = self.begin.prepare_invoke();
            inv.key(self.keys.idempotency(tenant, key))
                .arg(fingerprint.to_string())
                .arg(millis(self.in_flight_ttl));
            let mut conn = self.conn.clone();
            let Some(held) = self
                .bounded(inv.invoke_async::<Vec<String>>(&mut conn))
                .await
            else {
                return self.fallback.begin(tenant, key, fingerprint, now).await;
            };
            match held.as_slice() {
                [] => Begin::Fresh,
                [fp, _] if *fp != fingerprint.to_string() => Begin::Mismatch,
                [_, call] if call.is_empty() => Begin::InProgress,
                [_, call] => match serde_json::from_str::<CallView>(call) {
                    Ok(view) => Begin::Replay(Box::new(view)),
                    // Not ours to read: better to say "in progress" than to dial twice.
                    Err(_) => Begin::InProgress,
                },
                _ => Begin::InProgress,
            }
        })
    }

    fn complete<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        call: CallView,
        now: SystemTime,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(json) = serde_json::to_string(&call) else {
                return;
            };
            let mut inv = self.complete.prepare_invoke();
            inv.key(self.keys.idempotency(tenant, key))
                .arg(json)
                .arg(millis(self.retention));
            let mut conn = self.conn.clone();
            if self
                .bounded(inv.invoke_async::<i64>(&mut conn))
                .await
                .is_none()
            {
                self.fallback.complete(tenant, key, call, now).await;
            }
        })
    }

    fn abandon<'a>(&'a self, tenant: &'a TenantId, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.keys.idempotency(tenant, key));
            let del = cmd.query_async::<i64>(&mut conn);
            if self.bounded(del).await.is_none() {
                self.fallback.abandon(tenant, key).await;
            }
        })
    }
}
