//! Native evaluation of the common SISR 1.0 tag forms (SISR §3–§6), without
//! running ECMAScript.
//!
//! Most grammars' tags only assign literals or rule variables to `out` or to
//! one of its properties: `out = "x"`, `out.a = 5`, `out.city = 'BOS';`,
//! `out = rules.R`, `out.p = rules.latest()`, `out.said =
//! meta.current().text`. A parse whose tags all have such forms is evaluated
//! here and its value built as boa objects directly; the result is the value
//! the generated program would give (same value types, same property order,
//! the same object shared where the script would share it). Anything else,
//! and any case where the script would throw, is declined and the caller runs
//! the script.

use boa_engine::{Context, JsObject, JsValue, js_string};

use crate::grammar::matcher::ParseNode;

/// Deepest rule nesting evaluated here; deeper parses go to the script path.
const MAX_DEPTH: usize = 64;

/// Most statements one tag may hold to be read here.
const MAX_STATEMENTS: usize = 64;

/// The value of `parse` (SISR §6), or `None` when a tag is not one of the
/// forms read here or the script would throw.
pub(super) fn interpret(parse: &ParseNode, ctx: &mut Context) -> Option<JsValue> {
    let mut heap = Heap::default();
    let value = heap.rule(parse, 0)?;
    Some(heap.to_js(&value, ctx))
}

/// Whether every statement of a `semantics/1.0` tag body is a form read here.
pub(super) fn is_native(tag: &str) -> bool {
    parse_tag(tag).is_some()
}

/// A value during native evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Undefined,
    Null,
    Bool(bool),
    /// A number boa stores as an integer (an `i32` exactly).
    Int(i32),
    /// Any other number.
    Num(f64),
    Str(String),
    /// An object: index into [`Heap::objects`].
    Obj(usize),
}

/// Where a statement assigns.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// `out`
    Out,
    /// `out.name`
    OutProp(String),
}

/// What a statement assigns.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Literal(Value),
    /// `rules.name`
    Rule(String),
    /// `rules.latest()`
    Latest,
    /// `meta.current().text`
    CurrentText,
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    target: Target,
    source: Source,
}

/// Objects created while evaluating, as ordered property lists.
#[derive(Default)]
struct Heap {
    objects: Vec<Vec<(String, Value)>>,
}

impl Heap {
    fn new_object(&mut self) -> Value {
        self.objects.push(Vec::new());
        Value::Obj(self.objects.len() - 1)
    }

    /// The value of one matched rule: its tags run in order with the rules
    /// it referenced, as the generated script does.
    fn rule(&mut self, node: &ParseNode, depth: usize) -> Option<Value> {
        let ParseNode::Rule { children, .. } = node else {
            return Some(Value::Str(node.text()));
        };
        if depth > MAX_DEPTH {
            return None;
        }
        let mut out: Option<Value> = None;
        let mut rules: Vec<(&str, Value)> = Vec::new();
        let mut latest = Value::Undefined;
        let mut text: Option<String> = None;
        for c in children {
            match c {
                ParseNode::Token(_) => {}
                ParseNode::Tag { text: tag, literal } => {
                    if *literal {
                        out = Some(Value::Str(tag.trim().to_owned()));
                        continue;
                    }
                    let mut current = match out.take() {
                        Some(v) => v,
                        None => self.new_object(),
                    };
                    for s in parse_tag(tag)? {
                        let v = match s.source {
                            Source::Literal(v) => v,
                            Source::Rule(name) => rules
                                .iter()
                                .find(|(k, _)| *k == name)
                                .map_or(Value::Undefined, |(_, v)| v.clone()),
                            Source::Latest => latest.clone(),
                            Source::CurrentText => {
                                Value::Str(text.get_or_insert_with(|| node.text()).clone())
                            }
                        };
                        match s.target {
                            Target::Out => current = v,
                            Target::OutProp(name) => {
                                // Strict mode: a property set on a primitive throws.
                                let Value::Obj(i) = current else { return None };
                                let props = self.objects.get_mut(i)?;
                                match props.iter_mut().find(|(k, _)| *k == name) {
                                    Some((_, slot)) => *slot = v,
                                    None => props.push((name, v)),
                                }
                            }
                        }
                    }
                    out = Some(current);
                }
                ParseNode::Rule { rule, .. } => {
                    if is_reserved(rule) {
                        return None;
                    }
                    let v = self.rule(c, depth + 1)?;
                    match rules.iter_mut().find(|(k, _)| *k == rule.as_str()) {
                        Some((_, slot)) => *slot = v.clone(),
                        None => rules.push((rule, v.clone())),
                    }
                    latest = v;
                }
            }
        }
        Some(match out {
            Some(v) => v,
            None => Value::Str(text.unwrap_or_else(|| node.text())),
        })
    }

