//! The CCXML 1.0 compiler: the positioned XML tree of [`crate::xml`] becomes
//! the typed [`Document`] of [`super::model`] (CCXML 1.0 §6 document
//! structure, Appendix B schema rules). Every problem is a [`CompileError`]
//! naming `url:line:column`; the session turns it into `error.fetch`.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::model::*;
use crate::xml::{self, Element, Pos};

/// The CCXML namespace (§6).
pub const CCXML_NS: &str = "http://www.w3.org/2002/09/ccxml";

/// A document that is not well-formed XML or not valid CCXML 1.0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileError {
    /// The document's URL.
    pub url: Arc<Url>,
    /// Where the problem is.
    pub pos: Pos,
    /// A sentence a CCXML author understands.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.url, self.pos.line, self.pos.column, self.message
        )
    }
}

/// Compiles the document `src` fetched from `url`.
pub fn compile(src: &[u8], url: &Url) -> Result<Arc<Document>, CompileError> {
    let url = Arc::new(url.clone());
    let text = decode(src).map_err(|m| CompileError {
        url: url.clone(),
        pos: Pos::new(1, 1),
        message: m,
    })?;
    let tree = xml::parse(&text).map_err(|e| CompileError {
        url: url.clone(),
        pos: e.pos,
        message: e.message,
    })?;
    Compiler { url }.document(&tree).map(Arc::new)
}

/// Decodes the bytes of a document: UTF-8 (with or without BOM) or UTF-16
/// with a BOM; other encodings named in the XML declaration through
/// `encoding_rs`.
fn decode(src: &[u8]) -> Result<String, String> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(src) {
        let (text, had_errors) = enc.decode_without_bom_handling(&src[bom..]);
        if had_errors {
            return Err(format!("the document is not valid {}", enc.name()));
        }
        return Ok(text.into_owned());
    }
    let head = String::from_utf8_lossy(&src[..src.len().min(200)]).into_owned();
    let declared = head
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split("?>").next())
        .and_then(|decl| {
            let at = decl.find("encoding")?;
            let rest = decl[at + "encoding".len()..]
                .trim_start()
                .strip_prefix('=')?;
            let rest = rest.trim_start();
            let quote = rest.chars().next()?;
            let body = &rest[1..];
            Some(body[..body.find(quote)?].to_owned())
        });
    let enc = match declared {
        Some(label) => encoding_rs::Encoding::for_label(label.as_bytes())
            .ok_or_else(|| format!("unknown encoding `{label}`"))?,
        None => encoding_rs::UTF_8,
    };
    let (text, had_errors) = enc.decode_without_bom_handling(src);
    if had_errors {
        return Err(format!("the document is not valid {}", enc.name()));
    }
    Ok(text.into_owned())
}

struct Compiler {
    url: Arc<Url>,
}

/// Whether `e` is a CCXML element (the CCXML namespace, or none: many
/// deployed documents omit the namespace declaration).
fn is_ccxml(e: &Element) -> bool {
    match e.name.ns.as_deref() {
        None => true,
        Some(ns) => ns == CCXML_NS,
    }
}

impl Compiler {
    fn err(&self, pos: Pos, message: impl Into<String>) -> CompileError {
        CompileError {
            url: self.url.clone(),
            pos,
            message: message.into(),
        }
    }

    fn document(&self, root: &Element) -> Result<Document, CompileError> {
        if !is_ccxml(root) || root.name.local != "ccxml" {
            return Err(self.err(
                root.pos,
                format!(
                    "the root element is <{}>, not <ccxml>",
                    root.name.qualified()
                ),
            ));
        }
        let version = root
            .attr("version")
            .ok_or_else(|| self.err(root.pos, "<ccxml> needs a version attribute"))?;
        if version != "1.0" {
            return Err(self.err(
                root.pos,
                format!("CCXML version `{version}` is not supported (only 1.0)"),
            ));
        }
        let base = match root.xml_base() {
            Some(b) => self
                .url
                .join(b)
                .map_err(|e| self.err(root.pos, format!("bad xml:base `{b}`: {e}")))?,
            None => (*self.url).clone(),
        };
        let mut doc = Document {
            url: self.url.clone(),
            base,
            version: version.to_owned(),
            init: Vec::new(),
            eventprocessor: None,
            meta: Vec::new(),
            pos: root.pos,
        };
        for child in root.elements().filter(|e| is_ccxml(e)) {
            match child.name.local.as_str() {
                "meta" => {
                    let name = child
                        .attr("name")
                        .or_else(|| child.attr("http-equiv"))
                        .unwrap_or_default();
                    doc.meta.push((
                        name.to_owned(),
                        child.attr("content").unwrap_or_default().to_owned(),
                    ));
                }
                "metadata" => {}
                "var" | "script" => doc.init.push(self.action(child, &doc.base)?),
                "eventprocessor" => {
                    if doc.eventprocessor.is_some() {
                        return Err(
                            self.err(child.pos, "a document has at most one <eventprocessor>")
                        );
                    }
                    doc.eventprocessor = Some(self.eventprocessor(child, &doc.base)?);
                }
                other => {
                    return Err(self.err(
                        child.pos,
                        format!("<{other}> is not allowed directly inside <ccxml>"),
                    ));
                }
            }
        }
        Ok(doc)
    }

