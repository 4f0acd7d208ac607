//! [`RedisPeers`]: call owners, the lease holder and the instances' API URLs
//! (`P:gw:{instance}:api`, a string with a time to live that its instance
//! renews) read from the Redis the instances share.

use super::{config::RedisStoreConfig, keys::Keys};
use crate::{
    application::ports::{
        orchestrator::BoxFuture,
        peers::{CallOwner, Peers, PeersError},
    },
    domain::{CallId, TenantId},
};
use redis::aio::ConnectionManager;
use std::time::Duration;

/// The peers of this instance, in Redis.
pub struct RedisPeers {
    conn: ConnectionManager,
    keys: Keys,
    lease: String,
    instance: String,
    op_timeout: Duration,
}

impl RedisPeers {
    /// On the store's connection (`RedisCallStore::connection`), for the
    /// lease of `asterisk`.
    pub fn new(conn: ConnectionManager, config: &RedisStoreConfig, asterisk: &str) -> Self {
        Self {
            conn,
            keys: Keys::new(&config.key_prefix),
            lease: format!("{}:ha:{asterisk}:lease", config.key_prefix),
            instance: config.gateway_instance.clone(),
            op_timeout: config.op_timeout,
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, PeersError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.op_timeout, cmd.query_async(&mut conn)).await {
            Ok(r) => r.map_err(|e| PeersError(e.to_string())),
            Err(_) => Err(PeersError(format!(
                "no answer within {:?}",
                self.op_timeout
            ))),
        }
    }
}

impl Peers for RedisPeers {
    fn owner<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallOwner>, PeersError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(self.keys.call(tenant, call)).arg("gw").arg("ended");
            let (gw, ended): (Option<String>, Option<String>) = self.query(cmd).await?;
            Ok(gw.map(|instance| CallOwner {
                instance,
                ended: ended.as_deref() == Some("1"),
            }))
        })
    }

    fn active(&self) -> BoxFuture<'_, Result<Option<String>, PeersError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(&self.lease);
            let held: Option<String> = self.query(cmd).await?;
            // `{holder}|{token}`
            Ok(held.and_then(|h| h.split_once('|').map(|(who, _)| who.to_owned())))
        })
    }

    fn api_url<'a>(
        &'a self,
        instance: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PeersError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.keys.gateway_api(instance));
            self.query(cmd).await
        })
    }

    fn advertise<'a>(
        &'a self,
        url: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), PeersError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.keys.gateway_api(&self.instance))
                .arg(url)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64);
            self.query::<()>(cmd).await
        })
    }
}
