//! The text-mode driver: owns one VoiceXML [`Session`], a simulated clock and
//! the fetcher, feeds the caller's scripted inputs each time the session waits,
//! and turns every session output into a [`TranscriptEntry`].
//!
//! Drive loop (see `vxp_interpreter::vxml::session` for the core's contract):
//!
//! ```text
//! loop {
//!     drain poll_output():  Fetch → fetcher → handle_fetched
//!                           Play → transcript, handle_mark*, handle_play_done
//!                           Listen/Record/Transfer → remember what the session waits for
//!                           Log/Event/Send/Exit/Disconnect/Error → transcript
//!     finished? → stop
//!     waiting for input → next scripted input (none left: hang up)
//!     processing input / waiting on a timer → advance the clock to poll_timeout()
//! }
//! ```
//!
//! Time never passes on its own: the clock jumps to the session's next
//! deadline when the caller is silent or a DTMF collection waits for its
//! inter-digit timeout. A step limit ([`DriverConfig::max_steps`]) ends a
//! session that would otherwise never finish.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use url::Url;
use vxp_interpreter::vxml::session::{
    AudioFetch, ExternalMessage, FetchResult, Listen, Output, Play, PlayId, RecognitionResult,
    RecordRequest, RecordResult, ResourceKind, Session, SessionConfig, SessionInfo,
    TransferRequest, TransferResult, TransferType, UtteranceRecording,
};

use super::audio;
use super::fetch::{FetchService, SetupError};
use super::input::{Input, TransferOutcome};
use super::recording;
use super::transcript::{AudioPlayed, Ending, Transcript, TranscriptEntry, format_duration};

/// Default bound on driver steps (one step = one input fed or one timer
/// advanced). Generous for any real dialog; stops a runaway session.
pub const DEFAULT_MAX_STEPS: u32 = 10_000;

/// How long a transfer that the far end answers lasts in text mode, unless
/// `maxtime` is shorter.
pub const CONNECTED_TRANSFER: Duration = Duration::from_secs(30);

/// Who is calling whom, for `session.connection.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallInfo {
    /// The caller's number or URI (`session.connection.remote.uri`).
    pub ani: Option<String>,
    /// The number called (`session.connection.local.uri`).
    pub dnis: Option<String>,
    /// SIP headers of the INVITE (`session.connection.protocol.sip.headers`).
    pub sip_headers: Vec<(String, String)>,
}

/// Everything a text-mode call needs.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The initial document.
    pub initial: Url,
    /// Connection facts for `session.connection.*`.
    pub call: CallInfo,
    /// Bound on driver steps ([`DEFAULT_MAX_STEPS`]).
    pub max_steps: u32,
    /// Text replacements applied to every URL and message in the transcript,
    /// in order (e.g. the application's folder URL → ``), so transcripts do
    /// not depend on where the application lives.
    pub rewrites: Vec<(String, String)>,
    /// Platform property defaults (`("timeout", "7s")`, vendor properties).
    pub platform_properties: Vec<(String, String)>,
}

impl DriverConfig {
    /// A configuration for `initial` with defaults, printing URLs relative to
    /// the folder of `initial`.
    pub fn new(initial: Url) -> Self {
        let rewrites = folder_of(&initial)
            .map(|folder| vec![(folder, String::new())])
            .unwrap_or_default();
        Self {
            initial,
            call: CallInfo::default(),
            max_steps: DEFAULT_MAX_STEPS,
            rewrites,
            platform_properties: Vec::new(),
        }
    }
}

/// `scheme://host/path/` of the document's folder.
fn folder_of(url: &Url) -> Option<String> {
    let mut folder = url.clone();
    folder.set_query(None);
    folder.set_fragment(None);
    let s = folder.as_str();
    let cut = s.rfind('/')?;
    Some(s[..=cut].to_owned())
}

/// What the application waits for when the driver asks for the next input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A field, menu or link listens for DTMF or speech.
    Input,
    /// A `<record>` is recording.
    Recording,
    /// A `<transfer>` is under way.
    Transfer,
    /// The application waits on a timer, typically `<gvp:receive>` for a message.
    Message,
}

/// Where the caller's inputs come from: a script, or a person at a terminal.
pub trait InputSource {
    /// The next input, or `None` when the caller has nothing more to do (the
    /// driver then hangs up).
    fn next_input(&mut self, waiting: Waiting) -> Option<Input>;
}

impl InputSource for std::collections::VecDeque<Input> {
    fn next_input(&mut self, _waiting: Waiting) -> Option<Input> {
        self.pop_front()
    }
}

/// What the session is doing, from the driver's point of view.
#[derive(Debug)]
enum Wait {
    /// Listening for caller input.
    Listen(Box<Listen>),
    /// Recording.
    Record(Box<RecordRequest>),
    /// Transferring.
    Transfer(Box<TransferRequest>),
    /// Working on the last input (a DTMF collection waiting for more digits,
    /// an utterance being matched): only time must pass.
    Processing,
    /// Waiting on a timer of its own (`<gvp:receive>`, a synchronous send).
    Idle,
}

