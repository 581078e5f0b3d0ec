//! The record of a text-mode call: what the application said, when it
//! listened, what the caller did, the events, logs, transfers, messages and
//! how the call ended.
//!
//! Two renderings: [`Transcript`]'s `Display` is the readable text format that
//! dialog snapshot tests compare (stable: no times, no absolute paths once the
//! driver has rewritten them), and [`Transcript::to_jsonl`] writes one JSON
//! object per entry with a `kind` field, for tools.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::input::{Input, TransferOutcome};

/// One line (or small group of lines) of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TranscriptEntry {
    /// Prompts played together: the words a voice would speak and the audio
    /// files it would play.
    Prompt {
        /// The spoken words (TTS text, audio fallback text, `<value>`s).
        text: String,
        /// The audio sources, in play order, with what became of them.
        audio: Vec<AudioPlayed>,
        /// Whether the caller may interrupt.
        bargein: bool,
    },
    /// A `<mark>` reached while playing.
    Mark {
        /// The mark's name.
        name: String,
    },
    /// The application waits for input.
    Listen {
        /// Input modes accepted (`dtmf`, `voice`).
        modes: Vec<String>,
        /// The active grammars, by source.
        grammars: Vec<String>,
        /// The noinput timeout, in milliseconds.
        timeout_ms: Option<u64>,
    },
    /// What the caller (or the far side) did.
    Input {
        /// The input.
        input: Input,
        /// True when the driver supplied it (a hangup once scripted inputs ran out).
        automatic: bool,
    },
    /// An event thrown in the session.
    Event {
        /// Event name (`nomatch`, `error.badfetch.http.404`, ...).
        name: String,
        /// The `_message`, when there is one.
        message: Option<String>,
    },
    /// A `<log>`.
    Log {
        /// The `label` attribute.
        label: Option<String>,
        /// The logged text.
        text: String,
    },
    /// The application asked for a transfer.
    Transfer {
        /// `blind`, `bridge` or `consultation`.
        transfer_type: String,
        /// The destination URI.
        dest: Option<String>,
        /// Other request details worth showing (`connecttimeout=20s`, `aai=...`).
        details: Vec<String>,
    },
    /// The application started a recording.
    Record {
        /// Request details (`beep`, `maxtime=30s`, the media type).
        details: Vec<String>,
    },
    /// A recording the caller made (text mode: the words of a `say:` input).
    Recorded {
        /// The words said.
        words: String,
        /// Length of the recording in milliseconds.
        duration_ms: u64,
        /// Media type of the recording.
        content_type: String,
        /// Size in bytes.
        size: usize,
    },
    /// A message sent to the CTI side (`<gvp:send>`).
    Send {
        /// Whether the application goes on without waiting for a reply.
        asynchronous: bool,
        /// The body's media type.
        content_type: String,
        /// The body.
        body: String,
    },
    /// The application hung up (`<disconnect>`).
    Disconnect {
        /// The `namelist` values.
        values: serde_json::Value,
    },
    /// The application ended (`<exit>`, or the end of the last form).
    Exit {
        /// The values returned (`namelist` object or `expr` value).
        values: serde_json::Value,
    },
    /// The session ended on an error no handler caught, or the driver stopped it.
    Error {
        /// The event name.
        event: String,
        /// Why.
        message: String,
    },
    /// Something the driver did that the script did not say (an input that did
    /// not fit what the application waited for, a transfer's default outcome).
    Note {
        /// What happened.
        text: String,
    },
}

/// One `<audio>` source of a prompt (VoiceXML 2.0 §4.1.3): played, with its
/// size and length when known, or not playable, in which case its alternate
/// content is part of the prompt's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudioPlayed {
    /// The URL (rewritten like every URL of the transcript).
    pub url: String,
    /// The size of the audio fetched, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// The length of the audio, when its format tells it (WAV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why it could not be played (the fetch error event); its alternate
    /// content was rendered instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl AudioPlayed {
    /// Audio that played, without details.
    pub fn played(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            bytes: None,
            duration_ms: None,
            failed: None,
        }
    }
}