    /// Builds `value` in `ctx`, one boa object per reachable heap object
    /// (shared and cyclic references kept), without recursion.
    fn to_js(&self, value: &Value, ctx: &mut Context) -> JsValue {
        let mut made: Vec<Option<JsObject>> = vec![None; self.objects.len()];
        let mut pending: Vec<usize> = Vec::new();
        let root = self.scalar_or_object(value, &mut made, &mut pending, ctx);
        while let Some(i) = pending.pop() {
            let Some(obj) = made.get(i).cloned().flatten() else {
                continue;
            };
            for (k, v) in self.objects.get(i).map(Vec::as_slice).unwrap_or_default() {
                let v = self.scalar_or_object(v, &mut made, &mut pending, ctx);
                // A fresh ordinary object with Object.prototype: defining a
                // data property cannot fail.
                let _ = obj.create_data_property_or_throw(js_string!(k.as_str()), v, ctx);
            }
        }
        root
    }

    /// The boa value for `v`; an object not made yet is created empty and
    /// queued for its properties.
    fn scalar_or_object(
        &self,
        v: &Value,
        made: &mut [Option<JsObject>],
        pending: &mut Vec<usize>,
        ctx: &mut Context,
    ) -> JsValue {
        match v {
            Value::Undefined => JsValue::undefined(),
            Value::Null => JsValue::null(),
            Value::Bool(b) => JsValue::from(*b),
            Value::Int(n) => JsValue::from(*n),
            Value::Num(n) => JsValue::from(*n),
            Value::Str(s) => JsValue::from(js_string!(s.as_str())),
            Value::Obj(i) => match made.get_mut(*i) {
                Some(Some(o)) => o.clone().into(),
                Some(slot) => {
                    let o = JsObject::with_object_proto(ctx.intrinsics());
                    *slot = Some(o.clone());
                    pending.push(*i);
                    o.into()
                }
                None => JsValue::undefined(),
            },
        }
    }
}

/// Names whose reading or writing through `rules.x`/`out.x` is not a plain
/// own data property: `Object.prototype`'s members and the helpers of the
/// generated script's `rules` object.
fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "__proto__"
            | "__defineGetter__"
            | "__defineSetter__"
            | "__lookupGetter__"
            | "__lookupSetter__"
            | "constructor"
            | "hasOwnProperty"
            | "isPrototypeOf"
            | "propertyIsEnumerable"
            | "toLocaleString"
            | "toString"
            | "valueOf"
            | "latest"
            | "__set"
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    Str(&'a str),
    Num(Value),
    Dot,
    Assign,
    Semi,
    Open,
    Close,
    /// A line break (for automatic semicolon insertion).
    Newline,
}

/// Splits a tag into the few tokens the native forms use; `None` on
/// anything else (comments, escapes, operators, other punctuation).
fn tokenize(src: &str) -> Option<Vec<Token<'_>>> {
    let mut tokens = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' | b'\r' => {
                tokens.push(Token::Newline);
                i += 1;
            }
            b' ' | b'\t' => i += 1,
            b'.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            b'=' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    return None;
                }
                tokens.push(Token::Assign);
                i += 1;
            }
            b';' => {
                tokens.push(Token::Semi);
                i += 1;
            }
            b'(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b'"' | b'\'' => {
                let rest = src.get(i + 1..)?;
                let end = rest.find([b as char, '\\', '\n', '\r'])?;
                if rest.as_bytes().get(end) != Some(&b) {
                    return None;
                }
                tokens.push(Token::Str(rest.get(..end)?));
                i += end + 2;
            }
            b'0'..=b'9' => {
                let rest = src.get(i..)?;
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                let lit = rest.get(..end)?;
                tokens.push(Token::Num(number(lit)?));
                i += end;
                // `5in`, `5x`, `5e3`: not a plain decimal literal.
                if bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
                {
                    return None;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let rest = src.get(i..)?;
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(rest.len());
                // A non-ASCII character right after is declined by the next
                // turn of the loop (JS may read it as part of the name).
                tokens.push(Token::Ident(rest.get(..end)?));
                i += end;
            }
            _ => return None,
        }
    }
    Some(tokens)
}