/// One text-mode call.
#[derive(Debug)]
pub struct TextDriver {
    session: Session,
    fetch: FetchService,
    base: Instant,
    offset: Duration,
    wait: Wait,
    /// Counts waits that began, so the driver can tell whether an input led
    /// to a new wait.
    waits_started: u64,
    pending: Option<Input>,
    entries: Vec<TranscriptEntry>,
    rewrites: Vec<(String, String)>,
    max_steps: u32,
    ending: Option<Ending>,
    caller_hung_up: bool,
    /// Recordings made in this call (size, length) by form item name, for
    /// prompts that play them back (`<audio expr="name">`).
    recordings: HashMap<String, (usize, Duration)>,
    /// Plays whose end is reported once the keys of one input have all
    /// been pressed (`None` outside such an input).
    deferred_plays: Option<Vec<PlayId>>,
}

impl TextDriver {
    /// Starts a session for `config` (nothing runs until [`TextDriver::run`]).
    pub fn new(config: DriverConfig) -> Result<Self, SetupError> {
        let fetch = FetchService::new()?;
        let base = Instant::now();
        let mut session_config = SessionConfig::new(config.initial.clone());
        session_config.info = session_info(&config.call);
        session_config.platform_properties = config.platform_properties.clone();
        let session = Session::new(session_config, base);
        Ok(Self {
            session,
            fetch,
            base,
            offset: Duration::ZERO,
            wait: Wait::Idle,
            waits_started: 0,
            pending: None,
            entries: Vec::new(),
            rewrites: config.rewrites,
            max_steps: config.max_steps,
            ending: None,
            caller_hung_up: false,
            recordings: HashMap::new(),
            deferred_plays: None,
        })
    }

    fn now(&self) -> Instant {
        self.base + self.offset
    }

    fn advance_to(&mut self, deadline: Instant) {
        if let Some(ahead) = deadline.checked_duration_since(self.base) {
            self.offset = self.offset.max(ahead);
        }
    }

    fn advance_by(&mut self, d: Duration) {
        self.offset = self.offset.saturating_add(d);
    }

    /// Runs the call to its end, taking inputs from `inputs` and showing each
    /// transcript entry to `observer` as it happens.
    pub fn run(
        mut self,
        inputs: &mut dyn InputSource,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) -> Transcript {
        let span = tracing::info_span!("text_call", steps = tracing::field::Empty);
        let _entered = span.enter();
        let mut steps = 0u32;
        loop {
            self.drain(observer);
            if self.session.is_finished() {
                break;
            }
            steps += 1;
            if steps > self.max_steps {
                let message = format!(
                    "the session did not finish within {} driver steps",
                    self.max_steps
                );
                self.record(
                    TranscriptEntry::Error {
                        event: "error.vxp.steplimit".into(),
                        message,
                    },
                    observer,
                );
                self.ending = Some(Ending::Error);
                break;
            }
            self.step(inputs, observer);
        }
        span.record("steps", steps);
        let ending = match (self.ending, self.caller_hung_up) {
            (Some(Ending::Error), _) => Ending::Error,
            (_, true) => Ending::Hangup,
            (Some(e), false) => e,
            (None, false) => Ending::Exit,
        };
        Transcript::new(self.entries, ending)
    }

    fn next_input(&mut self, inputs: &mut dyn InputSource, waiting: Waiting) -> Option<Input> {
        self.pending.take().or_else(|| inputs.next_input(waiting))
    }

    /// One driver step: give the session what it waits for.
    fn step(&mut self, inputs: &mut dyn InputSource, observer: &mut dyn FnMut(&TranscriptEntry)) {
        match std::mem::replace(&mut self.wait, Wait::Processing) {
            Wait::Listen(listen) => {
                let input = self.next_input(inputs, Waiting::Input);
                self.feed_listen(input, listen, observer);
            }
            Wait::Record(req) => {
                let input = self.next_input(inputs, Waiting::Recording);
                self.feed_record(input, req, observer);
            }
            Wait::Transfer(req) => {
                let input = self.next_input(inputs, Waiting::Transfer);
                self.feed_transfer(input, req, observer);
            }
            Wait::Processing if self.session.poll_timeout().is_some() => {
                // Typically a DTMF collection waiting for its inter-digit or
                // terminating timeout. If that does not start a new wait, the
                // session waits on its own from now on.
                self.let_time_pass(observer);
                self.wait = Wait::Idle;
            }
            Wait::Processing | Wait::Idle => self.wait_on_session(inputs, observer),
        }
    }

    /// The session waits on its own: a `<gvp:receive>` (with or without
    /// `maxtime`) or the reply to a synchronous `<gvp:send>`. Only a message,
    /// a hangup or time passing can move it on.
    fn wait_on_session(
        &mut self,
        inputs: &mut dyn InputSource,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) {
        self.wait = Wait::Idle;
        let has_timer = self.session.poll_timeout().is_some();
        match self.next_input(inputs, Waiting::Message) {
            Some(Input::Message(content)) => self.feed_message(content, observer),
            Some(Input::Hangup) => self.hang_up(false, observer),
            None if has_timer => self.let_time_pass(observer),
            None => self.hang_up(true, observer),
            Some(Input::NoInput) if has_timer => {
                self.record_input(Input::NoInput, false, observer);
                self.let_time_pass(observer);
            }
            Some(other) if has_timer => {
                // Not for this wait: keep it for the next listen.
                self.pending = Some(other);
                self.let_time_pass(observer);
            }
            Some(other) => self.note(
                format!("input `{other}` ignored: the application waits for an external message"),
                observer,
            ),
        }
    }

