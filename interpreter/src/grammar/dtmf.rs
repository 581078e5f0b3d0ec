//! DTMF collection (VoiceXML 2.0 §6.3.3 `termchar`, `interdigittimeout`,
//! `termtimeout`) as a clock-free state machine, and the end-of-utterance
//! waits of speech (`completetimeout`, `incompletetimeout`) for inputs that
//! arrive word by word.
//!
//! ```text
//! let mut c = DtmfCollector::new(params);
//! on key:   match c.handle_digit(k, now, &cands) { Continue => arm(c.poll_timeout()), … }
//! on timer: match c.handle_timeout(now, &cands) { … }
//! ```
//!
//! Rules: the termchar ends collection and is not part of the input (a
//! termchar after an incomplete input is a nomatch); a complete match that
//! no longer input could extend ends at once; a complete but extendable
//! match waits `termtimeout` when a termchar is set, else
//! `interdigittimeout`, then matches; an incomplete input waits
//! `interdigittimeout` then is a nomatch; an impossible sequence is a
//! nomatch at once.

use std::time::{Duration, Instant};

use super::{Candidate, Hypothesis, Input, Recognition, recognize};

/// The properties in force when collection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfParams {
    /// `termchar`; `None` when set to the empty string.
    pub termchar: Option<char>,
    /// `interdigittimeout`.
    pub interdigittimeout: Duration,
    /// `termtimeout`.
    pub termtimeout: Duration,
    /// Most hypotheses returned on a match.
    pub max_nbest: usize,
}

impl Default for DtmfParams {
    /// The VoiceXML defaults: `#`, no platform-specific interdigit default
    /// beyond a common 3 s, termtimeout 0 s.
    fn default() -> Self {
        Self {
            termchar: Some('#'),
            interdigittimeout: Duration::from_secs(3),
            termtimeout: Duration::ZERO,
            max_nbest: 1,
        }
    }
}

/// What the caller does after a digit or a timeout.
#[derive(Debug, Clone, PartialEq)]
pub enum DtmfStep {
    /// Keep collecting; arm the timer from [`DtmfCollector::poll_timeout`].
    Continue,
    /// Collection ended with a match (best first).
    Match(Vec<Hypothesis>),
    /// Collection ended without a match.
    NoMatch,
}

/// Collects DTMF keys against the active DTMF grammars. Once a step other
/// than `Continue` is returned the collector is finished; start a new one
/// for the next input.
#[derive(Debug, Clone)]
pub struct DtmfCollector {
    params: DtmfParams,
    digits: String,
    deadline: Option<Instant>,
    /// The complete match waiting for more keys or the timeout.
    pending: Option<Vec<Hypothesis>>,
    done: bool,
}

impl DtmfCollector {
    /// A collector with no digits yet.
    pub fn new(params: DtmfParams) -> Self {
        Self {
            params,
            digits: String::new(),
            deadline: None,
            pending: None,
            done: false,
        }
    }

