//! The session's view of the ECMAScript host (VoiceXML 2.0 §5.1): one
//! [`ScriptHost`] per session, and the conversions the FIA needs. Script
//! failures become `error.semantic` naming the element's `url:line:column`.

use boa_engine::{Context, JsValue, js_string};

use super::events::Event;
use super::properties::PropertyStack;
use super::{Session, SessionInfo, SessionLimits};
use crate::script::{RecognitionResult, Scope, ScriptError, ScriptHost, ScriptLimits};
use crate::vxml::model::{Computed, Dialog, Expr, Loc};

/// One `application.lastresult$` entry.
#[derive(Debug, Clone)]
pub(super) struct ResultEntry {
    pub utterance: String,
    pub confidence: f32,
    pub inputmode: &'static str,
    pub interpretation: JsValue,
    pub markname: Option<String>,
    pub marktime: Option<f64>,
}

/// A confidence score as ECMAScript sees it: the decimal the recognizer
/// meant (0.9, not 0.8999999761581421).
pub(super) fn confidence(c: f32) -> f64 {
    (f64::from(c) * 1e6).round() / 1e6
}

/// The session's ECMAScript host.
pub(super) struct Js {
    host: ScriptHost,
}

impl std::fmt::Debug for Js {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Js")
    }
}

impl Js {
    pub(super) fn new(limits: &SessionLimits, info: &SessionInfo) -> Js {
        let script_limits = ScriptLimits {
            loop_iterations: limits.script_loop_iterations,
            recursion: limits.script_recursion,
            ..ScriptLimits::default()
        };
        let mut host = ScriptHost::new(script_limits)
            .expect("a fresh ECMAScript context with its builtins always initializes");
        if let Err(e) = host.set_session(info) {
            tracing::warn!("session variables not set: {e}");
        }
        Js { host }
    }

    /// Compiles `doc`'s expressions and scripts into the host's cache
    /// (document-level scripts as run in `doc_scope`).
    pub(super) fn prewarm(&mut self, doc: &crate::vxml::model::Document, doc_scope: Scope) {
        let offered = super::prewarm::prewarm(&mut self.host, doc, doc_scope);
        tracing::trace!(offered, "document code precompiled");
    }

    pub(super) fn context(&mut self) -> &mut Context {
        self.host.context()
    }

    pub(super) fn enter(&mut self, s: Scope) {
        self.host.enter(s);
    }

    pub(super) fn exit(&mut self, s: Scope) {
        self.host.exit(s);
    }

    pub(super) fn push_chain(&mut self) {
        self.host.push_chain();
    }

    pub(super) fn pop_chain(&mut self) {
        self.host.pop_chain();
    }

    pub(super) fn declare(&mut self, s: Scope, name: &str, v: JsValue) -> Result<(), ScriptError> {
        self.host.declare(s, name, v)
    }

    /// The value of a variable, `undefined` when it is not declared.
    pub(super) fn lookup(&mut self, name: &str) -> JsValue {
        self.host.lookup(name).unwrap_or_default()
    }

    pub(super) fn eval(&mut self, src: &str) -> Result<JsValue, ScriptError> {
        self.host.eval(src)
    }

    pub(super) fn run_script(&mut self, src: &str, s: Scope) -> Result<(), ScriptError> {
        self.host.run_script(src, s)
    }

    pub(super) fn json_of(&mut self, v: &JsValue) -> serde_json::Value {
        self.host.to_json(v)
    }

    pub(super) fn value_of_json(&mut self, v: &serde_json::Value) -> JsValue {
        self.host.from_json(v)
    }

    pub(super) fn display(&mut self, v: &JsValue) -> String {
        self.host.to_display_string(v)
    }

