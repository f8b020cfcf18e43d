//! `hotline serve`: binds the sockets, starts the media worker and the HTTP
//! server, and runs until stopped.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hotline_auth::Secret;
use hotline_sfu::RoomConfig;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::info;

use crate::audit::{AuditLog, AuditWriter};
use crate::cli::ServeArgs;
use crate::config::{generate_secret, load_secret, ServerConfig};
use crate::http::{router, AppState};
use crate::limits::PerIpLimiter;
use crate::media::{Command, MediaHandle, MediaWorker, RoomPolicy};
use crate::turn::{RelayDirectory, TurnHandle};

/// Entry point of `hotline serve`.
pub fn run_blocking(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let config = ServerConfig::resolve(args)?;
    let secret = match load_secret(config.secret_from_file.as_deref(), &config.data_dir)? {
        Some(secret) => secret,
        None => {
            let (secret, path) = generate_secret(&config.data_dir)?;
            println!("Generated a new signing secret in {}", path.display());
            secret
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let grace = config.shutdown_grace;
        let server = start(config, secret).await?;
        println!("Hotline is listening on {}", server.url);
        println!(
            "Media: UDP {}, ICE over TCP {}",
            server.media_addr, server.ice_tcp_addr
        );
        match (server.turn_addr, server.turn_tls_addr) {
            (Some(plain), Some(tls)) => println!("Relay (TURN): UDP and TCP {plain}, TLS {tls}"),
            (Some(plain), None) => println!("Relay (TURN): UDP and TCP {plain}"),
            _ => println!("Relay (TURN): off"),
        }
        if server.dev {
            println!("Development mode: open {} to start a call", server.url);
        }
        shutdown_signal().await;
        info!(grace_secs = grace.as_secs(), "shutting down");
        server.shutdown(grace).await;
        Ok(())
    })
}

fn init_tracing() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,dimpl=warn"));
    // Colours only on a terminal: logs piped to files or journald stay plain.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A started server.
pub struct RunningServer {
    /// Base URL of the web client, e.g. `http://127.0.0.1:8080/`.
    pub url: String,
    pub http_addr: SocketAddr,
    pub media_addr: SocketAddr,
    pub ice_tcp_addr: SocketAddr,
    /// The TURN relay's UDP and TCP address, as announced.
    pub turn_addr: Option<SocketAddr>,
    pub turn_tls_addr: Option<SocketAddr>,
    pub dev: bool,
    stop: oneshot::Sender<()>,
    turn: Option<TurnHandle>,
    accepting: Arc<AtomicBool>,
    media: MediaHandle,
    media_task: JoinHandle<()>,
    http_task: JoinHandle<()>,
    audit: AuditLog,
    audit_writer: AuditWriter,
}

impl RunningServer {
    /// Stops at once (tests): no grace, nothing waited for.
    pub fn stop(self) {
        let _ = self.stop.send(());
        if let Some(turn) = self.turn {
            turn.stop_now();
        }
        self.media.send(Command::Shutdown {
            deadline: Instant::now(),
        });
    }

    /// Stops gracefully: refuses new joins, tells every participant, lets
    /// calls go on for up to `grace` (or until the rooms are empty), closes
    /// every connection, and flushes the audit log.
    pub async fn shutdown(self, grace: Duration) {
        self.accepting.store(false, Ordering::Relaxed);
        self.media.send(Command::Shutdown {
            deadline: Instant::now() + grace,
        });
        let _ = tokio::time::timeout(grace + Duration::from_secs(5), self.media_task).await;
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.http_task).await;
        if let Some(turn) = self.turn {
            turn.stop().await;
        }
        self.audit.record("server_stopped", serde_json::json!({}));
        drop(self.audit);
        drop(self.media);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.audit_writer.close()).await;
        info!("stopped");
    }
}

