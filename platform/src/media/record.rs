//! The recording core for `<record>` and `recordutterance` (VoiceXML 2.1
//! §2.3.6): an optional beep, then the caller's audio until `maxtime`,
//! `finalsilence` after speech (energy detection), a DTMF key when
//! `dtmfterm` is set, or hangup; "no speech at all" within `timeout` is
//! noinput.
//!
//! ```text
//! let mut rec = Recorder::new(&request);
//! // each ptime: if rec.next_beep_frame(&mut out) { send out } ;
//! //             rec.handle_frame(&received_samples) (silence for lost packets)
//! // on a digit: rec.handle_dtmf(d); on BYE: rec.handle_hangup()
//! if let Some(result) = rec.poll_result() { session.handle_record_result(result, now) }
//! ```
//!
//! Time is counted in received samples, so the recorder needs no clock.

use std::sync::Arc;
use std::time::Duration;

use vxp_interpreter::vxml::session::{RecordRequest, RecordResult};

use super::audio::RecordingFormat;
use super::vad::{EnergyDetector, VadConfig};

/// Beep length: 200 ms.
const BEEP_SAMPLES: usize = 1600;
/// Beep pitch.
const BEEP_HZ: f64 = 1000.0;

fn samples_of(d: Duration) -> u64 {
    (d.as_micros() / 125) as u64
}

/// One recording in progress.
#[derive(Debug)]
pub struct Recorder {
    format: RecordingFormat,
    media_type: String,
    maxtime: u64,
    finalsilence: u64,
    timeout: u64,
    dtmfterm: bool,
    beep_left: usize,
    samples: Vec<i16>,
    vad: EnergyDetector,
    result: Option<RecordResult>,
    finished: bool,
}

impl Recorder {
    /// Starts a recording for `request`.
    pub fn new(request: &RecordRequest) -> Self {
        let maxtime = samples_of(request.maxtime).max(1);
        Recorder {
            format: RecordingFormat::for_media_type(&request.media_type),
            media_type: request.media_type.clone(),
            maxtime,
            finalsilence: samples_of(request.finalsilence),
            timeout: samples_of(request.timeout),
            dtmfterm: request.dtmfterm,
            beep_left: if request.beep { BEEP_SAMPLES } else { 0 },
            samples: Vec::with_capacity(maxtime.min(8000 * 60) as usize),
            vad: EnergyDetector::new(VadConfig::default()),
            result: None,
            finished: false,
        }
    }

    /// Fills `frame` with the next part of the beep; false once the beep
    /// is over (recording then runs).
    pub fn next_beep_frame(&mut self, frame: &mut [i16]) -> bool {
        if self.beep_left == 0 {
            return false;
        }
        let done = BEEP_SAMPLES - self.beep_left;
        for (i, s) in frame.iter_mut().enumerate() {
            let k = done + i;
            *s = if k < BEEP_SAMPLES {
                (8000.0 * (2.0 * std::f64::consts::PI * BEEP_HZ * k as f64 / 8000.0).sin()) as i16
            } else {
                0
            };
        }
        self.beep_left = self.beep_left.saturating_sub(frame.len());
        true
    }

    /// Whether the beep is still playing (received audio is ignored then).
    pub fn is_beeping(&self) -> bool {
        self.beep_left > 0
    }

    /// Feeds received audio (8 kHz).
    pub fn handle_frame(&mut self, samples: &[i16]) {
        if self.finished || self.is_beeping() {
            return;
        }
        let room = (self.maxtime - self.samples.len() as u64) as usize;
        let take = &samples[..samples.len().min(room)];
        self.samples.extend_from_slice(take);
        self.vad.handle_frame(take);
        let len = self.samples.len() as u64;
        if len >= self.maxtime {
            self.finish(None, true);
        } else if self.vad.heard_speech() {
            if self.finalsilence > 0 && samples_of(self.vad.silence()) >= self.finalsilence {
                self.finish(None, false);
            }
        } else if self.timeout > 0 && len >= self.timeout {
            self.finished = true;
            self.result = Some(RecordResult::NoInput);
        }
    }

    /// A DTMF key: ends the recording when `dtmfterm` is set.
    pub fn handle_dtmf(&mut self, digit: char) {
        if self.dtmfterm && !self.finished {
            self.finish(Some(digit), false);
        }
    }

