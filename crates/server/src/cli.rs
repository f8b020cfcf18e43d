//! Command-line interface. Every `serve` flag also has an environment
//! variable and a key in the TOML config file; flags win over variables,
//! variables over the file, the file over defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hotline_auth::{Grants, Language, TokenRequest};

use crate::config::{load_secret, FileConfig};

#[derive(Debug, Parser)]
#[command(name = "hotline", version, about = "Secure, self-hosted video calls")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server and its web client.
    Serve(ServeArgs),
    /// Print a signed access token for one room and identity.
    Token(TokenArgs),
    /// Load a server (Hotline, or Janus for comparison) with simulated
    /// participants and measure what they receive.
    Loadtest(crate::loadtest::LoadtestArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP address; media uses UDP on the same port number (or an
    /// ephemeral one when this port is 0).
    #[arg(long, env = "HOTLINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// TOML configuration file.
    #[arg(long, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the generated secret and other state live [default: ./hotline-data].
    #[arg(long, env = "HOTLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Development mode: the start page mints tokens for anyone. Never in production.
    #[arg(long, env = "HOTLINE_DEV")]
    pub dev: bool,
    /// PEM certificate chain: serve HTTPS directly.
    #[arg(long, env = "HOTLINE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "HOTLINE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// IP address announced to browsers for media, when listening on 0.0.0.0.
    #[arg(long, env = "HOTLINE_PUBLIC_IP")]
    pub public_ip: Option<std::net::IpAddr>,
    /// Seconds of silence after which a participant is removed [default: 20].
    #[arg(long, env = "HOTLINE_DISCONNECT_TIMEOUT")]
    pub disconnect_timeout: Option<u64>,
    /// TCP port for ICE over TCP, used when a network blocks UDP [default: the HTTP port + 1].
    #[arg(long, env = "HOTLINE_ICE_TCP_PORT")]
    pub ice_tcp_port: Option<u16>,
    /// Port of the embedded TURN relay, UDP and TCP [default: the HTTP port + 2].
    #[arg(long, env = "HOTLINE_TURN_PORT")]
    pub turn_port: Option<u16>,
    /// Port for TURN over TLS (e.g. 443), with the --tls-cert certificate [default: none].
    #[arg(long, env = "HOTLINE_TURN_TLS_PORT")]
    pub turn_tls_port: Option<u16>,
    /// Run without the embedded TURN relay.
    #[arg(long, env = "HOTLINE_NO_TURN")]
    pub no_turn: bool,
    /// A reverse proxy whose X-Forwarded-For header names the client (for
    /// per-address limits and the audit log); repeat or separate with commas.
    #[arg(long, env = "HOTLINE_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Seconds calls may go on after SIGTERM before the server exits [default: 30].
    #[arg(long, env = "HOTLINE_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long, required_unless_present = "organizer")]
    pub room: Option<String>,
    /// Stable identity of the participant (the same identity joining twice
    /// replaces the older session).
    #[arg(long)]
    pub identity: String,
    /// Display name [default: the identity].
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime: a number with s, m, h or d [default: 1h].
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    /// The holder may watch but not send audio or video.
    #[arg(long)]
    pub no_publish: bool,
    /// The holder may send but receives no media.
    #[arg(long)]
    pub no_subscribe: bool,
    /// The holder may not send chat messages.
    #[arg(long)]
    pub no_publish_data: bool,
    /// The holder may read the room's live stats (GET /api/rooms/ROOM/stats
    /// with the token as bearer): for operators.
    #[arg(long)]
    pub inspect: bool,
    /// The holder may mute or remove others and lock the room.
    #[arg(long)]
    pub host: bool,
    /// The room's interpretation languages, e.g. ru,en: taken when this
    /// token opens the room (the first to declare them decides).
    #[arg(long, value_delimiter = ',', value_parser = parse_language)]
    pub languages: Vec<Language>,
    /// The room is end-to-end encrypted when this token opens it: every
    /// browser encrypts its media and chat; the server cannot read them.
    #[arg(long)]
    pub e2ee: bool,
    /// An interpreter between two languages, e.g. ru:en: publishes audio
    /// only, on either language's channel. Declares both as the room's
    /// languages unless --languages says otherwise.
    #[arg(long, value_parser = parse_language_pair, conflicts_with = "no_publish")]
    pub interpret: Option<[Language; 2]>,
    /// An organizer's credential instead of an invitation: creates and
    /// manages scheduled calls (POST /api/calls with the token as bearer);
    /// it opens no room.
    #[arg(long, conflicts_with_all = ["room", "inspect", "host"])]
    pub organizer: bool,
    #[arg(long, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "HOTLINE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Parses a language tag like `en` or `pt-BR`.
pub fn parse_language(text: &str) -> Result<Language, String> {
    Language::parse(text.trim())
        .ok_or_else(|| format!("`{text}` is not a language tag like en or pt-BR"))
}

/// Parses an interpreter's language pair, `ru:en`.
fn parse_language_pair(text: &str) -> Result<[Language; 2], String> {
    let (a, b) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a language pair like ru:en"))?;
    let pair = [parse_language(a)?, parse_language(b)?];
    if pair[0] == pair[1] {
        return Err(format!("`{text}`: the two languages must differ"));
    }
    Ok(pair)
}

/// Parses `90s`, `15m`, `1h`, `2d` (or plain seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 1h or 2d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "`{text}` is not a duration like 90s, 15m, 1h or 2d"
            ))
        }
    };
    Ok(Duration::from_secs(secs))
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The secret a running server signs with, for commands that mint tokens.
pub fn existing_secret(
    config: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<hotline_auth::Secret> {
    let file = FileConfig::load(config)?;
    let data_dir = data_dir
        .or(file.data_dir.clone())
        .unwrap_or_else(crate::config::default_data_dir);
    load_secret(file.secret.as_deref(), &data_dir)?.context(
        "no signing secret: set HOTLINE_SECRET, or run `hotline serve` once to generate one in the data directory",
    )
}

/// `hotline token`: prints the token on stdout and nothing else.
pub fn mint_token(args: TokenArgs) -> anyhow::Result<()> {
    let secret = existing_secret(args.config.as_deref(), args.data_dir)?;
    let (room, grants) = match args.room {
        _ if args.organizer => (
            hotline_auth::ORGANIZER_ROOM.to_string(),
            Grants::organizer(),
        ),
        Some(room) => {
            crate::config::validate_room_name(&room).map_err(anyhow::Error::msg)?;
            let grants = Grants {
                publish: !args.no_publish,
                subscribe: !args.no_subscribe,
                publish_data: !args.no_publish_data,
                inspect: args.inspect,
                organize: false,
                host: args.host,
                interpret: args.interpret,
            };
            (room, grants)
        }
        None => anyhow::bail!("--room is needed (or --organizer)"),
    };
    let request = TokenRequest {
        room,
        identity: args.identity,
        name: args.name,
        ttl_secs: args.ttl.as_secs(),
        languages: match (args.languages.is_empty(), args.interpret) {
            (true, Some(pair)) => pair.to_vec(),
            _ => args.languages,
        },
        e2ee: args.e2ee,
        grants,
    };
    println!("{}", request.mint(&secret, unix_now()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("42"), Ok(Duration::from_secs(42)));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn language_pairs_parse() {
        let pair = parse_language_pair("ru:EN").unwrap();
        assert_eq!([pair[0].as_str(), pair[1].as_str()], ["ru", "en"]);
        assert!(parse_language_pair("ru").is_err());
        assert!(parse_language_pair("ru:ru").is_err());
        assert!(parse_language_pair("ru:english").is_err());
    }
}
