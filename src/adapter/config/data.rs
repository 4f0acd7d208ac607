//! `[redis]`, `[kafka]`, `[postgres]`: the shared engines a fleet of gateways
//! uses. Each is off while its address is unset, and the embedded default
//! serves instead: calls in memory, events to the JSON-lines file of
//! `[events]`, routes from `[[routes]]` and no call history.

use super::{HumanDuration, SecretUrl};
use crate::adapter::{postgres::SslMode, tls};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

/// `[redis]`: the live call records and the API's idempotency keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSection {
    /// `redis://[user:password@]host:port/[db]`; absent: calls kept in memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<SecretUrl>,
    /// First part of every key, so several deployments can share one server.
    pub key_prefix: String,
    /// How long an ended call stays readable.
    pub ended_ttl: HumanDuration,
    /// The longest one Redis operation may take before Redis counts as down.
    pub op_timeout: HumanDuration,
    /// The longest pause between write-back attempts while Redis is down.
    pub retry_max: HumanDuration,
    /// This instance's name in the records it owns; absent: the host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_instance: Option<String>,
    /// With a `rediss://` URL: the CA the server's certificate must chain to;
    /// absent: the system's trust store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for RedisSection {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "vg".into(),
            ended_ttl: HumanDuration(Duration::from_secs(3600)),
            op_timeout: HumanDuration(Duration::from_millis(200)),
            retry_max: HumanDuration(Duration::from_secs(5)),
            gateway_instance: None,
            ca_file: None,
        }
    }
}

/// `[kafka]`: call events to a topic, through an on-disk spool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// Bootstrap servers, `host:port[,host:port…]`; absent: events go to `events.path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brokers: Option<String>,
    /// The topic every call event goes to.
    pub topic: String,
    /// `client.id` shown in the broker's logs and quotas.
    pub client_id: String,
    /// Where events wait for the broker's acknowledgement; keep it across restarts.
    pub spool_dir: PathBuf,
    /// Unacknowledged bytes the spool may hold; beyond, events are refused (alert).
    pub spool_max_bytes: u64,
    /// A send unacknowledged this long is retried from the spool.
    pub message_timeout: HumanDuration,
    /// `[kafka.properties]`: extra librdkafka settings (TLS, SASL), e.g.
    /// `"security.protocol" = "SASL_SSL"`. From the environment `_` stands
    /// for `.`: `VOICEGW__KAFKA__PROPERTIES__SASL_PASSWORD`. Values of keys
    /// that may hold secrets print masked.
    #[serde(serialize_with = "masked_properties")]
    pub properties: BTreeMap<String, String>,
}

/// Property names whose values are secrets (or point at one).
const SECRET_WORDS: [&str; 5] = ["password", "secret", "key", "jaas", "token"];

fn masked_properties<S: serde::Serializer>(
    props: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(props.len()))?;
    for (k, v) in props {
        let secret = SECRET_WORDS
            .iter()
            .any(|w| k.to_ascii_lowercase().contains(w));
        m.serialize_entry(k, if secret { "********" } else { v.as_str() })?;
    }
    m.end()
}

impl KafkaSection {
    /// The librdkafka properties with `_` read as `.` (environment names).
    pub fn librdkafka_properties(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|(k, v)| (k.replace('_', "."), v.clone()))
            .collect()
    }
}

impl Default for KafkaSection {
    fn default() -> Self {
        Self {
            brokers: None,
            topic: "voice.call-events".into(),
            client_id: "voice-gateway".into(),
            spool_dir: PathBuf::from("var/spool/kafka"),
            spool_max_bytes: 1024 * 1024 * 1024,
            message_timeout: HumanDuration(Duration::from_secs(30)),
            properties: BTreeMap::new(),
        }
    }
}

