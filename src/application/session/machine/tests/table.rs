//! One test per transition of the conversation, driven without tokio.

use super::super::{Effect, Input};
use super::{Sim, data, events, names};
use crate::{
    application::{
        ports::{
            calls::TransferMode,
            media::FlushReport,
            orchestrator::Action,
            speech::{TtsAudio, TtsChunk},
        },
        session::{BargeInMode, SessionCommand, SessionConfig, TransferLegEvent},
    },
    domain::{
        SayText, TransferTarget,
        call::{EndReason, Phase},
        events::EventType as E,
    },
};
use ari::events::DialStatus;
use std::time::Duration;

/// Barge-in cancels at once here; the pause mode's hold is in `hold.rs`.
fn cfg() -> SessionConfig {
    SessionConfig {
        barge_in_mode: BargeInMode::Cancel,
        ..SessionConfig::default()
    }
}

/// 100 ms of audio for piece `piece`.
fn audio(piece: u32) -> Input {
    Input::TtsAudio(TtsChunk {
        audio: TtsAudio::Linear16(vec![0; 1600]),
        sample_rate: 16_000,
        piece,
    })
}

/// A call listening after its greeting was played out.
fn listening() -> Sim {
    let mut sim = Sim::new(cfg(), None);
    sim.take();
    sim
}

/// A call whose caller said `text` and whose agent is thinking.
fn thinking(text: &str) -> Sim {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire(); // endpoint: finish sent
    sim.input(Input::SttFinal {
        text: text.into(),
        confidence: Some(0.9),
    });
    assert_eq!(sim.phase(), Some(Phase::Thinking));
    sim.take();
    sim
}

/// A call whose agent speaks one sentence, with 100 ms of it synthesised.
fn speaking() -> Sim {
    let mut sim = thinking("hello");
    sim.input(Input::ReplyText("Hello there, how can I help? ".into()));
    sim.input(audio(0));
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    sim.take();
    sim
}

#[test]
fn a_greeting_opens_the_synthesis_then_speaks_and_finishes() {
    let mut sim = Sim::new(cfg(), Some("Welcome."));
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    assert_eq!(
        names(&sim.take()),
        [
            "call.started",
            "call.answered",
            "OpenTts",
            "Speak(Welcome.)",
            "FinishTts"
        ]
    );
}

#[test]
fn without_a_greeting_the_call_listens_and_reprompts_on_silence() {
    let mut sim = listening();
    assert_eq!(sim.phase(), Some(Phase::Listening));
    assert!(sim.fire(), "the silence timer is armed");
    let out = sim.take();
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    assert!(names(&out).contains(&format!("Speak({})", cfg().reprompt_text)));
}

#[test]
fn silence_past_the_reprompts_says_goodbye_and_hangs_up() {
    let mut sim = listening();
    for _ in 0..=cfg().max_reprompts {
        sim.fire();
        sim.input(audio(0));
        sim.input(Input::TtsDone);
        sim.input(Input::PlaybackDrained);
    }
    let out = sim.take();
    assert!(names(&out).contains(&format!("Speak({})", cfg().goodbye_text)));
    assert_eq!(names(&out).last().unwrap(), "End(silence)");
}

#[test]
fn end_of_speech_then_endpointing_asks_for_the_final_and_sends_the_turn() {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechEnded { at: sim.now.at });
    assert_eq!(names(&sim.take()), Vec::<String>::new());
    sim.fire();
    assert_eq!(names(&sim.take()), ["FinishStt"]);
    sim.input(Input::SttFinal {
        text: " my card is 4111 1111 1111 1111 ".into(),
        confidence: Some(0.8),
    });
    let out = sim.take();
    assert_eq!(
        names(&out),
        [
            "stt.transcribed",
            "SendTurn(my card is 4111 1111 1111 1111)"
        ]
    );
    assert_eq!(data(&out, E::SttTranscribed)["turn"], 1);
    assert!(
        !data(&out, E::SttTranscribed)["text"]
            .as_str()
            .unwrap()
            .contains("4111 1111")
    );
}

#[test]
fn a_pause_asks_for_the_final_and_a_finished_sentence_ends_the_turn_at_once() {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.advance(Duration::from_millis(1500));
    let pause = sim.now.at;
    sim.input(Input::SpeechPaused { at: pause });
    assert_eq!(names(&sim.take()), ["FinishStt"]);
    // Whisper's answer, before the hangover and the endpointing ran out.
    sim.advance(Duration::from_millis(120));
    sim.input(Input::SttFinal {
        text: "What time do you open?".into(),
        confidence: None,
    });
    assert_eq!(
        names(&sim.take()),
        ["stt.transcribed", "SendTurn(What time do you open?)"]
    );
    // The VAD's end of the same speech comes after: nothing more happens.
    sim.input(Input::SpeechEnded { at: pause });
    while sim.fire() {}
    assert_eq!(names(&sim.take()), Vec::<String>::new());
    assert_eq!(sim.phase(), Some(Phase::Thinking));
}

