//! HTTP routes: the web client, a small JSON API, and the signaling socket.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hotline_auth::{Grants, Secret, TokenRequest};
use hotline_proto::stats::RoomStats;
use hotline_proto::{MAX_MESSAGE_BYTES, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use tracing::{debug, info};

use crate::audit::AuditLog;
use crate::limits::PerIpLimiter;
use crate::media::MediaHandle;
use crate::turn::RelayDirectory;

#[derive(Clone)]
pub struct AppState {
    pub secret: Arc<Secret>,
    pub media: MediaHandle,
    pub dev: bool,
    /// False once shutting down: `/readyz` fails and joins are refused.
    pub accepting: Arc<AtomicBool>,
    pub audit: AuditLog,
    pub http_limit: Arc<PerIpLimiter>,
    pub websocket_limit: Arc<PerIpLimiter>,
    /// The embedded TURN relay, when it runs.
    pub relays: Option<RelayDirectory>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// Scheduled calls.
    pub schedule: crate::schedule_api::ScheduleState,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/config", get(client_config))
        .route("/api/dev/token", post(dev_token))
        .route("/api/dev/organizer-token", post(dev_organizer_token))
        .route("/api/rooms/{room}/stats", get(room_stats))
        .merge(crate::schedule_api::routes())
        .fallback(get(static_file))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let client = request_client_ip(&state, remote, &headers);
    let page_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_name)
        .map(str::to_owned);
    // Frames over the protocol's limit never reach the parser; a little
    // headroom lets the parser answer 1009 itself for most oversized messages.
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES * 4)
        .max_frame_size(MAX_MESSAGE_BYTES * 4)
        .on_upgrade(move |socket| crate::signaling::handle_socket(socket, state, client, page_host))
}

/// Alive: the process answers.
/// The host name of a `Host` header (without its port), when it is a
/// plain name or address: it goes into relay URLs.
pub fn host_name(host: &str) -> Option<&str> {
    let name = match host.strip_prefix('[') {
        Some(rest) => &host[..rest.find(']')? + 2],
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!name.is_empty() && name.len() <= 253 && name.chars().all(plain)).then_some(name)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready: accepting joins (not shutting down).
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.accepting.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    }
}

/// Refuses clients that send requests (or open WebSockets) faster than the
/// per-address limits.
/// The address of the client: the connection's, or, when that is a trusted
/// reverse proxy, the last address in `X-Forwarded-For` that is not one of
/// the trusted proxies (earlier entries are the client's own claims).
pub fn client_ip(remote: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&remote) {
        return remote;
    }
    let Some(list) = forwarded_for else {
        return remote;
    };
    for entry in list.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            Err(_) => return remote,
        }
    }
    remote
}

fn request_client_ip(
    state: &AppState,
    remote: SocketAddr,
    headers: &axum::http::HeaderMap,
) -> IpAddr {
    let forwarded = headers.get("x-forwarded-for").and_then(|h| h.to_str().ok());
    client_ip(remote.ip(), forwarded, &state.trusted_proxies)
}

async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    let ip = request_client_ip(&state, remote, request.headers());
    let allowed = state.http_limit.check(ip, now)
        && (request.uri().path() != "/ws" || state.websocket_limit.check(ip, now));
    if !allowed {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "too many requests: try again in a moment",
        )
            .into_response();
    }
    next.run(request).await
}

async fn static_file(uri: Uri) -> Response {
    crate::web::serve_file(uri.path())
}

#[derive(Serialize)]
struct ClientConfig {
    dev: bool,
    protocol_version: u32,
}

async fn client_config(State(state): State<AppState>) -> Json<ClientConfig> {
    Json(ClientConfig {
        dev: state.dev,
        protocol_version: PROTOCOL_VERSION,
    })
}

/// The verified claims of the `Authorization: Bearer TOKEN` header; 401
/// saying what to send (`wanted`) without one, or why the token is refused.
pub(crate) fn bearer_claims(
    headers: &axum::http::HeaderMap,
    secret: &Secret,
    wanted: &str,
) -> Result<hotline_auth::Claims, (StatusCode, String)> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or((
            StatusCode::UNAUTHORIZED,
            format!("send {wanted}: Authorization: Bearer TOKEN"),
        ))?;
    hotline_auth::verify(token.trim(), secret, crate::cli::unix_now())
        .map_err(|e| (StatusCode::UNAUTHORIZED, format!("token refused: {e}")))
}

#[derive(Serialize)]
struct DevOrganizerToken {
    token: String,
}

/// In `--dev` mode only: an organizer's credential for scheduled calls, so
/// that the start page can offer to plan one. Each gets its own identity
/// (the calls it creates are its own).
async fn dev_organizer_token(
    State(state): State<AppState>,
) -> Result<Json<DevOrganizerToken>, (StatusCode, String)> {
    if !state.dev {
        return Err((StatusCode::NOT_FOUND, "not found".into()));
    }
    let identity = format!("dev-organizer-{:08x}", rand::random::<u32>());
    let token = TokenRequest {
        room: hotline_auth::ORGANIZER_ROOM.to_string(),
        identity: identity.clone(),
        name: None,
        ttl_secs: 6 * 3600,
        languages: Vec::new(),
        e2ee: false,
        grants: Grants::organizer(),
    }
    .mint(&state.secret, crate::cli::unix_now());
    info!(%identity, "dev organizer token minted");
    Ok(Json(DevOrganizerToken { token }))
}

