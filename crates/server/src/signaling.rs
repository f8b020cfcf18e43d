//! The WebSocket handler: a pipe. It authenticates the join, then passes
//! messages to the media worker and the worker's answers back. The room core
//! decides everything else.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use hotline_auth::TokenError;
use hotline_proto::{
    ClientMessage, CloseReason, ErrorCode, ProtocolError, ServerMessage, PROTOCOL_VERSION,
};
use hotline_sfu::JoinRequest;
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

use crate::http::AppState;
use crate::media::{Command, Outbound};

/// Time a new connection has to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn handle_socket(mut socket: WebSocket, state: AppState) {
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
            return close(socket, reason).await;
        }
    };
    if claims.room != room {
        info!("join refused: token is for another room");
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
    let participant = match state.media.join(room.clone(), request, outbound_tx).await {
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
                let reply = match incoming {
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
