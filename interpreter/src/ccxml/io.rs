//! What a CCXML session asks its driver to do ([`Output`]) and what the
//! driver reports back ([`Input`]): the boundary between the core without
//! I/O and the telephony, media and HTTP layers (CCXML 1.0 §9 events, §10
//! call control, Appendix K basichttp event I/O processor).
//!
//! Every call-control output is a request; the session changes a
//! connection's state only when the matching input confirms it (the
//! `connection.*`, `dialog.*` and `conference.*` events of §9 and §10).

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

pub use crate::vxml::session::{FetchId, FetchRequest, FetchResult, Fetched, SourceLoc};

use super::model::Duplex;

/// An event in a session's queue (§9): a name and the fields its `event$`
/// object carries besides `name`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The event name (`connection.alerting`, `myapp.go`, `error.semantic`).
    pub name: String,
    /// The fields (`connectionid`, `reason`, `values`, ...).
    pub fields: Map<String, Value>,
}

impl Event {
    /// An event named `name` with `fields`.
    pub fn new(
        name: impl Into<String>,
        fields: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Event {
        Event {
            name: name.into(),
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    /// The string field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
}

/// A request to the driver, drained with `Session::poll_output`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// Fetch a document or script, then call `Session::handle_fetched`.
    #[serde(serialize_with = "ser_fetch")]
    Fetch(FetchRequest),
    /// Answer an alerting call (`<accept>`): confirm with [`Input::Connected`].
    AcceptCall {
        /// The connection.
        connection: String,
        /// `hints`, as JSON.
        hints: Value,
    },
    /// Refuse an alerting call (`<reject>`): confirm with [`Input::Failed`].
    RejectCall {
        /// The connection.
        connection: String,
        /// The reason given.
        reason: Option<String>,
    },
    /// Send the call elsewhere (`<redirect>`): confirm with [`Input::Redirected`].
    Redirect {
        /// The connection.
        connection: String,
        /// The destination URI.
        dest: String,
        /// The reason given.
        reason: Option<String>,
    },
    /// Place an outbound call (`<createcall>`): answer with
    /// [`Input::Progressing`], then [`Input::Connected`] or [`Input::Failed`].
    CreateCall {
        /// The id the session gave the new connection.
        connection: String,
        /// The destination URI.
        dest: String,
        /// The calling party to present.
        callerid: Option<String>,
        /// Application-to-application information.
        aai: Option<String>,
        /// How long to ring before giving up.
        timeout: Option<Duration>,
        /// `hints`, as JSON.
        hints: Value,
    },
    /// Hang up (`<disconnect>`): confirm with [`Input::Disconnected`].
    Disconnect {
        /// The connection.
        connection: String,
        /// The reason given.
        reason: Option<String>,
    },
    /// Bridge media (`<join>`): confirm with [`Input::Joined`] or report
    /// [`Input::JoinFailed`].
    Join {
        /// First endpoint (connection, dialog or conference id).
        id1: String,
        /// Second endpoint.
        id2: String,
        /// Full or half duplex (half: `id1` hears `id2`).
        duplex: Duplex,
    },
    /// Undo a join (`<unjoin>`): confirm with [`Input::Unjoined`].
    Unjoin {
        /// First endpoint.
        id1: String,
        /// Second endpoint.
        id2: String,
    },
    /// Create a mixer (`<createconference>`): confirm with [`Input::ConferenceCreated`].
    CreateConference {
        /// The id the session gave the conference.
        conference: String,
        /// The `confname`, if any.
        name: Option<String>,
    },
    /// Tear a mixer down (`<destroyconference>`): confirm with
    /// [`Input::ConferenceDestroyed`].
    DestroyConference {
        /// The conference.
        conference: String,
    },
    /// Fetch and ready a dialog (`<dialogprepare>`): confirm with
    /// [`Input::DialogPrepared`].
    PrepareDialog(DialogSpec),
    /// Start a dialog (`<dialogstart>`): confirm with [`Input::DialogStarted`]
    /// and report its end with [`Input::DialogExit`].
    StartDialog(DialogSpec),
    /// End a dialog (`<dialogterminate>`): the driver answers with
    /// [`Input::DialogExit`].
    TerminateDialog {
        /// The dialog.
        dialog: String,
        /// Whether to stop at once rather than let the dialog return values.
        immediate: bool,
    },
    /// Deliver an event outside this session (`<send>` to another session, a
    /// dialog, or a basichttp URL); answer with [`Input::SendFailed`] if it
    /// cannot be delivered.
    SendEvent {
        /// The send id.
        sendid: String,
        /// `ccxml`, `dialog` or `basichttp`.
        targettype: String,
        /// The session id, dialog id or URL.
        target: String,
        /// The event name.
        name: String,
        /// The namelist values.
        fields: Map<String, Value>,
    },
    /// Start a child session (`<createccxml>`): answer with
    /// [`Input::SessionCreated`] or [`Input::CreateFailed`].
    CreateSession {
        /// The id the session gave the child.
        sessionid: String,
        /// The child's document.
        url: Url,
        /// Namelist values for the document request and `session.values`.
        values: Map<String, Value>,
    },
    /// Hand an event source to another session (`<move>`, §9.2.4): the
    /// object has already left this session. Deliver it with
    /// `Session::handle_adopt` on `session`, route its later events there,
    /// and answer this session with [`Input::Moved`], or with
    /// [`Input::MoveFailed`] (which gives it back) when `session` does not
    /// exist or refuses it.
    Move {
        /// The connection or dialog id.
        source: String,
        /// The receiving session.
        session: String,
        /// The object with its state, for the receiving session.
        object: MovedSource,
        /// The event moved along with it (`<move event>`), if any.
        event: Option<Event>,
    },
    /// Bridge two connections in the network and take the platform out of
    /// the media path (`<merge>`, §10): confirm with [`Input::Merged`] or
    /// report [`Input::MergeFailed`].
    Merge {
        /// First connection.
        connection1: String,
        /// Second connection.
        connection2: String,
        /// `hints`, as JSON.
        hints: Value,
    },
    /// `<log>`.
    Log {
        /// The label.
        label: Option<String>,
        /// The logged text.
        text: String,
        /// Where the `<log>` is.
        #[serde(serialize_with = "ser_loc")]
        loc: Option<SourceLoc>,
    },
    /// An event the session took from its queue (for transcripts and tracing).
    Event {
        /// The event.
        event: Event,
        /// Whether a transition handled it.
        handled: bool,
    },
    /// An input or event dropped without processing (unknown connection,
    /// queue overflow), with why.
    Dropped {
        /// The event name.
        name: String,
        /// Why it was dropped.
        reason: String,
    },
    /// The session ended with `<exit>`.
    Exit {
        /// The `expr` value (`null` when absent).
        expr: Value,
        /// The namelist values.
        values: Map<String, Value>,
        /// The parent session to send `ccxml.exit` to, if any.
        parent: Option<String>,
    },
    /// The session ended without `<exit>`: an unhandled `error.*`, a
    /// `ccxml.kill`, or a document that could not be loaded.
    Ended {
        /// The event that ended it.
        event: String,
        /// Why.
        reason: String,
        /// The parent session to send `ccxml.exit` to, if any.
        parent: Option<String>,
    },
}

fn ser_fetch<S: serde::Serializer>(req: &FetchRequest, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Fetch", 2)?;
    st.serialize_field("id", &req.id.0)?;
    st.serialize_field("url", req.url.as_str())?;
    st.end()
}

fn ser_loc<S: serde::Serializer>(loc: &Option<SourceLoc>, s: S) -> Result<S::Ok, S::Error> {
    match loc {
        Some(l) => s.serialize_some(&l.to_string()),
        None => s.serialize_none(),
    }
}

/// A dialog to prepare or start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DialogSpec {
    /// The id the session gave the dialog.
    pub dialog: String,
    /// The dialog's URI (absent when starting a prepared dialog).
    pub src: Option<Url>,
    /// Its media type (`application/voicexml+xml`).
    pub mime: String,
    /// The connection the dialog talks to.
    pub connection: Option<String>,
    /// The conference the dialog talks to.
    pub conference: Option<String>,
    /// Namelist values (VoiceXML `session.connection.ccxml.values`).
    pub values: Map<String, Value>,
    /// `parameters` values, sent with the dialog's initial fetch.
    pub parameters: Map<String, Value>,
    /// The initial fetch's method: `get` (default) or `post`.
    pub method: String,
    /// The initial fetch's `enctype` for `post`
    /// (default `application/x-www-form-urlencoded`).
    pub enctype: String,
    /// Full or half duplex media with the connection or conference.
    pub duplex: Duplex,
    /// Whether the dialog was prepared before.
    pub prepared: bool,
}

/// What kind of event source a [`MovedSource`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A Connection (`session.connections`).
    Connection,
    /// A Dialog (`session.dialogs`).
    Dialog,
}