/// `[postgres]`: DID routing and call history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresSection {
    /// `postgres://user:password@host:port/db`; absent: `[[routes]]`, no history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<SecretUrl>,
    /// Apply the embedded migrations at start.
    pub migrate: bool,
    /// Connections for call-record writes (routing uses one more).
    pub pool_size: u32,
    /// Give up one connection attempt after this long.
    pub connect_timeout: HumanDuration,
    /// Reload every route this often even without a notification.
    pub refresh_interval: HumanDuration,
    /// Longest wait between reconnects of the listening connection.
    pub max_backoff: HumanDuration,
    /// `disable`, `require` (encrypted, any certificate) or `verify-full`
    /// (certificate chained to `ca_file` or the system's roots, host checked).
    pub sslmode: SslMode,
    /// The CA of `verify-full`; absent: the system's trust store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for PostgresSection {
    fn default() -> Self {
        Self {
            url: None,
            migrate: true,
            pool_size: 4,
            connect_timeout: HumanDuration(Duration::from_secs(5)),
            refresh_interval: HumanDuration(Duration::from_secs(60)),
            max_backoff: HumanDuration(Duration::from_secs(10)),
            sslmode: SslMode::Disable,
            ca_file: None,
        }
    }
}

/// Checks the three sections; the error names the key.
pub(super) fn validate(
    redis: &RedisSection,
    kafka: &KafkaSection,
    pg: &PostgresSection,
) -> Result<(), (&'static str, String)> {
    if let Some(url) = &redis.url {
        check_url(url, &["redis://", "rediss://", "redis+unix://", "unix://"])
            .map_err(|p| ("redis.url", p))?;
        redis::Client::open(url.expose())
            .map_err(|e| ("redis.url", format!("{url} is not usable: {e}")))?;
    }
    if let Some(ca) = &redis.ca_file {
        if !redis
            .url
            .as_ref()
            .is_some_and(|u| u.expose().starts_with("rediss://"))
        {
            return Err((
                "redis.ca_file",
                "is set but redis.url is not rediss:// (TLS)".into(),
            ));
        }
        check_ca(ca).map_err(|p| ("redis.ca_file", p))?;
    }
    let prefix = &redis.key_prefix;
    if prefix.is_empty() || prefix.len() > 32 || !prefix.bytes().all(name_byte) {
        return Err((
            "redis.key_prefix",
            format!("{prefix:?} is not 1-32 letters, digits, - _ or ."),
        ));
    }
    if let Some(i) = &redis.gateway_instance
        && (i.is_empty() || i.len() > 64 || !i.bytes().all(name_byte) || i == "call" || i == "idem")
    {
        return Err((
            "redis.gateway_instance",
            format!("{i:?} is not a usable instance name"),
        ));
    }
    for (key, d) in [
        ("redis.ended_ttl", redis.ended_ttl),
        ("redis.op_timeout", redis.op_timeout),
        ("redis.retry_max", redis.retry_max),
        ("kafka.message_timeout", kafka.message_timeout),
        ("postgres.connect_timeout", pg.connect_timeout),
        ("postgres.refresh_interval", pg.refresh_interval),
        ("postgres.max_backoff", pg.max_backoff),
    ] {
        if d.0.is_zero() {
            return Err((key, "must be greater than zero".into()));
        }
    }
    if let Some(brokers) = &kafka.brokers {
        check_brokers(brokers).map_err(|p| ("kafka.brokers", p))?;
    }
    let t = &kafka.topic;
    // Kafka's own rule for topic names.
    if t.is_empty() || t.len() > 249 || t == "." || t == ".." || !t.bytes().all(name_byte) {
        return Err(("kafka.topic", format!("{t:?} is not a Kafka topic name")));
    }
    if kafka.client_id.trim().is_empty() {
        return Err(("kafka.client_id", "is empty".into()));
    }
    if kafka.spool_dir.as_os_str().is_empty() {
        return Err(("kafka.spool_dir", "is empty".into()));
    }
    if kafka.spool_max_bytes < 1024 * 1024 {
        return Err((
            "kafka.spool_max_bytes",
            format!("{} is below 1 MiB", kafka.spool_max_bytes),
        ));
    }
    for key in kafka.librdkafka_properties().keys() {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
        {
            return Err((
                "kafka.properties",
                format!("{key:?} is not a librdkafka property name"),
            ));
        }
        // The gateway's delivery guarantees and addressing are not negotiable.
        if [
            "bootstrap.servers",
            "client.id",
            "acks",
            "enable.idempotence",
            "message.timeout.ms",
        ]
        .contains(&key.as_str())
        {
            return Err((
                "kafka.properties",
                format!("{key:?} is set by the gateway itself (use the [kafka] keys)"),
            ));
        }
    }
    check_kafka_tls(&kafka.librdkafka_properties()).map_err(|p| ("kafka.properties", p))?;
    if let Some(url) = &pg.url {
        check_url(url, &["postgres://", "postgresql://"]).map_err(|p| ("postgres.url", p))?;
        // One place decides TLS: an sslmode in the URL would be overridden
        // by postgres.sslmode, and libpq's verify-full is not even parsed.
        if url.expose().contains("sslmode=") {
            return Err((
                "postgres.url",
                format!("{url} sets sslmode; use postgres.sslmode instead"),
            ));
        }
        url.expose()
            .parse::<tokio_postgres::Config>()
            .map_err(|e| ("postgres.url", format!("{url} is not usable: {e}")))?;
    }
    if let Some(ca) = &pg.ca_file {
        if pg.sslmode != SslMode::VerifyFull {
            return Err((
                "postgres.ca_file",
                "is used by postgres.sslmode = \"verify-full\" only".into(),
            ));
        }
        check_ca(ca).map_err(|p| ("postgres.ca_file", p))?;
    }
    if pg.pool_size == 0 || pg.pool_size > 64 {
        return Err((
            "postgres.pool_size",
            format!("{} is not between 1 and 64", pg.pool_size),
        ));
    }
    Ok(())
}

