//! Event sources leaving the session: `<move>` (CCXML 1.0 §9.2.4) hands a
//! connection or dialog to another session, `<merge>` (§10) asks the
//! network to bridge two connections and take the platform out of the call.
//!
//! A move is a two-step hand-off through the driver, which alone knows the
//! other sessions: the source leaves this session at once
//! ([`Output::Move`]), the driver gives it to the receiving session
//! ([`Session::handle_adopt`]) and answers with [`Input::Moved`]
//! (`move.successful`) or [`Input::MoveFailed`] (`error.move`, and the
//! source comes back as it was). Only a source without media can move: a
//! join graph does not span sessions, so a joined connection, or a dialog
//! bound to a connection or conference, raises `error.notallowed`.
//!
//! [`Input::Moved`]: crate::ccxml::Input::Moved
//! [`Input::MoveFailed`]: crate::ccxml::Input::MoveFailed

use std::time::Instant;

use boa_engine::JsObject;
use boa_engine::property::PropertyKey;
use serde_json::{Map, Value};

use super::exec::Raise;
use super::objects::{self, ConnState, DialogState};
use super::{Session, js_to_json};
use crate::ccxml::io::{Event, MovedSource, Output, SourceKind};
use crate::ccxml::model::Pos;

/// Why a session did not take a source another session moved to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdoptError {
    /// The session has ended.
    #[error("the session has ended")]
    Finished,
    /// The session already has a connection, dialog or conference by that id.
    #[error("the session already has an object `{0}`")]
    IdInUse(String),
    /// The state the source carries is not one of its kind's states.
    #[error("`{state}` is not a state of a {kind:?}")]
    BadState {
        /// The state name given.
        state: String,
        /// The source's kind.
        kind: SourceKind,
    },
}

/// Properties of a mirror the receiving session sets itself rather than
/// copies: the ids, the state and the media, which do not move.
const OWN_PROPERTIES: &[&str] = &[
    "connectionid",
    "dialogid",
    "state",
    "input",
    "outputs",
    "conferenceid",
];

impl Session {
    /// Takes in a connection or dialog another session moved here
    /// (`<move>`, §9.2.4) with its state, and queues the event moved with
    /// it, if any; later events for it are this session's. The driver
    /// reports an error to the moving session as [`Input::MoveFailed`].
    ///
    /// [`Input::MoveFailed`]: crate::ccxml::Input::MoveFailed
    pub fn handle_adopt(
        &mut self,
        object: MovedSource,
        event: Option<Event>,
        now: Instant,
    ) -> Result<(), AdoptError> {
        self.now = now;
        if self.is_finished() {
            return Err(AdoptError::Finished);
        }
        if self.objects.exists(&object.id) || self.moving.contains_key(&object.id) {
            return Err(AdoptError::IdInUse(object.id));
        }
        self.install(&object)?;
        if let Some(ev) = event {
            self.enqueue(ev);
        }
        self.run();
        Ok(())
    }

