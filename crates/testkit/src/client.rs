//! A str0m peer that acts like a browser running the Hotline client.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_proto::{
    ClientMessage, ErrorCode, ParticipantInfo, PublishedTrack, ServerMessage, SubscribedTrack,
    TrackKind, TrackSource,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::net::Datagram;

const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
const VIDEO_INTERVAL: Duration = Duration::from_millis(33);
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// A keyframe every few seconds even unasked, as real encoders do.
const KEYFRAME_EVERY: u64 = 90;

/// What arrived on one subscribed track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCounter {
    pub frames: u64,
    pub bytes: u64,
    pub keyframes: u64,
}

struct Outgoing {
    mid: Mid,
    kind: TrackKind,
    source: TrackSource,
    next_at: Instant,
    frames: u64,
    keyframe_requested: bool,
}

/// A simulated browser. Feed it server messages, datagrams and time; poll
/// client messages and datagrams out.
pub struct SimClient {
    pub name: String,
    pub participant_id: Option<String>,
    publisher: Rtc,
    subscriber: Rtc,
    publisher_addr: SocketAddr,
    subscriber_addr: SocketAddr,
    pending_publish: Option<SdpPendingOffer>,
    outgoing: Vec<Outgoing>,
    /// Subscriber m-lines by mid, from the latest offer.
    mid_map: HashMap<Mid, SubscribedTrack>,
    /// Media received, by track id.
    pub received: BTreeMap<String, MediaCounter>,
    pub participants: BTreeMap<String, ParticipantInfo>,
    pub chats: Vec<(String, String)>,
    pub errors: Vec<ErrorCode>,
    pub keyframe_requests: u64,
    /// From `welcome`: lets this client resume its session.
    pub resume_token: Option<String>,
    /// The ICE username fragment of each subscriber offer, in order.
    pub subscriber_ufrags: Vec<String>,
    /// How many times the session was resumed.
    pub resumed: u32,
    /// Participants seen leaving, with the reason.
    pub left: Vec<(String, hotline_proto::LeaveReason)>,
    /// Set when the server announced it is stopping.
    pub shutdown_deadline_ms: Option<u64>,
    signals: VecDeque<ClientMessage>,
    transmits: VecDeque<Datagram>,
    next_heartbeat: Instant,
    /// Next str0m timeouts of the publisher and subscriber connections.
    timeouts: (Instant, Instant),
    /// A client whose network died: it sends and receives nothing.
    pub silent: bool,
    /// A client whose UDP is blocked: signaling works, media never flows.
    pub media_blocked: bool,
}

impl SimClient {
    /// A client whose connections use the two given local addresses.
    pub fn new(
        name: &str,
        now: Instant,
        publisher_addr: SocketAddr,
        subscriber_addr: SocketAddr,
    ) -> SimClient {
        let mut publisher = Rtc::new(now);
        let mut subscriber = Rtc::new(now);
        for (rtc, addr) in [
            (&mut publisher, publisher_addr),
            (&mut subscriber, subscriber_addr),
        ] {
            // Only fails for addresses str0m cannot use (e.g. unspecified).
            let candidate = Candidate::host(addr, "udp").expect("a usable client address");
            rtc.add_local_candidate(candidate);
        }
        SimClient {
            name: name.to_string(),
            participant_id: None,
            publisher,
            subscriber,
            publisher_addr,
            subscriber_addr,
            pending_publish: None,
            outgoing: Vec::new(),
            mid_map: HashMap::new(),
            received: BTreeMap::new(),
            participants: BTreeMap::new(),
            chats: Vec::new(),
            errors: Vec::new(),
            keyframe_requests: 0,
            shutdown_deadline_ms: None,
            resume_token: None,
            resumed: 0,
            subscriber_ufrags: Vec::new(),
            left: Vec::new(),
            signals: VecDeque::new(),
            transmits: VecDeque::new(),
            next_heartbeat: now + HEARTBEAT_INTERVAL,
            timeouts: (now, now),
            silent: false,
            media_blocked: false,
        }
    }

    /// Queues a `resume` of this client's session (after a lost connection).
    pub fn resume(&mut self, room: &str) {
        if let (Some(participant_id), Some(resume_token)) =
            (self.participant_id.clone(), self.resume_token.clone())
        {
            self.signals.push_back(ClientMessage::Resume {
                protocol_version: hotline_proto::PROTOCOL_VERSION,
                room: room.to_string(),
                participant_id,
                resume_token,
            });
        }
    }

    /// Queues the first message of a session.
    pub fn join(&mut self, token: &str, room: &str) {
        self.signals.push_back(ClientMessage::Join {
            protocol_version: hotline_proto::PROTOCOL_VERSION,
            token: token.to_string(),
            room: room.to_string(),
        });
    }

