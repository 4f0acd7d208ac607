//! Arbitrary bytes into the AudioSocket parser, as a TCP peer may send
//! them: it must never panic or take more than it was given, and every
//! message it accepts re-serializes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::audiosocket::{HEADER_LEN, Kind, Message, header, parse};

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Ok(Some((m, n))) = parse(&data[at..]) {
        assert!(n >= HEADER_LEN && at + n <= data.len());
        let (kind, payload): (Kind, &[u8]) = match m {
            Message::Uuid(ref id) => (Kind::Uuid, id),
            Message::Audio { rate, pcm } => (Kind::Audio { rate }, pcm),
            Message::Dtmf(_) => (Kind::Dtmf, &data[at + HEADER_LEN..at + n]),
            Message::Hangup => (Kind::Hangup, &[]),
            Message::Error(_) => (Kind::Error, &data[at + HEADER_LEN..at + n]),
        };
        let h = header(kind, payload.len()).expect("an accepted message has a header");
        assert_eq!(&h[..], &data[at..at + HEADER_LEN]);
        assert_eq!(payload, &data[at + HEADER_LEN..at + n]);
        at += n;
    }
});
