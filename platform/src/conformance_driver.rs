//! Runs VoiceXML conformance test documents (`vxp conformance run`) on the
//! text-mode driver: each test is one [`TextDriver`] call whose prompts the
//! conformance tester hears and whose waits it answers.

use std::cell::RefCell;

use url::Url;
use vxp_conformance::vxml::{
    Answer, Answerer, DialogDriver, DialogEnding, DialogOutcome, WaitKind,
};

use crate::text::{DriverConfig, Ending, Input, InputSource, TextDriver, TranscriptEntry, Waiting};

/// The text driver as a conformance [`DialogDriver`].
#[derive(Debug, Clone, Default)]
pub struct TextDialogDriver {
    /// Platform property defaults for every test session.
    pub platform_properties: Vec<(String, String)>,
}

/// Feeds the tester's answers to the driver.
struct Tester<'a> {
    answerer: &'a RefCell<&'a mut Answerer>,
}

impl InputSource for Tester<'_> {
    fn next_input(&mut self, waiting: Waiting) -> Option<Input> {
        let kind = match waiting {
            Waiting::Input => WaitKind::Input,
            Waiting::Recording => WaitKind::Recording,
            Waiting::Transfer => WaitKind::Transfer,
            Waiting::Message => WaitKind::Message,
        };
        let answer = self.answerer.borrow_mut().poll_answer(kind)?;
        Some(match answer {
            Answer::Dtmf(keys) => Input::Dtmf(keys),
            Answer::Say(words) => Input::Say(words),
            Answer::NoInput => Input::NoInput,
            Answer::NoMatch => Input::NoMatch,
            Answer::Hangup => Input::Hangup,
            Answer::Transfer(outcome) => match outcome.parse() {
                Ok(o) => Input::Transfer(o),
                Err(_) => Input::Hangup,
            },
        })
    }
}

impl DialogDriver for TextDialogDriver {
    fn run_dialog(&self, start: &Url, answerer: &mut Answerer, max_steps: u32) -> DialogOutcome {
        let mut config = DriverConfig::new(start.clone());
        config.max_steps = max_steps;
        config.platform_properties = self.platform_properties.clone();
        let driver = match TextDriver::new(config) {
            Ok(d) => d,
            Err(e) => {
                return DialogOutcome {
                    prompts: Vec::new(),
                    errors: vec![format!("cannot start the session: {e}")],
                    logs: Vec::new(),
                    ending: DialogEnding::Error,
                };
            }
        };
        let answerer = RefCell::new(answerer);
        let mut prompts = Vec::new();
        let mut errors = Vec::new();
        let mut logs = Vec::new();
        let mut observer = |entry: &TranscriptEntry| match entry {
            TranscriptEntry::Prompt { text, .. } => {
                answerer.borrow_mut().handle_prompt(text);
                prompts.push(text.clone());
            }
            TranscriptEntry::Log { label, text } => logs.push(match label {
                Some(l) => format!("{l}: {text}"),
                None => text.clone(),
            }),
            TranscriptEntry::Error { event, message } => errors.push(format!("{event}: {message}")),
            TranscriptEntry::Event { name, message } if name.starts_with("error.") => {
                errors.push(match message {
                    Some(m) => format!("event {name}: {m}"),
                    None => format!("event {name}"),
                });
            }
            _ => {}
        };
        let mut tester = Tester {
            answerer: &answerer,
        };
        let transcript = driver.run(&mut tester, &mut observer);
        DialogOutcome {
            prompts,
            errors,
            logs,
            ending: match transcript.ending() {
                Ending::Exit => DialogEnding::Exit,
                Ending::Disconnect => DialogEnding::Disconnect,
                Ending::Hangup => DialogEnding::Hangup,
                Ending::Error => DialogEnding::Error,
            },
        }
    }
}
