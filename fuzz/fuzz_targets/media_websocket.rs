//! Arbitrary text into the parser of chan_websocket's control events: it
//! must never panic, and refuse anything longer than its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::media_websocket::{EventError, MAX_EVENT, parse_event};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let r = parse_event(text);
    if text.len() > MAX_EVENT {
        assert_eq!(r, Err(EventError::TooLong(text.len())));
    }
});
