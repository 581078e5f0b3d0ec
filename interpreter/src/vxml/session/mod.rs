//! The VoiceXML session core: the Form Interpretation Algorithm (VoiceXML 2.0
//! §2.1.6 and Appendix C) as a state machine without I/O.
//!
//! A [`Session`] is fed `handle_*(…, now)` calls (a document fetched, a DTMF
//! key, an utterance, a prompt finished, a timer expired, a transfer or
//! recording outcome, an external message, a hangup) and drained with
//! [`Session::poll_output`]; [`Session::poll_timeout`] gives the next
//! deadline at which the driver must call [`Session::handle_timeout`].
//! It never reads a clock, sleeps, spawns or touches the network.
//!
//! ```text
//! let mut s = Session::new(config, now);
//! while !s.is_finished() {
//!     while let Some(out) = s.poll_output() { driver.perform(out) }
//!     match driver.next_input(s.poll_timeout()) {
//!         Fetched(id, r) => s.handle_fetched(id, r, now),
//!         Digit(d) => s.handle_dtmf(d, now),
//!         Deadline => s.handle_timeout(now),
//!         ...
//!     }
//! }
//! ```
//!
//! What a media driver does besides the loop above:
//!
//! - **Audio** (VoiceXML 2.0 §4.1.3, §6.1): a `Play`'s `PromptPart::Audio`
//!   carries its URL and [`AudioFetch`] settings; the driver fetches and plays
//!   it, and when that fails renders the element's alternate content instead
//!   ([`QueuedPrompt::render`] walks a prompt that way). No event is thrown for
//!   audio that cannot be played, so there is no session input for it. An
//!   `Output::Fetch` of [`ResourceKind::Audio`] is a prefetch hint
//!   (`fetchhint="prefetch"`) issued when a page loads: warm the cache; the
//!   session does not wait for it and ignores any answer.
//! - **Typeahead** (§4.1.8): keys are passed to `handle_dtmf` whenever they
//!   are pressed; the session keeps those that arrive while nothing listens
//!   for the next `Listen`.
//! - **`recordutterance`** (VoiceXML 2.1 §6.3): when a `Listen` has
//!   `recordutterance`, pass the recording of the caller's input to
//!   [`Session::handle_utterance_recording`] just before the input itself
//!   (`handle_utterance` or `handle_recognition`).
//! - **`<grammar srcexpr>`**: the session fetches such grammars itself when a
//!   collection starts (`Fetch` of kind `Grammar`) and emits the `Listen` once
//!   they are compiled; nothing is needed beyond answering fetches.
//!
//! Module map: `fia` runs the select/collect/process loop, `events` throws
//! events and selects handlers, `exec` runs executable content, `prompts`
//! selects and resolves prompts, `input` builds `Listen`s and maps
//! recognition results onto fields, `navigation` loads documents, roots,
//! subdialogs and resources, `properties` looks properties up, `calls`
//! handles `<record>`, `<transfer>`, `<object>` and the NGI
//! `<gvp:send>`/`<gvp:receive>`, `js` adapts the ECMAScript host.

mod calls;
mod events;
mod exec;
mod fia;
mod input;
mod io;
mod js;
mod navigation;
mod prewarm;
mod prompts;
mod properties;

#[cfg(test)]
mod tests;

pub use io::*;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use url::Url;

use crate::grammar::Grammar;
use crate::vxml::model::{Document, Loc};

use events::Event;
use exec::Frame;
use fia::{DialogState, Then};
use input::ListenState;
use js::Js;
use navigation::{Nav, Purpose};

/// What the session is blocked on.
#[derive(Debug)]
enum Wait {
    /// Nothing: the FIA is running (only seen inside a `handle_*` call).
    Running,
    /// Outstanding fetches (see `Session::fetches`).
    Fetch,
    /// A `Listen` is active.
    Input,
    /// A `Record` is under way for this form item.
    Record(usize),
    /// A `Transfer` is under way for this form item.
    Transfer(usize),
    /// `<gvp:receive>` or a synchronous `<gvp:send>` waits for a message.
    Message {
        /// `maxtime` expiry.
        deadline: Option<Instant>,
    },
    /// The session has ended.
    Finished,
}

/// Executable content interrupted by a fetch or a message wait, resumed
/// when it arrives.
#[derive(Debug)]
struct Suspended {
    frames: Vec<Frame>,
    then: Then,
}

/// A caller's context saved while a `<subdialog>` runs (§2.3.4).
#[derive(Debug)]
struct SubdialogFrame {
    root: Option<Arc<Document>>,
    doc: Arc<Document>,
    dialog: DialogState,
    item: usize,
}

