//! Executable content of CCXML 1.0 (§7 control flow and scripting, §8
//! dialogs, §9 `<send>`, `<cancel>`, `<move>`, §10 call control).
//!
//! An element that fails stops the rest of its transition and raises the
//! error event the specification names (`error.semantic` for a bad
//! expression or an action in the wrong state, `error.send.*` for `<send>`),
//! which joins the queue like any other event.

use serde_json::{Map, Value};

use super::objects::{self, ConnState, DialogState};
use super::{Fetchable, Purpose, Session, Timer, js_to_json, parse_time};
use crate::ccxml::io::{DialogSpec, Event, Output};
use crate::ccxml::model::{Action, ActionKind, DialogRequest, Duplex, Expr, Lhs, Pos};
use crate::script::Scope;
use crate::vxml::session::{Method, ResourceKind, SubmitValue};

/// What the rest of a transition does after an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on with the next element.
    Next,
    /// Stop: the document changed (`<goto>`) or the session ended (`<exit>`).
    Stop,
}

/// An error event raised by an element.
#[derive(Debug, Clone)]
pub(super) struct Raise {
    pub name: &'static str,
    pub reason: String,
    pub tagname: &'static str,
    pub pos: Pos,
}

impl Raise {
    pub(super) fn semantic(reason: impl Into<String>, tagname: &'static str, pos: Pos) -> Raise {
        Raise {
            name: "error.semantic",
            reason: reason.into(),
            tagname,
            pos,
        }
    }
}

type Exec = Result<Flow, Raise>;

fn tagname(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::Var { .. } => "var",
        ActionKind::Assign { .. } => "assign",
        ActionKind::Script { .. } => "script",
        ActionKind::If { .. } => "if",
        ActionKind::Goto { .. } => "goto",
        ActionKind::Fetch { .. } => "fetch",
        ActionKind::CreateCcxml { .. } => "createccxml",
        ActionKind::Exit { .. } => "exit",
        ActionKind::Log { .. } => "log",
        ActionKind::Send { .. } => "send",
        ActionKind::Cancel { .. } => "cancel",
        ActionKind::Move { .. } => "move",
        ActionKind::Accept { .. } => "accept",
        ActionKind::Reject { .. } => "reject",
        ActionKind::Redirect { .. } => "redirect",
        ActionKind::CreateCall { .. } => "createcall",
        ActionKind::Disconnect { .. } => "disconnect",
        ActionKind::Join { .. } => "join",
        ActionKind::Unjoin { .. } => "unjoin",
        ActionKind::CreateConference { .. } => "createconference",
        ActionKind::DestroyConference { .. } => "destroyconference",
        ActionKind::DialogPrepare(_) => "dialogprepare",
        ActionKind::DialogStart(_) => "dialogstart",
        ActionKind::DialogTerminate { .. } => "dialogterminate",
        ActionKind::Merge { .. } => "merge",
    }
}

/// The element being run, for error reports.
#[derive(Clone, Copy)]
struct At {
    tag: &'static str,
    pos: Pos,
}

impl At {
    fn semantic(self, reason: impl Into<String>) -> Raise {
        Raise::semantic(reason, self.tag, self.pos)
    }

    fn raise(self, name: &'static str, reason: impl Into<String>) -> Raise {
        Raise {
            name,
            reason: reason.into(),
            tagname: self.tag,
            pos: self.pos,
        }
    }
}

impl Session {
    /// Runs `actions` in order; stops at the first error or at `<goto>`/`<exit>`.
    pub(super) fn exec_block(&mut self, actions: &[Action]) -> Exec {
        for action in actions {
            if self.exec(action)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Next)
    }

    /// The error event for `raise`, with `reason`, `tagname` and where.
    pub(super) fn error_event(&mut self, raise: Raise) -> Event {
        let mut fields = vec![
            ("reason", Value::String(raise.reason)),
            ("tagname", Value::from(raise.tagname)),
        ];
        if let Some(loc) = self.loc(raise.pos) {
            fields.push(("location", Value::String(loc.to_string())));
        }
        Event::new(raise.name, fields)
    }

