//! Scripted caller input for text mode: what the caller does each time the
//! application waits (`--input dtmf:1234`, `say:large pizza`, `noinput`, ...).
//!
//! The driver consumes one [`Input`] per wait, in order. The text forms are
//! the ones `vxp run --input` and `--inputs-file` accept and
//! `docs/RUNNING-APPS.md` documents.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How a transfer the application asked for ends (VoiceXML 2.0 §2.3.7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The far end answered, talked, and hung up (the default in text mode).
    FarEndDisconnect,
    /// The far end answered and the transfer reached `maxtime`.
    MaxtimeDisconnect,
    /// The caller hung up while connected to the far end.
    NearEndDisconnect,
    /// The far end was busy.
    Busy,
    /// The far end did not answer within `connecttimeout`.
    NoAnswer,
    /// The network refused the call.
    NetworkBusy,
    /// The transfer failed for an unspecified reason.
    Unknown,
    /// The platform cannot route the call: `error.connection.noroute` is thrown.
    NoRoute,
}

impl TransferOutcome {
    /// The name used in `transfer:<outcome>` inputs and in `<transfer>` results.
    pub fn name(self) -> &'static str {
        match self {
            Self::FarEndDisconnect => "far_end_disconnect",
            Self::MaxtimeDisconnect => "maxtime_disconnect",
            Self::NearEndDisconnect => "near_end_disconnect",
            Self::Busy => "busy",
            Self::NoAnswer => "noanswer",
            Self::NetworkBusy => "network_busy",
            Self::Unknown => "unknown",
            Self::NoRoute => "noroute",
        }
    }

    const ALL: [Self; 8] = [
        Self::FarEndDisconnect,
        Self::MaxtimeDisconnect,
        Self::NearEndDisconnect,
        Self::Busy,
        Self::NoAnswer,
        Self::NetworkBusy,
        Self::Unknown,
        Self::NoRoute,
    ];
}

impl FromStr for TransferOutcome {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|o| o.name() == wanted)
            .ok_or_else(|| InputError::UnknownTransferOutcome(s.to_owned()))
    }
}

/// One thing the caller (or the far side of the call) does when the
/// application waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Input {
    /// Keys pressed, one DTMF digit after the other (`0-9`, `*`, `#`, `A-D`).
    Dtmf(String),
    /// Words spoken; matched against the active voice grammars. While the
    /// application records, the words are the recording.
    Say(String),
    /// Silence until the application's timeout.
    NoInput,
    /// Speech that no active grammar matches.
    NoMatch,
    /// The caller hangs up.
    Hangup,
    /// How the transfer the application started ends.
    Transfer(TransferOutcome),
    /// An external message (CTI reply) for `<gvp:receive>`.
    Message(String),
}

/// Why a text is not a valid scripted input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The text names no known kind of input.
    #[error(
        "unknown input `{0}`: expected dtmf:DIGITS, say:WORDS, noinput, nomatch, hangup, transfer:OUTCOME or message:TEXT"
    )]
    Unknown(String),
    /// A `dtmf:` input holds a character that is not a DTMF key.
    #[error("`{0}` is not a DTMF key (0-9, *, #, A-D)")]
    BadDigit(char),
    /// A `dtmf:` or `say:` input is empty.
    #[error("`{0}` needs a value after the colon")]
    Empty(String),
    /// A `transfer:` input names no known outcome.
    #[error(
        "unknown transfer outcome `{0}`: expected far_end_disconnect, maxtime_disconnect, near_end_disconnect, busy, noanswer, network_busy, unknown or noroute"
    )]
    UnknownTransferOutcome(String),
}

fn is_dtmf_key(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')
}

impl FromStr for Input {
    type Err = InputError;

    /// Parses the `--input` forms: `dtmf:1234`, `say:WORDS`, `noinput`,
    /// `nomatch`, `hangup`, `transfer:busy`, `message:TEXT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (kind, value) = match text.split_once(':') {
            Some((kind, value)) => (kind.trim().to_ascii_lowercase(), Some(value)),
            None => (text.to_ascii_lowercase(), None),
        };
        match (kind.as_str(), value) {
            ("dtmf", Some(digits)) => {
                let digits: String = digits.chars().filter(|c| !c.is_whitespace()).collect();
                if digits.is_empty() {
                    return Err(InputError::Empty(text.to_owned()));
                }
                if let Some(bad) = digits.chars().find(|c| !is_dtmf_key(*c)) {
                    return Err(InputError::BadDigit(bad));
                }
                Ok(Self::Dtmf(digits))
            }
            ("say", Some(words)) => {
                let words = words.trim();
                if words.is_empty() {
                    return Err(InputError::Empty(text.to_owned()));
                }
                Ok(Self::Say(words.to_owned()))
            }
            ("noinput", None) => Ok(Self::NoInput),
            ("nomatch", None) => Ok(Self::NoMatch),
            ("hangup", None) => Ok(Self::Hangup),
            ("transfer", Some(outcome)) => Ok(Self::Transfer(outcome.parse()?)),
            ("message", Some(content)) => Ok(Self::Message(content.to_owned())),
            _ => Err(InputError::Unknown(text.to_owned())),
        }
    }
}

