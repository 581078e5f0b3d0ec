//! The ABNF form of SRGS 1.0 (`application/srgs`, SRGS §4 and the ABNF
//! syntax given throughout §2): self-identifying header, declarations, rule
//! definitions with sequences, `|` alternatives with `/weight/`, `<m-n>`
//! repeats, `[ ]` optionals, `{ }` and `{!{ }!}` tags and `!lang` suffixes.
//!
//! A hand-written recursive-descent parser over a character cursor; nesting
//! depth is bounded so hostile input cannot exhaust the stack.

use url::Url;

use crate::xml::{LineIndex, Pos};

use super::compile::{self, Header, Syntax};
use super::model::{Alternatives, Builder, Compiled, Expr, ExprId, Rule, TagFormat};
use super::srgs_xml::{check_rule_name, parse_prob, parse_repeat, parse_weight, rule_ref};
use super::{GrammarError, Mode};

/// Deepest nesting of `( )` and `[ ]` accepted.
const MAX_NESTING: u32 = 64;

/// Characters that end a bare token (SRGS §4: reserved in ABNF).
const RESERVED: &[char] = &[
    ';', '|', '/', '*', '+', '<', '>', '(', ')', '[', ']', '{', '}', '"', '$', '!', '=', '~',
];

/// Parses an inline ABNF grammar (no header checks beyond the mandatory
/// self-identifying header).
pub(crate) fn parse(src: &str, url: &Url) -> Result<Compiled, GrammarError> {
    parse_with(src, url, false)
}

/// Parses ABNF; `external` makes the language declaration mandatory for voice
/// grammars, as SRGS requires of stand-alone grammar documents.
pub(crate) fn parse_with(src: &str, url: &Url, external: bool) -> Result<Compiled, GrammarError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser {
        src,
        at: 0,
        lines: LineIndex::new(src),
        url,
        b: Builder::default(),
        mode: Mode::Voice,
        format: TagFormat::Script,
        base: url.clone(),
        base_written: None,
        depth: 0,
    };
    p.header()?;
    let mut lang = None;
    let mut mode = None;
    let mut root = None;
    let mut tag_format = None;
    let mut metas = Vec::new();
    let mut lexicons = Vec::new();
    let mut base_seen = false;
    // Declarations come first; each ends with ';'.
    loop {
        p.skip_space()?;
        if p.eof()
            || p.peek() == Some('$')
            || p.looking_at_word("public")
            || p.looking_at_word("private")
        {
            break;
        }
        let start = p.at;
        if p.peek() == Some('{') {
            // A grammar-level tag declaration.
            p.tag()?;
            p.expect(';')?;
            continue;
        }
        let kw = p.word();
        p.skip_space()?;
        let dup = |p: &Parser<'_>, seen: bool| {
            if seen {
                Err(p.err_at(start, format!("'{kw}' is declared more than once")))
            } else {
                Ok(())
            }
        };
        match kw.as_str() {
            "language" => {
                dup(&p, lang.is_some())?;
                let v = p.until_semicolon()?;
                lang = Some(v);
            }
            "mode" => {
                dup(&p, mode.is_some())?;
                let v = p.until_semicolon()?;
                let m = Mode::parse(&v).ok_or_else(|| {
                    p.err_at(start, format!("mode must be voice or dtmf, not '{v}'"))
                })?;
                mode = Some(m);
                p.mode = m;
            }
            "root" => {
                dup(&p, root.is_some())?;
                p.expect('$')?;
                let name = p.rule_name();
                check_rule_name(&name).map_err(|m| p.err_at(start, m))?;
                p.skip_space()?;
                p.expect(';')?;
                root = Some((name, p.pos(start)));
            }
            "tag-format" => {
                dup(&p, tag_format.is_some())?;
                let v = p.angle_uri()?;
                p.skip_space()?;
                p.expect(';')?;
                p.format = TagFormat::from_declaration(Some(&v));
                tag_format = Some(v);
            }
            "base" => {
                dup(&p, base_seen)?;
                base_seen = true;
                let v = p.angle_uri()?;
                p.skip_space()?;
                p.expect(';')?;
                p.base = url
                    .join(&v)
                    .map_err(|e| p.err_at(start, format!("base '{v}' is not a valid URI: {e}")))?;
                p.base_written = Some(v);
            }
            "lexicon" => {
                let v = p.angle_uri()?;
                p.skip_space()?;
                if p.eat('~') {
                    p.angle_uri()?;
                    p.skip_space()?;
                }
                p.expect(';')?;
                lexicons.push(v);
            }
            "meta" | "http-equiv" => {
                let name = p.quoted_string()?;
                p.skip_space()?;
                if p.word() != "is" {
                    return Err(p.err_here(format!("expected 'is' in the {kw} declaration")));
                }
                p.skip_space()?;
                let content = p.quoted_string()?;
                p.skip_space()?;
                p.expect(';')?;
                if name == "base" && p.base_written.is_none() {
                    p.base = url.join(&content).map_err(|e| {
                        p.err_at(start, format!("base '{content}' is not a valid URI: {e}"))
                    })?;
                    p.base_written = Some(content.clone());
                }
                metas.push((name, content));
            }
            "" => return Err(p.err_here("expected a declaration or a rule definition")),
            other => return Err(p.err_at(start, format!("unknown declaration '{other}'"))),
        }
    }
    let mode = mode.unwrap_or(Mode::Voice);
    if external && mode == Mode::Voice && lang.is_none() {
        return Err(GrammarError::new(
            url,
            Some(Pos::new(1, 1)),
            "a voice grammar must declare its language ('language en-US;')",
        ));
    }
    while !p.eof() {
        p.rule()?;
        p.skip_space()?;
    }
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
            syntax: Syntax::Abnf,
        },
    )
}

