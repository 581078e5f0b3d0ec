//! Document transitions and resource fetching (VoiceXML 2.0 §5.3.7
//! `<goto>`, §5.3.8 `<submit>`, §2.3.4 `<subdialog>`, §5.3.10 `<return>`,
//! §1.5.2 application root documents, §6.1 fetching): fetch bookkeeping,
//! compiling fetched pages, keeping the root loaded across leaves of the
//! same application, prefetching the grammars and scripts a page names, and
//! the document initialization order (root, then leaf, then dialog).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boa_engine::JsValue;
use url::Url;

use super::events::Event;
use super::exec::{Frame, InitTarget};
use super::fia::{Step, Then};
use super::{
    FetchId, FetchRequest, FetchResult, Method, Output, ResourceKind, Session, SubdialogFrame,
    SubmitValue, Wait,
};
use crate::grammar::Grammar;
use crate::script::Scope;
use crate::vxml::model::{
    self, Computed, Dialog, Document, FetchAttrs, GrammarSource, Init, Loc, Param, ParamValue,
    Return, Stmt, Subdialog, Target,
};

/// Why a document is being fetched.
#[derive(Debug)]
pub(super) enum Nav {
    /// The session's first document.
    Initial,
    /// `<goto>`, `<link>`, `<choice>`.
    Goto,
    /// `<submit>`.
    Submit {
        method: model::Method,
        enctype: model::Enctype,
        params: Vec<(String, SubmitValue)>,
    },
    /// `<subdialog>` from form item `item` with its `<param>` values.
    Subdialog {
        item: usize,
        params: HashMap<String, JsValue>,
        namelist: Vec<(String, SubmitValue)>,
        method: model::Method,
        enctype: model::Enctype,
    },
}

/// What an outstanding fetch is for.
#[derive(Debug)]
pub(super) enum Purpose {
    /// A document to run (dialog fragment, why).
    Document { fragment: Option<String>, nav: Nav },
    /// The application root of `leaf`.
    Root {
        leaf: Arc<Document>,
        fragment: Option<String>,
    },
    /// A grammar referenced by the page (prefetch).
    Grammar { url: Url },
    /// A `<script src>`; `loc` is the element.
    Script { url: Url, loc: Loc },
    /// A `<data>` whose DOM goes into variable `name` of `scope`.
    Data {
        name: Option<String>,
        scope: Scope,
        loc: Loc,
    },
}

/// A page waiting for its prefetches before initialization.
#[derive(Debug)]
pub(super) struct Loading {
    fragment: Option<String>,
    new_root: bool,
}

fn strip_fragment(u: &Url) -> (Url, Option<String>) {
    let mut u = u.clone();
    let frag = u.fragment().map(str::to_string);
    u.set_fragment(None);
    (u, frag)
}

fn secs(v: Option<u64>) -> Option<Duration> {
    v.map(Duration::from_secs)
}

/// The fetch parameters of one request once attributes and properties are combined.
struct FetchSettings {
    timeout: Duration,
    maxage: Option<Duration>,
    maxstale: Option<Duration>,
    hint: Option<String>,
    fetchaudio: Option<Url>,
}

