//! Text mode: run a VoiceXML application with scripted or typed caller input
//! and write what happens as a transcript.

pub mod input;
pub mod recording;
pub mod transcript;
