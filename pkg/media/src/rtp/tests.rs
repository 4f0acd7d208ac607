//! Unit and property tests for the RTP parser, builder and sequence arithmetic.

use super::*;
use proptest::prelude::*;

/// First packet of the slin16 capture in ari-fixtures/14 (header as recorded:
/// V=2, no P/X/CC, M=0, PT 118, seq 6359, ts 336, SSRC 0x6266690c), 4 payload bytes.
const FIXTURE_14_SLIN16: [u8; 16] = [
    0x80, 118, 0x18, 0xd7, 0, 0, 0x01, 0x50, 0x62, 0x66, 0x69, 0x0c, 0, 0, 0, 0,
];

#[test]
fn parses_asterisk_slin16_header() {
    let p = RtpPacket::parse(&FIXTURE_14_SLIN16).unwrap();
    assert_eq!(
        p.header,
        RtpHeader {
            marker: false,
            payload_type: 118,
            sequence: 6359,
            timestamp: 336,
            ssrc: 1_650_878_732,
        }
    );
    assert!(p.csrcs.is_empty());
    assert_eq!(p.extension, None);
    assert_eq!(p.payload, &[0, 0, 0, 0]);
    assert_eq!(p.padding, 0);
}

fn header() -> RtpHeader {
    RtpHeader {
        marker: true,
        payload_type: 0,
        sequence: 65535,
        timestamp: u32::MAX,
        ssrc: 0xdead_beef,
    }
}

#[test]
fn full_packet_round_trips() {
    let csrc = [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe];
    let ext = [1, 2, 3, 4, 5, 6, 7, 8];
    let pkt = RtpPacket {
        header: header(),
        csrcs: Csrcs::from_bytes(&csrc).unwrap(),
        extension: Some(RtpExtension {
            profile: 0xbede,
            data: &ext,
        }),
        payload: &[9; 160],
        padding: 3,
    };
    let mut buf = [0u8; 256];
    let n = pkt.write_to(&mut buf).unwrap();
    assert_eq!(n, 12 + 8 + 4 + 8 + 160 + 3);
    assert_eq!(buf[0], 0x80 | 0x20 | 0x10 | 2);
    assert_eq!(&buf[n - 3..n], &[0, 0, 3]);
    let back = RtpPacket::parse(&buf[..n]).unwrap();
    assert_eq!(back, pkt);
    assert_eq!(back.csrcs.iter().collect::<Vec<_>>(), [1, 0xffff_fffe]);
}

#[test]
fn header_fast_path_writes_plain_packet() {
    let mut buf = [0u8; 12 + 160];
    let n = header().write_packet(&[0xff; 160], &mut buf).unwrap();
    assert_eq!(n, 172);
    assert_eq!(&buf[..2], &[0x80, 0x80]);
    assert_eq!(RtpPacket::parse(&buf).unwrap().header, header());
}

#[test]
fn build_errors() {
    let mut small = [0u8; 20];
    let pkt = RtpPacket::new(header(), &[0; 160]);
    assert_eq!(
        pkt.write_to(&mut small),
        Err(RtpBuildError::BufferTooSmall {
            needed: 172,
            available: 20
        })
    );
    let mut buf = [0u8; 64];
    let bad_pt = RtpPacket::new(
        RtpHeader {
            payload_type: 128,
            ..header()
        },
        &[],
    );
    assert_eq!(
        bad_pt.write_to(&mut buf),
        Err(RtpBuildError::PayloadType(128))
    );
    let bad_ext = RtpPacket {
        extension: Some(RtpExtension {
            profile: 1,
            data: &[1, 2, 3],
        }),
        ..RtpPacket::new(header(), &[])
    };
    assert_eq!(
        bad_ext.write_to(&mut buf),
        Err(RtpBuildError::ExtensionLength(3))
    );
    assert!(Csrcs::from_bytes(&[0; 3]).is_none());
    assert!(Csrcs::from_bytes(&[0; 64]).is_none());
}

#[test]
fn each_malformed_case_has_its_error() {
    let base = FIXTURE_14_SLIN16;
    assert_eq!(
        RtpPacket::parse(&base[..11]),
        Err(RtpError::TooShort { len: 11 })
    );
    let mut v1 = base;
    v1[0] = 0x40;
    assert_eq!(
        RtpPacket::parse(&v1),
        Err(RtpError::BadVersion { version: 1 })
    );
    let mut cc = base;
    cc[0] = 0x82; // 2 CSRCs = 8 bytes, only 4 follow
    assert_eq!(
        RtpPacket::parse(&cc),
        Err(RtpError::CsrcOverflow {
            count: 2,
            needed: 20,
            len: 16
        })
    );
    let mut x = base;
    x[0] = 0x90;
    assert_eq!(
        RtpPacket::parse(&x[..14]),
        Err(RtpError::ExtensionHeaderTruncated {
            needed: 16,
            len: 14
        })
    );
    let mut x_long = base;
    x_long[0] = 0x90;
    x_long[15] = 1; // one word announced, zero bytes follow
    assert_eq!(
        RtpPacket::parse(&x_long),
        Err(RtpError::ExtensionOverflow {
            declared: 4,
            available: 0
        })
    );
    let mut p0 = base;
    p0[0] = 0xa0;
    assert_eq!(RtpPacket::parse(&p0), Err(RtpError::ZeroPadding));
    let mut p_big = base;
    p_big[0] = 0xa0;
    p_big[15] = 5;
    assert_eq!(
        RtpPacket::parse(&p_big),
        Err(RtpError::PaddingOverflow {
            padding: 5,
            available: 4
        })
    );
    // Padding that consumes the whole payload is legal: empty payload.
    let mut p_all = base;
    p_all[0] = 0xa0;
    p_all[15] = 4;
    let p = RtpPacket::parse(&p_all).unwrap();
    assert_eq!((p.payload.len(), p.padding), (0, 4));
}

