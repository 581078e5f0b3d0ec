//! The VoiceXML session core: the Form Interpretation Algorithm (VoiceXML 2.0
//! §2.1.6 and Appendix C) as a state machine without I/O.
//!
//! A [`Session`] is fed `handle_*(…, now)` calls (a document fetched, a DTMF
//! key, an utterance, a prompt finished, a timer expired, a transfer or
//! recording outcome, an external message, a hangup) and drained with
//! [`Session::poll_output`]; [`Session::poll_timeout`] gives the next
//! deadline at which the driver must call [`Session::handle_timeout`].
//! It never reads a clock, sleeps, spawns or touches the network.

mod info;
mod io;

pub use io::*;

use std::collections::VecDeque;
use std::time::Instant;

/// One VoiceXML session (one call). Not `Send`: the embedded ECMAScript
/// context lives on the thread that drives the session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    outputs: VecDeque<Output>,
    next_fetch: u64,
    finished: bool,
    timer: Option<Instant>,
}

impl Session {
    /// Starts a session; the first output is the `Fetch` of `config.initial`.
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let _ = now;
        let mut s = Session {
            config,
            outputs: VecDeque::new(),
            next_fetch: 0,
            finished: false,
            timer: None,
        };
        let url = s.config.initial.clone();
        s.next_fetch += 1;
        s.outputs.push_back(Output::Fetch(FetchRequest {
            id: FetchId(s.next_fetch),
            url,
            kind: ResourceKind::Document,
            method: Method::Get,
            params: Vec::new(),
            enctype: "application/x-www-form-urlencoded".into(),
            maxage: None,
            maxstale: None,
            timeout: None,
            fetchhint: None,
            fetchaudio: None,
            referrer: None,
        }));
        s
    }

    /// A fetch answered.
    pub fn handle_fetched(&mut self, id: FetchId, result: FetchResult, now: Instant) {
        let _ = (id, result, now);
    }

    /// One DTMF key (`0-9`, `*`, `#`, `A-D`).
    pub fn handle_dtmf(&mut self, digit: char, now: Instant) {
        let _ = (digit, now);
    }

    /// Text-mode speech: matched by this core against the active voice grammars.
    pub fn handle_utterance(&mut self, words: &str, now: Instant) {
        let _ = (words, now);
    }

    /// A recognizer's result for the current `Listen`.
    pub fn handle_recognition(&mut self, result: RecognitionResult, now: Instant) {
        let _ = (result, now);
    }

    /// The platform finished rendering a `Play`.
    pub fn handle_play_done(&mut self, id: PlayId, now: Instant) {
        let _ = (id, now);
    }

    /// The platform reached a `<mark>` while playing.
    pub fn handle_mark(&mut self, name: &str, now: Instant) {
        let _ = (name, now);
    }

    /// Called at or after [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// Outcome of an `Output::Transfer`.
    pub fn handle_transfer_result(&mut self, result: TransferResult, now: Instant) {
        let _ = (result, now);
    }

    /// Outcome of an `Output::Record`.
    pub fn handle_record_result(&mut self, result: RecordResult, now: Instant) {
        let _ = (result, now);
    }

    /// A message from outside the call (CTI reply, SIP INFO).
    pub fn handle_external_message(&mut self, msg: ExternalMessage, now: Instant) {
        let _ = (msg, now);
    }

    /// The caller hung up (§5.3.11): `connection.disconnect.hangup` is
    /// thrown, its handler runs, then the session ends.
    pub fn handle_hangup(&mut self, now: Instant) {
        let _ = now;
        self.finished = true;
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next deadline at which [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer
    }

    /// True once the session has produced `Exit`, `Disconnect` or `Error`.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}
