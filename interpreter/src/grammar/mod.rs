//! Speech and DTMF grammars: SRGS 1.0 (XML and ABNF forms), SISR 1.0
//! semantic interpretation, the VoiceXML builtin grammars (VoiceXML 2.0
//! Appendix P) and DTMF collection (VoiceXML 2.0 §6.3.3).
//!
//! Grammars are parsed into one model, compiled once and shared across
//! sessions ([`Grammar`] is an `Arc`). Matching never performs I/O: external
//! rule references are listed by [`Grammar::external_refs`], fetched by the
//! caller and merged by [`Grammar::link`].
//!
//! ```text
//! let g = Grammar::from_bytes(&body, Some("application/srgs+xml"), &url)?;
//! for u in g.external_refs() { fetch(u) }            // caller's I/O
//! let g = g.link(&|u| fetched.get(u).cloned())?;
//! match recognize(&[Candidate { grammar: &g, key: 0, weight: 1.0 }],
//!                 Input::Words("open a file"), 1) {
//!     Recognition::Match { hypotheses, .. } => hypotheses[0].interpret(&mut ctx)?,
//!     Recognition::Prefix | Recognition::NoMatch => …,
//! }
//! ```
//!
//! DTMF collection is a clock-free state machine ([`DtmfCollector`]): the
//! caller feeds digits and timer expiries with the current instant and arms
//! one timer from [`DtmfCollector::poll_timeout`].

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::xml::{self, Pos};

mod abnf;
mod builtin;
mod compile;
mod dtmf;
mod encoding;
mod matcher;
mod model;
mod phrase;
mod sisr;
mod srgs_xml;

pub use dtmf::{DtmfCollector, DtmfParams, DtmfStep, SpeechTimeouts};
pub use matcher::{MAX_INPUT_TOKENS, ParseNode, recognize};
pub use sisr::{FieldSlot, SemanticError, map_to_fields};

/// Decodes the bytes of an external grammar file to text (byte order marks,
/// UTF-16, XML and ABNF encoding declarations), as [`Grammar::from_bytes`]
/// does; for tools that read a grammar's declarations without compiling it.
pub fn decode_source(bytes: &[u8]) -> Result<String, String> {
    encoding::decode(bytes)
}

/// The SRGS XML namespace.
pub const SRGS_NS: &str = "http://www.w3.org/2001/06/grammar";
/// The VoiceXML namespace, in which inline grammars may also be written.
pub const VXML_NS: &str = "http://www.w3.org/2001/vxml";

/// The input mode a grammar listens to (SRGS §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Mode {
    /// Spoken (or, in text mode, typed) words.
    #[default]
    Voice,
    /// DTMF keys `0-9 * # A-D`.
    Dtmf,
}

impl Mode {
    /// The value of a `mode` attribute or declaration.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "voice" => Some(Self::Voice),
            "dtmf" => Some(Self::Dtmf),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Voice => "voice",
            Self::Dtmf => "dtmf",
        })
    }
}

/// Why a grammar could not be loaded; the interpreter turns it into
/// `error.badfetch`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct GrammarError {
    /// The grammar's URL (for inline grammars, the page's).
    pub url: String,
    /// Where in the grammar, when known.
    pub pos: Option<Pos>,
    /// A sentence a grammar author understands.
    pub message: String,
}

impl GrammarError {
    pub(crate) fn new(url: &Url, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Self {
            url: url.to_string(),
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.url, p.line, p.column, self.message),
            None => write!(f, "{}: {}", self.url, self.message),
        }
    }
}

/// A compiled grammar, cheap to clone and shared across sessions.
#[derive(Clone)]
pub struct Grammar {
    inner: Arc<Kind>,
}

#[derive(Debug)]
enum Kind {
    Srgs(model::Compiled),
    Builtin(builtin::Builtin),
}

impl fmt::Debug for Grammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Kind::Srgs(c) => f
                .debug_struct("Grammar")
                .field("url", &c.url.as_str())
                .field("mode", &c.mode)
                .field("rules", &c.rules.len())
                .field("root", &self.root_rule())
                .finish(),
            Kind::Builtin(b) => f.debug_tuple("Grammar").field(b).finish(),
        }
    }
}

impl Grammar {
    fn from_compiled(c: model::Compiled) -> Self {
        Self {
            inner: Arc::new(Kind::Srgs(c)),
        }
    }

    /// Compiles an SRGS XML `<grammar>` element: inline in a VoiceXML page
    /// (SRGS or VoiceXML namespace, or none) or the root of a `.grxml` file.
    pub fn from_xml(el: &xml::Element, base: &Url) -> Result<Grammar, GrammarError> {
        srgs_xml::parse(el, base).map(Self::from_compiled)
    }