    fn eval(&mut self, at: At, e: &Expr) -> Result<Value, Raise> {
        let v = self
            .js
            .eval(&e.0)
            .map_err(|err| at.semantic(format!("`{}`: {}", e.0, err)))?;
        Ok(js_to_json(&mut self.js, &v))
    }

    fn eval_string(&mut self, at: At, e: &Expr) -> Result<String, Raise> {
        self.js
            .eval_string(&e.0)
            .map_err(|err| at.semantic(format!("`{}`: {}", e.0, err)))
    }

    fn eval_opt_string(&mut self, at: At, e: &Option<Expr>) -> Result<Option<String>, Raise> {
        e.as_ref().map(|e| self.eval_string(at, e)).transpose()
    }

    fn store(&mut self, at: At, lhs: &Option<Lhs>, value: &str) -> Result<(), Raise> {
        let Some(lhs) = lhs else { return Ok(()) };
        let v = self.js.string(value);
        self.js
            .assign(&lhs.0, v)
            .map_err(|err| at.semantic(format!("cannot assign `{}`: {}", lhs.0, err)))
    }

    fn namelist(&mut self, at: At, names: &[String]) -> Result<Map<String, Value>, Raise> {
        let mut out = Map::new();
        for name in names {
            let v = self.js.lookup(name).ok_or_else(|| {
                at.semantic(format!("namelist variable `{name}` is not declared"))
            })?;
            let j = js_to_json(&mut self.js, &v);
            out.insert(name.clone(), j);
        }
        Ok(out)
    }

    fn resolve(&self, at: At, s: &str) -> Result<url::Url, Raise> {
        let base = self
            .doc
            .as_ref()
            .map(|d| d.base.clone())
            .unwrap_or_else(|| self.config.url.clone());
        base.join(s)
            .map_err(|e| at.semantic(format!("`{s}` is not a URI: {e}")))
    }

    /// The connection an element acts on: its `connectionid`, or the
    /// current event's.
    fn target_connection(&mut self, at: At, e: &Option<Expr>) -> Result<String, Raise> {
        let id = match e {
            Some(e) => self.eval_string(at, e)?,
            None => self
                .current
                .as_ref()
                .and_then(|ev| ev.field("connectionid"))
                .map(str::to_owned)
                .ok_or_else(|| at.semantic("no connectionid given and the event names none"))?,
        };
        if !self.objects.connections.contains_key(&id) {
            return Err(at.semantic(format!("there is no connection `{id}`")));
        }
        Ok(id)
    }

    /// Checks a connection action is allowed in the connection's state and
    /// marks the connection busy with it.
    fn claim(&mut self, at: At, id: &str, allowed: &[ConnState]) -> Result<(), Raise> {
        let c = self
            .objects
            .connections
            .get_mut(id)
            .ok_or_else(|| at.semantic(format!("there is no connection `{id}`")))?;
        if !allowed.contains(&c.state) || c.pending {
            return Err(at.semantic(format!(
                "<{}> is not allowed on connection `{id}` in state {}{}",
                at.tag,
                c.state.name(),
                if c.pending {
                    " (an action is under way)"
                } else {
                    ""
                }
            )));
        }
        c.pending = true;
        Ok(())
    }

    fn duplex(&mut self, at: At, e: &Option<Expr>) -> Result<Duplex, Raise> {
        match self.eval_opt_string(at, e)?.as_deref() {
            None | Some("full") => Ok(Duplex::Full),
            Some("half") => Ok(Duplex::Half),
            Some(other) => Err(at.semantic(format!("duplex `{other}` is neither full nor half"))),
        }
    }

