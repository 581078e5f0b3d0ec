//! VoiceXML 2.1 with the NGI extensions: the typed document [`model`], the
//! [`parse`] step that compiles a page into it, and the [`session`] that runs it.
//!
//! A page is compiled once and shared by every session that runs it:
//!
//! ```text
//! let doc: Arc<Document> = vxml::parse::compile(bytes, &url)?; // CompileError → error.badfetch
//! // A driver answering the session's Fetch hands the shared page back as its compiled form:
//! session.handle_fetched(id, FetchResult::Ok(Fetched { compiled: Some(doc), .. }), now);
//! ```

pub mod model;
pub mod parse;
pub mod session;
