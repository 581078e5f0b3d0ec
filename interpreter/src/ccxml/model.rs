//! The typed model of a CCXML 1.0 document (W3C Recommendation 5 July 2011,
//! §6 to §10): what the compiler in [`super::parse`] produces and the session
//! runs. Every node carries the [`Pos`] of its element; attributes that the
//! specification defines as ECMAScript expressions are kept as source text
//! (compiled and cached by the script host when first evaluated), attributes
//! that name a variable to receive an id (`connectionid` of `<createcall>`,
//! `sendid`, `dialogid` of `<dialogstart>`, ...) as [`Lhs`].

use std::sync::Arc;

use url::Url;

pub use crate::xml::Pos;

/// An ECMAScript expression from an attribute: evaluated when the
/// element runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr(pub String);

/// An ECMAScript left-hand-side expression naming the variable that receives
/// a value the platform produces (an id, a fetch handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lhs(pub String);

/// One compiled CCXML document (§6, `<ccxml>`); shared with `Arc` between the
/// sessions that run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The URL the document was fetched from (after redirects).
    pub url: Arc<Url>,
    /// The base URL relative references resolve against (`xml:base` or `url`).
    pub base: Url,
    /// The `version` attribute (always `1.0`).
    pub version: String,
    /// Top-level `<var>` and `<script>` elements, in document order: they run
    /// when the document is loaded, in the ccxml scope.
    pub init: Vec<Action>,
    /// The `<eventprocessor>`, if the document has one (§9).
    pub eventprocessor: Option<EventProcessor>,
    /// `<meta name content>` pairs.
    pub meta: Vec<(String, String)>,
    /// Where `<ccxml>` starts.
    pub pos: Pos,
}

impl Document {
    /// Every `<script src>` URL of the document (top level and transitions),
    /// resolved: they are fetched once when the document loads.
    pub fn script_sources(&self) -> Vec<Url> {
        fn walk(actions: &[Action], out: &mut Vec<Url>) {
            for a in actions {
                match &a.kind {
                    ActionKind::Script { src: Some(src), .. } if !out.contains(src) => {
                        out.push(src.clone());
                    }
                    ActionKind::If { branches } => {
                        for b in branches {
                            walk(&b.body, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.init, &mut out);
        if let Some(ep) = &self.eventprocessor {
            for t in &ep.transitions {
                walk(&t.body, &mut out);
            }
        }
        out
    }
}

/// `<eventprocessor>`: the transitions, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct EventProcessor {
    /// The `statevariable` attribute: the ccxml-scope variable holding the
    /// current state, compared with each transition's `state` list.
    pub statevariable: Option<String>,
    /// The transitions, in document order (the first match wins).
    pub transitions: Vec<Transition>,
    /// Where `<eventprocessor>` starts.
    pub pos: Pos,
}

/// `<transition>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The states this transition applies in; empty means every state.
    pub states: Vec<String>,
    /// The event pattern; `None` matches every event.
    pub event: Option<EventPattern>,
    /// The `cond` guard.
    pub cond: Option<Expr>,
    /// The variable the event object is bound to in the transition scope
    /// (`name`, default `event$`).
    pub name: String,
    /// The executable content.
    pub body: Vec<Action>,
    /// Where `<transition>` starts.
    pub pos: Pos,
}

/// A `<transition event="...">` pattern: dot-separated tokens,
/// `*` matching any run of characters, compared without regard to case; a
/// pattern also matches every event whose name it is a whole-token prefix of
/// (`error` matches `error.fetch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPattern {
    /// The pattern as written.
    pub source: String,
    /// The pattern in lower case, as compared.
    lower: String,
}

impl EventPattern {
    /// The pattern `source`.
    pub fn new(source: &str) -> EventPattern {
        EventPattern {
            source: source.to_owned(),
            lower: source.trim().to_ascii_lowercase(),
        }
    }

    /// Whether an event named `name` matches this pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let pattern = self.lower.as_str();
        if pattern == "*" || pattern.is_empty() {
            return true;
        }
        if glob(pattern.as_bytes(), name.as_bytes()) {
            return true;
        }
        // Token prefix: `error` and `error.*` match `error.fetch`.
        let stem = pattern.strip_suffix(".*").unwrap_or(pattern);
        if stem.contains('*') {
            // A wildcard inside the stem: the prefix matches when some
            // leading run of whole tokens of the name matches the stem.
            let mut end = 0;
            while let Some(dot) = name[end..].find('.') {
                end += dot;
                if glob(stem.as_bytes(), &name.as_bytes()[..end]) {
                    return true;
                }
                end += 1;
            }
            return glob(stem.as_bytes(), name.as_bytes());
        }
        name == stem
            || (name.len() > stem.len()
                && name.starts_with(stem)
                && name.as_bytes().get(stem.len()) == Some(&b'.'))
    }
}

/// `*` glob match in O(pattern × text) with no recursion.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// One executable element with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// What the element does.
    pub kind: ActionKind,
    /// Where the element starts.
    pub pos: Pos,
}

