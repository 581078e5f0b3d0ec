//! The VXP platform: the drivers that give the interpreter cores their I/O
//! (text front end, later SIP/RTP media and the Resource Manager), and the
//! `vxp` command line.
#![forbid(unsafe_code)]

pub mod ccxml_http;
pub mod ccxml_text;
pub mod cli;
pub mod conformance_driver;
pub mod media;
pub mod sdp;
pub mod serve;
pub mod sip;
pub mod testing;
pub mod text;
