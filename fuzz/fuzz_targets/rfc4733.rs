//! Arbitrary bytes into the RFC 4733 parser and the de-duplicating receiver:
//! never panic; a parsed event writes back to the same 4 bytes. The input is
//! cut into (timestamp, payload) packets to exercise the receiver's state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::dtmf::{DtmfReceiver, TelephoneEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = TelephoneEvent::parse(data) {
        let mut out = [0u8; 4];
        e.write_to(&mut out).expect("6-bit volume from the parser");
        // The reserved R bit is dropped on parse, so mask it out.
        assert_eq!(out[0], data[0]);
        assert_eq!(out[1], data[1] & 0xbf);
        assert_eq!(&out[2..], &data[2..4]);
    }
    let mut r = DtmfReceiver::new(8000);
    // Each packet: 1 byte of timestamp step, then a 4-byte payload.
    let mut ts: u32 = 0;
    for chunk in data.chunks(5) {
        ts = ts.wrapping_add(u32::from(chunk[0]) * 40);
        let _ = r.handle(ts, &chunk[1..]);
        while r.poll_event().is_some() {}
    }
    let _ = r.finish();
});
