//! A call's turns (greeting, caller turns, barge-in, DTMF, silence, transfer,
//! unknown DID, setup failures), each against the same fakes.

use crate::harness::{Options, start};
use std::{sync::Arc, time::Duration};
use voice_gateway::domain::screening::OnMachine;
use voice_gateway::{
    adapter::orchestrator::{BuiltinAgent, OrchestratorConfig},
    application::{
        ports::orchestrator::{
            AgentOrchestrator, BoxFuture, Conversation, ConversationId, CreateConversation,
            OrchestratorError, ReplyStream, TransferTarget, Turn,
        },
        ports::speech::SttSampleRate,
        session::SessionCommand,
    },
    domain::call::EndReason,
};

const CALLER: &str = "1795241008.163";

#[tokio::test(start_paused = true)]
async fn greeting_then_a_turn_then_caller_hangup() {
    let mut call = start(Options::default());
    call.stt.expect_utterances(["what are your opening hours"]);
    call.until_event("tts.generated").await; // the greeting has been played out
    assert_eq!(
        call.types()[..3],
        ["call.started", "call.answered", "tts.generated"]
    );
    assert!(
        call.tts.log().texts[0].contains("built-in assistant"),
        "{:?}",
        call.tts.log().texts
    );
    assert_eq!(
        call.media.log.lock().unwrap().peer.unwrap().port(),
        40010,
        "RTP peer set from externalMedia"
    );
    assert!(
        !call.media.log.lock().unwrap().latch,
        "no latch: the peer is known"
    );
    assert_eq!(
        call.media.log.lock().unwrap().listens.last(),
        Some(&true),
        "the leg was told to push caller audio to the recogniser"
    );
    // µ-law on the wire: the recogniser hears 8 kHz, not an upsampled copy.
    assert_eq!(call.media.log.lock().unwrap().stt_rate, Some(8_000));
    assert_eq!(
        call.stt.log().last_config.map(|c| c.sample_rate),
        Some(SttSampleRate::Hz8000)
    );

    call.speak(Duration::from_millis(1200)).await;
    call.until(|c| c.count("tts.generated") == 2, "the reply played")
        .await;
    let said = call.data("stt.transcribed");
    assert_eq!(said["text"], "what are your opening hours");
    assert_eq!(said["turn"], 1);
    assert!(
        call.tts
            .log()
            .texts
            .iter()
            .any(|t| t.contains("You said: what are your opening hours"))
    );
    assert_eq!(call.data("agent.responded")["agent_id"], "builtin");

    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::CallerHangup);
    let end = call.data("call.ended");
    assert_eq!(end["reason"], "caller_hangup");
    assert_eq!(end["turns"], 1);
    let latency = &end["latency"][0];
    assert!(latency["total_ms"].as_f64().unwrap() > 0.0, "{end}");
    // The call's history record: the greeting turn, then the caller's turn with
    // the agent's answer and that turn's latency figures.
    let records = call.history.records();
    assert_eq!(records.len(), 1, "one record per call");
    let r = &records[0];
    assert_eq!(r.tenant.as_str(), "acme");
    assert_eq!(r.outcome(), "caller_hangup");
    assert_eq!(r.from.as_deref(), Some("+15557654321"));
    assert!(r.answered_at.is_some() && r.ended_at >= r.started_at);
    assert_eq!(r.turns.len(), 2, "{:?}", r.turns);
    assert_eq!(r.turns[0].caller, None);
    assert!(
        r.turns[0]
            .agent
            .as_deref()
            .unwrap()
            .contains("built-in assistant")
    );
    assert_eq!(
        r.turns[1].caller.as_deref(),
        Some("what are your opening hours")
    );
    assert!(
        r.turns[1]
            .agent
            .as_deref()
            .unwrap()
            .contains("You said: what are your opening hours"),
        "{:?}",
        r.turns[1]
    );
    assert!(!r.turns[1].interrupted);
    assert_eq!(r.turns[1].latency.total_ms, latency["total_ms"].as_f64());
    // Cleanup: media channel hung up and bridge destroyed once; the caller is
    // gone already, so not hung up; the leg closed; the permit released.
    assert_eq!(call.telephony.count("hangup vg-m-"), 1);
    assert_eq!(call.telephony.count("destroy_bridge"), 1);
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 0);
    call.until(|c| c.media.log.lock().unwrap().closed == 1, "leg closed")
        .await;
    assert_eq!(call.admission.live_calls(), 0);
    assert!(
        call.events
            .0
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.tenant_id.as_str() == "acme")
    );
}