    /// Publishes a microphone and a camera track (one offer).
    pub fn publish_camera_and_microphone(&mut self, now: Instant) {
        let mut api = self.publisher.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        for (mid, kind, source) in [
            (audio, TrackKind::Audio, TrackSource::Microphone),
            (video, TrackKind::Video, TrackSource::Camera),
        ] {
            self.outgoing.push(Outgoing {
                mid,
                kind,
                source,
                next_at: now,
                frames: 0,
                keyframe_requested: false,
            });
        }
        self.pending_publish = Some(pending);
        self.signals.push_back(ClientMessage::PublishOffer {
            sdp: offer.to_sdp_string(),
            tracks: self.published_tracks(),
        });
    }

    fn published_tracks(&self) -> Vec<PublishedTrack> {
        self.outgoing
            .iter()
            .map(|o| PublishedTrack {
                mid: o.mid.to_string(),
                kind: o.kind,
                source: o.source,
                muted: false,
            })
            .collect()
    }

    pub fn send_chat(&mut self, text: &str) {
        self.signals.push_back(ClientMessage::Chat {
            text: text.to_string(),
        });
    }

    /// Asks the server to restart ICE on the subscriber connection.
    pub fn restart_ice(&mut self) {
        self.signals.push_back(ClientMessage::RestartIce);
    }

    pub fn leave(&mut self) {
        self.signals.push_back(ClientMessage::Leave);
    }

    /// Frames received from one participant's track of the given kind.
    pub fn frames_from(&self, participant: &str, kind: TrackKind) -> u64 {
        self.mid_map
            .values()
            .filter(|t| t.participant_id == participant && t.kind == kind)
            .filter_map(|t| self.received.get(&t.track_id))
            .map(|c| c.frames)
            .sum()
    }