    /// Advances the clock to the session's next deadline.
    fn let_time_pass(&mut self, observer: &mut dyn FnMut(&TranscriptEntry)) {
        match self.session.poll_timeout() {
            Some(deadline) => {
                self.advance_to(deadline);
                let now = self.now();
                self.session.handle_timeout(now);
            }
            None => self.stalled(observer),
        }
    }

    /// The session neither finished nor waits for anything: end the call.
    fn stalled(&mut self, observer: &mut dyn FnMut(&TranscriptEntry)) {
        self.record(
            TranscriptEntry::Error {
                event: "error.vxp.stalled".into(),
                message: "the session waits for nothing the caller can give; hanging up".into(),
            },
            observer,
        );
        self.ending = Some(Ending::Error);
        let now = self.now();
        self.session.handle_hangup(now);
        self.drain(observer);
        if !self.session.is_finished() {
            // The core ignored the hangup: nothing more can be done for this call.
            self.max_steps = 0;
        }
    }

    fn hang_up(&mut self, automatic: bool, observer: &mut dyn FnMut(&TranscriptEntry)) {
        self.record_input(Input::Hangup, automatic, observer);
        self.caller_hung_up = true;
        let now = self.now();
        self.session.handle_hangup(now);
    }

    fn feed_message(&mut self, content: String, observer: &mut dyn FnMut(&TranscriptEntry)) {
        self.record_input(Input::Message(content.clone()), false, observer);
        let now = self.now();
        self.session.handle_external_message(
            ExternalMessage {
                sourcetype: "cti".into(),
                contenttype: "application/x-www-form-urlencoded".into(),
                content,
            },
            now,
        );
    }

    fn feed_listen(
        &mut self,
        input: Option<Input>,
        listen: Box<Listen>,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) {
        let now = self.now();
        match input {
            None => self.hang_up(true, observer),
            Some(Input::Hangup) => self.hang_up(false, observer),
            Some(Input::Dtmf(digits)) => {
                self.record_input(Input::Dtmf(digits.clone()), false, observer);
                let started = self.waits_started;
                let mut noted = false;
                // The caller types every key of the input at once: prompts that
                // start meanwhile are still playing when the next keys arrive
                // (barge-in and `bargein="false"` apply to them).
                let deferring = digits.chars().nth(1).is_some();
                if deferring {
                    self.deferred_plays = Some(Vec::new());
                }
                for (i, digit) in digits.char_indices() {
                    let rest = &digits[i..];
                    if self.session.is_finished() {
                        self.note(
                            format!("keys `{rest}` after the end of the call dropped"),
                            observer,
                        );
                        break;
                    }
                    if !noted && i > 0 && self.waits_started != started {
                        // Keys after the one that ended this turn are typeahead
                        // (§4.1.8): the session keeps them for its next collection.
                        self.note(format!("keys `{rest}` typed ahead"), observer);
                        noted = true;
                    }
                    let now = self.now();
                    self.session.handle_dtmf(digit, now);
                    self.drain(observer);
                }
                if deferring {
                    for id in self.deferred_plays.take().unwrap_or_default() {
                        let now = self.now();
                        self.session.handle_play_done(id, now);
                    }
                    self.drain(observer);
                }
            }
            Some(Input::Say(words)) => {
                self.record_input(Input::Say(words.clone()), false, observer);
                if listen.recordutterance {
                    // `recordutterance`: the words become a recording as for `<record>`.
                    let made = recording::record(&words, None);
                    let entry = (made.bytes.len(), made.duration);
                    self.recordings.insert(format!("{}$", listen.item), entry);
                    self.recordings.insert("lastresult$".into(), entry);
                    self.session.handle_utterance_recording(
                        UtteranceRecording {
                            bytes: made.bytes.into(),
                            media_type: listen.recordutterancetype.clone(),
                            duration: made.duration,
                        },
                        now,
                    );
                }
                self.session.handle_utterance(&words, now);
            }
            Some(Input::NoMatch) => {
                self.record_input(Input::NoMatch, false, observer);
                self.session
                    .handle_recognition(RecognitionResult::NoMatch { utterance: None }, now);
            }
            Some(Input::NoInput) => {
                self.record_input(Input::NoInput, false, observer);
                self.let_time_pass(observer);
            }
            Some(Input::Message(content)) => {
                // A message can arrive while the caller is listening; the
                // session keeps listening unless it reacts with a new wait.
                self.wait = Wait::Listen(listen);
                self.feed_message(content, observer);
            }
            Some(other @ Input::Transfer(_)) => {
                self.note(
                    format!(
                        "input `{other}` ignored: the application is listening, not transferring"
                    ),
                    observer,
                );
                self.wait = Wait::Listen(listen);
            }
        }
    }

