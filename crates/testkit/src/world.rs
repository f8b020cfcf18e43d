//! A room core and its simulated clients in simulated time.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hotline_proto::{CloseReason, Grants};
use hotline_sfu::{JoinRequest, ParticipantId, Room, RoomConfig, RoomEvent, RoomOutput, Transport};

use crate::client::SimClient;
use crate::net::{Bottleneck, Datagram, LinkConfig, SimNetwork};

/// Smallest step of the simulated clock, so that a timer already due cannot
/// stall the simulation.
const MIN_STEP: Duration = Duration::from_micros(500);

pub struct World {
    pub start: Instant,
    pub now: Instant,
    pub room: Room,
    pub clients: Vec<SimClient>,
    /// The participant id of each client, while it is in the room.
    pub ids: Vec<Option<ParticipantId>>,
    pub net: SimNetwork,
    server_addr: SocketAddr,
    /// Signaling connections the room closed, with the reason.
    pub closed: Vec<(ParticipantId, CloseReason)>,
    /// Audit events the room reported.
    pub events: Vec<RoomEvent>,
    /// Clients whose signaling connection is currently down.
    signaling_lost: Vec<bool>,
}

impl World {
    pub fn new(seed: u64, link: LinkConfig, mut config: RoomConfig) -> World {
        hotline_sfu::init_crypto();
        let now = Instant::now();
        let server_addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 5000));
        config.candidates = vec![server_addr];
        World {
            start: now,
            now,
            room: Room::new("sim", config, now, 1_800_000_000_000),
            clients: Vec::new(),
            ids: Vec::new(),
            net: SimNetwork::new(seed, link),
            server_addr,
            closed: Vec::new(),
            events: Vec::new(),
            signaling_lost: Vec::new(),
        }
    }

    /// Seconds of simulated time so far.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Adds a client and joins it to the room (as a verified token would).
    pub fn join(&mut self, name: &str, grants: Grants) -> usize {
        self.join_with(name, grants, true)
    }

    /// `join`, saying whether the server estimates the client's download
    /// bandwidth (without, its layers follow the sizes it shows only).
    pub fn join_with(&mut self, name: &str, grants: Grants, estimate_bandwidth: bool) -> usize {
        self.join_client(name, grants, estimate_bandwidth, false)
    }

    /// `join`, the client offering redundant audio (RED): it sends its
    /// audio as RED and can receive RED.
    pub fn join_with_redundant_audio(&mut self, name: &str, grants: Grants) -> usize {
        self.join_client(name, grants, true, true)
    }

    fn join_client(
        &mut self,
        name: &str,
        grants: Grants,
        estimate_bandwidth: bool,
        redundant_audio: bool,
    ) -> usize {
        let n = self.clients.len() as u8 + 1;
        let client = SimClient::with_audio(
            name,
            self.now,
            SocketAddr::from((Ipv4Addr::new(10, 1, 0, n), 1000)),
            SocketAddr::from((Ipv4Addr::new(10, 1, 0, n), 2000)),
            redundant_audio,
        );
        self.clients.push(client);
        let id = self
            .room
            .join(
                self.now,
                JoinRequest {
                    estimate_bandwidth,
                    identity: name.to_lowercase(),
                    name: name.to_string(),
                    grants,
                    admitted: false,
                    languages: Vec::new(),
                    e2ee: false,
                },
            )
            .expect("room has space");
        self.ids.push(Some(id));
        self.signaling_lost.push(false);
        self.pump();
        self.clients.len() - 1
    }

    /// Has a client publish its camera and microphone.
    pub fn publish(&mut self, index: usize) {
        let now = self.now;
        self.clients[index].publish_camera_and_microphone(now);
        self.pump();
    }

    /// Has a client publish its voice on `language`'s interpretation
    /// channel, as an interpreter does.
    pub fn publish_interpretation(&mut self, index: usize, language: &str) {
        let now = self.now;
        let language = hotline_proto::Language::parse(language).expect("a language tag");
        self.clients[index].publish_interpretation(now, language);
        self.pump();
    }

    /// Caps what reaches a client (its download) at `rate_bps`, with a
    /// queue of at most 100 ms as `tbf … latency 100ms` has; `None` lifts it.
    pub fn limit_download(&mut self, index: usize, rate_bps: Option<u64>) {
        let host = self.clients[index].subscriber_addr().ip();
        let bottleneck = rate_bps.map(|rate_bps| Bottleneck {
            rate_bps,
            max_queue: Duration::from_millis(100),
        });
        self.net.set_bottleneck(self.now, host, bottleneck);
    }

    /// Gives a client's datagrams (both its connections, both ways) a link
    /// of their own; `None` restores the world's.
    pub fn impair_client(&mut self, index: usize, link: Option<LinkConfig>) {
        let host = self.clients[index].subscriber_addr().ip();
        self.net.impair_host(host, link);
    }

    pub fn client_mut(&mut self, index: usize) -> &mut SimClient {
        &mut self.clients[index]
    }

    /// Advances to the next thing that happens.
    pub fn progress(&mut self) {
        let mut next = self.net.poll_timeout();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        if let Some(t) = self.room.poll_timeout() {
            consider(t);
        }
        for c in self.clients.iter().filter(|c| !c.silent) {
            consider(c.poll_timeout());
        }
        let next = next
            .unwrap_or(self.now + Duration::from_millis(10))
            .max(self.now + MIN_STEP);
        self.now = next;

        while let Some(d) = self.net.poll_arrival(self.now) {
            self.deliver(d);
        }
        if self.room.poll_timeout().is_some_and(|t| t <= self.now) {
            self.room.handle_timeout(self.now);
        }
        let now = self.now;
        for c in &mut self.clients {
            if c.poll_timeout() <= now {
                c.handle_timeout(now);
            }
        }
        self.pump();
    }

    /// Runs for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        while self.now < until {
            self.progress();
        }
    }

    /// Runs until `done` holds or `limit` of simulated time passes; returns
    /// whether it held.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&World) -> bool) -> bool {
        let until = self.now + limit;
        while self.now < until {
            if done(self) {
                return true;
            }
            self.progress();
        }
        done(self)
    }

    fn deliver(&mut self, d: Datagram) {
        let blocked =
            |c: &SimClient| c.media_blocked && (c.owns(d.source) || c.owns(d.destination));
        if self.clients.iter().any(blocked) {
            return;
        }
        if d.destination == self.server_addr {
            self.room.handle_datagram(
                self.now,
                Transport::Udp,
                d.source,
                d.destination,
                &d.contents,
            );
        } else if let Some(c) = self.clients.iter_mut().find(|c| c.owns(d.destination)) {
            c.handle_datagram(self.now, &d);
        }
    }

    /// Moves signaling and datagrams between the room and clients until
    /// nothing is left to move.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.room.poll_output() {
                moved = true;
                match out {
                    RoomOutput::Transmit(t) => self.net.send(
                        self.now,
                        Datagram {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents,
                        },
                    ),
                    RoomOutput::Signal { to, message } => {
                        if let Some(i) = self.index_of(&to) {
                            if !self.signaling_lost[i] {
                                self.clients[i].handle_server_message(message);
                            }
                        }
                    }
                    RoomOutput::Close {
                        participant,
                        reason,
                    } => {
                        if let Some(i) = self.index_of(&participant) {
                            self.ids[i] = None;
                        }
                        self.closed.push((participant, reason));
                    }
                    RoomOutput::Event(event) => self.events.push(event),
                }
            }
            for i in 0..self.clients.len() {
                while let Some(d) = self.clients[i].poll_transmit() {
                    moved = true;
                    self.net.send(self.now, d);
                }
                while let Some(message) = self.clients[i].poll_signal() {
                    moved = true;
                    if let (Some(id), false) = (self.ids[i].clone(), self.signaling_lost[i]) {
                        self.room.handle_signal(self.now, &id, message);
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn index_of(&self, id: &ParticipantId) -> Option<usize> {
        self.ids.iter().position(|x| x.as_ref() == Some(id))
    }

    /// The client's signaling connection breaks (no close frame); its media
    /// keeps flowing. Messages it sends meanwhile are lost.
    pub fn lose_signaling(&mut self, index: usize) {
        if let Some(id) = self.ids[index].clone() {
            self.signaling_lost[index] = true;
            self.room.handle_disconnect(self.now, &id, false);
            self.pump();
        }
    }

    /// A new signaling connection resumes the client's session; returns
    /// whether the room took it back.
    pub fn resume(&mut self, index: usize) -> bool {
        let Some(id) = self.ids[index].clone() else {
            return false;
        };
        let token = self.clients[index].resume_token.clone().unwrap_or_default();
        self.signaling_lost[index] = false;
        let ok = self.room.resume(self.now, &id, &token).is_ok();
        self.pump();
        ok
    }

    /// Closes a client's signaling connection as a closed tab does.
    pub fn close_tab(&mut self, index: usize) {
        if let Some(id) = self.ids[index].take() {
            self.clients[index].silent = true;
            self.room.handle_disconnect(self.now, &id, true);
            self.pump();
        }
    }
}
