//! Moving values between Rust and the session's ECMAScript context: JSON in
//! and out (for logs, transcripts and `<data>` JSON), and the flattening of
//! namelist variables for `<submit>`/`<subdialog>`/`<data>` requests
//! (VoiceXML 2.0 §5.3.8).
//!
//! Every walk over a script-built value is bounded in depth and size: a
//! script can build a cyclic or a ten-thousand-level-deep object, and neither
//! may overflow the stack or loop forever.

use boa_engine::object::builtins::JsArray;
use boa_engine::{JsObject, JsString, JsValue, JsVariant, js_string};

use super::ScriptHost;
use super::error::ScriptError;

/// Deepest nesting walked when converting or flattening a value.
const MAX_DEPTH: usize = 32;
/// Most fields one namelist variable expands to.
const MAX_FIELDS: usize = 4096;

impl ScriptHost {
    /// The JSON form of `value`: `undefined` and functions become `null`
    /// (and are left out of objects), non-finite numbers become `null`,
    /// nesting deeper than 32 levels becomes `null`.
    pub fn to_json(&mut self, value: &JsValue) -> serde_json::Value {
        self.export_json(value, 0)
    }

    fn export_json(&mut self, value: &JsValue, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match value.variant() {
            JsVariant::Null | JsVariant::Undefined => Value::Null,
            JsVariant::Boolean(b) => Value::Bool(b),
            JsVariant::Integer32(i) => Value::from(i),
            JsVariant::Float64(f) => {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Value::from(f as i64)
                } else {
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
            }
            JsVariant::String(s) => Value::String(s.to_std_string_escaped()),
            JsVariant::BigInt(b) => Value::String(b.to_string()),
            JsVariant::Symbol(_) => Value::Null,
            JsVariant::Object(object) => {
                if depth >= MAX_DEPTH || object.is_callable() {
                    return Value::Null;
                }
                if let Ok(array) = JsArray::from_object(object.clone()) {
                    let len = array.length(&mut self.context).unwrap_or(0);
                    let mut out = Vec::new();
                    for i in 0..len.min(MAX_FIELDS as u64) {
                        let item = array.get(i, &mut self.context).unwrap_or_default();
                        out.push(self.export_json(&item, depth + 1));
                    }
                    return Value::Array(out);
                }
                let mut out = serde_json::Map::new();
                for (key, item) in self.own_entries(&object) {
                    if item.is_undefined() || item.as_callable().is_some() {
                        continue;
                    }
                    let converted = self.export_json(&item, depth + 1);
                    out.insert(key, converted);
                }
                Value::Object(out)
            }
        }
    }

    /// The ECMAScript value of `json`, built in this context. Nesting
    /// deeper than 32 levels becomes `null`.
    pub fn from_json(&mut self, json: &serde_json::Value) -> JsValue {
        self.import_json(json, 0)
    }

    fn import_json(&mut self, json: &serde_json::Value, depth: usize) -> JsValue {
        use serde_json::Value;
        if depth >= MAX_DEPTH {
            return JsValue::null();
        }
        match json {
            Value::Null => JsValue::null(),
            Value::Bool(b) => JsValue::from(*b),
            Value::Number(n) => n.as_f64().map_or(JsValue::nan(), JsValue::from),
            Value::String(s) => JsString::from(s.as_str()).into(),
            Value::Array(items) => {
                let values: Vec<JsValue> = items
                    .iter()
                    .map(|i| self.import_json(i, depth + 1))
                    .collect();
                self.new_array(values).into()
            }
            Value::Object(map) => {
                let props: Vec<(&str, JsValue)> = map
                    .iter()
                    .map(|(k, v)| (k.as_str(), self.import_json(v, depth + 1)))
                    .collect();
                self.new_object(&props).into()
            }
        }
    }

    /// How namelist variable `name` holding `value` is sent (VoiceXML 2.0
    /// §5.3.8): strings as they are, numbers and booleans by ToString,
    /// `undefined`/`null` as an empty string, and an object with enumerable
    /// properties flattened into `name.prop` fields (recursively, arrays by
    /// index: `name.0.prop`). An object without enumerable properties (a
    /// `Date`, an empty object) is sent by ToString; functions are not sent.
    pub fn serialize_for_submit(
        &mut self,
        name: &str,
        value: &JsValue,
    ) -> Result<Vec<(String, String)>, ScriptError> {
        let mut out = Vec::new();
        self.flatten(name.to_owned(), value, 0, &mut out)?;
        Ok(out)
    }

    fn flatten(
        &mut self,
        name: String,
        value: &JsValue,
        depth: usize,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), ScriptError> {
        if out.len() >= MAX_FIELDS {
            return Ok(());
        }
        match value.variant() {
            JsVariant::Undefined | JsVariant::Null => out.push((name, String::new())),
            JsVariant::Object(object) => {
                if object.is_callable() {
                    return Ok(());
                }
                let entries = if depth < MAX_DEPTH {
                    self.own_entries(&object)
                } else {
                    Vec::new()
                };
                if entries.is_empty() {
                    let text = self.to_string_checked(value)?;
                    out.push((name, text));
                    return Ok(());
                }
                for (key, item) in entries {
                    self.flatten(format!("{name}.{key}"), &item, depth + 1, out)?;
                }
            }
            _ => {
                let text = self.to_string_checked(value)?;
                out.push((name, text));
            }
        }
        Ok(())
    }

    /// Own enumerable string-keyed properties (`Object.keys` order), at
    /// most [`MAX_FIELDS`]. Properties whose getter throws are skipped.
    fn own_entries(&mut self, object: &JsObject) -> Vec<(String, JsValue)> {
        let constructor = self
            .context
            .intrinsics()
            .constructors()
            .object()
            .constructor();
        let keys = constructor
            .get(js_string!("keys"), &mut self.context)
            .ok()
            .and_then(|k| k.as_callable())
            .and_then(|keys| {
                keys.call(
                    &constructor.into(),
                    &[object.clone().into()],
                    &mut self.context,
                )
                .ok()
            })
            .and_then(|v| v.as_object())
            .and_then(|o| JsArray::from_object(o).ok());
        let Some(keys) = keys else {
            return Vec::new();
        };
        let len = keys.length(&mut self.context).unwrap_or(0);
        let mut out = Vec::new();
        for i in 0..len.min(MAX_FIELDS as u64) {
            let Ok(key) = keys.get(i, &mut self.context) else {
                continue;
            };
            let Some(key) = key.as_string() else {
                continue;
            };
            if let Ok(v) = object.get(key.clone(), &mut self.context) {
                out.push((key.to_std_string_escaped(), v));
            }
        }
        out
    }
}
