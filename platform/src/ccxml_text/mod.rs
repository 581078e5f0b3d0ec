//! The CCXML text front end: runs one CCXML session against a simulated
//! telephony network on a simulated clock (time jumps to the next event; no
//! real waiting), with documents fetched through `vxp-fetcher`. The network
//! confirms every call-control request the way a real one would, and a
//! [`Scenario`] overrides its defaults (busy destinations, dialog results,
//! hangups, external events). `vxp ccxml run` prints the [`Transcript`].
//!
//! ```text
//! let transcript = run_scenario(url, &scenario, &RunOptions::default())?;
//! assert_eq!(transcript.exit_value(), Some(&json!("pass")));
//! ```

mod scenario;
mod transcript;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use url::Url;
use vxp_interpreter::ccxml::{Input, Output, Session, SessionConfig, StartupMode};

pub use scenario::{CallOutcome, DialogOutcome, Inbound, Scenario, TimedEvent};
pub use transcript::{Entry, Outcome, Transcript};

use crate::text::SetupError;
use crate::text::fetch::FetchService;

/// The default bound of simulated time.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(120);

/// Most driver steps before a run is stopped (a session that keeps sending
/// itself events without delay never lets simulated time advance).
pub const MAX_STEPS: u32 = 100_000;

/// Options of a run besides the scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Bound of simulated time (the scenario's `max_time_ms`, else 120 s).
    pub max_time: Option<Duration>,
    /// Text replacements applied to URLs in the transcript (the
    /// application's folder → ``), so transcripts do not depend on where
    /// the application lives.
    pub rewrites: Vec<(String, String)>,
}

impl RunOptions {
    /// Options that print URLs relative to the folder of `url`.
    pub fn relative_to(url: &Url) -> RunOptions {
        let s = url.as_str();
        let rewrites = s
            .rfind('/')
            .map(|cut| vec![(s[..=cut].to_owned(), String::new())])
            .unwrap_or_default();
        RunOptions {
            max_time: None,
            rewrites,
        }
    }
}

/// Runs the CCXML application at `url` against `scenario`; `observe` sees
/// each transcript entry as it happens.
pub fn run_scenario_with(
    url: Url,
    scenario: &Scenario,
    options: &RunOptions,
    observe: &mut dyn FnMut(&Entry),
) -> Result<Transcript, SetupError> {
    let fetch = FetchService::new()?;
    let mut net = Network::new(scenario, options, fetch, observe);
    Ok(net.run(url))
}

/// [`run_scenario_with`] without an observer.
pub fn run_scenario(
    url: Url,
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<Transcript, SetupError> {
    run_scenario_with(url, scenario, options, &mut |_| {})
}

/// The simulated network around one session.
struct Network<'a> {
    scenario: &'a Scenario,
    options: &'a RunOptions,
    fetch: FetchService,
    observe: &'a mut dyn FnMut(&Entry),
    entries: Vec<Entry>,
    /// Inputs due at a simulated time (ms), in arrival order.
    agenda: BTreeMap<(u64, u64), Input>,
    seq: u64,
    t: u64,
    inbound: Option<String>,
}

impl<'a> Network<'a> {
    fn new(
        scenario: &'a Scenario,
        options: &'a RunOptions,
        fetch: FetchService,
        observe: &'a mut dyn FnMut(&Entry),
    ) -> Self {
        Network {
            scenario,
            options,
            fetch,
            observe,
            entries: Vec::new(),
            agenda: BTreeMap::new(),
            seq: 0,
            t: 0,
            inbound: None,
        }
    }

    fn rewrite(&self, s: &str) -> String {
        let mut s = s.to_owned();
        for (from, to) in &self.options.rewrites {
            if !from.is_empty() {
                s = s.replace(from, to);
            }
        }
        s
    }

    fn record(&mut self, entry: Entry) {
        (self.observe)(&entry);
        self.entries.push(entry);
    }

    fn note(&mut self, text: String) {
        let at_ms = self.t;
        self.record(Entry::Network { at_ms, text });
    }