    /// Compiles an SRGS ABNF grammar (`application/srgs`).
    pub fn from_abnf(src: &str, base: &Url) -> Result<Grammar, GrammarError> {
        abnf::parse(src, base).map(Self::from_compiled)
    }

    /// Compiles an external grammar file: detects XML or ABNF (from the media
    /// type, else the content) and decodes BOMs, UTF-16 and declared encodings.
    pub fn from_bytes(
        bytes: &[u8],
        media_type: Option<&str>,
        url: &Url,
    ) -> Result<Grammar, GrammarError> {
        let text = encoding::decode(bytes).map_err(|m| GrammarError::new(url, None, m))?;
        let is_xml = match media_type.map(|m| m.split(';').next().unwrap_or("").trim()) {
            Some(
                "application/srgs+xml" | "application/grammar+xml" | "text/xml" | "application/xml",
            ) => true,
            Some("application/srgs" | "application/x-abnf" | "text/plain") => false,
            _ => encoding::looks_like_xml(&text),
        };
        if is_xml {
            let tree =
                xml::parse(&text).map_err(|e| GrammarError::new(url, Some(e.pos), e.message))?;
            srgs_xml::parse_with(&tree, url, true).map(Self::from_compiled)
        } else {
            abnf::parse_with(&text, url, true).map(Self::from_compiled)
        }
    }

    /// A grammar for the text of a `<choice>` or `<option>`, or a `dtmf`
    /// attribute (VoiceXML 2.0 §2.2): `approximate` is `accept="approximate"`
    /// (any in-order subset of the words).
    pub fn from_phrase(
        text: &str,
        mode: Mode,
        approximate: bool,
        base: &Url,
    ) -> Result<Grammar, GrammarError> {
        phrase::compile(text, mode, approximate, base).map(Self::from_compiled)
    }

    /// A builtin grammar by URI: `builtin:dtmf/digits?minlength=3;maxlength=5`,
    /// `builtin:voice/boolean?y=7;n=9`, `builtin:grammar/date`.
    pub fn builtin(uri: &str, lang: &str) -> Result<Grammar, GrammarError> {
        builtin::Builtin::from_uri(uri, lang).map(|b| Self {
            inner: Arc::new(Kind::Builtin(b)),
        })
    }

    /// The builtin grammar a `<field type="…">` names, for `mode`.
    pub fn builtin_type(type_attr: &str, mode: Mode, lang: &str) -> Result<Grammar, GrammarError> {
        builtin::Builtin::from_type(type_attr, mode, lang).map(|b| Self {
            inner: Arc::new(Kind::Builtin(b)),
        })
    }

    /// The mode the grammar listens in.
    pub fn mode(&self) -> Mode {
        match &*self.inner {
            Kind::Srgs(c) => c.mode,
            Kind::Builtin(b) => b.mode(),
        }
    }

    /// The URL the grammar was loaded from (`builtin:…` for builtins).
    pub fn url(&self) -> String {
        match &*self.inner {
            Kind::Srgs(c) => c.url.to_string(),
            Kind::Builtin(b) => b.uri().to_owned(),
        }
    }

    /// The root rule's name.
    pub fn root_rule(&self) -> Option<&str> {
        match &*self.inner {
            Kind::Srgs(c) => c.root.map(|r| c.rules[r as usize].name.as_str()),
            Kind::Builtin(_) => None,
        }
    }

    /// Names of the grammar's own public rules, in document order.
    pub fn public_rules(&self) -> Vec<&str> {
        match &*self.inner {
            Kind::Srgs(c) => c
                .rules
                .iter()
                .take(c.own_rules)
                .filter(|r| r.public)
                .map(|r| r.name.as_str())
                .collect(),
            Kind::Builtin(_) => Vec::new(),
        }
    }

    /// Number of rules the grammar itself defines.
    pub fn rule_count(&self) -> usize {
        match &*self.inner {
            Kind::Srgs(c) => c.own_rules,
            Kind::Builtin(_) => 1,
        }
    }

    /// The grammar's language (`xml:lang`, `language`), if declared.
    pub fn lang(&self) -> Option<&str> {
        match &*self.inner {
            Kind::Srgs(c) => c.lang.as_deref(),
            Kind::Builtin(b) => Some(b.lang()),
        }
    }

    /// The declared `tag-format`, if any.
    pub fn tag_format(&self) -> Option<&str> {
        match &*self.inner {
            Kind::Srgs(c) => c.tag_format.as_deref(),
            Kind::Builtin(_) => Some("semantics/1.0"),
        }
    }

    /// Lexicon URIs the grammar declares (pronunciations are a recognizer's
    /// business; text matching does not use them).
    pub fn lexicons(&self) -> &[String] {
        match &*self.inner {
            Kind::Srgs(c) => &c.lexicons,
            Kind::Builtin(_) => &[],
        }
    }