#[tokio::test(start_paused = true)]
async fn barge_in_flushes_audio_and_tells_the_agent_what_was_heard() {
    let mut call = start(Options::default());
    call.stt.expect_utterances(["please hold on"]);
    // Talk over the greeting once its audio is playing.
    call.until(
        |c| c.media.log.lock().unwrap().played > Duration::from_secs(1),
        "greeting playing",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    call.speak(Duration::from_millis(600)).await;
    call.until_event("call.bargein").await;
    let log = call.media.log.lock().unwrap().clone();
    assert_eq!(log.flushes.len(), 1, "one flush");
    assert!(
        log.flushes[0].dropped > Duration::ZERO,
        "{:?}",
        log.flushes[0]
    );
    let b = call.data("call.bargein");
    assert_eq!(
        b["delay_ms"].as_f64().unwrap(),
        0.0,
        "the fake leg stops at once: {b}"
    );
    let heard = b["heard_text"].as_str().unwrap();
    assert!(
        !heard.is_empty() && heard.len() < call.tts.log().texts[0].len(),
        "heard {heard:?}"
    );
    // Nothing more of the greeting is queued after the flush.
    let played_at_flush = log.played;
    // The interrupted caller's turn goes on to the agent, which hears what was heard.
    call.until_event("stt.transcribed").await;
    call.until_event("agent.responded").await;
    let replies = call.tts.log().texts;
    assert!(
        replies.last().unwrap().contains("please hold on"),
        "{replies:?}"
    );
    assert!(
        replies.iter().any(|t| t.starts_with("Sorry, go ahead")),
        "agent told of the interruption: {replies:?}"
    );
    let flushes = call.media.log.lock().unwrap().flushes.len();
    assert_eq!(flushes, 1, "the reply itself was not cut");
    let _ = played_at_flush;
    assert_eq!(call.count("call.bargein"), 1);
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    call.ended().await;
    // The interrupted greeting is stored as what the caller heard of it.
    let turns = &call.history.records()[0].turns;
    assert_eq!(turns[0].agent.as_deref(), Some(heard));
    assert!(turns[0].interrupted);
    assert_eq!(turns[1].caller.as_deref(), Some("please hold on"));
}

#[tokio::test(start_paused = true)]
async fn dtmf_is_a_turn() {
    let call = start(Options::default());
    call.until_event("tts.generated").await;
    call.commands.send(SessionCommand::Dtmf('7')).await.unwrap();
    call.until(|c| c.count("tts.generated") == 2, "reply to the digit")
        .await;
    assert_eq!(
        call.data("call.dtmf")["masked"],
        true,
        "no key in events by default"
    );
    assert!(call.data("call.dtmf").get("digit").is_none());
    assert!(
        call.tts
            .log()
            .texts
            .iter()
            .any(|t| t.contains("You pressed 7"))
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_did_is_hung_up_with_a_clear_reason() {
    let mut call = start(Options {
        did: "100",
        config: voice_gateway::application::session::SessionConfig {
            unknown_did_media: None,
            ..Default::default()
        },
        ..Default::default()
    });
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::UnknownDid);
    assert_eq!(call.types(), ["call.started", "call.ended"]);
    assert_eq!(call.data("call.ended")["reason"], "unknown_did");
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 1);
    assert_eq!(call.telephony.count("answer"), 0);
    assert_eq!(call.media.log.lock().unwrap().opened, 0);
}

#[tokio::test(start_paused = true)]
async fn silence_reprompts_then_says_goodbye_and_hangs_up() {
    let mut call = start(Options::default());
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::Silence);
    let texts = call.tts.log().texts;
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("didn't catch that"))
            .count(),
        2,
        "{texts:?}"
    );
    assert!(texts.last().unwrap().contains("Goodbye"));
    assert_eq!(
        call.telephony.count(&format!("hangup {CALLER}")),
        1,
        "the gateway hangs up"
    );
}

