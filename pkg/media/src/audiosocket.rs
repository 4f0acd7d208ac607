//! AudioSocket framing (Asterisk `res_audiosocket`), sans-IO.
//!
//! Every message is `kind: u8`, `length: u16` big-endian, then `length`
//! payload bytes. What Asterisk 20.20.1 does (`res/res_audiosocket.c`,
//! `channels/chan_audiosocket.c`, ari-fixtures/12):
//! - It connects, and sends [`Kind::Uuid`] (16 raw bytes) once the channel
//!   is called: the id given as externalMedia's `data`.
//! - Audio is little-endian signed linear, one kind per rate: `0x10` slin
//!   (8 kHz, 320 bytes per 20 ms), `0x12` slin16 (640 bytes), `0x11`,
//!   `0x13`-`0x18` for 12 to 192 kHz. It sends the kind of the channel's
//!   format and accepts any of them from us (it reads the format from the
//!   kind, so ours must match the negotiated one or Asterisk transcodes).
//! - [`Kind::Dtmf`]: one ASCII digit, from Asterisk only.
//! - [`Kind::Hangup`] (empty): from us only; Asterisk never sends it, it
//!   closes the connection. Any kind Asterisk does not expect from us (UUID,
//!   DTMF, error) makes it drop the connection.
//! - [`Kind::Error`] (`0xff`): from Asterisk, an error on its side.
//!
//! Lengths are bounded by [`MAX_PAYLOAD`]: anything longer is refused
//! before a byte of it is buffered.

/// The longest payload taken: 20 ms of slin192 (7,680 bytes), rounded up.
/// Asterisk sends one frame per message; a peer announcing more is refused.
pub const MAX_PAYLOAD: usize = 8192;
/// Header bytes in front of every payload.
pub const HEADER_LEN: usize = 3;

/// Message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0x00`: hang up (we send it; Asterisk closes the socket instead).
    Hangup,
    /// `0x01`: the 16-byte UUID Asterisk presents first.
    Uuid,
    /// `0x03`: one ASCII DTMF digit.
    Dtmf,
    /// `0x10`-`0x18`: little-endian signed linear audio at this rate.
    Audio {
        /// Sample rate in Hz.
        rate: u32,
    },
    /// `0xff`: an error on Asterisk's side (payload: an error code, if any).
    Error,
}

/// Audio kinds and their rates (`ast_audiosocket_msg_kind`).
const AUDIO_KINDS: [(u8, u32); 9] = [
    (0x10, 8_000),
    (0x11, 12_000),
    (0x12, 16_000),
    (0x13, 24_000),
    (0x14, 32_000),
    (0x15, 44_100),
    (0x16, 48_000),
    (0x17, 96_000),
    (0x18, 192_000),
];

impl Kind {
    /// The kind byte, or `None` for an audio rate AudioSocket has no kind for.
    pub fn to_byte(self) -> Option<u8> {
        Some(match self {
            Kind::Hangup => 0x00,
            Kind::Uuid => 0x01,
            Kind::Dtmf => 0x03,
            Kind::Error => 0xff,
            Kind::Audio { rate } => AUDIO_KINDS.iter().find(|(_, r)| *r == rate)?.0,
        })
    }

    /// The kind of a byte, if AudioSocket defines it.
    pub fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0x00 => Kind::Hangup,
            0x01 => Kind::Uuid,
            0x03 => Kind::Dtmf,
            0xff => Kind::Error,
            _ => Kind::Audio {
                rate: AUDIO_KINDS.iter().find(|(k, _)| *k == b)?.1,
            },
        })
    }
}

/// One parsed message, borrowing its payload from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// The connection's id.
    Uuid([u8; 16]),
    /// Audio, little-endian 16-bit samples (an even number of bytes).
    Audio {
        /// Sample rate.
        rate: u32,
        /// The samples' bytes.
        pcm: &'a [u8],
    },
    /// A key press: `0-9`, `*`, `#`, `A-D`.
    Dtmf(char),
    /// Hang up.
    Hangup,
    /// Asterisk reports an error (its code, when given).
    Error(Option<u8>),
}

