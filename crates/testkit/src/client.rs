//! A str0m peer that acts like a browser running the Hotline client.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_proto::{
    ChannelInfo, ClientMessage, ErrorCode, Language, ParticipantInfo, PublishedTrack,
    ServerMessage, SubscribedTrack, TrackKind, TrackSource,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::media::{self, MediaCounter, VideoShape, AUDIO_INTERVAL};
use crate::net::Datagram;

/// What names transport-wide congestion control in SDP: its feedback type,
/// and its header extension's URI.
const TRANSPORT_WIDE_CC: [&str; 2] = ["transport-cc", "transport-wide-cc"];
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// In header counting, one frame end in this many is decrypted to read
/// its send time.
const DELAY_SAMPLE_EVERY: u64 = 16;

struct Outgoing {
    mid: Mid,
    /// The simulcast layer it is, with its own shape; `None` for a single
    /// encoding shaped like the client's video.
    layer: Option<(Rid, VideoShape)>,
    /// Sent: the server may pause a layer nobody receives (dynacast).
    active: bool,
    kind: TrackKind,
    source: TrackSource,
    /// An interpretation track's channel.
    language: Option<Language>,
    /// Payload type of the codec, once the offer is made.
    pt: Option<Pt>,
    /// Next RTP sequence number.
    seq: u64,
    next_at: Instant,
    frames: u64,
    keyframe_requested: bool,
    /// Sent as RED: the payload type of the codec it wraps.
    red_of: Option<Pt>,
    /// The audio frame sent last, repeated in the next RED packet.
    previous_audio: Option<media::SyntheticPacket>,
}

/// A simulated client's end-to-end encryption.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimE2ee {
    /// Publishes with `e2ee: true`.
    pub declared: bool,
    /// Ends every frame with the encryption trailer (a tag's worth of
    /// bytes, an IV, key id 0 and the magic), as an encrypting browser
    /// does; the payload before it stays as it was.
    pub trailer: bool,
}

/// What a `video_layer` message said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoLayerSeen {
    pub rid: Option<String>,
    pub paused: bool,
    pub reason: hotline_proto::LayerReason,
    /// Only the base temporal layer: a lower frame rate.
    pub base_frame_rate: bool,
    pub estimate_kbps: Option<u32>,
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
    /// Track id and kind of each SSRC received so far.
    ssrc_tracks: HashMap<u32, (String, TrackKind)>,
    /// The SSRC whose packet was just counted from its header.
    peeked: Option<u32>,
    /// Whether it asks the server to estimate its download bandwidth.
    estimate_bandwidth: bool,
    /// Count received RTP from headers and decrypt only a sample (see
    /// [`SimClient::count_headers_only`]).
    header_counting: bool,
    /// Sent media carries send times relative to this moment.
    clock_origin: Instant,
    video: VideoShape,
    /// Simulcast layers of the camera, lowest first, when it sends them.
    simulcast: Vec<(Rid, VideoShape)>,
    /// The latest `publish_layers` for each of its tracks, by mid.
    pub publish_layers: BTreeMap<String, Vec<String>>,
    /// The latest `video_layer` of each received video track.
    pub video_layers: BTreeMap<String, VideoLayerSeen>,
    /// RTP packets written by the publisher.
    pub packets_sent: u64,
    pub participants: BTreeMap<String, ParticipantInfo>,
    pub chats: Vec<(String, String)>,
    /// Tracks of its own a host muted.
    pub muted_by_host: Vec<String>,
    /// The room's lock as last announced.
    pub room_locked: Option<bool>,
    /// While waiting in the lobby: whether a host is present (the latest
    /// `waiting`); `None` once welcomed, or never made to wait.
    pub waiting: Option<bool>,
    /// The latest `lobby` (hosts only): whether it is on, and the names
    /// of those waiting.
    pub lobby: Option<(bool, Vec<String>)>,
    /// The room's interpretation channels, as last announced.
    pub channels: Vec<ChannelInfo>,
    /// What it does of end-to-end encryption (as a browser's frame
    /// transform would; the sim does not really encrypt).
    pub e2ee: SimE2ee,
    /// Opaque end-to-end encryption messages received: (from, data).
    pub e2ee_messages: Vec<(String, String)>,
    /// The room is end-to-end encrypted, as `welcome` said.
    pub room_e2ee: bool,
    pub errors: Vec<ErrorCode>,
    /// What went wrong on this side: offers or answers refused, failed
    /// connections.
    pub failures: Vec<String>,
    pub keyframe_requests: u64,
    /// From `welcome`: lets this client resume its session.
    pub resume_token: Option<String>,
    /// The ICE username fragment of each subscriber offer, in order.
    pub subscriber_ufrags: Vec<String>,
    /// How many times the session was resumed.
    pub resumed: u32,
    /// Participants seen leaving, with the reason.
    pub left: Vec<(String, hotline_proto::LeaveReason)>,
    /// The latest `active_speakers`: loudest first.
    pub active_speakers: Vec<String>,
    /// The latest connection quality of each participant (self included).
    pub qualities: BTreeMap<String, hotline_proto::Quality>,
    /// The audio level its microphone sends, in -dBov (-127: silence).
    audio_level: i8,
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
    /// A client whose network drops every datagram, both ways, while it goes
    /// on running (its media is sent into the void).
    pub offline: bool,
}

