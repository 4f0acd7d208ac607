//! One simulated caller's script: wait for the greeting, then turns: speak,
//! hear the reply; every few turns, talk over the reply (a barge-in). What
//! it measures goes to the shared [`Findings`], stamped with the time it
//! happened so that each step keeps only its own window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use vg_asterisk_sim::{CallMedia, SimCallId, SimHandle};

/// How callers behave.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Script {
    /// Pause after the agent's reply before the next turn (uniform in this range, ms).
    pub(crate) think_ms: (u64, u64),
    /// Length of each caller utterance.
    pub(crate) utter_ms: u64,
    /// Every n-th turn talks over the reply (0: never).
    pub(crate) barge_every: u32,
    /// How far into the reply the caller starts talking over it.
    pub(crate) barge_after_ms: u64,
    /// How long a call lasts before the caller hangs up (None: until told to stop).
    pub(crate) lifetime_ms: Option<(u64, u64)>,
}

/// Figures gathered by all callers: (when, value) in ms on the simulator clock.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Caller's last frame sent → first packet of the reply heard.
    pub(crate) response_gap: Vec<(f64, f64)>,
    /// Caller's first frame over the reply → last packet of that reply heard.
    pub(crate) barge_in: Vec<(f64, f64)>,
    /// Turns that got no reply within 10 s.
    pub(crate) unanswered: Vec<f64>,
    /// Calls that never heard their greeting within 30 s.
    pub(crate) no_greeting: u64,
}

/// Loud speech-like audio (a 300 Hz tone, well above any energy threshold).
pub(crate) fn speech(ms: u64) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// How often a waiting caller looks at its media: the figures come from the
/// recorded times, not from when they are looked at, so this only has to be
/// cheap for thousands of callers.
const POLL: Duration = Duration::from_millis(100);

async fn until(
    sim: &SimHandle,
    call: SimCallId,
    within: Duration,
    cond: impl Fn(&CallMedia, f64) -> bool,
) -> Option<CallMedia> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = sim.call_media(call);
        if cond(&m, sim.now_ms()) {
            return Some(m);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Quiet: the last talkspurt ended a while ago.
fn quiet(m: &CallMedia, now: f64) -> bool {
    m.heard.last().is_some_and(|s| now - s.1 > 300.0)
}

/// The utterance whose first frame went out at or after `since`, once complete.
fn utterance(m: &CallMedia, since: f64, now: f64) -> Option<(f64, f64)> {
    m.sent
        .iter()
        .rev()
        .find(|u| u.0 >= since)
        .copied()
        .filter(|u| now - u.1 > 60.0)
}

/// Runs one call until `stop` turns true (or its lifetime ends), then hangs up.
pub(crate) async fn run(
    sim: Arc<SimHandle>,
    caller_no: u64,
    script: Script,
    voice: Arc<Vec<i16>>,
    findings: Arc<Mutex<Findings>>,
    mut stop: watch::Receiver<bool>,
) {
    let call = sim.place_inbound_call("+15551234567", &format!("+1555{caller_no:07}"));
    tokio::select! {
        () = converse(&sim, call, script, &voice, &findings) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    sim.caller_hangup(call);
    if script.lifetime_ms.is_some() {
        // Churn places calls without end: forget each one's records once its
        // teardown is over, so the generator's memory stays flat.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            sim.forget_call(call);
        });
    }
}

async fn converse(
    sim: &SimHandle,
    call: SimCallId,
    script: Script,
    voice: &[i16],
    findings: &Mutex<Findings>,
) {
    let lock = || findings.lock().unwrap_or_else(|e| e.into_inner());
    let ends_at = script
        .lifetime_ms
        .map(|(a, b)| sim.now_ms() + fastrand::u64(a..=b) as f64);
    if until(sim, call, Duration::from_secs(30), quiet)
        .await
        .is_none()
    {
        lock().no_greeting += 1;
    }
    let mut turn = 0u32;
    while ends_at.is_none_or(|t| sim.now_ms() < t) {
        let (lo, hi) = script.think_ms;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(lo..=hi))).await;
        turn += 1;
        let barge = script.barge_every > 0 && turn.is_multiple_of(script.barge_every);
        let Some(reply_start) = say_and_hear(sim, call, voice, findings).await else {
            continue;
        };
        if barge {
            let onset_after = reply_start + script.barge_after_ms as f64;
            let wait_ms = (onset_after - sim.now_ms()).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(wait_ms / 1000.0)).await;
            let talked_at = sim.now_ms();
            // The barge-in is a turn of its own too.
            let m = say_and_hear(sim, call, voice, findings).await;
            let media = sim.call_media(call);
            let onset = utterance(&media, talked_at - 1.0, f64::INFINITY).map(|u| u.0);
            // The talkspurt playing at the onset (the reply, unless it had just ended).
            let cut = onset.and_then(|o| media.heard.iter().rfind(|s| s.0 < o));
            if let (Some(_), Some(onset), Some(cut)) = (m, onset, cut)
                && cut.1 >= onset
            {
                lock().barge_in.push((onset, cut.1 - onset));
            }
        }
        until(sim, call, Duration::from_secs(30), quiet).await;
    }
}

/// Says one utterance and waits for the reply's first packet; records the
/// gap. Returns when the reply started (ms), or None without a reply.
async fn say_and_hear(
    sim: &SimHandle,
    call: SimCallId,
    voice: &[i16],
    findings: &Mutex<Findings>,
) -> Option<f64> {
    let said_at = sim.now_ms();
    if !sim.caller_say(call, voice) {
        return None;
    }
    let reply = until(sim, call, Duration::from_secs(10), |m, now| {
        utterance(m, said_at - 1.0, now).is_some_and(|u| m.heard.iter().any(|s| s.0 > u.1))
    })
    .await;
    let mut f = findings.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = reply else {
        f.unanswered.push(said_at);
        return None;
    };
    let u = utterance(&m, said_at - 1.0, f64::INFINITY)?;
    let start = m.heard.iter().find(|s| s.0 > u.1)?.0;
    f.response_gap.push((u.1, start - u.1));
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utterances_count_once_complete_and_quiet_needs_a_pause() {
        let m = CallMedia {
            sent: vec![(100.0, 1080.0), (3000.0, 3980.0)],
            heard: vec![(0.0, 900.0), (1500.0, 2700.0)],
            packets: 100,
            lost: 0,
        };
        assert_eq!(utterance(&m, 2000.0, 4100.0), Some((3000.0, 3980.0)));
        assert_eq!(utterance(&m, 2000.0, 4000.0), None, "still being sent");
        assert_eq!(utterance(&m, 5000.0, 9000.0), None);
        assert!(quiet(&m, 3100.0));
        assert!(!quiet(&m, 2800.0));
        assert!(!quiet(&CallMedia::default(), 10_000.0), "no greeting yet");
        assert_eq!(speech(20).len(), 160);
    }
}
