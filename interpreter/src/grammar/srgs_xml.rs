//! The XML form of SRGS 1.0 (`application/srgs+xml`, SRGS §2–§4 in their
//! XML syntax): a `<grammar>` element, inline in a VoiceXML page or the root
//! of a `.grxml` file, into the grammar model.

use url::Url;

use crate::xml::{Element, Node, Pos};

use super::compile::{self, Header, Syntax};
use super::model::{
    Alternatives, Builder, Compiled, Expr, ExprId, ExternalTarget, Rule, RuleRef, TagFormat,
};
use super::{GrammarError, Mode, SRGS_NS, VXML_NS};

/// Largest repeat bound accepted (SRGS sets none; this keeps work bounded).
pub(crate) const MAX_REPEAT: u32 = 10_000;

/// Compiles an inline or external `<grammar>` element. `external` applies the
/// checks SRGS makes of stand-alone documents (version and language present).
pub(crate) fn parse(el: &Element, base: &Url) -> Result<Compiled, GrammarError> {
    parse_with(el, base, false)
}

/// As [`parse`]; `external` is true for the root of a grammar file.
pub(crate) fn parse_with(
    el: &Element,
    url: &Url,
    external: bool,
) -> Result<Compiled, GrammarError> {
    let err = |pos: Pos, m: String| GrammarError::new(url, Some(pos), m);
    let ns_ok = if external {
        el.name.ns.as_deref() == Some(SRGS_NS)
    } else {
        in_grammar_ns(el)
    };
    if el.name.local != "grammar" || !ns_ok {
        return Err(err(
            el.pos,
            format!(
                "expected a <grammar> element in the SRGS namespace {SRGS_NS}, found <{}>",
                el.name
            ),
        ));
    }
    if external {
        match el.attr("version") {
            Some("1.0") => {}
            Some(v) => return Err(err(el.pos, format!("unsupported SRGS version '{v}'"))),
            None => {
                return Err(err(
                    el.pos,
                    "the grammar has no version=\"1.0\" attribute".into(),
                ));
            }
        }
    }
    let mode = match el.attr("mode") {
        Some(m) => Mode::parse(m)
            .ok_or_else(|| err(el.pos, format!("mode must be voice or dtmf, not '{m}'")))?,
        None => Mode::Voice,
    };
    let lang = el.xml_lang().map(str::to_owned);
    if external && mode == Mode::Voice && lang.is_none() {
        return Err(err(
            el.pos,
            "a voice grammar must declare its language with xml:lang".into(),
        ));
    }
    let base = match el.xml_base() {
        Some(b) => url
            .join(b)
            .map_err(|e| err(el.pos, format!("xml:base '{b}' is not a valid URI: {e}")))?,
        None => url.clone(),
    };
    let tag_format = el.attr("tag-format").map(str::to_owned);
    let mut p = XmlFront {
        url,
        base,
        mode,
        format: TagFormat::from_declaration(tag_format.as_deref()),
        base_written: el.xml_base().map(str::to_owned),
        b: Builder::default(),
    };
    let mut metas = Vec::new();
    let mut lexicons = Vec::new();
    for child in &el.children {
        let c = match child {
            Node::Element(c) => c,
            Node::Text(t) if t.text.trim().is_empty() => continue,
            Node::Text(t) => {
                return Err(err(
                    t.pos,
                    format!("text '{}' outside any rule", t.text.trim()),
                ));
            }
        };
        if !in_grammar_ns(c) {
            continue;
        }
        match c.name.local.as_str() {
            "meta" => {
                let name = c
                    .attr("name")
                    .or_else(|| c.attr("http-equiv"))
                    .ok_or_else(|| {
                        err(c.pos, "<meta> needs a name or http-equiv attribute".into())
                    })?;
                let content = c
                    .attr("content")
                    .ok_or_else(|| err(c.pos, "<meta> needs a content attribute".into()))?;
                if name == "base" && p.base_written.is_none() {
                    p.base = url.join(content).map_err(|e| {
                        err(c.pos, format!("base '{content}' is not a valid URI: {e}"))
                    })?;
                    p.base_written = Some(content.to_owned());
                }
                metas.push((name.to_owned(), content.to_owned()));
            }
            "metadata" | "tag" => {}
            "lexicon" => {
                let uri = c
                    .attr("uri")
                    .ok_or_else(|| err(c.pos, "<lexicon> needs a uri attribute".into()))?;
                lexicons.push(uri.to_owned());
            }
            "rule" => p.rule(c)?,
            other => {
                return Err(err(
                    c.pos,
                    format!("<{other}> is not allowed directly inside <grammar>"),
                ));
            }
        }
    }
    let root = el.attr("root").map(|r| (r.trim().to_owned(), el.pos));
    compile::finish(
        p.b,
        Header {
            url: url.clone(),
            mode,
            lang,
            tag_format,
            root,
            metas,
            lexicons,
            syntax: Syntax::Xml,
        },
    )
}

