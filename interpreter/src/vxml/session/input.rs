//! Waiting for input and using it (VoiceXML 2.0 §3.1.4 grammar activation
//! and precedence, §3.1.6 mapping results to form items, §2.2 menus and
//! `<choice>`, §2.5 `<link>`, §5.1.5 `application.lastresult$`, §6.3.3 DTMF
//! collection through the grammar engine's [`DtmfCollector`]).
//!
//! Active grammars are ordered field, field links, dialog (form grammars and
//! links), document, application root, universals; the grammar engine breaks
//! ties in favour of the earlier one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use boa_engine::JsValue;

use super::events::Event;
use super::fia::{Ending, Step};
use super::js;
use super::navigation::Nav;
use super::{
    GrammarMode, GrammarScope, InputMode, InputModes, Listen, ListenGrammar, Output,
    RecognitionResult, Session, Wait,
};
use crate::grammar::{
    self, Candidate, DtmfCollector, DtmfParams, DtmfStep, FieldSlot, Grammar, Input, Mode,
    Recognition,
};
use crate::script::Scope;
use crate::vxml::model::{
    Accept, Dialog, Document, FormItem, GrammarRef, GrammarSource, Link, LinkAction, Menu,
};

/// Keys kept for the next collection at most (typeahead, §4.1.8).
const MAX_TYPEAHEAD: usize = 64;

/// The collection to build again once its `srcexpr` grammars arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recollect {
    /// The collect phase of form item `Some(i)` (prompts already queued).
    Form(Option<usize>),
    /// The collect phase of the current menu (prompts already queued).
    Menu,
}

/// Fetching the grammars named by `srcexpr` while a collection is built.
#[derive(Debug, Default)]
pub(super) struct SrcexprState {
    /// A collection's grammars are being built: an unloaded `srcexpr`
    /// grammar is fetched rather than an error.
    collecting: bool,
    /// Some `srcexpr` grammar of the collection being built is being fetched.
    fetching: bool,
    /// What to build again once every fetch has answered.
    pub again: Option<Recollect>,
}

/// Which element a grammar belongs to, so a match can be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A field's own grammar (or its `type`).
    Field(usize),
    /// A field `<option>`.
    FieldOption(usize, usize),
    /// A form-level grammar (mixed initiative).
    Form,
    /// A link: in the root document, the current document, the dialog, or a
    /// form item.
    Link(LinkAt),
    /// A menu `<choice>`.
    Choice(usize),
    /// A form of the current document with `scope="document"`.
    DocDialog(usize),
    /// A universal command.
    Universal(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkAt {
    Item(usize, usize),
    Dialog(usize),
    Document(usize),
    Root(usize),
}

#[derive(Debug)]
struct Active {
    grammar: Grammar,
    weight: f32,
    owner: Owner,
    scope: GrammarScope,
    source: String,
}

/// The state of an active `Listen`.
#[derive(Debug)]
pub(super) struct ListenState {
    actives: Vec<Active>,
    collector: Option<DtmfCollector>,
    dtmf_params: DtmfParams,
    noinput_at: Option<Instant>,
    timeout: Duration,
    bargein: bool,
    /// `bargeintype="hotword"` on a prompt being played: only input that
    /// matches a grammar stops it, and other input is ignored (§4.1.5.1).
    hotword: bool,
    modes: InputModes,
    maxnbest: usize,
    confidence: f32,
    /// The last `<mark>` reached while the prompts played.
    pub mark: Option<(String, Instant)>,
}

impl ListenState {
    /// The prompts are done: the noinput timer runs from now.
    pub(super) fn start_noinput_timer(&mut self, now: Instant) {
        if self.collector.is_none() {
            self.noinput_at = Some(now + self.timeout);
        }
    }

    /// Whether DTMF collection has started.
    #[cfg(test)]
    pub(super) fn collecting(&self) -> bool {
        self.collector.is_some()
    }

    /// The earliest pending deadline.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self
            .collector
            .as_ref()
            .and_then(DtmfCollector::poll_timeout)
        {
            Some(t) => Some(t),
            None => self.noinput_at,
        }
    }

    fn candidates(&self, mode: Mode) -> Vec<Candidate<'_>> {
        self.actives
            .iter()
            .enumerate()
            .filter(|(_, a)| a.grammar.mode() == mode)
            .map(|(key, a)| Candidate {
                grammar: &a.grammar,
                key,
                weight: a.weight,
            })
            .collect()
    }
}

/// One recognized hypothesis, interpreted.
#[derive(Debug, Clone)]
pub(super) struct Heard {
    key: usize,
    utterance: String,
    confidence: f32,
    interpretation: JsValue,
    mode: InputMode,
}