impl Input {
    /// Reads a line typed in interactive mode: digits are DTMF, an empty line
    /// is silence, `hangup` hangs up, the explicit `--input` forms work too,
    /// and anything else is speech.
    pub fn from_interactive_line(line: &str) -> Result<Self, InputError> {
        let text = line.trim();
        if text.is_empty() {
            return Ok(Self::NoInput);
        }
        if text.chars().all(is_dtmf_key) && text.chars().any(|c| !c.is_ascii_uppercase()) {
            return Ok(Self::Dtmf(text.to_owned()));
        }
        if text.contains(':') || matches!(text, "noinput" | "nomatch" | "hangup") {
            return text.parse();
        }
        Ok(Self::Say(text.to_owned()))
    }
}

impl fmt::Display for Input {
    /// The `--input` form, so a transcript can be replayed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dtmf(d) => write!(f, "dtmf:{d}"),
            Self::Say(w) => write!(f, "say:{w}"),
            Self::NoInput => f.write_str("noinput"),
            Self::NoMatch => f.write_str("nomatch"),
            Self::Hangup => f.write_str("hangup"),
            Self::Transfer(o) => write!(f, "transfer:{}", o.name()),
            Self::Message(m) => write!(f, "message:{m}"),
        }
    }
}

/// Parses an inputs file: one input per line, blank lines and lines starting
/// with `#` ignored. Errors name the 1-based line.
pub fn parse_inputs_file(text: &str) -> Result<Vec<Input>, (usize, InputError)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let t = line.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map(|(i, line)| line.parse().map_err(|e| (i + 1, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_input_form() {
        assert_eq!("dtmf:12#".parse(), Ok(Input::Dtmf("12#".into())));
        assert_eq!("DTMF: 1 2".parse(), Ok(Input::Dtmf("12".into())));
        assert_eq!(
            "say: large pizza ".parse(),
            Ok(Input::Say("large pizza".into()))
        );
        assert_eq!("noinput".parse(), Ok(Input::NoInput));
        assert_eq!("nomatch".parse(), Ok(Input::NoMatch));
        assert_eq!("hangup".parse(), Ok(Input::Hangup));
        assert_eq!(
            "transfer:busy".parse(),
            Ok(Input::Transfer(TransferOutcome::Busy))
        );
        assert_eq!(
            "message:a=1&b=2".parse(),
            Ok(Input::Message("a=1&b=2".into()))
        );
    }

    #[test]
    fn rejects_bad_inputs_with_a_reason() {
        assert_eq!("dtmf:12x".parse::<Input>(), Err(InputError::BadDigit('x')));
        assert_eq!(
            "say:".parse::<Input>(),
            Err(InputError::Empty("say:".into()))
        );
        assert!(matches!(
            "press:1".parse::<Input>(),
            Err(InputError::Unknown(_))
        ));
        assert!(matches!(
            "transfer:maybe".parse::<Input>(),
            Err(InputError::UnknownTransferOutcome(_))
        ));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "dtmf:123",
            "say:yes",
            "noinput",
            "nomatch",
            "hangup",
            "transfer:noanswer",
            "message:x=1",
        ] {
            let input: Input = text.parse().expect("valid input");
            assert_eq!(input.to_string(), text);
        }
    }

    #[test]
    fn interactive_lines_guess_the_kind() {
        assert_eq!(Input::from_interactive_line(""), Ok(Input::NoInput));
        assert_eq!(
            Input::from_interactive_line("1234#"),
            Ok(Input::Dtmf("1234#".into()))
        );
        assert_eq!(
            Input::from_interactive_line("operator"),
            Ok(Input::Say("operator".into()))
        );
        assert_eq!(
            Input::from_interactive_line("A"),
            Ok(Input::Say("A".into()))
        );
        assert_eq!(Input::from_interactive_line("hangup"), Ok(Input::Hangup));
        assert_eq!(
            Input::from_interactive_line("transfer:busy"),
            Ok(Input::Transfer(TransferOutcome::Busy))
        );
    }

    #[test]
    fn inputs_file_skips_comments_and_names_bad_lines() {
        let inputs =
            parse_inputs_file("# bank happy path\ndtmf:12345\n\nsay:yes\n").expect("valid file");
        assert_eq!(
            inputs,
            vec![Input::Dtmf("12345".into()), Input::Say("yes".into())]
        );
        let err = parse_inputs_file("dtmf:1\nbogus\n").expect_err("line 2 is bad");
        assert_eq!(err.0, 2);
    }
}