#[test]
fn speech_after_a_pause_is_the_same_turn_and_both_parts_are_sent() {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SttFinal {
        text: "I'd like to".into(),
        confidence: None,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    assert_eq!(names(&sim.take()), ["FinishStt", "FinishStt"]);
    sim.input(Input::SttFinal {
        text: "book a table.".into(),
        confidence: None,
    });
    assert_eq!(
        names(&sim.take()),
        ["stt.transcribed", "SendTurn(I'd like to book a table.)"]
    );
}

#[test]
fn a_caller_trailing_off_gets_the_longer_endpointing() {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    sim.input(Input::SttFinal {
        text: "I want to, um".into(),
        confidence: None,
    });
    // The words go to the agent ahead of the turn's end (speculative).
    assert_eq!(names(&sim.take()), ["FinishStt", "SendTurn(I want to, um)"]);
    let ended = sim.now.at;
    sim.input(Input::SpeechEnded { at: ended });
    sim.fire(); // the longer endpointing
    assert_eq!(sim.now.at - ended, cfg().endpointing_incomplete);
    // No second finish: nothing was said since the pause; no second
    // request: the one sent ahead is the turn's.
    sim.fire();
    assert_eq!(names(&sim.take()), ["stt.transcribed"]);
}

/// A call whose caller said `text` (not ending a sentence) at a pause, and
/// whose words went to the agent ahead of the turn's end.
fn sent_ahead(text: &str) -> Sim {
    let mut sim = listening();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    sim.input(Input::SttFinal {
        text: text.into(),
        confidence: None,
    });
    assert_eq!(
        names(&sim.take()),
        ["FinishStt".to_owned(), format!("SendTurn({text})")]
    );
    sim
}

#[test]
fn a_reply_to_words_sent_ahead_is_held_then_spoken_at_the_turns_end() {
    let mut sim = sent_ahead("book a table for two");
    // The agent answers while the endpointing runs: nothing is said yet.
    sim.input(Input::ReplyText("Sure, for what time? ".into()));
    sim.input(Input::ReplyDone);
    assert_eq!(names(&sim.take()), Vec::<String>::new());
    assert_eq!(sim.phase(), Some(Phase::Listening));
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire(); // endpointing: the turn is over, the held reply is spoken
    sim.fire();
    assert_eq!(
        names(&sim.take()),
        [
            "stt.transcribed",
            "OpenTts",
            "agent.responded",
            "Speak(Sure, for what time?)",
            "FinishTts"
        ]
    );
}

#[test]
fn a_caller_going_on_drops_the_words_sent_ahead_and_the_agent_is_told() {
    let mut sim = sent_ahead("book a table for two");
    sim.input(Input::ReplyText("Sure, for what".into()));
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    assert_eq!(names(&sim.take()), ["DropReply"]);
    // The dropped request's late parts are ignored.
    sim.input(Input::ReplyText(" time? ".into()));
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire(); // endpointing: finish
    sim.input(Input::SttFinal {
        text: "at eight.".into(),
        confidence: None,
    });
    let out = sim.take();
    assert_eq!(
        names(&out),
        [
            "FinishStt",
            "stt.transcribed",
            "SendTurn(book a table for two at eight.)"
        ]
    );
    let turn = out
        .iter()
        .find_map(|e| match e {
            Effect::SendTurn(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(turn.superseded, Some(true));
    // Told once: the turn after it is an ordinary one.
    sim.input(Input::ReplyDone);
    assert_eq!(sim.phase(), Some(Phase::Listening));
    sim.take();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "Thanks.".into(),
        confidence: None,
    });
    let again = sim.take();
    let turn = again
        .iter()
        .find_map(|e| match e {
            Effect::SendTurn(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(turn.superseded, None);
}

#[test]
fn without_speculative_reply_nothing_is_sent_before_the_turns_end() {
    let mut sim = Sim::new(
        SessionConfig {
            speculative_reply: false,
            ..cfg()
        },
        None,
    );
    sim.take();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    sim.input(Input::SttFinal {
        text: "book a table for two".into(),
        confidence: None,
    });
    assert_eq!(names(&sim.take()), ["FinishStt"]);
}

#[test]
fn a_hangup_while_words_are_sent_ahead_closes_their_reply() {
    let mut sim = sent_ahead("book a table for two");
    sim.input(Input::Command(SessionCommand::CallerGone));
    let names = names(&sim.take());
    assert!(names.contains(&"DropReply".to_owned()), "{names:?}");
}

#[test]
fn without_finish_on_pause_a_pause_does_nothing() {
    let mut sim = Sim::new(
        SessionConfig {
            finish_on_pause: false,
            ..cfg()
        },
        None,
    );
    sim.take();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechPaused { at: sim.now.at });
    assert_eq!(names(&sim.take()), Vec::<String>::new());
    // Nor does one outside a turn.
    let mut sim = listening();
    sim.input(Input::SpeechPaused { at: sim.now.at });
    assert_eq!(names(&sim.take()), Vec::<String>::new());
}

#[test]
fn a_turn_with_nothing_intelligible_goes_back_to_listening() {
    let mut sim = listening();
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "  ".into(),
        confidence: None,
    });
    assert_eq!(names(&sim.take()), ["FinishStt"]);
    assert_eq!(sim.phase(), Some(Phase::Listening));
}

#[test]
fn no_final_in_time_completes_the_turn_with_what_was_heard() {
    let mut sim = listening();
    sim.input(Input::SttFinal {
        text: "book a table".into(),
        confidence: None,
    });
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire(); // endpoint
    sim.fire(); // final timeout
    assert_eq!(
        names(&sim.take()),
        ["FinishStt", "stt.transcribed", "SendTurn(book a table)"]
    );
}

#[test]
fn the_reply_is_spoken_sentence_by_sentence_then_the_call_listens() {
    let mut sim = thinking("hi");
    sim.input(Input::ReplyText("Sure. Let me".into()));
    sim.input(Input::ReplyText(" check.".into()));
    sim.input(Input::ReplyDone);
    assert_eq!(
        names(&sim.take()),
        [
            "OpenTts",
            "agent.responded",
            "Speak(Sure.)",
            "Speak(Let me check.)",
            "FinishTts"
        ]
    );
    sim.input(audio(0));
    sim.input(audio(1));
    sim.input(Input::TtsDone);
    assert_eq!(
        names(&sim.take()),
        ["Play", "Play", "CloseTts", "Play(end)"]
    );
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    sim.input(Input::PlaybackDrained);
    let out = sim.take();
    assert_eq!(names(&out), ["tts.generated"]);
    assert_eq!(data(&out, E::TtsGenerated)["audio_ms"], 200);
    assert_eq!(sim.phase(), Some(Phase::Listening));
}

#[test]
fn a_long_first_clause_is_spoken_before_its_sentence_is_complete() {
    let mut sim = thinking("where is my order");
    sim.input(Input::ReplyText("Let me look that up for you,".into()));
    sim.input(Input::ReplyText(" it will take".into()));
    assert_eq!(
        names(&sim.take()),
        [
            "OpenTts",
            "agent.responded",
            "Speak(Let me look that up for you,)"
        ]
    );
    sim.input(Input::ReplyText(" a moment, thank you. ".into()));
    sim.input(Input::ReplyDone);
    assert_eq!(
        names(&sim.take()),
        ["Speak(it will take a moment, thank you.)", "FinishTts"]
    );
}

#[test]
fn an_empty_reply_goes_back_to_listening() {
    let mut sim = thinking("hi");
    sim.input(Input::ReplyDone);
    assert_eq!(names(&sim.take()), ["agent.responded"]);
    assert_eq!(sim.phase(), Some(Phase::Listening));
}

#[test]
fn a_failed_reply_says_the_fallback() {
    let mut sim = thinking("hi");
    sim.input(Input::ReplyFailed {
        error: "agent timed out".into(),
        timeout: true,
    });
    let out = sim.take();
    assert_eq!(
        names(&out),
        [
            "error.llm_timeout".to_owned(),
            "OpenTts".into(),
            "agent.responded".into(),
            format!("Speak({})", cfg().fallback_text),
            "FinishTts".into()
        ]
    );
}

#[test]
fn barge_in_flushes_holds_the_caller_and_completes_on_the_report() {
    let mut sim = speaking();
    let onset = sim.now.at;
    sim.input(Input::SpeechStarted {
        at: onset,
        echo: false,
    });
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
    // While the leg flushes only the flush deadline counts, and a final waits.
    assert_eq!(
        sim.core.poll_timeout(),
        Some(onset + Duration::from_secs(1))
    );
    sim.input(Input::SttFinal {
        text: "stop".into(),
        confidence: None,
    });
    assert!(sim.take().is_empty());
    sim.input(Input::Flushed(Some(FlushReport {
        dropped: Duration::from_millis(40),
        sent: Duration::from_millis(60),
        last_packet_at: Some(onset + Duration::from_millis(20)),
    })));
    let out = sim.take();
    assert_eq!(names(&out), ["call.bargein"]);
    let b = data(&out, E::CallBargein);
    assert_eq!(
        b["heard_text"], "Hello there, how",
        "3 of 6 words in 60 of 100 ms"
    );
    assert_eq!(b["heard_ms"], 60);
    assert_eq!(b["delay_ms"], 20.0);
    assert_eq!(sim.phase(), Some(Phase::Listening));
    // The held final is part of the caller's turn, with what they heard.
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "please".into(),
        confidence: None,
    });
    let out = sim.take();
    let turn = out.iter().find_map(|e| match e {
        Effect::SendTurn(t) => Some(t.clone()),
        _ => None,
    });
    let turn = turn.expect("a turn");
    assert_eq!(turn.text, "stop please");
    assert_eq!(turn.heard_text.as_deref(), Some("Hello there, how"));
}

