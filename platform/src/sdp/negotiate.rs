//! Offer/answer for one audio stream (RFC 3264 §5, §6, §8).
//!
//! We speak G.711 (PCMU, PCMA) and RFC 4733 telephone-event. An answer keeps
//! the offerer's m-line order, accepts the first usable audio stream with the
//! first G.711 codec in the *offer's* preference order (so an offer listing
//! opus and speex first still gets G.711), echoes the offer's
//! telephone-event payload type and `ptime`, answers the direction per
//! RFC 3264 §6.1 and rejects every other stream with port 0. The `o=`
//! version only changes when the description we send changes (§8).

use std::net::{IpAddr, SocketAddr};

use super::types::{Attribute, Connection, MediaDescription, Origin, SessionDescription};

/// An audio codec the platform can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The RFC 3551 static payload type.
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The `a=rtpmap` encoding name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The codec a payload type of `m` stands for, from its `a=rtpmap` or,
    /// without one, the static assignment.
    fn of_payload(m: &MediaDescription, pt: u8) -> Option<Codec> {
        match m.rtpmap(pt) {
            Some(map) if map.clock_rate == 8000 && map.channels.unwrap_or(1) == 1 => {
                [Codec::Pcmu, Codec::Pcma]
                    .into_iter()
                    .find(|c| map.encoding.eq_ignore_ascii_case(c.encoding_name()))
            }
            Some(_) => None,
            None => match pt {
                0 => Some(Codec::Pcmu),
                8 => Some(Codec::Pcma),
                _ => None,
            },
        }
    }
}

/// Media direction attribute (RFC 3264 §5.1), from the point of view of the
/// side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive.
    #[default]
    SendRecv,
    /// Send only (the other side is on hold).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other side.
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both `self` and `other` allow.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name.
    pub fn attribute_name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction written for `m` (media level first, then session
    /// level, `sendrecv` by default).
    pub fn of_media(sd: &SessionDescription, m: &MediaDescription) -> Self {
        let find = |attrs: &[Attribute]| {
            attrs.iter().rev().find_map(|a| {
                [
                    Direction::SendRecv,
                    Direction::SendOnly,
                    Direction::RecvOnly,
                    Direction::Inactive,
                ]
                .into_iter()
                .find(|d| a.value.is_none() && a.name.eq_ignore_ascii_case(d.attribute_name()))
            })
        };
        find(&m.attributes)
            .or_else(|| find(&sd.attributes))
            .unwrap_or_default()
    }
}

/// What we are willing to negotiate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Codecs in our preference order (used for our offers; answers follow
    /// the offer's order).
    pub codecs: Vec<Codec>,
    /// Payload type for telephone-event in our offers; `None` disables
    /// RFC 4733 DTMF.
    pub telephone_event: Option<u8>,
    /// Packet time we offer, and use when the offer names none (ms).
    pub ptime: u32,
    /// The direction we want (`SendOnly` to put the other side on hold).
    pub direction: Direction,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: Some(101),
            ptime: 20,
            direction: Direction::SendRecv,
        }
    }
}

/// Where we receive RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address written in `c=` and `o=`.
    pub address: IpAddr,
    /// RTP port (RTCP is on the next port).
    pub rtp_port: u16,
}

/// The outcome of a negotiation: how to run the RTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type in this session.
    pub payload_type: u8,
    /// The telephone-event payload type, when both sides support it.
    pub telephone_event: Option<u8>,
    /// Packet time in milliseconds.
    pub ptime: u32,
    /// Our direction: whether we send and whether we receive.
    pub direction: Direction,
    /// Where to send RTP; `None` when the peer gave `c=0.0.0.0` (hold).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (`a=rtcp` or RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
}

impl NegotiatedMedia {
    /// Samples per packet at 8 kHz.
    pub fn samples_per_packet(&self) -> u32 {
        self.ptime * 8
    }

    /// The peer does not want our media (it put the call on hold).
    pub fn is_held(&self) -> bool {
        !self.direction.sends() || self.remote_rtp.is_none()
    }
}

