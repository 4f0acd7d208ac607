//! Load-run figures kept as packets arrive, so that thousands of calls can be
//! measured without storing a packet: a lock-free latency histogram and a
//! per-channel summary (talkspurts, loss, pacing against the 20 ms grid).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Width of one histogram bin in microseconds.
const BIN_US: u64 = 10;
/// 0..100 ms in 10 µs bins; the last bin also holds everything above.
const BINS: usize = 10_000;
/// A gap longer than this between two packets starts a new talkspurt.
const SPURT_GAP_MS: f64 = 100.0;
/// Talkspurts and utterances kept per channel (enough for the last few turns).
pub(crate) const KEEP_SPURTS: usize = 64;

/// A latency histogram that many receive tasks add to at once (one relaxed
/// atomic add per sample).
#[derive(Debug)]
pub struct Histogram {
    bins: Box<[AtomicU64]>,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            bins: (0..BINS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Adds one sample.
    pub fn record_us(&self, us: u64) {
        let bin = usize::try_from(us / BIN_US).unwrap_or(BINS).min(BINS - 1);
        self.bins[bin].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Adds one sample in (fractional, non-negative) milliseconds.
    pub fn record_ms(&self, ms: f64) {
        self.record_us((ms.max(0.0) * 1000.0) as u64);
    }

    /// The samples so far, and a fresh start.
    pub fn take(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bins: self
                .bins
                .iter()
                .map(|b| b.swap(0, Ordering::Relaxed))
                .collect(),
            max_us: self.max_us.swap(0, Ordering::Relaxed),
        }
    }
}

/// A histogram's samples at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    bins: Vec<u64>,
    max_us: u64,
}

impl HistogramSnapshot {
    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// The largest sample, in ms.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }

    /// The `q` quantile (0..=1) in ms: the upper edge of the bin it falls in
    /// (never above the largest sample); 0 without samples.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.bins.iter().enumerate() {
            seen += n;
            if seen >= rank {
                if i == BINS - 1 {
                    // The overflow bin has no upper edge but the largest sample.
                    return self.max_ms();
                }
                let edge_us = (i as u64 + 1) * BIN_US;
                return edge_us.min(self.max_us) as f64 / 1000.0;
            }
        }
        self.max_ms()
    }
}

/// The pacing histograms every receive task adds to.
#[derive(Debug, Default)]
pub(crate) struct PacingHistograms {
    /// Lateness of each packet against its talkspurt's 20 ms grid, by kernel arrival time:
    /// what the gateway put on the wire.
    pub(crate) grid: Histogram,
    /// Deviation of each packet spacing from what its timestamps say (kernel arrival times).
    pub(crate) gaps: Histogram,
    /// The same lateness by the time the receive task read each packet: adds the
    /// simulator's own scheduling delays.
    pub(crate) grid_read: Histogram,
    /// Kernel arrival → read by the receive task: the simulator's own receive delay.
    pub(crate) read_delay: Histogram,
}

/// What one channel received, summarised as it arrives.
#[derive(Debug, Default)]
pub(crate) struct RxSummary {
    pub(crate) packets: u64,
    /// Packets missing from sequence gaps inside talkspurts.
    pub(crate) lost: u64,
    /// (first, last) arrival of the latest talkspurts, in ms on the simulator's clock.
    pub(crate) spurts: VecDeque<(f64, f64)>,
    prev: Option<(f64, u16, u32)>,
    /// Smallest (arrival − media time) of the current talkspurt: the grid.
    anchor: f64,
    /// The same by read time.
    anchor_read: f64,
    spurt_ts: u32,
    /// Numbering given to framed audio (AudioSocket, WebSocket): the next frame's number and
    /// media time, as an RTP sender would have stamped it.
    framed_seq: u16,
    framed_ts: u32,
}

impl RxSummary {
    /// One packet at `at_ms` with RTP `seq`/`ts` at `rate`. `h.grid` gets how
    /// late it is against the 20 ms grid of its talkspurt (anchored on the
    /// earliest packet), `h.gaps` how far its spacing from the previous one
    /// strays from what the timestamps say, `h.grid_read` the grid lateness by
    /// `read_ms`. Returns how many packets its arrival shows lost.
    pub(crate) fn packet(&mut self, p: RxPoint, h: &PacingHistograms) -> u64 {
        let RxPoint {
            at_ms,
            read_ms,
            seq,
            ts,
            marker,
            rate,
        } = p;
        self.packets += 1;
        let mut lost = 0;
        let per_ms = f64::from(rate) / 1000.0;
        let same_spurt = self
            .prev
            .is_some_and(|(at, _, _)| !marker && at_ms - at <= SPURT_GAP_MS);
        if same_spurt && let Some((prev_at, prev_seq, prev_ts)) = self.prev {
            let step = seq.wrapping_sub(prev_seq);
            if (2..1000).contains(&step) {
                lost = u64::from(step - 1);
                self.lost += lost;
            }
            let media_gap = f64::from(ts.wrapping_sub(prev_ts)) / per_ms;
            h.gaps.record_ms((at_ms - prev_at - media_gap).abs());
            let media_ms = f64::from(ts.wrapping_sub(self.spurt_ts)) / per_ms;
            let offset = at_ms - media_ms;
            self.anchor = self.anchor.min(offset);
            h.grid.record_ms(offset - self.anchor);
            let offset_read = read_ms - media_ms;
            self.anchor_read = self.anchor_read.min(offset_read);
            h.grid_read.record_ms(offset_read - self.anchor_read);
            if let Some(last) = self.spurts.back_mut() {
                last.1 = at_ms;
            }
        } else {
            self.anchor = at_ms;
            self.anchor_read = read_ms;
            self.spurt_ts = ts;
            if self.spurts.len() == KEEP_SPURTS {
                self.spurts.pop_front();
            }
            self.spurts.push_back((at_ms, at_ms));
        }
        self.prev = Some((at_ms, seq, ts));
        lost
    }
}

