//! Seeded random interleavings: many calls, each driven through arbitrary
//! inputs in arbitrary order (barge-in during a transfer, a hangup during a
//! flush, late finals, a reply after the hangup), with the driver's
//! resources modelled, checking after every call that
//! - `Effect::End` comes exactly once and is the last effect;
//! - `call.ended` is published exactly once, and says the end's reason;
//! - everything the call held is released exactly once: each channel hung
//!   up at most once, the recogniser, the synthesis and the reply stream
//!   closed, nothing opened twice;
//! - no deadline is left after the end.

use super::super::{Effect, Input};
use super::{Answers, Sim};
use crate::{
    application::{
        ports::{
            calls::TransferMode,
            media::FlushReport,
            orchestrator::{Action, DtmfSequence},
            speech::{TtsAudio, TtsChunk},
        },
        session::{BargeInMode, Prompt, SessionCommand, SessionConfig, TransferLegEvent},
    },
    domain::{DtmfDigits, SayText, TransferTarget, call::EndReason, events::EventType},
};
use ari::events::DialStatus;
use std::time::Duration;

/// Call lifetimes per run; `make test` runs them in a debug build.
const CALLS: u64 = 10_000;
/// Inputs per call before the caller hangs up anyway.
const MAX_STEPS: u32 = 120;

/// SplitMix64: small, seedable, good enough to pick inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the driver holds, as the effects leave it.
#[derive(Debug, Default)]
struct Model {
    stt: bool,
    tts: bool,
    reply: bool,
    person: bool,
    leg: bool,
    caller: bool,
    flush_pending: bool,
    /// The leg's playout is paused (a barge-in hold).
    paused: bool,
    resumed: u32,
    originated: u32,
    hung_up_person: u32,
    hung_up_caller: u32,
    released: u32,
    ended: u32,
    call_ended_events: u32,
    ended_reason: Option<String>,
    event_reason: Option<String>,
    saw_flush: bool,
    saw_continue: bool,
    saw_handover: bool,
}

impl Model {
    fn apply(&mut self, effect: &Effect, seed: u64) {
        assert_eq!(self.ended, 0, "seed {seed}: {effect:?} after the end");
        match effect {
            Effect::OpenStt => {
                assert!(!self.stt, "seed {seed}: recogniser opened twice");
            }
            Effect::CloseStt => self.stt = false,
            Effect::OpenTts { .. } => {
                assert!(!self.tts, "seed {seed}: synthesis opened twice");
            }
            Effect::CloseTts => self.tts = false,
            Effect::SendTurn(_) => self.reply = true,
            Effect::DropReply => self.reply = false,
            Effect::Flush => {
                self.flush_pending = true;
                self.saw_flush = true;
                self.paused = false;
            }
            Effect::PausePlayout => {
                assert!(!self.paused, "seed {seed}: paused twice");
                self.paused = true;
            }
            Effect::ResumePlayout => {
                assert!(self.paused, "seed {seed}: resumed without a pause");
                self.paused = false;
                self.resumed += 1;
            }
            Effect::Continue(_) => self.saw_continue = true,
            Effect::HandedOver => self.saw_handover = true,
            Effect::Originate(_) => {
                assert!(!self.person, "seed {seed}: a second person rung");
            }
            Effect::HangUpPerson if std::mem::take(&mut self.person) => self.hung_up_person += 1,
            Effect::ForgetPerson => self.person = false,
            Effect::JoinPerson => assert!(self.person, "seed {seed}: joined nobody"),
            Effect::LeaveMedia => self.leg = false,
            Effect::ForgetCaller => self.caller = false,
            Effect::LeaveBridged => {
                self.caller = false;
                self.person = false;
            }
            Effect::Release { hang_up_caller } => {
                self.released += 1;
                if std::mem::take(&mut self.person) {
                    self.hung_up_person += 1;
                }
                if std::mem::take(&mut self.caller) && *hang_up_caller {
                    self.hung_up_caller += 1;
                }
                self.leg = false;
            }
            Effect::Publish(ev) if ev.event_type == EventType::CallEnded => {
                self.call_ended_events += 1;
                self.event_reason = ev.data["reason"].as_str().map(str::to_owned);
            }
            Effect::End(e) => {
                self.ended += 1;
                self.ended_reason = Some(e.reason.label());
            }
            _ => {}
        }
    }
}

fn config(rng: &mut Rng) -> SessionConfig {
    SessionConfig {
        transfer_mode: if rng.chance(50) {
            TransferMode::Attended
        } else {
            TransferMode::Blind
        },
        tts_failure_prompt: rng.chance(50).then(|| Prompt {
            rate: 8_000,
            pcm: vec![0i16; 160].into(),
        }),
        barge_in_min_words: 1 + rng.below(2) as usize,
        barge_in_mode: if rng.chance(50) {
            BargeInMode::Pause
        } else {
            BargeInMode::Cancel
        },
        transfer_endpoints: [("agents".to_owned(), "PJSIP/agents".to_owned())].into(),
        ..SessionConfig::default()
    }
}

