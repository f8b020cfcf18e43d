//! The WebSocket handler: a pipe. It authenticates the join, then passes
//! messages to the media worker and the worker's answers back. The room core
//! decides everything else.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use hotline_auth::TokenError;
use hotline_proto::{
    ClientMessage, CloseReason, ErrorCode, ProtocolError, ServerMessage, PROTOCOL_VERSION,
};
use hotline_sfu::{JoinRequest, ParticipantId};
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

use crate::http::AppState;
use crate::limits::TokenBucket;
use crate::media::{Command, Connection, Outbound};

/// Time a new connection has to send its `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Sustained signaling messages a second per connection; bursts may reach
/// [`MESSAGE_BURST`]. A client pings every second and sends a few messages per
/// change: real use stays far below.
const MESSAGES_PER_SECOND: f64 = 20.0;
const MESSAGE_BURST: f64 = 50.0;
/// Messages refused for the rate before the connection is closed.
const MAX_REFUSED_MESSAGES: u32 = 100;

/// Source of connection ids (see [`Connection::id`]).
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// How a connection starts: a new session, or one taken back.
enum Opening {
    Join {
        token: String,
        room: String,
        estimate_bandwidth: bool,
    },
    Resume {
        room: String,
        participant: ParticipantId,
        resume_token: String,
    },
}

/// `page_host`: the host the browser loaded the page from (relay URLs over
/// TLS name it).
pub async fn handle_socket(
    mut socket: WebSocket,
    state: AppState,
    remote: IpAddr,
    page_host: Option<String>,
) {
    if !state.accepting.load(Ordering::Relaxed) {
        return close(socket, CloseReason::ShuttingDown).await;
    }
    let opening = match read_opening(&mut socket).await {
        Ok(opening) => opening,
        Err(reason) => return close(socket, reason).await,
    };
    let (outbound, outbound_rx) = mpsc::unbounded_channel();
    let connection = Connection {
        id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        remote,
        outbound,
    };
    let connection_id = connection.id;
    let entered = match opening {
        Opening::Join {
            token,
            room,
            estimate_bandwidth,
        } => join(&state, token, room, estimate_bandwidth, connection).await,
        Opening::Resume {
            room,
            participant,
            resume_token,
        } => state
            .media
            .resume(room.clone(), participant, resume_token, connection)
            .await
            .map(|participant| (room, participant)),
    };
    let (room, participant) = match entered {
        Ok(entered) => entered,
        Err(reason) => return close(socket, reason).await,
    };
    let span = tracing::info_span!("signaling", room = %room, participant = %participant);
    pump(
        socket,
        state,
        room,
        participant,
        connection_id,
        page_host,
        outbound_rx,
    )
    .instrument(span)
    .await;
}

/// Reads the first message: `join` or `resume`, in time.
async fn read_opening(socket: &mut WebSocket) -> Result<Opening, CloseReason> {
    let first = tokio::time::timeout(JOIN_TIMEOUT, socket.recv())
        .await
        .map_err(|_| CloseReason::JoinTimedOut)?;
    let text = match first {
        Some(Ok(Message::Text(text))) => text,
        Some(Err(_)) => return Err(CloseReason::MessageTooBig),
        _ => return Err(CloseReason::ExpectedJoin),
    };
    let (version, opening) = match ClientMessage::parse(&text) {
        Ok(ClientMessage::Join {
            protocol_version,
            token,
            room,
            estimate_bandwidth,
        }) => (
            protocol_version,
            Opening::Join {
                token,
                room,
                estimate_bandwidth,
            },
        ),
        Ok(ClientMessage::Resume {
            protocol_version,
            room,
            participant_id,
            resume_token,
        }) => {
            let participant =
                ParticipantId::parse(&participant_id).ok_or(CloseReason::SessionNotFound)?;
            (
                protocol_version,
                Opening::Resume {
                    room,
                    participant,
                    resume_token,
                },
            )
        }
        Err(ProtocolError::TooBig) => return Err(CloseReason::MessageTooBig),
        _ => return Err(CloseReason::ExpectedJoin),
    };
    if version != PROTOCOL_VERSION {
        return Err(CloseReason::UnsupportedVersion);
    }
    Ok(opening)
}

/// Verifies the token and joins the room.
async fn join(
    state: &AppState,
    token: String,
    room: String,
    estimate_bandwidth: bool,
    connection: Connection,
) -> Result<(String, ParticipantId), CloseReason> {
    let remote = connection.remote;
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
            return Err(reason);
        }
    };
    if claims.room != room {
        info!("join refused: token is for another room");
        state.audit.record(
            "token_refused",
            json!({"room": room, "token_room": claims.room, "identity": claims.sub, "ip": remote, "reason": CloseReason::WrongRoom.text()}),
        );
        return Err(CloseReason::WrongRoom);
    }
    if crate::config::validate_room_name(&room).is_err() {
        return Err(CloseReason::RoomNotFound);
    }
    let admitted = crate::schedule_api::admitted_before(&state.schedule, &room, &claims.sub).await;
    let request = JoinRequest {
        identity: claims.sub,
        name: claims.name,
        grants: claims.grants,
        estimate_bandwidth,
        admitted,
        languages: claims.languages,
        e2ee: claims.e2ee,
    };
    let participant = state.media.join(room.clone(), request, connection).await?;
    Ok((room, participant))
}

/// Moves messages both ways until either side is done.
async fn pump(
    mut socket: WebSocket,
    state: AppState,
    room: String,
    participant: ParticipantId,
    connection_id: u64,
    page_host: Option<String>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
) {
    // Fresh relay credentials for this session, when the relay runs.
    let relays = || {
        let relays = state.relays.as_ref()?;
        Some(ServerMessage::IceServers {
            ice_servers: relays.ice_servers(
                participant.as_str(),
                page_host.as_deref(),
                crate::cli::unix_now(),
            ),
        })
    };
    let mut refresh = tokio::time::interval_at(
        tokio::time::Instant::now() + crate::turn::CREDENTIAL_REFRESH,
        crate::turn::CREDENTIAL_REFRESH,
    );
    let disconnected = |clean| Command::Disconnected {
        room: room.clone(),
        participant: participant.clone(),
        connection_id,
        clean,
    };
    let mut budget = TokenBucket::new(MESSAGES_PER_SECOND, MESSAGE_BURST, Instant::now());
    let mut refused = 0u32;
    loop {
        let to_send: Vec<ServerMessage> = tokio::select! {
            _ = refresh.tick() => relays().into_iter().collect(),
            out = outbound.recv() => match out {
                Some(Outbound::Message(message)) => {
                    // Relays first: the client sets up its peer connections
                    // on `welcome` and restarts ICE after `resumed`.
                    let entering = matches!(message, ServerMessage::Welcome { .. } | ServerMessage::Resumed { .. });
                    let first = if entering { relays() } else { None };
                    first.into_iter().chain([message]).collect()
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
                                connection_id,
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
                reply.into_iter().collect()
            }
        };
        for message in to_send {
            if socket
                .send(Message::Text(message.to_json().into()))
                .await
                .is_err()
            {
                state.media.send(disconnected(false));
                return;
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
