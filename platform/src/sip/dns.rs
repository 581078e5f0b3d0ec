//! Where to send an outbound request for a SIP URI (RFC 3263 §4, "Client
//! Usage", as a user agent needs it), over DNS with `hickory-resolver`.
//!
//! - A numeric host (IPv4, `[IPv6]`) is used as is: its port or 5060, the
//!   `transport` parameter or UDP.
//! - A host name with an explicit port: its A/AAAA records (§4.2), with the
//!   `transport` parameter or UDP.
//! - A host name without a port: SRV records (RFC 2782) for the transport
//!   the `transport` parameter names, or `_sip._udp` then `_sip._tcp` when it
//!   names none (NAPTR is not consulted: every peer this platform calls
//!   offers SRV or plain A records). Targets are taken in priority order,
//!   higher weight first within a priority (a deterministic stand-in for the
//!   weighted random choice); each target's A/AAAA records give the
//!   addresses. No SRV record: the host's A/AAAA records on port 5060.
//!
//! This is the only part of the SIP stack that does I/O besides
//! [`super::transport`]; the user-agent core takes the resolved address
//! ([`super::ua::UserAgent::invite_at`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};

use super::transaction::Transport;
use super::uri::Uri;

/// One place to send the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Address and port.
    pub addr: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
}

/// Why a URI could not be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    /// The name does not exist, or has no SRV, A or AAAA record.
    #[error("{host}: no such host")]
    NotFound {
        /// The host name looked up.
        host: String,
    },
    /// The name servers gave no usable answer (time-out, refusal, network).
    #[error("{host}: DNS lookup failed: {message}")]
    Lookup {
        /// The host name looked up.
        host: String,
        /// The resolver's explanation.
        message: String,
    },
    /// The URI names no host (a `tel:` URI).
    #[error("{0}: no host to send to")]
    NoHost(String),
    /// The system's resolver configuration could not be read.
    #[error("cannot read the system's DNS configuration: {0}")]
    SystemConfig(String),
}

/// Resolves SIP URIs to targets; cheap to clone (one shared resolver and
/// its cache).
#[derive(Clone)]
pub struct SipLocator {
    resolver: Arc<TokioResolver>,
}

impl std::fmt::Debug for SipLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipLocator").finish_non_exhaustive()
    }
}

impl SipLocator {
    /// A locator asking `nameservers` (over UDP, then TCP for truncated
    /// answers), or the system's (`/etc/resolv.conf`) when the list is empty.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Self, LocateError> {
        let mut builder = if nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| LocateError::SystemConfig(e.to_string()))?
        } else {
            let group: Vec<NameServerConfig> = nameservers
                .iter()
                .flat_map(|&addr| {
                    [
                        NameServerConfig::new(addr, Protocol::Udp),
                        NameServerConfig::new(addr, Protocol::Tcp),
                    ]
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::from(group)),
                TokioConnectionProvider::default(),
            )
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 1;
        Ok(Self {
            resolver: Arc::new(builder.build()),
        })
    }

    /// The targets for `uri`, best first (never empty on success).
    pub async fn locate(&self, uri: &Uri) -> Result<Vec<Target>, LocateError> {
        let host = uri.host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(LocateError::NoHost(uri.to_string()));
        }
        if let Some(target) = numeric_target(uri) {
            return Ok(vec![target]);
        }
        let named = named_transport(uri);
        if let Some(port) = uri.port {
            return self
                .addresses(host, port, named.unwrap_or(Transport::Udp))
                .await;
        }
        let candidates = match named {
            Some(t) => vec![t],
            None => vec![Transport::Udp, Transport::Tcp],
        };
        for transport in candidates {
            let service = match transport {
                Transport::Tcp => format!("_sip._tcp.{host}."),
                Transport::Udp => format!("_sip._udp.{host}."),
            };
            let records = match self.resolver.srv_lookup(service.as_str()).await {
                Ok(found) => found
                    .iter()
                    .map(|srv| SrvRecord {
                        priority: srv.priority(),
                        weight: srv.weight(),
                        port: srv.port(),
                        target: srv.target().to_ascii(),
                    })
                    .collect::<Vec<_>>(),
                Err(e) if is_absent(&e) => Vec::new(),
                Err(e) => return Err(lookup_failed(host, &e)),
            };
            let mut targets = Vec::new();
            for record in order_srv(records) {
                // A target that does not resolve is skipped (§4.4: try the next).
                if let Ok(found) = self.addresses(&record.target, record.port, transport).await {
                    targets.extend(found);
                }
            }
            if !targets.is_empty() {
                return Ok(targets);
            }
        }
        self.addresses(host, 5060, named.unwrap_or(Transport::Udp))
            .await
    }

    async fn addresses(
        &self,
        host: &str,
        port: u16,
        transport: Transport,
    ) -> Result<Vec<Target>, LocateError> {
        // A trailing dot: the name is absolute, never completed with a search domain.
        let name = if host.ends_with('.') {
            host.to_owned()
        } else {
            format!("{host}.")
        };
        match self.resolver.lookup_ip(name.as_str()).await {
            Ok(found) => {
                let targets: Vec<Target> = found
                    .iter()
                    .map(|ip| Target {
                        addr: SocketAddr::new(ip, port),
                        transport,
                    })
                    .collect();
                if targets.is_empty() {
                    Err(LocateError::NotFound {
                        host: host.to_owned(),
                    })
                } else {
                    Ok(targets)
                }
            }
            Err(e) if is_absent(&e) => Err(LocateError::NotFound {
                host: host.to_owned(),
            }),
            Err(e) => Err(lookup_failed(host, &e)),
        }
    }
}

