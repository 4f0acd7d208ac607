//! Answering-machine detection on the real Asterisk: outbound calls placed
//! with `detect_machine` to a recorded person ("Hello?", then waiting) and to
//! a recorded answering machine (a spoken greeting, then a 1 kHz beep). The
//! recordings are Piper's voice; the beep is a sine. Each callee is a
//! dialplan extension that answers, waits a moment as people do, plays its
//! recording, then sends silence while recording what it hears.

use super::support::{resample, synthesize};
use crate::{
    audio::{secs, sentences},
    calls::T,
    gateway::{GatewayConfig, ROUTES},
    rig::{Rig, Setup},
};
use serde_json::{Value, json};
use std::time::Duration;
use vg_testkit::{AsteriskServer, WyomingOptions, WyomingServers, wav};

const PERSON: &str = "+15550000011";
const MACHINE: &str = "+15550000012";
/// Answers and hangs up a second later, before any decision.
const GONE: &str = "+15550000013";

/// The callees: answer, play `amd-<who>` (0.8 s of silence first, as people
/// take a moment; played, not waited, so the recording's time line starts at
/// the answer: MixMonitor writes nothing while neither side sends audio),
/// then send silence and record what they hear
/// (`recordings/screen-<who>-<uniqueid>-rx.wav`).
const CALLEES: &str = r#"
[vg-callee]
exten => +15550000011,1,Set(WHO=person)
 same => n,Goto(screen,1)
exten => +15550000012,1,Set(WHO=machine)
 same => n,Goto(screen,1)
exten => +15550000013,1,Answer()
 same => n,Wait(1)
 same => n,Hangup()
exten => screen,1,Answer()
 same => n,Set(REC=${VG_SILENCE:0:-17}recordings/screen-${WHO}-${UNIQUEID})
 same => n,MixMonitor(${REC}.wav,r(${REC}-rx.wav))
 same => n,Playback(${VG_SILENCE:0:-10}amd-${WHO})
 same => n,Goto(vg-caller,silence,1)
"#;

/// Where the machine's beep ends, from the answer.
struct Recordings {
    machine_beep_end: Duration,
}

/// Speaks the two greetings with Piper into the sounds folder.
fn record_greetings(ast: &AsteriskServer, servers: &WyomingServers) -> Recordings {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let speak = |text: &str| {
        let s = runtime.block_on(synthesize(&servers.tts_uri(), text));
        resample(&s.pcm, s.rate, wav::RATE)
    };
    let pause = || wav::silence(Duration::from_millis(800), wav::RATE);
    let mut person = pause();
    person.extend(speak("Hello?"));
    wav::write(&ast.sounds_dir().join("amd-person.wav"), wav::RATE, &person).unwrap();
    let mut machine = pause();
    machine.extend(speak(
        "Hi, you have reached the voicemail of John Smith. I can't take your call \
         right now. Please leave your name and number after the tone.",
    ));
    machine.extend(wav::silence(Duration::from_millis(300), wav::RATE));
    machine.extend(wav::tone(
        1000.0,
        Duration::from_millis(500),
        wav::RATE,
        -12.0,
    ));
    let length = Duration::from_secs_f64(machine.len() as f64 / f64::from(wav::RATE));
    wav::write(
        &ast.sounds_dir().join("amd-machine.wav"),
        wav::RATE,
        &machine,
    )
    .unwrap();
    Recordings {
        machine_beep_end: length,
    }
}

fn originate(rig: &Rig, body: Value) -> String {
    let (status, view) = rig.gw.http("POST", "/v1/calls", Some(body), true);
    assert_eq!(status, 201, "{view}");
    view["call_id"].as_str().unwrap().to_owned()
}

