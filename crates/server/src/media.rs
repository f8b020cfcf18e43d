//! The media worker: one task that owns the UDP socket and every room, so a
//! packet goes from socket to socket on one task with no lock. Signaling
//! tasks talk to it through [`MediaHandle`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_proto::stats::RoomStats;
use hotline_proto::{ClientMessage, CloseReason, ServerMessage};
use hotline_sfu::{JoinRequest, ParticipantId, Room, RoomConfig, RoomEvent, RoomOutput, Transport};
use serde_json::json;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info};

use crate::audit::AuditLog;
use crate::latency::LatencyHistogram;
use crate::stream::{self, Framing, StreamEvent};
use crate::udp_batch::SendBatch;

/// Most datagrams read in one turn of the worker before its output is sent.
const RECEIVE_BATCH: usize = 64;

/// Most datagrams gathered before they are sent.
const SEND_BATCH: usize = 256;

/// What the worker sends to one participant's signaling connection.
#[derive(Debug)]
pub enum Outbound {
    Message(ServerMessage),
    Close(CloseReason),
}

/// Requests from signaling connections.
#[derive(Debug)]
pub enum Command {
    Join {
        room: String,
        request: JoinRequest,
        connection: Connection,
        reply: oneshot::Sender<Result<ParticipantId, CloseReason>>,
    },
    /// A new connection takes over a session whose connection was lost.
    Resume {
        room: String,
        participant: ParticipantId,
        resume_token: String,
        connection: Connection,
        reply: oneshot::Sender<Result<ParticipantId, CloseReason>>,
    },
    /// A message from connection `connection_id` of a participant; ignored
    /// when a newer connection has taken the session over.
    Signal {
        room: String,
        participant: ParticipantId,
        connection_id: u64,
        message: ClientMessage,
    },
    Disconnected {
        room: String,
        participant: ParticipantId,
        connection_id: u64,
        clean: bool,
    },
    /// Stop: tell everyone, let calls go on until `deadline`, then close
    /// every connection and end the worker.
    Shutdown { deadline: Instant },
    /// A room's live stats; `None` when there is no such room.
    Stats {
        room: String,
        reply: oneshot::Sender<Option<RoomStats>>,
    },
}

/// One signaling connection, as the worker sees it.
#[derive(Debug)]
pub struct Connection {
    /// Unique per connection, so that a replaced connection's late messages
    /// are told apart from the current one's.
    pub id: u64,
    /// The client's address, for the audit log.
    pub remote: std::net::IpAddr,
    pub outbound: mpsc::UnboundedSender<Outbound>,
}

/// The signaling side's handle on the worker.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl MediaHandle {
    pub async fn join(
        &self,
        room: String,
        request: JoinRequest,
        connection: Connection,
    ) -> Result<ParticipantId, CloseReason> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Join {
            room,
            request,
            connection,
            reply,
        });
        answer.await.unwrap_or(Err(CloseReason::ShuttingDown))
    }

    pub async fn resume(
        &self,
        room: String,
        participant: ParticipantId,
        resume_token: String,
        connection: Connection,
    ) -> Result<ParticipantId, CloseReason> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Resume {
            room,
            participant,
            resume_token,
            connection,
            reply,
        });
        answer.await.unwrap_or(Err(CloseReason::ShuttingDown))
    }

    /// A room's live stats; `None` when it does not exist (or the worker
    /// has stopped).
    pub async fn stats(&self, room: String) -> Option<RoomStats> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Stats { room, reply });
        answer.await.ok().flatten()
    }

    pub fn send(&self, command: Command) {
        // Fails only once the worker has stopped, when nothing is left to do.
        let _ = self.commands.send(command);
    }
}

/// A host let `identity` into `room` from its lobby: a scheduled call
/// remembers it (see [`MediaWorker::remember_admissions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub room: String,
    pub identity: String,
}

/// Which rooms exist and how they behave.
#[derive(Debug, Clone)]
pub struct RoomPolicy {
    pub auto_create: bool,
    pub configured: Vec<String>,
    /// How particular rooms behave; their rooms exist too.
    pub presets: std::collections::BTreeMap<String, crate::config::RoomPreset>,
    pub max_rooms: usize,
    pub room: RoomConfig,
}