#[test]
fn a_leg_that_never_reports_its_flush_is_given_up_on() {
    let mut sim = speaking();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.take();
    assert!(sim.fire());
    let out = sim.take();
    assert_eq!(names(&out), ["call.bargein"]);
    assert_eq!(data(&out, E::CallBargein)["heard_ms"], 0);
}

#[test]
fn a_digit_over_the_agent_is_a_turn_after_its_barge_in() {
    let mut sim = speaking();
    sim.input(Input::Dtmf('5'));
    sim.input(Input::Flushed(None));
    assert_eq!(
        names(&sim.take()),
        [
            "Flush",
            "DropReply",
            "CloseTts",
            "call.bargein",
            "call.dtmf",
            "SendTurn(5)"
        ]
    );
}

#[test]
fn interim_words_barge_in_only_past_the_minimum() {
    let mut sim = Sim::new(
        SessionConfig {
            barge_in_min_words: 3,
            ..cfg()
        },
        Some("Welcome to the line."),
    );
    sim.take();
    sim.input(Input::SttInterim { words: 2 });
    assert!(sim.take().is_empty());
    sim.input(Input::SttInterim { words: 3 });
    assert_eq!(names(&sim.take())[0], "Flush");
}

#[test]
fn a_say_over_the_agent_is_spoken_after_the_barge_in() {
    let mut sim = speaking();
    let text = SayText::parse("One moment.").unwrap();
    sim.input(Input::Command(SessionCommand::Say(text)));
    sim.input(Input::Flushed(None));
    let out = names(&sim.take());
    assert_eq!(out[..4], ["Flush", "DropReply", "CloseTts", "call.bargein"]);
    assert!(out.contains(&"Speak(One moment.)".to_owned()), "{out:?}");
}

