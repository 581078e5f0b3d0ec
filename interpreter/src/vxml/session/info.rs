//! Connection facts given at session start and exposed to documents as
//! `session.connection.*` (VoiceXML 2.0 §5.1.4) and the GVP session
//! variables (`session.connection.protocol.sip.*`, `session.com.genesyslab.userdata`).

use std::collections::BTreeMap;

/// What the platform knows about the call when the session starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// `session.connection.local.uri` (the called party).
    pub local_uri: Option<String>,
    /// `session.connection.remote.uri` (the caller).
    pub remote_uri: Option<String>,
    /// `session.connection.originator`: `local` or `remote`.
    pub originator: Option<String>,
    /// `session.connection.protocol.name`, e.g. `sip`.
    pub protocol_name: Option<String>,
    /// `session.connection.protocol.version`, e.g. `2.0`.
    pub protocol_version: Option<String>,
    /// `session.connection.protocol.sip.headers`.
    pub sip_headers: BTreeMap<String, Vec<String>>,
    /// `session.connection.protocol.sip.requesturi` parameters.
    pub request_uri_params: BTreeMap<String, String>,
    /// `session.connection.redirect` entries.
    pub redirect: Vec<String>,
    /// `session.connection.aai`.
    pub aai: Option<String>,
    /// `session.connection.uuid`.
    pub uuid: Option<String>,
    /// `session.com.genesyslab.userdata`.
    pub userdata: BTreeMap<String, String>,
}