    fn exec(&mut self, action: &Action) -> Exec {
        let at = At {
            tag: tagname(&action.kind),
            pos: action.pos,
        };
        match &action.kind {
            ActionKind::Var { name, expr } => {
                let v = match expr {
                    Some(e) => self
                        .js
                        .eval(&e.0)
                        .map_err(|err| at.semantic(format!("`{}`: {}", e.0, err)))?,
                    None => boa_engine::JsValue::undefined(),
                };
                let scope = if self.js.is_active(Scope::Anonymous) {
                    Scope::Anonymous
                } else {
                    Scope::Document
                };
                self.js
                    .declare(scope, name, v)
                    .map_err(|err| at.semantic(format!("cannot declare `{name}`: {err}")))?;
            }
            ActionKind::Assign { name, expr } => {
                let v = self
                    .js
                    .eval(&expr.0)
                    .map_err(|err| at.semantic(format!("`{}`: {}", expr.0, err)))?;
                self.js
                    .assign(name, v)
                    .map_err(|err| at.semantic(format!("cannot assign `{name}`: {err}")))?;
            }
            ActionKind::Script { text, src, fetchid } => {
                let source = if let Some(src) = src {
                    self.scripts.get(src).cloned().ok_or_else(|| {
                        at.raise(
                            "error.fetch",
                            format!("the script {src} could not be fetched"),
                        )
                    })?
                } else if let Some(fid) = fetchid {
                    let id = self.eval_string(at, fid)?;
                    match self.fetched.get(&id) {
                        Some(Fetchable::Script(s)) => s.clone(),
                        _ => {
                            return Err(at.semantic(format!(
                                "fetch `{id}` has not completed with a script"
                            )));
                        }
                    }
                } else {
                    text.clone()
                };
                let scope = if self.js.is_active(Scope::Anonymous) {
                    Scope::Anonymous
                } else {
                    Scope::Document
                };
                self.js
                    .run_script(&source, scope)
                    .map_err(|err| at.semantic(format!("script: {err}")))?;
            }
            ActionKind::If { branches } => {
                for b in branches {
                    let take = match &b.cond {
                        Some(c) => self
                            .js
                            .eval_bool(&c.0)
                            .map_err(|err| at.semantic(format!("`{}`: {}", c.0, err)))?,
                        None => true,
                    };
                    if take {
                        return self.exec_block(&b.body);
                    }
                }
            }
            ActionKind::Goto { fetchid } => {
                let id = self.eval_string(at, fetchid)?;
                let doc = match self.fetched.get(&id) {
                    Some(Fetchable::Document(d)) => d.clone(),
                    _ => {
                        return Err(at.semantic(format!(
                            "fetch `{id}` has not completed with a CCXML document"
                        )));
                    }
                };
                self.js.exit(Scope::Anonymous);
                self.load(doc);
                return Ok(Flow::Stop);
            }
            ActionKind::Fetch {
                next,
                fetchid,
                namelist,
                method,
                mime,
                timeout,
                ..
            } => {
                let url = self.eval_string(at, next)?;
                let url = self.resolve(at, &url)?;
                let method = match self
                    .eval_opt_string(at, method)?
                    .map(|m| m.to_ascii_lowercase())
                {
                    None => Method::Get,
                    Some(m) if m == "get" => Method::Get,
                    Some(m) if m == "post" => Method::Post,
                    Some(m) => {
                        return Err(at.semantic(format!("method `{m}` is neither get nor post")));
                    }
                };
                let script = match self.eval_opt_string(at, mime)?.as_deref() {
                    None | Some("application/ccxml+xml") => false,
                    Some(
                        "text/ecmascript"
                        | "application/ecmascript"
                        | "text/javascript"
                        | "application/javascript",
                    ) => true,
                    Some(other) => {
                        return Err(at.raise(
                            "error.fetch",
                            format!("fetch type `{other}` is not supported"),
                        ));
                    }
                };
                let timeout = match self.eval_opt_string(at, timeout)? {
                    Some(t) => Some(
                        parse_time(&t)
                            .ok_or_else(|| at.semantic(format!("`{t}` is not a time")))?,
                    ),
                    None => None,
                };
                let params = self
                    .namelist(at, namelist)?
                    .into_iter()
                    .map(|(k, v)| (k, SubmitValue::Text(value_text(&v))))
                    .collect();
                let id = self.fresh("fetch");
                self.store(at, fetchid, &id)?;
                let kind = if script {
                    ResourceKind::Script
                } else {
                    ResourceKind::Document
                };
                self.request_fetch(
                    url,
                    kind,
                    method,
                    params,
                    timeout,
                    Purpose::Fetch {
                        fetchid: id,
                        script,
                    },
                );
            }
            ActionKind::CreateCcxml {
                next,
                sessionid,
                namelist,
                ..
            } => {
                let url = self.eval_string(at, next)?;
                let url = self.resolve(at, &url)?;
                let values = self.namelist(at, namelist)?;
                let n = self.fresh("s");
                let id = format!("{}.{n}", self.config.id);
                self.store(at, sessionid, &id)?;
                self.children.push(id.clone());
                self.out.push_back(Output::CreateSession {
                    sessionid: id,
                    url,
                    values,
                });
            }
            ActionKind::Exit { expr, namelist } => {
                let expr = match expr {
                    Some(e) => self.eval(at, e)?,
                    None => Value::Null,
                };
                let values = self.namelist(at, namelist)?;
                self.phase = super::Phase::Finished;
                self.queue.clear();
                self.timers.clear();
                self.out.push_back(Output::Exit {
                    expr,
                    values,
                    parent: self.config.parent.clone(),
                });
                return Ok(Flow::Stop);
            }
            ActionKind::Log { label, expr } => {
                let label = self.eval_opt_string(at, label)?;
                let text = self.eval_string(at, expr)?;
                tracing::info!(session = %self.config.id, label = label.as_deref().unwrap_or(""), "{text}");
                let loc = self.loc(action.pos);
                self.out.push_back(Output::Log { label, text, loc });
            }
            ActionKind::Send {
                name,
                target,
                targettype,
                sendid,
                delay,
                namelist,
                ..
            } => self.send(at, name, target, targettype, sendid, delay, namelist)?,
            ActionKind::Cancel { sendid } => {
                let id = self.eval_string(at, sendid)?;
                let before = self.timers.len();
                self.timers.retain(|t| t.sendid != id);
                if before == self.timers.len() {
                    return Err(at.semantic(format!("no pending <send> has id `{id}`")));
                }
                self.enqueue(Event::new(
                    "cancel.successful",
                    [("sendid", Value::String(id))],
                ));
            }
            ActionKind::Move {
                source,
                event,
                sessionid,
            } => {
                let session = self.eval_string(at, sessionid)?;
                let (id, event) = match (source, event) {
                    (Some(source), _) => (self.eval_string(at, source)?, None),
                    (None, Some(event)) => {
                        let value = self.eval(at, event)?;
                        let ev = moved_event(value)
                            .ok_or_else(|| at.semantic("`event` is not an event object"))?;
                        let id = event_source(&ev).ok_or_else(|| {
                            at.semantic(format!(
                                "event `{}` has no connection or dialog source",
                                ev.name
                            ))
                        })?;
                        (id, Some(ev))
                    }
                    (None, None) => return Err(at.semantic("<move> names no source")),
                };
                self.start_move(at.tag, at.pos, id, session, event)?;
            }
            ActionKind::Merge {
                connectionid1,
                connectionid2,
                hints,
            } => {
                let c1 = self.eval_string(at, connectionid1)?;
                let c2 = self.eval_string(at, connectionid2)?;
                let hints = match hints {
                    Some(h) => self.eval(at, h)?,
                    None => Value::Null,
                };
                self.start_merge(at.tag, at.pos, c1, c2, hints)?;
            }
            ActionKind::Accept {
                connectionid,
                hints,
            } => {
                let id = self.target_connection(at, connectionid)?;
                let hints = match hints {
                    Some(h) => self.eval(at, h)?,
                    None => Value::Null,
                };
                self.claim(at, &id, &[ConnState::Alerting])?;
                self.out.push_back(Output::AcceptCall {
                    connection: id,
                    hints,
                });
            }
            ActionKind::Reject {
                connectionid,
                reason,
                ..
            } => {
                let id = self.target_connection(at, connectionid)?;
                let reason = self.eval_opt_string(at, reason)?;
                self.claim(at, &id, &[ConnState::Alerting])?;
                self.out.push_back(Output::RejectCall {
                    connection: id,
                    reason,
                });
            }
            ActionKind::Redirect {
                connectionid,
                dest,
                reason,
                ..
            } => {
                let id = self.target_connection(at, connectionid)?;
                let dest = self.eval_string(at, dest)?;
                let reason = self.eval_opt_string(at, reason)?;
                self.claim(at, &id, &[ConnState::Alerting, ConnState::Connected])?;
                self.out.push_back(Output::Redirect {
                    connection: id,
                    dest,
                    reason,
                });
            }
            ActionKind::Disconnect {
                connectionid,
                reason,
                ..
            } => {
                let id = self.target_connection(at, connectionid)?;
                let reason = self.eval_opt_string(at, reason)?;
                self.claim(at, &id, &[ConnState::Connected, ConnState::Progressing])?;
                self.out.push_back(Output::Disconnect {
                    connection: id,
                    reason,
                });
            }
            ActionKind::CreateCall {
                dest,
                connectionid,
                aai,
                callerid,
                hints,
                timeout,
                joinid,
                joindirection,
            } => {
                let dest = self.eval_string(at, dest)?;
                if dest.trim().is_empty() {
                    return Err(at.semantic("dest is empty"));
                }
                let aai = self.eval_opt_string(at, aai)?;
                let callerid = self.eval_opt_string(at, callerid)?;
                let hints = match hints {
                    Some(h) => self.eval(at, h)?,
                    None => Value::Null,
                };
                let timeout = match self.eval_opt_string(at, timeout)? {
                    Some(t) => Some(
                        parse_time(&t)
                            .ok_or_else(|| at.semantic(format!("`{t}` is not a time")))?,
                    ),
                    None => None,
                };
                let join = self.eval_opt_string(at, joinid)?;
                if let Some(j) = &join
                    && !self.objects.exists(j)
                {
                    return Err(at.semantic(format!("joinid `{j}` names nothing")));
                }
                let direction = self.eval_opt_string(at, joindirection)?;
                let id = self.fresh("c");
                self.store(at, connectionid, &id)?;
                self.add_connection(
                    &id,
                    ConnState::Progressing,
                    &[
                        ("remote", Value::String(dest.clone())),
                        ("local", callerid.clone().map_or(Value::Null, Value::String)),
                        ("originator", Value::from("local")),
                        (
                            "protocol",
                            serde_json::json!({"name": "sip", "version": "2.0"}),
                        ),
                    ],
                );
                if let Some(j) = join {
                    let duplex = match direction.as_deref() {
                        Some("calltransmit" | "callreceive") => Duplex::Half,
                        _ => Duplex::Full,
                    };
                    // The join takes effect when the call connects (§10).
                    let (id1, id2) = match direction.as_deref() {
                        Some("callreceive") => (id.clone(), j),
                        _ => (j, id.clone()),
                    };
                    self.call_joins.insert(id.clone(), (id1, id2, duplex));
                }
                self.out.push_back(Output::CreateCall {
                    connection: id,
                    dest,
                    callerid,
                    aai,
                    timeout,
                    hints,
                });
            }
            ActionKind::Join {
                id1, id2, duplex, ..
            } => {
                let id1 = self.eval_string(at, id1)?;
                let id2 = self.eval_string(at, id2)?;
                let duplex = self.duplex(at, duplex)?;
                for id in [&id1, &id2] {
                    if !self.objects.exists(id) {
                        return Err(at.semantic(format!(
                            "`{id}` is not a connection, dialog or conference"
                        )));
                    }
                }
                if id1 == id2 {
                    return Err(at.semantic("an endpoint cannot be joined to itself"));
                }
                if let (Some(a), Some(b)) = (
                    self.objects.dialogs.get(&id1),
                    self.objects.dialogs.get(&id2),
                ) && a.state != DialogState::Terminating
                    && b.state != DialogState::Terminating
                {
                    return Err(at.semantic("two dialogs cannot be joined"));
                }
                for id in [&id1, &id2] {
                    if let Some(c) = self.objects.connections.get(id)
                        && matches!(c.state, ConnState::Failed | ConnState::Disconnected)
                    {
                        return Err(at.semantic(format!("connection `{id}` is {}", c.state.name())));
                    }
                }
                self.pending_joins
                    .insert((id1.clone(), id2.clone()), duplex);
                self.out.push_back(Output::Join { id1, id2, duplex });
            }
            ActionKind::Unjoin { id1, id2, .. } => {
                let id1 = self.eval_string(at, id1)?;
                let id2 = self.eval_string(at, id2)?;
                if !self.objects.joined(&id1, &id2) {
                    return Err(at.semantic(format!("`{id1}` and `{id2}` are not joined")));
                }
                self.out.push_back(Output::Unjoin { id1, id2 });
            }
            ActionKind::CreateConference {
                conferenceid,
                confname,
                ..
            } => {
                let name = self.eval_opt_string(at, confname)?;
                let id = self.fresh("conf");
                self.store(at, &Some(conferenceid.clone()), &id)?;
                self.add_conference(&id, name.as_deref());
                self.out.push_back(Output::CreateConference {
                    conference: id,
                    name,
                });
            }
            ActionKind::DestroyConference { conferenceid, .. } => {
                let id = self.eval_string(at, conferenceid)?;
                if !self.objects.conferences.contains_key(&id) {
                    return Err(at.semantic(format!("there is no conference `{id}`")));
                }
                self.out
                    .push_back(Output::DestroyConference { conference: id });
            }
            ActionKind::DialogPrepare(req) => {
                let spec = self.dialog_spec(at, req, false)?;
                let src = spec.src.as_ref().map(|u| u.to_string()).unwrap_or_default();
                self.add_dialog(
                    &spec.dialog,
                    DialogState::Preparing,
                    spec.connection.clone(),
                    spec.conference.clone(),
                    &src,
                    &spec.mime,
                );
                self.store(at, &req.dialogid, &spec.dialog)?;
                self.out.push_back(Output::PrepareDialog(spec));
            }
            ActionKind::DialogStart(req) => {
                let spec = self.dialog_spec(at, req, true)?;
                if spec.prepared {
                    let d = self.objects.dialogs.get_mut(&spec.dialog).ok_or_else(|| {
                        at.semantic(format!("there is no prepared dialog `{}`", spec.dialog))
                    })?;
                    if d.state != DialogState::Prepared {
                        return Err(at.semantic(format!(
                            "dialog `{}` is {}, not PREPARED",
                            spec.dialog,
                            d.state.name()
                        )));
                    }
                    d.state = DialogState::Starting;
                    if spec.connection.is_some() {
                        d.connection = spec.connection.clone();
                    }
                    if spec.conference.is_some() {
                        d.conference = spec.conference.clone();
                    }
                    let obj = d.obj.clone();
                    let st = self.js.string(DialogState::Starting.name());
                    objects::set(&mut self.js, &obj, "state", st);
                    if let Some(c) = &spec.connection {
                        let id = self.js.string(c);
                        objects::set(&mut self.js, &obj, "connectionid", id);
                        self.link_dialog(c, Some(&spec.dialog));
                    }
                } else {
                    let src = spec.src.as_ref().map(|u| u.to_string()).unwrap_or_default();
                    self.add_dialog(
                        &spec.dialog,
                        DialogState::Starting,
                        spec.connection.clone(),
                        spec.conference.clone(),
                        &src,
                        &spec.mime,
                    );
                }
                self.store(at, &req.dialogid, &spec.dialog)?;
                if let Some(peer) = spec.connection.clone().or_else(|| spec.conference.clone()) {
                    // The dialog's media joins its connection or conference
                    // as soon as it starts.
                    self.objects
                        .join(&spec.dialog, &peer, spec.duplex == Duplex::Full);
                    self.objects.sync_media(&mut self.js);
                }
                self.out.push_back(Output::StartDialog(spec));
            }
            ActionKind::DialogTerminate {
                dialogid,
                immediate,
                ..
            } => {
                let id = self.eval_string(at, dialogid)?;
                let immediate = match immediate {
                    Some(e) => self
                        .js
                        .eval_bool(&e.0)
                        .map_err(|err| at.semantic(format!("`{}`: {}", e.0, err)))?,
                    None => false,
                };
                let d = self
                    .objects
                    .dialogs
                    .get_mut(&id)
                    .ok_or_else(|| at.semantic(format!("there is no dialog `{id}`")))?;
                d.state = DialogState::Terminating;
                self.out.push_back(Output::TerminateDialog {
                    dialog: id,
                    immediate,
                });
            }
        }
        Ok(Flow::Next)
    }

