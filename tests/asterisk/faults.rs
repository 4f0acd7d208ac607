//! Faults between the gateway and a real Asterisk.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T, short_greeting},
    gateway::Gateway,
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::{
    Call, Caller,
    faults::{Scale, Tally},
    wait_until,
};

/// The events socket drops mid-call (cut between gateway and Asterisk): the
/// call goes on, its next turn is answered, and its hangup, seen after the
/// reconnect, ends it cleanly.
#[test]
fn the_events_socket_dropped_mid_call_and_the_call_goes_on() {
    let rig = Rig::start_with(Setup {
        relay: true,
        ..Setup::default()
    });
    let speech_at = Duration::from_secs(8);
    let said = utterance(
        &rig.ast,
        "after-drop",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    let connected = |rig: &Rig| {
        rig.gw
            .log()
            .iter()
            .filter(|l| l.contains("ARI events socket connected"))
            .count()
    };
    // The first connect may be logged before the start line, which the rig
    // reads past; count from what is kept.
    let before = connected(&rig);
    let cut = rig.relay.as_ref().unwrap().cut();
    assert!(cut >= 1, "the events socket went through the relay");
    assert!(
        wait_until(T, || connected(&rig) > before),
        "the gateway did not reconnect: {:?}",
        rig.gw.log().iter().rev().take(8).collect::<Vec<_>>()
    );
    // The caller's turn, spoken after the drop, is heard and answered.
    rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    assert!(
        spans.iter().any(|(start, _)| *start > speech_at),
        "the answer after the drop reached the caller: {:?}",
        secs(&spans)
    );
    rig.finish();
}

/// Asterisk answers each `POST /channels/externalMedia` only after the
/// gateway's ARI request timeout (1 s here), though it creates the channel
/// at once: what a loaded Asterisk did to a standby re-attaching 50 calls,
/// which lost every such call. The call goes on: the gateway waits for the
/// channel's `StasisStart`, latches onto its RTP, and the caller hears the
/// greeting and has a turn answered.
#[test]
fn an_external_media_answer_later_than_the_request_timeout_loses_no_call() {
    let mut setup = short_greeting();
    setup.relay = true;
    (setup.gateway.env).push(("VOICEGW__ARI__REQUEST_TIMEOUT".into(), "1s".into()));
    let rig = Rig::start_with(setup);
    let relay = rig.relay.as_ref().unwrap();
    relay.slow_external_media(Duration::from_millis(2500));
    let speech_at = Duration::from_secs(7);
    let said = utterance(
        &rig.ast,
        "after-late-media",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    assert_eq!(relay.slowed(), 1, "the externalMedia answer was held back");
    assert!(
        rig.gw
            .log()
            .iter()
            .any(|l| l.contains("externalMedia unanswered in time")),
        "the request timed out: {:?}",
        rig.gw.log().iter().rev().take(8).collect::<Vec<_>>()
    );
    rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let spans = sentences(&call.heard(T).unwrap());
    assert!(
        spans.iter().any(|(start, _)| *start < speech_at),
        "the greeting reached the caller: {:?}",
        secs(&spans)
    );
    assert!(
        spans.iter().any(|(start, _)| *start > speech_at),
        "the answer reached the caller: {:?}",
        secs(&spans)
    );
    rig.finish();
}

/// Answers after ringing three seconds, then sends silence until hung up.
const ANSWERS_LATE: &str = "+15550000004";

fn ringing_out_setup() -> Setup {
    let mut setup = crate::outbound::outbound_setup("");
    setup.extensions.push_str(
        "exten => +15550000004,1,Ringing()\n same => n,Wait(3)\n same => n,Answer()\n \
         same => n,Goto(vg-caller,silence,1)\n",
    );
    setup.relay = true;
    setup
}

/// Places an outbound call and waits until it rings; its id and channel.
fn ringing_call(rig: &Rig, to: &str) -> (String, String) {
    let (status, view) = rig.gw.http(
        "POST",
        "/v1/calls",
        Some(serde_json::json!({"to": to})),
        true,
    );
    assert_eq!(status, 201, "{view}");
    let id = view["call_id"].as_str().unwrap().to_owned();
    rig.gw.until_type("call.ringing", Some(&id), T);
    (id.clone(), format!("vg-o-{id}"))
}

fn live_calls(rig: &Rig) -> u64 {
    let (_, body) = rig.gw.get_text("/readyz");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["calls"]["live"].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn a_call_ringing_out_that_ended_while_the_events_were_away_ends_after_the_resync() {
    let rig = Rig::start_with(ringing_out_setup());
    let (id, channel) = ringing_call(&rig, crate::outbound::RINGS);
    let relay = rig.relay.as_ref().unwrap();
    relay.hold();
    // The far end gives up while the gateway hears nothing.
    rig.ast.ari_delete(&format!("/channels/{channel}")).unwrap();
    relay.release();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["answered"], false, "{ended}");
    assert!(
        wait_until(T, || live_calls(&rig) == 0),
        "its admission slot was given back"
    );
    rig.finish();
}

/// The callee answers while the gateway hears nothing. Asterisk 20.20.1 then
/// cannot put the channel into the app (its events socket is away) and hangs
/// it up; had it kept the channel, answered, the call would go on. Either
/// way the gateway must not keep a call "ringing" forever.
#[test]
fn a_call_ringing_out_that_answered_while_the_events_were_away_is_settled_after_the_resync() {
    let rig = Rig::start_with(ringing_out_setup());
    let (id, channel) = ringing_call(&rig, ANSWERS_LATE);
    let relay = rig.relay.as_ref().unwrap();
    relay.hold();
    let state = || {
        rig.ast
            .ari_get(&format!("/channels/{channel}"))
            .ok()
            .map(|c| c["state"].as_str().unwrap_or_default().to_owned())
    };
    assert!(
        wait_until(T, || state().is_none_or(|s| s == "Up")),
        "the callee never answered"
    );
    relay.release();
    // Seen "Up" is no promise: Asterisk may hang the channel up a moment
    // later, having failed to put it into the app. What the resync finds
    // decides, and both outcomes are right: answered, or ended.
    let of_call = |e: &serde_json::Value, types: &[&str]| {
        e["subject"] == id.as_str() && types.iter().any(|t| e["type"] == *t)
    };
    let settled = rig.gw.until_event("call.answered or call.ended", T, |e| {
        of_call(e, &["call.answered", "call.ended"])
    });
    if settled["type"] == "call.answered" {
        let next = rig.gw.until_event("the greeting or the end", T, |e| {
            of_call(e, &["tts.generated", "call.ended"])
        });
        if next["type"] == "tts.generated" {
            let (status, body) = rig
                .gw
                .http("POST", &format!("/v1/calls/{id}/hangup"), None, true);
            assert_eq!(status, 202, "{body}");
        }
    }
    rig.gw.until_type("call.ended", Some(&id), T);
    assert!(
        wait_until(T, || live_calls(&rig) == 0),
        "its admission slot was given back"
    );
    rig.finish();
}

#[test]
fn a_stasis_app_taken_over_turns_the_instance_away_at_once_and_lets_it_stop() {
    let mut rig = Rig::start_with(ringing_out_setup());
    let (id, _) = ringing_call(&rig, crate::outbound::RINGS);
    // Another connection takes the app over.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!(
        "{}&api_key={}:{}",
        rig.ast.ari_ws_url(rig.ast.stasis_app()),
        rig.ast.ari_user(),
        rig.ast.ari_password()
    );
    let _thief = runtime
        .block_on(tokio_tungstenite::connect_async(url))
        .expect("a second events socket");
    assert!(
        wait_until(T, || rig.gw.get_text("/readyz").0 == 503),
        "/readyz stays green: {:?}",
        rig.gw.log().iter().rev().take(10).collect::<Vec<_>>()
    );
    // The call ringing out cannot be followed: it ends, its channel is hung up.
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "channel_lost", "{ended}");
    // The API answers at once instead of hanging.
    let asked = std::time::Instant::now();
    let (status, problem) = rig.gw.http(
        "POST",
        "/v1/calls",
        Some(serde_json::json!({"to": crate::outbound::RINGS})),
        true,
    );
    assert_eq!(status, 503, "{problem}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let took = rig.gw.terminate().expect("SIGTERM ends the process");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// The orchestrator cannot be reached as a call starts: the caller hears the
/// apology, not silence and then a hangup.
#[test]
fn an_unreachable_orchestrator_at_the_start_is_apologised_for() {
    let mut setup = Setup::default();
    setup.gateway.env.push((
        "VOICEGW__ORCHESTRATOR__URL".into(),
        format!("http://127.0.0.1:{}", vg_testkit::free_port().unwrap()),
    ));
    let rig = Rig::start_with(setup);
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "error", "{ended}");
    call.wait_ended(T).unwrap();
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    // "Sorry, we can't take your call right now. ..." at the fake voice's
    // 60 ms a character: about 4.5 s of sound.
    assert!(
        spans
            .iter()
            .any(|(start, end)| *end - *start > Duration::from_secs(3)),
        "the caller heard {:?}",
        secs(&spans)
    );
    rig.finish();
}

/// ARI's HTTP side becomes unreachable for the gateway mid-call (the relay
/// refuses and cuts its connections; Asterisk and the call go on). With
/// `[ami]` set, an API hangup still ends the call on Asterisk, over the
/// manager interface, the gateway's own channels and bridge go too, and
/// `call.ended` is published.
#[test]
fn with_ari_unreachable_an_api_hangup_ends_the_call_over_ami() {
    let rig = Rig::start_with(Setup {
        relay: true,
        ami: true,
        ..Setup::default()
    });
    let call = rig
        .ast
        .call(Caller::listen(DID).max_duration(Duration::from_secs(90)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    let relay = rig.relay.as_ref().unwrap();
    relay.hold();
    let (status, body) = rig
        .gw
        .http("POST", &format!("/v1/calls/{id}/hangup"), None, true);
    assert_eq!(status, 202, "{body}");
    call.wait_ended(T)
        .expect("the caller's channel is gone from Asterisk");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["answered"], true, "{ended}");
    let (_, metrics) = rig.gw.get_text("/metrics");
    assert!(
        metrics.contains(r#"voicegw_ami_fallback_total{action="hangup",outcome="ok"}"#),
        "the hangup went over AMI: {}",
        metrics
            .lines()
            .filter(|l| l.contains("ami"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Asterisk is left empty while ARI is still away: no channel or bridge
    // of the call waited for ARI's return.
    rig.assert_asterisk_empty();
    relay.release();
    rig.finish();
}

/// Events of one listening call: started, answered, the greeting, ended
/// (a silence timeout of ten minutes: no reprompt comes in between).
const EVENTS_PER_CALL: u64 = 4;

/// The fault scenarios' setup: a one-word greeting and no reprompts.
fn faults_setup(relay: bool) -> Setup {
    let mut setup = short_greeting();
    setup
        .gateway
        .toml
        .push_str("[session]\nsilence_timeout = \"10m\"\n");
    setup.relay = relay;
    setup
}

/// Places `n` listening calls and waits until each heard its greeting
/// (`greeted` greetings were out before).
fn greeted_calls(rig: &Rig, n: usize, greeted: usize) -> Vec<Call> {
    let calls: Vec<Call> = (0..n)
        .map(|_| {
            rig.ast
                .call(Caller::listen(DID).max_duration(Duration::from_secs(120)))
                .unwrap()
        })
        .collect();
    let count = |t: &str| rig.gw.events().iter().filter(|e| e["type"] == t).count();
    assert!(
        wait_until(T, || count("tts.generated") >= greeted + n),
        "greetings: {}",
        count("tts.generated")
    );
    calls
}

/// One fault-free call first: it must publish exactly the events counted
/// per call. Returns its id, left out of the scenario's tally.
fn control_call(rig: &Rig) -> String {
    let calls = greeted_calls(rig, 1, 0);
    let id = rig.gw.nth_call(0, T);
    calls[0].hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(
        rig.gw.types_of(&id),
        [
            "call.started",
            "call.answered",
            "tts.generated",
            "call.ended"
        ]
    );
    assert_eq!(rig.gw.types_of(&id).len() as u64, EVENTS_PER_CALL);
    id
}

/// Waits until every call but the control one ended, then tallies them.
fn tally(rig: &Rig, control: &str, calls: usize) -> Tally {
    let ended = || {
        rig.gw
            .events()
            .iter()
            .filter(|e| e["type"] == "call.ended" && e["subject"] != control)
            .count()
    };
    wait_until(Duration::from_secs(45), || ended() >= calls);
    let mut tally = Tally::default();
    for e in rig.gw.events() {
        if e["subject"] != control {
            tally.add(&e);
        }
    }
    tally
}

/// `call.ended` reasons of the calls but the control one: `caller_hangup 3`.
fn reasons(rig: &Rig, control: &str) -> String {
    let mut out = std::collections::BTreeMap::<String, u32>::new();
    for e in rig.gw.events() {
        if e["type"] == "call.ended" && e["subject"] != control {
            *out.entry(e["data"]["reason"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
    }
    let parts: Vec<String> = out.iter().map(|(r, n)| format!("{r} {n}")).collect();
    parts.join(", ")
}

/// The events socket cut (small: 2, full: 10 times) during 10 calls (small:
/// 4), then ARI held out of reach while every caller hangs up: only the
/// resync after it returns can end the calls.
#[test]
fn real_events_socket_cut() {
    let scale = Scale::from_env();
    let (n, cuts) = (scale.pick(4, 10), scale.pick(2, 10));
    let rig = Rig::start_with(faults_setup(true));
    let control = control_call(&rig);
    let calls = greeted_calls(&rig, n, 1);
    let relay = rig.relay.as_ref().unwrap();
    for _ in 0..cuts {
        let connects = rig.gw.metric("voicegw_ari_connects_total");
        relay.cut();
        assert!(
            wait_until(T, || rig.gw.metric("voicegw_ari_connects_total") > connects),
            "no reconnect"
        );
    }
    relay.hold();
    for c in &calls {
        c.hangup().unwrap();
    }
    relay.release();
    let expected = n as u64 * EVENTS_PER_CALL;
    let outcome = tally(&rig, &control, n).outcome("real-events-socket-cut", n as u64, expected);
    let ends = reasons(&rig, &control);
    outcome
        .note(format!(
            "real Asterisk: {n} calls through {cuts} cuts of the events socket, then every \
             hangup while ARI was held out of reach (ended: {ends})"
        ))
        .check();
    rig.finish();
}

/// Asterisk restarted (`core restart now`) with 10 calls up (small: 4):
/// every call ends with `call.ended`, and a call after the restart goes
/// through.
#[test]
fn real_asterisk_restarted() {
    let scale = Scale::from_env();
    let n = scale.pick(4, 10);
    let mut rig = Rig::start_with(faults_setup(false));
    let control = control_call(&rig);
    let _calls = greeted_calls(&rig, n, 1);
    rig.ast.restart().unwrap();
    assert!(
        wait_until(T, || rig.gw.ready()),
        "the gateway did not come back"
    );
    let after = greeted_calls(&rig, 1, n + 1);
    after[0].hangup().unwrap();
    let expected = (n as u64 + 1) * EVENTS_PER_CALL;
    let outcome =
        tally(&rig, &control, n + 1).outcome("real-asterisk-restarted", n as u64 + 1, expected);
    let ends = reasons(&rig, &control);
    outcome
        .note(format!(
            "real Asterisk restarted with {n} calls up, then one more call (ended: {ends})"
        ))
        .check();
    rig.finish();
}

/// Another connection takes the Stasis app over with 10 calls up (small:
/// 4): `/readyz` turns red; the callers' hangups go to the other
/// connection, yet every call ends with `call.ended`, its channels and
/// bridge released.
#[test]
fn real_application_replaced() {
    let scale = Scale::from_env();
    let n = scale.pick(4, 10);
    let rig = Rig::start_with(faults_setup(false));
    let control = control_call(&rig);
    let calls = greeted_calls(&rig, n, 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!(
        "{}&api_key={}:{}",
        rig.ast.ari_ws_url(rig.ast.stasis_app()),
        rig.ast.ari_user(),
        rig.ast.ari_password()
    );
    let _thief = runtime
        .block_on(tokio_tungstenite::connect_async(url))
        .expect("a second events socket");
    assert!(
        wait_until(T, || rig.gw.get_text("/readyz").0 == 503),
        "/readyz stays green"
    );
    for c in &calls {
        c.hangup().unwrap();
    }
    let expected = n as u64 * EVENTS_PER_CALL;
    let outcome = tally(&rig, &control, n).outcome("real-application-replaced", n as u64, expected);
    let ends = reasons(&rig, &control);
    assert_eq!(rig.gw.get_text("/readyz").0, 503, "/readyz stays red");
    outcome
        .note(format!(
            "real Asterisk: a second events socket took the app with {n} calls up; /readyz red, \
             the hangups unheard, every call ended (ended: {ends})"
        ))
        .check();
    rig.finish();
}

/// The gateway SIGKILLed with 10 calls up (small: 3) and started again as
/// the same instance (its Redis live index names the calls): the new process
/// hangs the callers up, ends every call with `call.ended` (reason
/// `gateway_restart`) and leaves no channel or bridge on Asterisk.
#[test]
fn real_gateway_sigkill_live_calls() {
    let n = Scale::from_env().pick(3, 10);
    let redis = vg_testkit::RedisServer::start().expect("redis-server starts");
    let mut setup = faults_setup(false);
    setup.gateway.env.extend([
        ("VOICEGW__REDIS__URL".to_owned(), redis.url()),
        (
            "VOICEGW__REDIS__GATEWAY_INSTANCE".to_owned(),
            "gw-real".to_owned(),
        ),
    ]);
    let mut rig = Rig::start_with(setup.clone());
    let control = control_call(&rig);
    let calls = greeted_calls(&rig, n, 1);
    rig.gw.kill();
    let before = rig.gw.events();
    rig.gw = Gateway::start(&rig.ast, &setup.gateway);
    for c in &calls {
        c.wait_ended(T)
            .expect("the new process hangs the caller up");
    }
    let ended = || {
        let events = rig.gw.events();
        events.iter().filter(|e| e["type"] == "call.ended").count()
    };
    wait_until(T, || ended() >= n);
    let mut tally = Tally::default();
    for e in before.iter().chain(&rig.gw.events()) {
        if e["subject"] != control {
            tally.add(e);
        }
    }
    let expected = n as u64 * EVENTS_PER_CALL;
    let outcome = tally.outcome("real-gateway-sigkill-live-calls", n as u64, expected);
    let ends = reasons(&rig, &control);
    assert_eq!(ends, format!("gateway_restart {n}"));
    outcome
        .note(format!(
            "real Asterisk: the gateway SIGKILLed with {n} calls up, started again as the same \
             instance: it hung the callers up and ended every call (ended: {ends}), Asterisk \
             left empty"
        ))
        .check();
    rig.finish();
}

/// The orchestrator cannot be reached as a call starts, on a route that
/// says `on_start_failure = "transfer:200"`: the caller is sent on into the
/// transfer context instead of hearing the apology.
#[test]
fn an_unreachable_orchestrator_at_the_start_transfers_the_caller_where_the_route_says() {
    let mut setup = Setup::default();
    setup.gateway.toml = "[[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
                          on_start_failure = \"transfer:200\"\n\
                          [session]\ntransfer_context = \"vg-desk\"\n"
        .into();
    setup.extensions = "[vg-desk]\nexten => 200,1,Log(NOTICE,VG-DESK ${CHANNEL})\n \
                        same => n,Answer()\n same => n,Playback(hello-world)\n same => n,Hangup()\n"
        .into();
    setup.gateway.env.push((
        "VOICEGW__ORCHESTRATOR__URL".into(),
        format!("http://127.0.0.1:{}", vg_testkit::free_port().unwrap()),
    ));
    let rig = Rig::start_with(setup);
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let transferred = rig.gw.until_type("call.transferred", Some(&id), T);
    assert_eq!(transferred["data"]["target"], "200", "{transferred}");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    let line = format!("VG-DESK Local/{DID}@vg-in-");
    assert!(
        wait_until(T, || rig.ast.log_text().contains(&line)),
        "no {line:?} in Asterisk's log"
    );
    call.wait_ended(T).unwrap();
    // hello-world (about 1.2 s), not the 4.5 s apology.
    let spans = sentences(&call.heard(T).unwrap());
    assert!(
        spans
            .iter()
            .all(|(start, end)| *end - *start < Duration::from_secs(3)),
        "the caller heard {:?}",
        secs(&spans)
    );
    assert!(!rig.gw.types_of(&id).contains(&"tts.generated".to_owned()));
    rig.finish();
}

/// Milliseconds the Asterisk's lease has left in Redis (`PTTL`).
fn lease_left(redis: &vg_testkit::RedisServer) -> Duration {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let ms: i64 = redis::cmd("PTTL")
        .arg("vg:ha:pbx-1:lease")
        .query(&mut conn)
        .unwrap();
    Duration::from_millis(ms.max(0) as u64)
}

/// p50 and p99 (nearest rank) of `v`, sorted in place.
fn p50_p99(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (rank(0.50), rank(0.99))
}

/// One SIGKILL of the holder in the takeover scenario.
struct Kill {
    at: std::time::SystemTime,
    /// When the lease expired (its `PTTL` read just before the kill).
    expiry: std::time::SystemTime,
}

/// Takeover under repeated kills (issue 23): two `[ha]` instances, 5 live
/// calls (full: 50; `VG_HA_CALLS`), the active instance SIGKILLed 2 times
/// (full: 20; `VG_HA_KILLS`),
/// alternately gw-a and gw-b, each killed one started again as the new
/// standby. Every call must go on through every kill and end once; the
/// callers' recordings give the time from each lease expiry (and each
/// kill) to the agent's voice back.
#[test]
fn real_ha_takeover_kills() {
    use crate::{ha::*, ha_takeover::*};
    let scale = Scale::from_env();
    // VG_HA_CALLS / VG_HA_KILLS: other sizes, for a machine that cannot
    // carry 50 recorded calls.
    let size = |var: &str, small, full| {
        let set = std::env::var(var).ok().and_then(|v| v.parse().ok());
        set.unwrap_or(scale.pick(small, full))
    };
    let (n, kills): (usize, usize) = (size("VG_HA_CALLS", 5, 50), size("VG_HA_KILLS", 2, 20));
    let redis = vg_testkit::RedisServer::start().expect("redis-server starts");
    let base = conversation_config();
    let (mut rig, b, _) = pair_timed(&redis, base.clone(), LEASE_TTL, RENEW);
    let cfg = |name: &str| ha_config_timed(&base, &redis, name, LEASE_TTL, RENEW);
    let quiet = utterance(&rig.ast, "quiet", T, Duration::ZERO, T);
    let calls = place(&rig, &rig.gw, n, &quiet, 0);
    stored_in_conversation(&b, &calls);
    // rig.gw holds the lease, `standby` waits; `names` are theirs.
    let (mut standby, mut names) = (b, ("gw-a", "gw-b"));
    let mut events: Vec<serde_json::Value> = Vec::new();
    let mut done = Vec::new();
    for k in 0..kills {
        let left = lease_left(&redis);
        events.extend(rig.gw.events());
        rig.gw.kill();
        let at = std::time::SystemTime::now();
        done.push(Kill {
            at,
            expiry: at + left,
        });
        assert!(wait_until(T, || active(&standby)), "kill {k}: no takeover");
        for c in &calls {
            standby.until_event("the resume sentence", T, |_| {
                standby.types_of(&c.id).iter().any(|t| t == "tts.generated")
            });
        }
        assert!(
            wait_until(T, || media_per_bridge(&rig).iter().all(|(_, m)| *m == 1)),
            "kill {k}: media channels {:?}",
            media_per_bridge(&rig)
        );
        // The killed instance comes back as the standby.
        let again = Gateway::start(&rig.ast, &cfg(names.0));
        assert_eq!(role(&again).1, "standby", "kill {k}: restarted as standby");
        let killed = std::mem::replace(&mut rig.gw, std::mem::replace(&mut standby, again));
        drop(killed);
        names = (names.1, names.0);
    }
    for c in &calls {
        c.call.hangup().unwrap();
    }
    for c in &calls {
        rig.gw.until_type("call.ended", Some(&c.id), T);
    }
    events.extend(rig.gw.events());
    events.extend(standby.events());
    let mut tally = Tally::default();
    let (mut from_expiry, mut from_kill) = (Vec::new(), Vec::new());
    // Per kill, the callers whose recording has no sound after it.
    let mut silent = vec![0usize; done.len()];
    for c in &calls {
        let ends: Vec<_> = events
            .iter()
            .filter(|e| e["subject"] == c.id.as_str() && e["type"] == "call.ended")
            .collect();
        assert_eq!(ends.len(), 1, "call {}: {ends:?}", c.id);
        assert_eq!(ends[0]["data"]["reason"], "caller_hangup", "{}", ends[0]);
        let heard = c.call.heard(T).unwrap();
        for (k, kill) in done.iter().enumerate() {
            let Some(back) = back_after(&heard, c.offset(kill.at)) else {
                silent[k] += 1;
                continue;
            };
            from_kill.push((back - c.offset(kill.at)).as_secs_f64());
            from_expiry.push((back.saturating_sub(c.offset(kill.expiry))).as_secs_f64());
        }
    }
    for e in &events {
        tally.add(e);
    }
    let (e50, e99) = p50_p99(&mut from_expiry);
    let (k50, k99) = p50_p99(&mut from_kill);
    // Started, answered, the greeting, one resume sentence per kill, ended.
    let expected = n as u64 * (EVENTS_PER_CALL + kills as u64);
    let outcome = tally.outcome("real-ha-takeover-kills", n as u64, expected);
    let missing: usize = silent.iter().sum();
    outcome
        .note(format!(
            "real Asterisk, two [ha] instances (lease ttl {LEASE_TTL}, renew {RENEW}), {n} live \
             calls, {kills} SIGKILLs of the active instance alternating, each restarted as the \
             standby: lease expiry to audio back p50 {e50:.2} s, p99 {e99:.2} s; kill to audio \
             back p50 {k50:.2} s, p99 {k99:.2} s; over {} gaps; callers who heard nothing \
             after a kill, by kill: {silent:?}",
            from_kill.len()
        ))
        .check();
    assert_eq!(missing, 0, "a caller heard nothing after a kill");
    drop(standby);
    rig.finish();
}