/// One VoiceXML session (one call). Not `Send`: the embedded ECMAScript
/// context lives on the thread that drives the session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    platform_props: Vec<crate::vxml::model::Property>,
    out: VecDeque<Output>,
    wait: Wait,
    js: Js,
    next_id: u64,
    root: Option<Arc<Document>>,
    doc: Option<Arc<Document>>,
    dialog: Option<DialogState>,
    fetches: HashMap<FetchId, Purpose>,
    suspended: Option<Suspended>,
    prompts: Vec<QueuedPrompt>,
    playing: Option<PlayId>,
    listen: Option<ListenState>,
    transitions: u32,
    subdialogs: Vec<SubdialogFrame>,
    /// Compiled grammars by URL (external) or `url:line:column` (inline).
    grammars: HashMap<String, Grammar>,
    /// Fetched `<script src>` texts by URL.
    scripts: HashMap<Url, Arc<str>>,
    /// Grammars and scripts a page named whose prefetch failed: (event, message) by URL. The event is
    /// thrown when the element that needs the resource runs, where the page's handlers can catch it.
    failed: HashMap<String, (String, String)>,
    messages: VecDeque<ExternalMessage>,
    /// A page waiting for its prefetched resources.
    loading: Option<navigation::Loading>,
    /// `srcexpr` grammars being fetched before a collection can start.
    srcexpr: input::SrcexprState,
    /// `<param>` values for the subdialog being entered.
    pending_params: Option<HashMap<String, boa_engine::JsValue>>,
    /// Input matched by another form's document-scoped grammar, applied
    /// once that form is entered.
    pending_fill: Option<input::Heard>,
    /// The last `<mark>` reached before the input that was just accepted, and the milliseconds from it to
    /// that input (VoiceXML 2.1 §6: `lastresult$.markname`/`marktime` and the field shadow variables).
    last_mark: Option<(String, f64)>,
    /// Keys pressed while no collection was active, for the next one
    /// (typeahead, §4.1.8).
    typeahead: VecDeque<char>,
    /// The recording of the input being reported (`recordutterance`).
    utterance_recording: Option<UtteranceRecording>,
    /// The recording properties of the input being processed, for the
    /// shadow variables of the fields it fills.
    heard_recording: Option<Vec<(&'static str, boa_engine::JsValue)>>,
    /// Recordings by form item name (media type, bytes), for `<submit>`.
    recordings: HashMap<String, (String, Arc<[u8]>)>,
    hung_up: bool,
    disconnect_values: Option<Vec<(String, serde_json::Value)>>,
    /// Nesting of the same event re-thrown from its own handler.
    event_chain: Vec<String>,
    /// The synchronous `<gvp:send>` whose reply the session waits for.
    send_waits: Option<Loc>,
}

