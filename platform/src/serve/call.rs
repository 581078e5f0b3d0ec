//! One call's VoiceXML session, driven on the real clock (VoiceXML 2.1 §1.5
//! platform duties): the session's [`Output`]s become fetches (run
//! concurrently through the shared fetcher, so a slow server never blocks the
//! call's other events) and [`CallAction`]s for the call's signalling and
//! media (which renders and streams the prompts); [`CallEvent`]s from them (DTMF, play completion,
//! marks, hangup, transfer and record results) become `handle_*` calls.
//!
//! The task lives on a session worker (the session is not `Send`) and talks to
//! the rest of the server only over channels.
//!
//! Loop:
//!
//! ```text
//! loop {
//!     drain poll_output(): Fetch → spawn fetch; Play → Play action (media renders);
//!                          StopPlayback/Record/Transfer → action; Log/Event → note
//!     finished? → wait for the audio already sent, then Hangup action, stop
//!     select: next CallEvent | a fetch or render done | poll_timeout() reached
//! }
//! ```

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tracing::Instrument;
use vxp_fetcher::{FetchResponse, Fetcher, SessionJar};
use vxp_interpreter::vxml::session::{
    ExternalMessage, FetchId, FetchRequest, FetchResult, Fetched, Output, Play, PlayId,
    RecordRequest, RecordResult, SendRequest, Session, SessionConfig, TransferRequest,
    TransferResult,
};

/// Identifies a call inside the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

impl std::fmt::Display for CallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// What the call's signalling and media tell the session.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// The caller pressed a key (RFC 4733 or SIP INFO).
    Dtmf(char),
    /// A `Play` action's audio has been sent completely.
    PlayDone(PlayId),
    /// The audio reached a `<mark>`.
    Mark(String),
    /// The caller hung up (BYE) or the call's media or signalling failed.
    Hangup,
    /// A message for `<gvp:receive>` (SIP INFO with a body that is not DTMF).
    Message(ExternalMessage),
    /// The INFO of a synchronous `<gvp:send>` failed (why): no reply will come.
    SendFailed(String),
    /// Outcome of a `Transfer` action.
    TransferResult(TransferResult),
    /// Outcome of a `Record` action.
    RecordResult(RecordResult),
}

/// What the session asks of the call's signalling and media.
#[derive(Debug, Clone)]
pub enum CallAction {
    /// Render and stream these prompts after what is already queued;
    /// answer with `PlayDone(id)` once sent and `Mark`s on the way.
    Play(Box<Play>),
    /// Barge-in: drop the queued and playing audio (its plays count as done).
    StopPlayback,
    /// Record the caller; answer with `RecordResult`.
    Record(Box<RecordRequest>),
    /// Transfer the call; answer with `TransferResult`.
    Transfer(Box<TransferRequest>),
    /// The session waits for the caller's input: a call not yet answered
    /// (`answer = "on-media"`) must be answered now.
    Answer,
    /// `<gvp:send>`: a SIP INFO in the call's dialog. A synchronous send
    /// whose INFO fails is answered with `SendFailed`.
    Send(Box<SendRequest>),
    /// The session is over: end the call (BYE, or a rejection when it was
    /// never answered), or, for a dialog started by CCXML, end the dialog
    /// with these values (`dialog.exit`'s `values`: the `<exit>` expression
    /// or namelist, or `<disconnect>`'s namelist).
    Hangup {
        /// What the application returned (`null` when nothing).
        values: serde_json::Value,
        /// How the session ended.
        how: SessionEnd,
    },
}

/// How a session ended, which decides the SIP status of a call rejected
/// before it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// `<exit>`, or the document ran out of dialog.
    Exit,
    /// `<disconnect>`.
    Disconnect,
    /// An unhandled error event.
    Error,
}

/// Something worth showing in a call log: what the application did and what
/// the caller did, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CallNote {
    /// The session started with this initial page.
    Started {
        /// The initial URL.
        url: String,
    },
    /// A key arrived.
    Dtmf(char),
    /// A prompt was sent to the caller (its spoken text).
    Prompt(String),
    /// `<log>` output.
    Log {
        /// The label.
        label: Option<String>,
        /// The text.
        text: String,
    },
    /// An event was thrown.
    Event {
        /// Event name.
        name: String,
        /// `_message`.
        message: Option<String>,
    },
    /// A `<gvp:send>` message (sent as a SIP INFO in the call's dialog).
    Send(String),
    /// The session ended.
    Ended {
        /// `exit`, `disconnect`, `hangup` or the error event.
        how: String,
    },
}

/// Serves one call's fetches through the shared fetcher with the call's own
/// cookie jar.
#[derive(Debug, Clone)]
pub struct CallFetcher {
    fetcher: Fetcher,
    jar: SessionJar,
}