pub struct MediaWorker {
    socket: UdpSocket,
    /// The address str0m sees as the destination of every datagram: the
    /// announced host candidate.
    local_addr: SocketAddr,
    /// The announced ICE-TCP address, and the listener (until `run` takes it).
    tcp_local_addr: Option<SocketAddr>,
    tcp_listener: Option<TcpListener>,
    tcp_events: mpsc::UnboundedReceiver<StreamEvent>,
    tcp_events_tx: mpsc::UnboundedSender<StreamEvent>,
    /// Open ICE-TCP connections by remote address.
    tcp_writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    policy: RoomPolicy,
    rooms: HashMap<String, Room>,
    /// Which room each remote address belongs to, learned on first contact.
    routes: HashMap<(Transport, SocketAddr), String>,
    sessions: HashMap<ParticipantId, Session>,
    commands: mpsc::UnboundedReceiver<Command>,
    audit: AuditLog,
    /// Set once shutting down: joins are refused, and at this moment every
    /// connection is closed.
    closing_at: Option<Instant>,
    /// UDP datagrams the rooms asked to send, sent together.
    send_batch: SendBatch,
    /// From reading a datagram to sending what it caused, per batch.
    latency: LatencyHistogram,
    /// Rooms whose code panicked (a bug): ended at the next flush, never
    /// touched again meanwhile.
    failed_rooms: Vec<String>,
    /// Where admissions to scheduled calls' rooms go to be stored.
    admissions: Option<mpsc::UnboundedSender<Admission>>,
}

/// A participant's current signaling connection.
type Session = Connection;

impl MediaWorker {
    /// `local_addr` is the announced candidate address (the socket may be
    /// bound to the unspecified address); `tcp`, the ICE-TCP listener and
    /// its announced address.
    pub fn new(
        socket: UdpSocket,
        local_addr: SocketAddr,
        tcp: Option<(TcpListener, SocketAddr)>,
        mut policy: RoomPolicy,
        audit: AuditLog,
    ) -> (MediaWorker, MediaHandle) {
        policy.room.candidates = vec![local_addr];
        policy.room.tcp_candidates = tcp.iter().map(|(_, addr)| *addr).collect();
        let (tx, rx) = mpsc::unbounded_channel();
        let (tcp_events_tx, tcp_events) = mpsc::unbounded_channel();
        let (tcp_listener, tcp_local_addr) = tcp.unzip();
        let worker = MediaWorker {
            socket,
            local_addr,
            tcp_local_addr,
            tcp_listener,
            tcp_events,
            tcp_events_tx,
            tcp_writers: HashMap::new(),
            policy,
            rooms: HashMap::new(),
            routes: HashMap::new(),
            sessions: HashMap::new(),
            commands: rx,
            audit,
            closing_at: None,
            send_batch: SendBatch::default(),
            latency: LatencyHistogram::new(Instant::now()),
            failed_rooms: Vec::new(),
            admissions: None,
        };
        (worker, MediaHandle { commands: tx })
    }

    /// Sends every admission to a scheduled call's room to `sink`, which
    /// stores it off the media task (a database write must not hold up
    /// packets).
    pub fn remember_admissions(mut self, sink: mpsc::UnboundedSender<Admission>) -> MediaWorker {
        self.admissions = Some(sink);
        self
    }

