//! The Form Interpretation Algorithm (VoiceXML 2.0 §2.1.6 and Appendix C):
//! dialog initialization, the select phase (guard conditions, `<goto
//! nextitem>`), the collect phase (prompts, grammars, executing the form
//! item) and the process phase (`<filled>` with mode any/all and namelist,
//! `<initial>` items after mixed-initiative input).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use boa_engine::JsValue;

use super::events::Event;
use super::exec::{Flow, Frame, InitTarget};
use super::{ExitValue, Output, Session, Suspended, Wait};
use crate::script::Scope;
use crate::vxml::model::{Dialog, Document, FilledMode, Form, FormItem, Stmt};

/// The next thing the FIA does.
#[derive(Debug)]
pub(super) enum Step {
    /// Start a main-loop iteration of the current dialog.
    Select,
    /// Initialize dialog `index` of the current document, then select.
    EnterDialog(usize),
    /// Throw an event in the current context.
    Throw(Event),
    /// Continue after executable content.
    Then(Then),
    /// Resume suspended content.
    Resume,
    /// Stop: the session waits for an input.
    Wait,
    /// End the session.
    Finish(Ending),
}

/// How the session ends.
#[derive(Debug)]
pub(super) enum Ending {
    /// `<exit>` or the dialog ran out of items.
    Exit(ExitValue),
    /// The caller is gone (`<disconnect>` or a hangup).
    Disconnect,
    /// An unhandled error event.
    Error(Event),
}

/// What follows a piece of executable content once it completes normally.
#[derive(Debug, Clone)]
pub(super) enum Then {
    /// The next main-loop iteration.
    Select,
    /// A catch handler finished: select, re-queueing prompts only if it
    /// executed `<reprompt>`.
    AfterHandler,
    /// The application root's initialization finished: initialize the leaf.
    AfterRootInit { dialog: usize },
    /// The document's initialization finished: enter `dialog`.
    AfterDocInit { dialog: usize },
    /// The dialog's `<var>`/`<script>` initialization finished.
    AfterFormInit,
    /// The `srcexpr` grammars of a collection arrived: build it again.
    Collect(super::input::Recollect),
    /// More `<filled>` elements to consider (form item index or `None` for
    /// form level, and the index of the `<filled>` in that list).
    Filled(Vec<(Option<usize>, usize)>),
}

/// Per-dialog FIA state (§2.1.6.1).
#[derive(Debug, Default)]
pub(super) struct DialogState {
    pub index: usize,
    pub prompt_counts: Vec<u32>,
    /// Event counters per form item; the last slot counts events thrown
    /// outside any item.
    pub event_counts: Vec<HashMap<String, u32>>,
    pub just_filled: Vec<usize>,
    pub next_item: Option<usize>,
    pub active: Option<usize>,
    pub suppress_prompts: bool,
    pub reprompt: bool,
    /// `<param>` values given by the calling `<subdialog>`, consumed by the
    /// form's `<var>` initialization.
    pub params: Option<HashMap<String, JsValue>>,
}

impl DialogState {
    fn new(index: usize, items: usize) -> Self {
        DialogState {
            index,
            prompt_counts: vec![0; items.max(1)],
            event_counts: vec![HashMap::new(); items.max(1) + 1],
            ..Default::default()
        }
    }
}

pub(super) fn dialog_items(d: &Dialog) -> usize {
    match d {
        Dialog::Form(f) => f.items.len(),
        Dialog::Menu(_) => 1,
    }
}

impl Session {
    /// Runs the FIA from `step` until it must wait or the session ends.
    pub(super) fn drive(&mut self, mut step: Step, now: Instant) {
        loop {
            if matches!(self.wait, Wait::Finished) {
                return;
            }
            step = match step {
                Step::Wait => return,
                Step::Finish(e) => {
                    self.finish(e);
                    return;
                }
                Step::Select | Step::EnterDialog(_) | Step::Throw(_) => {
                    self.transitions += 1;
                    if self.transitions > self.config.limits.max_transitions_without_input {
                        let ev = Event::new(
                            "error.semantic",
                            Some(format!(
                                "the application made {} dialog transitions without waiting for input (limit {}); it probably loops",
                                self.transitions - 1,
                                self.config.limits.max_transitions_without_input
                            )),
                            None,
                        );
                        self.emit_event(&ev);
                        self.finish(Ending::Error(ev));
                        return;
                    }
                    match step {
                        Step::Select => self.select(now),
                        Step::EnterDialog(i) => self.enter_dialog(i, now),
                        Step::Throw(ev) => self.throw(ev, now),
                        _ => Step::Wait,
                    }
                }
                Step::Then(t) => self.then(t, now),
                Step::Resume => self.resume(now),
            };
        }
    }

