//! The compiled grammar model shared by both SRGS syntaxes (SRGS 1.0 §2–§4):
//! a flat table of rules whose bodies are expressions in one arena.
//!
//! The XML form (`xml.rs`) and the ABNF form (`abnf.rs`) both build a
//! [`Builder`]; `compile.rs` then resolves rule references, rejects left
//! recursion and precomputes what the matcher needs (nullability and the
//! first-token index of large alternatives).

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use crate::xml::Pos;

use super::Mode;

/// Index of an expression in [`Compiled::exprs`].
pub(crate) type ExprId = u32;
/// Index of a rule in [`Compiled::rules`].
pub(crate) type RuleId = u32;

/// How the content of a `<tag>` is to be read (SRGS §4.7, SISR §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagFormat {
    /// `semantics/1.0`: ECMAScript run with `out`, `rules` and `meta`.
    Script,
    /// `semantics/1.0-literals`: the tag text is the rule's value.
    Literal,
}

impl TagFormat {
    /// The format named by a `tag-format` declaration; anything else than the
    /// literal format is treated as SISR script, the VoiceXML default.
    pub(crate) fn from_declaration(decl: Option<&str>) -> Self {
        match decl.map(str::trim) {
            Some(f) if f.starts_with("semantics/1.0-literals") => Self::Literal,
            _ => Self::Script,
        }
    }
}

/// One expression of a rule body.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A token (SRGS §2.1): one or more words matched in order.
    Token {
        /// Normalized words (lower case for voice, one DTMF key each for DTMF).
        words: Box<[Box<str>]>,
        /// The token as written, for parse trees.
        text: Box<str>,
    },
    /// A sequence of expansions (SRGS §2.3).
    Seq(Box<[ExprId]>),
    /// Alternatives with weights (SRGS §2.4).
    Alt(Box<Alternatives>),
    /// A repeated expansion (SRGS §2.5); `max` is `None` for "m-".
    Repeat {
        /// The repeated expansion.
        child: ExprId,
        /// Fewest repetitions.
        min: u32,
        /// Most repetitions, if bounded.
        max: Option<u32>,
    },
    /// A rule reference (SRGS §2.2).
    Ref(RuleRef),
    /// A semantic tag (SRGS §2.6).
    Tag {
        /// The tag content as written.
        text: Arc<str>,
        /// How to read it.
        format: TagFormat,
    },
    /// `NULL`: matches the empty sequence.
    Null,
    /// `VOID`: never matches.
    Void,
    /// `GARBAGE`: any (possibly empty) run of words.
    Garbage,
}

/// The alternatives of a `one-of`.
#[derive(Debug, Clone)]
pub(crate) struct Alternatives {
    /// Each alternative and its weight (1.0 when absent).
    pub items: Vec<(ExprId, f32)>,
    /// For large alternatives: which alternatives can start with which word.
    pub index: Option<FirstIndex>,
}

/// An index from first word to the alternatives that may start with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FirstIndex {
    /// Alternatives (by position) starting with a given word.
    pub by_word: HashMap<Box<str>, Vec<u32>>,
    /// Alternatives that must always be tried (nullable, GARBAGE, unknown).
    pub always: Vec<u32>,
}

/// What a rule reference points at.
#[derive(Debug, Clone)]
pub(crate) struct RuleRef {
    /// The name shown in parse trees: the rule name for local references,
    /// `<uri>` for external ones (the W3C test-set notation).
    pub display: Box<str>,
    /// The target once resolved.
    pub target: Option<RuleId>,
    /// For external references: the grammar and rule to resolve at link time.
    pub external: Option<ExternalTarget>,
    /// Where the reference was written.
    pub pos: Pos,
}

/// An external rule reference waiting for the referenced grammar.
#[derive(Debug, Clone)]
pub(crate) struct ExternalTarget {
    /// Absolute URL of the referenced grammar, without fragment.
    pub url: Url,
    /// The rule named by the fragment; `None` for the root rule.
    pub rule: Option<String>,
    /// The declared media type (`type` attribute), if any.
    pub media_type: Option<String>,
}

