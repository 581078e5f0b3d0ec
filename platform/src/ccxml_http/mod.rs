//! The CCXML HTTP interfaces (CCXML 1.0 Appendix K, the basichttp event I/O
//! processor): `POST /ccxml/createsession` starts a session from a document
//! URL (the outbound entry point web applications use), `POST
//! /ccxml/basichttp` injects an event into a running session, and each
//! session's `<send targettype="basichttp">` is POSTed to its target.
//!
//! The handlers reach sessions through a [`SessionHost`]. Under `vxp serve`
//! the host is the server's own CCXML layer (`serve::ccxml`), whose sessions
//! place real SIP calls. Standalone, the [`Registry`] runs each session on a
//! thread of its own (sessions are not `Send`: their ECMAScript context is
//! per thread) and confirms its telephony requests with the loopback
//! network of the text front end (every request succeeds at once).
//!
//! Form fields: `createsession` takes `uri` and passes the rest as
//! `session.values`; `basichttp` takes `sessionid` and `name` and passes the
//! rest as the event's fields.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value};
use url::Url;
use vxp_interpreter::ccxml::{Input, Output, Session, SessionConfig, StartupMode};
use vxp_interpreter::vxml::session::{
    FetchRequest, FetchResult, Method, ResourceKind, SubmitValue,
};

use crate::text::fetch::FetchService;

/// A message to a running session's thread.
#[derive(Debug)]
enum Command {
    /// An external event (basichttp).
    Event {
        name: String,
        fields: Map<String, Value>,
    },
}

/// Events waiting between the HTTP handlers and one session's thread;
/// more are refused with 503 (the session's own queue is bounded too).
pub const MAX_PENDING_EVENTS: usize = 256;

/// Why an event was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Delivery {
    /// No session with that id runs.
    #[error("no such session")]
    NoSession,
    /// The session has too many events waiting.
    #[error("the session is busy")]
    Busy,
}

/// The running sessions, by id.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Arc<Mutex<HashMap<String, SyncSender<Command>>>>,
    next: AtomicU64,
    /// The public URL of this server's basichttp endpoint, for
    /// `session.ioprocessors.basichttp`.
    basichttp_url: Mutex<Option<String>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    /// Sets the URL sessions advertise in `session.ioprocessors.basichttp`.
    pub fn set_basichttp_url(&self, url: &str) {
        if let Ok(mut slot) = self.basichttp_url.lock() {
            *slot = Some(url.to_owned());
        }
    }

    /// The ids of the sessions that are running.
    pub fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .sessions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Starts a session running `url` on a thread of its own; returns its id.
    pub fn start_session(&self, url: Url, values: Map<String, Value>) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("ccxml-{n}");
        let (tx, rx) = sync_channel(MAX_PENDING_EVENTS);
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(id.clone(), tx);
        }
        let mut config = SessionConfig::new(id.clone(), url);
        config.startupmode = StartupMode::External;
        config.values = values;
        if let Some(base) = self.basichttp_url.lock().ok().and_then(|u| u.clone()) {
            config.ioprocessors.insert(
                "basichttp".into(),
                Value::String(format!("{base}?sessionid={id}")),
            );
        }
        let sessions = Arc::clone(&self.sessions);
        let thread_id = id.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ccxml {id}"))
            .spawn(move || {
                run_live(config, &rx);
                if let Ok(mut s) = sessions.lock() {
                    s.remove(&thread_id);
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for session {id}: {e}");
            if let Ok(mut s) = self.sessions.lock() {
                s.remove(&id);
            }
        }
        id
    }

    /// Delivers an external event to a running session.
    pub fn send_event(
        &self,
        sessionid: &str,
        name: String,
        fields: Map<String, Value>,
    ) -> Result<(), Delivery> {
        let s = self.sessions.lock().map_err(|_| Delivery::NoSession)?;
        let tx = s.get(sessionid).ok_or(Delivery::NoSession)?;
        tx.try_send(Command::Event { name, fields })
            .map_err(|e| match e {
                TrySendError::Full(_) => Delivery::Busy,
                TrySendError::Disconnected(_) => Delivery::NoSession,
            })
    }
}

