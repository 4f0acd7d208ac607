//! Attacks on the real Asterisk, one test per attack, named for it. (The
//! attacks that need no Asterisk are in `tests/attacks`.)

use crate::{
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    outbound::{ANSWERS, CALLEES},
    rig::{Rig, Setup},
};
use serde_json::json;
use vg_testkit::{Call, Caller, wait_until};

/// Two live calls at most; `/readyz` asks for no more from the first.
fn capped() -> Setup {
    Setup {
        extensions: CALLEES.into(),
        gateway: GatewayConfig {
            toml: format!(
                "[limits]\nmax_live_calls = 2\nready_high_water_percent = 50\n\
                 {ROUTES}greeting = \"Hi.\"\n"
            ),
            env: vec![(
                "VOICEGW__OUTBOUND__ENDPOINT".into(),
                "Local/{number}@vg-callee".into(),
            )],
        },
        ..Setup::default()
    }
}

/// The cause Asterisk logged when the inbound half of `call` hung up.
fn hangup_cause(rig: &Rig, call: &Call) -> Option<String> {
    let marker = format!("VG-IN-HANGUP {} ", call.inbound_id());
    let log = rig.ast.log_text();
    // The NOTICE line itself, not the verbose "Executing [h@vg-in:1] Log(…)".
    let line = log
        .lines()
        .find(|l| l.contains(&marker) && !l.contains("Executing"))?;
    Some(line[line.find(&marker)? + marker.len()..].trim().to_owned())
}

#[test]
fn an_inbound_flood_past_the_cap_is_refused_before_answer() {
    let rig = Rig::start_with(capped());
    let first = rig.ast.call(Caller::listen(DID)).unwrap();
    let a = rig.gw.nth_call(0, T);
    rig.gw.until_type("call.answered", Some(&a), T);
    assert!(
        wait_until(T, || rig.gw.get_text("/readyz").0 == 503),
        "/readyz stays 200 at the high-water mark"
    );
    let (_, ready) = rig.gw.get_text("/readyz");
    assert!(ready.contains("\"at_capacity\""), "{ready}");
    let second = rig.ast.call(Caller::listen(DID)).unwrap();
    let b = rig.gw.nth_call(1, T);
    rig.gw.until_type("call.answered", Some(&b), T);

    let flood: Vec<Call> = (0..5)
        .map(|_| rig.ast.call(Caller::listen(DID)).unwrap())
        .collect();
    for call in &flood {
        call.wait_ended(T).unwrap();
        assert!(
            wait_until(T, || hangup_cause(&rig, call).is_some()),
            "no hangup logged for {}",
            call.inbound_id()
        );
        assert_eq!(
            hangup_cause(&rig, call).as_deref(),
            Some("34"),
            "{} was not refused with cause congestion",
            call.inbound_id()
        );
    }
    // Nothing was spent on them: no call id, no answer, no events.
    let started = rig
        .gw
        .events()
        .iter()
        .filter(|e| e["type"] == "call.started")
        .count();
    assert_eq!(started, 2, "only the two admitted calls started");
    // An originate past the cap is a 503 the client may retry.
    let (status, problem) = rig
        .gw
        .http("POST", "/v1/calls", Some(json!({"to": ANSWERS})), true);
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("at-capacity")),
        "{problem}"
    );
    let (_, metrics) = rig.gw.get_text("/metrics");
    assert!(
        metrics.contains("voicegw_admission_refused_total{reason=\"instance_cap\"} 6"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("admission"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        first.is_up().unwrap() && second.is_up().unwrap(),
        "the admitted calls go on"
    );

    first.hangup().unwrap();
    second.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&a), T);
    rig.gw.until_type("call.ended", Some(&b), T);
    assert!(
        wait_until(T, || rig.gw.ready()),
        "/readyz never turned 200 again below the high-water mark"
    );
    // And calls are taken again.
    let again = rig.ast.call(Caller::listen(DID)).unwrap();
    let c = rig.gw.nth_call(2, T);
    rig.gw.until_type("call.answered", Some(&c), T);
    again.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&c), T);
    rig.finish();
}

#[test]
fn a_tenant_flood_takes_only_its_share() {
    let mut setup = capped();
    setup.gateway.toml = format!(
        "[limits]\nmax_live_calls = 10\n[limits.tenants.acme]\nmax_live_calls = 1\n\
         {ROUTES}greeting = \"Hi.\"\n[[routes]]\ndid = \"+15559*\"\ntenant = \"globex\"\n\
         agent = \"builtin\"\ngreeting = \"Hi.\"\n"
    );
    let rig = Rig::start_with(setup);
    let first = rig.ast.call(Caller::listen(DID)).unwrap();
    let a = rig.gw.nth_call(0, T);
    rig.gw.until_type("call.answered", Some(&a), T);
    let over = rig.ast.call(Caller::listen(DID)).unwrap();
    let refused = rig.gw.nth_call(1, T);
    let ended = rig.gw.until_type("call.ended", Some(&refused), T);
    assert_eq!(ended["data"]["reason"], "at_capacity", "{ended}");
    assert_eq!(ended["data"]["answered"], false, "{ended}");
    over.wait_ended(T).unwrap();
    assert!(wait_until(T, || hangup_cause(&rig, &over).is_some()));
    assert_eq!(hangup_cause(&rig, &over).as_deref(), Some("34"));
    // Another tenant still gets in.
    let other = rig.ast.call(Caller::listen("+15559000001")).unwrap();
    let g = rig.gw.nth_call(2, T);
    rig.gw.until_type("call.answered", Some(&g), T);
    for call in [&first, &other] {
        call.hangup().unwrap();
    }
    rig.gw.until_type("call.ended", Some(&a), T);
    rig.gw.until_type("call.ended", Some(&g), T);
    rig.finish();
}

#[test]
fn a_card_typed_on_the_keypad_leaves_no_trace_but_its_last_four() {
    const CARD: &str = "5105105105105100";
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: format!("{ROUTES}greeting = \"Hi.\"\n"),
            ..GatewayConfig::default()
        },
        ..Setup::default()
    });
    let call = rig
        .ast
        .call(Caller::dtmf(DID, CARD, std::time::Duration::from_secs(2)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_event("every key", T, |_| {
        rig.gw
            .events()
            .iter()
            .filter(|e| e["subject"] == id.as_str() && e["type"] == "call.dtmf")
            .count()
            == CARD.len()
    });
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let record = rig.gw.call_record(&id).to_string();
    let events: Vec<String> = rig.gw.events().iter().map(|e| e.to_string()).collect();
    let log = rig.gw.log();
    for w in (0..=CARD.len() - 6).map(|i| &CARD[i..i + 6]) {
        for line in events.iter().chain(&log).chain([&record]) {
            assert!(!line.contains(w), "{w} of the card in: {line}");
        }
    }
    assert!(
        events
            .iter()
            .filter(|e| e.contains("call.dtmf"))
            .all(|e| e.contains("\"masked\":true") && !e.contains("\"digit\"")),
        "{events:?}"
    );
    rig.finish();
}
