//! Builds executable content (VoiceXML 2.0 §5.3, VoiceXML 2.1 §4–§6, NGI
//! `<gvp:send>`/`<gvp:receive>`), prompts and speech markup (VoiceXML 2.0
//! §4.1, SSML 1.0 §3), grammars (§3.1), `<filled>` (§2.4) and `<link>` (§2.5).
//!
//! Bare speech content (text, `<audio>`, `<value>`, `<enumerate>`, SSML
//! elements) outside `<prompt>` forms an implicit prompt; adjacent bare
//! content forms one. Text is whitespace-normalized as SSML text is spoken:
//! runs of whitespace become one space, and a prompt's content is trimmed at
//! both ends.

use std::sync::Arc;

use super::CompileError;
use url::Url;

use super::attrs::El;
use super::build::{Builder, Ctx, collapse};
use super::tag::Tag;
use crate::grammar::Grammar;
use crate::vxml::model::{
    Assign, Audio, BargeinType, Branch, Break, BreakStrength, Clear, Computed, Data, Disconnect,
    Emphasis, Enumerate, Exit, Filled, FilledMode, Foreach, Goto, GotoTarget, GrammarMode,
    GrammarRef, GrammarSource, If, InlineForm, InlineGrammar, Lexicon, Link, Log, LogPart, Mark,
    Phoneme, Prompt, PromptForeach, PromptNode, Prosody, Receive, Reprompt, Return, SayAs, Scope,
    Script, ScriptSource, Send, SendPayload, Speak, Stmt, Sub, Submit, TextRun, Throw, Var, Voice,
};
use crate::xml::{self, Node, Pos};

/// Bare speech content being gathered into an implicit prompt.
#[derive(Default)]
struct SpeechRun {
    nodes: Vec<PromptNode>,
    pos: Option<Pos>,
}

/// What [`Builder::bare_speech_children`] hands over besides bare speech.
pub(super) enum Part<'e> {
    /// An implicit prompt made of adjacent bare speech.
    Prompt(Prompt),
    /// A child element that is not speech, with its tag.
    Element(&'e xml::Element, Tag),
}

/// The position reached from `start` after `text`.
fn shift_text(start: Pos, text: &str) -> Pos {
    match text.rsplit_once('\n') {
        None => Pos::new(start.line, start.column.saturating_add(count32(text))),
        Some((before, last)) => Pos::new(
            start.line.saturating_add(
                u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX),
            ),
            count32(last) + 1,
        ),
    }
}

/// The position of `rel` (1-based, relative to a text) in the page when the
/// text starts at `start`.
fn shift_pos(start: Pos, rel: Pos) -> Pos {
    if rel.line <= 1 {
        Pos::new(
            start.line,
            start.column.saturating_add(rel.column.saturating_sub(1)),
        )
    } else {
        Pos::new(start.line.saturating_add(rel.line - 1), rel.column)
    }
}

fn count32(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}

/// Trims whitespace at both ends of a prompt's content and drops empty text.
pub(in crate::vxml::parse) fn trim_speech(nodes: &mut Vec<PromptNode>) {
    if let Some(PromptNode::Text(t)) = nodes.first_mut() {
        let leading = t.text.len() - t.text.trim_start().len();
        t.text.drain(..leading);
    }
    if let Some(PromptNode::Text(t)) = nodes.last_mut() {
        let kept = t.text.trim_end().len();
        t.text.truncate(kept);
    }
    nodes.retain(|n| !matches!(n, PromptNode::Text(t) if t.text.is_empty()));
}

impl Builder {
    /// Walks the children of `e` as content that may hold bare speech:
    /// adjacent text and speech elements become one implicit prompt, and
    /// `each` receives, in document order, every such prompt and every other
    /// child element.
    pub(super) fn bare_speech_children<'e>(
        &mut self,
        e: &'e xml::Element,
        cx: &Ctx,
        mut each: impl FnMut(&mut Self, Part<'e>) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let mut run = SpeechRun::default();
        for node in &e.children {
            let child = match node {
                Node::Text(t) => {
                    self.speech_text(&mut run, t);
                    continue;
                }
                Node::Element(c) => c,
            };
            let tag = Tag::of(child);
            if tag.is_speech() {
                self.speech_element(&mut run, child, tag, cx)?;
                continue;
            }
            if let Some(p) = self.take_speech(&mut run, cx) {
                each(self, Part::Prompt(p))?;
            }
            each(self, Part::Element(child, tag))?;
        }
        if let Some(p) = self.take_speech(&mut run, cx) {
            each(self, Part::Prompt(p))?;
        }
        Ok(())
    }

