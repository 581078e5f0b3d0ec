//! Session tests on a simulated clock: documents served from memory, the
//! network played by the test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

use super::*;
use crate::ccxml::io::{Event, FetchResult, Fetched, Input, MovedSource, Output, SourceKind};

struct Harness {
    s: Session,
    now: Instant,
    outs: Vec<Output>,
}

fn doc(body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
{body}
</ccxml>"#
    )
}

impl Harness {
    fn new(src: &str) -> Harness {
        Harness::with_id("s1", src)
    }

    fn with_id(id: &str, src: &str) -> Harness {
        let now = Instant::now();
        let url = Url::parse("http://app.example/main.ccxml").expect("valid URL");
        let s = Session::new(SessionConfig::new(id, url), now);
        let mut h = Harness {
            s,
            now,
            outs: Vec::new(),
        };
        h.serve(src);
        h
    }

    /// Answers every pending fetch with `src`.
    fn serve(&mut self, src: &str) {
        while let Some(out) = self.s.poll_output() {
            if let Output::Fetch(req) = &out {
                let fetched = Fetched {
                    url: req.url.clone(),
                    content_type: None,
                    bytes: Arc::from(src.as_bytes()),
                    compiled: None,
                };
                self.s
                    .handle_fetched(req.id, FetchResult::Ok(fetched), self.now);
            } else {
                self.outs.push(out);
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.s.poll_output() {
            self.outs.push(out);
        }
    }

    fn input(&mut self, input: Input) {
        self.s.handle_input(input, self.now);
        self.drain();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
        self.drain();
    }

    fn inbound(&mut self) -> String {
        let id = self.s.new_connection_id();
        self.input(Input::Alerting {
            connection: id.clone(),
            remote: "sip:alice@example.com".into(),
            local: "sip:1000@vxp.example".into(),
            headers: vec![("X-Foo".into(), "bar".into())],
        });
        id
    }

    fn events(&self) -> Vec<String> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Output::Event { event, .. } => Some(event.name.clone()),
                _ => None,
            })
            .collect()
    }

    fn logs(&self) -> Vec<String> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Output::Log { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn exit(&self) -> Option<Value> {
        self.outs.iter().find_map(|o| match o {
            Output::Exit { expr, .. } => Some(expr.clone()),
            _ => None,
        })
    }

    fn ended(&self) -> Option<String> {
        self.outs.iter().find_map(|o| match o {
            Output::Ended { event, .. } => Some(event.clone()),
            _ => None,
        })
    }
}