/// Where the HTTP interfaces start sessions and deliver events.
pub trait SessionHost: Send + Sync + 'static {
    /// Starts a session running `url` with `values` as `session.values`
    /// (`session.startupmode` is `external`); returns its id.
    fn start_session(&self, url: Url, values: Map<String, Value>) -> String;

    /// Delivers an external (basichttp) event to a running session.
    fn send_event(
        &self,
        sessionid: &str,
        name: String,
        fields: Map<String, Value>,
    ) -> Result<(), Delivery>;
}

impl SessionHost for Registry {
    fn start_session(&self, url: Url, values: Map<String, Value>) -> String {
        Registry::start_session(self, url, values)
    }

    fn send_event(
        &self,
        sessionid: &str,
        name: String,
        fields: Map<String, Value>,
    ) -> Result<(), Delivery> {
        Registry::send_event(self, sessionid, name, fields)
    }
}

/// The path of the `createsession` interface.
pub const CREATESESSION_PATH: &str = "/ccxml/createsession";

/// The path of the basichttp event I/O processor.
pub const BASICHTTP_PATH: &str = "/ccxml/basichttp";

/// The axum router of the CCXML HTTP interfaces.
pub fn router<H: SessionHost>(host: Arc<H>) -> Router {
    Router::new()
        .route(CREATESESSION_PATH, post(createsession::<H>))
        .route(BASICHTTP_PATH, post(basichttp::<H>))
        .with_state(host)
}

async fn createsession<H: SessionHost>(
    State(registry): State<Arc<H>>,
    Form(mut form): Form<HashMap<String, String>>,
) -> (StatusCode, String) {
    let Some(uri) = form.remove("uri") else {
        return (StatusCode::BAD_REQUEST, "missing `uri`\n".into());
    };
    let url = match Url::parse(&uri) {
        Ok(u) => u,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad uri: {e}\n")),
    };
    let values = form
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let id = registry.start_session(url, values);
    (StatusCode::OK, id)
}

async fn basichttp<H: SessionHost>(
    State(registry): State<Arc<H>>,
    Form(mut form): Form<HashMap<String, String>>,
) -> (StatusCode, String) {
    let (Some(sessionid), Some(name)) = (form.remove("sessionid"), form.remove("name")) else {
        return (
            StatusCode::BAD_REQUEST,
            "needs `sessionid` and `name`\n".into(),
        );
    };
    let fields = form
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    match registry.send_event(&sessionid, name, fields) {
        Ok(()) => (StatusCode::NO_CONTENT, String::new()),
        Err(Delivery::NoSession) => (StatusCode::NOT_FOUND, format!("no session `{sessionid}`\n")),
        Err(Delivery::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("session `{sessionid}` has too many events waiting\n"),
        ),
    }
}

/// The longest a live session runs without an event before it is ended.
const IDLE_LIMIT: Duration = Duration::from_secs(3600);