    /// Adds bare text to the run; whitespace before any speech is dropped.
    fn speech_text(&self, run: &mut SpeechRun, t: &xml::Text) {
        if run.nodes.is_empty() && t.text.trim().is_empty() {
            return;
        }
        run.pos.get_or_insert(t.pos);
        run.nodes.push(PromptNode::Text(TextRun {
            text: collapse(&t.text),
            loc: self.loc(t.pos),
        }));
    }

    /// Adds a bare speech element to the run.
    fn speech_element(
        &mut self,
        run: &mut SpeechRun,
        e: &xml::Element,
        tag: Tag,
        cx: &Ctx,
    ) -> Result<(), CompileError> {
        run.pos.get_or_insert(e.pos);
        self.speech_element_node(e, tag, cx, &mut run.nodes)
    }

    /// Turns the run into an implicit prompt, if it holds anything to say.
    fn take_speech(&self, run: &mut SpeechRun, cx: &Ctx) -> Option<Prompt> {
        let mut content = std::mem::take(&mut run.nodes);
        let pos = run.pos.take()?;
        trim_speech(&mut content);
        if content.is_empty() {
            return None;
        }
        Some(Prompt {
            bargein: None,
            bargeintype: None,
            count: 1,
            cond: None,
            timeout: None,
            lang: cx.lang.as_deref().map(str::to_owned),
            implicit: true,
            content,
            loc: self.loc(pos),
        })
    }

    fn loc(&self, pos: Pos) -> crate::vxml::model::Loc {
        crate::vxml::model::Loc::new(self.url.clone(), pos)
    }