/// One branch of an `<if>`: `<if>` and `<elseif>` have a condition, `<else>` none.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The condition (`None` for `<else>`).
    pub cond: Option<Expr>,
    /// The content run when this branch is taken.
    pub body: Vec<Action>,
}

/// `duplex` of `<join>` and `<dialogstart>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplex {
    /// Media flows both ways.
    Full,
    /// Media flows from `id2` to `id1` only: `id1` hears `id2`.
    Half,
}

/// The executable elements of CCXML 1.0 (§7 to §10).
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// `<var name expr>`: declares in the enclosing scope.
    Var {
        /// The variable name.
        name: String,
        /// Its initial value (`undefined` when absent).
        expr: Option<Expr>,
    },
    /// `<assign name expr>`.
    Assign {
        /// The variable (may be qualified: `application.x`).
        name: String,
        /// The value.
        expr: Expr,
    },
    /// `<script>`: inline text or `src` (fetched at load) or
    /// `fetchid` (a document fetched by `<fetch type="text/ecmascript">`).
    Script {
        /// The inline script text.
        text: String,
        /// The resolved `src` URL.
        src: Option<Url>,
        /// The `fetchid` expression.
        fetchid: Option<Expr>,
    },
    /// `<if>`/`<elseif>`/`<else>`.
    If {
        /// The branches in order.
        branches: Vec<Branch>,
    },
    /// `<goto fetchid>`: switches to a fetched document.
    Goto {
        /// The fetch handle of a completed `<fetch>`.
        fetchid: Expr,
    },
    /// `<fetch>`: fetches a document asynchronously.
    Fetch {
        /// The URL.
        next: Expr,
        /// Receives the fetch handle.
        fetchid: Option<Lhs>,
        /// Variables sent with the request.
        namelist: Vec<String>,
        /// `get` or `post` (an expression, default `get`).
        method: Option<Expr>,
        /// `application/ccxml+xml` (default) or `text/ecmascript` (an expression).
        mime: Option<Expr>,
        /// Fetch timeout (CSS2 time, an expression).
        timeout: Option<Expr>,
        /// `maxage`.
        maxage: Option<Expr>,
        /// `maxstale`.
        maxstale: Option<Expr>,
        /// `enctype`.
        enctype: Option<Expr>,
    },
    /// `<createccxml>`: starts a child session.
    CreateCcxml {
        /// The child's document URL.
        next: Expr,
        /// Receives the child's session id.
        sessionid: Option<Lhs>,
        /// Variables sent with the document request.
        namelist: Vec<String>,
        /// `get` or `post`.
        method: Option<Expr>,
        /// Fetch timeout.
        timeout: Option<Expr>,
    },
    /// `<exit expr namelist>`.
    Exit {
        /// The returned value.
        expr: Option<Expr>,
        /// Variables returned.
        namelist: Vec<String>,
    },
    /// `<log label expr>`.
    Log {
        /// The label expression.
        label: Option<Expr>,
        /// The logged value.
        expr: Expr,
    },
    /// `<send>`: an event to this or another session, a dialog, or
    /// a web application (basichttp).
    Send {
        /// The event name (`name` attribute; `data` in older drafts).
        name: Expr,
        /// The target (session id, dialog id or URL); this session when absent.
        target: Option<Expr>,
        /// `ccxml` (default), `dialog` or `basichttp`.
        targettype: Option<Expr>,
        /// Receives the send id.
        sendid: Option<Lhs>,
        /// Delay before delivery (CSS2 time).
        delay: Option<Expr>,
        /// Variables sent as event fields.
        namelist: Vec<String>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<cancel sendid>`: cancels a delayed `<send>`.
    Cancel {
        /// The send id.
        sendid: Expr,
    },
    /// `<move source event>`: hands an event source to another session.
    /// Exactly one of `source` and `event` is present (§9.2.4).
    Move {
        /// The connection or dialog id to move.
        source: Option<Expr>,
        /// The event whose source moves, delivered to the receiving session.
        event: Option<Expr>,
        /// The receiving session.
        sessionid: Expr,
    },
    /// `<accept>`.
    Accept {
        /// The connection (the current event's when absent).
        connectionid: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<reject>`.
    Reject {
        /// The connection (the current event's when absent).
        connectionid: Option<Expr>,
        /// The reason.
        reason: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<redirect>`.
    Redirect {
        /// The connection (the current event's when absent).
        connectionid: Option<Expr>,
        /// Where to.
        dest: Expr,
        /// The reason.
        reason: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<createcall>`.
    CreateCall {
        /// The destination URI.
        dest: Expr,
        /// Receives the new connection's id.
        connectionid: Option<Lhs>,
        /// Application-to-application information.
        aai: Option<Expr>,
        /// The calling party shown.
        callerid: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
        /// How long to wait for an answer (CSS2 time).
        timeout: Option<Expr>,
        /// An endpoint to join the new call to once connected.
        joinid: Option<Expr>,
        /// `both`, `calltransmit` or `callreceive`.
        joindirection: Option<Expr>,
    },
    /// `<disconnect>`.
    Disconnect {
        /// The connection (the current event's when absent).
        connectionid: Option<Expr>,
        /// The reason.
        reason: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<join>`.
    Join {
        /// First endpoint.
        id1: Expr,
        /// Second endpoint.
        id2: Expr,
        /// `'full'` (default) or `'half'`.
        duplex: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
        /// `dtmfclamp`.
        dtmfclamp: Option<Expr>,
        /// `toneclamp`.
        toneclamp: Option<Expr>,
    },
    /// `<unjoin>`.
    Unjoin {
        /// First endpoint.
        id1: Expr,
        /// Second endpoint.
        id2: Expr,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<createconference>`.
    CreateConference {
        /// Receives the conference id.
        conferenceid: Lhs,
        /// A conference name (conferences with the same name are shared).
        confname: Option<Expr>,
        /// Reserved talkers.
        reservedtalkers: Option<Expr>,
        /// Reserved listeners.
        reservedlisteners: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<destroyconference>`.
    DestroyConference {
        /// The conference.
        conferenceid: Expr,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<dialogprepare>` (§8): readies a dialog without starting it.
    DialogPrepare(DialogRequest),
    /// `<dialogstart>` (§8): starts a dialog on a connection or conference.
    DialogStart(DialogRequest),
    /// `<dialogterminate>` (§8).
    DialogTerminate {
        /// The dialog.
        dialogid: Expr,
        /// Whether to end at once (`true`) or let the dialog return (`false`).
        immediate: Option<Expr>,
        /// Platform hints.
        hints: Option<Expr>,
    },
    /// `<merge>`: bridges two connections in the network.
    Merge {
        /// First connection.
        connectionid1: Expr,
        /// Second connection.
        connectionid2: Expr,
        /// Platform hints.
        hints: Option<Expr>,
    },
}

/// The attributes `<dialogprepare>` and `<dialogstart>` share (§8).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DialogRequest {
    /// The dialog's URI (`src`); absent only with `prepareddialogid`.
    pub src: Option<Expr>,
    /// The dialog's media type (`type`, default `application/voicexml+xml`).
    pub mime: Option<Expr>,
    /// Variables sent to the dialog.
    pub namelist: Vec<String>,
    /// Variables sent with the dialog's initial fetch (`parameters`).
    pub parameters: Vec<String>,
    /// Receives the dialog id.
    pub dialogid: Option<Lhs>,
    /// A dialog prepared earlier (`<dialogstart>` only).
    pub prepareddialogid: Option<Expr>,
    /// The connection the dialog talks to.
    pub connectionid: Option<Expr>,
    /// The conference the dialog talks to.
    pub conferenceid: Option<Expr>,
    /// `'full'` (default) or `'half'`.
    pub duplex: Option<Expr>,
    /// Fetch `maxage`.
    pub maxage: Option<Expr>,
    /// Fetch `maxstale`.
    pub maxstale: Option<Expr>,
    /// `get` or `post`.
    pub method: Option<Expr>,
    /// `enctype`.
    pub enctype: Option<Expr>,
    /// Platform hints.
    pub hints: Option<Expr>,
}