/// Why bytes are not an AudioSocket message. The connection cannot be
/// resynchronised after any of them: close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A kind byte AudioSocket does not define.
    #[error("unknown AudioSocket kind {0:#04x}")]
    UnknownKind(u8),
    /// A length over [`MAX_PAYLOAD`].
    #[error("AudioSocket message of {0} bytes (at most {MAX_PAYLOAD})")]
    TooLong(usize),
    /// A length the kind does not allow (UUID 16, DTMF 1, hangup 0, audio
    /// even and not empty).
    #[error("AudioSocket {kind:?} message of {len} bytes")]
    BadLength {
        /// The kind.
        kind: Kind,
        /// Its announced length.
        len: usize,
    },
    /// A DTMF byte that is no digit.
    #[error("AudioSocket DTMF byte {0:#04x} is not a digit")]
    BadDigit(u8),
}

/// Parses the first message of `buf`: `Ok(None)` while it is incomplete,
/// else the message and the bytes it took. The header is checked as soon
/// as it is in, so a bad length is refused before its payload arrives.
pub fn parse(buf: &[u8]) -> Result<Option<(Message<'_>, usize)>, FrameError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let kind = Kind::from_byte(header[0]).ok_or(FrameError::UnknownKind(header[0]))?;
    let len = usize::from(u16::from_be_bytes([header[1], header[2]]));
    if len > MAX_PAYLOAD {
        return Err(FrameError::TooLong(len));
    }
    let ok = match kind {
        Kind::Hangup => len == 0,
        Kind::Uuid => len == 16,
        Kind::Dtmf => len == 1,
        Kind::Audio { .. } => len > 0 && len % 2 == 0,
        Kind::Error => len <= 1,
    };
    if !ok {
        return Err(FrameError::BadLength { kind, len });
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Ok(None);
    };
    let message = match kind {
        Kind::Hangup => Message::Hangup,
        Kind::Uuid => {
            let mut id = [0; 16];
            id.copy_from_slice(payload);
            Message::Uuid(id)
        }
        Kind::Dtmf => {
            let b = payload[0];
            if !matches!(b, b'0'..=b'9' | b'*' | b'#' | b'A'..=b'D') {
                return Err(FrameError::BadDigit(b));
            }
            Message::Dtmf(char::from(b))
        }
        Kind::Audio { rate } => Message::Audio { rate, pcm: payload },
        Kind::Error => Message::Error(payload.first().copied()),
    };
    Ok(Some((message, HEADER_LEN + len)))
}

/// The header of a message of `kind` with `len` payload bytes; `None` for
/// an audio rate without a kind or a length over [`MAX_PAYLOAD`].
pub fn header(kind: Kind, len: usize) -> Option<[u8; HEADER_LEN]> {
    let k = kind.to_byte()?;
    let len = u16::try_from(len)
        .ok()
        .filter(|&l| usize::from(l) <= MAX_PAYLOAD)?;
    let [hi, lo] = len.to_be_bytes();
    Some([k, hi, lo])
}

