//! VoiceXML 2.0 Appendix P builtin grammars (boolean, date, digits,
//! currency, number, phone, time) for DTMF and for en-US voice.

use super::matcher::GrammarMatch;
use super::{GrammarError, Mode};

/// A builtin grammar with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Builtin {
    uri: String,
    mode: Mode,
    lang: String,
}

/// The value a builtin grammar returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `boolean`.
    Bool(bool),
    /// Every other type: the spec's string form.
    Text(String),
}

impl Value {
    pub(crate) fn to_js(&self, _ctx: &mut boa_engine::Context) -> boa_engine::JsValue {
        match self {
            Self::Bool(b) => boa_engine::JsValue::from(*b),
            Self::Text(s) => boa_engine::JsValue::from(boa_engine::js_string!(s.as_str())),
        }
    }
}

impl Builtin {
    pub(crate) fn from_uri(uri: &str, lang: &str) -> Result<Self, GrammarError> {
        let _ = lang;
        Err(GrammarError::new(
            &url::Url::parse("builtin:grammar").expect("static URL"),
            None,
            format!("unknown builtin grammar {uri}"),
        ))
    }

    pub(crate) fn from_type(type_attr: &str, mode: Mode, lang: &str) -> Result<Self, GrammarError> {
        let prefix = match mode {
            Mode::Dtmf => "builtin:dtmf/",
            Mode::Voice => "builtin:voice/",
        };
        Self::from_uri(&format!("{prefix}{type_attr}"), lang)
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    pub(crate) fn lang(&self) -> &str {
        &self.lang
    }

    pub(crate) fn matches(&self, _toks: &[String]) -> GrammarMatch<Value> {
        GrammarMatch {
            full: None,
            open: false,
        }
    }
}
