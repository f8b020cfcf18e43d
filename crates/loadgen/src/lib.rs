//! The load generator behind `hotline loadtest`.
//!
//! Each simulated participant is a [`SimClient`]: the same str0m peer the
//! tests use, here on real UDP sockets, with real signaling over WebSocket,
//! either Hotline's protocol or Janus VideoRoom's (so that both servers get
//! the same load from the same code). Publishers send synthetic Opus and VP8
//! RTP whose payloads end with their send time; subscribers count packets,
//! loss, reordering, freezes and one-way delay.
//!
//! A run has three phases: set-up (publishers join and publish, then
//! subscribers join until each receives every stream), measurement (counters
//! start from zero for the given duration) and stop. Everything runs on one
//! thread, so that the generator takes one core and the server the other.

mod hotline;
mod janus;
mod participant;
mod proc_stat;
mod report;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hotline_auth::Secret;
use hotline_testkit::VideoShape;
use tokio::sync::{mpsc, watch};

pub use report::Report;

use participant::{ClientReport, Phase, Role};

/// Which server the load goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Hotline,
    /// Janus's VideoRoom plugin, over its WebSocket API.
    Janus,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Hotline => "hotline",
            Target::Janus => "janus",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub target: Target,
    /// Hotline: `http://HOST:PORT`; Janus: `ws://HOST:PORT`.
    pub url: String,
    /// Room name (Hotline) or number (Janus); with several rooms, a suffix
    /// (Hotline) or an offset (Janus) tells them apart.
    pub room: String,
    pub rooms: usize,
    /// Publishers per room.
    pub publishers: usize,
    /// Receive-only participants per room.
    pub subscribers: usize,
    /// Publishers also receive each other, as in a meeting.
    pub all_to_all: bool,
    pub duration: Duration,
    pub video: VideoShape,
    /// Subscribers count from RTP headers and decrypt only a sample.
    pub count_headers_only: bool,
    /// Receivers ask Hotline to estimate their bandwidth (as browsers do),
    /// which paces what it sends them. Off, every packet is forwarded as it
    /// comes. (Not with `count_headers_only`: the estimate needs feedback
    /// on every packet.)
    pub estimate_bandwidth: bool,
    /// Publishers send three simulcast layers (quarter, half and full
    /// size), as the browser client does; `video` is the full one.
    pub simulcast: bool,
    /// Signs the tokens of Hotline participants.
    pub secret: Option<Secret>,
    /// A server process whose CPU time and memory are sampled.
    pub server_pid: Option<u32>,
    /// How long joining may take before the run gives up on the rest.
    pub setup_timeout: Duration,
    /// New participants started per second during set-up.
    pub join_rate: u32,
    /// Print a progress line each second (to stderr).
    pub progress: bool,
}

impl LoadConfig {
    fn room_name(&self, index: usize) -> String {
        match self.target {
            Target::Hotline if self.rooms > 1 => format!("{}-{}", self.room, index + 1),
            Target::Hotline => self.room.clone(),
            Target::Janus => {
                // Checked to be a number before the run (`run_load`).
                let base: u64 = self.room.parse().unwrap_or_default();
                (base + index as u64).to_string()
            }
        }
    }

    /// Video streams each room's participants should receive in all.
    fn expected_video_streams(&self) -> usize {
        let per_room = if self.all_to_all {
            self.publishers * self.publishers.saturating_sub(1)
        } else {
            0
        } + self.subscribers * self.publishers;
        per_room * self.rooms
    }
}

/// Counters every participant task updates, for progress and readiness.
#[derive(Default)]
pub(crate) struct Progress {
    pub publishers_ready: AtomicUsize,
    pub subscribers_ready: AtomicUsize,
    pub datagrams_received: AtomicU64,
    pub failed: AtomicUsize,
}

/// Runs the load on a single-threaded runtime and returns what was measured.
pub fn run(config: LoadConfig) -> anyhow::Result<Report> {
    hotline_sfu::init_crypto();
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run_load(config))
}

/// Two UDP sockets and a WebSocket per participant soon pass the usual
/// limit of 1024 open files.
fn raise_open_files_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(1 << 20) {
        tracing::warn!("could not raise the open files limit: {e}");
    }
}