impl Session {
    /// Element attributes win; otherwise the fetch properties of this
    /// resource kind (§6.3.5: documentmaxage, grammarfetchhint, ...).
    fn fetch_settings(&self, kind: ResourceKind, fetch: &FetchAttrs) -> FetchSettings {
        let prefix = match kind {
            ResourceKind::Document | ResourceKind::Submit | ResourceKind::Subdialog => "document",
            ResourceKind::Grammar => "grammar",
            ResourceKind::Script => "script",
            ResourceKind::Data => "data",
            ResourceKind::Audio => "audio",
        };
        let props = self.props();
        let seconds = |name: String| {
            props
                .raw(&name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        let timeout = fetch.timeout.unwrap_or_else(|| props.time("fetchtimeout"));
        let maxage = secs(fetch.maxage).or_else(|| seconds(format!("{prefix}maxage")));
        let maxstale = secs(fetch.maxstale).or_else(|| seconds(format!("{prefix}maxstale")));
        let hint = match fetch.hint {
            Some(model::FetchHint::Prefetch) => Some("prefetch".to_string()),
            Some(model::FetchHint::Safe) => Some("safe".to_string()),
            None => props
                .raw(&format!("{prefix}fetchhint"))
                .map(|v| v.trim().to_string()),
        };
        let fetchaudio = match &fetch.fetchaudio {
            Some(model::FetchAudio::Url(u)) => Some(u.clone()),
            Some(model::FetchAudio::Off) => None,
            None => props
                .raw("fetchaudio")
                .filter(|v| !v.trim().is_empty())
                .and_then(|v| self.base_url().join(v.trim()).ok()),
        };
        FetchSettings {
            timeout,
            maxage,
            maxstale,
            hint,
            fetchaudio,
        }
    }

    /// How to fetch an `<audio>` source queued now.
    pub(super) fn audio_fetch(&self, fetch: &FetchAttrs) -> super::AudioFetch {
        let s = self.fetch_settings(ResourceKind::Audio, fetch);
        super::AudioFetch {
            timeout: Some(s.timeout),
            maxage: s.maxage,
            maxstale: s.maxstale,
            fetchhint: s.hint,
        }
    }

    /// Issues a fetch and records why.
    pub(super) fn request(&mut self, url: Url, kind: ResourceKind, purpose: Purpose) -> FetchId {
        self.request_with(
            url,
            kind,
            purpose,
            &FetchAttrs::default(),
            Method::Get,
            "application/x-www-form-urlencoded",
            Vec::new(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn request_with(
        &mut self,
        url: Url,
        kind: ResourceKind,
        purpose: Purpose,
        fetch: &FetchAttrs,
        method: Method,
        enctype: &str,
        params: Vec<(String, SubmitValue)>,
    ) -> FetchId {
        let id = FetchId(self.next_id());
        let FetchSettings {
            timeout,
            maxage,
            maxstale,
            hint,
            fetchaudio,
        } = self.fetch_settings(kind, fetch);
        let timeout = Some(timeout);
        self.out.push_back(Output::Fetch(FetchRequest {
            id,
            url,
            kind,
            method,
            params,
            enctype: enctype.to_string(),
            maxage,
            maxstale,
            timeout,
            fetchhint: hint,
            fetchaudio,
            referrer: self.doc.as_ref().map(|d| d.url_without_fragment()),
        }));
        self.fetches.insert(id, purpose);
        id
    }

    /// Fetches a grammar named by `srcexpr` with the `<grammar>` element's
    /// fetch attributes and the grammar fetch properties.
    pub(super) fn request_grammar(&mut self, url: Url, fetch: &FetchAttrs, loc: &Loc) {
        tracing::debug!(%url, at = %loc, "fetching a srcexpr grammar");
        self.request_with(
            url.clone(),
            ResourceKind::Grammar,
            Purpose::Grammar { url },
            fetch,
            Method::Get,
            "application/x-www-form-urlencoded",
            Vec::new(),
        );
    }

    /// Fetches a document to run.
    pub(super) fn fetch_document(&mut self, url: Url, nav: Nav, fetch: Option<&FetchAttrs>) {
        let (url, fragment) = strip_fragment(&url);
        let default = FetchAttrs::default();
        let fetch = fetch.unwrap_or(&default);
        let (kind, method, enctype, params) = match &nav {
            Nav::Initial | Nav::Goto => (
                ResourceKind::Document,
                Method::Get,
                model::Enctype::UrlEncoded,
                Vec::new(),
            ),
            Nav::Submit {
                method,
                enctype,
                params,
            } => (
                ResourceKind::Submit,
                map_method(*method),
                *enctype,
                params.clone(),
            ),
            Nav::Subdialog {
                namelist,
                method,
                enctype,
                ..
            } => (
                ResourceKind::Subdialog,
                map_method(*method),
                *enctype,
                namelist.clone(),
            ),
        };
        let enctype = match enctype {
            model::Enctype::UrlEncoded => "application/x-www-form-urlencoded",
            model::Enctype::Multipart => "multipart/form-data",
        };
        self.request_with(
            url,
            kind,
            Purpose::Document { fragment, nav },
            fetch,
            method,
            enctype,
            params,
        );
        self.wait = Wait::Fetch;
    }

    fn base_url(&self) -> &Url {
        match &self.doc {
            Some(d) => &d.base,
            None => &self.config.initial,
        }
    }

    /// Resolves a URI reference against the current document's base.
    pub(super) fn resolve_url(&self, s: &str, loc: &Loc) -> Result<Url, Event> {
        self.base_url()
            .join(s.trim())
            .map_err(|e| Event::badfetch(loc, format!("'{s}' is not a valid URI ({e})")))
    }

    pub(super) fn computed_target(
        &mut self,
        c: &Computed<Target>,
        loc: &Loc,
    ) -> Result<Target, Event> {
        match c {
            Computed::Static(t) => Ok(t.clone()),
            Computed::Dynamic(e) => {
                let s = self.eval_string(e)?;
                if let Some(id) = s.strip_prefix('#') {
                    Ok(Target::Dialog(id.to_string()))
                } else {
                    self.resolve_url(&s, loc).map(Target::Url)
                }
            }
        }
    }

    /// `<goto>`/`<submit>`/`<link>`/`<choice>` to `target`.
    pub(super) fn navigate(
        &mut self,
        target: Target,
        nav: Nav,
        fetch: &FetchAttrs,
        loc: &Loc,
        now: Instant,
    ) -> Step {
        match target {
            Target::Dialog(id) => match self.doc.as_ref().and_then(|d| d.dialog_position(&id)) {
                Some(i) if !matches!(nav, Nav::Subdialog { .. }) => Step::EnterDialog(i),
                Some(_) => {
                    let Some(doc) = self.doc.clone() else {
                        return Step::Wait;
                    };
                    self.document_arrived(doc, Some(id), nav, now)
                }
                None => Step::Throw(Event::badfetch(
                    loc,
                    format!("there is no dialog '{id}' in this document"),
                )),
            },
            Target::Url(url) => {
                self.fetch_document(url, nav, Some(fetch));
                Step::Wait
            }
        }
    }

    /// A fetch answered: compile or store it and continue.
    pub(super) fn on_fetched(
        &mut self,
        id: FetchId,
        purpose: Purpose,
        result: FetchResult,
        now: Instant,
    ) -> Step {
        let fetched = match result {
            FetchResult::Ok(f) => f,
            FetchResult::Err { event, message } => {
                if self.loading.is_some()
                    && let Purpose::Grammar { url } | Purpose::Script { url, .. } = &purpose
                {
                    // A prefetch: the page still loads; the element that needs the resource throws.
                    self.failed.insert(url.to_string(), (event, message));
                    return self.maybe_loaded(now);
                }
                self.suspended = None;
                self.loading = None;
                self.srcexpr.again = None;
                self.fetches.clear();
                self.wait = Wait::Running;
                let loc = match &purpose {
                    Purpose::Script { loc, .. } | Purpose::Data { loc, .. } => Some(loc.clone()),
                    _ => None,
                };
                return Step::Throw(Event::new(event, Some(message), loc));
            }
        };
        match purpose {
            Purpose::Document { fragment, nav } => {
                let doc = match self.compile_page(id, &fetched) {
                    Ok(d) => d,
                    Err(e) => {
                        self.wait = Wait::Running;
                        return Step::Throw(e);
                    }
                };
                self.document_arrived(doc, fragment, nav, now)
            }
            Purpose::Root { leaf, fragment } => {
                let root = match self.compile_page(id, &fetched) {
                    Ok(d) => d,
                    Err(e) => {
                        self.wait = Wait::Running;
                        return Step::Throw(e);
                    }
                };
                self.root = Some(root.clone());
                self.start_loading(leaf, Some(root), fragment, true, now)
            }
            Purpose::Grammar { url } => {
                let cached = fetched
                    .compiled
                    .clone()
                    .and_then(|c| c.downcast::<Grammar>().ok())
                    .map(|g| Grammar::clone(&g));
                let compiled = match cached {
                    Some(g) => Ok(g),
                    None => Grammar::from_bytes(
                        &fetched.bytes,
                        fetched.content_type.as_deref(),
                        &fetched.url,
                    ),
                };
                match compiled {
                    Ok(g) => {
                        for r in g.external_refs() {
                            if !self.grammars.contains_key(r.as_str())
                                && !self.grammar_requested(&r)
                            {
                                self.request(
                                    r.clone(),
                                    ResourceKind::Grammar,
                                    Purpose::Grammar { url: r },
                                );
                            }
                        }
                        self.out.push_back(Output::Compiled {
                            id,
                            url: fetched.url.clone(),
                            compiled: Arc::new(g.clone()),
                        });
                        self.grammars.insert(url.to_string(), g);
                    }
                    Err(e) => {
                        self.loading = None;
                        self.srcexpr.again = None;
                        self.fetches.clear();
                        self.wait = Wait::Running;
                        return Step::Throw(Event::new(
                            "error.badfetch",
                            Some(e.to_string()),
                            None,
                        ));
                    }
                }
                self.maybe_loaded(now)
            }
            Purpose::Script { url, .. } => {
                let text: Arc<str> = String::from_utf8_lossy(&fetched.bytes).into();
                self.scripts.insert(url, text);
                if self.loading.is_some() {
                    self.maybe_loaded(now)
                } else {
                    Step::Resume
                }
            }
            Purpose::Data { name, scope, loc } => {
                let text = String::from_utf8_lossy(&fetched.bytes);
                let tree = match crate::xml::parse(&text) {
                    Ok(t) => t,
                    Err(e) => {
                        self.suspended = None;
                        self.wait = Wait::Running;
                        return Step::Throw(Event::badfetch(
                            &loc,
                            format!("the data at {} is not well-formed XML: {e}", fetched.url),
                        ));
                    }
                };
                let dom = self.js.dom(&tree);
                if let Some(name) = name
                    && let Err(e) = self.declare(scope, &name, dom, &loc)
                {
                    self.suspended = None;
                    self.wait = Wait::Running;
                    return Step::Throw(e);
                }
                Step::Resume
            }
        }
    }

    pub(super) fn grammar_requested(&self, url: &Url) -> bool {
        self.fetches
            .values()
            .any(|p| matches!(p, Purpose::Grammar { url: u } if u == url))
    }

    fn compile_page(&mut self, id: FetchId, f: &super::Fetched) -> Result<Arc<Document>, Event> {
        if let Some(c) = &f.compiled
            && let Ok(doc) = c.clone().downcast::<Document>()
        {
            return Ok(doc);
        }
        match crate::vxml::parse::compile(&f.bytes[..], &f.url) {
            Ok(doc) => {
                self.out.push_back(Output::Compiled {
                    id,
                    url: f.url.clone(),
                    compiled: doc.clone(),
                });
                Ok(doc)
            }
            Err(e) => Err(Event::new("error.badfetch", Some(e.to_string()), None)),
        }
    }

    /// A document to run arrived: handle subdialog context, the application
    /// root, then prefetch and initialize.
    fn document_arrived(
        &mut self,
        doc: Arc<Document>,
        fragment: Option<String>,
        nav: Nav,
        now: Instant,
    ) -> Step {
        let mut fresh_chain = false;
        if let Some(f) = &fragment
            && doc.dialog_position(f).is_none()
        {
            // Reported in the context that asked for the dialog.
            self.wait = Wait::Running;
            return Step::Throw(Event::badfetch(
                &doc.loc,
                format!("the document has no dialog '{f}'"),
            ));
        }
        if let Nav::Subdialog { item, params, .. } = nav {
            if self.subdialogs.len() as u32 >= self.config.limits.max_subdialog_depth {
                self.wait = Wait::Running;
                return Step::Throw(Event::new(
                    "error.semantic",
                    Some(format!(
                        "subdialogs are nested more than {} deep",
                        self.config.limits.max_subdialog_depth
                    )),
                    None,
                ));
            }
            let Some(caller_doc) = self.doc.clone() else {
                return Step::Wait;
            };
            let Some(dialog) = self.dialog.take() else {
                return Step::Wait;
            };
            self.subdialogs.push(SubdialogFrame {
                root: self.root.take(),
                doc: caller_doc,
                dialog,
                item,
            });
            self.js.push_chain();
            self.pending_params = Some(params);
            fresh_chain = true;
        }
        match doc.application.clone() {
            Some(root_url) => {
                let (root_url, _) = strip_fragment(&root_url);
                let same = !fresh_chain
                    && self
                        .root
                        .as_ref()
                        .is_some_and(|r| r.url_without_fragment() == root_url);
                if same {
                    let root = self.root.clone();
                    self.start_loading(doc, root, fragment, false, now)
                } else {
                    self.request(
                        root_url,
                        ResourceKind::Document,
                        Purpose::Root {
                            leaf: doc,
                            fragment,
                        },
                    );
                    self.wait = Wait::Fetch;
                    Step::Wait
                }
            }
            None if !fresh_chain
                && self
                    .root
                    .as_ref()
                    .is_some_and(|r| r.url_without_fragment() == doc.url_without_fragment()) =>
            {
                // A leaf going to its own application root (§1.5.2): the root
                // stays loaded and its variables keep their values.
                let root = self.root.clone();
                self.start_loading(doc, root, fragment, false, now)
            }
            None => {
                let had_root = self.root.take().is_some();
                self.start_loading(
                    doc,
                    None,
                    fragment,
                    had_root || fresh_chain || self.doc.is_none(),
                    now,
                )
            }
        }
    }

    /// Prefetches the static grammars and scripts of the new page (and
    /// root), then initializes.
    fn start_loading(
        &mut self,
        doc: Arc<Document>,
        root: Option<Arc<Document>>,
        fragment: Option<String>,
        new_root: bool,
        now: Instant,
    ) -> Step {
        self.doc = Some(doc.clone());
        self.dialog = None;
        self.root = root.clone();
        self.failed.clear();
        let mut urls: Vec<(Url, bool)> = Vec::new();
        collect_resources(&doc, &mut urls);
        if new_root && let Some(r) = &root {
            collect_resources(r, &mut urls);
        }
        for (url, is_grammar) in urls {
            if is_grammar {
                if url.scheme() == "builtin"
                    || self.grammars.contains_key(url.as_str())
                    || self.grammar_requested(&url)
                {
                    continue;
                }
                self.request(url.clone(), ResourceKind::Grammar, Purpose::Grammar { url });
            } else {
                if self.scripts.contains_key(&url)
                    || self
                        .fetches
                        .values()
                        .any(|p| matches!(p, Purpose::Script { url: u, .. } if *u == url))
                {
                    continue;
                }
                let loc = doc.loc.clone();
                self.request(
                    url.clone(),
                    ResourceKind::Script,
                    Purpose::Script { url, loc },
                );
            }
        }
        self.prefetch_audio(&doc);
        self.loading = Some(Loading { fragment, new_root });
        self.maybe_loaded(now)
    }

    /// Asks the driver to warm its cache with the page's static audio whose
    /// `fetchhint` (or `audiofetchhint`) is `prefetch`. These `Fetch`es are
    /// hints: the session does not wait for them and ignores their answers;
    /// the audio is fetched again (from the cache) when a prompt plays it.
    fn prefetch_audio(&mut self, doc: &Document) {
        let mut audio = Vec::new();
        collect_audio(doc, &mut audio);
        let mut seen = std::collections::HashSet::new();
        for a in audio {
            let Computed::Static(url) = &a.src else {
                continue;
            };
            if url.scheme() == "builtin" || !seen.insert(url.clone()) {
                continue;
            }
            let s = self.fetch_settings(ResourceKind::Audio, &a.fetch);
            if s.hint.as_deref() != Some("prefetch") {
                continue;
            }
            let id = FetchId(self.next_id());
            self.out.push_back(Output::Fetch(FetchRequest {
                id,
                url: url.clone(),
                kind: ResourceKind::Audio,
                method: Method::Get,
                params: Vec::new(),
                enctype: "application/x-www-form-urlencoded".into(),
                maxage: s.maxage,
                maxstale: s.maxstale,
                timeout: Some(s.timeout),
                fetchhint: s.hint,
                fetchaudio: None,
                referrer: Some(doc.url_without_fragment()),
            }));
        }
    }

    /// Links the compiled grammars that refer to other grammars (all of them
    /// fetched by now).
    fn link_grammars(&mut self) -> Result<(), Event> {
        let unlinked: Vec<String> = self
            .grammars
            .iter()
            .filter(|(_, g)| !g.is_linked())
            .map(|(k, _)| k.clone())
            .collect();
        for k in unlinked {
            let Some(g) = self.grammars.get(&k) else {
                continue;
            };
            let linked = {
                let cache = &self.grammars;
                g.link(&|u: &Url| cache.get(u.as_str()).cloned())
            };
            match linked {
                Ok(l) => {
                    self.grammars.insert(k, l);
                }
                Err(e) => {
                    return Err(Event::new("error.badfetch", Some(e.to_string()), None));
                }
            }
        }
        Ok(())
    }

    /// Once every prefetch has answered, links grammars and initializes.
    fn maybe_loaded(&mut self, now: Instant) -> Step {
        if !self.fetches.is_empty() {
            self.wait = Wait::Fetch;
            return Step::Wait;
        }
        let Some(loading) = self.loading.take() else {
            if let Some(again) = self.srcexpr.again.take() {
                self.wait = Wait::Running;
                if let Err(e) = self.link_grammars() {
                    return Step::Throw(e);
                }
                return Step::Then(Then::Collect(again));
            }
            return Step::Wait;
        };
        self.wait = Wait::Running;
        if let Err(e) = self.link_grammars() {
            return Step::Throw(e);
        }
        let Some(doc) = self.doc.clone() else {
            return Step::Wait;
        };
        let dialog = match &loading.fragment {
            Some(f) => match doc.dialog_position(f) {
                Some(i) => i,
                None => {
                    return Step::Throw(Event::badfetch(
                        &doc.loc,
                        format!("the document has no dialog '{f}'"),
                    ));
                }
            },
            None => 0,
        };
        let is_root = self.root.as_ref().is_some_and(|r| {
            Arc::ptr_eq(r, &doc) || r.url_without_fragment() == doc.url_without_fragment()
        });
        // Compile the pages' code before their first turn runs it: the root
        // once per application, the leaf on every entry (the cache keeps
        // what is already there).
        if loading.new_root
            && let Some(root) = self.root.clone()
        {
            self.js.prewarm(&root, Scope::Application);
        }
        if !is_root {
            self.js.prewarm(&doc, Scope::Document);
        }
        if loading.new_root {
            self.js.enter(Scope::Application);
            if self.root.is_some() {
                self.js.enter(Scope::Anonymous);
                return self.run_frames(
                    vec![Frame::Init(InitTarget::Root, 0)],
                    Then::AfterRootInit { dialog },
                    now,
                );
            }
        }
        if is_root {
            // The root is the current document: its variables live in the
            // application scope already.
            self.js.enter(Scope::Document);
            return Step::Then(Then::AfterDocInit { dialog });
        }
        Step::Then(Then::AfterRootInit { dialog })
    }

    /// `<subdialog>` (§2.3.4): evaluate the parameters in the caller's
    /// context and fetch the target.
    pub(super) fn start_subdialog(&mut self, sd: &Subdialog, now: Instant) -> Step {
        let mut params = HashMap::new();
        for p in &sd.params {
            match self.param_value(p) {
                Ok(v) => {
                    params.insert(p.name.clone(), v);
                }
                Err(e) => return Step::Throw(e),
            }
        }
        let target = match self.computed_target(&sd.src, &sd.common.loc) {
            Ok(t) => t,
            Err(e) => return Step::Throw(e),
        };
        let namelist = match self.namelist_submit(&sd.submission.namelist, &sd.common.loc) {
            Ok(n) => n,
            Err(e) => return Step::Throw(e),
        };
        self.flush_prompts();
        let i = self.dialog.as_ref().and_then(|d| d.active).unwrap_or(0);
        self.navigate(
            target,
            Nav::Subdialog {
                item: i,
                params,
                namelist,
                method: sd.submission.method,
                enctype: sd.submission.enctype,
            },
            &sd.fetch,
            &sd.common.loc,
            now,
        )
    }

    pub(super) fn param_value(&mut self, p: &Param) -> Result<JsValue, Event> {
        match &p.value {
            ParamValue::Literal(s) => Ok(JsValue::from(boa_engine::js_string!(s.as_str()))),
            ParamValue::Expr(e) => self.eval(e),
        }
    }

    /// `<return>` (§5.3.10): back to the calling `<subdialog>`, whose form
    /// item variable gets the namelist values (or the event is thrown there).
    pub(super) fn exec_return(&mut self, r: &Return, now: Instant) -> Result<Step, Event> {
        if self.subdialogs.is_empty() {
            return Err(Event::semantic(&r.loc, "<return> outside a subdialog"));
        }
        let mut values = Vec::new();
        for n in &r.namelist {
            let v = self
                .js
                .eval(n)
                .map_err(|e| Event::semantic(&r.loc, format!("namelist variable '{n}': {e}")))?;
            values.push((n.clone(), v));
        }
        let event = match &r.event {
            Some(c) => Some(self.computed_string(c)?),
            None => None,
        };
        let message = match &r.message {
            Some(c) => Some(self.computed_string(c)?),
            None => None,
        };
        let Some(frame) = self.subdialogs.pop() else {
            return Ok(Step::Wait);
        };
        self.js.pop_chain();
        self.root = frame.root;
        self.doc = Some(frame.doc);
        self.dialog = Some(frame.dialog);
        self.loading = None;
        if let Some(d) = self.dialog.as_mut() {
            d.active = Some(frame.item);
        }
        if let Some(ev) = event {
            return Ok(Step::Throw(Event::new(ev, message, Some(r.loc.clone()))));
        }
        let obj = self.js.object(&values);
        let name = self
            .with_item(frame.item, |it| it.name().to_string())
            .unwrap_or_default();
        self.assign(&name, obj, &r.loc)?;
        Ok(self.process_filled(vec![frame.item], now))
    }

    /// `<data>` (VoiceXML 2.1 §4): fetch XML, suspend, bind its DOM.
    pub(super) fn start_data(&mut self, d: &model::Data, scope: Scope) -> Result<(), Event> {
        let url = match &d.src {
            Computed::Static(u) => u.clone(),
            Computed::Dynamic(e) => {
                let s = self.eval_string(e)?;
                self.resolve_url(&s, &d.loc)?
            }
        };
        let params = self.namelist_submit(&d.submission.namelist, &d.loc)?;
        let enctype = match d.submission.enctype {
            model::Enctype::UrlEncoded => "application/x-www-form-urlencoded",
            model::Enctype::Multipart => "multipart/form-data",
        };
        self.request_with(
            url,
            ResourceKind::Data,
            Purpose::Data {
                name: d.name.clone(),
                scope,
                loc: d.loc.clone(),
            },
            &d.fetch,
            map_method(d.submission.method),
            enctype,
            params,
        );
        self.wait = Wait::Fetch;
        Ok(())
    }
}

fn map_method(m: model::Method) -> Method {
    match m {
        model::Method::Get => Method::Get,
        model::Method::Post => Method::Post,
    }
}

/// Static external grammar (`true`) and script (`false`) URLs of a page.
fn collect_resources(doc: &Document, out: &mut Vec<(Url, bool)>) {
    let grammar = |g: &model::GrammarRef, out: &mut Vec<(Url, bool)>| {
        if let GrammarSource::Src(u) = &g.source {
            let (u, _) = strip_fragment(u);
            out.push((u, true));
        }
    };
    fn stmts(list: &[Stmt], out: &mut Vec<(Url, bool)>, depth: usize) {
        if depth > 64 {
            return;
        }
        for s in list {
            match s {
                Stmt::Script(sc) => {
                    if let model::ScriptSource::Src(u) = &sc.source {
                        out.push((u.clone(), false));
                    }
                }
                Stmt::If(i) => {
                    for b in &i.branches {
                        stmts(&b.body, out, depth + 1);
                    }
                }
                Stmt::Foreach(f) => stmts(&f.body, out, depth + 1),
                _ => {}
            }
        }
    }
    let init = |list: &[Init], out: &mut Vec<(Url, bool)>| {
        for i in list {
            if let Init::Script(sc) = i
                && let model::ScriptSource::Src(u) = &sc.source
            {
                out.push((u.clone(), false));
            }
        }
    };
    init(&doc.init, out);
    for l in &doc.links {
        for g in &l.grammars {
            grammar(g, out);
        }
    }
    for c in &doc.catches {
        stmts(&c.body, out, 0);
    }
    for d in &doc.dialogs {
        match d {
            Dialog::Form(f) => {
                init(&f.init, out);
                for g in &f.grammars {
                    grammar(g, out);
                }
                for l in &f.links {
                    for g in &l.grammars {
                        grammar(g, out);
                    }
                }
                for c in &f.catches {
                    stmts(&c.body, out, 0);
                }
                for fl in &f.filled {
                    stmts(&fl.body, out, 0);
                }
                for it in &f.items {
                    let c = it.common();
                    for g in &c.grammars {
                        grammar(g, out);
                    }
                    for l in &c.links {
                        for g in &l.grammars {
                            grammar(g, out);
                        }
                    }
                    for ca in &c.catches {
                        stmts(&ca.body, out, 0);
                    }
                    for fl in &c.filled {
                        stmts(&fl.body, out, 0);
                    }
                    if let model::FormItem::Block(b) = it {
                        stmts(&b.body, out, 0);
                    }
                }
            }
            Dialog::Menu(m) => {
                init(&m.init, out);
                for ch in &m.choices {
                    for g in &ch.grammars {
                        grammar(g, out);
                    }
                }
                for c in &m.catches {
                    stmts(&c.body, out, 0);
                }
            }
        }
    }
}

/// Nesting bound of the audio walk, as for the grammar and script walk.
const MAX_WALK_DEPTH: usize = 64;

/// The `<audio>` elements with a static `src` of a page, for prefetching
/// (§6.1.1 `fetchhint`): in prompts of form items and menus, and in the
/// executable content of blocks, handlers and `<filled>`.
fn collect_audio<'a>(doc: &'a Document, out: &mut Vec<&'a model::Audio>) {
    fn nodes<'a>(list: &'a [model::PromptNode], out: &mut Vec<&'a model::Audio>, depth: usize) {
        use model::PromptNode as N;
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for n in list {
            match n {
                N::Audio(a) => {
                    if matches!(a.src, Computed::Static(_)) {
                        out.push(a);
                    }
                    nodes(&a.fallback, out, depth + 1);
                }
                N::SayAs(s) => nodes(&s.content, out, depth + 1),
                N::Prosody(p) => nodes(&p.content, out, depth + 1),
                N::Voice(v) => nodes(&v.content, out, depth + 1),
                N::Emphasis(e) => nodes(&e.content, out, depth + 1),
                N::Paragraph(s) | N::Sentence(s) => nodes(&s.content, out, depth + 1),
                N::Enumerate(e) => nodes(&e.template, out, depth + 1),
                N::Foreach(f) => nodes(&f.content, out, depth + 1),
                _ => {}
            }
        }
    }
    fn prompts<'a>(list: &'a [Arc<model::Prompt>], out: &mut Vec<&'a model::Audio>) {
        for p in list {
            nodes(&p.content, out, 0);
        }
    }
    fn stmts<'a>(list: &'a [Stmt], out: &mut Vec<&'a model::Audio>, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        for s in list {
            match s {
                Stmt::Prompt(p) => nodes(&p.content, out, 0),
                Stmt::If(i) => {
                    for b in &i.branches {
                        stmts(&b.body, out, depth + 1);
                    }
                }
                Stmt::Foreach(f) => stmts(&f.body, out, depth + 1),
                _ => {}
            }
        }
    }
    for c in &doc.catches {
        stmts(&c.body, out, 0);
    }
    for d in &doc.dialogs {
        match d {
            Dialog::Form(f) => {
                for c in &f.catches {
                    stmts(&c.body, out, 0);
                }
                for fl in &f.filled {
                    stmts(&fl.body, out, 0);
                }
                for it in &f.items {
                    let c = it.common();
                    prompts(&c.prompts, out);
                    for ca in &c.catches {
                        stmts(&ca.body, out, 0);
                    }
                    for fl in &c.filled {
                        stmts(&fl.body, out, 0);
                    }
                    if let model::FormItem::Block(b) = it {
                        stmts(&b.body, out, 0);
                    }
                }
            }
            Dialog::Menu(m) => {
                prompts(&m.prompts, out);
                for c in &m.catches {
                    stmts(&c.body, out, 0);
                }
            }
        }
    }
}