fn check_ca(path: &Path) -> Result<(), String> {
    tls::read_ca_file(path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// librdkafka takes unknown values late (at the first connection) or not
/// at all: the TLS and SASL settings are checked here, by name.
fn check_kafka_tls(props: &BTreeMap<String, String>) -> Result<(), String> {
    let protocol = props
        .get("security.protocol")
        .map(|p| p.to_ascii_lowercase());
    if let Some(p) = &protocol
        && !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&p.as_str())
    {
        return Err(format!(
            "security.protocol {p:?} is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
        ));
    }
    if let Some(m) = props.get("sasl.mechanisms").or(props.get("sasl.mechanism")) {
        // GSSAPI needs Cyrus SASL and Kerberos, which this build leaves out.
        if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(&m.as_str()) {
            return Err(format!(
                "sasl.mechanisms {m:?} is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
            ));
        }
    }
    if let Some(ca) = props.get("ssl.ca.location")
        && ca != "probe"
    {
        check_ca(Path::new(ca)).map_err(|e| format!("ssl.ca.location: {e}"))?;
    }
    Ok(())
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.".contains(&b)
}

fn check_url(url: &SecretUrl, schemes: &[&str]) -> Result<(), String> {
    let raw = url.expose();
    let Some(rest) = schemes.iter().find_map(|s| raw.strip_prefix(s)) else {
        return Err(format!(
            "{url} does not start with {}",
            schemes.join(" or ")
        ));
    };
    if rest.is_empty() || raw.contains(char::is_whitespace) {
        return Err(format!("{url} has no usable host"));
    }
    Ok(())
}

fn check_brokers(list: &str) -> Result<(), String> {
    if list.trim().is_empty() {
        return Err("is empty (remove the key to use the events file)".into());
    }
    for b in list.split(',').map(str::trim) {
        let ok = b.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty() && !h.contains(['/', ' ']) && p.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            return Err(format!("{b:?} is not HOST:PORT"));
        }
    }
    Ok(())
}
