//! Form items and statements that hand the call to the platform:
//! `<record>` (VoiceXML 2.0 §2.3.6, shadow variables `duration`, `size`,
//! `termchar`, `maxtime`), `<transfer>` (§2.3.7: blind, bridge,
//! consultation, result values, `connection.disconnect.transfer`, GVP's
//! `gvp:method`/`gvp:connectwhen`), and the NGI extensions `<gvp:send>` and
//! `<gvp:receive>` with `application.lastmessage$`.
//!
//! Event names chosen here where GVP's are not documented: a
//! `<gvp:receive maxtime>` that expires throws `receive.timeout`; with
//! `com.genesyslab.externalevents.enable` set, a message arriving while no
//! `<gvp:receive>` waits throws `externalmessage` (with `_message` set to
//! the content and `application.lastmessage$` updated).

use std::sync::Arc;
use std::time::{Duration, Instant};

use boa_engine::JsValue;

use super::events::Event;
use super::exec::Flow;
use super::fia::Step;
use super::{
    ExternalMessage, Output, RecordRequest, RecordResult, SendRequest, Session, TransferRequest,
    TransferResult, TransferType, Wait,
};
use crate::script::Scope;
use crate::vxml::model::{self, Computed, Document, Receive, Record, Send, SendPayload, Transfer};

/// Default `<record maxtime>` when neither the element nor the platform sets one.
const DEFAULT_RECORD_MAXTIME: Duration = Duration::from_secs(60);
/// Default `<record finalsilence>`.
const DEFAULT_FINALSILENCE: Duration = Duration::from_secs(3);
/// Default `<transfer connecttimeout>` (§2.3.7).
const DEFAULT_CONNECTTIMEOUT: Duration = Duration::from_secs(30);

impl Session {
    pub(super) fn start_record(&mut self, r: &Record, i: usize) -> Step {
        let timeout = self.props().time("timeout");
        self.flush_prompts();
        self.out.push_back(Output::Record(RecordRequest {
            name: r.common.name.clone(),
            beep: r.beep,
            maxtime: r.maxtime.unwrap_or(DEFAULT_RECORD_MAXTIME),
            finalsilence: r.finalsilence.unwrap_or(DEFAULT_FINALSILENCE),
            dtmfterm: r.dtmfterm,
            media_type: r.media_type.clone().unwrap_or_else(|| "audio/x-wav".into()),
            timeout,
        }));
        self.wait = Wait::Record(i);
        self.transitions = 0;
        self.event_chain.clear();
        Step::Wait
    }

    pub(super) fn on_record_result(&mut self, result: RecordResult, now: Instant) -> Option<Step> {
        let Wait::Record(i) = self.wait else {
            return None;
        };
        self.wait = Wait::Running;
        self.playing = None;
        match result {
            RecordResult::NoInput => Some(Step::Throw(Event::new("noinput", None, None))),
            RecordResult::Failed { event, message } => {
                Some(Step::Throw(Event::new(event, Some(message), None)))
            }
            RecordResult::Recorded {
                bytes,
                media_type,
                duration,
                termchar,
                maxtime,
            } => {
                let (name, loc) =
                    self.with_item(i, |it| (it.name().to_string(), it.common().loc.clone()))?;
                let size = bytes.len();
                self.recordings.insert(name.clone(), (media_type, bytes));
                let handle =
                    JsValue::from(boa_engine::js_string!(format!("recording:{name}").as_str()));
                if let Err(e) = self.assign(&name, handle, &loc) {
                    return Some(Step::Throw(e));
                }
                let tc = match termchar {
                    Some(c) => JsValue::from(boa_engine::js_string!(c.to_string().as_str())),
                    None => JsValue::null(),
                };
                self.js.set_shadow(
                    Scope::Dialog,
                    &name,
                    &[
                        ("duration", JsValue::from(duration.as_millis() as f64)),
                        ("size", JsValue::from(size as f64)),
                        ("termchar", tc),
                        ("maxtime", JsValue::from(maxtime)),
                    ],
                );
                Some(self.process_filled(vec![i], now))
            }
        }
    }