#[test]
fn the_first_byte_timeout_fails_the_synthesis() {
    let mut sim = thinking("hi");
    sim.input(Input::ReplyText("Sure thing.".into()));
    sim.input(Input::ReplyDone);
    sim.take();
    sim.fire();
    let out = sim.take();
    assert_eq!(
        names(&out),
        ["error.tts_failed", "CloseTts", "Play(end)", "tts.generated"]
    );
    assert_eq!(sim.phase(), Some(Phase::Listening));
}

#[test]
fn a_failed_synthesis_plays_the_prompt_then_listens_once_drained() {
    let prompt = crate::application::session::Prompt {
        rate: 8_000,
        pcm: vec![0i16; 800].into(),
    };
    let mut sim = Sim::new(
        SessionConfig {
            tts_failure_prompt: Some(prompt),
            ..cfg()
        },
        None,
    );
    sim.answers.tts_opens = false;
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "hi".into(),
        confidence: None,
    });
    sim.take();
    sim.input(Input::ReplyText("Hello.".into()));
    sim.input(Input::ReplyDone);
    assert_eq!(
        names(&sim.take()),
        [
            "OpenTts",
            "error.tts_failed",
            "CloseTts",
            "agent.responded",
            "Play",
            "Play(end)"
        ]
    );
    sim.input(Input::PlaybackDrained);
    assert_eq!(names(&sim.take()), ["tts.generated"]);
    assert_eq!(sim.phase(), Some(Phase::Listening));
}

