//! The gateway's stop, in stages its tasks wait for.
//!
//! The composition root holds the [`ShutdownSwitch`] and moves it forward;
//! each task holds a [`Shutdown`] and waits for the stage that concerns it.
//! Stages only move forward, and a task that waits for a stage already passed
//! returns at once, so it cannot miss one however late it looks.

use tokio::sync::watch;

/// How far the stop has gone; each stage implies the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Running (draining included: new calls are refused by admission, not here).
    Running,
    /// The calls still up are to be hung up (the drain deadline passed, or
    /// only calls handed to a person are left).
    HangUp,
    /// Everything stops: HTTP and whatever still listens.
    Close,
}

/// Moves the stop forward. Dropping it without reaching a stage means that
/// stage never comes.
#[derive(Debug)]
pub struct ShutdownSwitch {
    tx: watch::Sender<Stage>,
}

/// A task's view of the stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Stage>,
}

impl ShutdownSwitch {
    /// A switch at [`Stage::Running`].
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(Stage::Running),
        }
    }

    /// A view for one task.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }

    /// Moves to `stage`, unless the stop is already further.
    pub fn advance(&self, stage: Stage) {
        self.tx.send_if_modified(|s| {
            let later = stage > *s;
            if later {
                *s = stage;
            }
            later
        });
    }
}

impl Default for ShutdownSwitch {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// Waits until `stage` is reached (`true`), or the switch is dropped
    /// before it was (`false`). Cancel-safe.
    pub async fn reached(&mut self, stage: Stage) -> bool {
        self.rx.wait_for(|s| *s >= stage).await.is_ok()
    }

    /// The stage now.
    pub fn stage(&self) -> Stage {
        *self.rx.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stage_passed_is_seen_late_and_stages_never_go_back() {
        let switch = ShutdownSwitch::new();
        let mut view = switch.subscribe();
        assert_eq!(view.stage(), Stage::Running);
        switch.advance(Stage::Close);
        switch.advance(Stage::HangUp);
        assert_eq!(view.stage(), Stage::Close);
        assert!(view.reached(Stage::HangUp).await, "Close implies HangUp");
        assert!(view.reached(Stage::Close).await);
    }

    #[tokio::test]
    async fn a_dropped_switch_never_reaches_a_stage() {
        let switch = ShutdownSwitch::new();
        let mut view = switch.subscribe();
        switch.advance(Stage::HangUp);
        drop(switch);
        assert!(view.reached(Stage::HangUp).await, "reached before the drop");
        assert!(!view.reached(Stage::Close).await);
    }
}
