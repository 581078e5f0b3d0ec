//! The tokio transport driver (RFC 3261 §18): UDP and TCP on one address,
//! received bytes fed to the [`UserAgent`], what it polls sent out.
//!
//! [`SipTransport::bind`] binds UDP and TCP on the same port (port 0 picks
//! one; [`SipTransport::local_addr`] says which). TCP connections are kept
//! per peer address: a response goes back on the connection its request came
//! on (§18.2.2), and a request to a peer without one opens it. Stream bytes
//! are framed by [`StreamFramer`]. A failed connection is only logged: the
//! transaction that needed it times out and reports 408.
//!
//! [`run`] is the whole driver loop: it owns the core, applies [`Command`]s
//! (closures over the core, so every [`UserAgent`] method is available),
//! forwards [`UaEvent`]s, and arms one timer from
//! [`UserAgent::poll_timeout`].

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::framing::StreamFramer;
use super::message::MAX_MESSAGE_SIZE;
use super::transaction::{Transmit, Transport};
use super::ua::{UaEvent, UserAgent};

/// Bytes received from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// One datagram or one framed stream message.
    pub bytes: Vec<u8>,
    /// The sender.
    pub from: SocketAddr,
    /// The transport it came on.
    pub transport: Transport,
}

#[derive(Debug)]
enum Input {
    Received(Received),
    Connected(SocketAddr, mpsc::UnboundedSender<Vec<u8>>),
    Closed(SocketAddr),
}

/// UDP and TCP sockets on one address, with the TCP connections per peer.
#[derive(Debug)]
pub struct SipTransport {
    udp: Arc<UdpSocket>,
    local: SocketAddr,
    inputs: mpsc::Receiver<Input>,
    inputs_tx: mpsc::Sender<Input>,
    connections: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
}

/// How many received messages may wait for the core.
const QUEUE: usize = 4096;

impl SipTransport {
    /// Binds UDP and TCP on `addr` (port 0: the same free port for both)
    /// and starts receiving. Must run inside a tokio runtime.
    pub async fn bind(addr: SocketAddr) -> io::Result<SipTransport> {
        let (udp, listener) = bind_pair(addr).await?;
        let local = udp.local_addr()?;
        let udp = Arc::new(udp);
        let (inputs_tx, inputs) = mpsc::channel(QUEUE);
        tokio::spawn(udp_reader(udp.clone(), inputs_tx.clone()));
        tokio::spawn(tcp_acceptor(listener, inputs_tx.clone()));
        tracing::info!(%local, "SIP listening on UDP and TCP");
        Ok(SipTransport {
            udp,
            local,
            inputs,
            inputs_tx,
            connections: HashMap::new(),
        })
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next received message; `None` once every receiver has stopped.
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            match self.inputs.recv().await? {
                Input::Received(r) => return Some(r),
                Input::Connected(peer, writer) => {
                    self.connections.insert(peer, writer);
                }
                Input::Closed(peer) => {
                    self.connections.remove(&peer);
                }
            }
        }
    }

    /// Sends one message: a datagram, or a write on the peer's TCP
    /// connection (opened when there is none).
    pub async fn send(&mut self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                if let Err(err) = self.udp.send_to(&t.bytes, t.to).await {
                    tracing::warn!(to = %t.to, %err, "UDP send failed");
                }
            }
            Transport::Tcp => {
                let writer = self.connections.entry(t.to).or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(tcp_connection(None, t.to, rx, self.inputs_tx.clone()));
                    tx
                });
                if writer.send(t.bytes).is_err() {
                    self.connections.remove(&t.to);
                    tracing::warn!(to = %t.to, "TCP connection closed before send");
                }
            }
        }
    }
}

async fn bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    // With port 0 the UDP port may be taken for TCP: try a few ports.
    let mut last_err = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(addr).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(listener) => return Ok((udp, listener)),
            Err(err) if addr.port() == 0 => last_err = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
}

async fn udp_reader(udp: Arc<UdpSocket>, inputs: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE];
    loop {
        match udp.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                // Keep-alive CRLFs carry nothing for the core.
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let r = Received {
                    bytes,
                    from,
                    transport: Transport::Udp,
                };
                if inputs.send(Input::Received(r)).await.is_err() {
                    return;
                }
            }
            // ICMP errors from earlier sends surface here on some systems.
            Err(err) => tracing::debug!(%err, "UDP receive error"),
        }
    }
}

async fn tcp_acceptor(listener: TcpListener, inputs: mpsc::Sender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let (tx, rx) = mpsc::unbounded_channel();
                if inputs.send(Input::Connected(peer, tx)).await.is_err() {
                    return;
                }
                tokio::spawn(tcp_connection(Some(stream), peer, rx, inputs.clone()));
            }
            Err(err) => tracing::warn!(%err, "TCP accept failed"),
        }
    }
}