#[test]
fn three_recogniser_failures_in_a_row_end_the_call() {
    let mut sim = listening();
    sim.input(Input::SttFailed("reset".into()));
    sim.input(Input::SttFailed("reset".into()));
    assert_eq!(
        names(&sim.take()),
        ["error.stt_failed", "OpenStt", "error.stt_failed", "OpenStt"]
    );
    sim.input(Input::SttFailed("reset".into()));
    sim.input(audio(0));
    sim.input(Input::TtsDone);
    sim.input(Input::PlaybackDrained);
    let out = sim.take();
    assert_eq!(names(&out).last().unwrap(), "End(error: stt)");
    assert_eq!(
        events(&out).iter().filter(|t| **t == E::CallEnded).count(),
        1
    );
}

#[test]
fn the_agent_hangs_up_after_its_last_sentence() {
    let mut sim = thinking("bye");
    sim.input(Input::ReplyText("Goodbye.".into()));
    sim.input(Input::ReplyAction(Action::Hangup));
    sim.input(Input::ReplyDone);
    sim.input(audio(0));
    sim.input(Input::TtsDone);
    sim.take();
    sim.input(Input::PlaybackDrained);
    assert_eq!(
        names(&sim.take()),
        [
            "tts.generated",
            "CloseStt",
            "Release(true)",
            "call.ended",
            "WriteHistory",
            "End(agent_hangup)"
        ]
    );
    assert_eq!(sim.core.poll_timeout(), None);
    sim.input(Input::ReplyText("late".into()));
    assert!(sim.take().is_empty(), "nothing after the end");
}

#[test]
fn a_blind_transfer_leaves_the_caller_to_asterisk() {
    let mut sim = thinking("a person please");
    sim.input(Input::ReplyAction(Action::Transfer {
        target: TransferTarget::parse("100").unwrap(),
    }));
    sim.input(Input::ReplyDone);
    assert_eq!(
        names(&sim.take()),
        [
            "agent.responded",
            "call.escalated",
            "Continue",
            "call.transferred",
            "ForgetCaller",
            "CloseStt",
            "Release(false)",
            "call.ended",
            "WriteHistory",
            "End(transferred)"
        ]
    );
}

#[test]
fn a_refused_blind_transfer_goes_back_to_the_agent() {
    let mut sim = listening();
    sim.answers.continue_ok = false;
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("100").unwrap(),
        mode: TransferMode::Blind,
    }));
    let out = sim.take();
    let n = names(&out);
    assert_eq!(
        n[..4],
        [
            "TellTransfer",
            "call.escalated",
            "Continue",
            "call.escalated"
        ]
    );
    assert_eq!(data(&out[3..], E::CallEscalated)["status"], "failed");
    assert!(n.contains(&"Speak(Sorry, I couldn't transfer you right now.)".to_owned()));
}

/// Attended transfers, the agent allowed to dial +1555 numbers.
fn attended() -> SessionConfig {
    use crate::{
        application::dialing::{DialingPolicy, TenantDialing},
        domain::DialRules,
    };
    let rules = |allow| DialRules::parse([allow], []).unwrap();
    let dialing = DialingPolicy::new(
        TenantDialing {
            api: rules("+1"),
            transfer: rules("+1555"),
            caller_ids: Vec::new(),
        },
        Default::default(),
        "Not that number.".into(),
    );
    SessionConfig {
        transfer_mode: TransferMode::Attended,
        dialing,
        ..cfg()
    }
}

#[test]
fn an_agent_transfer_the_policy_refuses_dials_nothing_and_goes_on() {
    let mut sim = Sim::new(attended(), None);
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "call my cousin abroad".into(),
        confidence: None,
    });
    sim.input(Input::ReplyText("Connecting you now.".into()));
    sim.input(Input::ReplyAction(Action::Transfer {
        target: TransferTarget::parse("+19005550100").unwrap(),
    }));
    let n = names(&sim.take());
    assert!(!n.iter().any(|e| e.starts_with("Originate")), "{n:?}");
    assert!(n.contains(&"call.escalated".to_owned()), "{n:?}");
    assert!(n.contains(&"Speak(Not that number.)".to_owned()), "{n:?}");
}

fn leg(sim: &mut Sim, event: TransferLegEvent) {
    sim.input(Input::Command(SessionCommand::TransferLeg(event)));
}

