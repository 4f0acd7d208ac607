//! What a call leaves of the caller's secrets: a card number typed key by key
//! leaves only its last four digits in events and the history, a secure
//! route leaves none, and a tenant without transcripts publishes no text.

use crate::harness::{Call, Options, start};
use voice_gateway::application::session::SessionCommand;

const CARD: &str = "5105105105105100";

/// Every text the call left behind: its events' data and its history.
fn traces(call: &Call) -> String {
    let events = call.events.0.lock().unwrap();
    let mut all: Vec<String> = events.iter().map(|e| e.data.to_string()).collect();
    for record in call.history.records() {
        for t in &record.clone().masked().turns {
            all.extend(t.caller.clone());
            all.extend(t.agent.clone());
        }
    }
    all.join("\n")
}

/// Every six-key window of `keys`: none may appear anywhere.
fn windows(keys: &str) -> impl Iterator<Item = &str> {
    (0..=keys.len() - 6).map(move |i| &keys[i..i + 6])
}

async fn type_keys(call: &Call, keys: &str) {
    for key in keys.chars() {
        call.commands.send(SessionCommand::Dtmf(key)).await.unwrap();
    }
    let n = keys.len();
    call.until(|c| c.count("call.dtmf") == n, "every key reported")
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_card_typed_on_the_keypad_leaves_only_its_last_four() {
    let mut call = start(Options::default());
    call.until_event("tts.generated").await;
    type_keys(&call, CARD).await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    call.ended().await;
    let shown: String = call
        .events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.event_type.as_str() == "call.dtmf")
        .filter_map(|e| e.data["digit"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(shown, "", "no key in any call.dtmf");
    let traces = traces(&call);
    for w in windows(CARD) {
        assert!(!traces.contains(w), "{w} found in:\n{traces}");
    }
    let turns = &call.history.records()[0].turns;
    let keys: Vec<_> = turns
        .iter()
        .filter_map(|t| t.caller.as_deref())
        .filter(|c| c.starts_with("[DTMF"))
        .collect();
    assert_eq!(keys, ["[DTMF ************5100]"], "one entry for the run");
}

#[tokio::test(start_paused = true)]
async fn a_secure_route_keeps_every_key_out_of_events_and_history() {
    let mut call = start(Options {
        routes: "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
                 secure_dtmf = true\n",
        ..Options::default()
    });
    call.until_event("tts.generated").await;
    type_keys(&call, "1234#").await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    call.ended().await;
    let turns = &call.history.records()[0].turns;
    let keys: Vec<_> = turns
        .iter()
        .filter_map(|t| t.caller.as_deref())
        .filter(|c| c.starts_with("[DTMF"))
        .collect();
    assert_eq!(keys, ["[DTMF secure]"]);
    let events = call.events.0.lock().unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.event_type.as_str() == "call.dtmf")
            .all(|e| e.data.get("digit").is_none() && e.data["masked"] == true)
    );
}

#[tokio::test(start_paused = true)]
async fn a_tenant_without_transcripts_publishes_none() {
    let mut call = start(Options {
        routes: "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
                 store_transcripts = false\n",
        ..Options::default()
    });
    call.stt
        .expect_utterances(["my card is 5105 1051 0510 5100"]);
    call.until_event("tts.generated").await;
    call.speak(std::time::Duration::from_millis(800)).await;
    call.until_event("agent.responded").await;
    call.until(|c| c.count("tts.generated") == 2, "the answer said")
        .await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    call.ended().await;
    let events = call.events.0.lock().unwrap();
    for e in events.iter() {
        for field in ["text", "heard_text"] {
            if let Some(text) = e.data.get(field) {
                assert_eq!(
                    text, "",
                    "{} carries a transcript: {}",
                    e.event_type, e.data
                );
            }
        }
    }
    assert!(
        events
            .iter()
            .any(|e| e.event_type.as_str() == "stt.transcribed")
    );
}
