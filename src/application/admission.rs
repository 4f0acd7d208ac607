//! Call admission: whether new calls are taken, and how many are live.
//!
//! Every call holds a [`CallPermit`] for its whole life; dropping it (on any
//! path, including a panic in the call's task) counts the call as ended. A
//! drain stops new admissions and lets the shutdown wait for the count to
//! reach zero.

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// Why a new call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The instance is shutting down.
    #[error("the gateway is draining and takes no new calls")]
    Draining,
}

/// Gate for new calls plus the live-call count.
#[derive(Debug)]
pub struct CallAdmission {
    accepting: AtomicBool,
    live: watch::Sender<usize>,
}

impl Default for CallAdmission {
    fn default() -> Self {
        Self {
            accepting: AtomicBool::new(true),
            live: watch::Sender::new(0),
        }
    }
}

/// Proof that a call was admitted; the call counts as live until it is dropped.
#[derive(Debug)]
#[must_use = "the call counts as ended as soon as the permit is dropped"]
pub struct CallPermit {
    live: watch::Sender<usize>,
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        self.live.send_modify(|n| *n -= 1);
    }
}

impl CallAdmission {
    /// Admits a call unless draining.
    pub fn try_admit(&self) -> Result<CallPermit, AdmissionError> {
        if !self.accepting.load(Ordering::Acquire) {
            return Err(AdmissionError::Draining);
        }
        self.live.send_modify(|n| *n += 1);
        Ok(CallPermit {
            live: self.live.clone(),
        })
    }

    /// Stops admitting calls. Live calls go on.
    pub fn begin_drain(&self) {
        self.accepting.store(false, Ordering::Release);
    }

    /// Whether new calls are refused.
    pub fn is_draining(&self) -> bool {
        !self.accepting.load(Ordering::Acquire)
    }

    /// Number of live calls.
    pub fn live_calls(&self) -> usize {
        *self.live.borrow()
    }

    /// Resolves when no call is live.
    pub async fn wait_idle(&self) {
        let mut rx = self.live.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_refuses_new_calls_and_waits_for_live_ones() {
        let a = CallAdmission::default();
        let p1 = a.try_admit().unwrap();
        let p2 = a.try_admit().unwrap();
        assert_eq!(a.live_calls(), 2);
        a.begin_drain();
        assert_eq!(a.try_admit().unwrap_err(), AdmissionError::Draining);

        let idle = a.wait_idle();
        tokio::pin!(idle);
        drop(p1);
        assert!(
            futures_util::poll!(&mut idle).is_pending(),
            "one call still live"
        );
        drop(p2);
        idle.await;
        assert_eq!(a.live_calls(), 0);
    }
}
