//! Executable content (VoiceXML 2.0 §5.3, VoiceXML 2.1 §5 `<foreach>`,
//! §4 `<data>`): `<var>`, `<assign>`, `<clear>`, `<if>`, `<log>`,
//! `<prompt>`, `<reprompt>`, `<goto>`, `<submit>`, `<exit>`, `<return>`,
//! `<disconnect>`, `<throw>`, `<script>`, `<data>`, `<foreach>` and the NGI
//! `<gvp:send>`/`<gvp:receive>`, plus the document and dialog initialization
//! lists (§1.5.2 order).
//!
//! Content runs over the compiled document without copying it; only when a
//! statement must wait (a `<data>` fetch, a `<script src>` not yet fetched, a
//! `<gvp:receive>`) is the rest of the content captured in [`Frame`]s and
//! resumed when the answer arrives.

use std::time::Instant;

use boa_engine::JsValue;

use super::events::Event;
use super::fia::{Ending, Step};
use super::navigation::{Nav, Purpose};
use super::{ExitValue, Output, Session};
use crate::script::Scope;
use crate::vxml::model::{
    Computed, Dialog, FormItem, GotoTarget, Init, Loc, LogPart, ScriptSource, Stmt,
};

/// Which initialization list an [`Frame::Init`] walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InitTarget {
    /// The application root document (application scope).
    Root,
    /// The current document (document scope).
    Document,
    /// The current dialog (dialog scope).
    Dialog,
}

/// A piece of content still to run.
#[derive(Debug)]
pub(super) enum Frame {
    /// The remaining statements of a list.
    Stmts(Vec<Stmt>),
    /// The remaining iterations of a `<foreach>`.
    Foreach {
        items: Vec<JsValue>,
        next: usize,
        item: String,
        body: Vec<Stmt>,
        loc: Loc,
    },
    /// An initialization list from this index on.
    Init(InitTarget, usize),
}

/// How a statement ended.
#[derive(Debug)]
pub(super) enum Flow {
    /// Go on with the next statement.
    Next,
    /// Control leaves the content.
    Jump(Step),
    /// The content waits; these frames resume it.
    Suspend(Vec<Frame>),
}

impl Session {
    pub(super) fn exec_frame(&mut self, frame: Frame, now: Instant) -> Flow {
        match frame {
            Frame::Stmts(v) => self.exec_list(&v, now),
            Frame::Foreach {
                items,
                next,
                item,
                body,
                loc,
            } => self.exec_foreach_from(items, next, &item, &body, &loc, now),
            Frame::Init(target, i) => self.exec_init(target, i),
        }
    }

    pub(super) fn exec_list(&mut self, stmts: &[Stmt], now: Instant) -> Flow {
        for (i, s) in stmts.iter().enumerate() {
            match self.exec_stmt(s, now) {
                Flow::Next => {}
                Flow::Suspend(mut frames) => {
                    if let Some(rest) = stmts.get(i + 1..)
                        && !rest.is_empty()
                    {
                        frames.push(Frame::Stmts(rest.to_vec()));
                    }
                    return Flow::Suspend(frames);
                }
                jump => return jump,
            }
        }
        Flow::Next
    }

