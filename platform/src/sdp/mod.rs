//! SDP: the session description model (RFC 4566) and the offer/answer
//! negotiation for audio calls (RFC 3264).
//!
//! [`SessionDescription::parse`] turns an SDP body into a typed model that
//! keeps every line it does not interpret (so a description prints back as
//! it came), and [`SessionDescription`]'s `Display` prints it with CRLF line
//! ends. [`negotiate::OfferAnswer`] holds one side of a call's negotiation:
//!
//! ```text
//! let mut oa = OfferAnswer::new(LocalMedia { address, rtp_port }, Capabilities::default(), session_id);
//! // inbound call: INVITE with an offer
//! match oa.handle_offer(&SessionDescription::parse(body)?) {
//!     Ok((answer, media)) => { /* 200 OK with answer.to_string(); start RTP with media */ }
//!     Err(NegotiationError::NoCommonCodec) => { /* 488 Not Acceptable Here */ }
//!     Err(e) => { /* 488 or 400 */ }
//! }
//! // outbound leg: INVITE carrying oa.create_offer(), then oa.handle_answer(&answer)
//! ```
//!
//! Parsing never panics: a malformed line is an [`SdpError`] naming the line.

pub mod negotiate;
mod types;

pub use negotiate::{
    Capabilities, Codec, Direction, LocalMedia, NegotiatedMedia, NegotiationError, OfferAnswer,
};
pub use types::{
    Attribute, Connection, MediaDescription, Origin, RtpMap, SdpError, SessionDescription,
};