    fn eventprocessor(&self, e: &Element, base: &Url) -> Result<EventProcessor, CompileError> {
        let mut transitions = Vec::new();
        for child in e.elements().filter(|c| is_ccxml(c)) {
            if child.name.local != "transition" {
                return Err(self.err(
                    child.pos,
                    format!(
                        "<{}> is not allowed inside <eventprocessor> (only <transition>)",
                        child.name.local
                    ),
                ));
            }
            let states = child
                .attr("state")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
            let name = child.attr("name").unwrap_or("event$").to_owned();
            if !crate::script::is_identifier(&name) {
                return Err(self.err(
                    child.pos,
                    format!("transition name `{name}` is not a variable name"),
                ));
            }
            transitions.push(Transition {
                states,
                event: child.attr("event").map(EventPattern::new),
                cond: self.opt_expr(child, "cond"),
                name,
                body: self.block(child, base)?,
                pos: child.pos,
            });
        }
        Ok(EventProcessor {
            statevariable: e.attr("statevariable").map(str::to_owned),
            transitions,
            pos: e.pos,
        })
    }

    fn block(&self, e: &Element, base: &Url) -> Result<Vec<Action>, CompileError> {
        e.elements()
            .filter(|c| is_ccxml(c))
            .map(|c| self.action(c, base))
            .collect()
    }

    fn opt_expr(&self, e: &Element, attr: &str) -> Option<Expr> {
        e.attr(attr).map(|v| Expr(v.to_owned()))
    }

    fn expr(&self, e: &Element, attr: &str) -> Result<Expr, CompileError> {
        self.opt_expr(e, attr).ok_or_else(|| {
            self.err(
                e.pos,
                format!("<{}> needs a `{attr}` attribute", e.name.local),
            )
        })
    }

    fn lhs(&self, e: &Element, attr: &str) -> Option<Lhs> {
        e.attr(attr).map(|v| Lhs(v.trim().to_owned()))
    }

