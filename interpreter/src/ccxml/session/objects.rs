//! The session's call-control objects (CCXML 1.0 §10): connections with
//! their state machine, dialogs, conferences, and the join graph, each
//! mirrored into a live ECMAScript object under `session.connections`,
//! `session.dialogs` and `session.conferences`.
//!
//! The join graph keeps directed media edges `from → to` ("`to` hears
//! `from`"). A connection or dialog hears one source at a time: joining it
//! to a new party drops what it heard before, while the parties that heard
//! it keep hearing it — the spec's join examples (§10) where joining `A`
//! to `C` leaves `B` listening to `A` half duplex.

use std::collections::{BTreeMap, BTreeSet};

use boa_engine::object::FunctionObjectBuilder;
use boa_engine::property::{PropertyDescriptor, PropertyKey};
use boa_engine::{JsNativeError, JsObject, JsValue, NativeFunction, js_string};

use crate::script::ScriptHost;

/// A connection's state (§10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnState {
    Alerting,
    Progressing,
    Connected,
    Failed,
    Disconnected,
}

impl ConnState {
    pub(super) const fn name(self) -> &'static str {
        match self {
            ConnState::Alerting => "ALERTING",
            ConnState::Progressing => "PROGRESSING",
            ConnState::Connected => "CONNECTED",
            ConnState::Failed => "FAILED",
            ConnState::Disconnected => "DISCONNECTED",
        }
    }

    /// The state named `name` (as [`ConnState::name`] spells it).
    pub(super) fn from_name(name: &str) -> Option<ConnState> {
        [
            ConnState::Alerting,
            ConnState::Progressing,
            ConnState::Connected,
            ConnState::Failed,
            ConnState::Disconnected,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// One connection and its ECMAScript mirror.
#[derive(Debug)]
pub(super) struct Conn {
    pub state: ConnState,
    /// An action was requested and not yet confirmed (accept, reject,
    /// redirect, disconnect): a second one is an error.
    pub pending: bool,
    pub obj: JsObject,
}

/// A dialog's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogState {
    Preparing,
    Prepared,
    Starting,
    Started,
    Terminating,
}

impl DialogState {
    pub(super) const fn name(self) -> &'static str {
        match self {
            DialogState::Preparing => "PREPARING",
            DialogState::Prepared => "PREPARED",
            DialogState::Starting => "STARTING",
            DialogState::Started => "STARTED",
            DialogState::Terminating => "TERMINATING",
        }
    }

    /// The state named `name` (as [`DialogState::name`] spells it).
    pub(super) fn from_name(name: &str) -> Option<DialogState> {
        [
            DialogState::Preparing,
            DialogState::Prepared,
            DialogState::Starting,
            DialogState::Started,
            DialogState::Terminating,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// One dialog and its ECMAScript mirror.
#[derive(Debug)]
pub(super) struct Dialog {
    pub state: DialogState,
    pub connection: Option<String>,
    pub conference: Option<String>,
    pub obj: JsObject,
}

/// One conference and its ECMAScript mirror.
#[derive(Debug)]
pub(super) struct Conference {
    pub created: bool,
    pub obj: JsObject,
}

/// Everything call control tracks for one session.
#[derive(Debug, Default)]
pub(super) struct Objects {
    pub connections: BTreeMap<String, Conn>,
    pub dialogs: BTreeMap<String, Dialog>,
    pub conferences: BTreeMap<String, Conference>,
    /// Media edges `(from, to)`: `to` hears `from`.
    pub edges: BTreeSet<(String, String)>,
}

impl Objects {
    /// Whether `id` names a live connection, dialog or conference.
    pub fn exists(&self, id: &str) -> bool {
        self.connections.contains_key(id)
            || self.dialogs.contains_key(id)
            || self.conferences.contains_key(id)
    }

    fn is_conference(&self, id: &str) -> bool {
        self.conferences.contains_key(id)
    }

    /// Adds `from → to`; a non-conference `to` stops hearing anyone else.
    fn listen(&mut self, from: &str, to: &str) {
        if !self.is_conference(to) {
            self.edges.retain(|(_, t)| t != to);
        }
        self.edges.insert((from.to_owned(), to.to_owned()));
    }

    /// Applies a completed join (§10): full duplex both ways, half duplex
    /// `id2 → id1`.
    pub fn join(&mut self, id1: &str, id2: &str, full: bool) {
        self.listen(id2, id1);
        if full {
            self.listen(id1, id2);
        }
    }

    /// Removes the media between `id1` and `id2`; whether they were joined.
    pub fn unjoin(&mut self, id1: &str, id2: &str) -> bool {
        let before = self.edges.len();
        self.edges
            .retain(|(f, t)| !((f == id1 && t == id2) || (f == id2 && t == id1)));
        before != self.edges.len()
    }

    /// Whether `id1` and `id2` share any media edge.
    pub fn joined(&self, id1: &str, id2: &str) -> bool {
        self.edges
            .iter()
            .any(|(f, t)| (f == id1 && t == id2) || (f == id2 && t == id1))
    }

    /// Whether `id` hears or is heard by anything.
    pub fn has_media(&self, id: &str) -> bool {
        self.edges.iter().any(|(f, t)| f == id || t == id)
    }

    /// Drops every edge touching `id` (it disconnected, exited or was destroyed).
    pub fn isolate(&mut self, id: &str) -> Vec<String> {
        let mut peers = BTreeSet::new();
        for (f, t) in &self.edges {
            if f == id {
                peers.insert(t.clone());
            } else if t == id {
                peers.insert(f.clone());
            }
        }
        self.edges.retain(|(f, t)| f != id && t != id);
        peers.into_iter().collect()
    }

    /// The ids `id` hears.
    pub fn inputs_of(&self, id: &str) -> Vec<String> {
        self.edges
            .iter()
            .filter(|(_, t)| t == id)
            .map(|(f, _)| f.clone())
            .collect()
    }

    /// The ids that hear `id`.
    pub fn outputs_of(&self, id: &str) -> Vec<String> {
        self.edges
            .iter()
            .filter(|(f, _)| f == id)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Refreshes the `input`/`outputs` (connections, dialogs) or
    /// `participants` (conferences) of every mirror.
    pub fn sync_media(&self, js: &mut ScriptHost) {
        for (id, c) in &self.connections {
            self.sync_one(js, id, &c.obj, false);
        }
        for (id, d) in &self.dialogs {
            self.sync_one(js, id, &d.obj, false);
        }
        for (id, c) in &self.conferences {
            self.sync_one(js, id, &c.obj, true);
        }
    }

    fn sync_one(&self, js: &mut ScriptHost, id: &str, obj: &JsObject, conference: bool) {
        let outputs: Vec<JsValue> = self.outputs_of(id).iter().map(|s| js.string(s)).collect();
        if conference {
            let mut all: BTreeSet<String> = self.inputs_of(id).into_iter().collect();
            all.extend(self.outputs_of(id));
            let items: Vec<JsValue> = all.iter().map(|s| js.string(s)).collect();
            let arr = js.new_array(items);
            set(js, obj, "participants", arr.into());
            return;
        }
        let input = self
            .inputs_of(id)
            .first()
            .map_or(JsValue::undefined(), |s| js.string(s));
        set(js, obj, "input", input);
        let arr = js.new_array(outputs);
        set(js, obj, "outputs", arr.into());
    }
}

/// Sets `obj[key] = value` as a property the document can read but not
/// change (§8.3 session variables, §10.2.2 Connection properties): an
/// accessor whose setter throws a `TypeError`, so an `<assign>` to it raises
/// `error.semantic` whether or not the assignment runs in strict code. The
/// property stays configurable so the session can update it. A failure (a
/// frozen object a script replaced) is logged, not fatal.
pub(super) fn set(js: &mut ScriptHost, obj: &JsObject, key: &str, value: JsValue) {
    let realm = js.context().realm().clone();
    let getter = FunctionObjectBuilder::new(
        &realm,
        NativeFunction::from_copy_closure_with_captures(
            |_, _, value: &JsValue, _| Ok(value.clone()),
            value,
        ),
    )
    .name(js_string!("get"))
    .build();
    let setter = FunctionObjectBuilder::new(&realm, NativeFunction::from_fn_ptr(read_only))
        .name(js_string!("set"))
        .length(1)
        .build();
    let desc = PropertyDescriptor::builder()
        .get(getter)
        .set(setter)
        .enumerable(true)
        .configurable(true);
    if let Err(e) = obj.define_property_or_throw(js_string!(key), desc, js.context()) {
        tracing::debug!("cannot set {key}: {e}");
    }
}

/// The setter of a read-only property.
fn read_only(
    _this: &JsValue,
    _args: &[JsValue],
    _ctx: &mut boa_engine::Context,
) -> boa_engine::JsResult<JsValue> {
    Err(JsNativeError::typ()
        .with_message("the property is read-only")
        .into())
}

/// Sets `obj[key] = value` as an ordinary property (on `event$`, which the
/// document owns).
pub(super) fn set_plain(js: &mut ScriptHost, obj: &JsObject, key: &str, value: JsValue) {
    if let Err(e) = obj.set(js_string!(key), value, false, js.context()) {
        tracing::debug!("cannot set {key}: {e}");
    }
}

/// Deletes `obj[key]`.
pub(super) fn delete(js: &mut ScriptHost, obj: &JsObject, key: &str) {
    let key: PropertyKey = js_string!(key).into();
    if let Err(e) = obj.delete_property_or_throw(key, js.context()) {
        tracing::debug!("cannot delete {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_a_to_c_leaves_b_hearing_a() {
        let mut o = Objects::default();
        o.join("A", "B", true);
        o.join("A", "C", true);
        assert_eq!(o.inputs_of("A"), vec!["C".to_owned()]);
        assert_eq!(o.inputs_of("B"), vec!["A".to_owned()]);
        assert_eq!(o.inputs_of("C"), vec!["A".to_owned()]);
    }

    #[test]
    fn half_duplex_lets_id1_hear_id2_only() {
        let mut o = Objects::default();
        o.join("sup", "agent", false);
        assert_eq!(o.inputs_of("sup"), vec!["agent".to_owned()]);
        assert!(o.inputs_of("agent").is_empty());
        assert!(o.unjoin("agent", "sup"));
        assert!(!o.joined("sup", "agent"));
    }

    #[test]
    fn a_conference_hears_many() {
        let mut o = Objects::default();
        o.conferences.insert(
            "conf".into(),
            Conference {
                created: true,
                obj: JsObject::with_null_proto(),
            },
        );
        for c in ["a", "b", "c"] {
            o.join(c, "conf", true);
        }
        assert_eq!(o.inputs_of("conf").len(), 3);
        assert_eq!(o.isolate("b"), vec!["conf".to_owned()]);
        assert_eq!(o.inputs_of("conf").len(), 2);
    }
}