/// A named rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// The rule name.
    pub name: String,
    /// `scope="public"`.
    pub public: bool,
    /// The rule's expansion.
    pub body: ExprId,
    /// Where the rule is defined.
    pub pos: Pos,
}

/// A compiled SRGS grammar: rules, expressions and header declarations.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// Where the grammar came from.
    pub url: Url,
    /// `mode`.
    pub mode: Mode,
    /// `xml:lang` / `language`.
    pub lang: Option<String>,
    /// `tag-format` as declared.
    pub tag_format: Option<String>,
    /// The rule matching starts from: the declared root, else the first
    /// public rule.
    pub root: Option<RuleId>,
    /// True when the grammar declared its root (only then can other grammars
    /// reference it without a fragment).
    pub declared_root: bool,
    /// The SRGS form the grammar was written in.
    pub syntax: super::compile::Syntax,
    /// Every rule: this grammar's first, then those merged in by linking.
    pub rules: Vec<Rule>,
    /// Expression arena.
    pub exprs: Vec<Expr>,
    /// Per expression: can it match the empty sequence.
    pub nullable: Vec<bool>,
    /// `meta` and `http-equiv` declarations (name, content).
    pub metas: Vec<(String, String)>,
    /// Lexicon URIs as declared.
    pub lexicons: Vec<String>,
    /// Number of the grammar's own rules (the rest were merged in by linking).
    pub own_rules: usize,
    /// True once every external reference points at a merged rule.
    pub linked: bool,
}

impl Compiled {
    /// The rule of this grammar's own table called `name`.
    pub(crate) fn own_rule(&self, name: &str) -> Option<RuleId> {
        self.rules
            .iter()
            .take(self.own_rules)
            .position(|r| r.name == name)
            .and_then(|i| RuleId::try_from(i).ok())
    }

    pub(crate) fn expr(&self, id: ExprId) -> &Expr {
        &self.exprs[id as usize]
    }
}

/// Builds the expression arena while a front end walks its syntax.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub exprs: Vec<Expr>,
    pub rules: Vec<Rule>,
}

impl Builder {
    /// Adds an expression and returns its id.
    pub(crate) fn push(&mut self, e: Expr) -> ExprId {
        let id = ExprId::try_from(self.exprs.len()).unwrap_or(ExprId::MAX);
        self.exprs.push(e);
        id
    }

    /// A sequence, collapsed when it has a single element.
    pub(crate) fn seq(&mut self, items: Vec<ExprId>) -> ExprId {
        match items.as_slice() {
            [] => self.push(Expr::Null),
            [one] => *one,
            _ => self.push(Expr::Seq(items.into_boxed_slice())),
        }
    }

    /// A token, normalized for `mode`.
    pub(crate) fn token(&mut self, text: &str, mode: Mode) -> ExprId {
        let text = normalize_space(text);
        let words: Vec<Box<str>> = match mode {
            Mode::Voice => text.split(' ').map(|w| w.to_lowercase().into()).collect(),
            // DTMF tokens are single keys; "star" and "pound" name * and #.
            Mode::Dtmf => text
                .split(' ')
                .flat_map(|w| match w {
                    "star" => vec!["*".into()],
                    "pound" => vec!["#".into()],
                    _ => w
                        .chars()
                        .map(|c| c.to_ascii_uppercase().to_string().into())
                        .collect(),
                })
                .collect(),
        };
        let text = match mode {
            Mode::Voice => text,
            Mode::Dtmf => words.join(" "),
        };
        self.push(Expr::Token {
            words: words.into_boxed_slice(),
            text: text.into(),
        })
    }
}

/// Collapses whitespace runs to one space and trims (SRGS §2.1 token
/// normalization).
pub(crate) fn normalize_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
