//! G.711 µ-law and A-law (ITU-T G.711 §2, §3), table driven.
//!
//! Linear samples are 16-bit; the codecs use the top 14 (µ-law) or 13
//! (A-law) bits, exactly as the ITU-T G.191 reference implementation
//! (`g711.c`) does. Decoding is one 256-entry table lookup; encoding is a
//! lookup in a table indexed by the significant bits, both built at compile
//! time from the segment rules of the standard.

/// µ-law code → linear sample.
static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
/// A-law code → linear sample.
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
/// 14-bit linear (sample >> 2, offset to unsigned) → µ-law code.
static ULAW_ENCODE: [u8; 16384] = build_ulaw_encode();
/// 13-bit linear (sample >> 3, offset to unsigned) → A-law code.
static ALAW_ENCODE: [u8; 8192] = build_alaw_encode();

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;

const fn ulaw_decode_one(code: u8) -> i16 {
    let u = !code;
    let t = (((u & 0x0f) as i32) << 3) + ULAW_BIAS;
    let t = t << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_decode_one(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0f) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

/// G.191 `linear2ulaw` on a 14-bit sample.
const fn ulaw_encode_14(sample14: i32) -> u8 {
    let (mut x, mask) = if sample14 < 0 {
        (-sample14, 0x7f)
    } else {
        (sample14, 0xff)
    };
    if x > ULAW_CLIP {
        x = ULAW_CLIP;
    }
    x += ULAW_BIAS >> 2;
    let mut seg = 0;
    let seg_ends = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
    while seg < 8 && x > seg_ends[seg] {
        seg += 1;
    }
    if seg >= 8 {
        return (0x7f ^ mask) as u8;
    }
    let uval = ((seg as i32) << 4) | ((x >> (seg + 1)) & 0x0f);
    (uval ^ mask) as u8
}

/// G.191 `linear2alaw` on a 13-bit sample.
const fn alaw_encode_13(sample13: i32) -> u8 {
    let (x, mask) = if sample13 >= 0 {
        (sample13, 0xd5)
    } else {
        (-sample13 - 1, 0x55)
    };
    let seg_ends = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
    let mut seg = 0;
    while seg < 8 && x > seg_ends[seg] {
        seg += 1;
    }
    if seg >= 8 {
        return (0x7f ^ mask) as u8;
    }
    let mut aval = (seg as i32) << 4;
    if seg < 2 {
        aval |= (x >> 1) & 0x0f;
    } else {
        aval |= (x >> seg) & 0x0f;
    }
    (aval ^ mask) as u8
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_decode_one(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_decode_one(i as u8);
        i += 1;
    }
    t
}

const fn build_ulaw_encode() -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        t[i] = ulaw_encode_14(i as i32 - 8192);
        i += 1;
    }
    t
}

const fn build_alaw_encode() -> [u8; 8192] {
    let mut t = [0u8; 8192];
    let mut i = 0;
    while i < 8192 {
        t[i] = alaw_encode_13(i as i32 - 4096);
        i += 1;
    }
    t
}

/// Encodes one sample to µ-law.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as i32 + 8192) as usize]
}

/// Decodes one µ-law code.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Encodes one sample to A-law.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 3) as i32 + 4096) as usize]
}

/// Decodes one A-law code.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// Which G.711 law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (PCMU, North America and Japan).
    Mu,
    /// A-law (PCMA, elsewhere).
    A,
}

impl Law {
    /// The law of an SDP codec.
    pub fn of(codec: crate::sdp::Codec) -> Self {
        match codec {
            crate::sdp::Codec::Pcmu => Law::Mu,
            crate::sdp::Codec::Pcma => Law::A,
        }
    }

    /// The code for digital silence (linear 0).
    pub fn silence(self) -> u8 {
        match self {
            Law::Mu => 0xff,
            Law::A => 0xd5,
        }
    }

    /// Encodes `samples` into `out` (cleared first).
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Law::Mu => out.extend(samples.iter().map(|&s| ulaw_encode(s))),
            Law::A => out.extend(samples.iter().map(|&s| alaw_encode(s))),
        }
    }

    /// Decodes `codes` into `out` (cleared first).
    pub fn decode(self, codes: &[u8], out: &mut Vec<i16>) {
        out.clear();
        match self {
            Law::Mu => out.extend(codes.iter().map(|&c| ulaw_decode(c))),
            Law::A => out.extend(codes.iter().map(|&c| alaw_decode(c))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_values() {
        // Values of the G.191 reference decoder (14-bit output << 2).
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7e), -8);
        assert_eq!(ulaw_decode(0xfe), 8);
        assert_eq!(ulaw_decode(0x70), -120);
        assert_eq!(ulaw_decode(0x0f), -16764);
        assert_eq!(alaw_decode(0x70), -688);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(-1), 0x7e);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(1000), 0xce);
        assert_eq!(ulaw_encode(-1000), 0x4e);
    }

    #[test]
    fn alaw_reference_values() {
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
        assert_eq!(alaw_decode(0x80), 5504);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
        assert_eq!(alaw_encode(1000), 0xfa);
        assert_eq!(alaw_encode(-1000), 0x7a);
    }

    #[test]
    fn every_code_round_trips() {
        for c in 0..=255u8 {
            let u = ulaw_decode(c);
            // µ-law has two zeros (0x7f and 0xff); both decode to 0.
            if u != 0 {
                assert_eq!(ulaw_encode(u), c, "µ-law {c:#x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#x}");
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let mut last_u = i16::MIN;
        let mut last_a = i16::MIN;
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(u >= last_u && a >= last_a, "{s}");
            assert!((i32::from(u) - i32::from(s)).abs() <= 1100);
            last_u = u;
            last_a = a;
        }
    }

    #[test]
    fn frame_helpers() {
        let mut codes = Vec::new();
        let mut back = Vec::new();
        Law::Mu.encode(&[0, 1000, -1000], &mut codes);
        assert_eq!(codes, vec![0xff, 0xce, 0x4e]);
        Law::Mu.decode(&codes, &mut back);
        assert_eq!(back, vec![0, 988, -988]);
        Law::A.encode(&[0], &mut codes);
        assert_eq!(codes, vec![Law::A.silence()]);
    }
}
