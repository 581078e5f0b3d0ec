//! What goes into and comes out of a [`Session`](super::Session): the
//! configuration, the results a driver feeds back (`handle_*`) and the
//! [`Output`]s it drains with `poll_output`.
//!
//! The driver loop is:
//!
//! ```text
//! let mut s = Session::new(config, now);
//! loop {
//!     while let Some(out) = s.poll_output() { /* fetch, play, listen, ... */ }
//!     if s.is_finished() { break }
//!     // wait for a fetch result, a digit, play completion or s.poll_timeout()
//!     // and feed it back with s.handle_*(…, now)
//! }
//! ```
//!
//! Nothing here performs I/O: a `Fetch` is a request the driver serves, a
//! `Play` is a list of resolved SSML prompts the driver renders, a `Listen`
//! tells the driver which grammars are active and with which timeouts.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use crate::script::SessionInfo;

/// Everything a session needs to start.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The initial VoiceXML document (RFC 5552 `voicexml=` parameter).
    pub initial: Url,
    /// Connection facts exposed as `session.connection.*`.
    pub info: SessionInfo,
    /// Bounds that keep a misbehaving application from hanging the session.
    pub limits: SessionLimits,
    /// Platform-level property defaults (lowest priority in the property
    /// scope chain, above the VoiceXML defaults), e.g. `("timeout", "7s")` or
    /// vendor properties such as `com.genesyslab.externalevents.enable`.
    pub platform_properties: Vec<(String, String)>,
}

impl SessionConfig {
    /// A configuration with default limits, no platform properties and empty
    /// connection information.
    pub fn new(initial: Url) -> Self {
        SessionConfig {
            initial,
            info: SessionInfo::default(),
            limits: SessionLimits::default(),
            platform_properties: Vec::new(),
        }
    }
}

/// Bounds on the work a session does without waiting for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLimits {
    /// Dialog transitions (goto, submit, form item selections, thrown events)
    /// allowed between two waits for input. A page that loops through `<goto>`
    /// without ever listening hits this bound and the session ends with
    /// `error.semantic` ("... transitions without waiting for input").
    /// Default 1000.
    pub max_transitions_without_input: u32,
    /// Nested `<subdialog>` calls. Default 50.
    pub max_subdialog_depth: u32,
    /// Times the same event may be re-thrown while its own handler runs before
    /// the session gives up with `error.semantic`. Default 20.
    pub max_event_loop: u32,
    /// Maximum ECMAScript loop iterations per evaluation. Default 1,000,000.
    pub script_loop_iterations: u64,
    /// Maximum ECMAScript recursion depth. Default 400.
    pub script_recursion: usize,
    /// Maximum prompts queued before a wait (extra prompts are dropped with a
    /// log line). Default 1000.
    pub max_queued_prompts: usize,
    /// Maximum messages kept for `<gvp:receive>`. Default 100.
    pub max_queued_messages: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_transitions_without_input: 1000,
            max_subdialog_depth: 50,
            max_event_loop: 20,
            script_loop_iterations: 1_000_000,
            script_recursion: 400,
            max_queued_prompts: 1000,
            max_queued_messages: 100,
        }
    }
}

/// Identifies one [`FetchRequest`]; its answer comes back through
/// `Session::handle_fetched` with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FetchId(pub u64);

/// Identifies one [`Play`]; `Session::handle_play_done` reports it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlayId(pub u64);

/// A document position for transcripts: `url:line:column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLoc {
    /// The document URL.
    pub url: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.url, self.line, self.column)
    }
}

/// The answer to a [`FetchRequest`].
#[derive(Debug, Clone)]
pub enum FetchResult {
    /// The resource was fetched.
    Ok(Fetched),
    /// The fetch failed; `event` is the VoiceXML event to throw, e.g.
    /// `error.badfetch.http.404`, and `message` a sentence for `_message`.
    Err {
        /// Event name such as `error.badfetch` or `error.badfetch.http.404`.
        event: String,
        /// Human-readable reason.
        message: String,
    },
}

