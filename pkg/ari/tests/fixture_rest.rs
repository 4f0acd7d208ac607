//! Every JSON body Asterisk returned in the recorded REST traffic parses into its
//! model and serialises back unchanged; every error body parses into `ErrorBody`.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod common;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vg_ari::*;

fn check<T: DeserializeOwned + Serialize>(body: &Value) -> Result<(), String> {
    let parsed: T = serde_path_to_error::deserialize(body.clone())
        .map_err(|e| format!("at {}: {}", e.path(), e.inner()))?;
    let back = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    if &back != body {
        return Err(format!("round trip changed the body:\n{back}"));
    }
    Ok(())
}

type Checker = fn(&Value) -> Result<(), String>;

/// The model of a successful response, chosen from the method and the path as the
/// Swagger describes them.
fn model_for(method: &str, path: &str) -> Option<(&'static str, Checker)> {
    let segs: Vec<&str> = path.trim_start_matches("/ari/").split('/').collect();
    let m = |name, f: Checker| Some((name, f));
    match (method, segs.as_slice()) {
        ("GET", ["channels"]) => m("List[Channel]", check::<Vec<Channel>>),
        ("POST", ["channels"] | ["channels", _] | ["channels", _, "snoop", ..])
        | ("GET", ["channels", _]) => m("Channel", check::<Channel>),
        (
            "GET",
            ["channels" | "bridges" | "asterisk", _, "variable"] | ["asterisk", "variable"],
        ) => m("Variable", check::<Variable>),
        ("GET", ["channels", _, "rtp_statistics"]) => m("RTPstat", check::<RtpStat>),
        ("POST", ["channels" | "bridges", _, "play", ..]) | ("GET", ["playbacks", _]) => {
            m("Playback", check::<Playback>)
        }
        ("POST", ["channels" | "bridges", _, "record"]) | ("GET", ["recordings", "live", _]) => {
            m("LiveRecording", check::<LiveRecording>)
        }
        ("GET", ["bridges"]) => m("List[Bridge]", check::<Vec<Bridge>>),
        ("POST", ["bridges"] | ["bridges", _]) | ("GET", ["bridges", _]) => {
            m("Bridge", check::<Bridge>)
        }
        ("GET", ["applications"]) => m("List[Application]", check::<Vec<Application>>),
        ("GET", ["applications", _]) | ("POST" | "DELETE", ["applications", _, "subscription"]) => {
            m("Application", check::<Application>)
        }
        ("GET", ["endpoints"] | ["endpoints", _]) => m("List[Endpoint]", check::<Vec<Endpoint>>),
        ("GET", ["endpoints", _, _]) => m("Endpoint", check::<Endpoint>),
        ("GET", ["sounds"]) => m("List[Sound]", check::<Vec<Sound>>),
        ("GET", ["sounds", _]) => m("Sound", check::<Sound>),
        ("GET", ["asterisk", "info"]) => m("AsteriskInfo", check::<AsteriskInfo>),
        ("GET", ["asterisk", "ping"]) => m("AsteriskPing", check::<AsteriskPing>),
        _ => None,
    }
}

#[test]
fn every_rest_response_body_parses_into_its_model() {
    let mut successes = 0;
    let mut errors = 0;
    let mut models = std::collections::BTreeSet::new();
    for fixture in common::load_fixtures() {
        for step in fixture.steps.iter().filter(|s| s["kind"] == "http") {
            let method = step["request"]["method"].as_str().unwrap();
            let path = step["request"]["path"].as_str().unwrap();
            let status = step["response"]["status"].as_u64().unwrap();
            let body = &step["response"]["body"];
            let at = format!("{}: {method} {path} -> {status}", fixture.name);
            if (200..300).contains(&status) {
                if body.is_null() {
                    assert!(status == 204 || status == 200, "{at}: empty body");
                    continue;
                }
                let (name, check) =
                    model_for(method, path).unwrap_or_else(|| panic!("{at}: no model for {body}"));
                check(body).unwrap_or_else(|e| panic!("{at}: not a {name}: {e}"));
                models.insert(name);
                successes += 1;
            } else {
                let parsed: ErrorBody = serde_json::from_value(body.clone())
                    .unwrap_or_else(|e| panic!("{at}: error body {body}: {e}"));
                assert!(
                    parsed.text().is_some_and(|t| !t.is_empty()),
                    "{at}: no text"
                );
                errors += 1;
            }
        }
    }
    assert!(
        successes > 150 && errors > 50,
        "{successes} ok, {errors} errors"
    );
    for needed in [
        "Channel",
        "List[Channel]",
        "Bridge",
        "Playback",
        "Variable",
        "Application",
        "AsteriskInfo",
        "AsteriskPing",
        "Endpoint",
        "RTPstat",
    ] {
        assert!(models.contains(needed), "no {needed} body in the fixtures");
    }
}

#[test]
fn allocation_failure_body_uses_the_error_key() {
    let body: ErrorBody = serde_json::from_str(r#"{"error":"Allocation failed"}"#).unwrap();
    assert_eq!(body.text(), Some("Allocation failed"));
    assert_eq!(body.message, None);
}

#[test]
fn external_media_channelvars_are_reachable() {
    let fixtures = common::load_fixtures();
    let em: Vec<Channel> = fixtures
        .iter()
        .flat_map(|f| &f.steps)
        .filter(|s| s["request"]["path"] == "/ari/channels/externalMedia")
        .filter(|s| s["response"]["status"] == 200)
        .map(|s| serde_json::from_value(s["response"]["body"].clone()).unwrap())
        .collect();
    assert!(
        em.iter()
            .any(|c| c.channelvar("UNICASTRTP_LOCAL_PORT").is_some())
    );
    assert!(
        em.iter()
            .any(|c| c.channelvar("AUDIOSOCKET_UUID").is_some())
    );
    assert!(
        em.iter()
            .any(|c| c.channelvar("MEDIA_WEBSOCKET_CONNECTION_ID").is_some())
    );
}