    /// The executable content of `e` (a block, handler, filled, if branch or foreach).
    pub(super) fn exec_body(
        &mut self,
        e: &xml::Element,
        cx: &Ctx,
    ) -> Result<Vec<Stmt>, CompileError> {
        // About one statement per child element: sized once, not grown.
        let mut out = Vec::with_capacity(e.elements().count());
        self.bare_speech_children(e, cx, |b, part| {
            match part {
                Part::Prompt(p) => out.push(Stmt::Prompt(Arc::new(p))),
                Part::Element(child, tag) => {
                    if let Some(stmt) = b.stmt(child, tag, e, cx)? {
                        out.push(stmt);
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// One statement; `None` for an ignored foreign element.
    fn stmt(
        &mut self,
        e: &xml::Element,
        tag: Tag,
        parent: &xml::Element,
        outer: &Ctx,
    ) -> Result<Option<Stmt>, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let loc = el.loc();
        let stmt = match tag {
            Tag::Assign => Stmt::Assign(Assign {
                name: el.req_nonempty("name")?.trim().to_owned(),
                expr: el.req_expr("expr")?,
                loc,
            }),
            Tag::Clear => Stmt::Clear(Clear {
                namelist: el.namelist("namelist"),
                loc,
            }),
            Tag::Data => Stmt::Data(self.data(e, outer)?),
            Tag::Disconnect => Stmt::Disconnect(Disconnect {
                namelist: el.namelist("namelist"),
                loc,
            }),
            Tag::Exit => {
                el.which(&["expr", "namelist"])?;
                Stmt::Exit(Exit {
                    expr: el.expr("expr"),
                    namelist: el.namelist("namelist"),
                    loc,
                })
            }
            Tag::Foreach => {
                let array = el.req_expr("array")?;
                let item = el.req_nonempty("item")?.trim().to_owned();
                let body = self.exec_body(e, &cx)?;
                Stmt::Foreach(Foreach {
                    array,
                    item,
                    body,
                    loc,
                })
            }
            Tag::Goto => {
                let fetch = el.fetch()?;
                let target = match el.exactly_one(&["next", "expr", "nextitem", "expritem"])? {
                    0 | 1 => {
                        let t = el
                            .computed_target("next", "expr")?
                            .ok_or_else(|| el.err("<goto> needs 'next' or 'expr'"))?;
                        self.note_dialog_ref(&t, &el);
                        GotoTarget::Dialog(t)
                    }
                    2 => {
                        let name = el.req_nonempty("nextitem")?.trim().to_owned();
                        self.note_item_ref(&name, &el);
                        GotoTarget::Item(Computed::Static(name))
                    }
                    _ => GotoTarget::Item(Computed::Dynamic(el.req_expr("expritem")?)),
                };
                Stmt::Goto(Goto { target, fetch, loc })
            }
            Tag::If => Stmt::If(self.if_stmt(e, &cx)?),
            Tag::Log => Stmt::Log(self.log(e, &cx)?),
            Tag::Prompt => Stmt::Prompt(Arc::new(self.prompt(e, outer)?)),
            Tag::Reprompt => Stmt::Reprompt(Reprompt { loc }),
            Tag::Return => {
                el.which(&["event", "eventexpr", "namelist"])?;
                let event = el.computed_str("event", "eventexpr")?;
                let message = el.computed_str("message", "messageexpr")?;
                if event.is_none() && message.is_some() {
                    return Err(el.err(
                        "<return>: 'message' and 'messageexpr' only go with 'event' or 'eventexpr'",
                    ));
                }
                Stmt::Return(Return {
                    event,
                    message,
                    namelist: el.namelist("namelist"),
                    loc,
                })
            }
            Tag::Script => Stmt::Script(self.script(e, outer)?),
            Tag::Submit => {
                let target = el
                    .computed_target("next", "expr")?
                    .ok_or_else(|| el.err("<submit> needs exactly one of 'next' or 'expr'"))?;
                self.note_dialog_ref(&target, &el);
                Stmt::Submit(Submit {
                    target,
                    submission: el.submission()?,
                    fetch: el.fetch()?,
                    loc,
                })
            }
            Tag::Throw => Stmt::Throw(Throw {
                event: el
                    .computed_str("event", "eventexpr")?
                    .ok_or_else(|| el.err("<throw> needs exactly one of 'event' or 'eventexpr'"))?,
                message: el.computed_str("message", "messageexpr")?,
                loc,
            }),
            Tag::Var => Stmt::Var(self.var(e, outer)?),
            Tag::Send => {
                let payload = match el.exactly_one(&["body", "namelist"])? {
                    0 => SendPayload::Body(el.req("body")?.to_owned()),
                    _ => SendPayload::Namelist(el.namelist("namelist")),
                };
                Stmt::Send(Send {
                    is_async: el.bool("async")?.unwrap_or(false),
                    contenttype: el.opt("contenttype").map(|c| c.trim().to_owned()),
                    payload,
                    loc,
                })
            }
            Tag::Receive => Stmt::Receive(Receive {
                maxtime: el.duration("maxtime")?,
                loc,
            }),
            Tag::Else | Tag::Elseif => {
                return Err(el.err(format!("{} is only allowed inside <if>", el.tag())));
            }
            _ => {
                self.misplaced(e, parent)?;
                return Ok(None);
            }
        };
        Ok(Some(stmt))
    }

    fn if_stmt(&mut self, e: &xml::Element, cx: &Ctx) -> Result<If, CompileError> {
        let el = self.el(e, cx);
        let loc = el.loc();
        let mut branches = vec![Branch {
            cond: Some(el.req_expr("cond")?),
            body: Vec::new(),
            loc: loc.clone(),
        }];
        let mut seen_else = false;
        self.bare_speech_children(e, cx, |b, part| {
            let (child, tag) = match part {
                Part::Prompt(p) => {
                    if let Some(current) = branches.last_mut() {
                        current.body.push(Stmt::Prompt(Arc::new(p)));
                    }
                    return Ok(());
                }
                Part::Element(child, tag) => (child, tag),
            };
            match tag {
                Tag::Elseif | Tag::Else => {
                    if seen_else {
                        return Err(b.err(
                            child,
                            format!("<{}> cannot follow <else> in the same <if>", child.name),
                        ));
                    }
                    let ccx = b.enter(child, cx)?;
                    let cel = b.el(child, &ccx);
                    if let Some(c) = child.elements().next() {
                        return Err(b.err(
                            c,
                            format!("<{}> must be empty: its statements follow it", child.name),
                        ));
                    }
                    let cond = if tag == Tag::Elseif {
                        Some(cel.req_expr("cond")?)
                    } else {
                        seen_else = true;
                        None
                    };
                    branches.push(Branch {
                        cond,
                        body: Vec::new(),
                        loc: cel.loc(),
                    });
                }
                _ => {
                    if let Some(stmt) = b.stmt(child, tag, e, cx)?
                        && let Some(current) = branches.last_mut()
                    {
                        current.body.push(stmt);
                    }
                }
            }
            Ok(())
        })?;
        Ok(If { branches, loc })
    }

    fn log(&mut self, e: &xml::Element, cx: &Ctx) -> Result<Log, CompileError> {
        let el = self.el(e, cx);
        let mut content = Vec::new();
        for node in &e.children {
            match node {
                Node::Text(t) => {
                    let text = collapse(&t.text);
                    if !text.is_empty() {
                        content.push(LogPart::Text(text));
                    }
                }
                Node::Element(c) if Tag::of(c) == Tag::Value => {
                    let ccx = self.enter(c, cx)?;
                    content.push(LogPart::Value(self.el(c, &ccx).req_expr("expr")?));
                }
                Node::Element(c) => self.misplaced(c, e)?,
            }
        }
        if let Some(LogPart::Text(t)) = content.first_mut() {
            *t = t.trim_start().to_owned();
        }
        if let Some(LogPart::Text(t)) = content.last_mut() {
            *t = t.trim_end().to_owned();
        }
        content.retain(|p| !matches!(p, LogPart::Text(t) if t.is_empty()));
        Ok(Log {
            label: el.opt("label").map(str::to_owned),
            expr: el.expr("expr"),
            content,
            loc: el.loc(),
        })
    }

    pub(super) fn var(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Var, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        Ok(Var {
            name: el.req_nonempty("name")?.trim().to_owned(),
            expr: el.expr("expr"),
            loc: el.loc(),
        })
    }

    pub(super) fn script(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Script, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        if let Some(c) = e.elements().next() {
            return Err(self.err(
                c,
                format!(
                    "<{}> inside <script>: write '<' as &lt; or wrap the code in <![CDATA[ ... ]]>",
                    c.name
                ),
            ));
        }
        let code = e.text();
        let inline = !code.trim().is_empty();
        let source = match (el.which(&["src", "srcexpr"])?, inline) {
            (Some(_), true) => {
                return Err(el.err("<script> cannot have both a 'src'/'srcexpr' and inline code"));
            }
            (None, false) => {
                return Err(el.err("<script> needs inline code, a 'src' or a 'srcexpr'"));
            }
            (None, true) => ScriptSource::Inline(el.expr_src(&code)),
            (Some(0), false) => ScriptSource::Src(el.resolve("src", el.req("src")?)?),
            (Some(_), false) => ScriptSource::SrcExpr(el.req_expr("srcexpr")?),
        };
        Ok(Script {
            source,
            charset: el.opt("charset").map(str::to_owned),
            fetch: el.fetch()?,
            loc: el.loc(),
        })
    }

    pub(super) fn data(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Data, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let name = match el.opt("name").map(str::trim) {
            Some("") => return Err(el.err("'name' of <data> must not be empty")),
            other => other.map(str::to_owned),
        };
        Ok(Data {
            name,
            src: el
                .computed_url("src", "srcexpr")?
                .ok_or_else(|| el.err("<data> needs exactly one of 'src' or 'srcexpr'"))?,
            submission: el.submission()?,
            fetch: el.fetch()?,
            loc: el.loc(),
        })
    }

    /// `<filled>`; `form_level` is false inside an input item, where `mode`
    /// and `namelist` are not allowed (VoiceXML 2.0 §2.4).
    pub(super) fn filled(
        &mut self,
        e: &xml::Element,
        outer: &Ctx,
        form_level: bool,
    ) -> Result<Filled, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        if !form_level && (el.opt("mode").is_some() || el.opt("namelist").is_some()) {
            return Err(el.err(
                "a <filled> inside a form item cannot have 'mode' or 'namelist' (they belong on form-level <filled>)",
            ));
        }
        let mode = el
            .keyword(
                "mode",
                &[("all", FilledMode::All), ("any", FilledMode::Any)],
            )?
            .unwrap_or_default();
        let namelist = el.namelist("namelist");
        let loc = el.loc();
        let body = self.exec_body(e, &cx)?;
        Ok(Filled {
            mode,
            namelist,
            body,
            loc,
        })
    }

    pub(super) fn link(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Link, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let action = self.link_action(&el)?;
        let dtmf = el.opt("dtmf").map(|d| d.trim().to_owned());
        let fetch = el.fetch()?;
        let loc = el.loc();
        let mut grammars = Vec::new();
        for node in &e.children {
            match node {
                Node::Text(t) => self.no_text(t, e)?,
                Node::Element(c) if Tag::of(c) == Tag::Grammar => {
                    grammars.push(self.grammar(c, &cx)?);
                }
                Node::Element(c) => self.misplaced(c, e)?,
            }
        }
        if grammars.is_empty() && dtmf.is_none() {
            return Err(CompileError::new(
                &self.url,
                e.pos,
                "<link> needs a <grammar> or a 'dtmf' attribute, or it can never be selected",
            ));
        }
        Ok(Link {
            action,
            dtmf,
            fetch,
            grammars,
            loc,
        })
    }

    pub(super) fn grammar(
        &mut self,
        e: &xml::Element,
        outer: &Ctx,
    ) -> Result<GrammarRef, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let detached = self
            .grammars
            .binary_search_by_key(&e.pos, |(pos, _)| *pos)
            .ok()
            .and_then(|i| self.grammars.get(i))
            .map(|(_, g)| g.clone());
        let text = e.text();
        let inline = detached.is_some() || !text.trim().is_empty();
        let source = match (el.which(&["src", "srcexpr"])?, inline) {
            (Some(_), true) => {
                return Err(el.err("<grammar> cannot have both a 'src'/'srcexpr' and inline rules"));
            }
            (None, false) => {
                return Err(el.err("<grammar> needs inline rules, a 'src' or a 'srcexpr'"));
            }
            (None, true) => {
                GrammarSource::Inline(self.inline_grammar(&el, detached, &text, &outer.base)?)
            }
            (Some(0), false) => GrammarSource::Src(el.resolve("src", el.req("src")?)?),
            (Some(_), false) => GrammarSource::SrcExpr(el.req_expr("srcexpr")?),
        };
        let weight = match el.opt("weight") {
            None => 1.0,
            Some(w) => match w.trim().parse::<f32>() {
                Ok(v) if v.is_finite() && v >= 0.0 => v,
                _ => {
                    return Err(el.err(format!(
                        "'weight' of <grammar> must be a non-negative number, not '{w}'"
                    )));
                }
            },
        };
        Ok(GrammarRef {
            source,
            media_type: el.opt("type").map(|t| t.trim().to_owned()),
            mode: el.keyword(
                "mode",
                &[("voice", GrammarMode::Voice), ("dtmf", GrammarMode::Dtmf)],
            )?,
            scope: el.keyword(
                "scope",
                &[("dialog", Scope::Dialog), ("document", Scope::Document)],
            )?,
            weight,
            lang: cx.lang.as_deref().map(str::to_owned),
            root: el.opt("root").map(|r| r.trim().to_owned()),
            tag_format: el.opt("tag-format").map(|t| t.trim().to_owned()),
            version: el.opt("version").map(|v| v.trim().to_owned()),
            fetch: el.fetch()?,
            base: cx.base.clone(),
            loc: el.loc(),
        })
    }

    /// Compiles an inline grammar with the grammar engine. `base` is the base
    /// URL outside the `<grammar>` element: the engine applies the element's
    /// own `xml:base`.
    fn inline_grammar(
        &self,
        el: &El<'_>,
        detached: Option<Arc<xml::Element>>,
        text: &str,
        base: &Url,
    ) -> Result<InlineGrammar, CompileError> {
        let media_type = el.opt("type").map(str::trim);
        if let Some(rules) = detached {
            if let Some(t) = media_type.filter(|t| *t != "application/srgs+xml") {
                return Err(el.err(format!(
                    "an inline grammar written in XML must be SRGS (type application/srgs+xml), not '{t}'"
                )));
            }
            let compiled = Grammar::from_xml(&rules, base).map_err(|g| {
                CompileError::new(
                    &self.url,
                    g.pos.unwrap_or(el.e.pos),
                    format!("in this grammar: {}", g.message),
                )
            })?;
            return Ok(InlineGrammar {
                form: InlineForm::Xml(rules),
                compiled,
            });
        }
        if let Some(t) = media_type.filter(|t| *t != "application/srgs") {
            return Err(el.err(format!(
                "an inline text grammar must be SRGS ABNF (type application/srgs), not '{t}'"
            )));
        }
        let trimmed = text.trim();
        let compiled = Grammar::from_abnf(trimmed, base).map_err(|g| {
            let start =
                el.e.children
                    .iter()
                    .find_map(|n| match n {
                        Node::Text(t) => Some(t.pos),
                        Node::Element(_) => None,
                    })
                    .unwrap_or(el.e.pos);
            let leading = text
                .get(..text.len() - text.trim_start().len())
                .unwrap_or_default();
            let pos = g
                .pos
                .map_or(el.e.pos, |p| shift_pos(shift_text(start, leading), p));
            CompileError::new(&self.url, pos, format!("in this grammar: {}", g.message))
        })?;
        Ok(InlineGrammar {
            form: InlineForm::Text(Arc::from(trimmed)),
            compiled,
        })
    }

    /// `<prompt>`.
    pub(super) fn prompt(&mut self, e: &xml::Element, outer: &Ctx) -> Result<Prompt, CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let bargein = el.bool("bargein")?;
        let bargeintype = el.keyword(
            "bargeintype",
            &[
                ("speech", BargeinType::Speech),
                ("hotword", BargeinType::Hotword),
            ],
        )?;
        let count = el.positive("count")?.unwrap_or(1);
        let cond = el.expr("cond");
        let timeout = el.duration("timeout")?;
        let loc = el.loc();
        let mut content = self.speech_children(e, &cx)?;
        trim_speech(&mut content);
        Ok(Prompt {
            bargein,
            bargeintype,
            count,
            cond,
            timeout,
            lang: cx.lang.as_deref().map(str::to_owned),
            implicit: false,
            content,
            loc,
        })
    }

    /// The speech content of `e`.
    fn speech_children(
        &mut self,
        e: &xml::Element,
        cx: &Ctx,
    ) -> Result<Vec<PromptNode>, CompileError> {
        let mut out = Vec::with_capacity(e.children.len());
        for node in &e.children {
            self.speech_node(node, cx, &mut out)?;
        }
        Ok(out)
    }

    /// One node of speech content.
    pub(super) fn speech_node(
        &mut self,
        node: &xml::Node,
        cx: &Ctx,
        out: &mut Vec<PromptNode>,
    ) -> Result<(), CompileError> {
        match node {
            Node::Text(t) => {
                let text = collapse(&t.text);
                if !text.is_empty() {
                    out.push(PromptNode::Text(TextRun {
                        text,
                        loc: self.loc(t.pos),
                    }));
                }
                Ok(())
            }
            Node::Element(e) => self.speech_element_node(e, Tag::of(e), cx, out),
        }
    }

    fn speech_text_only(&mut self, e: &xml::Element) -> Result<String, CompileError> {
        if let Some(c) = e.elements().next() {
            self.misplaced(c, e)?;
        }
        Ok(collapse(&e.deep_text()).trim().to_owned())
    }

    fn speech_element_node(
        &mut self,
        e: &xml::Element,
        tag: Tag,
        outer: &Ctx,
        out: &mut Vec<PromptNode>,
    ) -> Result<(), CompileError> {
        let cx = self.enter(e, outer)?;
        let el = self.el(e, &cx);
        let loc = el.loc();
        let node = match tag {
            Tag::Audio => {
                let src = el
                    .computed_url("src", "expr")?
                    .ok_or_else(|| el.err("<audio> needs exactly one of 'src' or 'expr'"))?;
                let fetch = el.fetch()?;
                let fallback = self.speech_children(e, &cx)?;
                PromptNode::Audio(Audio {
                    src,
                    fetch,
                    fallback,
                    loc,
                })
            }
            Tag::Value => {
                if let Some(c) = e.elements().next() {
                    self.misplaced(c, e)?;
                }
                PromptNode::Value(el.req_expr("expr")?)
            }
            Tag::Enumerate => PromptNode::Enumerate(Enumerate {
                template: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::Break => PromptNode::Break(Break {
                time: el.duration("time")?,
                strength: el.keyword(
                    "strength",
                    &[
                        ("none", BreakStrength::None),
                        ("x-weak", BreakStrength::XWeak),
                        ("weak", BreakStrength::Weak),
                        ("medium", BreakStrength::Medium),
                        ("strong", BreakStrength::Strong),
                        ("x-strong", BreakStrength::XStrong),
                    ],
                )?,
                loc,
            }),
            Tag::SayAs => PromptNode::SayAs(SayAs {
                interpret_as: el.req_nonempty("interpret-as")?.trim().to_owned(),
                format: el.opt("format").map(str::to_owned),
                detail: el.opt("detail").map(str::to_owned),
                content: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::Prosody => PromptNode::Prosody(Prosody {
                pitch: el.opt("pitch").map(str::to_owned),
                contour: el.opt("contour").map(str::to_owned),
                range: el.opt("range").map(str::to_owned),
                rate: el.opt("rate").map(str::to_owned),
                duration: el.duration("duration")?,
                volume: el.opt("volume").map(str::to_owned),
                content: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::Voice => PromptNode::Voice(Voice {
                gender: el.opt("gender").map(str::to_owned),
                age: match el.opt("age") {
                    None => None,
                    Some(a) => Some(a.trim().parse::<u32>().map_err(|_| {
                        el.err(format!(
                            "'age' of <voice> must be a whole number, not '{a}'"
                        ))
                    })?),
                },
                variant: el.opt("variant").map(str::to_owned),
                name: el.opt("name").map(str::to_owned),
                lang: e.xml_lang().map(str::to_owned),
                content: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::Emphasis => PromptNode::Emphasis(Emphasis {
                level: el.opt("level").map(str::to_owned),
                content: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::Mark => PromptNode::Mark(Mark {
                name: el
                    .computed_str("name", "nameexpr")?
                    .ok_or_else(|| el.err("<mark> needs exactly one of 'name' or 'nameexpr'"))?,
                loc,
            }),
            Tag::Sub => PromptNode::Sub(Sub {
                alias: el.req("alias")?.to_owned(),
                text: self.speech_text_only(e)?,
                loc,
            }),
            Tag::Paragraph | Tag::Sentence => {
                let speak = Speak {
                    lang: e.xml_lang().map(str::to_owned),
                    content: self.speech_children(e, &cx)?,
                    loc,
                };
                if tag == Tag::Paragraph {
                    PromptNode::Paragraph(speak)
                } else {
                    PromptNode::Sentence(speak)
                }
            }
            Tag::Phoneme => PromptNode::Phoneme(Phoneme {
                ph: el.req_nonempty("ph")?.to_owned(),
                alphabet: el.opt("alphabet").map(str::to_owned),
                text: self.speech_text_only(e)?,
                loc,
            }),
            Tag::Lexicon => PromptNode::Lexicon(Lexicon {
                uri: el.resolve("uri", el.req("uri")?)?,
                media_type: el.opt("type").map(str::to_owned),
                loc,
            }),
            Tag::Foreach => PromptNode::Foreach(PromptForeach {
                array: el.req_expr("array")?,
                item: el.req_nonempty("item")?.trim().to_owned(),
                content: self.speech_children(e, &cx)?,
                loc,
            }),
            Tag::SpeechInfo | Tag::Meta | Tag::Metadata => return Ok(()),
            Tag::Foreign | Tag::UnknownVxml | Tag::UnknownSsml | Tag::UnknownGvp => {
                return self.misplaced(e, e);
            }
            _ => {
                return Err(el.err(format!(
                    "{} is not allowed inside a prompt (only text and speech markup are)",
                    el.tag()
                )));
            }
        };
        out.push(node);
        Ok(())
    }
}
