//! Helpers shared by the server's integration tests: a server on loopback,
//! tokens, and a WebSocket client that speaks the protocol.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hotline_auth::{Grants, Secret, TokenRequest};
use hotline_proto::{ClientMessage, ServerMessage};
use hotline_server::config::ServerConfig;
use hotline_server::serve::{start, RunningServer};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub fn secret() -> Secret {
    Secret::new(b"integration-test-secret-0123456789".to_vec()).unwrap()
}

/// A server on loopback with a fresh data directory, configured by `adjust`.
pub async fn server_with(adjust: impl FnOnce(&mut ServerConfig)) -> (RunningServer, PathBuf) {
    let dir = std::env::temp_dir().join(format!("hotline-test-{}", rand::random::<u64>()));
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.clone());
    adjust(&mut config);
    (start(config, secret()).await.expect("server starts"), dir)
}

pub fn token(room: &str, identity: &str, grants: Grants, ttl_secs: u64) -> String {
    TokenRequest {
        room: room.into(),
        identity: identity.into(),
        name: Some(identity.to_uppercase()),
        ttl_secs,
        languages: Vec::new(),
        e2ee: false,
        grants,
    }
    .mint(&secret(), hotline_server::cli::unix_now())
}

/// A `join` with a valid token for `identity` in `room`.
pub fn join_message(room: &str, identity: &str) -> ClientMessage {
    ClientMessage::Join {
        estimate_bandwidth: true,
        protocol_version: 1,
        token: token(room, identity, Grants::default(), 60),
        room: room.into(),
    }
}

pub async fn try_connect(addr: SocketAddr) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .map(|(ws, _)| ws)
}

pub async fn connect(addr: SocketAddr) -> Ws {
    try_connect(addr).await.expect("ws connects")
}

pub async fn send(ws: &mut Ws, message: &ClientMessage) {
    let text = serde_json::to_string(message).unwrap();
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The next server message for which `want` holds; panics if the
/// connection ends or nothing matches within 10 s.
pub async fn next_matching(ws: &mut Ws, want: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let m: ServerMessage = serde_json::from_str(&text).unwrap();
                    if want(&m) {
                        return m;
                    }
                }
                Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
                Some(Ok(_)) => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("message in time")
}

/// Reads one STUN or ChannelData frame from a TURN stream (TCP or TLS);
/// `None` when the stream ends or carries something else.
pub async fn read_turn_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    reader.read_exact(&mut head).await.ok()?;
    let len = hotline_turn::message::stream_frame_len(head)?;
    let mut frame = head.to_vec();
    frame.resize(len, 0);
    reader.read_exact(&mut frame[4..]).await.ok()?;
    Some(frame)
}

/// Reads until the server closes; returns the close code and reason.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    let wait = async {
        while let Some(message) = ws.next().await {
            if let Ok(Message::Close(Some(frame))) = message {
                return (u16::from(frame.code), frame.reason.to_string());
            }
        }
        (0, String::new())
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("server closes")
}

/// A plain HTTP/1.1 GET of `path`, with `Authorization: Bearer TOKEN` when
/// given: the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String) {
    http_request(addr, "GET", path, bearer, None).await
}

/// A plain HTTP/1.1 request with an optional bearer token and JSON body:
/// the status and the body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let (status, _, body) = http_exchange(addr, method, path, bearer, body).await;
    (status, body)
}

/// `http_request`, with the response's head (status line and headers) too.
pub async fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let authorization = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    // Chunked bodies (axum streams JSON that way): join the chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || tail.len() < size {
                break;
            }
            out.push_str(&tail[..size]);
            rest = tail[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}