#[test]
fn loaded_then_exit_with_value() {
    let h = Harness::new(&doc(r#"<var name="x" expr="41"/>
<eventprocessor>
  <transition event="ccxml.loaded"><exit expr="'v' + (x + 1)"/></transition>
</eventprocessor>"#));
    assert_eq!(h.events(), vec!["ccxml.loaded"]);
    assert_eq!(h.exit(), Some(json!("v42")));
    assert!(h.s.is_finished());
}

#[test]
fn inbound_call_accepted_then_dialog_exit_values_drive_the_next_step() {
    let mut h = Harness::new(&doc(r#"<var name="state" expr="'init'"/>
<eventprocessor statevariable="state">
  <transition state="init" event="connection.alerting">
    <log expr="'from ' + event$.connection.remote + ' ' + event$.info.headers['X-Foo']"/>
    <accept/>
  </transition>
  <transition state="init" event="connection.connected">
    <assign name="state" expr="'dialog'"/>
    <dialogstart src="'menu.vxml'" connectionid="event$.connectionid"/>
  </transition>
  <transition state="dialog" event="dialog.exit" cond="event$.values.choice == 'sales'">
    <redirect dest="'tel:+15550100'" connectionid="event$.connectionid"/>
  </transition>
  <transition event="connection.redirected"><exit expr="'redirected'"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    assert_eq!(h.logs(), vec!["from sip:alice@example.com bar"]);
    assert!(
        matches!(h.outs.last(), Some(Output::AcceptCall { connection, .. }) if *connection == c)
    );
    h.input(Input::Connected {
        connection: c.clone(),
    });
    let spec = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::StartDialog(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a dialog starts");
    assert_eq!(
        spec.src.as_ref().map(Url::as_str),
        Some("http://app.example/menu.vxml")
    );
    assert_eq!(spec.connection.as_deref(), Some(c.as_str()));
    h.input(Input::DialogStarted {
        dialog: spec.dialog.clone(),
    });
    h.input(Input::DialogExit {
        dialog: spec.dialog.clone(),
        values: json!({"choice": "sales"}),
    });
    assert!(
        h.outs
            .iter()
            .any(|o| matches!(o, Output::Redirect { dest, .. } if dest == "tel:+15550100"))
    );
    h.input(Input::Redirected { connection: c });
    assert_eq!(h.exit(), Some(json!("redirected")));
}

#[test]
fn accept_in_the_wrong_state_raises_error_semantic() {
    let mut h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><accept/><accept/></transition>
  <transition event="error.semantic"><exit expr="event$.tagname + ':' + event$.reason"/></transition>
</eventprocessor>"#));
    h.inbound();
    let v = h.exit().expect("exit");
    let s = v.as_str().expect("a string");
    assert!(s.starts_with("accept:"), "{s}");
    assert!(s.contains("under way"), "{s}");
}

#[test]
fn unhandled_error_ends_the_session() {
    let h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="ccxml.loaded"><assign name="nope" expr="1"/></transition>
</eventprocessor>"#));
    assert_eq!(h.ended().as_deref(), Some("error.semantic"));
    assert!(h.s.is_finished());
}

#[test]
fn delayed_send_and_cancel() {
    let mut h = Harness::new(&doc(r#"<var name="sid"/><var name="n" expr="0"/>
<eventprocessor>
  <transition event="ccxml.loaded">
    <send name="'tick'" delay="'2s'" sendid="sid"/>
    <send name="'never'" delay="'5s'" sendid="sid"/>
    <cancel sendid="sid"/>
  </transition>
  <transition event="tick"><exit expr="'tick at 2s'"/></transition>
  <transition event="never"><exit expr="'fail'"/></transition>
</eventprocessor>"#));
    assert_eq!(h.s.poll_timeout(), Some(h.now + Duration::from_secs(2)));
    h.advance(Duration::from_secs(1));
    assert!(h.exit().is_none());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.exit(), Some(json!("tick at 2s")));
    assert!(h.events().contains(&"cancel.successful".to_owned()));
}

#[test]
fn wildcard_and_prefix_patterns_select_transitions() {
    let mut h = Harness::new(&doc(r#"<var name="seen" expr="''"/>
<eventprocessor>
  <transition event="app.*.done"><assign name="seen" expr="seen + 'A'"/></transition>
  <transition event="app"><assign name="seen" expr="seen + 'B'"/></transition>
  <transition event="FINISH"><exit expr="seen"/></transition>
</eventprocessor>"#));
    for name in ["app.x.done", "app.y", "apple", "finish"] {
        h.input(Input::External {
            name: name.into(),
            fields: serde_json::Map::new(),
            source: "http://web".into(),
            sourcetype: "basichttp".into(),
        });
    }
    assert_eq!(h.exit(), Some(json!("AB")));
}

#[test]
fn events_for_unknown_connections_are_dropped() {
    let mut h = Harness::new(&doc(
        r#"<eventprocessor><transition event="connection.*"><exit expr="'fail'"/></transition></eventprocessor>"#,
    ));
    h.input(Input::Connected {
        connection: "ghost".into(),
    });
    assert!(h.exit().is_none());
    assert!(
        h.outs
            .iter()
            .any(|o| matches!(o, Output::Dropped { reason, .. } if reason == "no such connection"))
    );
}

#[test]
fn an_event_storm_is_bounded() {
    let mut h = Harness::new(&doc(
        r#"<eventprocessor><transition event="storm"><log expr="'x'"/></transition></eventprocessor>"#,
    ));
    let limit = SessionLimits::default().max_queue;
    // Feed events faster than they are processed: queue them directly.
    for _ in 0..limit + 50 {
        h.s.input(Input::External {
            name: "storm".into(),
            fields: serde_json::Map::new(),
            source: "x".into(),
            sourcetype: "basichttp".into(),
        });
    }
    h.drain();
    let dropped = h
        .outs
        .iter()
        .filter(|o| matches!(o, Output::Dropped { .. }))
        .count();
    assert_eq!(dropped, 50);
    let mut turns = 0;
    while h.s.poll_timeout() == Some(h.now) {
        h.advance(Duration::ZERO);
        turns += 1;
        assert!(turns < 100, "the queue drains");
    }
    assert_eq!(h.logs().len(), limit);
}

#[test]
fn self_sending_loop_yields_between_turns() {
    let mut h = Harness::new(&doc(
        r#"<eventprocessor><transition event="loop"><send name="'loop'"/></transition>
<transition event="ccxml.loaded"><send name="'loop'"/></transition></eventprocessor>"#,
    ));
    // The session stops after one turn's budget and asks to run again now.
    assert_eq!(h.s.poll_timeout(), Some(h.now));
    h.s.handle_input(
        Input::Kill {
            unconditional: true,
            reason: "test".into(),
        },
        h.now,
    );
    h.drain();
    assert_eq!(h.ended().as_deref(), Some("ccxml.kill.unconditional"));
}

#[test]
fn conference_join_graph_is_visible_to_scripts() {
    let mut h = Harness::new(&doc(r#"<var name="conf"/><var name="conn"/>
<eventprocessor>
  <transition event="connection.alerting"><assign name="conn" expr="event$.connectionid"/><accept/></transition>
  <transition event="connection.connected" cond="conf == undefined">
    <createconference conferenceid="conf"/>
  </transition>
  <transition event="conference.created">
    <join id1="conn" id2="conf"/>
  </transition>
  <transition event="conference.joined">
    <exit expr="session.connections[conn].input + '|' + session.conferences[conf].participants.join(',')"/>
  </transition>
</eventprocessor>"#));
    let c = h.inbound();
    assert_eq!(c, "c1");
    h.input(Input::Connected { connection: c });
    let conf = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::CreateConference { conference, .. } => Some(conference.clone()),
            _ => None,
        })
        .expect("conference requested");
    h.input(Input::ConferenceCreated {
        conference: conf.clone(),
    });
    h.input(Input::Joined {
        id1: "c1".into(),
        id2: conf.clone(),
    });
    assert_eq!(h.exit(), Some(json!(format!("{conf}|c1"))));
}

#[test]
fn send_to_an_unknown_target_type_is_targettypeinvalid() {
    let h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="ccxml.loaded"><send name="'x'" target="'y'" targettype="'carrier-pigeon'"/></transition>
  <transition event="error.send.targettypeinvalid"><exit expr="'ok'"/></transition>
</eventprocessor>"#));
    assert_eq!(h.exit(), Some(json!("ok")));
}

#[test]
fn basichttp_send_is_an_output_and_failure_comes_back() {
    let mut h = Harness::new(&doc(r#"<var name="a" expr="'1'"/><var name="sid"/>
<eventprocessor>
  <transition event="ccxml.loaded"><send name="'hello'" target="'http://web.invalid/ev'" targettype="'basichttp'" namelist="a" sendid="sid"/></transition>
  <transition event="error.send.*"><exit expr="event$.sendid == sid"/></transition>
</eventprocessor>"#));
    let (sendid, fields) = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::SendEvent {
                sendid,
                fields,
                targettype,
                ..
            } if targettype == "basichttp" => Some((sendid.clone(), fields.clone())),
            _ => None,
        })
        .expect("a basichttp send");
    assert_eq!(fields.get("a"), Some(&json!("1")));
    h.input(Input::SendFailed {
        sendid,
        event: "error.send.targetunavailable".into(),
        reason: "connection refused".into(),
    });
    assert_eq!(h.exit(), Some(json!(true)));
}

#[test]
fn fetch_and_goto_switch_documents_keeping_application_scope() {
    let h = Harness::new(&doc(r#"<var name="fid"/>
<eventprocessor>
  <transition event="ccxml.loaded" cond="application.round == undefined">
    <script>application.round = 1;</script>
    <fetch next="'second.ccxml'" fetchid="fid"/>
  </transition>
  <transition event="fetch.done"><goto fetchid="fid"/></transition>
  <transition event="ccxml.loaded"><exit expr="'round ' + application.round + ' fid=' + typeof fid"/></transition>
</eventprocessor>"#));
    // The harness answers the fetch with the same document: it loads a
    // second time, with a fresh ccxml scope and the application scope kept.
    assert_eq!(
        h.events().iter().filter(|e| *e == "ccxml.loaded").count(),
        2
    );
    assert_eq!(h.exit(), Some(json!("round 1 fid=undefined")));
}

#[test]
fn createcall_progressing_connected_failed() {
    let mut h = Harness::new(&doc(r#"<var name="out"/>
<eventprocessor>
  <transition event="ccxml.loaded"><createcall dest="'tel:+1555'" connectionid="out" timeout="'20s'"/></transition>
  <transition event="connection.progressing"><log expr="session.connections[out].state"/></transition>
  <transition event="connection.failed"><exit expr="event$.reason + ' ' + (session.connections[out] ? 'present' : 'gone')"/></transition>
</eventprocessor>"#));
    let c = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::CreateCall {
                connection,
                timeout,
                ..
            } => {
                assert_eq!(*timeout, Some(Duration::from_secs(20)));
                Some(connection.clone())
            }
            _ => None,
        })
        .expect("createcall");
    h.input(Input::Progressing {
        connection: c.clone(),
    });
    h.input(Input::Failed {
        connection: c,
        reason: "busy".into(),
    });
    assert_eq!(h.logs(), vec!["PROGRESSING"]);
    assert_eq!(h.exit(), Some(json!("busy present")));
}

#[test]
fn a_document_that_does_not_compile_ends_the_session_with_its_position() {
    let h = Harness::new(&doc("<eventprocessor><bogus/></eventprocessor>"));
    let reason = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::Ended { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .expect("ended");
    assert!(
        reason.starts_with("http://app.example/main.ccxml:3:"),
        "{reason}"
    );
}

#[test]
fn css2_times() {
    assert_eq!(parse_time("2s"), Some(Duration::from_secs(2)));
    assert_eq!(parse_time("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_time("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_time("-1s"), None);
    assert_eq!(parse_time("soon"), None);
}

#[test]
fn prepared_dialog_started_then_terminated() {
    let mut h = Harness::new(&doc(r#"<var name="d"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected">
    <dialogprepare src="'menu.vxml'" dialogid="d" connectionid="event$.connectionid"/>
  </transition>
  <transition event="dialog.prepared"><dialogstart prepareddialogid="d" connectionid="event$.dialog.connectionid"/></transition>
  <transition event="dialog.started">
    <log expr="session.dialogs[d].state + ' ' + session.connections[event$.dialog.connectionid].input"/>
    <dialogterminate dialogid="d" immediate="true"/>
  </transition>
  <transition event="dialog.exit"><exit expr="typeof event$.dialog"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected {
        connection: c.clone(),
    });
    h.input(Input::DialogPrepared {
        dialog: "d1".into(),
    });
    let started = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::StartDialog(s) => Some(s.clone()),
            _ => None,
        })
        .expect("start");
    assert!(started.prepared);
    assert_eq!(started.dialog, "d1");
    h.input(Input::DialogStarted {
        dialog: "d1".into(),
    });
    assert_eq!(h.logs(), vec![format!("STARTED d1")]);
    assert!(h.outs.iter().any(|o| matches!(
        o,
        Output::TerminateDialog {
            immediate: true,
            ..
        }
    )));
    h.input(Input::DialogExit {
        dialog: "d1".into(),
        values: Value::Null,
    });
    assert_eq!(h.exit(), Some(json!("object")));
}

#[test]
fn dialog_failing_to_start_raises_notstarted() {
    let mut h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><dialogstart src="'x.vxml'" connectionid="event$.connectionid"/></transition>
  <transition event="error.dialog.notstarted"><exit expr="event$.dialogid + ' ' + event$.reason"/></transition>
</eventprocessor>"#));
    h.inbound();
    h.input(Input::DialogFailed {
        dialog: "d1".into(),
        reason: "404".into(),
    });
    assert_eq!(h.exit(), Some(json!("d1 404")));
}

#[test]
fn handled_kill_runs_its_transition_and_unhandled_kill_ends() {
    let mut h = Harness::new(&doc(
        r#"<eventprocessor><transition event="ccxml.kill"><exit expr="'cleaned up: ' + event$.reason"/></transition></eventprocessor>"#,
    ));
    h.input(Input::Kill {
        unconditional: false,
        reason: "shutdown".into(),
    });
    assert_eq!(h.exit(), Some(json!("cleaned up: shutdown")));
    let mut h = Harness::new(&doc("<eventprocessor/>"));
    h.input(Input::Kill {
        unconditional: false,
        reason: "shutdown".into(),
    });
    assert_eq!(h.ended().as_deref(), Some("ccxml.kill"));
}

#[test]
fn an_error_in_initialisation_follows_ccxml_loaded() {
    let h = Harness::new(&doc(r#"<var name="x" expr="no.such.thing"/>
<eventprocessor>
  <transition event="ccxml.loaded"><log expr="'loaded'"/></transition>
  <transition event="error.semantic"><exit expr="event$.tagname"/></transition>
</eventprocessor>"#));
    assert_eq!(h.events(), vec!["ccxml.loaded", "error.semantic"]);
    assert_eq!(h.exit(), Some(json!("var")));
}

#[test]
fn createccxml_asks_for_a_child_and_reports_its_exit() {
    let mut h = Harness::new(&doc(
        r#"<var name="child"/><var name="greeting" expr="'hi'"/>
<eventprocessor>
  <transition event="ccxml.loaded"><createccxml next="'child.ccxml'" sessionid="child" namelist="greeting"/></transition>
  <transition event="ccxml.created"><log expr="event$.sessionid == child"/></transition>
  <transition event="ccxml.exit"><exit expr="event$.expr"/></transition>
</eventprocessor>"#,
    ));
    let (id, url, values) = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::CreateSession {
                sessionid,
                url,
                values,
            } => Some((sessionid.clone(), url.clone(), values.clone())),
            _ => None,
        })
        .expect("a child");
    assert_eq!(url.as_str(), "http://app.example/child.ccxml");
    assert_eq!(values.get("greeting"), Some(&json!("hi")));
    h.input(Input::SessionCreated {
        sessionid: id.clone(),
    });
    assert_eq!(h.logs(), vec!["true"]);
    h.input(Input::ChildExit {
        sessionid: id,
        expr: json!("child done"),
        values: serde_json::Map::new(),
    });
    assert_eq!(h.exit(), Some(json!("child done")));
}

#[test]
fn send_to_a_missing_dialog_is_targetunavailable_and_join_checks_ids() {
    let h = Harness::new(&doc(r#"<var name="seen" expr="''"/>
<eventprocessor>
  <transition event="ccxml.loaded">
    <send name="'x'" target="'d9'" targettype="'dialog'"/>
  </transition>
  <transition event="error.send.targetunavailable">
    <assign name="seen" expr="seen + 'S'"/>
    <join id1="'nobody'" id2="'nothing'"/>
  </transition>
  <transition event="error.semantic"><exit expr="seen + 'J:' + event$.tagname"/></transition>
</eventprocessor>"#));
    assert_eq!(h.exit(), Some(json!("SJ:join")));
}

#[test]
fn garbage_documents_end_the_session_without_panicking() {
    for src in [
        "",
        "<",
        "<ccxml version='1.0'><eventprocessor><transition event='*'><if cond='('/></transition></eventprocessor></ccxml>",
        "<ccxml version='1.0'><script>function f(){ f(); } f();</script></ccxml>",
        "<ccxml version='1.0'><script>while(true){}</script></ccxml>",
        "\u{feff}<ccxml version='1.0'><eventprocessor><transition><exit expr='1/0'/></transition></eventprocessor></ccxml>",
    ] {
        let h = Harness::new(src);
        // Each turn is bounded: the session either ended or yields with a
        // bounded amount of output (a `*` transition that fails handles its
        // own error.semantic again, one turn at a time).
        assert!(
            h.s.is_finished() || h.outs.len() <= 4 * SessionLimits::default().events_per_turn,
            "{src}"
        );
    }
}

#[test]
fn createcall_with_joinid_joins_once_connected() {
    let mut h = Harness::new(&doc(r#"<var name="out"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected" cond="out == undefined">
    <createcall dest="'tel:+1'" connectionid="out" joinid="event$.connectionid"/>
  </transition>
  <transition event="conference.joined"><exit expr="event$.id1 + '-' + event$.id2 + ' ' + session.connections[out].input"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected {
        connection: c.clone(),
    });
    assert!(!h.outs.iter().any(|o| matches!(o, Output::Join { .. })));
    h.input(Input::Progressing {
        connection: "c2".into(),
    });
    h.input(Input::Connected {
        connection: "c2".into(),
    });
    let (id1, id2) = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::Join { id1, id2, .. } => Some((id1.clone(), id2.clone())),
            _ => None,
        })
        .expect("the join follows the answer");
    h.input(Input::Joined { id1, id2 });
    assert_eq!(h.exit(), Some(json!(format!("{c}-c2 {c}"))));
}

#[test]
fn session_variables_and_connection_properties_are_read_only() {
    let mut h = Harness::new(&doc(r#"<var name="errors" expr="''"/>
<eventprocessor>
  <transition event="connection.alerting">
    <assign name="session.id" expr="'changed'"/>
  </transition>
  <transition event="error.semantic" cond="errors == ''">
    <assign name="errors" expr="'id'"/>
    <assign name="session.connections[event$.connectionid].connectionid" expr="'x'"/>
  </transition>
  <transition event="error.semantic">
    <exit expr="errors + ' ' + session.id + ' ' + session.connections.c1.connectionid + ' ' + session.connections.c1.state"/>
  </transition>
</eventprocessor>"#));
    let c = h.inbound();
    assert_eq!(c, "c1");
    assert_eq!(h.exit(), Some(json!("id s1 c1 ALERTING")));
}

#[test]
fn dialog_events_name_the_connection_and_the_dialog_leaves_at_exit() {
    let mut h = Harness::new(&doc(r#"<var name="did"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected"><dialogstart src="'menu.vxml'" dialogid="did"/></transition>
  <transition event="dialog.started">
    <log expr="event$.connectionid + ' ' + event$.dialog.dialogid + ' ' + session.connections[event$.connectionid].dialogid"/>
  </transition>
  <transition event="dialog.exit">
    <log expr="event$.connectionid + ' ' + event$.dialog.dialogid + ' ' + (session.dialogs[did] === undefined) + ' ' + session.connections[event$.connectionid].dialogid"/>
    <dialogterminate dialogid="did"/>
  </transition>
  <transition event="error.semantic"><exit expr="'gone'"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected { connection: c });
    let spec = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::StartDialog(s) => Some(s.clone()),
            _ => None,
        })
        .expect("the dialog starts on the event's connection");
    assert_eq!(spec.connection.as_deref(), Some("c1"));
    h.input(Input::DialogStarted {
        dialog: spec.dialog.clone(),
    });
    h.input(Input::DialogExit {
        dialog: spec.dialog,
        values: Value::Null,
    });
    assert_eq!(h.logs(), vec!["c1 d1 d1", "c1 d1 true undefined"]);
    assert_eq!(h.exit(), Some(json!("gone")));
}

#[test]
fn a_destroyed_conference_leaves_at_its_event_and_cannot_be_joined() {
    let mut h = Harness::new(&doc(r#"<var name="conf"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected"><createconference conferenceid="conf"/></transition>
  <transition event="conference.created"><destroyconference conferenceid="conf"/></transition>
  <transition event="conference.destroyed">
    <log expr="(session.conferences[conf] === undefined) + ' ' + event$.conference.conferenceid"/>
    <join id1="'c1'" id2="conf"/>
  </transition>
  <transition event="error.semantic"><exit expr="'refused'"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected { connection: c });
    h.input(Input::ConferenceCreated {
        conference: "conf1".into(),
    });
    h.input(Input::ConferenceDestroyed {
        conference: "conf1".into(),
    });
    assert_eq!(h.logs(), vec!["true conf1"]);
    assert_eq!(h.exit(), Some(json!("refused")));
    assert!(!h.outs.iter().any(|o| matches!(o, Output::Join { .. })));
}

#[test]
fn has_loaded_tells_a_started_session_from_one_whose_document_failed() {
    let h = Harness::new(&doc("<eventprocessor/>"));
    assert!(h.s.has_loaded());
    let h = Harness::new("<ccxml");
    assert!(!h.s.has_loaded());
    assert!(h.s.is_finished());
}

/// The `<move>` request a harness's session made, if any.
fn move_request(h: &Harness) -> Option<(String, String, MovedSource, Option<Event>)> {
    h.outs.iter().find_map(|o| match o {
        Output::Move {
            source,
            session,
            object,
            event,
        } => Some((
            source.clone(),
            session.clone(),
            object.clone(),
            event.clone(),
        )),
        _ => None,
    })
}

#[test]
fn move_hands_a_connection_with_its_state_to_another_session() {
    let mut a = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected">
    <move source="event$.connectionid" sessionid="'s2'"/>
    <log expr="typeof session.connections[event$.connectionid]"/>
  </transition>
  <transition event="move.successful"><exit expr="event$.sourceid + '>' + event$.sessionid"/></transition>
</eventprocessor>"#));
    let mut b = Harness::with_id(
        "s2",
        &doc(r#"<eventprocessor>
  <transition event="connection.disconnected">
    <log expr="event$.connection.state + ' ' + event$.connection.remote"/>
    <exit/>
  </transition>
</eventprocessor>"#),
    );
    let c = a.inbound();
    a.input(Input::Connected {
        connection: c.clone(),
    });
    assert_eq!(
        a.logs(),
        vec!["undefined"],
        "the source left session.connections"
    );
    let (source, session, object, event) = move_request(&a).expect("a move request");
    assert_eq!((source.as_str(), session.as_str()), (c.as_str(), "s2"));
    assert_eq!(object.kind, SourceKind::Connection);
    assert_eq!(object.state, "CONNECTED");
    assert_eq!(
        object.properties.get("remote"),
        Some(&json!("sip:alice@example.com"))
    );
    assert_eq!(event, None);

    b.s.handle_adopt(object, None, b.now).expect("adopted");
    assert_eq!(b.s.new_connection_id(), "c2", "ids skip the adopted c1");
    b.input(Input::Disconnected {
        connection: c.clone(),
        reason: "hangup".into(),
        trigger: "remote".into(),
    });
    assert_eq!(b.logs(), vec!["DISCONNECTED sip:alice@example.com"]);

    a.input(Input::Moved { source, session });
    assert_eq!(a.exit(), Some(json!(format!("{c}>s2"))));
    a.input(Input::Disconnected {
        connection: c,
        reason: "hangup".into(),
        trigger: "remote".into(),
    });
    assert!(a.outs.iter().any(
        |o| matches!(o, Output::Dropped { name, .. } if name == "connection.disconnected")
            || a.s.is_finished()
    ));
}

#[test]
fn move_with_an_event_delivers_it_to_the_receiving_session() {
    let mut a = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><move event="event$" sessionid="'s2'"/></transition>
</eventprocessor>"#));
    let mut b = Harness::with_id(
        "s2",
        &doc(r#"<eventprocessor>
  <transition event="connection.alerting">
    <log expr="event$.connectionid + ' ' + event$.connection.state + ' ' + session.connections[event$.connectionid].local"/>
    <accept/>
  </transition>
</eventprocessor>"#),
    );
    let c = a.inbound();
    let (source, _, object, event) = move_request(&a).expect("a move request");
    assert_eq!(source, c);
    let event = event.expect("the event moves along");
    assert_eq!(event.name, "connection.alerting");
    assert_eq!(event.field("connectionid"), Some(c.as_str()));
    assert!(!event.fields.contains_key("connection"));
    b.s.handle_adopt(object, Some(event), b.now)
        .expect("adopted");
    b.drain();
    assert_eq!(b.logs(), vec![format!("{c} ALERTING sip:1000@vxp.example")]);
    assert!(
        b.outs
            .iter()
            .any(|o| matches!(o, Output::AcceptCall { connection, .. } if *connection == c))
    );
}

#[test]
fn a_failed_move_gives_the_source_back_with_error_move() {
    let mut a = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><move source="event$.connectionid" sessionid="'nowhere'"/></transition>
  <transition event="error.move">
    <exit expr="event$.sourceid + ' ' + session.connections[event$.sourceid].state + ' ' + event$.reason"/>
  </transition>
</eventprocessor>"#));
    let c = a.inbound();
    let (source, session, _, _) = move_request(&a).expect("a move request");
    a.input(Input::MoveFailed {
        source,
        session,
        reason: "no such session".into(),
    });
    assert_eq!(
        a.exit(),
        Some(json!(format!("{c} ALERTING no such session")))
    );
}

#[test]
fn joined_sources_and_bad_targets_cannot_move() {
    let mut h = Harness::new(&doc(r#"<var name="errs" expr="''"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected">
    <dialogstart src="'menu.vxml'" connectionid="event$.connectionid"/>
    <move source="event$.connectionid" sessionid="'s2'"/>
  </transition>
  <transition event="error.notallowed">
    <assign name="errs" expr="errs + event$.name + ';'"/>
    <move source="'c9'" sessionid="'s2'"/>
  </transition>
  <transition event="error.semantic" cond="errs.indexOf('move') &lt; 0">
    <assign name="errs" expr="errs + event$.tagname + ';'"/>
    <move source="'c1'" sessionid="session.id"/>
  </transition>
  <transition event="error.semantic"><exit expr="errs + 'self'"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected { connection: c });
    assert_eq!(
        h.exit(),
        Some(json!("error.notallowed;move;self")),
        "{:?}",
        h.events()
    );
    assert!(move_request(&h).is_none());
}

#[test]
fn adopting_refuses_an_id_in_use_and_a_finished_session() {
    let mut b = Harness::with_id("s2", &doc("<eventprocessor/>"));
    let c = b.inbound();
    let object = MovedSource {
        id: c.clone(),
        kind: SourceKind::Connection,
        state: "CONNECTED".into(),
        properties: serde_json::Map::new(),
    };
    assert_eq!(
        b.s.handle_adopt(object.clone(), None, b.now),
        Err(AdoptError::IdInUse(c))
    );
    let bad = MovedSource {
        id: "x9".into(),
        state: "RINGING".into(),
        ..object.clone()
    };
    assert!(matches!(
        b.s.handle_adopt(bad, None, b.now),
        Err(AdoptError::BadState { .. })
    ));
    b.input(Input::Kill {
        unconditional: true,
        reason: "test".into(),
    });
    assert_eq!(
        b.s.handle_adopt(
            MovedSource {
                id: "x1".into(),
                ..object
            },
            None,
            b.now
        ),
        Err(AdoptError::Finished)
    );
}

#[test]
fn merge_ends_both_connections_or_fails_leaving_them() {
    let src = doc(r#"<var name="out"/><var name="n" expr="0"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected" cond="out == undefined">
    <createcall dest="'tel:+1555'" connectionid="out"/>
  </transition>
  <transition event="connection.connected">
    <merge connectionid1="session.connections['c1'].connectionid" connectionid2="out" hints="({a: 1})"/>
  </transition>
  <transition event="connection.merged">
    <assign name="n" expr="n + 1"/>
    <log expr="event$.connectionid + '+' + event$.mergeid + ' ' + event$.connection.state"/>
  </transition>
  <transition event="connection.merge.failed">
    <exit expr="event$.connectionid1 + ' ' + event$.id2 + ' ' + session.connections[event$.id1].state + ' ' + session.connections[event$.id2].state + ' ' + event$.reason"/>
  </transition>
  <transition event="test.count"><exit expr="n + ' ' + Object.keys(session.connections).length"/></transition>
</eventprocessor>"#);
    for fail in [false, true] {
        let mut h = Harness::new(&src);
        let c = h.inbound();
        h.input(Input::Connected { connection: c });
        h.input(Input::Progressing {
            connection: "c2".into(),
        });
        h.input(Input::Connected {
            connection: "c2".into(),
        });
        let (c1, c2, hints) = h
            .outs
            .iter()
            .find_map(|o| match o {
                Output::Merge {
                    connection1,
                    connection2,
                    hints,
                } => Some((connection1.clone(), connection2.clone(), hints.clone())),
                _ => None,
            })
            .expect("a merge request");
        assert_eq!(
            (c1.as_str(), c2.as_str(), hints),
            ("c1", "c2", json!({"a": 1}))
        );
        if fail {
            h.input(Input::MergeFailed {
                connection1: c1,
                connection2: c2,
                reason: "refused".into(),
            });
            assert_eq!(h.exit(), Some(json!("c1 c2 CONNECTED CONNECTED refused")));
        } else {
            h.input(Input::Merged {
                connection1: c1,
                connection2: c2,
            });
            assert_eq!(h.logs(), vec!["c1+c2 DISCONNECTED", "c2+c1 DISCONNECTED"]);
            h.input(Input::External {
                name: "test.count".into(),
                fields: serde_json::Map::new(),
                source: "t".into(),
                sourcetype: "basichttp".into(),
            });
            assert_eq!(h.exit(), Some(json!("2 0")), "both left the session");
        }
    }
}

#[test]
fn merge_needs_two_distinct_connected_connections() {
    let mut h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><merge connectionid1="event$.connectionid" connectionid2="'c7'"/></transition>
  <transition event="error.semantic"><exit expr="event$.tagname + ': ' + event$.reason"/></transition>
</eventprocessor>"#));
    h.inbound();
    let v = h.exit().expect("exit");
    assert!(v.as_str().is_some_and(|s| s.starts_with("merge: ")), "{v}");
}

#[test]
fn move_needs_exactly_one_of_source_and_event() {
    let url = Url::parse("http://app.example/m.ccxml").expect("valid URL");
    for attrs in [
        r#"sessionid="'s2'""#,
        r#"source="'c1'" event="event$" sessionid="'s2'""#,
    ] {
        let src = doc(&format!(
            r#"<eventprocessor><transition event="ccxml.loaded"><move {attrs}/></transition></eventprocessor>"#
        ));
        assert!(
            crate::ccxml::compile(src.as_bytes(), &url).is_err(),
            "{attrs}"
        );
    }
}

#[test]
fn a_prepared_dialog_moves_with_its_state_and_src() {
    let mut a = Harness::new(&doc(r#"<eventprocessor>
  <transition event="ccxml.loaded"><dialogprepare src="'menu.vxml'"/></transition>
  <transition event="dialog.prepared">
    <move source="event$.dialogid" sessionid="'s2'"/>
    <log expr="typeof session.dialogs[event$.dialogid]"/>
  </transition>
</eventprocessor>"#));
    let mut b = Harness::with_id(
        "s2",
        &doc(r#"<eventprocessor>
  <transition event="test.show">
    <log expr="session.dialogs['d1'].state + ' ' + session.dialogs['d1'].src + ' ' + session.dialogs['d1'].type"/>
  </transition>
</eventprocessor>"#),
    );
    let d = a
        .outs
        .iter()
        .find_map(|o| match o {
            Output::PrepareDialog(spec) => Some(spec.dialog.clone()),
            _ => None,
        })
        .expect("a dialog is prepared");
    a.input(Input::DialogPrepared { dialog: d.clone() });
    assert_eq!(a.logs(), vec!["undefined"]);
    let (source, _, object, _) = move_request(&a).expect("a move request");
    assert_eq!(source, d);
    assert_eq!(
        (object.kind, object.state.as_str()),
        (SourceKind::Dialog, "PREPARED")
    );
    b.s.handle_adopt(object, None, b.now).expect("adopted");
    b.input(Input::External {
        name: "test.show".into(),
        fields: serde_json::Map::new(),
        source: "t".into(),
        sourcetype: "basichttp".into(),
    });
    assert_eq!(
        b.logs(),
        vec!["PREPARED http://app.example/menu.vxml application/voicexml+xml"]
    );
}

#[test]
fn a_join_the_platform_cannot_carry_out_is_error_conference_join() {
    let mut h = Harness::new(&doc(r#"<var name="conf"/><var name="conn"/>
<eventprocessor>
  <transition event="connection.alerting"><assign name="conn" expr="event$.connectionid"/><accept/></transition>
  <transition event="connection.connected"><createconference conferenceid="conf"/></transition>
  <transition event="conference.created"><join id1="conn" id2="conf"/></transition>
  <transition event="error.conference.join">
    <exit expr="event$.id1 + ' ' + event$.id2 + ' ' + event$.reason + ' ' + session.connections[conn].input"/>
  </transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected {
        connection: c.clone(),
    });
    let conference = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::CreateConference { conference, .. } => Some(conference.clone()),
            _ => None,
        })
        .expect("conference requested");
    h.input(Input::ConferenceCreated { conference });
    let (id1, id2) = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::Join { id1, id2, .. } => Some((id1.clone(), id2.clone())),
            _ => None,
        })
        .expect("join requested");
    // A failure for a join never asked for is dropped.
    h.input(Input::JoinFailed {
        id1: "nobody".into(),
        id2: id2.clone(),
        reason: "no media".into(),
    });
    assert_eq!(h.exit(), None);
    h.input(Input::JoinFailed {
        id1,
        id2: id2.clone(),
        reason: "no media".into(),
    });
    assert_eq!(
        h.exit(),
        Some(json!(format!("{c} {id2} no media undefined")))
    );
}

#[test]
fn dialogstart_parameters_method_and_enctype_reach_the_dialog_spec() {
    let mut h = Harness::new(&doc(
        r#"<var name="account" expr="'42'"/><var name="lang" expr="'fr'"/>
<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected">
    <dialogstart src="'menu.vxml'" connectionid="event$.connectionid" namelist="lang"
                 parameters="account lang" method="'POST'"/>
  </transition>
  <transition event="error.semantic"><exit expr="event$.reason"/></transition>
</eventprocessor>"#,
    ));
    let c = h.inbound();
    h.input(Input::Connected { connection: c });
    let spec = h
        .outs
        .iter()
        .find_map(|o| match o {
            Output::StartDialog(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a dialog starts");
    assert_eq!(
        spec.parameters,
        json!({"account": "42", "lang": "fr"})
            .as_object()
            .cloned()
            .unwrap()
    );
    assert_eq!(
        spec.values,
        json!({"lang": "fr"}).as_object().cloned().unwrap()
    );
    assert_eq!(spec.method, "post");
    assert_eq!(spec.enctype, "application/x-www-form-urlencoded");

    let mut h = Harness::new(&doc(r#"<eventprocessor>
  <transition event="connection.alerting"><accept/></transition>
  <transition event="connection.connected">
    <dialogstart src="'menu.vxml'" connectionid="event$.connectionid" method="'put'"/>
  </transition>
  <transition event="error.semantic"><exit expr="event$.reason"/></transition>
</eventprocessor>"#));
    let c = h.inbound();
    h.input(Input::Connected { connection: c });
    assert_eq!(
        h.exit(),
        Some(json!("method `put` is neither get nor post"))
    );
}
