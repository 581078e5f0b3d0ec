//! Session tests: whole dialogs driven by a small fake platform that answers
//! fetches from a map of pages, finishes prompts at once and advances a
//! simulated clock to the session's deadlines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::input::ListenState;
use super::*;

const BASE: &str = "http://app.test/";

struct Driver {
    s: Session,
    now: Instant,
    pages: HashMap<String, String>,
    lines: Vec<String>,
    /// Leave plays unfinished (to test barge-in and hangup during prompts).
    hold_plays: bool,
    fetch_count: usize,
    requests: Vec<FetchRequest>,
    compiled: HashMap<String, Arc<dyn std::any::Any + Send + Sync>>,
}

impl Driver {
    fn new(pages: &[(&str, &str)]) -> Driver {
        Self::with_config(pages, |_| {})
    }

    fn holding_plays(pages: &[(&str, &str)]) -> Driver {
        Self::build(pages, true, |_| {})
    }

    fn with_config(pages: &[(&str, &str)], f: impl FnOnce(&mut SessionConfig)) -> Driver {
        Self::build(pages, false, f)
    }

    fn build(
        pages: &[(&str, &str)],
        hold_plays: bool,
        f: impl FnOnce(&mut SessionConfig),
    ) -> Driver {
        let now = Instant::now();
        let first = pages.first().map(|(u, _)| *u).unwrap_or("main.vxml");
        let mut config = SessionConfig::new(
            Url::parse(BASE)
                .and_then(|b| b.join(first))
                .expect("test URL"),
        );
        f(&mut config);
        let mut d = Driver {
            s: Session::new(config, now),
            now,
            pages: pages
                .iter()
                .map(|(u, p)| (format!("{BASE}{u}"), p.to_string()))
                .collect(),
            lines: Vec::new(),
            hold_plays,
            fetch_count: 0,
            requests: Vec::new(),
            compiled: HashMap::new(),
        };
        d.pump();
        d
    }

    fn pump(&mut self) {
        for _ in 0..10_000 {
            let Some(out) = self.s.poll_output() else {
                return;
            };
            match out {
                Output::Fetch(req) => {
                    self.fetch_count += 1;
                    self.requests.push(req.clone());
                    let mut key = req.url.to_string();
                    if !req.params.is_empty() {
                        let q: Vec<String> = req
                            .params
                            .iter()
                            .map(|(k, v)| match v {
                                SubmitValue::Text(t) => format!("{k}={t}"),
                                SubmitValue::Audio { bytes, .. } => {
                                    format!("{k}=<{} bytes>", bytes.len())
                                }
                            })
                            .collect();
                        self.lines
                            .push(format!("fetch {} {}", req.url.path(), q.join("&")));
                    }
                    if let Some(p) = self.pages.get(key.as_str()) {
                        let result = FetchResult::Ok(Fetched {
                            url: req.url.clone(),
                            content_type: None,
                            bytes: Arc::from(p.as_bytes()),
                            compiled: self.compiled.get(&key).cloned(),
                        });
                        self.s.handle_fetched(req.id, result, self.now);
                    } else {
                        key.clear();
                        self.s.handle_fetched(
                            req.id,
                            FetchResult::Err {
                                event: "error.badfetch.http.404".into(),
                                message: format!("{} not found", req.url),
                            },
                            self.now,
                        );
                    }
                }
                Output::Compiled { url, compiled, .. } => {
                    self.compiled.insert(url.to_string(), compiled);
                }
                Output::Play(p) => {
                    for q in &p.prompts {
                        let mut text = q.spoken_text();
                        for a in q.audio_urls() {
                            text.push_str(&format!(" [audio {}]", a.path()));
                        }
                        self.lines.push(format!("S: {text}"));
                    }
                    if !self.hold_plays {
                        self.s.handle_play_done(p.id, self.now);
                    }
                }
                Output::Listen(l) => {
                    let modes: Vec<&str> = l
                        .grammars
                        .iter()
                        .map(|g| match g.mode {
                            GrammarMode::Dtmf => "dtmf",
                            GrammarMode::Voice => "voice",
                        })
                        .collect();
                    self.lines
                        .push(format!("listen {} [{}]", l.item, modes.join(" ")));
                }
                Output::StopPlayback => self.lines.push("stop".into()),
                Output::Record(r) => self.lines.push(format!("record {}", r.name)),
                Output::Transfer(t) => self.lines.push(format!("transfer {:?} {}", t.kind, t.dest)),
                Output::Send(s) => self.lines.push(format!("send {}", s.body)),
                Output::Log { label, text, .. } => match label {
                    Some(l) => self.lines.push(format!("log[{l}] {text}")),
                    None => self.lines.push(format!("log {text}")),
                },
                Output::Event { name, .. } => self.lines.push(format!("event {name}")),
                Output::Disconnect { values } => self.lines.push(format!("disconnect {values:?}")),
                Output::Exit { values } => self.lines.push(format!("exit {}", exit_text(&values))),
                Output::Error { event, message } => {
                    self.lines.push(format!("error {event}: {message}"))
                }
            }
        }
        panic!("the session produced more than 10,000 outputs");
    }

    fn press(&mut self, digits: &str) -> &mut Self {
        for d in digits.chars() {
            self.s.handle_dtmf(d, self.now);
            self.pump();
        }
        // Let the collector's inter-digit or terminating timer run out.
        if let Some(t) = self.s.poll_timeout()
            && self.s.listen.as_ref().is_some_and(ListenState::collecting)
        {
            self.now = t;
            self.s.handle_timeout(self.now);
            self.pump();
        }
        self
    }

    fn say(&mut self, words: &str) -> &mut Self {
        self.s.handle_utterance(words, self.now);
        self.pump();
        self
    }

    fn silence(&mut self) -> &mut Self {
        if let Some(t) = self.s.poll_timeout() {
            self.now = t;
            self.s.handle_timeout(self.now);
            self.pump();
        }
        self
    }

    fn hangup(&mut self) -> &mut Self {
        self.s.handle_hangup(self.now);
        self.pump();
        self
    }

    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn exit_text(v: &ExitValue) -> String {
    match v {
        ExitValue::None => String::new(),
        ExitValue::Expr(j) => j.to_string(),
        ExitValue::Namelist(m) => serde_json::to_string(m).unwrap_or_default(),
    }
}

fn vxml(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n{body}\n</vxml>\n"
    )
}

const YESNO: &str = r#"<grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar">
  <rule id="r"><one-of><item>1<tag>out="yes";</tag></item><item>2<tag>out="no";</tag></item></one-of></rule>
</grammar>"#;

#[test]
fn hello_world_block_prompts_and_exit() {
    let d = Driver::new(&[(
        "main.vxml",
        &vxml(
            r#"<form><block><prompt>Hello <value expr="'wor' + 'ld'"/>.</prompt><log label="t">done <value expr="1+1"/></log></block></form>"#,
        ),
    )]);
    // Prompts queue until the session waits or ends (§4.1.8); logs are immediate.
    assert_eq!(d.text(), "log[t] done 2\nS: Hello world.\nexit ");
    assert!(d.s.is_finished());
}

