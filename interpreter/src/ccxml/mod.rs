//! The CCXML 1.0 interpreter core (W3C Voice Browser Call Control, CCXML
//! Version 1.0, Recommendation 5 July 2011): event-driven call control with
//! connections, dialogs, conferences and event I/O processors, without I/O.
//!
//! ```text
//! bytes ──parse::compile──▶ Arc<model::Document> ──▶ session::Session
//!                                                    handle_* ▲ │ poll_*
//!                                                  io::Input ─┘ └─▶ io::Output
//! ```
//!
//! `model` is the typed document (§6–§10 elements with positions), `parse`
//! the compiler from [`crate::xml`], `session` the event queue, transition
//! selection and executable content on the shared ECMAScript host
//! ([`crate::script`], with the session, application, ccxml and transition
//! scopes of §8), and `io` the requests and reports exchanged with a driver.

pub mod io;
pub mod model;
pub mod parse;
pub mod session;

pub use io::{DialogSpec, Event, Input, MovedSource, Output, SourceKind};
pub use model::Document;
pub use parse::{CompileError, compile};
pub use session::{AdoptError, Session, SessionConfig, SessionLimits, StartupMode};
