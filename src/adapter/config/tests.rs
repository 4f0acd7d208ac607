use super::*;
use std::{net::SocketAddr, path::Path, time::Duration};

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn invalid(text: &str, vars: &[(&str, &str)]) -> ConfigError {
    load_from_str(text, env(vars)).expect_err("configuration should be rejected")
}

#[test]
fn embedded_defaults_are_valid() {
    let c = load_from_str("", env(&[])).unwrap();
    assert_eq!(
        c.http.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.ari.url, "http://127.0.0.1:8088");
    assert_eq!(c.ari.app, "voice-gateway");
    assert_eq!(c.lifecycle.drain_deadline.0, Duration::from_secs(30));
    assert_eq!(c.log.format, LogFormat::Pretty);
    assert_eq!(c.media.transport, MediaTransport::Rtp);
    assert_eq!(c.routes.len(), 1, "a catch-all route to the built-in agent");
    assert_eq!(
        (c.routes[0].did.as_str(), c.routes[0].agent.as_str()),
        ("*", "builtin")
    );
}

#[test]
fn routes_from_the_file_replace_the_default() {
    let text = "[[routes]]\ndid = \"+15551234567\"\ntenant = \"acme\"\nagent = \"sales\"\ngreeting = \"Hi!\"\n\
                [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"support\"\nlanguage = \"es-US\"\n";
    let c = load_from_str(text, env(&[])).unwrap();
    assert_eq!(c.routes.len(), 2);
    assert_eq!(c.routes[0].greeting.as_deref(), Some("Hi!"));
    assert_eq!(c.routes[1].language, "es-US");
    assert_eq!(c.routes[0].language, "en-US");
}

#[test]
fn the_shipped_file_is_valid_and_documents_every_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/voice-gateway.toml");
    let text = std::fs::read_to_string(path).unwrap();
    load_from_str(&text, env(&[])).unwrap();
    // Every key of the effective configuration appears in the shipped file,
    // so the file stays the key-by-key reference.
    let defaults = toml::Value::try_from(Config::default()).unwrap();
    for (section, value) in defaults.as_table().unwrap() {
        let (header, table) = match value {
            toml::Value::Array(a) => (format!("[[{section}]]"), a[0].as_table().unwrap().clone()),
            v => (format!("[{section}]"), v.as_table().unwrap().clone()),
        };
        assert_documented(&text, &header, section, &table);
    }
}

/// `table`'s header and keys appear in `text`; sub-tables (`[speech.wyoming]`)
/// have their own header.
fn assert_documented(text: &str, header: &str, section: &str, table: &toml::Table) {
    assert!(text.contains(header), "section {header} undocumented");
    for (key, value) in table {
        match value {
            toml::Value::Table(sub) => {
                let name = format!("{section}.{key}");
                assert_documented(text, &format!("[{name}]"), &name, sub);
            }
            _ => assert!(
                text.contains(&format!("\n{key} =")),
                "key {section}.{key} undocumented"
            ),
        }
    }
}

#[test]
fn file_then_environment() {
    let text = "[http]\nlisten = \"127.0.0.1:9000\"\n[log]\nformat = \"json\"\n";
    let c = load_from_str(text, env(&[])).unwrap();
    assert_eq!(c.http.listen.port(), 9000);
    assert_eq!(c.limits.ended_calls_kept, 10_000);
    assert_eq!(c.media.pacing_priority, 10, "real-time pacing by default");
    assert_eq!(c.log.format, LogFormat::Json);

    let c = load_from_str(
        text,
        env(&[
            ("VOICEGW__HTTP__LISTEN", "127.0.0.1:9100"),
            ("VOICEGW__ARI__URL", "https://pbx.example:8089"),
            ("VOICEGW__ARI__PASSWORD", "1234"),
            ("VOICEGW__MEDIA__RTP_PORT_RANGE", "30000-30099"),
            ("VOICEGW__MEDIA__ADVERTISE_ADDRESS", "10.0.0.5"),
            ("VOICEGW__LIFECYCLE__DRAIN_DEADLINE", "500ms"),
            ("VOICEGW__LIMITS__ENDED_CALLS_KEPT", "250"),
        ]),
    )
    .unwrap();
    assert_eq!(c.limits.ended_calls_kept, 250);
    assert_eq!(c.http.listen.port(), 9100);
    assert_eq!(c.ari.url, "https://pbx.example:8089");
    assert_eq!(c.ari.password.expose(), "1234");
    assert_eq!(
        c.media.rtp_port_range,
        PortRange {
            start: 30000,
            end: 30099
        }
    );
    assert_eq!(c.media.advertised().to_string(), "10.0.0.5");
    assert_eq!(c.lifecycle.drain_deadline.0, Duration::from_millis(500));
}

