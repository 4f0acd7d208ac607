//! What went wrong with the configuration, phrased for the operator.

use std::{fmt, path::PathBuf};

/// A configuration problem. Its `Display` names the key, where the value came
/// from, what was wrong with it and, where known, the form that was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The file given with `--config` could not be read.
    Unreadable {
        /// The path that was tried.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is not valid TOML.
    Syntax {
        /// The file.
        path: String,
        /// The TOML parser's message (with line and column).
        reason: String,
    },
    /// A key holds a value that is wrong for it.
    Invalid {
        /// Dotted key, e.g. `http.listen`.
        key: String,
        /// Where the value came from: the file or an environment variable.
        origin: String,
        /// What was wrong.
        problem: String,
        /// The expected form, when one can be stated.
        expected: Option<String>,
    },
}

impl ConfigError {
    /// The dotted key at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { path, reason } => {
                write!(
                    f,
                    "cannot read configuration file {}: {reason}",
                    path.display()
                )
            }
            Self::Syntax { path, reason } => {
                write!(f, "configuration file {path} is not valid TOML: {reason}")
            }
            Self::Invalid {
                key,
                origin,
                problem,
                expected,
            } => {
                write!(f, "configuration key `{key}` ({origin}): {problem}")?;
                if let Some(e) = expected {
                    write!(f, "; expected {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// The expected form of each key, for messages. Keys not listed get none.
pub(super) fn expected_form(key: &str) -> Option<&'static str> {
    // `routes[3].did` → `routes.did`
    let key = match key.split_once('[') {
        Some((head, rest)) => format!("{head}{}", rest.split_once(']').map_or("", |(_, t)| t)),
        None => key.to_owned(),
    };
    Some(match key.as_str() {
        "routes.did" => "*, an exact DID (+15551234567 or 100) or a prefix ending in * (+1555*)",
        "routes.tenant" | "routes.agent" => "letters, digits, - and _ (at most 64)",
        "routes.language" => "a BCP 47 tag such as en-US",
        "events.path" => "a file path",
        "media.transport" | "routes.transport" => "rtp, audiosocket or websocket",
        "media.format" | "routes.format" => "ulaw, alaw, slin or slin16 (slin16 needs audiosocket)",
        "speech.stt" | "speech.tts" => "wyoming or fake",
        "auth.jwt_secret" => "a random string of at least 32 bytes",
        "auth.jwks_url" => {
            "the identity provider's JWKS URL, e.g. https://idp/realms/x/protocol/openid-connect/certs"
        }
        "auth.audience" => {
            "the aud your identity provider puts in tokens for this API, e.g. voice-gateway"
        }
        "auth.leeway" => "a whole number with a unit, e.g. 30s",
        "postgres.sslmode" => "disable, require or verify-full",
        "redis.ca_file" | "postgres.ca_file" => {
            "a PEM file of CA certificates, e.g. /etc/ssl/private-ca.pem"
        }
        "outbound.endpoint" => {
            "TECH/{number}@trunk or Local/{number}@context, e.g. PJSIP/{number}@trunk"
        }
        "speech.wyoming.stt" | "speech.wyoming.tts" => {
            "tcp://HOST:PORT, e.g. tcp://127.0.0.1:10300"
        }
        "speech.wyoming.voice" => "a Piper voice name, e.g. en_US-joe-medium",
        "orchestrator.url" => "an http:// or https:// URL",
        "telemetry.otlp.endpoint" => {
            "the collector's base URL, e.g. http://127.0.0.1:4318 (spans go to {endpoint}/v1/traces)"
        }
        "telemetry.otlp.sampling_ratio" => "a number from 0.0 to 1.0, e.g. 0.1",
        "telemetry.otlp.export_timeout" => "a duration from 100ms to 60s, e.g. 5s",
        "orchestrator.reply_timeout"
        | "orchestrator.connect_timeout"
        | "orchestrator.idle_timeout"
        | "session.silence_timeout"
        | "session.endpointing"
        | "session.endpointing_incomplete"
        | "session.max_turn"
        | "session.final_timeout"
        | "session.playback_drain_grace"
        | "session.transfer_ring_timeout"
        | "outbound.machine_detection.initial_silence"
        | "outbound.machine_detection.greeting_max"
        | "outbound.machine_detection.after_greeting_silence"
        | "outbound.machine_detection.decision_timeout"
        | "outbound.machine_detection.beep_timeout" => "a whole number with a unit: ms, s, m or h",
        "session.transfer_mode" => "blind or attended",
        "session.unknown_did_sound" => "sound:NAME, recording:NAME, tone:NAME or empty",
        "session.transfer_endpoints" => "NAME = \"TECH/resource\", e.g. agents = \"PJSIP/agents\"",
        "redis.url" => "redis://[user:password@]HOST:PORT/[DB], e.g. redis://127.0.0.1:6379/0",
        "redis.key_prefix" => "1-32 letters, digits, - _ or ., e.g. vg",
        "redis.gateway_instance" => "a name unique to this instance, e.g. gw-1",
        "kafka.brokers" => "HOST:PORT[,HOST:PORT...], e.g. 127.0.0.1:9092",
        "kafka.topic" => "1-249 letters, digits, - _ or ., e.g. voice.call-events",
        "kafka.spool_dir" => "a directory path, e.g. var/spool/kafka",
        "kafka.properties" => "librdkafka properties such as \"security.protocol\" = \"SASL_SSL\"",
        "kafka.spool_max_bytes" => "a whole number of bytes, at least 1048576",
        "postgres.url" => {
            "postgres://[user:password@]HOST:PORT/DB, e.g. postgres://vg@127.0.0.1:5432/vg"
        }
        "postgres.pool_size" => "a whole number from 1 to 64",
        "postgres.migrate" => "true or false",
        "redis.ended_ttl"
        | "redis.op_timeout"
        | "redis.retry_max"
        | "kafka.message_timeout"
        | "postgres.connect_timeout"
        | "postgres.refresh_interval"
        | "postgres.max_backoff" => "a whole number with a unit: ms, s, m or h, e.g. 5s",
        "tenant_manager.url" => {
            "an http(s) base URL without credentials, e.g. http://127.0.0.1:8090"
        }
        "tenant_manager.tenants" => "tenant ids, e.g. [\"acme\"]",
        "tenant_manager.token" => "a bearer token (visible ASCII, no spaces)",
        "tenant_manager.timeout" => "a whole number with a unit, from 1ms to 10s, e.g. 2s",
        "tenant_manager.cache_ttl" | "tenant_manager.negative_ttl" | "tenant_manager.stale_for" => {
            "a whole number with a unit: ms, s, m or h, e.g. 60s"
        }
        "tenant_manager.cool_down" => "a whole number with a unit, from 0s to 5m, e.g. 5s",
        "tenant_manager.cache_max_entries" => "a whole number, at least 100",
        "directory.chain" => {
            "a list of tenant_manager, postgres, routes, e.g. [\"tenant_manager\", \"routes\"]"
        }
        "http.listen" => "HOST:PORT, e.g. 127.0.0.1:8080",
        "ha.enabled" => {
            "true or false; true needs redis.url, redis.gateway_instance and ha.asterisk"
        }
        "ha.asterisk" => {
            "1-64 characters from A-Z a-z 0-9 . _ -, the same on every instance of one Asterisk, e.g. pbx-1"
        }
        "ha.advertise_url" => {
            "this instance's API base as the other instances reach it, http(s)://HOST:PORT, e.g. http://10.0.0.5:8080"
        }
        "ha.lease_ttl" => "a whole number with a unit, from 1s to 60s, e.g. 3s",
        "ha.resume_text" => "a sentence of 1-500 characters, e.g. \"Sorry, where were we?\"",
        "ha.renew_every" => {
            "a whole number with a unit, at most a quarter of ha.lease_ttl, e.g. 500ms"
        }
        "ari.url" => {
            "an http:// or https:// URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088"
        }
        "ari.username" => "the ARI user of Asterisk's ari.conf",
        "ami.url" => "tcp://HOST[:PORT] of Asterisk's manager, e.g. tcp://127.0.0.1:5038",
        "ami.username" => "the manager user of Asterisk's manager.conf",
        "ami.timeout" => "a whole number with a unit: ms, s, m or h, e.g. 5s",
        "ari.app" => "1-64 characters from A-Z a-z 0-9 . _ -",
        "ari.reconnect_max_delay"
        | "ari.request_timeout"
        | "ari.reclaim_after"
        | "lifecycle.drain_deadline" => "a whole number with a unit: ms, s, m or h, e.g. 30s",
        "media.bind_address" | "media.advertise_address" => "an IP address, e.g. 127.0.0.1",
        "media.jitter_min_delay" | "media.jitter_max_delay" => {
            "a whole number with a unit, e.g. 0ms or 200ms (min <= max <= 1s)"
        }
        "media.vad_onset" => "20ms, 40ms, ... up to 200ms (whole 20 ms frames)",
        "media.rtp_port_range" => "START-END with 1 <= START <= END <= 65535, e.g. 20000-29999",
        "log.level" => "a tracing filter such as info, debug or info,voice_gateway=debug",
        "log.format" => "json or pretty",
        _ => return None,
    })
}
