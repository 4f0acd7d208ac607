//! Two gateway processes on one real Asterisk and one Redis (`[ha]`): the
//! lease makes one active (it holds the Stasis app and takes the calls) and
//! the other standby (`/readyz` 200 with `"role":"standby"`, socket
//! closed); when the active dies the standby takes the app within the
//! lease's ttl, and a SIGTERM hands the lease over at once.

use crate::{
    calls::{DID, T, short_greeting},
    gateway::{Gateway, GatewayConfig},
    rig::{Rig, Setup},
};
use std::time::{Duration, Instant};
use vg_testkit::{Caller, RedisServer, wait_until};

pub(crate) const TTL: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_millis(500);

/// `[ha]` on `redis` as `instance`, with a lease of `ttl` renewed every `renew`.
pub(crate) fn ha_config_timed(
    base: &GatewayConfig,
    redis: &RedisServer,
    instance: &str,
    ttl: &str,
    renew: &str,
) -> GatewayConfig {
    let mut cfg = base.clone();
    cfg.env.extend(
        [
            ("VOICEGW__REDIS__URL", redis.url()),
            ("VOICEGW__REDIS__GATEWAY_INSTANCE", instance.to_owned()),
            ("VOICEGW__HA__ENABLED", "true".to_owned()),
            ("VOICEGW__HA__ASTERISK", "pbx-1".to_owned()),
            ("VOICEGW__HA__LEASE_TTL", ttl.to_owned()),
            ("VOICEGW__HA__RENEW_EVERY", renew.to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    cfg
}

/// The role `/readyz` reports, with its status code.
pub(crate) fn role(gw: &Gateway) -> (u16, String) {
    let (code, body) = gw.get_text("/readyz");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    (code, v["role"].as_str().unwrap_or("").to_owned())
}

pub(crate) fn active(gw: &Gateway) -> bool {
    role(gw) == (200, "active".to_owned())
}

/// A pair: `rig.gw` active (gw-a), the returned one standby (gw-b).
fn pair(redis: &RedisServer) -> (Rig, Gateway, GatewayConfig) {
    pair_with(redis, short_greeting().gateway, "500ms")
}

pub(crate) fn pair_with(
    redis: &RedisServer,
    base: GatewayConfig,
    renew: &str,
) -> (Rig, Gateway, GatewayConfig) {
    pair_timed(redis, base, "3s", renew)
}

/// A pair with a lease of `ttl`, renewed every `renew`.
pub(crate) fn pair_timed(
    redis: &RedisServer,
    base: GatewayConfig,
    ttl: &str,
    renew: &str,
) -> (Rig, Gateway, GatewayConfig) {
    let setup = Setup {
        gateway: base,
        ..Setup::default()
    };
    pair_in_timed(redis, setup, ttl, renew)
}

/// [`pair_with`] on a rig of `setup` (its dialplan, its gateway's config).
pub(crate) fn pair_in(
    redis: &RedisServer,
    setup: Setup,
    renew: &str,
) -> (Rig, Gateway, GatewayConfig) {
    pair_in_timed(redis, setup, "3s", renew)
}

/// [`pair_in`] with a lease of `ttl`.
pub(crate) fn pair_in_timed(
    redis: &RedisServer,
    setup: Setup,
    ttl: &str,
    renew: &str,
) -> (Rig, Gateway, GatewayConfig) {
    let base = setup.gateway.clone();
    let a = ha_config_timed(&base, redis, "gw-a", ttl, renew);
    let rig = Rig::start_with(Setup {
        gateway: a,
        ..setup
    });
    // A fresh Redis holds the lease back for one ttl (the grace after a
    // Redis that lost its data), then gw-a takes it.
    assert!(
        wait_until(T, || active(&rig.gw)),
        "gw-a never became active: {:?}",
        role(&rig.gw)
    );
    let b_cfg = ha_config_timed(&base, redis, "gw-b", ttl, renew);
    let b = Gateway::start(&rig.ast, &b_cfg);
    assert_eq!(
        role(&b),
        (200, "standby".to_owned()),
        "ready for the API, standby"
    );
    assert_eq!(
        b.metric("voicegw_ha_role{role=\"standby\"}"),
        1.0,
        "the role metric"
    );
    assert_eq!(rig.gw.metric("voicegw_ha_role{role=\"active\"}"), 1.0);
    (rig, b, b_cfg)
}

/// The `sequence` of call `id`'s events, on `a` then on `b` (the events
/// files outlive the processes).
fn sequence(a: &Gateway, b: &Gateway, id: &str) -> Vec<u64> {
    let numbers: Vec<u64> = (a.events().iter())
        .chain(b.events().iter())
        .filter(|e| e["subject"] == id)
        .map(|e| e["sequence"].as_u64().expect("every event numbered"))
        .collect();
    eprintln!("sequence of {id} across gw-a and gw-b: {numbers:?}");
    numbers
}

/// Places a call, waits for its greeting on `gw`, hangs up; returns its id.
fn one_call(rig: &Rig, gw: &Gateway) -> String {
    let before = gw
        .events()
        .iter()
        .filter(|e| e["type"] == "call.started")
        .count();
    let call = rig
        .ast
        .call(Caller::listen(DID).max_duration(Duration::from_secs(60)))
        .unwrap();
    let id = gw.nth_call(before, T);
    gw.until_type("tts.generated", Some(&id), T);
    call.hangup().unwrap();
    gw.until_type("call.ended", Some(&id), T);
    id
}

#[test]
fn ha_the_active_takes_the_calls_and_the_standby_takes_over_after_a_sigkill() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair(&redis);
    let first = one_call(&rig, &rig.gw);
    assert!(
        b.events().is_empty(),
        "the standby saw nothing of the call: {:?}",
        b.events()
    );
    assert_eq!(
        rig.gw
            .types_of(&first)
            .iter()
            .filter(|t| *t == "call.ended")
            .count(),
        1
    );

    rig.gw.kill();
    let killed = Instant::now();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let took = killed.elapsed();
    eprintln!("standby active {took:?} after the SIGKILL (lease ttl {TTL:?}, renew {RENEW:?})");
    // Expiry (at most the ttl after the last renewal) plus one try.
    assert!(took <= TTL + 2 * RENEW + Duration::from_secs(1), "{took:?}");
    assert!(b.metric("voicegw_ha_fencing_token") >= 2.0, "a newer token");
    let second = one_call(&rig, &b);
    assert_eq!(
        b.types_of(&second)
            .iter()
            .filter(|t| *t == "call.ended")
            .count(),
        1
    );
    rig.gw = b;
    rig.finish();
}

#[test]
fn ha_a_sigterm_hands_the_lease_to_the_standby_at_once() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair(&redis);
    let took = rig.gw.terminate().expect("SIGTERM ends the process");
    let exited = Instant::now();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let handover = exited.elapsed();
    eprintln!("SIGTERM: exited in {took:?}, standby active {handover:?} after the exit");
    // Released, not expired: the standby's next try (every 500 ms) takes it.
    assert!(
        handover < TTL,
        "{handover:?}: the lease expired rather than being released"
    );
    one_call(&rig, &b);
    rig.gw = b;
    rig.finish();
}

/// The active instance SIGKILLed mid-conversation: the standby takes the
/// lease, re-attaches the call's audio (new media channel into the call's
/// bridge), says `ha.resume_text`, and answers the caller's next turn; the
/// call ends once, with one `call.ended`, published by the standby.
#[test]
fn ha_a_call_goes_on_with_the_standby_after_the_active_is_sigkilled() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair(&redis);
    let speech_at = Duration::from_secs(14);
    let said = crate::audio::utterance(
        &rig.ast,
        "after-takeover",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(15),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    let answered = rig.gw.until_type("call.answered", Some(&id), T);
    let answered_at = humantime::parse_rfc3339(answered["time"].as_str().unwrap()).unwrap();
    // Let the greeting play out, then kill.
    std::thread::sleep(Duration::from_secs(2));
    let a_events = rig.gw.events();
    rig.gw.kill();
    let killed_at = std::time::SystemTime::now();
    let kill_offset = killed_at.duration_since(answered_at).unwrap();
    assert!(
        kill_offset < speech_at,
        "killed at {kill_offset:?}, after the caller spoke"
    );
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    // The standby resumes the call: it says the resume sentence, then
    // answers the caller's turn (a reprompt may come between).
    b.until_type("tts.generated", Some(&id), T);
    b.until_type("stt.transcribed", Some(&id), T);
    let spoken_after_turn = |b: &Gateway| {
        let types = b.types_of(&id);
        let heard = types.iter().position(|t| t == "stt.transcribed").unwrap();
        types[heard..]
            .iter()
            .filter(|t| *t == "tts.generated")
            .count()
    };
    b.until_event("the answer to the caller's turn", T, |_| {
        spoken_after_turn(&b) >= 1
    });
    // Let the answer play out to the caller's recording.
    std::thread::sleep(Duration::from_secs(2));
    call.hangup().unwrap();
    let ended = b.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let b_types = b.types_of(&id);
    assert!(!b_types.contains(&"call.started".to_owned()), "{b_types:?}");
    let ends = a_events
        .iter()
        .chain(b.events().iter())
        .filter(|e| e["subject"] == id.as_str() && e["type"] == "call.ended")
        .count();
    assert_eq!(ends, 1, "exactly one call.ended");
    // Its events go on numbering on the standby: after a SIGKILL a gap
    // (events that died with gw-a) is possible, a number used twice is not.
    let numbers = sequence(&rig.gw, &b, &id);
    assert_eq!(numbers.first(), Some(&1), "{numbers:?}");
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    let heard = call.heard(T).unwrap();
    let spans = crate::audio::sentences(&heard);
    let resumed = spans.iter().find(|(start, _)| *start > kill_offset);
    let Some((back, _)) = resumed else {
        panic!(
            "no audio after the kill at {kill_offset:?}: {:?}",
            crate::audio::secs(&spans)
        );
    };
    eprintln!(
        "killed at {:.2} s into the call; audio back at {:.2} s (gap {:.2} s); heard {:?}",
        kill_offset.as_secs_f64(),
        back.as_secs_f64(),
        (*back - kill_offset).as_secs_f64(),
        crate::audio::secs(&spans)
    );
    assert!(
        *back < speech_at,
        "the resume sentence came before the caller spoke"
    );
    assert!(
        spans
            .iter()
            .any(|(start, _)| *start > speech_at + Duration::from_millis(1200)),
        "the answer to the caller's turn reached the caller: {:?}",
        crate::audio::secs(&spans)
    );
    rig.gw = b;
    rig.finish();
}

/// A planned handover: SIGTERM to the active instance while its agent is
/// speaking, with a standby alive. The lease is released at once, the
/// standby takes the call over; the caller's recording shows the gap
/// between the cut sentence and the resume sentence under a second, and
/// the call ends once.
#[test]
fn ha_a_sigterm_hands_a_live_call_to_the_standby_with_a_short_gap() {
    let redis = RedisServer::start().expect("redis-server starts");
    let greeting = "Hello and welcome. This is a long greeting that goes on for a while, \
                    so that the handover happens while the agent is still speaking to you.";
    let base = GatewayConfig {
        toml: format!("{}greeting = \"{greeting}\"\n", crate::gateway::ROUTES),
        ..GatewayConfig::default()
    };
    let (mut rig, b, _) = pair_with(&redis, base, "250ms");
    let call = rig
        .ast
        .call(Caller::listen(DID).max_duration(Duration::from_secs(60)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    let answered = rig.gw.until_type("call.answered", Some(&id), T);
    let answered_at = humantime::parse_rfc3339(answered["time"].as_str().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let term_offset = std::time::SystemTime::now()
        .duration_since(answered_at)
        .unwrap();
    let a_events = rig.gw.events();
    let Some(took) = rig.gw.terminate() else {
        let log = rig.gw.log();
        panic!(
            "SIGTERM did not end the process: {:#?}",
            &log[log.len().saturating_sub(25)..]
        );
    };
    b.until_event("the resume sentence", T, |_| {
        b.types_of(&id).iter().any(|t| t == "tts.generated")
    });
    std::thread::sleep(Duration::from_secs(2));
    call.hangup().unwrap();
    b.until_type("call.ended", Some(&id), T);
    let ends = a_events
        .iter()
        .chain(b.events().iter())
        .filter(|e| e["subject"] == id.as_str() && e["type"] == "call.ended")
        .count();
    assert_eq!(ends, 1, "exactly one call.ended");
    // A planned handover loses no event: 1, 2, 3, … across both instances.
    let numbers = sequence(&rig.gw, &b, &id);
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
    let heard = call.heard(T).unwrap();
    // Gaps under 100 ms are within a sentence; the handover's is longer.
    let spans = heard.spans(crate::audio::SOUND_DBFS, Duration::from_millis(100));
    let cut = spans
        .iter()
        .find(|(s, e)| *s < term_offset && *e >= term_offset - Duration::from_millis(200));
    let Some((_, cut_end)) = cut else {
        panic!(
            "the agent was not speaking at the SIGTERM ({term_offset:?}): {:?}",
            crate::audio::secs(&spans)
        );
    };
    let back = spans.iter().find(|(s, _)| s > cut_end).map(|(s, _)| *s);
    let Some(back) = back else {
        panic!(
            "no audio after the handover: {:?}",
            crate::audio::secs(&spans)
        );
    };
    let gap = back - *cut_end;
    eprintln!(
        "SIGTERM at {:.2} s (exit after {took:?}): speech cut at {:.2} s, back at {:.2} s: gap {:.3} s",
        term_offset.as_secs_f64(),
        cut_end.as_secs_f64(),
        back.as_secs_f64(),
        gap.as_secs_f64()
    );
    assert!(
        gap < Duration::from_secs(1),
        "gap {gap:?}: {:?}",
        crate::audio::secs(&spans)
    );
    rig.gw = b;
    rig.finish();
}