    fn dialog_spec(
        &mut self,
        at: At,
        req: &DialogRequest,
        start: bool,
    ) -> Result<DialogSpec, Raise> {
        let mut connection = self.eval_opt_string(at, &req.connectionid)?;
        let conference = self.eval_opt_string(at, &req.conferenceid)?;
        if start && connection.is_none() && conference.is_none() {
            let prepared_on = match &req.prepareddialogid {
                Some(p) => {
                    let id = self.eval_string(at, p)?;
                    self.objects
                        .dialogs
                        .get(&id)
                        .is_some_and(|d| d.connection.is_some() || d.conference.is_some())
                }
                None => false,
            };
            // §7.2.2: without connectionid or conferenceid the dialog runs
            // on the connection of the event being processed.
            if !prepared_on {
                connection = self
                    .current
                    .as_ref()
                    .and_then(|ev| ev.field("connectionid"))
                    .map(str::to_owned);
            }
        }
        if let Some(c) = &connection {
            let conn = self
                .objects
                .connections
                .get(c)
                .ok_or_else(|| at.semantic(format!("there is no connection `{c}`")))?;
            if start && matches!(conn.state, ConnState::Failed | ConnState::Disconnected) {
                return Err(at.semantic(format!("connection `{c}` is {}", conn.state.name())));
            }
        }
        if let Some(c) = &conference
            && !self.objects.conferences.contains_key(c)
        {
            return Err(at.semantic(format!("there is no conference `{c}`")));
        }
        let duplex = self.duplex(at, &req.duplex)?;
        let values = self.namelist(at, &req.namelist)?;
        let parameters = self.namelist(at, &req.parameters)?;
        let method = self
            .eval_opt_string(at, &req.method)?
            .map_or_else(|| "get".to_owned(), |m| m.to_ascii_lowercase());
        if method != "get" && method != "post" {
            return Err(at.semantic(format!("method `{method}` is neither get nor post")));
        }
        let enctype = self
            .eval_opt_string(at, &req.enctype)?
            .unwrap_or_else(|| "application/x-www-form-urlencoded".to_owned());
        let mime = self
            .eval_opt_string(at, &req.mime)?
            .unwrap_or_else(|| "application/voicexml+xml".to_owned());
        let (dialog, src, prepared) = match &req.prepareddialogid {
            Some(p) => (self.eval_string(at, p)?, None, true),
            None => {
                let src = req.src.as_ref().ok_or_else(|| at.semantic("no src"))?;
                let src = self.eval_string(at, src)?;
                let url = self.resolve(at, &src)?;
                if connection.is_none() && conference.is_none() && start {
                    return Err(at.semantic("<dialogstart> needs a connectionid or conferenceid"));
                }
                (self.fresh("d"), Some(url), false)
            }
        };
        Ok(DialogSpec {
            dialog,
            src,
            mime,
            connection,
            conference,
            values,
            parameters,
            method,
            enctype,
            duplex,
            prepared,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        at: At,
        name: &Expr,
        target: &Option<Expr>,
        targettype: &Option<Expr>,
        sendid: &Option<Lhs>,
        delay: &Option<Expr>,
        namelist: &[String],
    ) -> Result<(), Raise> {
        let name = self.eval_string(at, name)?;
        if name.trim().is_empty() {
            return Err(at.semantic("<send> names no event"));
        }
        let targettype = self
            .eval_opt_string(at, targettype)?
            .unwrap_or_else(|| "ccxml".to_owned());
        let target = self.eval_opt_string(at, target)?;
        let delay = match self.eval_opt_string(at, delay)? {
            Some(d) => {
                parse_time(&d).ok_or_else(|| at.semantic(format!("delay `{d}` is not a time")))?
            }
            None => std::time::Duration::ZERO,
        };
        let fields = self.namelist(at, namelist)?;
        let id = self.fresh("send");
        self.store(at, sendid, &id)?;
        match targettype.as_str() {
            "ccxml" => {
                let target = target.unwrap_or_else(|| self.config.id.clone());
                if target == self.config.id {
                    let mut fields = fields;
                    fields.insert("eventid".into(), Value::String(id.clone()));
                    fields.insert("sendid".into(), Value::String(id.clone()));
                    let event = Event { name, fields };
                    if delay.is_zero() {
                        self.enqueue(event);
                        self.enqueue(Event::new(
                            "send.successful",
                            [("sendid", Value::String(id))],
                        ));
                    } else {
                        if self.timers.len() >= self.config.limits.max_timers {
                            return Err(at.raise(
                                "error.send.failed",
                                "too many delayed events are pending",
                            ));
                        }
                        self.timers.push(Timer {
                            at: self.now + delay,
                            sendid: id,
                            event,
                        });
                    }
                    return Ok(());
                }
                self.out.push_back(Output::SendEvent {
                    sendid: id,
                    targettype,
                    target,
                    name,
                    fields,
                });
            }
            "dialog" => {
                let target = target
                    .ok_or_else(|| at.raise("error.send.targetunavailable", "no dialog named"))?;
                if !self.objects.dialogs.contains_key(&target) {
                    return Err(at.raise(
                        "error.send.targetunavailable",
                        format!("there is no dialog `{target}`"),
                    ));
                }
                self.out.push_back(Output::SendEvent {
                    sendid: id,
                    targettype,
                    target,
                    name,
                    fields,
                });
            }
            "basichttp" => {
                let target = target
                    .ok_or_else(|| at.raise("error.send.targetunavailable", "no URL given"))?;
                let url = self.resolve(at, &target).map_err(|_| {
                    at.raise(
                        "error.send.targetunavailable",
                        format!("`{target}` is not a URL"),
                    )
                })?;
                self.out.push_back(Output::SendEvent {
                    sendid: id,
                    targettype,
                    target: url.to_string(),
                    name,
                    fields,
                });
            }
            other => {
                return Err(at.raise(
                    "error.send.targettypeinvalid",
                    format!("target type `{other}` is not ccxml, dialog or basichttp"),
                ));
            }
        }
        Ok(())
    }
}

/// The event a `<move event>` expression gave (an `event$` object): its
/// name and fields, without the live `connection`/`dialog`/`conference`
/// objects, which the receiving session sets again from its own.
fn moved_event(value: Value) -> Option<Event> {
    let Value::Object(mut fields) = value else {
        return None;
    };
    let name = match fields.remove("name") {
        Some(Value::String(n)) if !n.is_empty() => n,
        _ => return None,
    };
    for live in ["connection", "dialog", "conference"] {
        fields.remove(live);
    }
    Some(Event { name, fields })
}

/// The connection or dialog an event comes from: the dialog for `dialog.*`
/// events, else the connection, else whichever the event names.
fn event_source(ev: &Event) -> Option<String> {
    let order = if ev.name.starts_with("dialog.") {
        ["dialogid", "connectionid"]
    } else {
        ["connectionid", "dialogid"]
    };
    order.iter().find_map(|k| ev.field(k)).map(str::to_owned)
}

/// A namelist value as request text: strings as they are, anything else as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