/// Why negotiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No audio stream with a codec we speak: answer the INVITE with 488.
    #[error("no common codec: the offer has no RTP/AVP audio stream with PCMU or PCMA")]
    NoCommonCodec,
    /// The accepted stream has no usable `c=` address.
    #[error("the audio stream has no IP connection address")]
    NoConnectionAddress,
    /// An answer arrived with no offer of ours outstanding.
    #[error("an SDP answer arrived but no offer is outstanding")]
    NoOfferOutstanding,
    /// The answer's m-lines do not match our offer's (RFC 3264 §6).
    #[error("the SDP answer has {found} m-lines where the offer had {expected}")]
    AnswerMismatch {
        /// m-lines in our offer.
        expected: usize,
        /// m-lines in the answer.
        found: usize,
    },
}

/// Ptime values accepted from the peer; others fall back to ours.
const PTIME_RANGE: std::ops::RangeInclusive<u32> = 10..=120;

/// One side of a call's offer/answer exchange.
#[derive(Debug, Clone)]
pub struct OfferAnswer {
    local: LocalMedia,
    caps: Capabilities,
    session_id: u64,
    version: u64,
    /// The last description we sent, printed with version 0, to decide
    /// whether the next one is a change.
    last_sent: Option<String>,
    outstanding_offer: Option<SessionDescription>,
}

impl OfferAnswer {
    /// A negotiation for a call; `session_id` goes into `o=` (any number
    /// unique enough, e.g. random or the NTP time).
    pub fn new(local: LocalMedia, caps: Capabilities, session_id: u64) -> Self {
        OfferAnswer {
            local,
            caps,
            session_id,
            version: session_id,
            last_sent: None,
            outstanding_offer: None,
        }
    }

    /// Changes the direction we want (hold: `SendOnly`; resume:
    /// `SendRecv`); takes effect in the next offer or answer.
    pub fn set_direction(&mut self, direction: Direction) {
        self.caps.direction = direction;
    }

    /// Changes where we receive (takes effect in the next offer or answer).
    pub fn set_local(&mut self, local: LocalMedia) {
        self.local = local;
    }

    /// The `o=` version last sent.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Answers an offer (initial INVITE, re-INVITE or UPDATE).
    pub fn handle_offer(
        &mut self,
        offer: &SessionDescription,
    ) -> Result<(SessionDescription, NegotiatedMedia), NegotiationError> {
        let mut chosen: Option<(usize, NegotiatedMedia, MediaDescription)> = None;
        let mut media = Vec::with_capacity(offer.media.len());
        for (i, m) in offer.media.iter().enumerate() {
            if chosen.is_none()
                && let Some(accepted) = self.accept_stream(offer, m)?
            {
                media.push(accepted.1.clone());
                chosen = Some((i, accepted.0, accepted.1));
                continue;
            }
            media.push(rejected(m));
        }
        let (_, negotiated, _) = chosen.ok_or(NegotiationError::NoCommonCodec)?;
        let answer = self.stamp(media);
        Ok((answer, negotiated))
    }