    fn exec_init(&mut self, target: InitTarget, start: usize) -> Flow {
        let (doc, scope) = match target {
            InitTarget::Root => (self.root.clone(), Scope::Application),
            InitTarget::Document => (self.doc.clone(), Scope::Document),
            InitTarget::Dialog => (self.doc.clone(), Scope::Dialog),
        };
        let Some(doc) = doc else { return Flow::Next };
        let list: &[Init] = match target {
            InitTarget::Root | InitTarget::Document => &doc.init,
            InitTarget::Dialog => match self.dialog.as_ref().and_then(|d| doc.dialogs.get(d.index))
            {
                Some(Dialog::Form(f)) => &f.init,
                Some(Dialog::Menu(m)) => &m.init,
                None => return Flow::Next,
            },
        };
        for (i, init) in list.iter().enumerate().skip(start) {
            let r = match init {
                Init::Var(v) => {
                    let param = if target == InitTarget::Dialog {
                        self.dialog
                            .as_mut()
                            .and_then(|d| d.params.as_mut())
                            .and_then(|p| p.remove(&v.name))
                    } else {
                        None
                    };
                    let value = match (param, &v.expr) {
                        (Some(p), _) => Ok(p),
                        (None, Some(e)) => self.eval(e),
                        (None, None) => Ok(JsValue::undefined()),
                    };
                    value.and_then(|val| self.declare(scope, &v.name, val, &v.loc))
                }
                Init::Script(s) => match self.exec_script(&s.source, scope, &s.loc) {
                    Ok(true) => Ok(()),
                    Ok(false) => return Flow::Suspend(vec![Frame::Init(target, i)]),
                    Err(e) => Err(e),
                },
                Init::Data(d) => {
                    return match self.start_data(d, scope) {
                        Ok(()) => Flow::Suspend(vec![Frame::Init(target, i + 1)]),
                        Err(e) => Flow::Jump(Step::Throw(e)),
                    };
                }
            };
            if let Err(e) = r {
                return Flow::Jump(Step::Throw(e));
            }
        }
        Flow::Next
    }

    /// Runs a `<script>`; `Ok(false)` when its source must be fetched first
    /// (the fetch has been issued and the caller suspends on this element).
    fn exec_script(&mut self, src: &ScriptSource, scope: Scope, loc: &Loc) -> Result<bool, Event> {
        let url = match src {
            ScriptSource::Inline(e) => {
                return self
                    .js
                    .run_script(&e.src, scope)
                    .map(|_| true)
                    .map_err(|err| Event::semantic(&e.loc, err));
            }
            ScriptSource::Src(u) => u.clone(),
            ScriptSource::SrcExpr(e) => {
                let s = self.eval_string(e)?;
                self.resolve_url(&s, loc)?
            }
        };
        match self.scripts.get(&url).cloned() {
            Some(text) => {
                self.js
                    .run_script(&text, scope)
                    .map_err(|err| Event::semantic(loc, format!("in script {url}: {err}")))?;
                Ok(true)
            }
            None => {
                self.request(
                    url.clone(),
                    super::ResourceKind::Script,
                    Purpose::Script {
                        url,
                        loc: loc.clone(),
                    },
                );
                self.wait = super::Wait::Fetch;
                Ok(false)
            }
        }
    }

    fn exec_foreach_from(
        &mut self,
        items: Vec<JsValue>,
        start: usize,
        item: &str,
        body: &[Stmt],
        loc: &Loc,
        now: Instant,
    ) -> Flow {
        for i in start..items.len() {
            let v = items.get(i).cloned().unwrap_or_default();
            if let Err(e) = self.declare(Scope::Anonymous, item, v, loc) {
                return Flow::Jump(Step::Throw(e));
            }
            match self.exec_list(body, now) {
                Flow::Next => {}
                Flow::Suspend(mut frames) => {
                    frames.push(Frame::Foreach {
                        items,
                        next: i + 1,
                        item: item.to_string(),
                        body: body.to_vec(),
                        loc: loc.clone(),
                    });
                    return Flow::Suspend(frames);
                }
                jump => return jump,
            }
        }
        Flow::Next
    }

    fn exec_stmt(&mut self, s: &Stmt, now: Instant) -> Flow {
        match self.try_exec_stmt(s, now) {
            Ok(f) => f,
            Err(e) => Flow::Jump(Step::Throw(e)),
        }
    }

