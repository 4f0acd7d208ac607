//! Takeover of live calls on the real Asterisk (`[ha]`), at the issue's
//! acceptance size and under faults: 20 callers mid-conversation when the
//! active instance is SIGKILLed, a kill while the agent speaks, the killed
//! instance started again during the takeover, and Redis restarted under a
//! live call. The gaps come from each caller's own recording.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::{Gateway, GatewayConfig, ROUTES},
    ha::{active, ha_config_timed, pair_in_timed, pair_timed, role},
    outbound::{ANSWERS, ANSWERS_LATE, RINGS, callee_heard, originate, outbound_setup},
    rig::{Rig, Setup},
};
use serde_json::{Value, json};
use std::{
    path::Path,
    time::{Duration, SystemTime},
};
use vg_testkit::{Call, Caller, RedisServer, wait_until, wav::Wav};

/// How long after the kill each caller must hear the agent again.
pub(crate) const AUDIO_BACK: Duration = Duration::from_secs(3);
/// The lease these tests run with: a standby can take it only once it
/// expired, up to `LEASE_TTL` after the kill, and tries every `RENEW`; with
/// the re-attach that must fit in [`AUDIO_BACK`] (the default 3 s ttl
/// cannot: measured 3.14-3.16 s for 5 calls).
pub(crate) const LEASE_TTL: &str = "2s";
pub(crate) const RENEW: &str = "500ms";
/// How long each caller's question lasts.
const QUESTION: Duration = Duration::from_millis(1200);

/// A one-word greeting and no reprompt while the test runs: every sound a
/// caller hears after the kill is the resume sentence or an answer.
pub(crate) fn conversation_config() -> GatewayConfig {
    GatewayConfig {
        toml: format!("{ROUTES}greeting = \"Hi.\"\n[session]\nsilence_timeout = \"60s\"\n"),
        ..GatewayConfig::default()
    }
}

/// One caller in conversation, as the test follows it.
pub(crate) struct Live {
    pub(crate) call: Call,
    pub(crate) id: String,
    /// When the gateway answered it: time 0 of its recording.
    pub(crate) answered: SystemTime,
}

impl Live {
    /// Where in the call (its recording's time) the wall-clock `at` falls.
    pub(crate) fn offset(&self, at: SystemTime) -> Duration {
        at.duration_since(self.answered).unwrap_or_default()
    }
}

/// Places `n` callers playing `said`, one at a time (so each call's id is
/// known), on `gw`, which has seen `before` calls; returns once each heard
/// its greeting.
pub(crate) fn place(rig: &Rig, gw: &Gateway, n: usize, said: &Path, before: usize) -> Vec<Live> {
    let placed: Vec<(Call, String)> = (0..n)
        .map(|i| {
            let caller = Caller::play(DID, said).max_duration(Duration::from_secs(600));
            let call = rig.ast.call(caller).unwrap();
            (call, gw.nth_call(before + i, T))
        })
        .collect();
    placed
        .into_iter()
        .map(|(call, id)| {
            gw.until_type("tts.generated", Some(&id), T);
            let answered = gw.until_type("call.answered", Some(&id), T);
            let answered = humantime::parse_rfc3339(answered["time"].as_str().unwrap()).unwrap();
            Live { call, id, answered }
        })
        .collect()
}

/// The first sound the caller heard after `at` (its recording's time).
pub(crate) fn back_after(heard: &Wav, at: Duration) -> Option<Duration> {
    sentences(heard)
        .iter()
        .find(|(start, _)| *start > at)
        .map(|(start, _)| *start)
}

/// Whether `gw` answered the call's turn: a `tts.generated` after its
/// first `stt.transcribed`.
pub(crate) fn turn_answered(gw: &Gateway, id: &str) -> bool {
    let types = gw.types_of(id);
    types
        .iter()
        .position(|t| t == "stt.transcribed")
        .is_some_and(|heard| types[heard..].iter().any(|t| t == "tts.generated"))
}

/// `call.ended` events of `id` in `events`.
pub(crate) fn ends_of(events: &[Value], id: &str) -> usize {
    events
        .iter()
        .filter(|e| e["subject"] == id && e["type"] == "call.ended")
        .count()
}

