//! A positioned, namespace-resolved XML tree: the common front end of every
//! document language VXP reads (VoiceXML, SRGS XML, SSML, CCXML).
//!
//! quick-xml tokenizes; this module resolves namespace prefixes (XML Namespaces
//! 1.0), decodes the predefined and character entity references, merges text
//! and CDATA, and records for every element, attribute and text run the line
//! and column it starts at. Language front ends then turn this tree into typed
//! models; nothing downstream re-reads the source text.
//!
//! ```text
//! let tree = xml::parse(source)?;          // XmlError carries line:column
//! vxml::parse::document(&tree, url)?;      // typed model, one Arc per page
//! ```
//!
//! Limits protect the process from hostile input: nesting depth and the number
//! of nodes are bounded ([`Limits`]), custom DOCTYPE entities are never
//! expanded, and an unknown entity is an error rather than a silent pass-through.

use std::fmt;
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The XML namespace (`xml:base`, `xml:lang`, `xml:space`).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace reserved for namespace declarations.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
}

impl Pos {
    /// A position at `line`:`column`.
    pub const fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a text is not a well-formed XML document, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct XmlError {
    /// Where the problem was noticed.
    pub pos: Pos,
    /// A sentence a document author understands.
    pub message: String,
}

impl XmlError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos,
            message: message.into(),
        }
    }
}

/// Bounds on what one document may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements, text runs and attributes in one document.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 256,
            max_nodes: 2_000_000,
        }
    }
}

/// An expanded name: namespace URI (if any) and local part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// The namespace URI the prefix (or default namespace) resolved to.
    pub ns: Option<Arc<str>>,
    /// The local part.
    pub local: String,
    /// The prefix as written, kept for messages and re-serialization.
    pub prefix: Option<String>,
}

impl Name {
    /// True when this name is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The name as written in the source (`prefix:local` or `local`).
    pub fn qualified(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.qualified())
    }
}

/// One attribute with its resolved name and decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Unprefixed attributes have no namespace (XML Namespaces §6.2).
    pub name: Name,
    /// The value with entity and character references decoded.
    pub value: String,
    /// Where the element carrying the attribute starts.
    pub pos: Pos,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A nested element.
    Element(Element),
    /// Character data (text and CDATA sections merged, references decoded).
    Text(Text),
}

/// A run of character data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The decoded characters.
    pub text: String,
    /// Where the run starts.
    pub pos: Pos,
}

/// An element with its attributes, children and source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The resolved name.
    pub name: Name,
    /// Attributes other than namespace declarations, in source order.
    pub attrs: Vec<Attribute>,
    /// Namespace declarations made on this element: (prefix or "" for default, URI).
    pub ns_decls: Vec<(String, String)>,
    /// Child nodes in document order.
    pub children: Vec<Node>,
    /// Where the start tag begins.
    pub pos: Pos,
}

impl Element {
    /// The value of the unqualified attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.ns.is_none() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// The value of attribute `local` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.is(ns, local))
            .map(|a| a.value.as_str())
    }

    /// `xml:base` on this element.
    pub fn xml_base(&self) -> Option<&str> {
        self.attr_ns(XML_NS, "base")
    }

    /// `xml:lang` on this element.
    pub fn xml_lang(&self) -> Option<&str> {
        self.attr_ns(XML_NS, "lang")
    }

    /// Child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated text of this element's direct text children.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(&t.text);
            }
        }
        out
    }

    /// The concatenated text of all descendants, in document order.
    pub fn deep_text(&self) -> String {
        fn walk(e: &Element, out: &mut String) {
            for n in &e.children {
                match n {
                    Node::Text(t) => out.push_str(&t.text),
                    Node::Element(c) => walk(c, out),
                }
            }
        }
        let mut out = String::new();
        walk(self, &mut out);
        out
    }

    /// True when the element has at least one child element.
    pub fn has_element_children(&self) -> bool {
        self.elements().next().is_some()
    }

    /// Serializes this element back to XML text (namespace declarations
    /// included where they were made), for handing subtrees to other parsers
    /// or to a speech server.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        write_element(self, &mut out);
        out
    }
}

fn escape_into(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

fn write_element(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&e.name.qualified());
    for (prefix, uri) in &e.ns_decls {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_into(uri, true, out);
        out.push('"');
    }
    for a in &e.attrs {
        out.push(' ');
        out.push_str(&a.name.qualified());
        out.push_str("=\"");
        escape_into(&a.value, true, out);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for n in &e.children {
        match n {
            Node::Text(t) => escape_into(&t.text, false, out),
            Node::Element(c) => write_element(c, out),
        }
    }
    out.push_str("</");
    out.push_str(&e.name.qualified());
    out.push('>');
}

/// Maps byte offsets of a source text to line and column.
///
/// Lookups are expected in mostly increasing order (a parser walking the text), so the index remembers the
/// last answer and counts characters forward from it: a document written on one long line costs linear, not
/// quadratic, time.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// The last offset looked up and its position.
    cursor: std::cell::Cell<(usize, Pos)>,
}

