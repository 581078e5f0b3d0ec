//! The CCXML text front end: runs a CCXML session (and the children its
//! `<createccxml>` starts) against a simulated telephony network on a
//! simulated clock (time jumps to the next event; no real waiting), with
//! documents fetched through `vxp-fetcher`. The network
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
use vxp_interpreter::ccxml::{
    Event, Input, MovedSource, Output, Session, SessionConfig, StartupMode,
};

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

/// The simulated network around one session and the child sessions its
/// `<createccxml>` starts (index 0 is the session under test).
struct Network<'a> {
    scenario: &'a Scenario,
    options: &'a RunOptions,
    fetch: FetchService,
    observe: &'a mut dyn FnMut(&Entry),
    entries: Vec<Entry>,
    /// Inputs due at a simulated time (ms), in arrival order.
    agenda: BTreeMap<(u64, u64), (usize, Input)>,
    sessions: Vec<Session>,
    /// The session whose outputs are being performed.
    cur: usize,
    base: Instant,
    seq: u64,
    t: u64,
    inbound: Option<String>,
    /// Child sessions still loading their document, by index, with the
    /// index of the session whose `<createccxml>` started them: it learns
    /// `ccxml.created` or `error.createccxml` once the load is decided.
    creating: BTreeMap<usize, usize>,
    /// The connection each running dialog talks to, by (session index,
    /// dialog id): when that connection ends, so does the dialog.
    dialogs_on: BTreeMap<(usize, String), String>,
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
            sessions: Vec::new(),
            cur: 0,
            base: Instant::now(),
            seq: 0,
            t: 0,
            inbound: None,
            creating: BTreeMap::new(),
            dialogs_on: BTreeMap::new(),
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
        // A child session's lines are shown as the network's, tagged with its id.
        let entry = if self.cur == 0 {
            entry
        } else {
            let line = entry.to_string();
            let rest = line.split_once(' ').map_or(line.as_str(), |(_, r)| r);
            Entry::Network {
                at_ms: self.t,
                text: format!("{}: {rest}", self.sessions[self.cur].id()),
            }
        };
        (self.observe)(&entry);
        self.entries.push(entry);
    }

    fn schedule(&mut self, delay_ms: u64, input: Input) {
        self.deliver(self.cur, delay_ms, input);
    }

    /// Queues `input` for session `target` after `delay_ms`.
    fn deliver(&mut self, target: usize, delay_ms: u64, input: Input) {
        self.seq += 1;
        self.agenda
            .insert((self.t + delay_ms, self.seq), (target, input));
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
        let base = self.base;
        self.sessions.push(Session::new(config, base));
        let max_time = self
            .options
            .max_time
            .or(self.scenario.max_time_ms.map(Duration::from_millis))
            .unwrap_or(DEFAULT_MAX_TIME);
        let max_ms = u64::try_from(max_time.as_millis()).unwrap_or(u64::MAX);

        if !external {
            let inbound = self.scenario.inbound.clone().unwrap_or_default();
            let id = self.sessions[0].new_connection_id();
            self.inbound = Some(id.clone());
            self.seq += 1;
            self.agenda.insert(
                (inbound.at_ms, self.seq),
                (
                    0,
                    Input::Alerting {
                        connection: id,
                        remote: inbound.remote,
                        local: inbound.local,
                        headers: inbound.headers.into_iter().collect(),
                    },
                ),
            );
        }
        for ev in &self.scenario.events {
            if let Some(input) = self.timed_input(ev) {
                self.seq += 1;
                self.agenda.insert((ev.at_ms, self.seq), (0, input));
            }
        }

        let mut steps = 0u32;
        let outcome = loop {
            self.perform_all();
            if self.sessions[0].is_finished() {
                break self.outcome_from_entries();
            }
            steps += 1;
            if steps > MAX_STEPS {
                break Outcome::Timeout {
                    reason: format!("stopped after {MAX_STEPS} steps at {} ms", self.t),
                };
            }
            let timer_ms = self
                .sessions
                .iter()
                .filter_map(Session::poll_timeout)
                .min()
                .map(|at| {
                    u64::try_from(at.saturating_duration_since(base).as_millis())
                        .unwrap_or(u64::MAX)
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
            for key in due {
                if let Some((target, input)) = self.agenda.remove(&key) {
                    self.track_dialogs(target, &input);
                    self.sessions[target].handle_input(input, now);
                    self.perform_all();
                    if self.sessions[0].is_finished() {
                        break;
                    }
                }
            }
            for session in &mut self.sessions {
                if session.poll_timeout().is_some_and(|at| at <= now) {
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

    /// Performs the outputs of every session until none has any.
    fn perform_all(&mut self) {
        let mut i = 0;
        while i < self.sessions.len() {
            self.perform(i);
            i += 1;
        }
        self.cur = 0;
    }

    /// Drains one session's outputs, answering each as the network would.
    fn perform(&mut self, idx: usize) {
        self.cur = idx;
        let base = self.base;
        while let Some(out) = self.sessions[idx].poll_output() {
            self.cur = idx;
            let at_ms = self.t;
            let now = base + Duration::from_millis(self.t);
            match out {
                Output::Fetch(req) => {
                    let result = self.fetch.fetch(&req);
                    self.fetch.forget_recent();
                    self.sessions[idx].handle_fetched(req.id, result, now);
                    if self.sessions[idx].has_loaded()
                        && let Some(parent) = self.creating.remove(&idx)
                    {
                        let sessionid = self.sessions[idx].id().to_owned();
                        self.deliver(parent, 0, Input::SessionCreated { sessionid });
                    }
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
                        .retain(|_, (t, i)| *t != idx || !is_for_connection(i, &connection));
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
                    if let Some(c) = &spec.connection {
                        self.dialogs_on
                            .insert((idx, spec.dialog.clone()), c.clone());
                    }
                    self.run_dialog(spec.dialog, &key);
                }
                Output::TerminateDialog { dialog, immediate } => {
                    self.action(format!(
                        "dialogterminate {dialog}{}",
                        if immediate { " immediate" } else { "" }
                    ));
                    self.agenda
                        .retain(|_, (t, i)| *t != idx || !is_for_dialog(i, &dialog));
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
                    let peer = self
                        .sessions
                        .iter()
                        .position(|s| s.id() == target && !s.is_finished());
                    match (targettype.as_str(), peer) {
                        ("ccxml", Some(p)) => {
                            let source = self.sessions[idx].id().to_owned();
                            self.seq += 1;
                            self.agenda.insert(
                                (self.t, self.seq),
                                (
                                    p,
                                    Input::External {
                                        name,
                                        fields,
                                        source,
                                        sourcetype: "ccxml".into(),
                                    },
                                ),
                            );
                            self.schedule(0, sent(sendid, target, targettype));
                        }
                        ("ccxml", None) => self.schedule(
                            0,
                            Input::SendFailed {
                                sendid,
                                event: "error.send.targetunavailable".into(),
                                reason: format!("no session `{target}` runs here"),
                            },
                        ),
                        _ => self.schedule(0, sent(sendid, target, targettype)),
                    }
                }
                Output::CreateSession {
                    sessionid,
                    url,
                    values,
                } => {
                    let url_parsed = url.clone();
                    let url = self.rewrite(url.as_str());
                    self.action(format!(
                        "createccxml {sessionid} {url}{}",
                        values_suffix(&values)
                    ));
                    let mut config = SessionConfig::new(sessionid.clone(), url_parsed);
                    config.startupmode = StartupMode::CreateCcxml;
                    config.parent = Some(self.sessions[idx].id().to_owned());
                    config.values = values;
                    self.sessions.push(Session::new(config, now));
                    self.creating.insert(self.sessions.len() - 1, idx);
                }
                Output::Move {
                    source,
                    session,
                    object,
                    event,
                } => {
                    self.action(format!(
                        "move {source} to {session}{}",
                        event
                            .as_ref()
                            .map(|e| format!(" with {}", e.name))
                            .unwrap_or_default()
                    ));
                    self.hand_over(idx, source, session, object, event, now);
                }
                Output::Merge {
                    connection1,
                    connection2,
                    ..
                } => {
                    self.action(format!("merge {connection1} {connection2}"));
                    self.merge(idx, connection1, connection2);
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
                        expr: expr.clone(),
                        values: values.clone(),
                    });
                    self.child_ended(idx, expr, values);
                }
                Output::Ended { event, reason, .. } => {
                    let reason = self.rewrite(&reason);
                    self.record(Entry::Ended {
                        at_ms,
                        event,
                        reason: reason.clone(),
                    });
                    match self.creating.remove(&idx) {
                        // The child never ran: its document could not be
                        // fetched or compiled (§6.2.9 error.createccxml).
                        Some(parent) => {
                            let sessionid = self.sessions[idx].id().to_owned();
                            self.deliver(parent, 0, Input::CreateFailed { sessionid, reason });
                        }
                        None => self.child_ended(idx, Value::Null, Map::new()),
                    }
                }
            }
        }
    }

    /// Keeps `dialogs_on` current as `input` reaches session `target`: a
    /// dialog that exits is forgotten; a connection that ends takes the
    /// dialogs on it along. The VoiceXML interpreter of such a dialog gets
    /// `connection.disconnect.hangup` and, with no values to return, exits at
    /// once, so the session sees `connection.disconnected` and then
    /// `dialog.exit`.
    fn track_dialogs(&mut self, target: usize, input: &Input) {
        match input {
            Input::DialogExit { dialog, .. } | Input::DialogFailed { dialog, .. } => {
                self.dialogs_on.remove(&(target, dialog.clone()));
            }
            Input::Disconnected { connection, .. } | Input::Redirected { connection } => {
                let ended: Vec<String> = self
                    .dialogs_on
                    .iter()
                    .filter(|((s, _), c)| *s == target && *c == connection)
                    .map(|((_, d), _)| d.clone())
                    .collect();
                for dialog in ended {
                    self.dialogs_on.remove(&(target, dialog.clone()));
                    self.agenda
                        .retain(|_, (t, i)| *t != target || !is_for_dialog(i, &dialog));
                    let at_ms = self.t;
                    self.record(Entry::Network {
                        at_ms,
                        text: format!("dialog {dialog} ends: connection {connection} is gone"),
                    });
                    self.deliver(
                        target,
                        0,
                        Input::DialogExit {
                            dialog,
                            values: Value::Null,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// Gives a source session `idx` moved to the session `session`
    /// (`<move>`): the receiving session adopts it at once, the events the
    /// network still owes it go there, and the mover learns the outcome.
    fn hand_over(
        &mut self,
        idx: usize,
        source: String,
        session: String,
        object: MovedSource,
        event: Option<Event>,
        now: Instant,
    ) {
        let target = self
            .sessions
            .iter()
            .position(|s| s.id() == session && !s.is_finished());
        let Some(target) = target else {
            let reason = format!("no session `{session}` runs here");
            return self.schedule(
                0,
                Input::MoveFailed {
                    source,
                    session,
                    reason,
                },
            );
        };
        if let Err(e) = self.sessions[target].handle_adopt(object, event, now) {
            return self.schedule(
                0,
                Input::MoveFailed {
                    source,
                    session,
                    reason: e.to_string(),
                },
            );
        }
        for (t, input) in self.agenda.values_mut() {
            if *t == idx && (is_for_connection(input, &source) || is_for_dialog(input, &source)) {
                *t = target;
            }
        }
        if let Some(c) = self.dialogs_on.remove(&(idx, source.clone())) {
            self.dialogs_on.insert((target, source.clone()), c);
        }
        self.schedule(0, Input::Moved { source, session });
    }

    /// Answers a `<merge>` as the scenario's `[merge]` says: both
    /// connections leave the platform, or the merge fails.
    fn merge(&mut self, idx: usize, connection1: String, connection2: String) {
        let plan = self.scenario.merge.clone();
        let after = plan.after_ms.unwrap_or(0);
        if plan.outcome.as_deref() == Some("failed") {
            let reason = plan.reason.unwrap_or_else(|| "the network refused".into());
            return self.schedule(
                after,
                Input::MergeFailed {
                    connection1,
                    connection2,
                    reason,
                },
            );
        }
        self.agenda.retain(|_, (t, i)| {
            *t != idx || !(is_for_connection(i, &connection1) || is_for_connection(i, &connection2))
        });
        self.schedule(
            after,
            Input::Merged {
                connection1,
                connection2,
            },
        );
    }

    /// Reports a child session's end to its parent (`ccxml.exit`).
    fn child_ended(&mut self, idx: usize, expr: Value, values: Map<String, Value>) {
        if idx == 0 {
            return;
        }
        let sessionid = self.sessions[idx].id().to_owned();
        let parent = sessionid
            .rsplit_once('.')
            .and_then(|(p, _)| self.sessions.iter().position(|s| s.id() == p))
            .unwrap_or(0);
        self.seq += 1;
        self.agenda.insert(
            (self.t, self.seq),
            (
                parent,
                Input::ChildExit {
                    sessionid,
                    expr,
                    values,
                },
            ),
        );
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
                    "disconnect" => self.schedule(
                        after,
                        Input::DialogDisconnect {
                            dialog: dialog.clone(),
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
                let exit_at = if matches!(other, "transfer" | "user" | "disconnect") {
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

/// The confirmation of a delivered `<send>`.
fn sent(sendid: String, target: String, targettype: String) -> Input {
    Input::External {
        name: "send.successful".into(),
        fields: [("sendid".to_owned(), Value::String(sendid))]
            .into_iter()
            .collect(),
        source: target,
        sourcetype: targettype,
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
        | Input::DialogDisconnect { dialog }
        | Input::DialogUser { dialog, .. }
        | Input::DialogFailed { dialog, .. } => dialog == id,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fresh folder for one test's documents.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vxp-ccxml-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn write(dir: &std::path::Path, name: &str, body: &str) -> Url {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                r#"<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">{body}</ccxml>"#
            ),
        )
        .expect("document written");
        Url::from_file_path(&path).expect("absolute path")
    }

    #[test]
    fn a_child_session_runs_and_talks_to_its_parent() {
        let dir = scratch("text");
        write(
            &dir,
            "child.ccxml",
            r#"<eventprocessor>
  <transition event="ccxml.loaded"><send name="'child.hello'" target="session.parentid" namelist="session.values.n"/></transition>
  <transition event="parent.bye"><exit expr="'child ' + session.values.n"/></transition>
</eventprocessor>"#,
        );
        let parent = write(
            &dir,
            "parent.ccxml",
            r#"<var name="child"/><var name="n" expr="7"/>
<eventprocessor>
  <transition event="ccxml.loaded"><createccxml next="'child.ccxml'" sessionid="child" namelist="n"/></transition>
  <transition event="child.hello"><send name="'parent.bye'" target="child"/></transition>
  <transition event="ccxml.exit"><exit expr="event$.sessionid == child ? event$.expr : 'fail'"/></transition>
</eventprocessor>"#,
        );
        let scenario = Scenario {
            startupmode: Some("external".into()),
            ..Scenario::default()
        };
        let t = run_scenario(parent.clone(), &scenario, &RunOptions::relative_to(&parent))
            .expect("driver starts");
        assert_eq!(t.exit_value(), Some(&json!("child 7")), "{t}");
        assert!(t.to_string().contains("~ s1.s1: exit"), "{t}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn noanswer_waits_for_the_createcall_timeout() {
        let dir = scratch("noanswer");
        let url = write(
            &dir,
            "call.ccxml",
            r#"<eventprocessor>
  <transition event="ccxml.loaded"><createcall dest="'tel:+1'" timeout="'7s'"/></transition>
  <transition event="connection.failed"><exit expr="event$.reason"/></transition>
</eventprocessor>"#,
        );
        let mut scenario = Scenario::from_toml(
            r#"startupmode = "external"
[calls."tel:+1"]
outcome = "noanswer"
"#,
        )
        .expect("valid");
        scenario.max_time_ms = Some(60_000);
        let t =
            run_scenario(url.clone(), &scenario, &RunOptions::relative_to(&url)).expect("driver");
        assert_eq!(t.exit_value(), Some(&json!("noanswer")), "{t}");
        assert!(t.to_string().contains("7.000 [connection.failed]"), "{t}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_child_whose_document_is_missing_or_malformed_is_a_createccxml_error() {
        let dir = scratch("badchild");
        std::fs::write(dir.join("bad.ccxml"), "<ccxml version=").expect("written");
        let parent = write(
            &dir,
            "parent.ccxml",
            r#"<var name="n" expr="0"/>
<eventprocessor>
  <transition event="ccxml.loaded">
    <createccxml next="'missing.ccxml'"/><createccxml next="'bad.ccxml'"/>
  </transition>
  <transition event="error.createccxml" cond="n == 0"><assign name="n" expr="1"/></transition>
  <transition event="error.createccxml"><exit expr="'both failed'"/></transition>
  <transition event="ccxml.created"><exit expr="'created'"/></transition>
</eventprocessor>"#,
        );
        let scenario = Scenario {
            startupmode: Some("external".into()),
            ..Scenario::default()
        };
        let t = run_scenario(parent.clone(), &scenario, &RunOptions::relative_to(&parent))
            .expect("driver starts");
        assert_eq!(t.exit_value(), Some(&json!("both failed")), "{t}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_hangup_ends_the_dialog_on_that_call() {
        let dir = scratch("hangup");
        let url = write(
            &dir,
            "app.ccxml",
            r#"<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected"><dialogstart src="'menu.vxml'"/></transition>
  <transition event="dialog.exit"><exit expr="event$.connectionid + ' ' + event$.dialogid"/></transition>
</eventprocessor>"#,
        );
        let scenario = Scenario::from_toml(
            r#"[dialogs."*"]
after_ms = 60000
[[events]]
at_ms = 500
kind = "hangup"
"#,
        )
        .expect("valid");
        let t =
            run_scenario(url.clone(), &scenario, &RunOptions::relative_to(&url)).expect("driver");
        assert_eq!(t.exit_value(), Some(&json!("c1 d1")), "{t}");
        let text = t.to_string();
        let hangup = text.find("[connection.disconnected]").expect("hangup seen");
        let exit = text
            .find("0.500 [dialog.exit]")
            .expect("dialog exits at the hangup");
        assert!(hangup < exit, "{t}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_call_moves_to_a_child_session_and_its_hangup_follows_it() {
        let dir = scratch("move");
        write(
            &dir,
            "agent.ccxml",
            r#"<eventprocessor>
  <transition event="connection.alerting">
    <log expr="'got ' + event$.connectionid + ' ' + session.connections[event$.connectionid].state"/>
    <accept/>
  </transition>
  <transition event="connection.disconnected"><exit expr="'agent done'"/></transition>
</eventprocessor>"#,
        );
        let url = write(
            &dir,
            "front.ccxml",
            r#"<var name="agent"/>
<eventprocessor>
  <transition event="ccxml.loaded"><createccxml next="'agent.ccxml'" sessionid="agent"/></transition>
  <transition event="connection.alerting"><move event="event$" sessionid="agent"/></transition>
  <transition event="move.successful"><log expr="event$.sourceid + ' is with ' + event$.sessionid"/></transition>
  <transition event="ccxml.exit"><exit expr="event$.expr"/></transition>
</eventprocessor>"#,
        );
        let scenario = Scenario::from_toml(
            r#"[inbound]
at_ms = 500
[[events]]
at_ms = 3000
kind = "hangup"
"#,
        )
        .expect("valid");
        let t = run_scenario(url.clone(), &scenario, &RunOptions::relative_to(&url))
            .expect("driver starts");
        assert_eq!(t.exit_value(), Some(&json!("agent done")), "{t}");
        insta::assert_snapshot!("move_to_child", t.to_string());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_move_to_a_missing_session_comes_back_as_error_move() {
        let dir = scratch("move-missing");
        let url = write(
            &dir,
            "front.ccxml",
            r#"<eventprocessor>
  <transition event="connection.alerting"><move source="event$.connectionid" sessionid="'s9'"/></transition>
  <transition event="error.move"><reject connectionid="event$.sourceid"/></transition>
  <transition event="connection.failed"><exit expr="event$.connectionid + ' rejected'"/></transition>
</eventprocessor>"#,
        );
        let t = run_scenario(
            url.clone(),
            &Scenario::default(),
            &RunOptions::relative_to(&url),
        )
        .expect("driver starts");
        assert_eq!(t.exit_value(), Some(&json!("c1 rejected")), "{t}");
        insta::assert_snapshot!("move_to_missing_session", t.to_string());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn merge_succeeds_or_fails_as_the_scenario_says() {
        let dir = scratch("merge");
        let url = write(
            &dir,
            "merge.ccxml",
            r#"<var name="a"/><var name="b"/><var name="n" expr="0"/>
<eventprocessor>
  <transition event="connection.alerting"><assign name="a" expr="event$.connectionid"/><accept/></transition>
  <transition event="connection.connected" cond="event$.connectionid == a"><createcall dest="'tel:+15550100'" connectionid="b"/></transition>
  <transition event="connection.connected"><merge connectionid1="a" connectionid2="b"/></transition>
  <transition event="connection.merged">
    <assign name="n" expr="n + 1"/>
    <if cond="n == 2"><exit expr="'merged'"/></if>
  </transition>
  <transition event="connection.merge.failed"><exit expr="'failed: ' + event$.reason"/></transition>
</eventprocessor>"#,
        );
        let mut shown = Vec::new();
        for merge in ["", "[merge]\noutcome = \"failed\"\nreason = \"no REFER\"\n"] {
            let scenario = Scenario::from_toml(merge).expect("valid");
            let t = run_scenario(url.clone(), &scenario, &RunOptions::relative_to(&url))
                .expect("driver starts");
            shown.push(t.to_string());
        }
        assert!(shown[0].contains("exit \"merged\""), "{}", shown[0]);
        assert!(
            shown[1].contains("exit \"failed: no REFER\""),
            "{}",
            shown[1]
        );
        insta::assert_snapshot!("merge_merged_then_failed", shown.join("\n----\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