/// A fetched resource.
#[derive(Clone)]
pub struct Fetched {
    /// The final URL (after redirects): relative references resolve against it.
    pub url: Url,
    /// The media type from the response, if any.
    pub content_type: Option<String>,
    /// The body.
    pub bytes: Arc<[u8]>,
    /// A compiled form from the driver's cache (an `Arc<Document>` for a
    /// document, a `Grammar` for a grammar) previously handed out through
    /// [`Output::Compiled`]; used instead of compiling `bytes` again when
    /// its type matches.
    pub compiled: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("url", &self.url.as_str())
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

/// What a fetched resource is for; decides which fetch properties apply and
/// how the result is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A VoiceXML document (initial, `<goto>`, `<link>`, `<choice>`, application root).
    Document,
    /// A `<submit>` whose answer is the next document.
    Submit,
    /// A `<subdialog>` document.
    Subdialog,
    /// An external grammar.
    Grammar,
    /// A `<script src>`.
    Script,
    /// A `<data>` XML resource.
    Data,
    /// Audio named by a page with `fetchhint="prefetch"` (or the
    /// `audiofetchhint` property): a hint to warm the driver's cache when
    /// the page loads. The session does not wait for it and ignores the
    /// answer; prompts carry audio URLs with their [`AudioFetch`] settings and
    /// the player fetches them when it renders the prompt.
    Audio,
}

/// HTTP method of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET (parameters in the query string).
    Get,
    /// POST (parameters in the body according to `enctype`).
    Post,
}

/// A value sent with a `<submit>`, `<subdialog>` or `<data>` namelist.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitValue {
    /// A text value (ECMAScript ToString of the variable).
    Text(String),
    /// A recording (from `<record>` or `recordutterance`), sent as a file part.
    Audio {
        /// Media type such as `audio/x-wav`.
        content_type: String,
        /// The recorded bytes.
        bytes: Arc<[u8]>,
    },
}

/// A resource the driver must fetch and answer with `handle_fetched`.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Correlates the answer.
    pub id: FetchId,
    /// Absolute URL, without the fragment.
    pub url: Url,
    /// What the resource is for.
    pub kind: ResourceKind,
    /// GET or POST.
    pub method: Method,
    /// Namelist values (query string for GET, body for POST).
    pub params: Vec<(String, SubmitValue)>,
    /// `application/x-www-form-urlencoded` or `multipart/form-data`.
    pub enctype: String,
    /// `maxage` (from the element or the `*maxage` property).
    pub maxage: Option<Duration>,
    /// `maxstale`.
    pub maxstale: Option<Duration>,
    /// `fetchtimeout`.
    pub timeout: Option<Duration>,
    /// `fetchhint` (`prefetch` or `safe`).
    pub fetchhint: Option<String>,
    /// Audio to play while the fetch is under way.
    pub fetchaudio: Option<Url>,
    /// The document that asked for the resource (HTTP `Referer`).
    pub referrer: Option<Url>,
}

/// Barge-in kind of a prompt (§4.1.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BargeinType {
    /// Any speech or DTMF interrupts the prompt.
    #[default]
    Speech,
    /// Only input matching an active grammar interrupts the prompt.
    Hotword,
}

/// One node of a resolved SSML prompt: text and `<value>` already evaluated,
/// audio URLs resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptPart {
    /// Text to speak (whitespace normalized).
    Text(String),
    /// `<audio>`: play `src`; if it cannot be fetched or played, render
    /// `fallback` instead (§4.1.3; [`QueuedPrompt::render`] does this).
    Audio {
        /// Resolved URL, `None` when `expr` evaluated to undefined or to
        /// something that is not a URI (then only the fallback is rendered).
        /// A `recording:NAME` URL designates the recording of form item
        /// `NAME` made in this session.
        src: Option<Url>,
        /// Alternate content.
        fallback: Vec<PromptPart>,
        /// How to fetch `src`.
        fetch: AudioFetch,
    },
    /// `<break>`.
    Break {
        /// Explicit pause length.
        time: Option<Duration>,
        /// `none`, `x-weak` ... `x-strong`.
        strength: Option<String>,
    },
    /// `<mark>`: the platform reports reaching it with `handle_mark`.
    Mark(String),
    /// A structural or styling SSML element (`say-as`, `prosody`, `voice`,
    /// `emphasis`, `p`, `s`, `phoneme`, `lang`) with its attributes.
    Element {
        /// Local element name.
        name: String,
        /// Attributes as written (expressions already evaluated).
        attrs: Vec<(String, String)>,
        /// Content.
        children: Vec<PromptPart>,
    },
    /// `<sub alias>`: `alias` is spoken instead of the content.
    Sub {
        /// The spoken replacement.
        alias: String,
        /// The written form.
        children: Vec<PromptPart>,
    },
}