    /// Runs until shut down (or every [`MediaHandle`] is dropped).
    pub async fn run(mut self) {
        if let Some(listener) = self.tcp_listener.take() {
            tokio::spawn(stream::accept_loop(
                listener,
                Framing::LengthPrefixed,
                None,
                self.tcp_events_tx.clone(),
            ));
        }
        let mut buf = vec![0u8; 2048];
        loop {
            if let Some(at) = self.closing_at {
                let now = Instant::now();
                if self.rooms.is_empty() || now >= at {
                    for room in self.rooms.values_mut() {
                        room.close_all(CloseReason::ShuttingDown);
                    }
                    self.flush().await;
                    self.close_everyone();
                    break;
                }
            }
            let deadline = self
                .rooms
                .values()
                .filter_map(Room::poll_timeout)
                .chain(self.closing_at)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            let mut batch_received_at = None;
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, source)) => {
                        batch_received_at = Some(Instant::now());
                        self.handle_datagram(Transport::Udp, source, &buf[..n]);
                        // Take what else is waiting before sending anything:
                        // under load, each subscriber connection is then
                        // polled once for a batch of packets, not per packet.
                        for _ in 1..RECEIVE_BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, source)) => {
                                    self.handle_datagram(Transport::Udp, source, &buf[..n])
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    // ICMP errors surface here on Linux: a peer went away.
                    Err(e) => debug!("udp receive: {e}"),
                },
                Some(event) = self.tcp_events.recv() => match event {
                    StreamEvent::Opened { remote, writer } => {
                        self.tcp_writers.insert(remote, writer);
                    }
                    StreamEvent::Packet { remote, contents } => {
                        self.handle_datagram(Transport::Tcp, remote, &contents);
                    }
                    StreamEvent::Closed { remote } => {
                        self.tcp_writers.remove(&remote);
                        self.routes.remove(&(Transport::Tcp, remote));
                    }
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    let failed = &mut self.failed_rooms;
                    for (name, room) in self.rooms.iter_mut() {
                        contained(failed, name, || {
                            if room.poll_timeout().is_some_and(|t| t <= now) {
                                room.handle_timeout(now);
                            }
                        });
                    }
                }
            }
            let sent = self.flush().await;
            let now = Instant::now();
            if let (Some(at), true) = (batch_received_at, sent > 0) {
                self.latency.record(now.saturating_duration_since(at));
            }
            if let Some(report) = self.latency.poll_report(now) {
                info!(
                    batches = report.batches,
                    p50_us = report.p50.as_micros() as u64,
                    p99_us = report.p99.as_micros() as u64,
                    max_us = report.max.as_micros() as u64,
                    "forwarding latency (datagram read to copies sent)"
                );
            }
        }
        info!("media worker stopped");
    }

    fn handle_datagram(&mut self, transport: Transport, source: SocketAddr, contents: &[u8]) {
        let now = Instant::now();
        let local = match transport {
            Transport::Udp => self.local_addr,
            Transport::Tcp => match self.tcp_local_addr {
                Some(addr) => addr,
                None => return,
            },
        };
        let route = (transport, source);
        let failed = &mut self.failed_rooms;
        if let Some((name, room)) = self
            .routes
            .get(&route)
            .and_then(|r| self.rooms.get_mut(r).map(|room| (r, room)))
        {
            let taken = contained(failed, name, || {
                room.handle_datagram(now, transport, source, local, contents)
            });
            if taken != Some(false) {
                return;
            }
        }
        // Only a STUN check can introduce a new address (ICE); anything else
        // from a stranger is dropped without asking every room.
        if !looks_like_stun(contents) {
            debug!(%source, len = contents.len(), "datagram from an unknown address");
            return;
        }
        for (name, room) in self.rooms.iter_mut() {
            let taken = contained(failed, name, || {
                room.handle_datagram(now, transport, source, local, contents)
            });
            if taken == Some(true) {
                self.routes.insert(route, name.clone());
                return;
            }
        }
        debug!(%source, len = contents.len(), "datagram for no room");
    }

    fn handle_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Join {
                room,
                request,
                connection,
                reply,
            } => {
                let remote = connection.remote;
                let exists = self.rooms.contains_key(&room);
                let refusal = if self.closing_at.is_some() {
                    Some(CloseReason::ShuttingDown)
                } else if !exists
                    && !self.policy.auto_create
                    && !self.policy.configured.contains(&room)
                    && !self.policy.presets.contains_key(&room)
                    // A scheduled call's room: its tokens come from the
                    // server itself (a member's personal link).
                    && !room.starts_with(hotline_schedule::call::ROOM_PREFIX)
                {
                    Some(CloseReason::RoomNotFound)
                } else if !exists && self.rooms.len() >= self.policy.max_rooms {
                    Some(CloseReason::ServerFull)
                } else {
                    None
                };
                if let Some(reason) = refusal {
                    self.audit.record(
                        "join_refused",
                        json!({"room": room, "identity": request.identity, "ip": remote, "reason": reason.text()}),
                    );
                    let _ = reply.send(Err(reason));
                    return;
                }
                let mut config = self.policy.room.clone();
                // A scheduled call's members wait for a host to let them in.
                config.lobby |= hotline_schedule::call::Call::id_of_room(&room).is_some();
                if let Some(preset) = self.policy.presets.get(&room) {
                    config.lobby |= preset.lobby;
                    config.languages.clone_from(&preset.languages);
                    config.e2ee |= preset.e2ee;
                }
                let entry = self.rooms.entry(room.clone()).or_insert_with(|| {
                    info!(room = %room, "room opened");
                    Room::new(&room, config, now, unix_ms())
                });
                let identity = request.identity.clone();
                // Registered before the room speaks, so that the welcome
                // finds its way.
                let joined = contained(&mut self.failed_rooms, &room, || entry.join(now, request));
                let Some(joined) = joined else {
                    let _ = reply.send(Err(CloseReason::RoomFailed));
                    return;
                };
                match joined {
                    Ok(id) => {
                        self.sessions.insert(id.clone(), connection);
                        let _ = reply.send(Ok(id));
                    }
                    Err(e) => {
                        self.audit.record(
                            "join_refused",
                            json!({"room": room, "identity": identity, "ip": remote, "reason": e.close_reason().text()}),
                        );
                        let _ = reply.send(Err(e.close_reason()));
                    }
                }
            }
            Command::Resume {
                room,
                participant,
                resume_token,
                connection,
                reply,
            } => {
                let failed = &mut self.failed_rooms;
                let resumed = self.closing_at.is_none()
                    && self.rooms.get_mut(&room).is_some_and(|r| {
                        contained(failed, &room, || r.resume(now, &participant, &resume_token))
                            .is_some_and(|resumed| resumed.is_ok())
                    });
                if resumed {
                    // Replacing the session drops the old connection's
                    // sender, which ends that connection.
                    self.sessions.insert(participant.clone(), connection);
                    let _ = reply.send(Ok(participant));
                } else {
                    info!(room = %room, participant = %participant, "resume refused: no such session");
                    self.audit.record(
                        "resume_refused",
                        json!({"room": room, "participant": participant.as_str(), "ip": connection.remote}),
                    );
                    let _ = reply.send(Err(if self.closing_at.is_some() {
                        CloseReason::ShuttingDown
                    } else {
                        CloseReason::SessionNotFound
                    }));
                }
            }
            Command::Signal {
                room,
                participant,
                connection_id,
                message,
            } => {
                if !self.is_current(&participant, connection_id) {
                    return;
                }
                if let Some(r) = self.rooms.get_mut(&room) {
                    contained(&mut self.failed_rooms, &room, || {
                        r.handle_signal(now, &participant, message)
                    });
                }
            }
            Command::Disconnected {
                room,
                participant,
                connection_id,
                clean,
            } => {
                if !self.is_current(&participant, connection_id) {
                    return;
                }
                if clean {
                    self.sessions.remove(&participant);
                }
                if let Some(r) = self.rooms.get_mut(&room) {
                    contained(&mut self.failed_rooms, &room, || {
                        r.handle_disconnect(now, &participant, clean)
                    });
                }
            }
            Command::Shutdown { deadline } => {
                let deadline_ms =
                    unix_ms() + deadline.saturating_duration_since(now).as_millis() as u64;
                info!(
                    sessions = self.sessions.len(),
                    "shutting down: calls may go on until the deadline"
                );
                for session in self.sessions.values() {
                    let _ = session
                        .outbound
                        .send(Outbound::Message(ServerMessage::ShuttingDown {
                            deadline_ms,
                        }));
                }
                self.closing_at = Some(deadline);
            }
            Command::Stats { room, reply } => {
                let failed = &mut self.failed_rooms;
                let stats = self
                    .rooms
                    .get(&room)
                    .and_then(|r| contained(failed, &room, || r.stats(now)));
                let _ = reply.send(stats);
            }
        }
    }

    /// Whether `connection_id` is the participant's current connection.
    fn is_current(&self, participant: &ParticipantId, connection_id: u64) -> bool {
        self.sessions
            .get(participant)
            .is_some_and(|s| s.id == connection_id)
    }

    fn close_everyone(&mut self) {
        for (_, session) in self.sessions.drain() {
            let _ = session
                .outbound
                .send(Outbound::Close(CloseReason::ShuttingDown));
        }
    }

    /// Ends the rooms whose code panicked: their participants are told
    /// (4016: join again, and a new room starts); every other room goes on.
    fn end_failed_rooms(&mut self) {
        for name in std::mem::take(&mut self.failed_rooms) {
            let Some(room) = self.rooms.remove(&name) else {
                continue;
            };
            let participants: Vec<ParticipantId> = room.participant_ids().cloned().collect();
            error!(room = %name, participants = participants.len(), "room ended after a fault in its code");
            self.audit.record(
                "room_failed",
                json!({"room": name, "participants": participants.len()}),
            );
            for id in &participants {
                if let Some(session) = self.sessions.remove(id) {
                    let _ = session
                        .outbound
                        .send(Outbound::Close(CloseReason::RoomFailed));
                }
            }
            self.routes.retain(|_, r| r != &name);
        }
    }

    /// Carries out what the rooms asked for, and closes empty rooms.
    /// Returns how many UDP datagrams were sent.
    async fn flush(&mut self) -> usize {
        self.end_failed_rooms();
        let mut udp_sent = 0;
        let failed = &mut self.failed_rooms;
        for (name, room) in self.rooms.iter_mut() {
            if failed.contains(name) {
                continue;
            }
            while let Some(Some(output)) = contained(failed, name, || room.poll_output()) {
                match output {
                    RoomOutput::Transmit(t) => match t.transport {
                        Transport::Udp => {
                            udp_sent += 1;
                            self.send_batch.push(t.destination, t.contents);
                            if self.send_batch.len() >= SEND_BATCH {
                                self.send_batch.send(&self.socket).await;
                            }
                        }
                        Transport::Tcp => {
                            if let Some(writer) = self.tcp_writers.get(&t.destination) {
                                stream::send(writer, t.contents);
                            }
                        }
                    },
                    RoomOutput::Signal { to, message } => {
                        if let Some(session) = self.sessions.get(&to) {
                            let _ = session.outbound.send(Outbound::Message(message));
                        }
                    }
                    RoomOutput::Close {
                        participant,
                        reason,
                    } => {
                        if let Some(session) = self.sessions.remove(&participant) {
                            let _ = session.outbound.send(Outbound::Close(reason));
                        }
                    }
                    RoomOutput::Event(event) => {
                        if let (RoomEvent::Admitted { identity, .. }, Some(sink)) =
                            (&event, &self.admissions)
                        {
                            let _ = sink.send(Admission {
                                room: name.clone(),
                                identity: identity.clone(),
                            });
                        }
                        audit_room_event(&self.audit, room.name(), &self.sessions, event)
                    }
                }
            }
        }
        self.send_batch.send(&self.socket).await;
        let before = self.rooms.len();
        self.rooms.retain(|name, room| {
            let keep = !room.is_empty();
            if !keep {
                info!(room = %name, "room closed");
            }
            keep
        });
        if self.rooms.len() != before {
            let rooms = &self.rooms;
            self.routes.retain(|_, name| rooms.contains_key(name));
            // Sessions of participants no longer in any room.
            self.sessions
                .retain(|id, _| rooms.values().any(|r| r.participant_ids().any(|p| p == id)));
        }
        udp_sent
    }
}