    /// The keys collected so far (without the termchar).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// Handles one key press.
    pub fn handle_digit(&mut self, d: char, now: Instant, cands: &[Candidate<'_>]) -> DtmfStep {
        if self.done {
            return DtmfStep::Continue;
        }
        if self.params.termchar == Some(d) {
            let step = match self.recognize(cands) {
                Recognition::Match { hypotheses, .. } => DtmfStep::Match(hypotheses),
                Recognition::Prefix | Recognition::NoMatch => DtmfStep::NoMatch,
            };
            return self.finish(step);
        }
        self.digits.push(d);
        match self.recognize(cands) {
            Recognition::NoMatch => self.finish(DtmfStep::NoMatch),
            Recognition::Match {
                hypotheses,
                extendable: false,
            } => self.finish(DtmfStep::Match(hypotheses)),
            Recognition::Match {
                hypotheses,
                extendable: true,
            } => {
                let wait = if self.params.termchar.is_some() {
                    self.params.termtimeout
                } else {
                    self.params.interdigittimeout
                };
                self.pending = Some(hypotheses);
                self.deadline = Some(now + wait);
                DtmfStep::Continue
            }
            Recognition::Prefix => {
                self.pending = None;
                self.deadline = Some(now + self.params.interdigittimeout);
                DtmfStep::Continue
            }
        }
    }

    /// When the caller must call [`DtmfCollector::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Handles the expiry of the timer; early calls are ignored.
    pub fn handle_timeout(&mut self, now: Instant, _cands: &[Candidate<'_>]) -> DtmfStep {
        match self.deadline {
            Some(d) if !self.done && now >= d => {
                let step = match self.pending.take() {
                    Some(h) => DtmfStep::Match(h),
                    None => DtmfStep::NoMatch,
                };
                self.finish(step)
            }
            _ => DtmfStep::Continue,
        }
    }

    fn recognize(&self, cands: &[Candidate<'_>]) -> Recognition {
        recognize(cands, Input::Dtmf(&self.digits), self.params.max_nbest)
    }

    fn finish(&mut self, step: DtmfStep) -> DtmfStep {
        self.done = true;
        self.deadline = None;
        self.pending = None;
        step
    }
}

/// The speech end-of-utterance properties (VoiceXML 2.0 §6.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechTimeouts {
    /// `completetimeout`: silence after a complete match that could go on.
    pub complete: Duration,
    /// `incompletetimeout`: silence after words that match no grammar yet.
    pub incomplete: Duration,
}

impl SpeechTimeouts {
    /// How long to wait for more words after `r` before it becomes final:
    /// `None` means decide now (a complete match nothing can extend is the
    /// result, a nomatch is a nomatch); after the wait a `Match` is the
    /// result and a `Prefix` is a nomatch.
    pub fn wait_after(&self, r: &Recognition) -> Option<Duration> {
        match r {
            Recognition::Match {
                extendable: true, ..
            } => Some(self.complete),
            Recognition::Prefix => Some(self.incomplete),
            Recognition::Match {
                extendable: false, ..
            }
            | Recognition::NoMatch => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{Grammar, Mode};

    fn params(termchar: Option<char>) -> DtmfParams {
        DtmfParams {
            termchar,
            interdigittimeout: Duration::from_secs(2),
            termtimeout: Duration::from_millis(500),
            max_nbest: 1,
        }
    }

    fn digits_grammar(spec: &str) -> Grammar {
        Grammar::builtin_type(spec, Mode::Dtmf, "en-US").expect("builtin")
    }

    fn cand(g: &Grammar) -> [Candidate<'_>; 1] {
        [Candidate {
            grammar: g,
            key: 7,
            weight: 1.0,
        }]
    }

    #[test]
    fn termchar_ends_collection() {
        let g = digits_grammar("digits");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(Some('#')));
        assert_eq!(col.handle_digit('1', t0, &c), DtmfStep::Continue);
        assert_eq!(col.poll_timeout(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(col.handle_digit('2', t0, &c), DtmfStep::Continue);
        match col.handle_digit('#', t0, &c) {
            DtmfStep::Match(h) => {
                assert_eq!(h[0].utterance, "12");
                assert_eq!(h[0].key, 7);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(col.poll_timeout(), None);
    }

    #[test]
    fn termchar_on_incomplete_input_is_nomatch() {
        let g = digits_grammar("digits?minlength=3");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(Some('#')));
        assert_eq!(col.handle_digit('1', t0, &c), DtmfStep::Continue);
        assert_eq!(col.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(col.handle_digit('#', t0, &c), DtmfStep::NoMatch);
    }

    #[test]
    fn complete_match_ends_at_once() {
        let g = digits_grammar("digits?length=2");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(Some('#')));
        assert_eq!(col.handle_digit('4', t0, &c), DtmfStep::Continue);
        assert!(matches!(col.handle_digit('2', t0, &c), DtmfStep::Match(_)));
    }

    #[test]
    fn extendable_match_waits_then_matches() {
        let g = digits_grammar("digits");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(None));
        assert_eq!(col.handle_digit('4', t0, &c), DtmfStep::Continue);
        let deadline = col.poll_timeout().expect("armed");
        assert_eq!(
            deadline,
            t0 + Duration::from_secs(2),
            "interdigittimeout without termchar"
        );
        assert_eq!(
            col.handle_timeout(t0 + Duration::from_secs(1), &c),
            DtmfStep::Continue
        );
        assert!(matches!(
            col.handle_timeout(deadline, &c),
            DtmfStep::Match(_)
        ));
    }

    #[test]
    fn incomplete_input_times_out_to_nomatch_and_bad_key_is_immediate() {
        let g = digits_grammar("digits?minlength=3");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(Some('#')));
        col.handle_digit('1', t0, &c);
        assert_eq!(
            col.handle_timeout(t0 + Duration::from_secs(2), &c),
            DtmfStep::NoMatch
        );

        let mut col = DtmfCollector::new(params(Some('#')));
        assert_eq!(col.handle_digit('*', t0, &c), DtmfStep::NoMatch);
    }

    #[test]
    fn speech_waits_follow_completeness() {
        let t = SpeechTimeouts {
            complete: Duration::from_millis(300),
            incomplete: Duration::from_millis(1500),
        };
        let g = Grammar::from_abnf(
            "#ABNF 1.0;\nroot $r;\n$r = call bob [smith];",
            &url::Url::parse("http://x.example/g.gram").expect("url"),
        )
        .expect("grammar");
        let c = cand(&g);
        let wait = |s: &str| t.wait_after(&recognize(&c, Input::Words(s), 1));
        assert_eq!(wait("call"), Some(Duration::from_millis(1500)));
        assert_eq!(wait("call bob"), Some(Duration::from_millis(300)));
        assert_eq!(wait("call bob smith"), None);
        assert_eq!(wait("hello"), None);
    }

    #[test]
    fn thousand_digits_do_not_hang() {
        let g = digits_grammar("digits?maxlength=20");
        let c = cand(&g);
        let t0 = Instant::now();
        let mut col = DtmfCollector::new(params(Some('#')));
        let mut last = DtmfStep::Continue;
        for _ in 0..1000 {
            last = col.handle_digit('5', t0, &c);
            if last != DtmfStep::Continue {
                break;
            }
        }
        assert!(matches!(last, DtmfStep::Match(_)));
        assert_eq!(col.digits().len(), 20);
    }
}