    fn accept_stream(
        &self,
        offer: &SessionDescription,
        m: &MediaDescription,
    ) -> Result<Option<(NegotiatedMedia, MediaDescription)>, NegotiationError> {
        let rtp_avp =
            m.proto.eq_ignore_ascii_case("RTP/AVP") || m.proto.eq_ignore_ascii_case("RTP/AVPF");
        if !m.media.eq_ignore_ascii_case("audio") || m.port == 0 || !rtp_avp {
            return Ok(None);
        }
        let Some((codec, pt)) = m.payload_types().find_map(|pt| {
            Codec::of_payload(m, pt)
                .filter(|c| self.caps.codecs.contains(c))
                .map(|c| (c, pt))
        }) else {
            return Ok(None);
        };
        let conn = offer
            .connection_for(m)
            .ok_or(NegotiationError::NoConnectionAddress)?;
        let ip = conn.ip().ok_or(NegotiationError::NoConnectionAddress)?;
        let te = self
            .caps
            .telephone_event
            .and_then(|_| telephone_event_of(m));
        let ptime = m
            .ptime()
            .filter(|p| PTIME_RANGE.contains(p))
            .unwrap_or(self.caps.ptime);
        let ptime = match m.maxptime() {
            Some(max) if max >= 10 && ptime > max => max - max % 10,
            _ => ptime,
        };
        let mut offered = Direction::of_media(offer, m);
        if ip.is_unspecified() {
            // RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 way of saying
            // "do not send to me".
            offered = offered.intersect(Direction::SendOnly);
        }
        let ours = offered.reversed().intersect(self.caps.direction);
        let remote = (!ip.is_unspecified()).then(|| SocketAddr::new(ip, m.port));
        let rtcp_port = m.rtcp_port().unwrap_or(m.port.wrapping_add(1));
        let negotiated = NegotiatedMedia {
            codec,
            payload_type: pt,
            telephone_event: te,
            ptime,
            direction: ours,
            remote_rtp: remote,
            remote_rtcp: remote.map(|r| SocketAddr::new(r.ip(), rtcp_port)),
        };
        let mut answer = MediaDescription {
            media: m.media.clone(),
            port: self.local.rtp_port,
            port_count: None,
            proto: m.proto.clone(),
            formats: vec![pt.to_string()],
            connection: None,
            attributes: vec![Attribute::new(
                "rtpmap",
                format!("{pt} {}/8000", codec.encoding_name()),
            )],
            other: Vec::new(),
        };
        if let Some(te) = te {
            answer.formats.push(te.to_string());
            answer.attributes.push(Attribute::new(
                "rtpmap",
                format!("{te} telephone-event/8000"),
            ));
            let events = m.fmtp(te).filter(|f| !f.is_empty()).unwrap_or("0-15");
            answer
                .attributes
                .push(Attribute::new("fmtp", format!("{te} {events}")));
        }
        answer
            .attributes
            .push(Attribute::new("ptime", ptime.to_string()));
        answer
            .attributes
            .push(Attribute::flag(ours.attribute_name()));
        Ok(Some((negotiated, answer)))
    }

    /// Builds an offer (outbound leg, or a re-INVITE for hold/resume).
    pub fn create_offer(&mut self) -> SessionDescription {
        let mut m = MediaDescription {
            media: "audio".into(),
            port: self.local.rtp_port,
            port_count: None,
            proto: "RTP/AVP".into(),
            formats: Vec::new(),
            connection: None,
            attributes: Vec::new(),
            other: Vec::new(),
        };
        for c in &self.caps.codecs {
            let pt = c.static_payload_type();
            m.formats.push(pt.to_string());
            m.attributes.push(Attribute::new(
                "rtpmap",
                format!("{pt} {}/8000", c.encoding_name()),
            ));
        }
        if let Some(te) = self.caps.telephone_event {
            m.formats.push(te.to_string());
            m.attributes.push(Attribute::new(
                "rtpmap",
                format!("{te} telephone-event/8000"),
            ));
            m.attributes
                .push(Attribute::new("fmtp", format!("{te} 0-16")));
        }
        m.attributes
            .push(Attribute::new("ptime", self.caps.ptime.to_string()));
        m.attributes
            .push(Attribute::flag(self.caps.direction.attribute_name()));
        let offer = self.stamp(vec![m]);
        self.outstanding_offer = Some(offer.clone());
        offer
    }