async fn run_load(config: LoadConfig) -> anyhow::Result<Report> {
    if config.publishers == 0 {
        bail!("at least one publisher is needed");
    }
    if config.target == Target::Janus && config.room.parse::<u64>().is_err() {
        bail!("a Janus VideoRoom room is a number, not {:?}", config.room);
    }
    if config.target == Target::Hotline && config.secret.is_none() {
        bail!(
            "no secret to sign tokens with: set HOTLINE_SECRET or use the server's data directory"
        );
    }
    let origin = Instant::now();
    let progress = Arc::new(Progress::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let (report_tx, mut report_rx) = mpsc::unbounded_channel::<ClientReport>();
    let local_ip = participant::local_ip_towards(&config.url).await?;
    let pacing = Duration::from_secs(1) / config.join_rate.max(1);
    let started = Instant::now();
    let mut spawned = 0usize;

    let spawn = |room: usize, role: Role, index: usize, feeds: janus::Feeds| {
        participant::spawn(participant::Spec {
            config: config.clone(),
            room: config.room_name(room),
            role,
            index,
            local_ip,
            origin,
            progress: progress.clone(),
            phase: phase_rx.clone(),
            reports: report_tx.clone(),
            feeds,
        })
    };

    // Publishers first, so that subscribers find every stream when they join.
    let mut room_feeds = Vec::new();
    for room in 0..config.rooms {
        let feeds = janus::Feeds::new(config.publishers);
        if config.target == Target::Janus {
            janus::create_room(&config.url, &config.room_name(room), config.publishers).await?;
        }
        for i in 0..config.publishers {
            let role = if config.all_to_all {
                Role::PublisherAndSubscriber
            } else {
                Role::Publisher
            };
            spawn(room, role, i, feeds.clone());
            spawned += 1;
            tokio::time::sleep(pacing).await;
        }
        room_feeds.push(feeds);
    }
    let publishers = config.publishers * config.rooms;
    wait_for(&config, &progress, started, "publishers sending", || {
        progress.publishers_ready.load(Ordering::Relaxed) >= publishers
    })
    .await?;

    for (room, feeds) in room_feeds.iter().enumerate() {
        for i in 0..config.subscribers {
            spawn(room, Role::Subscriber, i, feeds.clone());
            spawned += 1;
            tokio::time::sleep(pacing).await;
        }
    }
    let receivers = config.rooms
        * (config.subscribers
            + if config.all_to_all && config.publishers > 1 {
                config.publishers
            } else {
                0
            });
    let all_receiving = wait_for(
        &config,
        &progress,
        started,
        "receivers getting media",
        || progress.subscribers_ready.load(Ordering::Relaxed) >= receivers,
    )
    .await;
    if let Err(e) = &all_receiving {
        if progress.subscribers_ready.load(Ordering::Relaxed) == 0 {
            return Err(anyhow::anyhow!("{e:#}"));
        }
        eprintln!("loadtest: {e:#}; measuring with those that are");
    }
    let setup_secs = started.elapsed().as_secs_f64();

    // Measurement.
    phase_tx.send_replace(Phase::Measure);
    let generator_before = proc_stat::sample(None);
    let server_before = config.server_pid.map(|pid| proc_stat::sample(Some(pid)));
    let measure_start = Instant::now();
    let mut last_datagrams = progress.datagrams_received.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while measure_start.elapsed() < config.duration {
        let left = config.duration.saturating_sub(measure_start.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        if config.progress {
            let now = progress.datagrams_received.load(Ordering::Relaxed);
            eprintln!(
                "loadtest: {:>4.0} s measuring, {} datagrams/s in, {} receivers ready, {} failed",
                measure_start.elapsed().as_secs_f64(),
                now - last_datagrams,
                progress.subscribers_ready.load(Ordering::Relaxed),
                progress.failed.load(Ordering::Relaxed),
            );
            last_datagrams = now;
        }
    }
    let window = measure_start.elapsed();
    let generator_after = proc_stat::sample(None);
    let server_after = config.server_pid.map(|pid| proc_stat::sample(Some(pid)));
    phase_tx.send_replace(Phase::Stop);
    drop(report_tx);

    let mut clients = Vec::with_capacity(spawned);
    let collect_deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while clients.len() < spawned {
        match tokio::time::timeout_at(collect_deadline, report_rx.recv()).await {
            Ok(Some(report)) => clients.push(report),
            Ok(None) | Err(_) => break,
        }
    }
    let cpu = |before: &anyhow::Result<proc_stat::Sample>,
               after: &anyhow::Result<proc_stat::Sample>| {
        match (before, after) {
            (Ok(b), Ok(a)) => Some(report::ProcessFigures::between(b, a, window)),
            _ => None,
        }
    };
    let generator = cpu(&generator_before, &generator_after);
    let server = match (&server_before, &server_after) {
        (Some(b), Some(a)) => cpu(b, a),
        _ => None,
    };
    Ok(Report::new(
        &config,
        window,
        setup_secs,
        &clients,
        config.expected_video_streams(),
        generator,
        server,
    ))
}

/// Waits until `done`, printing progress, or fails after the set-up timeout.
async fn wait_for(
    config: &LoadConfig,
    progress: &Progress,
    started: Instant,
    what: &str,
    done: impl Fn() -> bool,
) -> anyhow::Result<()> {
    let deadline = started + config.setup_timeout;
    let mut last_print = Instant::now();
    loop {
        if done() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "set-up timed out after {:.0} s waiting for {what}: {} publishers sending, {} receivers getting media, {} failed",
                config.setup_timeout.as_secs_f64(),
                progress.publishers_ready.load(Ordering::Relaxed),
                progress.subscribers_ready.load(Ordering::Relaxed),
                progress.failed.load(Ordering::Relaxed),
            );
        }
        if config.progress && last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            eprintln!(
                "loadtest: {:>4.0} s set-up, waiting for {what}: {} publishers sending, {} receivers getting media, {} failed",
                started.elapsed().as_secs_f64(),
                progress.publishers_ready.load(Ordering::Relaxed),
                progress.subscribers_ready.load(Ordering::Relaxed),
                progress.failed.load(Ordering::Relaxed),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
