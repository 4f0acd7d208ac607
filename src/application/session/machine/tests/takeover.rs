//! A call taken over from another instance (`[ha]`): its first turn tells
//! the agent that the reply in flight was cut.

use super::super::{Effect, Input};
use super::Sim;
use crate::{
    application::{ports::orchestrator::Turn, session::SessionConfig},
    domain::call::{Call, Direction, Phase},
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