impl Session {
    /// Starts a session; the first output is the `Fetch` of `config.initial`.
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let start_loc = Loc::new(Arc::new(config.initial.clone()), crate::xml::Pos::new(1, 1));
        let platform_props = config
            .platform_properties
            .iter()
            .map(|(n, v)| crate::vxml::model::Property {
                name: n.clone(),
                value: v.clone(),
                loc: start_loc.clone(),
            })
            .collect();
        // Nothing is timed before the first document arrives; `now` keeps
        // the constructor in step with every other input.
        let _ = now;
        let js = Js::new(&config.limits, &config.info);
        let mut s = Session {
            config,
            platform_props,
            out: VecDeque::new(),
            wait: Wait::Running,
            js,
            next_id: 0,
            root: None,
            doc: None,
            dialog: None,
            fetches: HashMap::new(),
            suspended: None,
            prompts: Vec::new(),
            playing: None,
            listen: None,
            transitions: 0,
            subdialogs: Vec::new(),
            grammars: HashMap::new(),
            scripts: HashMap::new(),
            failed: HashMap::new(),
            messages: VecDeque::new(),
            loading: None,
            srcexpr: input::SrcexprState::default(),
            pending_params: None,
            pending_fill: None,
            last_mark: None,
            typeahead: VecDeque::new(),
            utterance_recording: None,
            heard_recording: None,
            recordings: HashMap::new(),
            hung_up: false,
            disconnect_values: None,
            event_chain: Vec::new(),
            send_waits: None,
        };
        let url = s.config.initial.clone();
        s.fetch_document(url, Nav::Initial, None);
        s
    }

    /// A fetch answered.
    pub fn handle_fetched(&mut self, id: FetchId, result: FetchResult, now: Instant) {
        if matches!(self.wait, Wait::Finished) {
            return;
        }
        let Some(purpose) = self.fetches.remove(&id) else {
            tracing::debug!(?id, "fetch answer for an unknown or cancelled request");
            return;
        };
        let step = self.on_fetched(id, purpose, result, now);
        self.drive(step, now);
    }

    /// One DTMF key (`0-9`, `*`, `#`, `A-D`). Keys pressed while no
    /// collection is active (a `<block>` runs, a page loads, between fields)
    /// are typeahead: kept for the next `Listen` and matched against its
    /// grammars as soon as it starts, unless its prompts have
    /// `bargein="false"`, which empties the buffer (VoiceXML 2.0 §4.1.5,
    /// §4.1.8). Keys pressed while a `<record>` or a `<transfer>` runs are
    /// ignored.
    pub fn handle_dtmf(&mut self, digit: char, now: Instant) {
        if let Some(step) = self.on_dtmf(digit, now) {
            self.drive(step, now);
        }
    }

    /// Text-mode speech: matched by this core against the active voice grammars.
    pub fn handle_utterance(&mut self, words: &str, now: Instant) {
        if let Some(step) = self.on_utterance(words, now) {
            self.drive(step, now);
        }
    }

    /// A recognizer's result for the current `Listen`.
    pub fn handle_recognition(&mut self, result: RecognitionResult, now: Instant) {
        if let Some(step) = self.on_recognition(result, now) {
            self.drive(step, now);
        }
    }

    /// The recording of the utterance about to be reported (by
    /// `handle_utterance` or `handle_recognition`) for a `Listen` with
    /// `recordutterance`; it is exposed with that input's result and
    /// dropped if the input matches nothing.
    pub fn handle_utterance_recording(&mut self, recording: UtteranceRecording, now: Instant) {
        let _ = now;
        if matches!(self.wait, Wait::Input) {
            self.utterance_recording = Some(recording);
        }
    }

    /// The platform finished rendering a `Play`.
    pub fn handle_play_done(&mut self, id: PlayId, now: Instant) {
        if self.playing == Some(id) {
            self.playing = None;
            if let Some(l) = self.listen.as_mut() {
                l.start_noinput_timer(now);
            }
        }
    }

    /// The platform reached a `<mark>` while playing (recorded for
    /// `application.lastresult$.markname`).
    pub fn handle_mark(&mut self, name: &str, now: Instant) {
        if let Some(l) = self.listen.as_mut() {
            l.mark = Some((name.to_string(), now));
        }
    }

    /// Called at or after [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(step) = self.on_timeout(now) {
            self.drive(step, now);
        }
    }

    /// Outcome of an `Output::Transfer`.
    pub fn handle_transfer_result(&mut self, result: TransferResult, now: Instant) {
        if let Some(step) = self.on_transfer_result(result, now) {
            self.drive(step, now);
        }
    }

    /// Outcome of an `Output::Record`.
    pub fn handle_record_result(&mut self, result: RecordResult, now: Instant) {
        if let Some(step) = self.on_record_result(result, now) {
            self.drive(step, now);
        }
    }

    /// A message from outside the call (CTI reply, SIP INFO).
    pub fn handle_external_message(&mut self, msg: ExternalMessage, now: Instant) {
        if let Some(step) = self.on_message(msg) {
            self.drive(step, now);
        }
    }

    /// The message carrying a synchronous `<gvp:send>` could not be
    /// delivered (the INFO was refused, timed out or the call has no
    /// dialog), so no reply will come: `error.com.genesyslab.send` is thrown
    /// where the send is, with `reason` in `_message`. Ignored unless a
    /// synchronous send waits for its reply.
    pub fn handle_send_failed(&mut self, reason: &str, now: Instant) {
        if let Some(step) = self.on_send_failed(reason) {
            self.drive(step, now);
        }
    }

    /// The caller hung up (§5.3.11): `connection.disconnect.hangup` is
    /// thrown, its handler runs, then the session ends.
    pub fn handle_hangup(&mut self, now: Instant) {
        if matches!(self.wait, Wait::Finished) || self.hung_up {
            return;
        }
        self.hung_up = true;
        self.typeahead.clear();
        self.srcexpr.again = None;
        self.listen = None;
        self.playing = None;
        self.prompts.clear();
        self.suspended = None;
        self.fetches.clear();
        self.loading = None;
        self.pending_fill = None;
        self.send_waits = None;
        self.wait = Wait::Running;
        let ev = Event::new("connection.disconnect.hangup", None, None);
        self.drive(fia::Step::Throw(ev), now);
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next deadline at which [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.wait {
            Wait::Input => self.listen.as_ref().and_then(|l| l.deadline()),
            Wait::Message { deadline } => *deadline,
            _ => None,
        }
    }

    /// True once the session has produced `Exit`, `Disconnect` or `Error`.
    pub fn is_finished(&self) -> bool {
        matches!(self.wait, Wait::Finished)
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
