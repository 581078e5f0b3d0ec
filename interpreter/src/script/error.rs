//! Script failures as the VoiceXML runtime sees them.
//!
//! Every ECMAScript failure (a syntax error in an `expr` attribute, a
//! reference to an undeclared variable, a `throw` from a `<script>`, a runaway
//! loop stopped by the runtime limits) becomes a [`ScriptError`]. The runtime
//! turns it into `error.semantic` (VoiceXML 2.0 §5.2.6) and attaches the
//! document URL and the line:column of the element that held the script.

use boa_engine::{Context, JsError, JsNativeErrorKind, JsValue};

/// What kind of failure a script produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptErrorKind {
    /// The source text is not valid ECMAScript (`SyntaxError`).
    Syntax,
    /// An undeclared variable was read or assigned (`ReferenceError`, or an
    /// `<assign>`/`<clear>` naming a variable no scope declares).
    Reference,
    /// A value was used in a way its type does not allow (`TypeError`).
    Type,
    /// A loop, recursion or stack limit stopped a runaway script.
    RuntimeLimit,
    /// Any other native error (`RangeError`, `URIError`, `Error`, ...).
    Native,
    /// The script threw a value that is not a native error (`throw 'x'`,
    /// `throw {message: ...}`).
    Thrown,
    /// A scope the operation needs is not active (for example declaring a
    /// dialog variable while no dialog runs).
    InactiveScope,
}

/// A script failure: its kind and a message a document author understands.
///
/// The position inside the document is the runtime's to add: it knows which
/// element's attribute or `<script>` body was being evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind_name}: {message}", kind_name = self.kind.name())]
pub struct ScriptError {
    /// What went wrong.
    pub kind: ScriptErrorKind,
    /// The engine's or the thrown value's message text.
    pub message: String,
    /// 1-based line and column inside the evaluated source, when the engine
    /// reported one (syntax errors).
    pub source_pos: Option<(u32, u32)>,
}

impl ScriptErrorKind {
    /// The ECMAScript-facing name used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Syntax => "SyntaxError",
            Self::Reference => "ReferenceError",
            Self::Type => "TypeError",
            Self::RuntimeLimit => "RuntimeLimitError",
            Self::Native => "Error",
            Self::Thrown => "Uncaught",
            Self::InactiveScope => "InactiveScope",
        }
    }
}

impl ScriptError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ScriptErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source_pos: None,
        }
    }

    /// A syntax error found by the parser, with its position inside the
    /// evaluated text.
    pub(crate) fn syntax(err: &boa_engine::parser::Error) -> Self {
        let source_pos = match err {
            boa_engine::parser::Error::Expected { span, .. }
            | boa_engine::parser::Error::Unexpected { span, .. } => {
                Some((span.start().line_number(), span.start().column_number()))
            }
            boa_engine::parser::Error::General { position, .. } => {
                Some((position.line_number(), position.column_number()))
            }
            _ => None,
        };
        Self {
            kind: ScriptErrorKind::Syntax,
            message: err.to_string(),
            source_pos,
        }
    }

    /// Converts an engine error, reading the message of a thrown object.
    pub(crate) fn from_js(err: &JsError, context: &mut Context) -> Self {
        if let Some(engine) = err.as_engine() {
            return Self::new(ScriptErrorKind::RuntimeLimit, engine.to_string());
        }
        if let Some(value) = err.as_opaque() {
            return Self::from_thrown(value, context);
        }
        match err.try_native(context) {
            Ok(native) => {
                let kind = match native.kind() {
                    JsNativeErrorKind::Syntax => ScriptErrorKind::Syntax,
                    JsNativeErrorKind::Reference => ScriptErrorKind::Reference,
                    JsNativeErrorKind::Type => ScriptErrorKind::Type,
                    _ => ScriptErrorKind::Native,
                };
                Self::new(kind, native.message())
            }
            Err(e) => Self::new(ScriptErrorKind::Native, e.to_string()),
        }
    }

    /// A thrown value: native error objects keep their kind; other objects
    /// are reported by their `message` property (or their string form).
    fn from_thrown(value: &JsValue, context: &mut Context) -> Self {
        let as_native = JsError::from_opaque(value.clone()).try_native(context).ok();
        if let Some(native) = as_native {
            let kind = match native.kind() {
                JsNativeErrorKind::Syntax => ScriptErrorKind::Syntax,
                JsNativeErrorKind::Reference => ScriptErrorKind::Reference,
                JsNativeErrorKind::Type => ScriptErrorKind::Type,
                _ => ScriptErrorKind::Native,
            };
            return Self::new(kind, native.message());
        }
        let message = match value.as_object() {
            Some(obj) => match obj.get(boa_engine::js_string!("message"), context) {
                Ok(m) if !m.is_undefined() => display(&m, context),
                _ => display(value, context),
            },
            None => display(value, context),
        };
        Self::new(ScriptErrorKind::Thrown, message)
    }
}

/// ToString of a value for a message; a value whose conversion itself throws
/// is described by its type.
pub(crate) fn display(value: &JsValue, context: &mut Context) -> String {
    match value.to_string(context) {
        Ok(s) => s.to_std_string_escaped(),
        Err(_) => format!("[{}]", value.type_of()),
    }
}