    pub(super) fn start_transfer(&mut self, doc: &Arc<Document>, t: &Transfer, i: usize) -> Step {
        let dest = match &t.dest {
            Some(Computed::Static(s)) => s.clone(),
            Some(Computed::Dynamic(e)) => match self.eval_string(e) {
                Ok(s) => s,
                Err(ev) => return Step::Throw(ev),
            },
            None => {
                return Step::Throw(Event::semantic(
                    &t.common.loc,
                    "<transfer> has no destination (dest or destexpr)",
                ));
            }
        };
        let aai = match &t.aai {
            Some(c) => match self.computed_string(c) {
                Ok(s) => Some(s),
                Err(ev) => return Step::Throw(ev),
            },
            None => None,
        };
        let method = t.method.as_ref().map(|m| match m {
            model::TransferMethod::Bridge => "BRIDGE".to_string(),
            model::TransferMethod::Refer => "REFER".to_string(),
            model::TransferMethod::ReferJoin => "REFERJOIN".to_string(),
            model::TransferMethod::MediaRedirect => "MEDIAREDIRECT".to_string(),
            model::TransferMethod::HookFlash => "HOOKFLASH".to_string(),
            model::TransferMethod::Other(s) => s.clone(),
        });
        let connectwhen = t.connectwhen.map(|c| match c {
            model::ConnectWhen::Answered => "answered".to_string(),
            model::ConnectWhen::Immediate => "immediate".to_string(),
        });
        let kind = match t.transfer_type {
            model::TransferType::Blind => TransferType::Blind,
            model::TransferType::Bridge => TransferType::Bridge,
            model::TransferType::Consultation => TransferType::Consultation,
        };
        let lang = t
            .common
            .lang
            .clone()
            .or_else(|| doc.lang.clone())
            .unwrap_or_else(|| "en-US".into());
        let grammars = match self.transfer_grammars(&t.common.grammars, &lang) {
            Ok(g) => g,
            Err(ev) => return Step::Throw(ev),
        };
        self.flush_prompts();
        self.out.push_back(Output::Transfer(TransferRequest {
            name: t.common.name.clone(),
            kind,
            dest,
            connecttimeout: t.connecttimeout.unwrap_or(DEFAULT_CONNECTTIMEOUT),
            maxtime: t.maxtime.unwrap_or_default(),
            aai,
            transferaudio: t.transferaudio.clone(),
            method,
            connectwhen,
            grammars,
        }));
        self.wait = Wait::Transfer(i);
        self.transitions = 0;
        self.event_chain.clear();
        Step::Wait
    }

    pub(super) fn on_transfer_result(
        &mut self,
        result: TransferResult,
        now: Instant,
    ) -> Option<Step> {
        let Wait::Transfer(i) = self.wait else {
            return None;
        };
        self.wait = Wait::Running;
        self.playing = None;
        match result {
            TransferResult::Transferred => {
                // The call now belongs to the far end: the handler runs, then
                // the session ends (§2.3.7.1).
                self.hung_up = true;
                Some(Step::Throw(Event::new(
                    "connection.disconnect.transfer",
                    None,
                    None,
                )))
            }
            TransferResult::Failed { event, message } => {
                Some(Step::Throw(Event::new(event, Some(message), None)))
            }
            TransferResult::Completed { status, duration } => {
                let (name, loc) =
                    self.with_item(i, |it| (it.name().to_string(), it.common().loc.clone()))?;
                let v = JsValue::from(boa_engine::js_string!(status.as_str()));
                if let Err(e) = self.assign(&name, v, &loc) {
                    return Some(Step::Throw(e));
                }
                self.js.set_shadow(
                    Scope::Dialog,
                    &name,
                    &[("duration", JsValue::from(duration.as_secs_f64()))],
                );
                Some(self.process_filled(vec![i], now))
            }
        }
    }

