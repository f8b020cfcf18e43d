//! The embedded TURN relay's sockets around the sans-IO [`TurnRelay`]: one
//! task owns the relay, its client-facing UDP socket, the TCP and TLS
//! connections (through [`crate::stream`]) and one UDP socket per
//! allocation. Relay sockets only ever talk to Hotline's own media port, so
//! a firewall needs the TURN ports open and nothing more.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_proto::IceServer;
use hotline_turn::{
    Client, ClientTransport, CredentialKey, Output, RelayConfig, RelayEvent, RelayPorts, TurnRelay,
};
use serde_json::json;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info};

use crate::audit::AuditLog;
use crate::stream::{self, Framing, StreamEvent};

/// How long relay credentials are valid. They only need to last until the
/// browser's next ICE gathering: fresh ones are sent well before expiry.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(10 * 60);
/// How often a connected participant gets fresh credentials.
pub const CREDENTIAL_REFRESH: Duration = Duration::from_secs(4 * 60);
/// Allocations at once, and per participant session (a browser makes one
/// per peer connection and relay URL, a few more across ICE restarts).
const MAX_ALLOCATIONS: usize = 2000;
const MAX_ALLOCATIONS_PER_USER: usize = 16;
/// Packets from relay sockets waiting for the relay task; more are dropped
/// (as a congested network would drop them).
const PEER_QUEUE: usize = 4096;

/// The key relay credentials are made with, derived from the server secret.
pub fn credential_key(secret: &hotline_auth::Secret) -> CredentialKey {
    CredentialKey::new(secret.derive_key("turn credentials"))
}

/// What the relay listens on, bound by `serve`.
pub struct TurnListeners {
    pub udp: UdpSocket,
    pub tcp: TcpListener,
    pub tls: Option<(TcpListener, TlsAcceptor)>,
}

/// Hands out relay URLs and credentials (to signaling).
#[derive(Clone)]
pub struct RelayDirectory {
    key: CredentialKey,
    /// `turn:` URLs (UDP and TCP on one port), by the announced address.
    plain: Vec<String>,
    /// Port of TURN over TLS: its URL names the host the browser used for
    /// the page, which the certificate is for.
    tls_port: Option<u16>,
}

impl RelayDirectory {
    /// `plain`: the relay's UDP and TCP address, as announced.
    pub fn new(key: CredentialKey, plain: SocketAddr, tls_port: Option<u16>) -> Self {
        let host_port = url_host_port(plain);
        RelayDirectory {
            key,
            plain: vec![
                format!("turn:{host_port}?transport=udp"),
                format!("turn:{host_port}?transport=tcp"),
            ],
            tls_port,
        }
    }

    /// The relays for one participant session, with fresh credentials.
    /// `page_host` is the host name the browser loaded the page from.
    pub fn ice_servers(
        &self,
        participant: &str,
        page_host: Option<&str>,
        unix_now: u64,
    ) -> Vec<IceServer> {
        let credentials = self
            .key
            .mint(participant, unix_now, CREDENTIAL_TTL.as_secs());
        let mut urls = self.plain.clone();
        if let (Some(port), Some(host)) = (self.tls_port, page_host) {
            urls.push(format!("turns:{host}:{port}?transport=tcp"));
        }
        vec![IceServer {
            urls,
            username: credentials.username,
            credential: credentials.password,
        }]
    }
}

fn url_host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// Where relayed packets for the media socket are sent from this host: the
/// media socket's bound address, or loopback when it listens everywhere.
pub fn local_media_addr(bound: SocketAddr) -> SocketAddr {
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bound.port())
}

/// Stops the relay task.
pub struct TurnHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl TurnHandle {
    /// Stops without waiting (tests).
    pub fn stop_now(self) {
        let _ = self.stop.send(());
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }
}

struct RelaySocket {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
}

/// Binds relay sockets for the state machine and reads them.
struct Sockets {
    ip: IpAddr,
    relays: HashMap<SocketAddr, RelaySocket>,
    peer_tx: mpsc::Sender<(SocketAddr, SocketAddr, Vec<u8>)>,
}

impl RelayPorts for Sockets {
    fn open(&mut self, _client: &Client) -> io::Result<SocketAddr> {
        let std_socket = std::net::UdpSocket::bind(SocketAddr::new(self.ip, 0))?;
        std_socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(std_socket)?);
        let local = socket.local_addr()?;
        let reader = {
            let socket = socket.clone();
            let tx = self.peer_tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                    // Full: dropped, as the network would.
                    let _ = tx.try_send((local, from, buf[..n].to_vec()));
                }
            })
        };
        self.relays.insert(local, RelaySocket { socket, reader });
        Ok(local)
    }
}

/// Starts the relay task.
pub fn spawn(
    listeners: TurnListeners,
    key: CredentialKey,
    media_announced: SocketAddr,
    media_bound: SocketAddr,
    audit: AuditLog,
) -> TurnHandle {
    let media_local = local_media_addr(media_bound);
    let config = RelayConfig {
        media_announced,
        media_local,
        max_allocations: MAX_ALLOCATIONS,
        max_allocations_per_user: MAX_ALLOCATIONS_PER_USER,
    };
    let relay = TurnRelay::new(key, config, Instant::now(), crate::cli::unix_now());
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(run(relay, listeners, media_local.ip(), audit, stopped));
    TurnHandle { stop, task }
}