impl PromptPart {
    fn push_spoken(&self, out: &mut String) {
        match self {
            PromptPart::Text(t) => out.push_str(t),
            PromptPart::Audio { src, fallback, .. } => {
                if src.is_none() {
                    for p in fallback {
                        p.push_spoken(out);
                    }
                }
            }
            PromptPart::Break { .. } => out.push(' '),
            PromptPart::Mark(_) => {}
            PromptPart::Element { name, children, .. } => {
                let block = name == "p" || name == "s";
                if block {
                    out.push(' ');
                }
                for p in children {
                    p.push_spoken(out);
                }
                if block {
                    out.push(' ');
                }
            }
            PromptPart::Sub { alias, .. } => out.push_str(alias),
        }
    }

    fn push_audio<'a>(&'a self, out: &mut Vec<&'a Url>) {
        match self {
            PromptPart::Audio { src: Some(u), .. } => out.push(u),
            PromptPart::Audio {
                src: None,
                fallback,
                ..
            } => {
                for p in fallback {
                    p.push_audio(out);
                }
            }
            PromptPart::Element { children, .. } | PromptPart::Sub { children, .. } => {
                for p in children {
                    p.push_audio(out);
                }
            }
            _ => {}
        }
    }
}

/// How the platform fetches an `<audio>` source (VoiceXML 2.0 §6.1): the
/// element's `fetchtimeout`, `fetchhint`, `maxage` and `maxstale`, else the
/// `fetchtimeout`, `audiofetchhint`, `audiomaxage` and `audiomaxstale`
/// properties in effect where the prompt was queued.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AudioFetch {
    /// `fetchtimeout`.
    pub timeout: Option<Duration>,
    /// `maxage`.
    pub maxage: Option<Duration>,
    /// `maxstale`.
    pub maxstale: Option<Duration>,
    /// `fetchhint` (`prefetch`, `safe` or `stream`).
    pub fetchhint: Option<String>,
}

/// What a player made of a prompt ([`QueuedPrompt::render`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderedPrompt {
    /// The words spoken: text, `<value>`s, `sub` aliases, and the alternate
    /// content of audio that could not be played.
    pub text: String,
    /// Every audio source tried, in order, with whether it played.
    pub audio: Vec<(Url, bool)>,
    /// The `<mark>`s reached, in order (marks inside alternate content only
    /// when that content was rendered).
    pub marks: Vec<String>,
}

impl PromptPart {
    fn render(
        &self,
        play: &mut dyn FnMut(&Url, &AudioFetch) -> bool,
        raw: &mut String,
        out: &mut RenderedPrompt,
    ) {
        match self {
            PromptPart::Text(t) => raw.push_str(t),
            PromptPart::Audio {
                src,
                fallback,
                fetch,
            } => {
                let played = match src {
                    Some(u) => {
                        let ok = play(u, fetch);
                        out.audio.push((u.clone(), ok));
                        ok
                    }
                    None => false,
                };
                if !played {
                    for p in fallback {
                        p.render(play, raw, out);
                    }
                }
            }
            PromptPart::Break { .. } => raw.push(' '),
            PromptPart::Mark(name) => out.marks.push(name.clone()),
            PromptPart::Element { name, children, .. } => {
                let block = name == "p" || name == "s";
                if block {
                    raw.push(' ');
                }
                for p in children {
                    p.render(play, raw, out);
                }
                if block {
                    raw.push(' ');
                }
            }
            PromptPart::Sub { alias, .. } => raw.push_str(alias),
        }
    }
}

/// A prompt queued by the interpreter (§4.1.8), flushed in a [`Play`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedPrompt {
    /// The resolved SSML content.
    pub parts: Vec<PromptPart>,
    /// Whether input may interrupt it (`bargein` attribute or property).
    pub bargein: bool,
    /// `speech` or `hotword`.
    pub bargeintype: BargeinType,
    /// The `timeout` attribute: the noinput timeout of the next wait, when
    /// this is the last prompt before it.
    pub timeout: Option<Duration>,
    /// `xml:lang` in effect.
    pub lang: Option<String>,
    /// Where the prompt was written.
    pub loc: Option<SourceLoc>,
}

