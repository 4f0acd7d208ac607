//! The frame of one spooled record: `len: u32 LE | crc32(payload): u32 LE | payload`.
//!
//! The length comes first so a reader can skip a record without parsing it; the
//! CRC covers the payload so a record torn by a crash (short write) or a
//! flipped bit is detected instead of being replayed as garbage.

/// Bytes before the payload.
pub(crate) const HEADER: usize = 8;

/// The largest payload accepted. Call events are a few hundred bytes; the cap
/// keeps a corrupt length field from making the reader allocate gigabytes.
pub(crate) const MAX_PAYLOAD: usize = 1024 * 1024;

/// Appends the frame of `payload` to `out`.
pub(crate) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("payload size checked by the caller");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What is at the start of a byte slice.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole, intact record and the bytes it takes (header included).
    Record(&'a [u8], usize),
    /// Nothing: the slice is empty (a clean end).
    End,
    /// A whole frame whose payload fails its CRC (a flipped bit): its length
    /// is plausible, so the records after it can still be read.
    Corrupt(usize),
    /// A frame cut short or with an impossible length: a torn write.
    Torn,
}

/// Decodes the record at the start of `buf`.
pub(crate) fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.is_empty() {
        return Decoded::End;
    }
    if buf.len() < HEADER {
        return Decoded::Torn;
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if len > MAX_PAYLOAD || buf.len() < HEADER + len {
        return Decoded::Torn;
    }
    let payload = &buf[HEADER..HEADER + len];
    if crc32fast::hash(payload) != crc {
        return Decoded::Corrupt(HEADER + len);
    }
    Decoded::Record(payload, HEADER + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tears_and_flips() {
        let mut buf = Vec::new();
        encode(b"hello", &mut buf);
        encode(b"", &mut buf);
        assert_eq!(decode(&buf), Decoded::Record(b"hello", 13));
        assert_eq!(decode(&buf[13..]), Decoded::Record(b"", 8));
        assert_eq!(decode(&buf[21..]), Decoded::End);
        for cut in 1..13 {
            assert_eq!(decode(&buf[..cut]), Decoded::Torn, "cut at {cut}");
        }
        let mut flipped = buf.clone();
        flipped[10] ^= 1;
        assert_eq!(decode(&flipped), Decoded::Corrupt(13));
        let mut huge = buf.clone();
        huge[3] = 0xff;
        assert_eq!(decode(&huge), Decoded::Torn);
    }
}
