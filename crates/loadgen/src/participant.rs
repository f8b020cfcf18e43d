//! One simulated participant as a task: a [`SimClient`] on two UDP sockets
//! (publisher and subscriber connection) and a signaling connection.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hotline_proto::{ClientMessage, ServerMessage, TrackKind};
use hotline_testkit::{MediaCounter, SimClient, VideoShape};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::{hotline, janus, LoadConfig, Progress, Target};

/// Where the run is; participants follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Setup,
    /// Counters restart when this begins.
    Measure,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Publisher,
    Subscriber,
    /// Publishes and receives the room's other publishers.
    PublisherAndSubscriber,
}

impl Role {
    pub fn publishes(self) -> bool {
        self != Role::Subscriber
    }

    pub fn subscribes(self) -> bool {
        self != Role::Publisher
    }

    fn label(self) -> &'static str {
        match self {
            Role::Publisher => "pub",
            Role::Subscriber => "sub",
            Role::PublisherAndSubscriber => "peer",
        }
    }
}

pub(crate) struct Spec {
    pub config: LoadConfig,
    pub room: String,
    pub role: Role,
    pub index: usize,
    pub local_ip: IpAddr,
    pub origin: Instant,
    pub progress: Arc<Progress>,
    pub phase: watch::Receiver<Phase>,
    pub reports: mpsc::UnboundedSender<ClientReport>,
    /// Janus feed ids of the room's publishers.
    pub feeds: janus::Feeds,
}

impl Spec {
    pub fn name(&self) -> String {
        format!("load-{}-{}-{}", self.room, self.role.label(), self.index)
    }

    /// Streams (audio and video) this participant should receive.
    fn expected_streams(&self) -> usize {
        match self.role {
            Role::Publisher => 0,
            Role::Subscriber => 2 * self.config.publishers,
            Role::PublisherAndSubscriber => 2 * self.config.publishers.saturating_sub(1),
        }
    }
}

/// What one participant measured.
#[derive(Debug, Clone)]
pub(crate) struct ClientReport {
    pub packets_sent: u64,
    pub streams: Vec<(TrackKind, MediaCounter)>,
    pub failures: Vec<String>,
}

pub(crate) fn spawn(spec: Spec) {
    tokio::spawn(async move {
        let reports = spec.reports.clone();
        let report = run(spec).await;
        let _ = reports.send(report);
    });
}

/// The local address the server is reached from, for the UDP sockets and
/// the ICE candidates.
pub(crate) async fn local_ip_towards(url: &str) -> anyhow::Result<IpAddr> {
    let server = server_addr(url).await?;
    let probe = UdpSocket::bind(SocketAddr::new(
        if server.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        },
        0,
    ))
    .await?;
    probe
        .connect(server)
        .await
        .with_context(|| format!("no route to {server}"))?;
    Ok(probe.local_addr()?.ip())
}

async fn server_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .context("the URL needs a scheme, e.g. http://127.0.0.1:8080")?;
    let host_port = rest.split('/').next().unwrap_or(rest);
    let default_port = if url.starts_with("https") || url.starts_with("wss") {
        443
    } else {
        80
    };
    let with_port = if host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host_port.to_string()
    } else {
        format!("{host_port}:{default_port}")
    };
    let mut addresses = tokio::net::lookup_host(with_port.as_str())
        .await
        .with_context(|| format!("resolving {with_port}"))?;
    addresses
        .next()
        .with_context(|| format!("{with_port} has no address"))
}

/// Hotline's protocol, or Janus VideoRoom's translated to it.
enum Signaling {
    Hotline(hotline::Connection),
    Janus(janus::Connection),
}

impl Signaling {
    async fn send(&mut self, message: ClientMessage) -> anyhow::Result<()> {
        match self {
            Signaling::Hotline(c) => c.send(message).await,
            Signaling::Janus(c) => c.send(message).await,
        }
    }

    /// Closes the connection with a close frame, as a browser leaving does.
    async fn close(&mut self) {
        let socket = match self {
            Signaling::Hotline(c) => &mut c.socket,
            Signaling::Janus(c) => &mut c.socket,
        };
        let _ = socket.close(None).await;
    }

    /// The next message; `None` when the server closed the connection.
    async fn recv(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        match self {
            Signaling::Hotline(c) => c.recv().await,
            Signaling::Janus(c) => c.recv().await,
        }
    }
}

async fn run(mut spec: Spec) -> ClientReport {
    let name = spec.name();
    let mut failures = Vec::new();
    let mut client = None;
    if let Err(e) = drive(&mut spec, &name, &mut client).await {
        spec.progress.failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(participant = %name, "{e:#}");
        failures.push(format!("{name}: {e:#}"));
    }
    let Some(client) = client else {
        return ClientReport {
            packets_sent: 0,
            streams: Vec::new(),
            failures,
        };
    };
    failures.extend(client.failures.iter().map(|f| format!("{name}: {f}")));
    ClientReport {
        packets_sent: client.packets_sent,
        streams: client
            .received_streams()
            .map(|(kind, counter)| (kind, counter.clone()))
            .collect(),
        failures,
    }
}