impl QueuedPrompt {
    /// The words a synthesizer would speak: text, evaluated values, `sub`
    /// aliases, and the fallback of audio whose URL is absent. Audio files
    /// are not transcribed.
    pub fn spoken_text(&self) -> String {
        let mut raw = String::new();
        for p in &self.parts {
            p.push_spoken(&mut raw);
        }
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Renders the prompt as a player does (VoiceXML 2.0 §4.1.3): `play` is
    /// asked, in order, to fetch and play each audio source and says whether
    /// it could; when it could not, the `<audio>` element's alternate
    /// content is rendered in its place. Audio that cannot be played with
    /// empty alternate content is skipped silently: no event is thrown,
    /// which is why the session has no input for audio failures.
    pub fn render(&self, play: &mut dyn FnMut(&Url, &AudioFetch) -> bool) -> RenderedPrompt {
        let mut raw = String::new();
        let mut out = RenderedPrompt::default();
        for p in &self.parts {
            p.render(play, &mut raw, &mut out);
        }
        out.text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        out
    }

    /// The audio URLs the prompt would play, in order.
    pub fn audio_urls(&self) -> Vec<&Url> {
        let mut v = Vec::new();
        for p in &self.parts {
            p.push_audio(&mut v);
        }
        v
    }
}

/// Prompts to render, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    /// Report completion with `handle_play_done(id)`.
    pub id: PlayId,
    /// The queued prompts.
    pub prompts: Vec<QueuedPrompt>,
}

/// Grammar input mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrammarMode {
    /// Spoken input.
    Voice,
    /// Touch tones.
    Dtmf,
}

/// Which element activated a grammar (the order of §3.1.4 precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrammarScope {
    /// A grammar of the field being collected (or a menu's choices).
    Field,
    /// A `<link>` of the current form item.
    FieldLink,
    /// A form-level grammar or a link of the current dialog.
    Dialog,
    /// A document-scoped grammar or a link of the current document.
    Document,
    /// A grammar or link of the application root document.
    Application,
    /// A platform universal grammar (help, exit, cancel).
    Universal,
}

/// One active grammar, as the recognizer sees it.
#[derive(Debug, Clone)]
pub struct ListenGrammar {
    /// Position in `Listen::grammars`; results refer to it.
    pub key: usize,
    /// Voice or DTMF.
    pub mode: GrammarMode,
    /// Activating element kind.
    pub scope: GrammarScope,
    /// `url:line:column` of an inline grammar, the URL of an external one,
    /// or a `builtin:` URI.
    pub source: String,
    /// The compiled grammar, for a recognizer that takes SRGS (external
    /// references already linked).
    pub grammar: crate::grammar::Grammar,
    /// The `weight` attribute.
    pub weight: f32,
}

/// Which input modes are enabled (`inputmodes` property).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputModes {
    /// DTMF accepted.
    pub dtmf: bool,
    /// Speech accepted.
    pub voice: bool,
}

/// The session waits for input with these grammars and parameters.
#[derive(Debug, Clone)]
pub struct Listen {
    /// Active grammars in precedence order.
    pub grammars: Vec<ListenGrammar>,
    /// Enabled modes.
    pub inputmodes: InputModes,
    /// Noinput timeout (starts when the preceding `Play` is done).
    pub timeout: Duration,
    /// DTMF inter-digit timeout.
    pub interdigittimeout: Duration,
    /// DTMF terminating timeout.
    pub termtimeout: Duration,
    /// DTMF terminating character (`None` when the property is empty).
    pub termchar: Option<char>,
    /// Speech complete timeout.
    pub completetimeout: Duration,
    /// Speech incomplete timeout.
    pub incompletetimeout: Duration,
    /// Maximum speech length.
    pub maxspeechtimeout: Duration,
    /// Barge-in allowed for the prompts played before this wait.
    pub bargein: bool,
    /// Minimum confidence (0.0–1.0).
    pub confidencelevel: f32,
    /// Recognizer sensitivity (0.0–1.0).
    pub sensitivity: f32,
    /// Speed versus accuracy (0.0–1.0).
    pub speedvsaccuracy: f32,
    /// Number of hypotheses wanted.
    pub maxnbest: usize,
    /// Whether the utterance should be recorded (VoiceXML 2.1 §6.3
    /// `recordutterance`): the driver then passes the recording with
    /// `Session::handle_utterance_recording` before the result.
    pub recordutterance: bool,
    /// Media type of that recording (`recordutterancetype`).
    pub recordutterancetype: String,
    /// Vendor properties in effect (e.g. `com.genesyslab.*`), for the
    /// platform.
    pub properties: Vec<(String, String)>,
    /// The form item being collected (field or `<initial>` name), or the
    /// menu's id.
    pub item: String,
}

