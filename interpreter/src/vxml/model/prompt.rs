//! Prompts (VoiceXML 2.0 §4.1) and the SSML 1.0 tree inside them, with the
//! VoiceXML additions `<audio>` fallback, `<value>`, `<enumerate>` (§2.2.4)
//! and `<foreach>` (VoiceXML 2.1 §5). Speech markup may be written in the
//! VoiceXML namespace or the SSML namespace; both compile to the same nodes.

use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::{Computed, Expr, FetchAttrs, Loc};

/// A `<prompt>`, or the implicit prompt formed by bare speech content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prompt {
    /// `bargein`; `None` follows the `bargein` property.
    pub bargein: Option<bool>,
    /// `bargeintype`; `None` follows the `bargeintype` property.
    pub bargeintype: Option<BargeinType>,
    /// `count` (default 1): the prompt counter value from which it is selected (§4.1.6).
    pub count: u32,
    /// `cond`.
    pub cond: Option<Expr>,
    /// `timeout`: the noinput timeout after this prompt.
    pub timeout: Option<Duration>,
    /// The effective `xml:lang` (inherited from enclosing elements).
    pub lang: Option<String>,
    /// True when this prompt was formed from bare content, not a `<prompt>` element.
    pub implicit: bool,
    /// The speech content, whitespace normalized.
    pub content: Vec<PromptNode>,
    /// The `<prompt>` element, or the first bare node.
    pub loc: Loc,
}

/// `bargeintype` (VoiceXML 2.0 §4.1.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BargeinType {
    /// Any speech or DTMF interrupts.
    Speech,
    /// Only a grammar match interrupts.
    Hotword,
}

/// A node of speech content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PromptNode {
    /// Text to speak; runs of whitespace are collapsed to one space.
    Text(TextRun),
    /// `<audio>`.
    Audio(Audio),
    /// `<value expr>`: the value is spoken as text.
    Value(Expr),
    /// `<break>`.
    Break(Break),
    /// `<say-as>`.
    SayAs(SayAs),
    /// `<prosody>`.
    Prosody(Prosody),
    /// `<voice>`.
    Voice(Voice),
    /// `<emphasis>`.
    Emphasis(Emphasis),
    /// `<mark>`.
    Mark(Mark),
    /// `<sub alias>`.
    Sub(Sub),
    /// `<p>` / `<paragraph>`.
    Paragraph(Speak),
    /// `<s>` / `<sentence>`.
    Sentence(Speak),
    /// `<phoneme>`.
    Phoneme(Phoneme),
    /// `<lexicon>`.
    Lexicon(Lexicon),
    /// `<enumerate>`: empty content uses the platform's default template.
    Enumerate(Enumerate),
    /// `<foreach>` inside a prompt (VoiceXML 2.1 §5).
    Foreach(PromptForeach),
}

/// A run of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextRun {
    /// The normalized text.
    pub text: String,
    /// Where the run starts.
    pub loc: Loc,
}

/// `<audio>` (VoiceXML 2.0 §4.1.3): plays a file, or its content when the file fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audio {
    /// `src` (resolved) or `expr`.
    pub src: Computed<Url>,
    /// Fetch attributes.
    pub fetch: FetchAttrs,
    /// Alternate content rendered when the audio cannot be played.
    pub fallback: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<break>` (SSML 1.0 §3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// `time`.
    pub time: Option<Duration>,
    /// `strength`.
    pub strength: Option<BreakStrength>,
    /// The element.
    pub loc: Loc,
}

/// `strength` of `<break>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BreakStrength {
    /// `none`.
    None,
    /// `x-weak`.
    XWeak,
    /// `weak`.
    Weak,
    /// `medium`.
    Medium,
    /// `strong`.
    Strong,
    /// `x-strong`.
    XStrong,
}

/// `<say-as>` (SSML 1.0 §3.1.8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SayAs {
    /// `interpret-as`.
    pub interpret_as: String,
    /// `format`.
    pub format: Option<String>,
    /// `detail`.
    pub detail: Option<String>,
    /// Content.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<prosody>` (SSML 1.0 §3.2.4); values are kept as written for the synthesizer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prosody {
    /// `pitch`.
    pub pitch: Option<String>,
    /// `contour`.
    pub contour: Option<String>,
    /// `range`.
    pub range: Option<String>,
    /// `rate`.
    pub rate: Option<String>,
    /// `duration`.
    pub duration: Option<Duration>,
    /// `volume`.
    pub volume: Option<String>,
    /// Content.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<voice>` (SSML 1.0 §3.2.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Voice {
    /// `gender`.
    pub gender: Option<String>,
    /// `age`.
    pub age: Option<u32>,
    /// `variant`.
    pub variant: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// Content.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<emphasis>` (SSML 1.0 §3.2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emphasis {
    /// `level` as written (strong, moderate, none, reduced).
    pub level: Option<String>,
    /// Content.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<mark>` (SSML 1.0 §3.3.2; `nameexpr` from VoiceXML 2.1 §2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    /// `name` or `nameexpr`.
    pub name: Computed<String>,
    /// The element.
    pub loc: Loc,
}

/// `<sub alias>` (SSML 1.0 §3.1.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sub {
    /// `alias`: what is spoken.
    pub alias: String,
    /// The written text.
    pub text: String,
    /// The element.
    pub loc: Loc,
}

/// A `<p>` or `<s>` (SSML 1.0 §3.1.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Speak {
    /// `xml:lang` of the element.
    pub lang: Option<String>,
    /// Content.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<phoneme>` (SSML 1.0 §3.1.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phoneme {
    /// `ph`.
    pub ph: String,
    /// `alphabet`.
    pub alphabet: Option<String>,
    /// The written text.
    pub text: String,
    /// The element.
    pub loc: Loc,
}

/// `<lexicon>` (SSML 1.0 §3.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lexicon {
    /// `uri`, resolved.
    pub uri: Url,
    /// `type`.
    pub media_type: Option<String>,
    /// The element.
    pub loc: Loc,
}

/// `<enumerate>` (VoiceXML 2.0 §2.2.4): speaks each choice or option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enumerate {
    /// The template (with `_prompt` and `_dtmf` in scope); empty means the
    /// platform's default.
    pub template: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}

/// `<foreach>` inside a prompt (VoiceXML 2.1 §5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptForeach {
    /// `array`.
    pub array: Expr,
    /// `item`.
    pub item: String,
    /// Content rendered for each element.
    pub content: Vec<PromptNode>,
    /// The element.
    pub loc: Loc,
}