/// Runs `f`, some work of room `name`, unless the room has already failed.
/// A panic in it (a bug) is contained to that room: it is recorded in
/// `failed` (the room is ended at the next flush) and `None` returned, and
/// the other rooms go on.
fn contained<T>(failed: &mut Vec<String>, name: &str, f: impl FnOnce() -> T) -> Option<T> {
    if failed.iter().any(|n| n == name) {
        return None;
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            error!(room = %name, panic = %what, "a room's code panicked: the room is ended");
            failed.push(name.to_string());
            None
        }
    }
}

/// STUN messages start with two zero bits and carry the magic cookie
/// (RFC 5389, section 6).
fn looks_like_stun(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[0] < 4 && datagram[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes one room event to the audit log.
fn audit_room_event(
    audit: &AuditLog,
    room: &str,
    sessions: &HashMap<ParticipantId, Session>,
    event: RoomEvent,
) {
    match event {
        RoomEvent::Joined {
            participant,
            identity,
            grants,
        } => {
            let ip = sessions.get(&participant).map(|s| s.remote);
            audit.record(
                "join",
                json!({"room": room, "participant": participant.as_str(), "identity": identity, "grants": grants, "ip": ip}),
            );
        }
        RoomEvent::Left {
            participant,
            identity,
            reason,
            media_failed,
        } => audit.record(
            "leave",
            json!({"room": room, "participant": participant.as_str(), "identity": identity, "reason": reason, "media_failed": media_failed}),
        ),
        RoomEvent::Resumed {
            participant,
            identity,
        } => {
            let ip = sessions.get(&participant).map(|s| s.remote);
            audit.record(
                "resume",
                json!({"room": room, "participant": participant.as_str(), "identity": identity, "ip": ip}),
            );
        }
        RoomEvent::Published {
            participant,
            identity,
            track,
            kind,
            source,
        } => audit.record(
            "publish",
            json!({"room": room, "participant": participant.as_str(), "identity": identity, "track": track.as_str(), "kind": kind, "source": source}),
        ),
        RoomEvent::Knocked {
            participant,
            identity,
        } => {
            let ip = sessions.get(&participant).map(|s| s.remote);
            audit.record(
                "lobby_wait",
                json!({"room": room, "participant": participant.as_str(), "identity": identity, "ip": ip}),
            );
        }
        RoomEvent::Admitted {
            participant,
            identity,
            by,
        } => audit.record(
            "lobby_admit",
            json!({"room": room, "participant": participant.as_str(), "identity": identity, "by": by}),
        ),
        RoomEvent::TurnedAway {
            participant,
            identity,
            by,
        } => audit.record(
            "lobby_refuse",
            json!({"room": room, "participant": participant.as_str(), "identity": identity, "by": by}),
        ),
        RoomEvent::Refused {
            participant,
            identity,
            code,
        } => audit.record(
            "grant_refused",
            json!({"room": room, "participant": participant.as_str(), "identity": identity, "code": code}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{contained, looks_like_stun};

    #[test]
    fn a_panic_in_one_room_is_contained_to_it() {
        let mut failed = Vec::new();
        assert_eq!(contained(&mut failed, "a", || 1), Some(1));
        let hurt: Option<()> = contained(&mut failed, "b", || panic!("a bug in room b"));
        assert_eq!(hurt, None);
        assert_eq!(failed, ["b"]);
        // Room b is not touched again; room a goes on.
        let mut ran = false;
        assert_eq!(contained(&mut failed, "b", || ran = true), None);
        assert!(!ran);
        assert_eq!(contained(&mut failed, "a", || 2), Some(2));
    }

    #[test]
    fn stun_is_told_from_other_traffic() {
        let mut binding = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        binding.extend([0u8; 12]);
        assert!(looks_like_stun(&binding));
        assert!(!looks_like_stun(&binding[..19]), "too short");
        let mut rtp = binding.clone();
        rtp[0] = 0x80;
        assert!(!looks_like_stun(&rtp));
        let mut dtls = binding;
        dtls[0] = 22;
        assert!(!looks_like_stun(&dtls));
    }
}