impl LineIndex {
    /// Indexes the line starts of `src`.
    pub fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            starts,
            cursor: std::cell::Cell::new((0, Pos::new(1, 1))),
        }
    }

    /// The position of byte `offset` in `src` (which must be the indexed text).
    pub fn pos(&self, src: &str, offset: usize) -> Pos {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let (cursor_offset, cursor_pos) = self.cursor.get();
        let line_no = u32::try_from(line + 1).unwrap_or(u32::MAX);
        let column =
            if cursor_pos.line == line_no && cursor_offset >= start && cursor_offset <= offset {
                let more = src[cursor_offset..offset].chars().count();
                cursor_pos
                    .column
                    .saturating_add(u32::try_from(more).unwrap_or(u32::MAX))
            } else {
                u32::try_from(src[start..offset].chars().count() + 1).unwrap_or(u32::MAX)
            };
        let pos = Pos::new(line_no, column);
        self.cursor.set((offset, pos));
        pos
    }
}

/// Parses a whole document with the default [`Limits`].
pub fn parse(src: &str) -> Result<Element, XmlError> {
    parse_with(src, Limits::default())
}

/// Parses a whole document; the result is its root element.
pub fn parse_with(src: &str, limits: Limits) -> Result<Element, XmlError> {
    Parser::new(src, limits).run()
}

struct Open {
    element: Element,
    /// Number of namespace bindings this element pushed.
    pushed: usize,
}

