//! Throwing events and selecting their handlers (VoiceXML 2.0 §5.2):
//! event counters per form item (§5.2.2), catch selection by event-name
//! prefix, `count` and `cond` over the catches of the form item, dialog,
//! document and application root as if copied into the current element
//! (§5.2.4), and the platform default handlers (§5.2.5).

use std::time::Instant;

use boa_engine::JsValue;

use super::fia::{Ending, Step, Then};
use super::{Output, Session, SourceLoc};
use crate::script::Scope;
use crate::vxml::model::{Catch, Dialog, FormItem, Loc};

/// A thrown event.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub name: String,
    pub message: Option<String>,
    pub loc: Option<Loc>,
}

impl Event {
    pub(super) fn new(name: impl Into<String>, message: Option<String>, loc: Option<Loc>) -> Self {
        Event {
            name: name.into(),
            message,
            loc,
        }
    }

    /// `error.semantic` naming the element at `loc`.
    pub(super) fn semantic(loc: &Loc, what: impl std::fmt::Display) -> Self {
        Event::new(
            "error.semantic",
            Some(format!("{loc}: {what}")),
            Some(loc.clone()),
        )
    }

    /// `error.badfetch` naming the element at `loc`.
    pub(super) fn badfetch(loc: &Loc, what: impl std::fmt::Display) -> Self {
        Event::new(
            "error.badfetch",
            Some(format!("{loc}: {what}")),
            Some(loc.clone()),
        )
    }
}

pub(super) fn source_loc(loc: &Loc) -> SourceLoc {
    SourceLoc {
        url: loc.url.as_str().into(),
        line: loc.pos.line,
        column: loc.pos.column,
    }
}

/// Whether a catch's event list matches `name` (§5.2.4: whole-token prefix
/// match; an empty list or `.` catches everything).
pub(super) fn catch_matches(events: &[String], name: &str) -> bool {
    if events.is_empty() {
        return true;
    }
    events.iter().any(|e| {
        let e = e.trim_end_matches('.');
        e.is_empty()
            || name == e
            || (name.len() > e.len()
                && name.starts_with(e)
                && name.as_bytes().get(e.len()) == Some(&b'.'))
    })
}

/// Where a selected catch lives.
#[derive(Debug, Clone, Copy)]
enum CatchAt {
    Item(usize, usize),
    Dialog(usize),
    Document(usize),
    Root(usize),
}

impl Session {
    pub(super) fn emit_event(&mut self, ev: &Event) {
        tracing::debug!(event = %ev.name, message = ?ev.message, "event thrown");
        self.out.push_back(Output::Event {
            name: ev.name.clone(),
            message: ev.message.clone(),
            loc: ev.loc.as_ref().map(source_loc),
        });
    }

    /// Throws `ev` in the current context and runs its handler.
    pub(super) fn throw(&mut self, ev: Event, now: Instant) -> Step {
        self.emit_event(&ev);
        self.listen = None;
        if matches!(self.wait, super::Wait::Input) {
            self.wait = super::Wait::Running;
        }
        let repeats = self.event_chain.iter().filter(|n| **n == ev.name).count() as u32;
        if repeats >= self.config.limits.max_event_loop {
            let e = Event::new(
                "error.semantic",
                Some(format!(
                    "the event {} was thrown {} times in a row without waiting for input",
                    ev.name,
                    repeats + 1
                )),
                ev.loc.clone(),
            );
            self.emit_event(&e);
            return Step::Finish(Ending::Error(e));
        }
        self.event_chain.push(ev.name.clone());
        // Only a <reprompt> executed by this handler counts (Appendix C).
        if let Some(d) = self.dialog.as_mut() {
            d.reprompt = false;
        }
        let count = self.count_event(&ev.name);
        let found = match self.select_catch(&ev.name, count) {
            Ok(f) => f,
            Err(e) => return Step::Throw(e),
        };
        match found {
            Some(at) => self.run_catch(at, &ev, now),
            None => self.default_handler(ev),
        }
    }

    fn count_event(&mut self, name: &str) -> u32 {
        let Some(d) = self.dialog.as_mut() else {
            return 1;
        };
        let slot = d
            .active
            .unwrap_or(d.event_counts.len().saturating_sub(1))
            .min(d.event_counts.len().saturating_sub(1));
        match d.event_counts.get_mut(slot) {
            Some(m) => {
                let c = m.entry(name.to_string()).or_insert(0);
                *c = c.saturating_add(1);
                *c
            }
            None => 1,
        }
    }