/// Media channels (`vg-m-`, `vg-n-`) in each call bridge on Asterisk, by bridge.
pub(crate) fn media_per_bridge(rig: &Rig) -> Vec<(String, usize)> {
    let bridges = rig.ast.ari_get("/bridges").unwrap_or_default();
    bridges
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    let media = b["channels"].as_array().map_or(0, |cs| {
                        cs.iter()
                            .filter_map(Value::as_str)
                            .filter(|c| c.starts_with("vg-m-") || c.starts_with("vg-n-"))
                            .count()
                    });
                    (b["id"].as_str().unwrap_or_default().to_owned(), media)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// p50 and the largest of `values` (seconds), sorted in place.
pub(crate) fn p50_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[values.len() - 1])
}

/// Waits until the record of each call, read through `gw` (from Redis),
/// says it is in conversation: what a takeover resumes.
pub(crate) fn stored_in_conversation(gw: &Gateway, calls: &[Live]) {
    for c in calls {
        let mut last = Value::Null;
        let stored = wait_until(T, || {
            last = gw.call_record(&c.id);
            last["state"] == "active"
        });
        assert!(stored, "call {}: record {last}", c.id);
    }
}

/// Hangs every caller up and waits for each call's `call.ended` on `gw`.
fn hang_up_all(gw: &Gateway, calls: &[Live]) {
    for c in calls {
        c.call.hangup().unwrap();
    }
    for c in calls {
        gw.until_type("call.ended", Some(&c.id), T);
    }
}

/// Five callers mid-conversation, SIGKILL of the active instance: see
/// [`live_calls_go_on_after_a_sigkill`].
#[test]
fn ha_five_live_calls_go_on_with_the_standby_after_a_sigkill() {
    live_calls_go_on_after_a_sigkill(5);
}

/// The acceptance line of issue 23 at its size, 20 calls: run by `make
/// test-ha` (it needs the machine to itself: 20 recorded calls load two
/// cores fully).
#[test]
#[ignore = "needs a quiet machine: make test-ha"]
fn ha_twenty_live_calls_go_on_with_the_standby_after_a_sigkill() {
    live_calls_go_on_after_a_sigkill(20);
}

/// Two instances, `n` callers mid-conversation, SIGKILL of the active one.
/// Every caller hears the agent again within 3 s of the kill (from its
/// recording), its next question is answered by the standby, and every
/// call ends with exactly one `call.ended` across both instances.
fn live_calls_go_on_after_a_sigkill(n: usize) {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair_timed(&redis, conversation_config(), LEASE_TTL, RENEW);
    // Placing the calls one at a time takes a few seconds; the question
    // comes well after the last one is answered and taken over.
    let speech_at = Duration::from_secs(10) + Duration::from_millis(600) * n as u32;
    let said = utterance(&rig.ast, "question", speech_at, QUESTION, T);
    let calls = place(&rig, &rig.gw, n, &said, 0);
    stored_in_conversation(&b, &calls);
    let a_events = rig.gw.events();
    rig.gw.kill();
    let killed = SystemTime::now();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let took = killed.elapsed().unwrap();
    for c in &calls {
        assert!(
            c.offset(killed) + AUDIO_BACK < speech_at,
            "the question must come after the takeover"
        );
        b.until_event("the answer to the caller's question", 2 * T, |_| {
            turn_answered(&b, &c.id)
        });
    }
    assert!(
        media_per_bridge(&rig).iter().all(|(_, m)| *m == 1),
        "one media channel per call: {:?}",
        media_per_bridge(&rig)
    );
    // Let the last answers play out to the recordings.
    std::thread::sleep(Duration::from_secs(2));
    hang_up_all(&b, &calls);
    let b_events = b.events();
    let mut gaps = Vec::new();
    for c in &calls {
        let ends = ends_of(&a_events, &c.id) + ends_of(&b_events, &c.id);
        assert_eq!(ends, 1, "call {}: {ends} call.ended", c.id);
        let heard = c.call.heard(T).unwrap();
        let at = c.offset(killed);
        let spans = sentences(&heard);
        let Some(back) = back_after(&heard, at) else {
            panic!(
                "call {}: nothing after the kill at {at:?}: {:?}",
                c.id,
                secs(&spans)
            );
        };
        // A sound that starts once the question began is the answer: the
        // resume sentence came right after the kill and no reprompt plays
        // (silence_timeout 60 s). Not "once it ended": on a loaded machine
        // the caller's recording runs some hundreds of ms behind its
        // playback, and an answer seen at the question's end was cut short
        // by the hangup, not early.
        assert!(
            spans.iter().any(|(s, _)| *s > speech_at),
            "call {}: the answer did not reach the caller: {:?}",
            c.id,
            secs(&spans)
        );
        gaps.push((back - at).as_secs_f64());
    }
    let listed: Vec<String> = gaps.iter().map(|g| format!("{g:.2}")).collect();
    let (p50, max) = p50_max(&mut gaps);
    eprintln!(
        "{n} calls taken over: standby active {took:?} after the SIGKILL; audio back after the \
         kill p50 {p50:.2} s, max {max:.2} s; per call {listed:?}"
    );
    assert!(
        max < AUDIO_BACK.as_secs_f64(),
        "audio back after {max:.2} s (p50 {p50:.2} s): {listed:?}"
    );
    rig.gw = b;
    rig.finish();
}