#[test]
fn seq_and_ts_diffs_wrap() {
    assert_eq!(seq_diff(2, 65534), 4);
    assert_eq!(seq_diff(65534, 2), -4);
    assert_eq!(ts_diff(80, u32::MAX - 79), 160);
    assert_eq!(ts_diff(u32::MAX - 79, 80), -160);
    assert_eq!(ts_diff_i64(1 << 33, 5), (1 << 33) - 5);
}

#[test]
fn seq_tracker_counts_wraps_gaps_and_late_packets() {
    let mut t = SeqTracker::new();
    assert_eq!(t.update(65534), SeqUpdate::First { ext: 65534 });
    assert_eq!(t.update(65535), SeqUpdate::InOrder { ext: 65535, gap: 0 });
    assert_eq!(t.update(1), SeqUpdate::InOrder { ext: 65537, gap: 1 });
    assert_eq!(t.cycles(), 1);
    assert_eq!(t.update(0), SeqUpdate::Late { ext: 65536 });
    assert_eq!(t.update(1), SeqUpdate::Late { ext: 65537 });
    assert_eq!(t.highest(), Some(65537));
}

#[test]
fn seq_tracker_restarts_after_two_sequential_jumped_packets() {
    let mut t = SeqTracker::new();
    t.update(100);
    assert_eq!(t.update(20_000), SeqUpdate::Jump);
    assert_eq!(t.highest(), Some(100));
    assert_eq!(t.update(20_001), SeqUpdate::Restart { ext: 20_001 });
    assert_eq!(
        t.update(20_002),
        SeqUpdate::InOrder {
            ext: 20_002,
            gap: 0
        }
    );
    // A lone stray packet far away does not restart.
    assert_eq!(t.update(50_000), SeqUpdate::Jump);
    assert_eq!(
        t.update(20_003),
        SeqUpdate::InOrder {
            ext: 20_003,
            gap: 0
        }
    );
    t.reset();
    assert_eq!(t.highest(), None);
}

#[test]
fn seq_tracker_late_before_start_clamps() {
    let mut t = SeqTracker::new();
    t.update(3);
    assert_eq!(t.update(65530), SeqUpdate::Late { ext: 0 });
}

#[test]
fn timestamp_extender_crosses_wrap() {
    let mut e = TimestampExtender::new();
    let start = u32::MAX - 159;
    assert_eq!(e.extend(start), i64::from(start));
    assert_eq!(e.extend(start.wrapping_add(160)), i64::from(start) + 160);
    assert_eq!(e.extend(start.wrapping_add(320)), i64::from(start) + 320);
    // Late packet lands before the latest, reference stays put.
    assert_eq!(e.extend(start.wrapping_add(160)), i64::from(start) + 160);
    assert_eq!(e.extend(start.wrapping_add(480)), i64::from(start) + 480);
    e.reset();
    assert_eq!(e.extend(7), 7);
}

/// Header, raw CSRC bytes, extension (profile, data), payload, padding.
type PacketParts = (RtpHeader, Vec<u8>, Option<(u16, Vec<u8>)>, Vec<u8>, u8);

fn arb_packet_parts() -> impl Strategy<Value = PacketParts> {
    let header = (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(marker, payload_type, sequence, timestamp, ssrc)| RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
            },
        );
    let csrc = (0usize..=15).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 4));
    let ext = proptest::option::of(
        (any::<u16>(), 0usize..8)
            .prop_flat_map(|(p, w)| (Just(p), proptest::collection::vec(any::<u8>(), w * 4))),
    );
    let payload = proptest::collection::vec(any::<u8>(), 0..400);
    (header, csrc, ext, payload, any::<u8>())
}

proptest! {
    #[test]
    fn parse_of_build_is_identity((h, csrc, ext, payload, padding) in arb_packet_parts()) {
        let pkt = RtpPacket {
            header: h,
            csrcs: Csrcs::from_bytes(&csrc).unwrap(),
            extension: ext.as_ref().map(|(profile, data)| RtpExtension { profile: *profile, data }),
            payload: &payload,
            padding,
        };
        let mut buf = vec![0u8; pkt.wire_len()];
        let n = pkt.write_to(&mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        prop_assert_eq!(RtpPacket::parse(&buf).unwrap(), pkt);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            // A successful parse accounts for every byte.
            prop_assert_eq!(p.wire_len(), bytes.len());
        }
    }

    #[test]
    fn mostly_valid_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 12..200)) {
        bytes[0] = 0x80 | (bytes[0] & 0x3f); // version 2 so the deeper checks run
        if let Ok(p) = RtpPacket::parse(&bytes) {
            prop_assert_eq!(p.wire_len(), bytes.len());
        }
    }

    #[test]
    fn seq_tracker_extends_monotonic_streams(start in any::<u16>(), steps in proptest::collection::vec(1u16..50, 1..3000)) {
        let mut t = SeqTracker::new();
        t.update(start);
        let mut expected = u64::from(start);
        let mut seq = start;
        for step in steps {
            seq = seq.wrapping_add(step);
            expected += u64::from(step);
            prop_assert_eq!(t.update(seq), SeqUpdate::InOrder { ext: expected, gap: step - 1 });
        }
    }
}