#[test]
fn an_attended_transfer_hands_over_after_the_agent_finishes() {
    let mut sim = Sim::new(attended(), None);
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "a person".into(),
        confidence: None,
    });
    sim.input(Input::ReplyText("Connecting you now.".into()));
    sim.input(Input::ReplyAction(Action::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
    }));
    sim.input(Input::ReplyDone);
    sim.input(audio(0));
    sim.take();
    leg(&mut sim, TransferLegEvent::Dial(DialStatus::Answer));
    leg(&mut sim, TransferLegEvent::Answered);
    assert!(sim.take().is_empty(), "the agent is still speaking");
    sim.input(Input::TtsDone);
    sim.input(Input::PlaybackDrained);
    assert_eq!(
        names(&sim.take()),
        [
            "CloseTts",
            "Play(end)",
            "tts.generated",
            "JoinPerson",
            "CloseStt",
            "LeaveMedia",
            "call.transferred",
            "call.ended",
            "WriteHistory",
            "HandedOver"
        ]
    );
    // The person hangs up: the caller goes too; `call.ended` is not repeated.
    leg(&mut sim, TransferLegEvent::Gone { cause: 16 });
    assert_eq!(
        names(&sim.take()),
        ["ForgetPerson", "Release(true)", "End(transferred)"]
    );
}

#[test]
fn a_busy_person_brings_the_caller_back_to_the_agent() {
    let mut sim = listening();
    sim.answers = Default::default();
    let mut sim2 = Sim::new(attended(), None);
    std::mem::swap(&mut sim, &mut sim2);
    sim.take();
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
        mode: TransferMode::Attended,
    }));
    assert_eq!(
        names(&sim.take()),
        ["TellTransfer", "call.escalated", "Originate"]
    );
    leg(&mut sim, TransferLegEvent::Dial(DialStatus::Busy));
    leg(&mut sim, TransferLegEvent::Gone { cause: 0 });
    let out = sim.take();
    let n = names(&out);
    assert_eq!(
        n[..4],
        ["ForgetPerson", "HangUpPerson", "call.escalated", "OpenTts"]
    );
    let failed = data(&out, E::CallEscalated);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["outcome"], "busy");
}

#[test]
fn a_person_who_never_answers_is_hung_up_at_the_ring_timeout() {
    let mut sim = Sim::new(attended(), None);
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
        mode: TransferMode::Attended,
    }));
    sim.take();
    assert!(sim.fire());
    let out = sim.take();
    assert_eq!(names(&out)[..2], ["HangUpPerson", "call.escalated"]);
    assert_eq!(data(&out, E::CallEscalated)["outcome"], "no_answer");
}

#[test]
fn shutdown_leaves_a_bridged_caller_and_person_talking() {
    let mut sim = Sim::new(attended(), None);
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
        mode: TransferMode::Attended,
    }));
    leg(&mut sim, TransferLegEvent::Answered);
    sim.take();
    sim.input(Input::Command(SessionCommand::Hangup(EndReason::Shutdown)));
    assert_eq!(
        names(&sim.take()),
        ["LeaveBridged", "Release(false)", "End(transferred)"]
    );
}

#[test]
fn a_hangup_during_a_flush_reports_the_barge_in_then_ends_once() {
    let mut sim = speaking();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.take();
    sim.input(Input::Command(SessionCommand::CallerGone));
    assert_eq!(
        names(&sim.take()),
        [
            "ForgetCaller",
            "call.bargein",
            "CloseStt",
            "Release(false)",
            "call.ended",
            "WriteHistory",
            "End(caller_hangup)"
        ]
    );
    sim.input(Input::Flushed(None));
    assert!(sim.take().is_empty());
}

#[test]
fn the_media_leg_ending_ends_the_call() {
    let mut sim = speaking();
    sim.input(Input::MediaGone);
    let n = names(&sim.take());
    assert_eq!(n.last().unwrap(), "End(error: media leg ended)");
    assert!(n.contains(&"Release(true)".to_owned()));
}

#[test]
fn a_refused_originate_brings_the_caller_back_to_the_agent() {
    let mut sim = Sim::new(attended(), None);
    sim.take();
    sim.answers.originate_ok = false;
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
        mode: TransferMode::Attended,
    }));
    let out = sim.take();
    let n = names(&out);
    assert_eq!(
        n[..6],
        [
            "TellTransfer",
            "call.escalated",
            "Originate",
            "HangUpPerson",
            "call.escalated",
            "OpenTts"
        ]
    );
    let failed = data(&out[4..], E::CallEscalated);
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["error"], "refused");
}

#[test]
fn a_person_who_cannot_join_the_bridge_brings_the_caller_back() {
    let mut sim = Sim::new(attended(), None);
    sim.answers.join_ok = false;
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("+15550003333").unwrap(),
        mode: TransferMode::Attended,
    }));
    sim.take();
    leg(&mut sim, TransferLegEvent::Answered);
    let n = names(&sim.take());
    assert_eq!(
        n[..4],
        ["JoinPerson", "HangUpPerson", "call.escalated", "OpenTts"]
    );
    assert_eq!(sim.phase(), Some(Phase::Speaking));
}

