//! The scenario format of `vxp ccxml run --scenario file.toml`: how the
//! simulated network answers a CCXML session's requests and which events it
//! sends on its own (see `docs/RUNNING-APPS.md`, "CCXML").

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// A scripted telephony world for one session.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// `newcall` (default: an inbound call arrives at t=0) or `external`
    /// (no call: the session starts as if from `createsession`).
    #[serde(default)]
    pub startupmode: Option<String>,
    /// The inbound call (defaults apply when absent and the mode is `newcall`).
    #[serde(default)]
    pub inbound: Option<Inbound>,
    /// How outbound calls are answered, by destination URI (or `"*"`).
    #[serde(default)]
    pub calls: BTreeMap<String, CallOutcome>,
    /// How dialogs behave, by `src` (the URL, its last segments, or `"*"`).
    #[serde(default)]
    pub dialogs: BTreeMap<String, DialogOutcome>,
    /// How the network answers `<merge>`.
    #[serde(default)]
    pub merge: MergeOutcome,
    /// Timed events.
    #[serde(default)]
    pub events: Vec<TimedEvent>,
    /// `session.values` of the session (parameters of `createsession`).
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Bound of simulated time in milliseconds (default 120 000).
    #[serde(default)]
    pub max_time_ms: Option<u64>,
}

/// The inbound call of a `newcall` session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    /// The caller.
    #[serde(default = "default_remote")]
    pub remote: String,
    /// The number called.
    #[serde(default = "default_local")]
    pub local: String,
    /// SIP headers of the INVITE.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// When it arrives (default 0).
    #[serde(default)]
    pub at_ms: u64,
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            remote: default_remote(),
            local: default_local(),
            headers: BTreeMap::new(),
            at_ms: 0,
        }
    }
}

fn default_remote() -> String {
    "sip:caller@example.com".to_owned()
}

fn default_local() -> String {
    "sip:1000@vxp.example".to_owned()
}

/// How an outbound call ends up.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOutcome {
    /// `answer` (default), `busy`, `noanswer` or `failed`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// When the outcome happens (default 1000 ms; `noanswer` waits for the
    /// `<createcall>` timeout, 30 s when none).
    #[serde(default)]
    pub after_ms: Option<u64>,
    /// The far end hangs up this long after answering.
    #[serde(default)]
    pub hangup_after_ms: Option<u64>,
}

/// How a dialog behaves once started.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogOutcome {
    /// `exit` (default), `transfer`, `disconnect` (`dialog.disconnect`
    /// first), `error` or `user`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Values `dialog.exit` returns.
    #[serde(default)]
    pub exit_values: Map<String, Value>,
    /// When the dialog ends (default 1000 ms after it starts).
    #[serde(default)]
    pub after_ms: Option<u64>,
    /// For `user`: the event name after `dialog.user.` (default `event`).
    #[serde(default)]
    pub user_event: Option<String>,
    /// For `transfer`: the destination (default `tel:+15550000`).
    #[serde(default)]
    pub transfer_uri: Option<String>,
}

/// How the network answers `<merge>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeOutcome {
    /// `merged` (default) or `failed`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// When the answer comes (default at once).
    #[serde(default)]
    pub after_ms: Option<u64>,
    /// For `failed`: the reason given.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An event the network sends at a given time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedEvent {
    /// Simulated time in milliseconds.
    pub at_ms: u64,
    /// `hangup`, `event` (an external basichttp event), `kill` or `dialog.user`.
    pub kind: String,
    /// For `hangup`: the connection (`inbound` or an id).
    #[serde(default)]
    pub connection: Option<String>,
    /// For `event`: the event name; for `dialog.user`: the part after `dialog.user.`.
    #[serde(default)]
    pub name: Option<String>,
    /// For `dialog.user`: the dialog id.
    #[serde(default)]
    pub dialog: Option<String>,
    /// The event's fields.
    #[serde(default)]
    pub fields: Map<String, Value>,
}

impl Scenario {
    /// Parses a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, toml::de::Error> {
        toml::from_str(text)
    }

    /// The outcome for a call to `dest`.
    pub fn call(&self, dest: &str) -> CallOutcome {
        self.calls
            .get(dest)
            .or_else(|| self.calls.get("*"))
            .cloned()
            .unwrap_or_default()
    }

    /// The behaviour of the dialog at `src`: an exact URL, a key the URL
    /// ends with (`menu.vxml`), or `"*"`.
    pub fn dialog(&self, src: &str) -> DialogOutcome {
        if let Some(d) = self.dialogs.get(src) {
            return d.clone();
        }
        let by_suffix = self
            .dialogs
            .iter()
            .filter(|(k, _)| k.as_str() != "*" && src.ends_with(k.as_str()))
            .max_by_key(|(k, _)| k.len());
        if let Some((_, d)) = by_suffix {
            return d.clone();
        }
        self.dialogs.get("*").cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let s = Scenario::from_toml(
            r#"
[inbound]
remote = "sip:alice@example.com"
local = "sip:1000@vxp.example"
headers = { X-Foo = "bar" }

[calls."tel:+1555"]
outcome = "busy"
after_ms = 500

[dialogs."menu.vxml"]
exit_values = { choice = "sales" }

[dialogs."*"]
outcome = "transfer"

[[events]]
at_ms = 2000
kind = "hangup"
connection = "inbound"

[[events]]
at_ms = 3000
kind = "event"
name = "myapp.go"
fields = { a = "1" }
"#,
        )
        .expect("valid scenario");
        assert_eq!(
            s.inbound.as_ref().map(|i| i.remote.as_str()),
            Some("sip:alice@example.com")
        );
        assert_eq!(s.call("tel:+1555").outcome.as_deref(), Some("busy"));
        assert_eq!(s.call("tel:+1666").outcome, None);
        assert_eq!(
            s.dialog("http://app/menu.vxml").exit_values.get("choice"),
            Some(&Value::from("sales"))
        );
        assert_eq!(
            s.dialog("http://app/other.vxml").outcome.as_deref(),
            Some("transfer")
        );
        assert_eq!(s.events.len(), 2);
    }

    #[test]
    fn rejects_unknown_fields() {
        assert!(Scenario::from_toml("bogus = 1").is_err());
    }
}