struct Parser<'a> {
    src: &'a str,
    at: usize,
    lines: LineIndex,
    url: &'a Url,
    b: Builder,
    mode: Mode,
    format: TagFormat,
    base: Url,
    base_written: Option<String>,
    depth: u32,
}

impl<'a> Parser<'a> {
    fn pos(&self, at: usize) -> Pos {
        self.lines.pos(self.src, at)
    }

    fn err_at(&self, at: usize, m: impl Into<String>) -> GrammarError {
        GrammarError::new(self.url, Some(self.pos(at)), m)
    }

    fn err_here(&self, m: impl Into<String>) -> GrammarError {
        self.err_at(self.at, m)
    }

    fn rest(&self) -> &'a str {
        &self.src[self.at..]
    }

    fn eof(&self) -> bool {
        self.at >= self.src.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), GrammarError> {
        if self.eat(c) {
            Ok(())
        } else {
            let found = match self.peek() {
                Some(f) => format!("'{f}'"),
                None => "the end of the grammar".to_owned(),
            };
            Err(self.err_here(format!("expected '{c}', found {found}")))
        }
    }

    fn looking_at_word(&self, w: &str) -> bool {
        self.rest().strip_prefix(w).is_some_and(|r| {
            r.chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '$' || c == '/')
        })
    }

    /// Skips whitespace and comments (`// …` and `/* … */`).
    fn skip_space(&mut self) -> Result<(), GrammarError> {
        loop {
            let r = self.rest();
            let trimmed = r.trim_start();
            self.at += r.len() - trimmed.len();
            if trimmed.starts_with("//") {
                let end = trimmed.find('\n').unwrap_or(trimmed.len());
                self.at += end;
            } else if let Some(body) = trimmed.strip_prefix("/*") {
                let start = self.at;
                let end = body
                    .find("*/")
                    .ok_or_else(|| self.err_at(start, "a comment is never closed"))?;
                self.at += end + 4;
            } else {
                return Ok(());
            }
        }
    }

    /// `#ABNF 1.0 [encoding];` (SRGS §4.1).
    fn header(&mut self) -> Result<(), GrammarError> {
        let r = self.rest();
        let Some(after) = r.strip_prefix("#ABNF") else {
            return Err(self.err_here("an ABNF grammar must start with '#ABNF 1.0;'"));
        };
        let end = after
            .find(';')
            .ok_or_else(|| self.err_here("the '#ABNF 1.0' header has no closing ';'"))?;
        let decl = &after[..end];
        let mut parts = decl.split_whitespace();
        match parts.next() {
            Some("1.0") => {}
            Some(v) => return Err(self.err_here(format!("unsupported ABNF version '{v}'"))),
            None => return Err(self.err_here("the '#ABNF' header has no version")),
        }
        if parts.nth(1).is_some() {
            return Err(self.err_here("the '#ABNF' header has extra words"));
        }
        self.at += "#ABNF".len() + end + 1;
        // The header is a line of its own.
        let r = self.rest();
        let line_end = r.find('\n').unwrap_or(r.len());
        if !r[..line_end].trim().is_empty() {
            return Err(self.err_here("the '#ABNF 1.0;' header must be alone on its line"));
        }
        Ok(())
    }

    fn word(&mut self) -> String {
        let r = self.rest();
        let end = r
            .find(|c: char| c.is_whitespace() || RESERVED.contains(&c))
            .unwrap_or(r.len());
        let w = r[..end].to_owned();
        self.at += end;
        w
    }

    fn rule_name(&mut self) -> String {
        let r = self.rest();
        let end = r
            .find(|c: char| c.is_whitespace() || RESERVED.contains(&c))
            .unwrap_or(r.len());
        let w = r[..end].to_owned();
        self.at += end;
        w
    }

    fn until_semicolon(&mut self) -> Result<String, GrammarError> {
        self.trimmed_until(';', "a declaration has no closing ';'")
    }

    /// `<uri>`.
    fn angle_uri(&mut self) -> Result<String, GrammarError> {
        self.expect('<')?;
        self.trimmed_until('>', "'<' is never closed by '>'")
    }

    /// The trimmed text up to `end`, consuming `end` too; `missing` is the error when it never comes.
    fn trimmed_until(&mut self, end: char, missing: &str) -> Result<String, GrammarError> {
        let r = self.rest();
        let at = r.find(end).ok_or_else(|| self.err_here(missing))?;
        let v = r[..at].trim().to_owned();
        self.at += at + end.len_utf8();
        Ok(v)
    }

    /// A single- or double-quoted string.
    fn quoted_string(&mut self) -> Result<String, GrammarError> {
        let q = match self.peek() {
            Some(c @ ('"' | '\'')) => c,
            _ => return Err(self.err_here("expected a quoted string")),
        };
        let start = self.at;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err_at(start, "a quoted string is never closed")),
                Some('\\') => {
                    if let Some(c) = self.bump() {
                        out.push(c);
                    }
                }
                Some(c) if c == q => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    /// `[public|private] $name = expansion ;`
    fn rule(&mut self) -> Result<(), GrammarError> {
        let start = self.at;
        let public = if self.looking_at_word("public") {
            self.at += "public".len();
            true
        } else {
            if self.looking_at_word("private") {
                self.at += "private".len();
            }
            false
        };
        self.skip_space()?;
        if !self.eat('$') {
            return Err(self.err_here("expected a rule definition '$name = …;'"));
        }
        let name = self.rule_name();
        check_rule_name(&name).map_err(|m| self.err_at(start, m))?;
        self.skip_space()?;
        self.expect('=')?;
        self.skip_space()?;
        if self.peek() == Some(';') {
            return Err(self.err_here(format!("rule '{name}' is empty")));
        }
        let body = self.alternatives(false)?;
        self.skip_space()?;
        self.expect(';')?;
        self.b.rules.push(Rule {
            name,
            public,
            body,
            pos: self.pos(start),
        });
        Ok(())
    }

    /// `seq | seq | …`, each optionally preceded by `/weight/`. Inside
    /// parentheses an empty expansion is NULL.
    fn alternatives(&mut self, allow_empty: bool) -> Result<ExprId, GrammarError> {
        let mut items: Vec<(ExprId, f32, bool)> = Vec::new();
        loop {
            self.skip_space()?;
            let mut weight = None;
            if self.peek() == Some('/') {
                let start = self.at;
                self.bump();
                let r = self.rest();
                let end = r
                    .find('/')
                    .ok_or_else(|| self.err_at(start, "a weight is not closed by '/'"))?;
                let w = parse_weight(&r[..end]).map_err(|m| self.err_at(start, m))?;
                self.at += end + 1;
                weight = Some(w);
            }
            let seq = self.sequence(allow_empty)?;
            items.push((seq, weight.unwrap_or(1.0), weight.is_some()));
            self.skip_space()?;
            if !self.eat('|') {
                break;
            }
        }
        if items.len() == 1
            && let Some(&(e, _, false)) = items.first()
        {
            return Ok(e);
        }
        let items = items.into_iter().map(|(e, w, _)| (e, w)).collect();
        Ok(self
            .b
            .push(Expr::Alt(Box::new(Alternatives { items, index: None }))))
    }

    fn sequence(&mut self, allow_empty: bool) -> Result<ExprId, GrammarError> {
        let mut items = Vec::new();
        loop {
            self.skip_space()?;
            match self.peek() {
                None | Some(';' | '|' | ')' | ']') => break,
                _ => {}
            }
            let e = self.unit()?;
            items.push(e);
        }
        if items.is_empty() && !allow_empty {
            return Err(self.err_here("an expansion is empty"));
        }
        Ok(self.b.seq(items))
    }

    /// A primary expansion with its repeat operators and language suffix.
    fn unit(&mut self) -> Result<ExprId, GrammarError> {
        let mut e = self.primary()?;
        loop {
            let save = self.at;
            self.skip_space()?;
            // Language attachment `!en-US` applies to the preceding unit.
            if self.peek() == Some('!') {
                self.bump();
                let lang = self.word();
                if lang.is_empty() {
                    return Err(self.err_here("'!' must be followed by a language"));
                }
                continue;
            }
            if self.peek() == Some('<') {
                e = self.repeat(e)?;
                continue;
            }
            self.at = save;
            return Ok(e);
        }
    }

    /// `<n>`, `<n->`, `<n-m>`, each optionally with `/prob/`.
    fn repeat(&mut self, child: ExprId) -> Result<ExprId, GrammarError> {
        let start = self.at;
        self.expect('<')?;
        let r = self.rest();
        let end = r
            .find('>')
            .ok_or_else(|| self.err_at(start, "a repeat '<' is not closed by '>'"))?;
        let body = r[..end].to_owned();
        self.at += end + 1;
        let (count, prob) = match body.split_once('/') {
            Some((c, p)) => (
                c.to_owned(),
                Some(p.trim().trim_end_matches('/').to_owned()),
            ),
            None => (body.clone(), None),
        };
        let (min, max) = parse_repeat(&count).map_err(|m| self.err_at(start, m))?;
        if let Some(p) = prob {
            parse_prob(&p).map_err(|m| self.err_at(start, m))?;
        }
        Ok(self.b.push(Expr::Repeat { child, min, max }))
    }

    fn nested(&mut self, close: char, optional: bool) -> Result<ExprId, GrammarError> {
        let start = self.at;
        self.bump();
        if self.depth >= MAX_NESTING {
            return Err(self.err_at(
                start,
                format!("expansions nested deeper than {MAX_NESTING} levels"),
            ));
        }
        self.depth += 1;
        let inner = self.alternatives(true);
        self.depth -= 1;
        let inner = inner?;
        self.skip_space()?;
        if !self.eat(close) {
            return Err(self.err_at(start, format!("this group is not closed by '{close}'")));
        }
        Ok(if optional {
            self.b.push(Expr::Repeat {
                child: inner,
                min: 0,
                max: Some(1),
            })
        } else {
            inner
        })
    }

    fn primary(&mut self) -> Result<ExprId, GrammarError> {
        let start = self.at;
        match self.peek() {
            Some('(') => self.nested(')', false),
            Some('[') => self.nested(']', true),
            Some('{') => self.tag(),
            Some('"') => {
                let t = self.quoted_string()?;
                if t.trim().is_empty() {
                    return Err(self.err_at(start, "a quoted token is empty"));
                }
                Ok(self.b.token(&t, self.mode))
            }
            Some('$') => {
                self.bump();
                if self.peek() == Some('<') {
                    let uri = self.angle_uri()?;
                    let mut media = None;
                    let save = self.at;
                    self.skip_space()?;
                    if self.eat('~') {
                        self.skip_space()?;
                        media = Some(self.angle_uri()?);
                    } else {
                        self.at = save;
                    }
                    let r = rule_ref(
                        &uri,
                        media,
                        &self.base,
                        self.base_written.as_deref(),
                        self.pos(start),
                    )
                    .map_err(|m| self.err_at(start, m))?;
                    return Ok(self.b.push(Expr::Ref(r)));
                }
                let name = self.rule_name();
                match name.as_str() {
                    "NULL" => Ok(self.b.push(Expr::Null)),
                    "VOID" => Ok(self.b.push(Expr::Void)),
                    "GARBAGE" => Ok(self.b.push(Expr::Garbage)),
                    _ => {
                        let r =
                            rule_ref(&format!("#{name}"), None, &self.base, None, self.pos(start))
                                .map_err(|m| self.err_at(start, m))?;
                        Ok(self.b.push(Expr::Ref(r)))
                    }
                }
            }
            Some(c) if RESERVED.contains(&c) => Err(self.err_here(format!(
                "'{c}' is reserved in ABNF; quote it to use it as a token"
            ))),
            Some(_) => {
                let w = self.word();
                Ok(self.b.token(&w, self.mode))
            }
            None => Err(self.err_here("unexpected end of the grammar")),
        }
    }

    /// `{ … }` (content may hold '{' but not '}') or `{!{ … }!}`.
    fn tag(&mut self) -> Result<ExprId, GrammarError> {
        let start = self.at;
        let text = if let Some(r) = self.rest().strip_prefix("{!{") {
            let end = r
                .find("}!}")
                .ok_or_else(|| self.err_at(start, "a '{!{' tag is not closed by '}!}'"))?;
            let t = r[..end].to_owned();
            self.at += 3 + end + 3;
            t
        } else {
            self.bump();
            let r = self.rest();
            let end = r
                .find('}')
                .ok_or_else(|| self.err_at(start, "a '{' tag is not closed by '}'"))?;
            let t = r[..end].to_owned();
            self.at += end + 1;
            t
        };
        Ok(self.b.push(Expr::Tag {
            text: text.into(),
            format: self.format,
        }))
    }
}
