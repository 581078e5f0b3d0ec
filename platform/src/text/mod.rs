//! Text mode: run a VoiceXML application with scripted or typed caller input
//! and write what happens as a transcript (`vxp run`, and the
//! [`crate::testing::Dialog`] API for snapshot tests).
//!
//! ```text
//! let config = DriverConfig::new(url);               // initial page, limits, rewrites
//! let transcript = run_scripted(config, inputs)?;    // Session + fetcher + simulated clock
//! print!("{transcript}");                            // or transcript.to_jsonl()
//! ```
//!
//! The driver never sleeps: time is simulated and jumps to the session's next
//! deadline. Documents and every other resource load through `vxp-fetcher`.

pub mod audio;
pub mod driver;
pub mod fetch;
pub mod input;
pub mod recording;
pub mod transcript;

pub use driver::{
    CallInfo, DEFAULT_MAX_STEPS, DriverConfig, InputSource, TargetError, TextDriver, Waiting,
    run_scripted, target_url,
};
pub use fetch::SetupError;
pub use input::{Input, InputError, TransferOutcome};
pub use transcript::{AudioPlayed, Ending, Transcript, TranscriptEntry};
