//! The record of a text-mode CCXML run: the events the session processed,
//! the requests it made of the network, its logs, and how it ended. The
//! `Display` form is the readable transcript snapshot tests compare (times
//! in simulated seconds, URLs relative to the application); `to_jsonl`
//! writes one JSON object per entry with a `kind` field.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// One line of a CCXML transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// An event the session took from its queue.
    Event {
        /// Simulated time.
        at_ms: u64,
        /// The event name.
        name: String,
        /// Whether a transition handled it.
        handled: bool,
        /// Its main fields, `key=value`.
        detail: String,
    },
    /// A request the session made (`accept c1`, `createcall c2 to tel:+1555`).
    Action {
        /// Simulated time.
        at_ms: u64,
        /// What was asked.
        text: String,
    },
    /// Something the simulated network did on its own.
    Network {
        /// Simulated time.
        at_ms: u64,
        /// What happened.
        text: String,
    },
    /// A `<log>`.
    Log {
        /// Simulated time.
        at_ms: u64,
        /// The label.
        label: Option<String>,
        /// The text.
        text: String,
    },
    /// An input the session dropped.
    Dropped {
        /// Simulated time.
        at_ms: u64,
        /// The event name.
        name: String,
        /// Why.
        reason: String,
    },
    /// `<exit>`.
    Exit {
        /// Simulated time.
        at_ms: u64,
        /// The `expr` value.
        expr: Value,
        /// The namelist values.
        values: Map<String, Value>,
    },
    /// The session ended without `<exit>`.
    Ended {
        /// Simulated time.
        at_ms: u64,
        /// The event that ended it.
        event: String,
        /// Why.
        reason: String,
    },
    /// The run hit its bound of simulated time or steps.
    Timeout {
        /// Simulated time.
        at_ms: u64,
        /// Which bound.
        reason: String,
    },
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Event {
                at_ms,
                name,
                handled,
                detail,
            } => {
                write!(f, "{} [{name}]", secs(*at_ms))?;
                if !detail.is_empty() {
                    write!(f, " {detail}")?;
                }
                if !handled {
                    write!(f, " (unhandled)")?;
                }
                Ok(())
            }
            Entry::Action { at_ms, text } => write!(f, "{} > {text}", secs(*at_ms)),
            Entry::Network { at_ms, text } => write!(f, "{} ~ {text}", secs(*at_ms)),
            Entry::Log { at_ms, label, text } => match label {
                Some(l) => write!(f, "{} log({l}): {text}", secs(*at_ms)),
                None => write!(f, "{} log: {text}", secs(*at_ms)),
            },
            Entry::Dropped {
                at_ms,
                name,
                reason,
            } => write!(f, "{} dropped {name}: {reason}", secs(*at_ms)),
            Entry::Exit {
                at_ms,
                expr,
                values,
            } => {
                write!(f, "{} exit {expr}", secs(*at_ms))?;
                if !values.is_empty() {
                    write!(f, " {}", Value::Object(values.clone()))?;
                }
                Ok(())
            }
            Entry::Ended {
                at_ms,
                event,
                reason,
            } => write!(f, "{} ended by {event}: {reason}", secs(*at_ms)),
            Entry::Timeout { at_ms, reason } => write!(f, "{} timeout: {reason}", secs(*at_ms)),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// `<exit>` with these values.
    Exit {
        /// The `expr` value (`null` without one).
        expr: Value,
        /// The namelist values.
        values: Map<String, Value>,
    },
    /// An unhandled `error.*`, a kill, or a document that did not load.
    Ended {
        /// The event.
        event: String,
        /// Why.
        reason: String,
    },
    /// The bound of simulated time or steps.
    Timeout {
        /// Which bound.
        reason: String,
    },
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    /// The entries in order.
    pub entries: Vec<Entry>,
    /// How it ended.
    pub outcome: Outcome,
}

impl Transcript {
    /// The `<exit expr>` value, if the session exited.
    pub fn exit_value(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Exit { expr, .. } => Some(expr),
            _ => None,
        }
    }

    /// The `<exit namelist>` values, if the session exited.
    pub fn exit_values(&self) -> Option<&Map<String, Value>> {
        match &self.outcome {
            Outcome::Exit { values, .. } => Some(values),
            _ => None,
        }
    }

    /// The names of the events processed, in order.
    pub fn events(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Event { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// One JSON object per entry.
    pub fn to_jsonl(&self) -> String {
        self.entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect()
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_readable_lines() {
        let e = Entry::Event {
            at_ms: 1500,
            name: "connection.alerting".into(),
            handled: false,
            detail: "connectionid=c1".into(),
        };
        assert_eq!(
            e.to_string(),
            "1.500 [connection.alerting] connectionid=c1 (unhandled)"
        );
        let x = Entry::Exit {
            at_ms: 0,
            expr: Value::from("pass"),
            values: Map::new(),
        };
        assert_eq!(x.to_string(), "0.000 exit \"pass\"");
        let j = serde_json::to_string(&x).expect("serializes");
        assert!(j.starts_with("{\"kind\":\"exit\""), "{j}");
    }
}
