//! Dialog tests for VoiceXML applications: script a caller, run the call in
//! text mode on a simulated clock, and snapshot the transcript with insta.
//!
//! ```no_run
//! use vxp_platform::testing::Dialog;
//!
//! let transcript = Dialog::start("vxml-samples/pizza/pizza.vxml")
//!     .say("a large pepperoni pizza")
//!     .say("yes")
//!     .run();
//! assert!(transcript.ended_with_exit());
//! // insta::assert_snapshot!(transcript);
//! ```
//!
//! Each scripted step is consumed the next time the application waits
//! (`docs/TESTING-APPS.md` has the details and a worked example). When the
//! steps run out while the application listens, the caller hangs up, so every
//! test ends.

use std::path::{Path, PathBuf};

use crate::text::{
    CallInfo, DriverConfig, Input, SetupError, TargetError, Transcript, TransferOutcome,
    run_scripted, target_url,
};

/// A scripted call to a VoiceXML application.
#[derive(Debug, Clone)]
pub struct Dialog {
    target: String,
    inputs: Vec<Input>,
    call: CallInfo,
    rewrites: Vec<(String, String)>,
    max_steps: Option<u32>,
    properties: Vec<(String, String)>,
}

/// Why a dialog could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum DialogError {
    /// The start page is neither a URL nor an existing file.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The text driver could not start.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

impl Dialog {
    /// A call to the application whose first page is `url_or_path`: an
    /// absolute URL (`http://…`, `file://…`) or a file path. A relative path
    /// is looked up from the current directory and then from each parent
    /// directory, so `"vxml-samples/hello/hello.vxml"` works from any crate of
    /// the workspace.
    pub fn start(url_or_path: impl Into<String>) -> Self {
        Self {
            target: url_or_path.into(),
            inputs: Vec::new(),
            call: CallInfo::default(),
            rewrites: Vec::new(),
            max_steps: None,
            properties: Vec::new(),
        }
    }

    /// Adds a scripted input.
    pub fn input(mut self, input: Input) -> Self {
        self.inputs.push(input);
        self
    }

    /// The caller presses keys (`"1234#"`), as one turn.
    pub fn press(self, keys: &str) -> Self {
        self.input(Input::Dtmf(keys.to_owned()))
    }

    /// The caller says words; while the application records, they are the recording.
    pub fn say(self, words: &str) -> Self {
        self.input(Input::Say(words.to_owned()))
    }

    /// The caller stays silent until the application's timeout (noinput).
    pub fn silence(self) -> Self {
        self.input(Input::NoInput)
    }

    /// The caller says something no active grammar matches.
    pub fn nomatch(self) -> Self {
        self.input(Input::NoMatch)
    }

    /// The caller hangs up.
    pub fn hangup(self) -> Self {
        self.input(Input::Hangup)
    }

    /// How the pending `<transfer>` ends (default: answered, then the far end
    /// hangs up).
    pub fn transfer_result(self, outcome: TransferOutcome) -> Self {
        self.input(Input::Transfer(outcome))
    }

    /// An external (CTI) message arrives, for `<gvp:receive>`.
    pub fn message(self, content: &str) -> Self {
        self.input(Input::Message(content.to_owned()))
    }

    /// Connection facts: caller, called number, SIP headers.
    pub fn with_session(mut self, call: CallInfo) -> Self {
        self.call = call;
        self
    }

    /// A platform property default, as the platform configuration would set it.
    pub fn with_property(mut self, name: &str, value: &str) -> Self {
        self.properties.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces `from` by `to` in every URL and message of the transcript
    /// (after the start page's folder, which is always printed as ``), for
    /// example a test server's `http://127.0.0.1:PORT` by `SERVER`.
    pub fn rewrite(mut self, from: &str, to: &str) -> Self {
        self.rewrites.push((from.to_owned(), to.to_owned()));
        self
    }

    /// Bound on driver steps (default [`crate::text::DEFAULT_MAX_STEPS`]).
    pub fn max_steps(mut self, steps: u32) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// Runs the call and returns its transcript, or why it could not start.
    pub fn try_run(self) -> Result<Transcript, DialogError> {
        let url = target_url(&locate(&self.target))?;
        let mut config = DriverConfig::new(url);
        config.call = self.call;
        config.rewrites.extend(self.rewrites);
        config.platform_properties = self.properties;
        if let Some(steps) = self.max_steps {
            config.max_steps = steps;
        }
        Ok(run_scripted(config, self.inputs)?)
    }

    /// Runs the call and returns its transcript.
    ///
    /// # Panics
    ///
    /// When the call cannot start at all (bad target, no I/O runtime): a test
    /// set-up mistake. Everything the application does, errors included, is in
    /// the transcript instead.
    pub fn run(self) -> Transcript {
        let target = self.target.clone();
        match self.try_run() {
            Ok(transcript) => transcript,
            Err(err) => panic!("cannot run a dialog with {target}: {err}"),
        }
    }
}

/// Finds a relative path from the current directory or one of its parents;
/// anything else is returned unchanged.
fn locate(target: &str) -> String {
    let path = Path::new(target);
    if path.is_absolute() || target.contains("://") || path.exists() {
        return target.to_owned();
    }
    let Ok(cwd) = std::env::current_dir() else {
        return target.to_owned();
    };
    cwd.ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.exists())
        .map(|found: PathBuf| found.display().to_string())
        .unwrap_or_else(|| target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_collects_inputs_in_order() {
        let dialog = Dialog::start("app.vxml")
            .press("12")
            .say("yes")
            .silence()
            .nomatch()
            .transfer_result(TransferOutcome::Busy)
            .message("a=1")
            .hangup();
        assert_eq!(
            dialog.inputs,
            vec![
                Input::Dtmf("12".into()),
                Input::Say("yes".into()),
                Input::NoInput,
                Input::NoMatch,
                Input::Transfer(TransferOutcome::Busy),
                Input::Message("a=1".into()),
                Input::Hangup,
            ]
        );
    }

    #[test]
    fn relative_paths_are_found_in_parent_folders() {
        // The crate's own manifest, named from the workspace root.
        let found = locate("platform/Cargo.toml");
        assert!(Path::new(&found).is_absolute(), "{found}");
        assert!(found.ends_with("platform/Cargo.toml"));
        assert_eq!(locate("http://x.example/a.vxml"), "http://x.example/a.vxml");
        assert_eq!(locate("no/such/file.vxml"), "no/such/file.vxml");
    }
}
