//! The VoiceXML 2.0/2.1 implementation-report runner: loads a suite in the
//! W3C layout (manifest, numbered folders, `.txml` documents with `conf:`
//! markup, dependencies), as a folder or a zip, serves it on loopback, runs
//! each test through a [`DialogDriver`] while the [`Answerer`] answers what
//! the test asks for, and reports per assertion (JSON, Markdown) and the
//! changes between two runs.
//!
//! ```text
//! let suite = Suite::load(path)?;
//! let report = run_suite(&suite, &driver, &RunOptions::default())?;
//! print!("{}", report.to_markdown());
//! ```

pub mod answer;
pub mod manifest;
pub mod report;
pub mod rewrite;
pub mod run;
pub mod server;
pub mod suite;

pub use answer::{Answer, Answerer, WaitKind};
pub use manifest::{Dependency, TestCase};
pub use report::{Change, Report, TestResult, Verdict, compare, render_changes};
pub use run::{DialogDriver, DialogEnding, DialogOutcome, RunOptions, run_suite};
pub use suite::{Suite, SuiteError};