#[test]
fn an_unconfigured_attended_target_fails_without_dialling() {
    let mut sim = Sim::new(attended(), None);
    sim.take();
    sim.input(Input::Command(SessionCommand::Transfer {
        target: TransferTarget::parse("sales").unwrap(),
        mode: TransferMode::Attended,
    }));
    let n = names(&sim.take());
    assert!(!n.contains(&"Originate".to_owned()), "{n:?}");
    assert_eq!(
        n[..4],
        [
            "TellTransfer",
            "call.escalated",
            "HangUpPerson",
            "call.escalated"
        ]
    );
}

#[test]
fn digits_the_agent_asks_for_go_to_the_caller_side() {
    let mut sim = thinking("press one");
    sim.input(Input::ReplyAction(Action::SendDtmf {
        digits: crate::application::ports::orchestrator::DtmfSequence::parse("1#").unwrap(),
    }));
    assert!(matches!(&sim.take()[..], [Effect::SendDtmf(d)] if d == "1#"));
}

#[test]
fn a_recogniser_that_cannot_reopen_ends_the_call() {
    let mut sim = listening();
    sim.answers.stt_opens = false;
    sim.input(Input::SttFailed("reset".into()));
    let out = sim.take();
    assert_eq!(
        names(&out),
        [
            "error.stt_failed",
            "OpenStt",
            "error.stt_failed",
            "Release(true)",
            "call.ended",
            "WriteHistory",
            "End(error: stt: refused)"
        ]
    );
}

#[test]
fn a_shutdown_hangs_up_a_caller_talking_to_the_agent() {
    let mut sim = speaking();
    sim.input(Input::Command(SessionCommand::Hangup(EndReason::Shutdown)));
    let n = names(&sim.take());
    assert_eq!(n[..2], ["DropReply", "CloseTts"]);
    assert_eq!(n.last().unwrap(), "End(shutdown)");
    assert!(n.contains(&"Release(true)".to_owned()));
}

#[test]
fn a_synthesis_that_cannot_open_without_a_prompt_listens_again() {
    let mut sim = thinking("hi");
    sim.answers.tts_opens = false;
    sim.input(Input::ReplyText("Hello there. More".into()));
    assert_eq!(
        names(&sim.take()),
        ["OpenTts", "error.tts_failed", "CloseTts", "Play(end)"]
    );
    // The rest of the reply is not attempted, but its actions still count.
    sim.input(Input::ReplyText(" to say. ".into()));
    sim.input(Input::ReplyAction(Action::Hangup));
    assert!(sim.take().is_empty());
    sim.input(Input::ReplyDone);
    let out = sim.take();
    assert_eq!(names(&out)[0], "agent.responded");
    assert_eq!(data(&out, E::AgentResponded)["text"], "");
    assert_eq!(names(&out).last().unwrap(), "End(agent_hangup)");
}

#[test]
fn an_agent_missing_at_the_start_is_apologised_for_uninterrupted_then_the_call_ends() {
    use crate::application::session::machine::StartFailure;
    let mut sim = Sim::failing_start(cfg(), StartFailure::Agent("connection refused".into()));
    let n = names(&sim.take());
    let text = SessionConfig::default().unavailable_text;
    assert!(n.contains(&format!("Speak({text})")), "{n:?}");
    assert!(
        !n.iter().any(|e| e.starts_with("OpenStt")),
        "nothing to listen for: {n:?}"
    );
    sim.input(Input::TtsOpened);
    sim.input(audio(0));
    sim.take();
    // The caller talks over it: no barge-in, nothing could follow it.
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::Dtmf('1'));
    let n = names(&sim.take());
    assert!(!n.contains(&"Flush".to_owned()), "{n:?}");
    sim.input(Input::TtsDone);
    sim.input(Input::PlaybackDrained);
    let out = sim.take();
    let n = names(&out);
    assert!(n.contains(&"call.ended".to_owned()), "{n:?}");
    assert_eq!(data(&out, E::CallEnded)["reason"], "error");
    assert!(
        data(&out, E::CallEnded)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("orchestrator")),
        "{:?}",
        data(&out, E::CallEnded)
    );
}