impl Session {
    /// The grammar a `<grammar>` element designates; `None` while a
    /// `srcexpr` grammar is being fetched for the collection being built
    /// (VoiceXML 2.1 §2: `srcexpr` is evaluated when the grammar is
    /// activated, and the grammar fetched then).
    fn grammar_of(&mut self, g: &GrammarRef, lang: &str) -> Result<Option<Grammar>, Event> {
        let url = match &g.source {
            GrammarSource::Src(u) => u.clone(),
            GrammarSource::SrcExpr(e) => {
                let s = self.eval_string(e)?;
                let url = self.resolve_url(&s, &e.loc)?;
                let mut base = url.clone();
                base.set_fragment(None);
                if self.srcexpr.collecting
                    && url.scheme() != "builtin"
                    && !self.grammars.contains_key(base.as_str())
                    && !self.failed.contains_key(base.as_str())
                {
                    if !self.grammar_requested(&base) {
                        self.request_grammar(base.clone(), &g.fetch, &g.loc);
                    }
                    self.srcexpr.fetching = true;
                    return Ok(None);
                }
                url
            }
            GrammarSource::Inline(inline) => {
                // Compiled with the page and shared by every session running it;
                // only a grammar with external rule references is linked here.
                if inline.compiled.is_linked() {
                    return Ok(Some(inline.compiled.clone()));
                }
                let key = format!("{}", g.loc);
                if let Some(c) = self.grammars.get(&key) {
                    return Ok(Some(c.clone()));
                }
                let linked = {
                    let cache = &self.grammars;
                    inline
                        .compiled
                        .link(&|u: &url::Url| cache.get(u.as_str()).cloned())
                        .map_err(|e| Event::badfetch(&g.loc, e))?
                };
                self.grammars.insert(key, linked.clone());
                return Ok(Some(linked));
            }
        };
        if url.scheme() == "builtin" {
            if let Some(c) = self.grammars.get(url.as_str()) {
                return Ok(Some(c.clone()));
            }
            let b = Grammar::builtin(url.as_str(), lang).map_err(|e| {
                Event::new(
                    "error.unsupported.builtin",
                    Some(format!("{}: {e}", g.loc)),
                    Some(g.loc.clone()),
                )
            })?;
            self.grammars.insert(url.to_string(), b.clone());
            return Ok(Some(b));
        }
        let mut base = url.clone();
        base.set_fragment(None);
        let Some(found) = self.grammars.get(base.as_str()).cloned() else {
            if let Some((event, message)) = self.failed.get(base.as_str()) {
                return Err(Event::new(
                    event.clone(),
                    Some(format!("{}: {message}", g.loc)),
                    Some(g.loc.clone()),
                ));
            }
            return Err(Event::badfetch(
                &g.loc,
                format!("the grammar {url} was not loaded"),
            ));
        };
        match url.fragment() {
            Some(rule) => found
                .with_root(rule)
                .map(Some)
                .map_err(|e| Event::badfetch(&g.loc, e)),
            None => Ok(Some(found)),
        }
    }

    /// The grammar of a `<choice>`/`<option>` phrase, a `dtmf` attribute or
    /// a universal command (§2.2), compiled by the grammar engine and cached
    /// per session.
    fn phrase_grammar(&mut self, text: &str, mode: Mode, approximate: bool) -> Option<Grammar> {
        let key = format!("phrase:{mode:?}:{approximate}:{text}");
        if let Some(g) = self.grammars.get(&key) {
            return Some(g.clone());
        }
        match Grammar::from_phrase(text, mode, approximate, &self.config.initial) {
            Ok(g) => {
                self.grammars.insert(key, g.clone());
                Some(g)
            }
            Err(e) => {
                tracing::debug!("no grammar for the phrase '{text}': {e}");
                None
            }
        }
    }

    fn push_refs(
        &mut self,
        out: &mut Vec<Active>,
        refs: &[GrammarRef],
        owner: Owner,
        scope: GrammarScope,
        lang: &str,
    ) -> Result<(), Event> {
        for g in refs {
            let Some(grammar) = self.grammar_of(g, lang)? else {
                continue;
            };
            out.push(Active {
                grammar,
                weight: g.weight,
                owner,
                scope,
                source: match &g.source {
                    GrammarSource::Src(u) => u.to_string(),
                    _ => g.loc.to_string(),
                },
            });
        }
        Ok(())
    }

    fn push_links(
        &mut self,
        out: &mut Vec<Active>,
        links: &[Link],
        at: impl Fn(usize) -> LinkAt,
        scope: GrammarScope,
        lang: &str,
    ) -> Result<(), Event> {
        for (k, l) in links.iter().enumerate() {
            self.push_refs(out, &l.grammars, Owner::Link(at(k)), scope, lang)?;
            if let Some(d) = &l.dtmf
                && let Some(g) = self.phrase_grammar(d, Mode::Dtmf, false)
            {
                out.push(Active {
                    grammar: g,
                    weight: 1.0,
                    owner: Owner::Link(at(k)),
                    scope,
                    source: format!("{} dtmf={d}", l.loc),
                });
            }
        }
        Ok(())
    }

    /// Grammars of the document and application levels plus universals.
    fn push_outer(
        &mut self,
        out: &mut Vec<Active>,
        doc: &Arc<Document>,
        current: usize,
        lang: &str,
    ) -> Result<(), Event> {
        self.push_links(
            out,
            &doc.links,
            LinkAt::Document,
            GrammarScope::Document,
            lang,
        )?;
        for (d, dialog) in doc.dialogs.iter().enumerate() {
            if d == current {
                continue;
            }
            if let Dialog::Form(f) = dialog
                && f.scope == crate::vxml::model::Scope::Document
            {
                self.push_refs(
                    out,
                    &f.grammars,
                    Owner::DocDialog(d),
                    GrammarScope::Document,
                    lang,
                )?;
            }
        }
        if let Some(root) = self.root.clone() {
            self.push_links(
                out,
                &root.links,
                LinkAt::Root,
                GrammarScope::Application,
                lang,
            )?;
        }
        let universals = self.props().universals();
        for u in universals {
            if let Some(g) = self.phrase_grammar(u, Mode::Voice, false) {
                out.push(Active {
                    grammar: g,
                    weight: 1.0,
                    owner: Owner::Universal(u),
                    scope: GrammarScope::Universal,
                    source: format!("universal:{u}"),
                });
            }
        }
        Ok(())
    }