impl SimClient {
    /// A client whose connections use the two given local addresses.
    pub fn new(
        name: &str,
        now: Instant,
        publisher_addr: SocketAddr,
        subscriber_addr: SocketAddr,
    ) -> SimClient {
        Self::with_audio(name, now, publisher_addr, subscriber_addr, false)
    }

    /// `new`, offering redundant audio (RED) or not: with it, the client
    /// sends its audio as RED (each packet also carries the previous
    /// frame), and can receive it.
    pub fn with_audio(
        name: &str,
        now: Instant,
        publisher_addr: SocketAddr,
        subscriber_addr: SocketAddr,
        redundant_audio: bool,
    ) -> SimClient {
        // RTP mode: the client writes packets itself (so that each carries
        // its send time) and counts packets, not frames.
        let build = || {
            let mut config = Rtc::builder()
                .set_rtp_mode(true)
                .enable_opus(true, redundant_audio);
            if let Some(cert) = hotline_sfu::process_certificate() {
                config = config.set_dtls_cert(cert);
            }
            config.build(now)
        };
        let mut publisher = build();
        let mut subscriber = build();
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
            ssrc_tracks: HashMap::new(),
            peeked: None,
            header_counting: false,
            estimate_bandwidth: true,
            clock_origin: now,
            video: VideoShape::default(),
            simulcast: Vec::new(),
            video_layers: BTreeMap::new(),
            publish_layers: BTreeMap::new(),
            packets_sent: 0,
            participants: BTreeMap::new(),
            chats: Vec::new(),
            muted_by_host: Vec::new(),
            room_locked: None,
            waiting: None,
            lobby: None,
            channels: Vec::new(),
            e2ee: SimE2ee::default(),
            e2ee_messages: Vec::new(),
            room_e2ee: false,
            errors: Vec::new(),
            failures: Vec::new(),
            keyframe_requests: 0,
            shutdown_deadline_ms: None,
            active_speakers: Vec::new(),
            qualities: BTreeMap::new(),
            audio_level: -30,
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
            offline: false,
        }
    }

    /// Send times in sent media are counted from `origin`; clients that
    /// share an origin measure each other's one-way delay.
    pub fn set_clock_origin(&mut self, origin: Instant) {
        self.clock_origin = origin;
    }

    pub fn set_video_shape(&mut self, shape: VideoShape) {
        self.video = shape;
    }

    /// Sends the camera as simulcast layers (rid and shape, lowest first),
    /// as the browser client does; set before publishing.
    pub fn set_simulcast(&mut self, layers: &[(&str, VideoShape)]) {
        self.simulcast = layers
            .iter()
            .map(|(rid, shape)| (Rid::from(*rid), *shape))
            .collect();
    }

    /// The local address of its subscriber connection (where media to it
    /// goes).
    pub fn subscriber_addr(&self) -> SocketAddr {
        self.subscriber_addr
    }

    /// Tells the server the size it shows a received video at.
    pub fn show_video(&mut self, track_id: &str, width: u32, height: u32) {
        self.signals.push_back(ClientMessage::VideoSize {
            track_id: track_id.to_string(),
            width,
            height,
        });
    }

    /// How loud its microphone is from now on, in -dBov: 0 is the loudest,
    /// -127 silence (the default is -30, a speaking voice).
    pub fn set_audio_level(&mut self, level: i8) {
        self.audio_level = level.clamp(-127, 0);
    }

    /// Counts received RTP from the headers, which SRTP leaves in the clear,
    /// and hands str0m only the first packets of each stream and a sample of
    /// frame ends (for the delay): cheap enough for one process to receive
    /// thousands of streams. Retransmission requests are turned off, since
    /// str0m no longer sees every packet; loss is still counted.
    pub fn count_headers_only(&mut self) {
        self.header_counting = true;
    }

    /// Asks the server not to estimate its download bandwidth (so not to
    /// pace what it sends it): every packet as it comes, as a forwarding
    /// benchmark wants. Set before joining.
    pub fn skip_bandwidth_estimation(&mut self) {
        self.estimate_bandwidth = false;
    }

    /// Forgets the media counted so far (after set-up, before measuring).
    pub fn reset_counters(&mut self) {
        for counter in self.received.values_mut() {
            counter.reset();
        }
        self.packets_sent = 0;
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
            estimate_bandwidth: self.estimate_bandwidth,
            protocol_version: hotline_proto::PROTOCOL_VERSION,
            token: token.to_string(),
            room: room.to_string(),
        });
    }

    /// Publishes a microphone and a camera track (one offer).
    pub fn publish_camera_and_microphone(&mut self, now: Instant) {
        let mut api = self.publisher.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let simulcast = (!self.simulcast.is_empty()).then(|| {
            let mut layers = Simulcast::new();
            for (rid, _) in &self.simulcast {
                layers.add_send_layer(SimulcastLayer::new(rid));
            }
            layers
        });
        let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        self.add_outgoing(now, audio, TrackSource::Microphone, None);
        self.add_outgoing(now, video, TrackSource::Camera, None);
        self.pending_publish = Some(pending);
        self.signals.push_back(ClientMessage::PublishOffer {
            sdp: offer.to_sdp_string(),
            tracks: self.published_tracks(),
            e2ee: self.e2ee.declared,
        });
    }

    /// Publishes one audio track on `language`'s interpretation channel, as
    /// an interpreter's client does.
    pub fn publish_interpretation(&mut self, now: Instant, language: Language) {
        let mut api = self.publisher.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        self.add_outgoing(now, audio, TrackSource::Interpretation, Some(language));
        self.pending_publish = Some(pending);
        self.signals.push_back(ClientMessage::PublishOffer {
            sdp: offer.to_sdp_string(),
            tracks: self.published_tracks(),
            e2ee: self.e2ee.declared,
        });
    }

    /// Starts sending on a new m-line `mid`: audio (Opus, as RED where that
    /// was negotiated) for a microphone or interpretation, VP8 video (in
    /// each simulcast layer, if set) for a camera.
    fn add_outgoing(
        &mut self,
        now: Instant,
        mid: Mid,
        source: TrackSource,
        language: Option<Language>,
    ) {
        let (kind, codec) = match source {
            TrackSource::Camera | TrackSource::Screen => (TrackKind::Video, Codec::Vp8),
            _ => (TrackKind::Audio, Codec::Opus),
        };
        let params = self
            .publisher
            .codec_config()
            .find(|p| p.spec().codec == codec);
        let pt = params.map(|p| p.red().unwrap_or(p.pt()));
        let red_of = params.and_then(|p| p.red().map(|_| p.pt()));
        let layers: Vec<Option<(Rid, VideoShape)>> =
            if kind == TrackKind::Video && !self.simulcast.is_empty() {
                self.simulcast.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
        for layer in layers {
            self.outgoing.push(Outgoing {
                mid,
                layer,
                active: true,
                kind,
                source,
                language,
                pt,
                seq: 1,
                next_at: now,
                frames: 0,
                keyframe_requested: false,
                red_of: red_of.filter(|_| kind == TrackKind::Audio),
                previous_audio: None,
            });
        }
    }

    fn published_tracks(&self) -> Vec<PublishedTrack> {
        let mut tracks: Vec<PublishedTrack> = Vec::new();
        for o in &self.outgoing {
            let mid = o.mid.to_string();
            let rid = o.layer.map(|(rid, _)| rid.to_string());
            match tracks.iter_mut().find(|t| t.mid == mid) {
                Some(track) => track.layers.extend(rid),
                None => tracks.push(PublishedTrack {
                    mid,
                    kind: o.kind,
                    source: o.source,
                    muted: false,
                    layers: rid.into_iter().collect(),
                    language: o.language,
                }),
            }
        }
        tracks
    }

    /// Mutes or unmutes the microphone, as the client's mute button does:
    /// the track stays, its `muted` flag changes.
    pub fn mute_microphone(&mut self, muted: bool) {
        let mids: Vec<Mid> = self
            .outgoing
            .iter()
            .filter(|o| o.source == TrackSource::Microphone)
            .map(|o| o.mid)
            .collect();
        for mid in mids {
            self.signals.push_back(ClientMessage::UpdateTrack {
                mid: mid.to_string(),
                muted,
            });
        }
    }

    /// Sends any signaling message (e.g. a host's controls).
    pub fn send(&mut self, message: ClientMessage) {
        self.signals.push_back(message);
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
        self.counters_from(participant, kind)
            .iter()
            .map(|c| c.frames)
            .sum()
    }

    /// Whether media is leaving: the publisher connection is up and
    /// packets were written to it.
    pub fn publishing(&self) -> bool {
        self.publisher.is_connected() && self.packets_sent > 0
    }

    /// Each received stream's kind and counters.
    pub fn received_streams(&self) -> impl Iterator<Item = (TrackKind, &MediaCounter)> {
        self.received.iter().filter_map(|(track, counter)| {
            let (_, kind) = self.ssrc_tracks.values().find(|(t, _)| t == track)?;
            Some((*kind, counter))
        })
    }

    /// Asks for a keyframe on every video stream received, as a browser's
    /// decoder does when it cannot go on.
    pub fn request_keyframes(&mut self) {
        let video: Vec<u32> = self
            .ssrc_tracks
            .iter()
            .filter(|(_, (_, kind))| *kind == TrackKind::Video)
            .map(|(ssrc, _)| *ssrc)
            .collect();
        let mut api = self.subscriber.direct_api();
        for ssrc in video {
            if let Some(stream) = api.stream_rx(&ssrc.into()) {
                stream.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
            }
        }
        self.drain();
    }

    /// The counters of the streams received from one participant.
    pub fn counters_from(&self, participant: &str, kind: TrackKind) -> Vec<&MediaCounter> {
        self.mid_map
            .values()
            .filter(|t| t.participant_id == participant && t.kind == kind)
            .filter_map(|t| self.received.get(&t.track_id))
            .collect()
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
                e2ee,
                ..
            } => {
                self.waiting = None;
                self.room_e2ee = e2ee;
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
                let Some(pending) = self.pending_publish.take() else {
                    return self.fail("a publish answer came with no offer pending");
                };
                let accepted = SdpAnswer::from_sdp_string(&sdp)
                    .map_err(|e| e.to_string())
                    .and_then(|answer| {
                        let api = self.publisher.sdp_api();
                        api.accept_answer(pending, answer)
                            .map_err(|e| e.to_string())
                    });
                if let Err(e) = accepted {
                    self.fail(format!("publish answer refused: {e}"));
                }
            }
            ServerMessage::SubscriberOffer { sdp, tracks } => {
                if let Some(ufrag) = sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")) {
                    self.subscriber_ufrags.push(ufrag.trim().to_string());
                }
                let answer = SdpOffer::from_sdp_string(&sdp)
                    .map_err(|e| e.to_string())
                    .and_then(|offer| {
                        let api = self.subscriber.sdp_api();
                        api.accept_offer(offer).map_err(|e| e.to_string())
                    });
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(e) => return self.fail(format!("subscriber offer refused: {e}")),
                };
                self.mid_map = tracks
                    .into_iter()
                    .map(|t| (Mid::from(t.mid.as_str()), t))
                    .collect();
                let mut sdp = answer.to_sdp_string();
                if self.header_counting {
                    // str0m sees only a sample of the packets, so it cannot
                    // send the transport-wide feedback the server's
                    // bandwidth estimate needs: do not negotiate it.
                    sdp = sdp
                        .lines()
                        .filter(|line| !TRANSPORT_WIDE_CC.iter().any(|name| line.contains(name)))
                        .map(|line| format!("{line}\r\n"))
                        .collect();
                }
                self.signals
                    .push_back(ClientMessage::SubscriberAnswer { sdp });
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
            ServerMessage::ActiveSpeakers { participant_ids } => {
                self.active_speakers = participant_ids
            }
            ServerMessage::ConnectionQuality { participants } => {
                for p in participants {
                    self.qualities.insert(p.participant_id, p.quality);
                }
            }
            ServerMessage::PublishLayers { mid, active } => {
                for o in &mut self.outgoing {
                    let Some((rid, _)) = o.layer else {
                        continue;
                    };
                    if o.mid.to_string() != mid {
                        continue;
                    }
                    let on = active.iter().any(|a| *a == rid.to_string());
                    // A resumed encoding starts with a keyframe, as a
                    // browser's does.
                    o.keyframe_requested |= on && !o.active;
                    o.active = on;
                }
                self.publish_layers.insert(mid, active);
            }
            ServerMessage::VideoLayer {
                track_id,
                rid,
                paused,
                reason,
                base_frame_rate,
                estimate_kbps,
                ..
            } => {
                self.video_layers.insert(
                    track_id,
                    VideoLayerSeen {
                        rid,
                        paused,
                        reason,
                        base_frame_rate,
                        estimate_kbps,
                    },
                );
            }
            ServerMessage::MutedByHost { track_id, .. } => self.muted_by_host.push(track_id),
            ServerMessage::RoomLocked { locked, .. } => self.room_locked = Some(locked),
            ServerMessage::Waiting { hosts_present, .. } => self.waiting = Some(hosts_present),
            ServerMessage::Interpretation { channels, .. } => self.channels = channels,
            ServerMessage::E2eeKeys { from, data } => self.e2ee_messages.push((from, data)),
            ServerMessage::Lobby { enabled, waiting } => {
                self.lobby = Some((enabled, waiting.into_iter().map(|w| w.name).collect()))
            }
            ServerMessage::Pong | ServerMessage::IceServers { .. } => {}
        }
    }

    /// Records something that went wrong with the server's answers, which
    /// a test asserts on and a load run reports.
    fn fail(&mut self, failure: impl Into<String>) {
        let failure = failure.into();
        tracing::warn!(client = %self.name, "{failure}");
        self.failures.push(failure);
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
        self.handle_packet(
            now,
            datagram.source,
            datagram.destination,
            &datagram.contents,
        );
    }

    /// A datagram from `source` arrived at this client's `destination`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        if self.silent || self.offline {
            return;
        }
        let to_subscriber = destination == self.subscriber_addr;
        if to_subscriber && self.header_counting && !self.count_header(now, contents) {
            return;
        }
        let Ok(contents) = contents.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        let rtc = if to_subscriber {
            &mut self.subscriber
        } else {
            &mut self.publisher
        };
        if let Err(e) = rtc.handle_input(input) {
            tracing::warn!(client = %self.name, "datagram refused: {e}");
        }
        self.peeked = None;
        self.drain();
    }

    /// Counts an RTP packet of a known stream from its header. Returns
    /// whether str0m must see the datagram anyway: anything not RTP, the
    /// first packets of a stream, and a sample of frame ends.
    fn count_header(&mut self, now: Instant, datagram: &[u8]) -> bool {
        let Some(peek) = media::peek_rtp(datagram) else {
            return true;
        };
        let Some((track, kind)) = self.ssrc_tracks.get(&peek.ssrc) else {
            return true;
        };
        let kind = *kind;
        let counter = self.received.entry(track.clone()).or_default();
        counter.count_header(now, kind, peek.seq, peek.marker, datagram.len());
        let frame_end = kind == TrackKind::Audio || peek.marker;
        if frame_end && counter.frames.is_multiple_of(DELAY_SAMPLE_EVERY) {
            self.peeked = Some(peek.ssrc);
            true
        } else {
            false
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.silent {
            return;
        }
        for (rtc, role) in [
            (&mut self.publisher, "publisher"),
            (&mut self.subscriber, "subscriber"),
        ] {
            if let Err(e) = rtc.handle_input(Input::Timeout(now)) {
                let failure = format!("{role} connection failed: {e}");
                tracing::warn!(client = %self.name, "{failure}");
                self.failures.push(failure);
            }
        }
        if now >= self.next_heartbeat {
            self.signals.push_back(ClientMessage::Ping);
            self.next_heartbeat = now + HEARTBEAT_INTERVAL;
        }
        self.write_media(now);
        self.drain();
    }

    /// Writes the packets of the frames that are due, once the publisher
    /// is connected.
    fn write_media(&mut self, now: Instant) {
        if !self.publisher.is_connected() {
            return;
        }
        let sent_us = media::stamp(self.clock_origin, now);
        for o in &mut self.outgoing {
            let Some(pt) = o.pt else {
                continue;
            };
            let shape = o.layer.map_or(self.video, |(_, shape)| shape);
            let frame_interval = shape.frame_interval();
            if !o.active {
                // A paused encoding: frames are captured, not sent.
                while o.next_at <= now {
                    o.frames += 1;
                    o.next_at += frame_interval;
                }
                continue;
            }
            let keyframe_every = (shape.keyframe_interval.as_millis()
                / frame_interval.as_millis().max(1))
            .max(1) as u64;
            while o.next_at <= now {
                let mut api = self.publisher.direct_api();
                let Some(stream) = api.stream_tx_by_mid(o.mid, o.layer.map(|(rid, _)| rid)) else {
                    break;
                };
                let (packets, ext_vals) = match o.kind {
                    TrackKind::Audio => {
                        let ext_vals = ExtensionValues {
                            audio_level: Some(self.audio_level),
                            voice_activity: Some(self.audio_level > -127),
                            ..ExtensionValues::default()
                        };
                        let frame = media::audio_packet(o.frames, sent_us);
                        let packet = match o.red_of {
                            Some(opus) => {
                                media::red_packet(*opus, &frame, o.previous_audio.as_ref())
                            }
                            None => frame.clone(),
                        };
                        o.previous_audio = Some(frame);
                        (vec![packet], ext_vals)
                    }
                    TrackKind::Video => {
                        let key = o.frames.is_multiple_of(keyframe_every) || o.keyframe_requested;
                        o.keyframe_requested = false;
                        let packets = media::video_frame(&shape, o.frames, key, sent_us);
                        (packets, ExtensionValues::default())
                    }
                };
                for mut packet in packets {
                    if self.e2ee.trailer && (o.kind == TrackKind::Audio || packet.marker) {
                        packet.payload.extend_from_slice(&[0u8; 16 + 12 + 1]);
                        packet.payload.extend_from_slice(&hotline_proto::E2EE_MAGIC);
                    }
                    let write =
                        RtpWrite::new(pt, o.seq.into(), packet.rtp_time, now, packet.payload)
                            .marker(packet.marker)
                            .nackable(o.kind == TrackKind::Video)
                            .ext_vals(ext_vals.clone());
                    stream.write_rtp(write);
                    o.seq += 1;
                    self.packets_sent += 1;
                }
                o.frames += 1;
                o.next_at += match o.kind {
                    TrackKind::Audio => AUDIO_INTERVAL,
                    TrackKind::Video => frame_interval,
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
                let output = match rtc.poll_output() {
                    Ok(output) => output,
                    Err(e) => {
                        self.fail(format!("connection failed: {e}"));
                        break;
                    }
                };
                match output {
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
                        contents: t.contents.into(),
                    }),
                    Output::Event(e) => self.handle_event(publisher, e),
                }
            }
        }
    }

    fn handle_event(&mut self, from_publisher: bool, event: Event) {
        match event {
            Event::RtpPacket(packet) if !from_publisher => self.received_rtp(&packet),
            Event::KeyframeRequest(req) if from_publisher => {
                self.keyframe_requests += 1;
                let layer = |o: &Outgoing| o.layer.map(|(rid, _)| rid);
                if let Some(o) = self
                    .outgoing
                    .iter_mut()
                    .find(|o| o.mid == req.mid && layer(o) == req.rid)
                {
                    o.keyframe_requested = true;
                }
            }
            _ => {}
        }
    }

    /// Counts a decrypted RTP packet (unless its header was counted
    /// already) and reads its payload.
    fn received_rtp(&mut self, packet: &RtpPacket) {
        let ssrc = *packet.header.ssrc;
        if !self.ssrc_tracks.contains_key(&ssrc) {
            let mut api = self.subscriber.direct_api();
            let Some(stream) = api.stream_rx(&packet.header.ssrc) else {
                return;
            };
            if self.header_counting {
                stream.suppress_nack(true);
            }
            let Some(track) = self.mid_map.get(&stream.mid()) else {
                return;
            };
            self.ssrc_tracks
                .insert(ssrc, (track.track_id.clone(), track.kind));
        }
        let Some((track, kind)) = self.ssrc_tracks.get(&ssrc) else {
            return;
        };
        let counter = self.received.entry(track.clone()).or_default();
        let now = packet.timestamp;
        if self.peeked != Some(ssrc) {
            counter.count_header(
                now,
                *kind,
                packet.header.sequence_number,
                packet.header.marker,
                packet.payload.len(),
            );
        }
        counter.read_payload(
            self.clock_origin,
            now,
            *kind,
            packet.header.marker,
            &packet.payload,
        );
        counter.last_payload = Some((*packet.header.payload_type, packet.payload.clone()));
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        if self.silent || self.offline {
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
