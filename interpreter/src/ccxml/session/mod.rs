//! The CCXML session core (CCXML 1.0 §9 event handling, §10 call control):
//! one event queue per session, processed one event at a time by the
//! document's `<eventprocessor>`, as a state machine without I/O.
//!
//! ```text
//! let mut s = Session::new(config, now);          // asks to fetch the document
//! while !s.is_finished() {
//!     while let Some(out) = s.poll_output() { driver.perform(out) }
//!     match driver.next(s.poll_timeout()) {
//!         Fetched(id, r) => s.handle_fetched(id, r, now),
//!         Telephony(input) => s.handle_input(input, now),
//!         Deadline => s.handle_timeout(now),
//!     }
//! }
//! ```
//!
//! Events wait in a bounded queue ([`SessionLimits::max_queue`]: beyond it
//! an event is dropped and reported as [`Output::Dropped`]); each turn
//! processes at most [`SessionLimits::events_per_turn`] so an application
//! that keeps sending itself events cannot hold the driver, and
//! [`Session::poll_timeout`] then asks to be called again at once.
//! Delayed `<send>`s are timers answered through [`Session::handle_timeout`].
//!
//! Module map: `exec` runs executable content, `objects` keeps connections,
//! dialogs, conferences and the join graph, `handoff` moves event sources
//! between sessions (`<move>`) and merges connections (`<merge>`).

mod exec;
mod handoff;
mod objects;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boa_engine::{JsObject, JsValue, js_string};
use serde_json::{Map, Value};
use url::Url;

use super::io::{Event, FetchId, FetchResult, Input, MovedSource, Output};
use super::model::{Document, Duplex, Pos};
use crate::script::{Scope, ScriptHost, ScriptLimits};
use crate::vxml::session::{FetchRequest, Method, ResourceKind, SourceLoc};

use objects::{Conference, Conn, ConnState, Dialog, DialogState, Objects};

pub use handoff::AdoptError;

/// How the session was started (`session.startupmode`, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupMode {
    /// For an inbound call.
    NewCall,
    /// By the HTTP `createsession` interface.
    External,
    /// By another session's `<createccxml>`.
    CreateCcxml,
}

impl StartupMode {
    /// The `session.startupmode` string.
    pub const fn name(self) -> &'static str {
        match self {
            StartupMode::NewCall => "newcall",
            StartupMode::External => "external",
            StartupMode::CreateCcxml => "createccxml",
        }
    }
}

/// Bounds of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Most events waiting in the queue; more are dropped and logged.
    pub max_queue: usize,
    /// Most events processed per `handle_*` call.
    pub events_per_turn: usize,
    /// Most delayed `<send>`s pending at once.
    pub max_timers: usize,
    /// The ECMAScript host's bounds.
    pub script: ScriptLimits,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_queue: 1000,
            events_per_turn: 100,
            max_timers: 1000,
            script: ScriptLimits::default(),
        }
    }
}

/// What a session starts from.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `session.id`: unique on the platform.
    pub id: String,
    /// The initial document (`session.uri`).
    pub url: Url,
    /// `session.startupmode`.
    pub startupmode: StartupMode,
    /// The session that created this one (`<createccxml>`), if any.
    pub parent: Option<String>,
    /// `session.values`: parameters from `createsession` or `<createccxml>`.
    pub values: Map<String, Value>,
    /// `session.ioprocessors`: how to reach this session, by processor
    /// (`basichttp` → its URL).
    pub ioprocessors: Map<String, Value>,
    /// Bounds.
    pub limits: SessionLimits,
}

impl SessionConfig {
    /// A configuration for a session `id` running `url`, started for a new call.
    pub fn new(id: impl Into<String>, url: Url) -> SessionConfig {
        SessionConfig {
            id: id.into(),
            url,
            startupmode: StartupMode::NewCall,
            parent: None,
            values: Map::new(),
            ioprocessors: Map::new(),
            limits: SessionLimits::default(),
        }
    }
}

/// Why a fetch was made.
#[derive(Debug, Clone)]
enum Purpose {
    /// The initial document.
    Initial,
    /// A `<script src>` of the document being loaded.
    LoadScript(Url),
    /// A `<fetch>`, by its fetch id.
    Fetch { fetchid: String, script: bool },
}

/// A document or script a `<fetch>` brought in, for `<goto>`/`<script fetchid>`.
#[derive(Debug, Clone)]
enum Fetchable {
    Document(Arc<Document>),
    Script(String),
}

/// The session's phase.
#[derive(Debug)]
enum Phase {
    /// Waiting for a document (and its scripts) before running it.
    Loading {
        doc: Option<Arc<Document>>,
        pending: usize,
    },
    /// Processing events.
    Running,
    /// Ended.
    Finished,
}

/// A delayed `<send>` (§9).
#[derive(Debug)]
struct Timer {
    at: Instant,
    sendid: String,
    event: Event,
}