/// Drives one session in real time until it ends.
fn run_live(config: SessionConfig, rx: &Receiver<Command>) {
    let id = config.id.clone();
    let mut fetch = match FetchService::new() {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(session = %id, "no fetcher: {e}");
            return;
        }
    };
    let mut session = Session::new(config, Instant::now());
    let mut confirmations: Vec<Input> = Vec::new();
    let mut next_fetch = 1_000_000u64;
    loop {
        while let Some(out) = session.poll_output() {
            let now = Instant::now();
            match out {
                Output::Fetch(req) => {
                    let result = fetch.fetch(&req);
                    fetch.forget_recent();
                    session.handle_fetched(req.id, result, now);
                }
                Output::SendEvent {
                    sendid,
                    targettype,
                    target,
                    name,
                    fields,
                } if targettype == "basichttp" => {
                    next_fetch += 1;
                    if let Some(input) =
                        post_event(&mut fetch, next_fetch, &sendid, &target, &name, &fields)
                    {
                        confirmations.push(input);
                    }
                }
                Output::Log { label, text, .. } => {
                    tracing::info!(session = %id, label = label.as_deref().unwrap_or(""), "{text}");
                }
                Output::Exit { expr, .. } => {
                    tracing::info!(session = %id, "exit {expr}");
                }
                Output::Ended { event, reason, .. } => {
                    tracing::info!(session = %id, "ended by {event}: {reason}");
                }
                other => {
                    if let Some(input) = loopback(&other) {
                        confirmations.push(input);
                    }
                }
            }
        }
        if session.is_finished() {
            return;
        }
        if !confirmations.is_empty() {
            let now = Instant::now();
            for input in std::mem::take(&mut confirmations) {
                session.handle_input(input, now);
            }
            continue;
        }
        let now = Instant::now();
        let wait = session
            .poll_timeout()
            .map_or(IDLE_LIMIT, |at| at.saturating_duration_since(now));
        match rx.recv_timeout(wait) {
            Ok(Command::Event { name, fields }) => session.handle_input(
                Input::External {
                    name,
                    fields,
                    source: "basichttp".into(),
                    sourcetype: "basichttp".into(),
                },
                Instant::now(),
            ),
            Err(RecvTimeoutError::Timeout) => {
                if session.poll_timeout().is_none() {
                    tracing::warn!(session = %id, "idle for an hour; killed");
                    session.handle_input(
                        Input::Kill {
                            unconditional: true,
                            reason: "idle".into(),
                        },
                        Instant::now(),
                    );
                } else {
                    session.handle_timeout(Instant::now());
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// POSTs a basichttp event (Appendix K: `name` plus the namelist fields,
/// form encoded); `send.successful` or the failure, as the session's input.
fn post_event(
    fetch: &mut FetchService,
    id: u64,
    sendid: &str,
    target: &str,
    name: &str,
    fields: &Map<String, Value>,
) -> Option<Input> {
    let Ok(url) = Url::parse(target) else {
        return Some(Input::SendFailed {
            sendid: sendid.to_owned(),
            event: "error.send.targetunavailable".into(),
            reason: format!("`{target}` is not a URL"),
        });
    };
    let mut params = vec![("name".to_owned(), SubmitValue::Text(name.to_owned()))];
    for (k, v) in fields {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        params.push((k.clone(), SubmitValue::Text(text)));
    }
    let req = FetchRequest {
        id: vxp_interpreter::vxml::session::FetchId(id),
        url,
        kind: ResourceKind::Submit,
        method: Method::Post,
        params,
        enctype: "application/x-www-form-urlencoded".into(),
        maxage: None,
        maxstale: None,
        timeout: Some(Duration::from_secs(10)),
        fetchhint: None,
        fetchaudio: None,
        referrer: None,
    };
    match fetch.fetch(&req) {
        FetchResult::Ok(_) => Some(Input::External {
            name: "send.successful".into(),
            fields: [("sendid".to_owned(), Value::String(sendid.to_owned()))]
                .into_iter()
                .collect(),
            source: target.to_owned(),
            sourcetype: "basichttp".into(),
        }),
        FetchResult::Err { event, message } => Some(Input::SendFailed {
            sendid: sendid.to_owned(),
            event: if event.contains("http") {
                "error.send.failed".into()
            } else {
                "error.send.targetunavailable".into()
            },
            reason: message,
        }),
    }
}

/// The confirmation the loopback network gives a call-control request.
fn loopback(out: &Output) -> Option<Input> {
    Some(match out {
        Output::AcceptCall { connection, .. } => Input::Connected {
            connection: connection.clone(),
        },
        Output::RejectCall { connection, reason } => Input::Failed {
            connection: connection.clone(),
            reason: reason.clone().unwrap_or_else(|| "rejected".into()),
        },
        Output::Redirect { connection, .. } => Input::Redirected {
            connection: connection.clone(),
        },
        Output::CreateCall { connection, .. } => Input::Connected {
            connection: connection.clone(),
        },
        Output::Disconnect { connection, reason } => Input::Disconnected {
            connection: connection.clone(),
            reason: reason.clone().unwrap_or_else(|| "disconnect".into()),
            trigger: "local".into(),
        },
        Output::Join { id1, id2, .. } => Input::Joined {
            id1: id1.clone(),
            id2: id2.clone(),
        },
        Output::Unjoin { id1, id2 } => Input::Unjoined {
            id1: id1.clone(),
            id2: id2.clone(),
        },
        Output::CreateConference { conference, .. } => Input::ConferenceCreated {
            conference: conference.clone(),
        },
        Output::DestroyConference { conference } => Input::ConferenceDestroyed {
            conference: conference.clone(),
        },
        Output::PrepareDialog(spec) => Input::DialogPrepared {
            dialog: spec.dialog.clone(),
        },
        Output::StartDialog(spec) => Input::DialogStarted {
            dialog: spec.dialog.clone(),
        },
        Output::TerminateDialog { dialog, .. } => Input::DialogExit {
            dialog: dialog.clone(),
            values: Value::Null,
        },
        Output::SendEvent { sendid, target, .. } => Input::SendFailed {
            sendid: sendid.clone(),
            event: "error.send.targetunavailable".into(),
            reason: format!("`{target}` cannot be reached from this session"),
        },
        Output::CreateSession { sessionid, .. } => Input::CreateFailed {
            sessionid: sessionid.clone(),
            reason: "child sessions are not started by the HTTP interface yet".into(),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// A minimal HTTP/1.1 form POST; the status code and body.
    fn http_post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).expect("the server listens");
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("request written");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("response read");
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }

    #[test]
    fn createsession_then_an_event_round_trip_over_http() {
        let dir = std::env::temp_dir().join(format!("vxp-ccxml-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let doc = dir.join("pingpong.ccxml");
        std::fs::write(
            &doc,
            r#"<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <eventprocessor>
    <transition event="app.ping">
      <var name="greeting" expr="session.values.greeting + ' ' + event$.who"/>
      <send name="'app.pong'" target="event$.reply" targettype="'basichttp'" namelist="greeting"/>
    </transition>
    <transition event="send.successful"><exit expr="'sent'"/></transition>
    <transition event="error.send.*"><exit expr="'failed'"/></transition>
  </eventprocessor>
</ccxml>"#,
        )
        .expect("document written");
        let doc_url = Url::from_file_path(&doc).expect("absolute path");

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let registry = Registry::new();
        let (pong_tx, pong_rx) = std::sync::mpsc::channel::<String>();
        let pong_tx = Arc::new(Mutex::new(pong_tx));
        let app = router(registry.clone()).route(
            "/sink",
            post(move |body: String| {
                let tx = pong_tx.clone();
                async move {
                    if let Ok(tx) = tx.lock() {
                        let _ = tx.send(body);
                    }
                    StatusCode::OK
                }
            }),
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let (status, id) = http_post(
            addr,
            "/ccxml/createsession",
            &format!("uri={}&greeting=hello", percent(doc_url.as_str())),
        );
        assert_eq!(status, 200, "{id}");
        assert_eq!(id, "ccxml-1");
        let reply = format!("http://{addr}/sink");
        // The session may still be loading its document: the event waits in its queue.
        let (status, body) = http_post(
            addr,
            "/ccxml/basichttp",
            &format!(
                "sessionid={id}&name=app.ping&who=world&reply={}",
                percent(&reply)
            ),
        );
        assert_eq!(status, 204, "{body}");
        let pong = pong_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the session posts its event back");
        assert!(pong.contains("name=app.pong"), "{pong}");
        assert!(
            pong.contains("greeting=hello+world") || pong.contains("greeting=hello%20world"),
            "{pong}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !registry.running().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(registry.running().is_empty(), "the session exited");
        let (status, _) = http_post(addr, "/ccxml/basichttp", "sessionid=ccxml-1&name=late");
        assert_eq!(status, 404);
        let (status, _) = http_post(addr, "/ccxml/createsession", "nouri=1");
        assert_eq!(status, 400);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn percent(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}
