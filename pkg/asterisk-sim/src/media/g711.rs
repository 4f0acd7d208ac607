//! G.711 µ-law and A-law (ITU-T G.711), the classic segment algorithms, kept local so the
//! simulator shares no code with the gateway's media crate it is testing.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32_635;

/// Encodes one linear sample to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// Decodes one µ-law byte.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let sign = u & 0x80;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// Encodes one linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    const SEG_END: [i32; 8] = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
    let mut v = i32::from(sample) >> 3;
    let mask = if v >= 0 { 0xd5 } else { 0x55 };
    if v < 0 {
        v = -v - 1;
    }
    let Some(seg) = SEG_END.iter().position(|end| v <= *end) else {
        return (0x7f ^ mask) as u8;
    };
    let quant = if seg < 2 {
        (v >> 1) & 0x0f
    } else {
        (v >> seg) & 0x0f
    };
    (((seg as i32) << 4 | quant) ^ mask) as u8
}

/// Decodes one A-law byte.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let seg = i32::from((a & 0x70) >> 4);
    let mut t = i32::from(a & 0x0f) << 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (seg - 1),
    };
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_is_close() {
        for s in [-32_000i16, -1000, -1, 0, 1, 100, 1000, 12_345, 32_000] {
            let d = ulaw_decode(ulaw_encode(s));
            assert!(
                (i32::from(d) - i32::from(s)).abs() <= i32::from(s).abs() / 16 + 8,
                "{s} -> {d}"
            );
        }
        assert_eq!(ulaw_encode(0), 0xff);
    }

    #[test]
    fn alaw_round_trip_is_close() {
        for s in [-32_000i16, -1000, -8, 0, 8, 100, 1000, 12_345, 32_000] {
            let d = alaw_decode(alaw_encode(s));
            assert!(
                (i32::from(d) - i32::from(s)).abs() <= i32::from(s).abs() / 16 + 16,
                "{s} -> {d}"
            );
        }
        assert_eq!(alaw_encode(0), 0xd5);
    }
}