/// The target of a URI whose host is an IP address (no lookup needed).
pub fn numeric_target(uri: &Uri) -> Option<Target> {
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok()?;
    Some(Target {
        addr: SocketAddr::new(ip, uri.port.unwrap_or(5060)),
        transport: named_transport(uri).unwrap_or(Transport::Udp),
    })
}

/// The transport the URI's `transport` parameter asks for.
fn named_transport(uri: &Uri) -> Option<Transport> {
    match uri.transport_param().as_deref() {
        Some("tcp") => Some(Transport::Tcp),
        Some("udp") => Some(Transport::Udp),
        _ => None,
    }
}

/// NXDOMAIN or an empty answer: the name has no such record.
fn is_absent(e: &ResolveError) -> bool {
    e.is_nx_domain() || e.is_no_records_found()
}

fn lookup_failed(host: &str, e: &ResolveError) -> LocateError {
    LocateError::Lookup {
        host: host.to_owned(),
        message: e.to_string(),
    }
}

/// An SRV record's fields (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SrvRecord {
    priority: u16,
    weight: u16,
    port: u16,
    target: String,
}

/// Lowest priority first, higher weight first within one; the `.` target
/// (RFC 2782: the service is not offered) is dropped.
fn order_srv(mut records: Vec<SrvRecord>) -> Vec<SrvRecord> {
    records.retain(|r| r.target != "." && !r.target.is_empty());
    records.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.weight.cmp(&a.weight))
            .then(a.target.cmp(&b.target))
    });
    records
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, SRV};
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
    use tokio::net::UdpSocket;

    use super::*;

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn srv_order_is_priority_then_weight_and_dot_means_none() {
        let ordered = order_srv(vec![
            srv(20, 0, 5060, "c.example."),
            srv(10, 10, 5062, "b.example."),
            srv(10, 60, 5061, "a.example."),
            srv(0, 0, 0, "."),
        ]);
        let names: Vec<&str> = ordered.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(names, ["a.example.", "b.example.", "c.example."]);
    }

    /// A DNS server on loopback answering from a fixed table: name and type
    /// → records; other names get NXDOMAIN.
    async fn dns_server(table: HashMap<(String, RecordType), Vec<RData>>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut reply = Message::new();
                reply
                    .set_id(query.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(query.op_code())
                    .set_recursion_desired(query.recursion_desired())
                    .set_recursion_available(true);
                let mut found = false;
                for q in query.queries() {
                    reply.add_query(q.clone());
                    let key = (q.name().to_ascii().to_ascii_lowercase(), q.query_type());
                    if let Some(rdatas) = table.get(&key) {
                        found = true;
                        for r in rdatas {
                            reply.add_answer(Record::from_rdata(q.name().clone(), 60, r.clone()));
                        }
                    } else if table.keys().any(|(n, _)| *n == key.0) {
                        // The name exists without records of this type.
                        found = true;
                    }
                }
                if !found {
                    reply.set_response_code(ResponseCode::NXDomain);
                }
                let Ok(bytes) = reply.to_vec() else { continue };
                let _ = socket.send_to(&bytes, from).await;
            }
        });
        addr
    }

    fn a(ip: [u8; 4]) -> RData {
        RData::A(A(Ipv4Addr::from(ip)))
    }

    fn srv_rdata(priority: u16, weight: u16, port: u16, target: &str) -> RData {
        RData::SRV(SRV::new(
            priority,
            weight,
            port,
            Name::from_ascii(target).expect("name"),
        ))
    }

    #[tokio::test]
    async fn srv_then_a_records_numeric_hosts_and_missing_names() {
        let table = HashMap::from([
            (
                ("_sip._udp.agents.example.".into(), RecordType::SRV),
                vec![
                    srv_rdata(20, 0, 5090, "backup.agents.example."),
                    srv_rdata(10, 0, 5080, "primary.agents.example."),
                ],
            ),
            (
                ("primary.agents.example.".into(), RecordType::A),
                vec![a([127, 0, 0, 11])],
            ),
            (
                ("backup.agents.example.".into(), RecordType::A),
                vec![a([127, 0, 0, 12])],
            ),
            (
                ("_sip._tcp.tcp-only.example.".into(), RecordType::SRV),
                vec![srv_rdata(0, 0, 5070, "pbx.tcp-only.example.")],
            ),
            (
                ("pbx.tcp-only.example.".into(), RecordType::A),
                vec![a([127, 0, 0, 13])],
            ),
            (
                ("plain.example.".into(), RecordType::A),
                vec![a([127, 0, 0, 14])],
            ),
        ]);
        let server = dns_server(table).await;
        let locator = SipLocator::new(&[server], Duration::from_secs(2)).expect("resolver");
        let locate = |s: &str| {
            let uri = Uri::parse(s).expect("uri");
            let locator = locator.clone();
            async move { locator.locate(&uri).await }
        };
        let udp = |s: &str| Target {
            addr: s.parse().expect("addr"),
            transport: Transport::Udp,
        };
        assert_eq!(
            locate("sip:agent@agents.example").await,
            Ok(vec![udp("127.0.0.11:5080"), udp("127.0.0.12:5090")]),
            "SRV in priority order"
        );
        assert_eq!(
            locate("sip:agent@tcp-only.example").await,
            Ok(vec![Target {
                addr: "127.0.0.13:5070".parse().expect("addr"),
                transport: Transport::Tcp,
            }]),
            "no _sip._udp: _sip._tcp"
        );
        assert_eq!(
            locate("sip:agent@plain.example").await,
            Ok(vec![udp("127.0.0.14:5060")]),
            "no SRV: A on 5060"
        );
        assert_eq!(
            locate("sip:agent@plain.example:5099").await,
            Ok(vec![udp("127.0.0.14:5099")]),
            "an explicit port skips SRV"
        );
        assert_eq!(
            locate("sip:agent@192.0.2.7:5070;transport=tcp").await,
            Ok(vec![Target {
                addr: "192.0.2.7:5070".parse().expect("addr"),
                transport: Transport::Tcp,
            }]),
            "numeric hosts are unchanged"
        );
        assert_eq!(
            locate("sip:agent@nowhere.example").await,
            Err(LocateError::NotFound {
                host: "nowhere.example".into()
            })
        );
        assert!(matches!(
            locate("tel:+15550100").await,
            Err(LocateError::NoHost(_))
        ));
    }

    #[tokio::test]
    async fn a_silent_name_server_is_a_lookup_failure() {
        // Bound but never answering.
        let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = silent.local_addr().expect("addr");
        let locator = SipLocator::new(&[addr], Duration::from_millis(200)).expect("resolver");
        let uri = Uri::parse("sip:agent@agents.example").expect("uri");
        let got = locator.locate(&uri).await;
        assert!(matches!(got, Err(LocateError::Lookup { .. })), "{got:?}");
        drop(silent);
    }
}
