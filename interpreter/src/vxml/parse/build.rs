//! Builds the document level, dialogs and form items (VoiceXML 2.0 §1.5,
//! §2.1–§2.3, §6.2–§6.4) from the XML tree, checking each element's content
//! model, ids and names, and same-document targets.

use std::collections::BTreeMap;
use std::sync::Arc;

use url::Url;

use super::CompileError;
use super::attrs::El;
use super::content::{Part, trim_speech};
use super::tag::Tag;
use crate::vxml::model::{
    Accept, Block, Catch, Choice, Computed, ConnectWhen, Dialog, Document, Field, FieldOption,
    Form, FormItem, GVP_NS, Init, Initial, ItemCommon, LinkAction, Menu, Meta, Object, Param,
    ParamValue, Property, Record, Scope, Subdialog, Target, Transfer, TransferMethod, TransferType,
    ValueType,
};
use crate::xml::{self, Node};

/// Deepest element nesting a VoiceXML page may use; deeper pages are
/// rejected before building so the recursive builders stay within a small
/// stack whatever the input.
pub const MAX_NESTING: usize = 64;

/// The in-scope base URL and language of an element (`xml:base`, `xml:lang`).
#[derive(Clone)]
pub(super) struct Ctx {
    pub base: Arc<Url>,
    pub lang: Option<Arc<str>>,
}

/// Compile-time state shared by the builders of one document.
pub(super) struct Builder {
    pub url: Arc<Url>,
    /// Inline SRGS grammars written in XML, detached from the tree before
    /// building (see [`detach_grammars`]), by the position of their
    /// `<grammar>` element (unique in a page), in document order.
    pub grammars: Vec<(xml::Pos, Arc<xml::Element>)>,
    /// `#id` targets seen anywhere, checked once every dialog id is known.
    pub dialog_refs: Vec<(String, RefSite)>,
    /// `nextitem` targets seen inside the current form, checked at its end.
    pub item_refs: Option<Vec<(String, RefSite)>>,
}

/// Where a reference was made, for the error message.
#[derive(Clone)]
pub(super) struct RefSite {
    pub pos: xml::Pos,
    pub tag: String,
}

impl Builder {
    pub fn el<'a>(&self, e: &'a xml::Element, cx: &'a Ctx) -> El<'a> {
        El {
            e,
            url: self.url.clone(),
            base: &cx.base,
        }
    }

    pub fn err(&self, e: &xml::Element, message: impl Into<String>) -> CompileError {
        CompileError::new(&self.url, e.pos, message)
    }

    /// The context inside `e`: its `xml:base` resolved, its `xml:lang` applied.
    pub fn enter(&self, e: &xml::Element, cx: &Ctx) -> Result<Ctx, CompileError> {
        let base = match e.xml_base() {
            None => cx.base.clone(),
            Some(b) => Arc::new(cx.base.join(b.trim()).map_err(|err| {
                self.err(
                    e,
                    format!("xml:base '{b}' of <{}> is not a usable URI: {err}", e.name),
                )
            })?),
        };
        let lang = match e.xml_lang() {
            None => cx.lang.clone(),
            Some(l) => Some(Arc::from(l.trim())),
        };
        Ok(Ctx { base, lang })
    }

    /// The error for a child element that does not belong where it is, or
    /// `Ok` for an element of a foreign namespace (ignored).
    pub fn misplaced(
        &self,
        child: &xml::Element,
        parent: &xml::Element,
    ) -> Result<(), CompileError> {
        match Tag::of(child) {
            Tag::Foreign => {
                tracing::debug!(
                    url = %self.url,
                    line = child.pos.line,
                    element = %child.name,
                    "ignoring element of a foreign namespace"
                );
                Ok(())
            }
            Tag::UnknownVxml => {
                Err(self.err(child, format!("<{}> is not a VoiceXML element", child.name)))
            }
            Tag::UnknownSsml => {
                Err(self.err(child, format!("<{}> is not an SSML element", child.name)))
            }
            Tag::UnknownGvp => Err(self.err(
                child,
                format!(
                    "<{}> is not a GVP extension element (only send and receive are)",
                    child.name
                ),
            )),
            _ => Err(self.err(
                child,
                format!("<{}> is not allowed inside <{}>", child.name, parent.name),
            )),
        }
    }

