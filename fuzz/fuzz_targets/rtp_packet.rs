//! Arbitrary datagrams into the RTP parser: it must never panic, and a packet
//! it accepts must serialize back to the same bytes (padding bytes aside,
//! which we write as zeros).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::rtp::{RtpPacket, SeqTracker};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert_eq!(p.wire_len(), data.len());
    let mut out = vec![0u8; data.len()];
    let n = p.write_to(&mut out).expect("a parsed packet can be written");
    assert_eq!(n, data.len());
    let body = data.len() - usize::from(p.padding);
    // V, P, X, CC, M, PT and every field are reproduced, so everything
    // before the padding must match byte for byte.
    assert_eq!(&out[..body], &data[..body]);
    assert_eq!(RtpPacket::parse(&out).expect("re-parse"), p);
    let mut t = SeqTracker::new();
    t.update(p.header.sequence);
    t.update(p.header.sequence.wrapping_add(u16::from(p.header.payload_type)));
});
