//! The SIP stack (RFC 3261): message syntax, transactions, dialogs and the
//! user-agent core as state machines without I/O, and a thin tokio
//! transport around them.
pub mod framing;
pub mod header;
pub mod message;
pub mod transaction;
pub mod ua;
pub mod uri;