    fn feed_record(
        &mut self,
        input: Option<Input>,
        req: Box<RecordRequest>,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) {
        let now = self.now();
        let maxtime = Some(req.maxtime);
        match input {
            None => self.hang_up(true, observer),
            Some(Input::Hangup) => self.hang_up(false, observer),
            Some(Input::Say(words)) => {
                let made = recording::record(&words, maxtime);
                self.record(
                    TranscriptEntry::Recorded {
                        words: words.clone(),
                        duration_ms: u64::try_from(made.duration.as_millis()).unwrap_or(u64::MAX),
                        content_type: recording::CONTENT_TYPE.into(),
                        size: made.bytes.len(),
                    },
                    observer,
                );
                self.advance_by(made.duration);
                self.recordings
                    .insert(req.name.clone(), (made.bytes.len(), made.duration));
                let reached_max = !req.maxtime.is_zero() && made.duration >= req.maxtime;
                let now = self.now();
                self.session.handle_record_result(
                    RecordResult::Recorded {
                        bytes: made.bytes.into(),
                        media_type: recording::CONTENT_TYPE.into(),
                        duration: made.duration,
                        termchar: None,
                        maxtime: reached_max,
                    },
                    now,
                );
            }
            Some(Input::Dtmf(digits)) => {
                // A key pressed at once ends an empty (shortest) recording.
                self.record_input(Input::Dtmf(digits.clone()), false, observer);
                let made = recording::record("", maxtime);
                self.recordings
                    .insert(req.name.clone(), (made.bytes.len(), made.duration));
                self.session.handle_record_result(
                    RecordResult::Recorded {
                        bytes: made.bytes.into(),
                        media_type: recording::CONTENT_TYPE.into(),
                        duration: made.duration,
                        termchar: digits.chars().next().filter(|_| req.dtmfterm),
                        maxtime: false,
                    },
                    now,
                );
            }
            Some(Input::NoInput) => {
                self.record_input(Input::NoInput, false, observer);
                self.advance_by(req.timeout);
                let now = self.now();
                self.session
                    .handle_record_result(RecordResult::NoInput, now);
            }
            Some(Input::Message(content)) => {
                self.wait = Wait::Record(req);
                self.feed_message(content, observer);
            }
            Some(other) => {
                self.note(
                    format!("input `{other}` ignored: the application is recording"),
                    observer,
                );
                self.wait = Wait::Record(req);
            }
        }
    }

    fn feed_transfer(
        &mut self,
        input: Option<Input>,
        req: Box<TransferRequest>,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) {
        let outcome = match input {
            Some(Input::Transfer(outcome)) => {
                self.record_input(Input::Transfer(outcome), false, observer);
                outcome
            }
            Some(Input::Hangup) => {
                self.hang_up(false, observer);
                return;
            }
            other => {
                // Nothing scripted for the transfer: the far end answers and
                // later hangs up; the input waits for the next listen.
                self.pending = other;
                self.record_input(
                    Input::Transfer(TransferOutcome::FarEndDisconnect),
                    true,
                    observer,
                );
                TransferOutcome::FarEndDisconnect
            }
        };
        let connected = match req.maxtime {
            max if !max.is_zero() && max < CONNECTED_TRANSFER => max,
            _ => CONNECTED_TRANSFER,
        };
        let result = match (req.kind, outcome) {
            (_, TransferOutcome::NoRoute) => TransferResult::Failed {
                event: "error.connection.noroute".into(),
                message: format!("no route to {}", req.dest),
            },
            (
                TransferType::Blind | TransferType::Consultation,
                TransferOutcome::FarEndDisconnect,
            ) => TransferResult::Transferred,
            (_, TransferOutcome::FarEndDisconnect | TransferOutcome::NearEndDisconnect) => {
                TransferResult::Completed {
                    status: outcome.name().into(),
                    duration: connected,
                }
            }
            (_, TransferOutcome::MaxtimeDisconnect) => TransferResult::Completed {
                status: outcome.name().into(),
                duration: req.maxtime,
            },
            (
                _,
                TransferOutcome::Busy
                | TransferOutcome::NoAnswer
                | TransferOutcome::NetworkBusy
                | TransferOutcome::Unknown,
            ) => TransferResult::Completed {
                status: outcome.name().into(),
                duration: Duration::ZERO,
            },
        };
        if let TransferResult::Completed { duration, .. } = &result {
            self.advance_by(*duration);
        }
        let now = self.now();
        self.session.handle_transfer_result(result, now);
    }