#[tokio::test(start_paused = true)]
async fn asking_for_a_person_transfers_blind_into_the_dialplan() {
    let mut call = start(Options::default());
    call.stt.expect_utterances(["can I talk to a person"]);
    call.until_event("tts.generated").await;
    call.speak(Duration::from_millis(800)).await;
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::Transferred);
    assert!(call.types().ends_with(&[
        "call.escalated".into(),
        "call.transferred".into(),
        "call.ended".into()
    ]));
    assert_eq!(
        call.telephony
            .count(&format!("continue {CALLER} transfer agents")),
        1
    );
    assert_eq!(
        call.telephony.count(&format!("hangup {CALLER}")),
        0,
        "the caller is Asterisk's now"
    );
    assert!(
        call.tts
            .log()
            .texts
            .iter()
            .any(|t| t.contains("transfer you")),
        "spoken before transferring"
    );
}

#[tokio::test(start_paused = true)]
async fn goodbye_from_the_caller_ends_the_call_after_the_agent_says_it() {
    let mut call = start(Options::default());
    call.stt.expect_utterances(["thanks, goodbye"]);
    call.until_event("tts.generated").await;
    call.speak(Duration::from_millis(800)).await;
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::AgentHangup);
    assert!(call.tts.log().texts.last().unwrap().contains("Goodbye"));
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 1);
}

#[tokio::test(start_paused = true)]
async fn setup_failure_ends_the_call_and_releases_what_was_taken() {
    let mut call = start(Options::default());
    *call.telephony.fail.lock().unwrap() = Some((
        "add_to_bridge".into(),
        voice_gateway::application::ports::telephony::TelephonyError::Unavailable(
            voice_gateway::application::ports::Cause::msg("down"),
        ),
    ));
    let ended = call.ended().await;
    assert!(
        matches!(ended.reason, EndReason::Error(ref e) if e.contains("bridge")),
        "{:?}",
        ended.reason
    );
    assert_eq!(call.telephony.count("destroy_bridge"), 1);
    assert_eq!(call.telephony.count("hangup vg-m-"), 1);
    assert_eq!(call.telephony.count(&format!("hangup {CALLER}")), 1);
}

/// Issue 13: Asterisk answers `externalMedia` before the channel is in Stasis.
/// Setup bridges it only after its `StasisStart`; keypresses meanwhile are kept.
#[tokio::test(start_paused = true)]
async fn the_media_channel_is_bridged_only_once_in_stasis() {
    let call = start(Options {
        media_ready: false,
        ..Options::default()
    });
    call.until(
        |c| {
            c.telephony
                .ops()
                .iter()
                .any(|o| o.starts_with("external_media"))
        },
        "externalMedia requested",
    )
    .await;
    call.commands.send(SessionCommand::Dtmf('7')).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bridged = |c: &crate::harness::Call| {
        c.telephony
            .ops()
            .iter()
            .any(|o| o.starts_with("add_to_bridge") && o.contains("vg-m-"))
    };
    assert!(
        !bridged(&call),
        "bridged before StasisStart: {:?}",
        call.telephony.ops()
    );
    call.commands
        .send(SessionCommand::MediaChannelReady)
        .await
        .unwrap();
    call.until(bridged, "the media channel bridged").await;
    call.until(
        |c| c.count("call.dtmf") == 1,
        "the digit pressed during setup",
    )
    .await;
    assert_eq!(
        call.data("call.dtmf")["masked"],
        true,
        "no key in events by default"
    );
    assert!(call.data("call.dtmf").get("digit").is_none());
}

/// A media channel that never enters Stasis ends the call with an error that
/// names it, after `media_channel_timeout`.
#[tokio::test(start_paused = true)]
async fn a_media_channel_that_never_enters_stasis_fails_the_call_clearly() {
    let mut call = start(Options {
        media_ready: false,
        ..Options::default()
    });
    let ended = call.ended().await;
    let EndReason::Error(detail) = &ended.reason else {
        panic!("{:?}", ended.reason)
    };
    assert!(
        detail.contains("vg-m-") && detail.contains("did not enter Stasis within 5000 ms"),
        "{detail}"
    );
    assert!(
        !call
            .telephony
            .ops()
            .iter()
            .any(|o| o.starts_with("add_to_bridge") && o.contains("vg-m-")),
        "never bridged"
    );
}