    /// Accepts the answer to our last offer.
    pub fn handle_answer(
        &mut self,
        answer: &SessionDescription,
    ) -> Result<NegotiatedMedia, NegotiationError> {
        let offer = self
            .outstanding_offer
            .take()
            .ok_or(NegotiationError::NoOfferOutstanding)?;
        if answer.media.len() != offer.media.len() {
            return Err(NegotiationError::AnswerMismatch {
                expected: offer.media.len(),
                found: answer.media.len(),
            });
        }
        let m = answer
            .media
            .first()
            .filter(|m| m.port != 0)
            .ok_or(NegotiationError::NoCommonCodec)?;
        let (codec, pt) = m
            .payload_types()
            .find_map(|pt| {
                Codec::of_payload(m, pt)
                    .filter(|c| self.caps.codecs.contains(c))
                    .map(|c| (c, pt))
            })
            .ok_or(NegotiationError::NoCommonCodec)?;
        let ip = answer
            .connection_for(m)
            .and_then(Connection::ip)
            .ok_or(NegotiationError::NoConnectionAddress)?;
        let te = self
            .caps
            .telephone_event
            .and_then(|_| telephone_event_of(m));
        let ptime = m
            .ptime()
            .filter(|p| PTIME_RANGE.contains(p))
            .unwrap_or(self.caps.ptime);
        let mut theirs = Direction::of_media(answer, m);
        if ip.is_unspecified() {
            theirs = theirs.intersect(Direction::SendOnly);
        }
        let remote = (!ip.is_unspecified()).then(|| SocketAddr::new(ip, m.port));
        let rtcp_port = m.rtcp_port().unwrap_or(m.port.wrapping_add(1));
        Ok(NegotiatedMedia {
            codec,
            payload_type: pt,
            telephone_event: te,
            ptime,
            direction: theirs.reversed().intersect(self.caps.direction),
            remote_rtp: remote,
            remote_rtcp: remote.map(|r| SocketAddr::new(r.ip(), rtcp_port)),
        })
    }

    /// Wraps media sections into a description with our `o=`, bumping the
    /// version only when the content differs from the last one sent.
    fn stamp(&mut self, media: Vec<MediaDescription>) -> SessionDescription {
        let mut sd = SessionDescription {
            origin: Origin {
                username: "vxp".into(),
                session_id: self.session_id,
                session_version: 0,
                net_type: "IN".into(),
                addr_type: if self.local.address.is_ipv4() {
                    "IP4"
                } else {
                    "IP6"
                }
                .into(),
                address: self.local.address.to_string(),
            },
            session_name: "vxp".into(),
            connection: Some(Connection::for_ip(self.local.address)),
            timing: vec![(0, 0)],
            attributes: Vec::new(),
            other: Vec::new(),
            media,
        };
        let printed = sd.to_string();
        match &self.last_sent {
            Some(last) if *last == printed => {}
            Some(_) => self.version = self.version.wrapping_add(1),
            None => {}
        }
        self.last_sent = Some(printed);
        sd.origin.session_version = self.version;
        sd
    }
}

fn telephone_event_of(m: &MediaDescription) -> Option<u8> {
    m.payload_types().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
        })
    })
}