/// One CCXML session. Not `Send`: its ECMAScript context lives on the
/// thread that drives it.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    js: ScriptHost,
    phase: Phase,
    doc: Option<Arc<Document>>,
    queue: VecDeque<Event>,
    out: VecDeque<Output>,
    timers: Vec<Timer>,
    objects: Objects,
    fetches: HashMap<FetchId, Purpose>,
    fetched: HashMap<String, Fetchable>,
    scripts: HashMap<Url, String>,
    /// Joins requested and not yet confirmed, with their duplex.
    pending_joins: HashMap<(String, String), Duplex>,
    /// Joins a `<createcall joinid>` asks for once its call connects.
    call_joins: HashMap<String, (String, String, Duplex)>,
    /// Children started by `<createccxml>`.
    children: Vec<String>,
    /// Sources handed to another session by `<move>` and not yet
    /// confirmed, kept to give them back if the move fails.
    moving: HashMap<String, MovedSource>,
    next_id: u64,
    counters: HashMap<&'static str, u64>,
    now: Instant,
    /// The event being processed (for elements whose `connectionid`
    /// defaults to the current event's).
    current: Option<Event>,
    /// `session.connections`, `session.dialogs`, `session.conferences`.
    connections_obj: JsObject,
    dialogs_obj: JsObject,
    conferences_obj: JsObject,
}