/// The active instance SIGKILLed while its agent speaks (a long greeting):
/// the caller's recording shows the sentence cut at the kill, then the
/// resume sentence (`ha.resume_text`, the standby's first words) within
/// 3 s, then the answer to the caller's question.
#[test]
fn ha_a_sigkill_while_the_agent_speaks_and_the_caller_hears_the_resume() {
    let redis = RedisServer::start().expect("redis-server starts");
    let greeting = "Hello and welcome. This is a long greeting that goes on for a while, \
                    so that the gateway is killed while the agent is still speaking to you.";
    let base = GatewayConfig {
        toml: format!("{ROUTES}greeting = \"{greeting}\"\n[session]\nsilence_timeout = \"60s\"\n"),
        ..GatewayConfig::default()
    };
    let (mut rig, b, _) = pair_timed(&redis, base, LEASE_TTL, RENEW);
    let speech_at = Duration::from_secs(14);
    let said = utterance(&rig.ast, "after-cut", speech_at, QUESTION, T);
    // Not `place`: `tts.generated` comes once the greeting has played out.
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let answered = rig.gw.until_type("call.answered", Some(&id), T);
    let answered = humantime::parse_rfc3339(answered["time"].as_str().unwrap()).unwrap();
    let calls = [Live { call, id, answered }];
    let c = &calls[0];
    stored_in_conversation(&b, &calls);
    // Into the greeting (about 9 s of the fake voice), then the kill.
    let into = Duration::from_secs(3).saturating_sub(c.offset(SystemTime::now()));
    std::thread::sleep(into);
    let a_events = rig.gw.events();
    rig.gw.kill();
    let killed = SystemTime::now();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let resumed = b.until_type("tts.generated", Some(&c.id), T);
    assert_eq!(
        resumed["data"]["text"], "Sorry, where were we?",
        "{resumed}"
    );
    b.until_event("the answer to the caller's question", T, |_| {
        turn_answered(&b, &c.id)
    });
    std::thread::sleep(Duration::from_secs(2));
    hang_up_all(&b, &calls);
    assert_eq!(ends_of(&a_events, &c.id) + ends_of(&b.events(), &c.id), 1);
    let heard = c.call.heard(T).unwrap();
    let at = c.offset(killed);
    // Gaps under 100 ms are within a sentence; the takeover's is longer.
    let spans = heard.spans(crate::audio::SOUND_DBFS, Duration::from_millis(100));
    let cut = spans
        .iter()
        .find(|(s, e)| *s < at && *e + Duration::from_millis(200) >= at);
    let Some((_, cut_end)) = cut else {
        panic!(
            "the agent was not speaking at the kill ({at:?}): {:?}",
            secs(&spans)
        );
    };
    // The resume sentence's words, merged.
    let resume = sentences(&heard).into_iter().find(|(s, _)| s > cut_end);
    let Some((back, back_end)) = resume else {
        panic!("nothing after the kill: {:?}", secs(&spans));
    };
    eprintln!(
        "killed at {:.2} s while the agent spoke (cut at {:.2} s); resume sentence {:.2}-{:.2} s: \
         audio back {:.2} s after the kill",
        at.as_secs_f64(),
        cut_end.as_secs_f64(),
        back.as_secs_f64(),
        back_end.as_secs_f64(),
        (back - at).as_secs_f64()
    );
    assert!(back - at < AUDIO_BACK, "{:?}", secs(&spans));
    // The fake voice speaks 60 ms a character: the 21 of the resume sentence.
    assert!(
        back_end - back > Duration::from_millis(900) && back_end < speech_at,
        "the resume sentence, before the caller spoke: {:?}",
        secs(&spans)
    );
    rig.gw = b;
    rig.finish();
}

