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

pub use compact_str::CompactString;
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
    /// The local part (stored inline: names are short, so building and
    /// dropping a tree allocates nothing for them).
    pub local: CompactString,
    /// The prefix as written, kept for messages and re-serialization.
    pub prefix: Option<CompactString>,
}

impl Name {
    /// True when this name is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The name as written in the source (`prefix:local` or `local`).
    pub fn qualified(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.prefix {
            f.write_str(p)?;
            f.write_str(":")?;
        }
        f.write_str(&self.local)
    }
}

/// One attribute with its resolved name and decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Unprefixed attributes have no namespace (XML Namespaces §6.2).
    pub name: Name,
    /// The value with entity and character references decoded (values up to
    /// 24 bytes are stored inline).
    pub value: CompactString,
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
    /// The decoded characters (runs up to 24 bytes, such as indentation, are
    /// stored inline).
    pub text: CompactString,
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

fn push_name(name: &Name, out: &mut String) {
    if let Some(p) = &name.prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(&name.local);
}

fn write_element(e: &Element, out: &mut String) {
    out.push('<');
    push_name(&e.name, out);
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
        push_name(&a.name, out);
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
    push_name(&e.name, out);
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

/// Line and column of a byte offset, found by counting forward from the
/// previous answer: the parser asks in increasing order, so the whole text is
/// scanned once, without a table of line starts.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    offset: usize,
    pos: Pos,
}

impl Cursor {
    const START: Cursor = Cursor {
        offset: 0,
        pos: Pos::new(1, 1),
    };

    fn pos(&mut self, src: &str, offset: usize) -> Pos {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.offset {
            // Only error reporting can look back: start over.
            *self = Cursor::START;
        }
        let seg = src.as_bytes().get(self.offset..offset).unwrap_or_default();
        self.pos = match memchr::memrchr(b'\n', seg) {
            None => Pos::new(
                self.pos.line,
                self.pos.column.saturating_add(count_chars(seg)),
            ),
            Some(last) => {
                let (lines, tail) = seg.split_at(last + 1);
                Pos::new(
                    self.pos.line.saturating_add(count_newlines(lines)),
                    count_chars(tail).saturating_add(1),
                )
            }
        };
        self.offset = offset;
        self.pos
    }
}

const HIGH: u64 = 0x8080_8080_8080_8080;

/// Characters in UTF-8 `bytes`: every byte that does not continue a sequence
/// (`10xxxxxx`), counted eight bytes at a time.
fn count_chars(bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(8);
    let mut continuations = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of eight bytes"));
        continuations += (w & !(w << 1) & HIGH).count_ones() as usize;
    }
    continuations += chunks
        .remainder()
        .iter()
        .filter(|&&b| b & 0xc0 == 0x80)
        .count();
    u32::try_from(bytes.len() - continuations).unwrap_or(u32::MAX)
}

/// Line feeds in `bytes`.
fn count_newlines(bytes: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', bytes).count()).unwrap_or(u32::MAX)
}

/// An element whose end tag has not been read yet. Its children are the
/// entries of [`Parser::children`] from `first_child` on.
struct Open {
    element: Element,
    first_child: usize,
    /// Number of namespace bindings this element pushed.
    pushed: usize,
}

/// Attributes above this count are checked for duplicates with a hash set
/// rather than by comparing every pair.
const HASHED_DUPLICATE_CHECK: usize = 16;