/// How the caller provided input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    /// Touch tones.
    Dtmf,
    /// Speech.
    Voice,
}

/// One recognizer hypothesis.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizedHypothesis {
    /// Key of the matched grammar in `Listen::grammars`.
    pub grammar_key: usize,
    /// The words (or digits) recognized.
    pub utterance: String,
    /// 0.0–1.0.
    pub confidence: f32,
    /// The semantic result; `None` means "use the utterance".
    pub interpretation: Option<serde_json::Value>,
}

/// The caller's utterance as recorded while recognizing it, when the
/// `Listen` asked for it (`recordutterance`); exposed as
/// `application.lastresult$.recording`, `.recordingsize` and
/// `.recordingduration` and the same properties of the filled field's
/// shadow variable (VoiceXML 2.1 §6.3).
#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceRecording {
    /// The audio bytes.
    pub bytes: Arc<[u8]>,
    /// Media type (normally the `Listen`'s `recordutterancetype`).
    pub media_type: String,
    /// Length of the recording.
    pub duration: Duration,
}

/// A recognizer's answer to a `Listen` (from MRCP or an equivalent).
#[derive(Debug, Clone, PartialEq)]
pub enum RecognitionResult {
    /// One or more hypotheses, best first.
    Match {
        /// How the input arrived.
        inputmode: InputMode,
        /// N-best list.
        hypotheses: Vec<RecognizedHypothesis>,
    },
    /// Nothing was heard before the timeout.
    NoInput,
    /// Input did not match any active grammar.
    NoMatch {
        /// What was heard, if known.
        utterance: Option<String>,
    },
    /// The caller spoke longer than `maxspeechtimeout`.
    MaxSpeechTimeout,
}

/// `<transfer type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferType {
    /// The interpreter leaves the call (REFER).
    Blind,
    /// The interpreter stays on the call and resumes when the far end leaves.
    Bridge,
    /// Consultation transfer: like blind once the far end answers.
    Consultation,
}

/// A transfer the platform must perform; answer with `handle_transfer_result`.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    /// The `<transfer>` item name.
    pub name: String,
    /// Blind, bridge or consultation.
    pub kind: TransferType,
    /// Destination URI (`tel:` or `sip:`).
    pub dest: String,
    /// `connecttimeout`.
    pub connecttimeout: Duration,
    /// `maxtime` (zero: unlimited).
    pub maxtime: Duration,
    /// `aai`/`aaiexpr`.
    pub aai: Option<String>,
    /// Audio played to the caller while the far end is being called.
    pub transferaudio: Option<Url>,
    /// `gvp:method` (REFER, BRIDGE, REFERJOIN, MEDIAREDIRECT ...).
    pub method: Option<String>,
    /// `gvp:connectwhen` (answered | immediate).
    pub connectwhen: Option<String>,
    /// Grammars that may end a bridged transfer.
    pub grammars: Vec<ListenGrammar>,
}

/// The outcome of a transfer (§2.3.7.2).
#[derive(Debug, Clone, PartialEq)]
pub enum TransferResult {
    /// The far end answered and the call is now theirs (blind or successful
    /// consultation): the session throws `connection.disconnect.transfer`.
    Transferred,
    /// A bridged call ended or a transfer attempt failed with one of the
    /// §2.3.7.2 result values.
    Completed {
        /// `busy`, `noanswer`, `network_busy`, `near_end_disconnect`,
        /// `far_end_disconnect`, `network_disconnect`, `maxtime_disconnect`,
        /// `unknown`.
        status: String,
        /// How long the far end was connected.
        duration: Duration,
    },
    /// The platform could not transfer: the event to throw, for example
    /// `error.connection.noroute`, `error.connection.noauthorization`,
    /// `error.unsupported.transfer.blind`.
    Failed {
        /// Event name.
        event: String,
        /// Explanation.
        message: String,
    },
}