struct Parser<'a> {
    src: &'a str,
    lines: LineIndex,
    reader: Reader<&'a [u8]>,
    limits: Limits,
    /// In-scope bindings, innermost last: (prefix, uri); "" is the default namespace.
    bindings: Vec<(String, Arc<str>)>,
    stack: Vec<Open>,
    root: Option<Element>,
    nodes: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, limits: Limits) -> Self {
        let mut reader = Reader::from_str(src);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            src,
            lines: LineIndex::new(src),
            reader,
            limits,
            bindings: vec![
                ("xml".to_owned(), Arc::from(XML_NS)),
                ("xmlns".to_owned(), Arc::from(XMLNS_NS)),
            ],
            stack: Vec::new(),
            root: None,
            nodes: 0,
        }
    }

    fn pos_at(&self, offset: u64) -> Pos {
        self.lines
            .pos(self.src, usize::try_from(offset).unwrap_or(usize::MAX))
    }

    fn count(&mut self, pos: Pos, n: usize) -> Result<(), XmlError> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(XmlError::new(
                pos,
                format!("document has more than {} nodes", self.limits.max_nodes),
            ));
        }
        Ok(())
    }

    fn run(mut self) -> Result<Element, XmlError> {
        loop {
            let start = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let pos = self.pos_at(self.reader.error_position());
                    return Err(XmlError::new(pos, describe_quick_xml_error(&e)));
                }
            };
            let pos = self.pos_at(start);
            match event {
                Event::Start(tag) => self.open(&tag, pos, false)?,
                Event::Empty(tag) => self.open(&tag, pos, true)?,
                Event::End(_) => self.close(pos)?,
                Event::Text(t) => {
                    let raw = t
                        .decode()
                        .map_err(|e| XmlError::new(pos, format!("invalid text: {e}")))?;
                    self.text(&raw, pos)?;
                }
                Event::CData(t) => {
                    let raw = t
                        .decode()
                        .map_err(|e| XmlError::new(pos, format!("invalid CDATA: {e}")))?;
                    let raw = raw.into_owned();
                    self.push_text(raw, pos)?;
                }
                Event::GeneralRef(r) => {
                    let name = r
                        .decode()
                        .map_err(|e| XmlError::new(pos, format!("invalid reference: {e}")))?;
                    let text = resolve_reference(&name).ok_or_else(|| {
                        XmlError::new(pos, format!("unknown entity reference '&{name};'"))
                    })?;
                    self.push_text(text, pos)?;
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(XmlError::new(
                self.pos_at(self.reader.buffer_position()),
                format!("element <{}> is never closed", open.element.name),
            ));
        }
        self.root
            .ok_or_else(|| XmlError::new(Pos::new(1, 1), "document has no root element"))
    }

    fn text(&mut self, raw: &str, pos: Pos) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            if raw.trim().is_empty() {
                return Ok(());
            }
            return Err(XmlError::new(pos, "text outside the root element"));
        }
        self.push_text(raw.to_owned(), pos)
    }

    fn push_text(&mut self, text: String, pos: Pos) -> Result<(), XmlError> {
        let Some(parent) = self.stack.last_mut() else {
            return Err(XmlError::new(pos, "text outside the root element"));
        };
        if let Some(Node::Text(last)) = parent.element.children.last_mut() {
            last.text.push_str(&text);
            return Ok(());
        }
        parent.element.children.push(Node::Text(Text { text, pos }));
        self.count(pos, 1)
    }

    fn resolve(&self, prefix: &str) -> Option<Arc<str>> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.clone())
            .filter(|uri| !uri.is_empty())
    }

    fn open(&mut self, tag: &BytesStart<'_>, pos: Pos, empty: bool) -> Result<(), XmlError> {
        if self.stack.is_empty() && self.root.is_some() {
            return Err(XmlError::new(
                pos,
                "a second root element after the document element",
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::new(
                pos,
                format!(
                    "elements nested deeper than {} levels",
                    self.limits.max_depth
                ),
            ));
        }
        let qname = std::str::from_utf8(tag.name().as_ref())
            .map_err(|_| XmlError::new(pos, "element name is not UTF-8"))?
            .to_owned();

        // First pass: namespace declarations, so attributes on the same element see them.
        let mut raw_attrs = Vec::new();
        let mut ns_decls = Vec::new();
        for attr in tag.attributes().with_checks(true) {
            let attr =
                attr.map_err(|e| XmlError::new(pos, format!("bad attribute in <{qname}>: {e}")))?;
            let key = std::str::from_utf8(attr.key.as_ref())
                .map_err(|_| XmlError::new(pos, "attribute name is not UTF-8"))?
                .to_owned();
            let value = decode_attr_value(&attr.value)
                .map_err(|m| XmlError::new(pos, format!("attribute '{key}' of <{qname}>: {m}")))?;
            if key == "xmlns" {
                ns_decls.push((String::new(), value));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(XmlError::new(
                        pos,
                        format!("prefix '{p}' cannot be undeclared"),
                    ));
                }
                ns_decls.push((p.to_owned(), value));
            } else {
                raw_attrs.push((key, value));
            }
        }
        let pushed = ns_decls.len();
        for (p, uri) in &ns_decls {
            self.bindings.push((p.clone(), Arc::from(uri.as_str())));
        }

        let name = self.element_name(&qname, pos)?;
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let name = match key.split_once(':') {
                Some((p, local)) => Name {
                    ns: Some(self.resolve(p).ok_or_else(|| {
                        XmlError::new(
                            pos,
                            format!("undeclared namespace prefix '{p}' on attribute '{key}'"),
                        )
                    })?),
                    local: local.to_owned(),
                    prefix: Some(p.to_owned()),
                },
                None => Name {
                    ns: None,
                    local: key,
                    prefix: None,
                },
            };
            if attrs
                .iter()
                .any(|a: &Attribute| a.name.ns == name.ns && a.name.local == name.local)
            {
                return Err(XmlError::new(
                    pos,
                    format!("attribute '{}' appears twice", name.qualified()),
                ));
            }
            attrs.push(Attribute { name, value, pos });
        }
        self.count(pos, 1 + attrs.len())?;

        let element = Element {
            name,
            attrs,
            ns_decls,
            children: Vec::new(),
            pos,
        };
        self.stack.push(Open { element, pushed });
        if empty {
            self.close(pos)?;
        }
        Ok(())
    }

    fn element_name(&self, qname: &str, pos: Pos) -> Result<Name, XmlError> {
        Ok(match qname.split_once(':') {
            Some((p, local)) => Name {
                ns: Some(self.resolve(p).ok_or_else(|| {
                    XmlError::new(
                        pos,
                        format!("undeclared namespace prefix '{p}' on <{qname}>"),
                    )
                })?),
                local: local.to_owned(),
                prefix: Some(p.to_owned()),
            },
            None => Name {
                ns: self.resolve(""),
                local: qname.to_owned(),
                prefix: None,
            },
        })
    }

    fn close(&mut self, pos: Pos) -> Result<(), XmlError> {
        let Some(open) = self.stack.pop() else {
            return Err(XmlError::new(pos, "end tag without a start tag"));
        };
        let keep = self.bindings.len() - open.pushed;
        self.bindings.truncate(keep);
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(open.element)),
            None => self.root = Some(open.element),
        }
        Ok(())
    }
}

fn resolve_reference(name: &str) -> Option<String> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse::<u32>().ok()?
                } else {
                    return None;
                };
            char::from_u32(code)?
        }
    };
    Some(c.to_string())
}

