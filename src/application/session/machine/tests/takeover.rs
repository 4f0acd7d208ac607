//! A call taken over from another instance (`[ha]`): its first turn tells
//! the agent that the reply in flight was cut; one taken over while the
//! person of an attended transfer was being rung waits for that person.

use super::super::{Effect, Input};
use super::{Sim, data, names};
use crate::{
    application::{
        ports::orchestrator::Turn,
        session::{SessionCommand, SessionConfig, TransferLegEvent},
    },
    domain::{
        TransferTarget,
        call::{Call, Direction, Phase},
        events::EventType,
    },
};

fn resumed(cfg: SessionConfig) -> Sim {
    let mut sim = Sim::answered(cfg, None);
    let t = sim.now.wall;
    sim.core
        .resumed(Call::resumed(Direction::Inbound, t, t), None);
    sim.core.converse(None);
    sim.drain();
    sim.take();
    sim
}

/// The caller speaks `text`; the turn request it makes.
fn turn(sim: &mut Sim, text: &str) -> Turn {
    sim.say(text);
    let turns: Vec<Turn> = (sim.take().into_iter())
        .filter_map(|e| match e {
            Effect::SendTurn(t) => Some(t),
            _ => None,
        })
        .collect();
    turns.last().cloned().expect("a turn was sent")
}

#[test]
fn the_first_turn_after_a_takeover_says_so_and_the_next_does_not() {
    for speculative_reply in [false, true] {
        let mut sim = resumed(SessionConfig {
            speculative_reply,
            ..SessionConfig::default()
        });
        let first = turn(&mut sim, "Are you still there?");
        assert_eq!(first.resumed_after_takeover, Some(true), "{first:?}");
        assert_eq!(first.interrupted, None, "not a barge-in");
        sim.input(Input::ReplyDone);
        assert_eq!(sim.phase(), Some(Phase::Listening));
        let next = turn(&mut sim, "Thanks.");
        assert_eq!(next.resumed_after_takeover, None, "told once");
    }
}

#[test]
fn a_call_not_taken_over_never_says_so() {
    let mut sim = Sim::new(SessionConfig::default(), None);
    sim.take();
    assert_eq!(turn(&mut sim, "Hello?").resumed_after_takeover, None);
}

const PERSON: &str = "+15550003333";

/// Taken over in an attended transfer to [`PERSON`]; what that did.
fn resumed_in_transfer(leg_rings: bool) -> (Sim, Vec<Effect>) {
    let mut sim = Sim::answered(SessionConfig::default(), None);
    // What the answer published here stands for what the other instance did.
    sim.drain();
    sim.take();
    let t = sim.now.wall;
    sim.core
        .resumed(Call::resumed(Direction::Inbound, t, t), None);
    sim.core
        .resume_transfer(TransferTarget::parse(PERSON).unwrap(), leg_rings);
    sim.drain();
    let out = sim.take();
    (sim, out)
}

fn leg(sim: &mut Sim, event: TransferLegEvent) {
    sim.input(Input::Command(SessionCommand::TransferLeg(event)));
}

#[test]
fn taken_over_while_the_person_rings_it_waits_silently_and_hands_over_when_they_answer() {
    let (mut sim, out) = resumed_in_transfer(true);
    // Nothing said, nothing published again; the record says transferring,
    // with the target (for a further takeover).
    assert!(names(&out).is_empty(), "{:?}", names(&out));
    let saved = out.iter().rev().find_map(|e| match e {
        Effect::Save(r) => Some(r.clone()),
        _ => None,
    });
    let saved = saved.expect("the record is written");
    assert_eq!(saved.state, "transferring");
    let target = saved.resume.and_then(|r| r.transfer).map(|t| t.to_string());
    assert_eq!(target.as_deref(), Some(PERSON));
    leg(&mut sim, TransferLegEvent::Answered);
    assert_eq!(
        names(&sim.take()),
        [
            "JoinPerson",
            "CloseStt",
            "LeaveMedia",
            "call.transferred",
            "call.ended",
            "WriteHistory",
            "HandedOver"
        ]
    );
}

#[test]
fn taken_over_while_the_person_rings_the_ring_timeout_still_applies() {
    let (mut sim, _) = resumed_in_transfer(true);
    assert!(sim.fire(), "a ring timeout is set");
    let out = sim.take();
    assert_eq!(names(&out)[..2], ["HangUpPerson", "call.escalated"]);
    assert_eq!(data(&out, EventType::CallEscalated)["outcome"], "no_answer");
}

#[test]
fn taken_over_after_the_persons_leg_ended_the_agent_says_nobody_is_available() {
    let (sim, out) = resumed_in_transfer(false);
    let n = names(&out);
    assert_eq!(
        n[..3],
        ["HangUpPerson", "call.escalated", "OpenTts"],
        "{n:?}"
    );
    let failed = data(&out, EventType::CallEscalated);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["outcome"], "failed");
    let unavailable = format!("Speak({})", sim.core.cfg.transfer_unavailable_text);
    assert!(n.contains(&unavailable), "{n:?}");
}