#[test]
fn bad_listen_address_names_key_origin_and_form() {
    let e = invalid("[http]\nlisten = \"localhost\"\n", &[]);
    assert_eq!(e.key(), Some("http.listen"));
    let msg = e.to_string();
    assert!(
        msg.contains("from <inline>") && msg.contains("HOST:PORT"),
        "{msg}"
    );

    let e = invalid("", &[("VOICEGW__HTTP__LISTEN", "nope")]);
    assert_eq!(e.key(), Some("http.listen"));
    assert!(
        e.to_string().contains("set by VOICEGW__HTTP__LISTEN"),
        "{e}"
    );
}

/// (file text, environment, key at fault, words of the problem)
pub(super) type BadCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

#[test]
fn each_bad_value_is_rejected_with_its_key() {
    let cases: &[BadCase] = &[
        (
            "[http]\nlisen = \"x\"\n",
            &[],
            "http.lisen",
            "unknown field",
        ),
        ("[nope]\nx = 1\n", &[], "nope", "unknown field"),
        (
            "[session]\nfirst_clause_words = 51\n",
            &[],
            "session.first_clause_words",
            "use 0 (off) to 50",
        ),
        (
            "[dialing]\napi_allow = [\"+\"]\n",
            &[],
            "dialing.api_allow",
            "write \"*\" to allow every destination on purpose",
        ),
        (
            "[dialing]\ndeny = [\"44\"]\n",
            &[],
            "dialing.deny",
            "not a number prefix",
        ),
        (
            "[dialing.tenants.acme]\ncaller_ids = [\"+1 555\"]\n",
            &[],
            "dialing.tenants.acme.caller_ids",
            "not a number prefix",
        ),
        (
            "[dialing]\nrefused_transfer_text = \" \"\n",
            &[],
            "dialing.refused_transfer_text",
            "empty",
        ),
        (
            "[limits]\nmax_live_calls = 0\n",
            &[],
            "limits.max_live_calls",
            "at least 1",
        ),
        (
            "[limits]\nready_high_water_percent = 0\n",
            &[],
            "limits.ready_high_water_percent",
            "not a percentage",
        ),
        (
            "[limits]\nmax_live_calls = 10\n[limits.tenants.acme]\nmax_live_calls = 11\n",
            &[],
            "limits.tenants",
            "not between 1 and limits.max_live_calls",
        ),
        (
            "[ami]\nurl = \"http://127.0.0.1:5038\"\n",
            &[],
            "ami.url",
            "not a tcp://",
        ),
        (
            "[ami]\nurl = \"tcp://pbx:5038\"\nsecret = \"a\\r\\nAction: Originate\"\n",
            &[],
            "ami.secret",
            "line break",
        ),
        (
            "[ami]\nurl = \"tcp://pbx:5038\"\ntimeout = \"0s\"\n",
            &[],
            "ami.timeout",
            "greater than zero",
        ),
        (
            "[ami]\nurl = \"tcp://pbx:5038\"\nusername = \" \"\n",
            &[],
            "ami.username",
            "empty",
        ),
        (
            "[ari]\nurl = \"ftp://pbx\"\n",
            &[],
            "ari.url",
            "not an http",
        ),
        (
            "[ari]\nurl = \"http://\"\n",
            &[],
            "ari.url",
            "no usable host",
        ),
        (
            "[ari]\napp = \"my app; rm\"\n",
            &[],
            "ari.app",
            "not a valid Stasis",
        ),
        ("[ari]\nusername = \" \"\n", &[], "ari.username", "empty"),
        (
            "[ari]\nrequest_timeout = \"0s\"\n",
            &[],
            "ari.request_timeout",
            "greater than zero",
        ),
        (
            "[media]\nrtp_port_range = \"3000-2000\"\n",
            &[],
            "media.rtp_port_range",
            "above",
        ),
        (
            "[media]\nrtp_port_range = \"3000-3000\"\n",
            &[],
            "media.rtp_port_range",
            "fewer than 2",
        ),
        (
            "[media]\nvad_onset = \"30ms\"\n",
            &[],
            "media.vad_onset",
            "not a multiple of 20 ms",
        ),
        (
            "[media]\nvad_onset = \"0ms\"\n",
            &[],
            "media.vad_onset",
            "between 20 ms and 200 ms",
        ),
        (
            "[media]\nvad_onset = \"220ms\"\n",
            &[],
            "media.vad_onset",
            "between 20 ms and 200 ms",
        ),
        (
            "[media]\njitter_min_delay = \"300ms\"\n",
            &[],
            "media.jitter_min_delay",
            "above media.jitter_max_delay",
        ),
        (
            "[media]\njitter_max_delay = \"0ms\"\n",
            &[],
            "media.jitter_max_delay",
            "not between 1 ms and 1 s",
        ),
        (
            "[media]\njitter_max_delay = \"2s\"\n",
            &[],
            "media.jitter_max_delay",
            "not between 1 ms and 1 s",
        ),
        (
            "[media]\npacing_priority = 100\n",
            &[],
            "media.pacing_priority",
            "not 0 (not real-time) or a SCHED_FIFO priority from 1 to 99",
        ),
        (
            "[media]\npacing_priority = -1\n",
            &[],
            "media.pacing_priority",
            "",
        ),
        (
            "[media]\nformat = \"slin16\"\n",
            &[],
            "media.format",
            "drops slin16",
        ),
        (
            "[media]\ntransport = \"audiosocket\"\nformat = \"ulaw\"\n",
            &[],
            "media.format",
            "slin and slin16 only",
        ),
        (
            "[[routes]]\ndid = \"*\"\ntenant = \"a\"\nagent = \"b\"\ntransport = \"audiosocket\"\nformat = \"alaw\"\n",
            &[],
            "routes[0].format",
            "slin and slin16 only",
        ),
        (
            "[[routes]]\ndid = \"*\"\ntenant = \"a\"\nagent = \"b\"\nformat = \"slin16\"\n",
            &[],
            "routes[0].format",
            "drops slin16",
        ),
        (
            "[[routes]]\ndid = \"*\"\ntenant = \"a\"\nagent = \"b\"\non_start_failure = \"hangup\"\n",
            &[],
            "routes[0].on_start_failure",
            "neither \"apologise\" nor \"transfer:<target>\"",
        ),
        (
            "[[routes]]\ndid = \"*\"\ntenant = \"a\"\nagent = \"b\"\non_start_failure = \"transfer:\"\n",
            &[],
            "routes[0].on_start_failure",
            "\"transfer:\"",
        ),
        (
            "[ari]\nreclaim_after = \"500ms\"\n",
            &[],
            "ari.reclaim_after",
            "at least 1s",
        ),
        (
            "[media]\nbind_address = \"0.0.0.0\"\n",
            &[],
            "media.advertise_address",
            "must be set",
        ),
        (
            "[media]\nbind_address = \"my-host\"\n",
            &[],
            "media.bind_address",
            "invalid",
        ),
        (
            "[log]\nformat = \"xml\"\n",
            &[],
            "log.format",
            "unknown variant",
        ),
        (
            "[log]\nlevel = \"info,[[\"\n",
            &[],
            "log.level",
            "not a valid filter",
        ),
        (
            "[lifecycle]\ndrain_deadline = 30\n",
            &[],
            "lifecycle.drain_deadline",
            "invalid type",
        ),
        (
            "",
            &[("VOICEGW__LIFECYCLE__DRAIN_DEADLINE", "30")],
            "lifecycle.drain_deadline",
            "no unit",
        ),
        (
            "",
            &[("VOICEGW__LOG__FORMAT", "yaml")],
            "log.format",
            "unknown variant",
        ),
        (
            "",
            &[("VOICEGW__MEDIA__RTP_PORT_RANGE", "1-99999")],
            "media.rtp_port_range",
            "not a port",
        ),
        (
            "",
            &[("VOICEGW__HTTP__NOPE", "1")],
            "http.nope",
            "unknown field",
        ),
        (
            "[speech.wyoming]\nstt = \"127.0.0.1:10300\"\n",
            &[],
            "speech.wyoming.stt",
            "not tcp://HOST:PORT",
        ),
        (
            "",
            &[("VOICEGW__SPEECH__WYOMING__TTS", "tcp://:0")],
            "speech.wyoming.tts",
            "not tcp://HOST:PORT",
        ),
        (
            "[speech.wyoming]\nvoice = \"joe; rm\"\n",
            &[],
            "speech.wyoming.voice",
            "not a voice name",
        ),
        (
            "[speech]\nwyoming_stt = \"127.0.0.1:10300\"\n",
            &[],
            "speech.wyoming_stt",
            "unknown field",
        ),
        (
            "[speech]\nstt = \"whisper\"\n",
            &[],
            "speech.stt",
            "unknown variant",
        ),
        (
            "[speech.fake]\ntts_speedup = 0\n",
            &[],
            "speech.fake.tts_speedup",
            "at least 1",
        ),
        (
            "[speech.fake]\nstt_interim_every = \"0ms\"\n",
            &[],
            "speech.fake.stt_interim_every",
            "longer than zero",
        ),
        (
            "",
            &[("VOICEGW__SPEECH__FAKE__STT_FINAL_DELAY", "soon")],
            "speech.fake.stt_final_delay",
            "",
        ),
        (
            "[session]\nfinal_timeout = \"0s\"\n",
            &[],
            "session.final_timeout",
            "greater than zero",
        ),
        (
            "[session]\nplayback_drain_grace = \"200ms\"\n",
            &[],
            "session.playback_drain_grace",
            "shorter than 1s",
        ),
        (
            "[outbound]\nendpoint = \"PJSIP/trunk\"\n",
            &[],
            "outbound.endpoint",
            "holds 0 {number}; it must hold exactly one",
        ),
        (
            "[outbound]\nendpoint = \"{number}@trunk\"\n",
            &[],
            "outbound.endpoint",
            "does not start with a channel technology",
        ),
        (
            "",
            &[(
                "VOICEGW__OUTBOUND__ENDPOINT",
                "PJSIP/{number}@trunk&Local/x",
            )],
            "outbound.endpoint",
            "contains '&'",
        ),
        (
            "",
            &[("VOICEGW__WHAT__EVER", "1")],
            "what.ever",
            "no configuration section",
        ),
    ];
    for (text, vars, key, problem) in cases {
        let e = invalid(text, vars);
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("`{key}`")),
            "case {text:?} {vars:?}: wrong key in {msg}"
        );
        assert!(
            msg.contains(problem),
            "case {text:?} {vars:?}: expected {problem:?} in {msg}"
        );
    }
}