#[test]
fn field_with_dtmf_grammar_and_filled() {
    let page = vxml(&format!(
        r#"<form id="f"><field name="ans"><prompt>Press 1 for yes.</prompt>{YESNO}
        <filled><prompt>You said <value expr="ans"/>.</prompt><exit namelist="ans"/></filled></field></form>"#
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    assert_eq!(d.text(), "S: Press 1 for yes.\nlisten ans [dtmf]");
    d.press("1");
    assert_eq!(
        d.text(),
        "S: Press 1 for yes.\nlisten ans [dtmf]\nS: You said yes.\nexit {\"ans\":\"yes\"}"
    );
}

#[test]
fn noinput_and_nomatch_counts_select_handlers() {
    let page = vxml(&format!(
        r#"<form><field name="ans"><prompt>Main prompt.</prompt><prompt count="2">Second prompt.</prompt>{YESNO}
        <noinput>Say something.<reprompt/></noinput>
        <noinput count="2">Still nothing.<exit/></noinput>
        <nomatch>No match.</nomatch>
        </field></form>"#
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.silence();
    d.press("9");
    d.silence();
    assert_eq!(
        d.text(),
        "S: Main prompt.\nlisten ans [dtmf]\nevent noinput\nS: Say something.\nS: Second prompt.\nlisten ans [dtmf]\n\
         event nomatch\nS: No match.\nlisten ans [dtmf]\nevent noinput\nS: Still nothing.\nexit "
    );
}

#[test]
fn default_handlers_reprompt_and_errors_exit() {
    let page = vxml(&format!(
        r#"<form><field name="ans"><prompt>Choose.</prompt>{YESNO}</field></form>"#
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.press("7");
    assert!(
        d.text()
            .ends_with("event nomatch\nS: Choose.\nlisten ans [dtmf]"),
        "{}",
        d.text()
    );
    let bad = vxml(r#"<form><block><value expr="nosuchvar"/></block></form>"#);
    let d = Driver::new(&[("main.vxml", &bad)]);
    assert!(d.text().contains("event error.semantic"), "{}", d.text());
    assert!(
        d.text()
            .contains("error error.semantic: http://app.test/main.vxml:"),
        "{}",
        d.text()
    );
    assert!(d.s.is_finished());
}

#[test]
fn catch_inheritance_from_document_and_root() {
    let root = vxml(
        r#"<var name="greeting" expr="'hi'"/><catch event="custom">Root caught <value expr="_event"/>.<exit/></catch>"#,
    );
    let leaf = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <catch event="error.badfetch">Doc caught.</catch>
      <form><block><prompt><value expr="application.greeting"/></prompt><throw event="custom.sub" messageexpr="'m'"/></block></form></vxml>"#;
    let d = Driver::new(&[("leaf.vxml", leaf), ("root.vxml", &root)]);
    assert_eq!(
        d.text(),
        "event custom.sub\nS: hi\nS: Root caught custom.sub.\nexit "
    );
}

#[test]
fn application_root_variables_persist_across_leaves() {
    let root = vxml(r#"<var name="visits" expr="0"/>"#);
    let a = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <form><block><assign name="application.visits" expr="application.visits + 1"/><goto next="b.vxml"/></block></form></vxml>"#;
    let b = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <form><block><prompt>Visits <value expr="visits"/>.</prompt></block></form></vxml>"#;
    let d = Driver::new(&[("a.vxml", a), ("b.vxml", b), ("root.vxml", &root)]);
    assert_eq!(d.text(), "S: Visits 1.\nexit ");
    // a, root, b: the root is fetched once.
    assert_eq!(d.fetch_count, 3);
}

#[test]
fn filled_mode_any_and_all_with_mixed_initiative() {
    let page = vxml(
        r##"<form id="pizza">
      <grammar mode="voice" root="order" version="1.0" xmlns="http://www.w3.org/2001/06/grammar">
        <rule id="order"><item repeat="0-1"><ruleref uri="#size"/><tag>out.size=rules.size;</tag></item>
          <item repeat="0-1"><ruleref uri="#topping"/><tag>out.topping=rules.topping;</tag></item></rule>
        <rule id="size"><one-of><item>large</item><item>small</item></one-of></rule>
        <rule id="topping"><one-of><item>cheese</item><item>mushroom</item></one-of></rule>
      </grammar>
      <initial name="start"><prompt>What pizza?</prompt></initial>
      <field name="size"><prompt>What size?</prompt><grammar mode="voice" root="s" version="1.0" xmlns="http://www.w3.org/2001/06/grammar"><rule id="s"><one-of><item>large</item><item>small</item></one-of></rule></grammar></field>
      <field name="topping"><prompt>What topping?</prompt><grammar mode="voice" root="t" version="1.0" xmlns="http://www.w3.org/2001/06/grammar"><rule id="t"><one-of><item>cheese</item><item>mushroom</item></one-of></rule></grammar></field>
      <filled mode="any" namelist="size topping"><log>any <value expr="size"/></log></filled>
      <filled mode="all"><prompt><value expr="size"/> <value expr="topping"/> pizza.</prompt></filled>
    </form>"##,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.say("large");
    d.say("mushroom");
    let t = d.text();
    assert_eq!(
        t,
        "S: What pizza?\nlisten start [voice]\nlog any large\nS: What topping?\nlisten topping [voice voice]\n\
         log any large\nS: large mushroom pizza.\nexit "
    );
}

#[test]
fn goto_nextitem_clear_and_reprompt() {
    let page = vxml(&format!(
        r#"<form><var name="tries" expr="0"/>
        <field name="a"><prompt>A.</prompt>{YESNO}<filled><if cond="tries == 0"><assign name="tries" expr="1"/><clear namelist="a"/><goto nextitem="a"/></if></filled></field>
        <block><prompt>Done <value expr="a"/>.</prompt></block></form>"#
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.press("1");
    d.press("2");
    assert_eq!(
        d.text(),
        "S: A.\nlisten a [dtmf]\nS: A.\nlisten a [dtmf]\nS: Done no.\nexit "
    );
}

#[test]
fn subdialog_params_and_return_values() {
    let main = vxml(
        r#"<form><subdialog name="auth" src="auth.vxml"><param name="who" expr="'bob'"/>
        <filled><prompt>Result <value expr="auth.status"/> for <value expr="auth.user"/>.</prompt></filled></subdialog></form>"#,
    );
    let auth = vxml(
        r#"<form><var name="who"/><var name="status" expr="'ok'"/><block><var name="user" expr="who"/><return namelist="status user"/></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &main), ("auth.vxml", &auth)]);
    assert_eq!(d.text(), "S: Result ok for bob.\nexit ");
}

#[test]
fn goto_loop_hits_the_transition_limit() {
    let page = vxml(
        r##"<form id="a"><block><goto next="#b"/></block></form><form id="b"><block><goto next="#a"/></block></form>"##,
    );
    let d = Driver::with_config(&[("main.vxml", &page)], |c| {
        c.limits.max_transitions_without_input = 50
    });
    let t = d.text();
    assert!(
        t.contains("error error.semantic: the application made 50 dialog transitions"),
        "{t}"
    );
    assert!(d.s.is_finished());
}

#[test]
fn hangup_during_prompt_runs_handler_then_ends() {
    let page = vxml(&format!(
        r#"<catch event="connection.disconnect.hangup"><log>bye</log></catch>
        <form><field name="a"><prompt>Long prompt.</prompt>{YESNO}</field></form>"#
    ));
    let mut d = Driver::holding_plays(&[("main.vxml", &page)]);
    d.hangup();
    assert!(
        d.text()
            .ends_with("event connection.disconnect.hangup\nlog bye\ndisconnect []"),
        "{}",
        d.text()
    );
    assert!(d.s.is_finished());
    assert_eq!(d.s.poll_timeout(), None);
}

#[test]
fn menu_with_dtmf_numbering_and_enumerate() {
    let page = vxml(
        r##"<menu id="top" dtmf="true"><prompt>Say <enumerate/>.</prompt>
        <choice next="#news">Sports news</choice><choice next="#weather">Weather</choice></menu>
        <form id="news"><block>News.</block></form><form id="weather"><block>Weather.</block></form>"##,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.press("2");
    assert_eq!(
        d.text(),
        "S: Say Sports news Weather.\nlisten top [voice dtmf voice dtmf]\nS: Weather.\nexit "
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.say("sports news");
    assert!(d.text().ends_with("S: News.\nexit "), "{}", d.text());
}

#[test]
fn links_at_document_scope() {
    let page = vxml(&format!(
        r##"<link next="#help"><grammar mode="voice" root="h" version="1.0" xmlns="http://www.w3.org/2001/06/grammar"><rule id="h">operator</rule></grammar></link>
        <form><field name="a"><prompt>A.</prompt>{YESNO}</field></form><form id="help"><block>Operator.</block></form>"##
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.say("operator");
    assert!(d.text().ends_with("S: Operator.\nexit "), "{}", d.text());
}

#[test]
fn script_var_if_foreach_and_data() {
    let page = vxml(
        r#"<script>function twice(x) { return x * 2; }</script>
        <data name="acct" src="acct.xml"/>
        <form><block>
          <var name="list" expr="[1, 2, 3]"/>
          <foreach item="n" array="list"><log><value expr="twice(n)"/></log></foreach>
          <if cond="acct.documentElement.getAttribute('balance') == '42'"><log>balance ok</log><else/><log>bad</log></if>
        </block></form>"#,
    );
    let d = Driver::new(&[
        ("main.vxml", &page),
        ("acct.xml", "<account balance=\"42\"/>"),
    ]);
    assert_eq!(d.text(), "log 2\nlog 4\nlog 6\nlog balance ok\nexit ");
}

#[test]
fn submit_sends_namelist_and_runs_the_answer() {
    let page = vxml(
        r#"<form><var name="x" expr="'a b'"/><block><submit next="next.vxml" namelist="x" method="post"/></block></form>"#,
    );
    let next = vxml(r#"<form><block>Got it.</block></form>"#);
    let d = Driver::new(&[("main.vxml", &page), ("next.vxml", &next)]);
    assert_eq!(d.text(), "fetch /next.vxml x=a b\nS: Got it.\nexit ");
}

#[test]
fn missing_page_and_bad_page_are_badfetch() {
    let d = Driver::new(&[(
        "main.vxml",
        &vxml(r#"<form><block><goto next="nope.vxml"/></block></form>"#),
    )]);
    assert!(
        d.text().contains("event error.badfetch.http.404"),
        "{}",
        d.text()
    );
    assert!(
        d.text().contains("error error.badfetch.http.404"),
        "{}",
        d.text()
    );
    let d = Driver::new(&[("main.vxml", "<vxml version=\"2.1\"><form>")]);
    assert!(
        d.text()
            .starts_with("event error.badfetch\nerror error.badfetch: http://app.test/main.vxml:"),
        "{}",
        d.text()
    );
}

#[test]
fn record_fills_shadow_variables() {
    let page = vxml(
        r#"<form><record name="msg" beep="true" maxtime="10s"><prompt>Speak.</prompt>
        <filled><log><value expr="msg$.duration"/> <value expr="msg$.size"/></log></filled></record></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    assert!(d.text().ends_with("record msg"), "{}", d.text());
    d.s.handle_record_result(
        RecordResult::Recorded {
            bytes: Arc::from(&b"RIFF0000"[..]),
            media_type: "audio/x-wav".into(),
            duration: Duration::from_millis(1500),
            termchar: None,
            maxtime: false,
        },
        d.now,
    );
    d.pump();
    assert!(d.text().ends_with("log 1500 8\nexit "), "{}", d.text());
}

#[test]
fn blind_transfer_throws_disconnect_transfer() {
    let page = vxml(
        r#"<form><transfer name="t" dest="tel:+15551234" type="blind"/><block>After.</block></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text().ends_with("transfer Blind tel:+15551234"),
        "{}",
        d.text()
    );
    d.s.handle_transfer_result(TransferResult::Transferred, d.now);
    d.pump();
    assert!(
        d.text()
            .ends_with("event connection.disconnect.transfer\ndisconnect []"),
        "{}",
        d.text()
    );
}

#[test]
fn bridge_transfer_result_fills_the_item() {
    let page = vxml(
        r#"<form><transfer name="t" dest="tel:+15551234" bridge="true"><filled><log><value expr="t"/></log></filled></transfer></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_transfer_result(
        TransferResult::Completed {
            status: "busy".into(),
            duration: Duration::ZERO,
        },
        d.now,
    );
    d.pump();
    assert!(d.text().ends_with("log busy\nexit "), "{}", d.text());
}

#[test]
fn gvp_send_and_receive() {
    let page = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
      <form><var name="Action" expr="'GetData'"/><block>
        <gvp:send async="true" namelist="Action"/>
        <gvp:receive maxtime="5s"/>
        <log><value expr="application.lastmessage$.content"/></log>
      </block></form></vxml>"#;
    let mut d = Driver::new(&[("main.vxml", page)]);
    assert!(d.text().ends_with("send Action=GetData"), "{}", d.text());
    d.s.handle_external_message(
        ExternalMessage {
            sourcetype: "cti".into(),
            contenttype: "application/x-www-form-urlencoded".into(),
            content: "Result=SUCCESS".into(),
        },
        d.now,
    );
    d.pump();
    assert!(
        d.text().ends_with("log Result=SUCCESS\nexit "),
        "{}",
        d.text()
    );
    let mut d = Driver::new(&[("main.vxml", page)]);
    d.silence();
    assert!(d.text().contains("event receive.timeout"), "{}", d.text());
}

#[test]
fn barge_in_stops_playback() {
    let page = vxml(&format!(
        r#"<form><field name="a"><prompt>A long prompt.</prompt>{YESNO}</field></form>"#
    ));
    let mut d2 = Driver::holding_plays(&[("main.vxml", &page)]);
    d2.press("1");
    assert!(d2.text().contains("stop"), "{}", d2.text());
}

#[test]
fn object_is_unsupported_and_exit_expr() {
    let page = vxml(
        r#"<catch event="error.unsupported.objectname"><exit expr="'obj ' + _event"/></catch><form><object name="o" classid="x-foo"/></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text()
            .ends_with("exit \"obj error.unsupported.objectname\""),
        "{}",
        d.text()
    );
}

#[test]
fn universals_help_when_enabled() {
    let page = vxml(&format!(
        r#"<property name="universals" value="all"/><form><field name="a"><prompt>A.</prompt>{YESNO}<help>Press 1 or 2.</help></field></form>"#
    ));
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.say("help");
    assert!(
        d.text().contains("event help\nS: Press 1 or 2.\nlisten a"),
        "{}",
        d.text()
    );
}

#[test]
fn builtin_type_digits() {
    let page = vxml(
        r#"<form><field name="pin" type="digits?length=4"><prompt>PIN?</prompt><filled><log><value expr="pin"/></log></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.press("1234");
    assert!(d.text().contains("log 1234"), "{}", d.text());
}

#[test]
fn disconnect_namelist_after_hangup_handler() {
    let page = vxml(
        r#"<form><var name="r" expr="7"/><block>Bye.<disconnect namelist="r"/></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert_eq!(
        d.text(),
        "S: Bye.\nevent connection.disconnect.hangup\ndisconnect [(\"r\", Number(7))]"
    );
}

#[test]
fn external_grammar_and_script_are_prefetched() {
    let page = vxml(
        r#"<script src="lib.js"/>
        <form><field name="c"><grammar src="colors.grxml" type="application/srgs+xml"/>
        <prompt>Color?</prompt><filled><log><value expr="shout(c)"/></log></filled></field></form>"#,
    );
    let colors = r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="voice" xml:lang="en-US" root="c"><rule id="c"><one-of><item>red</item><item>blue</item></one-of></rule></grammar>"#;
    let mut d = Driver::new(&[
        ("main.vxml", &page),
        ("colors.grxml", colors),
        (
            "lib.js",
            "function shout(s) { return s.toUpperCase() + '!'; }",
        ),
    ]);
    d.say("blue");
    assert!(d.text().ends_with("log BLUE!\nexit "), "{}", d.text());
    assert_eq!(d.fetch_count, 3);
}

#[test]
fn missing_grammar_file_is_badfetch() {
    let page = vxml(
        r#"<form><field name="c"><grammar src="nope.grxml"/><prompt>Color?</prompt></field></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text().contains("error error.badfetch.http.404"),
        "{}",
        d.text()
    );
}

#[test]
fn properties_shape_the_listen() {
    let page = vxml(&format!(
        r#"<property name="timeout" value="3s"/><property name="com.genesyslab.custom" value="x"/>
        <form><property name="termchar" value="*"/><field name="a"><property name="interdigittimeout" value="2s"/>
        <prompt timeout="9s">A.</prompt>{YESNO}</field></form>"#
    ));
    let mut s = Session::new(
        SessionConfig::new(Url::parse("http://app.test/main.vxml").expect("URL")),
        Instant::now(),
    );
    let now = Instant::now();
    let mut listen = None;
    while let Some(out) = s.poll_output() {
        match out {
            Output::Fetch(r) => s.handle_fetched(
                r.id,
                FetchResult::Ok(Fetched {
                    url: r.url.clone(),
                    content_type: None,
                    bytes: Arc::from(page.as_bytes()),
                    compiled: None,
                }),
                now,
            ),
            Output::Listen(l) => listen = Some(l),
            _ => {}
        }
    }
    let l = listen.expect("the field listens");
    assert_eq!(l.timeout, Duration::from_secs(9));
    assert_eq!(l.termchar, Some('*'));
    assert_eq!(l.interdigittimeout, Duration::from_secs(2));
    assert_eq!(l.grammars.len(), 1);
    assert_eq!(l.grammars[0].mode, GrammarMode::Dtmf);
    assert_eq!(
        l.properties,
        vec![("com.genesyslab.custom".to_string(), "x".to_string())]
    );
    // Without play completion the noinput timer has not started.
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn throw_message_and_cancel_default() {
    let page = vxml(
        r#"<catch event="app.fail"><log><value expr="_event + ':' + _message"/></log></catch>
        <form><block><throw event="app.fail" message="boom"/></block><block>Next.</block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert_eq!(
        d.text(),
        "event app.fail\nlog app.fail:boom\nS: Next.\nexit "
    );
}

#[test]
fn event_rethrown_by_its_own_handler_is_bounded() {
    let page = vxml(
        r#"<catch event="loop"><throw event="loop"/></catch><form><block><throw event="loop"/></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text()
            .contains("error error.semantic: the event loop was thrown 21 times"),
        "{}",
        d.text()
    );
    assert!(d.s.is_finished());
}

#[test]
fn queued_external_messages_serve_receive() {
    let page = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
      <property name="com.genesyslab.externalevents.queue" value="true"/>
      <form><field name="a"><grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">1</rule></grammar>
      <prompt>A.</prompt><filled><gvp:receive/><log><value expr="application.lastmessage$.content"/></log></filled></field></form></vxml>"#;
    let mut d = Driver::new(&[("main.vxml", page)]);
    d.s.handle_external_message(
        ExternalMessage {
            sourcetype: "cti".into(),
            contenttype: "text/plain".into(),
            content: "queued".into(),
        },
        d.now,
    );
    d.pump();
    d.press("1");
    assert!(d.text().ends_with("log queued\nexit "), "{}", d.text());
}

#[test]
fn record_noinput_and_hangup_while_recording() {
    let page = vxml(r#"<form><record name="m"><prompt>Speak.</prompt></record></form>"#);
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_record_result(RecordResult::NoInput, d.now);
    d.pump();
    assert!(
        d.text().ends_with("event noinput\nS: Speak.\nrecord m"),
        "{}",
        d.text()
    );
    d.hangup();
    assert!(
        d.text()
            .ends_with("event connection.disconnect.hangup\ndisconnect []"),
        "{}",
        d.text()
    );
}

#[test]
fn approximate_choice_and_item_level_dtmf_link() {
    let page = vxml(
        r##"<menu id="m" accept="approximate"><prompt>Pick.</prompt>
        <choice next="#sports">sports news today</choice></menu>
        <form id="sports"><field name="f"><link dtmf="0" event="help"/><prompt>F.</prompt>
        <grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">1</rule></grammar>
        <help>Help for F.<exit/></help></field></form>"##,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.say("news");
    d.press("0");
    assert_eq!(
        d.text(),
        "S: Pick.\nlisten m [voice]\nS: F.\nlisten f [dtmf dtmf]\nevent help\nS: Help for F.\nexit "
    );
}

#[test]
fn recognizer_results_fill_fields_with_nbest_and_lastresult() {
    let page = vxml(
        r#"<form><field name="city"><prompt>City?</prompt>
        <grammar mode="voice" xml:lang="en-US" version="1.0" root="c" xmlns="http://www.w3.org/2001/06/grammar"><rule id="c"><one-of><item>boston</item><item>austin</item></one-of></rule></grammar>
        <filled><log><value expr="city"/> <value expr="application.lastresult$.length"/> <value expr="application.lastresult$[1].utterance"/> <value expr="city$.confidence"/></log></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_recognition(
        RecognitionResult::Match {
            inputmode: InputMode::Voice,
            hypotheses: vec![
                RecognizedHypothesis {
                    grammar_key: 0,
                    utterance: "boston".into(),
                    confidence: 0.9,
                    interpretation: Some(serde_json::json!("BOS")),
                },
                RecognizedHypothesis {
                    grammar_key: 0,
                    utterance: "austin".into(),
                    confidence: 0.6,
                    interpretation: None,
                },
            ],
        },
        d.now,
    );
    d.pump();
    assert!(
        d.text().ends_with("log BOS 2 austin 0.9\nexit "),
        "{}",
        d.text()
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_recognition(RecognitionResult::MaxSpeechTimeout, d.now);
    d.pump();
    assert!(
        d.text().contains("event maxspeechtimeout\nS: City?"),
        "{}",
        d.text()
    );
}

#[test]
fn low_confidence_is_nomatch() {
    let page = vxml(
        r#"<property name="confidencelevel" value="0.8"/><form><field name="c"><prompt>C?</prompt>
        <grammar mode="voice" xml:lang="en-US" version="1.0" root="c" xmlns="http://www.w3.org/2001/06/grammar"><rule id="c">yes</rule></grammar></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_recognition(
        RecognitionResult::Match {
            inputmode: InputMode::Voice,
            hypotheses: vec![RecognizedHypothesis {
                grammar_key: 0,
                utterance: "yes".into(),
                confidence: 0.5,
                interpretation: None,
            }],
        },
        d.now,
    );
    d.pump();
    assert!(d.text().contains("event nomatch"), "{}", d.text());
}

#[test]
fn script_errors_name_the_element_position() {
    let page = vxml("<form>\n<block>\n<script>var x = ;</script>\n</block></form>");
    let d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text()
            .contains("error error.semantic: http://app.test/main.vxml:5:1: SyntaxError"),
        "{}",
        d.text()
    );
}

#[test]
fn goto_expritem_and_clear_all() {
    let page = vxml(
        r#"<form><var name="n" expr="0"/>
        <block name="b1"><assign name="n" expr="n + 1"/><if cond="n &lt; 3"><clear/><goto expritem="'b1'"/></if></block>
        <block><log>n=<value expr="n"/></log></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert_eq!(d.text(), "log n=3\nexit ");
}

#[test]
fn hangup_while_fetching_runs_the_handler_of_the_current_page() {
    let page = vxml(
        r#"<catch event="connection.disconnect.hangup"><log>gone</log></catch><form><block><goto next="slow.vxml"/></block></form>"#,
    );
    let mut d = Driver::new(&[]);
    let mut s = Session::new(
        SessionConfig::new(Url::parse("http://app.test/main.vxml").expect("URL")),
        d.now,
    );
    let mut pending = Vec::new();
    while let Some(out) = s.poll_output() {
        if let Output::Fetch(r) = out {
            if r.url.path() == "/main.vxml" {
                s.handle_fetched(
                    r.id,
                    FetchResult::Ok(Fetched {
                        url: r.url.clone(),
                        content_type: None,
                        bytes: Arc::from(page.as_bytes()),
                        compiled: None,
                    }),
                    d.now,
                );
            } else {
                pending.push(r.id);
            }
        }
    }
    assert_eq!(pending.len(), 1, "the goto target is being fetched");
    d.s = s;
    d.hangup();
    assert!(
        d.text()
            .ends_with("event connection.disconnect.hangup\nlog gone\ndisconnect []"),
        "{}",
        d.text()
    );
    // A late answer to the abandoned fetch is ignored.
    d.s.handle_fetched(
        pending[0],
        FetchResult::Err {
            event: "error.badfetch".into(),
            message: "late".into(),
        },
        d.now,
    );
    assert!(d.s.poll_output().is_none());
}

#[test]
fn root_variables_are_visible_during_leaf_initialization() {
    let root = vxml(r#"<var name="base" expr="10"/>"#);
    let leaf = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <var name="derived" expr="base + 1"/><form><var name="f" expr="derived + 1"/><block><log><value expr="f"/></log></block></form></vxml>"#;
    let d = Driver::new(&[("leaf.vxml", leaf), ("root.vxml", &root)]);
    assert_eq!(d.text(), "log 12\nexit ");
}

#[test]
fn fetch_attributes_and_properties_reach_the_request() {
    let page = vxml(
        r#"<property name="documentmaxage" value="60"/><property name="fetchtimeout" value="4s"/>
        <form><block><goto next="next.vxml" maxstale="5" fetchaudio="hold.wav"/></block></form>"#,
    );
    let d = Driver::new(&[
        ("main.vxml", &page),
        ("next.vxml", &vxml("<form><block>Next.</block></form>")),
    ]);
    let r = d
        .requests
        .iter()
        .find(|r| r.url.path() == "/next.vxml")
        .expect("goto fetch");
    assert_eq!(r.kind, ResourceKind::Document);
    assert_eq!(r.maxage, Some(Duration::from_secs(60)));
    assert_eq!(r.maxstale, Some(Duration::from_secs(5)));
    assert_eq!(r.timeout, Some(Duration::from_secs(4)));
    assert_eq!(r.fetchaudio.as_ref().map(Url::path), Some("/hold.wav"));
    assert_eq!(r.referrer.as_ref().map(Url::path), Some("/main.vxml"));
}

#[test]
fn disconnect_inside_the_hangup_handler_ends_at_once() {
    let page = vxml(
        r#"<catch event="connection.disconnect.hangup"><var name="why" expr="'caller'"/><disconnect namelist="why"/></catch>
        <form><field name="a" type="boolean"><prompt>A.</prompt></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.hangup();
    assert!(
        d.text().ends_with(
            "event connection.disconnect.hangup\ndisconnect [(\"why\", String(\"caller\"))]"
        ),
        "{}",
        d.text()
    );
}

#[test]
fn pin_retries_in_a_subdialog_transcript() {
    let main = vxml(
        r#"<catch event="auth.failed"><prompt>Sorry, <value expr="_message"/>.</prompt><exit/></catch>
        <form id="main"><block><prompt>Welcome.</prompt></block>
          <subdialog name="auth" src="auth.vxml"><param name="expected" expr="'2468'"/>
            <filled><prompt>Hello <value expr="auth.name"/>.</prompt><exit namelist="auth"/></filled></subdialog></form>"#,
    );
    let auth = vxml(
        r#"<form><var name="expected"/><var name="tries" expr="0"/>
          <field name="pin" type="digits?length=4"><prompt>Enter your PIN.</prompt>
            <prompt count="2">Enter your PIN again.</prompt>
            <nomatch>That is not a PIN.</nomatch>
            <noinput count="2"><return event="auth.failed" message="no PIN was entered"/></noinput>
            <filled><if cond="pin == expected"><var name="name" expr="'Alex'"/><return namelist="name"/>
              <else/><assign name="tries" expr="tries + 1"/>
              <if cond="tries &gt;= 3"><return event="auth.failed" messageexpr="'too many tries'"/></if>
              <prompt>Wrong PIN.</prompt><clear namelist="pin"/></if></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &main), ("auth.vxml", &auth)]);
    d.press("1111");
    d.silence();
    d.press("2468");
    insta::assert_snapshot!("pin_retries_success", d.text());
    let mut d = Driver::new(&[("main.vxml", &main), ("auth.vxml", &auth)]);
    d.press("12");
    d.silence();
    d.silence();
    insta::assert_snapshot!("pin_retries_failure", d.text());
}

#[test]
fn bridge_transfer_offers_its_grammars() {
    let page = vxml(
        r#"<form><transfer name="t" destexpr="'sip:agent@example.com'" type="bridge" aaiexpr="'k=v'" connecttimeout="10s">
        <grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">*</rule></grammar></transfer></form>"#,
    );
    let mut s = Session::new(
        SessionConfig::new(Url::parse("http://app.test/main.vxml").expect("URL")),
        Instant::now(),
    );
    let now = Instant::now();
    let mut req = None;
    while let Some(out) = s.poll_output() {
        match out {
            Output::Fetch(r) => s.handle_fetched(
                r.id,
                FetchResult::Ok(Fetched {
                    url: r.url.clone(),
                    content_type: None,
                    bytes: Arc::from(page.as_bytes()),
                    compiled: None,
                }),
                now,
            ),
            Output::Transfer(t) => req = Some(t),
            _ => {}
        }
    }
    let t = req.expect("a transfer");
    assert_eq!(t.kind, TransferType::Bridge);
    assert_eq!(t.dest, "sip:agent@example.com");
    assert_eq!(t.aai.as_deref(), Some("k=v"));
    assert_eq!(t.connecttimeout, Duration::from_secs(10));
    assert_eq!(t.grammars.len(), 1);
    assert_eq!(t.grammars[0].mode, GrammarMode::Dtmf);
}

#[test]
fn platform_properties_sit_below_the_documents() {
    let page = vxml(&format!(
        r#"<form><field name="a"><prompt>A.</prompt>{YESNO}</field></form>"#
    ));
    let mut d = Driver::with_config(&[("main.vxml", &page)], |c| {
        c.platform_properties = vec![
            ("timeout".into(), "7s".into()),
            ("com.genesyslab.tenant".into(), "t1".into()),
        ];
    });
    let before = d.now;
    d.silence();
    assert_eq!(d.now - before, Duration::from_secs(7));
    assert!(d.text().contains("event noinput"), "{}", d.text());
}

#[test]
fn going_to_the_root_document_keeps_its_variables() {
    let root = r##"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
      <var name="count" expr="0"/>
      <form id="menu"><block><prompt>Root count <value expr="application.count"/>.</prompt><exit/></block></form></vxml>"##;
    let leaf = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" application="root.vxml">
      <form><block><assign name="application.count" expr="5"/><goto next="root.vxml#menu"/></block></form></vxml>"#;
    let d = Driver::new(&[("leaf.vxml", leaf), ("root.vxml", root)]);
    assert_eq!(d.text(), "S: Root count 5.\nexit ");
}

#[test]
fn missing_subdialog_dialog_is_caught_by_the_caller() {
    let main = vxml(
        r#"<form><subdialog name="s" src="sub.vxml#nope"><catch event="error.badfetch"><log>caller caught</log><exit/></catch></subdialog></form>"#,
    );
    let sub = vxml(r#"<form id="yes"><block><return/></block></form>"#);
    let d = Driver::new(&[("main.vxml", &main), ("sub.vxml", &sub)]);
    assert_eq!(d.text(), "event error.badfetch\nlog caller caught\nexit ");
}

/// Runs a page with a fixed mix of inputs and checks the session never
/// panics, never emits without bound and either ends or waits.
fn exercise(pages: &[(&str, &str)]) -> String {
    let inputs = [
        "1", "say:yes", "silence", "2", "say:help", "#", "silence", "hangup",
    ];
    let mut d = Driver::new(pages);
    for i in inputs {
        if d.s.is_finished() {
            break;
        }
        match i {
            "silence" => {
                d.silence();
            }
            "hangup" => {
                d.hangup();
            }
            other => match other.strip_prefix("say:") {
                Some(w) => {
                    d.say(w);
                }
                None => {
                    d.press(other);
                }
            },
        }
        // Answer platform requests so the dialog can go on.
        if d.lines.last().is_some_and(|l| l.starts_with("record ")) {
            d.s.handle_record_result(RecordResult::NoInput, d.now);
            d.pump();
        }
        if d.lines.last().is_some_and(|l| l.starts_with("transfer ")) {
            d.s.handle_transfer_result(
                TransferResult::Completed {
                    status: "noanswer".into(),
                    duration: Duration::ZERO,
                },
                d.now,
            );
            d.pump();
        }
    }
    d.hangup();
    assert!(d.s.is_finished(), "{}", d.text());
    d.text()
}

#[test]
fn the_compilers_test_pages_run_to_an_end() {
    let root = vxml(
        r#"<var name="appvar" expr="1"/><link event="help"><grammar mode="voice" xml:lang="en-US" version="1.0" root="h" xmlns="http://www.w3.org/2001/06/grammar"><rule id="h">assist</rule></grammar></link>"#,
    );
    let grammar = r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="voice" xml:lang="en-US" root="r"><rule id="r" scope="public">yes</rule></grammar>"#;
    let sub = vxml(
        r#"<form id="ask"><block><return/></block></form><form id="lookup"><block><var name="balance" expr="1"/><return namelist="balance"/></block></form>"#,
    );
    let report = vxml("<form><block>Reported.</block></form>");
    for first in [
        (
            "every.vxml",
            include_str!("../parse/testdata/every-element.vxml"),
        ),
        (
            "big.vxml",
            include_str!("../parse/testdata/realistic-50k.vxml"),
        ),
    ] {
        let pages = [
            first,
            ("root.vxml", root.as_str()),
            ("quit.grxml", grammar),
            ("cancel.grxml", grammar),
            ("account.grxml", grammar),
            ("menu.js", "var menuLoaded = true;"),
            ("accounts.xml", "<accounts><account id=\"1\"/></accounts>"),
            ("pin.vxml", sub.as_str()),
            ("balance.vxml", sub.as_str()),
            ("report.jsp", report.as_str()),
        ];
        let t = exercise(&pages);
        // The page really ran: it spoke or listened before the final hangup.
        assert!(t.contains("S: ") || t.contains("listen "), "{t}");
    }
}

#[test]
fn hotword_prompts_ignore_input_that_matches_nothing() {
    let page = vxml(&format!(
        r#"<form><field name="a"><prompt bargeintype="hotword">A long prompt.</prompt>{YESNO}
        <filled><log><value expr="a"/></log></filled></field></form>"#
    ));
    let mut d = Driver::holding_plays(&[("main.vxml", &page)]);
    d.press("7");
    assert!(
        !d.text().contains("stop") && !d.text().contains("nomatch"),
        "{}",
        d.text()
    );
    d.press("2");
    assert!(d.text().ends_with("stop\nlog no\nexit "), "{}", d.text());
}

#[test]
fn a_runaway_script_is_a_semantic_error_not_a_hang() {
    let page = vxml(r#"<form><block><script>while (true) {}</script></block></form>"#);
    let d = Driver::with_config(&[("main.vxml", &page)], |c| {
        c.limits.script_loop_iterations = 10_000
    });
    assert!(d.text().contains("error error.semantic"), "{}", d.text());
    assert!(d.s.is_finished());
}

#[test]
fn marks_reached_before_input_reach_lastresult_and_the_field() {
    let page = r#"<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form>
      <field name="f" type="digits?length=1">
        <prompt>Hello <mark name="m1"/> press a key</prompt>
        <filled>
          <log expr="application.lastresult$.markname + ' ' + application.lastresult$.marktime"/>
          <log expr="f$.markname + ' ' + f$.marktime"/>
          <exit/>
        </filled>
      </field></form></vxml>"#;
    let mut d = Driver::holding_plays(&[("main.vxml", page)]);
    d.s.handle_mark("m1", d.now);
    d.now += Duration::from_millis(1500);
    d.press("7");
    let text = d.text();
    assert!(text.contains("log m1 1500\nlog m1 1500"), "{text}");
}

/// Every output of a session whose only page is `page`, with no input.
fn outputs_of(page: &str) -> Vec<Output> {
    let now = Instant::now();
    let url = Url::parse(BASE)
        .and_then(|b| b.join("main.vxml"))
        .expect("test URL");
    let mut s = Session::new(SessionConfig::new(url.clone()), now);
    let mut outs = Vec::new();
    while let Some(out) = s.poll_output() {
        if let Output::Fetch(req) = &out
            && req.url == url
        {
            let page = FetchResult::Ok(Fetched {
                url: url.clone(),
                content_type: None,
                bytes: Arc::from(page.as_bytes()),
                compiled: None,
            });
            s.handle_fetched(req.id, page, now);
        }
        outs.push(out);
    }
    outs
}

#[test]
fn audio_carries_its_fetch_settings_and_static_audio_is_prefetched() {
    let page = vxml(
        r#"<property name="audiomaxage" value="60"/>
        <form><block><prompt>
          <audio src="a.wav" fetchtimeout="3s" maxstale="5">A.</audio>
          <audio src="b.wav" fetchhint="safe">B.</audio>
        </prompt></block></form>"#,
    );
    let outs = outputs_of(&page);
    let prefetched: Vec<(&str, Option<&str>)> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Fetch(r) if r.kind == ResourceKind::Audio => {
                Some((r.url.path(), r.fetchhint.as_deref()))
            }
            _ => None,
        })
        .collect();
    // audiofetchhint defaults to prefetch; fetchhint="safe" waits for the prompt.
    assert_eq!(prefetched, [("/a.wav", Some("prefetch"))]);
    let play = outs
        .iter()
        .find_map(|o| match o {
            Output::Play(p) => Some(p),
            _ => None,
        })
        .expect("the block plays its prompt");
    let fetches: Vec<AudioFetch> = play.prompts[0]
        .parts
        .iter()
        .filter_map(|p| match p {
            PromptPart::Audio { fetch, .. } => Some(fetch.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        fetches,
        [
            AudioFetch {
                timeout: Some(Duration::from_secs(3)),
                maxage: Some(Duration::from_secs(60)),
                maxstale: Some(Duration::from_secs(5)),
                fetchhint: Some("prefetch".into()),
            },
            AudioFetch {
                timeout: Some(Duration::from_secs(30)),
                maxage: Some(Duration::from_secs(60)),
                maxstale: None,
                fetchhint: Some("safe".into()),
            },
        ]
    );
}

#[test]
fn rendering_speaks_the_alternate_content_of_audio_that_cannot_play() {
    let url = Url::parse("http://app.test/a.wav").expect("test URL");
    let prompt = QueuedPrompt {
        parts: vec![
            PromptPart::Text("Hello ".into()),
            PromptPart::Audio {
                src: Some(url.clone()),
                fallback: vec![
                    PromptPart::Text(" chime ".into()),
                    PromptPart::Mark("m".into()),
                ],
                fetch: AudioFetch::default(),
            },
            PromptPart::Audio {
                src: Some(url.clone()),
                fallback: Vec::new(),
                fetch: AudioFetch::default(),
            },
            PromptPart::Text(" there.".into()),
        ],
        bargein: true,
        bargeintype: BargeinType::Speech,
        timeout: None,
        lang: None,
        loc: None,
    };
    let failed = prompt.render(&mut |_, _| false);
    assert_eq!(failed.text, "Hello chime there.");
    assert_eq!(failed.marks, ["m"]);
    assert_eq!(failed.audio, [(url.clone(), false), (url.clone(), false)]);
    let played = prompt.render(&mut |_, _| true);
    assert_eq!(played.text, "Hello there.");
    assert!(played.marks.is_empty());
    assert_eq!(played.audio, [(url.clone(), true), (url, true)]);
}

#[test]
fn an_audio_expr_that_is_not_a_uri_renders_the_alternate_content() {
    let page = vxml(
        r#"<form><block><prompt>Tone: <audio expr="'http://[bad'">beep</audio></prompt></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert_eq!(d.text(), "S: Tone: beep\nexit ", "{}", d.text());
}

const COLORS: &str = r#"<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="voice" xml:lang="en-US" root="c"><rule id="c"><one-of><item>red</item><item>blue</item></one-of></rule></grammar>"#;

#[test]
fn a_srcexpr_grammar_is_fetched_when_its_field_listens() {
    let page = vxml(
        r#"<form><var name="g" expr="'col' + 'ors.grxml'"/>
        <field name="c"><grammar srcexpr="g" fetchtimeout="4s"/><prompt>Color?</prompt>
        <filled><log><value expr="c"/></log></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page), ("colors.grxml", COLORS)]);
    let grammar = d
        .requests
        .iter()
        .find(|r| r.kind == ResourceKind::Grammar)
        .expect("the grammar is fetched");
    assert_eq!(grammar.url.path(), "/colors.grxml");
    assert_eq!(grammar.timeout, Some(Duration::from_secs(4)));
    d.say("blue");
    assert_eq!(
        d.text(),
        "S: Color?\nlisten c [voice]\nlog blue\nexit ",
        "{}",
        d.text()
    );
}

#[test]
fn a_srcexpr_grammar_that_cannot_be_fetched_throws_in_its_field() {
    let page = vxml(
        r#"<form><field name="c"><grammar srcexpr="'nope.grxml'"/><prompt>Color?</prompt>
        <catch event="error.badfetch"><log>caught <value expr="_event"/></log><exit/></catch>
        </field></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &page)]);
    assert!(
        d.text().ends_with(
            "event error.badfetch.http.404\nlog caught error.badfetch.http.404\nS: Color?\nexit "
        ),
        "{}",
        d.text()
    );
}

#[test]
fn a_srcexpr_grammar_of_a_menu_choice_is_fetched_before_listening() {
    let page = vxml(
        r##"<menu id="m"><prompt>Pick.</prompt>
        <choice next="#done"><grammar srcexpr="'colors.grxml'"/></choice></menu>
        <form id="done"><block><log>done</log></block></form>"##,
    );
    let mut d = Driver::new(&[("main.vxml", &page), ("colors.grxml", COLORS)]);
    d.say("red");
    assert_eq!(
        d.text(),
        "S: Pick.\nlisten m [voice]\nlog done\nexit ",
        "{}",
        d.text()
    );
}

#[test]
fn recordutterance_exposes_the_recording_in_lastresult_and_the_field() {
    let page = vxml(
        r#"<property name="recordutterance" value="true"/>
        <form><field name="c"><grammar src="colors.grxml"/>
        <filled><log><value expr="application.lastresult$.recordingsize"/> <value expr="c$.recordingduration"/> <value expr="c$.recording"/></log>
        <submit next="next.vxml" namelist="c c$.recording" method="post" enctype="multipart/form-data"/></filled></field></form>"#,
    );
    let next = vxml("<form><block><log>next</log></block></form>");
    let mut d = Driver::new(&[
        ("main.vxml", &page),
        ("colors.grxml", COLORS),
        ("next.vxml", &next),
    ]);
    d.s.handle_utterance_recording(
        UtteranceRecording {
            bytes: Arc::from(&b"RIFF1234"[..]),
            media_type: "audio/x-wav".into(),
            duration: Duration::from_millis(800),
        },
        d.now,
    );
    d.say("red");
    assert!(
        d.text()
            .contains("log 8 800 recording:c$\nfetch /next.vxml c=red&c$.recording=<8 bytes>"),
        "{}",
        d.text()
    );
}

#[test]
fn without_a_recording_the_recording_variables_are_undefined() {
    let page = vxml(
        r#"<form><field name="c"><grammar src="colors.grxml"/>
        <filled><log><value expr="typeof c$.recording"/></log></filled></field></form>"#,
    );
    let mut d = Driver::new(&[("main.vxml", &page), ("colors.grxml", COLORS)]);
    d.say("red");
    assert!(d.text().contains("log undefined"), "{}", d.text());
}

const RECEIVE_THEN_TWO_FIELDS: &str = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
  <form><block><gvp:receive maxtime="5s"/></block>
  <field name="a" type="digits?length=2"><prompt>First.</prompt></field>
  <field name="b" type="digits?length=1"><prompt bargein="BARGEIN">Second.</prompt></field>
  <block><log><value expr="a"/>/<value expr="b"/></log></block></form></vxml>"#;

fn message(d: &mut Driver) {
    d.s.handle_external_message(
        ExternalMessage {
            sourcetype: "cti".into(),
            contenttype: "text/plain".into(),
            content: "go".into(),
        },
        d.now,
    );
    d.pump();
}

#[test]
fn keys_pressed_while_not_listening_are_typeahead_for_the_next_fields() {
    let page = RECEIVE_THEN_TWO_FIELDS.replace("BARGEIN", "true");
    let mut d = Driver::new(&[("main.vxml", &page)]);
    // The block waits for a message: these keys are typed ahead, and the
    // digit beyond the first field's length is left for the second.
    for k in "123".chars() {
        d.s.handle_dtmf(k, d.now);
        d.pump();
    }
    message(&mut d);
    assert!(d.text().ends_with("log 12/3\nexit "), "{}", d.text());
}

#[test]
fn typeahead_is_discarded_by_prompts_without_barge_in() {
    let page = RECEIVE_THEN_TWO_FIELDS.replace("BARGEIN", "false");
    let mut d = Driver::new(&[("main.vxml", &page)]);
    for k in "123".chars() {
        d.s.handle_dtmf(k, d.now);
        d.pump();
    }
    message(&mut d);
    // "12" fills the first field; the second field's prompt cannot be barged
    // into, so the "3" typed ahead is discarded and the field waits.
    assert!(d.text().ends_with("listen b [dtmf voice]"), "{}", d.text());
    d.press("4");
    assert!(d.text().ends_with("log 12/4\nexit "), "{}", d.text());
}

const GVP_VXML: &str = r#"<?xml version="1.0"?><vxml version="2.1" xmlns="http://www.w3.org/2001/vxml" xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">"#;

#[test]
fn failed_synchronous_send_throws_an_error_the_form_catches() {
    let page = format!(
        r#"{GVP_VXML}
      <form><var name="Action" expr="'GetData'"/>
        <catch event="error.com.genesyslab.send"><log><value expr="_event + ' ' + _message"/></log><exit/></catch>
        <block><gvp:send async="false" namelist="Action"/><log>not reached</log></block>
      </form></vxml>"#
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    assert!(d.text().ends_with("send Action=GetData"), "{}", d.text());
    assert!(!d.s.is_finished());
    d.s.handle_send_failed("SIP 415", d.now);
    d.pump();
    let text = d.text();
    assert!(
        text.ends_with(
            "event error.com.genesyslab.send\nlog error.com.genesyslab.send http://app.test/main.vxml:4:16: the message was not delivered: SIP 415\nexit "
        ),
        "{text}"
    );
    assert!(!text.contains("not reached"), "{text}");
}

#[test]
fn send_failure_without_a_waiting_send_is_ignored() {
    let page = format!(
        r#"{GVP_VXML}
      <form><block><gvp:send async="true" body="a=1"/><gvp:receive/><log><value expr="application.lastmessage$.content"/></log></block></form></vxml>"#
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_send_failed("SIP 500", d.now);
    d.pump();
    assert!(d.text().ends_with("send a=1"), "{}", d.text());
    d.s.handle_external_message(
        ExternalMessage {
            sourcetype: "cti".into(),
            contenttype: "text/plain".into(),
            content: "late".into(),
        },
        d.now,
    );
    d.pump();
    assert!(d.text().ends_with("log late\nexit "), "{}", d.text());
}

#[test]
fn failed_send_uncaught_ends_the_session_with_the_error() {
    let page = format!(
        r#"{GVP_VXML}<form><block><gvp:send async="false" body="a=1"/></block></form></vxml>"#
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.s.handle_send_failed("the call has left the platform", d.now);
    d.pump();
    assert!(
        d.text().contains("error error.com.genesyslab.send: "),
        "{}",
        d.text()
    );
    assert!(d.s.is_finished());
}

#[test]
fn hangup_during_receive_runs_the_form_catch() {
    let page = format!(
        r#"{GVP_VXML}
      <form id="f">
        <catch event="connection.disconnect.hangup"><log>form saw the hangup</log></catch>
        <block><gvp:receive/><log>not reached</log></block>
      </form></vxml>"#
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    assert!(!d.s.is_finished());
    d.hangup();
    let text = d.text();
    assert!(
        text.ends_with(
            "event connection.disconnect.hangup\nlog form saw the hangup\ndisconnect []"
        ),
        "{text}"
    );
    assert!(d.s.is_finished());
}

#[test]
fn hangup_during_receive_in_filled_runs_the_form_catch() {
    let page = format!(
        r#"{GVP_VXML}
      <form>
        <catch event="connection.disconnect.hangup"><log>form saw the hangup</log></catch>
        <field name="a"><grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar"><rule id="r">1</rule></grammar>
          <prompt>A.</prompt><filled><gvp:receive maxtime="30s"/><log>not reached</log></filled></field>
      </form></vxml>"#
    );
    let mut d = Driver::new(&[("main.vxml", &page)]);
    d.press("1");
    d.hangup();
    let text = d.text();
    assert!(
        text.ends_with(
            "event connection.disconnect.hangup\nlog form saw the hangup\ndisconnect []"
        ),
        "{text}"
    );
}

#[test]
fn ccxml_dialog_reads_session_connection_ccxml() {
    let page = vxml(
        r#"<form><block><log><value expr="session.connection.ccxml.sessionid + ' ' + session.connection.ccxml.dialogid + ' ' + session.connection.ccxml.connectionid + ' ' + typeof session.connection.ccxml.conferenceid"/></log>
        <log><value expr="session.connection.ccxml.values.pin + ' ' + session.connection.ccxml.values.tries + ' ' + session.connection.ccxml.namelist.join(',')"/></log></block></form>"#,
    );
    let mut values = serde_json::Map::new();
    values.insert("pin".into(), serde_json::json!("1234"));
    values.insert("tries".into(), serde_json::json!(3));
    let mut d = Driver::with_config(&[("main.vxml", &page)], |c| {
        c.info.ccxml = Some(crate::script::CcxmlDialog {
            sessionid: "ccxml-1".into(),
            dialogid: "dialog-2".into(),
            connectionid: Some("conn-3".into()),
            conferenceid: None,
            values,
        });
    });
    d.pump();
    assert!(
        d.text()
            .ends_with("log ccxml-1 dialog-2 conn-3 undefined\nlog 1234 3 pin,tries\nexit "),
        "{}",
        d.text()
    );
    let plain = vxml(
        r#"<form><block><log><value expr="typeof session.connection.ccxml"/></log></block></form>"#,
    );
    let d = Driver::new(&[("main.vxml", &plain)]);
    assert!(d.text().ends_with("log undefined\nexit "), "{}", d.text());
}