/// `GET /api/rooms/{room}/stats`: the room's live stats (which layer each
/// subscriber gets and why, its estimate, loss and copies), for a bearer
/// token of that room with the `inspect` grant. Never cached.
async fn room_stats(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<([(header::HeaderName, &'static str); 1], Json<RoomStats>), (StatusCode, String)> {
    let claims = bearer_claims(&headers, &state.secret, "a token with the inspect grant")?;
    if claims.room != room || !claims.grants.inspect {
        return Err((
            StatusCode::FORBIDDEN,
            "this token does not allow reading this room's stats".to_string(),
        ));
    }
    debug!(%room, identity = %claims.sub, "room stats read");
    let stats = state.media.stats(room).await.ok_or((
        StatusCode::NOT_FOUND,
        "no such room: a room exists while someone is in it".to_string(),
    ))?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(stats)))
}

/// The body of `POST /api/dev/token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    pub name: String,
    pub room: String,
}

impl DevTokenRequest {
    /// Parses and checks a request body; the error is said to the user.
    pub fn parse(body: &[u8]) -> Result<DevTokenRequest, String> {
        let mut req: DevTokenRequest = serde_json::from_slice(body)
            .map_err(|_| "send JSON with a display name and a room".to_string())?;
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err("a display name must have 1 to 64 characters".into());
        }
        req.name = name.to_string();
        crate::config::validate_room_name(&req.room)?;
        Ok(req)
    }
}

#[derive(Serialize)]
struct DevTokenResponse {
    token: String,
    room: String,
    identity: String,
}

/// In `--dev` mode only: anyone may mint a token for any room.
async fn dev_token(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<DevTokenResponse>, (StatusCode, String)> {
    if !state.dev {
        return Err((StatusCode::NOT_FOUND, "not found".into()));
    }
    let req = DevTokenRequest::parse(&body).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let name = req.name.as_str();
    let identity = format!("dev-{:08x}", rand::random::<u32>());
    let token = TokenRequest {
        room: req.room.clone(),
        identity: identity.clone(),
        name: Some(name.to_string()),
        ttl_secs: 6 * 3600,
        languages: Vec::new(),
        e2ee: false,
        grants: Grants::default(),
    }
    .mint(&state.secret, crate::cli::unix_now());
    info!(room = %req.room, %identity, "dev token minted");
    Ok(Json(DevTokenResponse {
        token,
        room: req.room,
        identity,
    }))
}

/// A request path as it may be logged: the capability keys of scheduled
/// calls' links (a party's, a member's) are credentials, and are left out.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/party/", "/api/parties/", "/join/", "/api/members/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}…{tail}");
        }
    }
    path.to_string()
}

/// Adds headers every response needs, and logs the request by path only:
/// query strings may carry tokens and are never logged, nor are the keys of
/// capability links.
async fn security_headers(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let mut response = next.run(request).await;
    debug!(%method, %path, status = response.status().as_u16(), "http");
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::{client_ip, host_name, loggable_path, DevTokenRequest};

    #[test]
    fn capability_keys_are_left_out_of_logged_paths() {
        assert_eq!(loggable_path("/party/SECRET"), "/party/…");
        assert_eq!(
            loggable_path("/api/parties/SECRET/windows"),
            "/api/parties/…/windows"
        );
        assert_eq!(
            loggable_path("/api/members/SECRET/invite.ics"),
            "/api/members/…/invite.ics"
        );
        assert_eq!(loggable_path("/join/SECRET"), "/join/…");
        assert_eq!(loggable_path("/room/board"), "/room/board");
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy = "10.0.0.1".parse().unwrap();
        let client: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let stranger = "198.51.100.9".parse().unwrap();
        // Not from the proxy: the header is anyone's claim.
        assert_eq!(client_ip(stranger, Some("1.2.3.4"), &[proxy]), stranger);
        assert_eq!(client_ip(proxy, Some("203.0.113.7"), &[proxy]), client);
        // The client's own claim comes first; the proxy appends the truth.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 203.0.113.7"), &[proxy]),
            client
        );
        assert_eq!(
            client_ip(proxy, Some("203.0.113.7, 10.0.0.1"), &[proxy]),
            client
        );
        assert_eq!(client_ip(proxy, None, &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("junk"), &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("203.0.113.7"), &[]), proxy);
    }

    #[test]
    fn dev_token_requests_are_checked() {
        let ok = DevTokenRequest::parse(br#"{"name":"  Ann ","room":"r1"}"#).unwrap();
        assert_eq!((ok.name.as_str(), ok.room.as_str()), ("Ann", "r1"));
        for bad in [
            &b""[..],
            b"{",
            br#"{"name":"","room":"r"}"#,
            br#"{"name":"a","room":"../x"}"#,
            br#"{"name":"a","room":"r","admin":true}"#,
        ] {
            assert!(DevTokenRequest::parse(bad).is_err());
        }
    }

    #[test]
    fn host_names_lose_their_port_and_junk_is_refused() {
        assert_eq!(host_name("call.example.org:8443"), Some("call.example.org"));
        assert_eq!(host_name("call.example.org"), Some("call.example.org"));
        assert_eq!(host_name("10.0.0.1:80"), Some("10.0.0.1"));
        assert_eq!(host_name("[2001:db8::1]:443"), Some("[2001:db8::1]"));
        assert_eq!(host_name("[2001:db8::1"), None);
        assert_eq!(host_name("evil.org/x?y"), None);
        assert_eq!(host_name(":80"), None);
    }
}
