//! Sample-rate conversion to the 8 kHz of G.711: a polyphase windowed-sinc
//! FIR (Blackman window, 12 zero crossings) whose cutoff sits just below
//! the output Nyquist frequency, so 16, 22.05, 44.1 and 48 kHz prompts do
//! not alias when brought down to telephone rate.
//!
//! For a ratio `from:to` reduced to `M:L`, output sample `n` lies at input
//! position `n·M/L`; its fractional part takes one of `L` values, so the
//! filter is precomputed as `L` phases.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side.
const ZERO_CROSSINGS: f64 = 12.0;
/// Cutoff as a fraction of the lower Nyquist frequency (transition band).
const CUTOFF: f64 = 0.92;
/// Rates accepted, in Hz: anything outside is not audio we play, and a huge
/// rate would make the filter (taps ∝ rate ratio) arbitrarily large.
const RATES: std::ops::RangeInclusive<u32> = 1000..=192_000;
/// Largest number of phases accepted (rates with a tiny common divisor
/// would otherwise need a huge table).
const MAX_PHASES: u64 = 4096;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn blackman(x: f64) -> f64 {
    // x in [-1, 1]
    0.42 + 0.5 * (PI * x).cos() + 0.08 * (2.0 * PI * x).cos()
}

/// Why a conversion is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// A rate outside 1–192 kHz, or rates whose ratio needs too many
    /// filter phases.
    #[error("cannot resample from {from} Hz to {to} Hz")]
    UnsupportedRatio {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
    },
}

/// A prepared converter between two rates.
#[derive(Debug, Clone)]
pub struct Resampler {
    up: u64,
    down: u64,
    half: usize,
    /// `up` phases × `2·half` taps.
    taps: Vec<f32>,
}

impl Resampler {
    /// A converter from `from` Hz to `to` Hz.
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        let err = ResampleError::UnsupportedRatio { from, to };
        if !RATES.contains(&from) || !RATES.contains(&to) {
            return Err(err);
        }
        let g = gcd(u64::from(from), u64::from(to));
        let (up, down) = (u64::from(to) / g, u64::from(from) / g);
        if up > MAX_PHASES {
            return Err(err);
        }
        // Cutoff in cycles per input sample (1.0 = input Nyquist).
        let fc = (f64::from(to) / f64::from(from)).min(1.0) * CUTOFF;
        let half = (ZERO_CROSSINGS / fc).ceil() as usize;
        let width = 2 * half;
        let mut taps = Vec::with_capacity(up as usize * width);
        for phase in 0..up {
            let frac = phase as f64 / up as f64;
            let start = taps.len();
            for k in 0..width {
                // Distance from the output position to input sample
                // (ipos - half + 1 + k).
                let t = (k as f64 - half as f64 + 1.0) - frac;
                let x = t / half as f64;
                let h = if x.abs() >= 1.0 {
                    0.0
                } else {
                    let s = if t == 0.0 {
                        1.0
                    } else {
                        (PI * fc * t).sin() / (PI * fc * t)
                    };
                    fc * s * blackman(x)
                };
                taps.push(h as f32);
            }
            // Unity gain at DC for every phase.
            let sum: f32 = taps[start..].iter().sum();
            if sum.abs() > f32::EPSILON {
                for t in &mut taps[start..] {
                    *t /= sum;
                }
            }
        }
        Ok(Resampler {
            up,
            down,
            half,
            taps,
        })
    }

    /// Converts a whole signal.
    pub fn process(&self, input: &[f32]) -> Vec<i16> {
        if self.up == self.down {
            return input.iter().map(|&s| to_i16(s)).collect();
        }
        let out_len = (input.len() as u64 * self.up / self.down) as usize;
        let width = 2 * self.half;
        let mut out = Vec::with_capacity(out_len);
        for n in 0..out_len as u64 {
            let pos = n * self.down;
            let ipos = (pos / self.up) as i64;
            let phase = (pos % self.up) as usize;
            let taps = &self.taps[phase * width..(phase + 1) * width];
            let first = ipos - self.half as i64 + 1;
            let mut acc = 0.0f32;
            for (k, &h) in taps.iter().enumerate() {
                let i = first + k as i64;
                if i >= 0
                    && let Some(&x) = input.get(i as usize)
                {
                    acc += x * h;
                }
            }
            out.push(to_i16(acc));
        }
        out
    }
}

fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .map(|i| (0.5 * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
            .collect()
    }

    fn rms(s: &[i16]) -> f64 {
        let mid = &s[s.len() / 4..s.len() * 3 / 4];
        (mid.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / mid.len() as f64).sqrt()
    }

    #[test]
    fn passes_speech_band_and_removes_aliases() {
        for rate in [16_000, 22_050, 44_100, 48_000] {
            let r = Resampler::new(rate, 8000).unwrap();
            let pass = r.process(&tone(1000.0, rate, 0.5));
            assert_eq!(pass.len(), 4000, "{rate}");
            let level = rms(&pass);
            // 0.5 amplitude sine: RMS ≈ 0.3536 × 32768 ≈ 11585.
            assert!((11_000.0..12_200.0).contains(&level), "{rate}: {level}");
            // A 6 kHz tone would alias to 2 kHz: it must be gone.
            let stop = r.process(&tone(6000.0, rate, 0.5));
            assert!(rms(&stop) < 120.0, "{rate}: {}", rms(&stop));
        }
    }

    #[test]
    fn identity_and_bad_rates() {
        let r = Resampler::new(8000, 8000).unwrap();
        assert_eq!(r.process(&[0.0, 0.5, -1.0]), vec![0, 16384, -32768]);
        assert!(Resampler::new(0, 8000).is_err());
        assert!(Resampler::new(8000, 0).is_err());
        assert!(Resampler::new(7919, 8000).is_err());
        assert!(Resampler::new(4_000_000_000, 8000).is_err());
        assert_eq!(
            Resampler::new(11_025, 8000).unwrap().process(&[]),
            Vec::<i16>::new()
        );
    }
}