    fn try_exec_stmt(&mut self, s: &Stmt, now: Instant) -> Result<Flow, Event> {
        match s {
            Stmt::Var(v) => {
                let val = match &v.expr {
                    Some(e) => self.eval(e)?,
                    None => JsValue::undefined(),
                };
                self.declare(Scope::Anonymous, &v.name, val, &v.loc)?;
            }
            Stmt::Assign(a) => {
                let val = self.eval(&a.expr)?;
                self.assign(&a.name, val, &a.loc)?;
            }
            Stmt::Clear(c) => self.exec_clear(&c.namelist, &c.loc)?,
            Stmt::If(f) => {
                for b in &f.branches {
                    let take = match &b.cond {
                        Some(c) => self.eval_bool(c)?,
                        None => true,
                    };
                    if take {
                        return Ok(self.exec_list(&b.body, now));
                    }
                }
            }
            Stmt::Log(l) => {
                let mut text = String::new();
                if let Some(e) = &l.expr {
                    text.push_str(&self.eval_string(e)?);
                }
                for p in &l.content {
                    match p {
                        LogPart::Text(t) => text.push_str(t),
                        LogPart::Value(e) => text.push_str(&self.eval_string(e)?),
                    }
                }
                tracing::info!(label = ?l.label, "{text}");
                self.out.push_back(Output::Log {
                    label: l.label.clone(),
                    text: text.trim().to_string(),
                    loc: Some(super::events::source_loc(&l.loc)),
                });
            }
            Stmt::Prompt(p) => {
                let keep = match &p.cond {
                    Some(c) => self.eval_bool(c)?,
                    None => true,
                };
                if keep {
                    self.queue_prompt(p)?;
                }
            }
            Stmt::Reprompt(_) => {
                if let Some(d) = self.dialog.as_mut() {
                    d.reprompt = true;
                }
            }
            Stmt::Throw(t) => {
                let name = self.computed_string(&t.event)?;
                let message = match &t.message {
                    Some(m) => Some(self.computed_string(m)?),
                    None => None,
                };
                return Ok(Flow::Jump(Step::Throw(Event::new(
                    name,
                    message,
                    Some(t.loc.clone()),
                ))));
            }
            Stmt::Exit(x) => {
                let values = if let Some(e) = &x.expr {
                    let v = self.eval(e)?;
                    ExitValue::Expr(self.js.json_of(&v))
                } else if !x.namelist.is_empty() {
                    ExitValue::Namelist(
                        self.namelist_json(&x.namelist, &x.loc)?
                            .into_iter()
                            .collect(),
                    )
                } else {
                    ExitValue::None
                };
                return Ok(Flow::Jump(Step::Finish(Ending::Exit(values))));
            }
            Stmt::Disconnect(d) => {
                let values = self.namelist_json(&d.namelist, &d.loc)?;
                self.disconnect_values = Some(values);
                if self.hung_up {
                    // Already disconnected (inside the hangup handler): end now.
                    return Ok(Flow::Jump(Step::Finish(Ending::Disconnect)));
                }
                self.flush_prompts();
                self.hung_up = true;
                return Ok(Flow::Jump(Step::Throw(Event::new(
                    "connection.disconnect.hangup",
                    None,
                    Some(d.loc.clone()),
                ))));
            }
            Stmt::Goto(g) => {
                return self
                    .exec_goto(&g.target, &g.fetch, &g.loc, now)
                    .map(Flow::Jump);
            }
            Stmt::Submit(s) => {
                let target = self.computed_target(&s.target, &s.loc)?;
                let params = self.namelist_submit(&s.submission.namelist, &s.loc)?;
                return Ok(Flow::Jump(self.navigate(
                    target,
                    Nav::Submit {
                        method: s.submission.method,
                        enctype: s.submission.enctype,
                        params,
                    },
                    &s.fetch,
                    &s.loc,
                    now,
                )));
            }
            Stmt::Return(r) => return self.exec_return(r, now).map(Flow::Jump),
            Stmt::Script(s) => {
                if !self.exec_script(&s.source, Scope::Anonymous, &s.loc)? {
                    return Ok(Flow::Suspend(vec![Frame::Stmts(vec![Stmt::Script(
                        s.clone(),
                    )])]));
                }
            }
            Stmt::Data(d) => {
                self.start_data(d, Scope::Anonymous)?;
                return Ok(Flow::Suspend(Vec::new()));
            }
            Stmt::Foreach(f) => {
                let arr = self.eval(&f.array)?;
                let items = self
                    .js
                    .array_items(&arr)
                    .map_err(|e| Event::semantic(&f.array.loc, format!("foreach array: {e}")))?;
                return Ok(self.exec_foreach_from(items, 0, &f.item, &f.body, &f.loc, now));
            }
            Stmt::Send(s) => return self.exec_send(s),
            Stmt::Receive(r) => return Ok(self.exec_receive(r, now)),
        }
        Ok(Flow::Next)
    }

