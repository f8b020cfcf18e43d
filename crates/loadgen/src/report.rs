//! What a run measured: summed over participants, printed as a table and
//! written as JSON.

use std::fmt;
use std::time::Duration;

use hotline_proto::TrackKind;
use serde::Serialize;

use crate::participant::ClientReport;
use crate::proc_stat::Sample;
use crate::LoadConfig;

/// CPU and memory of one process over the measurement window.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcessFigures {
    /// CPU seconds used per second of wall time (1.0 = one core busy).
    pub cpu_s_per_s: f64,
    pub rss_kib_start: u64,
    pub rss_kib_end: u64,
}

impl ProcessFigures {
    pub(crate) fn between(before: &Sample, after: &Sample, window: Duration) -> ProcessFigures {
        let wall = after.at.duration_since(before.at).max(window).as_secs_f64();
        ProcessFigures {
            cpu_s_per_s: (after.cpu_secs - before.cpu_secs).max(0.0) / wall.max(1e-9),
            rss_kib_start: before.rss_kib,
            rss_kib_end: after.rss_kib,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DelayFigures {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub samples: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: &'static str,
    pub url: String,
    pub rooms: usize,
    pub publishers: usize,
    pub subscribers: usize,
    pub all_to_all: bool,
    pub video_bitrate_bps: u32,
    pub fps: u32,
    pub count_headers_only: bool,
    pub estimate_bandwidth: bool,
    pub simulcast: bool,
    pub setup_s: f64,
    pub duration_s: f64,
    /// Video streams that received media, summed over receivers.
    pub subscriber_streams: usize,
    /// Video streams the load should have produced.
    pub expected_streams: usize,
    pub audio_streams: usize,
    /// RTP packets written by the publishers.
    pub packets_sent: u64,
    /// RTP packets received by all receivers (what the server forwarded).
    pub packets_received: u64,
    pub packets_received_per_s: f64,
    pub packets_lost: u64,
    pub loss_pct: f64,
    pub out_of_order: u64,
    pub delay_ms: DelayFigures,
    /// Gaps over 500 ms between video frames.
    pub freezes: u64,
    pub failures: Vec<String>,
    pub generator: Option<ProcessFigures>,
    pub server: Option<ProcessFigures>,
    /// Server CPU microseconds per packet received by the generator.
    pub server_cpu_us_per_packet: Option<f64>,
    /// Media flowed during the measurement.
    pub ok: bool,
}

/// At most this many failure messages are kept in a report.
const MAX_FAILURES: usize = 20;

impl Report {
    pub(crate) fn new(
        config: &LoadConfig,
        window: Duration,
        setup_s: f64,
        clients: &[ClientReport],
        expected_streams: usize,
        generator: Option<ProcessFigures>,
        server: Option<ProcessFigures>,
    ) -> Report {
        let mut delays: Vec<u32> = Vec::new();
        let (mut received, mut lost, mut out_of_order, mut freezes) = (0, 0, 0, 0);
        let (mut video, mut audio) = (0, 0);
        for (kind, counter) in clients.iter().flat_map(|c| &c.streams) {
            received += counter.packets;
            lost += counter.lost();
            out_of_order += counter.out_of_order;
            freezes += counter.freezes;
            delays.extend_from_slice(&counter.delays_us);
            if counter.packets > 0 {
                match kind {
                    TrackKind::Video => video += 1,
                    TrackKind::Audio => audio += 1,
                }
            }
        }
        delays.sort_unstable();
        let percentile = |p: f64| {
            if delays.is_empty() {
                return 0.0;
            }
            let at = ((delays.len() - 1) as f64 * p).round() as usize;
            f64::from(delays[at]) / 1000.0
        };
        let duration_s = window.as_secs_f64();
        let server_cpu_us_per_packet = server
            .filter(|_| received > 0)
            .map(|s| s.cpu_s_per_s * duration_s * 1e6 / received as f64);
        Report {
            target: config.target.name(),
            url: config.url.clone(),
            rooms: config.rooms,
            publishers: config.publishers,
            subscribers: config.subscribers,
            all_to_all: config.all_to_all,
            video_bitrate_bps: config.video.bitrate_bps,
            fps: config.video.fps,
            count_headers_only: config.count_headers_only,
            estimate_bandwidth: config.estimate_bandwidth && !config.count_headers_only,
            simulcast: config.simulcast,
            setup_s,
            duration_s,
            subscriber_streams: video,
            expected_streams,
            audio_streams: audio,
            packets_sent: clients.iter().map(|c| c.packets_sent).sum(),
            packets_received: received,
            packets_received_per_s: received as f64 / duration_s.max(1e-9),
            packets_lost: lost,
            loss_pct: if received + lost > 0 {
                100.0 * lost as f64 / (received + lost) as f64
            } else {
                0.0
            },
            out_of_order,
            delay_ms: DelayFigures {
                p50: percentile(0.5),
                p90: percentile(0.9),
                p99: percentile(0.99),
                max: percentile(1.0),
                samples: delays.len(),
            },
            freezes,
            failures: clients
                .iter()
                .flat_map(|c| c.failures.iter().cloned())
                .take(MAX_FAILURES)
                .collect(),
            generator,
            server,
            server_cpu_us_per_packet,
            ok: received > 0,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = if self.all_to_all {
            format!("{} participants all to all", self.publishers)
        } else {
            format!(
                "{} publisher(s), {} subscriber(s)",
                self.publishers, self.subscribers
            )
        };
        writeln!(
            f,
            "Load test of {} ({}): {} room(s) of {shape}; video {} kbit/s at {} fps{}{}; {:.1} s measured after {:.1} s of set-up",
            self.target,
            self.url,
            self.rooms,
            self.video_bitrate_bps / 1000,
            self.fps,
            if self.simulcast { ", 3 simulcast layers" } else { "" },
            if self.estimate_bandwidth { ", receivers' bandwidth estimated" } else { "" },
            self.duration_s,
            self.setup_s,
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: String| {
            writeln!(f, "  {name:<26} {value}")
        };
        row(
            f,
            "subscriber video streams",
            format!("{} of {}", self.subscriber_streams, self.expected_streams),
        )?;
        row(f, "packets sent", self.packets_sent.to_string())?;
        row(
            f,
            "packets received",
            format!(
                "{} ({:.0}/s)",
                self.packets_received, self.packets_received_per_s
            ),
        )?;
        row(
            f,
            "loss",
            format!("{:.3} % ({} packets)", self.loss_pct, self.packets_lost),
        )?;
        row(f, "out of order", self.out_of_order.to_string())?;
        row(
            f,
            "one-way delay",
            format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
                self.delay_ms.p50, self.delay_ms.p99, self.delay_ms.max, self.delay_ms.samples
            ),
        )?;
        row(f, "freezes (> 500 ms)", self.freezes.to_string())?;
        if let Some(g) = &self.generator {
            row(f, "generator CPU", format!("{:.2} s/s", g.cpu_s_per_s))?;
        }
        if let Some(s) = &self.server {
            let per_packet = self
                .server_cpu_us_per_packet
                .map(|us| format!(", {us:.1} µs per received packet"))
                .unwrap_or_default();
            row(
                f,
                "server CPU",
                format!(
                    "{:.3} s/s{per_packet}; RSS {} → {} KiB",
                    s.cpu_s_per_s, s.rss_kib_start, s.rss_kib_end
                ),
            )?;
        }
        if !self.failures.is_empty() {
            writeln!(f, "  failures:")?;
            for failure in &self.failures {
                writeln!(f, "    {failure}")?;
            }
        }
        if !self.ok {
            writeln!(f, "  NO MEDIA FLOWED")?;
        }
        Ok(())
    }
}