/// A decimal literal as boa compiles it: `i32` when exact, else a double.
/// Leading zeros (octal-like, a strict-mode error) and a trailing or second
/// dot are declined.
fn number(lit: &str) -> Option<Value> {
    let (int, frac) = match lit.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (lit, None),
    };
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    if let Some(f) = frac
        && (f.is_empty() || f.contains('.'))
    {
        return None;
    }
    let n: f64 = lit.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let as_int = n as i32;
    Some(if f64::from(as_int).to_bits() == n.to_bits() {
        Value::Int(as_int)
    } else {
        Value::Num(n)
    })
}

/// Reads a tag body as native statements, or `None` if any part of it is
/// another form.
fn parse_tag(src: &str) -> Option<Vec<Statement>> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, at: 0 };
    let mut out = Vec::new();
    loop {
        p.skip_separators();
        if p.at >= p.tokens.len() {
            return Some(out);
        }
        if out.len() >= MAX_STATEMENTS {
            return None;
        }
        out.push(p.statement()?);
        // A statement ends at `;`, the end, or a line break before the next
        // statement (ASI: `out` cannot continue an assignment's value).
        match p.tokens.get(p.at) {
            None | Some(Token::Semi) | Some(Token::Newline) => {}
            Some(_) => return None,
        }
    }
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn skip_separators(&mut self) {
        while matches!(self.tokens.get(self.at), Some(Token::Semi | Token::Newline)) {
            self.at += 1;
        }
    }

    /// The next token, line breaks skipped (they matter only between
    /// statements).
    fn next(&mut self) -> Option<Token<'a>> {
        while let Some(Token::Newline) = self.tokens.get(self.at) {
            self.at += 1;
        }
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, t: &Token<'_>) -> Option<()> {
        (self.next()? == *t).then_some(())
    }

    fn ident(&mut self) -> Option<&'a str> {
        match self.next()? {
            Token::Ident(s) => Some(s),
            _ => None,
        }
    }

    fn statement(&mut self) -> Option<Statement> {
        if self.ident()? != "out" {
            return None;
        }
        let target = match self.next()? {
            Token::Assign => Target::Out,
            Token::Dot => {
                let name = self.ident()?;
                if name == "__proto__" {
                    return None;
                }
                self.expect(&Token::Assign)?;
                Target::OutProp(name.to_owned())
            }
            _ => return None,
        };
        let source = match self.next()? {
            Token::Str(s) => Source::Literal(Value::Str(s.to_owned())),
            Token::Num(n) => Source::Literal(n),
            Token::Ident("true") => Source::Literal(Value::Bool(true)),
            Token::Ident("false") => Source::Literal(Value::Bool(false)),
            Token::Ident("null") => Source::Literal(Value::Null),
            Token::Ident("rules") => {
                self.expect(&Token::Dot)?;
                match self.ident()? {
                    "latest" => {
                        self.expect(&Token::Open)?;
                        self.expect(&Token::Close)?;
                        Source::Latest
                    }
                    name if is_reserved(name) => return None,
                    name => Source::Rule(name.to_owned()),
                }
            }
            Token::Ident("meta") => {
                self.expect(&Token::Dot)?;
                if self.ident()? != "current" {
                    return None;
                }
                self.expect(&Token::Open)?;
                self.expect(&Token::Close)?;
                self.expect(&Token::Dot)?;
                if self.ident()? != "text" {
                    return None;
                }
                Source::CurrentText
            }
            _ => return None,
        };
        Some(Statement { target, source })
    }
}

#[cfg(test)]
mod tests {
    use boa_engine::{Context, JsValue, Source};
    use url::Url;

    use super::{Source as Src, Statement, Target, Value, interpret, parse_tag};
    use crate::grammar::{Candidate, Grammar, Input, Recognition, recognize};

    /// A grammar whose root rule `r` matches "a b c d", references `x`
    /// (tags `X_TAG`) and `y` (no tag), and runs `BODY` last.
    fn grammar(body: &str, x_tag: &str) -> Grammar {
        let x = if x_tag.is_empty() {
            String::new()
        } else {
            format!("<tag><![CDATA[{x_tag}]]></tag>")
        };
        let src = format!(
            r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" root="r" tag-format="semantics/1.0">
            <rule id="r">a <ruleref uri="#x"/> <ruleref uri="#y"/><tag><![CDATA[{body}]]></tag></rule>
            <rule id="x">b{x}</rule>
            <rule id="y">c d</rule></grammar>"##
        );
        let url = Url::parse("file:///t.grxml").expect("url");
        Grammar::from_xml(&crate::xml::parse(&src).expect("xml"), &url).expect("grammar")
    }