#[test]
fn without_an_apology_a_call_whose_recogniser_fails_at_the_start_ends_at_once() {
    use crate::application::session::machine::StartFailure;
    let quiet = SessionConfig {
        unavailable_text: String::new(),
        ..cfg()
    };
    let mut sim = Sim::failing_start(quiet, StartFailure::Recogniser("refused".into()));
    let out = sim.take();
    let n = names(&out);
    assert!(n.contains(&"error.stt_failed".to_owned()), "{n:?}");
    assert!(n.contains(&"call.ended".to_owned()), "{n:?}");
    assert!(!n.iter().any(|e| e.starts_with("Speak")), "{n:?}");
}

/// The `stt.transcribed` events among `out`: (turn, text, time).
fn transcripts(out: &[Effect]) -> Vec<(u64, String, std::time::SystemTime)> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Publish(ev) if ev.event_type == E::SttTranscribed => Some((
                ev.data["turn"].as_u64().unwrap(),
                ev.data["text"].as_str().unwrap().to_owned(),
                ev.time,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_card_read_over_two_turns_leaves_neither_part_in_clear() {
    let mut sim = listening();
    sim.say("my card is 4111 1111");
    let first = sim.take();
    // Held: its tail may be the start of a card the next turn completes.
    assert_eq!(transcripts(&first), []);
    assert!(names(&first).contains(&"SendTurn(my card is 4111 1111)".to_owned()));
    let heard_at = sim.now.wall;
    sim.input(Input::ReplyText("Go on.".into()));
    sim.input(Input::ReplyDone);
    sim.input(audio(0));
    sim.input(Input::TtsDone);
    sim.input(Input::PlaybackDrained);
    assert_eq!(sim.phase(), Some(Phase::Listening));
    sim.advance(Duration::from_secs(3));
    sim.say("1111 1111");
    let out = sim.take();
    let got = transcripts(&out);
    assert_eq!(
        got.iter()
            .map(|(turn, text, _)| (*turn, text.as_str()))
            .collect::<Vec<_>>(),
        [(1, "my card is **** ****"), (2, "**** 1111")]
    );
    // The held event keeps the time its turn was heard.
    assert_eq!(got[0].2, heard_at);
    assert!(got[1].2 > heard_at);
    for ev in first.iter().chain(&out) {
        if let Effect::Publish(ev) = ev {
            assert!(!ev.data.to_string().contains("4111"), "{ev:?}");
        }
    }
}

#[test]
fn a_held_turn_goes_out_before_the_end_or_a_key() {
    let mut sim = listening();
    sim.say("my order is 123456");
    assert_eq!(transcripts(&sim.take()), []);
    sim.input(Input::Command(SessionCommand::CallerGone));
    let out = sim.take();
    let n = names(&out);
    let at = |name: &str| n.iter().position(|x| x == name).unwrap();
    assert!(at("stt.transcribed") < at("call.ended"), "{n:?}");
    assert_eq!(transcripts(&out)[0].1, "my order is 123456");

    let mut sim = listening();
    sim.say("it is 4111 1111");
    sim.take();
    sim.input(Input::Dtmf('1'));
    let n = names(&sim.take());
    assert_eq!(n[1..3], ["stt.transcribed", "call.dtmf"], "{n:?}");
}

#[test]
fn a_route_that_transfers_at_a_start_failure_sends_the_caller_on_without_the_apology() {
    use crate::application::session::machine::StartFailure;
    let mut sim = Sim::failing_start_to(StartFailure::Agent("refused".into()), "200", true);
    let out = sim.take();
    let n = names(&out);
    assert!(n.contains(&"Continue".to_owned()), "{n:?}");
    assert!(!n.iter().any(|e| e.starts_with("Speak")), "{n:?}");
    assert_eq!(data(&out, E::CallTransferred)["target"], "200");
    assert_eq!(data(&out, E::CallEnded)["reason"], "transferred");
}

#[test]
fn a_transfer_at_a_start_failure_that_fails_ends_in_the_apology() {
    use crate::application::session::machine::StartFailure;
    let mut sim = Sim::failing_start_to(StartFailure::Recogniser("refused".into()), "200", false);
    let n = names(&sim.take());
    let text = SessionConfig::default().unavailable_text;
    assert!(n.contains(&"error.stt_failed".to_owned()), "{n:?}");
    assert!(n.contains(&"call.escalated".to_owned()), "{n:?}");
    assert!(n.contains(&format!("Speak({text})")), "{n:?}");
    sim.input(Input::TtsOpened);
    sim.input(audio(0));
    sim.input(Input::TtsDone);
    sim.input(Input::PlaybackDrained);
    let out = sim.take();
    assert_eq!(data(&out, E::CallEnded)["reason"], "error");
}