    /// Ends the session: queued prompts are flushed, then the ending output.
    pub(super) fn finish(&mut self, e: Ending) {
        if !self.hung_up {
            self.flush_prompts();
        }
        self.listen = None;
        self.suspended = None;
        self.fetches.clear();
        let out = match e {
            Ending::Exit(values) => Output::Exit { values },
            Ending::Disconnect => Output::Disconnect {
                values: self.disconnect_values.take().unwrap_or_default(),
            },
            Ending::Error(ev) => Output::Error {
                event: ev.name,
                message: ev.message.unwrap_or_default(),
            },
        };
        self.out.push_back(out);
        self.wait = Wait::Finished;
    }

    /// Runs executable content in a fresh anonymous scope, then `then`.
    pub(super) fn run_content(&mut self, stmts: &[Stmt], then: Then, now: Instant) -> Step {
        self.js.enter(Scope::Anonymous);
        self.run_content_in_scope(stmts, then, now)
    }

    /// Runs executable content in the anonymous scope already entered.
    pub(super) fn run_content_in_scope(
        &mut self,
        stmts: &[Stmt],
        then: Then,
        now: Instant,
    ) -> Step {
        match self.exec_list(stmts, now) {
            Flow::Next => {
                self.js.exit(Scope::Anonymous);
                Step::Then(then)
            }
            Flow::Jump(step) => {
                self.js.exit(Scope::Anonymous);
                step
            }
            Flow::Suspend(frames) => {
                self.suspended = Some(Suspended { frames, then });
                Step::Wait
            }
        }
    }

    /// Runs executable content that needs no fresh scope (already entered).
    pub(super) fn run_frames(&mut self, frames: Vec<Frame>, then: Then, now: Instant) -> Step {
        let mut rest = frames.into_iter();
        while let Some(frame) = rest.next() {
            match self.exec_frame(frame, now) {
                Flow::Next => {}
                Flow::Jump(step) => {
                    self.js.exit(Scope::Anonymous);
                    return step;
                }
                Flow::Suspend(mut frames) => {
                    frames.extend(rest);
                    self.suspended = Some(Suspended { frames, then });
                    return Step::Wait;
                }
            }
        }
        self.js.exit(Scope::Anonymous);
        Step::Then(then)
    }

    fn resume(&mut self, now: Instant) -> Step {
        match self.suspended.take() {
            Some(s) => {
                self.wait = Wait::Running;
                self.run_frames(s.frames, s.then, now)
            }
            None => Step::Wait,
        }
    }

    fn then(&mut self, t: Then, now: Instant) -> Step {
        match t {
            Then::Select => Step::Select,
            Then::AfterHandler => {
                if self.hung_up {
                    return Step::Finish(Ending::Disconnect);
                }
                if let Some(d) = self.dialog.as_mut() {
                    d.suppress_prompts = !d.reprompt;
                    d.reprompt = false;
                }
                Step::Select
            }
            Then::AfterRootInit { dialog } => {
                self.js.enter(Scope::Document);
                self.js.enter(Scope::Anonymous);
                self.run_frames(
                    vec![Frame::Init(InitTarget::Document, 0)],
                    Then::AfterDocInit { dialog },
                    now,
                )
            }
            Then::AfterDocInit { dialog } => Step::EnterDialog(dialog),
            Then::AfterFormInit => self.after_form_init(now),
            Then::Filled(pending) => self.run_filled(pending, now),
            Then::Collect(again) => self.recollect(again, now),
        }
    }

    /// Enters dialog `index` of the current document (§2.1.6.1
    /// initialization: form item variables, `<var>`/`<script>` in order).
    fn enter_dialog(&mut self, index: usize, now: Instant) -> Step {
        let Some(doc) = self.doc.clone() else {
            return Step::Finish(Ending::Exit(ExitValue::None));
        };
        let Some(dialog) = doc.dialogs.get(index) else {
            return Step::Throw(Event::new(
                "error.badfetch",
                Some(format!("{}: the document has no dialog to run", doc.loc)),
                Some(doc.loc.clone()),
            ));
        };
        let params = self.pending_params.take();
        let mut st = DialogState::new(index, dialog_items(dialog));
        st.params = params;
        self.dialog = Some(st);
        self.js.enter(Scope::Dialog);
        if let Dialog::Form(form) = dialog {
            for item in &form.items {
                if let Err(ev) = self.declare(
                    Scope::Dialog,
                    item.name(),
                    JsValue::undefined(),
                    &item.common().loc,
                ) {
                    return Step::Throw(ev);
                }
            }
        }
        self.js.enter(Scope::Anonymous);
        self.run_frames(
            vec![Frame::Init(InitTarget::Dialog, 0)],
            Then::AfterFormInit,
            now,
        )
    }