    /// Drains the session's outputs into the transcript, serving fetches and
    /// finishing plays on the way.
    fn drain(&mut self, observer: &mut dyn FnMut(&TranscriptEntry)) {
        while let Some(output) = self.session.poll_output() {
            let now = self.now();
            match output {
                Output::Fetch(req) if req.kind == ResourceKind::Audio => {
                    // A prefetch hint: warm the fetcher's cache now; the prompt
                    // that plays the audio fetches it again from there.
                    tracing::debug!(url = %req.url, "audio prefetch");
                    if let FetchResult::Err { event, .. } = self.fetch.fetch(&req) {
                        tracing::debug!(url = %req.url, %event, "audio prefetch failed");
                    }
                }
                Output::Fetch(req) => {
                    tracing::debug!(url = %req.url, kind = ?req.kind, "fetch");
                    let result = self.fetch.fetch(&req);
                    self.session.handle_fetched(req.id, result, now);
                }
                Output::Compiled { id, compiled, .. } => self.fetch.store_compiled(id, compiled),
                Output::Play(play) => self.play(play, observer),
                Output::Listen(listen) => {
                    let entry = TranscriptEntry::Listen {
                        modes: modes_of(&listen),
                        grammars: listen
                            .grammars
                            .iter()
                            .map(|g| self.show(&g.source))
                            .collect(),
                        timeout_ms: Some(
                            u64::try_from(listen.timeout.as_millis()).unwrap_or(u64::MAX),
                        ),
                    };
                    self.record(entry, observer);
                    self.begin_wait(Wait::Listen(Box::new(listen)));
                }
                Output::StopPlayback => {}
                Output::Record(req) => {
                    let mut details = Vec::new();
                    if req.beep {
                        details.push("beep".to_owned());
                    }
                    if !req.maxtime.is_zero() {
                        details.push(format!("maxtime={}", format_duration(req.maxtime)));
                    }
                    if req.dtmfterm {
                        details.push("dtmfterm".to_owned());
                    }
                    details.push(req.media_type.clone());
                    self.record(TranscriptEntry::Record { details }, observer);
                    self.begin_wait(Wait::Record(Box::new(req)));
                }
                Output::Transfer(req) => {
                    let mut details = Vec::new();
                    if !req.connecttimeout.is_zero() {
                        details.push(format!(
                            "connecttimeout={}",
                            format_duration(req.connecttimeout)
                        ));
                    }
                    if !req.maxtime.is_zero() {
                        details.push(format!("maxtime={}", format_duration(req.maxtime)));
                    }
                    if let Some(aai) = &req.aai {
                        details.push(format!("aai={aai}"));
                    }
                    if let Some(method) = &req.method {
                        details.push(format!("method={method}"));
                    }
                    if let Some(when) = &req.connectwhen {
                        details.push(format!("connectwhen={when}"));
                    }
                    let transfer_type = match req.kind {
                        TransferType::Blind => "blind",
                        TransferType::Bridge => "bridge",
                        TransferType::Consultation => "consultation",
                    };
                    let entry = TranscriptEntry::Transfer {
                        transfer_type: transfer_type.into(),
                        dest: Some(self.show(&req.dest)),
                        details,
                    };
                    self.record(entry, observer);
                    self.begin_wait(Wait::Transfer(Box::new(req)));
                }
                Output::Send(send) => {
                    let entry = TranscriptEntry::Send {
                        asynchronous: send.is_async,
                        content_type: send.contenttype,
                        body: send.body,
                    };
                    self.record(entry, observer);
                }
                Output::Log { label, text, .. } => {
                    let entry = TranscriptEntry::Log {
                        label,
                        text: self.show(&text),
                    };
                    self.record(entry, observer);
                }
                Output::Event { name, message, .. } => {
                    let entry = TranscriptEntry::Event {
                        name,
                        message: message.map(|m| self.show(&m)),
                    };
                    self.record(entry, observer);
                }
                Output::Disconnect { values } => {
                    let map: serde_json::Map<String, serde_json::Value> =
                        values.into_iter().collect();
                    self.record(
                        TranscriptEntry::Disconnect {
                            values: serde_json::Value::Object(map),
                        },
                        observer,
                    );
                    self.ending.get_or_insert(Ending::Disconnect);
                }
                Output::Exit { values } => {
                    let values = values.into_json();
                    self.record(TranscriptEntry::Exit { values }, observer);
                    self.ending.get_or_insert(Ending::Exit);
                }
                Output::Error { event, message } => {
                    let entry = TranscriptEntry::Error {
                        event,
                        message: self.show(&message),
                    };
                    self.record(entry, observer);
                    self.ending = Some(Ending::Error);
                }
            }
        }
    }

    fn begin_wait(&mut self, wait: Wait) {
        self.fetch.forget_recent();
        self.waits_started += 1;
        self.wait = wait;
    }

    /// Renders a `Play`: one prompt entry per queued prompt, its audio
    /// fetched through the fetcher (and its alternate content spoken when
    /// that fails, §4.1.3); marks are reported as reached and the play as
    /// finished at once.
    fn play(&mut self, play: Play, observer: &mut dyn FnMut(&TranscriptEntry)) {
        for prompt in &play.prompts {
            let referrer = prompt
                .loc
                .as_ref()
                .and_then(|l| Url::parse(&l.url).ok())
                .filter(|u| u.scheme() != "data");
            let mut audio = Vec::new();
            let rendered = prompt.render(&mut |url, fetch| {
                let played = self.play_audio(url, fetch, referrer.as_ref());
                let ok = played.failed.is_none();
                audio.push(played);
                ok
            });
            let entry = TranscriptEntry::Prompt {
                text: rendered.text,
                audio,
                bargein: prompt.bargein,
            };
            self.record(entry, observer);
            for mark in rendered.marks {
                self.record(TranscriptEntry::Mark { name: mark.clone() }, observer);
                let now = self.now();
                self.session.handle_mark(&mark, now);
            }
        }
        match self.deferred_plays.as_mut() {
            Some(deferred) => deferred.push(play.id),
            None => {
                let now = self.now();
                self.session.handle_play_done(play.id, now);
            }
        }
    }