    /// The grammars of a `<transfer>` (§2.3.7: a match ends a bridged call
    /// with `near_end_disconnect`), as the platform's recognizer sees them.
    pub(super) fn transfer_grammars(
        &mut self,
        refs: &[GrammarRef],
        lang: &str,
    ) -> Result<Vec<ListenGrammar>, Event> {
        let mut actives = Vec::new();
        self.push_refs(&mut actives, refs, Owner::Form, GrammarScope::Field, lang)?;
        Ok(actives
            .into_iter()
            .enumerate()
            .map(|(key, a)| ListenGrammar {
                key,
                mode: match a.grammar.mode() {
                    Mode::Dtmf => GrammarMode::Dtmf,
                    Mode::Voice => GrammarMode::Voice,
                },
                scope: a.scope,
                source: a.source,
                weight: a.weight,
                grammar: a.grammar,
            })
            .collect())
    }

    /// The `<enumerate>` list of the current menu or field.
    pub(super) fn enum_items(&self) -> Vec<(String, Option<String>)> {
        let Some((doc, idx)) = self.current_dialog() else {
            return Vec::new();
        };
        match doc.dialogs.get(idx) {
            Some(Dialog::Menu(m)) => menu_keys(m)
                .into_iter()
                .zip(&m.choices)
                .map(|(k, c)| (c.text.clone(), k))
                .collect(),
            Some(Dialog::Form(f)) => {
                let active = self.dialog.as_ref().and_then(|d| d.active);
                match active.and_then(|i| f.items.get(i)) {
                    Some(FormItem::Field(field)) => field
                        .options
                        .iter()
                        .map(|o| (o.text.clone(), o.dtmf.clone()))
                        .collect(),
                    _ => Vec::new(),
                }
            }
            None => Vec::new(),
        }
    }

    /// Collect phase of a field or `<initial>` (item `Some(i)`): activates
    /// grammars, flushes prompts and emits `Listen`.
    pub(super) fn start_listen(
        &mut self,
        doc: &Arc<Document>,
        item: Option<usize>,
        now: Instant,
    ) -> Step {
        self.srcexpr.collecting = true;
        let built = self.build_field_actives(doc, item);
        match self.srcexpr_fetching(Recollect::Form(item)) {
            Some(wait) => wait,
            None => match built {
                Ok(actives) => self.listen_with(actives, now),
                Err(e) => Step::Throw(e),
            },
        }
    }

    /// Ends the building of a collection's grammars: when `srcexpr`
    /// grammars are being fetched, the session waits for them and builds
    /// the collection again (`again`) once they are compiled; the queued
    /// prompts stay queued meanwhile.
    fn srcexpr_fetching(&mut self, again: Recollect) -> Option<Step> {
        self.srcexpr.collecting = false;
        if !std::mem::take(&mut self.srcexpr.fetching) {
            return None;
        }
        self.srcexpr.again = Some(again);
        self.wait = Wait::Fetch;
        Some(Step::Wait)
    }

    fn build_field_actives(
        &mut self,
        doc: &Arc<Document>,
        item: Option<usize>,
    ) -> Result<Vec<Active>, Event> {
        let Some(d) = self.dialog.as_ref().map(|d| d.index) else {
            return Ok(Vec::new());
        };
        let Some(Dialog::Form(form)) = doc.dialogs.get(d) else {
            return Ok(Vec::new());
        };
        let lang = form
            .lang
            .clone()
            .or_else(|| doc.lang.clone())
            .unwrap_or_else(|| "en-US".into());
        let mut out = Vec::new();
        let mut modal = false;
        if let Some(i) = item
            && let Some(it) = form.items.get(i)
        {
            let c = it.common();
            self.push_refs(
                &mut out,
                &c.grammars,
                Owner::Field(i),
                GrammarScope::Field,
                &lang,
            )?;
            if let FormItem::Field(f) = it {
                modal = f.modal;
                if let Some(t) = &f.field_type {
                    // A type is usable when at least one mode has a builtin
                    // grammar for the language (§3.1.6, Appendix P).
                    let mut last_err = None;
                    let mut found = false;
                    for mode in [Mode::Dtmf, Mode::Voice] {
                        let m = if mode == Mode::Dtmf { "dtmf" } else { "voice" };
                        let key = format!("type:{m}:{lang}:{t}");
                        let g = match self.grammars.get(&key) {
                            Some(g) => Ok(g.clone()),
                            None => Grammar::builtin_type(t, mode, &lang).inspect(|g| {
                                self.grammars.insert(key, g.clone());
                            }),
                        };
                        match g {
                            Ok(g) => {
                                found = true;
                                out.push(Active {
                                    grammar: g,
                                    weight: 1.0,
                                    owner: Owner::Field(i),
                                    scope: GrammarScope::Field,
                                    source: format!("builtin:{m}/{t}"),
                                });
                            }
                            Err(e) => last_err = Some(e),
                        }
                    }
                    if let (false, Some(e)) = (found, last_err) {
                        return Err(Event::new(
                            "error.unsupported.builtin",
                            Some(format!("{}: {e}", c.loc)),
                            Some(c.loc.clone()),
                        ));
                    }
                }
                for (k, o) in f.options.iter().enumerate() {
                    if let Some(g) = self.phrase_grammar(
                        &o.text,
                        Mode::Voice,
                        o.accept == Some(Accept::Approximate),
                    ) {
                        out.push(Active {
                            grammar: g,
                            weight: 1.0,
                            owner: Owner::FieldOption(i, k),
                            scope: GrammarScope::Field,
                            source: format!("{}", o.loc),
                        });
                    }
                    if let Some(dt) = &o.dtmf
                        && let Some(g) = self.phrase_grammar(dt, Mode::Dtmf, false)
                    {
                        out.push(Active {
                            grammar: g,
                            weight: 1.0,
                            owner: Owner::FieldOption(i, k),
                            scope: GrammarScope::Field,
                            source: format!("{} dtmf={dt}", o.loc),
                        });
                    }
                }
            }
            self.push_links(
                &mut out,
                &c.links,
                |k| LinkAt::Item(i, k),
                GrammarScope::FieldLink,
                &lang,
            )?;
        }
        if !modal {
            self.push_refs(
                &mut out,
                &form.grammars,
                Owner::Form,
                GrammarScope::Dialog,
                &lang,
            )?;
            self.push_links(
                &mut out,
                &form.links,
                LinkAt::Dialog,
                GrammarScope::Dialog,
                &lang,
            )?;
            self.push_outer(&mut out, doc, d, &lang)?;
        }
        Ok(out)
    }