#[tokio::test(start_paused = true)]
async fn a_digit_over_the_agent_barges_in_then_is_a_turn() {
    let call = start(Options::default());
    call.until(
        |c| c.media.log.lock().unwrap().played > Duration::from_secs(1),
        "greeting playing",
    )
    .await;
    call.commands.send(SessionCommand::Dtmf('7')).await.unwrap();
    call.until(|c| c.count("tts.generated") == 1, "reply to the digit")
        .await;
    let types = call.types();
    let barge = types.iter().position(|t| t == "call.bargein");
    let digit = types.iter().position(|t| t == "call.dtmf");
    assert!(
        barge.is_some() && barge < digit,
        "the barge-in is reported before the digit: {types:?}"
    );
    assert_eq!(call.media.log.lock().unwrap().flushes.len(), 1);
    assert!(
        call.tts
            .log()
            .texts
            .iter()
            .any(|t| t.contains("You pressed 7"))
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_reported_rtp_address_the_leg_latches_after_the_bridge() {
    let call = start(Options::default());
    call.telephony
        .hide_rtp_address
        .store(true, std::sync::atomic::Ordering::SeqCst);
    call.until_event("tts.generated").await;
    let log = call.media.log.lock().unwrap().clone();
    assert_eq!(log.peer, None);
    assert!(log.latch, "the leg was told to latch");
    let ops = call.telephony.ops();
    assert!(
        ops.iter()
            .any(|o| o.starts_with("add_to_bridge") && o.contains("vg-m-")),
        "the media channel bridged: {ops:?}"
    );
}

/// An orchestrator that takes 10 s to acknowledge a transfer.
struct SlowToHearOfTransfers(Arc<dyn AgentOrchestrator>);

impl AgentOrchestrator for SlowToHearOfTransfers {
    fn create_conversation(
        &self,
        request: CreateConversation,
    ) -> BoxFuture<'_, Result<Conversation, OrchestratorError>> {
        self.0.create_conversation(request)
    }

    fn send_turn(&self, conversation: &ConversationId, turn: Turn) -> ReplyStream {
        self.0.send_turn(conversation, turn)
    }

    fn transfer<'a>(
        &'a self,
        _: &'a ConversationId,
        _: &'a TransferTarget,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_orchestrator_does_not_hold_up_the_handover() {
    let builtin = BuiltinAgent::new(&OrchestratorConfig::default()).unwrap();
    let mut call = start(Options {
        orchestrator: Some(Arc::new(SlowToHearOfTransfers(Arc::new(builtin)))),
        ..Options::default()
    });
    call.until_event("tts.generated").await;
    // The API hands the caller over; the orchestrator is told beside it.
    let asked = tokio::time::Instant::now();
    call.commands
        .send(SessionCommand::Transfer {
            target: TransferTarget::parse("100").unwrap(),
            mode: voice_gateway::application::ports::calls::TransferMode::Blind,
        })
        .await
        .unwrap();
    let ended = call.ended().await;
    assert_eq!(ended.reason, EndReason::Transferred);
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "the handover waited {took:?}"
    );
}

/// While an outbound call is screened for a machine the callee's words are
/// not a turn: the leg is told to send the recogniser nothing from the
/// screening's start to its verdict (the screening itself drops the audio
/// that comes up), then to send it again.
#[tokio::test(start_paused = true)]
async fn a_screened_callee_is_not_heard_by_the_recogniser_before_the_verdict() {
    let call = start(Options {
        outbound: Some(Some(OnMachine::Hangup)),
        ..Options::default()
    });
    call.until(
        |c| c.media.log.lock().unwrap().listens.len() >= 3,
        "the screening started",
    )
    .await;
    assert_eq!(
        (
            call.media.log.lock().unwrap().listens.clone(),
            call.count("call.screened")
        ),
        (vec![false, true, false], 0),
        "no recogniser at the leg's opening, then the one opened, then none while screened"
    );
    // "Hello?", then waiting: a person.
    call.speak(Duration::from_millis(600)).await;
    call.until_event("call.screened").await;
    assert_eq!(call.data("call.screened")["answered_by"], "human");
    call.until(
        |c| c.media.log.lock().unwrap().listens.len() >= 4,
        "the recogniser named again",
    )
    .await;
    assert_eq!(
        call.media.log.lock().unwrap().listens,
        [false, true, false, true]
    );
    assert_eq!(
        call.stt.log().frames,
        0,
        "the recogniser heard the screening"
    );
}
