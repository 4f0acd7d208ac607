//! What a load generator reads: per-call media timing and the pacing
//! histograms, without keeping packets (`SimConfig::record_packets = false`).

use super::SimHandle;
use crate::SimCallId;
use crate::media::stats::HistogramSnapshot;
use std::sync::atomic::Ordering::Relaxed;

/// One call's media as the simulated caller saw it, in ms on the clock of
/// [`SimHandle::now_ms`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallMedia {
    /// (first, last) frame the caller sent, per utterance (latest last).
    pub sent: Vec<(f64, f64)>,
    /// (first, last) packet received, per talkspurt of the gateway's audio.
    pub heard: Vec<(f64, f64)>,
    /// Packets received from the gateway.
    pub packets: u64,
    /// Packets missing from sequence gaps inside talkspurts.
    pub lost: u64,
}

/// The pacing of everything received since the last [`SimHandle::take_pacing`].
#[derive(Debug, Clone)]
pub struct Pacing {
    /// How late each packet came against its talkspurt's 20 ms grid, by the kernel's
    /// receive stamp: what the gateway put on the wire, without the simulator's own delays.
    pub grid: HistogramSnapshot,
    /// How far each packet spacing strayed from what the RTP timestamps say (kernel stamps).
    pub gaps: HistogramSnapshot,
    /// `grid` by the time the simulator's receive task read each packet: the gateway's
    /// pacing plus the simulator's (load generator's) own scheduling delays.
    pub grid_read: HistogramSnapshot,
    /// Kernel arrival → read by the receive task, per stamped packet: the simulator's own
    /// receive delay.
    pub read_delay: HistogramSnapshot,
    /// Packets that came with a kernel receive stamp (the others were timed when read).
    pub kernel_stamped: u64,
    /// RTP packets received from the gateway.
    pub packets: u64,
    /// Packets missing from sequence gaps inside talkspurts.
    pub lost: u64,
}

impl SimHandle {
    /// The media figures of `call` (all its media channels merged).
    pub fn call_media(&self, call: SimCallId) -> CallMedia {
        let chans = self.media_channels_of(call);
        let mut out = CallMedia::default();
        for c in &chans {
            out.sent.extend(self.sim.media.sent_utterances(c));
            if let Some(rec) = self.sim.media.record(c) {
                let r = rec.lock().unwrap_or_else(|e| e.into_inner());
                out.heard.extend(r.summary.spurts.iter().copied());
                out.packets += r.summary.packets;
                out.lost += r.summary.lost;
            }
        }
        out.sent.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.heard.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// Pacing figures since the last call, and a fresh start.
    pub fn take_pacing(&self) -> Pacing {
        Pacing {
            grid: self.sim.media.rx.pacing.grid.take(),
            gaps: self.sim.media.rx.pacing.gaps.take(),
            grid_read: self.sim.media.rx.pacing.grid_read.take(),
            read_delay: self.sim.media.rx.pacing.read_delay.take(),
            kernel_stamped: self.sim.media.rx.stamped.swap(0, Relaxed),
            packets: self.sim.media.rx.packets.swap(0, Relaxed),
            lost: self.sim.media.rx.lost.swap(0, Relaxed),
        }
    }

    /// Forgets an ended call's records, so a long run's memory stays flat.
    pub fn forget_call(&self, call: SimCallId) {
        let info = self.sim.lock().calls.remove(&call);
        for c in info.map(|c| c.media_channels).unwrap_or_default() {
            self.sim.media.forget_record(&c);
        }
    }
}
