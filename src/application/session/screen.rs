//! Answering-machine detection on an outbound call placed with
//! `detect_machine`: before the agent says anything, the session listens to
//! the callee (the leg's VAD and its tone detector) and a
//! [`Screener`] decides who answered. Then the call converses as usual, or
//! hangs up, or waits for the beep and leaves the request's message.
//!
//! Commands that come meanwhile wait for the conversation, like those that
//! come during setup; a hangup ends the call at once.

use super::{
    SessionCommand,
    machine::Input,
    run::{Held, Session, read_clock},
};
use crate::{
    application::ports::media::{MediaCommand, MediaEvent},
    domain::{
        call::EndReason,
        screening::{AnsweredBy, OnMachine, Screener, Verdict},
    },
};
use std::time::Instant;

/// What the screening heard next.
enum Heard {
    SpeechStarted(Instant),
    SpeechStopped(Instant),
    /// A tone ended then.
    Tone(Instant),
    /// The deadline passed.
    Timer(Instant),
    /// The call ended (the callee hung up, the API hung up, the leg died).
    Ended,
}

impl Session {
    /// Screens the callee, then starts the conversation (with `greeting`) or
    /// deals with the machine as `on_machine` says.
    pub(super) async fn screen(&mut self, on_machine: OnMachine, greeting: Option<String>) {
        let since = read_clock().at;
        self.leg_send(MediaCommand::WatchTones(true));
        // The callee's words before the verdict are not a turn: the
        // recogniser hears none of them (the screening drops what comes up).
        self.leg_send(MediaCommand::Listen(None));
        let mut screener = Screener::new(self.deps.config.screening, since);
        let Some(verdict) = self.decide(&mut screener).await else {
            return;
        };
        let machine = verdict.answered_by == AnsweredBy::Machine;
        let action = if machine {
            on_machine.as_str()
        } else {
            "converse"
        };
        tracing::info!(answered_by = %verdict.answered_by, reason = verdict.reason, action, "callee screened");
        self.now = read_clock();
        self.core.at(self.now).screened(verdict, since, action);
        self.submit_writes();
        match on_machine {
            OnMachine::Hangup if machine => {
                self.leg_send(MediaCommand::WatchTones(false));
                self.end(EndReason::AnsweringMachine, true);
            }
            OnMachine::Message(text) if machine => {
                if verdict.reason != "beep" && !self.await_beep(verdict).await {
                    return;
                }
                self.leg_send(MediaCommand::WatchTones(false));
                self.listen();
                self.now = read_clock();
                self.core.at(self.now).leave_message(text.into_string());
            }
            _ => {
                self.leg_send(MediaCommand::WatchTones(false));
                self.listen();
                self.now = read_clock();
                self.core.at(self.now).converse(greeting);
            }
        }
    }

    /// Feeds the screener until it decides; `None` if the call ended first.
    async fn decide(&mut self, screener: &mut Screener) -> Option<Verdict> {
        loop {
            match self.listen_screening(screener.poll_timeout()).await {
                Heard::SpeechStarted(at) => screener.speech_started(at),
                Heard::SpeechStopped(at) => screener.speech_stopped(at),
                Heard::Tone(at) => screener.tone(at),
                Heard::Timer(now) => screener.handle_timeout(now),
                Heard::Ended => return None,
            }
            if let Some(v) = screener.verdict() {
                return Some(v);
            }
        }
    }

    /// A machine, and a message to leave: waits for the beep, at most
    /// `beep_timeout` after the verdict. False if the call ended meanwhile.
    async fn await_beep(&mut self, verdict: Verdict) -> bool {
        let deadline = verdict.at + self.deps.config.screening.beep_timeout;
        loop {
            match self.listen_screening(Some(deadline)).await {
                Heard::Tone(_) => return true,
                Heard::Timer(_) => {
                    tracing::info!("no beep heard: leaving the message anyway");
                    return true;
                }
                Heard::Ended => return false,
                Heard::SpeechStarted(_) | Heard::SpeechStopped(_) => {}
            }
        }
    }

    /// Waits for the next thing the screening cares about, or `deadline`.
    async fn listen_screening(&mut self, deadline: Option<Instant>) -> Heard {
        loop {
            let Some(events) = self.leg_events.as_mut() else {
                self.now = read_clock();
                self.feed(Input::MediaGone);
                return Heard::Ended;
            };
            let timer = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                biased;
                command = self.commands.recv() => {
                    match command {
                        None => {
                            self.now = read_clock();
                            self.feed(Input::CommandsGone);
                            return Heard::Ended;
                        }
                        Some(
                            c @ (SessionCommand::CallerGone
                            | SessionCommand::ChannelLost
                            | SessionCommand::Hangup(_)),
                        ) => {
                            self.now = read_clock();
                            self.feed(Input::Command(c));
                            return Heard::Ended;
                        }
                        Some(other) => {
                            self.held.push_back(Held::Command(other));
                            continue;
                        }
                    }
                }
                event = events.recv() => event,
                () = timer => return Heard::Timer(read_clock().at),
            };
            match event {
                None => {
                    self.leg_events = None;
                }
                Some(MediaEvent::SpeechStarted { at, .. }) => return Heard::SpeechStarted(at),
                Some(MediaEvent::SpeechPaused { at } | MediaEvent::SpeechEnded { at }) => {
                    return Heard::SpeechStopped(at);
                }
                Some(MediaEvent::Tone { start, end, hz }) => {
                    let ms = end.saturating_duration_since(start).as_millis() as u64;
                    tracing::info!(hz, ms, "tone heard while screening");
                    return Heard::Tone(end);
                }
                // The callee's words are not a turn: nobody has spoken to them yet.
                Some(_) => {}
            }
        }
    }
}