    fn parse_of(g: &Grammar) -> crate::grammar::ParseNode {
        let c = [Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }];
        match recognize(&c, Input::Words("a b c d"), 1) {
            Recognition::Match { mut hypotheses, .. } => hypotheses.remove(0).parse,
            other => panic!("no match: {other:?}"),
        }
    }

    /// Own property names with their attributes, extensibility and
    /// prototype of an object, as ECMAScript sees them.
    const SHAPE: &str = r#"(function (o) {
        return Object.getOwnPropertyNames(o).map(function (k) {
            var d = Object.getOwnPropertyDescriptor(o, k);
            return k + ":" + (d.writable ? "w" : "") + (d.enumerable ? "e" : "") + (d.configurable ? "c" : "");
        }).join() + "|" + Object.isExtensible(o) + "|" + (Object.getPrototypeOf(o) === Object.prototype);
    })"#;

    /// Whether `a` and `b` are the same value down to boa's number
    /// representation, property order and attributes, and which objects are
    /// shared.
    fn same(a: &JsValue, b: &JsValue, ctx: &mut Context) -> Result<(), String> {
        use boa_engine::value::JsVariant as V;
        let shape = ctx.eval(Source::from_bytes(SHAPE)).expect("shape function");
        let shape = shape.as_object().expect("a function");
        let mut pairs: Vec<(boa_engine::JsObject, boa_engine::JsObject)> = Vec::new();
        let mut todo = vec![(a.clone(), b.clone(), String::from("$"))];
        while let Some((a, b, path)) = todo.pop() {
            match (a.variant(), b.variant()) {
                (V::Object(x), V::Object(y)) => {
                    if let Some((_, seen)) = pairs
                        .iter()
                        .find(|(p, _)| boa_engine::JsObject::equals(p, &x))
                    {
                        if !boa_engine::JsObject::equals(seen, &y) {
                            return Err(format!("{path}: sharing differs"));
                        }
                        continue;
                    }
                    if pairs
                        .iter()
                        .any(|(_, q)| boa_engine::JsObject::equals(q, &y))
                    {
                        return Err(format!("{path}: sharing differs"));
                    }
                    pairs.push((x.clone(), y.clone()));
                    let sx = shape
                        .call(&JsValue::undefined(), std::slice::from_ref(&a), ctx)
                        .expect("shape")
                        .display()
                        .to_string();
                    let sy = shape
                        .call(&JsValue::undefined(), std::slice::from_ref(&b), ctx)
                        .expect("shape")
                        .display()
                        .to_string();
                    if sx != sy {
                        return Err(format!("{path}: {sx} vs {sy}"));
                    }
                    for k in x.own_property_keys(ctx).expect("keys") {
                        let va = x.get(k.clone(), ctx).expect("get");
                        let vb = y.get(k.clone(), ctx).expect("get");
                        todo.push((va, vb, format!("{path}.{k}")));
                    }
                }
                (V::Float64(x), V::Float64(y)) if x.to_bits() == y.to_bits() => {}
                (V::Integer32(x), V::Integer32(y)) if x == y => {}
                (V::Boolean(x), V::Boolean(y)) if x == y => {}
                (V::String(x), V::String(y)) if x == y => {}
                (V::Null, V::Null) | (V::Undefined, V::Undefined) => {}
                _ => {
                    return Err(format!("{path}: {} vs {}", a.display(), b.display()));
                }
            }
        }
        Ok(())
    }

    /// Tag bodies the native path reads, with the `x` rule's tag.
    const NATIVE: &[(&str, &str)] = &[
        ("", ""),
        (";", ""),
        ("out = \"x\"", ""),
        ("out='x';", ""),
        ("out.a = 5", ""),
        ("out.city = 'BOS';", ""),
        ("out.a = 5; out.b = 'six'; out.a = 7", ""),
        (
            "out.n = 2147483647; out.m = 2147483648; out.f = 1.5; out.z = 0; out.h = 0.0; out.t = 10.25",
            "",
        ),
        ("out.t = true; out.f = false; out.n = null", ""),
        ("out = rules.x", ""),
        ("out = rules.x", "out = 'X'"),
        ("out = rules.x", "out.k = 1"),
        ("out.p = rules.x", "out.k = 1; out.l = 'L'"),
        ("out.p = rules.latest()", ""),
        ("out.p = rules.latest()", "out = 42"),
        ("out = rules.x; out.more = 1", "out.k = 1"),
        ("out = rules.latest()", ""),
        ("out.p = rules.y; out.q = rules.x", ""),
        ("out.p = rules.nothere", ""),
        ("out = meta.current().text", ""),
        (
            "out.said = meta.current().text; out.x = rules.x",
            "out.w = meta.current().text",
        ),
        (
            "out.a = rules.x; out.b = rules.x; out.c = rules.latest()",
            "out.k = 'shared'",
        ),
        ("out = rules.x; out.self = rules.x", "out.k = 1"),
        ("out.a = 1\nout.b = 2\r\nout.c = 3", ""),
        ("  out . a\n = \n 'spaced' ;; ", ""),
        (
            "out.$d = 1; out._u = 2; out.if = 3; out.constructor = 4",
            "",
        ),
        ("out.s = 'héllo wörld ☎'", ""),
        ("out = rules.x", "out = \"a\"; out = 'b'"),
        ("out = null", ""),
    ];

    #[test]
    fn native_forms_give_what_the_script_gives() {
        let mut ctx = Context::default();
        for (body, x_tag) in NATIVE {
            let g = grammar(body, x_tag);
            let parse = parse_of(&g);
            let native = interpret(&parse, &mut ctx)
                .unwrap_or_else(|| panic!("{body:?} / {x_tag:?} is read natively"));
            let script = super::super::interpret_script(&parse, &mut ctx)
                .unwrap_or_else(|e| panic!("{body:?}: {e}"));
            if let Err(e) = same(&native, &script, &mut ctx) {
                panic!("{body:?} / {x_tag:?}: {e}");
            }
        }
    }

    #[test]
    fn other_forms_and_throwing_cases_are_declined() {
        let mut ctx = Context::default();
        let declined: &[(&str, &str)] = &[
            ("var v = 1; out = v", ""),
            ("out = 'a' + 'b'", ""),
            ("out = \"esc\\\"aped\"", ""),
            ("out.a.b = 1", ""),
            ("out['a'] = 1", ""),
            ("out = -1", ""),
            ("out = 05", ""),
            ("out = 1e3", ""),
            ("out = 5.", ""),
            ("out = 0x10", ""),
            ("out = 'x'; out.a = 1", ""),
            ("out = rules.x; out.a = 1", "out = 'X'"),
            ("out = null; out.a = 1", ""),
            ("out.__proto__ = rules.x", "out.k = 1"),
            ("out = rules.toString", ""),
            ("out = rules.latest", ""),
            ("out = rules.__set", ""),
            ("out = meta.x.text", ""),
            ("out = 'a' out.b = 1", ""),
            ("out = rules.x\n(1)", ""),
            ("out = 1 // comment", ""),
            ("out == 1", ""),
            ("outer = 1", ""),
            ("out = x", ""),
            ("out = 'unterminated", ""),
            ("out = rules.x\u{a0}", ""),
        ];
        for (body, x_tag) in declined {
            let parse = parse_of(&grammar(body, x_tag));
            assert!(
                interpret(&parse, &mut ctx).is_none(),
                "{body:?} / {x_tag:?} is left to the script"
            );
        }
    }

    #[test]
    fn reads_statements() {
        assert_eq!(
            parse_tag("out.city = 'BOS'; out = rules.latest()"),
            Some(vec![
                Statement {
                    target: Target::OutProp("city".to_owned()),
                    source: Src::Literal(Value::Str("BOS".to_owned())),
                },
                Statement {
                    target: Target::Out,
                    source: Src::Latest,
                },
            ])
        );
        assert_eq!(
            parse_tag("out = 3.25"),
            Some(vec![Statement {
                target: Target::Out,
                source: Src::Literal(Value::Num(3.25)),
            }])
        );
        assert_eq!(parse_tag(" \n ;"), Some(vec![]));
    }

    #[test]
    fn a_deep_parse_goes_to_the_script() {
        // Builds a parse nested past the native depth by hand.
        let mut node = crate::grammar::ParseNode::Token("w".to_owned());
        for _ in 0..=super::MAX_DEPTH + 1 {
            node = crate::grammar::ParseNode::Rule {
                name: "n".to_owned(),
                rule: "n".to_owned(),
                children: vec![
                    node,
                    crate::grammar::ParseNode::Tag {
                        text: std::sync::Arc::from("out = rules.n"),
                        literal: false,
                    },
                ],
            };
        }
        let mut ctx = Context::default();
        assert!(interpret(&node, &mut ctx).is_none());
    }
}