struct Parser<'a> {
    src: &'a str,
    cursor: Cursor,
    reader: Reader<&'a [u8]>,
    limits: Limits,
    /// In-scope bindings, innermost last: (prefix, uri); "" is the default namespace.
    bindings: Vec<(&'a str, Arc<str>)>,
    stack: Vec<Open>,
    /// Children of every open element, outermost element's first: when an
    /// element ends, its run moves into one exactly sized vector.
    children: Vec<Node>,
    /// The current start tag's attributes (qualified name, value), reused.
    scratch: Vec<(&'a str, CompactString)>,
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
            cursor: Cursor::START,
            reader,
            limits,
            bindings: vec![("xml", Arc::from(XML_NS)), ("xmlns", Arc::from(XMLNS_NS))],
            // Sized for typical pages, so they rarely grow while parsing.
            stack: Vec::with_capacity(32),
            children: Vec::with_capacity(128),
            scratch: Vec::with_capacity(16),
            root: None,
            nodes: 0,
        }
    }

    fn pos_at(&mut self, offset: u64) -> Pos {
        self.cursor
            .pos(self.src, usize::try_from(offset).unwrap_or(usize::MAX))
    }

    /// The source text of `bytes`, a slice quick-xml handed out of `src`.
    /// Borrowing it avoids re-validating UTF-8 the source already is.
    fn source_str(&self, bytes: &[u8]) -> Option<&'a str> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.src.as_ptr() as usize)?;
        self.src.get(start..start.checked_add(bytes.len())?)
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
            match event {
                Event::Start(tag) => self.open(&tag, start, false)?,
                Event::Empty(tag) => self.open(&tag, start, true)?,
                Event::End(_) => self.close(start)?,
                Event::Text(t) => {
                    let text = self.text_of(&t, start, "text")?;
                    self.text(text, start)?;
                }
                Event::CData(t) => {
                    let text = self.text_of(&t, start, "CDATA")?;
                    self.push_text(text, start)?;
                }
                Event::GeneralRef(r) => {
                    let name = self.text_of(&r, start, "reference")?;
                    let Some(c) = resolve_reference(name) else {
                        let pos = self.pos_at(start);
                        return Err(XmlError::new(
                            pos,
                            format!("unknown entity reference '&{name};'"),
                        ));
                    };
                    self.push_text(c.encode_utf8(&mut [0; 4]), start)?;
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            let message = format!("element <{}> is never closed", open.element.name);
            let pos = self.pos_at(self.reader.buffer_position());
            return Err(XmlError::new(pos, message));
        }
        self.root
            .ok_or_else(|| XmlError::new(Pos::new(1, 1), "document has no root element"))
    }

    fn text_of(&mut self, bytes: &[u8], start: u64, what: &str) -> Result<&'a str, XmlError> {
        match self.source_str(bytes) {
            Some(s) => Ok(s),
            None => {
                let pos = self.pos_at(start);
                Err(XmlError::new(pos, format!("invalid {what}")))
            }
        }
    }

    fn text(&mut self, raw: &str, start: u64) -> Result<(), XmlError> {
        if self.stack.is_empty() {
            if raw.trim().is_empty() {
                return Ok(());
            }
            let pos = self.pos_at(start);
            return Err(XmlError::new(pos, "text outside the root element"));
        }
        self.push_text(raw, start)
    }

    /// Appends character data to the innermost open element, extending its
    /// last text run when the previous node was text too.
    fn push_text(&mut self, text: &str, start: u64) -> Result<(), XmlError> {
        let Some(first_child) = self.stack.last().map(|o| o.first_child) else {
            let pos = self.pos_at(start);
            return Err(XmlError::new(pos, "text outside the root element"));
        };
        if self.children.len() > first_child
            && let Some(Node::Text(last)) = self.children.last_mut()
        {
            last.text.push_str(text);
            return Ok(());
        }
        let pos = self.pos_at(start);
        self.children.push(Node::Text(Text {
            text: CompactString::from(text),
            pos,
        }));
        self.count(pos, 1)
    }

    fn resolve(&self, prefix: &str) -> Option<Arc<str>> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, uri)| uri.clone())
            .filter(|uri| !uri.is_empty())
    }

    fn open(&mut self, tag: &BytesStart<'_>, start: u64, empty: bool) -> Result<(), XmlError> {
        let pos = self.pos_at(start);
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
        let qname = self
            .source_str(tag.name().as_ref())
            .ok_or_else(|| XmlError::new(pos, "element name is not UTF-8"))?;

        // Namespace declarations first, so attributes on the same element see them.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut ns_decls = Vec::new();
        for attr in tag.attributes().with_checks(false) {
            let attr =
                attr.map_err(|e| XmlError::new(pos, format!("bad attribute in <{qname}>: {e}")))?;
            let key = self
                .source_str(attr.key.as_ref())
                .ok_or_else(|| XmlError::new(pos, "attribute name is not UTF-8"))?;
            let raw = match &attr.value {
                std::borrow::Cow::Borrowed(v) => self.source_str(v),
                std::borrow::Cow::Owned(v) => std::str::from_utf8(v).ok(),
            }
            .ok_or_else(|| {
                XmlError::new(
                    pos,
                    format!("attribute '{key}' of <{qname}>: value is not UTF-8"),
                )
            })?;
            let value = decode_attr_value(raw)
                .map_err(|m| XmlError::new(pos, format!("attribute '{key}' of <{qname}>: {m}")))?;
            let prefix = if key == "xmlns" {
                Some("")
            } else {
                key.strip_prefix("xmlns:")
            };
            match prefix {
                Some(p) => {
                    if !p.is_empty() && value.is_empty() {
                        return Err(XmlError::new(
                            pos,
                            format!("prefix '{p}' cannot be undeclared"),
                        ));
                    }
                    if ns_decls.iter().any(|(q, _): &(String, String)| q == p) {
                        return Err(XmlError::new(
                            pos,
                            format!("attribute '{key}' appears twice"),
                        ));
                    }
                    self.bindings.push((p, Arc::from(value.as_str())));
                    ns_decls.push((p.to_owned(), value.into_string()));
                }
                None => scratch.push((key, value)),
            }
        }
        let pushed = ns_decls.len();

        let name = self.element_name(qname, pos)?;
        let mut attrs = Vec::with_capacity(scratch.len());
        let mut seen = (scratch.len() > HASHED_DUPLICATE_CHECK)
            .then(|| std::collections::HashSet::with_capacity(scratch.len()));
        for (key, value) in scratch.drain(..) {
            let name = match split_prefix(key) {
                Some((p, local)) => Name {
                    ns: Some(self.resolve(p).ok_or_else(|| {
                        XmlError::new(
                            pos,
                            format!("undeclared namespace prefix '{p}' on attribute '{key}'"),
                        )
                    })?),
                    local: CompactString::from(local),
                    prefix: Some(CompactString::from(p)),
                },
                None => Name {
                    ns: None,
                    local: CompactString::from(key),
                    prefix: None,
                },
            };
            let duplicate = match &mut seen {
                Some(set) => !set.insert((name.ns.clone(), name.local.clone())),
                None => attrs
                    .iter()
                    .any(|a: &Attribute| a.name.ns == name.ns && a.name.local == name.local),
            };
            if duplicate {
                return Err(XmlError::new(
                    pos,
                    format!("attribute '{}' appears twice", name.qualified()),
                ));
            }
            attrs.push(Attribute { name, value, pos });
        }
        self.scratch = scratch;
        self.count(pos, 1 + attrs.len())?;

        let element = Element {
            name,
            attrs,
            ns_decls,
            children: Vec::new(),
            pos,
        };
        self.stack.push(Open {
            element,
            first_child: self.children.len(),
            pushed,
        });
        if empty {
            self.close(start)?;
        }
        Ok(())
    }

    fn element_name(&self, qname: &str, pos: Pos) -> Result<Name, XmlError> {
        Ok(match split_prefix(qname) {
            Some((p, local)) => Name {
                ns: Some(self.resolve(p).ok_or_else(|| {
                    XmlError::new(
                        pos,
                        format!("undeclared namespace prefix '{p}' on <{qname}>"),
                    )
                })?),
                local: CompactString::from(local),
                prefix: Some(CompactString::from(p)),
            },
            None => Name {
                ns: self.resolve(""),
                local: CompactString::from(qname),
                prefix: None,
            },
        })
    }

    fn close(&mut self, start: u64) -> Result<(), XmlError> {
        let Some(open) = self.stack.pop() else {
            let pos = self.pos_at(start);
            return Err(XmlError::new(pos, "end tag without a start tag"));
        };
        let keep = self.bindings.len() - open.pushed;
        self.bindings.truncate(keep);
        let mut element = open.element;
        if self.children.len() > open.first_child {
            // One allocation of the exact size and one bulk copy.
            element.children = self.children.split_off(open.first_child);
        }
        if self.stack.is_empty() {
            self.root = Some(element);
        } else {
            self.children.push(Node::Element(element));
        }
        Ok(())
    }
}

