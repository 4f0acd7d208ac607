//! `[redis]`, `[kafka]`, `[postgres]`: defaults, the environment, masking and
//! each bad value named by its key.

use super::tests::{BadCase, env};
use super::*;
use std::time::Duration;

#[test]
fn unset_addresses_mean_the_embedded_defaults() {
    let c = load_from_str("", env(&[])).unwrap();
    assert!(c.redis.url.is_none());
    assert!(c.kafka.brokers.is_none());
    assert!(c.postgres.url.is_none());
    assert_eq!(c.kafka.topic, "voice.call-events");
    assert_eq!(c.redis.ended_ttl.0, Duration::from_secs(3600));
    assert!(c.postgres.migrate);
}

#[test]
fn ha_is_off_by_default_and_a_valid_section_loads() {
    let c = load_from_str("", env(&[])).unwrap();
    assert!(!c.ha.enabled);
    assert_eq!(c.ha.lease_ttl.0, Duration::from_secs(2));
    assert_eq!(c.ha.renew_every.0, Duration::from_millis(500));
    let c = load_from_str(
        "[ha]\nenabled = true\nasterisk = \"pbx-1\"\nadvertise_url = \"http://10.0.0.5:8080\"\nlease_ttl = \"4s\"\nrenew_every = \"1s\"\n\
         [redis]\nurl = \"redis://r:6379\"\ngateway_instance = \"gw-1\"\n",
        env(&[]),
    )
    .unwrap();
    assert!(c.ha.enabled);
    assert_eq!(c.ha.asterisk.as_deref(), Some("pbx-1"));
    assert_eq!(c.ha.lease_ttl.0, Duration::from_secs(4));
    assert_eq!(c.ha.advertise_url.as_deref(), Some("http://10.0.0.5:8080"));
}