    /// Participant ids whose tracks currently have an m-line here.
    pub fn subscribed_publishers(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .mid_map
            .values()
            .map(|t| t.participant_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Handles one message from the server.
    pub fn handle_server_message(&mut self, message: ServerMessage) {
        if self.silent {
            return;
        }
        match message {
            ServerMessage::Welcome {
                participant_id,
                participants,
                resume_token,
                ..
            } => {
                self.participant_id = Some(participant_id);
                self.resume_token = Some(resume_token);
                for p in participants {
                    self.participants.insert(p.participant_id.clone(), p);
                }
            }
            ServerMessage::Resumed { participants, .. } => {
                self.resumed += 1;
                self.participants = participants
                    .into_iter()
                    .map(|p| (p.participant_id.clone(), p))
                    .collect();
            }
            ServerMessage::PublishAnswer { sdp } => {
                let answer = SdpAnswer::from_sdp_string(&sdp).expect("server answers valid SDP");
                if let Some(pending) = self.pending_publish.take() {
                    self.publisher
                        .sdp_api()
                        .accept_answer(pending, answer)
                        .expect("server answer accepted");
                }
            }
            ServerMessage::SubscriberOffer { sdp, tracks } => {
                if let Some(ufrag) = sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")) {
                    self.subscriber_ufrags.push(ufrag.trim().to_string());
                }
                let offer = SdpOffer::from_sdp_string(&sdp).expect("server offers valid SDP");
                let answer = self
                    .subscriber
                    .sdp_api()
                    .accept_offer(offer)
                    .expect("server offer accepted");
                self.mid_map = tracks
                    .into_iter()
                    .map(|t| (Mid::from(t.mid.as_str()), t))
                    .collect();
                self.signals.push_back(ClientMessage::SubscriberAnswer {
                    sdp: answer.to_sdp_string(),
                });
            }
            ServerMessage::ParticipantJoined { participant }
            | ServerMessage::ParticipantUpdated { participant } => {
                self.participants
                    .insert(participant.participant_id.clone(), participant);
            }
            ServerMessage::ParticipantLeft {
                participant_id,
                reason,
            } => {
                self.participants.remove(&participant_id);
                self.left.push((participant_id, reason));
            }
            ServerMessage::Chat { name, text, .. } => self.chats.push((name, text)),
            ServerMessage::Error { code, .. } => self.errors.push(code),
            ServerMessage::ShuttingDown { deadline_ms } => {
                self.shutdown_deadline_ms = Some(deadline_ms)
            }
            ServerMessage::Pong | ServerMessage::IceServers { .. } => {}
        }
    }

    /// Next message for the server.
    pub fn poll_signal(&mut self) -> Option<ClientMessage> {
        if self.silent {
            self.signals.clear();
            return None;
        }
        self.signals.pop_front()
    }

    /// Whether a datagram is addressed to this client.
    pub fn owns(&self, addr: SocketAddr) -> bool {
        addr == self.publisher_addr || addr == self.subscriber_addr
    }

    pub fn handle_datagram(&mut self, now: Instant, datagram: &Datagram) {
        if self.silent {
            return;
        }
        let Ok(contents) = datagram.contents.as_slice().try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: datagram.source,
                destination: datagram.destination,
                contents,
            },
        );
        let rtc = if datagram.destination == self.publisher_addr {
            &mut self.publisher
        } else {
            &mut self.subscriber
        };
        if let Err(e) = rtc.handle_input(input) {
            tracing::warn!(client = %self.name, "datagram refused: {e}");
        }
        self.drain();
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.silent {
            return;
        }
        self.publisher
            .handle_input(Input::Timeout(now))
            .expect("publisher timeout");
        self.subscriber
            .handle_input(Input::Timeout(now))
            .expect("subscriber timeout");
        if now >= self.next_heartbeat {
            self.signals.push_back(ClientMessage::Ping);
            self.next_heartbeat = now + HEARTBEAT_INTERVAL;
        }
        self.write_media(now);
        self.drain();
    }

    /// Writes the frames that are due, once the publisher is connected.
    fn write_media(&mut self, now: Instant) {
        if !self.publisher.is_connected() {
            return;
        }
        for o in &mut self.outgoing {
            while o.next_at <= now {
                let Some(writer) = self.publisher.writer(o.mid) else {
                    break;
                };
                let codec = match o.kind {
                    TrackKind::Audio => Codec::Opus,
                    TrackKind::Video => Codec::Vp8,
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .map(|p| p.pt())
                else {
                    break;
                };
                let (time, data) = match o.kind {
                    TrackKind::Audio => (
                        MediaTime::new(o.frames * 960, Frequency::FORTY_EIGHT_KHZ),
                        vec![0xfc; 80],
                    ),
                    TrackKind::Video => {
                        let key = o.frames % KEYFRAME_EVERY == 0 || o.keyframe_requested;
                        o.keyframe_requested = false;
                        (
                            MediaTime::new(o.frames * 3000, Frequency::NINETY_KHZ),
                            vp8_frame(key, o.frames),
                        )
                    }
                };
                if writer.write(pt, now, time, data).is_err() {
                    break;
                }
                o.frames += 1;
                o.next_at += match o.kind {
                    TrackKind::Audio => AUDIO_INTERVAL,
                    TrackKind::Video => VIDEO_INTERVAL,
                };
            }
        }
    }

    /// Polls both connections until each has only a timeout left.
    fn drain(&mut self) {
        for publisher in [true, false] {
            loop {
                let rtc = if publisher {
                    &mut self.publisher
                } else {
                    &mut self.subscriber
                };
                match rtc.poll_output().expect("client poll") {
                    Output::Timeout(t) => {
                        if publisher {
                            self.timeouts.0 = t;
                        } else {
                            self.timeouts.1 = t;
                        }
                        break;
                    }
                    Output::Transmit(t) => self.transmits.push_back(Datagram {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.to_vec(),
                    }),
                    Output::Event(e) => self.handle_event(publisher, e),
                }
            }
        }
    }

    fn handle_event(&mut self, from_publisher: bool, event: Event) {
        match event {
            Event::MediaData(data) if !from_publisher => {
                let Some(track) = self.mid_map.get(&data.mid) else {
                    return;
                };
                let counter = self.received.entry(track.track_id.clone()).or_default();
                counter.frames += 1;
                counter.bytes += data.data.len() as u64;
                if track.kind == TrackKind::Video && data.data.first().is_some_and(|b| b & 1 == 0) {
                    counter.keyframes += 1;
                }
            }
            Event::KeyframeRequest(req) if from_publisher => {
                self.keyframe_requests += 1;
                if let Some(o) = self.outgoing.iter_mut().find(|o| o.mid == req.mid) {
                    o.keyframe_requested = true;
                }
            }
            _ => {}
        }
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        if self.silent {
            self.transmits.clear();
            return None;
        }
        self.transmits.pop_front()
    }

    /// When `handle_timeout` is due.
    pub fn poll_timeout(&self) -> Instant {
        let mut next = self.next_heartbeat;
        for o in &self.outgoing {
            next = next.min(o.next_at);
        }
        next.min(self.timeouts.0).min(self.timeouts.1)
    }
}

/// A VP8 frame the depacketizer and a keyframe check accept: the first byte
/// carries the inverse key-frame flag (0 = keyframe), the rest is filler
/// whose length varies like real video.
fn vp8_frame(key: bool, n: u64) -> Vec<u8> {
    let len = if key {
        3000
    } else {
        800 + (n % 7) as usize * 50
    };
    let mut frame = vec![0x5a; len];
    frame[0] = if key { 0x10 } else { 0x11 };
    if key {
        // Key frames carry a start code and dimensions (640x360).
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&640u16.to_le_bytes());
        frame[8..10].copy_from_slice(&360u16.to_le_bytes());
    }
    frame
}
