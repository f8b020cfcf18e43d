//! Configuration: the TOML file, the signing secret, and the resolved
//! settings `serve` runs with.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use hotline_auth::Secret;
use serde::Deserialize;

use crate::cli::ServeArgs;

/// What a config file sets for one room (`[presets.NAME]`); a token
/// cannot change it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomPreset {
    /// Its interpretation languages, e.g. `["ru", "en"]`.
    #[serde(default)]
    pub languages: Vec<hotline_auth::Language>,
    /// Whether it starts with its lobby on.
    #[serde(default)]
    pub lobby: bool,
    /// Whether it is end-to-end encrypted (no token can turn it off).
    #[serde(default)]
    pub e2ee: bool,
}

/// Keys of the TOML config file; each mirrors a flag of `hotline serve`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub dev: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub public_ip: Option<IpAddr>,
    /// Seconds of silence after which a participant is removed.
    pub disconnect_timeout: Option<u64>,
    /// The signing secret (HOTLINE_SECRET wins over it).
    pub secret: Option<String>,
    /// Create rooms on first join [default: true].
    pub auto_create_rooms: Option<bool>,
    /// Rooms that exist even when `auto_create_rooms` is false.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// How particular rooms behave (`[presets.NAME]`); a preset's room
    /// exists even when `auto_create_rooms` is false.
    #[serde(default)]
    pub presets: std::collections::BTreeMap<String, RoomPreset>,
    pub max_participants_per_room: Option<usize>,
    /// Most rooms open at once [default: 1000].
    pub max_rooms: Option<usize>,
    /// TCP port for ICE over TCP [default: the HTTP port + 1].
    pub ice_tcp_port: Option<u16>,
    /// Port of the embedded TURN relay, UDP and TCP [default: the HTTP port + 2].
    pub turn_port: Option<u16>,
    /// Port for TURN over TLS, with the server's certificate [default: none].
    pub turn_tls_port: Option<u16>,
    /// Run the embedded TURN relay [default: true].
    pub turn: Option<bool>,
    /// Seconds calls may go on after SIGTERM before the server exits [default: 30].
    pub shutdown_grace: Option<u64>,
    /// HTTP requests a second from one address [default: 50].
    pub http_requests_per_second: Option<u32>,
    /// WebSocket connections a second from one address [default: 5].
    pub websocket_connects_per_second: Option<u32>,
    /// Reverse proxies whose X-Forwarded-For names the client [default: none].
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// The scheduled calls' SQLite database [default: schedule.db in the
    /// data directory].
    pub schedule_db: Option<PathBuf>,
    /// Where to POST a scheduled call's time when every party approves
    /// announcing it [default: nowhere].
    pub schedule_webhook_url: Option<String>,
    /// The key its HMAC-SHA256 signature is made with (at least 16
    /// characters); needed with the URL.
    pub schedule_webhook_secret: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in config file {}", path.display()))
    }
}

pub fn default_data_dir() -> PathBuf {
    PathBuf::from("hotline-data")
}

/// Where a generated secret is kept.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secret")
}

