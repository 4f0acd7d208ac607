//! Pause-mode barge-in: the hold and its decision (noise, backchannel,
//! echo: resume; speech: cancel), driven without tokio.

use super::super::{Effect, Input, barge_in::words_of};
use super::{Sim, data, names};
use crate::{
    application::{
        ports::{
            media::FlushReport,
            speech::{TtsAudio, TtsChunk},
        },
        session::{BargeInMode, SessionConfig},
    },
    domain::{call::Phase, events::EventType as E},
};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pause() -> SessionConfig {
    SessionConfig {
        barge_in_mode: BargeInMode::Pause,
        ..SessionConfig::default()
    }
}

/// A call in `cfg` whose agent speaks one sentence (100 ms synthesised).
fn speaking(cfg: SessionConfig) -> Sim {
    let mut sim = Sim::new(cfg, None);
    sim.take();
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    sim.input(Input::SttFinal {
        text: "hello".into(),
        confidence: None,
    });
    sim.input(Input::ReplyText("Hello there, how can I help? ".into()));
    sim.input(Input::TtsAudio(TtsChunk {
        audio: TtsAudio::Linear16(vec![0; 1600]),
        sample_rate: 16_000,
        piece: 0,
    }));
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    sim.take();
    sim
}

fn onset(sim: &mut Sim) -> std::time::Instant {
    let at = sim.now.at;
    sim.input(Input::SpeechStarted { at, echo: false });
    at
}

fn turn_text(out: &[Effect]) -> Option<String> {
    out.iter().find_map(|e| match e {
        Effect::SendTurn(t) => Some(t.text.clone()),
        _ => None,
    })
}

#[test]
fn a_short_sound_pauses_the_agent_then_resumes_it_as_noise() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    assert_eq!(names(&sim.take()), ["PausePlayout"]);
    // The VAD's pause comes 160 ms after a 200 ms cough.
    sim.advance(ms(360));
    sim.input(Input::SpeechPaused { at: at + ms(200) });
    assert_eq!(names(&sim.take()), ["ResumePlayout"]);
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    assert_eq!(sim.core.log.resumed.noise, 1);
    // Its end is nothing more; the hold's deadline is gone.
    sim.input(Input::SpeechEnded { at: at + ms(200) });
    assert!(sim.take().is_empty());
    assert!(!sim.core.timers.is_set(super::super::timers::Timer::Hold));
    assert_eq!(sim.core.log.barge_ins, 0);
}

#[test]
fn a_backchannel_transcript_resumes_the_agent() {
    for said in [
        "Mm-hmm.",
        "yeah",
        "Okay, right.",
        "uh-huh",
        "MMM.",
        "Hmmm",
        "Yeahhh.",
    ] {
        let mut sim = speaking(pause());
        let at = onset(&mut sim);
        sim.advance(ms(660));
        sim.input(Input::SpeechPaused { at: at + ms(500) });
        assert_eq!(names(&sim.take()), ["PausePlayout", "FinishStt"], "{said}");
        sim.input(Input::SttFinal {
            text: said.into(),
            confidence: None,
        });
        assert_eq!(names(&sim.take()), ["ResumePlayout"], "{said}");
        assert_eq!(sim.core.log.resumed.backchannel, 1, "{said}");
        assert_eq!(sim.phase(), Some(Phase::Speaking));
    }
}

#[test]
fn an_empty_transcript_of_a_longer_sound_is_noise() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(450) });
    sim.input(Input::SttFinal {
        text: " ".into(),
        confidence: None,
    });
    assert_eq!(
        names(&sim.take()),
        ["PausePlayout", "FinishStt", "ResumePlayout"]
    );
    assert_eq!(sim.core.log.resumed.noise, 1);
}

#[test]
fn other_words_cancel_and_become_the_callers_turn() {
    for over in [false, true] {
        let mut sim = speaking(pause());
        let at = onset(&mut sim);
        sim.input(Input::SpeechPaused { at: at + ms(600) });
        if over {
            sim.input(Input::SpeechEnded { at: at + ms(600) });
        }
        sim.take();
        sim.input(Input::SttFinal {
            text: "Yeah, but Tuesday.".into(),
            confidence: None,
        });
        assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
        sim.input(Input::Flushed(Some(FlushReport {
            dropped: ms(40),
            sent: ms(60),
            last_packet_at: Some(at + ms(10)),
        })));
        let out = sim.take();
        let b = data(&out, E::CallBargein);
        assert_eq!(b["caller_text"], "Yeah, but Tuesday.", "{b}");
        assert_eq!(b["delay_ms"], 10.0, "the pause stopped the audio: {b}");
        assert_eq!(sim.phase(), Some(Phase::Listening));
        if !over {
            // The caller's end of speech ends the turn, with no new final.
            sim.input(Input::SpeechEnded { at: sim.now.at });
        }
        // The endpointing, then the final already in.
        sim.fire();
        sim.fire();
        let out = sim.take();
        assert_eq!(
            turn_text(&out).as_deref(),
            Some("Yeah, but Tuesday."),
            "over {over}: {:?}",
            names(&out)
        );
        assert!(!names(&out).contains(&"FinishStt".to_owned()));
    }
}