    fn schedule(&mut self, delay_ms: u64, input: Input) {
        self.seq += 1;
        self.agenda.insert((self.t + delay_ms, self.seq), input);
    }

    fn run(&mut self, url: Url) -> Transcript {
        let external = self.scenario.startupmode.as_deref() == Some("external");
        let mut config = SessionConfig::new("s1", url);
        config.startupmode = if external {
            StartupMode::External
        } else {
            StartupMode::NewCall
        };
        config.values = self.scenario.values.clone();
        config.ioprocessors.insert(
            "basichttp".into(),
            Value::from("http://127.0.0.1/ccxml/basichttp?sessionid=s1"),
        );
        let base = Instant::now();
        let mut session = Session::new(config, base);
        let max_time = self
            .options
            .max_time
            .or(self.scenario.max_time_ms.map(Duration::from_millis))
            .unwrap_or(DEFAULT_MAX_TIME);
        let max_ms = u64::try_from(max_time.as_millis()).unwrap_or(u64::MAX);

        if !external {
            let inbound = self.scenario.inbound.clone().unwrap_or_default();
            let id = session.new_connection_id();
            self.inbound = Some(id.clone());
            self.seq += 1;
            self.agenda.insert(
                (inbound.at_ms, self.seq),
                Input::Alerting {
                    connection: id,
                    remote: inbound.remote,
                    local: inbound.local,
                    headers: inbound.headers.into_iter().collect(),
                },
            );
        }
        for ev in &self.scenario.events {
            if let Some(input) = self.timed_input(ev) {
                self.seq += 1;
                self.agenda.insert((ev.at_ms, self.seq), input);
            }
        }

        let mut steps = 0u32;
        let outcome = loop {
            self.perform(&mut session, base);
            if session.is_finished() {
                break self.outcome_from_entries();
            }
            steps += 1;
            if steps > MAX_STEPS {
                break Outcome::Timeout {
                    reason: format!("stopped after {MAX_STEPS} steps at {} ms", self.t),
                };
            }
            let timer_ms = session.poll_timeout().map(|at| {
                u64::try_from(at.saturating_duration_since(base).as_millis()).unwrap_or(u64::MAX)
            });
            let agenda_ms = self.agenda.keys().next().map(|(t, _)| *t);
            let next = match (timer_ms, agenda_ms) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    break Outcome::Timeout {
                        reason: format!("the session waits for nothing more after {} ms", self.t),
                    };
                }
            };
            if next > max_ms {
                self.t = max_ms;
                break Outcome::Timeout {
                    reason: format!("no exit within {max_ms} ms of simulated time"),
                };
            }
            self.t = self.t.max(next);
            let now = base + Duration::from_millis(self.t);
            let due: Vec<(u64, u64)> = self
                .agenda
                .range(..=(self.t, u64::MAX))
                .map(|(k, _)| *k)
                .collect();
            if due.is_empty() {
                session.handle_timeout(now);
            } else {
                for key in due {
                    if let Some(input) = self.agenda.remove(&key) {
                        session.handle_input(input, now);
                        self.perform(&mut session, base);
                        if session.is_finished() {
                            break;
                        }
                    }
                }
                if !session.is_finished() {
                    session.handle_timeout(now);
                }
            }
        };
        if let Outcome::Timeout { reason } = &outcome {
            let at_ms = self.t;
            self.record(Entry::Timeout {
                at_ms,
                reason: reason.clone(),
            });
        }
        Transcript {
            entries: std::mem::take(&mut self.entries),
            outcome,
        }
    }

    fn outcome_from_entries(&self) -> Outcome {
        for e in self.entries.iter().rev() {
            match e {
                Entry::Exit { expr, values, .. } => {
                    return Outcome::Exit {
                        expr: expr.clone(),
                        values: values.clone(),
                    };
                }
                Entry::Ended { event, reason, .. } => {
                    return Outcome::Ended {
                        event: event.clone(),
                        reason: reason.clone(),
                    };
                }
                _ => {}
            }
        }
        Outcome::Timeout {
            reason: "the session ended without a report".into(),
        }
    }

    fn timed_input(&self, ev: &TimedEvent) -> Option<Input> {
        match ev.kind.as_str() {
            "hangup" => {
                let c = ev.connection.as_deref().unwrap_or("inbound");
                let connection = if c == "inbound" {
                    self.inbound.clone().unwrap_or_else(|| "c1".into())
                } else {
                    c.to_owned()
                };
                Some(Input::Disconnected {
                    connection,
                    reason: "hangup".into(),
                    trigger: "remote".into(),
                })
            }
            "event" => Some(Input::External {
                name: ev.name.clone().unwrap_or_default(),
                fields: ev.fields.clone(),
                source: "http://127.0.0.1/".into(),
                sourcetype: "basichttp".into(),
            }),
            "kill" => Some(Input::Kill {
                unconditional: ev.name.as_deref() == Some("unconditional"),
                reason: "killed by the scenario".into(),
            }),
            "dialog.user" => Some(Input::DialogUser {
                dialog: ev.dialog.clone().unwrap_or_default(),
                name: ev.name.clone().unwrap_or_else(|| "event".into()),
                values: ev.fields.clone(),
            }),
            other => {
                tracing::warn!("scenario event kind `{other}` is unknown; ignored");
                None
            }
        }
    }

    /// Drains the session's outputs, answering each as the network would.
    fn perform(&mut self, session: &mut Session, base: Instant) {
        while let Some(out) = session.poll_output() {
            let at_ms = self.t;
            let now = base + Duration::from_millis(self.t);
            match out {
                Output::Fetch(req) => {
                    let result = self.fetch.fetch(&req);
                    self.fetch.forget_recent();
                    session.handle_fetched(req.id, result, now);
                }
                Output::AcceptCall { connection, .. } => {
                    self.action(format!("accept {connection}"));
                    self.schedule(0, Input::Connected { connection });
                }
                Output::RejectCall { connection, reason } => {
                    self.action(format!("reject {connection}{}", opt(" reason=", &reason)));
                    self.schedule(
                        0,
                        Input::Failed {
                            connection,
                            reason: reason.unwrap_or_else(|| "rejected".into()),
                        },
                    );
                }
                Output::Redirect {
                    connection, dest, ..
                } => {
                    self.action(format!("redirect {connection} to {dest}"));
                    self.schedule(0, Input::Redirected { connection });
                }
                Output::CreateCall {
                    connection,
                    dest,
                    timeout,
                    ..
                } => {
                    self.action(format!("createcall {connection} to {dest}"));
                    self.place_call(connection, &dest, timeout);
                }
                Output::Disconnect { connection, reason } => {
                    self.action(format!("disconnect {connection}"));
                    self.agenda
                        .retain(|_, i| !is_for_connection(i, &connection));
                    self.schedule(
                        0,
                        Input::Disconnected {
                            connection,
                            reason: reason.unwrap_or_else(|| "disconnect".into()),
                            trigger: "local".into(),
                        },
                    );
                }
                Output::Join { id1, id2, duplex } => {
                    self.action(format!(
                        "join {id1} {id2} {}",
                        serde_json::to_value(duplex)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    ));
                    self.schedule(0, Input::Joined { id1, id2 });
                }
                Output::Unjoin { id1, id2 } => {
                    self.action(format!("unjoin {id1} {id2}"));
                    self.schedule(0, Input::Unjoined { id1, id2 });
                }
                Output::CreateConference { conference, name } => {
                    self.action(format!(
                        "createconference {conference}{}",
                        opt(" name=", &name)
                    ));
                    self.schedule(0, Input::ConferenceCreated { conference });
                }
                Output::DestroyConference { conference } => {
                    self.action(format!("destroyconference {conference}"));
                    self.schedule(0, Input::ConferenceDestroyed { conference });
                }
                Output::PrepareDialog(spec) => {
                    let src = spec
                        .src
                        .as_ref()
                        .map(|u| self.rewrite(u.as_str()))
                        .unwrap_or_default();
                    self.action(format!(
                        "dialogprepare {} {src}{}",
                        spec.dialog,
                        values_suffix(&spec.values)
                    ));
                    self.schedule(
                        0,
                        Input::DialogPrepared {
                            dialog: spec.dialog,
                        },
                    );
                }
                Output::StartDialog(spec) => {
                    let src = spec
                        .src
                        .as_ref()
                        .map(|u| self.rewrite(u.as_str()))
                        .unwrap_or_default();
                    let on = spec
                        .connection
                        .as_deref()
                        .or(spec.conference.as_deref())
                        .unwrap_or("-");
                    self.action(format!(
                        "dialogstart {} {src} on {on}{}",
                        spec.dialog,
                        values_suffix(&spec.values)
                    ));
                    let key = spec.src.as_ref().map(|u| u.to_string()).unwrap_or_default();
                    self.run_dialog(spec.dialog, &key);
                }
                Output::TerminateDialog { dialog, immediate } => {
                    self.action(format!(
                        "dialogterminate {dialog}{}",
                        if immediate { " immediate" } else { "" }
                    ));
                    self.agenda.retain(|_, i| !is_for_dialog(i, &dialog));
                    self.schedule(
                        0,
                        Input::DialogExit {
                            dialog,
                            values: Value::Null,
                        },
                    );
                }
                Output::SendEvent {
                    sendid,
                    targettype,
                    target,
                    name,
                    fields,
                } => {
                    let target_shown = self.rewrite(&target);
                    self.action(format!(
                        "send {name} to {targettype}:{target_shown}{}",
                        values_suffix(&fields)
                    ));
                    if targettype == "ccxml" {
                        self.schedule(
                            0,
                            Input::SendFailed {
                                sendid,
                                event: "error.send.targetunavailable".into(),
                                reason: format!("no session `{target}` runs here"),
                            },
                        );
                    } else {
                        self.schedule(
                            0,
                            Input::External {
                                name: "send.successful".into(),
                                fields: [("sendid".to_owned(), Value::String(sendid))]
                                    .into_iter()
                                    .collect(),
                                source: target,
                                sourcetype: targettype,
                            },
                        );
                    }
                }
                Output::CreateSession {
                    sessionid,
                    url,
                    values,
                } => {
                    let url = self.rewrite(url.as_str());
                    self.action(format!(
                        "createccxml {sessionid} {url}{}",
                        values_suffix(&values)
                    ));
                    self.note(format!("child session {sessionid} is not run in text mode"));
                    self.schedule(0, Input::SessionCreated { sessionid });
                }
                Output::Log { label, text, .. } => {
                    self.record(Entry::Log { at_ms, label, text });
                }
                Output::Event { event, handled } => {
                    let mut detail = Vec::new();
                    for (k, v) in &event.fields {
                        if matches!(
                            k.as_str(),
                            "eventid"
                                | "eventsource"
                                | "eventsourcetype"
                                | "protocol"
                                | "info"
                                | "location"
                        ) {
                            continue;
                        }
                        let v = match v {
                            Value::String(s) => self.rewrite(s),
                            other => other.to_string(),
                        };
                        detail.push(format!("{k}={v}"));
                    }
                    self.record(Entry::Event {
                        at_ms,
                        name: event.name,
                        handled,
                        detail: detail.join(" "),
                    });
                }
                Output::Dropped { name, reason } => {
                    self.record(Entry::Dropped {
                        at_ms,
                        name,
                        reason,
                    });
                }
                Output::Exit { expr, values, .. } => {
                    self.record(Entry::Exit {
                        at_ms,
                        expr,
                        values,
                    });
                }
                Output::Ended { event, reason, .. } => {
                    let reason = self.rewrite(&reason);
                    self.record(Entry::Ended {
                        at_ms,
                        event,
                        reason,
                    });
                }
            }
        }
    }

    fn action(&mut self, text: String) {
        let at_ms = self.t;
        self.record(Entry::Action { at_ms, text });
    }

    fn place_call(&mut self, connection: String, dest: &str, timeout: Option<Duration>) {
        let plan = self.scenario.call(dest);
        self.schedule(
            0,
            Input::Progressing {
                connection: connection.clone(),
            },
        );
        let outcome = plan.outcome.as_deref().unwrap_or("answer");
        match outcome {
            "busy" | "failed" => {
                let after = plan.after_ms.unwrap_or(500);
                self.schedule(
                    after,
                    Input::Failed {
                        connection,
                        reason: outcome.to_owned(),
                    },
                );
            }
            "noanswer" => {
                let after = plan.after_ms.unwrap_or_else(|| {
                    timeout.map_or(30_000, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
                });
                self.schedule(
                    after,
                    Input::Failed {
                        connection,
                        reason: "noanswer".into(),
                    },
                );
            }
            _ => {
                let after = plan.after_ms.unwrap_or(1000);
                self.schedule(
                    after,
                    Input::Connected {
                        connection: connection.clone(),
                    },
                );
                if let Some(h) = plan.hangup_after_ms {
                    self.schedule(
                        after + h,
                        Input::Disconnected {
                            connection,
                            reason: "hangup".into(),
                            trigger: "remote".into(),
                        },
                    );
                }
            }
        }
    }

    fn run_dialog(&mut self, dialog: String, src: &str) {
        let plan = self.scenario.dialog(src);
        let after = plan.after_ms.unwrap_or(1000);
        match plan.outcome.as_deref().unwrap_or("exit") {
            "error" => {
                self.schedule(
                    0,
                    Input::DialogFailed {
                        dialog,
                        reason: "the dialog could not be started".into(),
                    },
                );
            }
            other => {
                self.schedule(
                    0,
                    Input::DialogStarted {
                        dialog: dialog.clone(),
                    },
                );
                match other {
                    "transfer" => self.schedule(
                        after,
                        Input::DialogTransfer {
                            dialog: dialog.clone(),
                            transfer_type: "blind".into(),
                            uri: plan
                                .transfer_uri
                                .clone()
                                .unwrap_or_else(|| "tel:+15550000".into()),
                        },
                    ),
                    "user" => self.schedule(
                        after,
                        Input::DialogUser {
                            dialog: dialog.clone(),
                            name: plan.user_event.clone().unwrap_or_else(|| "event".into()),
                            values: plan.exit_values.clone(),
                        },
                    ),
                    _ => {}
                }
                let exit_at = if matches!(other, "transfer" | "user") {
                    after * 2
                } else {
                    after
                };
                self.schedule(
                    exit_at,
                    Input::DialogExit {
                        dialog,
                        values: Value::Object(plan.exit_values),
                    },
                );
            }
        }
    }
}

fn opt(prefix: &str, v: &Option<String>) -> String {
    v.as_deref()
        .map(|s| format!("{prefix}{s}"))
        .unwrap_or_default()
}

fn values_suffix(values: &Map<String, Value>) -> String {
    if values.is_empty() {
        String::new()
    } else {
        format!(" {}", Value::Object(values.clone()))
    }
}

fn is_for_connection(input: &Input, id: &str) -> bool {
    match input {
        Input::Progressing { connection }
        | Input::Connected { connection }
        | Input::Failed { connection, .. }
        | Input::Disconnected { connection, .. }
        | Input::Redirected { connection } => connection == id,
        _ => false,
    }
}

fn is_for_dialog(input: &Input, id: &str) -> bool {
    match input {
        Input::DialogStarted { dialog }
        | Input::DialogPrepared { dialog }
        | Input::DialogExit { dialog, .. }
        | Input::DialogTransfer { dialog, .. }
        | Input::DialogUser { dialog, .. }
        | Input::DialogFailed { dialog, .. } => dialog == id,
        _ => false,
    }
}
