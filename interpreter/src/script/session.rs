//! Session variables (VoiceXML 2.0 §5.1.4 and the GVP extensions):
//! `session.connection.*` and `session.com.genesyslab.userdata`, built from
//! what the platform learned from the call's INVITE, and
//! `session.connection.ccxml.*` for a dialog a CCXML session started (CCXML
//! 1.0 Appendix D, VoiceXML integration).
//!
//! The objects are frozen: a document can read them but not change them.

use std::collections::BTreeMap;

use boa_engine::object::IntegrityLevel;
use boa_engine::{JsObject, JsString, JsValue};

use super::{Scope, ScriptError, ScriptHost};

/// Which end of the connection placed the call (§5.1.4
/// `session.connection.originator`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Originator {
    /// The caller (an inbound call).
    #[default]
    Remote,
    /// The platform (an outbound call).
    Local,
}

/// One entry of `session.connection.redirect` (§5.1.4): a hop the call took
/// before reaching the platform (from SIP `Diversion`/`History-Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redirect {
    /// The URI the call was redirected from.
    pub uri: String,
    /// Presentation information.
    pub pi: Option<String>,
    /// Screening information.
    pub si: Option<String>,
    /// Why the call was redirected.
    pub reason: Option<String>,
}

/// What the platform knows about a call when its session starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SessionInfo {
    /// `session.connection.local.uri`: the URI the call was placed to.
    pub local_uri: String,
    /// `session.connection.remote.uri`: the caller's URI.
    pub remote_uri: String,
    /// `session.connection.originator`.
    pub originator: Originator,
    /// `session.connection.protocol.name` (`"sip"`).
    pub protocol_name: String,
    /// `session.connection.protocol.version` (`"2.0"`).
    pub protocol_version: String,
    /// `session.connection.protocol.sip.headers`: the INVITE's headers by
    /// name; a header seen once is a string, several times an array.
    pub sip_headers: BTreeMap<String, Vec<String>>,
    /// `session.connection.protocol.sip.requesturi`: the Request-URI's
    /// parameters by name.
    pub request_uri: BTreeMap<String, String>,
    /// `session.connection.redirect`, most recent hop first.
    pub redirect: Vec<Redirect>,
    /// `session.connection.aai`: application-to-application information.
    pub aai: Option<String>,
    /// `session.connection.uuid` (from `X-Genesys-CallUUID`).
    pub uuid: Option<String>,
    /// `session.com.genesyslab.userdata`: data attached to the call.
    pub userdata: BTreeMap<String, String>,
    /// `session.connection.ccxml`: present when a CCXML `<dialogstart>` started
    /// the session; `session.connection.ccxml` is undefined otherwise.
    pub ccxml: Option<CcxmlDialog>,
}

/// What a CCXML session tells the dialog it starts (CCXML 1.0 Appendix D:
/// `session.connection.ccxml.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CcxmlDialog {
    /// `.sessionid`: the CCXML session's id.
    pub sessionid: String,
    /// `.dialogid`: the dialog's id in that session.
    pub dialogid: String,
    /// `.connectionid`: the connection the dialog talks to, if any.
    pub connectionid: Option<String>,
    /// `.conferenceid`: the conference the dialog talks to, if any.
    pub conferenceid: Option<String>,
    /// `.values`: the variables the `<dialogstart>` passed, by name;
    /// `.namelist` is the array of their names.
    pub values: serde_json::Map<String, serde_json::Value>,
}

