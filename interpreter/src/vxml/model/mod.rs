//! The typed VoiceXML 2.1 document model (VoiceXML 2.0 §1–§6, VoiceXML 2.1
//! §2–§6, SSML 1.0 inside prompts, SRGS 1.0 inside `<grammar>`, and the NGI
//! extensions in namespace [`GVP_NS`]).
//!
//! A page is compiled once by [`crate::vxml::parse`] into a [`Document`] and
//! shared behind an `Arc` by every session running it. Nothing here is
//! mutable at run time: the Form Interpretation Algorithm keeps its state in the
//! session, and refers to model nodes by dialog index and form item index.
//!
//! Every node carries a [`Loc`] (document URL, line, column) so a run-time
//! error can name the element that caused it. Expressions are kept as source
//! text ([`Expr`]); their ECMAScript syntax is checked when they are evaluated,
//! where a failure is `error.semantic`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};
use url::Url;

use crate::xml::Pos;

mod document;
mod exec;
mod form;
mod grammar;
mod prompt;

pub use document::{Dialog, Document, Init, Meta, Property};
pub use exec::{
    Assign, Branch, Clear, Data, Disconnect, Exit, Foreach, Goto, GotoTarget, If, Log, LogPart,
    Receive, Reprompt, Return, Script, ScriptSource, Send, SendPayload, Stmt, Submit, Throw, Var,
};
pub use form::{
    Accept, Block, Catch, Choice, ConnectWhen, Field, FieldOption, Filled, FilledMode, Form,
    FormItem, Initial, ItemCommon, Link, LinkAction, Menu, Object, Param, ParamValue, Record,
    Subdialog, Transfer, TransferMethod, TransferType, ValueType,
};
pub use grammar::{GrammarMode, GrammarRef, GrammarSource, InlineForm, InlineGrammar};
pub use prompt::{
    Audio, BargeinType, Break, BreakStrength, Emphasis, Enumerate, Lexicon, Mark, Phoneme, Prompt,
    PromptForeach, PromptNode, Prosody, SayAs, Speak, Sub, TextRun, Voice,
};

/// The VoiceXML namespace.
pub const VXML_NS: &str = "http://www.w3.org/2001/vxml";
/// The SSML 1.0 namespace (speech markup may appear in it inside prompts).
pub const SSML_NS: &str = "http://www.w3.org/2001/10/synthesis";
/// The SRGS 1.0 namespace (inline XML grammars).
pub const SRGS_NS: &str = "http://www.w3.org/2001/06/grammar";
/// The Genesys NGI extension namespace (`gvp:` prefix by convention).
pub const GVP_NS: &str = "http://www.genesyslab.com/2006/vxml21-extension";

/// Where a node comes from: the URL of the document and the line and column
/// where its start tag begins. Displays as `url:line:column`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The URL the document was fetched from (not its `xml:base`).
    pub url: Arc<Url>,
    /// Line and column of the element's start tag.
    pub pos: Pos,
}

impl Loc {
    /// A location in the document at `url`.
    pub fn new(url: Arc<Url>, pos: Pos) -> Self {
        Self { url, pos }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.url, self.pos.line, self.pos.column)
    }
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Loc({self})")
    }
}

impl Serialize for Loc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ECMAScript expression (or statement list, for `<script>`) as written in
/// the document, evaluated by the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expr {
    /// The source text.
    pub src: Arc<str>,
    /// The element carrying the expression.
    pub loc: Loc,
}

/// A value given either literally in the document or by an expression the
/// session evaluates (`next`/`expr`, `src`/`srcexpr`, `event`/`eventexpr`...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Computed<T> {
    /// Given literally (`next`, `src`, `event`, `dest`, `name`...).
    Static(T),
    /// Given by an expression (`expr`, `srcexpr`, `eventexpr`, `destexpr`...).
    Dynamic(Expr),
}

/// A statically given URI reference, resolved against the in-scope base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Target {
    /// `#id`: a dialog of the current document (checked at compile time).
    Dialog(String),
    /// Any other reference, made absolute (it may still point into this
    /// document, and may carry a fragment naming a dialog).
    Url(Url),
}

/// `scope` of a form, menu or grammar (VoiceXML 2.0 §2.1, §3.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Scope {
    /// Active only while the user is in the dialog (the default).
    #[default]
    Dialog,
    /// Active throughout the document (and the application, from a root document).
    Document,
}

/// `fetchhint` (VoiceXML 2.0 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FetchHint {
    /// The resource may be fetched when the page is loaded.
    Prefetch,
    /// Fetch only when actually needed.
    Safe,
}

/// `method` of `<submit>`, `<subdialog>` and `<data>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Method {
    /// HTTP GET (the default).
    #[default]
    Get,
    /// HTTP POST.
    Post,
}

/// `enctype` of `<submit>`, `<subdialog>` and `<data>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Enctype {
    /// `application/x-www-form-urlencoded` (the default).
    #[default]
    UrlEncoded,
    /// `multipart/form-data` (needed to send recordings).
    Multipart,
}

/// The fetch attributes of VoiceXML 2.0 §6.1.1 on the element that carries
/// them; `None` means "use the property in effect".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FetchAttrs {
    /// `fetchtimeout`.
    pub timeout: Option<Duration>,
    /// `fetchhint`.
    pub hint: Option<FetchHint>,
    /// `maxage`, in seconds.
    pub maxage: Option<u64>,
    /// `maxstale`, in seconds.
    pub maxstale: Option<u64>,
    /// `fetchaudio`: audio played while the fetch is in progress.
    pub fetchaudio: Option<FetchAudio>,
}

/// The `fetchaudio` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FetchAudio {
    /// `fetchaudio=""`: no fetch audio, whatever the `fetchaudio` property says.
    Off,
    /// Play this (resolved) URL while fetching.
    Url(Url),
}

/// What `<submit>`, `<subdialog>` and `<data>` send (VoiceXML 2.0 §5.3.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Submission {
    /// Variables whose values are sent; empty means the element's default.
    pub namelist: Vec<String>,
    /// `method`.
    pub method: Method,
    /// `enctype`.
    pub enctype: Enctype,
}