    /// The caller hung up: what was recorded so far is the result.
    pub fn handle_hangup(&mut self) {
        if self.finished {
            return;
        }
        if self.vad.heard_speech() {
            self.finish(None, false);
        } else {
            self.finished = true;
            self.result = Some(RecordResult::NoInput);
        }
    }

    fn finish(&mut self, termchar: Option<char>, maxtime: bool) {
        self.finished = true;
        let bytes: Arc<[u8]> = self.format.encode(&self.samples).into();
        self.result = Some(RecordResult::Recorded {
            bytes,
            media_type: self.media_type.clone(),
            duration: Duration::from_micros(self.samples.len() as u64 * 125),
            termchar,
            maxtime,
        });
    }

    /// Whether the recording ended.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The outcome, once.
    pub fn poll_result(&mut self) -> Option<RecordResult> {
        self.result.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RecordRequest {
        RecordRequest {
            name: "msg".into(),
            beep: true,
            maxtime: Duration::from_secs(10),
            finalsilence: Duration::from_millis(1000),
            dtmfterm: true,
            media_type: "audio/x-wav".into(),
            timeout: Duration::from_secs(3),
        }
    }

    fn voice(n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (6000.0 * (i as f64 * 0.3).sin()) as i16)
            .collect()
    }

    fn drive(rec: &mut Recorder, frames: &[Vec<i16>]) -> Option<RecordResult> {
        let mut out = [0i16; 160];
        while rec.next_beep_frame(&mut out) {}
        for f in frames {
            rec.handle_frame(f);
            if let Some(r) = rec.poll_result() {
                return Some(r);
            }
        }
        None
    }

    #[test]
    fn beep_then_speech_then_final_silence() {
        let mut rec = Recorder::new(&request());
        let mut out = [0i16; 160];
        assert!(rec.next_beep_frame(&mut out));
        assert!(out.iter().any(|&s| s != 0));
        let mut frames: Vec<Vec<i16>> = (0..50).map(|_| voice(160)).collect();
        frames.extend((0..100).map(|_| vec![0i16; 160]));
        let Some(RecordResult::Recorded {
            bytes,
            duration,
            termchar,
            maxtime,
            media_type,
        }) = drive(&mut rec, &frames)
        else {
            panic!("expected a recording");
        };
        // 1 s of speech then 1 s of silence.
        assert_eq!(duration, Duration::from_millis(2000));
        assert_eq!(bytes.len(), 44 + 16_000 * 2);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!((termchar, maxtime), (None, false));
        assert_eq!(media_type, "audio/x-wav");
    }

    #[test]
    fn no_speech_is_noinput() {
        let mut rec = Recorder::new(&request());
        let frames: Vec<Vec<i16>> = (0..200).map(|_| vec![3i16; 160]).collect();
        assert_eq!(drive(&mut rec, &frames), Some(RecordResult::NoInput));
    }

    #[test]
    fn maxtime_and_dtmfterm() {
        let mut req = request();
        req.maxtime = Duration::from_millis(500);
        req.beep = false;
        let mut rec = Recorder::new(&req);
        let frames: Vec<Vec<i16>> = (0..100).map(|_| voice(160)).collect();
        let Some(RecordResult::Recorded {
            duration, maxtime, ..
        }) = drive(&mut rec, &frames)
        else {
            panic!("expected a recording");
        };
        assert_eq!((duration, maxtime), (Duration::from_millis(500), true));

        req.media_type = "audio/basic".into();
        let mut rec = Recorder::new(&req);
        rec.handle_frame(&voice(800));
        rec.handle_dtmf('#');
        let Some(RecordResult::Recorded {
            bytes, termchar, ..
        }) = rec.poll_result()
        else {
            panic!("expected a recording");
        };
        assert_eq!(termchar, Some('#'));
        assert_eq!(bytes.len(), 800);
        assert!(rec.is_finished());
        assert_eq!(rec.poll_result(), None);
    }

    #[test]
    fn dtmf_without_dtmfterm_and_hangup() {
        let mut req = request();
        req.dtmfterm = false;
        req.beep = false;
        let mut rec = Recorder::new(&req);
        for _ in 0..10 {
            rec.handle_frame(&voice(160));
        }
        rec.handle_dtmf('1');
        assert!(!rec.is_finished());
        rec.handle_hangup();
        assert!(matches!(
            rec.poll_result(),
            Some(RecordResult::Recorded { duration, .. }) if duration == Duration::from_millis(200)
        ));
    }
}
