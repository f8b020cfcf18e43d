//! The media worker: one task that owns the UDP socket and every room, so a
//! packet goes from socket to socket on one task with no lock. Signaling
//! tasks talk to it through [`MediaHandle`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_proto::{ClientMessage, CloseReason, ServerMessage};
use hotline_sfu::{JoinRequest, ParticipantId, Room, RoomConfig, RoomOutput};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

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
        outbound: mpsc::UnboundedSender<Outbound>,
        reply: oneshot::Sender<Result<ParticipantId, CloseReason>>,
    },
    Signal {
        room: String,
        participant: ParticipantId,
        message: ClientMessage,
    },
    Disconnected {
        room: String,
        participant: ParticipantId,
        clean: bool,
    },
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
        outbound: mpsc::UnboundedSender<Outbound>,
    ) -> Result<ParticipantId, CloseReason> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Join {
            room,
            request,
            outbound,
            reply,
        });
        answer.await.unwrap_or(Err(CloseReason::ShuttingDown))
    }

    pub fn send(&self, command: Command) {
        // Fails only once the worker has stopped, when nothing is left to do.
        let _ = self.commands.send(command);
    }
}

/// Which rooms exist and how they behave.
#[derive(Debug, Clone)]
pub struct RoomPolicy {
    pub auto_create: bool,
    pub configured: Vec<String>,
    pub room: RoomConfig,
}

pub struct MediaWorker {
    socket: UdpSocket,
    /// The address str0m sees as the destination of every datagram: the
    /// announced host candidate.
    local_addr: SocketAddr,
    policy: RoomPolicy,
    rooms: HashMap<String, Room>,
    /// Which room each remote address belongs to, learned on first contact.
    routes: HashMap<SocketAddr, String>,
    sessions: HashMap<ParticipantId, mpsc::UnboundedSender<Outbound>>,
    commands: mpsc::UnboundedReceiver<Command>,
}

impl MediaWorker {
    /// `local_addr` is the announced candidate address (the socket may be
    /// bound to the unspecified address).
    pub fn new(
        socket: UdpSocket,
        local_addr: SocketAddr,
        mut policy: RoomPolicy,
    ) -> (MediaWorker, MediaHandle) {
        policy.room.candidates = vec![local_addr];
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = MediaWorker {
            socket,
            local_addr,
            policy,
            rooms: HashMap::new(),
            routes: HashMap::new(),
            sessions: HashMap::new(),
            commands: rx,
        };
        (worker, MediaHandle { commands: tx })
    }

    /// Runs until every [`MediaHandle`] is dropped.
    pub async fn run(mut self) {
        let mut buf = vec![0u8; 2048];
        loop {
            let deadline = self
                .rooms
                .values()
                .filter_map(Room::poll_timeout)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, source)) => self.handle_datagram(source, &buf[..n]),
                    // ICMP errors surface here on Linux: a peer went away.
                    Err(e) => debug!("udp receive: {e}"),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    for room in self.rooms.values_mut() {
                        if room.poll_timeout().is_some_and(|t| t <= now) {
                            room.handle_timeout(now);
                        }
                    }
                }
            }
            self.flush().await;
        }
        info!("media worker stopped");
    }

    fn handle_datagram(&mut self, source: SocketAddr, contents: &[u8]) {
        let now = Instant::now();
        if let Some(room) = self.routes.get(&source).and_then(|r| self.rooms.get_mut(r)) {
            if room.handle_datagram(now, source, self.local_addr, contents) {
                return;
            }
        }
        for (name, room) in self.rooms.iter_mut() {
            if room.handle_datagram(now, source, self.local_addr, contents) {
                self.routes.insert(source, name.clone());
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
                outbound,
                reply,
            } => {
                let exists = self.rooms.contains_key(&room);
                if !exists && !self.policy.auto_create && !self.policy.configured.contains(&room) {
                    let _ = reply.send(Err(CloseReason::RoomNotFound));
                    return;
                }
                let config = self.policy.room.clone();
                let entry = self.rooms.entry(room.clone()).or_insert_with(|| {
                    info!(room = %room, "room opened");
                    Room::new(&room, config, now, unix_ms())
                });
                match entry.join(now, request) {
                    Ok(id) => {
                        self.sessions.insert(id.clone(), outbound);
                        let _ = reply.send(Ok(id));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.close_reason()));
                    }
                }
            }
            Command::Signal {
                room,
                participant,
                message,
            } => {
                if let Some(room) = self.rooms.get_mut(&room) {
                    room.handle_signal(now, &participant, message);
                }
            }
            Command::Disconnected {
                room,
                participant,
                clean,
            } => {
                if clean {
                    self.sessions.remove(&participant);
                }
                if let Some(room) = self.rooms.get_mut(&room) {
                    room.handle_disconnect(now, &participant, clean);
                }
            }
        }
    }

    /// Carries out what the rooms asked for, and closes empty rooms.
    async fn flush(&mut self) {
        for room in self.rooms.values_mut() {
            while let Some(output) = room.poll_output() {
                match output {
                    RoomOutput::Transmit(t) => {
                        if let Err(e) = self.socket.send_to(&t.contents, t.destination).await {
                            debug!(destination = %t.destination, "udp send: {e}");
                        }
                    }
                    RoomOutput::Signal { to, message } => {
                        if let Some(session) = self.sessions.get(&to) {
                            let _ = session.send(Outbound::Message(message));
                        }
                    }
                    RoomOutput::Close {
                        participant,
                        reason,
                    } => {
                        if let Some(session) = self.sessions.remove(&participant) {
                            let _ = session.send(Outbound::Close(reason));
                        }
                    }
                }
            }
        }
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
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
