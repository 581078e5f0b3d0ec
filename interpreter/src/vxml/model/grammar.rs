//! Grammar references (VoiceXML 2.0 §3.1, `srcexpr` from VoiceXML 2.1 §1):
//! external (`src`/`srcexpr`, including `builtin:` URIs) or inline SRGS (XML
//! form, or ABNF text).

use std::sync::Arc;

use serde::{Serialize, Serializer};
use url::Url;

use super::{Expr, FetchAttrs, Loc, Scope};
use crate::grammar::Grammar;
use crate::xml;

/// A `<grammar>` element.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrammarRef {
    /// Where the grammar comes from.
    pub source: GrammarSource,
    /// `type`: the media type as written (e.g. `application/srgs+xml`).
    pub media_type: Option<String>,
    /// `mode`; `None` means the grammar's own `mode`, else voice.
    pub mode: Option<GrammarMode>,
    /// `scope`: only meaningful on form-level grammars; `None` inherits the form's.
    pub scope: Option<Scope>,
    /// `weight` (default 1.0).
    pub weight: f32,
    /// The effective `xml:lang`.
    pub lang: Option<String>,
    /// `root` of an inline grammar.
    pub root: Option<String>,
    /// `tag-format`.
    pub tag_format: Option<String>,
    /// `version` of an inline grammar.
    pub version: Option<String>,
    /// Fetch attributes of an external grammar.
    pub fetch: FetchAttrs,
    /// The base URL in effect (for relative rule references inside the grammar).
    pub base: Arc<Url>,
    /// The element.
    pub loc: Loc,
}

/// `mode` of a grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GrammarMode {
    /// Speech input.
    Voice,
    /// DTMF input.
    Dtmf,
}

/// Where a grammar's rules come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GrammarSource {
    /// `src`, resolved (may be a `builtin:` URI such as `builtin:dtmf/digits`).
    Src(Url),
    /// `srcexpr`, evaluated when the grammar is activated.
    SrcExpr(Expr),
    /// The grammar's own content.
    Inline(InlineGrammar),
}

/// An inline grammar (the `<grammar>` element's own content), compiled with
/// the page: a grammar error is a page error.
#[derive(Debug, Clone, Serialize)]
pub struct InlineGrammar {
    /// The grammar as written.
    pub form: InlineForm,
    /// The compiled grammar, ready to match (external rule references, if
    /// any, still need [`Grammar::link`]).
    #[serde(skip)]
    pub compiled: Grammar,
}

/// Two inline grammars are equal when written the same way: the compiled
/// grammar is a function of the text and the base URL.
impl PartialEq for InlineGrammar {
    fn eq(&self, other: &Self) -> bool {
        self.form == other.form
    }
}

/// How an inline grammar is written.
#[derive(Debug, Clone, PartialEq)]
pub enum InlineForm {
    /// SRGS XML form: the `<grammar>` element itself with its rules.
    Xml(Arc<xml::Element>),
    /// SRGS ABNF form (or another text format named by `type`).
    Text(Arc<str>),
}

impl Serialize for InlineForm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            InlineForm::Xml(e) => s.serialize_newtype_variant("InlineForm", 0, "Xml", &e.to_xml()),
            InlineForm::Text(t) => s.serialize_newtype_variant("InlineForm", 1, "Text", &**t),
        }
    }
}
