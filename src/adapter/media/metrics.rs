//! Counters of the media endpoint, shared by every leg.
//!
//! Each counter is an `Arc` around an atomic: legs add to clones of them, so a
//! packet costs one atomic add and no label lookup.

use prometheus_client::{
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// Media figures of all legs. Cloning shares the counters.
#[derive(Debug, Clone, Default)]
pub struct MediaMetrics {
    /// RTP datagrams received from the peer.
    pub packets_in: Counter,
    /// RTP packets sent.
    pub packets_out: Counter,
    /// Datagrams from another address than the leg's peer.
    pub dropped_foreign: Counter,
    /// Datagrams refused by the inbound pipeline (not RTP, wrong payload type,
    /// SSRC or length, bad telephone event).
    pub dropped_malformed: Counter,
    /// Packets the jitter buffer dropped as too late to play.
    pub dropped_late: Counter,
    /// Outbound packets due while no peer was known.
    pub dropped_no_peer: Counter,
    /// Caller audio frames the session was too slow to take.
    pub audio_frames_dropped: Counter,
    /// Control events (VAD, DTMF, latch, drained) lost to a full channel: a bug
    /// or a stuck session.
    pub control_events_lost: Counter,
    /// Packets sent later than their slot by more than the pacer's tolerance.
    pub late_sends: Counter,
    /// Times outbound audio ran dry mid-talkspurt.
    pub underruns: Counter,
    /// Caller audio frames that came at 16 kHz (slin16 over AudioSocket or
    /// the media WebSocket) and reached speech recognition at 16 kHz, with
    /// no 8 kHz step on the way: how much of the traffic is wideband.
    pub wideband_frames_in: Counter,
    /// Times the pacing thread found a leg's lock held (its task was using
    /// it) and came back later: many a second means leg tasks are preempted
    /// while they hold it, a saturated host.
    pub pacer_lock_busy: Counter,
    /// Legs open now.
    pub legs_open: Gauge,
}

impl MediaMetrics {
    /// Counters registered in `registry` (names are unprefixed; the gateway's
    /// registry adds `voicegw_`).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        let counters = [
            (
                "media_packets_in",
                "RTP datagrams received from the peer",
                &m.packets_in,
            ),
            ("media_packets_out", "RTP packets sent", &m.packets_out),
            (
                "media_dropped_foreign",
                "Datagrams from an address other than the peer",
                &m.dropped_foreign,
            ),
            (
                "media_dropped_malformed",
                "Datagrams refused as malformed or unexpected RTP",
                &m.dropped_malformed,
            ),
            (
                "media_dropped_late",
                "Packets dropped by the jitter buffer as too late",
                &m.dropped_late,
            ),
            (
                "media_dropped_no_peer",
                "Outbound packets due while no peer was known",
                &m.dropped_no_peer,
            ),
            (
                "media_audio_frames_dropped",
                "Caller audio frames the session was too slow to take",
                &m.audio_frames_dropped,
            ),
            (
                "media_control_events_lost",
                "VAD/DTMF/latch/drained events lost to a full channel",
                &m.control_events_lost,
            ),
            (
                "media_late_sends",
                "Packets sent later than their slot by more than the tolerance",
                &m.late_sends,
            ),
            (
                "media_underruns",
                "Times outbound audio ran dry mid-talkspurt",
                &m.underruns,
            ),
            (
                "media_wideband_frames_in",
                "Caller audio frames taken at 16 kHz end to end (no 8 kHz step)",
                &m.wideband_frames_in,
            ),
            (
                "media_pacer_lock_busy",
                "Times the pacing thread found a leg's lock held and came back later",
                &m.pacer_lock_busy,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "media_legs_open",
            "Media legs open now",
            m.legs_open.clone(),
        );
        m
    }
}

/// Pipeline figures already added to the shared counters, so that the next
/// sync adds only the difference.
#[derive(Debug, Default)]
pub(crate) struct Synced {
    pub(crate) late: u64,
    pub(crate) late_sends: u64,
    pub(crate) underruns: u64,
}

impl Synced {
    /// Adds what grew since the last call.
    pub(crate) fn sync(&mut self, m: &MediaMetrics, late: u64, late_sends: u64, underruns: u64) {
        m.dropped_late.inc_by(late.saturating_sub(self.late));
        m.late_sends
            .inc_by(late_sends.saturating_sub(self.late_sends));
        m.underruns.inc_by(underruns.saturating_sub(self.underruns));
        *self = Self {
            late,
            late_sends,
            underruns,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_counters_show_up_in_the_exposition() {
        let mut registry = Registry::with_prefix("voicegw");
        let m = MediaMetrics::register(&mut registry);
        m.packets_in.inc_by(3);
        m.legs_open.set(2);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("voicegw_media_packets_in_total 3"), "{text}");
        assert!(text.contains("voicegw_media_legs_open 2"), "{text}");
        assert!(
            text.contains("voicegw_media_dropped_foreign_total 0"),
            "{text}"
        );
    }
}