/// A connection or dialog on its way from one session to another
/// (`<move>`, §9.2.4): plain data, so a driver may carry it between the
/// threads its sessions run on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MovedSource {
    /// The connection or dialog id, kept in the receiving session.
    pub id: String,
    /// Connection or dialog.
    pub kind: SourceKind,
    /// Its state name (`CONNECTED`, `STARTED`, ...).
    pub state: String,
    /// The other properties of its ECMAScript object (`remote`, `local`,
    /// `protocol`, `src`, ...).
    pub properties: Map<String, Value>,
}

/// What the driver reports: telephony, media, dialog, HTTP and
/// inter-session events, fed with `Session::handle_input`.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A new inbound call (`connection.alerting`). `connection` comes from
    /// `Session::new_connection_id`.
    Alerting {
        /// The new connection's id.
        connection: String,
        /// The caller (`connection.remote`).
        remote: String,
        /// The number called (`connection.local`).
        local: String,
        /// Protocol headers (SIP).
        headers: Vec<(String, String)>,
    },
    /// An outbound call rings (`connection.progressing`).
    Progressing {
        /// The connection.
        connection: String,
    },
    /// A call was answered or accepted (`connection.connected`).
    Connected {
        /// The connection.
        connection: String,
    },
    /// A call failed or was rejected (`connection.failed`).
    Failed {
        /// The connection.
        connection: String,
        /// `busy`, `noanswer`, `rejected`, ...
        reason: String,
    },
    /// A call ended: the far end hung up or `<disconnect>` completed
    /// (`connection.disconnected`).
    Disconnected {
        /// The connection.
        connection: String,
        /// Why.
        reason: String,
        /// `remote` when the far end hung up, `local` after `<disconnect>`.
        trigger: String,
    },
    /// A redirect completed (`connection.redirected`).
    Redirected {
        /// The connection.
        connection: String,
    },
    /// A call-control request failed in the network (`error.connection`).
    ConnectionError {
        /// The connection.
        connection: String,
        /// Why.
        reason: String,
    },
    /// A dialog is ready (`dialog.prepared`).
    DialogPrepared {
        /// The dialog.
        dialog: String,
    },
    /// A dialog runs (`dialog.started`).
    DialogStarted {
        /// The dialog.
        dialog: String,
    },
    /// A dialog could not be prepared or started
    /// (`error.dialog.notprepared` / `error.dialog.notstarted`).
    DialogFailed {
        /// The dialog.
        dialog: String,
        /// Why.
        reason: String,
    },
    /// A dialog ended (`dialog.exit`) with the values it returned.
    DialogExit {
        /// The dialog.
        dialog: String,
        /// The returned values (an object, or `null`).
        values: Value,
    },
    /// A dialog ran `<disconnect>` (`dialog.disconnect`): it asks the
    /// session to hang up its connection.
    DialogDisconnect {
        /// The dialog.
        dialog: String,
    },
    /// A dialog asks for a transfer (`dialog.transfer`).
    DialogTransfer {
        /// The dialog.
        dialog: String,
        /// `blind`, `bridge` or `consultation`.
        transfer_type: String,
        /// The destination URI.
        uri: String,
    },
    /// A dialog sent an application event (`dialog.user.<name>`).
    DialogUser {
        /// The dialog.
        dialog: String,
        /// The part after `dialog.user.`.
        name: String,
        /// The values it sent.
        values: Map<String, Value>,
    },
    /// A conference exists (`conference.created`).
    ConferenceCreated {
        /// The conference.
        conference: String,
    },
    /// A conference is gone (`conference.destroyed`).
    ConferenceDestroyed {
        /// The conference.
        conference: String,
    },
    /// A join completed (`conference.joined`).
    Joined {
        /// First endpoint.
        id1: String,
        /// Second endpoint.
        id2: String,
    },
    /// A join the platform could not carry out (`error.conference.join`,
    /// §9.3): the join graph is left as it was.
    JoinFailed {
        /// First endpoint.
        id1: String,
        /// Second endpoint.
        id2: String,
        /// Why.
        reason: String,
    },
    /// An unjoin completed (`conference.unjoined`).
    Unjoined {
        /// First endpoint.
        id1: String,
        /// Second endpoint.
        id2: String,
    },
    /// An event from outside: another session's `<send>`, or a basichttp
    /// POST (Appendix K).
    External {
        /// The event name.
        name: String,
        /// The event's fields.
        fields: Map<String, Value>,
        /// Who sent it (a session id or a URL).
        source: String,
        /// `ccxml` or `basichttp`.
        sourcetype: String,
    },
    /// A `<send>` could not be delivered (`error.send.*`).
    SendFailed {
        /// The send id.
        sendid: String,
        /// `error.send.targetunavailable` or `error.send.failed`.
        event: String,
        /// Why.
        reason: String,
    },
    /// A child session runs (`ccxml.created`).
    SessionCreated {
        /// The child's id.
        sessionid: String,
    },
    /// A child session could not start (`error.createccxml`).
    CreateFailed {
        /// The child's id.
        sessionid: String,
        /// Why.
        reason: String,
    },
    /// A child session ended (`ccxml.exit`).
    ChildExit {
        /// The child's id.
        sessionid: String,
        /// Its exit `expr`.
        expr: Value,
        /// Its namelist values.
        values: Map<String, Value>,
    },
    /// A `<move>` completed: the receiving session adopted the source
    /// (`move.successful`).
    Moved {
        /// The connection or dialog id.
        source: String,
        /// The receiving session.
        session: String,
    },
    /// A `<move>` failed (`error.move`): the source comes back to this
    /// session as it was.
    MoveFailed {
        /// The connection or dialog id.
        source: String,
        /// The session that was to receive it.
        session: String,
        /// Why.
        reason: String,
    },
    /// A `<merge>` completed: both connections left the platform
    /// (`connection.merged` for each, which ends them).
    Merged {
        /// First connection.
        connection1: String,
        /// Second connection.
        connection2: String,
    },
    /// A `<merge>` failed (`connection.merge.failed` for each connection,
    /// which stays as it was).
    MergeFailed {
        /// First connection.
        connection1: String,
        /// Second connection.
        connection2: String,
        /// Why.
        reason: String,
    },
    /// The platform asks the session to end (`ccxml.kill`; `unconditional`
    /// ends it at once, without running a transition).
    Kill {
        /// `ccxml.kill.unconditional` rather than `ccxml.kill`.
        unconditional: bool,
        /// Why.
        reason: String,
    },
}