/// A recording the platform must make; answer with `handle_record_result`.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// The `<record>` item name.
    pub name: String,
    /// Play a beep first.
    pub beep: bool,
    /// Maximum duration.
    pub maxtime: Duration,
    /// Silence that ends the recording.
    pub finalsilence: Duration,
    /// Any DTMF key ends the recording.
    pub dtmfterm: bool,
    /// Media type of the recording.
    pub media_type: String,
    /// Noinput timeout before any sound.
    pub timeout: Duration,
}

/// The outcome of a `<record>`.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordResult {
    /// Audio was recorded.
    Recorded {
        /// The audio bytes.
        bytes: Arc<[u8]>,
        /// Media type.
        media_type: String,
        /// Length of the recording.
        duration: Duration,
        /// The DTMF key that ended it, if any.
        termchar: Option<char>,
        /// Whether it ended because `maxtime` was reached.
        maxtime: bool,
    },
    /// Nothing was heard before the timeout.
    NoInput,
    /// The platform could not record (event such as `error.noresource`).
    Failed {
        /// Event name.
        event: String,
        /// Explanation.
        message: String,
    },
}

/// A `<gvp:send>` message to the CTI side.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    /// Body media type (`application/x-www-form-urlencoded;charset=utf-8`
    /// unless `contenttype` says otherwise).
    pub contenttype: String,
    /// The body (URL-encoded key/value pairs for a namelist).
    pub body: String,
    /// `async`: when false the session waits for the reply message.
    pub is_async: bool,
}

/// A message from outside the call (CTI reply, SIP INFO...), for
/// `<gvp:receive>` and `application.lastmessage$`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalMessage {
    /// Where it came from (`.sourcetype`).
    pub sourcetype: String,
    /// Its media type (`.contenttype`).
    pub contenttype: String,
    /// Its body (`.content`).
    pub content: String,
}

/// What `<exit>` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitValue {
    /// Neither `expr` nor `namelist`.
    None,
    /// `expr`'s value.
    Expr(serde_json::Value),
    /// `namelist` variables by name.
    Namelist(BTreeMap<String, serde_json::Value>),
}

impl ExitValue {
    /// The value as JSON: `null`, the expression's value, or an object of the
    /// namelist variables (what a CCXML `dialog.exit` carries as `values`).
    pub fn into_json(self) -> serde_json::Value {
        match self {
            ExitValue::None => serde_json::Value::Null,
            ExitValue::Expr(v) => v,
            ExitValue::Namelist(map) => serde_json::Value::Object(map.into_iter().collect()),
        }
    }
}

/// Something the driver must do or record.
#[derive(Debug, Clone)]
pub enum Output {
    /// Fetch a resource, then call `handle_fetched`.
    Fetch(FetchRequest),
    /// A compiled form of a fetched resource, for the driver's cache
    /// (pass it back in `Fetched::compiled` next time).
    Compiled {
        /// The fetch it came from.
        id: FetchId,
        /// The final URL the compiled form belongs to.
        url: Url,
        /// `Arc<Document>` or `Grammar`.
        compiled: Arc<dyn Any + Send + Sync>,
    },
    /// Render prompts, then call `handle_play_done`.
    Play(Play),
    /// Wait for input with these grammars.
    Listen(Listen),
    /// Barge-in: stop the prompts being played.
    StopPlayback,
    /// Record the caller, then call `handle_record_result`.
    Record(RecordRequest),
    /// Transfer the call, then call `handle_transfer_result`.
    Transfer(TransferRequest),
    /// Send a message to the CTI side.
    Send(SendRequest),
    /// `<log>` output.
    Log {
        /// `label` attribute.
        label: Option<String>,
        /// The evaluated content.
        text: String,
        /// Where the `<log>` is.
        loc: Option<SourceLoc>,
    },
    /// An event was thrown (for transcripts and tracing).
    Event {
        /// Event name.
        name: String,
        /// `_message`, if any.
        message: Option<String>,
        /// Where it was thrown, if it comes from a document element.
        loc: Option<SourceLoc>,
    },
    /// The session ended with `<disconnect>` or after a hangup: drop the call.
    Disconnect {
        /// `namelist` values.
        values: Vec<(String, serde_json::Value)>,
    },
    /// The session ended with `<exit>` (or ran out of dialog).
    Exit {
        /// Returned values.
        values: ExitValue,
    },
    /// The session ended on an unhandled error after the default handler ran.
    Error {
        /// The event that ended it.
        event: String,
        /// `_message`.
        message: String,
    },
}