    /// Collect phase of a `<menu>` (§2.2).
    pub(super) fn collect_menu(&mut self, doc: &Arc<Document>, menu: &Menu, now: Instant) -> Step {
        if self.hung_up {
            return Step::Finish(Ending::Disconnect);
        }
        let suppress = self
            .dialog
            .as_mut()
            .map(|d| std::mem::take(&mut d.suppress_prompts))
            .unwrap_or(false);
        if !suppress {
            let count = self.bump_prompt_count(0);
            if let Err(e) = self.queue_prompts(&menu.prompts, count) {
                return Step::Throw(e);
            }
        }
        self.srcexpr.collecting = true;
        let step = self.listen_menu(doc, menu, now);
        self.srcexpr_fetching(Recollect::Menu).unwrap_or(step)
    }

    /// Builds a collection again once its `srcexpr` grammars arrived.
    pub(super) fn recollect(&mut self, again: Recollect, now: Instant) -> Step {
        let Some((doc, idx)) = self.current_dialog() else {
            return Step::Select;
        };
        match again {
            Recollect::Form(item) => self.start_listen(&doc, item, now),
            Recollect::Menu => match doc.dialogs.get(idx) {
                Some(Dialog::Menu(m)) => {
                    self.srcexpr.collecting = true;
                    let step = self.listen_menu(&doc, m, now);
                    self.srcexpr_fetching(Recollect::Menu).unwrap_or(step)
                }
                _ => Step::Select,
            },
        }
    }

    /// The listening part of a menu's collect phase: its choices' grammars.
    pub(super) fn listen_menu(&mut self, doc: &Arc<Document>, menu: &Menu, now: Instant) -> Step {
        let lang = menu
            .lang
            .clone()
            .or_else(|| doc.lang.clone())
            .unwrap_or_else(|| "en-US".into());
        let mut out = Vec::new();
        let keys = menu_keys(menu);
        for (k, c) in menu.choices.iter().enumerate() {
            if let Err(e) = self.push_refs(
                &mut out,
                &c.grammars,
                Owner::Choice(k),
                GrammarScope::Field,
                &lang,
            ) {
                return Step::Throw(e);
            }
            if c.grammars.is_empty()
                && let Some(g) = self.phrase_grammar(
                    &c.text,
                    Mode::Voice,
                    c.accept.unwrap_or(menu.accept) == Accept::Approximate,
                )
            {
                out.push(Active {
                    grammar: g,
                    weight: 1.0,
                    owner: Owner::Choice(k),
                    scope: GrammarScope::Field,
                    source: format!("{}", c.loc),
                });
            }
            if let Some(Some(key)) = keys.get(k)
                && let Some(g) = self.phrase_grammar(key, Mode::Dtmf, false)
            {
                out.push(Active {
                    grammar: g,
                    weight: 1.0,
                    owner: Owner::Choice(k),
                    scope: GrammarScope::Field,
                    source: format!("{} dtmf={key}", c.loc),
                });
            }
        }
        let idx = self.dialog.as_ref().map(|d| d.index).unwrap_or(0);
        if let Err(e) = self.push_outer(&mut out, doc, idx, &lang) {
            return Step::Throw(e);
        }
        if self.srcexpr.fetching {
            return Step::Wait;
        }
        self.listen_with(out, now)
    }