    fn after_form_init(&mut self, now: Instant) -> Step {
        let Some((doc, index)) = self.current_dialog() else {
            return Step::Finish(Ending::Exit(ExitValue::None));
        };
        // §2.3.4: every <param> of the calling <subdialog> must match a <var> of the dialog.
        let unmatched = self
            .dialog
            .as_mut()
            .and_then(|d| d.params.take())
            .and_then(|p| p.into_keys().min());
        if let (Some(name), Some(dialog)) = (unmatched, doc.dialogs.get(index)) {
            return Step::Throw(Event::semantic(
                dialog.loc(),
                format!("the subdialog parameter '{name}' matches no <var> of this dialog"),
            ));
        }
        if let Some(Dialog::Form(form)) = doc.dialogs.get(index) {
            for item in &form.items {
                if let Some(e) = &item.common().expr {
                    match self.eval(e) {
                        Ok(v) => {
                            if let Err(ev) = self.assign(item.name(), v, &e.loc) {
                                return Step::Throw(ev);
                            }
                        }
                        Err(ev) => return Step::Throw(ev),
                    }
                }
            }
        }
        match self.pending_fill.take() {
            Some(heard) => self.fill_pending(heard, now),
            None => Step::Select,
        }
    }

    pub(super) fn current_dialog(&self) -> Option<(Arc<Document>, usize)> {
        let doc = self.doc.clone()?;
        let idx = self.dialog.as_ref()?.index;
        Some((doc, idx))
    }

    /// Select phase (Appendix C): the `<goto nextitem>` target, else the
    /// first form item whose guard condition is false.
    fn select(&mut self, now: Instant) -> Step {
        let Some((doc, index)) = self.current_dialog() else {
            return Step::Finish(Ending::Exit(ExitValue::None));
        };
        match doc.dialogs.get(index) {
            Some(Dialog::Form(form)) => {
                let forced = self.dialog.as_mut().and_then(|d| d.next_item.take());
                let chosen = match forced {
                    Some(i) => Some(i),
                    None => match self.first_unfilled(form) {
                        Ok(c) => c,
                        Err(ev) => return Step::Throw(ev),
                    },
                };
                match chosen {
                    Some(i) => {
                        if let Some(d) = self.dialog.as_mut() {
                            d.active = Some(i);
                        }
                        self.collect(&doc, form, i, now)
                    }
                    None => {
                        if let Some(d) = self.dialog.as_mut() {
                            d.active = None;
                        }
                        Step::Finish(Ending::Exit(ExitValue::None))
                    }
                }
            }
            Some(Dialog::Menu(menu)) => {
                if let Some(d) = self.dialog.as_mut() {
                    d.active = Some(0);
                }
                self.collect_menu(&doc, menu, now)
            }
            None => Step::Finish(Ending::Exit(ExitValue::None)),
        }
    }

    fn first_unfilled(&mut self, form: &Form) -> Result<Option<usize>, Event> {
        for (i, item) in form.items.iter().enumerate() {
            if !self.js.lookup(item.name()).is_undefined() {
                continue;
            }
            if let Some(c) = &item.common().cond
                && !self.eval_bool(c)?
            {
                continue;
            }
            return Ok(Some(i));
        }
        Ok(None)
    }