async fn run(
    mut relay: TurnRelay,
    listeners: TurnListeners,
    relay_ip: IpAddr,
    audit: AuditLog,
    mut stopped: oneshot::Receiver<()>,
) {
    let (tcp_tx, mut tcp_events) = mpsc::unbounded_channel();
    let (tls_tx, mut tls_events) = mpsc::unbounded_channel();
    let mut accept_loops = vec![tokio::spawn(stream::accept_loop(
        listeners.tcp,
        Framing::Turn,
        None,
        tcp_tx,
    ))];
    if let Some((listener, acceptor)) = listeners.tls {
        accept_loops.push(tokio::spawn(stream::accept_loop(
            listener,
            Framing::Turn,
            Some(acceptor),
            tls_tx,
        )));
    } else {
        drop(tls_tx);
    }
    let udp = listeners.udp;
    let (peer_tx, mut peer_rx) = mpsc::channel(PEER_QUEUE);
    let mut sockets = Sockets {
        ip: relay_ip,
        relays: HashMap::new(),
        peer_tx,
    };
    let mut writers: HashMap<Client, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = relay
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
        tokio::select! {
            _ = &mut stopped => break,
            received = udp.recv_from(&mut buf) => {
                if let Ok((n, addr)) = received {
                    let client = Client { transport: ClientTransport::Udp, addr };
                    relay.handle_client(Instant::now(), client, &buf[..n], &mut sockets);
                }
            }
            Some((local, from, bytes)) = peer_rx.recv() => {
                relay.handle_peer(Instant::now(), local, from, &bytes);
            }
            Some(event) = tcp_events.recv() => {
                stream_event(&mut relay, &mut writers, &mut sockets, ClientTransport::Tcp, event);
            }
            Some(event) = tls_events.recv() => {
                stream_event(&mut relay, &mut writers, &mut sockets, ClientTransport::Tls, event);
            }
            _ = tokio::time::sleep_until(deadline.into()) => relay.handle_timeout(Instant::now()),
        }
        while let Some(output) = relay.poll_output() {
            match output {
                Output::ToClient { client, bytes } => match client.transport {
                    ClientTransport::Udp => {
                        let _ = udp.try_send_to(&bytes, client.addr);
                    }
                    ClientTransport::Tcp | ClientTransport::Tls => {
                        if let Some(writer) = writers.get(&client) {
                            stream::send(writer, bytes);
                        }
                    }
                },
                Output::ToPeer { relay, to, bytes } => {
                    if let Some(relay) = sockets.relays.get(&relay) {
                        let _ = relay.socket.try_send_to(&bytes, to);
                    }
                }
                Output::Event(event) => log_event(&audit, &mut sockets, event),
            }
        }
    }
    for accept in accept_loops {
        accept.abort();
    }
    for (_, relay) in sockets.relays.drain() {
        relay.reader.abort();
    }
    info!("relay stopped");
}

fn stream_event(
    relay: &mut TurnRelay,
    writers: &mut HashMap<Client, mpsc::Sender<Vec<u8>>>,
    sockets: &mut Sockets,
    transport: ClientTransport,
    event: StreamEvent,
) {
    match event {
        StreamEvent::Opened { remote, writer } => {
            writers.insert(
                Client {
                    transport,
                    addr: remote,
                },
                writer,
            );
        }
        StreamEvent::Packet { remote, contents } => {
            let client = Client {
                transport,
                addr: remote,
            };
            relay.handle_client(Instant::now(), client, &contents, sockets);
        }
        StreamEvent::Closed { remote } => {
            let client = Client {
                transport,
                addr: remote,
            };
            writers.remove(&client);
            relay.client_closed(client);
        }
    }
}

fn log_event(audit: &AuditLog, sockets: &mut Sockets, event: RelayEvent) {
    match event {
        RelayEvent::Allocated {
            client,
            relay,
            user,
        } => {
            info!(participant = %user, transport = client.transport.name(), client = %client.addr, %relay, "relay allocated");
            audit.record(
                "relay_allocated",
                json!({"participant": user, "transport": client.transport.name(), "ip": client.addr.ip()}),
            );
        }
        RelayEvent::Released {
            client,
            relay,
            user,
            reason,
        } => {
            if let Some(socket) = sockets.relays.remove(&relay) {
                socket.reader.abort();
            }
            info!(participant = %user, transport = client.transport.name(), client = %client.addr, %relay, ?reason, "relay released");
        }
        RelayEvent::Refused {
            client,
            method,
            code,
        } => {
            // 401 is the first step of every allocation: not worth a line.
            if code != 401 {
                debug!(transport = client.transport.name(), client = %client.addr, ?method, code, "relay request refused");
            }
        }
    }
}

/// Binds the relay's listeners: UDP and TCP on one port, TLS on another.
pub async fn bind(
    ip: IpAddr,
    port: u16,
    tls: Option<(u16, TlsAcceptor)>,
) -> anyhow::Result<TurnListeners> {
    use anyhow::Context;
    // UDP and TCP on one port number; when the system picks it, the TCP
    // side may be taken: pick again.
    let mut attempts = if port == 0 { 10 } else { 1 };
    let (udp, tcp) = loop {
        attempts -= 1;
        let udp = UdpSocket::bind(SocketAddr::new(ip, port))
            .await
            .with_context(|| format!("cannot bind TURN port {ip}:{port}/udp"))?;
        let bound = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(ip, bound)).await {
            Ok(tcp) => break (udp, tcp),
            Err(e) if attempts == 0 => {
                return Err(e).with_context(|| format!("cannot bind TURN port {ip}:{bound}/tcp"))
            }
            Err(_) => continue,
        }
    };
    let tls = match tls {
        Some((tls_port, acceptor)) => {
            let listener = TcpListener::bind(SocketAddr::new(ip, tls_port))
                .await
                .with_context(|| format!("cannot bind TURN-over-TLS port {ip}:{tls_port}/tcp"))?;
            Some((listener, acceptor))
        }
        None => None,
    };
    Ok(TurnListeners { udp, tcp, tls })
}