    fn listen_with(&mut self, actives: Vec<Active>, now: Instant) -> Step {
        if self.hung_up {
            return Step::Finish(Ending::Disconnect);
        }
        let last_timeout = self.prompts.iter().rev().find_map(|p| p.timeout);
        let (listen, state) = {
            let props = self.props();
            let modes_raw = props.raw("inputmodes").unwrap_or("dtmf voice");
            let modes = InputModes {
                dtmf: modes_raw.split_whitespace().any(|m| m == "dtmf"),
                voice: modes_raw.split_whitespace().any(|m| m == "voice"),
            };
            let timeout = last_timeout.unwrap_or_else(|| props.time("timeout"));
            let dtmf_params = DtmfParams {
                termchar: props.termchar(),
                interdigittimeout: props.time("interdigittimeout"),
                termtimeout: props.time("termtimeout"),
                max_nbest: props.maxnbest(),
            };
            let listen = Listen {
                grammars: actives
                    .iter()
                    .enumerate()
                    .map(|(key, a)| ListenGrammar {
                        key,
                        mode: match a.grammar.mode() {
                            Mode::Dtmf => GrammarMode::Dtmf,
                            Mode::Voice => GrammarMode::Voice,
                        },
                        scope: a.scope,
                        source: a.source.clone(),
                        grammar: a.grammar.clone(),
                        weight: a.weight,
                    })
                    .collect(),
                inputmodes: modes,
                timeout,
                interdigittimeout: dtmf_params.interdigittimeout,
                termtimeout: dtmf_params.termtimeout,
                termchar: dtmf_params.termchar,
                completetimeout: props.time("completetimeout"),
                incompletetimeout: props.time("incompletetimeout"),
                maxspeechtimeout: props.time("maxspeechtimeout"),
                bargein: props.flag("bargein"),
                confidencelevel: props.fraction("confidencelevel"),
                sensitivity: props.fraction("sensitivity"),
                speedvsaccuracy: props.fraction("speedvsaccuracy"),
                maxnbest: props.maxnbest(),
                recordutterance: props.flag("recordutterance"),
                recordutterancetype: props
                    .raw("recordutterancetype")
                    .unwrap_or("audio/x-wav")
                    .trim()
                    .to_string(),
                properties: props.vendor(),
                item: String::new(),
            };
            let state = ListenState {
                actives,
                collector: None,
                dtmf_params,
                noinput_at: None,
                timeout,
                bargein: listen.bargein,
                hotword: false,
                modes,
                maxnbest: listen.maxnbest,
                confidence: listen.confidencelevel,
                mark: None,
            };
            (listen, state)
        };
        let mut listen = listen;
        listen.item = match self.current_dialog() {
            Some((doc, idx)) => match doc.dialogs.get(idx) {
                Some(Dialog::Menu(m)) => m.id.clone(),
                _ => self
                    .dialog
                    .as_ref()
                    .and_then(|d| d.active)
                    .and_then(|i| self.with_item(i, |it| it.name().to_string()))
                    .unwrap_or_default(),
            },
            None => String::new(),
        };
        let bargein_all = self.prompts.iter().all(|p| p.bargein);
        let hotword = self
            .prompts
            .iter()
            .any(|p| p.bargeintype == super::BargeinType::Hotword);
        let played = self.flush_prompts();
        let mut state = state;
        state.bargein = bargein_all;
        state.hotword = hotword && played.is_some();
        if played.is_none() {
            state.noinput_at = Some(now + state.timeout);
        }
        let dtmf = state.modes.dtmf;
        self.out.push_back(Output::Listen(listen));
        self.utterance_recording = None;
        self.listen = Some(state);
        self.wait = Wait::Input;
        self.transitions = 0;
        self.event_chain.clear();
        self.use_typeahead(played.is_some() && !bargein_all, dtmf, now)
    }

    /// Feeds the keys typed ahead to the collection that just started
    /// (§4.1.8), unless its prompts cannot be barged into: then, as with keys
    /// pressed while they play, the buffer is emptied (§4.1.5). Keys left
    /// over once the collection has its result wait for the next one.
    fn use_typeahead(&mut self, no_bargein: bool, dtmf: bool, now: Instant) -> Step {
        if self.typeahead.is_empty() {
            return Step::Wait;
        }
        if no_bargein || !dtmf {
            tracing::debug!(keys = self.typeahead.len(), "typeahead discarded");
            self.typeahead.clear();
            return Step::Wait;
        }
        while let Some(digit) = self.typeahead.pop_front() {
            if let Some(step) = self.on_dtmf(digit, now) {
                return step;
            }
        }
        Step::Wait
    }

    /// Input arrived while prompts may be playing: whether it is taken.
    /// Speech barge-in stops the prompts at once; hotword barge-in waits
    /// for a match ([`Session::stop_on_match`]).
    fn barge_in(&mut self) -> bool {
        if self.playing.is_some() {
            let Some(l) = self.listen.as_ref() else {
                return false;
            };
            if !l.bargein {
                return false;
            }
            if l.hotword {
                return true;
            }
            self.playing = None;
            self.out.push_back(Output::StopPlayback);
        }
        true
    }

    /// A match during hotword prompts stops them now.
    fn stop_on_match(&mut self) {
        if self.playing.is_some() {
            self.playing = None;
            self.out.push_back(Output::StopPlayback);
        }
    }

    /// Under hotword barge-in, input that matches nothing while the prompts
    /// play is ignored rather than a nomatch.
    fn hotword_ignores(&self) -> bool {
        self.playing.is_some() && self.listen.as_ref().is_some_and(|l| l.hotword)
    }

    pub(super) fn on_dtmf(&mut self, digit: char, now: Instant) -> Option<Step> {
        match self.wait {
            Wait::Input => {}
            Wait::Running | Wait::Fetch | Wait::Message { .. } => {
                // Typeahead (§4.1.8): keys pressed while the interpreter is
                // not listening wait for the next collection.
                if self.typeahead.len() < MAX_TYPEAHEAD {
                    self.typeahead.push_back(digit);
                } else {
                    tracing::debug!(%digit, "DTMF dropped: typeahead buffer full");
                }
                return None;
            }
            // Keys during a recording or a bridged call are not for the dialog.
            Wait::Record(_) | Wait::Transfer(_) | Wait::Finished => {
                tracing::debug!(%digit, "DTMF ignored: not listening");
                return None;
            }
        }
        if !self.listen.as_ref()?.modes.dtmf || !self.barge_in() {
            return None;
        }
        let l = self.listen.as_mut()?;
        l.noinput_at = None;
        let params = l.dtmf_params;
        let collector = l
            .collector
            .get_or_insert_with(|| DtmfCollector::new(params));
        let cands = dtmf_candidates(&l.actives);
        let step = collector.handle_digit(digit, now, &cands);
        drop(cands);
        self.dtmf_step(step, now)
    }