    /// Rejects text that is not whitespace where only elements belong.
    pub fn no_text(&self, t: &xml::Text, parent: &xml::Element) -> Result<(), CompileError> {
        if t.text.trim().is_empty() {
            return Ok(());
        }
        Err(CompileError::new(
            &self.url,
            t.pos,
            format!(
                "text '{}' is not allowed directly inside <{}>",
                abbreviate(t.text.trim()),
                parent.name
            ),
        ))
    }

    pub fn note_dialog_ref(&mut self, target: &Computed<Target>, el: &El<'_>) {
        if let Computed::Static(Target::Dialog(id)) = target {
            self.dialog_refs.push((
                id.clone(),
                RefSite {
                    pos: el.e.pos,
                    tag: el.tag(),
                },
            ));
        }
    }

    pub fn note_item_ref(&mut self, name: &str, el: &El<'_>) {
        if let Some(refs) = &mut self.item_refs {
            refs.push((
                name.to_owned(),
                RefSite {
                    pos: el.e.pos,
                    tag: el.tag(),
                },
            ));
        }
    }
}

/// Shortens a text for an error message.
pub(super) fn abbreviate(s: &str) -> String {
    let mut out: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 40 {
        out = out.chars().take(37).collect::<String>() + "...";
    }
    out
}

/// Compiles the `<vxml>` root element of a page fetched from `url`.
pub(super) fn document(mut root: xml::Element, url: Arc<Url>) -> Result<Document, CompileError> {
    check_depth(&root, &url)?;
    let grammars = detach_grammars(&mut root);
    let root = &root;
    let mut b = Builder {
        url: url.clone(),
        grammars,
        dialog_refs: Vec::new(),
        item_refs: None,
    };
    if Tag::of(root) != Tag::Vxml {
        return Err(b.err(
            root,
            format!("the root element must be <vxml>, not <{}>", root.name),
        ));
    }
    let top = Ctx {
        base: url.clone(),
        lang: None,
    };
    let cx = b.enter(root, &top)?;
    let el = b.el(root, &cx);
    let version = el.req("version")?.trim().to_owned();
    if version != "2.0" && version != "2.1" {
        return Err(el.err(format!(
            "this platform runs VoiceXML 2.0 and 2.1, not version '{version}'"
        )));
    }
    let application = el.url("application")?;
    let loc = el.loc();

    let ids = explicit_ids(root, &[Tag::Form, Tag::Menu], "id");
    let mut doc = Document {
        url: url.clone(),
        version,
        base: cx.base.clone(),
        lang: cx.lang.as_deref().map(str::to_owned),
        application,
        meta: Vec::new(),
        metadata: Vec::new(),
        properties: Vec::new(),
        init: Vec::new(),
        dialogs: Vec::new(),
        dialog_index: BTreeMap::new(),
        links: Vec::new(),
        catches: Vec::new(),
        loc,
    };
    let mut dialog_pos: Vec<xml::Pos> = Vec::new();
    for node in &root.children {
        let child = match node {
            Node::Text(t) => {
                b.no_text(t, root)?;
                continue;
            }
            Node::Element(c) => c,
        };
        let tag = Tag::of(child);
        match tag {
            Tag::Meta => {
                let ccx = b.enter(child, &cx)?;
                let el = b.el(child, &ccx);
                let name = el.opt("name").map(str::to_owned);
                let http_equiv = el.opt("http-equiv").map(str::to_owned);
                if name.is_some() == http_equiv.is_some() {
                    return Err(el.err("<meta> needs exactly one of 'name' or 'http-equiv'"));
                }
                doc.meta.push(Meta {
                    name,
                    http_equiv,
                    content: el.req("content")?.to_owned(),
                    loc: el.loc(),
                });
            }
            Tag::Metadata => doc.metadata.push(child.to_xml()),
            Tag::Property => doc.properties.push(b.property(child, &cx)?),
            Tag::Var => doc.init.push(Init::Var(b.var(child, &cx)?)),
            Tag::Script => doc.init.push(Init::Script(b.script(child, &cx)?)),
            Tag::Data => doc.init.push(Init::Data(b.data(child, &cx)?)),
            Tag::Link => doc.links.push(b.link(child, &cx)?),
            Tag::Catch | Tag::Error | Tag::Help | Tag::Noinput | Tag::Nomatch => {
                doc.catches.push(b.catch(child, tag, &cx)?);
            }
            Tag::Form | Tag::Menu => {
                let n = doc.dialogs.len() + 1;
                let dialog = if tag == Tag::Form {
                    Dialog::Form(b.form(child, &cx, n, &ids)?)
                } else {
                    Dialog::Menu(b.menu(child, &cx, n, &ids)?)
                };
                let id = dialog.id().to_owned();
                if let Some(&prev) = doc.dialog_index.get(&id) {
                    let line = dialog_pos.get(prev).map(|p| p.line).unwrap_or_default();
                    return Err(b.err(
                        child,
                        format!(
                            "the dialog id '{id}' is already used by the dialog at line {line}"
                        ),
                    ));
                }
                doc.dialog_index.insert(id, doc.dialogs.len());
                dialog_pos.push(child.pos);
                doc.dialogs.push(dialog);
            }
            _ => b.misplaced(child, root)?,
        }
    }
    // A `#fragment` naming no dialog is not a compile error: VoiceXML 2.0 §5.3.7 throws `error.badfetch`
    // when the `<goto>` (or link, choice, submit) executes, so the document's own handlers can catch it.
    for (id, at) in &b.dialog_refs {
        if !doc.dialog_index.contains_key(id) {
            tracing::debug!(
                url = %url,
                line = at.pos.line,
                column = at.pos.column,
                "{} refers to '#{id}', which names no dialog in this document",
                at.tag
            );
        }
    }
    Ok(doc)
}

