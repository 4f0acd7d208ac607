//! Settings of the Redis call store (`[redis]` in the configuration file).

use std::{fmt, path::PathBuf, time::Duration};

/// Where and how the Redis call store keeps its records.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// `redis://[user:password@]host:port/[db]`, or `rediss://…` for TLS.
    pub url: String,
    /// First part of every key, so several deployments can share a server.
    pub key_prefix: String,
    /// How long an ended call stays readable.
    pub ended_ttl: Duration,
    /// The longest one Redis operation may take before Redis counts as down:
    /// a call never waits longer than this on its store.
    pub op_timeout: Duration,
    /// This instance's name, recorded in each call it owns.
    pub gateway_instance: String,
    /// The longest pause between two write-back attempts while Redis is down.
    pub retry_max: Duration,
    /// With `rediss://`: the CA the server's certificate must chain to
    /// (only it is trusted); absent: the system's trust store.
    pub ca_file: Option<PathBuf>,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/".into(),
            key_prefix: "vg".into(),
            ended_ttl: Duration::from_secs(3600),
            op_timeout: Duration::from_millis(200),
            gateway_instance: "gateway".into(),
            retry_max: Duration::from_secs(5),
            ca_file: None,
        }
    }
}

/// Hides the password the URL may carry.
impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.url.rsplit_once('@') {
            Some((scheme, host)) => {
                let scheme = scheme.split_once("://").map_or("redis", |(s, _)| s);
                format!("{scheme}://***@{host}")
            }
            None => self.url.clone(),
        };
        f.debug_struct("RedisStoreConfig")
            .field("url", &url)
            .field("key_prefix", &self.key_prefix)
            .field("ended_ttl", &self.ended_ttl)
            .field("op_timeout", &self.op_timeout)
            .field("gateway_instance", &self.gateway_instance)
            .field("retry_max", &self.retry_max)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let c = RedisStoreConfig {
            url: "redis://user:s3cret@redis:6379/0".into(),
            ..Default::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redis:6379/0"), "{shown}");
    }
}
