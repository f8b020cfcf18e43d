//! `hotline loadtest`: the command line of the load generator
//! (`hotline-loadgen`), its figures on stdout and optionally in JSON.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use hotline_loadgen::{LoadConfig, Target};
use hotline_testkit::VideoShape;

use crate::cli::{existing_secret, parse_duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Hotline,
    /// Janus's VideoRoom plugin over its WebSocket API (`--url ws://HOST:8188`).
    Janus,
}

#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// Which server to load.
    #[arg(long, value_enum, default_value = "hotline")]
    pub target: TargetArg,
    /// The server: http://HOST:PORT for Hotline, ws://HOST:PORT for Janus.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Room name (Hotline) or number (Janus); several rooms get suffixes.
    #[arg(long, default_value = "loadtest")]
    pub room: String,
    /// Rooms loaded at once, each with the same participants.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Participants per room that send audio and video.
    #[arg(long, default_value_t = 1)]
    pub publishers: usize,
    /// Participants per room that only receive.
    #[arg(long, default_value_t = 10)]
    pub subscribers: usize,
    /// Publishers also receive each other, as in a meeting.
    #[arg(long)]
    pub all_to_all: bool,
    /// How long to measure, after everyone receives media.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Video bitrate of each publisher: bits per second, with k or m.
    #[arg(long, default_value = "1500k", value_parser = parse_bitrate)]
    pub video_bitrate: u32,
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// Count received packets from RTP headers and decrypt only a sample
    /// (for delay): lets one core receive thousands of streams. Turns off
    /// retransmission requests.
    #[arg(long)]
    pub cheap: bool,
    /// Have Hotline estimate each receiver's bandwidth, as it does for
    /// browsers (it then paces what it sends them). Off by default: the
    /// load's single-layer video has no layers to choose between. Not with
    /// --cheap.
    #[arg(long, conflicts_with = "cheap")]
    pub estimate_bandwidth: bool,
    /// Publishers send three simulcast layers (quarter, half and full size
    /// at a tenth, a third and all of --video-bitrate), as browsers do.
    #[arg(long)]
    pub simulcast: bool,
    /// Also write the figures to this JSON file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A server process to sample CPU time and memory of (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Longest time joining may take before measuring starts anyway.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub setup_timeout: Duration,
    /// Participants started per second while joining.
    #[arg(long, default_value_t = 200)]
    pub join_rate: u32,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Config file whose secret (or data directory) signs Hotline tokens.
    #[arg(long, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "HOTLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Parses `1500k`, `1.5m` or plain bits per second.
pub fn parse_bitrate(text: &str) -> Result<u32, String> {
    let text = text.trim().to_ascii_lowercase();
    let (number, scale) = match text.strip_suffix('k') {
        Some(n) => (n, 1e3),
        None => match text.strip_suffix('m') {
            Some(n) => (n, 1e6),
            None => (text.as_str(), 1.0),
        },
    };
    let bps = number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|bps| (8_000.0..=50e6).contains(bps))
        .ok_or_else(|| format!("`{text}` is not a bitrate between 8k and 50m, like 1500k"))?;
    Ok(bps as u32)
}

pub fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    let target = match args.target {
        TargetArg::Hotline => Target::Hotline,
        TargetArg::Janus => Target::Janus,
    };
    let secret = match target {
        Target::Hotline => Some(existing_secret(args.config.as_deref(), args.data_dir)?),
        Target::Janus => None,
    };
    if target == Target::Hotline {
        crate::config::validate_room_name(&args.room).map_err(anyhow::Error::msg)?;
    }
    let config = LoadConfig {
        target,
        url: args.url,
        room: args.room,
        rooms: args.rooms.max(1),
        publishers: args.publishers,
        subscribers: args.subscribers,
        all_to_all: args.all_to_all,
        duration: args.duration,
        video: VideoShape {
            bitrate_bps: args.video_bitrate,
            fps: args.fps,
            // A simulcast camera's full layer is HD, as the browser's is.
            width: if args.simulcast { 1280 } else { 640 },
            height: if args.simulcast { 720 } else { 360 },
            ..VideoShape::default()
        },
        count_headers_only: args.cheap,
        estimate_bandwidth: args.estimate_bandwidth,
        simulcast: args.simulcast,
        secret,
        server_pid: args.server_pid,
        setup_timeout: args.setup_timeout,
        join_rate: args.join_rate,
        progress: !args.quiet,
    };
    let report = hotline_loadgen::run(config)?;
    print!("{report}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.ok {
        anyhow::bail!("no media flowed during the measurement");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_parse_with_units() {
        assert_eq!(parse_bitrate("1500k"), Ok(1_500_000));
        assert_eq!(parse_bitrate("1.5m"), Ok(1_500_000));
        assert_eq!(parse_bitrate("300000"), Ok(300_000));
        assert!(parse_bitrate("fast").is_err());
        assert!(parse_bitrate("1k").is_err());
        assert!(parse_bitrate("100m").is_err());
    }
}