#[test]
fn syntax_errors_and_missing_files_are_reported() {
    let e = invalid("[http\nlisten = 1", &[]);
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    assert!(e.to_string().contains("not valid TOML"));

    let e = load(Some(Path::new("/nonexistent/voice-gateway.toml")), env(&[])).unwrap_err();
    assert!(matches!(e, ConfigError::Unreadable { .. }), "{e}");
}

#[test]
fn printing_the_effective_configuration_masks_secrets() {
    let c = load_from_str(
        "[ari]\npassword = \"s3cret-pw\"\n[ami]\nurl = \"tcp://pbx\"\nsecret = \"ami-s3cret\"\n",
        env(&[]),
    )
    .unwrap();
    let printed = toml::to_string(&c).unwrap();
    assert!(!printed.contains("s3cret-pw"));
    assert!(!printed.contains("ami-s3cret") && !format!("{c:?}").contains("ami-s3cret"));
    assert_eq!(c.ami.secret.expose(), "ami-s3cret");
    assert!(printed.contains("password = \"********\""));
    assert!(!format!("{c:?}").contains("s3cret-pw"));
}

#[test]
fn a_route_may_take_audiosocket_at_16_khz_while_the_instance_stays_on_rtp() {
    let c = load_from_str(
        "[[routes]]\ndid = \"+1555*\"\ntenant = \"a\"\nagent = \"b\"\ntransport = \"audiosocket\"\n",
        Vec::new(),
    )
    .unwrap();
    let (t, f) = (c.media.transport, c.media.wire_format());
    assert_eq!((t, f), (MediaTransport::Rtp, WireFormat::Ulaw));
    let r = &c.routes[0];
    assert_eq!(r.transport, Some(MediaTransport::Audiosocket));
    let route = crate::adapter::directory::StaticDirectory::new(&c.routes);
    let found = futures_util::FutureExt::now_or_never(
        crate::application::ports::directory::TenantDirectory::lookup(
            &route,
            &crate::domain::Did::parse("+15550001").unwrap(),
        ),
    )
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(
        found.media(t, f),
        (MediaTransport::Audiosocket, WireFormat::Slin16)
    );
}