impl CallFetcher {
    /// A fetch service for a new call.
    pub fn new(fetcher: Fetcher) -> Self {
        let jar = fetcher.new_session_jar();
        Self { fetcher, jar }
    }

    /// Runs a session fetch; returns the answer and the response (kept to
    /// store the compiled form).
    pub async fn fetch(&self, req: &FetchRequest) -> (FetchResult, Option<FetchResponse>) {
        let request = self.translate(req);
        match self.fetcher.fetch(request).await {
            Ok(resp) => {
                let fetched = Fetched {
                    url: resp.url.clone(),
                    content_type: resp.content_type.clone(),
                    bytes: Arc::from(resp.bytes.as_ref()),
                    compiled: resp.compiled.clone(),
                };
                (FetchResult::Ok(fetched), Some(resp))
            }
            Err(err) => {
                tracing::debug!(url = %req.url, error = %err, "fetch failed");
                (
                    FetchResult::Err {
                        event: err.event(),
                        message: err.message(),
                    },
                    None,
                )
            }
        }
    }

    /// The call's cookie jar, shared with its audio fetches.
    pub fn jar(&self) -> &SessionJar {
        &self.jar
    }

    fn translate(&self, req: &FetchRequest) -> vxp_fetcher::FetchRequest {
        crate::text::fetch::fetcher_request(&self.fetcher, &self.jar, req)
    }
}

/// The channels a call task uses.
#[derive(Debug)]
pub struct CallChannels {
    /// Events from signalling and media.
    pub events: tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    /// Actions for signalling and media.
    pub actions: tokio::sync::mpsc::UnboundedSender<(CallKey, CallAction)>,
    /// The call log (a closed receiver side is fine).
    pub notes: tokio::sync::broadcast::Sender<(CallKey, CallNote)>,
}

/// A fetch the call waits on besides its events.
struct Done(FetchId, FetchResult, Option<Box<FetchResponse>>);

type Pending<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = Done> + 'a>>>;

/// Runs one call's session until it ends and its last audio is sent.
pub async fn run_call(
    key: CallKey,
    config: SessionConfig,
    fetch: CallFetcher,
    channels: CallChannels,
) {
    let span = tracing::info_span!("call", call = %key);
    drive(key, config, fetch, channels).instrument(span).await;
}