/// The hangup message.
pub const HANGUP: [u8; HEADER_LEN] = [0x00, 0x00, 0x00];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_asterisk_sent_in_fixture_12() {
        // rx 0x01 and rx 0x03 of ari-fixtures/12, byte for byte.
        let uuid = hex("01001024cfda694aa540c19dda7efedfbb10d5");
        let (m, n) = parse(&uuid).unwrap().unwrap();
        assert_eq!(n, 19);
        assert_eq!(
            m,
            Message::Uuid(hex("24cfda694aa540c19dda7efedfbb10d5").try_into().unwrap())
        );
        assert_eq!(
            parse(&hex("03000131")).unwrap(),
            Some((Message::Dtmf('1'), 4))
        );
        let mut audio = vec![0x12, 0x02, 0x80];
        audio.extend(std::iter::repeat_n(7u8, 640));
        let (m, n) = parse(&audio).unwrap().unwrap();
        assert_eq!(n, 643);
        assert!(matches!(m, Message::Audio { rate: 16_000, pcm } if pcm.len() == 640));
    }

    #[test]
    fn waits_for_the_rest_and_refuses_bad_headers_early() {
        assert_eq!(parse(&[0x10, 0x01]), Ok(None));
        assert_eq!(parse(&[0x10, 0x01, 0x40, 0, 0]), Ok(None));
        assert_eq!(parse(&[0x02, 0, 0]), Err(FrameError::UnknownKind(2)));
        assert_eq!(parse(&[0x10, 0xff, 0xff]), Err(FrameError::TooLong(65_535)));
        assert!(matches!(
            parse(&[0x01, 0x00, 0x0f]),
            Err(FrameError::BadLength { .. })
        ));
        assert!(matches!(
            parse(&[0x10, 0x00, 0x03]),
            Err(FrameError::BadLength { .. })
        ));
        assert!(matches!(
            parse(&[0x10, 0x00, 0x00]),
            Err(FrameError::BadLength { .. })
        ));
        assert_eq!(parse(&[0x03, 0, 1, b'x']), Err(FrameError::BadDigit(b'x')));
        assert_eq!(parse(&HANGUP), Ok(Some((Message::Hangup, 3))));
    }

    #[test]
    fn headers_for_every_audio_rate_and_none_for_others() {
        assert_eq!(
            header(Kind::Audio { rate: 16_000 }, 640),
            Some([0x12, 2, 128])
        );
        assert_eq!(
            header(Kind::Audio { rate: 8_000 }, 320),
            Some([0x10, 1, 64])
        );
        assert_eq!(header(Kind::Audio { rate: 22_050 }, 2), None);
        assert_eq!(header(Kind::Audio { rate: 8_000 }, MAX_PAYLOAD + 2), None);
        for (b, _) in AUDIO_KINDS {
            assert_eq!(Kind::from_byte(b).and_then(Kind::to_byte), Some(b));
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Messages a peer may send, serialized.
    fn message() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 16).prop_map(|id| {
                let mut m = vec![0x01, 0, 16];
                m.extend(id);
                m
            }),
            (0usize..AUDIO_KINDS.len(), 1usize..400).prop_map(|(k, n)| {
                let mut m = vec![AUDIO_KINDS[k].0];
                m.extend(u16::try_from(2 * n).unwrap().to_be_bytes());
                m.extend((0..2 * n).map(|i| i as u8));
                m
            }),
            proptest::sample::select(b"0123456789*#ABCD".to_vec()).prop_map(|d| vec![3, 0, 1, d]),
            Just(HANGUP.to_vec()),
        ]
    }

    proptest! {
        /// Arbitrary bytes never panic, never take more than given, and an
        /// error or an incomplete message leaves no partial state (parse is
        /// a pure function of the bytes).
        #[test]
        fn arbitrary_bytes_are_parsed_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut at = 0;
            while let Ok(Some((_, n))) = parse(&bytes[at..]) {
                prop_assert!(n >= HEADER_LEN && at + n <= bytes.len());
                at += n;
            }
        }

        /// A stream of valid messages split anywhere yields the same messages
        /// as whole, in order: what a TCP reader that buffers and re-parses sees.
        #[test]
        fn a_split_stream_yields_the_same_messages(
            messages in proptest::collection::vec(message(), 1..20),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let stream: Vec<u8> = messages.concat();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            cuts.push(stream.len());
            cuts.sort_unstable();
            let (mut buf, mut got, mut from) = (Vec::new(), Vec::new(), 0);
            for cut in cuts {
                buf.extend_from_slice(&stream[from..cut]);
                from = cut;
                while let Some((_, n)) = parse(&buf).unwrap() {
                    got.push(buf[..n].to_vec());
                    buf.drain(..n);
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(got, messages);
        }
    }
}