    /// The elements of an array-like value (for `<foreach>`).
    pub(super) fn array_items(&mut self, v: &JsValue) -> Result<Vec<JsValue>, ScriptError> {
        let Some(obj) = v.as_object() else {
            return Err(ScriptError::new(
                crate::script::ScriptErrorKind::Type,
                "the value is not an array",
            ));
        };
        let ctx = self.host.context();
        let len = obj
            .get(js_string!("length"), ctx)
            .and_then(|l| l.to_length(ctx))
            .map_err(|e| ScriptError::new(crate::script::ScriptErrorKind::Type, e.to_string()))?;
        let len = len.min(100_000);
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let item = obj.get(i, ctx).map_err(|e| {
                ScriptError::new(crate::script::ScriptErrorKind::Type, e.to_string())
            })?;
            out.push(item);
        }
        Ok(out)
    }

    pub(super) fn object(&mut self, props: &[(String, JsValue)]) -> JsValue {
        let refs: Vec<(&str, JsValue)> =
            props.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        self.host.new_object(&refs).into()
    }

    pub(super) fn set_shadow(&mut self, s: Scope, name: &str, props: &[(&str, JsValue)]) {
        if let Err(e) = self.host.set_shadow(s, &format!("{name}$"), props) {
            tracing::warn!("shadow variable {name}$ not set: {e}");
        }
    }

    pub(super) fn set_lastresult(&mut self, entries: &[ResultEntry]) {
        let results: Vec<RecognitionResult> = entries
            .iter()
            .map(|e| RecognitionResult {
                utterance: e.utterance.clone(),
                confidence: confidence(e.confidence),
                inputmode: e.inputmode.to_string(),
                interpretation: e.interpretation.clone(),
                markname: e.markname.clone(),
                marktime: e.marktime,
            })
            .collect();
        if let Err(e) = self.host.set_last_result(&results) {
            tracing::warn!("application.lastresult$ not set: {e}");
        }
    }

    /// Adds properties to `application.lastresult$` and its first entry
    /// (the recording of the utterance, VoiceXML 2.1 §6.3).
    pub(super) fn add_lastresult_props(&mut self, props: &[(&str, JsValue)]) {
        let Some(array) = self
            .host
            .eval("application.lastresult$")
            .ok()
            .and_then(|v| v.as_object())
        else {
            return;
        };
        let ctx = self.host.context();
        let first = array.get(0, ctx).ok().and_then(|v| v.as_object());
        for (k, v) in props {
            let key = boa_engine::JsString::from(*k);
            for target in std::iter::once(&array).chain(first.as_ref()) {
                if let Err(e) = target.set(key.clone(), v.clone(), false, ctx) {
                    tracing::warn!("application.lastresult$.{k} not set: {e}");
                }
            }
        }
    }

    pub(super) fn set_last_message(&mut self, sourcetype: &str, contenttype: &str, content: &str) {
        if let Err(e) = self.host.set_last_message(sourcetype, contenttype, content) {
            tracing::warn!("application.lastmessage$ not set: {e}");
        }
    }

    pub(super) fn dom(&mut self, el: &crate::xml::Element) -> JsValue {
        self.host.dom_value(el)
    }

    pub(super) fn flatten_for_submit(&mut self, name: &str, v: &JsValue) -> Vec<(String, String)> {
        self.host.serialize_for_submit(name, v).unwrap_or_else(|e| {
            tracing::warn!("namelist variable {name} not serialized: {e}");
            Vec::new()
        })
    }
}

impl Session {
    pub(super) fn eval(&mut self, e: &Expr) -> Result<JsValue, Event> {
        self.js
            .eval(&e.src)
            .map_err(|err| Event::semantic(&e.loc, err))
    }

    pub(super) fn eval_bool(&mut self, e: &Expr) -> Result<bool, Event> {
        let v = self.eval(e)?;
        Ok(v.to_boolean())
    }

    pub(super) fn eval_string(&mut self, e: &Expr) -> Result<String, Event> {
        let v = self.eval(e)?;
        Ok(self.js.display(&v))
    }

    pub(super) fn computed_string(&mut self, c: &Computed<String>) -> Result<String, Event> {
        match c {
            Computed::Static(s) => Ok(s.clone()),
            Computed::Dynamic(e) => self.eval_string(e),
        }
    }

    pub(super) fn declare(
        &mut self,
        s: Scope,
        name: &str,
        v: JsValue,
        loc: &Loc,
    ) -> Result<(), Event> {
        self.js
            .declare(s, name, v)
            .map_err(|err| Event::semantic(loc, format!("cannot declare '{name}': {err}")))
    }

    pub(super) fn assign(&mut self, name: &str, v: JsValue, loc: &Loc) -> Result<(), Event> {
        self.js
            .host
            .assign(name, v)
            .map_err(|err| Event::semantic(loc, format!("cannot assign '{name}': {err}")))
    }

    /// Properties in scope: platform, application root, document, dialog,
    /// form item (§6.3).
    pub(super) fn props(&self) -> PropertyStack<'_> {
        let mut st = PropertyStack::default();
        st.push(&self.platform_props);
        if let Some(r) = &self.root {
            st.push(&r.properties);
        }
        if let Some(d) = &self.doc {
            st.push(&d.properties);
            if let Some(ds) = &self.dialog {
                match d.dialogs.get(ds.index) {
                    Some(Dialog::Form(f)) => {
                        st.push(&f.properties);
                        if let Some(it) = ds.active.and_then(|i| f.items.get(i)) {
                            st.push(&it.common().properties);
                        }
                    }
                    Some(Dialog::Menu(m)) => st.push(&m.properties),
                    None => {}
                }
            }
        }
        st
    }
}