async fn drive(key: CallKey, config: SessionConfig, fetch: CallFetcher, channels: CallChannels) {
    let CallChannels {
        mut events,
        actions,
        notes,
    } = channels;
    let note = |n: CallNote| {
        let _ = notes.send((key, n));
    };
    note(CallNote::Started {
        url: config.initial.to_string(),
    });
    let mut session = Session::new(config, Instant::now());
    let mut pending: Pending<'_> = FuturesUnordered::new();
    let mut responses: Vec<(FetchId, FetchResponse)> = Vec::new();
    // Plays sent to the media and not yet reported done.
    let mut playing: BTreeSet<PlayId> = BTreeSet::new();
    let mut caller_gone = false;
    let mut ended = false;
    let mut returned = serde_json::Value::Null;
    let mut how = SessionEnd::Exit;
    // Whether the Answer action went out (the signalling answers at most once
    // anyway; this keeps the channel quiet).
    let mut asked_answer = false;
    let act = |a: CallAction| {
        let _ = actions.send((key, a));
    };
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Fetch(req) => {
                    tracing::debug!(url = %req.url, kind = ?req.kind, "fetch");
                    let fetch = &fetch;
                    pending.push(Box::pin(async move {
                        let (result, resp) = fetch.fetch(&req).await;
                        Done(req.id, result, resp.map(Box::new))
                    }));
                }
                Output::Compiled { id, compiled, .. } => {
                    if let Some(pos) = responses.iter().position(|(i, _)| *i == id) {
                        let (_, resp) = responses.swap_remove(pos);
                        fetch.fetcher.store_compiled(&resp, compiled);
                    }
                }
                Output::Play(play) => {
                    for p in &play.prompts {
                        note(CallNote::Prompt(p.spoken_text()));
                    }
                    if caller_gone {
                        session.handle_play_done(play.id, Instant::now());
                    } else {
                        // Playing answers the call as well.
                        asked_answer = true;
                        playing.insert(play.id);
                        act(CallAction::Play(Box::new(play)));
                    }
                }
                Output::Listen(listen) => {
                    tracing::debug!(item = %listen.item, grammars = listen.grammars.len(), "listen");
                    if !asked_answer && !caller_gone {
                        asked_answer = true;
                        act(CallAction::Answer);
                    }
                }
                Output::StopPlayback => {
                    act(CallAction::StopPlayback);
                    // Everything queued counts as played: the session moves on
                    // from the barge-in at once.
                    let now = Instant::now();
                    for id in std::mem::take(&mut playing) {
                        session.handle_play_done(id, now);
                    }
                }
                Output::Record(req) => act(CallAction::Record(Box::new(req))),
                Output::Transfer(req) => act(CallAction::Transfer(Box::new(req))),
                Output::Send(send) => {
                    note(CallNote::Send(send.body.clone()));
                    if !caller_gone {
                        act(CallAction::Send(Box::new(send)));
                    } else if !send.is_async {
                        // No INFO can go out any more: a handler that waits
                        // for the reply would wait forever.
                        session.handle_send_failed("the caller has hung up", Instant::now());
                    }
                }
                Output::Log { label, text, .. } => {
                    tracing::info!(label = label.as_deref().unwrap_or(""), "{text}");
                    note(CallNote::Log { label, text });
                }
                Output::Event { name, message, .. } => {
                    tracing::info!(event = %name, message = message.as_deref().unwrap_or(""), "event");
                    note(CallNote::Event { name, message });
                }
                Output::Disconnect { values } => {
                    returned = serde_json::Value::Object(values.into_iter().collect());
                    how = SessionEnd::Disconnect;
                    ended_note(&note, &mut ended, "disconnect");
                }
                Output::Exit { values } => {
                    returned = values.into_json();
                    ended_note(&note, &mut ended, "exit");
                }
                Output::Error { event, message } => {
                    tracing::warn!(%event, %message, "the application ended on an error");
                    how = SessionEnd::Error;
                    ended_note(&note, &mut ended, &event);
                }
            }
        }
        let finished = session.is_finished();
        if finished && (caller_gone || playing.is_empty()) {
            break;
        }
        let deadline = if finished {
            None
        } else {
            session.poll_timeout()
        };
        super::workers::note_step();
        tokio::select! {
            event = events.recv() => {
                let now = Instant::now();
                match event {
                    Some(CallEvent::Dtmf(d)) => {
                        note(CallNote::Dtmf(d));
                        if !finished { session.handle_dtmf(d, now); }
                    }
                    Some(CallEvent::PlayDone(id)) => {
                        if playing.remove(&id) && !finished {
                            session.handle_play_done(id, now);
                        }
                    }
                    Some(CallEvent::Mark(name)) => if !finished { session.handle_mark(&name, now) },
                    Some(CallEvent::Message(msg)) => if !finished { session.handle_external_message(msg, now) },
                    Some(CallEvent::SendFailed(why)) => if !finished { session.handle_send_failed(&why, now) },
                    Some(CallEvent::TransferResult(r)) => if !finished { session.handle_transfer_result(r, now) },
                    Some(CallEvent::RecordResult(r)) => if !finished { session.handle_record_result(r, now) },
                    Some(CallEvent::Hangup) | None => {
                        if !caller_gone {
                            caller_gone = true;
                            if !finished { session.handle_hangup(now); }
                        }
                        if finished { break; }
                    }
                }
            }
            Some(Done(id, result, resp)) = pending.next(), if !pending.is_empty() => {
                if let Some(resp) = resp { responses.push((id, *resp)); }
                if !finished { session.handle_fetched(id, result, Instant::now()); }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                session.handle_timeout(Instant::now());
            }
        }
        if responses.len() > 64 {
            // Compiled forms are handed out right after their fetch: older
            // responses will not be asked for again.
            responses.drain(..32);
        }
    }
    if !ended {
        note(CallNote::Ended {
            how: "hangup".into(),
        });
    }
    if !caller_gone {
        act(CallAction::Hangup {
            values: returned,
            how,
        });
    }
}