/// RFC 3264 §6: a rejected stream keeps its m-line with port 0.
fn rejected(m: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: m.media.clone(),
        port: 0,
        port_count: None,
        proto: m.proto.clone(),
        formats: if m.formats.is_empty() {
            vec!["0".into()]
        } else {
            m.formats.clone()
        },
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oa() -> OfferAnswer {
        OfferAnswer::new(
            LocalMedia {
                address: "127.0.0.1".parse().unwrap(),
                rtp_port: 20000,
            },
            Capabilities::default(),
            4242,
        )
    }

    fn offer(media: &str) -> SessionDescription {
        SessionDescription::parse(&format!(
            "v=0\r\no=peer 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}"
        ))
        .unwrap()
    }

    #[test]
    fn answers_baresip_style_offer() {
        let o = offer(
            "m=audio 10000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n",
        );
        let (answer, n) = oa().handle_offer(&o).unwrap();
        assert_eq!(n.codec, Codec::Pcmu);
        assert_eq!(n.payload_type, 0);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.ptime, 20);
        assert_eq!(n.direction, Direction::SendRecv);
        assert_eq!(n.remote_rtp, Some("192.0.2.1:10000".parse().unwrap()));
        assert_eq!(n.remote_rtcp, Some("192.0.2.1:10001".parse().unwrap()));
        assert_eq!(
            answer.to_string(),
            "v=0\r\no=vxp 4242 4242 IN IP4 127.0.0.1\r\ns=vxp\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
        );
    }

    #[test]
    fn prefers_g711_over_opus_and_echoes_dtmf_pt_and_ptime() {
        let o = offer(
            "m=audio 7078 RTP/AVP 96 97 8 0 96\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 speex/8000\r\na=rtpmap:98 telephone-event/8000\r\nm=audio 7080 RTP/AVP 98\r\n",
        );
        let (answer, n) = oa().handle_offer(&o).unwrap();
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(n.telephone_event, None);
        assert_eq!(answer.media.len(), 2);
        assert_eq!(answer.media[1].port, 0);

        let o = offer(
            "m=audio 7078 RTP/AVP 96 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=ptime:30\r\n",
        );
        let (answer, n) = oa().handle_offer(&o).unwrap();
        assert_eq!((n.telephone_event, n.ptime), (Some(96), 30));
        assert_eq!(answer.media[0].formats, vec!["0", "96"]);
        assert_eq!(answer.media[0].ptime(), Some(30));
    }

    #[test]
    fn dynamic_payload_type_for_pcmu_is_used() {
        let o = offer("m=audio 7078 RTP/AVP 112\r\na=rtpmap:112 pcmu/8000\r\n");
        let (_, n) = oa().handle_offer(&o).unwrap();
        assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 112));
    }

    #[test]
    fn our_codec_list_restricts_the_choice() {
        let mut alaw_only = OfferAnswer::new(
            LocalMedia {
                address: "::1".parse().unwrap(),
                rtp_port: 20000,
            },
            Capabilities {
                codecs: vec![Codec::Pcma],
                telephone_event: None,
                ..Capabilities::default()
            },
            1,
        );
        let o = offer("m=audio 7078 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n");
        let (answer, n) = alaw_only.handle_offer(&o).unwrap();
        assert_eq!((n.codec, n.telephone_event), (Codec::Pcma, None));
        assert_eq!(answer.media[0].formats, vec!["8"]);
        assert_eq!(answer.origin.addr_type, "IP6");
        assert_eq!(
            answer.connection.as_ref().unwrap().to_string(),
            "IN IP6 ::1"
        );
    }

    #[test]
    fn maxptime_caps_the_packet_time() {
        let o = offer("m=audio 7078 RTP/AVP 0\r\na=ptime:60\r\na=maxptime:40\r\n");
        assert_eq!(oa().handle_offer(&o).unwrap().1.ptime, 40);
        let o = offer("m=audio 7078 RTP/AVP 0\r\na=ptime:1000\r\n");
        assert_eq!(oa().handle_offer(&o).unwrap().1.ptime, 20);
    }

    #[test]
    fn no_common_codec() {
        let o = offer(
            "m=audio 7078 RTP/AVP 96 9\r\na=rtpmap:96 opus/48000/2\r\nm=video 9 RTP/AVP 31\r\n",
        );
        assert_eq!(
            oa().handle_offer(&o).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
        let srtp = offer("m=audio 7078 RTP/SAVP 0\r\n");
        assert_eq!(
            oa().handle_offer(&srtp).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
        let disabled = offer("m=audio 0 RTP/AVP 0\r\n");
        assert_eq!(
            oa().handle_offer(&disabled).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
    }

    #[test]
    fn rejects_video_with_port_zero_keeping_order() {
        let o = offer("m=video 9000 RTP/AVP 31\r\nm=audio 7078 RTP/AVP 0\r\n");
        let (answer, _) = oa().handle_offer(&o).unwrap();
        assert_eq!(answer.media[0].media, "video");
        assert_eq!(answer.media[0].port, 0);
        assert_eq!(answer.media[0].formats, vec!["31"]);
        assert_eq!(answer.media[1].port, 20000);
    }

    #[test]
    fn directions_are_answered_per_rfc3264() {
        for (offered, answered) in [
            ("sendrecv", Direction::SendRecv),
            ("sendonly", Direction::RecvOnly),
            ("recvonly", Direction::SendOnly),
            ("inactive", Direction::Inactive),
        ] {
            let o = offer(&format!("m=audio 7078 RTP/AVP 0\r\na={offered}\r\n"));
            let (answer, n) = oa().handle_offer(&o).unwrap();
            assert_eq!(n.direction, answered, "{offered}");
            assert!(answer.media[0].has_attribute(answered.attribute_name()));
        }
        // Session-level direction applies when the m-line has none.
        let o = SessionDescription::parse(
            "v=0\r\no=p 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendonly\r\nm=audio 7078 RTP/AVP 0\r\n",
        )
        .unwrap();
        assert_eq!(
            oa().handle_offer(&o).unwrap().1.direction,
            Direction::RecvOnly
        );
    }

    #[test]
    fn old_style_hold_and_resume_keep_version_rule() {
        let mut oa = oa();
        let initial = offer("m=audio 7078 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n");
        let (a1, n1) = oa.handle_offer(&initial).unwrap();
        assert!(!n1.is_held());
        // The same offer again (session refresh): identical answer, same version.
        let (a2, _) = oa.handle_offer(&initial).unwrap();
        assert_eq!(a1, a2);
        // Hold with c=0.0.0.0: we stop sending, the version moves.
        let hold = SessionDescription::parse(
            "v=0\r\no=peer 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        )
        .unwrap();
        let (a3, n3) = oa.handle_offer(&hold).unwrap();
        assert!(n3.is_held());
        assert_eq!(n3.remote_rtp, None);
        assert_eq!(n3.direction, Direction::RecvOnly);
        assert_eq!(a3.origin.session_version, a1.origin.session_version + 1);
        let (a4, n4) = oa.handle_offer(&initial).unwrap();
        assert!(!n4.is_held());
        assert_eq!(a4.origin.session_version, a1.origin.session_version + 2);
        assert_eq!(a4.origin.session_id, a1.origin.session_id);
    }

    #[test]
    fn offer_and_answer_for_outbound_leg() {
        let mut oa = oa();
        let o = oa.create_offer();
        assert_eq!(
            o.to_string(),
            "v=0\r\no=vxp 4242 4242 IN IP4 127.0.0.1\r\ns=vxp\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        // The peer's side of the same exchange, through its own OfferAnswer.
        let mut peer = OfferAnswer::new(
            LocalMedia {
                address: "192.0.2.7".parse().unwrap(),
                rtp_port: 30000,
            },
            Capabilities {
                codecs: vec![Codec::Pcma],
                ..Capabilities::default()
            },
            1,
        );
        let (answer, theirs) = peer.handle_offer(&o).unwrap();
        assert_eq!(theirs.codec, Codec::Pcma);
        let ours = oa.handle_answer(&answer).unwrap();
        assert_eq!(ours.codec, Codec::Pcma);
        assert_eq!(ours.payload_type, 8);
        assert_eq!(ours.telephone_event, Some(101));
        assert_eq!(ours.remote_rtp, Some("192.0.2.7:30000".parse().unwrap()));
        assert_eq!(
            oa.handle_answer(&answer).unwrap_err(),
            NegotiationError::NoOfferOutstanding
        );
    }

    #[test]
    fn we_put_the_peer_on_hold() {
        let mut oa = oa();
        let first = oa.create_offer();
        oa.set_direction(Direction::SendOnly);
        let hold = oa.create_offer();
        assert!(hold.media[0].has_attribute("sendonly"));
        assert_eq!(
            hold.origin.session_version,
            first.origin.session_version + 1
        );
        let answer = offer("m=audio 7078 RTP/AVP 0\r\na=recvonly\r\n");
        let n = oa.handle_answer(&answer).unwrap();
        assert_eq!(n.direction, Direction::SendOnly);
    }

    #[test]
    fn answer_with_wrong_mline_count_or_rejected_stream() {
        let mut oa = oa();
        oa.create_offer();
        let two = offer("m=audio 7078 RTP/AVP 0\r\nm=audio 7080 RTP/AVP 0\r\n");
        assert!(matches!(
            oa.handle_answer(&two),
            Err(NegotiationError::AnswerMismatch { .. })
        ));
        oa.create_offer();
        let rejected = offer("m=audio 0 RTP/AVP 0\r\n");
        assert_eq!(
            oa.handle_answer(&rejected).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
    }
}
