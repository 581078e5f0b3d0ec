//! SISR 1.0 semantic interpretation of a parse, and the VoiceXML 2.0 §3.1.6
//! mapping of an interpretation onto form items.

use boa_engine::{Context, JsValue};

use super::matcher::ParseNode;

/// A tag script failed; the interpreter raises `error.semantic`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("semantic interpretation failed: {message}")]
pub struct SemanticError {
    /// What went wrong, with the script's own message.
    pub message: String,
}

/// A form-level field as the §3.1.6 mapping sees it.
#[derive(Debug, Clone, Copy)]
pub struct FieldSlot<'a> {
    /// The field's `name`.
    pub name: &'a str,
    /// The field's `slot` attribute, if any (defaults to the name).
    pub slot: Option<&'a str>,
}

pub(crate) fn interpret(parse: &ParseNode, _ctx: &mut Context) -> Result<JsValue, SemanticError> {
    Ok(JsValue::from(boa_engine::js_string!(parse.text().as_str())))
}

/// Which fields an interpretation fills (VoiceXML 2.0 §3.1.6): returns, for
/// each field index that gets a value, the value.
pub fn map_to_fields(
    interp: &JsValue,
    fields: &[FieldSlot<'_>],
    ctx: &mut Context,
) -> Vec<(usize, JsValue)> {
    let _ = (interp, fields, ctx);
    Vec::new()
}