/// Decodes an attribute value: references expanded, and attribute-value
/// normalization (XML 1.0 §3.3.3) of literal tab, CR and LF to spaces.
fn decode_attr_value(raw: &[u8]) -> Result<String, String> {
    let s = std::str::from_utf8(raw).map_err(|_| "value is not UTF-8".to_owned())?;
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r', '<']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'&' => {
                let tail = &rest[i + 1..];
                let end = tail
                    .find(';')
                    .ok_or_else(|| "'&' must start a reference such as &amp;".to_owned())?;
                let name = &tail[..end];
                let text = resolve_reference(name)
                    .ok_or_else(|| format!("unknown entity reference '&{name};'"))?;
                out.push_str(&text);
                rest = &tail[end + 1..];
            }
            b'<' => return Err("'<' is not allowed in an attribute value".to_owned()),
            _ => {
                out.push(' ');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn describe_quick_xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::IllFormedError;
    match e {
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("end tag </{found}> does not match start tag <{expected}>")
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("end tag </{name}> has no matching start tag")
        }
        quick_xml::Error::Syntax(s) => format!("malformed XML: {s}"),
        other => format!("malformed XML: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_namespaces_and_entities() {
        let src = "<?xml version=\"1.0\"?>\n<vxml xmlns=\"http://www.w3.org/2001/vxml\" xmlns:gvp=\"urn:g\" version=\"2.1\">\n  <form id=\"a\">\n    <block>Tom &amp; Jerry &#65;<![CDATA[<b>]]></block>\n    <gvp:send body=\"a=1&amp;b=2\"/>\n  </form>\n</vxml>";
        let root = parse(src).expect("well-formed");
        assert!(root.name.is("http://www.w3.org/2001/vxml", "vxml"));
        assert_eq!(root.pos, Pos::new(2, 1));
        let form = root.elements().next().expect("form");
        assert_eq!(form.pos, Pos::new(3, 3));
        assert_eq!(form.attr("id"), Some("a"));
        let block = form.elements().next().expect("block");
        assert_eq!(block.text(), "Tom & Jerry A<b>");
        let send = form.elements().nth(1).expect("send");
        assert!(send.name.is("urn:g", "send"));
        assert_eq!(send.attr("body"), Some("a=1&b=2"));
        assert_eq!(send.pos, Pos::new(5, 5));
    }

    #[test]
    fn errors_carry_positions() {
        let err = parse("<a>\n  <b></c>\n</a>").expect_err("mismatched");
        assert_eq!(err.pos.line, 2, "{err}");
        assert!(err.message.contains("does not match"), "{err}");

        let err = parse("<a>\n <b x='1' x='2'/></a>").expect_err("duplicate attribute");
        assert_eq!(err.pos.line, 2);

        let err = parse("<a>&bogus;</a>").expect_err("unknown entity");
        assert!(err.message.contains("bogus"));

        let err = parse("<p:a/>").expect_err("unbound prefix");
        assert!(err.message.contains("prefix"));

        let err = parse("<a><b>").expect_err("unclosed");
        assert!(err.message.contains("never closed"), "{err}");

        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
    }

    #[test]
    fn line_index_answers_in_any_order() {
        let src = "ab\ncdé\nfg";
        let idx = LineIndex::new(src);
        assert_eq!(idx.pos(src, 4), Pos::new(2, 2));
        assert_eq!(idx.pos(src, 7), Pos::new(2, 4), "é counts as one column");
        assert_eq!(idx.pos(src, 1), Pos::new(1, 2));
        assert_eq!(idx.pos(src, 8), Pos::new(3, 1));
        assert_eq!(
            idx.pos(src, 6),
            Pos::new(2, 3),
            "inside a multi-byte character rounds down"
        );
        assert_eq!(idx.pos(src, 100), Pos::new(3, 3));
    }

    #[test]
    fn one_long_line_is_linear() {
        let src = format!("<a>{}</a>", "<b x='1'>t</b>".repeat(200_000));
        let root = parse(&src).expect("well-formed");
        assert_eq!(root.elements().count(), 200_000);
        assert_eq!(root.elements().last().map(|e| e.pos.line), Some(1));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "<a>".repeat(1000) + &"</a>".repeat(1000);
        let err = parse(&deep).expect_err("too deep");
        assert!(err.message.contains("nested"));
    }

    #[test]
    fn round_trips_subtrees() {
        let src = r#"<g xmlns="http://www.w3.org/2001/06/grammar" root="r"><rule id="r">a &amp; b<tag>out="x&lt;y"</tag></rule></g>"#;
        let root = parse(src).expect("ok");
        let again = parse(&root.to_xml()).expect("re-parse");
        assert_eq!(root.deep_text(), again.deep_text());
        assert_eq!(again.name, root.name);
    }
}