fn in_grammar_ns(el: &Element) -> bool {
    match el.name.ns.as_deref() {
        None => true,
        Some(ns) => ns == SRGS_NS || ns == VXML_NS,
    }
}

struct XmlFront<'a> {
    url: &'a Url,
    base: Url,
    mode: Mode,
    format: TagFormat,
    base_written: Option<String>,
    b: Builder,
}

impl XmlFront<'_> {
    fn err(&self, pos: Pos, m: impl Into<String>) -> GrammarError {
        GrammarError::new(self.url, Some(pos), m)
    }

    fn rule(&mut self, el: &Element) -> Result<(), GrammarError> {
        let id = el
            .attr("id")
            .ok_or_else(|| self.err(el.pos, "<rule> needs an id attribute"))?
            .trim()
            .to_owned();
        check_rule_name(&id).map_err(|m| self.err(el.pos, m))?;
        let public = match el.attr("scope") {
            None | Some("private") => false,
            Some("public") => true,
            Some(s) => {
                return Err(self.err(
                    el.pos,
                    format!("scope must be public or private, not '{s}'"),
                ));
            }
        };
        let items = self.expansion(el, true)?;
        if items.is_empty() {
            return Err(self.err(el.pos, format!("rule '{id}' is empty")));
        }
        let body = self.b.seq(items);
        self.b.rules.push(Rule {
            name: id,
            public,
            body,
            pos: el.pos,
        });
        Ok(())
    }

    /// The expansions among `el`'s children, in order.
    fn expansion(&mut self, el: &Element, in_rule: bool) -> Result<Vec<ExprId>, GrammarError> {
        let mut items = Vec::new();
        for child in &el.children {
            match child {
                Node::Text(t) => self.text_tokens(&t.text, t.pos, &mut items)?,
                Node::Element(c) => {
                    if !in_grammar_ns(c) {
                        continue;
                    }
                    match c.name.local.as_str() {
                        "example" if in_rule => {}
                        "token" => {
                            let text = c.text();
                            if text.trim().is_empty() {
                                return Err(self.err(c.pos, "<token> is empty"));
                            }
                            items.push(self.b.token(&text, self.mode));
                        }
                        "tag" => {
                            let text: std::sync::Arc<str> = c.text().into();
                            items.push(self.b.push(Expr::Tag {
                                text,
                                format: self.format,
                            }));
                        }
                        "ruleref" => items.push(self.ruleref(c)?),
                        "item" => items.push(self.item(c)?),
                        "one-of" => items.push(self.one_of(c)?),
                        other => {
                            return Err(self.err(
                                c.pos,
                                format!("<{other}> is not allowed inside <{}>", el.name.local),
                            ));
                        }
                    }
                }
            }
        }
        Ok(items)
    }

    /// Splits character data into tokens; double quotes delimit a
    /// multi-word token (SRGS §2.1).
    fn text_tokens(
        &mut self,
        text: &str,
        pos: Pos,
        out: &mut Vec<ExprId>,
    ) -> Result<(), GrammarError> {
        let mut rest = text;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                return Ok(());
            }
            if let Some(q) = rest.strip_prefix('"') {
                let end = q
                    .find('"')
                    .ok_or_else(|| self.err(pos, "a quoted token is not closed"))?;
                let tok = &q[..end];
                if !tok.trim().is_empty() {
                    out.push(self.b.token(tok, self.mode));
                }
                rest = &q[end + 1..];
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                out.push(self.b.token(&rest[..end], self.mode));
                rest = &rest[end..];
            }
        }
    }

    fn ruleref(&mut self, el: &Element) -> Result<ExprId, GrammarError> {
        match (el.attr("uri"), el.attr("special")) {
            (Some(_), Some(_)) => Err(self.err(el.pos, "<ruleref> has both uri and special")),
            (None, Some(s)) => match s.trim() {
                "NULL" => Ok(self.b.push(Expr::Null)),
                "VOID" => Ok(self.b.push(Expr::Void)),
                "GARBAGE" => Ok(self.b.push(Expr::Garbage)),
                other => Err(self.err(el.pos, format!("unknown special rule '{other}'"))),
            },
            (Some(uri), None) => {
                let r = rule_ref(
                    uri.trim(),
                    el.attr("type").map(str::to_owned),
                    &self.base,
                    self.base_written.as_deref(),
                    el.pos,
                )
                .map_err(|m| self.err(el.pos, m))?;
                Ok(self.b.push(Expr::Ref(r)))
            }
            (None, None) => Err(self.err(el.pos, "<ruleref> needs a uri or special attribute")),
        }
    }

    fn item(&mut self, el: &Element) -> Result<ExprId, GrammarError> {
        let items = self.expansion(el, false)?;
        let body = self.b.seq(items);
        let Some(repeat) = el.attr("repeat") else {
            if el.attr("repeat-prob").is_some() {
                return Err(self.err(el.pos, "repeat-prob without repeat"));
            }
            return Ok(body);
        };
        let (min, max) = parse_repeat(repeat).map_err(|m| self.err(el.pos, m))?;
        if let Some(p) = el.attr("repeat-prob") {
            parse_prob(p).map_err(|m| self.err(el.pos, m))?;
        }
        Ok(self.b.push(Expr::Repeat {
            child: body,
            min,
            max,
        }))
    }

    fn one_of(&mut self, el: &Element) -> Result<ExprId, GrammarError> {
        let mut items = Vec::new();
        for child in &el.children {
            match child {
                Node::Text(t) if t.text.trim().is_empty() => {}
                Node::Text(t) => {
                    return Err(self.err(t.pos, "text inside <one-of> must be in an <item>"));
                }
                Node::Element(c) if !in_grammar_ns(c) => {}
                Node::Element(c) if c.name.local == "item" => {
                    let weight = match c.attr("weight") {
                        Some(w) => parse_weight(w).map_err(|m| self.err(c.pos, m))?,
                        None => 1.0,
                    };
                    let id = self.item(c)?;
                    items.push((id, weight));
                }
                Node::Element(c) => {
                    return Err(self.err(
                        c.pos,
                        format!("<{}> is not allowed inside <one-of>", c.name.local),
                    ));
                }
            }
        }
        if items.is_empty() {
            return Err(self.err(el.pos, "<one-of> has no <item>"));
        }
        Ok(self
            .b
            .push(Expr::Alt(Box::new(Alternatives { items, index: None }))))
    }
}

