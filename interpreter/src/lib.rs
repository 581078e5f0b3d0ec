//! VXP interpreter cores: VoiceXML 2.1 (with the NGI extensions), SRGS 1.0 /
//! SISR 1.0 grammars, and the embedded ECMAScript host. Nothing in this crate
//! performs I/O, reads a clock, spawns a thread or draws a random number: every
//! core is a state machine fed `handle_*(…, now)` and drained with `poll_*`.
#![forbid(unsafe_code)]

pub mod ccxml;
pub mod grammar;
pub mod script;
pub mod vxml;
pub mod xml;
