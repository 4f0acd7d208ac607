//! DTMF as RFC 4733 telephone-event packets.
//!
//! - [`TelephoneEvent`]: the 4-byte payload (event, end bit, volume, duration),
//!   parsed with typed errors and written without allocation.
//! - [`DtmfReceiver`]: folds a digit's many packets (start, updates, three
//!   redundant ends, all with the same RTP timestamp) into one [`DigitEvent`].
//! - [`DtmfSender`]: the packet sequence for sending one digit.
//!
//! Asterisk does not forward RFC 4733 to an externalMedia RTP peer
//! (ari-fixtures/02): on that path digits come from ARI's
//! `ChannelDtmfReceived`. This module serves SIP-facing RTP and tests.

mod receiver;
mod sender;

pub use receiver::{DigitEvent, DtmfReceiver};
pub use sender::{DtmfPacket, DtmfSender};

/// Length of a telephone-event payload.
pub const EVENT_LEN: usize = 4;

/// Why a payload is not a telephone event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// Fewer than 4 bytes.
    #[error("telephone-event payload of {len} bytes, needs 4")]
    TooShort {
        /// Payload length.
        len: usize,
    },
    /// Not a whole number of 4-byte events.
    #[error("telephone-event payload of {len} bytes is not a multiple of 4")]
    BadLength {
        /// Payload length.
        len: usize,
    },
    /// Output buffer smaller than 4 bytes.
    #[error("output buffer of {available} bytes, an event needs 4")]
    BufferTooSmall {
        /// Bytes available.
        available: usize,
    },
    /// Volume is a 6-bit field (0..=63, in -dBm0).
    #[error("volume {0} does not fit in 6 bits")]
    Volume(u8),
    /// Longer than the 16-bit duration field can carry at this clock rate
    /// (about 8 s at 8 kHz); RFC 4733 segments such events, we do not.
    #[error("a {ms} ms event does not fit in the 16-bit duration field")]
    TooLong {
        /// Requested duration in milliseconds.
        ms: u32,
    },
    /// A character that is not a DTMF digit.
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    NotADigit(char),
}

/// One RFC 4733 §2.3 telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0-9 digits, 10 `*`, 11 `#`, 12-15 A-D, 16 flash, others tones.
    pub event: u8,
    /// E bit: the last packet(s) of the event.
    pub end: bool,
    /// Power level in -dBm0 (0..=63; 0 is loudest).
    pub volume: u8,
    /// Duration so far in timestamp units, counted from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses one event. A payload holding several events (4 bytes each,
    /// as some senders pack) yields the first; the rest are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        if payload.len() < EVENT_LEN {
            return Err(DtmfError::TooShort { len: payload.len() });
        }
        if !payload.len().is_multiple_of(EVENT_LEN) {
            return Err(DtmfError::BadLength { len: payload.len() });
        }
        // Bit 6 of the second byte (R) is reserved: ignored on receipt (RFC 4733 §2.3).
        Ok(TelephoneEvent {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3f,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    /// Writes the event into `out[..4]`; returns 4.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, DtmfError> {
        if self.volume > 0x3f {
            return Err(DtmfError::Volume(self.volume));
        }
        let Some(out) = out.get_mut(..EVENT_LEN) else {
            return Err(DtmfError::BufferTooSmall {
                available: out.len(),
            });
        };
        out.copy_from_slice(&self.to_bytes());
        Ok(EVENT_LEN)
    }

    /// The 4 wire bytes (volume masked to 6 bits).
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            if self.end { 0x80 } else { 0 } | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    /// The DTMF digit this event stands for, if it is one.
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// Event code → digit (RFC 4733 §3.2 table).
pub fn event_to_digit(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        _ => return None,
    })
}

/// Digit → event code; accepts lower-case `a`-`d`.
pub fn digit_to_event(digit: char) -> Result<u8, DtmfError> {
    Ok(match digit {
        '0'..='9' => digit as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => digit as u8 - b'A' + 12,
        'a'..='d' => digit as u8 - b'a' + 12,
        _ => return Err(DtmfError::NotADigit(digit)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rfc_4733_example_bytes() {
        // Digit 5, end bit, volume 10, duration 800 (100 ms at 8 kHz).
        let e = TelephoneEvent::parse(&[5, 0x80 | 10, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.digit(), Some('5'));
        // Reserved bit set: ignored.
        let r = TelephoneEvent::parse(&[11, 0x40 | 7, 0, 160]).unwrap();
        assert_eq!((r.end, r.volume, r.digit()), (false, 7, Some('#')));
    }

    #[test]
    fn errors_are_typed() {
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(DtmfError::TooShort { len: 3 })
        );
        assert_eq!(
            TelephoneEvent::parse(&[0; 6]),
            Err(DtmfError::BadLength { len: 6 })
        );
        let loud = TelephoneEvent {
            event: 1,
            end: false,
            volume: 64,
            duration: 0,
        };
        assert_eq!(loud.write_to(&mut [0; 4]), Err(DtmfError::Volume(64)));
        let ok = TelephoneEvent { volume: 10, ..loud };
        assert_eq!(
            ok.write_to(&mut [0; 3]),
            Err(DtmfError::BufferTooSmall { available: 3 })
        );
        assert_eq!(digit_to_event('x'), Err(DtmfError::NotADigit('x')));
    }

    #[test]
    fn digit_table_round_trips() {
        for (i, d) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(digit_to_event(d), Ok(i as u8));
            assert_eq!(event_to_digit(i as u8), Some(d));
        }
        assert_eq!(digit_to_event('c'), Ok(14));
        assert_eq!(event_to_digit(16), None); // flash is not a digit
    }

    proptest! {
        #[test]
        fn parse_of_build_is_identity(event: u8, end: bool, volume in 0u8..64, duration: u16) {
            let e = TelephoneEvent { event, end, volume, duration };
            let mut buf = [0u8; 4];
            prop_assert_eq!(e.write_to(&mut buf), Ok(4));
            prop_assert_eq!(TelephoneEvent::parse(&buf), Ok(e));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = TelephoneEvent::parse(&bytes);
        }
    }
}
