//! Attended transfers and unrouted calls, on the paused clock: the person's
//! leg is driven by hand through `SessionCommand::TransferLeg`.

use crate::harness::{Call, Options, start};
use ari::events::DialStatus;
use std::time::Duration;
use voice_gateway::{
    application::{
        ports::calls::TransferMode,
        session::{SessionCommand, SessionConfig, TransferLegEvent},
    },
    domain::{TransferTarget, call::EndReason},
};

const CALLER: &str = "1795241008.163";

fn attended() -> Options {
    Options {
        config: SessionConfig {
            transfer_mode: TransferMode::Attended,
            transfer_endpoints: [("agents".to_string(), "PJSIP/agents".to_string())].into(),
            transfer_ring_timeout: Duration::from_secs(20),
            ..SessionConfig::default()
        },
        ..Options::default()
    }
}

/// The caller asks for a person after the greeting; returns once the
/// person's phone rings.
async fn ask_for_a_person(call: &Call) {
    call.stt.expect_utterances(["can I talk to a person"]);
    call.until_event("tts.generated").await;
    call.speak(Duration::from_millis(800)).await;
    call.until(
        |c| c.telephony.count("originate PJSIP/agents") == 1,
        "the person dialled",
    )
    .await;
}

async fn leg(call: &Call, event: TransferLegEvent) {
    call.commands
        .send(SessionCommand::TransferLeg(event))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_person_is_connected_once_the_agent_has_finished_its_sentence() {
    let mut call = start(attended());
    ask_for_a_person(&call).await;
    // Dialled while the agent still speaks; it answers at once.
    assert!(
        call.media.log.lock().unwrap().drained < 2,
        "sentence still playing"
    );
    leg(&call, TransferLegEvent::Dial(DialStatus::Answer)).await;
    leg(&call, TransferLegEvent::Answered).await;
    call.until_event("call.transferred").await;
    assert_eq!(
        call.media.log.lock().unwrap().drained,
        2,
        "greeting and sentence played out first"
    );
    let ops = call.telephony.ops();
    let joined = ops
        .iter()
        .position(|o| o.starts_with("add_to_bridge vg-b-") && o.contains(" vg-h-"))
        .expect("the person joined the bridge");
    let ai_left = ops
        .iter()
        .position(|o| o.starts_with("hangup vg-m-"))
        .expect("the AI's channel hung up");
    assert!(joined < ai_left, "{ops:?}");
    assert!(call.types().ends_with(&[
        "call.escalated".into(),
        "tts.generated".into(),
        "call.transferred".into(),
        "call.ended".into()
    ]));
    assert_eq!(call.data("call.ended")["reason"], "transferred");
    call.until(|c| c.media.log.lock().unwrap().closed == 1, "leg closed")
        .await;
    // The session keeps the bridge, but no media: its admission slot is free.
    call.until(|c| c.admission.live_calls() == 0, "slot given back")
        .await;

    // The person hangs up: the caller is hung up, everything released once.
    leg(&call, TransferLegEvent::Gone { cause: 16 }).await;
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::Transferred);
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 1);
    assert_eq!(call.telephony.count("hangup vg-h-"), 0, "already gone");
    assert_eq!(call.telephony.count("hangup vg-m-"), 1);
    assert_eq!(call.telephony.count("destroy_bridge"), 1);
    assert_eq!(call.count("call.ended"), 1);
    assert_eq!(call.admission.live_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_busy_person_brings_the_caller_back_to_the_agent() {
    let mut call = start(attended());
    ask_for_a_person(&call).await;
    leg(&call, TransferLegEvent::Dial(DialStatus::Busy)).await;
    leg(&call, TransferLegEvent::Gone { cause: 0 }).await;
    call.until(|c| c.count("call.escalated") == 2, "the failure reported")
        .await;
    let failed = call.data("call.escalated");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["outcome"], "busy");
    call.until(
        |c| {
            c.tts
                .log()
                .texts
                .iter()
                .any(|t| t.contains("nobody is available"))
        },
        "the agent says so",
    )
    .await;
    // The call goes on: another turn reaches the agent.
    call.until(|c| c.count("tts.generated") == 3, "the message played")
        .await;
    call.stt.expect_utterances(["what are your opening hours"]);
    call.speak(Duration::from_millis(800)).await;
    call.until(|c| c.count("stt.transcribed") == 2, "another turn")
        .await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    assert_eq!(call.ended().await.reason, EndReason::CallerHangup);
    assert_eq!(
        call.telephony.count("hangup vg-h-"),
        0,
        "the leg was gone already"
    );
}

#[tokio::test(start_paused = true)]
async fn a_person_who_never_answers_is_given_up_after_the_ring_timeout() {
    let call = start(attended());
    ask_for_a_person(&call).await;
    leg(&call, TransferLegEvent::Dial(DialStatus::Ringing)).await;
    // Asterisk says nothing (an event lost): the gateway's own deadline.
    call.until(|c| c.count("call.escalated") == 2, "given up")
        .await;
    assert_eq!(call.data("call.escalated")["outcome"], "no_answer");
    assert_eq!(call.telephony.count("hangup vg-h-"), 1, "the leg hung up");
}

#[tokio::test(start_paused = true)]
async fn a_caller_hanging_up_while_the_person_rings_takes_the_leg_down() {
    let mut call = start(attended());
    ask_for_a_person(&call).await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    assert_eq!(call.ended().await.reason, EndReason::CallerHangup);
    assert_eq!(call.telephony.count("hangup vg-h-"), 1);
    assert_eq!(call.telephony.count("destroy_bridge"), 1);
    assert_eq!(call.count("call.ended"), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_target_is_refused_aloud() {
    let call = start(attended());
    call.until_event("tts.generated").await;
    call.commands
        .send(SessionCommand::Transfer {
            target: TransferTarget::parse("sales").unwrap(),
            mode: TransferMode::Attended,
        })
        .await
        .unwrap();
    call.until(|c| c.count("call.escalated") == 2, "refused")
        .await;
    let failed = call.data("call.escalated");
    assert!(
        failed["error"].as_str().unwrap().contains("\"sales\""),
        "{failed}"
    );
    assert_eq!(call.telephony.count("originate"), 0, "nothing dialled");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_did_hears_the_message_before_the_hangup() {
    let mut call = start(Options {
        did: "100",
        ..Default::default()
    });
    call.until(|c| c.telephony.count("play") == 1, "the message played")
        .await;
    assert_eq!(
        call.telephony.ops()[..2],
        [
            format!("answer {CALLER}"),
            format!("play {CALLER} sound:ss-noservice")
        ]
    );
    assert_eq!(
        call.telephony.count(&format!("hangup {CALLER}")),
        0,
        "not before its end"
    );
    call.commands
        .send(SessionCommand::PlaybackFinished)
        .await
        .unwrap();
    assert_eq!(call.ended().await.reason, EndReason::UnknownDid);
    assert_eq!(
        call.types(),
        ["call.started", "call.answered", "call.ended"]
    );
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 1);
    assert_eq!(call.media.log.lock().unwrap().opened, 0);
}
