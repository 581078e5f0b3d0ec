//! The automatic tester: reads what the application asked for in its
//! prompts (the requests [`super::rewrite`] generates from `conf:speech`,
//! `conf:dtmf`, `conf:noinput`, ...) and answers the next time it waits.

use super::rewrite::{ASK_HANGUP, ASK_NOINPUT, ASK_NOMATCH, ASK_RECORDING, ASK_RECORDING_WORD};

/// Words spoken as a recording when a test asks for one.
pub const RECORDING_WORDS: &str = "this is a conformance recording";

/// What the application waits for when it needs the next answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// A field, menu or link listens for DTMF or speech.
    Input,
    /// A `<record>` records.
    Recording,
    /// A `<transfer>` is under way.
    Transfer,
    /// The application waits on a timer or for an external message.
    Message,
}

/// One caller action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Keys pressed.
    Dtmf(String),
    /// Words spoken (or recorded).
    Say(String),
    /// Silence until the timeout.
    NoInput,
    /// Speech no grammar matches.
    NoMatch,
    /// The caller hangs up.
    Hangup,
    /// A transfer ends with this outcome (`far_end_disconnect`, `busy`, ...).
    Transfer(String),
}

/// The tester: fed every prompt as it plays, asked for an answer when the
/// application waits.
#[derive(Debug, Default)]
pub struct Answerer {
    /// Prompt texts since the last answer.
    heard: String,
    /// Answers given without any request in the prompts, in a row.
    unprompted: u32,
}

/// Unprompted answers in a row before the tester hangs up: a test waiting
/// for input nobody asked for gets a few noinputs, then the call ends.
const MAX_UNPROMPTED: u32 = 3;

impl Answerer {
    /// A tester that has heard nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A prompt played with these words.
    pub fn handle_prompt(&mut self, text: &str) {
        self.heard.push(' ');
        self.heard.push_str(text);
    }

    /// The answer for the wait that just started, or `None` to end the call.
    pub fn poll_answer(&mut self, waiting: WaitKind) -> Option<Answer> {
        let heard = std::mem::take(&mut self.heard);
        let request = last_request(&heard);
        if request.is_some() {
            self.unprompted = 0;
        }
        match (waiting, request) {
            (WaitKind::Recording, Some(Answer::Say(words))) => Some(Answer::Say(words)),
            (WaitKind::Recording, Some(Answer::Hangup)) => Some(Answer::Hangup),
            (WaitKind::Recording, _) => Some(Answer::Say(RECORDING_WORDS.to_owned())),
            (WaitKind::Transfer, Some(Answer::Hangup)) => Some(Answer::Hangup),
            (WaitKind::Transfer, _) => Some(Answer::Transfer("far_end_disconnect".to_owned())),
            (WaitKind::Message, Some(Answer::Hangup)) => Some(Answer::Hangup),
            (WaitKind::Message, _) => None,
            (WaitKind::Input, Some(answer)) => Some(answer),
            (WaitKind::Input, None) => {
                self.unprompted += 1;
                (self.unprompted <= MAX_UNPROMPTED).then_some(Answer::NoInput)
            }
        }
    }
}

/// The last request in `heard`, by position.
fn last_request(heard: &str) -> Option<Answer> {
    let mut best: Option<(usize, Answer)> = None;
    let mut consider = |at: Option<usize>, answer: Answer| {
        if let Some(at) = at
            && best.as_ref().is_none_or(|(b, _)| at >= *b)
        {
            best = Some((at, answer));
        }
    };
    if let Some((at, words)) = quoted_after(heard, "Say '") {
        consider(Some(at), Answer::Say(words));
    }
    if let Some((at, keys)) = quoted_after(heard, "Press '") {
        consider(Some(at), Answer::Dtmf(keys));
    }
    consider(heard.rfind(ASK_NOINPUT), Answer::NoInput);
    consider(heard.rfind(ASK_NOMATCH), Answer::NoMatch);
    consider(heard.rfind(ASK_HANGUP), Answer::Hangup);
    consider(
        heard.rfind(ASK_RECORDING),
        Answer::Say(RECORDING_WORDS.to_owned()),
    );
    if let Some((at, word)) = quoted_after(heard, ASK_RECORDING_WORD) {
        consider(
            Some(at),
            Answer::Say(format!("{RECORDING_WORDS} about {word}")),
        );
    }
    best.map(|(_, a)| a)
}

/// The last `lead` in `s` with the text up to the closing quote.
fn quoted_after(s: &str, lead: &str) -> Option<(usize, String)> {
    let at = s.rfind(lead)?;
    let rest = s.get(at + lead.len()..)?;
    let end = rest.find('\'')?;
    let value = rest.get(..end)?.trim();
    (!value.is_empty()).then(|| (at, value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_last_request() {
        let mut a = Answerer::new();
        a.handle_prompt("Press '1'.");
        a.handle_prompt("Say 'San Francisco' again.");
        assert_eq!(
            a.poll_answer(WaitKind::Input),
            Some(Answer::Say("San Francisco".into()))
        );
        a.handle_prompt("Press '12#'. No input expected. Say nothing again.");
        assert_eq!(a.poll_answer(WaitKind::Input), Some(Answer::NoInput));
        a.handle_prompt("Say something unrecognizable.");
        assert_eq!(a.poll_answer(WaitKind::Input), Some(Answer::NoMatch));
        a.handle_prompt("Press '12#'.");
        assert_eq!(
            a.poll_answer(WaitKind::Input),
            Some(Answer::Dtmf("12#".into()))
        );
        a.handle_prompt("Hang up now.");
        assert_eq!(a.poll_answer(WaitKind::Input), Some(Answer::Hangup));
        a.handle_prompt("Recite a sentence containing the word 'Tokyo' again.");
        assert_eq!(
            a.poll_answer(WaitKind::Recording),
            Some(Answer::Say(format!("{RECORDING_WORDS} about Tokyo")))
        );
    }

    #[test]
    fn defaults_per_wait() {
        let mut a = Answerer::new();
        assert_eq!(
            a.poll_answer(WaitKind::Recording),
            Some(Answer::Say(RECORDING_WORDS.into()))
        );
        assert_eq!(
            a.poll_answer(WaitKind::Transfer),
            Some(Answer::Transfer("far_end_disconnect".into()))
        );
        assert_eq!(a.poll_answer(WaitKind::Message), None);
        for _ in 0..MAX_UNPROMPTED {
            assert_eq!(a.poll_answer(WaitKind::Input), Some(Answer::NoInput));
        }
        assert_eq!(a.poll_answer(WaitKind::Input), None);
    }
}