    fn dtmf_step(&mut self, step: DtmfStep, now: Instant) -> Option<Step> {
        match step {
            DtmfStep::Continue => None,
            DtmfStep::Match(hyps) => {
                self.stop_on_match();
                Some(self.accept_hypotheses(hyps, InputMode::Dtmf, now))
            }
            DtmfStep::NoMatch if self.hotword_ignores() => {
                if let Some(l) = self.listen.as_mut() {
                    l.collector = None;
                }
                None
            }
            DtmfStep::NoMatch => Some(self.input_event("nomatch")),
        }
    }

    fn input_event(&mut self, name: &str) -> Step {
        self.listen = None;
        self.wait = Wait::Running;
        Step::Throw(Event::new(name, None, None))
    }

    pub(super) fn on_utterance(&mut self, words: &str, now: Instant) -> Option<Step> {
        if !matches!(self.wait, Wait::Input) || !self.listen.as_ref()?.modes.voice {
            return None;
        }
        if words.trim().is_empty() {
            return Some(self.input_event("noinput"));
        }
        if !self.barge_in() {
            return None;
        }
        let l = self.listen.as_ref()?;
        let cands = l.candidates(Mode::Voice);
        let rec = grammar::recognize(&cands, Input::Words(words), l.maxnbest);
        drop(cands);
        match rec {
            Recognition::Match { hypotheses, .. } if !hypotheses.is_empty() => {
                self.stop_on_match();
                Some(self.accept_hypotheses(hypotheses, InputMode::Voice, now))
            }
            _ if self.hotword_ignores() => None,
            _ => Some(self.input_event("nomatch")),
        }
    }

    pub(super) fn on_recognition(
        &mut self,
        result: RecognitionResult,
        now: Instant,
    ) -> Option<Step> {
        if !matches!(self.wait, Wait::Input) {
            return None;
        }
        match result {
            RecognitionResult::NoInput => Some(self.input_event("noinput")),
            RecognitionResult::NoMatch { .. } if self.hotword_ignores() => None,
            RecognitionResult::NoMatch { .. } => Some(self.input_event("nomatch")),
            RecognitionResult::MaxSpeechTimeout => Some(self.input_event("maxspeechtimeout")),
            RecognitionResult::Match {
                inputmode,
                hypotheses,
            } => {
                if !self.barge_in() {
                    return None;
                }
                let n = self.listen.as_ref().map_or(0, |l| l.actives.len());
                let heard: Vec<Heard> = hypotheses
                    .into_iter()
                    .filter(|h| h.grammar_key < n)
                    .map(|h| {
                        let interpretation = match &h.interpretation {
                            Some(v) => self.js.value_of_json(v),
                            None => JsValue::from(boa_engine::js_string!(h.utterance.as_str())),
                        };
                        Heard {
                            key: h.grammar_key,
                            utterance: h.utterance,
                            confidence: h.confidence,
                            interpretation,
                            mode: inputmode,
                        }
                    })
                    .collect();
                if heard.is_empty() {
                    return Some(self.input_event("nomatch"));
                }
                self.stop_on_match();
                Some(self.accept(heard, now))
            }
        }
    }

    pub(super) fn on_timeout(&mut self, now: Instant) -> Option<Step> {
        match self.wait {
            Wait::Input => {
                let l = self.listen.as_mut()?;
                if let Some(t) = l.collector.as_ref().and_then(DtmfCollector::poll_timeout) {
                    if t > now {
                        return None;
                    }
                    let cands = dtmf_candidates(&l.actives);
                    let collector = l.collector.as_mut()?;
                    let step = collector.handle_timeout(now, &cands);
                    drop(cands);
                    return self.dtmf_step(step, now);
                }
                match l.noinput_at {
                    Some(t) if t <= now => Some(self.input_event("noinput")),
                    _ => None,
                }
            }
            Wait::Message { deadline: Some(t) } if t <= now => Some(self.receive_timeout()),
            _ => None,
        }
    }

    fn accept_hypotheses(
        &mut self,
        hyps: Vec<grammar::Hypothesis>,
        mode: InputMode,
        now: Instant,
    ) -> Step {
        let mut heard = Vec::with_capacity(hyps.len());
        for h in &hyps {
            let interpretation = match h.interpret(self.js.context()) {
                Ok(v) => v,
                Err(e) => {
                    self.listen = None;
                    self.wait = Wait::Running;
                    return Step::Throw(Event::new("error.semantic", Some(e.to_string()), None));
                }
            };
            heard.push(Heard {
                key: h.key,
                utterance: h.utterance.clone(),
                confidence: h.confidence,
                interpretation,
                mode,
            });
        }
        self.accept(heard, now)
    }