/// The killed instance started again at once with the same configuration,
/// while the standby takes over: one of the two holds the lease (the other
/// stands by and touches no call), every call goes on with one media
/// channel in its bridge, its question answered, and ends with one
/// `call.ended` across all three processes.
#[test]
fn ha_the_old_active_restarted_during_the_takeover_stands_by_or_takes_over_alone() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair_timed(&redis, conversation_config(), LEASE_TTL, RENEW);
    let speech_at = Duration::from_secs(14);
    let said = utterance(&rig.ast, "after-restart", speech_at, QUESTION, T);
    let calls = place(&rig, &rig.gw, 3, &said, 0);
    stored_in_conversation(&b, &calls);
    let a_events = rig.gw.events();
    rig.gw.kill();
    let a_cfg = ha_config_timed(&conversation_config(), &redis, "gw-a", LEASE_TTL, RENEW);
    let again = Gateway::start(&rig.ast, &a_cfg);
    let holder = || match (active(&b), active(&again)) {
        (true, false) => Some(&b),
        (false, true) => Some(&again),
        _ => None,
    };
    assert!(wait_until(T, || holder().is_some()), "no single holder");
    let (gw, other) = if active(&b) {
        (&b, &again)
    } else {
        (&again, &b)
    };
    eprintln!("after the restart the holder is {}", gw.base);
    for c in &calls {
        gw.until_event("the answer to the caller's question", T, |_| {
            turn_answered(gw, &c.id)
        });
    }
    assert_eq!(
        role(other),
        (200, "standby".to_owned()),
        "the other stands by"
    );
    let per_bridge = media_per_bridge(&rig);
    assert!(
        per_bridge.len() == calls.len() && per_bridge.iter().all(|(_, m)| *m == 1),
        "one media channel per call: {per_bridge:?}"
    );
    hang_up_all(gw, &calls);
    let (gw_events, other_events) = (gw.events(), other.events());
    for c in &calls {
        let ends = ends_of(&a_events, &c.id) + ends_of(&gw_events, &c.id);
        assert_eq!(ends + ends_of(&other_events, &c.id), 1, "call {}", c.id);
        let ended = gw.until_type("call.ended", Some(&c.id), T);
        assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    }
    assert!(
        other_events.iter().all(|e| e["type"] != "call.ended"),
        "the instance standing by ended nothing"
    );
    drop(again);
    rig.gw = b;
    rig.finish();
}

/// Redis (a real redis-server, no persistence) killed and started again on
/// its port with a call live: no takeover (the standby never turns active),
/// the call goes on with the active instance, its question answered, and
/// it ends with one `call.ended`.
#[test]
fn ha_redis_restarted_under_a_live_call_takes_nothing_over() {
    let mut redis = RedisServer::start().expect("redis-server starts");
    let (rig, b, _) = pair_timed(&redis, conversation_config(), LEASE_TTL, RENEW);
    let speech_at = Duration::from_secs(12);
    let said = utterance(&rig.ast, "after-redis", speech_at, QUESTION, T);
    let calls = place(&rig, &rig.gw, 1, &said, 0);
    let c = &calls[0];
    stored_in_conversation(&b, &calls);
    let port = redis.port();
    redis.kill().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let _redis = RedisServer::start_on(port).expect("redis-server starts again");
    let mut roles = Vec::new();
    let answered = wait_until(T, || {
        roles.push(role(&b).1);
        turn_answered(&rig.gw, &c.id)
    });
    assert!(
        answered,
        "the question was not answered: {:?}",
        rig.gw.types_of(&c.id)
    );
    assert!(
        roles.iter().all(|r| r == "standby"),
        "the standby stayed standby: {roles:?}"
    );
    hang_up_all(&rig.gw, &calls);
    assert_eq!(ends_of(&rig.gw.events(), &c.id), 1);
    assert!(
        b.events().is_empty(),
        "the standby did nothing: {:?}",
        b.events()
    );
    let took: Vec<String> = b
        .log()
        .into_iter()
        .filter(|l| l.contains("\"to\":\"active\""))
        .collect();
    assert!(took.is_empty(), "the standby took the lease: {took:?}");
    drop(b);
    rig.finish();
}

