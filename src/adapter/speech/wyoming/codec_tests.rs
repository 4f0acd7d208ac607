use serde_json::json;

use super::codec::*;

fn decode_all(bytes: &[u8], limits: Limits) -> Result<Vec<Event>, FrameError> {
    let mut decoder = Decoder::new(limits);
    decoder.feed(bytes);
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event()? {
        events.push(event);
    }
    Ok(events)
}

#[test]
fn decodes_what_the_python_library_writes() {
    // Byte for byte what `wyoming.event.async_write_event` produces for an
    // audio chunk (data in its own block) and a transcript.
    let mut wire = Vec::new();
    let data = br#"{"rate": 16000, "width": 2, "channels": 1, "timestamp": null}"#;
    wire.extend_from_slice(
        format!(
            "{{\"type\": \"audio-chunk\", \"version\": \"1.5.4\", \"data_length\": {}, \"payload_length\": 4}}\n",
            data.len()
        )
        .as_bytes(),
    );
    wire.extend_from_slice(data);
    wire.extend_from_slice(&[1, 0, 0xff, 0xff]);
    wire.extend_from_slice(b"{\"type\": \"audio-stop\", \"version\": \"1.5.4\"}\n");
    let events = decode_all(&wire, Limits::default()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, "audio-chunk");
    assert_eq!(events[0].data["rate"], json!(16000));
    assert_eq!(events[0].payload, vec![1, 0, 0xff, 0xff]);
    assert_eq!(events[1], Event::new("audio-stop"));
}

#[test]
fn header_data_and_block_merge_block_winning() {
    let wire = b"{\"type\":\"x\",\"data\":{\"a\":1,\"b\":1},\"data_length\":7}\n{\"b\":2}";
    let events = decode_all(wire, Limits::default()).unwrap();
    assert_eq!(events[0].data["a"], json!(1));
    assert_eq!(events[0].data["b"], json!(2));
}

#[test]
fn round_trips_byte_by_byte() {
    let event = Event::new("synthesize")
        .with("text", "Hello, wörld\n")
        .with("voice", json!({"name": "en_US-joe-medium"}));
    let chunk = Event {
        payload: (0..=255).collect(),
        ..Event::new("audio-chunk").with("rate", 22050)
    };
    let mut wire = Vec::new();
    encode(&event, &mut wire);
    encode(&chunk, &mut wire);
    encode(&Event::new("audio-stop"), &mut wire);
    let mut decoder = Decoder::new(Limits::default());
    let mut events = Vec::new();
    for byte in &wire {
        decoder.feed(std::slice::from_ref(byte));
        while let Some(e) = decoder.next_event().unwrap() {
            events.push(e);
        }
    }
    assert_eq!(events, vec![event, chunk, Event::new("audio-stop")]);
}

#[test]
fn bounds_are_enforced_before_buffering() {
    let small = Limits {
        header: 64,
        data: 8,
        payload: 16,
    };
    let long = vec![b'{'; 64];
    assert_eq!(
        decode_all(&long, small),
        Err(FrameError::HeaderTooLong { limit: 64 })
    );
    // A short unfinished header just waits for more.
    assert_eq!(decode_all(b"{\"type\":", small), Ok(vec![]));
    let huge = b"{\"type\":\"a\",\"payload_length\":18446744073709551615}\n";
    assert!(matches!(
        decode_all(huge, small),
        Err(FrameError::TooLarge {
            what: "payload",
            ..
        })
    ));
    let data = b"{\"type\":\"a\",\"data_length\":9}\n";
    assert!(matches!(
        decode_all(data, small),
        Err(FrameError::TooLarge { what: "data", .. })
    ));
}

#[test]
fn malformed_input_is_a_typed_error() {
    let cases: [(&[u8], &str); 6] = [
        (b"not json\n", "header"),
        (b"[1,2]\n", "header"),
        (b"{\"data\":{}}\n", "header"),
        (b"{\"type\":\"a\",\"payload_length\":-1}\n", "header"),
        (b"{\"type\":\"a\",\"data\":3}\n", "header"),
        (b"{\"type\":\"a\",\"data_length\":2}\n[]", "data"),
    ];
    for (wire, what) in cases {
        let got = decode_all(wire, Limits::default());
        match (what, &got) {
            ("header", Err(FrameError::BadHeader(_))) | ("data", Err(FrameError::BadData(_))) => {}
            _ => panic!("{:?} gave {got:?}", String::from_utf8_lossy(wire)),
        }
    }
}

#[test]
fn random_bytes_never_panic_or_overallocate() {
    // A deterministic xorshift stream stands in for a fuzzer here; mutated
    // valid frames reach deeper than pure noise.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut valid = Vec::new();
    encode(&Event::new("audio-chunk").with("rate", 8000), &mut valid);
    let limits = Limits {
        header: 256,
        data: 256,
        payload: 256,
    };
    for _ in 0..20_000 {
        let mut wire = valid.clone();
        for _ in 0..(next() % 4) {
            let at = (next() as usize) % wire.len();
            wire[at] = next() as u8;
        }
        let noise = (next() % 64) as usize;
        wire.extend((0..noise).map(|_| next() as u8));
        let mut decoder = Decoder::new(limits);
        decoder.feed(&wire);
        for _ in 0..4 {
            match decoder.next_event() {
                Ok(Some(e)) => assert!(e.payload.len() <= 256),
                Ok(None) | Err(_) => break,
            }
        }
    }
}
