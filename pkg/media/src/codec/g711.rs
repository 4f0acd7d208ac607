//! G.711 reference algorithms (ITU-T G.191 `g711.c`) and the lookup tables
//! built from them at compile time.
//!
//! The tables make the per-sample cost one indexed load. They are generated
//! from the ITU reference code itself, so the tests only need to prove the
//! indexing is right (every 16-bit input, every 8-bit code) and that the
//! reference transcription matches a second, independent formulation.

/// ITU G.191 `ulaw_compress` for one 16-bit sample (only the 14 MSBs count).
pub(super) const fn ulaw_compress_ref(x: i16) -> u8 {
    let absno: i32 = if x < 0 {
        ((!x) as i32 >> 2) + 33
    } else {
        (x as i32 >> 2) + 33
    };
    let absno = if absno > 0x1fff { 0x1fff } else { absno };
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high_nibble = 0x0008 - segno;
    let low_nibble = 0x000f - ((absno >> segno) & 0x000f);
    let mut out = (high_nibble << 4) | low_nibble;
    if x >= 0 {
        out |= 0x0080;
    }
    out as u8
}

/// ITU G.191 `ulaw_expand` for one code.
pub(super) const fn ulaw_expand_ref(code: u8) -> i16 {
    let sign: i32 = if code < 0x80 { -1 } else { 1 };
    let mantissa = !(code as i32);
    let exponent = (mantissa >> 4) & 0x0007;
    let segment = exponent + 1;
    let mantissa = mantissa & 0x0f;
    let step = 4 << segment;
    (sign * ((0x0080 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
}

/// ITU G.191 `alaw_compress` for one 16-bit sample (only the 12 MSBs count).
pub(super) const fn alaw_compress_ref(x: i16) -> u8 {
    // One's complement for negative values, as in the reference.
    let mut ix: i32 = if x < 0 {
        (!x) as i32 >> 4
    } else {
        x as i32 >> 4
    };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if x >= 0 {
        ix |= 0x0080;
    }
    (ix ^ 0x0055) as u8
}

/// ITU G.191 `alaw_expand` for one code.
pub(super) const fn alaw_expand_ref(code: u8) -> i16 {
    let ix = (code as i32 ^ 0x0055) & 0x007f;
    let iexp = ix >> 4;
    let mut mant = ix & 0x000f;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 0x0008;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    (if code > 127 { mant } else { -mant }) as i16
}

/// µ-law code → linear sample.
pub(super) static ULAW_TO_LINEAR: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = ulaw_expand_ref(c as u8);
        c += 1;
    }
    t
};

/// A-law code → linear sample.
pub(super) static ALAW_TO_LINEAR: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = alaw_expand_ref(c as u8);
        c += 1;
    }
    t
};

/// Linear sample >> 2 (14 bits, two's complement, masked) → µ-law code.
/// Valid because `!x >> 2 == !(x >> 2)` for arithmetic shifts: the reference
/// result depends only on the top 14 bits.
pub(super) static LINEAR14_TO_ULAW: [u8; 1 << 14] = {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        // Sign-extend the 14-bit index back to a sample with zero low bits.
        let x = ((i << 2) as u16) as i16;
        t[i] = ulaw_compress_ref(x);
        i += 1;
    }
    t
};

/// Linear sample >> 4 (12 bits, masked) → A-law code (same argument as µ-law).
pub(super) static LINEAR12_TO_ALAW: [u8; 1 << 12] = {
    let mut t = [0u8; 1 << 12];
    let mut i = 0;
    while i < (1 << 12) {
        let x = ((i << 4) as u16) as i16;
        t[i] = alaw_compress_ref(x);
        i += 1;
    }
    t
};

/// µ-law encode of one sample by table.
#[inline]
pub(super) fn ulaw_encode(x: i16) -> u8 {
    LINEAR14_TO_ULAW[((x >> 2) as u16 & 0x3fff) as usize]
}

