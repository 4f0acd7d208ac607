//! One active gateway per Asterisk: the lease and the role it gives.
//!
//! Every instance that serves an Asterisk tries to hold one lease (a key with
//! a time to live in the shared store). The holder is *active*: it opens the
//! Stasis app's events socket and drives calls. The others are *standby*:
//! they keep the socket closed (a second socket would take the app over)
//! and try the lease every `renew_every`, taking it once it expires.
//!
//! Fencing: each new holder gets a fencing token (a counter the store
//! increments), written into every call record it stores, so a record of an
//! older holder cannot overwrite a newer one's. A holder that cannot renew
//! stops being active `ttl / 2` after it sent its last successful renewal:
//! the lease lives `ttl` from that send at the earliest, so it has stopped
//! touching Asterisk well before anyone else can hold the lease.
//!
//! [`LeaseCore`] is the decision, with no I/O and no clock: drive it with
//! [`LeaseCore::poll_attempt`] (an attempt to send now, if due),
//! [`LeaseCore::on_result`] (its answer), [`LeaseCore::handle_timeout`] at
//! [`LeaseCore::poll_timeout`], and read [`LeaseCore::role`]. [`run`] is its
//! async driver.

mod driver;
mod fence;

pub use driver::{LeaseHandle, run, spawn};
pub use fence::{Fence, FencedTelephony};

pub use super::ports::lease::{Attempt, LeaseError};
use std::time::{Duration, Instant};

/// How the lease is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long the lease stays without renewal.
    pub ttl: Duration,
    /// How often it is tried (renewed by the holder, taken by a standby).
    pub renew_every: Duration,
}

impl LeaseTiming {
    /// How long after its last successful renewal was sent a holder stays active.
    pub fn active_for(&self) -> Duration {
        self.ttl / 2
    }
}

/// What this instance is for its Asterisk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the lease: events socket open, calls driven.
    Active {
        /// The fencing token it holds the lease under.
        token: u64,
    },
    /// Does not hold it (or can no longer tell that it does): socket closed.
    Standby,
}

impl Role {
    /// `active` or `standby`, as `/readyz` and the logs show it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Active { .. } => "active",
            Self::Standby => "standby",
        }
    }
}

/// The lease decision (see the module doc for how to drive it).
#[derive(Debug)]
pub struct LeaseCore {
    timing: LeaseTiming,
    /// The token last held, kept after a failed renewal so that renewing
    /// can still succeed if the lease did not expire meanwhile; 0: none.
    token: u64,
    /// When the last successful attempt was sent: active until `active_for` after it.
    confirmed_at: Option<Instant>,
    /// When the attempt awaiting its answer was sent.
    in_flight: Option<Instant>,
    next_attempt: Instant,
    /// Another holder took the lease this instance held: its calls are the
    /// new holder's now (taken by [`Self::take_superseded`]).
    superseded: bool,
}

impl LeaseCore {
    /// Standby, with a first attempt due at `now`.
    pub fn new(timing: LeaseTiming, now: Instant) -> Self {
        Self {
            timing,
            token: 0,
            confirmed_at: None,
            in_flight: None,
            next_attempt: now,
            superseded: false,
        }
    }

    /// The role at `now`: active only while the last confirmation is recent
    /// enough (a result that came late does not make it active).
    pub fn role(&self, now: Instant) -> Role {
        match self.active_until() {
            Some(until) if now < until => Role::Active { token: self.token },
            _ => Role::Standby,
        }
    }

    /// Until when the role is active (`None`: standby), for the [`Fence`].
    pub fn active_until(&self) -> Option<Instant> {
        match self.confirmed_at {
            Some(at) if self.token != 0 => Some(at + self.timing.active_for()),
            _ => None,
        }
    }

    /// An attempt to send now, if one is due and none is awaited: the token
    /// to renew (0: take the lease if free).
    pub fn poll_attempt(&mut self, now: Instant) -> Option<u64> {
        if self.in_flight.is_some() || now < self.next_attempt {
            return None;
        }
        self.in_flight = Some(now);
        self.next_attempt = now + self.timing.renew_every;
        Some(self.token)
    }

    /// The answer to the attempt in flight. An error changes nothing: the
    /// role lapses on its own at its deadline.
    pub fn on_result(&mut self, result: Result<Attempt, LeaseError>) {
        let Some(sent) = self.in_flight.take() else {
            return;
        };
        match result {
            Ok(Attempt::Held(token)) => {
                self.token = token;
                self.confirmed_at = Some(sent);
            }
            Ok(Attempt::Taken) => {
                self.superseded |= self.token != 0;
                self.token = 0;
                self.confirmed_at = None;
            }
            Err(_) => {}
        }
    }

    /// Whether another holder took the lease from this instance since last asked.
    pub fn take_superseded(&mut self) -> bool {
        std::mem::take(&mut self.superseded)
    }

    /// Gives up the role at once (the lease is being released): returns the
    /// token to release, if any.
    pub fn give_up(&mut self) -> Option<u64> {
        self.confirmed_at = None;
        self.in_flight = None;
        Some(std::mem::take(&mut self.token)).filter(|t| *t != 0)
    }

    /// Nothing to do but let time pass: the role is read with [`Self::role`].
    /// Kept for the driving order the module doc gives.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.role(now) == Role::Standby {
            self.confirmed_at = None;
        }
    }

    /// When to wake next: the next attempt, or the end of the active role.
    pub fn poll_timeout(&self) -> Instant {
        let attempt = match self.in_flight {
            Some(_) => None,
            None => Some(self.next_attempt),
        };
        let lapse = self.confirmed_at.map(|at| at + self.timing.active_for());
        // Awaiting an answer and not active: only the answer wakes (the
        // driver bounds the attempt's time).
        [attempt, lapse]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.next_attempt + self.timing.ttl)
    }
}

#[cfg(test)]
mod tests;