/// One `[ha]` instance alone, SIGKILLed with calls up and started again
/// under the same name: once the lease expired it takes it back and
/// resumes the calls its earlier process left (not ends them, as a
/// gateway without `[ha]` does), each question answered, one `call.ended`.
#[test]
fn ha_an_instance_restarted_alone_resumes_its_own_calls() {
    let redis = RedisServer::start().expect("redis-server starts");
    let a_cfg = ha_config_timed(&conversation_config(), &redis, "gw-a", LEASE_TTL, RENEW);
    let mut rig = Rig::start_with(Setup {
        gateway: a_cfg.clone(),
        ..Setup::default()
    });
    assert!(
        wait_until(T, || active(&rig.gw)),
        "gw-a never became active"
    );
    let speech_at = Duration::from_secs(14);
    let said = utterance(&rig.ast, "after-own-restart", speech_at, QUESTION, T);
    let calls = place(&rig, &rig.gw, 2, &said, 0);
    stored_in_conversation(&rig.gw, &calls);
    let before = rig.gw.events();
    rig.gw.kill();
    rig.gw = Gateway::start(&rig.ast, &a_cfg);
    assert!(wait_until(T, || active(&rig.gw)), "never active again");
    for c in &calls {
        rig.gw
            .until_event("the answer to the caller's question", T, |_| {
                turn_answered(&rig.gw, &c.id)
            });
    }
    hang_up_all(&rig.gw, &calls);
    let after = rig.gw.events();
    for c in &calls {
        assert_eq!(ends_of(&before, &c.id) + ends_of(&after, &c.id), 1);
        let ended = rig.gw.until_type("call.ended", Some(&c.id), T);
        assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    }
    rig.finish();
}

/// An answered outbound call (placed through the API on the active
/// instance) in conversation when the active instance is SIGKILLed: the
/// standby takes it over with the tenant and agent of its request, the
/// callee hears the resume sentence within 3 s of the kill, the call keeps
/// its direction and the API client's metadata, and it ends once, by the
/// standby's API.
#[test]
fn ha_an_answered_outbound_call_goes_on_with_the_standby_after_a_sigkill() {
    let redis = RedisServer::start().expect("redis-server starts");
    let setup = outbound_setup("[session]\nsilence_timeout = \"60s\"\n");
    let (mut rig, b, _) = pair_in_timed(&redis, setup, LEASE_TTL, RENEW);
    let view = originate(
        &rig,
        json!({"to": ANSWERS, "agent_id": "builtin", "metadata": {"crm": "case-42"}}),
    );
    let id = view["call_id"].as_str().unwrap().to_owned();
    let answered = rig.gw.until_type("call.answered", Some(&id), T);
    let answered = humantime::parse_rfc3339(answered["time"].as_str().unwrap()).unwrap();
    // The greeting played out to the callee; the record says in conversation.
    rig.gw.until_type("tts.generated", Some(&id), T);
    let mut record = Value::Null;
    assert!(
        wait_until(T, || {
            record = b.call_record(&id);
            record["state"] == "active"
        }),
        "{record}"
    );
    let a_events = rig.gw.events();
    rig.gw.kill();
    let killed = SystemTime::now();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let resumed = b.until_type("tts.generated", Some(&id), T);
    assert_eq!(
        resumed["data"]["text"], "Sorry, where were we?",
        "{resumed}"
    );
    assert!(
        media_per_bridge(&rig).iter().all(|(_, m)| *m == 1),
        "one media channel in the call's bridge: {:?}",
        media_per_bridge(&rig)
    );
    let record = b.call_record(&id);
    assert_eq!(record["state"], "active", "{record}");
    assert_eq!(record["direction"], "outbound", "{record}");
    assert_eq!(record["metadata"]["crm"], "case-42", "{record}");
    // Let the resume sentence play out to the callee's recording.
    std::thread::sleep(Duration::from_secs(3));
    let (status, body) = b.http("POST", &format!("/v1/calls/{id}/hangup"), None, true);
    assert_eq!(status, 202, "{body}");
    let ended = b.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "agent_hangup", "{ended}");
    assert_eq!(ended["data"]["direction"], "outbound", "{ended}");
    assert_eq!(ends_of(&a_events, &id) + ends_of(&b.events(), &id), 1);
    let heard = callee_heard(&rig.ast);
    let at = killed.duration_since(answered).unwrap_or_default();
    let spans = sentences(&heard);
    let Some(back) = back_after(&heard, at) else {
        panic!(
            "the callee heard nothing after the kill at {at:?}: {:?}",
            secs(&spans)
        );
    };
    eprintln!(
        "outbound call taken over: killed at {:.2} s, the callee heard the agent again {:.2} s \
         after the kill",
        at.as_secs_f64(),
        (back - at).as_secs_f64()
    );
    assert!(back - at < AUDIO_BACK, "{:?}", secs(&spans));
    rig.gw = b;
    rig.finish();
}