    /// Process phase for a recognition (§3.1.6): fills fields, follows
    /// links and choices, throws universals.
    fn accept(&mut self, heard: Vec<Heard>, now: Instant) -> Step {
        let Some(listen) = self.listen.take() else {
            return Step::Wait;
        };
        self.wait = Wait::Running;
        let Some(best) = heard.first().cloned() else {
            return Step::Throw(Event::new("nomatch", None, None));
        };
        if best.mode == InputMode::Voice && best.confidence < listen.confidence {
            return Step::Throw(Event::new("nomatch", None, None));
        }
        let Some(active) = listen.actives.get(best.key) else {
            return Step::Throw(Event::new("nomatch", None, None));
        };
        self.last_mark = listen.mark.as_ref().map(|(name, at)| {
            let ms = now.saturating_duration_since(*at).as_millis();
            (
                name.clone(),
                f64::from(u32::try_from(ms).unwrap_or(u32::MAX)),
            )
        });
        self.set_lastresult(&heard);
        let recording = self.utterance_recording.take().map(|r| {
            let props = self.recording_props("lastresult$", "application.lastresult$.recording", r);
            self.js.add_lastresult_props(&props);
            props
        });
        self.heard_recording = recording;
        let owner = active.owner;
        match owner {
            Owner::Field(i) => {
                let value = self.field_value(i, &best.interpretation);
                self.fill(vec![(i, value)], &best, now)
            }
            Owner::FieldOption(i, k) => {
                let value = self
                    .with_item(i, |it| match it {
                        FormItem::Field(f) => f.options.get(k).map(|o| o.value.clone()),
                        _ => None,
                    })
                    .flatten()
                    .unwrap_or_default();
                let v = JsValue::from(boa_engine::js_string!(value.as_str()));
                self.fill(vec![(i, v)], &best, now)
            }
            Owner::Form => {
                let filled = self.map_form(&best.interpretation);
                self.fill(filled, &best, now)
            }
            Owner::DocDialog(d) => {
                // Mixed initiative across forms (§3.1.3): enter the form whose
                // document-scoped grammar matched, then fill it.
                self.pending_fill = Some(best);
                Step::EnterDialog(d)
            }
            Owner::Universal(u) => Step::Throw(Event::new(u, None, None)),
            Owner::Link(at) => self.follow_link(at, now),
            Owner::Choice(k) => self.follow_choice(k, now),
        }
    }

    /// A field grammar's value (§3.1.6.1): the slot's property of an object
    /// result when present, else the whole result.
    fn field_value(&mut self, i: usize, interp: &JsValue) -> JsValue {
        let names = self.with_item(i, |it| match it {
            FormItem::Field(f) => (f.common.name.clone(), f.slot.clone()),
            other => (other.name().to_string(), None),
        });
        let Some((name, slot)) = names else {
            return interp.clone();
        };
        let slots = [FieldSlot {
            name: &name,
            slot: slot.as_deref(),
        }];
        grammar::map_to_fields(interp, &slots, true, self.js.context())
            .into_iter()
            .next()
            .map_or_else(|| interp.clone(), |(_, v)| v)
    }

    /// Fills the current form from input heard before entering it.
    pub(super) fn fill_pending(&mut self, heard: Heard, now: Instant) -> Step {
        let filled = self.map_form(&heard.interpretation);
        self.fill(filled, &heard, now)
    }

    fn map_form(&mut self, interp: &JsValue) -> Vec<(usize, JsValue)> {
        let Some((doc, idx)) = self.current_dialog() else {
            return Vec::new();
        };
        let Some(Dialog::Form(form)) = doc.dialogs.get(idx) else {
            return Vec::new();
        };
        let mut slots = Vec::new();
        let mut index = Vec::new();
        for (i, it) in form.items.iter().enumerate() {
            if let FormItem::Field(f) = it {
                slots.push(FieldSlot {
                    name: &f.common.name,
                    slot: f.slot.as_deref(),
                });
                index.push(i);
            }
        }
        let mapped = grammar::map_to_fields(interp, &slots, false, self.js.context());
        mapped
            .into_iter()
            .filter_map(|(k, v)| index.get(k).map(|&i| (i, v)))
            .collect()
    }

    fn fill(&mut self, values: Vec<(usize, JsValue)>, heard: &Heard, now: Instant) -> Step {
        let mut filled = Vec::with_capacity(values.len());
        for (i, v) in values {
            let Some(name) = self.with_item(i, |it| it.name().to_string()) else {
                continue;
            };
            let loc = self.with_item(i, |it| it.common().loc.clone());
            if let Some(loc) = &loc
                && let Err(e) = self.assign(&name, v.clone(), loc)
            {
                return Step::Throw(e);
            }
            let utt = JsValue::from(boa_engine::js_string!(heard.utterance.as_str()));
            let mode = JsValue::from(boa_engine::js_string!(match heard.mode {
                InputMode::Dtmf => "dtmf",
                InputMode::Voice => "voice",
            }));
            let mut props = vec![
                ("utterance", utt),
                (
                    "confidence",
                    JsValue::from(js::confidence(heard.confidence)),
                ),
                ("inputmode", mode),
                ("interpretation", heard.interpretation.clone()),
            ];
            if let Some((mark, ms)) = &self.last_mark {
                props.push((
                    "markname",
                    JsValue::from(boa_engine::js_string!(mark.as_str())),
                ));
                props.push(("marktime", JsValue::from(*ms)));
            }
            if let Some(rec) = self.heard_recording.clone() {
                let key = format!("{name}$.recording");
                if let Some(saved) = self
                    .recordings
                    .get("application.lastresult$.recording")
                    .cloned()
                {
                    self.recordings.insert(key, saved);
                }
                let handle = format!("recording:{name}$");
                for (k, v) in rec {
                    props.push((
                        k,
                        if k == "recording" {
                            JsValue::from(boa_engine::js_string!(handle.as_str()))
                        } else {
                            v
                        },
                    ));
                }
            }
            self.js.set_shadow(Scope::Dialog, &name, &props);
            filled.push(i);
        }
        self.process_filled(filled, now)
    }

