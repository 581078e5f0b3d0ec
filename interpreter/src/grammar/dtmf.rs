//! DTMF collection (VoiceXML 2.0 §6.3.3 `termchar`, `interdigittimeout`,
//! `termtimeout`) as a clock-free state machine.

use std::time::{Duration, Instant};

use super::{Candidate, Hypothesis};

/// The properties in force when collection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfParams {
    /// `termchar`; `None` when set to the empty string.
    pub termchar: Option<char>,
    /// `interdigittimeout`.
    pub interdigittimeout: Duration,
    /// `termtimeout`.
    pub termtimeout: Duration,
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

/// Collects DTMF keys against the active DTMF grammars.
#[derive(Debug, Clone)]
pub struct DtmfCollector {
    params: DtmfParams,
    digits: String,
    deadline: Option<Instant>,
}

impl DtmfCollector {
    /// A collector with no digits yet.
    pub fn new(params: DtmfParams) -> Self {
        Self {
            params,
            digits: String::new(),
            deadline: None,
        }
    }

    /// Handles one key press.
    pub fn handle_digit(&mut self, d: char, now: Instant, cands: &[Candidate<'_>]) -> DtmfStep {
        let _ = (d, now, cands, self.params);
        DtmfStep::NoMatch
    }

    /// When the caller must call [`DtmfCollector::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Handles the expiry of the timer.
    pub fn handle_timeout(&mut self, now: Instant, cands: &[Candidate<'_>]) -> DtmfStep {
        let _ = (now, cands, &self.digits);
        DtmfStep::NoMatch
    }
}