/// Splits `prefix:local` at its first colon. Names are short, so a plain
/// byte loop beats a general substring search here.
fn split_prefix(qname: &str) -> Option<(&str, &str)> {
    let i = qname.bytes().position(|b| b == b':')?;
    Some((qname.get(..i)?, qname.get(i + 1..)?))
}

fn resolve_reference(name: &str) -> Option<char> {
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
    Some(c)
}

/// Decodes an attribute value: references expanded, and attribute-value
/// normalization (XML 1.0 §3.3.3) of literal tab, CR and LF to spaces.
fn decode_attr_value(s: &str) -> Result<CompactString, String> {
    let special = |b: &u8| matches!(b, b'&' | b'\t' | b'\n' | b'\r' | b'<');
    if !s.as_bytes().iter().any(special) {
        // Most values: no reference, no line break, copied as they are.
        return Ok(CompactString::from(s));
    }
    let mut out = CompactString::with_capacity(s.len());
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
                let c = resolve_reference(name)
                    .ok_or_else(|| format!("unknown entity reference '&{name};'"))?;
                out.push(c);
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
    fn counting_by_words_matches_counting_by_chars() {
        let samples = [
            "",
            "a",
            "\n",
            "abcdefgh\nijklmnop\n",
            "héllo wörld ✓ 𝄞 and more text\nsecond line ünïcödé\n\n",
            "\n\n\n\n\n\n\n\n\n",
        ];
        for s in samples {
            for end in (0..=s.len()).filter(|&i| s.is_char_boundary(i)) {
                let part = &s.as_bytes()[..end];
                let text = &s[..end];
                assert_eq!(count_chars(part) as usize, text.chars().count(), "{text:?}");
                assert_eq!(
                    count_newlines(part) as usize,
                    text.matches('\n').count(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn cursor_agrees_with_the_line_index() {
        let src = "<a>\n  <b x='é'>tëxt</b>\n\n<c/>  <d>\u{1d11e}</d></a>";
        let index = LineIndex::new(src);
        let mut forward = Cursor::START;
        for offset in 0..=src.len() + 2 {
            assert_eq!(forward.pos(src, offset), index.pos(src, offset), "{offset}");
        }
        let mut back = Cursor::START;
        assert_eq!(back.pos(src, 20), index.pos(src, 20));
        assert_eq!(
            back.pos(src, 5),
            index.pos(src, 5),
            "looking back starts over"
        );
    }

    #[test]
    fn cursor_agrees_at_every_stride() {
        let line = "<item>caf\u{e9} \u{1d11e} au lait</item>\n";
        let src = format!("<a>\n{}</a>", line.repeat(40));
        let index = LineIndex::new(&src);
        for step in [1, 7, 31, 64, 65, 97, 500] {
            let mut cursor = Cursor::START;
            let mut offset = 0;
            while offset <= src.len() {
                assert_eq!(
                    cursor.pos(&src, offset),
                    index.pos(&src, offset),
                    "step {step}, offset {offset}"
                );
                offset += step;
            }
        }
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