#[test]
fn outbound_calls_tell_a_person_from_an_answering_machine() {
    let servers = WyomingServers::start_with(WyomingOptions::default()).unwrap();
    let rig = Rig::start_with(Setup {
        extensions: CALLEES.into(),
        gateway: GatewayConfig {
            toml: ROUTES.into(),
            env: vec![
                (
                    "VOICEGW__OUTBOUND__ENDPOINT".into(),
                    "Local/{number}@vg-callee".into(),
                ),
                ("VOICEGW__SPEECH__STT".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__TTS".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__WYOMING__STT".into(), servers.stt_uri()),
                ("VOICEGW__SPEECH__WYOMING__TTS".into(), servers.tts_uri()),
            ],
        },
        ..Setup::default()
    });
    let recordings = record_greetings(&rig.ast, &servers);

    // A person: "Hello?" and waiting. The agent's greeting follows.
    let person = originate(
        &rig,
        json!({"to": PERSON, "agent_id": "builtin", "detect_machine": true, "machine_action": "hangup"}),
    );
    let screened = rig.gw.until_type("call.screened", Some(&person), T);
    let data = &screened["data"];
    assert_eq!(data["answered_by"], "human", "{screened}");
    assert_eq!(data["reason"], "short_greeting", "{screened}");
    assert_eq!(data["action"], "converse", "{screened}");
    let person_ms = data["decision_ms"].as_u64().unwrap();
    rig.gw.until_type("tts.generated", Some(&person), T);
    assert_eq!(rig.gw.call_record(&person)["answered_by"], "human");
    let (status, body) = rig
        .gw
        .http("GET", &format!("/v1/calls/{person}"), None, true);
    assert_eq!(
        (status, &body["answered_by"]),
        (200, &json!("human")),
        "{body}"
    );
    rig.gw
        .http("POST", &format!("/v1/calls/{person}/hangup"), None, true);
    rig.gw.until_type("call.ended", Some(&person), T);

    // A machine, with a message to leave: spoken after the beep, then goodbye.
    let message = "This is Acme Dental reminding you of your appointment tomorrow at nine.";
    let machine = originate(
        &rig,
        json!({"to": MACHINE, "agent_id": "builtin", "detect_machine": true,
               "machine_action": "message", "machine_message": message}),
    );
    let screened = rig.gw.until_type("call.screened", Some(&machine), T);
    let data = &screened["data"];
    assert_eq!(data["answered_by"], "machine", "{screened}");
    assert_eq!(data["action"], "message", "{screened}");
    let machine_ms = data["decision_ms"].as_u64().unwrap();
    let machine_reason = data["reason"].as_str().unwrap().to_owned();
    let ended = rig
        .gw
        .until_type("call.ended", Some(&machine), Duration::from_secs(60));
    assert_eq!(ended["data"]["reason"], "answering_machine", "{ended}");
    let spoken = rig.gw.until_type("tts.generated", Some(&machine), T);
    assert_eq!(spoken["data"]["text"], message, "{spoken}");
    assert_eq!(rig.gw.call_record(&machine)["answered_by"], "machine");
    let heard = crate::audio::recorded_heard(&rig.ast, "screen-machine-", T);
    let spans = sentences(&heard);
    // The message, all of it after the beep (and none over the greeting).
    assert!(!spans.is_empty(), "the machine recorded nothing");
    let screening_log = || -> Vec<String> {
        rig.gw
            .log()
            .into_iter()
            .filter(|l| l.contains("tone heard") || l.contains("screened") || l.contains("beep"))
            .collect()
    };
    assert!(
        spans[0].0 + Duration::from_millis(100) >= recordings.machine_beep_end,
        "the message started at {:?}, the beep ended at {:?}: {:?}; {:#?}",
        spans[0].0,
        recordings.machine_beep_end,
        secs(&spans),
        screening_log()
    );
    // Started by the beep, not by `beep_timeout` (10 s after the decision).
    assert!(
        spans[0].0 < recordings.machine_beep_end + Duration::from_secs(3),
        "the message started at {:?}, long after the beep at {:?}",
        spans[0].0,
        recordings.machine_beep_end
    );
    assert!(
        !rig.gw.log().iter().any(|l| l.contains("no beep heard")),
        "the gateway missed the beep"
    );
    let said: Duration = spans.iter().map(|(a, b)| *b - *a).sum();
    assert!(said > Duration::from_secs(2), "{:?}", secs(&spans));

    // A machine, hung up on at once: nothing said.
    let hung_up = originate(
        &rig,
        json!({"to": MACHINE, "agent_id": "builtin", "detect_machine": true, "machine_action": "hangup"}),
    );
    let ended = rig.gw.until_type("call.ended", Some(&hung_up), T);
    assert_eq!(ended["data"]["reason"], "answering_machine", "{ended}");
    let types = rig.gw.types_of(&hung_up);
    assert!(!types.iter().any(|t| t == "tts.generated"), "{types:?}");

    // A callee who hangs up while being screened: the call ends, undecided.
    let gone = originate(
        &rig,
        json!({"to": GONE, "agent_id": "builtin", "detect_machine": true}),
    );
    let ended = rig.gw.until_type("call.ended", Some(&gone), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let types = rig.gw.types_of(&gone);
    assert!(!types.iter().any(|t| t == "call.screened"), "{types:?}");

    eprintln!(
        "real Asterisk, answering-machine detection: person decided in {person_ms} ms \
         (human, short_greeting); machine decided in {machine_ms} ms (machine, {machine_reason}); \
         beep ended {:?} after the answer, the message heard at {:?}",
        recordings.machine_beep_end,
        secs(&spans)
    );
    rig.assert_asterisk_empty();
    rig.finish();
}