#[test]
fn sound_that_goes_on_is_speech_cancelled_at_the_speech_minimum() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.take();
    assert!(sim.fire());
    assert_eq!(sim.now.at, at + ms(900));
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
    sim.input(Input::Flushed(None));
    let out = sim.take();
    assert!(data(&out, E::CallBargein).get("caller_text").is_none());
    // The turn goes on as after any barge-in.
    sim.input(Input::SpeechEnded { at: sim.now.at });
    sim.fire();
    assert_eq!(names(&sim.take()), ["FinishStt"]);
    sim.input(Input::SttFinal {
        text: "I want to change my booking".into(),
        confidence: None,
    });
    sim.fire();
    assert_eq!(
        turn_text(&sim.take()).as_deref(),
        Some("I want to change my booking")
    );
}

#[test]
fn a_sound_resumed_after_a_pause_is_judged_on_its_whole_length() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(400) });
    sim.advance(ms(500));
    sim.input(Input::SpeechStarted {
        at: at + ms(500),
        echo: false,
    });
    assert_eq!(names(&sim.take()), ["PausePlayout", "FinishStt"]);
    assert!(sim.fire());
    assert_eq!(sim.now.at, at + ms(900));
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
}

/// Seen on the real Asterisk (bench-turn): a question over the agent, a
/// pause in it (its transcript asked), the caller going on, the hold
/// deciding speech at the minimum. The part's final must not end the turn,
/// and the caller's next pause must ask for the rest.
#[test]
fn a_caller_going_on_after_the_holds_pause_gets_the_rest_of_the_turn_heard() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(400) });
    sim.advance(ms(560));
    sim.input(Input::SpeechStarted {
        at: at + ms(560),
        echo: false,
    });
    assert!(sim.fire()); // speech at the minimum: cancel
    sim.input(Input::Flushed(None));
    sim.take();
    // The part's transcript, ending like a sentence, while the caller talks.
    sim.input(Input::SttFinal {
        text: "Can I change.".into(),
        confidence: None,
    });
    let out = sim.take();
    assert_eq!(turn_text(&out), None, "{:?}", names(&out));
    assert_eq!(sim.phase(), Some(Phase::Listening));
    // The caller's next pause asks for the rest; its final ends the turn.
    sim.advance(ms(900));
    sim.input(Input::SpeechPaused { at: sim.now.at });
    assert_eq!(names(&sim.take()), ["FinishStt"]);
    sim.input(Input::SttFinal {
        text: "my delivery address?".into(),
        confidence: None,
    });
    assert_eq!(
        turn_text(&sim.take()).as_deref(),
        Some("Can I change. my delivery address?")
    );
}

#[test]
fn no_transcript_in_time_is_speech_and_the_late_final_is_the_turn() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(500) });
    sim.input(Input::SpeechEnded { at: at + ms(500) });
    sim.take();
    assert!(sim.fire());
    assert_eq!(sim.now.at, at + ms(3000));
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
    sim.input(Input::Flushed(None));
    sim.take();
    sim.input(Input::SttFinal {
        text: "stop".into(),
        confidence: None,
    });
    sim.fire();
    sim.fire();
    assert_eq!(turn_text(&sim.take()).as_deref(), Some("stop"));
}

#[test]
fn many_interim_words_during_a_hold_are_speech() {
    let mut sim = speaking(pause());
    // Outside a hold interims start nothing: the VAD's onset does.
    sim.input(Input::SttInterim { words: 5 });
    assert!(sim.take().is_empty());
    onset(&mut sim);
    sim.input(Input::SttInterim { words: 2 });
    assert_eq!(names(&sim.take()), ["PausePlayout"]);
    sim.input(Input::SttInterim { words: 3 });
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
}

