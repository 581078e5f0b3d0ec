//! DTMF collection (VoiceXML 2.0 §6.3.3 `termchar`, `interdigittimeout`,
//! `termtimeout`) over the grammar engine's matcher, as a clock-free state
//! machine: each key is matched against the active DTMF grammars and the
//! collector decides whether to finish now, wait, or give up.
//!
//! Rules: a `termchar` ends collection and is not part of the input; a
//! complete input that no longer input could extend ends at once (or waits
//! `termtimeout` for the `termchar` when one is set and `termtimeout` is not
//! zero); a complete input that could be extended waits `interdigittimeout`
//! and then matches; an incomplete input waits `interdigittimeout` and then
//! is a nomatch; a key sequence no grammar can accept is a nomatch at once.

use std::time::Instant;

use crate::grammar::{Candidate, DtmfParams, DtmfStep, Hypothesis, Input, Recognition, recognize};

/// Longest key sequence collected before giving up with a nomatch.
const MAX_DIGITS: usize = 256;

/// Collects DTMF keys for one `Listen`.
#[derive(Debug, Clone)]
pub(super) struct Collector {
    params: DtmfParams,
    digits: String,
    deadline: Option<Instant>,
    complete: Option<Vec<Hypothesis>>,
}

impl Collector {
    pub(super) fn new(params: DtmfParams) -> Self {
        Collector {
            params,
            digits: String::new(),
            deadline: None,
            complete: None,
        }
    }

    pub(super) fn handle_digit(
        &mut self,
        d: char,
        now: Instant,
        cands: &[Candidate<'_>],
        nbest: usize,
    ) -> DtmfStep {
        if Some(d) == self.params.termchar {
            self.deadline = None;
            return match self.complete.take() {
                Some(h) => DtmfStep::Match(h),
                None => DtmfStep::NoMatch,
            };
        }
        if self.digits.len() >= MAX_DIGITS {
            return DtmfStep::NoMatch;
        }
        self.digits.push(d);
        match recognize(cands, Input::Dtmf(&self.digits), nbest) {
            Recognition::NoMatch => DtmfStep::NoMatch,
            Recognition::Prefix => {
                self.complete = None;
                self.deadline = Some(now + self.params.interdigittimeout);
                DtmfStep::Continue
            }
            Recognition::Match {
                hypotheses,
                extendable,
            } => {
                if extendable {
                    self.complete = Some(hypotheses);
                    self.deadline = Some(now + self.params.interdigittimeout);
                    DtmfStep::Continue
                } else if self.params.termchar.is_some() && !self.params.termtimeout.is_zero() {
                    self.complete = Some(hypotheses);
                    self.deadline = Some(now + self.params.termtimeout);
                    DtmfStep::Continue
                } else {
                    self.deadline = None;
                    DtmfStep::Match(hypotheses)
                }
            }
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) -> DtmfStep {
        match self.deadline {
            Some(t) if t <= now => {
                self.deadline = None;
                match self.complete.take() {
                    Some(h) => DtmfStep::Match(h),
                    None => DtmfStep::NoMatch,
                }
            }
            _ => DtmfStep::Continue,
        }
    }
}