impl RxSummary {
    /// One frame of a framed transport (AudioSocket, the media WebSocket) carrying `samples`
    /// at `rate`: numbered as RTP would be (the next sequence number, the media time of the
    /// samples before it), then taken like a packet. A TCP stream loses and reorders nothing,
    /// so no loss shows; pacing and talkspurts do.
    pub(crate) fn frame(
        &mut self,
        at_ms: f64,
        read_ms: f64,
        samples: u32,
        rate: u32,
        h: &PacingHistograms,
    ) -> u64 {
        let (seq, ts) = (self.framed_seq, self.framed_ts);
        self.framed_seq = seq.wrapping_add(1);
        self.framed_ts = ts.wrapping_add(samples);
        let p = RxPoint {
            at_ms,
            read_ms,
            seq,
            ts,
            marker: false,
            rate,
        };
        self.packet(p, h)
    }
}

/// One received packet's timing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxPoint {
    /// When it arrived (the kernel's stamp, or `read_ms` without one).
    pub(crate) at_ms: f64,
    /// When the receive task read it.
    pub(crate) read_ms: f64,
    pub(crate) seq: u16,
    pub(crate) ts: u32,
    pub(crate) marker: bool,
    pub(crate) rate: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_bins_and_never_exceed_the_max() {
        let h = Histogram::default();
        assert_eq!(h.take().quantile_ms(0.99), 0.0);
        for us in 1..=1000 {
            h.record_us(us);
        }
        h.record_us(250_000); // beyond the last bin: counted there, max kept
        let s = h.take();
        assert_eq!(s.count(), 1001);
        assert_eq!(s.quantile_ms(0.5), 0.51);
        // Upper edges of 10 µs bins: 990 µs falls in [990, 1000).
        assert_eq!(s.quantile_ms(0.99), 1.0);
        assert_eq!(s.quantile_ms(1.0), 250.0);
        assert_eq!(s.max_ms(), 250.0);
        assert_eq!(h.take().count(), 0, "take starts afresh");
    }

    fn point(at_ms: f64, seq: u16, ts: u32, marker: bool) -> RxPoint {
        RxPoint {
            at_ms,
            // Read 1 ms late, but 6 ms late for the second packet of the first spurt.
            read_ms: at_ms + if at_ms == 1023.0 { 6.0 } else { 1.0 },
            seq,
            ts,
            marker,
            rate: 8000,
        }
    }

    #[test]
    fn framed_audio_is_numbered_like_rtp_and_timed_against_its_grid() {
        let h = PacingHistograms::default();
        let mut s = RxSummary::default();
        // 20 ms frames of slin16: on time, 4 ms late, on time; a pause; a new spurt.
        for at in [1000.0, 1024.0, 1040.0, 1500.0, 1521.0] {
            assert_eq!(s.frame(at, at + 0.5, 320, 16_000, &h), 0);
        }
        assert_eq!(
            s.spurts.iter().copied().collect::<Vec<_>>(),
            vec![(1000.0, 1040.0), (1500.0, 1521.0)]
        );
        let g = h.grid.take();
        assert_eq!((g.count(), g.max_ms()), (3, 4.0));
        // Spacing off by 4, 4, then 1 ms in the second spurt.
        let d = h.gaps.take();
        assert_eq!((d.count(), d.max_ms()), (3, 4.0));
        assert_eq!((s.packets, s.lost), (5, 0));
    }

    #[test]
    fn summary_finds_spurts_loss_and_lateness_against_the_grid() {
        let h = PacingHistograms::default();
        let mut s = RxSummary::default();
        // A spurt: on time, 3 ms late, on time, one packet lost, 1 ms early.
        s.packet(point(1000.0, 10, 160, true), &h);
        s.packet(point(1023.0, 11, 320, false), &h);
        s.packet(point(1040.0, 12, 480, false), &h);
        assert_eq!(s.packet(point(1079.0, 14, 800, false), &h), 1);
        // A new spurt after a pause; its own grid.
        s.packet(point(2000.0, 15, 8800, true), &h);
        s.packet(point(2020.0, 16, 8960, false), &h);
        assert_eq!(s.packets, 6);
        assert_eq!(s.lost, 1);
        assert_eq!(
            s.spurts.iter().copied().collect::<Vec<_>>(),
            vec![(1000.0, 1079.0), (2000.0, 2020.0)]
        );
        let g = h.grid.take();
        // Late by 3, 0, then the early packet re-anchors the grid (lateness 0), 0.
        assert_eq!((g.count(), g.max_ms()), (4, 3.0));
        let d = h.gaps.take();
        // Spacing off by 3, 3, 1, 0 ms; the median's bin is [1.00, 1.01).
        assert_eq!((d.count(), d.max_ms(), d.quantile_ms(0.5)), (4, 3.0, 1.01));
        // By read time the second packet is 8 ms late, the rest as before.
        let r = h.grid_read.take();
        assert_eq!((r.count(), r.max_ms()), (4, 8.0));
    }
}