    /// Recreates `object` and its ECMAScript mirror in this session.
    fn install(&mut self, object: &MovedSource) -> Result<(), AdoptError> {
        let bad_state = || AdoptError::BadState {
            state: object.state.clone(),
            kind: object.kind,
        };
        let extra: Vec<(&str, Value)> = object
            .properties
            .iter()
            .filter(|(k, _)| !OWN_PROPERTIES.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        match object.kind {
            SourceKind::Connection => {
                let state = ConnState::from_name(&object.state).ok_or_else(bad_state)?;
                self.add_connection(&object.id, state, &extra);
            }
            SourceKind::Dialog => {
                let state = DialogState::from_name(&object.state).ok_or_else(bad_state)?;
                let text = |key: &str| {
                    object
                        .properties
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let (src, mime) = (text("src"), text("type"));
                self.add_dialog(&object.id, state, None, None, &src, &mime);
                let obj = self.objects.dialogs.get(&object.id).map(|d| d.obj.clone());
                if let Some(obj) = obj {
                    for (k, v) in extra {
                        if k != "src" && k != "type" {
                            let v = super::json_to_js(&mut self.js, &v);
                            objects::set(&mut self.js, &obj, k, v);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `<move>`: hands `id` (with `event`, when the element named one) to
    /// `session`.
    pub(super) fn start_move(
        &mut self,
        tag: &'static str,
        pos: Pos,
        id: String,
        session: String,
        event: Option<Event>,
    ) -> Result<(), Raise> {
        let raise = |name: &'static str, reason: String| Raise {
            name,
            reason,
            tagname: tag,
            pos,
        };
        if session.trim().is_empty() {
            return Err(Raise::semantic("<move> names no session", tag, pos));
        }
        if session == self.config.id {
            return Err(Raise::semantic(
                format!("`{id}` is already in session `{session}`"),
                tag,
                pos,
            ));
        }
        let (kind, state, obj) = if let Some(c) = self.objects.connections.get(&id) {
            if c.pending {
                return Err(raise(
                    "error.notallowed",
                    format!("connection `{id}` has an action under way"),
                ));
            }
            let on_dialog = self
                .objects
                .dialogs
                .values()
                .any(|d| d.connection.as_deref() == Some(id.as_str()));
            if on_dialog {
                return Err(raise(
                    "error.notallowed",
                    format!("connection `{id}` has a dialog; a dialog stays with its session"),
                ));
            }
            (SourceKind::Connection, c.state.name(), c.obj.clone())
        } else if let Some(d) = self.objects.dialogs.get(&id) {
            if d.connection.is_some() || d.conference.is_some() {
                return Err(raise(
                    "error.notallowed",
                    format!("dialog `{id}` is bound to a connection or conference"),
                ));
            }
            (SourceKind::Dialog, d.state.name(), d.obj.clone())
        } else {
            return Err(Raise::semantic(
                format!("this session has no connection or dialog `{id}`"),
                tag,
                pos,
            ));
        };
        if self.objects.has_media(&id) {
            return Err(raise(
                "error.notallowed",
                format!("`{id}` is joined; unjoin it before moving it"),
            ));
        }
        let properties = self.snapshot(&obj);
        let object = MovedSource {
            id: id.clone(),
            kind,
            state: state.to_owned(),
            properties,
        };
        self.remove_source(&object);
        self.moving.insert(id.clone(), object.clone());
        self.out.push_back(Output::Move {
            source: id,
            session,
            object,
            event,
        });
        Ok(())
    }

    /// The properties of a mirror as JSON, read through their getters (the
    /// read-only accessors of [`objects::set`]).
    fn snapshot(&mut self, obj: &JsObject) -> Map<String, Value> {
        let mut out = Map::new();
        let keys = match obj.own_property_keys(self.js.context()) {
            Ok(keys) => keys,
            Err(e) => {
                tracing::debug!("a moving source's properties are unreadable: {e}");
                return out;
            }
        };
        for key in keys {
            let PropertyKey::String(name) = &key else {
                continue;
            };
            let name = name.to_std_string_escaped();
            match obj.get(key, self.js.context()) {
                Ok(v) => {
                    let v = js_to_json(&mut self.js, &v);
                    out.insert(name, v);
                }
                Err(e) => tracing::debug!("property {name} unreadable: {e}"),
            }
        }
        out
    }

    /// Takes a moving source out of this session's objects and mirrors.
    fn remove_source(&mut self, object: &MovedSource) {
        let id = object.id.as_str();
        match object.kind {
            SourceKind::Connection => {
                self.objects.connections.remove(id);
                self.call_joins.remove(id);
                let container = self.connections_obj.clone();
                objects::delete(&mut self.js, &container, id);
            }
            SourceKind::Dialog => {
                self.remove_dialog(id);
            }
        }
        self.pending_joins.retain(|(a, b), _| a != id && b != id);
    }

    /// The receiving session took the source: `move.successful`.
    pub(super) fn moved(&mut self, source: String, session: String) {
        if self.moving.remove(&source).is_none() {
            return self.drop_event("move.successful", "no such move is under way");
        }
        self.enqueue(Event::new(
            "move.successful",
            [
                ("sourceid", Value::String(source)),
                ("sessionid", Value::String(session)),
            ],
        ));
    }

    /// The move failed: the source comes back, then `error.move`.
    pub(super) fn move_failed(&mut self, source: String, session: String, reason: String) {
        let Some(object) = self.moving.remove(&source) else {
            return self.drop_event("error.move", "no such move is under way");
        };
        if let Err(e) = self.install(&object) {
            tracing::warn!(session = %self.config.id, "a source that failed to move is lost: {e}");
        }
        self.enqueue(Event::new(
            "error.move",
            [
                ("sourceid", Value::String(source)),
                ("sessionid", Value::String(session)),
                ("reason", Value::String(reason)),
            ],
        ));
    }

    /// `<merge>`: both connections must be connected and idle.
    pub(super) fn start_merge(
        &mut self,
        tag: &'static str,
        pos: Pos,
        connection1: String,
        connection2: String,
        hints: Value,
    ) -> Result<(), Raise> {
        if connection1 == connection2 {
            return Err(Raise::semantic(
                "a connection cannot be merged with itself",
                tag,
                pos,
            ));
        }
        for id in [&connection1, &connection2] {
            let c = self.objects.connections.get(id).ok_or_else(|| {
                Raise::semantic(format!("there is no connection `{id}`"), tag, pos)
            })?;
            if c.state != ConnState::Connected || c.pending {
                return Err(Raise::semantic(
                    format!(
                        "<merge> needs connection `{id}` CONNECTED and idle; it is {}{}",
                        c.state.name(),
                        if c.pending {
                            " with an action under way"
                        } else {
                            ""
                        }
                    ),
                    tag,
                    pos,
                ));
            }
        }
        for id in [&connection1, &connection2] {
            if let Some(c) = self.objects.connections.get_mut(id) {
                c.pending = true;
            }
        }
        self.out.push_back(Output::Merge {
            connection1,
            connection2,
            hints,
        });
        Ok(())
    }

    /// The network merged the two connections: each ends with
    /// `connection.merged` naming the other as `mergeid`.
    pub(super) fn merged(&mut self, connection1: &str, connection2: &str) {
        for (id, other) in [(connection1, connection2), (connection2, connection1)] {
            self.connection_event(
                id,
                &[ConnState::Connected],
                ConnState::Disconnected,
                "connection.merged",
                vec![("mergeid", Value::String(other.to_owned()))],
            );
        }
    }

    /// The merge failed: both connections stay as they were and one
    /// `connection.merge.failed` names them, as `connectionid1` and
    /// `connectionid2` (the Recommendation's field names) and as `id1` and
    /// `id2` (the names deployed applications read); `connectionid` is the
    /// first, so `event$.connection` shows it.
    pub(super) fn merge_failed(&mut self, connection1: &str, connection2: &str, reason: &str) {
        let mut known = false;
        for id in [connection1, connection2] {
            if let Some(c) = self.objects.connections.get_mut(id) {
                c.pending = false;
                known = true;
            }
        }
        if !known {
            return self.drop_event("connection.merge.failed", "no such connection");
        }
        self.enqueue(Event::new(
            "connection.merge.failed",
            [
                ("connectionid", Value::String(connection1.to_owned())),
                ("connectionid1", Value::String(connection1.to_owned())),
                ("connectionid2", Value::String(connection2.to_owned())),
                ("id1", Value::String(connection1.to_owned())),
                ("id2", Value::String(connection2.to_owned())),
                ("reason", Value::String(reason.to_owned())),
                ("protocol", Value::from("sip")),
            ],
        ));
    }
}