/// Moves every inline SRGS grammar written in XML out of the tree, leaving
/// its `<grammar>` element in place without children: the model keeps the
/// grammar as written (`InlineForm::Xml`), and taking the subtree over costs
/// less than copying it. Metadata and foreign elements are left whole.
fn detach_grammars(root: &mut xml::Element) -> Vec<(xml::Pos, Arc<xml::Element>)> {
    let mut found = Vec::new();
    let mut stack: Vec<&mut xml::Element> = vec![root];
    while let Some(e) = stack.pop() {
        for node in e.children.iter_mut() {
            let Node::Element(c) = node else { continue };
            match Tag::of(c) {
                Tag::Grammar if c.has_element_children() => {
                    let detached = xml::Element {
                        name: c.name.clone(),
                        attrs: c.attrs.clone(),
                        ns_decls: c.ns_decls.clone(),
                        children: std::mem::take(&mut c.children),
                        pos: c.pos,
                    };
                    found.push((c.pos, Arc::new(detached)));
                }
                Tag::Grammar | Tag::Metadata | Tag::Foreign => {}
                _ => stack.push(c),
            }
        }
    }
    found.sort_unstable_by_key(|(pos, _)| *pos);
    found
}

/// Rejects pages nested deeper than [`MAX_NESTING`], without recursion.
fn check_depth(root: &xml::Element, url: &Arc<Url>) -> Result<(), CompileError> {
    let mut stack: Vec<(&xml::Element, usize)> = vec![(root, 1)];
    while let Some((e, depth)) = stack.pop() {
        if depth > MAX_NESTING {
            return Err(CompileError::new(
                url,
                e.pos,
                format!("elements are nested deeper than {MAX_NESTING} levels"),
            ));
        }
        stack.extend(e.elements().map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Ids (or names) written on the children of `parent` with one of `tags`.
fn explicit_ids(parent: &xml::Element, tags: &[Tag], attr: &str) -> Vec<String> {
    parent
        .elements()
        .filter(|c| tags.contains(&Tag::of(c)))
        .filter_map(|c| c.attr(attr).map(|v| v.trim().to_owned()))
        .collect()
}

/// A generated name `prefix<n>`, made unique against the explicit ones.
fn generated_name(prefix: &str, n: usize, taken: &[String]) -> String {
    let mut name = format!("{prefix}{n}");
    while taken.contains(&name) {
        name.push('_');
    }
    name
}

/// True when `name` can be used as an ECMAScript variable name.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

const FORM_ITEMS: [Tag; 7] = [
    Tag::Block,
    Tag::Field,
    Tag::Initial,
    Tag::Object,
    Tag::Record,
    Tag::Subdialog,
    Tag::Transfer,
];

impl Builder {
    fn dialog_id(
        &self,
        e: &xml::Element,
        n: usize,
        ids: &[String],
    ) -> Result<(String, bool), CompileError> {
        match e.attr("id").map(str::trim) {
            Some("") => Err(self.err(e, format!("'id' of <{}> must not be empty", e.name))),
            Some(id) => Ok((id.to_owned(), false)),
            None => Ok((generated_name("__vxp_dialog_", n, ids), true)),
        }
    }

    fn scope(&self, el: &El<'_>) -> Result<Scope, CompileError> {
        Ok(el
            .keyword(
                "scope",
                &[("dialog", Scope::Dialog), ("document", Scope::Document)],
            )?
            .unwrap_or_default())
    }

    fn form(
        &mut self,
        e: &xml::Element,
        outer: &Ctx,
        n: usize,
        ids: &[String],
    ) -> Result<Form, CompileError> {
        let cx = self.enter(e, outer)?;
        let (id, anonymous) = self.dialog_id(e, n, ids)?;
        let el = self.el(e, &cx);
        let scope = self.scope(&el)?;
        let mut form = Form {
            id,
            anonymous,
            scope,
            init: Vec::new(),
            items: Vec::new(),
            item_index: BTreeMap::new(),
            grammars: Vec::new(),
            filled: Vec::new(),
            catches: Vec::new(),
            links: Vec::new(),
            properties: Vec::new(),
            lang: cx.lang.as_deref().map(str::to_owned),
            loc: el.loc(),
        };
        let names = explicit_ids(e, &FORM_ITEMS, "name");
        let outer_refs = self.item_refs.replace(Vec::new());
        let mut item_pos: Vec<xml::Pos> = Vec::new();
        for node in &e.children {
            let child = match node {
                Node::Text(t) => {
                    self.no_text(t, e)?;
                    continue;
                }
                Node::Element(c) => c,
            };
            let tag = Tag::of(child);
            match tag {
                Tag::Var => form.init.push(Init::Var(self.var(child, &cx)?)),
                Tag::Script => form.init.push(Init::Script(self.script(child, &cx)?)),
                Tag::Data => form.init.push(Init::Data(self.data(child, &cx)?)),
                Tag::Grammar => form.grammars.push(self.grammar(child, &cx)?),
                Tag::Filled => form.filled.push(self.filled(child, &cx, true)?),
                Tag::Link => form.links.push(self.link(child, &cx)?),
                Tag::Property => form.properties.push(self.property(child, &cx)?),
                Tag::Catch | Tag::Error | Tag::Help | Tag::Noinput | Tag::Nomatch => {
                    form.catches.push(self.catch(child, tag, &cx)?);
                }
                t if FORM_ITEMS.contains(&t) => {
                    let n = form.items.len() + 1;
                    let item = self.form_item(child, t, &cx, n, &names)?;
                    let name = item.name().to_owned();
                    if let Some(&prev) = form.item_index.get(&name) {
                        let line = item_pos.get(prev).map(|p| p.line).unwrap_or_default();
                        return Err(self.err(
                            child,
                            format!(
                                "the name '{name}' is already used by the form item at line {line} of this form"
                            ),
                        ));
                    }
                    form.item_index.insert(name, form.items.len());
                    item_pos.push(child.pos);
                    form.items.push(item);
                }
                _ => self.misplaced(child, e)?,
            }
        }
        let refs = std::mem::replace(&mut self.item_refs, outer_refs).unwrap_or_default();
        for (name, at) in refs {
            if !form.item_index.contains_key(&name) {
                return Err(CompileError::new(
                    &self.url,
                    at.pos,
                    format!(
                        "{} refers to the form item '{name}', but form '{}' has no item with that name",
                        at.tag, form.id
                    ),
                ));
            }
        }
        // VoiceXML 2.0 §2.4: naming a control item in a form-level <filled> is error.badfetch.
        for filled in &form.filled {
            if let Some(name) = filled
                .namelist
                .iter()
                .find(|n| form.item(n).is_some_and(|i| !i.is_input()))
            {
                return Err(CompileError::new(
                    &self.url,
                    filled.loc.pos,
                    format!(
                        "<filled> names '{name}', a <block> or <initial>; only input items can be filled"
                    ),
                ));
            }
        }
        Ok(form)
    }

    fn form_item(
        &mut self,
        e: &xml::Element,
        tag: Tag,
        outer: &Ctx,
        n: usize,
        names: &[String],
    ) -> Result<FormItem, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let (name, anonymous) = match el.opt("name").map(str::trim) {
            None => (generated_name("__vxp_item_", n, names), true),
            Some(name) if is_identifier(name) => (name.to_owned(), false),
            Some(name) => {
                return Err(el.err(format!(
                    "'{name}' cannot name a form item: use letters, digits, '_' or '$', not starting with a digit"
                )));
            }
        };
        let mut common = ItemCommon {
            name,
            anonymous,
            expr: el.expr("expr"),
            cond: el.expr("cond"),
            prompts: Vec::new(),
            catches: Vec::new(),
            properties: Vec::new(),
            filled: Vec::new(),
            grammars: Vec::new(),
            links: Vec::new(),
            lang: cx.lang.as_deref().map(str::to_owned),
            loc: el.loc(),
        };
        if tag == Tag::Block {
            let body = self.exec_body(e, &cx)?;
            return Ok(FormItem::Block(Block { common, body }));
        }
        let allows_grammar = matches!(tag, Tag::Field | Tag::Record | Tag::Transfer);
        let allows_link = matches!(tag, Tag::Field | Tag::Initial);
        let allows_filled = tag != Tag::Initial;
        let allows_param = matches!(tag, Tag::Object | Tag::Subdialog);
        let mut options = Vec::new();
        let mut params = Vec::new();
        self.bare_speech_children(e, &cx, |b, part| {
            let (child, ctag) = match part {
                Part::Prompt(p) => {
                    common.prompts.push(Arc::new(p));
                    return Ok(());
                }
                Part::Element(child, ctag) => (child, ctag),
            };
            match ctag {
                Tag::Prompt => common.prompts.push(Arc::new(b.prompt(child, &cx)?)),
                Tag::Catch | Tag::Error | Tag::Help | Tag::Noinput | Tag::Nomatch => {
                    common.catches.push(b.catch(child, ctag, &cx)?);
                }
                Tag::Property => common.properties.push(b.property(child, &cx)?),
                Tag::Filled if allows_filled => {
                    common.filled.push(b.filled(child, &cx, false)?);
                }
                Tag::Grammar if allows_grammar => common.grammars.push(b.grammar(child, &cx)?),
                Tag::Link if allows_link => common.links.push(b.link(child, &cx)?),
                Tag::Option if tag == Tag::Field => options.push(b.option(child, &cx)?),
                Tag::Param if allows_param => params.push(b.param(child, &cx)?),
                _ => b.misplaced(child, e)?,
            }
            Ok(())
        })?;

        let el = self.el(e, &cx);
        Ok(match tag {
            Tag::Field => FormItem::Field(Field {
                field_type: el.opt("type").map(|t| t.trim().to_owned()),
                slot: el.opt("slot").map(|t| t.trim().to_owned()),
                modal: el.bool("modal")?.unwrap_or(false),
                options,
                common,
            }),
            Tag::Initial => FormItem::Initial(Initial { common }),
            Tag::Object => FormItem::Object(Object {
                classid: el.opt("classid").map(str::to_owned),
                codebase: el.url("codebase")?,
                codetype: el.opt("codetype").map(str::to_owned),
                data: match el.url("codebase")? {
                    // VoiceXML 2.0 §2.3.5: a relative `data` URI is relative to `codebase`.
                    Some(codebase) => match el.opt("data") {
                        None => None,
                        Some(d) => Some(codebase.join(d.trim()).map_err(|e| {
                            el.err(format!(
                                "'data' of <object> is not a usable URI ('{d}': {e})"
                            ))
                        })?),
                    },
                    None => el.url("data")?,
                },
                media_type: el.opt("type").map(str::to_owned),
                archive: el.namelist("archive"),
                fetch: el.fetch()?,
                params,
                common,
            }),
            Tag::Record => FormItem::Record(Record {
                modal: el.bool("modal")?.unwrap_or(true),
                beep: el.bool("beep")?.unwrap_or(false),
                maxtime: el.duration("maxtime")?,
                finalsilence: el.duration("finalsilence")?,
                dtmfterm: el.bool("dtmfterm")?.unwrap_or(true),
                media_type: el.opt("type").map(str::to_owned),
                common,
            }),
            Tag::Subdialog => {
                let src = el
                    .computed_target("src", "srcexpr")?
                    .ok_or_else(|| el.err("<subdialog> needs exactly one of 'src' or 'srcexpr'"))?;
                self.note_dialog_ref(&src, &el);
                FormItem::Subdialog(Subdialog {
                    src,
                    submission: el.submission()?,
                    fetch: el.fetch()?,
                    params,
                    common,
                })
            }
            _ => FormItem::Transfer(self.transfer(&el, common)?),
        })
    }

    fn transfer(&self, el: &El<'_>, common: ItemCommon) -> Result<Transfer, CompileError> {
        let bridge = el.bool("bridge")?;
        let kind = el.keyword(
            "type",
            &[
                ("blind", TransferType::Blind),
                ("bridge", TransferType::Bridge),
                ("consultation", TransferType::Consultation),
            ],
        )?;
        let transfer_type = match (bridge, kind) {
            (Some(_), Some(_)) => {
                return Err(el.err("<transfer> cannot have both 'bridge' and 'type'"));
            }
            (Some(true), None) => TransferType::Bridge,
            (Some(false), None) | (None, None) => TransferType::Blind,
            (None, Some(t)) => t,
        };
        let method =
            el.e.attr_ns(GVP_NS, "method")
                .map(|m| transfer_method(m.trim()));
        let connectwhen = match el.e.attr_ns(GVP_NS, "connectwhen").map(str::trim) {
            None => None,
            Some(w) if w.eq_ignore_ascii_case("answered") => Some(ConnectWhen::Answered),
            Some(w) if w.eq_ignore_ascii_case("immediate") => Some(ConnectWhen::Immediate),
            Some(w) => {
                return Err(el.err(format!(
                    "'gvp:connectwhen' of <transfer> must be answered or immediate, not '{w}'"
                )));
            }
        };
        Ok(Transfer {
            dest: el.computed_str("dest", "destexpr")?,
            transfer_type,
            connecttimeout: el.duration("connecttimeout")?,
            maxtime: el.duration("maxtime")?,
            transferaudio: el.url("transferaudio")?,
            aai: el.computed_str("aai", "aaiexpr")?,
            method,
            connectwhen,
            common,
        })
    }

    fn option(&mut self, e: &xml::Element, outer: &Ctx) -> Result<FieldOption, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        if let Some(c) = e.elements().next() {
            self.misplaced(c, e)?;
        }
        let text = collapse(&e.text()).trim().to_owned();
        let dtmf = el.opt("dtmf").map(|d| d.trim().to_owned());
        if text.is_empty() && dtmf.is_none() {
            return Err(el.err("<option> needs text to say or a 'dtmf' attribute"));
        }
        Ok(FieldOption {
            dtmf,
            accept: accept(&el)?,
            value: el
                .opt("value")
                .map(str::to_owned)
                .unwrap_or_else(|| text.clone()),
            text,
            loc: el.loc(),
        })
    }

    pub(super) fn param(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Param, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let name = el.req_nonempty("name")?.trim().to_owned();
        let value = match el.exactly_one(&["expr", "value"])? {
            0 => ParamValue::Expr(el.req_expr("expr")?),
            _ => ParamValue::Literal(el.req("value")?.to_owned()),
        };
        Ok(Param {
            name,
            value,
            valuetype: el
                .keyword(
                    "valuetype",
                    &[("data", ValueType::Data), ("ref", ValueType::Ref)],
                )?
                .unwrap_or_default(),
            media_type: el.opt("type").map(str::to_owned),
            loc: el.loc(),
        })
    }

    pub(super) fn property(
        &mut self,
        e: &xml::Element,
        outer: &Ctx,
    ) -> Result<Property, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        Ok(Property {
            name: el.req_nonempty("name")?.trim().to_owned(),
            value: el.req("value")?.to_owned(),
            loc: el.loc(),
        })
    }

    fn menu(
        &mut self,
        e: &xml::Element,
        outer: &Ctx,
        n: usize,
        ids: &[String],
    ) -> Result<Menu, CompileError> {
        let cx = self.enter(e, outer)?;
        let (id, anonymous) = self.dialog_id(e, n, ids)?;
        let el = self.el(e, &cx);
        let mut menu = Menu {
            id,
            anonymous,
            scope: self.scope(&el)?,
            dtmf: el.bool("dtmf")?.unwrap_or(false),
            accept: accept(&el)?.unwrap_or_default(),
            init: Vec::new(),
            prompts: Vec::new(),
            choices: Vec::new(),
            catches: Vec::new(),
            properties: Vec::new(),
            lang: cx.lang.as_deref().map(str::to_owned),
            loc: el.loc(),
        };
        self.bare_speech_children(e, &cx, |b, part| {
            let (child, tag) = match part {
                Part::Prompt(p) => {
                    menu.prompts.push(Arc::new(p));
                    return Ok(());
                }
                Part::Element(child, tag) => (child, tag),
            };
            match tag {
                Tag::Prompt => menu.prompts.push(Arc::new(b.prompt(child, &cx)?)),
                Tag::Choice => menu.choices.push(b.choice(child, &cx)?),
                Tag::Script => menu.init.push(Init::Script(b.script(child, &cx)?)),
                Tag::Property => menu.properties.push(b.property(child, &cx)?),
                Tag::Catch | Tag::Error | Tag::Help | Tag::Noinput | Tag::Nomatch => {
                    menu.catches.push(b.catch(child, tag, &cx)?);
                }
                _ => b.misplaced(child, e)?,
            }
            Ok(())
        })?;
        if menu.choices.is_empty() {
            return Err(self.err(e, format!("menu '{}' has no <choice>", menu.id)));
        }
        Ok(menu)
    }

    fn choice(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Choice, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let action = self.link_action(&el)?;
        let dtmf = el.opt("dtmf").map(|d| d.trim().to_owned());
        let accept = accept(&el)?;
        let fetch = el.fetch()?;
        let loc = el.loc();
        let mut grammars = Vec::new();
        let mut content = Vec::new();
        let mut text = String::new();
        for node in &e.children {
            match node {
                Node::Text(t) => {
                    text.push_str(&t.text);
                    self.speech_node(node, &cx, &mut content)?;
                }
                Node::Element(c) => match Tag::of(c) {
                    Tag::Grammar => grammars.push(self.grammar(c, &cx)?),
                    t if t.is_speech() => {
                        text.push_str(&c.deep_text());
                        self.speech_node(node, &cx, &mut content)?;
                    }
                    _ => self.misplaced(c, e)?,
                },
            }
        }
        trim_speech(&mut content);
        let text = collapse(&text).trim().to_owned();
        if text.is_empty() && dtmf.is_none() && grammars.is_empty() {
            return Err(CompileError::new(
                &self.url,
                e.pos,
                "<choice> needs text, a 'dtmf' attribute or a <grammar> so a caller can select it",
            ));
        }
        Ok(Choice {
            dtmf,
            accept,
            action,
            fetch,
            grammars,
            content,
            text,
            lang: cx.lang.as_deref().map(str::to_owned),
            loc,
        })
    }

    /// `next`/`expr`/`event`/`eventexpr` (+ `message`/`messageexpr`) of a
    /// `<link>` or `<choice>`: exactly one of the first four.
    pub(super) fn link_action(&mut self, el: &El<'_>) -> Result<LinkAction, CompileError> {
        let action = match el.exactly_one(&["next", "expr", "event", "eventexpr"])? {
            0 | 1 => {
                let target = el
                    .computed_target("next", "expr")?
                    .ok_or_else(|| el.err(format!("{} needs 'next' or 'expr'", el.tag())))?;
                self.note_dialog_ref(&target, el);
                if el.which(&["message", "messageexpr"])?.is_some() {
                    return Err(el.err(format!(
                        "{}: 'message' and 'messageexpr' only go with 'event' or 'eventexpr'",
                        el.tag()
                    )));
                }
                LinkAction::Goto(target)
            }
            _ => LinkAction::Throw {
                event: el
                    .computed_str("event", "eventexpr")?
                    .ok_or_else(|| el.err(format!("{} needs 'event' or 'eventexpr'", el.tag())))?,
                message: el.computed_str("message", "messageexpr")?,
            },
        };
        Ok(action)
    }

    /// A `<catch>` or one of its shorthands.
    pub(super) fn catch(
        &mut self,
        e: &xml::Element,
        tag: Tag,
        outer: &Ctx,
    ) -> Result<Catch, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let events = match tag {
            Tag::Error => vec!["error".to_owned()],
            Tag::Help => vec!["help".to_owned()],
            Tag::Noinput => vec!["noinput".to_owned()],
            Tag::Nomatch => vec!["nomatch".to_owned()],
            _ => el
                .namelist("event")
                .into_iter()
                .filter(|ev| ev != ".")
                .map(|ev| ev.trim_end_matches('.').to_owned())
                .collect(),
        };
        let count = el.positive("count")?.unwrap_or(1);
        let cond = el.expr("cond");
        let loc = el.loc();
        let body = self.exec_body(e, &cx)?;
        Ok(Catch {
            events,
            count,
            cond,
            body,
            lang: cx.lang.as_deref().map(str::to_owned),
            loc,
        })
    }
}