/// The signing secret from HOTLINE_SECRET, the config file, or the data
/// directory, in that order. `None` when there is none yet.
pub fn load_secret(from_file: Option<&str>, data_dir: &Path) -> anyhow::Result<Option<Secret>> {
    if let Ok(text) = std::env::var("HOTLINE_SECRET") {
        return Ok(Some(
            Secret::new(text.into_bytes()).context("HOTLINE_SECRET must be at least 32 bytes")?,
        ));
    }
    if let Some(text) = from_file {
        return Ok(Some(
            Secret::new(text.as_bytes().to_vec())
                .context("config `secret` must be at least 32 bytes")?,
        ));
    }
    let path = secret_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(
            Secret::new(text.trim().as_bytes().to_vec())
                .with_context(|| format!("secret in {} is too short", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes a new random secret to the data directory, readable by the owner only.
pub fn generate_secret(data_dir: &Path) -> anyhow::Result<(Secret, PathBuf)> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let path = secret_path(data_dir);
    let text = Secret::generate_text();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    let secret = Secret::new(text.into_bytes()).context("generated secret")?;
    Ok((secret, path))
}

/// Room names appear in URLs and logs: keep them short and plain.
pub fn validate_room_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "room name `{name}` must be 1 to 64 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// Everything `serve` needs, resolved from flags, environment and file.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dev: bool,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub public_ip: Option<IpAddr>,
    pub disconnect_timeout: Duration,
    pub secret_from_file: Option<String>,
    pub auto_create_rooms: bool,
    pub rooms: Vec<String>,
    pub presets: std::collections::BTreeMap<String, RoomPreset>,
    pub max_participants_per_room: usize,
    pub max_rooms: usize,
    /// `None`: the HTTP port + 1 (ephemeral when the HTTP port is).
    pub ice_tcp_port: Option<u16>,
    /// The embedded TURN relay: off, or on with its ports.
    pub turn: Option<TurnPorts>,
    pub shutdown_grace: Duration,
    pub http_requests_per_second: u32,
    pub websocket_connects_per_second: u32,
    pub trusted_proxies: Vec<IpAddr>,
    /// The scheduled calls' database; `None`: `schedule.db` in the data
    /// directory.
    pub schedule_db: Option<PathBuf>,
    /// The time scheduled calls are negotiated against (tests move it).
    pub clock: hotline_schedule::Clock,
    /// Where announced times are sent.
    pub schedule_webhook: Option<crate::webhook::Webhook>,
}

/// Where the embedded TURN relay listens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnPorts {
    /// UDP and TCP; `None`: the HTTP port + 2 (ephemeral when the HTTP port is).
    pub port: Option<u16>,
    /// TURN over TLS, only with a TLS certificate.
    pub tls_port: Option<u16>,
}

impl ServerConfig {
    /// The defaults, listening on `listen` with state in `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            dev: false,
            tls: None,
            public_ip: None,
            disconnect_timeout: Duration::from_secs(20),
            secret_from_file: None,
            auto_create_rooms: true,
            rooms: Vec::new(),
            presets: Default::default(),
            max_participants_per_room: 100,
            max_rooms: 1000,
            ice_tcp_port: None,
            turn: Some(TurnPorts::default()),
            shutdown_grace: Duration::from_secs(30),
            http_requests_per_second: 50,
            websocket_connects_per_second: 5,
            trusted_proxies: Vec::new(),
            schedule_db: None,
            clock: hotline_schedule::Clock::system(),
            schedule_webhook: None,
        }
    }

    pub fn resolve(args: ServeArgs) -> anyhow::Result<ServerConfig> {
        let file = FileConfig::load(args.config.as_deref())?;
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => anyhow::bail!("TLS needs both a certificate and a key"),
        };
        if tls.is_none() && args.turn_tls_port.or(file.turn_tls_port).is_some() {
            anyhow::bail!(
                "TURN over TLS needs the server's certificate: set --tls-cert and --tls-key"
            );
        }
        for room in file.rooms.iter().chain(file.presets.keys()) {
            validate_room_name(room).map_err(anyhow::Error::msg)?;
        }
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        let defaults = ServerConfig::new(listen, data_dir);
        Ok(ServerConfig {
            dev: args.dev || file.dev.unwrap_or(false),
            tls,
            public_ip: args.public_ip.or(file.public_ip),
            disconnect_timeout: args
                .disconnect_timeout
                .or(file.disconnect_timeout)
                .map_or(defaults.disconnect_timeout, |s| {
                    Duration::from_secs(s.max(1))
                }),
            secret_from_file: file.secret,
            auto_create_rooms: file.auto_create_rooms.unwrap_or(defaults.auto_create_rooms),
            rooms: file.rooms,
            presets: file.presets,
            max_participants_per_room: file
                .max_participants_per_room
                .unwrap_or(defaults.max_participants_per_room),
            max_rooms: file.max_rooms.unwrap_or(defaults.max_rooms),
            ice_tcp_port: args.ice_tcp_port.or(file.ice_tcp_port),
            turn: (!args.no_turn && file.turn.unwrap_or(true)).then(|| TurnPorts {
                port: args.turn_port.or(file.turn_port),
                tls_port: args.turn_tls_port.or(file.turn_tls_port),
            }),
            shutdown_grace: args
                .shutdown_grace
                .or(file.shutdown_grace)
                .map_or(defaults.shutdown_grace, Duration::from_secs),
            http_requests_per_second: file
                .http_requests_per_second
                .unwrap_or(defaults.http_requests_per_second),
            websocket_connects_per_second: file
                .websocket_connects_per_second
                .unwrap_or(defaults.websocket_connects_per_second),
            trusted_proxies: if args.trusted_proxy.is_empty() {
                file.trusted_proxies
            } else {
                args.trusted_proxy
            },
            schedule_webhook: match (&file.schedule_webhook_url, &file.schedule_webhook_secret) {
                (Some(url), Some(secret)) => {
                    Some(crate::webhook::Webhook::new(url, secret).map_err(anyhow::Error::msg)?)
                }
                (None, None) => None,
                _ => anyhow::bail!("schedule_webhook_url and schedule_webhook_secret go together"),
            },
            schedule_db: file.schedule_db,
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_plain() {
        assert!(validate_room_name("board-room_1.a").is_ok());
        for bad in ["", "a b", "../x", "ü", &"x".repeat(65)] {
            assert!(validate_room_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_file_rejects_unknown_keys() {
        assert!(toml::from_str::<FileConfig>("listen = \"127.0.0.1:1\"\nbogus = 1").is_err());
        let c: FileConfig =
            toml::from_str("rooms = [\"a\"]\nauto_create_rooms = false\ndisconnect_timeout = 5")
                .unwrap();
        assert_eq!(c.rooms, ["a"]);
        assert_eq!(c.disconnect_timeout, Some(5));
        let c: FileConfig =
            toml::from_str("[presets.summit]\nlanguages = [\"ru\", \"EN\"]\nlobby = true").unwrap();
        let summit = &c.presets["summit"];
        assert!(summit.lobby);
        assert_eq!(
            summit
                .languages
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>(),
            ["ru", "en"]
        );
        assert!(
            toml::from_str::<FileConfig>("[presets.summit]\nlanguages = [\"русский\"]").is_err()
        );
        assert!(toml::from_str::<FileConfig>("[presets.summit]\nbogus = 1").is_err());
    }

    #[test]
    fn generated_secret_is_private_and_found_again() {
        let dir = std::env::temp_dir().join(format!("hotline-secret-{}", rand::random::<u64>()));
        let (_, path) = generate_secret(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        if std::env::var("HOTLINE_SECRET").is_err() {
            assert!(load_secret(None, &dir).unwrap().is_some());
        }
        assert!(generate_secret(&dir).is_err(), "never overwrites a secret");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