fn ended_note(note: &dyn Fn(CallNote), ended: &mut bool, how: &str) {
    if !*ended {
        *ended = true;
        note(CallNote::Ended { how: how.into() });
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use tokio::sync::{broadcast, mpsc};
    use vxp_fetcher::FetcherConfig;

    use super::*;

    struct Harness {
        events: mpsc::UnboundedSender<CallEvent>,
        actions: mpsc::UnboundedReceiver<(CallKey, CallAction)>,
        notes: broadcast::Receiver<(CallKey, CallNote)>,
    }

    /// Starts a call on `page` (written to a scratch file) on the current
    /// LocalSet.
    fn start(name: &str, page: &str) -> Harness {
        let dir = std::env::temp_dir().join(format!("vxp-call-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch");
        let path = dir.join("page.vxml");
        std::fs::write(&path, page).expect("page");
        let url = url::Url::from_file_path(Path::new(&path)).expect("absolute");
        let fetcher = Fetcher::new(FetcherConfig::default()).expect("fetcher");
        let (events_tx, events) = mpsc::unbounded_channel();
        let (actions_tx, actions) = mpsc::unbounded_channel();
        let (notes_tx, notes) = broadcast::channel(64);
        let channels = CallChannels {
            events,
            actions: actions_tx,
            notes: notes_tx,
        };
        tokio::task::spawn_local(run_call(
            CallKey(1),
            SessionConfig::new(url),
            CallFetcher::new(fetcher),
            channels,
        ));
        Harness {
            events: events_tx,
            actions,
            notes,
        }
    }

    async fn next_action(h: &mut Harness) -> CallAction {
        let (_, action) = tokio::time::timeout(Duration::from_secs(5), h.actions.recv())
            .await
            .expect("an action in time")
            .expect("the call is running");
        action
    }

    fn notes(h: &mut Harness) -> Vec<CallNote> {
        std::iter::from_fn(|| h.notes.try_recv().ok().map(|(_, n)| n)).collect()
    }

    const PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form>
    <field name="choice" type="digits?length=1">
      <prompt>Press a key.</prompt>
      <filled><log label="key"><value expr="choice"/></log><prompt>Bye.</prompt><exit/></filled>
    </field>
  </form>
</vxml>"#;

    #[tokio::test(flavor = "current_thread")]
    async fn prompts_keys_and_the_hangup_after_the_last_prompt() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut h = start("keys", PAGE);
                let CallAction::Play(play) = next_action(&mut h).await else {
                    panic!("the prompt comes first")
                };
                assert_eq!(play.prompts[0].spoken_text(), "Press a key.");
                h.events
                    .send(CallEvent::PlayDone(play.id))
                    .expect("call alive");
                h.events.send(CallEvent::Dtmf('7')).expect("call alive");
                let CallAction::Play(bye) = next_action(&mut h).await else {
                    panic!("the goodbye prompt")
                };
                // The BYE waits for the last prompt to be played.
                assert!(
                    tokio::time::timeout(Duration::from_millis(200), h.actions.recv())
                        .await
                        .is_err(),
                    "no hangup before the prompt is done"
                );
                h.events
                    .send(CallEvent::PlayDone(bye.id))
                    .expect("call alive");
                assert!(matches!(
                    next_action(&mut h).await,
                    CallAction::Hangup { .. }
                ));
                let notes = notes(&mut h);
                assert!(notes.contains(&CallNote::Dtmf('7')), "{notes:?}");
                assert!(
                    notes.contains(&CallNote::Log {
                        label: Some("key".into()),
                        text: "7".into()
                    }),
                    "{notes:?}"
                );
                assert!(
                    notes.contains(&CallNote::Ended { how: "exit".into() }),
                    "{notes:?}"
                );
            })
            .await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn listening_asks_for_the_answer_and_send_becomes_an_action() {
        const SEND: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"
      xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
  <form>
    <var name="Action" expr="'GetData'"/>
    <var name="Keyname1" expr="'k 1'"/>
    <block><gvp:send async="true" namelist="Action Keyname1"/></block>
    <field name="choice" type="digits?length=1">
      <filled><disconnect/></filled>
    </field>
  </form>
</vxml>"#;
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut h = start("send", SEND);
                let CallAction::Send(send) = next_action(&mut h).await else {
                    panic!("the send comes first")
                };
                assert_eq!(send.body, "Action=GetData&Keyname1=k+1");
                assert_eq!(
                    send.contenttype,
                    "application/x-www-form-urlencoded;charset=utf-8"
                );
                assert!(send.is_async);
                assert!(
                    matches!(next_action(&mut h).await, CallAction::Answer),
                    "a field with no prompt still needs the call answered"
                );
                h.events.send(CallEvent::Dtmf('4')).expect("call alive");
                let CallAction::Hangup { how, .. } = next_action(&mut h).await else {
                    panic!("the session ends")
                };
                assert_eq!(how, SessionEnd::Disconnect);
            })
            .await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_hangup_is_the_hangup_event_and_no_bye() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut h = start("hangup", PAGE);
                let CallAction::Play(play) = next_action(&mut h).await else {
                    panic!("the prompt comes first")
                };
                h.events.send(CallEvent::PlayDone(play.id)).expect("call alive");
                h.events.send(CallEvent::Hangup).expect("call alive");
                // The task ends without asking for a BYE: the channel closes.
                let rest = tokio::time::timeout(Duration::from_secs(5), async {
                    let mut rest = Vec::new();
                    while let Some((_, a)) = h.actions.recv().await {
                        rest.push(a);
                    }
                    rest
                })
                .await
                .expect("the call ends");
                assert!(!rest.iter().any(|a| matches!(a, CallAction::Hangup { .. })), "{rest:?}");
                let notes = notes(&mut h);
                assert!(
                    notes.iter().any(|n| matches!(n, CallNote::Event { name, .. } if name == "connection.disconnect.hangup")),
                    "{notes:?}"
                );
            })
            .await;
    }
}