    /// Fetches one audio source as the player would. A `recording:NAME`
    /// source is the recording this call made for form item `NAME`.
    fn play_audio(&mut self, url: &Url, fetch: &AudioFetch, referrer: Option<&Url>) -> AudioPlayed {
        let mut played = AudioPlayed::played(self.show(url.as_str()));
        if url.scheme() == "recording" {
            match self.recordings.get(url.path()) {
                Some(&(size, duration)) => {
                    played.bytes = Some(size);
                    played.duration_ms = Some(millis(duration));
                }
                None => played.failed = Some("error.badfetch".into()),
            }
            return played;
        }
        if url.scheme() == "builtin" {
            // Platform audio: played as is, nothing to fetch.
            return played;
        }
        match self.fetch.fetch_audio(url, fetch, referrer) {
            Ok(bytes) => {
                played.bytes = Some(bytes.len());
                played.duration_ms = audio::wav_duration(&bytes).map(millis);
            }
            Err(event) => played.failed = Some(event),
        }
        played
    }

    fn record_input(
        &mut self,
        input: Input,
        automatic: bool,
        observer: &mut dyn FnMut(&TranscriptEntry),
    ) {
        self.record(TranscriptEntry::Input { input, automatic }, observer);
    }

    fn note(&mut self, text: String, observer: &mut dyn FnMut(&TranscriptEntry)) {
        self.record(TranscriptEntry::Note { text }, observer);
    }

    fn record(&mut self, entry: TranscriptEntry, observer: &mut dyn FnMut(&TranscriptEntry)) {
        observer(&entry);
        self.entries.push(entry);
    }