#[test]
fn the_environment_sets_each_engine() {
    let c = load_from_str(
        "",
        env(&[
            ("VOICEGW__REDIS__URL", "redis://:r3dis-pw@10.0.0.2:6379/1"),
            ("VOICEGW__REDIS__GATEWAY_INSTANCE", "gw-7"),
            ("VOICEGW__KAFKA__BROKERS", "k1:9092,k2:9092"),
            ("VOICEGW__KAFKA__TOPIC", "acme.calls"),
            ("VOICEGW__KAFKA__SPOOL_DIR", "/data/spool"),
            ("VOICEGW__KAFKA__PROPERTIES__SASL_PASSWORD", "k4fka-pw"),
            ("VOICEGW__KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SASL_SSL"),
            ("VOICEGW__POSTGRES__URL", "postgres://vg:pg-pw@db:5432/vg"),
            ("VOICEGW__POSTGRES__POOL_SIZE", "8"),
            ("VOICEGW__POSTGRES__MIGRATE", "false"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.redis.url.as_ref().unwrap().expose(),
        "redis://:r3dis-pw@10.0.0.2:6379/1"
    );
    assert_eq!(c.redis.gateway_instance.as_deref(), Some("gw-7"));
    assert_eq!(c.kafka.brokers.as_deref(), Some("k1:9092,k2:9092"));
    assert_eq!(c.kafka.topic, "acme.calls");
    assert_eq!(c.kafka.spool_dir.to_str(), Some("/data/spool"));
    assert_eq!(
        c.kafka.librdkafka_properties(),
        [
            ("sasl.password".to_owned(), "k4fka-pw".to_owned()),
            ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
        ]
        .into()
    );
    assert_eq!(c.postgres.pool_size, 8);
    assert!(!c.postgres.migrate);

    // What check-config prints: which servers, never the passwords.
    let printed = toml::to_string(&c).unwrap();
    assert!(
        !printed.contains("r3dis-pw")
            && !printed.contains("pg-pw")
            && !printed.contains("k4fka-pw"),
        "{printed}"
    );
    assert!(
        printed.contains("security_protocol = \"SASL_SSL\""),
        "{printed}"
    );
    assert!(
        printed.contains("url = \"redis://:********@10.0.0.2:6379/1\""),
        "{printed}"
    );
    assert!(
        printed.contains("url = \"postgres://vg:********@db:5432/vg\""),
        "{printed}"
    );
    assert!(!format!("{c:?}").contains("pg-pw"));
}

#[test]
fn each_bad_value_is_rejected_with_its_key() {
    let cases: &[BadCase] = &[
        (
            "[redis]\nurl = \"http://r:6379\"\n",
            &[],
            "redis.url",
            "does not start with redis://",
        ),
        (
            "",
            &[("VOICEGW__REDIS__URL", "redis://")],
            "redis.url",
            "no usable host",
        ),
        (
            "[redis]\nkey_prefix = \"a:b\"\n",
            &[],
            "redis.key_prefix",
            "not 1-32",
        ),
        (
            "[redis]\ngateway_instance = \"gw:1\"\n",
            &[],
            "redis.gateway_instance",
            "not a usable",
        ),
        (
            "[redis]\nop_timeout = \"0ms\"\n",
            &[],
            "redis.op_timeout",
            "greater than zero",
        ),
        (
            "[redis]\nended_ttl = \"1 day\"\n",
            &[],
            "redis.ended_ttl",
            "unit",
        ),
        ("[redis]\nurl = 6379\n", &[], "redis.url", "invalid type"),
        (
            "",
            &[("VOICEGW__KAFKA__BROKERS", "")],
            "kafka.brokers",
            "is empty",
        ),
        (
            "[kafka]\nbrokers = \"k1:9092,k2\"\n",
            &[],
            "kafka.brokers",
            "\"k2\" is not HOST:PORT",
        ),
        (
            "[kafka]\nbrokers = \"k1:0\"\n",
            &[],
            "kafka.brokers",
            "not HOST:PORT",
        ),
        (
            "[kafka]\ntopic = \"voice events\"\n",
            &[],
            "kafka.topic",
            "not a Kafka topic",
        ),
        (
            "[kafka]\nspool_max_bytes = 1000\n",
            &[],
            "kafka.spool_max_bytes",
            "below 1 MiB",
        ),
        (
            "[kafka]\nspool_dir = \"\"\n",
            &[],
            "kafka.spool_dir",
            "is empty",
        ),
        (
            "[kafka]\nacks = \"1\"\n",
            &[],
            "kafka.acks",
            "unknown field",
        ),
        (
            "[kafka.properties]\n\"enable.idempotence\" = \"false\"\n",
            &[],
            "kafka.properties",
            "set by the gateway itself",
        ),
        (
            "[kafka.properties]\n\"Security Protocol\" = \"SSL\"\n",
            &[],
            "kafka.properties",
            "not a librdkafka property",
        ),
        (
            "[postgres]\nurl = \"mysql://db/x\"\n",
            &[],
            "postgres.url",
            "does not start with postgres://",
        ),
        (
            "[postgres]\nurl = \"postgres://db:notaport/x\"\n",
            &[],
            "postgres.url",
            "not usable",
        ),
        (
            "[postgres]\npool_size = 0\n",
            &[],
            "postgres.pool_size",
            "not between 1 and 64",
        ),
        (
            "[postgres]\nmigrate = \"yes\"\n",
            &[],
            "postgres.migrate",
            "invalid type",
        ),
        (
            "[postgres]\nrefresh_interval = \"0s\"\n",
            &[],
            "postgres.refresh_interval",
            "greater than zero",
        ),
        (
            "[postgres]\nurl = \"postgres://db/x?sslmode=require\"\n",
            &[],
            "postgres.url",
            "use postgres.sslmode",
        ),
        (
            "[postgres]\nsslmode = \"prefer\"\n",
            &[],
            "postgres.sslmode",
            "unknown variant",
        ),
        (
            "[postgres]\nsslmode = \"verify-full\"\nca_file = \"/nonexistent/ca.pem\"\n",
            &[],
            "postgres.ca_file",
            "/nonexistent/ca.pem",
        ),
        (
            "[postgres]\nsslmode = \"require\"\nca_file = \"/etc/hostname\"\n",
            &[],
            "postgres.ca_file",
            "\"verify-full\" only",
        ),
        (
            "[redis]\nurl = \"redis://r:6379\"\nca_file = \"/etc/hostname\"\n",
            &[],
            "redis.ca_file",
            "not rediss://",
        ),
        (
            "[redis]\nurl = \"rediss://r:6379\"\nca_file = \"/etc/hostname\"\n",
            &[],
            "redis.ca_file",
            "no PEM certificate",
        ),
        (
            "[kafka.properties]\n\"security.protocol\" = \"TLS\"\n",
            &[],
            "kafka.properties",
            "is not PLAINTEXT, SSL",
        ),
        (
            "[kafka.properties]\n\"sasl.mechanisms\" = \"GSSAPI\"\n",
            &[],
            "kafka.properties",
            "SCRAM-SHA-512",
        ),
        (
            "[kafka.properties]\n\"ssl.ca.location\" = \"/nonexistent/kafka-ca.pem\"\n",
            &[],
            "kafka.properties",
            "/nonexistent/kafka-ca.pem",
        ),
        (
            "[ha]\nenabled = true\n",
            &[],
            "ha.asterisk",
            "must be set when ha.enabled",
        ),
        (
            "[ha]\nenabled = true\nasterisk = \"pbx-1\"\n",
            &[],
            "ha.enabled",
            "needs redis.url",
        ),
        (
            "[ha]\nenabled = true\nasterisk = \"pbx-1\"\n[redis]\nurl = \"redis://r:6379\"\n",
            &[],
            "redis.gateway_instance",
            "each instance needs its own name",
        ),
        (
            "[ha]\nenabled = true\nasterisk = \"pbx-1\"\n[ari]\nreclaim_after = \"5s\"\n[redis]\nurl = \"redis://r:6379\"\ngateway_instance = \"gw-1\"\n",
            &[],
            "ari.reclaim_after",
            "cannot be used with ha.enabled",
        ),
        (
            "[ha]\nasterisk = \"pbx:1\"\n",
            &[],
            "ha.asterisk",
            "is not 1-64",
        ),
        (
            "[ha]\nasterisk = \"call\"\n",
            &[],
            "ha.asterisk",
            "nor call or idem",
        ),
        (
            "[ha]\nlease_ttl = \"500ms\"\n",
            &[],
            "ha.lease_ttl",
            "not between 1s and 60s",
        ),
        (
            "[ha]\nlease_ttl = \"2s\"\nrenew_every = \"1s\"\n",
            &[],
            "ha.renew_every",
            "a quarter of ha.lease_ttl",
        ),
        (
            "[ha]\nrenew_every = \"0s\"\n",
            &[],
            "ha.renew_every",
            "not between 1ms",
        ),
        (
            "[ha]\nadvertise_url = \"ftp://10.0.0.5:8080\"\n",
            &[],
            "ha.advertise_url",
            "not http:// or https://",
        ),
        (
            "[ha]\nadvertise_url = \"10.0.0.5:8080\"\n",
            &[],
            "ha.advertise_url",
            "is not a URL",
        ),
        (
            "[ha]\nadvertise_url = \"http://10.0.0.5:8080/v1\"\n",
            &[],
            "ha.advertise_url",
            "has a path",
        ),
        (
            "[ha]\nadvertise_url = \"http://u:p@10.0.0.5:8080\"\n",
            &[],
            "ha.advertise_url",
            "carries credentials",
        ),
        (
            "[ha]\nresume_text = \"  \"\n",
            &[],
            "ha.resume_text",
            "must be 1-500 characters",
        ),
        (
            "[ha]\nenabled = \"yes\"\n",
            &[],
            "ha.enabled",
            "invalid type",
        ),
        (
            "[auth]\njwks_url = \"http://idp/jwks\"\naudience = \"gw\"\n",
            &[],
            "auth.jwks_url",
            "not an https:// URL",
        ),
        (
            "[auth]\njwks_url = \"https://idp/jwks\"\n",
            &[],
            "auth.audience",
            "required with auth.jwks_url",
        ),
    ];
    for (text, vars, key, problem) in cases {
        let e = load_from_str(text, env(vars)).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.key(), Some(*key), "case {text:?} {vars:?}: {msg}");
        assert!(
            msg.contains(problem),
            "case {text:?} {vars:?}: expected {problem:?} in {msg}"
        );
        // The expected form is stated for every key of these sections.
        if *problem != "unknown field" {
            assert!(
                msg.contains("; expected "),
                "case {text:?}: no form in {msg}"
            );
        }
    }
}

#[test]
fn a_bad_url_is_reported_without_its_password() {
    let e = load_from_str(
        "[postgres]\nurl = \"postgresql://u:pg-pw@db:99999/x\"\n",
        env(&[]),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.key(), Some("postgres.url"), "{msg}");
    assert!(!msg.contains("pg-pw"), "{msg}");
}

#[test]
fn tenant_manager_keys_are_checked_and_its_token_never_printed() {
    const TM: &str = "[tenant_manager]\nurl = \"http://127.0.0.1:8090\"\ntenants = [\"acme\"]\n";
    let c = load_from_str(
        TM,
        env(&[("VOICEGW__TENANT_MANAGER__TOKEN", "tm-s3cret-token")]),
    )
    .unwrap();
    assert_eq!(
        c.tenant_manager.token.as_ref().unwrap().expose(),
        "tm-s3cret-token"
    );
    assert_eq!(
        c.directory.effective(true, false),
        [DirectorySource::TenantManager]
    );
    let printed = toml::to_string(&c).unwrap();
    assert!(!printed.contains("tm-s3cret"), "{printed}");
    let cases: &[BadCase] = &[
        (
            "[tenant_manager]\nurl = \"ftp://x\"\ntenants = [\"a\"]\n",
            &[],
            "tenant_manager.url",
            "not an http",
        ),
        (
            "[tenant_manager]\nurl = \"http://u:pw@x\"\ntenants = [\"a\"]\n",
            &[],
            "tenant_manager.url",
            "credentials",
        ),
        (
            "[tenant_manager]\nurl = \"http://x\"\n",
            &[],
            "tenant_manager.tenants",
            "is empty",
        ),
        (
            "[tenant_manager]\ntenants = [\"a b\"]\n",
            &[],
            "tenant_manager.tenants",
            "not a tenant id",
        ),
        (
            "[tenant_manager]\ntoken = \"a b\"\n",
            &[],
            "tenant_manager.token",
            "spaces",
        ),
        (
            "[tenant_manager]\ntimeout = \"0s\"\n",
            &[],
            "tenant_manager.timeout",
            "greater than zero",
        ),
        (
            "[tenant_manager]\ntimeout = \"30s\"\n",
            &[],
            "tenant_manager.timeout",
            "at most 10s",
        ),
        (
            "[tenant_manager]\nnegative_ttl = \"0s\"\n",
            &[],
            "tenant_manager.negative_ttl",
            "greater than zero",
        ),
        (
            "[tenant_manager]\ncache_max_entries = 5\n",
            &[],
            "tenant_manager.cache_max_entries",
            "at least 100",
        ),
        (
            "[directory]\nchain = [\"tenant_manager\"]\n",
            &[],
            "directory.chain",
            "tenant_manager.url is unset",
        ),
        (
            "[directory]\nchain = [\"postgres\"]\n",
            &[],
            "directory.chain",
            "postgres.url is unset",
        ),
        (
            "[directory]\nchain = [\"routes\", \"routes\"]\n",
            &[],
            "directory.chain",
            "named twice",
        ),
        (
            "[directory]\nchain = [\"ldap\"]\n",
            &[],
            "directory.chain[0]",
            "unknown variant",
        ),
    ];
    for (text, vars, key, problem) in cases {
        let e = load_from_str(text, env(vars)).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.key(), Some(*key), "case {text:?}: {msg}");
        assert!(
            msg.contains(problem),
            "case {text:?}: expected {problem:?} in {msg}"
        );
        assert!(!msg.contains("pw@"), "{msg}");
    }
}
