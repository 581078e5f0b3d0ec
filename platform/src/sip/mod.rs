//! The SIP stack (RFC 3261 over UDP and TCP, with RFC 3311 UPDATE, RFC 6086
//! INFO, RFC 3515 REFER, RFC 6665 NOTIFY, RFC 3420 sipfrag, RFC 3581 rport,
//! RFC 6026 Accepted state): message syntax, transactions, dialogs and the
//! user-agent core as state machines without I/O, and a thin tokio
//! transport around them.
//!
//! Layers, bottom up:
//!
//! - [`uri`], [`header`], [`message`]: parse and print only. [`message::Message::parse`]
//!   turns bytes into a [`message::Request`] or [`message::Response`] whose
//!   headers stay in order and verbatim; [`message::SipHeaders`] gives the
//!   typed values (Via list with branch/received/rport, From/To with tags,
//!   Call-ID, CSeq, Contact, Record-Route/Route, Max-Forwards, Content-Type).
//! - [`diversion`]: `Diversion`/`History-Info` → the call's redirections.
//! - [`framing`]: TCP byte stream → messages.
//! - [`transaction`]: RFC 3261 §17 client and server transactions, timers A–M.
//! - [`ua`]: the user-agent core: dialogs (§12), calls in and out, every
//!   method the platform serves.
//! - [`transport`]: the tokio driver (UDP and TCP on one port).
//! - [`dns`]: RFC 3263 server location (SRV, then A/AAAA) for outbound calls.
//!
//! Using the core (everything is `handle_*` in, `poll_*` out, with `now` passed in):
//!
//! ```text
//! let mut ua = UserAgent::new(UaConfig { local_addr, max_calls, busy_status, timers, seed, .. });
//! ua.handle_datagram(&bytes, from, Transport::Udp, now);   // or one framed TCP message
//! while let Some(t) = ua.poll_transmit() { send t.bytes to t.to over t.transport }
//! while let Some(e) = ua.poll_event() {
//!     UaEvent::IncomingCall(info)  => ua.ring(info.call, 180, None, now)?;
//!                                     ua.answer(info.call, sdp_answer, now)?;   // or reject / redirect
//!     UaEvent::Acked { call, .. }  => start media
//!     UaEvent::InfoReceived { call, info: InfoBody::Dtmf { digit, .. } } => digit to the session
//!     UaEvent::ReInvite { call, sdp, .. } => ua.answer_reinvite(call, sdp_answer, now)?
//!     UaEvent::RemoteHangup { call } | UaEvent::CallCancelled { call } => end the session
//!     ...
//! }
//! ua.handle_timeout(now) when ua.poll_timeout() is reached
//! ```
//!
//! Commands: `ring`, `answer`, `reject`, `redirect`, `hangup` (BYE, CANCEL
//! or 480 as fits), `reinvite`, `answer_reinvite`, `reject_reinvite`,
//! `send_info`, `refer` (progress as `ReferProgress` events) and `invite`
//! for outbound legs (`Provisional`, `Answered`, `Failed`, `Terminated`).
//! With tokio, [`transport::SipTransport::bind`] and [`transport::run`] own
//! the sockets and the core; commands reach the core as
//! [`transport::Command`] closures over a channel.

pub mod diversion;
pub mod dns;
pub mod framing;
pub mod header;
pub mod message;
pub mod transaction;
pub mod transport;
pub mod ua;
pub mod uri;

pub use message::{Message, Request, Response, SipHeaders};
pub use transaction::{TimerConfig, Transmit, Transport};
pub use ua::{CallId, DialogIds, IncomingCall, InfoBody, UaConfig, UaError, UaEvent, UserAgent};
