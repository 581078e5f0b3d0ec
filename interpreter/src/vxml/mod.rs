//! VoiceXML 2.1 with the GVP NGI extensions.

pub mod session;
