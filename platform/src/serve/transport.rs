//! SIP transport for `vxp serve` (RFC 3261 §18): one UDP socket and one TCP
//! listener on the same address. Received datagrams and framed TCP messages
//! go to the signalling task as [`Inbound`]s; [`SipSockets::send`] sends a
//! datagram or writes to the peer's TCP connection (the one it came in on, or
//! a new one for an outbound request, §18.2.2).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::sip::framing::StreamFramer;
use crate::sip::transaction::{Transmit, Transport};

/// A message received on a SIP socket.
#[derive(Debug)]
pub struct Inbound {
    /// The bytes of one message (or one datagram).
    pub bytes: Vec<u8>,
    /// The sender.
    pub from: SocketAddr,
    /// How it came.
    pub transport: Transport,
}

type Connections = Arc<Mutex<HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>>;

/// The bound SIP sockets.
#[derive(Debug, Clone)]
pub struct SipSockets {
    udp: Arc<UdpSocket>,
    tcp: Connections,
    inbound: mpsc::UnboundedSender<Inbound>,
}

impl SipSockets {
    /// Binds UDP (and TCP on the port UDP got, when `tcp`) and starts the
    /// receive tasks; returns the sockets, the UDP address and the inbound
    /// stream.
    pub async fn bind(
        addr: SocketAddr,
        tcp: bool,
    ) -> std::io::Result<(
        Self,
        SocketAddr,
        Option<SocketAddr>,
        mpsc::UnboundedReceiver<Inbound>,
    )> {
        let udp = Arc::new(UdpSocket::bind(addr).await?);
        let bound = udp.local_addr()?;
        let (inbound, rx) = mpsc::unbounded_channel();
        let sockets = SipSockets {
            udp: udp.clone(),
            tcp: Arc::new(Mutex::new(HashMap::new())),
            inbound: inbound.clone(),
        };
        tokio::spawn(receive_udp(udp, inbound));
        let tcp_addr = if tcp {
            let listener = TcpListener::bind(bound).await?;
            let tcp_bound = listener.local_addr()?;
            tokio::spawn(accept(listener, sockets.clone()));
            Some(tcp_bound)
        } else {
            None
        };
        Ok((sockets, bound, tcp_addr, rx))
    }

    /// Sends what the user agent produced.
    pub fn send(&self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                if let Err(err) = self.udp.try_send_to(&t.bytes, t.to) {
                    tracing::debug!(to = %t.to, error = %err, "SIP/UDP send failed");
                }
            }
            Transport::Tcp => {
                let existing = self.tcp.lock().ok().and_then(|m| m.get(&t.to).cloned());
                match existing {
                    Some(conn) if conn.send(t.bytes.clone()).is_ok() => {}
                    _ => {
                        let sockets = self.clone();
                        tokio::spawn(async move {
                            match TcpStream::connect(t.to).await {
                                Ok(stream) => {
                                    let writer = sockets.connection(stream, t.to);
                                    let _ = writer.send(t.bytes);
                                }
                                Err(err) => {
                                    tracing::debug!(to = %t.to, error = %err, "SIP/TCP connect failed")
                                }
                            }
                        });
                    }
                }
            }
        }
    }

    /// Registers a TCP connection and starts its reader and writer.
    fn connection(&self, stream: TcpStream, peer: SocketAddr) -> mpsc::UnboundedSender<Vec<u8>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        if let Ok(mut map) = self.tcp.lock() {
            map.insert(peer, tx.clone());
        }
        let (mut read, mut write) = stream.into_split();
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if write.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        });
        let inbound = self.inbound.clone();
        let tcp = self.tcp.clone();
        tokio::spawn(async move {
            let mut framer = StreamFramer::new();
            let mut buf = vec![0u8; 16384];
            loop {
                let n = match read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.handle_bytes(buf.get(..n).unwrap_or_default());
                while let Some(message) = framer.poll_message() {
                    match message {
                        Ok(bytes) => {
                            let _ = inbound.send(Inbound {
                                bytes,
                                from: peer,
                                transport: Transport::Tcp,
                            });
                        }
                        Err(err) => tracing::debug!(%peer, error = %err, "SIP/TCP bytes dropped"),
                    }
                }
            }
            if let Ok(mut map) = tcp.lock() {
                map.remove(&peer);
            }
        });
        tx
    }
}

async fn receive_udp(socket: Arc<UdpSocket>, inbound: mpsc::UnboundedSender<Inbound>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                if inbound
                    .send(Inbound {
                        bytes,
                        from,
                        transport: Transport::Udp,
                    })
                    .is_err()
                {
                    return;
                }
            }
            // ICMP port unreachable from a peer that went away surfaces here.
            Err(err) => tracing::trace!(error = %err, "SIP/UDP receive error"),
        }
    }
}

async fn accept(listener: TcpListener, sockets: SipSockets) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                sockets.connection(stream, peer);
            }
            Err(err) => tracing::debug!(error = %err, "SIP/TCP accept failed"),
        }
    }
}