#[test]
fn our_own_echo_pauses_nothing_unless_the_guard_is_off() {
    let mut sim = speaking(pause());
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: true,
    });
    assert!(sim.take().is_empty());
    assert_eq!(sim.core.log.resumed.echo, 1);
    let mut sim = speaking(SessionConfig {
        barge_in_echo_guard: false,
        ..pause()
    });
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: true,
    });
    assert_eq!(names(&sim.take()), ["PausePlayout"]);
}

#[test]
fn cancel_mode_flushes_at_once_whatever_the_sound() {
    let mut sim = speaking(SessionConfig {
        barge_in_mode: BargeInMode::Cancel,
        ..SessionConfig::default()
    });
    onset(&mut sim);
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
}

#[test]
fn a_digit_during_a_hold_cancels_without_resuming_first() {
    let mut sim = speaking(pause());
    onset(&mut sim);
    sim.input(Input::Dtmf('5'));
    assert_eq!(
        names(&sim.take()),
        ["PausePlayout", "Flush", "DropReply", "CloseTts"]
    );
}

#[test]
fn a_speech_that_ends_otherwise_during_a_hold_resumes_the_leg() {
    let mut sim = speaking(pause());
    onset(&mut sim);
    sim.take();
    sim.input(Input::Command(
        crate::application::session::SessionCommand::Hangup(
            crate::domain::call::EndReason::AgentHangup,
        ),
    ));
    let out = names(&sim.take());
    assert!(out.contains(&"ResumePlayout".to_owned()), "{out:?}");
}

#[test]
fn transcripts_are_compared_word_by_word_without_punctuation() {
    assert_eq!(words_of("Mm-hmm."), ["mm-hmm"]);
    assert_eq!(words_of("Okay, right!"), ["okay", "right"]);
    assert_eq!(words_of("  "), Vec::<String>::new());
    assert_eq!(words_of("I'd -- like"), ["i'd", "like"]);
}

/// A short sound over (the VAD's end) plays the agent on at once; the
/// backchannel transcript that follows only counts it.
#[test]
fn a_short_sound_over_plays_on_before_its_transcript_decides() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.advance(ms(500));
    sim.input(Input::SpeechPaused { at: at + ms(340) });
    assert_eq!(names(&sim.take()), ["PausePlayout", "FinishStt"]);
    sim.advance(ms(140));
    sim.input(Input::SpeechEnded { at: at + ms(340) });
    assert_eq!(names(&sim.take()), ["ResumePlayout"]);
    sim.input(Input::SttFinal {
        text: "Okay.".into(),
        confidence: None,
    });
    assert!(sim.take().is_empty(), "resumed once");
    assert_eq!(sim.core.log.resumed.backchannel, 1);
    assert_eq!(sim.phase(), Some(Phase::Speaking));
    // Nothing left to decide: the hold's deadline is gone.
    assert!(!sim.fire());
}

#[test]
fn other_words_after_playing_on_still_cancel_the_agent() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(400) });
    sim.input(Input::SpeechEnded { at: at + ms(400) });
    assert_eq!(
        names(&sim.take()),
        ["PausePlayout", "FinishStt", "ResumePlayout"]
    );
    sim.input(Input::SttFinal {
        text: "Stop.".into(),
        confidence: None,
    });
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
}

#[test]
fn sound_again_after_playing_on_pauses_the_agent_again() {
    let mut sim = speaking(pause());
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(400) });
    sim.input(Input::SpeechEnded { at: at + ms(400) });
    sim.take();
    sim.advance(ms(600));
    sim.input(Input::SpeechStarted {
        at: sim.now.at,
        echo: false,
    });
    // Past the speech minimum from the first onset: speech, cancelled.
    assert_eq!(names(&sim.take()), ["PausePlayout"]);
    assert!(sim.fire());
    assert_eq!(names(&sim.take()), ["Flush", "DropReply", "CloseTts"]);
}

#[test]
fn without_resume_early_the_agent_waits_for_the_transcript() {
    let mut sim = speaking(SessionConfig {
        barge_in_resume_early: false,
        ..pause()
    });
    let at = onset(&mut sim);
    sim.input(Input::SpeechPaused { at: at + ms(400) });
    sim.input(Input::SpeechEnded { at: at + ms(400) });
    assert_eq!(names(&sim.take()), ["PausePlayout", "FinishStt"]);
    sim.input(Input::SttFinal {
        text: "yeah".into(),
        confidence: None,
    });
    assert_eq!(names(&sim.take()), ["ResumePlayout"]);
}
