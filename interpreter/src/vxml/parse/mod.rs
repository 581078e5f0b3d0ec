//! Compiles a VoiceXML page into the typed [`model`](crate::vxml::model):
//! bytes → text (encoding from BOM / XML declaration, XML 1.0 Appendix F) →
//! positioned XML tree ([`crate::xml`]) → validated [`Document`].
//!
//! ```text
//! let doc = parse::compile(bytes, &url)?;   // Err(CompileError) → error.badfetch
//! ```
//!
//! Validation follows VoiceXML 2.0/2.1 wherever the specification says a
//! document "must" or raises `error.badfetch` for a wrong combination: the
//! content model of every element, required and mutually exclusive
//! attributes, enumerated values, time designations, duplicate ids and names,
//! and `#fragment` targets into the same document. A [`CompileError`] names
//! the URL, line and column and says what is wrong in a plain sentence; the
//! session reports it as `error.badfetch`. ECMAScript inside attributes is
//! not checked here: a bad expression is `error.semantic` when evaluated.
//!
//! Limits: the page size ([`CompileOptions::max_size`], default 4 MiB), the
//! element nesting depth ([`MAX_NESTING`], checked before building so the
//! recursive builders use a small, bounded stack) and the XML node count
//! ([`crate::xml::Limits`]). [`parse_duration`] reads time designations
//! (`5s`, `300ms`) for the session's property values too.

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::vxml::model::Document;
use crate::xml::{self, Pos};

mod attrs;
mod build;
mod content;
mod encoding;
mod tag;

pub use attrs::parse_duration;
pub use build::MAX_NESTING;

/// Default largest page accepted: 4 MiB.
pub const DEFAULT_MAX_SIZE: usize = 4 * 1024 * 1024;

/// Settings for [`compile_with`].
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions {
    /// Largest page accepted, in bytes (before decoding).
    pub max_size: usize,
    /// Bounds on the XML tree.
    pub xml_limits: xml::Limits,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            xml_limits: xml::Limits::default(),
        }
    }
}

/// Why a page cannot be run; the session raises `error.badfetch` with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileError {
    /// The page's URL.
    pub url: Arc<Url>,
    /// Where the problem is (1:1 for problems with the whole page).
    pub pos: Pos,
    /// A sentence a VoiceXML author understands.
    pub message: String,
}

impl CompileError {
    /// The event a session raises for a page that does not compile.
    pub const EVENT: &'static str = "error.badfetch";

    pub(crate) fn new(url: &Arc<Url>, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            url: url.clone(),
            pos,
            message: message.into(),
        }
    }
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

/// Compiles the page `src` fetched from `url` with the default options.
pub fn compile(src: impl AsRef<[u8]>, url: &Url) -> Result<Arc<Document>, CompileError> {
    compile_with(src.as_ref(), url, &CompileOptions::default())
}

/// Compiles the page `src` fetched from `url`.
pub fn compile_with(
    src: &[u8],
    url: &Url,
    options: &CompileOptions,
) -> Result<Arc<Document>, CompileError> {
    let url = Arc::new(url.clone());
    if src.len() > options.max_size {
        return Err(CompileError::new(
            &url,
            Pos::new(1, 1),
            format!(
                "the page is {} bytes long, more than the limit of {} bytes",
                src.len(),
                options.max_size
            ),
        ));
    }
    let text = encoding::decode(src).map_err(|m| CompileError::new(&url, Pos::new(1, 1), m))?;
    let root = xml::parse_with(&text, options.xml_limits)
        .map_err(|e| CompileError::new(&url, e.pos, e.message))?;
    build::document(root, url).map(Arc::new)
}

/// Compiles an already parsed XML tree fetched from `url`. The tree is
/// consumed: inline grammars move into the model.
pub fn compile_tree(root: xml::Element, url: &Url) -> Result<Arc<Document>, CompileError> {
    build::document(root, Arc::new(url.clone())).map(Arc::new)
}

#[cfg(test)]
mod tests;