fn answers(rng: &mut Rng) -> Answers {
    Answers {
        tts_opens: rng.chance(90),
        stt_opens: rng.chance(90),
        continue_ok: rng.chance(70),
        originate_ok: rng.chance(80),
        join_ok: rng.chance(80),
    }
}

fn target(rng: &mut Rng) -> TransferTarget {
    let t = ["+15550003333", "agents", "100", "sales"][rng.below(4) as usize];
    TransferTarget::parse(t).unwrap()
}

/// One random input, given what the driver holds: the recogniser and the
/// synthesis speak only while open; the agent's reply and the person's leg
/// may come late.
fn input(rng: &mut Rng, sim: &Sim, model: &mut Model) -> Option<Input> {
    let now = sim.now.at;
    let input = match rng.below(26) {
        0 | 1 => Input::SpeechStarted {
            at: now,
            echo: rng.chance(20),
        },
        2 => Input::SpeechEnded { at: now },
        3 => Input::SpeechPaused { at: now },
        4 => Input::PlaybackDrained,
        5 => Input::Dtmf('5'),
        6 if model.stt => Input::SttInterim {
            words: rng.below(3) as usize,
        },
        7 | 8 if model.stt => Input::SttFinal {
            text: [
                "",
                "yes.",
                "a person please",
                "4111 1111 1111 1111",
                "and, um",
            ][rng.below(5) as usize]
                .into(),
            confidence: Some(0.9),
        },
        9 if model.stt => {
            model.stt = false;
            Input::SttFailed("reset".into())
        }
        // Late parts of a dropped reply are fed too: the core must ignore them.
        10..=12 => {
            Input::ReplyText(["Sure. ", "Let me check", " that.", ""][rng.below(4) as usize].into())
        }
        13 => Input::ReplyAction(match rng.below(3) {
            0 => Action::Hangup,
            1 => Action::Transfer {
                target: target(rng),
            },
            _ => Action::SendDtmf {
                digits: DtmfSequence::parse("12#").unwrap(),
            },
        }),
        14 => {
            model.reply = false;
            if rng.chance(20) {
                Input::ReplyFailed {
                    error: "timeout".into(),
                    timeout: true,
                }
            } else {
                Input::ReplyDone
            }
        }
        15 | 16 if model.tts => Input::TtsAudio(TtsChunk {
            audio: TtsAudio::Linear16(vec![0; 320]),
            sample_rate: 16_000,
            piece: rng.below(3) as u32,
        }),
        17 if model.tts => Input::TtsDone,
        18 if model.tts => {
            model.tts = false;
            Input::TtsFailed("provider down".into())
        }
        19 if model.flush_pending => {
            model.flush_pending = false;
            Input::Flushed(rng.chance(70).then(|| FlushReport {
                dropped: Duration::from_millis(rng.below(500)),
                sent: Duration::from_millis(rng.below(500)),
                last_packet_at: Some(now),
            }))
        }
        20..=22 => Input::Command(command(rng)),
        23 if rng.chance(10) => end(rng),
        _ => return None,
    };
    Some(input)
}

/// A command of the API or of the person's leg, which may come late.
fn command(rng: &mut Rng) -> SessionCommand {
    match rng.below(12) {
        0 => SessionCommand::Say(SayText::parse("One moment.").unwrap()),
        1 => SessionCommand::SendDtmf(DtmfDigits::parse("1").unwrap()),
        2 | 3 => SessionCommand::Transfer {
            target: target(rng),
            mode: if rng.chance(50) {
                TransferMode::Attended
            } else {
                TransferMode::Blind
            },
        },
        4 => SessionCommand::TransferLeg(TransferLegEvent::Dial(DialStatus::Ringing)),
        5 => SessionCommand::TransferLeg(TransferLegEvent::Dial(DialStatus::Busy)),
        6..=9 => SessionCommand::TransferLeg(TransferLegEvent::Answered),
        _ => SessionCommand::TransferLeg(TransferLegEvent::Gone { cause: 16 }),
    }
}

/// Something that ends the call.
fn end(rng: &mut Rng) -> Input {
    match rng.below(5) {
        0 => Input::Command(SessionCommand::CallerGone),
        1 => Input::Command(SessionCommand::Hangup(EndReason::AgentHangup)),
        2 => Input::Command(SessionCommand::Hangup(EndReason::Shutdown)),
        3 => Input::Command(SessionCommand::ChannelLost),
        _ => Input::MediaGone,
    }
}

