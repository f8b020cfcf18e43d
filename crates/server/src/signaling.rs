//! The WebSocket handler: a pipe. It authenticates the join, then passes
//! messages to the media worker and the worker's answers back. The room core
//! decides everything else.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use hotline_auth::TokenError;
use hotline_proto::{
    ClientMessage, CloseReason, ErrorCode, ProtocolError, ServerMessage, PROTOCOL_VERSION,
};
use hotline_sfu::JoinRequest;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

use crate::http::AppState;
use crate::limits::TokenBucket;
use crate::media::{Command, Outbound};

/// Time a new connection has to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Sustained signaling messages a second per connection; bursts may reach
/// [`MESSAGE_BURST`]. A client pings every 2 s and sends a few messages per
/// change: real use stays far below.
const MESSAGES_PER_SECOND: f64 = 20.0;
const MESSAGE_BURST: f64 = 50.0;
/// Messages refused for the rate before the connection is closed.
const MAX_REFUSED_MESSAGES: u32 = 100;

pub async fn handle_socket(mut socket: WebSocket, state: AppState, remote: IpAddr) {
    if !state.accepting.load(Ordering::Relaxed) {
        return close(socket, CloseReason::ShuttingDown).await;
    }
    let first = tokio::time::timeout(JOIN_TIMEOUT, socket.recv()).await;
    let (token, room) = match first {
        Err(_) => return close(socket, CloseReason::JoinTimedOut).await,
        Ok(Some(Ok(Message::Text(text)))) => match ClientMessage::parse(&text) {
            Ok(ClientMessage::Join {
                protocol_version,
                token,
                room,
            }) => {
                if protocol_version != PROTOCOL_VERSION {
                    return close(socket, CloseReason::UnsupportedVersion).await;
                }
                (token, room)
            }
            Err(ProtocolError::TooBig) => return close(socket, CloseReason::MessageTooBig).await,
            _ => return close(socket, CloseReason::ExpectedJoin).await,
        },
        Ok(Some(Err(_))) => return close(socket, CloseReason::MessageTooBig).await,
        Ok(_) => return close(socket, CloseReason::ExpectedJoin).await,
    };

    let claims = match hotline_auth::verify(&token, &state.secret, crate::cli::unix_now()) {
        Ok(claims) => claims,
        Err(e) => {
            let reason = match e {
                TokenError::Expired => CloseReason::TokenExpired,
                TokenError::NotYetValid => CloseReason::TokenNotYetValid,
                _ => CloseReason::InvalidToken,
            };
            info!(reason = reason.text(), "join refused");
            state.audit.record(
                "token_refused",
                json!({"room": room, "ip": remote, "reason": reason.text()}),
            );
            return close(socket, reason).await;
        }
    };
    if claims.room != room {
        info!("join refused: token is for another room");
        state.audit.record(
            "token_refused",
            json!({"room": room, "token_room": claims.room, "identity": claims.sub, "ip": remote, "reason": CloseReason::WrongRoom.text()}),
        );
        return close(socket, CloseReason::WrongRoom).await;
    }
    if crate::config::validate_room_name(&room).is_err() {
        return close(socket, CloseReason::RoomNotFound).await;
    }

    let (outbound_tx, outbound_rx) = mpsc::unbounded_channel();
    let request = JoinRequest {
        identity: claims.sub,
        name: claims.name,
        grants: claims.grants,
    };
    let participant = match state
        .media
        .join(room.clone(), request, remote, outbound_tx)
        .await
    {
        Ok(id) => id,
        Err(reason) => return close(socket, reason).await,
    };
    let span = tracing::info_span!("signaling", room = %room, participant = %participant);
    pump(socket, state, room, participant, outbound_rx)
        .instrument(span)
        .await;
}

/// Moves messages both ways until either side is done.
async fn pump(
    mut socket: WebSocket,
    state: AppState,
    room: String,
    participant: hotline_sfu::ParticipantId,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
) {
    let disconnected = |clean| Command::Disconnected {
        room: room.clone(),
        participant: participant.clone(),
        clean,
    };
    let mut budget = TokenBucket::new(MESSAGES_PER_SECOND, MESSAGE_BURST, Instant::now());
    let mut refused = 0u32;
    loop {
        tokio::select! {
            out = outbound.recv() => match out {
                Some(Outbound::Message(message)) => {
                    if socket.send(Message::Text(message.to_json().into())).await.is_err() {
                        state.media.send(disconnected(false));
                        return;
                    }
                }
                // The room has already let the participant go.
                Some(Outbound::Close(reason)) => return close(socket, reason).await,
                None => return,
            },
            incoming = socket.recv() => {
                let over_budget = matches!(incoming, Some(Ok(Message::Text(_) | Message::Binary(_))))
                    && !budget.try_take(Instant::now());
                let reply = match incoming {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) if over_budget => {
                        refused += 1;
                        if refused >= MAX_REFUSED_MESSAGES {
                            warn!("closing a connection that keeps flooding");
                            state.audit.record(
                                "closed",
                                json!({"room": room, "participant": participant.as_str(), "reason": CloseReason::TooManyMessages.text()}),
                            );
                            state.media.send(disconnected(true));
                            return close(socket, CloseReason::TooManyMessages).await;
                        }
                        // Told once per burst, not once per message.
                        (refused == 1 || refused.is_multiple_of(25)).then(|| {
                            ServerMessage::error(ErrorCode::RateLimited, "too many messages: slow down")
                        })
                    }
                    Some(Ok(Message::Text(text))) => match ClientMessage::parse(&text) {
                        Ok(message) => {
                            state.media.send(Command::Signal {
                                room: room.clone(),
                                participant: participant.clone(),
                                message,
                            });
                            None
                        }
                        Err(ProtocolError::TooBig) => {
                            state.media.send(disconnected(true));
                            return close(socket, CloseReason::MessageTooBig).await;
                        }
                        Err(e) => {
                            debug!("malformed message: {e}");
                            Some(ServerMessage::error(ErrorCode::MalformedMessage, e.to_string()))
                        }
                    },
                    Some(Ok(Message::Binary(_))) => Some(ServerMessage::error(
                        ErrorCode::MalformedMessage,
                        "messages are JSON text",
                    )),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(_))) => {
                        state.media.send(disconnected(true));
                        return;
                    }
                    Some(Err(e)) => {
                        // A broken connection, or a frame beyond the
                        // WebSocket layer's own limit.
                        warn!("signaling connection error: {e}");
                        state.media.send(disconnected(false));
                        return;
                    }
                    None => {
                        state.media.send(disconnected(false));
                        return;
                    }
                };
                if let Some(reply) = reply {
                    if socket.send(Message::Text(reply.to_json().into())).await.is_err() {
                        state.media.send(disconnected(false));
                        return;
                    }
                }
            }
        }
    }
}

fn close_message(reason: CloseReason) -> Message {
    Message::Close(Some(CloseFrame {
        code: reason.code(),
        reason: Utf8Bytes::from_static(reason.text()),
    }))
}

async fn close(mut socket: WebSocket, reason: CloseReason) {
    let _ = socket.send(close_message(reason)).await;
}
