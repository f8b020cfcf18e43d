//! Hotline's own signaling: JSON messages over the server's WebSocket, with
//! tokens the generator signs itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use hotline_auth::{Grants, TokenRequest};
use hotline_proto::{ClientMessage, ServerMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

use crate::participant::{token_lifetime, Role};
use crate::LoadConfig;

pub(crate) struct Connection {
    pub(crate) socket: Socket,
}

/// Opens the signaling connection and mints this participant's token.
pub(crate) async fn connect(
    config: &LoadConfig,
    room: &str,
    identity: &str,
    role: Role,
) -> anyhow::Result<(Connection, String)> {
    let Some(secret) = &config.secret else {
        bail!("no secret to sign tokens with");
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let token = TokenRequest {
        room: room.to_string(),
        identity: identity.to_string(),
        name: None,
        ttl_secs: token_lifetime(config).as_secs(),
        languages: Vec::new(),
        e2ee: false,
        grants: Grants {
            publish: role.publishes(),
            subscribe: role.subscribes(),
            publish_data: false,
            inspect: false,
            organize: false,
            host: false,
            interpret: None,
        },
    }
    .mint(secret, now);
    let url = websocket_url(&config.url)?;
    Ok((
        Connection {
            socket: open(&url, config).await?,
        },
        token,
    ))
}

/// Opens the WebSocket. When the server's per-address connection rate
/// (`websocket_connects_per_second`, 5 by default) refuses it with 429, it
/// tries again, slower each time, as a browser client would, until the
/// set-up time is over.
async fn open(url: &str, config: &LoadConfig) -> anyhow::Result<Socket> {
    let deadline = tokio::time::Instant::now() + config.setup_timeout;
    let mut backoff = Duration::from_millis(200);
    loop {
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => return Ok(socket),
            Err(WsError::Http(response))
                if response.status() == StatusCode::TOO_MANY_REQUESTS
                    && tokio::time::Instant::now() + backoff < deadline =>
            {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "connecting to {url} (with many participants from one address, raise the \
                         server's websocket_connects_per_second)"
                    )
                })
            }
        }
    }
}

/// `http://host:port[/...]` → `ws://host:port/ws` (and https → wss).
fn websocket_url(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .context("the URL needs a scheme, e.g. http://127.0.0.1:8080")?;
    let scheme = match scheme {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => bail!("unsupported URL scheme {other:?}: use http or https"),
    };
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{host}/ws"))
}

impl Connection {
    pub async fn send(&mut self, message: ClientMessage) -> anyhow::Result<()> {
        let text = serde_json::to_string(&message)?;
        self.socket
            .send(Message::text(text))
            .await
            .context("sending a signaling message")
    }

    /// Cancel-safe: a message is either returned or left in the stream.
    pub async fn recv(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .with_context(|| format!("unexpected server message: {text}"))
                        .map(Some);
                }
                Some(Ok(Message::Close(frame))) => {
                    if let Some(frame) = frame {
                        bail!(
                            "the server closed the connection: {} {}",
                            frame.code,
                            frame.reason
                        );
                    }
                    return Ok(None);
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("signaling connection"),
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_follows_the_page_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            websocket_url("https://call.example/x").unwrap(),
            "wss://call.example/ws"
        );
        assert!(websocket_url("ftp://x").is_err());
        assert!(websocket_url("127.0.0.1:8080").is_err());
    }
}