/// A-law encode of one sample by table.
#[inline]
pub(super) fn alaw_encode(x: i16) -> u8 {
    LINEAR12_TO_ALAW[((x >> 4) as u16 & 0x0fff) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sun Microsystems' `ulaw2linear` (the other classic formulation),
    /// written independently of the ITU transcription above.
    fn sun_ulaw2linear(u: u8) -> i16 {
        let u = !u;
        let t = ((i32::from(u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
        (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
    }

    /// Sun's `alaw2linear`.
    fn sun_alaw2linear(a: u8) -> i16 {
        let a = a ^ 0x55;
        let mut t = i32::from(a & 0x0f) << 4;
        let seg = (a & 0x70) >> 4;
        match seg {
            0 => t += 8,
            1 => t += 0x108,
            _ => {
                t += 0x108;
                t <<= seg - 1;
            }
        }
        (if a & 0x80 != 0 { t } else { -t }) as i16
    }

    #[test]
    fn expand_matches_independent_formulation_for_all_codes() {
        for c in 0..=255u8 {
            assert_eq!(
                ULAW_TO_LINEAR[c as usize],
                sun_ulaw2linear(c),
                "ulaw {c:#x}"
            );
            assert_eq!(
                ALAW_TO_LINEAR[c as usize],
                sun_alaw2linear(c),
                "alaw {c:#x}"
            );
        }
    }

    #[test]
    fn anchor_values_from_g711() {
        // Silence codes and the extremes of each law.
        assert_eq!(ULAW_TO_LINEAR[0xff], 0);
        assert_eq!(ULAW_TO_LINEAR[0x7f], 0);
        assert_eq!(ULAW_TO_LINEAR[0x80], 32124);
        assert_eq!(ULAW_TO_LINEAR[0x00], -32124);
        assert_eq!(ALAW_TO_LINEAR[0xd5], 8);
        assert_eq!(ALAW_TO_LINEAR[0x55], -8);
        assert_eq!(ALAW_TO_LINEAR[0xaa], 32256);
        assert_eq!(ALAW_TO_LINEAR[0x2a], -32256);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
    }

    #[test]
    fn table_encode_equals_reference_for_every_sample() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(x), ulaw_compress_ref(x), "ulaw {x}");
            assert_eq!(alaw_encode(x), alaw_compress_ref(x), "alaw {x}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for c in 0..=255u8 {
            // µ-law has two zeros (0x7f, 0xff); both decode to 0 which encodes to 0xff.
            let expect_u = if c == 0x7f { 0xff } else { c };
            assert_eq!(ulaw_encode(ULAW_TO_LINEAR[c as usize]), expect_u);
            assert_eq!(alaw_encode(ALAW_TO_LINEAR[c as usize]), c);
        }
    }

    #[test]
    fn quantisation_error_is_within_half_a_step() {
        for x in i16::MIN..=i16::MAX {
            let x32 = i32::from(x);
            let u = i32::from(ULAW_TO_LINEAR[ulaw_encode(x) as usize]);
            let a = i32::from(ALAW_TO_LINEAR[alaw_encode(x) as usize]);
            // Largest step is 1024 (µ-law) / 1024 (A-law) in the top segment, plus
            // clipping above the top reconstruction level.
            let clip_u = x32.clamp(-32124, 32124);
            let clip_a = x32.clamp(-32256, 32256);
            assert!((u - clip_u).abs() <= 512 + 4, "ulaw {x} -> {u}");
            assert!((a - clip_a).abs() <= 512, "alaw {x} -> {a}");
            // Log law: half a step is at most 1/32 of the magnitude (+ bias), so
            // a wrong segment or mantissa would break this.
            if x32.abs() < 32000 {
                assert!((u - x32).abs() <= x32.abs() / 16 + 8, "ulaw rel {x} -> {u}");
                assert!((a - x32).abs() <= x32.abs() / 16 + 8, "alaw rel {x} -> {a}");
            }
        }
    }
}