/// `accept` (exact | approximate).
fn accept(el: &El<'_>) -> Result<Option<Accept>, CompileError> {
    el.keyword(
        "accept",
        &[
            ("exact", Accept::Exact),
            ("approximate", Accept::Approximate),
        ],
    )
}

/// `gvp:method`, case-insensitive; unknown names are left to the platform.
fn transfer_method(m: &str) -> TransferMethod {
    match m.to_ascii_uppercase().as_str() {
        "BRIDGE" => TransferMethod::Bridge,
        "REFER" => TransferMethod::Refer,
        "REFERJOIN" => TransferMethod::ReferJoin,
        "MEDIAREDIRECT" => TransferMethod::MediaRedirect,
        "HKF" | "HOOKFLASH" => TransferMethod::HookFlash,
        other => TransferMethod::Other(other.to_owned()),
    }
}

/// Collapses every run of whitespace to one space (SSML text normalization),
/// keeping one space at either end if there was whitespace there.
pub(super) fn collapse(s: &str) -> String {
    if !s.is_ascii() {
        return collapse_chars(s);
    }
    // ASCII text (nearly all of it): copy the words as slices.
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for (i, word) in s.split([' ', '\t', '\n', '\x0b', '\x0c', '\r']).enumerate() {
        space |= i > 0;
        if !word.is_empty() {
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(word);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

/// [`collapse`] for text with non-ASCII characters, some of which are
/// whitespace (no-break and ideographic spaces, line separators).
fn collapse_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_agrees_for_ascii_and_other_text() {
        for s in [
            "",
            " ",
            "a",
            "  a  b ",
            "\tone\r\n two\x0b\x0cthree",
            "no-space",
            " lead",
            "trail\n",
        ] {
            assert_eq!(collapse(s), collapse_chars(s), "{s:?}");
        }
        assert_eq!(collapse("  Press\n   1 "), " Press 1 ");
        assert_eq!(
            collapse("caf\u{e9}\u{a0} au\u{3000}lait"),
            "caf\u{e9} au lait"
        );
    }
}