/// Runs the participant until the run stops. The client is left in `slot`
/// also when it fails part-way, so that what it measured is reported.
async fn drive(spec: &mut Spec, name: &str, slot: &mut Option<SimClient>) -> anyhow::Result<()> {
    let bind = || UdpSocket::bind(SocketAddr::new(spec.local_ip, 0));
    let publisher_socket = bind().await.context("binding a UDP socket")?;
    let subscriber_socket = bind().await.context("binding a UDP socket")?;
    let publisher_addr = publisher_socket.local_addr()?;
    let subscriber_addr = subscriber_socket.local_addr()?;

    let client = slot.insert(SimClient::new(
        name,
        Instant::now(),
        publisher_addr,
        subscriber_addr,
    ));
    client.set_clock_origin(spec.origin);
    client.set_video_shape(spec.config.video);
    if spec.config.simulcast {
        client.set_simulcast(&simulcast_layers(spec.config.video));
    }
    if !spec.config.estimate_bandwidth || spec.config.count_headers_only {
        client.skip_bandwidth_estimation();
    }
    if spec.config.count_headers_only {
        client.count_headers_only();
    }

    let mut signaling = match spec.config.target {
        Target::Hotline => {
            let (connection, token) =
                hotline::connect(&spec.config, &spec.room, name, spec.role).await?;
            client.join(&token, &spec.room);
            Signaling::Hotline(connection)
        }
        Target::Janus => Signaling::Janus(
            janus::connect(
                &spec.config.url,
                &spec.room,
                name,
                spec.role,
                spec.feeds.clone(),
            )
            .await?,
        ),
    };
    pump(
        spec,
        client,
        &mut signaling,
        &publisher_socket,
        &subscriber_socket,
    )
    .await
}

async fn pump(
    spec: &mut Spec,
    client: &mut SimClient,
    signaling: &mut Signaling,
    publisher_socket: &UdpSocket,
    subscriber_socket: &UdpSocket,
) -> anyhow::Result<()> {
    let publisher_addr = publisher_socket.local_addr()?;
    let subscriber_addr = subscriber_socket.local_addr()?;
    let mut publisher_buf = vec![0u8; 2048];
    let mut subscriber_buf = vec![0u8; 2048];
    let mut published = false;
    let mut publisher_ready = false;
    let mut receiver_ready = !spec.role.subscribes();
    let expected_streams = spec.expected_streams();
    let progress = spec.progress.clone();

    loop {
        while let Some(message) = client.poll_signal() {
            signaling.send(message).await?;
        }
        while let Some(datagram) = client.poll_transmit() {
            let socket = if datagram.source == publisher_addr {
                publisher_socket
            } else {
                subscriber_socket
            };
            // A full socket buffer drops the datagram, as a network would.
            let _ = socket.try_send_to(&datagram.contents, datagram.destination);
        }
        if spec.role.publishes() && !published && client.participant_id.is_some() {
            client.publish_camera_and_microphone(Instant::now());
            published = true;
            continue;
        }
        if !publisher_ready && spec.role.publishes() && client.publishing() {
            publisher_ready = true;
            progress.publishers_ready.fetch_add(1, Ordering::Relaxed);
        }
        if !receiver_ready
            && client
                .received_streams()
                .filter(|(_, c)| c.packets > 0)
                .count()
                >= expected_streams
        {
            receiver_ready = true;
            progress.subscribers_ready.fetch_add(1, Ordering::Relaxed);
        }

        let deadline = client.poll_timeout();
        tokio::select! {
            biased;
            changed = spec.phase.changed() => {
                let phase = *spec.phase.borrow_and_update();
                if changed.is_err() || phase == Phase::Stop {
                    client.leave();
                    while let Some(message) = client.poll_signal() {
                        let _ = signaling.send(message).await;
                    }
                    signaling.close().await;
                    return Ok(());
                }
                if phase == Phase::Measure {
                    client.reset_counters();
                }
            }
            received = subscriber_socket.recv_from(&mut subscriber_buf) => {
                let (n, source) = received?;
                progress.datagrams_received.fetch_add(1, Ordering::Relaxed);
                client.handle_packet(Instant::now(), source, subscriber_addr, &subscriber_buf[..n]);
            }
            received = publisher_socket.recv_from(&mut publisher_buf) => {
                let (n, source) = received?;
                client.handle_packet(Instant::now(), source, publisher_addr, &publisher_buf[..n]);
            }
            message = signaling.recv() => {
                match message? {
                    Some(message) => client.handle_server_message(message),
                    None => anyhow::bail!("the server closed the signaling connection"),
                }
            }
            _ = tokio::time::sleep_until(deadline.max(Instant::now()).into()) => {
                client.handle_timeout(Instant::now());
            }
        }
    }
}

/// How long a participant's token lives: the whole run and some.
pub(crate) fn token_lifetime(config: &LoadConfig) -> Duration {
    config.setup_timeout + config.duration + Duration::from_secs(120)
}

/// Layers shaped like the browser client's: a quarter and a half of the
/// full picture's width, at a tenth and about a third of its bitrate.
fn simulcast_layers(full: VideoShape) -> [(&'static str, VideoShape); 3] {
    let scaled = |divisor: u16, bitrate_bps: u32| VideoShape {
        bitrate_bps,
        width: full.width / divisor,
        height: full.height / divisor,
        ..full
    };
    [
        ("q", scaled(4, full.bitrate_bps / 10)),
        ("h", scaled(2, full.bitrate_bps / 3)),
        ("f", full),
    ]
}