impl Session {
    /// A session that starts by fetching `config.url`.
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let mut js = ScriptHost::new(config.limits.script)
            .expect("a fresh ECMAScript context with its builtins always initializes");
        let connections_obj = JsObject::with_null_proto();
        let dialogs_obj = JsObject::with_null_proto();
        let conferences_obj = JsObject::with_null_proto();
        let mut session_vars: Vec<(&str, JsValue)> = vec![
            ("id", js.string(&config.id)),
            ("startupmode", js.string(config.startupmode.name())),
            ("uri", js.string(config.url.as_str())),
            ("connections", connections_obj.clone().into()),
            ("dialogs", dialogs_obj.clone().into()),
            ("conferences", conferences_obj.clone().into()),
        ];
        session_vars.push((
            "parentid",
            config
                .parent
                .as_deref()
                .map_or(JsValue::undefined(), |p| js.string(p)),
        ));
        let values = json_to_js(&mut js, &Value::Object(config.values.clone()));
        session_vars.push(("values", values));
        let io = json_to_js(&mut js, &Value::Object(config.ioprocessors.clone()));
        session_vars.push(("ioprocessors", io));
        // Session variables are read-only to the document (§8.3).
        match js.scope_object(Scope::Session).cloned() {
            Some(scope) => {
                for (name, value) in session_vars {
                    objects::set(&mut js, &scope, name, value);
                }
            }
            None => tracing::warn!("the session scope is missing; session variables not set"),
        }
        js.enter(Scope::Application);
        if let Err(e) = js.run_script(CONSTANTS, Scope::Application) {
            tracing::warn!("Connection constants not set: {e}");
        }
        let mut session = Session {
            js,
            phase: Phase::Loading {
                doc: None,
                pending: 1,
            },
            doc: None,
            queue: VecDeque::new(),
            out: VecDeque::new(),
            timers: Vec::new(),
            objects: Objects::default(),
            fetches: HashMap::new(),
            fetched: HashMap::new(),
            scripts: HashMap::new(),
            pending_joins: HashMap::new(),
            call_joins: HashMap::new(),
            children: Vec::new(),
            moving: HashMap::new(),
            next_id: 0,
            counters: HashMap::new(),
            now,
            current: None,
            connections_obj,
            dialogs_obj,
            conferences_obj,
            config,
        };
        let url = session.config.url.clone();
        session.request_fetch(
            url,
            ResourceKind::Document,
            Method::Get,
            Vec::new(),
            None,
            Purpose::Initial,
        );
        session
    }

    /// `session.id`.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Whether the session has ended (after `<exit>`, a kill, or an unhandled error).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    /// Whether the initial document (and its scripts) loaded and the
    /// session began to run it: until then a driver that started the
    /// session for `<createccxml>` owes its creator neither `ccxml.created`
    /// nor `error.createccxml` (§6.2.9).
    pub fn has_loaded(&self) -> bool {
        self.doc.is_some()
    }

    /// The next request for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the driver must call [`Session::handle_timeout`]: the next
    /// delayed `<send>`, or now when events are still waiting.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        if matches!(self.phase, Phase::Running) && !self.queue.is_empty() {
            return Some(self.now);
        }
        self.timers.iter().map(|t| t.at).min()
    }

    /// A fresh connection id for an inbound call the driver is about to report.
    pub fn new_connection_id(&mut self) -> String {
        self.fresh("c")
    }

    /// Time passed: due delayed events join the queue, waiting events run.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let mut due: Vec<Timer> = Vec::new();
        let mut i = 0;
        while i < self.timers.len() {
            if self.timers[i].at <= now {
                due.push(self.timers.remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|t| t.at);
        for t in due {
            let sendid = t.sendid.clone();
            self.enqueue(t.event);
            self.enqueue(Event::new(
                "send.successful",
                [("sendid", Value::String(sendid))],
            ));
        }
        self.run();
    }

    /// A fetch completed.
    pub fn handle_fetched(&mut self, id: FetchId, result: FetchResult, now: Instant) {
        self.now = now;
        let Some(purpose) = self.fetches.remove(&id) else {
            tracing::debug!(?id, "an answer to an unknown fetch");
            return;
        };
        match purpose {
            Purpose::Initial => match result {
                FetchResult::Ok(f) => match super::parse::compile(&f.bytes, &f.url) {
                    Ok(doc) => self.load(doc),
                    Err(e) => self.end("error.fetch", &e.to_string()),
                },
                FetchResult::Err { event, message } => {
                    self.end("error.fetch", &format!("{event}: {message}"));
                }
            },
            Purpose::LoadScript(url) => {
                match result {
                    FetchResult::Ok(f) => {
                        self.scripts
                            .insert(url, String::from_utf8_lossy(&f.bytes).into_owned());
                    }
                    FetchResult::Err { message, .. } => {
                        // The document still loads; running the script raises error.fetch.
                        tracing::debug!(%url, "script fetch failed: {message}");
                    }
                }
                if let Phase::Loading { pending, .. } = &mut self.phase {
                    *pending = pending.saturating_sub(1);
                }
                self.maybe_start();
            }
            Purpose::Fetch { fetchid, script } => {
                let mut fields = vec![("fetchid", Value::String(fetchid.clone()))];
                match result {
                    FetchResult::Ok(f) => {
                        fields.push(("uri", Value::String(f.url.to_string())));
                        if script {
                            let text = String::from_utf8_lossy(&f.bytes).into_owned();
                            self.fetched.insert(fetchid, Fetchable::Script(text));
                            self.enqueue(Event::new("fetch.done", fields));
                        } else {
                            match super::parse::compile(&f.bytes, &f.url) {
                                Ok(doc) => {
                                    self.fetched.insert(fetchid, Fetchable::Document(doc));
                                    self.enqueue(Event::new("fetch.done", fields));
                                }
                                Err(e) => {
                                    fields.push(("reason", Value::String(e.to_string())));
                                    self.enqueue(Event::new("error.fetch", fields));
                                }
                            }
                        }
                    }
                    FetchResult::Err { event, message } => {
                        fields.push(("reason", Value::String(format!("{event}: {message}"))));
                        self.enqueue(Event::new("error.fetch", fields));
                    }
                }
            }
        }
        self.run();
    }

    /// A telephony, dialog, conference, HTTP or inter-session event.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        self.now = now;
        if self.is_finished() {
            return;
        }
        self.input(input);
        self.run();
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Alerting {
                connection,
                remote,
                local,
                headers,
            } => {
                if self.objects.exists(&connection) {
                    return self.drop_event("connection.alerting", "the connection id is in use");
                }
                let hdrs: Map<String, Value> = headers
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let info = serde_json::json!({ "headers": hdrs });
                self.add_connection(
                    &connection,
                    ConnState::Alerting,
                    &[
                        ("remote", Value::String(remote)),
                        ("local", Value::String(local)),
                        ("originator", Value::from("remote")),
                        ("protocol", serde_json::json!({"name": "sip", "version": "2.0", "sip": {"headers": info["headers"].clone()}})),
                    ],
                );
                self.enqueue(Event::new(
                    "connection.alerting",
                    [
                        ("connectionid", Value::String(connection)),
                        ("protocol", Value::from("sip")),
                        ("info", info),
                    ],
                ));
            }
            Input::Progressing { connection } => self.connection_event(
                &connection,
                &[ConnState::Progressing],
                ConnState::Progressing,
                "connection.progressing",
                vec![],
            ),
            Input::Connected { connection } => self.connection_event(
                &connection,
                &[ConnState::Alerting, ConnState::Progressing],
                ConnState::Connected,
                "connection.connected",
                vec![],
            ),
            Input::Failed { connection, reason } => self.connection_event(
                &connection,
                &[ConnState::Alerting, ConnState::Progressing],
                ConnState::Failed,
                "connection.failed",
                vec![("reason", Value::String(reason))],
            ),
            Input::Disconnected {
                connection,
                reason,
                trigger,
            } => self.connection_event(
                &connection,
                &[
                    ConnState::Alerting,
                    ConnState::Progressing,
                    ConnState::Connected,
                ],
                ConnState::Disconnected,
                "connection.disconnected",
                vec![
                    ("reason", Value::String(reason)),
                    ("trigger", Value::String(trigger)),
                ],
            ),
            Input::Redirected { connection } => self.connection_event(
                &connection,
                &[ConnState::Alerting, ConnState::Connected],
                ConnState::Disconnected,
                "connection.redirected",
                vec![],
            ),
            Input::ConnectionError { connection, reason } => {
                if let Some(c) = self.objects.connections.get_mut(&connection) {
                    c.pending = false;
                    self.enqueue(Event::new(
                        "error.connection",
                        [
                            ("connectionid", Value::String(connection)),
                            ("reason", Value::String(reason)),
                        ],
                    ));
                } else {
                    self.drop_event("error.connection", "no such connection");
                }
            }
            Input::DialogPrepared { dialog } => self.dialog_event(
                &dialog,
                DialogState::Preparing,
                DialogState::Prepared,
                "dialog.prepared",
            ),
            Input::DialogStarted { dialog } => self.dialog_event(
                &dialog,
                DialogState::Starting,
                DialogState::Started,
                "dialog.started",
            ),
            Input::DialogFailed { dialog, reason } => {
                let Some(d) = self.objects.dialogs.get(&dialog) else {
                    return self.drop_event("error.dialog", "no such dialog");
                };
                let name = if d.state == DialogState::Preparing {
                    "error.dialog.notprepared"
                } else {
                    "error.dialog.notstarted"
                };
                let mut fields = self.dialog_fields(&dialog);
                fields.push(("reason", Value::String(reason)));
                self.enqueue(Event::new(name, fields));
            }
            Input::DialogExit { dialog, values } => {
                if !self.objects.dialogs.contains_key(&dialog) {
                    return self.drop_event("dialog.exit", "no such dialog");
                }
                self.objects.isolate(&dialog);
                self.objects.sync_media(&mut self.js);
                let mut fields = self.dialog_fields(&dialog);
                fields.push(("values", values));
                self.enqueue(Event::new("dialog.exit", fields));
            }
            Input::DialogDisconnect { dialog } => {
                if !self.objects.dialogs.contains_key(&dialog) {
                    return self.drop_event("dialog.disconnect", "no such dialog");
                }
                let fields = self.dialog_fields(&dialog);
                self.enqueue(Event::new("dialog.disconnect", fields));
            }
            Input::DialogTransfer {
                dialog,
                transfer_type,
                uri,
            } => {
                if !self.objects.dialogs.contains_key(&dialog) {
                    return self.drop_event("dialog.transfer", "no such dialog");
                }
                let mut fields = self.dialog_fields(&dialog);
                fields.push(("type", Value::String(transfer_type)));
                fields.push(("URI", Value::String(uri)));
                self.enqueue(Event::new("dialog.transfer", fields));
            }
            Input::DialogUser {
                dialog,
                name,
                values,
            } => {
                if !self.objects.dialogs.contains_key(&dialog) {
                    return self.drop_event("dialog.user", "no such dialog");
                }
                let mut fields = self.dialog_fields(&dialog);
                fields.push(("values", Value::Object(values)));
                self.enqueue(Event::new(format!("dialog.user.{name}"), fields));
            }
            Input::ConferenceCreated { conference } => {
                let Some(c) = self.objects.conferences.get_mut(&conference) else {
                    return self.drop_event("conference.created", "no such conference");
                };
                c.created = true;
                self.enqueue(Event::new(
                    "conference.created",
                    [("conferenceid", Value::String(conference))],
                ));
            }
            Input::ConferenceDestroyed { conference } => {
                if !self.objects.conferences.contains_key(&conference) {
                    return self.drop_event("conference.destroyed", "no such conference");
                }
                self.objects.isolate(&conference);
                self.objects.sync_media(&mut self.js);
                self.enqueue(Event::new(
                    "conference.destroyed",
                    [("conferenceid", Value::String(conference))],
                ));
            }
            Input::Joined { id1, id2 } => {
                let Some(duplex) = self.pending_joins.remove(&(id1.clone(), id2.clone())) else {
                    return self.drop_event("conference.joined", "no such join was requested");
                };
                if self.objects.exists(&id1) && self.objects.exists(&id2) {
                    self.objects.join(&id1, &id2, duplex == Duplex::Full);
                    self.objects.sync_media(&mut self.js);
                }
                self.enqueue(Event::new(
                    "conference.joined",
                    [("id1", Value::String(id1)), ("id2", Value::String(id2))],
                ));
            }
            Input::JoinFailed { id1, id2, reason } => {
                if self
                    .pending_joins
                    .remove(&(id1.clone(), id2.clone()))
                    .is_none()
                {
                    return self.drop_event("error.conference.join", "no such join was requested");
                }
                self.enqueue(Event::new(
                    "error.conference.join",
                    [
                        ("id1", Value::String(id1)),
                        ("id2", Value::String(id2)),
                        ("reason", Value::String(reason)),
                    ],
                ));
            }
            Input::Unjoined { id1, id2 } => {
                self.objects.unjoin(&id1, &id2);
                self.objects.sync_media(&mut self.js);
                self.enqueue(Event::new(
                    "conference.unjoined",
                    [("id1", Value::String(id1)), ("id2", Value::String(id2))],
                ));
            }
            Input::External {
                name,
                mut fields,
                source,
                sourcetype,
            } => {
                if name.is_empty() {
                    return self.drop_event("", "an external event needs a name");
                }
                fields.insert("eventsource".into(), Value::String(source));
                fields.insert("eventsourcetype".into(), Value::String(sourcetype));
                self.enqueue(Event { name, fields });
            }
            Input::SendFailed {
                sendid,
                event,
                reason,
            } => {
                let name = if event.starts_with("error.send") {
                    event
                } else {
                    "error.send.failed".to_owned()
                };
                self.enqueue(Event::new(
                    name,
                    [
                        ("sendid", Value::String(sendid)),
                        ("reason", Value::String(reason)),
                    ],
                ));
            }
            Input::SessionCreated { sessionid } => self.enqueue(Event::new(
                "ccxml.created",
                [("sessionid", Value::String(sessionid))],
            )),
            Input::CreateFailed { sessionid, reason } => self.enqueue(Event::new(
                "error.createccxml",
                [
                    ("sessionid", Value::String(sessionid)),
                    ("reason", Value::String(reason)),
                ],
            )),
            Input::ChildExit {
                sessionid,
                expr,
                values,
            } => {
                self.children.retain(|c| *c != sessionid);
                self.enqueue(Event::new(
                    "ccxml.exit",
                    [
                        ("sessionid", Value::String(sessionid)),
                        ("expr", expr),
                        ("values", Value::Object(values)),
                    ],
                ));
            }
            Input::Moved { source, session } => self.moved(source, session),
            Input::MoveFailed {
                source,
                session,
                reason,
            } => self.move_failed(source, session, reason),
            Input::Merged {
                connection1,
                connection2,
            } => self.merged(&connection1, &connection2),
            Input::MergeFailed {
                connection1,
                connection2,
                reason,
            } => self.merge_failed(&connection1, &connection2, &reason),
            Input::Kill {
                unconditional,
                reason,
            } => {
                if unconditional {
                    self.end("ccxml.kill.unconditional", &reason);
                } else {
                    // ccxml.kill jumps the queue: the platform wants the session gone.
                    let ev = self.stamp(Event::new(
                        "ccxml.kill",
                        [
                            ("sessionid", Value::String(self.config.id.clone())),
                            ("reason", Value::String(reason)),
                        ],
                    ));
                    self.queue.push_front(ev);
                }
            }
        }
    }

    /// Applies a confirmed connection state change and queues its event.
    fn connection_event(
        &mut self,
        id: &str,
        from: &[ConnState],
        to: ConnState,
        name: &str,
        mut fields: Vec<(&'static str, Value)>,
    ) {
        let Some(c) = self.objects.connections.get_mut(id) else {
            return self.drop_event(name, "no such connection");
        };
        if !from.contains(&c.state) && c.state != to {
            let reason = format!("the connection is {}", c.state.name());
            return self.drop_event(name, &reason);
        }
        c.state = to;
        c.pending = false;
        let obj = c.obj.clone();
        let state = self.js.string(to.name());
        objects::set(&mut self.js, &obj, "state", state);
        if matches!(to, ConnState::Disconnected | ConnState::Failed) {
            self.call_joins.remove(id);
            self.objects.isolate(id);
            self.objects.sync_media(&mut self.js);
        }
        if to == ConnState::Connected
            && let Some((id1, id2, duplex)) = self.call_joins.remove(id)
            && self.objects.exists(&id1)
            && self.objects.exists(&id2)
        {
            self.pending_joins
                .insert((id1.clone(), id2.clone()), duplex);
            self.out.push_back(Output::Join { id1, id2, duplex });
        }
        fields.insert(0, ("connectionid", Value::String(id.to_owned())));
        fields.push(("protocol", Value::from("sip")));
        self.enqueue(Event::new(name.to_owned(), fields));
    }

    fn dialog_event(&mut self, id: &str, from: DialogState, to: DialogState, name: &str) {
        let Some(d) = self.objects.dialogs.get_mut(id) else {
            return self.drop_event(name, "no such dialog");
        };
        if d.state != from {
            let reason = format!("the dialog is {}", d.state.name());
            return self.drop_event(name, &reason);
        }
        d.state = to;
        let obj = d.obj.clone();
        let state = self.js.string(to.name());
        objects::set(&mut self.js, &obj, "state", state);
        let fields = self.dialog_fields(id);
        self.enqueue(Event::new(name.to_owned(), fields));
    }

    /// A new object whose properties the document can read but not change.
    fn mirror(&mut self, props: Vec<(&str, JsValue)>) -> JsObject {
        let obj = self.js.new_object(&[]);
        for (k, v) in props {
            objects::set(&mut self.js, &obj, k, v);
        }
        obj
    }

    fn add_connection(&mut self, id: &str, state: ConnState, extra: &[(&str, Value)]) {
        let mut props: Vec<(&str, JsValue)> = vec![
            ("connectionid", self.js.string(id)),
            ("state", self.js.string(state.name())),
        ];
        for (k, v) in extra {
            let v = json_to_js(&mut self.js, v);
            props.push((k, v));
        }
        let obj = self.mirror(props);
        let outputs = self.js.new_array([]);
        objects::set(&mut self.js, &obj, "outputs", outputs.into());
        let container = self.connections_obj.clone();
        objects::set(&mut self.js, &container, id, obj.clone().into());
        self.objects.connections.insert(
            id.to_owned(),
            Conn {
                state,
                pending: false,
                obj,
            },
        );
    }

    fn add_dialog(
        &mut self,
        id: &str,
        state: DialogState,
        conn: Option<String>,
        conf: Option<String>,
        src: &str,
        mime: &str,
    ) {
        let undefined_or = |js: &ScriptHost, v: &Option<String>| {
            v.as_deref().map_or(JsValue::undefined(), |s| js.string(s))
        };
        let props: Vec<(&str, JsValue)> = vec![
            ("dialogid", self.js.string(id)),
            ("connectionid", undefined_or(&self.js, &conn)),
            ("conferenceid", undefined_or(&self.js, &conf)),
            ("type", self.js.string(mime)),
            ("src", self.js.string(src)),
            ("state", self.js.string(state.name())),
        ];
        let obj = self.mirror(props);
        let outputs = self.js.new_array([]);
        objects::set(&mut self.js, &obj, "outputs", outputs.into());
        let container = self.dialogs_obj.clone();
        objects::set(&mut self.js, &container, id, obj.clone().into());
        if let Some(c) = &conn {
            self.link_dialog(c, Some(id));
        }
        self.objects.dialogs.insert(
            id.to_owned(),
            Dialog {
                state,
                connection: conn,
                conference: conf,
                obj,
            },
        );
    }

    /// Sets (or, with `None`, clears) the `dialogid` of connection `conn`
    /// (§7.2.1, §7.2.2: the Connection a dialog is prepared or started on
    /// names that dialog).
    pub(super) fn link_dialog(&mut self, conn: &str, dialog: Option<&str>) {
        let Some(obj) = self.objects.connections.get(conn).map(|c| c.obj.clone()) else {
            return;
        };
        let value = dialog.map_or(JsValue::undefined(), |d| self.js.string(d));
        objects::set(&mut self.js, &obj, "dialogid", value);
    }

    /// The fields every dialog event carries besides `dialogid` (§7.3):
    /// the connection or conference the dialog talks to.
    fn dialog_fields(&self, id: &str) -> Vec<(&'static str, Value)> {
        let mut fields = vec![("dialogid", Value::String(id.to_owned()))];
        if let Some(d) = self.objects.dialogs.get(id) {
            if let Some(c) = &d.connection {
                fields.push(("connectionid", Value::String(c.clone())));
            }
            if let Some(c) = &d.conference {
                fields.push(("conferenceid", Value::String(c.clone())));
            }
        }
        fields
    }

    fn add_conference(&mut self, id: &str, name: Option<&str>) {
        let props: Vec<(&str, JsValue)> = vec![
            ("conferenceid", self.js.string(id)),
            (
                "confname",
                name.map_or(JsValue::undefined(), |n| self.js.string(n)),
            ),
        ];
        let obj = self.mirror(props);
        let participants = self.js.new_array([]);
        objects::set(&mut self.js, &obj, "participants", participants.into());
        let container = self.conferences_obj.clone();
        objects::set(&mut self.js, &container, id, obj.clone().into());
        self.objects.conferences.insert(
            id.to_owned(),
            Conference {
                created: false,
                obj,
            },
        );
    }

    /// Drops connections and dialogs that failed to start whose final
    /// event has just been processed (§10: they leave `session.connections`
    /// once the application has seen them end). Exited dialogs and destroyed
    /// conferences leave earlier, in [`Session::detach`].
    fn retire(&mut self, event: &Event) {
        let name = event.name.as_str();
        if matches!(
            name,
            "connection.disconnected"
                | "connection.failed"
                | "connection.redirected"
                | "connection.merged"
        ) && let Some(id) = event.field("connectionid")
            && self
                .objects
                .connections
                .get(id)
                .is_some_and(|c| matches!(c.state, ConnState::Disconnected | ConnState::Failed))
        {
            self.objects.connections.remove(id);
            let container = self.connections_obj.clone();
            objects::delete(&mut self.js, &container, id);
        }
        if matches!(name, "error.dialog.notstarted" | "error.dialog.notprepared")
            && let Some(id) = event.field("dialogid")
        {
            self.remove_dialog(id);
        }
    }

    /// Takes a dialog that exited or a conference that was destroyed out of
    /// the session as its event is taken from the queue: the transition that
    /// handles `dialog.exit` (§7.3) or `conference.destroyed` (§10.4) no
    /// longer finds it in `session.dialogs`/`session.conferences`, nor can
    /// act on it, while `event$.dialog`/`event$.conference` still show it.
    fn detach(&mut self, event: &Event) -> Option<(&'static str, JsObject)> {
        match event.name.as_str() {
            "dialog.exit" => {
                let id = event.field("dialogid")?;
                self.remove_dialog(id).map(|obj| ("dialog", obj))
            }
            "conference.destroyed" => {
                let id = event.field("conferenceid")?;
                let conf = self.objects.conferences.remove(id)?;
                let container = self.conferences_obj.clone();
                objects::delete(&mut self.js, &container, id);
                Some(("conference", conf.obj))
            }
            _ => None,
        }
    }

    /// Removes dialog `id` from the session and from its connection's
    /// `dialogid`; its mirror, if it existed.
    fn remove_dialog(&mut self, id: &str) -> Option<JsObject> {
        let d = self.objects.dialogs.remove(id)?;
        let container = self.dialogs_obj.clone();
        objects::delete(&mut self.js, &container, id);
        if let Some(c) = &d.connection {
            let linked = self
                .objects
                .connections
                .get(c)
                .and_then(|conn| conn.obj.get(js_string!("dialogid"), self.js.context()).ok())
                .is_some_and(|v| {
                    v.as_string()
                        .is_some_and(|s| s.to_std_string_escaped() == id)
                });
            if linked {
                self.link_dialog(c, None);
            }
        }
        Some(d.obj)
    }

    fn drop_event(&mut self, name: &str, reason: &str) {
        tracing::warn!(session = %self.config.id, event = name, "event dropped: {reason}");
        self.out.push_back(Output::Dropped {
            name: name.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// A new id: `prefix` and a counter of its own, so ids read `c1`, `d1`,
    /// `conf1`; an id a source moved in from another session already holds
    /// is skipped.
    fn fresh(&mut self, prefix: &'static str) -> String {
        loop {
            let n = self.counters.entry(prefix).or_insert(0);
            *n += 1;
            let id = format!("{prefix}{n}");
            if !self.objects.exists(&id) && !self.moving.contains_key(&id) {
                return id;
            }
        }
    }

    /// Adds the fields every event carries (§9): `eventid`, `eventsource`,
    /// `eventsourcetype`.
    fn stamp(&mut self, mut ev: Event) -> Event {
        if !ev.fields.contains_key("eventid") {
            let id = self.fresh("e");
            ev.fields.insert("eventid".into(), Value::String(id));
        }
        if !ev.fields.contains_key("eventsource") {
            ev.fields
                .insert("eventsource".into(), Value::String(self.config.id.clone()));
        }
        if !ev.fields.contains_key("eventsourcetype") {
            ev.fields
                .insert("eventsourcetype".into(), Value::from("ccxml"));
        }
        ev
    }

    /// Queues `ev` unless the queue is full.
    fn enqueue(&mut self, ev: Event) {
        if self.queue.len() >= self.config.limits.max_queue {
            let reason = format!(
                "the event queue holds {} events",
                self.config.limits.max_queue
            );
            return self.drop_event(&ev.name, &reason);
        }
        let ev = self.stamp(ev);
        self.queue.push_back(ev);
    }

    fn request_fetch(
        &mut self,
        url: Url,
        kind: ResourceKind,
        method: Method,
        params: Vec<(String, crate::vxml::session::SubmitValue)>,
        timeout: Option<Duration>,
        purpose: Purpose,
    ) {
        self.next_id += 1;
        let id = FetchId(self.next_id);
        self.fetches.insert(id, purpose);
        let mut url = url;
        url.set_fragment(None);
        self.out.push_back(Output::Fetch(FetchRequest {
            id,
            url,
            kind,
            method,
            params,
            enctype: "application/x-www-form-urlencoded".to_owned(),
            maxage: None,
            maxstale: None,
            timeout,
            fetchhint: None,
            fetchaudio: None,
            referrer: self.doc.as_ref().map(|d| (*d.url).clone()),
        }));
    }

    /// Starts loading `doc`: fetches its scripts, then runs it.
    fn load(&mut self, doc: Arc<Document>) {
        let missing: Vec<Url> = doc
            .script_sources()
            .into_iter()
            .filter(|u| !self.scripts.contains_key(u))
            .collect();
        self.phase = Phase::Loading {
            doc: Some(doc),
            pending: missing.len(),
        };
        for url in missing {
            self.request_fetch(
                url.clone(),
                ResourceKind::Script,
                Method::Get,
                Vec::new(),
                None,
                Purpose::LoadScript(url),
            );
        }
        self.maybe_start();
    }

    /// Runs the loaded document once its scripts are in (§6: top-level
    /// `<var>`/`<script>` in the ccxml scope, then `ccxml.loaded`).
    fn maybe_start(&mut self) {
        let Phase::Loading { doc, pending: 0 } = &mut self.phase else {
            return;
        };
        let Some(doc) = doc.take() else {
            return;
        };
        self.phase = Phase::Running;
        self.doc = Some(doc.clone());
        self.js.enter_as(Scope::Document, Some("ccxml"));
        let errors_before = self.queue.len();
        let init_ok = match self.exec_block(&doc.init) {
            Ok(_) => true,
            Err(raise) => {
                let ev = self.error_event(raise);
                self.enqueue(ev);
                false
            }
        };
        let mut loaded = Event::new(
            "ccxml.loaded",
            [("sessionid", Value::String(self.config.id.clone()))],
        );
        if let Some(p) = &self.config.parent {
            loaded
                .fields
                .insert("parent".into(), Value::String(p.clone()));
        }
        let loaded = self.stamp(loaded);
        // ccxml.loaded comes first; an initialisation error right after it.
        if init_ok {
            self.queue.push_front(loaded);
        } else {
            let at = self.queue.len().saturating_sub(1).min(errors_before);
            let error = self.queue.remove(at);
            self.queue.push_front(loaded);
            if let Some(error) = error {
                self.queue.insert(1, error);
            }
        }
    }

    /// Processes queued events, at most `events_per_turn` of them.
    fn run(&mut self) {
        let mut budget = self.config.limits.events_per_turn;
        while budget > 0 && matches!(self.phase, Phase::Running) {
            let Some(ev) = self.queue.pop_front() else {
                break;
            };
            budget -= 1;
            self.process(ev);
        }
    }

    /// Selects and runs the transition for one event (§9).
    fn process(&mut self, ev: Event) {
        let Some(doc) = self.doc.clone() else {
            return;
        };
        let state = doc
            .eventprocessor
            .as_ref()
            .and_then(|ep| ep.statevariable.as_deref())
            .and_then(|var| self.js.lookup(var))
            .map(|v| self.js.to_display_string(&v));
        let detached = self.detach(&ev);
        let mut chosen = None;
        let mut cond_error = None;
        if let Some(ep) = &doc.eventprocessor {
            for t in &ep.transitions {
                if !t.states.is_empty()
                    && !state
                        .as_deref()
                        .is_some_and(|s| t.states.iter().any(|x| x == s))
                {
                    continue;
                }
                if let Some(p) = &t.event
                    && !p.matches(&ev.name)
                {
                    continue;
                }
                if let Some(cond) = &t.cond {
                    self.js.enter_as(Scope::Anonymous, Some("transition"));
                    let event_obj = self.event_object(&ev, detached.as_ref());
                    let _ = self.js.declare(Scope::Anonymous, &t.name, event_obj);
                    match self.js.eval_bool(&cond.0) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            cond_error = Some(exec::Raise::semantic(
                                format!("cond `{}`: {}", cond.0, e),
                                "transition",
                                t.pos,
                            ));
                            break;
                        }
                    }
                }
                chosen = Some(t);
                break;
            }
        }
        self.out.push_back(Output::Event {
            event: ev.clone(),
            handled: chosen.is_some(),
        });
        if let Some(raise) = cond_error {
            let err = self.error_event(raise);
            self.enqueue(err);
        }
        match chosen {
            Some(t) => {
                self.js.enter_as(Scope::Anonymous, Some("transition"));
                let event_obj = self.event_object(&ev, detached.as_ref());
                if let Err(e) = self.js.declare(Scope::Anonymous, &t.name, event_obj) {
                    tracing::warn!("event variable not declared: {e}");
                }
                self.current = Some(ev.clone());
                let result = self.exec_block(&t.body);
                self.current = None;
                self.js.exit(Scope::Anonymous);
                if let Err(raise) = result {
                    let err = self.error_event(raise);
                    self.enqueue(err);
                }
            }
            None => {
                let lower = ev.name.to_ascii_lowercase();
                if lower.starts_with("error.") {
                    let reason = ev
                        .field("reason")
                        .unwrap_or("no transition handles it")
                        .to_owned();
                    self.end(&ev.name, &reason);
                } else if lower == "ccxml.kill" {
                    let reason = ev.field("reason").unwrap_or("killed").to_owned();
                    self.end("ccxml.kill", &reason);
                }
            }
        }
        if !self.is_finished() {
            self.retire(&ev);
        }
    }

    /// The `event$` object for `ev`, with live `connection`, `dialog` and
    /// `conference` references (§9).
    fn event_object(&mut self, ev: &Event, detached: Option<&(&str, JsObject)>) -> JsValue {
        let mut fields = ev.fields.clone();
        fields.insert("name".into(), Value::String(ev.name.clone()));
        let value = json_to_js(&mut self.js, &Value::Object(fields));
        if let Some(obj) = value.as_object() {
            let refs = [
                ("connectionid", "connection"),
                ("dialogid", "dialog"),
                ("conferenceid", "conference"),
            ];
            for (idf, field) in refs {
                let Some(id) = ev.field(idf) else { continue };
                let live = match field {
                    "connection" => self.objects.connections.get(id).map(|c| c.obj.clone()),
                    "dialog" => self.objects.dialogs.get(id).map(|d| d.obj.clone()),
                    _ => self.objects.conferences.get(id).map(|c| c.obj.clone()),
                };
                let live = live.or_else(|| {
                    detached
                        .filter(|(f, _)| *f == field)
                        .map(|(_, o)| o.clone())
                });
                if let Some(live) = live {
                    objects::set_plain(&mut self.js, &obj, field, live.into());
                }
            }
        }
        value
    }

    /// Ends the session without `<exit>`.
    fn end(&mut self, event: &str, reason: &str) {
        if self.is_finished() {
            return;
        }
        self.phase = Phase::Finished;
        self.queue.clear();
        self.timers.clear();
        self.out.push_back(Output::Ended {
            event: event.to_owned(),
            reason: reason.to_owned(),
            parent: self.config.parent.clone(),
        });
    }

    fn loc(&self, pos: Pos) -> Option<SourceLoc> {
        self.doc.as_ref().map(|d| SourceLoc {
            url: Arc::from(d.url.as_str()),
            line: pos.line,
            column: pos.column,
        })
    }
}

/// The ECMAScript constants of the Connection states (§10), so documents
/// may compare `connection.state == Connection.CONNECTED`.
const CONSTANTS: &str = "var Connection = Object.freeze({IDLE:'IDLE', ALERTING:'ALERTING', \
PROGRESSING:'PROGRESSING', CONNECTED:'CONNECTED', FAILED:'FAILED', DISCONNECTED:'DISCONNECTED'});";

/// A JSON value as an ECMAScript value (`undefined` when it cannot be built).
fn json_to_js(js: &mut ScriptHost, v: &Value) -> JsValue {
    JsValue::from_json(v, js.context()).unwrap_or_else(|e| {
        tracing::debug!("JSON value not converted: {e}");
        JsValue::undefined()
    })
}

/// An ECMAScript value as JSON (`null` for `undefined`, functions and cycles).
fn js_to_json(js: &mut ScriptHost, v: &JsValue) -> Value {
    match v.to_json(js.context()) {
        Ok(Some(j)) => j,
        Ok(None) => Value::Null,
        Err(_) => Value::String(js.to_display_string(v)),
    }
}

/// A CSS2 time (`5s`, `250ms`) as a duration (§9 `delay`, fetch `timeout`).
pub(crate) fn parse_time(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    let n: f64 = num.trim().parse().ok()?;
    if !n.is_finite() || !(0.0..=1e12).contains(&n) {
        return None;
    }
    Some(Duration::from_millis((n * scale).round() as u64))
}
