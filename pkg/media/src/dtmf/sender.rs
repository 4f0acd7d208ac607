//! The packet sequence for sending one digit (RFC 4733 §2.5.1).

use super::{DtmfError, EVENT_LEN, TelephoneEvent, digit_to_event};

/// One telephone-event packet to send, 20 ms after the previous one. The
/// caller (the pacer) assigns sequence numbers and the SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// Marker bit: set on the first packet of the event only.
    pub marker: bool,
    /// The event's start timestamp, the same on every packet of it.
    pub timestamp: u32,
    /// True on the (three) end packets.
    pub end: bool,
    /// The RTP payload.
    pub payload: [u8; EVENT_LEN],
}

/// Builds the packet sequence for a digit at a given RTP clock rate.
#[derive(Debug, Clone, Copy)]
pub struct DtmfSender {
    clock_rate: u32,
}

/// End packets are sent three times (RFC 4733 §2.5.1.4) so one loss does
/// not leave the far end holding the key down.
const END_REPEATS: u32 = 3;

impl DtmfSender {
    /// A sender for a stream with RTP clock `clock_rate` Hz.
    pub fn new(clock_rate: u32) -> Self {
        DtmfSender {
            clock_rate: clock_rate.max(50),
        }
    }

    /// The packets for `digit` held `duration_ms`, at `volume` (-dBm0, 0..=63),
    /// starting at RTP timestamp `start`: a start packet with the marker, an
    /// update every 20 ms, then three end packets with the final duration.
    pub fn packets(
        &self,
        digit: char,
        duration_ms: u32,
        volume: u8,
        start: u32,
    ) -> Result<DtmfPackets, DtmfError> {
        let event = digit_to_event(digit)?;
        if volume > 0x3f {
            return Err(DtmfError::Volume(volume));
        }
        let total = u64::from(duration_ms) * u64::from(self.clock_rate) / 1000;
        let total = u16::try_from(total).map_err(|_| DtmfError::TooLong { ms: duration_ms })?;
        let step = (self.clock_rate / 50) as u16;
        // Updates carry step, 2·step, … below the total; at least one packet
        // precedes the ends so the marker is on a non-end packet.
        let updates = u32::from(total.saturating_sub(1) / step.max(1)).max(1);
        Ok(DtmfPackets {
            event,
            volume,
            start,
            step,
            total,
            updates,
            index: 0,
        })
    }
}

/// Iterator over one digit's packets (no allocation).
#[derive(Debug, Clone)]
pub struct DtmfPackets {
    event: u8,
    volume: u8,
    start: u32,
    step: u16,
    total: u16,
    updates: u32,
    index: u32,
}

impl Iterator for DtmfPackets {
    type Item = DtmfPacket;

    fn next(&mut self) -> Option<DtmfPacket> {
        if self.index >= self.updates + END_REPEATS {
            return None;
        }
        let i = self.index;
        self.index += 1;
        let end = i >= self.updates;
        let duration = if end {
            self.total
        } else {
            // Bounded by `total` since i < updates ≤ (total-1)/step.
            (u32::from(self.step) * (i + 1)).min(u32::from(self.total)) as u16
        };
        let ev = TelephoneEvent {
            event: self.event,
            end,
            volume: self.volume,
            duration,
        };
        Some(DtmfPacket {
            marker: i == 0,
            timestamp: self.start,
            end,
            payload: ev.to_bytes(),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.updates + END_REPEATS).saturating_sub(self.index) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for DtmfPackets {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundred_ms_digit_is_four_updates_and_three_ends() {
        let p: Vec<_> = DtmfSender::new(8000)
            .packets('#', 100, 10, 42)
            .unwrap()
            .collect();
        let parsed: Vec<_> = p
            .iter()
            .map(|x| TelephoneEvent::parse(&x.payload).unwrap())
            .collect();
        let durations: Vec<u16> = parsed.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = p.iter().map(|x| x.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(p[0].marker && p[1..].iter().all(|x| !x.marker));
        assert!(p.iter().all(|x| x.timestamp == 42));
        assert!(parsed.iter().all(|e| e.event == 11 && e.volume == 10));
    }

    #[test]
    fn very_short_digit_still_starts_with_a_marked_non_end_packet() {
        let p: Vec<_> = DtmfSender::new(8000)
            .packets('1', 10, 0, 0)
            .unwrap()
            .collect();
        assert_eq!(p.len(), 4);
        assert!(p[0].marker && !p[0].end);
        assert!(p[1..].iter().all(|x| x.end));
        assert_eq!(TelephoneEvent::parse(&p[3].payload).unwrap().duration, 80);
    }

    #[test]
    fn rejects_bad_arguments() {
        let s = DtmfSender::new(8000);
        assert_eq!(
            s.packets('x', 100, 0, 0).err(),
            Some(DtmfError::NotADigit('x'))
        );
        assert_eq!(
            s.packets('1', 100, 64, 0).err(),
            Some(DtmfError::Volume(64))
        );
        assert_eq!(
            s.packets('1', 9000, 0, 0).err(),
            Some(DtmfError::TooLong { ms: 9000 })
        );
        assert_eq!(s.packets('1', 100, 0, 0).unwrap().len(), 7);
    }
}