#[test]
fn a_route_may_transfer_its_callers_at_a_start_failure() {
    let c = load_from_str(
        "[[routes]]\ndid = \"1*\"\ntenant = \"a\"\nagent = \"b\"\non_start_failure = \"transfer:200\"\n\
         [[routes]]\ndid = \"2*\"\ntenant = \"a\"\nagent = \"b\"\non_start_failure = \"apologise\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"a\"\nagent = \"b\"\n",
        Vec::new(),
    )
    .unwrap();
    let targets: Vec<Option<String>> = c
        .routes
        .iter()
        .map(|r| r.start_failure_target().unwrap().map(|t| t.to_string()))
        .collect();
    assert_eq!(targets, [Some("200".into()), None, None]);
}

#[test]
fn the_vad_onset_reaches_the_media_legs_in_whole_frames() {
    use crate::adapter::media::UdpMediaConfig;
    let default = load_from_str("", env(&[])).unwrap();
    let legs = UdpMediaConfig::from_media_config(&default.media);
    assert_eq!(legs.vad_timing.onset_frames, 2, "40 ms by default");
    let set = load_from_str("[media]\nvad_onset = \"100ms\"\n", env(&[])).unwrap();
    let legs = UdpMediaConfig::from_media_config(&set.media);
    assert_eq!(legs.vad_timing.onset_frames, 5);
}