/// One TCP connection: connects when `stream` is `None`, reads and frames
/// messages, writes what arrives on `writes`.
async fn tcp_connection(
    stream: Option<TcpStream>,
    peer: SocketAddr,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    inputs: mpsc::Sender<Input>,
) {
    let stream = match stream {
        Some(s) => s,
        None => match TcpStream::connect(peer).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%peer, %err, "TCP connect failed");
                let _ = inputs.send(Input::Closed(peer)).await;
                return;
            }
        },
    };
    let (mut reader, mut writer) = stream.into_split();
    let read_inputs = inputs.clone();
    let read = async move {
        let mut framer = StreamFramer::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            framer.handle_bytes(buf.get(..n).unwrap_or_default());
            while let Some(frame) = framer.poll_message() {
                match frame {
                    Ok(bytes) => {
                        let r = Received {
                            bytes,
                            from: peer,
                            transport: Transport::Tcp,
                        };
                        if read_inputs.send(Input::Received(r)).await.is_err() {
                            return;
                        }
                    }
                    Err(err) => tracing::info!(%peer, %err, "TCP framing"),
                }
            }
        }
    };
    let write = async move {
        while let Some(bytes) = writes.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = read => {}
        () = write => {}
    }
    let _ = inputs.send(Input::Closed(peer)).await;
}

/// A command for the core owned by [`run`]: any call on the [`UserAgent`]
/// with the current time.
pub type Command = Box<dyn FnOnce(&mut UserAgent, Instant) + Send>;

/// Drives `ua` over `transport` until `commands` closes or `events` is
/// dropped: received messages and commands in, transmits and events out,
/// one timer armed from [`UserAgent::poll_timeout`].
pub async fn run(
    mut ua: UserAgent,
    mut transport: SipTransport,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<UaEvent>,
) {
    loop {
        while let Some(t) = ua.poll_transmit() {
            transport.send(t).await;
        }
        while let Some(e) = ua.poll_event() {
            if events.send(e).await.is_err() {
                return;
            }
        }
        let deadline = ua.poll_timeout();
        let sleep = tokio::time::sleep_until(
            deadline.map_or_else(far_future, tokio::time::Instant::from_std),
        );
        tokio::select! {
            received = transport.recv() => match received {
                Some(r) => ua.handle_datagram(&r.bytes, r.from, r.transport, Instant::now()),
                None => return,
            },
            command = commands.recv() => match command {
                Some(command) => command(&mut ua, Instant::now()),
                None => return,
            },
            () = sleep, if deadline.is_some() => ua.handle_timeout(Instant::now()),
        }
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::ua::UaConfig;

    const OPTIONS: &str = "OPTIONS sip:vxp@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKsmoke\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:vxp@127.0.0.1>\r\nCall-ID: smoke\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    /// Loopback smoke test: an OPTIONS over UDP and one over TCP are each
    /// answered with 200 by a core driven by [`run`].
    #[tokio::test]
    async fn answers_options_over_udp_and_tcp_on_loopback() {
        let transport = SipTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let local = transport.local_addr();
        assert_ne!(local.port(), 0);
        let ua = UserAgent::new(UaConfig {
            local_addr: local,
            ..UaConfig::default()
        });
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        let (ev_tx, _ev_rx) = mpsc::channel(8);
        let driver = tokio::spawn(run(ua, transport, cmd_rx, ev_tx));

        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        probe.send_to(OPTIONS.as_bytes(), local).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, _) =
            tokio::time::timeout(std::time::Duration::from_secs(5), probe.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
        assert!(buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"));

        let mut tcp = TcpStream::connect(local).await.unwrap();
        let over_tcp = OPTIONS.replace("UDP", "TCP").replace("smoke", "smoke-tcp");
        // Two writes for one message: the framer must join them.
        let (a, b) = over_tcp.as_bytes().split_at(40);
        tcp.write_all(a).await.unwrap();
        tcp.flush().await.unwrap();
        tcp.write_all(b).await.unwrap();
        let mut framer = StreamFramer::new();
        let reply = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                let n = tcp.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed");
                framer.handle_bytes(&buf[..n]);
                if let Some(frame) = framer.poll_message() {
                    return frame.unwrap();
                }
            }
        })
        .await
        .unwrap();
        assert!(reply.starts_with(b"SIP/2.0 200 OK\r\n"));
        assert!(String::from_utf8_lossy(&reply).contains("Call-ID: smoke-tcp"));

        // Closing the command channel stops the driver.
        let (count_tx, count_rx) = tokio::sync::oneshot::channel();
        cmd_tx
            .send(Box::new(move |ua: &mut UserAgent, _| {
                let _ = count_tx.send(ua.call_count());
            }))
            .await
            .unwrap();
        assert_eq!(count_rx.await.unwrap(), 0);
        drop(cmd_tx);
        tokio::time::timeout(std::time::Duration::from_secs(5), driver)
            .await
            .unwrap()
            .unwrap();
    }
}
