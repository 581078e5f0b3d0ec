//! An energy-based voice activity detector with an adaptive noise floor:
//! `<record>` uses it for `finalsilence` and for "no speech at all"
//! (noinput), and barge-in on speech can use its speech-start event.
//!
//! Each frame's RMS level (dBFS) is compared with the tracked noise floor:
//! a frame is voiced when it is `margin_db` above the floor and above an
//! absolute minimum. Speech starts after `start_frames` voiced frames in a
//! row; the silence since the last voiced frame is counted for the end.
//! The floor follows quieter frames at once and louder ones slowly, so a
//! steady line hum raises it while speech does not.

use std::time::Duration;

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Level above the noise floor that counts as voice (dB).
    pub margin_db: f32,
    /// Absolute level below which nothing is voice (dBFS).
    pub min_level_db: f32,
    /// Voiced frames in a row that start speech.
    pub start_frames: u32,
    /// Initial noise floor (dBFS).
    pub initial_floor_db: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            margin_db: 12.0,
            min_level_db: -45.0,
            start_frames: 3,
            initial_floor_db: -60.0,
        }
    }
}

/// What a frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began (after `start_frames` voiced frames).
    SpeechStart,
}

/// The RMS level of a frame in dBFS (−100 for digital silence).
pub fn level_db(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return -100.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-5 {
        -100.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}

/// The detector state for one audio stream at 8 kHz.
#[derive(Debug, Clone)]
pub struct EnergyDetector {
    config: VadConfig,
    floor_db: f32,
    voiced_run: u32,
    heard_speech: bool,
    silence_samples: u64,
}

impl EnergyDetector {
    /// A detector.
    pub fn new(config: VadConfig) -> Self {
        EnergyDetector {
            config,
            floor_db: config.initial_floor_db,
            voiced_run: 0,
            heard_speech: false,
            silence_samples: 0,
        }
    }

    /// Feeds one frame (any length, typically 20 ms).
    pub fn handle_frame(&mut self, samples: &[i16]) -> Option<VadEvent> {
        let level = level_db(samples);
        let voiced =
            level > self.config.min_level_db && level > self.floor_db + self.config.margin_db;
        if level < self.floor_db {
            self.floor_db = level.max(-100.0);
        } else if !voiced {
            self.floor_db += (level - self.floor_db) * 0.05;
        }
        if voiced {
            self.voiced_run += 1;
            if self.voiced_run >= self.config.start_frames {
                self.silence_samples = 0;
                if !self.heard_speech {
                    self.heard_speech = true;
                    return Some(VadEvent::SpeechStart);
                }
            } else {
                self.silence_samples += samples.len() as u64;
            }
        } else {
            self.voiced_run = 0;
            self.silence_samples += samples.len() as u64;
        }
        None
    }

    /// Whether speech was detected at any point.
    pub fn heard_speech(&self) -> bool {
        self.heard_speech
    }

    /// Silence since the last voiced frame (or since the start).
    pub fn silence(&self) -> Duration {
        Duration::from_micros(self.silence_samples * 125)
    }

    /// The current noise floor estimate (dBFS).
    pub fn noise_floor_db(&self) -> f32 {
        self.floor_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(amplitude: f64, n: usize, offset: usize) -> Vec<i16> {
        (offset..offset + n)
            .map(|i| {
                (amplitude * (i as f64 * 2.0 * std::f64::consts::PI * 300.0 / 8000.0).sin()) as i16
            })
            .collect()
    }

    fn noise(amplitude: i16, n: usize, seed: &mut u32) -> Vec<i16> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (*seed >> 16) as i16 % amplitude.max(1)
            })
            .collect()
    }

    #[test]
    fn levels() {
        assert_eq!(level_db(&[0; 160]), -100.0);
        let full = level_db(&sine(32767.0, 8000, 0));
        assert!((full + 3.0).abs() < 0.2, "{full}");
    }

    #[test]
    fn speech_over_noise_then_silence() {
        let mut seed = 7;
        let mut vad = EnergyDetector::new(VadConfig::default());
        // One second of line noise around -50 dBFS: no speech.
        for _ in 0..50 {
            assert_eq!(vad.handle_frame(&noise(200, 160, &mut seed)), None);
        }
        assert!(!vad.heard_speech());
        assert!(vad.silence() >= Duration::from_millis(1000));
        // Speech at -12 dBFS starts after three frames.
        let mut events = Vec::new();
        for f in 0..25 {
            events.extend(vad.handle_frame(&sine(8000.0, 160, f * 160)));
        }
        assert_eq!(events, vec![VadEvent::SpeechStart]);
        assert_eq!(vad.silence(), Duration::ZERO);
        for _ in 0..10 {
            vad.handle_frame(&noise(200, 160, &mut seed));
        }
        assert_eq!(vad.silence(), Duration::from_millis(200));
        assert!(vad.noise_floor_db() < -40.0);
    }

    #[test]
    fn a_click_is_not_speech() {
        let mut vad = EnergyDetector::new(VadConfig::default());
        vad.handle_frame(&sine(20000.0, 160, 0));
        vad.handle_frame(&[0; 160]);
        vad.handle_frame(&sine(20000.0, 160, 0));
        assert!(!vad.heard_speech());
    }
}
