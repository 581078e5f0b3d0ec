//! The CCXML 1.0 conformance runner: loads a suite in the W3C
//! implementation-report layout (the VoiceXML runner's [`Suite`] loader and
//! manifest parser: `manifest.xml`, numbered folders of `.ccxml` documents,
//! each with an optional `scenario.toml` dependency describing the simulated
//! telephony), serves it on loopback, runs each test in its own session
//! through a [`SessionDriver`], and reports per assertion with the VoiceXML
//! runner's [`Report`] (JSON, Markdown, comparison with a baseline).
//!
//! A test passes when its session ends with `<exit expr="'pass'"/>`; anything
//! else (`'fail'`, another value, an unhandled error, `ccxml.kill`, the bound
//! of simulated time) fails with that reason.
//!
//! ```text
//! let suite = Suite::load(path)?;
//! let report = run_suite(&suite, &driver, &RunOptions::default())?;
//! print!("{}", report.to_markdown());
//! ```

pub mod run;

pub use crate::vxml::{
    Change, Report, Suite, SuiteError, TestCase, TestResult, Verdict, compare, render_changes,
};
pub use run::{
    RunOptions, SessionDriver, SessionEnding, SessionOutcome, is_ccxml_suite, judge, run_suite,
    scenario_of,
};
