//! The lease of one Asterisk in Redis (see `application::lease`).
//!
//! Keys (`P` is the key prefix, `A` the Asterisk's name):
//! - `P:ha:A:lease`: `{holder}|{token}`, with the lease's time to live;
//! - `P:ha:A:fence`: the fencing counter, incremented for each new holder;
//! - `P:ha:A:grace`: while it lives, a free lease is not taken (see below);
//! - `P:ha:A:members`: every instance that tried the lease (whose live
//!   calls a new holder takes over);
//! - `P:ha:A:seen`: when each instance last tried it (ms, Redis's clock):
//!   whether a standby is alive for a planned handover.
//!
//! A Redis that restarts without its data loses the lease and the counter
//! at once. Taking the lease then would be a takeover nobody needed (the
//! holder is alive) and would hand out token 1 again. So a missing counter
//! starts a grace period of one ttl: the holder comes back within it and
//! keeps its lease under its own token (the counter is set back to it); a
//! standby takes the lease only after it, and then under a new token.

use super::RedisStoreConfig;
use super::store::client;
use crate::application::ports::{
    lease::{Attempt, LeaseError, LeaseStore},
    orchestrator::BoxFuture,
};
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use std::time::Duration;

/// Takes, renews or keeps the lease. KEYS: lease, fence, grace, members,
/// seen. ARGV: holder, ttl (ms), token held (`0`: none). Returns the token
/// held, or 0.
const TRY_HOLD: &str = r#"
redis.call('SADD', KEYS[4], ARGV[1])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[5], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
local held = tonumber(ARGV[3])
local cur = redis.call('GET', KEYS[1])
if cur then
  if held > 0 and cur == ARGV[1] .. '|' .. ARGV[3] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return held
  end
  return 0
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '-1')
if held > 0 and fence <= held then
  redis.call('SET', KEYS[2], held)
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[2])
  return held
end
if fence < 0 then
  redis.call('SET', KEYS[2], 0)
  redis.call('SET', KEYS[3], 1, 'PX', ARGV[2])
  return 0
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
"#;

/// Whether another instance tried the lease lately. KEYS: seen. ARGV:
/// this instance, within (ms). Returns 1 or 0.
const STANDBY: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')) do
  if m ~= ARGV[1] then return 1 end
end
return 0
"#;

/// Deletes the lease if this holder still holds it. KEYS: lease. ARGV: `{holder}|{token}`.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// One Asterisk's lease, held under this instance's name.
pub struct RedisLease {
    conn: ConnectionManager,
    keys: [String; 5],
    holder: String,
    try_hold: Script,
    release: Script,
    standby: Script,
}

impl std::fmt::Debug for RedisLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLease")
            .field("lease", &self.keys[0])
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl RedisLease {
    /// The lease of `asterisk`, held as `config.gateway_instance`. Connects
    /// lazily: an unreachable Redis means standby, not an error.
    ///
    /// Each answer is waited for up to `wait` (`ha.renew_every`, the
    /// driver's own bound on an attempt), not the store's `op_timeout`: on a
    /// loaded machine a renewal answered in 300 ms still holds the lease,
    /// and an active instance that counted it as lost would fence itself
    /// and close its events socket under live calls.
    pub fn new(
        config: &RedisStoreConfig,
        asterisk: &str,
        wait: Duration,
    ) -> Result<Self, LeaseError> {
        let bad = LeaseError::Unavailable;
        if !valid_name(asterisk) {
            return Err(bad(format!("unusable Asterisk name {asterisk:?}")));
        }
        let client = client(config).map_err(bad)?;
        let wait = wait.max(config.op_timeout);
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(wait))
            .set_response_timeout(Some(wait))
            .set_number_of_retries(1)
            .set_max_delay(config.op_timeout);
        let conn = ConnectionManager::new_lazy_with_config(client, manager)
            .map_err(|e| bad(e.to_string()))?;
        let base = format!("{}:ha:{asterisk}", config.key_prefix);
        Ok(Self {
            conn,
            keys: ["lease", "fence", "grace", "members", "seen"].map(|k| format!("{base}:{k}")),
            holder: config.gateway_instance.clone(),
            try_hold: Script::new(TRY_HOLD),
            release: Script::new(RELEASE),
            standby: Script::new(STANDBY),
        })
    }
}

/// 1-64 letters, digits, `- _ .` (no `:`, which separates key parts), and
/// not `call` or `idem`: a tenant named `ha` has keys `P:ha:call:…` and
/// `P:ha:idem:…`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s != "call"
        && s != "idem"
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl LeaseStore for RedisLease {
    fn try_hold(&self, held: u64, ttl_ms: u64) -> BoxFuture<'_, Result<Attempt, LeaseError>> {
        Box::pin(async move {
            let mut inv = self.try_hold.prepare_invoke();
            for k in &self.keys {
                inv.key(k);
            }
            inv.arg(&self.holder).arg(ttl_ms).arg(held);
            let mut conn = self.conn.clone();
            let token: u64 = inv
                .invoke_async(&mut conn)
                .await
                .map_err(|e| LeaseError::Unavailable(e.to_string()))?;
            Ok(match token {
                0 => Attempt::Taken,
                t => Attempt::Held(t),
            })
        })
    }

    fn members(&self) -> BoxFuture<'_, Result<Vec<String>, LeaseError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::cmd("SMEMBERS")
                .arg(&self.keys[3])
                .query_async(&mut conn)
                .await
                .map_err(|e| LeaseError::Unavailable(e.to_string()))
        })
    }

    fn standby_present(&self, within_ms: u64) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            let mut inv = self.standby.prepare_invoke();
            inv.key(&self.keys[4]).arg(&self.holder).arg(within_ms);
            let mut conn = self.conn.clone();
            inv.invoke_async::<i64>(&mut conn)
                .await
                .map(|n| n == 1)
                .map_err(|e| LeaseError::Unavailable(e.to_string()))
        })
    }

    fn release(&self, held: u64) -> BoxFuture<'_, Result<(), LeaseError>> {
        Box::pin(async move {
            let mut inv = self.release.prepare_invoke();
            inv.key(&self.keys[0])
                .arg(format!("{}|{held}", self.holder));
            let mut conn = self.conn.clone();
            inv.invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| LeaseError::Unavailable(e.to_string()))
        })
    }
}