impl fmt::Display for AudioPlayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[audio {}", self.url)?;
        if let Some(why) = &self.failed {
            return write!(f, " not played: {why}; alternate content]");
        }
        let mut details = Vec::new();
        if let Some(ms) = self.duration_ms {
            details.push(format_duration(Duration::from_millis(ms)));
        }
        if let Some(n) = self.bytes {
            details.push(format!("{n} bytes"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        f.write_str("]")
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// `<exit>` or the end of the application.
    Exit,
    /// `<disconnect>`.
    Disconnect,
    /// The caller hung up (scripted, or because the scripted inputs ran out)
    /// and the session finished its hangup handling.
    Hangup,
    /// An error no handler caught, or a driver limit.
    Error,
}

/// Everything that happened in one text-mode call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    entries: Vec<TranscriptEntry>,
    ending: Ending,
}

impl Transcript {
    /// A transcript of `entries` ending with `ending`.
    pub fn new(entries: Vec<TranscriptEntry>, ending: Ending) -> Self {
        Self { entries, ending }
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[TranscriptEntry] {
        &self.entries
    }

    /// How the call ended.
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// The spoken text of every prompt, in order.
    pub fn prompts(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                TranscriptEntry::Prompt { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The name of every event thrown, in order.
    pub fn events(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                TranscriptEntry::Event { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Every `<log>` text, in order.
    pub fn logs(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                TranscriptEntry::Log { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// True when the application ended with `<exit>` (or ran out of dialog).
    pub fn ended_with_exit(&self) -> bool {
        self.ending == Ending::Exit
    }

    /// True when the application hung up with `<disconnect>`.
    pub fn ended_with_disconnect(&self) -> bool {
        self.ending == Ending::Disconnect
    }

    /// True when the session ended on an unhandled error or a driver limit.
    pub fn ended_with_error(&self) -> bool {
        self.ending == Ending::Error
    }

    /// The values of the final `<exit>`, if the call ended with one.
    pub fn exit_values(&self) -> Option<&serde_json::Value> {
        self.entries.iter().rev().find_map(|e| match e {
            TranscriptEntry::Exit { values } => Some(values),
            _ => None,
        })
    }

    /// True when the text of some prompt contains `needle`.
    pub fn said(&self, needle: &str) -> bool {
        self.prompts().iter().any(|p| p.contains(needle))
    }

    /// One JSON object per line, each with a `kind` field.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            out.push_str(&entry_json(entry));
            out.push('\n');
        }
        out
    }
}

/// One entry as a single-line JSON object.
pub fn entry_json(entry: &TranscriptEntry) -> String {
    serde_json::to_string(entry).expect("transcript entries hold only JSON-safe values")
}

/// `5s`, `500ms`, `2.5s`: durations as VoiceXML authors write them.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms > 1000 && ms.is_multiple_of(100) {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}

fn values_suffix(values: &serde_json::Value) -> String {
    match values {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        other => format!(" {other}"),
    }
}

impl fmt::Display for TranscriptEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Prompt {
                text,
                audio,
                bargein,
            } => {
                let mut first = true;
                if !text.is_empty() {
                    write!(f, "S: {text}")?;
                    first = false;
                }
                for a in audio {
                    if first {
                        write!(f, "S: {a}")?;
                        first = false;
                    } else {
                        write!(f, "\n   {a}")?;
                    }
                }
                if first {
                    f.write_str("S: (silence)")?;
                }
                if !bargein {
                    f.write_str("  (no barge-in)")?;
                }
                Ok(())
            }
            Self::Mark { name } => write!(f, "   [mark {name}]"),
            // The grammars are in the JSONL form only: the list (universals,
            // links, form grammars) would drown the dialog in the text form.
            Self::Listen {
                modes, timeout_ms, ..
            } => {
                f.write_str("   [listen")?;
                for m in modes {
                    write!(f, " {m}")?;
                }
                if let Some(ms) = timeout_ms {
                    write!(
                        f,
                        " timeout={}",
                        format_duration(Duration::from_millis(*ms))
                    )?;
                }
                f.write_str("]")
            }
            Self::Input { input, automatic } => match input {
                Input::Dtmf(d) => write!(f, "U: dtmf {d}"),
                Input::Say(w) => write!(f, "U: \"{w}\""),
                Input::NoInput => f.write_str("U: (silence)"),
                Input::NoMatch => f.write_str("U: (speech no grammar matches)"),
                Input::Hangup if *automatic => f.write_str("U: (hangs up: no more scripted input)"),
                Input::Hangup => f.write_str("U: (hangs up)"),
                Input::Transfer(TransferOutcome::FarEndDisconnect) if *automatic => {
                    f.write_str("   [transfer answered, far end hangs up (default outcome)]")
                }
                Input::Transfer(o) => write!(f, "   [transfer outcome {}]", o.name()),
                Input::Message(m) => write!(f, "   [message in] {m}"),
            },
            Self::Event { name, message } => match message {
                Some(m) if !m.is_empty() => write!(f, "   [event {name}] {m}"),
                _ => write!(f, "   [event {name}]"),
            },
            Self::Log { label, text } => match label {
                Some(l) => write!(f, "   [log {l}] {text}"),
                None => write!(f, "   [log] {text}"),
            },
            Self::Transfer {
                transfer_type,
                dest,
                details,
            } => {
                write!(f, "   [transfer {transfer_type}")?;
                if let Some(d) = dest {
                    write!(f, " to {d}")?;
                }
                for d in details {
                    write!(f, " {d}")?;
                }
                f.write_str("]")
            }
            Self::Record { details } => {
                f.write_str("   [record")?;
                for d in details {
                    write!(f, " {d}")?;
                }
                f.write_str("]")
            }
            Self::Recorded {
                words,
                duration_ms,
                content_type,
                size,
            } => write!(
                f,
                "U: records \"{words}\" ({}, {content_type}, {size} bytes)",
                format_duration(Duration::from_millis(*duration_ms))
            ),
            Self::Send {
                asynchronous,
                content_type,
                body,
            } => {
                let mode = if *asynchronous { "async" } else { "sync" };
                write!(f, "   [send {mode} {content_type}] {body}")
            }
            Self::Disconnect { values } => write!(f, "-- disconnect{}", values_suffix(values)),
            Self::Exit { values } => write!(f, "-- exit{}", values_suffix(values)),
            Self::Error { event, message } => write!(f, "!! {event}: {message}"),
            Self::Note { text } => write!(f, "   (note: {text})"),
        }
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            writeln!(f, "{entry}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        Transcript::new(
            vec![
                TranscriptEntry::Prompt {
                    text: "Welcome.".into(),
                    audio: vec![AudioPlayed {
                        url: "audio/hi.wav".into(),
                        bytes: Some(4844),
                        duration_ms: Some(300),
                        failed: None,
                    }],
                    bargein: true,
                },
                TranscriptEntry::Listen {
                    modes: vec!["dtmf".into(), "voice".into()],
                    grammars: vec!["builtin:boolean".into()],
                    timeout_ms: Some(5000),
                },
                TranscriptEntry::Input {
                    input: Input::Dtmf("1".into()),
                    automatic: false,
                },
                TranscriptEntry::Event {
                    name: "nomatch".into(),
                    message: None,
                },
                TranscriptEntry::Log {
                    label: Some("bank".into()),
                    text: "hello".into(),
                },
                TranscriptEntry::Exit {
                    values: serde_json::json!({"x": 1}),
                },
            ],
            Ending::Exit,
        )
    }

    #[test]
    fn text_format_is_readable() {
        insta::assert_snapshot!(sample().to_string(), @r#"
        S: Welcome.
           [audio audio/hi.wav (300ms, 4844 bytes)]
           [listen dtmf voice timeout=5s]
        U: dtmf 1
           [event nomatch]
           [log bank] hello
        -- exit {"x":1}
        "#);
    }

    #[test]
    fn jsonl_has_one_object_per_entry_with_a_kind() {
        let jsonl = sample().to_jsonl();
        let kinds: Vec<String> = jsonl
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("valid JSON line");
                v["kind"].as_str().expect("kind is a string").to_owned()
            })
            .collect();
        assert_eq!(kinds, ["prompt", "listen", "input", "event", "log", "exit"]);
        assert!(
            jsonl.contains(
                r#"{"kind":"input","input":{"type":"dtmf","value":"1"},"automatic":false}"#
            )
        );
    }

    #[test]
    fn accessors_find_prompts_events_and_exit() {
        let t = sample();
        assert_eq!(t.prompts(), ["Welcome."]);
        assert_eq!(t.events(), ["nomatch"]);
        assert_eq!(t.logs(), ["hello"]);
        assert!(t.ended_with_exit());
        assert!(t.said("Welc"));
        assert_eq!(t.exit_values(), Some(&serde_json::json!({"x": 1})));
    }

    #[test]
    fn durations_read_like_voicexml_times() {
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }
}