    /// Collect phase for form item `i`.
    fn collect(&mut self, doc: &Arc<Document>, form: &Form, i: usize, now: Instant) -> Step {
        let Some(item) = form.items.get(i) else {
            return Step::Select;
        };
        if let FormItem::Block(b) = item {
            if let Err(ev) = self.assign(item.name(), JsValue::from(true), &item.common().loc) {
                return Step::Throw(ev);
            }
            return self.run_content(&b.body, Then::Select, now);
        }
        if self.hung_up {
            return Step::Finish(Ending::Disconnect);
        }
        if let FormItem::Object(o) = item {
            let what = o.classid.clone().unwrap_or_else(|| "object".into());
            return Step::Throw(Event::new(
                "error.unsupported.objectname",
                Some(format!(
                    "{}: the platform does not support the object {what}",
                    o.common.loc
                )),
                Some(o.common.loc.clone()),
            ));
        }
        if let FormItem::Subdialog(sd) = item {
            return self.start_subdialog(sd, now);
        }
        let suppress = self
            .dialog
            .as_mut()
            .map(|d| std::mem::take(&mut d.suppress_prompts))
            .unwrap_or(false);
        if !suppress {
            let count = self.bump_prompt_count(i);
            if let Err(ev) = self.queue_prompts(&item.common().prompts, count) {
                return Step::Throw(ev);
            }
        }
        match item {
            FormItem::Field(_) | FormItem::Initial(_) => self.start_listen(doc, Some(i), now),
            FormItem::Record(r) => self.start_record(r, i),
            FormItem::Transfer(t) => self.start_transfer(doc, t, i),
            _ => Step::Select,
        }
    }

    pub(super) fn bump_prompt_count(&mut self, i: usize) -> u32 {
        match self
            .dialog
            .as_mut()
            .and_then(|d| d.prompt_counts.get_mut(i))
        {
            Some(c) => {
                *c = c.saturating_add(1);
                *c
            }
            None => 1,
        }
    }

    /// Marks form items filled by input and starts the process phase.
    pub(super) fn process_filled(&mut self, filled: Vec<usize>, now: Instant) -> Step {
        let Some((doc, index)) = self.current_dialog() else {
            return Step::Select;
        };
        let Some(Dialog::Form(form)) = doc.dialogs.get(index) else {
            return Step::Select;
        };
        if !filled.is_empty() {
            // Appendix C: any filled input item sets every <initial> to true.
            for item in &form.items {
                if let FormItem::Initial(_) = item
                    && self.js.lookup(item.name()).is_undefined()
                    && let Err(ev) =
                        self.assign(item.name(), JsValue::from(true), &item.common().loc)
                {
                    return Step::Throw(ev);
                }
            }
        }
        if let Some(d) = self.dialog.as_mut() {
            d.just_filled = filled;
        }
        let mut pending: Vec<(crate::xml::Pos, Option<usize>, usize)> = Vec::new();
        for (i, item) in form.items.iter().enumerate() {
            for (k, f) in item.common().filled.iter().enumerate() {
                pending.push((f.loc.pos, Some(i), k));
            }
        }
        for (k, f) in form.filled.iter().enumerate() {
            pending.push((f.loc.pos, None, k));
        }
        pending.sort_by_key(|(p, _, _)| (p.line, p.column));
        self.run_filled(pending.into_iter().map(|(_, i, k)| (i, k)).collect(), now)
    }

    /// Runs the next triggered `<filled>` (Appendix C process phase).
    fn run_filled(&mut self, mut pending: Vec<(Option<usize>, usize)>, now: Instant) -> Step {
        let Some((doc, index)) = self.current_dialog() else {
            return Step::Select;
        };
        let Some(Dialog::Form(form)) = doc.dialogs.get(index) else {
            return Step::Select;
        };
        while !pending.is_empty() {
            let (owner, k) = pending.remove(0);
            let filled = match owner {
                Some(i) => form.items.get(i).and_then(|it| it.common().filled.get(k)),
                None => form.filled.get(k),
            };
            let Some(filled) = filled else { continue };
            let names: Vec<&str> = if !filled.namelist.is_empty() {
                filled.namelist.iter().map(String::as_str).collect()
            } else if let Some(i) = owner {
                form.items
                    .get(i)
                    .map(|it| vec![it.name()])
                    .unwrap_or_default()
            } else {
                form.items
                    .iter()
                    .filter(|it| it.is_input() && !matches!(it, FormItem::Initial(_)))
                    .map(FormItem::name)
                    .collect()
            };
            let just: Vec<&str> = self
                .dialog
                .as_ref()
                .map(|d| {
                    d.just_filled
                        .iter()
                        .filter_map(|&i| form.items.get(i).map(FormItem::name))
                        .collect()
                })
                .unwrap_or_default();
            if !names.iter().any(|n| just.contains(n)) {
                continue;
            }
            let set = names
                .iter()
                .filter(|n| !self.js.lookup(n).is_undefined())
                .count();
            let triggered = match filled.mode {
                FilledMode::All => set == names.len(),
                FilledMode::Any => set > 0,
            };
            if triggered {
                return self.run_content(&filled.body, Then::Filled(pending), now);
            }
        }
        if let Some(d) = self.dialog.as_mut() {
            d.just_filled.clear();
        }
        Step::Select
    }
}