impl ScriptHost {
    /// Fills `session.connection` and `session.com.genesyslab.userdata` from
    /// `info`, replacing what an earlier call set.
    pub fn set_session(&mut self, info: &SessionInfo) -> Result<(), ScriptError> {
        let local = self.frozen(&[("uri", self.string(&info.local_uri))])?;
        let remote = self.frozen(&[("uri", self.string(&info.remote_uri))])?;
        let originator = match info.originator {
            Originator::Local => local.clone(),
            Originator::Remote => remote.clone(),
        };
        let mut headers = Vec::with_capacity(info.sip_headers.len());
        for (name, values) in &info.sip_headers {
            let value = match values.as_slice() {
                [single] => self.string(single),
                many => {
                    let items: Vec<JsValue> = many.iter().map(|v| self.string(v)).collect();
                    let array = self.new_array(items);
                    self.freeze(&array)?;
                    array.into()
                }
            };
            headers.push((name.as_str(), value));
        }
        let headers = self.frozen(&headers)?;
        let params: Vec<(&str, JsValue)> = info
            .request_uri
            .iter()
            .map(|(k, v)| (k.as_str(), self.string(v)))
            .collect();
        let request_uri = self.frozen(&params)?;
        let sip = self.frozen(&[
            ("headers", headers.into()),
            ("requesturi", request_uri.into()),
        ])?;
        let protocol = self.frozen(&[
            ("name", self.string(&info.protocol_name)),
            ("version", self.string(&info.protocol_version)),
            ("sip", sip.into()),
        ])?;
        let mut redirects = Vec::with_capacity(info.redirect.len());
        for r in &info.redirect {
            let opt = |host: &Self, v: &Option<String>| {
                v.as_deref()
                    .map_or(JsValue::undefined(), |s| host.string(s))
            };
            let entry = self.frozen(&[
                ("uri", self.string(&r.uri)),
                ("pi", opt(self, &r.pi)),
                ("si", opt(self, &r.si)),
                ("reason", opt(self, &r.reason)),
            ])?;
            redirects.push(entry.into());
        }
        let redirect = self.new_array(redirects);
        self.freeze(&redirect)?;
        let optional = |host: &Self, v: &Option<String>| {
            v.as_deref()
                .map_or(JsValue::undefined(), |s| host.string(s))
        };
        let ccxml = match &info.ccxml {
            Some(c) => self.ccxml_dialog(c)?.into(),
            None => JsValue::undefined(),
        };
        let connection = self.frozen(&[
            ("local", local.into()),
            ("remote", remote.into()),
            ("originator", originator.into()),
            ("protocol", protocol.into()),
            ("redirect", redirect.into()),
            ("aai", optional(self, &info.aai)),
            ("uuid", optional(self, &info.uuid)),
            ("ccxml", ccxml),
        ])?;
        let userdata: Vec<(&str, JsValue)> = info
            .userdata
            .iter()
            .map(|(k, v)| (k.as_str(), self.string(v)))
            .collect();
        let userdata = self.frozen(&userdata)?;
        let genesyslab = self.frozen(&[("userdata", userdata.into())])?;
        let com = self.frozen(&[("genesyslab", genesyslab.into())])?;
        let session = self.active(Scope::Session)?.clone();
        for (name, value) in [("connection", connection), ("com", com)] {
            session
                .create_data_property_or_throw(JsString::from(name), value, &mut self.context)
                .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        }
        Ok(())
    }

    /// `session.connection.ccxml`: ids as strings (undefined when absent),
    /// `values` as a frozen object of the passed variables and `namelist` as
    /// the array of their names.
    fn ccxml_dialog(&mut self, c: &CcxmlDialog) -> Result<JsObject, ScriptError> {
        let mut values = Vec::with_capacity(c.values.len());
        for (name, value) in &c.values {
            values.push((name.as_str(), self.from_json(value)));
        }
        let values = self.frozen(&values)?;
        let names: Vec<JsValue> = c.values.keys().map(|n| self.string(n)).collect();
        let namelist = self.new_array(names);
        self.freeze(&namelist)?;
        let optional = |host: &Self, v: &Option<String>| {
            v.as_deref()
                .map_or(JsValue::undefined(), |s| host.string(s))
        };
        self.frozen(&[
            ("sessionid", self.string(&c.sessionid)),
            ("dialogid", self.string(&c.dialogid)),
            ("connectionid", optional(self, &c.connectionid)),
            ("conferenceid", optional(self, &c.conferenceid)),
            ("values", values.into()),
            ("namelist", namelist.into()),
        ])
    }

    fn frozen(&mut self, props: &[(&str, JsValue)]) -> Result<JsObject, ScriptError> {
        let object = self.new_object(props);
        self.freeze(&object)?;
        Ok(object)
    }

    fn freeze(&mut self, object: &JsObject) -> Result<(), ScriptError> {
        object
            .set_integrity_level(IntegrityLevel::Frozen, &mut self.context)
            .map_err(|e| ScriptError::from_js(&e, &mut self.context))?;
        Ok(())
    }
}