/// Two outbound calls ringing out when the active instance that placed them
/// is SIGKILLed: the standby follows both on. The one the callee answers
/// after the takeover (6 s of ringing) is answered by the standby, whose
/// greeting the callee hears; the one never answered ends `no_answer` when
/// its ring timeout passes, not `gateway_restart`. Each call's events are
/// numbered on without a gap or a repeat across the two instances, and each
/// ends once.
#[test]
fn ha_outbound_calls_ringing_out_go_on_with_the_standby_after_a_sigkill() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair_in_timed(&redis, outbound_setup(""), LEASE_TTL, RENEW);
    let late = originate(
        &rig,
        json!({"to": ANSWERS_LATE, "agent_id": "builtin", "metadata": {"crm": "case-7"}}),
    );
    let never = originate(
        &rig,
        json!({"to": RINGS, "agent_id": "builtin", "ring_timeout_secs": 10}),
    );
    let ids = [late, never].map(|v| v["call_id"].as_str().unwrap().to_owned());
    for id in &ids {
        rig.gw.until_type("call.ringing", Some(id), T);
    }
    let a_events = rig.gw.events();
    rig.gw.kill();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let [late, never] = &ids;
    let answered = b.until_type("call.answered", Some(late), T);
    assert_eq!(answered["data"]["direction"], "outbound", "{answered}");
    b.until_type("tts.generated", Some(late), T);
    let record = b.call_record(late);
    assert_eq!(record["state"], "active", "{record}");
    assert_eq!(record["metadata"]["crm"], "case-7", "{record}");
    let ended = b.until_type("call.ended", Some(never), T);
    assert_eq!(ended["data"]["reason"], "no_answer", "{ended}");
    let (status, body) = b.http("POST", &format!("/v1/calls/{late}/hangup"), None, true);
    assert_eq!(status, 202, "{body}");
    b.until_type("call.ended", Some(late), T);
    let b_events = b.events();
    for id in &ids {
        assert_eq!(ends_of(&a_events, id) + ends_of(&b_events, id), 1, "{id}");
        let numbers: Vec<u64> = (a_events.iter().chain(&b_events))
            .filter(|e| e["subject"] == id.as_str())
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        assert_eq!(
            numbers, expected,
            "call {id}: event numbers across the takeover"
        );
    }
    let heard = callee_heard(&rig.ast);
    let spans = sentences(&heard);
    assert!(
        spans.iter().any(|(s, e)| *e - *s > Duration::from_secs(1)),
        "the callee heard the standby's greeting: {:?}",
        secs(&spans)
    );
    rig.gw = b;
    rig.finish();
}