    /// Applies the configured rewrites (absolute folders, server ports).
    fn show(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.rewrites {
            if !from.is_empty() {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }
}

fn modes_of(listen: &Listen) -> Vec<String> {
    let mut modes = Vec::new();
    if listen.inputmodes.dtmf {
        modes.push("dtmf".to_owned());
    }
    if listen.inputmodes.voice {
        modes.push("voice".to_owned());
    }
    modes
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `session.connection.*` for a text-mode call: a SIP call from `ani` to `dnis`.
fn session_info(call: &CallInfo) -> SessionInfo {
    let as_uri = |s: &Option<String>| match s {
        Some(s) if s.contains(':') => s.clone(),
        Some(s) => format!("tel:{s}"),
        None => String::new(),
    };
    let mut info = SessionInfo {
        remote_uri: as_uri(&call.ani),
        local_uri: as_uri(&call.dnis),
        protocol_name: "sip".into(),
        protocol_version: "2.0".into(),
        ..SessionInfo::default()
    };
    for (name, value) in &call.sip_headers {
        if name.eq_ignore_ascii_case("X-Genesys-CallUUID") {
            info.uuid = Some(value.clone());
        }
        info.sip_headers
            .entry(name.clone())
            .or_default()
            .push(value.clone());
    }
    info
}

/// Runs `config`'s application with scripted `inputs` and returns the transcript.
pub fn run_scripted(config: DriverConfig, inputs: Vec<Input>) -> Result<Transcript, SetupError> {
    let driver = TextDriver::new(config)?;
    let mut queue: std::collections::VecDeque<Input> = inputs.into();
    Ok(driver.run(&mut queue, &mut |_| {}))
}

/// Turns a command-line target into a URL: an absolute URL as is, anything
/// else a file path (relative to the current directory).
pub fn target_url(target: &str) -> Result<Url, TargetError> {
    if let Ok(url) = Url::parse(target) {
        // One-letter schemes are Windows drive letters, not URLs.
        if url.scheme().len() > 1 {
            return Ok(url);
        }
    }
    let path = std::path::Path::new(target);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| TargetError::CurrentDir(e.to_string()))?
            .join(path)
    };
    Url::from_file_path(&absolute).map_err(|()| TargetError::NotAPath(target.to_owned()))
}

/// Why a command-line target is neither a URL nor a usable path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The current directory is unknown, so a relative path cannot be resolved.
    #[error("cannot resolve a relative path: {0}")]
    CurrentDir(String),
    /// The text is not a URL and cannot be a file path.
    #[error("`{0}` is neither a URL nor a file path")]
    NotAPath(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_keeps_the_trailing_slash() {
        let url = Url::parse("file:///apps/bank/main.vxml?x=1#f").expect("valid URL");
        assert_eq!(folder_of(&url).as_deref(), Some("file:///apps/bank/"));
        let url = Url::parse("http://127.0.0.1:8080/server/start.vxml").expect("valid URL");
        assert_eq!(
            folder_of(&url).as_deref(),
            Some("http://127.0.0.1:8080/server/")
        );
    }

    #[test]
    fn targets_become_urls() {
        assert_eq!(
            target_url("http://app.example/main.vxml").map(|u| u.to_string()),
            Ok("http://app.example/main.vxml".to_owned())
        );
        let url = target_url("/apps/hello.vxml").expect("absolute path");
        assert_eq!(url.as_str(), "file:///apps/hello.vxml");
        let url = target_url("hello.vxml").expect("relative path");
        assert!(url.as_str().starts_with("file:///"));
        assert!(url.as_str().ends_with("/hello.vxml"));
    }

    /// A page as a `data:` URL, so the test needs no files.
    fn page(vxml: &str) -> Url {
        let mut url = String::from("data:application/voicexml+xml,");
        for b in vxml.bytes() {
            if b.is_ascii_alphanumeric() {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
        Url::parse(&url).expect("percent-encoded data URL")
    }

    fn run(vxml: &str, inputs: Vec<Input>) -> Transcript {
        run_scripted(DriverConfig::new(page(vxml)), inputs).expect("driver starts")
    }

    const DIGIT_FIELD: &str = r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
      <form><field name="n">
        <prompt>Press one or two.</prompt>
        <grammar mode="dtmf" root="d" version="1.0"><rule id="d"><one-of><item>1</item><item>2</item></one-of></rule></grammar>
        <noinput>Nothing?<reprompt/></noinput>
        <filled><exit namelist="n"/></filled>
      </field></form></vxml>"#;

    #[test]
    fn dtmf_input_fills_the_field() {
        let t = run(DIGIT_FIELD, vec![Input::Dtmf("2".into())]);
        assert!(t.ended_with_exit(), "{t}");
        assert_eq!(t.exit_values(), Some(&serde_json::json!({"n": "2"})), "{t}");
    }

    #[test]
    fn silence_jumps_to_the_timeout_and_running_out_of_inputs_hangs_up() {
        let t = run(DIGIT_FIELD, vec![Input::NoInput]);
        assert_eq!(t.events().first(), Some(&"noinput"), "{t}");
        assert_eq!(
            t.prompts(),
            ["Press one or two.", "Nothing?", "Press one or two."],
            "{t}"
        );
        assert!(
            t.entries().iter().any(|e| matches!(
                e,
                TranscriptEntry::Input {
                    input: Input::Hangup,
                    automatic: true
                }
            )),
            "{t}"
        );
        assert_eq!(t.ending(), Ending::Hangup, "{t}");
    }

    #[test]
    fn transfer_without_a_scripted_outcome_is_answered_then_ended() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
              <form><transfer name="t" type="bridge" dest="tel:+15550100">
                <filled><exit namelist="t"/></filled>
              </transfer></form></vxml>"#,
            vec![],
        );
        assert_eq!(
            t.exit_values(),
            Some(&serde_json::json!({"t": "far_end_disconnect"})),
            "{t}"
        );
    }

    #[test]
    fn words_said_during_record_are_the_recording() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
              <form><record name="r" maxtime="10s">
                <filled><log><value expr="r$.duration"/></log><exit/></filled>
              </record></form></vxml>"#,
            vec![Input::Say("one two three".into())],
        );
        assert!(
            t.entries().iter().any(|e| matches!(
                e,
                TranscriptEntry::Recorded {
                    duration_ms: 1200,
                    ..
                }
            )),
            "{t}"
        );
        assert_eq!(t.logs(), ["1200"], "{t}");
    }

    #[test]
    fn a_message_answers_gvp_receive() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"
                   xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
              <form><block>
                <gvp:receive maxtime="5s"/>
                <log><value expr="application.lastmessage$.content"/></log>
              </block></form></vxml>"#,
            vec![Input::Message("a=1".into())],
        );
        assert_eq!(t.logs(), ["a=1"], "{t}");
        assert!(t.ended_with_exit(), "{t}");
    }

    #[test]
    fn keys_after_the_end_of_the_input_are_dropped_and_noted() {
        let t = run(DIGIT_FIELD, vec![Input::Dtmf("21".into())]);
        assert_eq!(t.exit_values(), Some(&serde_json::json!({"n": "2"})), "{t}");
        assert!(
            t.entries().iter().any(|e| matches!(
                e,
                TranscriptEntry::Note { text } if text.contains("`1`")
            )),
            "{t}"
        );
    }

    #[test]
    fn an_input_for_another_wait_is_noted_and_skipped() {
        let t = run(
            DIGIT_FIELD,
            vec![
                Input::Transfer(TransferOutcome::Busy),
                Input::Dtmf("1".into()),
            ],
        );
        assert_eq!(t.exit_values(), Some(&serde_json::json!({"n": "1"})), "{t}");
        assert!(
            t.entries()
                .iter()
                .any(|e| matches!(e, TranscriptEntry::Note { .. })),
            "{t}"
        );
    }

    #[test]
    fn blind_transfer_leaves_the_session() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
              <form><transfer name="t" type="blind" dest="tel:+15550100"/></form></vxml>"#,
            vec![],
        );
        assert!(
            t.events().contains(&"connection.disconnect.transfer"),
            "{t}"
        );
    }

    #[test]
    fn the_step_limit_ends_a_session_that_keeps_waiting() {
        let mut config = DriverConfig::new(page(DIGIT_FIELD));
        config.max_steps = 3;
        let t = run_scripted(config, vec![Input::NoInput; 10]).expect("driver starts");
        assert_eq!(t.ending(), Ending::Error, "{t}");
        assert!(
            matches!(
                t.entries().last(),
                Some(TranscriptEntry::Error { event, .. }) if event == "error.vxp.steplimit"
            ),
            "{t}"
        );
    }

    #[test]
    fn receive_without_maxtime_waits_for_a_message_after_an_input() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"
                   xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
              <form><field name="n">
                <grammar mode="dtmf" root="d" version="1.0"><rule id="d"><item>1</item></rule></grammar>
                <filled>
                  <gvp:receive/>
                  <exit expr="application.lastmessage$.content"/>
                </filled>
              </field></form></vxml>"#,
            vec![Input::Dtmf("1".into()), Input::Message("ok".into())],
        );
        assert_eq!(t.exit_values(), Some(&serde_json::json!("ok")), "{t}");
    }

    #[test]
    fn audio_is_fetched_and_unplayable_audio_speaks_its_alternate_content() {
        let wav = recording::record("one two", None).bytes;
        let mut data = String::from("data:audio/wav;base64,");
        data.push_str(&base64_of(&wav));
        let t = run(
            &format!(
                r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
                  <form><block><prompt>
                    <audio src="{data}">never spoken</audio>
                    <audio src="file:///no/such/vxp/chime.wav">A chime.<mark name="m"/></audio>
                    <audio expr="undefined">Nothing to play.</audio>
                    <audio src="file:///no/such/vxp/silent.wav"/>
                  </prompt></block></form></vxml>"#
            ),
            vec![],
        );
        assert_eq!(t.prompts(), ["A chime. Nothing to play."], "{t}");
        let Some(TranscriptEntry::Prompt { audio, .. }) = t.entries().first() else {
            panic!("the prompt comes first: {t}");
        };
        assert_eq!(audio.len(), 3, "{t}");
        assert_eq!(audio[0].bytes, Some(wav.len()), "{t}");
        assert_eq!(audio[0].duration_ms, Some(800), "{t}");
        assert_eq!(
            audio[1].failed.as_deref(),
            Some("error.badfetch.file.notfound"),
            "{t}"
        );
        // No event for audio that cannot be played (§4.1.3).
        assert!(t.events().is_empty(), "{t}");
        assert!(
            t.entries()
                .iter()
                .any(|e| matches!(e, TranscriptEntry::Mark { name } if name == "m")),
            "{t}"
        );
    }

    /// Standard base64 (for a `data:` URL in a test page).
    fn base64_of(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for k in 0..4 {
                if k <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn keys_beyond_a_fields_input_are_typed_ahead_for_the_next_field() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
              <form>
                <field name="a" type="digits?length=2"><prompt>First.</prompt></field>
                <block><prompt>Thanks.</prompt></block>
                <field name="b" type="digits?length=1"><prompt>Second.</prompt></field>
                <filled mode="all" namelist="a b"><exit namelist="a b"/></filled>
              </form></vxml>"#,
            vec![Input::Dtmf("123".into())],
        );
        assert_eq!(
            t.exit_values(),
            Some(&serde_json::json!({"a": "12", "b": "3"})),
            "{t}"
        );
        assert!(
            t.entries().iter().any(|e| matches!(
                e,
                TranscriptEntry::Note { text } if text == "keys `3` typed ahead"
            )),
            "{t}"
        );
    }

    #[test]
    fn recordutterance_makes_a_recording_of_what_the_caller_said() {
        let t = run(
            r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
              <property name="recordutterance" value="true"/>
              <form><field name="c">
                <grammar root="r" version="1.0"><rule id="r"><one-of><item>red</item><item>dark blue</item></one-of></rule></grammar>
                <filled>
                  <log><value expr="c$.recordingduration"/> <value expr="application.lastresult$.recordingsize"/></log>
                  <prompt>You said <audio expr="c$.recording"/></prompt>
                </filled>
              </field></form></vxml>"#,
            vec![Input::Say("dark blue".into())],
        );
        let made = recording::record("dark blue", None);
        assert_eq!(
            t.logs(),
            [format!(
                "{} {}",
                made.duration.as_millis(),
                made.bytes.len()
            )],
            "{t}"
        );
        let played = t.entries().iter().find_map(|e| match e {
            TranscriptEntry::Prompt { audio, .. } => audio.first(),
            _ => None,
        });
        assert_eq!(played.and_then(|a| a.bytes), Some(made.bytes.len()), "{t}");
    }

    #[test]
    fn session_info_describes_a_sip_call() {
        let info = session_info(&CallInfo {
            ani: Some("5551234".into()),
            dnis: Some("sip:bank@vxp.example".into()),
            sip_headers: vec![("X-Genesys-CallUUID".into(), "abc".into())],
        });
        assert_eq!(info.remote_uri, "tel:5551234");
        assert_eq!(info.local_uri, "sip:bank@vxp.example");
        assert_eq!(info.protocol_name, "sip");
        assert_eq!(info.uuid.as_deref(), Some("abc"));
        assert_eq!(
            info.sip_headers.get("X-Genesys-CallUUID"),
            Some(&vec!["abc".to_owned()])
        );
    }
}