    /// `<clear>` (§5.3.3): an empty namelist clears every form item of the
    /// current form; clearing a form item also resets its prompt and event
    /// counters.
    fn exec_clear(&mut self, namelist: &[String], loc: &Loc) -> Result<(), Event> {
        let Some((doc, index)) = self.current_dialog() else {
            for n in namelist {
                self.assign(n, JsValue::undefined(), loc)?;
            }
            return Ok(());
        };
        let form = match doc.dialogs.get(index) {
            Some(Dialog::Form(f)) => Some(f),
            _ => None,
        };
        let names: Vec<String> = if namelist.is_empty() {
            form.map(|f| f.items.iter().map(|i| i.name().to_string()).collect())
                .unwrap_or_default()
        } else {
            namelist.to_vec()
        };
        for n in &names {
            self.assign(n, JsValue::undefined(), loc)?;
            if let Some(i) = form.and_then(|f| f.item_position(n))
                && let Some(d) = self.dialog.as_mut()
            {
                if let Some(c) = d.prompt_counts.get_mut(i) {
                    *c = 0;
                }
                if let Some(c) = d.event_counts.get_mut(i) {
                    c.clear();
                }
            }
        }
        Ok(())
    }

    fn exec_goto(
        &mut self,
        target: &GotoTarget,
        fetch: &crate::vxml::model::FetchAttrs,
        loc: &Loc,
        now: Instant,
    ) -> Result<Step, Event> {
        match target {
            GotoTarget::Item(c) => {
                let name = match c {
                    Computed::Static(s) => s.clone(),
                    Computed::Dynamic(e) => self.eval_string(e)?,
                };
                let pos = self
                    .current_dialog()
                    .and_then(|(doc, idx)| match doc.dialogs.get(idx) {
                        Some(Dialog::Form(f)) => f.item_position(&name),
                        _ => None,
                    });
                match pos {
                    Some(i) => {
                        if let Some(d) = self.dialog.as_mut() {
                            d.next_item = Some(i);
                        }
                        Ok(Step::Select)
                    }
                    None => Err(Event::badfetch(
                        loc,
                        format!(
                            "<goto> names the form item '{name}', which this form does not have"
                        ),
                    )),
                }
            }
            GotoTarget::Dialog(c) => {
                let target = self.computed_target(c, loc)?;
                Ok(self.navigate(target, Nav::Goto, fetch, loc, now))
            }
        }
    }

    /// Values of a namelist as JSON (for `<exit>`, `<disconnect>`, `<return>`).
    pub(super) fn namelist_json(
        &mut self,
        names: &[String],
        loc: &Loc,
    ) -> Result<Vec<(String, serde_json::Value)>, Event> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let v = self.lookup_checked(n, loc)?;
            out.push((n.clone(), self.js.json_of(&v)));
        }
        Ok(out)
    }

    fn lookup_checked(&mut self, name: &str, loc: &Loc) -> Result<JsValue, Event> {
        self.js
            .eval(name)
            .map_err(|e| Event::semantic(loc, format!("namelist variable '{name}': {e}")))
    }

    /// Values of a namelist as submit parameters (§5.3.8: objects are
    /// flattened as `name.prop`, recordings sent as audio).
    pub(super) fn namelist_submit(
        &mut self,
        names: &[String],
        loc: &Loc,
    ) -> Result<Vec<(String, super::SubmitValue)>, Event> {
        let mut out = Vec::new();
        for n in names {
            let v = self.lookup_checked(n, loc)?;
            if let Some(rec) = self.recordings.get(n.as_str()) {
                out.push((
                    n.clone(),
                    super::SubmitValue::Audio {
                        content_type: rec.0.clone(),
                        bytes: rec.1.clone(),
                    },
                ));
                continue;
            }
            for (k, s) in self.js.flatten_for_submit(n, &v) {
                out.push((k, super::SubmitValue::Text(s)));
            }
        }
        Ok(out)
    }

    /// The current form item, if the current dialog is a form.
    pub(super) fn with_item<R>(&self, i: usize, f: impl FnOnce(&FormItem) -> R) -> Option<R> {
        let (doc, idx) = self.current_dialog()?;
        match doc.dialogs.get(idx) {
            Some(Dialog::Form(form)) => form.items.get(i).map(f),
            _ => None,
        }
    }
}