    fn namelist(e: &Element) -> Vec<String> {
        e.attr("namelist")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn action(&self, e: &Element, base: &Url) -> Result<Action, CompileError> {
        let kind = match e.name.local.as_str() {
            "var" => {
                let name = e
                    .attr("name")
                    .ok_or_else(|| self.err(e.pos, "<var> needs a `name` attribute"))?;
                if !crate::script::is_identifier(name) {
                    return Err(self.err(e.pos, format!("`{name}` is not a variable name")));
                }
                ActionKind::Var {
                    name: name.to_owned(),
                    expr: self.opt_expr(e, "expr"),
                }
            }
            "assign" => ActionKind::Assign {
                name: e
                    .attr("name")
                    .ok_or_else(|| self.err(e.pos, "<assign> needs a `name` attribute"))?
                    .to_owned(),
                expr: self.expr(e, "expr")?,
            },
            "script" => {
                let src =
                    match e.attr("src") {
                        Some(s) => Some(base.join(s).map_err(|err| {
                            self.err(e.pos, format!("bad script src `{s}`: {err}"))
                        })?),
                        None => None,
                    };
                let fetchid = self.opt_expr(e, "fetchid");
                let text = e.text();
                if src.is_some() && fetchid.is_some() {
                    return Err(self.err(e.pos, "<script> takes `src` or `fetchid`, not both"));
                }
                if (src.is_some() || fetchid.is_some()) && !text.trim().is_empty() {
                    return Err(self.err(e.pos, "<script> with `src` or `fetchid` must be empty"));
                }
                ActionKind::Script { text, src, fetchid }
            }
            "if" => self.if_chain(e, base)?,
            "elseif" | "else" => {
                return Err(self.err(e.pos, format!("<{}> outside <if>", e.name.local)));
            }
            "goto" => ActionKind::Goto {
                fetchid: self.expr(e, "fetchid")?,
            },
            "fetch" => ActionKind::Fetch {
                next: self.expr(e, "next")?,
                fetchid: self.lhs(e, "fetchid"),
                namelist: Self::namelist(e),
                method: self.opt_expr(e, "method"),
                mime: self.opt_expr(e, "type"),
                timeout: self.opt_expr(e, "timeout"),
                maxage: self.opt_expr(e, "maxage"),
                maxstale: self.opt_expr(e, "maxstale"),
                enctype: self.opt_expr(e, "enctype"),
            },
            "createccxml" => ActionKind::CreateCcxml {
                next: self.expr(e, "next")?,
                sessionid: self.lhs(e, "sessionid"),
                namelist: Self::namelist(e),
                method: self.opt_expr(e, "method"),
                timeout: self.opt_expr(e, "timeout"),
            },
            "exit" => ActionKind::Exit {
                expr: self.opt_expr(e, "expr"),
                namelist: Self::namelist(e),
            },
            "log" => ActionKind::Log {
                label: self.opt_expr(e, "label"),
                expr: self.expr(e, "expr")?,
            },
            "send" => {
                let name = self
                    .opt_expr(e, "name")
                    .or_else(|| self.opt_expr(e, "data"))
                    .ok_or_else(|| self.err(e.pos, "<send> needs a `name` attribute"))?;
                ActionKind::Send {
                    name,
                    target: self.opt_expr(e, "target"),
                    targettype: self.opt_expr(e, "targettype"),
                    sendid: self.lhs(e, "sendid"),
                    delay: self.opt_expr(e, "delay"),
                    namelist: Self::namelist(e),
                    hints: self.opt_expr(e, "hints"),
                }
            }
            "cancel" => ActionKind::Cancel {
                sendid: self.expr(e, "sendid")?,
            },
            "move" => {
                let source = self.opt_expr(e, "source");
                let event = self.opt_expr(e, "event");
                if source.is_some() == event.is_some() {
                    return Err(self.err(e.pos, "<move> needs exactly one of `source` and `event`"));
                }
                ActionKind::Move {
                    source,
                    event,
                    sessionid: self.expr(e, "sessionid")?,
                }
            }
            "accept" => ActionKind::Accept {
                connectionid: self.opt_expr(e, "connectionid"),
                hints: self.opt_expr(e, "hints"),
            },
            "reject" => ActionKind::Reject {
                connectionid: self.opt_expr(e, "connectionid"),
                reason: self.opt_expr(e, "reason"),
                hints: self.opt_expr(e, "hints"),
            },
            "redirect" => ActionKind::Redirect {
                connectionid: self.opt_expr(e, "connectionid"),
                dest: self.expr(e, "dest")?,
                reason: self.opt_expr(e, "reason"),
                hints: self.opt_expr(e, "hints"),
            },
            "createcall" => ActionKind::CreateCall {
                dest: self.expr(e, "dest")?,
                connectionid: self.lhs(e, "connectionid"),
                aai: self.opt_expr(e, "aai"),
                callerid: self.opt_expr(e, "callerid"),
                hints: self.opt_expr(e, "hints"),
                timeout: self.opt_expr(e, "timeout"),
                joinid: self.opt_expr(e, "joinid"),
                joindirection: self.opt_expr(e, "joindirection"),
            },
            "disconnect" => ActionKind::Disconnect {
                connectionid: self.opt_expr(e, "connectionid"),
                reason: self.opt_expr(e, "reason"),
                hints: self.opt_expr(e, "hints"),
            },
            "join" => ActionKind::Join {
                id1: self.expr(e, "id1")?,
                id2: self.expr(e, "id2")?,
                duplex: self.opt_expr(e, "duplex"),
                hints: self.opt_expr(e, "hints"),
                dtmfclamp: self.opt_expr(e, "dtmfclamp"),
                toneclamp: self.opt_expr(e, "toneclamp"),
            },
            "unjoin" => ActionKind::Unjoin {
                id1: self.expr(e, "id1")?,
                id2: self.expr(e, "id2")?,
                hints: self.opt_expr(e, "hints"),
            },
            "createconference" => ActionKind::CreateConference {
                conferenceid: self.lhs(e, "conferenceid").ok_or_else(|| {
                    self.err(e.pos, "<createconference> needs a `conferenceid` attribute")
                })?,
                confname: self.opt_expr(e, "confname"),
                reservedtalkers: self.opt_expr(e, "reservedtalkers"),
                reservedlisteners: self.opt_expr(e, "reservedlisteners"),
                hints: self.opt_expr(e, "hints"),
            },
            "destroyconference" => ActionKind::DestroyConference {
                conferenceid: self.expr(e, "conferenceid")?,
                hints: self.opt_expr(e, "hints"),
            },
            "dialogprepare" => {
                let req = self.dialog_request(e)?;
                if req.src.is_none() {
                    return Err(self.err(e.pos, "<dialogprepare> needs a `src` attribute"));
                }
                ActionKind::DialogPrepare(req)
            }
            "dialogstart" => {
                let req = self.dialog_request(e)?;
                match (&req.src, &req.prepareddialogid) {
                    (None, None) => {
                        return Err(
                            self.err(e.pos, "<dialogstart> needs `src` or `prepareddialogid`")
                        );
                    }
                    (Some(_), Some(_)) => {
                        return Err(self.err(
                            e.pos,
                            "<dialogstart> takes `src` or `prepareddialogid`, not both",
                        ));
                    }
                    _ => {}
                }
                ActionKind::DialogStart(req)
            }
            "dialogterminate" => ActionKind::DialogTerminate {
                dialogid: self.expr(e, "dialogid")?,
                immediate: self.opt_expr(e, "immediate"),
                hints: self.opt_expr(e, "hints"),
            },
            "merge" => ActionKind::Merge {
                connectionid1: self.expr(e, "connectionid1")?,
                connectionid2: self.expr(e, "connectionid2")?,
                hints: self.opt_expr(e, "hints"),
            },
            other => {
                return Err(self.err(
                    e.pos,
                    format!("<{other}> is not a CCXML executable element"),
                ));
            }
        };
        Ok(Action { kind, pos: e.pos })
    }

    fn dialog_request(&self, e: &Element) -> Result<DialogRequest, CompileError> {
        let req = DialogRequest {
            src: self.opt_expr(e, "src"),
            mime: self.opt_expr(e, "type"),
            namelist: Self::namelist(e),
            parameters: e
                .attr("parameters")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            dialogid: self.lhs(e, "dialogid"),
            prepareddialogid: self.opt_expr(e, "prepareddialogid"),
            connectionid: self.opt_expr(e, "connectionid"),
            conferenceid: self.opt_expr(e, "conferenceid"),
            duplex: self.opt_expr(e, "duplex"),
            maxage: self.opt_expr(e, "maxage"),
            maxstale: self.opt_expr(e, "maxstale"),
            method: self.opt_expr(e, "method"),
            enctype: self.opt_expr(e, "enctype"),
            hints: self.opt_expr(e, "hints"),
        };
        if req.connectionid.is_some() && req.conferenceid.is_some() {
            return Err(self.err(
                e.pos,
                format!(
                    "<{}> takes `connectionid` or `conferenceid`, not both",
                    e.name.local
                ),
            ));
        }
        Ok(req)
    }

    /// `<if>` with its `<elseif>`/`<else>` separators (§7): the children
    /// before the first separator form the `<if>` branch.
    fn if_chain(&self, e: &Element, base: &Url) -> Result<ActionKind, CompileError> {
        let mut branches = vec![Branch {
            cond: Some(self.expr(e, "cond")?),
            body: Vec::new(),
        }];
        let mut seen_else = false;
        for child in e.elements().filter(|c| is_ccxml(c)) {
            match child.name.local.as_str() {
                "elseif" => {
                    if seen_else {
                        return Err(self.err(child.pos, "<elseif> after <else>"));
                    }
                    branches.push(Branch {
                        cond: Some(self.expr(child, "cond")?),
                        body: Vec::new(),
                    });
                }
                "else" => {
                    if seen_else {
                        return Err(self.err(child.pos, "a second <else> in one <if>"));
                    }
                    seen_else = true;
                    branches.push(Branch {
                        cond: None,
                        body: Vec::new(),
                    });
                }
                _ => {
                    let action = self.action(child, base)?;
                    branches
                        .last_mut()
                        .expect("the <if> branch is always present")
                        .body
                        .push(action);
                }
            }
        }
        Ok(ActionKind::If { branches })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://app.example/dir/main.ccxml").expect("valid URL")
    }

    #[test]
    fn compiles_every_element_with_positions() {
        let src = r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <meta name="author" content="vxp"/>
  <var name="state" expr="'init'"/>
  <script src="lib.js"/>
  <eventprocessor statevariable="state">
    <transition state="init busy" event="connection.alerting" name="evt" cond="true">
      <if cond="evt.x"><accept/><elseif cond="evt.y"/><reject reason="'no'"/><else/><redirect dest="'tel:1'"/></if>
      <createcall dest="'tel:2'" connectionid="out" timeout="'10s'"/>
      <join id1="a" id2="b" duplex="'half'"/><unjoin id1="a" id2="b"/>
      <createconference conferenceid="conf"/><destroyconference conferenceid="conf"/>
      <dialogprepare src="'a.vxml'" dialogid="d" connectionid="c"/>
      <dialogstart prepareddialogid="d" connectionid="c"/>
      <dialogterminate dialogid="d" immediate="true"/>
      <send name="'ev'" target="session.id" delay="'1s'" sendid="sid" namelist="state"/>
      <cancel sendid="sid"/><fetch next="'b.ccxml'" fetchid="f"/><goto fetchid="f"/>
      <createccxml next="'c.ccxml'" sessionid="s"/><log label="'l'" expr="1"/>
      <disconnect/><exit expr="'done'" namelist="state"/>
    </transition>
  </eventprocessor>
</ccxml>"#;
        let doc = compile(src.as_bytes(), &url()).expect("compiles");
        assert_eq!(doc.meta, vec![("author".to_owned(), "vxp".to_owned())]);
        assert_eq!(doc.init.len(), 2);
        assert_eq!(
            doc.script_sources(),
            vec![Url::parse("http://app.example/dir/lib.js").expect("valid URL")]
        );
        let ep = doc.eventprocessor.as_ref().expect("eventprocessor");
        assert_eq!(ep.statevariable.as_deref(), Some("state"));
        let t = &ep.transitions[0];
        assert_eq!(t.states, vec!["init", "busy"]);
        assert_eq!(t.name, "evt");
        assert_eq!(t.pos, Pos::new(7, 5));
        assert_eq!(t.body.len(), 17);
        let ActionKind::If { branches } = &t.body[0].kind else {
            panic!("an <if> first");
        };
        assert_eq!(branches.len(), 3);
        assert_eq!(branches[1].body.len(), 1);
        assert!(branches[2].cond.is_none());
        assert_eq!(t.body[0].pos, Pos::new(8, 7));
    }

    #[test]
    fn errors_name_url_line_and_column() {
        let cases = [
            ("<vxml version=\"2.1\"/>", "not <ccxml>"),
            ("<ccxml version=\"2.0\"/>", "version `2.0`"),
            (
                "<ccxml version=\"1.0\"><transition/></ccxml>",
                "not allowed directly",
            ),
            (
                "<ccxml version=\"1.0\"><eventprocessor><transition><accept/><frobnicate/></transition></eventprocessor></ccxml>",
                "<frobnicate> is not a CCXML",
            ),
            (
                "<ccxml version=\"1.0\"><eventprocessor><transition><dialogstart connectionid=\"c\"/></transition></eventprocessor></ccxml>",
                "needs `src` or `prepareddialogid`",
            ),
            ("<ccxml version=\"1.0\"><var/></ccxml>", "needs a `name`"),
            ("<ccxml version=\"1.0\"><var name=\"a b\"/>", "1:"),
        ];
        for (src, needle) in cases {
            let err = compile(src.as_bytes(), &url()).expect_err(src);
            let text = err.to_string();
            assert!(
                text.starts_with("http://app.example/dir/main.ccxml:1:"),
                "{text}"
            );
            assert!(text.contains(needle), "{text} lacks {needle}");
        }
    }

    #[test]
    fn event_patterns() {
        let p = EventPattern::new("connection.*");
        assert!(p.matches("connection.alerting"));
        assert!(p.matches("CONNECTION.Connected"));
        assert!(!p.matches("connectionx.alerting"));
        let p = EventPattern::new("error");
        assert!(p.matches("error"));
        assert!(p.matches("error.send.failed"));
        assert!(!p.matches("errors"));
        let p = EventPattern::new("dialog.*.exit");
        assert!(p.matches("dialog.user.exit"));
        assert!(!p.matches("dialog.exit"));
        assert!(EventPattern::new("*").matches("anything.at.all"));
        let p = EventPattern::new("error.send");
        assert!(p.matches("error.send.targetunavailable"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut src = String::from("<ccxml version=\"1.0\"><eventprocessor><transition>");
        for _ in 0..5000 {
            src.push_str("<if cond=\"true\">");
        }
        let err = compile(src.as_bytes(), &url()).expect_err("too deep or unclosed");
        assert!(err.to_string().contains("main.ccxml:1:"), "{err}");
    }
}