    /// The recording properties of a result (VoiceXML 2.1 §6.3), keeping the
    /// bytes for `<submit namelist>` under `submit_key`.
    fn recording_props(
        &mut self,
        owner: &str,
        submit_key: &str,
        r: super::UtteranceRecording,
    ) -> Vec<(&'static str, JsValue)> {
        let size = r.bytes.len();
        let ms = r.duration.as_millis();
        self.recordings
            .insert(submit_key.to_string(), (r.media_type, r.bytes));
        vec![
            (
                "recording",
                JsValue::from(boa_engine::js_string!(
                    format!("recording:{owner}").as_str()
                )),
            ),
            ("recordingsize", JsValue::from(size as f64)),
            (
                "recordingduration",
                JsValue::from(f64::from(u32::try_from(ms).unwrap_or(u32::MAX))),
            ),
        ]
    }

    fn set_lastresult(&mut self, heard: &[Heard]) {
        let mark = self.last_mark.clone();
        let entries: Vec<super::js::ResultEntry> = heard
            .iter()
            .map(|h| super::js::ResultEntry {
                utterance: h.utterance.clone(),
                confidence: h.confidence,
                inputmode: match h.mode {
                    InputMode::Dtmf => "dtmf",
                    InputMode::Voice => "voice",
                },
                interpretation: h.interpretation.clone(),
                markname: mark.as_ref().map(|(name, _)| name.clone()),
                marktime: mark.as_ref().map(|(_, ms)| *ms),
            })
            .collect();
        self.js.set_lastresult(&entries);
    }

    fn link_action(
        &mut self,
        at: LinkAt,
    ) -> Option<(
        LinkAction,
        crate::vxml::model::FetchAttrs,
        crate::vxml::model::Loc,
    )> {
        let doc = match at {
            LinkAt::Root(_) => self.root.clone()?,
            _ => self.doc.clone()?,
        };
        let idx = self.dialog.as_ref().map(|d| d.index);
        let link = match at {
            LinkAt::Root(k) | LinkAt::Document(k) => doc.links.get(k),
            LinkAt::Dialog(k) => match idx.and_then(|i| doc.dialogs.get(i)) {
                Some(Dialog::Form(f)) => f.links.get(k),
                _ => None,
            },
            LinkAt::Item(i, k) => match idx.and_then(|d| doc.dialogs.get(d)) {
                Some(Dialog::Form(f)) => f.items.get(i).and_then(|it| it.common().links.get(k)),
                _ => None,
            },
        }?;
        Some((link.action.clone(), link.fetch.clone(), link.loc.clone()))
    }

    fn follow_link(&mut self, at: LinkAt, now: Instant) -> Step {
        match self.link_action(at) {
            Some((action, fetch, loc)) => self.do_action(&action, &fetch, &loc, now),
            None => Step::Select,
        }
    }

    fn follow_choice(&mut self, k: usize, now: Instant) -> Step {
        let Some((doc, idx)) = self.current_dialog() else {
            return Step::Select;
        };
        let Some(Dialog::Menu(m)) = doc.dialogs.get(idx) else {
            return Step::Select;
        };
        let Some(c) = m.choices.get(k) else {
            return Step::Select;
        };
        self.do_action(&c.action, &c.fetch, &c.loc, now)
    }

    fn do_action(
        &mut self,
        action: &LinkAction,
        fetch: &crate::vxml::model::FetchAttrs,
        loc: &crate::vxml::model::Loc,
        now: Instant,
    ) -> Step {
        match action {
            LinkAction::Goto(t) => match self.computed_target(t, loc) {
                Ok(target) => self.navigate(target, Nav::Goto, fetch, loc, now),
                Err(e) => Step::Throw(e),
            },
            LinkAction::Throw { event, message } => {
                let name = match self.computed_string(event) {
                    Ok(n) => n,
                    Err(e) => return Step::Throw(e),
                };
                let message = match message {
                    Some(m) => match self.computed_string(m) {
                        Ok(s) => Some(s),
                        Err(e) => return Step::Throw(e),
                    },
                    None => None,
                };
                Step::Throw(Event::new(name, message, Some(loc.clone())))
            }
        }
    }
}

/// DTMF keys of a menu's choices: explicit `dtmf`, or 1–9 in order when the
/// menu says `dtmf="true"` (§2.2.1).
fn menu_keys(m: &Menu) -> Vec<Option<String>> {
    let mut next = 1u32;
    m.choices
        .iter()
        .map(|c| match &c.dtmf {
            Some(d) => Some(d.clone()),
            None if m.dtmf && next <= 9 => {
                let k = next.to_string();
                next += 1;
                Some(k)
            }
            None => None,
        })
        .collect()
}

/// The active DTMF grammars as matcher candidates, keyed by their index among all active grammars.
fn dtmf_candidates(actives: &[Active]) -> Vec<Candidate<'_>> {
    actives
        .iter()
        .enumerate()
        .filter(|(_, a)| a.grammar.mode() == Mode::Dtmf)
        .map(|(key, a)| Candidate {
            grammar: &a.grammar,
            key,
            weight: a.weight,
        })
        .collect()
}