    /// §5.2.4 catch element selection.
    fn select_catch(&mut self, name: &str, count: u32) -> Result<Option<CatchAt>, Event> {
        let mut cands: Vec<(CatchAt, &Catch)> = Vec::new();
        let doc = self.doc.clone();
        let root = self.root.clone();
        if let (Some(doc), Some(d)) = (doc.as_ref(), self.dialog.as_ref()) {
            match doc.dialogs.get(d.index) {
                Some(Dialog::Form(f)) => {
                    if let Some(i) = d.active
                        && let Some(item) = f.items.get(i)
                    {
                        cands.extend(
                            item.common()
                                .catches
                                .iter()
                                .enumerate()
                                .map(|(k, c)| (CatchAt::Item(i, k), c)),
                        );
                    }
                    cands.extend(
                        f.catches
                            .iter()
                            .enumerate()
                            .map(|(k, c)| (CatchAt::Dialog(k), c)),
                    );
                }
                Some(Dialog::Menu(m)) => {
                    cands.extend(
                        m.catches
                            .iter()
                            .enumerate()
                            .map(|(k, c)| (CatchAt::Dialog(k), c)),
                    );
                }
                None => {}
            }
        }
        if let Some(doc) = doc.as_ref() {
            cands.extend(
                doc.catches
                    .iter()
                    .enumerate()
                    .map(|(k, c)| (CatchAt::Document(k), c)),
            );
        }
        if let Some(root) = root.as_ref() {
            cands.extend(
                root.catches
                    .iter()
                    .enumerate()
                    .map(|(k, c)| (CatchAt::Root(k), c)),
            );
        }
        let mut matching: Vec<(CatchAt, u32)> = Vec::new();
        for (at, c) in cands {
            if !catch_matches(&c.events, name) {
                continue;
            }
            if let Some(cond) = &c.cond
                && !self.eval_bool(cond)?
            {
                continue;
            }
            matching.push((at, c.count.max(1)));
        }
        let best = matching
            .iter()
            .filter(|(_, c)| *c <= count)
            .map(|(_, c)| *c)
            .max();
        Ok(best.and_then(|b| matching.iter().find(|(_, c)| *c == b).map(|(at, _)| *at)))
    }

    fn run_catch(&mut self, at: CatchAt, ev: &Event, now: Instant) -> Step {
        let doc = match at {
            CatchAt::Root(_) => self.root.clone(),
            _ => self.doc.clone(),
        };
        let Some(doc) = doc else {
            return self.default_handler(ev.clone());
        };
        let dialog = self.dialog.as_ref().map(|d| d.index);
        let catch = match at {
            CatchAt::Item(i, k) => match dialog.and_then(|d| doc.dialogs.get(d)) {
                Some(Dialog::Form(f)) => f
                    .items
                    .get(i)
                    .and_then(|it: &FormItem| it.common().catches.get(k)),
                _ => None,
            },
            CatchAt::Dialog(k) => match dialog.and_then(|d| doc.dialogs.get(d)) {
                Some(Dialog::Form(f)) => f.catches.get(k),
                Some(Dialog::Menu(m)) => m.catches.get(k),
                None => None,
            },
            CatchAt::Document(k) | CatchAt::Root(k) => doc.catches.get(k),
        };
        let Some(catch) = catch else {
            return self.default_handler(ev.clone());
        };
        self.js.enter(Scope::Anonymous);
        let name = JsValue::from(boa_engine::js_string!(ev.name.as_str()));
        let message = match &ev.message {
            Some(m) => JsValue::from(boa_engine::js_string!(m.as_str())),
            None => JsValue::undefined(),
        };
        let _ = self.js.declare(Scope::Anonymous, "_event", name);
        let _ = self.js.declare(Scope::Anonymous, "_message", message);
        let body: &[crate::vxml::model::Stmt] = &catch.body;
        self.run_content_in_scope(body, Then::AfterHandler, now)
    }

    /// §5.2.5 default handlers.
    fn default_handler(&mut self, ev: Event) -> Step {
        let name = ev.name.as_str();
        let first = name.split('.').next().unwrap_or("");
        match first {
            "cancel" => Step::Then(Then::AfterHandler),
            "help" | "noinput" | "nomatch" | "maxspeechtimeout" => {
                if let Some(d) = self.dialog.as_mut() {
                    d.reprompt = true;
                }
                Step::Then(Then::AfterHandler)
            }
            "exit" => Step::Finish(Ending::Exit(super::ExitValue::None)),
            "connection" if name.starts_with("connection.disconnect") => {
                Step::Finish(Ending::Disconnect)
            }
            _ => {
                if self.hung_up {
                    return Step::Finish(Ending::Disconnect);
                }
                Step::Finish(Ending::Error(ev))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::catch_matches;

    #[test]
    fn prefix_matching_is_by_whole_tokens() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(catch_matches(&c(&["error"]), "error.badfetch.http.404"));
        assert!(catch_matches(&c(&["error.badfetch"]), "error.badfetch"));
        assert!(!catch_matches(&c(&["error.bad"]), "error.badfetch"));
        assert!(catch_matches(&c(&[]), "nomatch"));
        assert!(catch_matches(&c(&["."]), "nomatch"));
        assert!(catch_matches(&c(&["noinput", "nomatch"]), "nomatch"));
        assert!(!catch_matches(&c(&["noinput"]), "nomatch"));
    }
}