/// A rule reference by URI: `#name` or an external grammar (SRGS §2.2).
pub(crate) fn rule_ref(
    uri: &str,
    media_type: Option<String>,
    base: &Url,
    base_written: Option<&str>,
    pos: Pos,
) -> Result<RuleRef, String> {
    if let Some(name) = uri.strip_prefix('#') {
        check_rule_name(name)?;
        return Ok(RuleRef {
            display: name.into(),
            target: None,
            external: None,
            pos,
        });
    }
    let mut url = base
        .join(uri)
        .map_err(|e| format!("rule reference '{uri}' is not a valid URI: {e}"))?;
    let rule = url.fragment().map(str::to_owned);
    url.set_fragment(None);
    // Parse trees name the reference as written, prefixed with a declared
    // relative base (the W3C test-set notation).
    let shown = match base_written {
        Some(b) if Url::parse(uri).is_err() && !uri.starts_with('/') => {
            let dir = b.rfind('/').map_or("", |i| &b[..=i]);
            format!("{dir}{uri}")
        }
        _ => uri.to_owned(),
    };
    Ok(RuleRef {
        display: format!("<{shown}>").into(),
        target: None,
        external: Some(ExternalTarget {
            url,
            rule,
            media_type,
        }),
        pos,
    })
}

/// SRGS §3.1: a rule name must not be empty nor contain `.`, `:` or `-`, and
/// special names are reserved.
pub(crate) fn check_rule_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a rule name is empty".into());
    }
    if name.contains(['.', ':', '-']) || name.contains(char::is_whitespace) {
        return Err(format!("'{name}' is not a valid rule name"));
    }
    Ok(())
}

/// `repeat="n"`, `"n-m"` or `"n-"` (SRGS §2.5).
pub(crate) fn parse_repeat(s: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("repeat '{s}' is not of the form n, n-m or n-");
    let num = |t: &str| -> Result<u32, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let v: u64 = t.parse().map_err(|_| bad())?;
        if v > u64::from(MAX_REPEAT) {
            return Err(format!(
                "repeat count {v} exceeds the supported maximum of {MAX_REPEAT}"
            ));
        }
        u32::try_from(v).map_err(|_| bad())
    };
    let (min, max) = match s.trim().split_once('-') {
        None => {
            let n = num(s)?;
            (n, Some(n))
        }
        Some((a, b)) if b.trim().is_empty() => (num(a)?, None),
        Some((a, b)) => (num(a)?, Some(num(b)?)),
    };
    if max.is_some_and(|m| m < min) {
        return Err(format!("repeat '{s}' has its maximum below its minimum"));
    }
    Ok((min, max))
}

/// `repeat-prob` (SRGS §2.5.1): a probability in 0.0..=1.0.
pub(crate) fn parse_prob(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "repeat-prob '{s}' is not a probability between 0 and 1"
        )),
    }
}

/// `weight` (SRGS §2.4.1): a non-negative number.
pub(crate) fn parse_weight(s: &str) -> Result<f32, String> {
    let t = s.trim();
    let ok = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.');
    match t.parse::<f32>() {
        Ok(w) if ok && w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(format!("weight '{s}' is not a non-negative number")),
    }
}