    /// `meta` and `http-equiv` declarations in source order (name, content).
    pub fn metas(&self) -> &[(String, String)] {
        match &*self.inner {
            Kind::Srgs(c) => &c.metas,
            Kind::Builtin(_) => &[],
        }
    }

    /// The same grammar with another root: for `src="g.grxml#rule"`. The
    /// rule must be public (SRGS §2.2.2).
    pub fn with_root(&self, rule: &str) -> Result<Grammar, GrammarError> {
        match &*self.inner {
            Kind::Srgs(c) => compile::with_root(c, rule).map(Self::from_compiled),
            Kind::Builtin(b) => Err(GrammarError::new(
                &Url::parse("builtin:grammar").expect("static URL"),
                None,
                format!("builtin grammar {} has no rule '{rule}'", b.uri()),
            )),
        }
    }

    /// Absolute URLs (without fragment) of the grammars this one references
    /// and which [`Grammar::link`] still needs. Grammars fetched for them may
    /// themselves reference more: link asks its resolver for every URL it
    /// meets, so callers fetch until no new URL appears.
    pub fn external_refs(&self) -> Vec<Url> {
        match &*self.inner {
            Kind::Srgs(c) => compile::external_refs(c),
            Kind::Builtin(_) => Vec::new(),
        }
    }

    /// Merges every externally referenced grammar into one matchable grammar.
    /// `resolve` returns the (unlinked) grammar fetched for a URL; a missing
    /// one is an error naming the reference.
    pub fn link(&self, resolve: &dyn Fn(&Url) -> Option<Grammar>) -> Result<Grammar, GrammarError> {
        match &*self.inner {
            Kind::Srgs(c) if !c.linked => compile::link(c, &|u: &Url| {
                resolve(u).and_then(|g| match &*g.inner {
                    Kind::Srgs(c) => Some(c.clone()),
                    Kind::Builtin(_) => None,
                })
            })
            .map(Self::from_compiled),
            _ => Ok(self.clone()),
        }
    }

    /// True when no external reference is waiting to be linked.
    pub fn is_linked(&self) -> bool {
        match &*self.inner {
            Kind::Srgs(c) => c.linked,
            Kind::Builtin(_) => true,
        }
    }
}

/// One active grammar offered to [`recognize`], with the caller's key.
/// Candidates come in the caller's precedence order (VoiceXML §3.1.4); on
/// equal scores the earlier candidate wins.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'g> {
    /// The grammar.
    pub grammar: &'g Grammar,
    /// The caller's identifier, returned in each [`Hypothesis`].
    pub key: usize,
    /// The `weight` attribute of the `<grammar>` element. Exact text and
    /// DTMF matching has no acoustic scores to bias, so it does not reorder
    /// hypotheses; it is carried for speech servers.
    pub weight: f32,
}

/// What the caller heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// DTMF keys, e.g. `"123*"`.
    Dtmf(&'a str),
    /// A word sequence (typed in text mode, or a recognizer's transcript).
    Words(&'a str),
}

/// The outcome of matching an input against the active grammars.
#[derive(Debug, Clone, PartialEq)]
pub enum Recognition {
    /// At least one grammar matches the whole input.
    Match {
        /// Best first, at most the requested N-best length.
        hypotheses: Vec<Hypothesis>,
        /// A longer input could also match.
        extendable: bool,
    },
    /// No grammar matches yet, but more input could complete a match.
    Prefix,
    /// No grammar can match this input or any extension of it.
    NoMatch,
}

/// One way the input matched one grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// The [`Candidate::key`] of the grammar that matched.
    pub key: usize,
    /// The DTMF keys or the words as heard.
    pub utterance: String,
    /// Confidence in `0.0..=1.0`.
    pub confidence: f32,
    /// `voice` or `dtmf`.
    pub mode: Mode,
    /// How the input was derived (empty for builtin grammars).
    pub parse: ParseNode,
    /// For builtin grammars, the value the spec defines.
    pub(crate) builtin: Option<builtin::Value>,
}

impl Hypothesis {
    /// The W3C test-set form of the parse: `$main["hello",$x[{!{tag}!}]]`.
    pub fn parse_string(&self) -> String {
        self.parse.to_string()
    }

    /// SISR 1.0 interpretation: runs the tags in `ctx` inside a function
    /// scope (nothing leaks into the session's globals). Without tags the
    /// value is the utterance text; builtin grammars give their spec value.
    pub fn interpret(
        &self,
        ctx: &mut boa_engine::Context,
    ) -> Result<boa_engine::JsValue, SemanticError> {
        match &self.builtin {
            Some(v) => Ok(v.to_js(ctx)),
            None => sisr::interpret(&self.parse, ctx),
        }
    }
}

#[cfg(test)]
mod tests;