/// Feeds the effects since the last look to the model.
fn observe(sim: &mut Sim, model: &mut Model, seed: u64) {
    for effect in sim.take() {
        if std::env::var_os("VG_CORE_TRACE").is_some() {
            eprintln!(
                "  -> {}",
                super::names(std::slice::from_ref(&effect)).join("")
            );
        }
        model.apply(&effect, seed);
        // The double answered these at once: the model follows the answer.
        match &effect {
            Effect::OpenStt => model.stt = sim.answers.stt_opens,
            Effect::OpenTts { .. } => model.tts = sim.answers.tts_opens,
            Effect::Originate(_) => {
                model.originated += 1;
                model.person = sim.answers.originate_ok;
            }
            _ => {}
        }
    }
    // The leg is paused exactly while the core holds and does not play on
    // (a sound over, its transcript awaited): never left paused under the
    // next speech.
    if model.ended == 0 {
        assert_eq!(
            model.paused,
            sim.core.hold.as_ref().is_some_and(|h| !h.playing),
            "seed {seed}: leg paused {} with the core's hold {:?}",
            model.paused,
            sim.core.hold
        );
    }
}

/// How many lifetimes went through the interleavings the test is for.
#[derive(Debug, Default)]
struct Coverage {
    barge_ins: u32,
    holds_resumed: u32,
    ended_during_flush: u32,
    blind: u32,
    handed_over: u32,
    bridged_then_ended: u32,
}

fn one_call(seed: u64, cover: &mut Coverage) {
    let mut rng = Rng(seed);
    let greeting = rng.chance(50).then_some("Welcome.");
    let mut sim = Sim::new(config(&mut rng), greeting);
    sim.answers = answers(&mut rng);
    let mut model = Model {
        stt: true,
        leg: true,
        caller: true,
        ..Model::default()
    };
    observe(&mut sim, &mut model, seed);
    for _ in 0..MAX_STEPS {
        if sim.core.is_ended() {
            break;
        }
        if rng.chance(15) {
            if !sim.fire() {
                sim.advance(Duration::from_millis(rng.below(3000)));
            }
        } else if let Some(i) = input(&mut rng, &sim, &mut model) {
            if std::env::var_os("VG_CORE_TRACE").is_some() {
                eprintln!("{:?} {i:?}", sim.core.phase());
            }
            sim.input(i);
        }
        sim.advance(Duration::from_millis(rng.below(200)));
        observe(&mut sim, &mut model, seed);
    }
    if !sim.core.is_ended() {
        sim.input(Input::Command(SessionCommand::CallerGone));
        observe(&mut sim, &mut model, seed);
    }
    // Whatever comes after the end is ignored.
    sim.input(Input::ReplyText("too late".into()));
    sim.input(Input::Flushed(None));
    sim.input(Input::SttFinal {
        text: "late".into(),
        confidence: None,
    });
    assert!(sim.take().is_empty(), "seed {seed}: effects after the end");
    assert_eq!(
        sim.core.poll_timeout(),
        None,
        "seed {seed}: a deadline after the end"
    );

    cover.barge_ins += u32::from(model.saw_flush);
    cover.holds_resumed += model.resumed;
    cover.ended_during_flush += u32::from(model.flush_pending);
    cover.blind += u32::from(model.saw_continue);
    cover.handed_over += u32::from(model.saw_handover);
    cover.bridged_then_ended += u32::from(model.saw_handover && model.released == 1);
    assert_eq!(model.ended, 1, "seed {seed}: End once");
    assert_eq!(model.call_ended_events, 1, "seed {seed}: call.ended once");
    assert_eq!(model.event_reason, model.ended_reason, "seed {seed}");
    assert_eq!(model.released, 1, "seed {seed}: released once");
    assert!(
        model.hung_up_person <= model.originated,
        "seed {seed}: a person hung up twice"
    );
    assert!(
        model.hung_up_caller <= 1,
        "seed {seed}: caller hung up twice"
    );
    assert!(!model.stt, "seed {seed}: recogniser left open");
    assert!(!model.tts, "seed {seed}: synthesis left open");
    assert!(!model.reply, "seed {seed}: reply stream left open");
}

#[test]
fn random_interleavings_keep_the_call_invariants() {
    let base = std::env::var("VG_CORE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_u64);
    let mut cover = Coverage::default();
    for i in 0..CALLS {
        one_call(base.wrapping_add(i), &mut cover);
    }
    // The interleavings the test is for did happen, often.
    let min = (CALLS / 100) as u32;
    assert!(cover.barge_ins > min, "{cover:?}");
    assert!(cover.holds_resumed > min / 10, "{cover:?}");
    assert!(cover.ended_during_flush > min / 10, "{cover:?}");
    assert!(cover.blind > min, "{cover:?}");
    assert!(cover.handed_over > min, "{cover:?}");
    assert!(cover.bridged_then_ended > min, "{cover:?}");
    if std::env::var_os("VG_CORE_TRACE").is_some() {
        eprintln!("{cover:?}");
    }
}
