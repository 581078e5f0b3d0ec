//! A read-only DOM Level 2 Core subset over a fetched XML document, for
//! `<data>` (VoiceXML 2.1 §5).

use boa_engine::JsValue;

use super::ScriptHost;
use crate::xml;

/// Prototypes shared by every DOM wrapper of one host.
#[derive(Debug)]
pub(crate) struct DomPrototypes;

impl ScriptHost {
    /// The `Document` object of `doc`, for the variable a `<data>` declares.
    pub fn dom_value(&mut self, doc: &xml::Element) -> JsValue {
        let _ = (doc, &self.dom);
        JsValue::undefined()
    }
}