/// Binds the sockets and spawns the server's tasks on the current runtime.
pub async fn start(config: ServerConfig, secret: Secret) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let http_addr = listener.local_addr()?;

    let announced_ip = match (config.listen.ip().is_unspecified(), config.public_ip) {
        (_, Some(ip)) => ip,
        (false, None) => config.listen.ip(),
        (true, None) => anyhow::bail!(
            "listening on all interfaces needs --public-ip: the address browsers reach for media"
        ),
    };
    // Media on the same port number over UDP, unless the port was left to
    // the system.
    let udp_port = if config.listen.port() == 0 {
        0
    } else {
        http_addr.port()
    };
    let udp_bind = SocketAddr::new(config.listen.ip(), udp_port);
    let udp = UdpSocket::bind(udp_bind)
        .await
        .with_context(|| format!("cannot bind media port {udp_bind}/udp"))?;
    let media_addr = SocketAddr::new(announced_ip, udp.local_addr()?.port());

    let (audit, audit_writer) = AuditLog::open(&config.data_dir)
        .await
        .with_context(|| format!("opening the audit log in {}", config.data_dir.display()))?;
    let schedule_path = config
        .schedule_db
        .clone()
        .unwrap_or_else(|| config.data_dir.join("schedule.db"));
    let schedule = crate::schedule_api::ScheduleState {
        store: Arc::new(
            hotline_schedule::store::Store::open(&schedule_path).with_context(|| {
                format!("opening the schedule database {}", schedule_path.display())
            })?,
        ),
        clock: config.clock.clone(),
        scheme: if config.tls.is_some() {
            "https"
        } else {
            "http"
        },
        webhook: config.schedule_webhook.clone(),
    };

    let policy = RoomPolicy {
        auto_create: config.auto_create_rooms,
        configured: config.rooms.clone(),
        presets: config.presets.clone(),
        max_rooms: config.max_rooms,
        room: RoomConfig {
            disconnect_timeout: config.disconnect_timeout,
            max_participants: config.max_participants_per_room,
            ..RoomConfig::default()
        },
    };
    hotline_sfu::init_crypto();
    // ICE-TCP for networks that block UDP: the configured port, else the
    // port after the HTTP one (or an ephemeral one when that was).
    let tcp_port = config.ice_tcp_port.unwrap_or(if config.listen.port() == 0 {
        0
    } else {
        http_addr.port().saturating_add(1)
    });
    let tcp_bind = SocketAddr::new(config.listen.ip(), tcp_port);
    let tcp = tokio::net::TcpListener::bind(tcp_bind)
        .await
        .with_context(|| format!("cannot bind ICE-TCP port {tcp_bind}/tcp"))?;
    let ice_tcp_addr = SocketAddr::new(announced_ip, tcp.local_addr()?.port());
    let tls = match &config.tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .context("loading TLS certificate and key")?,
            )
        }
        None => None,
    };
    let media_bound = udp.local_addr()?;
    let (relays, turn, turn_addr, turn_tls_addr) = match &config.turn {
        None => (None, None, None, None),
        Some(ports) => {
            // The relay: the configured port, else the one after ICE-TCP.
            let port = ports.port.unwrap_or(if config.listen.port() == 0 {
                0
            } else {
                http_addr.port().saturating_add(2)
            });
            let acceptor = match (ports.tls_port, &tls) {
                (Some(tls_port), Some(tls)) => {
                    Some((tls_port, tokio_rustls::TlsAcceptor::from(tls.get_inner())))
                }
                _ => None,
            };
            let listeners = crate::turn::bind(config.listen.ip(), port, acceptor).await?;
            let plain = SocketAddr::new(announced_ip, listeners.udp.local_addr()?.port());
            let tls_addr = match &listeners.tls {
                Some((listener, _)) => {
                    Some(SocketAddr::new(announced_ip, listener.local_addr()?.port()))
                }
                None => None,
            };
            let key = crate::turn::credential_key(&secret);
            let directory = RelayDirectory::new(key.clone(), plain, tls_addr.map(|a| a.port()));
            let handle = crate::turn::spawn(listeners, key, media_addr, media_bound, audit.clone());
            (Some(directory), Some(handle), Some(plain), tls_addr)
        }
    };
    let (worker, media) = MediaWorker::new(
        udp,
        media_addr,
        Some((tcp, ice_tcp_addr)),
        policy,
        audit.clone(),
    );
    let worker =
        worker.remember_admissions(crate::schedule_api::store_admissions(schedule.clone()));
    let media_task = tokio::spawn(worker.run());

    let accepting = Arc::new(AtomicBool::new(true));
    let state = AppState {
        secret: Arc::new(secret),
        media: media.clone(),
        dev: config.dev,
        accepting: accepting.clone(),
        audit: audit.clone(),
        http_limit: Arc::new(PerIpLimiter::new("http", config.http_requests_per_second)),
        websocket_limit: Arc::new(PerIpLimiter::new(
            "websocket",
            config.websocket_connects_per_second,
        )),
        relays,
        trusted_proxies: config.trusted_proxies.clone().into(),
        schedule,
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = if http_addr.ip().is_unspecified() {
        announced_ip
    } else {
        http_addr.ip()
    };
    let url = format!("{scheme}://{}/", SocketAddr::new(host, http_addr.port()));

    let http_task = match tls {
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
            tokio::spawn(async move {
                let _ = stopped.await;
                handle.graceful_shutdown(Some(Duration::from_secs(3)));
            });
            tokio::spawn(async move {
                let _ = server.serve(app).await;
            })
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            })
        }
    };
    info!(%http_addr, %media_addr, %ice_tcp_addr, turn = ?turn_addr, turn_tls = ?turn_tls_addr, dev = config.dev, tls = config.tls.is_some(), "server started");
    audit.record(
        "server_started",
        serde_json::json!({"http": http_addr, "media": media_addr, "dev": config.dev}),
    );
    Ok(RunningServer {
        url,
        http_addr,
        media_addr,
        ice_tcp_addr,
        turn_addr,
        turn_tls_addr,
        dev: config.dev,
        stop,
        turn,
        accepting,
        media,
        media_task,
        http_task,
        audit,
        audit_writer,
    })
}