    /// `<gvp:send>`: a message to the CTI side; with `async="false"` the
    /// content waits for the reply.
    pub(super) fn exec_send(&mut self, s: &Send) -> Result<Flow, Event> {
        let body = match &s.payload {
            SendPayload::Body(b) => b.clone(),
            SendPayload::Namelist(names) => {
                // application/x-www-form-urlencoded as browsers write it: `*-._` stay as
                // they are, spaces become `+`.
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for n in names {
                    let v = self.js.eval(n).map_err(|e| {
                        Event::semantic(&s.loc, format!("namelist variable '{n}': {e}"))
                    })?;
                    let text = self.js.display(&v);
                    form.append_pair(n, &text);
                }
                form.finish()
            }
        };
        self.out.push_back(Output::Send(SendRequest {
            contenttype: s
                .contenttype
                .clone()
                .unwrap_or_else(|| "application/x-www-form-urlencoded;charset=utf-8".into()),
            body,
            is_async: s.is_async,
        }));
        if s.is_async {
            return Ok(Flow::Next);
        }
        self.wait = Wait::Message { deadline: None };
        self.send_waits = Some(s.loc.clone());
        Ok(Flow::Suspend(Vec::new()))
    }

    /// A synchronous send's message was not delivered: its reply will never
    /// come, so the wait ends with an error event at the `<gvp:send>`.
    pub(super) fn on_send_failed(&mut self, reason: &str) -> Option<Step> {
        if !matches!(self.wait, Wait::Message { .. }) {
            tracing::debug!(
                reason,
                "send failure with no synchronous <gvp:send> waiting"
            );
            return None;
        }
        let loc = self.send_waits.take()?;
        self.suspended = None;
        self.wait = Wait::Running;
        Some(Step::Throw(Event::new(
            "error.com.genesyslab.send",
            Some(format!("{loc}: the message was not delivered: {reason}")),
            Some(loc),
        )))
    }

    /// `<gvp:receive>`: takes a queued message or waits for the next one.
    pub(super) fn exec_receive(&mut self, r: &Receive, now: Instant) -> Flow {
        if let Some(m) = self.messages.pop_front() {
            self.js
                .set_last_message(&m.sourcetype, &m.contenttype, &m.content);
            return Flow::Next;
        }
        self.flush_prompts();
        self.wait = Wait::Message {
            deadline: r.maxtime.map(|d| now + d),
        };
        self.transitions = 0;
        Flow::Suspend(Vec::new())
    }

    pub(super) fn receive_timeout(&mut self) -> Step {
        self.suspended = None;
        self.wait = Wait::Running;
        Step::Throw(Event::new(
            "receive.timeout",
            Some("no external message arrived within maxtime".into()),
            None,
        ))
    }

    pub(super) fn on_message(&mut self, m: ExternalMessage) -> Option<Step> {
        if matches!(self.wait, Wait::Finished) {
            return None;
        }
        if let Wait::Message { .. } = self.wait {
            self.js
                .set_last_message(&m.sourcetype, &m.contenttype, &m.content);
            self.send_waits = None;
            self.wait = Wait::Running;
            return Some(Step::Resume);
        }
        let (enable, queue) = {
            let p = self.props();
            (
                p.flag("com.genesyslab.externalevents.enable"),
                p.flag("com.genesyslab.externalevents.queue"),
            )
        };
        if enable && matches!(self.wait, Wait::Input) {
            self.js
                .set_last_message(&m.sourcetype, &m.contenttype, &m.content);
            self.listen = None;
            self.wait = Wait::Running;
            return Some(Step::Throw(Event::new(
                "externalmessage",
                Some(m.content),
                None,
            )));
        }
        if queue || enable {
            if self.messages.len() >= self.config.limits.max_queued_messages {
                self.messages.pop_front();
            }
            self.messages.push_back(m);
        } else {
            tracing::debug!("external message dropped: no <gvp:receive> waits and queueing is off");
        }
        None
    }
}
