//! The room core: participants, their tracks, and forwarding between them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_proto::stats::{
    DownloadStats, LayerChoice, ParticipantStats, PublishedLayerStats, PublishedTrackStats,
    RoomStats, SubscriptionStats,
};
use hotline_proto::{
    ClientMessage, CloseReason, ConnectionState, ErrorCode, Grants, Language, LayerReason,
    LeaveReason, ParticipantQuality, PublishedTrack, ServerMessage, TrackKind, TrackSource,
    E2EE_MAGIC, E2EE_TRAILER_LEN, MAX_CHAT_CHARS, MAX_IDENTITY_KEY_CHARS, MAX_KEY_MESSAGE_CHARS,
    PROTOCOL_VERSION,
};
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Event, Input};
use tracing::{debug, info, info_span, warn};

use crate::allocate::{self, VideoDemand};
use crate::forward::{HeldPacket, Incoming, OutPayload, Outgoing, Verdict, ALL_TEMPORAL_LAYERS};
use crate::ids::{ParticipantId, TrackId};
use crate::interpret::Interpretation;
use crate::layers::Layer;
use crate::lobby::{Lobby, Waiter};
use crate::participant::{self, Participant, Subscription, SubscriptionState};
use crate::peer::{Peer, PeerRole, Transmit, Transport};
use crate::quality::{LinkHealth, LossChange};
use crate::speakers::SpeakerDetector;
use crate::{red, vp8};

/// Most tracks one participant may publish at once (camera, microphone,
/// screen, screen audio, and room to spare).
const MAX_PUBLISHED_TRACKS: usize = 8;

/// How much outgoing video each subscriber connection keeps for
/// retransmission: a NACK comes within a round trip, and a packet older than
/// a second is of no use to a real-time decoder.
const RTX_CACHE_AGE: Duration = Duration::from_secs(1);
const RTX_CACHE_PACKETS: usize = 512;

/// What str0m's pacer is set to for a subscriber that gives no
/// transport-wide feedback (so no estimate): out of the way.
const UNESTIMATED_PACING: Bitrate = Bitrate::mbps(1000);

/// A simulcast layer nobody has needed for this long is paused at its
/// publisher; long enough that layers do not flap as subscribers come,
/// resize and go.
const DYNACAST_AFTER: Duration = Duration::from_secs(3);

/// After the estimate forces a video down, it goes back up no sooner than
/// this: an estimate overshoots while it recovers, and each step into the
/// same wall and back costs two keyframes and a burst of loss.
const HOLD_DOWN_AFTER_STEP_DOWN: Duration = Duration::from_secs(8);

/// How often every subscriber's layers are chosen again, besides when its
/// bandwidth estimate or a video's shown size changes.
const ALLOCATE_EVERY: Duration = Duration::from_millis(500);

/// Label of the data channel every subscriber connection opens, so that ICE
/// and DTLS are up before the first track arrives.
const SUBSCRIBER_CHANNEL: &str = "hotline";

/// How a room behaves; the same for every room of a server.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// The server's UDP addresses, offered as ICE host candidates.
    pub candidates: Vec<SocketAddr>,
    /// The server's ICE-TCP addresses (passive candidates).
    pub tcp_candidates: Vec<SocketAddr>,
    /// Silence after which a participant shows as reconnecting.
    pub reconnecting_after: Duration,
    /// Silence after which a participant is removed.
    pub disconnect_timeout: Duration,
    pub max_participants: usize,
    /// Shortest interval between two keyframe requests for one track.
    pub keyframe_request_interval: Duration,
    /// Time a participant has to bring its subscriber connection up (ICE and
    /// DTLS) after joining; a session that never connects is removed.
    pub media_connect_timeout: Duration,
    /// Whether the room starts with its lobby on: everyone without a host
    /// grant waits until a host admits them (hosts can turn it on and off).
    pub lobby: bool,
    /// The room's interpretation languages, when set for it (a preset);
    /// otherwise the token that opens the room may declare them.
    pub languages: Vec<Language>,
    /// End-to-end encrypted from the start (a preset); otherwise the token
    /// that opens the room may make it so.
    pub e2ee: bool,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            candidates: Vec::new(),
            tcp_candidates: Vec::new(),
            reconnecting_after: Duration::from_secs(3),
            disconnect_timeout: Duration::from_secs(20),
            max_participants: 100,
            keyframe_request_interval: Duration::from_millis(500),
            media_connect_timeout: Duration::from_secs(30),
            lobby: false,
            languages: Vec::new(),
            e2ee: false,
        }
    }
}

/// Who joins: the verified content of an access token.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub identity: String,
    pub name: String,
    pub grants: Grants,
    /// Estimate the participant's download bandwidth to choose its video
    /// layers (see `ClientMessage::Join`).
    pub estimate_bandwidth: bool,
    /// A host let this identity in before (a scheduled call remembers it
    /// across restarts): it does not wait in the lobby.
    pub admitted: bool,
    /// The room's languages as the token declares them: taken when the
    /// room has none yet.
    pub languages: Vec<Language>,
    /// The token makes the room end-to-end encrypted, when it opens it.
    pub e2ee: bool,
}

/// Why a session could not be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    #[error("no such session, or a wrong resume token")]
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    #[error("room is full")]
    RoomFull,
    #[error("removed by a host")]
    Removed,
    #[error("room is locked")]
    Locked,
}

impl JoinError {
    pub fn close_reason(self) -> CloseReason {
        match self {
            JoinError::RoomFull => CloseReason::RoomFull,
            JoinError::Removed => CloseReason::Removed,
            JoinError::Locked => CloseReason::RoomLocked,
        }
    }
}

/// What the room asks its shell to do.
#[derive(Debug)]
pub enum RoomOutput {
    /// Send a datagram.
    Transmit(Transmit),
    /// Send a signaling message to one participant.
    Signal {
        to: ParticipantId,
        message: ServerMessage,
    },
    /// Close a participant's signaling connection; the participant is
    /// already gone from the room.
    Close {
        participant: ParticipantId,
        reason: CloseReason,
    },
    /// Something worth an audit record happened.
    Event(RoomEvent),
}

/// What the room reports for the audit log: who came, went, and used or was
/// refused a grant. Never a token or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    Joined {
        participant: ParticipantId,
        identity: String,
        grants: Grants,
    },
    Left {
        participant: ParticipantId,
        identity: String,
        reason: LeaveReason,
        /// Set when the media connection failed or never came up.
        media_failed: bool,
    },
    /// A lost signaling connection was replaced by a new one.
    Resumed {
        participant: ParticipantId,
        identity: String,
    },
    Published {
        participant: ParticipantId,
        identity: String,
        track: TrackId,
        kind: TrackKind,
        source: hotline_proto::TrackSource,
    },
    /// Someone started waiting in the lobby.
    Knocked {
        participant: ParticipantId,
        identity: String,
    },
    /// A host let someone in from the lobby (or turned the lobby off while
    /// they waited: then `by` is that host too).
    Admitted {
        participant: ParticipantId,
        identity: String,
        by: String,
    },
    /// A host turned someone in the lobby away.
    TurnedAway {
        participant: ParticipantId,
        identity: String,
        by: String,
    },
    /// A request the participant's grants do not allow.
    Refused {
        participant: ParticipantId,
        identity: String,
        code: ErrorCode,
    },
}

pub struct Room {
    name: String,
    config: RoomConfig,
    span: tracing::Span,
    /// Ordered, so that simulated runs iterate the same way every time.
    participants: BTreeMap<ParticipantId, Participant>,
    /// Remote address of each connection seen so far.
    routes: HashMap<(Transport, SocketAddr), (ParticipantId, PeerRole)>,
    /// Connections that got input or media to send and must be polled.
    dirty: BTreeSet<(ParticipantId, PeerRole)>,
    /// Subscriber connections with packets written but not yet released:
    /// str0m sends written packets once time moves on. Each is moved on
    /// once when output is next polled, however many packets a batch of
    /// input gave it.
    to_release: Vec<ParticipantId>,
    /// The time of the latest input.
    last_now: Instant,
    speakers: SpeakerDetector,
    /// When every subscriber's layers are next looked at again (layer
    /// rates change, and layers start and stop, between estimates).
    next_allocation: Instant,
    /// A host locked it: nobody new may join.
    locked: bool,
    /// Identities a host removed: they may not come back while it exists.
    removed: HashSet<String>,
    lobby: Lobby,
    interpretation: Interpretation,
    /// End-to-end encrypted: media is published with `e2ee`, every frame
    /// forwarded carries the encryption trailer, no redundant audio.
    e2ee: bool,
    outputs: VecDeque<RoomOutput>,
    /// A moment in both clocks, to stamp chat messages with wall-clock time.
    clock_origin: (Instant, u64),
}

impl Room {
    /// `unix_ms_at_now` is the wall-clock time at `now`, in Unix milliseconds.
    pub fn new(name: &str, config: RoomConfig, now: Instant, unix_ms_at_now: u64) -> Room {
        let lobby = Lobby::new(config.lobby);
        let interpretation = Interpretation::new(&config.languages);
        let e2ee = config.e2ee;
        Room {
            span: info_span!("room", room = %name),
            name: name.to_string(),
            config,
            participants: BTreeMap::new(),
            routes: HashMap::new(),
            dirty: BTreeSet::new(),
            to_release: Vec::new(),
            last_now: now,
            speakers: SpeakerDetector::default(),
            next_allocation: now,
            locked: false,
            removed: HashSet::new(),
            lobby,
            interpretation,
            e2ee,
            outputs: VecDeque::new(),
            clock_origin: (now, unix_ms_at_now),
        }
    }

    /// Wall-clock time at `now`, in Unix milliseconds.
    fn unix_ms(&self, now: Instant) -> u64 {
        let (origin, origin_unix_ms) = self.clock_origin;
        origin_unix_ms + now.saturating_duration_since(origin).as_millis() as u64
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Nobody in it and nobody waiting to be let in.
    pub fn is_empty(&self) -> bool {
        self.participants.is_empty() && self.lobby.is_empty()
    }

    pub fn participant_count(&self) -> usize {
        self.participants.len()
    }

    /// What the room does for each participant now: its download as the
    /// allocator sees it, what it publishes, and the layer each video it
    /// receives gets and why.
    pub fn stats(&self, now: Instant) -> RoomStats {
        let participants = self
            .participants
            .values()
            .map(|p| ParticipantStats {
                participant_id: p.id.to_string(),
                identity: p.identity.clone(),
                name: p.name.clone(),
                connection: p.connection,
                quality: p.health.announced,
                download: DownloadStats {
                    estimate_kbps: p.downlink_estimate.map(|e| (e / 1000) as u32),
                    congested: p.download_loss.congested(now),
                    copies: p.download_loss.copies(now),
                    loss: p.health.download_loss,
                    rtt_ms: p.health.rtt.map(|rtt| rtt.as_millis() as u32),
                },
                published: p
                    .published
                    .iter()
                    .map(|t| PublishedTrackStats {
                        track_id: t.id.to_string(),
                        kind: t.kind,
                        source: t.source,
                        muted: t.muted,
                        layers: t
                            .layers
                            .iter()
                            .map(|l| PublishedLayerStats {
                                rid: l.rid.map(|r| r.to_string()),
                                bitrate_kbps: l.bitrate(now).map(|b| (b / 1000) as u32),
                                width: l.size.map(|(w, _)| u32::from(w)),
                                height: l.size.map(|(_, h)| u32::from(h)),
                                paused_at_publisher: l.paused_at_publisher,
                            })
                            .collect(),
                    })
                    .collect(),
                subscriptions: p
                    .subscriptions
                    .iter()
                    .filter(|s| s.live_mid().is_some())
                    .map(|s| {
                        let rid = |layer: usize| {
                            let track = self.published_track(&s.track)?;
                            Some(track.layers.get(layer)?.rid?.to_string())
                        };
                        SubscriptionStats {
                            track_id: s.track.to_string(),
                            publisher_id: s.publisher.to_string(),
                            kind: s.kind,
                            source: s.source,
                            layer: s.announced.map(|d| LayerChoice {
                                rid: d.layer.and_then(rid),
                                paused: d.layer.is_none(),
                                reason: d.reason,
                                base_frame_rate: d.base_only,
                            }),
                            shown_width: s.shown_at.map(|(w, _)| w),
                            shown_height: s.shown_at.map(|(_, h)| h),
                        }
                    })
                    .collect(),
            })
            .collect();
        RoomStats {
            room: self.name.clone(),
            participants,
        }
    }

    /// Everyone with a session here: in the call, or waiting in the lobby.
    pub fn participant_ids(&self) -> impl Iterator<Item = &ParticipantId> {
        self.participants.keys().chain(self.lobby.ids())
    }

    /// Adds a participant, or puts it in the lobby to wait for a host
    /// (it is told `waiting` instead of `welcome`). A participant with the
    /// same identity is replaced.
    pub fn join(&mut self, now: Instant, req: JoinRequest) -> Result<ParticipantId, JoinError> {
        let _room = self.span.clone().entered();
        if self.removed.contains(&req.identity) {
            return Err(JoinError::Removed);
        }
        let present = self
            .participants
            .values()
            .any(|p| p.identity == req.identity);
        if self.locked && !present && !req.grants.host {
            return Err(JoinError::Locked);
        }
        if !present && self.lobby.must_wait(&req) {
            return self.knock(now, req);
        }
        self.enter(now, ParticipantId::random(), req)
    }

    /// Puts a joiner in the lobby; hosts see it there.
    fn knock(&mut self, now: Instant, req: JoinRequest) -> Result<ParticipantId, JoinError> {
        if self.lobby.is_full() {
            return Err(JoinError::RoomFull);
        }
        let id = ParticipantId::random();
        info!(participant = %id, identity = %req.identity, name = %req.name, "waiting in the lobby");
        self.outputs
            .push_back(RoomOutput::Event(RoomEvent::Knocked {
                participant: id.clone(),
                identity: req.identity.clone(),
            }));
        let unix_ms = self.unix_ms(now);
        if let Some(earlier) = self.lobby.knock(now, unix_ms, id.clone(), req) {
            info!(participant = %earlier.id, "replaced in the lobby by a newer session");
            self.outputs.push_back(RoomOutput::Close {
                participant: earlier.id,
                reason: CloseReason::Replaced,
            });
        }
        self.lobby_changed();
        Ok(id)
    }

    /// Lets a participant in with id `id`: it gets `welcome`, the others
    /// see it join.
    fn enter(
        &mut self,
        now: Instant,
        id: ParticipantId,
        req: JoinRequest,
    ) -> Result<ParticipantId, JoinError> {
        if let Some(old) = self
            .participants
            .values()
            .find(|p| p.identity == req.identity)
            .map(|p| p.id.clone())
        {
            info!(participant = %old, "replaced by a newer session of the same identity");
            self.remove(&old, LeaveReason::Replaced, Some(CloseReason::Replaced));
        }
        if self.participants.len() >= self.config.max_participants {
            return Err(JoinError::RoomFull);
        }

        self.lobby.remember(&req.identity);
        // The token that opens the room may make it end-to-end encrypted;
        // nothing turns that off.
        if req.e2ee && !self.e2ee && self.participants.is_empty() {
            info!("end-to-end encrypted");
            self.e2ee = true;
        }
        let span =
            info_span!(parent: &self.span, "participant", id = %id, identity = %req.identity);
        span.in_scope(|| info!(name = %req.name, grants = ?req.grants, "joined"));

        let subscriptions = if req.grants.subscribe {
            self.participants
                .values()
                .flat_map(|p| {
                    p.published
                        .iter()
                        .map(|t| Subscription::new(t.id.clone(), p.id.clone(), t.kind, t.source))
                })
                .collect()
        } else {
            Vec::new()
        };
        let others = self.participants.values().map(|p| p.info()).collect();
        let participant = Participant {
            id: id.clone(),
            identity: req.identity,
            name: req.name,
            grants: req.grants,
            span,
            connection: ConnectionState::Connected,
            last_seen: now,
            joined_at: now,
            media_connected: false,
            resume_token: random_token(),
            ice_restart_wanted: false,
            offer_in_flight: None,
            publisher: None,
            subscriber: Peer::new(
                now,
                req.estimate_bandwidth,
                self.e2ee,
                &self.config.candidates,
                &self.config.tcp_candidates,
            ),
            offered_channel: false,
            written_unreleased: false,
            downlink_estimate: None,
            download_loss: Default::default(),
            estimates_bandwidth: req.estimate_bandwidth,
            probe: None,
            health: LinkHealth::default(),
            published: Vec::new(),
            subscriptions,
            pending_offer: None,
            listening: None,
            identity_key: None,
        };
        let declared = self.interpretation.declare(&req.languages);
        let info = participant.info();
        self.outputs.push_back(RoomOutput::Event(RoomEvent::Joined {
            participant: id.clone(),
            identity: participant.identity.clone(),
            grants: participant.grants,
        }));
        self.signal(
            &id,
            ServerMessage::Welcome {
                protocol_version: PROTOCOL_VERSION,
                participant_id: id.to_string(),
                room: self.name.clone(),
                identity: participant.identity.clone(),
                name: participant.name.clone(),
                grants: participant.grants,
                participants: others,
                disconnect_timeout_ms: self.config.disconnect_timeout.as_millis() as u64,
                resume_token: participant.resume_token.clone(),
                locked: self.locked,
                e2ee: self.e2ee,
            },
        );
        let qualities: Vec<ParticipantQuality> = self
            .participants
            .values()
            .filter_map(|p| {
                Some(ParticipantQuality {
                    participant_id: p.id.to_string(),
                    quality: p.health.announced?,
                })
            })
            .collect();
        if !qualities.is_empty() {
            self.signal(
                &id,
                ServerMessage::ConnectionQuality {
                    participants: qualities,
                },
            );
        }
        let host = participant.grants.host;
        self.participants.insert(id.clone(), participant);
        self.broadcast(
            Some(&id),
            ServerMessage::ParticipantJoined { participant: info },
        );
        if declared {
            info!(languages = ?self.interpretation.languages(), "interpretation languages declared");
            self.interpretation_changed();
        } else if !self.interpretation.languages().is_empty() {
            let message = self.interpretation_message();
            self.signal(&id, message);
        }
        if host {
            self.lobby_changed();
        }
        self.negotiate_subscriber(&id);
        self.drive(now);
        Ok(id)
    }

    /// A new signaling connection takes over a session whose connection was
    /// lost. The participant gets the room's current state and any offer
    /// that was in flight; the others see it connected again.
    pub fn resume(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        resume_token: &str,
    ) -> Result<(), ResumeError> {
        let _room = self.span.clone().entered();
        let Some(p) = self.participants.get_mut(who) else {
            return Err(ResumeError::NotFound);
        };
        if !constant_time_eq(p.resume_token.as_bytes(), resume_token.as_bytes()) {
            return Err(ResumeError::NotFound);
        }
        p.span.in_scope(|| info!("resumed"));
        p.last_seen = now;
        let was_reconnecting = p.connection == ConnectionState::Reconnecting;
        p.connection = ConnectionState::Connected;
        let offer = p.offer_in_flight.clone();
        let identity = p.identity.clone();
        let others = self
            .participants
            .values()
            .filter(|o| &o.id != who)
            .map(|o| o.info())
            .collect();
        self.signal(
            who,
            ServerMessage::Resumed {
                participant_id: who.to_string(),
                participants: others,
                locked: self.locked,
            },
        );
        if let Some(offer) = offer {
            self.signal(who, offer);
        }
        if self.participants.get(who).is_some_and(|p| p.grants.host) {
            let lobby = self.lobby.for_hosts();
            self.signal(who, lobby);
        }
        if !self.interpretation.languages().is_empty() {
            let message = self.interpretation_message();
            self.signal(who, message);
        }
        // The layers to send may have been told while the socket was down.
        for message in self
            .participants
            .get(who)
            .map(publish_layers)
            .unwrap_or_default()
        {
            self.signal(who, message);
        }
        if was_reconnecting {
            self.broadcast_update(who);
        }
        self.outputs
            .push_back(RoomOutput::Event(RoomEvent::Resumed {
                participant: who.clone(),
                identity,
            }));
        self.drive(now);
        Ok(())
    }

    /// A signaling message from a participant.
    pub fn handle_signal(&mut self, now: Instant, from: &ParticipantId, message: ClientMessage) {
        let _room = self.span.clone().entered();
        if self.lobby.is_waiting(from) {
            return self.handle_waiting_signal(now, from, message);
        }
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let _p = p.span.clone().entered();
        debug!(kind = message.kind(), "signal");
        p.last_seen = now;
        if p.connection == ConnectionState::Reconnecting {
            p.connection = ConnectionState::Connected;
            info!("connection restored");
            self.broadcast_update(from);
        }

        match message {
            ClientMessage::Join { .. } | ClientMessage::Resume { .. } => self.signal_error(
                from,
                ErrorCode::UnexpectedMessage,
                "already joined: join and resume are only first messages",
            ),
            ClientMessage::Ping => self.signal(from, ServerMessage::Pong),
            ClientMessage::Leave => self.remove(from, LeaveReason::Left, Some(CloseReason::Left)),
            ClientMessage::Chat { text } => self.handle_chat(now, from, text),
            ClientMessage::RestartIce => {
                if let Some(p) = self.participants.get_mut(from) {
                    info!("ICE restart asked for the subscriber connection");
                    p.ice_restart_wanted = true;
                }
                self.negotiate_subscriber(from);
            }
            ClientMessage::UpdateTrack { mid, muted } => {
                self.handle_update_track(now, from, &mid, muted)
            }
            ClientMessage::VideoSize {
                track_id,
                width,
                height,
            } => self.handle_video_size(now, from, &track_id, width, height),
            ClientMessage::SubscriberAnswer { sdp } => {
                self.handle_subscriber_answer(now, from, &sdp)
            }
            ClientMessage::PublishOffer { sdp, tracks, e2ee } => {
                if self.e2ee && !e2ee {
                    self.refused(from, ErrorCode::EncryptionRequired);
                    self.signal_error(
                        from,
                        ErrorCode::EncryptionRequired,
                        "this call is end-to-end encrypted: your browser must encrypt what it sends",
                    );
                } else {
                    self.handle_publish_offer(now, from, &sdp, tracks)
                }
            }
            ClientMessage::E2eeIdentity { key } => self.e2ee_identity(from, key),
            ClientMessage::E2eeKeys { to, data } => self.e2ee_keys(from, &to, data),
            ClientMessage::MuteParticipant {
                participant_id,
                track_id,
            } => self.host_mute(now, from, &participant_id, &track_id),
            ClientMessage::RemoveParticipant { participant_id } => {
                self.host_remove(from, &participant_id)
            }
            ClientMessage::LockRoom { locked } => self.host_lock(from, locked),
            ClientMessage::AdmitParticipant { participant_id } => {
                self.host_admit(now, from, &participant_id)
            }
            ClientMessage::RefuseParticipant { participant_id } => {
                self.host_refuse(from, &participant_id)
            }
            ClientMessage::SetLobby { enabled } => self.host_set_lobby(now, from, enabled),
            ClientMessage::Listen { language } => self.listen(from, language),
            ClientMessage::TakeChannel { language } => self.take_channel(from, language),
            ClientMessage::ReleaseChannel => {
                if self.interpretation.release(from) {
                    info!(participant = %from, "interpreter off the air");
                    self.interpretation_changed();
                }
            }
        }
        self.drive(now);
    }

    /// A message from someone waiting in the lobby: it may only ping or
    /// leave until a host lets it in.
    fn handle_waiting_signal(
        &mut self,
        now: Instant,
        from: &ParticipantId,
        message: ClientMessage,
    ) {
        self.lobby.touch(from, now);
        match message {
            ClientMessage::Ping => self.signal(from, ServerMessage::Pong),
            ClientMessage::Leave => {
                if self.lobby.take(from).is_some() {
                    info!(participant = %from, "left the lobby");
                    self.outputs.push_back(RoomOutput::Close {
                        participant: from.clone(),
                        reason: CloseReason::Left,
                    });
                    self.lobby_changed();
                }
            }
            _ => self.signal_error(
                from,
                ErrorCode::UnexpectedMessage,
                "you are waiting in the lobby: a host has not let you in yet",
            ),
        }
    }

    /// The participant's signaling connection closed. `clean` means a close
    /// frame arrived (tab closed, navigation): the participant is gone. An
    /// abrupt loss leaves it reconnecting until the disconnect timeout.
    pub fn handle_disconnect(&mut self, now: Instant, who: &ParticipantId, clean: bool) {
        let _room = self.span.clone().entered();
        // A waiter has no session to take back: joining again knocks again.
        if self.lobby.take(who).is_some() {
            info!(participant = %who, "left the lobby: connection closed");
            self.outputs.push_back(RoomOutput::Close {
                participant: who.clone(),
                reason: CloseReason::Left,
            });
            self.lobby_changed();
        } else if clean {
            self.remove(who, LeaveReason::Disconnected, None);
        } else if let Some(p) = self.participants.get_mut(who) {
            if p.connection == ConnectionState::Connected {
                p.span.in_scope(|| info!("signaling lost, reconnecting"));
                p.connection = ConnectionState::Reconnecting;
                self.broadcast_update(who);
            }
        }
        self.drive(now);
    }

    /// A datagram from the network. Returns false when no connection of this
    /// room claims it.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        let Some(input) = Peer::receive_input(now, transport, source, destination, contents) else {
            return false;
        };
        let target = match self.routes.get(&(transport, source)) {
            Some(target) => Some(target.clone()),
            None => self.find_owner(&input),
        };
        let Some((id, role)) = target else {
            return false;
        };
        if self
            .routes
            .insert((transport, source), (id.clone(), role))
            .is_none()
        {
            if let Some(p) = self.participants.get(&id) {
                p.span
                    .in_scope(|| info!(?role, ?transport, %source, "media path"));
            }
        }
        let _room = self.span.clone().entered();
        if let Some(peer) = self
            .participants
            .get_mut(&id)
            .and_then(|p| p.peer_mut(role))
        {
            if let Err(e) = peer.handle_input(input) {
                debug!(participant = %id, ?role, "bad datagram: {e}");
            }
            self.dirty.insert((id, role));
        }
        self.drive(now);
        true
    }

    /// Advances time: str0m timers, heartbeat checks.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _room = self.span.clone().entered();
        for p in self.participants.values_mut() {
            for role in [PeerRole::Publisher, PeerRole::Subscriber] {
                let Some(peer) = p.peer_mut(role) else {
                    continue;
                };
                if peer.next_timeout.is_some_and(|t| t <= now) {
                    if let Err(e) = peer.handle_input(Input::Timeout(now)) {
                        peer.rtc.disconnect();
                        p.span.in_scope(|| warn!(?role, "connection failed: {e}"));
                    }
                    self.dirty.insert((p.id.clone(), role));
                }
            }
        }
        self.check_liveness(now);
        if now >= self.next_allocation {
            self.next_allocation = now + ALLOCATE_EVERY;
            let ids: Vec<ParticipantId> = self.participants.keys().cloned().collect();
            for id in &ids {
                self.allocate_layers(now, id);
            }
            self.update_dynacast(now);
        }
        self.drive(now);
    }

    /// Removes everyone (the server is stopping); each gets its socket
    /// closed with `reason`. Nobody is told of the others leaving: they are
    /// all going.
    pub fn close_all(&mut self, reason: CloseReason) {
        let _room = self.span.clone().entered();
        for waiter in self.lobby.take_all() {
            self.outputs.push_back(RoomOutput::Close {
                participant: waiter.id,
                reason,
            });
        }
        for (id, mut p) in std::mem::take(&mut self.participants) {
            p.span.in_scope(|| info!("left: server stopping"));
            p.subscriber.rtc.disconnect();
            if let Some(publisher) = p.publisher.as_mut() {
                publisher.rtc.disconnect();
            }
            self.outputs.push_back(RoomOutput::Event(RoomEvent::Left {
                participant: id.clone(),
                identity: p.identity,
                reason: LeaveReason::ServerShutdown,
                media_failed: false,
            }));
            self.outputs.push_back(RoomOutput::Close {
                participant: id,
                reason,
            });
        }
        self.routes.clear();
        self.dirty.clear();
        self.to_release.clear();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<RoomOutput> {
        if self.outputs.is_empty() && !self.to_release.is_empty() {
            self.release_written();
        }
        self.outputs.pop_front()
    }

    /// Moves time on for the subscriber connections packets were written
    /// to, so that str0m sends them.
    fn release_written(&mut self) {
        let _room = self.span.clone().entered();
        let now = self.last_now;
        for id in std::mem::take(&mut self.to_release) {
            let Some(p) = self.participants.get_mut(&id) else {
                continue;
            };
            p.written_unreleased = false;
            if let Err(e) = p.subscriber.handle_input(Input::Timeout(now)) {
                p.span.in_scope(|| debug!("subscriber timeout failed: {e}"));
            }
            self.dirty.insert((id, PeerRole::Subscriber));
        }
        self.drive(now);
    }

    /// When `handle_timeout` must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.to_release.is_empty() {
            return Some(self.last_now);
        }
        let speakers = self.speakers.next_check();
        let allocation = (!self.participants.is_empty()).then_some(self.next_allocation);
        self.participants
            .values()
            .flat_map(|p| {
                let liveness = match p.connection {
                    ConnectionState::Connected => p.last_seen + self.config.reconnecting_after,
                    ConnectionState::Reconnecting => p.last_seen + self.config.disconnect_timeout,
                };
                let connect_deadline =
                    (!p.media_connected).then(|| p.joined_at + self.config.media_connect_timeout);
                [
                    p.publisher.as_ref().and_then(|peer| peer.next_timeout),
                    p.subscriber.next_timeout,
                    Some(liveness),
                    connect_deadline,
                ]
            })
            .flatten()
            .chain(speakers)
            .chain(allocation)
            .chain(self.lobby.next_timeout(self.config.disconnect_timeout))
            .min()
    }

    fn find_owner(&self, input: &Input) -> Option<(ParticipantId, PeerRole)> {
        self.participants.values().find_map(|p| {
            if p.subscriber.rtc.accepts(input) {
                Some((p.id.clone(), PeerRole::Subscriber))
            } else if p
                .publisher
                .as_ref()
                .is_some_and(|peer| peer.rtc.accepts(input))
            {
                Some((p.id.clone(), PeerRole::Publisher))
            } else {
                None
            }
        })
    }

    fn check_liveness(&mut self, now: Instant) {
        let mut timed_out = Vec::new();
        let mut reconnecting = Vec::new();
        let mut never_connected = Vec::new();
        for p in self.participants.values_mut() {
            let silent = now.saturating_duration_since(p.last_seen);
            if !p.media_connected && now >= p.joined_at + self.config.media_connect_timeout {
                p.span.in_scope(|| warn!("media never connected; removed"));
                never_connected.push(p.id.clone());
            } else if silent >= self.config.disconnect_timeout {
                timed_out.push(p.id.clone());
            } else if silent >= self.config.reconnecting_after
                && p.connection == ConnectionState::Connected
            {
                p.span
                    .in_scope(|| info!(silent_ms = silent.as_millis() as u64, "reconnecting"));
                p.connection = ConnectionState::Reconnecting;
                reconnecting.push(p.id.clone());
            }
        }
        for id in reconnecting {
            self.broadcast_update(&id);
        }
        for id in timed_out {
            self.remove(&id, LeaveReason::TimedOut, Some(CloseReason::TimedOut));
        }
        for id in never_connected {
            self.remove(
                &id,
                LeaveReason::Disconnected,
                Some(CloseReason::MediaFailed),
            );
        }
        let silent = self.lobby.take_silent(now, self.config.disconnect_timeout);
        if !silent.is_empty() {
            for waiter in silent {
                info!(participant = %waiter.id, "left the lobby: silent");
                self.outputs.push_back(RoomOutput::Close {
                    participant: waiter.id,
                    reason: CloseReason::TimedOut,
                });
            }
            self.lobby_changed();
        }
    }

    /// Removes a participant, stops its tracks at every subscriber and tells
    /// the others.
    fn remove(&mut self, id: &ParticipantId, reason: LeaveReason, close: Option<CloseReason>) {
        let Some(mut gone) = self.participants.remove(id) else {
            return;
        };
        gone.span.in_scope(|| info!(?reason, "left"));
        self.speakers.silence(self.last_now, id);
        self.outputs.push_back(RoomOutput::Event(RoomEvent::Left {
            participant: id.clone(),
            identity: gone.identity.clone(),
            reason,
            media_failed: close == Some(CloseReason::MediaFailed),
        }));
        gone.subscriber.rtc.disconnect();
        if let Some(publisher) = gone.publisher.as_mut() {
            publisher.rtc.disconnect();
        }
        self.routes.retain(|_, (owner, _)| owner != id);
        self.dirty.retain(|(owner, _)| owner != id);
        self.to_release.retain(|p| p != id);
        let subscribers: Vec<ParticipantId> = self.participants.keys().cloned().collect();
        for sub in &subscribers {
            self.unsubscribe(sub, |s| &s.publisher == id);
            self.negotiate_subscriber(sub);
        }
        self.broadcast(
            None,
            ServerMessage::ParticipantLeft {
                participant_id: id.to_string(),
                reason,
            },
        );
        if let Some(reason) = close {
            self.outputs.push_back(RoomOutput::Close {
                participant: id.clone(),
                reason,
            });
        }
        if gone.grants.host {
            // The waiters may have lost their last host.
            self.lobby_changed();
        }
        if gone.published.iter().any(|t| t.channel.is_some()) {
            self.interpretation.release(id);
            self.interpretation_changed();
        }
    }

    /// Marks the matching subscriptions of `subscriber` for stopping.
    fn unsubscribe(&mut self, subscriber: &ParticipantId, matches: impl Fn(&Subscription) -> bool) {
        let Some(p) = self.participants.get_mut(subscriber) else {
            return;
        };
        p.subscriptions.retain_mut(|s| {
            if !matches(s) {
                return true;
            }
            match s.state {
                SubscriptionState::ToOpen => false,
                SubscriptionState::Negotiating(m) | SubscriptionState::Open(m) => {
                    s.state = SubscriptionState::ToStop(m);
                    true
                }
                SubscriptionState::ToStop(_) | SubscriptionState::NegotiatingStop(_) => true,
            }
        });
    }

    fn handle_chat(&mut self, now: Instant, from: &ParticipantId, text: String) {
        let Some(p) = self.participants.get(from) else {
            return;
        };
        if !p.grants.publish_data {
            self.refused(from, ErrorCode::DataNotAllowed);
            return self.signal_error(
                from,
                ErrorCode::DataNotAllowed,
                "your invitation does not allow sending messages",
            );
        }
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
            return self.signal_error(
                from,
                ErrorCode::InvalidChat,
                format!("a message must have 1 to {MAX_CHAT_CHARS} characters"),
            );
        }
        let sent_at_ms = self.unix_ms(now);
        let message = ServerMessage::Chat {
            from: from.to_string(),
            name: p.name.clone(),
            text: text.to_string(),
            sent_at_ms,
        };
        self.broadcast(None, message);
    }

    fn handle_update_track(&mut self, now: Instant, from: &ParticipantId, mid: &str, muted: bool) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let mid = Mid::from(mid);
        let Some(track) = p.published.iter_mut().find(|t| t.mid == mid) else {
            return self.signal_error(
                from,
                ErrorCode::UnknownTrack,
                "no published track has this mid",
            );
        };
        if !muted {
            track.host_muted = false;
        }
        if track.muted != muted {
            track.muted = muted;
            info!(track = %track.id, muted, "mute changed");
            if muted && track.source == TrackSource::Microphone {
                self.speakers.silence(now, from);
            }
            self.broadcast_update(from);
        }
    }

    /// Whether `from` may use host controls; if not, tells it so.
    /// Whether the room is end-to-end encrypted; tells `from` otherwise
    /// (its encryption messages are out of place).
    fn check_e2ee(&mut self, from: &ParticipantId) -> bool {
        if !self.e2ee {
            self.signal_error(
                from,
                ErrorCode::UnexpectedMessage,
                "this call is not end-to-end encrypted",
            );
        }
        self.e2ee
    }

    fn check_host(&mut self, from: &ParticipantId) -> bool {
        let host = self.participants.get(from).is_some_and(|p| p.grants.host);
        if !host {
            self.signal_error(from, ErrorCode::HostOnly, "Only a host can do that.");
        }
        host
    }

    /// The participant a host named; if it is not in the room, tells the
    /// host so.
    fn named(&mut self, from: &ParticipantId, participant_id: &str) -> Option<ParticipantId> {
        let named = self
            .participants
            .keys()
            .find(|id| id.as_str() == participant_id)
            .cloned();
        if named.is_none() {
            self.signal_error(
                from,
                ErrorCode::UnknownParticipant,
                "no such participant in this call",
            );
        }
        named
    }

    /// A host mutes another participant's track: it is marked muted for
    /// everyone and no longer forwarded until its owner unmutes it; the
    /// owner is told to mute it locally.
    fn host_mute(
        &mut self,
        now: Instant,
        from: &ParticipantId,
        participant_id: &str,
        track_id: &str,
    ) {
        if !self.check_host(from) {
            return;
        }
        let Some(target) = self.named(from, participant_id) else {
            return;
        };
        let Some(p) = self.participants.get_mut(&target) else {
            return;
        };
        let Some(track) = p.published.iter_mut().find(|t| t.id.as_str() == track_id) else {
            return self.signal_error(
                from,
                ErrorCode::UnknownTrack,
                "this participant has no such track",
            );
        };
        track.host_muted = true;
        let mid = track.mid.to_string();
        let changed = !track.muted;
        track.muted = true;
        let microphone = track.source == TrackSource::Microphone;
        p.span
            .in_scope(|| info!(track = track_id, by = %from, "muted by a host"));
        if microphone {
            self.speakers.silence(now, &target);
        }
        if changed {
            self.broadcast_update(&target);
        }
        self.signal(
            &target,
            ServerMessage::MutedByHost {
                track_id: track_id.to_string(),
                mid,
                by: from.to_string(),
            },
        );
    }

    /// A host removes a participant; its identity may not come back while
    /// the room exists.
    fn host_remove(&mut self, from: &ParticipantId, participant_id: &str) {
        if !self.check_host(from) {
            return;
        }
        let Some(target) = self.named(from, participant_id) else {
            return;
        };
        if &target == from {
            return self.signal_error(from, ErrorCode::UnexpectedMessage, "to leave, send leave");
        }
        if let Some(p) = self.participants.get(&target) {
            p.span.in_scope(|| info!(by = %from, "removed by a host"));
            self.removed.insert(p.identity.clone());
        }
        self.remove(&target, LeaveReason::Removed, Some(CloseReason::Removed));
    }

    /// A host locks or unlocks the room; everyone is told.
    fn host_lock(&mut self, from: &ParticipantId, locked: bool) {
        if !self.check_host(from) {
            return;
        }
        if self.locked != locked {
            self.locked = locked;
            info!(locked, by = %from, "room lock changed");
        }
        self.broadcast(
            None,
            ServerMessage::RoomLocked {
                locked,
                by: from.to_string(),
            },
        );
    }

    /// A host lets someone in from the lobby.
    fn host_admit(&mut self, now: Instant, from: &ParticipantId, participant_id: &str) {
        if !self.check_host(from) {
            return;
        }
        let Some(id) = self.waiting_named(from, participant_id) else {
            return;
        };
        if self.participants.len() >= self.config.max_participants {
            return self.signal_error(
                from,
                ErrorCode::RoomFull,
                "The call is full: nobody more can be let in.",
            );
        }
        if let Some(waiter) = self.lobby.take(&id) {
            self.admit(now, waiter, from);
        }
        self.lobby_changed();
    }

    /// Moves a waiter into the call, `by` a host.
    fn admit(&mut self, now: Instant, waiter: Waiter, by: &ParticipantId) {
        let id = &waiter.id;
        info!(participant = %id, identity = %waiter.request.identity, %by, "admitted from the lobby");
        self.outputs
            .push_back(RoomOutput::Event(RoomEvent::Admitted {
                participant: id.clone(),
                identity: waiter.request.identity.clone(),
                by: by.to_string(),
            }));
        let id = id.clone();
        if let Err(e) = self.enter(now, id.clone(), waiter.request) {
            info!(participant = %id, "admitted but could not enter: {e}");
            self.outputs.push_back(RoomOutput::Close {
                participant: id,
                reason: e.close_reason(),
            });
        }
    }

    /// A host turns someone in the lobby away: it is told (4019) and its
    /// client does not knock again by itself.
    fn host_refuse(&mut self, from: &ParticipantId, participant_id: &str) {
        if !self.check_host(from) {
            return;
        }
        let Some(id) = self.waiting_named(from, participant_id) else {
            return;
        };
        let Some(waiter) = self.lobby.take(&id) else {
            return;
        };
        info!(participant = %id, identity = %waiter.request.identity, by = %from, "turned away from the lobby");
        self.outputs
            .push_back(RoomOutput::Event(RoomEvent::TurnedAway {
                participant: id.clone(),
                identity: waiter.request.identity,
                by: from.to_string(),
            }));
        self.outputs.push_back(RoomOutput::Close {
            participant: id,
            reason: CloseReason::Refused,
        });
        self.lobby_changed();
    }

    /// A host turns the lobby on or off; off admits everyone waiting.
    fn host_set_lobby(&mut self, now: Instant, from: &ParticipantId, enabled: bool) {
        if !self.check_host(from) {
            return;
        }
        if self.lobby.enabled != enabled {
            info!(enabled, by = %from, "lobby turned {}", if enabled { "on" } else { "off" });
            self.lobby.enabled = enabled;
        }
        if !enabled {
            for waiter in self.lobby.take_all() {
                self.admit(now, waiter, from);
            }
        }
        self.lobby_changed();
    }

    /// The waiter a host named, or an error to the host.
    fn waiting_named(
        &mut self,
        from: &ParticipantId,
        participant_id: &str,
    ) -> Option<ParticipantId> {
        let named = self.lobby.named(participant_id);
        if named.is_none() {
            self.signal_error(
                from,
                ErrorCode::UnknownParticipant,
                "nobody with that id is waiting in the lobby",
            );
        }
        named
    }

    /// Tells hosts the lobby as it is now, and waiters whether a host is
    /// there to let them in (when that changed).
    fn lobby_changed(&mut self) {
        let hosts: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| p.grants.host)
            .map(|p| p.id.clone())
            .collect();
        for (to, message) in self.lobby.news_for_waiters(&self.name, !hosts.is_empty()) {
            self.signal(&to, message);
        }
        let message = self.lobby.for_hosts();
        for host in &hosts {
            self.signal(host, message.clone());
        }
    }

    fn handle_video_size(
        &mut self,
        now: Instant,
        from: &ParticipantId,
        track_id: &str,
        width: u32,
        height: u32,
    ) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let Some(s) = p
            .subscriptions
            .iter_mut()
            .find(|s| s.kind == TrackKind::Video && s.track.to_string() == track_id)
        else {
            // A size for a track that just went away (its publisher left while
            // the message was on its way): nothing to do, nothing to tell.
            return debug!(track = track_id, "video size for no received video track");
        };
        s.shown_at = Some((width, height));
        self.allocate_layers(now, from);
    }

    /// Chooses the layer of every video track `id` receives, from its
    /// bandwidth estimate and the sizes it shows them at; switches to it,
    /// asks for the keyframe the switch needs, and tells the subscriber
    /// (and the log) what changed and why.
    fn allocate_layers(&mut self, now: Instant, id: &ParticipantId) {
        let speaker = self.speakers.active().cloned();
        let publishers = &self.participants;
        let Some(p) = publishers.get(id) else {
            return;
        };
        let track_of = |s: &Subscription| {
            publishers
                .get(&s.publisher)?
                .published
                .iter()
                .find(|t| t.id == s.track)
        };
        // Sent twice on a lossy download, each packet costs twice.
        let copies = if p.download_loss.copies(now) { 2 } else { 1 };
        let audio: u64 = p
            .subscriptions
            .iter()
            .filter(|s| {
                s.kind == TrackKind::Audio
                    && s.live_mid().is_some()
                    && s.downstream.target.is_some()
            })
            .filter_map(track_of)
            .filter_map(|t| t.layers.first()?.bitrate(now))
            .sum::<u64>()
            * copies;
        // Screen shares first, then the active speaker, then the rest.
        let mut order: Vec<(u8, usize)> = p
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == TrackKind::Video && s.live_mid().is_some())
            .map(|(i, s)| {
                let rank = match s.source {
                    TrackSource::Screen => 0,
                    _ if Some(&s.publisher) == speaker.as_ref() => 1,
                    _ => 2,
                };
                (rank, i)
            })
            .collect();
        order.sort();
        let demands: Vec<VideoDemand> = order
            .iter()
            .map(|&(_, i)| {
                let s = &p.subscriptions[i];
                let layers = track_of(s).map_or(&[][..], |t| t.layers.as_slice());
                VideoDemand {
                    layers: layers
                        .iter()
                        .map(|l| l.offered_bitrate(now).map(|r| r * copies))
                        .collect(),
                    widths: layers.iter().map(|l| l.size.map(|(w, _)| w)).collect(),
                    shown_at: s.shown_at,
                    base_layers: layers
                        .iter()
                        .map(|l| l.offered_base_bitrate(now).map(|r| r * copies))
                        .collect(),
                    current: s.downstream.target,
                    current_base_only: s.downstream.temporal_target == 0,
                    may_go_up: s.held_down_until.is_none_or(|until| now >= until),
                }
            })
            .collect();
        // Each layer's rid and size, to tell the subscriber what it gets.
        let labels: Vec<Vec<LayerLabel>> = order
            .iter()
            .map(|&(_, i)| {
                let layers = track_of(&p.subscriptions[i]).map_or(&[][..], |t| t.layers.as_slice());
                layers.iter().map(|l| (l.rid, l.size)).collect()
            })
            .collect();
        let estimate = p.downlink_estimate;
        let congested = p.download_loss.congested(now);
        let (decisions, probe) = allocate::allocate(estimate, congested, audio, &demands);

        let Some(p) = self.participants.get_mut(id) else {
            return;
        };
        let reconfigure =
            estimate.is_some() && p.probe.is_none_or(|before| probe.differs_from(&before));
        if reconfigure {
            p.probe = Some(probe);
            p.subscriber.rtc.bwe().set_bitrate(
                Bitrate::bps(probe.minimum),
                Bitrate::bps(probe.desired.max(probe.minimum)),
            );
            self.dirty.insert((id.clone(), PeerRole::Subscriber));
        }
        let mut keyframes = Vec::new();
        let mut messages = Vec::new();
        for ((&(_, i), decision), labels) in order.iter().zip(decisions).zip(labels) {
            let s = &mut p.subscriptions[i];
            let forced_down = decision.reason == LayerReason::Bandwidth
                && match (decision.layer, s.downstream.target) {
                    (Some(new), Some(old)) => {
                        new < old || decision.base_only && s.downstream.temporal_target != 0
                    }
                    (None, Some(_)) => true,
                    _ => false,
                };
            if forced_down {
                s.held_down_until = Some(now + HOLD_DOWN_AFTER_STEP_DOWN);
            }
            if s.downstream.target != decision.layer {
                s.downstream.set_target(decision.layer);
                if let Some(layer) = decision.layer {
                    keyframes.push((s.track.clone(), layer));
                }
            }
            s.downstream.temporal_target = if decision.base_only {
                0
            } else {
                ALL_TEMPORAL_LAYERS
            };
            if s.announced == Some(decision) {
                continue;
            }
            s.announced = Some(decision);
            let (rid, size) = decision
                .layer
                .and_then(|l| labels.get(l).copied())
                .map_or((None, None), |(rid, size)| {
                    (rid.map(|r| r.to_string()), size)
                });
            p.span.in_scope(|| {
                info!(
                    track = %s.track,
                    layer = ?decision.layer,
                    rid = rid.as_deref().unwrap_or("-"),
                    reason = ?decision.reason,
                    base_only = decision.base_only,
                    estimate_kbps = estimate.map(|e| e / 1000),
                    "video layer chosen"
                )
            });
            messages.push(ServerMessage::VideoLayer {
                track_id: s.track.to_string(),
                rid,
                paused: decision.layer.is_none(),
                width: size.map(|(w, _)| u32::from(w)),
                height: size.map(|(_, h)| u32::from(h)),
                reason: decision.reason,
                base_frame_rate: decision.base_only,
                estimate_kbps: estimate.map(|e| (e / 1000) as u32),
            });
        }
        for message in messages {
            self.signal(id, message);
        }
        let resume = keyframes.iter().any(|(track, layer)| {
            self.published_track(track)
                .and_then(|t| t.layers.get(*layer))
                .is_some_and(|l| l.paused_at_publisher)
        });
        for (track, layer) in keyframes {
            self.request_keyframe(now, &track, layer);
        }
        if resume {
            self.update_dynacast(now);
        }
    }

    fn published_track(&self, track: &TrackId) -> Option<&participant::PublishedTrack> {
        self.participants
            .values()
            .flat_map(|p| p.published.iter())
            .find(|t| &t.id == track)
    }

    /// Dynacast: asks each publisher to pause the simulcast layers no
    /// subscriber has needed for a while (its uplink and CPU are spared),
    /// and to resume one as soon as a subscriber needs it again.
    fn update_dynacast(&mut self, now: Instant) {
        let mut needed: HashSet<(TrackId, usize)> = HashSet::new();
        for p in self.participants.values() {
            for s in &p.subscriptions {
                if s.kind != TrackKind::Video || s.live_mid().is_none() {
                    continue;
                }
                for layer in [s.downstream.target, s.downstream.current()]
                    .into_iter()
                    .flatten()
                {
                    needed.insert((s.track.clone(), layer));
                }
            }
        }
        let mut messages = Vec::new();
        for p in self.participants.values_mut() {
            for t in p.published.iter_mut().filter(|t| t.layers.len() > 1) {
                let mut changed = false;
                for (i, l) in t.layers.iter_mut().enumerate() {
                    // The lowest layer always goes on: it is what any
                    // subscriber falls back to under pressure, at once.
                    if i == 0 || needed.contains(&(t.id.clone(), i)) {
                        l.unneeded_since = None;
                        changed |= std::mem::replace(&mut l.paused_at_publisher, false);
                    } else if !l.paused_at_publisher && l.pausable() {
                        let since = *l.unneeded_since.get_or_insert(now);
                        if now.saturating_duration_since(since) >= DYNACAST_AFTER {
                            l.paused_at_publisher = true;
                            changed = true;
                        }
                    }
                }
                if changed {
                    let message = t.publish_layers();
                    p.span
                        .in_scope(|| info!(track = %t.id, ?message, "dynacast"));
                    messages.push((p.id.clone(), message));
                }
            }
        }
        for (to, message) in messages {
            self.signal(&to, message);
        }
    }

    fn handle_subscriber_answer(&mut self, now: Instant, from: &ParticipantId, sdp: &str) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        p.offer_in_flight = None;
        let Some(pending) = p.pending_offer.take() else {
            return self.signal_error(
                from,
                ErrorCode::UnexpectedMessage,
                "no subscriber offer is pending",
            );
        };
        let accepted = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| e.to_string())
            .and_then(|answer| {
                p.subscriber
                    .rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = accepted {
            warn!("subscriber answer refused: {e}");
            // Put the offered tracks back in line for the next offer.
            for s in &mut p.subscriptions {
                match s.state {
                    SubscriptionState::Negotiating(_) => s.state = SubscriptionState::ToOpen,
                    SubscriptionState::NegotiatingStop(m) => s.state = SubscriptionState::ToStop(m),
                    _ => {}
                }
            }
            return self.signal_error(from, ErrorCode::InvalidSdp, format!("answer refused: {e}"));
        }
        if p.estimates_bandwidth && sdp.contains("m=video") && !sdp.contains("transport-cc") {
            // Without transport-wide feedback there is no estimate: layers
            // follow shown sizes only, and the pacer must not hold media
            // back to a guess. (Only an answer with video says: the first
            // may carry the data channel alone.)
            p.span
                .in_scope(|| info!("no transport-wide congestion control: no bandwidth estimate"));
            p.estimates_bandwidth = false;
            p.downlink_estimate = None;
            p.subscriber.rtc.bwe().reset(UNESTIMATED_PACING);
        }
        let mut opened = Vec::new();
        let mut api = p.subscriber.rtc.direct_api();
        p.subscriptions.retain_mut(|s| match s.state {
            SubscriptionState::Negotiating(m) => {
                s.state = SubscriptionState::Open(m);
                if s.kind == TrackKind::Video {
                    // Keep what a NACK can still usefully ask for, not
                    // str0m's default of 1024 packets over 3 s: each cached
                    // packet is a few hundred bytes of header per
                    // subscriber. (Audio is written not nackable: Opus
                    // conceals a loss better than a late resend.)
                    if let Some(stream) = api.stream_tx_by_mid(m, None) {
                        stream.set_rtx_cache(RTX_CACHE_PACKETS, RTX_CACHE_AGE, None);
                        // Forwarded as it comes, not held to a steady rate
                        // by str0m's pacer: the estimate still comes from
                        // the feedback, layers keep the rate in line, and
                        // nothing queues up to go out late after a switch
                        // down (pacing also cost ~1.8x the CPU a packet).
                        stream.set_unpaced(true);
                    }
                    opened.push(s.track.clone());
                }
                true
            }
            SubscriptionState::NegotiatingStop(_) => false,
            _ => true,
        });
        self.dirty.insert((from.clone(), PeerRole::Subscriber));
        // A new subscriber needs a keyframe to start decoding, of the layer
        // chosen for it.
        self.allocate_layers(now, from);
        for track in opened {
            let layer = self.participants.get(from).and_then(|p| {
                let s = p.subscriptions.iter().find(|s| s.track == track)?;
                s.downstream.target
            });
            if let Some(layer) = layer {
                self.request_keyframe(now, &track, layer);
            }
        }
        self.negotiate_subscriber(from);
    }

    fn handle_publish_offer(
        &mut self,
        now: Instant,
        from: &ParticipantId,
        sdp: &str,
        tracks: Vec<PublishedTrack>,
    ) {
        let (udp, tcp) = (&self.config.candidates, &self.config.tcp_candidates);
        let e2ee = self.e2ee;
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        if !p.grants.publish {
            warn!("publish refused: no publish grant");
            self.refused(from, ErrorCode::PublishNotAllowed);
            return self.signal_error(
                from,
                ErrorCode::PublishNotAllowed,
                "your invitation does not allow sending audio or video",
            );
        }
        if tracks.len() > MAX_PUBLISHED_TRACKS {
            return self.signal_error(
                from,
                ErrorCode::MalformedMessage,
                format!("at most {MAX_PUBLISHED_TRACKS} tracks can be published"),
            );
        }
        if let Err(e) = tracks.iter().try_for_each(check_layers) {
            return self.signal_error(from, ErrorCode::MalformedMessage, e);
        }
        if let Err(e) = self.interpretation.check_tracks(&p.grants, &tracks) {
            warn!("publish refused: {e}");
            self.refused(from, ErrorCode::PublishNotAllowed);
            return self.signal_error(from, ErrorCode::PublishNotAllowed, e);
        }
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(offer) => offer,
            Err(e) => {
                return self.signal_error(
                    from,
                    ErrorCode::InvalidSdp,
                    format!("offer refused: {e}"),
                )
            }
        };
        let publisher = p
            .publisher
            .get_or_insert_with(|| Peer::new(now, false, e2ee, udp, tcp));
        let answer = match publisher.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => answer,
            Err(e) => {
                return self.signal_error(
                    from,
                    ErrorCode::InvalidSdp,
                    format!("offer refused: {e}"),
                )
            }
        };
        self.dirty.insert((from.clone(), PeerRole::Publisher));
        self.signal(
            from,
            ServerMessage::PublishAnswer {
                sdp: answer.to_sdp_string(),
            },
        );
        self.reconcile_published(from, tracks);
    }

    /// Makes the published tracks match the client's list, keeping only those
    /// the accepted offer really carries, and updates every subscriber.
    fn reconcile_published(&mut self, from: &ParticipantId, tracks: Vec<PublishedTrack>) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let interpreting = |p: &Participant| {
            p.published
                .iter()
                .any(|t| t.source == TrackSource::Interpretation)
        };
        let interpreted_before = interpreting(p);
        let Some(publisher) = p.publisher.as_ref() else {
            return;
        };
        let mut wanted: Vec<(Mid, PublishedTrack)> = Vec::new();
        for t in tracks {
            let mid = Mid::from(t.mid.as_str());
            let Some(media) = publisher.rtc.media(mid) else {
                warn!(mid = %t.mid, "published track has no m-line in the offer; ignored");
                continue;
            };
            let kind_matches = matches!(
                (media.kind(), t.kind),
                (MediaKind::Audio, TrackKind::Audio) | (MediaKind::Video, TrackKind::Video)
            );
            let receives = matches!(media.direction(), Direction::RecvOnly | Direction::SendRecv);
            if !kind_matches || !receives || wanted.iter().any(|(m, _)| *m == mid) {
                warn!(mid = %t.mid, "published track does not match its m-line; ignored");
                continue;
            }
            wanted.push((mid, t));
        }

        let mut removed = Vec::new();
        p.published.retain(|t| {
            let keep = wanted.iter().any(|(m, _)| *m == t.mid);
            if !keep {
                info!(track = %t.id, "unpublished");
                removed.push(t.id.clone());
            }
            keep
        });
        let mut added = Vec::new();
        let mut published_events = Vec::new();
        for (mid, t) in wanted {
            if let Some(existing) = p.published.iter_mut().find(|e| e.mid == mid) {
                existing.muted = t.muted;
                continue;
            }
            let id = TrackId::new(from, &mid);
            info!(track = %id, kind = ?t.kind, source = ?t.source, "published");
            published_events.push(RoomEvent::Published {
                participant: from.clone(),
                identity: p.identity.clone(),
                track: id.clone(),
                kind: t.kind,
                source: t.source,
            });
            added.push((id.clone(), t.kind, t.source));
            let layers = if t.layers.is_empty() {
                vec![Layer::new(None)]
            } else {
                t.layers
                    .iter()
                    .map(|rid| Layer::new(Some(Rid::from(rid.as_str()))))
                    .collect()
            };
            p.published.push(participant::PublishedTrack {
                id,
                mid,
                kind: t.kind,
                source: t.source,
                muted: t.muted,
                host_muted: false,
                params: None,
                layers,
                channel: t
                    .language
                    .filter(|_| t.source == TrackSource::Interpretation),
                unencrypted: false,
            });
        }

        self.outputs
            .extend(published_events.into_iter().map(RoomOutput::Event));
        let others: Vec<ParticipantId> = self
            .participants
            .keys()
            .filter(|id| *id != from)
            .cloned()
            .collect();
        for other in &others {
            self.unsubscribe(other, |s| removed.contains(&s.track));
            if let Some(o) = self.participants.get_mut(other) {
                if o.grants.subscribe {
                    o.subscriptions
                        .extend(added.iter().map(|(track, kind, source)| {
                            Subscription::new(track.clone(), from.clone(), *kind, *source)
                        }));
                }
            }
            self.negotiate_subscriber(other);
        }
        self.broadcast_update(from);
        if interpreted_before || self.participants.get(from).is_some_and(interpreting) {
            self.booth_changed(from);
        }
    }

    /// An interpreter's interpretation track came, stayed or went: it goes
    /// live on its channel if nobody is, or off the air without a track.
    fn booth_changed(&mut self, who: &ParticipantId) {
        let channel = self.participants.get(who).and_then(|p| {
            p.published
                .iter()
                .find(|t| t.source == TrackSource::Interpretation)
                .and_then(|t| t.channel)
        });
        match channel {
            Some(language) => self.interpretation.go_live_if_free(language, who),
            None => {
                self.interpretation.release(who);
            }
        }
        self.interpretation_changed();
    }

    /// A listener chooses the channel it hears besides the floor.
    fn listen(&mut self, from: &ParticipantId, language: Option<Language>) {
        if language.is_some_and(|l| !self.interpretation.has(l)) {
            return self.signal_error(
                from,
                ErrorCode::UnknownLanguage,
                "this call has no interpretation into that language",
            );
        }
        if let Some(p) = self.participants.get_mut(from) {
            p.span.in_scope(|| info!(?language, "listening"));
            // Forwarding follows from the next packet (see `forward`).
            p.listening = language;
        }
    }

    /// An interpreter goes live on a channel of its pair, moving its
    /// interpretation track there; whoever was live there stands by.
    fn take_channel(&mut self, from: &ParticipantId, language: Language) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let pair = p.grants.interpret;
        let track = p
            .published
            .iter_mut()
            .find(|t| t.source == TrackSource::Interpretation);
        let (Some(pair), Some(track)) = (pair, track) else {
            return self.signal_error(
                from,
                ErrorCode::NotAnInterpreter,
                "only an interpreter publishing interpretation can go live",
            );
        };
        if !pair.contains(&language) || !self.interpretation.has(language) {
            return self.signal_error(
                from,
                ErrorCode::UnknownLanguage,
                format!("you cannot interpret into {language} in this call"),
            );
        }
        let moved = track.channel != Some(language);
        track.channel = Some(language);
        p.span.in_scope(|| info!(%language, "interpreter live"));
        self.interpretation.go_live(language, from);
        if moved {
            self.broadcast_update(from);
        }
        self.interpretation_changed();
    }

    /// A participant announces its end-to-end encryption identity key;
    /// everyone sees it with its participant info (and so sees it change).
    fn e2ee_identity(&mut self, from: &ParticipantId, key: String) {
        if !self.check_e2ee(from) {
            return;
        }
        let well_formed = !key.is_empty()
            && key.len() <= MAX_IDENTITY_KEY_CHARS
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return self.signal_error(
                from,
                ErrorCode::InvalidE2ee,
                "an identity key is base64url, at most 256 characters",
            );
        }
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        if p.identity_key.as_deref() == Some(key.as_str()) {
            return;
        }
        if p.identity_key.is_some() {
            p.span
                .in_scope(|| warn!("identity key changed during the call"));
        }
        p.identity_key = Some(key);
        self.broadcast_update(from);
    }

    /// Relays an opaque end-to-end encryption message (an encrypted media
    /// key) to one participant. The server cannot read it.
    fn e2ee_keys(&mut self, from: &ParticipantId, to: &str, data: String) {
        if !self.check_e2ee(from) {
            return;
        }
        if data.is_empty() || data.len() > MAX_KEY_MESSAGE_CHARS {
            return self.signal_error(
                from,
                ErrorCode::InvalidE2ee,
                format!("a key message has 1 to {MAX_KEY_MESSAGE_CHARS} characters"),
            );
        }
        let Some(target) = self.named(from, to) else {
            return;
        };
        if &target == from {
            return;
        }
        self.signal(
            &target,
            ServerMessage::E2eeKeys {
                from: from.to_string(),
                data,
            },
        );
    }

    /// The room's interpretation as it is now.
    fn interpretation_message(&self) -> ServerMessage {
        let booths = self.participants.values().flat_map(|p| {
            p.published
                .iter()
                .filter_map(move |t| Some((&p.id, t.channel?)))
        });
        self.interpretation.message(booths)
    }

    /// Tells everyone the room's interpretation.
    fn interpretation_changed(&mut self) {
        let message = self.interpretation_message();
        self.broadcast(None, message);
    }

    /// Sends a subscriber offer if tracks wait for an m-line (or for stopping)
    /// and no offer is in flight.
    fn negotiate_subscriber(&mut self, id: &ParticipantId) {
        let Some(p) = self.participants.get_mut(id) else {
            return;
        };
        if p.pending_offer.is_some() {
            return;
        }
        let mut api = p.subscriber.rtc.sdp_api();
        if !p.offered_channel {
            api.add_channel(SUBSCRIBER_CHANNEL.to_string());
        }
        if p.ice_restart_wanted {
            // Same host candidates, new credentials: the browser checks every
            // path again, from wherever it now is.
            api.ice_restart(true);
        }
        for s in &mut p.subscriptions {
            match s.state {
                SubscriptionState::ToOpen => {
                    let kind = match s.kind {
                        TrackKind::Audio => MediaKind::Audio,
                        TrackKind::Video => MediaKind::Video,
                    };
                    let mid = api.add_media(
                        kind,
                        Direction::SendOnly,
                        Some(s.publisher.to_string()),
                        Some(s.track.to_string()),
                        None,
                    );
                    s.state = SubscriptionState::Negotiating(mid);
                }
                SubscriptionState::ToStop(m) => {
                    api.stop_media(m);
                    s.state = SubscriptionState::NegotiatingStop(m);
                }
                _ => {}
            }
        }
        if !api.has_changes() {
            return;
        }
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        p.offered_channel = true;
        p.ice_restart_wanted = false;
        p.pending_offer = Some(pending);
        let tracks = p.subscribed_tracks();
        p.span
            .in_scope(|| debug!(tracks = tracks.len(), "subscriber offer"));
        let message = ServerMessage::SubscriberOffer {
            sdp: offer.to_sdp_string(),
            tracks,
        };
        p.offer_in_flight = Some(message.clone());
        self.dirty.insert((id.clone(), PeerRole::Subscriber));
        self.signal(id, message);
    }

    /// Asks a track's publisher for a keyframe of one layer, at most once
    /// per interval.
    fn request_keyframe(&mut self, now: Instant, track: &TrackId, layer: usize) {
        let interval = self.config.keyframe_request_interval;
        let Some(p) = self
            .participants
            .values_mut()
            .find(|p| p.published.iter().any(|t| &t.id == track))
        else {
            return;
        };
        let Some(t) = p.published.iter_mut().find(|t| &t.id == track) else {
            return;
        };
        let Some(l) = t.layers.get_mut(layer) else {
            return;
        };
        if l.last_keyframe_request
            .is_some_and(|at| now < at + interval)
        {
            return;
        }
        let Some(publisher) = p.publisher.as_mut() else {
            return;
        };
        let mut api = publisher.rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(t.mid, l.rid) else {
            // Nothing received on it yet: the first packets start with a
            // keyframe anyway.
            return debug!(track = %track, layer, "keyframe request before any media");
        };
        stream.request_keyframe(KeyframeRequestKind::Pli);
        l.last_keyframe_request = Some(now);
        debug!(track = %track, layer, "keyframe requested");
        self.dirty.insert((p.id.clone(), PeerRole::Publisher));
    }

    /// Polls every connection that has work until none has, handling the
    /// events they raise (which may give other connections work).
    fn drive(&mut self, now: Instant) {
        self.last_now = now;
        let mut transmits = Vec::new();
        let mut events = Vec::new();
        while let Some((id, role)) = self.dirty.pop_first() {
            let Some(p) = self.participants.get_mut(&id) else {
                continue;
            };
            let Some(peer) = p.peer_mut(role) else {
                continue;
            };
            let drained = peer.drain(&mut transmits, &mut events);
            if drained.is_err() {
                peer.rtc.disconnect();
            }
            let failed = !peer.rtc.is_alive();
            if let Err(e) = drained {
                p.span.in_scope(|| warn!(?role, "connection failed: {e}"));
            }
            self.outputs
                .extend(transmits.drain(..).map(RoomOutput::Transmit));
            for event in events.drain(..) {
                self.handle_event(now, &id, role, event);
            }
            if failed {
                self.remove(
                    &id,
                    LeaveReason::Disconnected,
                    Some(CloseReason::MediaFailed),
                );
            }
        }
        self.announce_speakers(now);
    }

    fn handle_event(&mut self, now: Instant, id: &ParticipantId, role: PeerRole, event: Event) {
        match event {
            Event::RtpPacket(packet) if role == PeerRole::Publisher => {
                self.forward(now, id, packet)
            }
            Event::KeyframeRequest(req) => {
                let wanted = self.participants.get(id).and_then(|p| {
                    let s = p
                        .subscriptions
                        .iter()
                        .find(|s| s.live_mid() == Some(req.mid))?;
                    let layer = s.downstream.current().or(s.downstream.target)?;
                    Some((s.track.clone(), layer))
                });
                if let Some((track, layer)) = wanted {
                    self.request_keyframe(now, &track, layer);
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })
                if role == PeerRole::Subscriber =>
            {
                if let Some(p) = self.participants.get_mut(id) {
                    if p.estimates_bandwidth {
                        p.downlink_estimate = Some(estimate.as_u64());
                    }
                }
                self.allocate_layers(now, id);
            }
            Event::Connected => {
                if let Some(p) = self.participants.get_mut(id) {
                    p.span.in_scope(|| info!(?role, "media connected"));
                    if role == PeerRole::Subscriber {
                        p.media_connected = true;
                    }
                }
            }
            Event::PeerStats(stats) => {
                if let Some(p) = self.participants.get_mut(id) {
                    match role {
                        PeerRole::Publisher => p.health.upload_loss = stats.ingress_loss_fraction,
                        PeerRole::Subscriber => {
                            p.health.download_loss = stats.egress_loss_fraction;
                            p.health.rtt = stats.rtt.or(p.health.rtt);
                            if let Some(change) = p.download_loss.finish_interval(now) {
                                p.span.in_scope(|| match change {
                                    LossChange::Congested { loss } => info!(
                                        video_loss = loss,
                                        "download congested: low estimates believed"
                                    ),
                                    LossChange::CopiesOn { loss } => info!(
                                        video_loss = loss,
                                        "lossy download: every packet sent twice"
                                    ),
                                    LossChange::CopiesOff => {
                                        info!("download no longer lossy: packets sent once")
                                    }
                                });
                            }
                        }
                    }
                }
                self.announce_quality(id);
            }
            Event::MediaEgressStats(stats) if role == PeerRole::Subscriber => {
                if let (Some(p), Some(remote)) = (self.participants.get_mut(id), stats.remote) {
                    // Audio is not retransmitted: its loss says nothing of
                    // congestion.
                    let video = p
                        .subscriptions
                        .iter()
                        .any(|s| s.kind == TrackKind::Video && s.live_mid() == Some(stats.mid));
                    if video {
                        p.download_loss.record(
                            stats.mid,
                            remote.packets_lost,
                            *remote.maximum_sequence_number,
                        );
                    }
                }
            }
            Event::MediaIngressStats(stats) if role == PeerRole::Publisher => {
                if let Some(p) = self.participants.get_mut(id) {
                    let audio = p
                        .published
                        .iter()
                        .any(|t| t.mid == stats.mid && t.kind == TrackKind::Audio);
                    if audio {
                        // RTP timestamp units of Opus: 48 kHz.
                        p.health.jitter =
                            Some(Duration::from_micros(u64::from(stats.jitter) * 1000 / 48));
                    }
                }
            }
            Event::IceConnectionStateChange(state) => {
                if let Some(p) = self.participants.get(id) {
                    p.span.in_scope(|| debug!(?role, ?state, "ice state"));
                }
            }
            _ => {}
        }
    }

    /// Sends one packet of a published track to every subscriber of it
    /// that gets its layer.
    fn forward(&mut self, now: Instant, from: &ParticipantId, packet: RtpPacket) {
        let Some(p) = self.participants.get_mut(from) else {
            return;
        };
        let Some(publisher) = p.publisher.as_mut() else {
            return;
        };
        let Some((mid, rid)) = publisher
            .rtc
            .direct_api()
            .stream_rx(&packet.header.ssrc)
            .map(|s| (s.mid(), s.rid()))
        else {
            return;
        };
        let Some(track) = p.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        let Some(layer) = track.layer_index(rid) else {
            // An encoding the publisher did not declare.
            return;
        };
        if track.host_muted {
            return;
        }
        // In an encrypted room every frame ends with the encryption trailer
        // (audio: every packet; video: a frame's last packet, marked). One
        // without it is plaintext the sender should not have sent.
        let frame_end = track.kind == TrackKind::Audio || packet.header.marker;
        if self.e2ee
            && frame_end
            && !packet.payload.is_empty()
            && !has_e2ee_trailer(&packet.payload)
        {
            if !track.unencrypted {
                track.unencrypted = true;
                p.span.in_scope(
                    || warn!(track = %track.id, "a frame without encryption: not forwarded"),
                );
            }
            return;
        }
        let pt = packet.header.payload_type;
        let params = match &track.params {
            Some((cached, params)) if *cached == pt => *params,
            _ => {
                // RED (redundant audio) has its own payload type, folded
                // onto the codec it wraps.
                let Some(params) = publisher
                    .rtc
                    .codec_config()
                    .find(|c| c.pt() == pt || c.red() == Some(pt))
                    .cloned()
                else {
                    return;
                };
                if params.red() == Some(pt) {
                    p.span
                        .in_scope(|| info!(track = %track.id, "audio arrives as RED (redundant)"));
                }
                track.params = Some((pt, params));
                params
            }
        };
        let kind = track.kind;
        let red = params.red() == Some(pt);
        // VP8 streams start at a keyframe for each new subscriber and switch
        // layers at one; other codecs are forwarded as they come (their
        // decoders ask for a keyframe).
        let vp8 = kind == TrackKind::Video && params.spec().codec == Codec::Vp8;
        let keyframe = vp8 && vp8::is_keyframe_start(&packet.payload);
        let descriptor = if vp8 {
            vp8::Vp8Descriptor::parse(&packet.payload)
        } else {
            None
        };
        let track_id = track.id.clone();
        // Interpretation reaches only the listeners of its channel, and only
        // from the channel's live interpreter.
        let channel = track.channel;
        let live = channel.is_some_and(|l| self.interpretation.is_live(l, from));
        let incoming_layer = &mut track.layers[layer];
        let gap = incoming_layer.note_packet(
            *packet.seq_no,
            packet.payload.len(),
            descriptor.and_then(|d| d.temporal_layer),
            now,
        );
        let outage = gap && kind == TrackKind::Video;
        if keyframe {
            incoming_layer.size = vp8::keyframe_size(&packet.payload).or(incoming_layer.size);
        }
        if track.source == TrackSource::Microphone && !track.muted {
            if let Some(level) = packet.header.ext_vals.audio_level {
                self.speakers
                    .observe(now, from, level, packet.header.timestamp);
            }
        }
        let incoming = Incoming {
            seq: packet.seq_no,
            timestamp: packet.header.timestamp,
            layer,
            gated: vp8,
            keyframe,
            descriptor,
            clock_rate: params.spec().clock_rate.get(),
            now,
        };
        // What a subscriber's decoder and UI use of the publisher's header
        // extensions; str0m writes the rest (mid, transport-wide sequence
        // numbers, send times) for each subscriber itself.
        let ext = &packet.header.ext_vals;
        let ext_vals = ExtensionValues {
            audio_level: ext.audio_level,
            voice_activity: ext.voice_activity,
            video_orientation: ext.video_orientation,
            video_content_type: ext.video_content_type,
            ..ExtensionValues::default()
        };

        let mut waiting_for_keyframe = false;
        // The primary frame of a RED packet, cut out once for all the
        // subscribers without RED.
        let mut primary: Option<Option<Arc<[u8]>>> = None;
        for (sub_id, sub) in self.participants.iter_mut() {
            if sub_id == from || !sub.subscriber.rtc.is_connected() {
                continue;
            }
            let Some((sub_mid, subscription)) =
                sub.subscriptions.iter_mut().find_map(|s| match s.state {
                    SubscriptionState::Open(mid) if s.track == track_id => Some((mid, s)),
                    _ => None,
                })
            else {
                continue;
            };
            let downstream = &mut subscription.downstream;
            if let Some(channel) = channel {
                // A listener that switched channel, or a handover in the
                // booth: this packet is the first (or the last not) sent.
                let wanted = live && sub.listening == Some(channel);
                if wanted != downstream.target.is_some() {
                    downstream.set_target(wanted.then_some(0));
                }
                if !wanted {
                    continue;
                }
            }
            if outage && vp8 && downstream.current() == Some(layer) {
                downstream.restart_at_keyframe();
            }
            let rtc = &mut sub.subscriber.rtc;
            let Some(out_pt) = downstream.payload_type(pt, || {
                let theirs = rtc.codec_config().match_params(params)?;
                Some(match (red, theirs.red()) {
                    (true, Some(red_pt)) => OutPayload {
                        pt: red_pt,
                        unwrap_red: false,
                    },
                    _ => OutPayload {
                        pt: theirs.pt(),
                        unwrap_red: red,
                    },
                })
            }) else {
                continue;
            };
            let payload = if out_pt.unwrap_red {
                match primary.get_or_insert_with(|| {
                    red::primary_range(&packet.payload)
                        .filter(|r| !r.is_empty())
                        .map(|r| Arc::from(&packet.payload[r]))
                }) {
                    Some(primary) => &*primary,
                    // Malformed: a lost packet rather than noise.
                    None => continue,
                }
            } else {
                &packet.payload
            };
            let out = match downstream.admit(&incoming) {
                Verdict::Send(out) => out,
                Verdict::WaitForKeyframe => {
                    waiting_for_keyframe = true;
                    downstream.hold(HeldPacket {
                        incoming,
                        payload: packet.payload.clone(),
                        marker: packet.header.marker,
                        ext_vals: ext_vals.clone(),
                        arrived: packet.timestamp,
                    });
                    continue;
                }
                Verdict::Stale | Verdict::NotForwarded => continue,
            };
            let write = Forwarded {
                pt: out_pt.pt,
                out,
                payload,
                marker: packet.header.marker,
                ext_vals: &ext_vals,
                nackable: kind == TrackKind::Video,
                arrived: packet.timestamp,
                copies: if sub.download_loss.copies(now) { 2 } else { 1 },
            };
            write.to(rtc, sub_mid);
            if out.started {
                // What overtook the keyframe follows it directly.
                for held in downstream.release_held(&incoming) {
                    if let Verdict::Send(out) = downstream.admit(&held.incoming) {
                        let write = Forwarded {
                            out,
                            payload: &held.payload,
                            marker: held.marker,
                            ext_vals: &held.ext_vals,
                            arrived: held.arrived,
                            ..write
                        };
                        write.to(rtc, sub_mid);
                    }
                }
            }
            if !sub.written_unreleased {
                sub.written_unreleased = true;
                self.to_release.push(sub_id.clone());
            }
        }
        // A subscriber that connected after the keyframe asked for at its
        // subscription went by, or that switches to this layer: ask
        // (throttled per layer). After an outage the publisher's stream has
        // a hole no retransmission fills: every decoder needs a keyframe.
        if waiting_for_keyframe || outage {
            self.request_keyframe(now, &track_id, layer);
        }
    }

    /// Tells everyone a participant's connection quality, when it changed.
    fn announce_quality(&mut self, id: &ParticipantId) {
        let Some(quality) = self
            .participants
            .get_mut(id)
            .and_then(|p| p.health.poll_change())
        else {
            return;
        };
        if let Some(p) = self.participants.get(id) {
            p.span.in_scope(|| {
                info!(?quality, health = ?p.health, "connection quality");
            });
        }
        self.broadcast(
            None,
            ServerMessage::ConnectionQuality {
                participants: vec![ParticipantQuality {
                    participant_id: id.to_string(),
                    quality,
                }],
            },
        );
    }

    /// Tells everyone who is speaking, when that changed.
    fn announce_speakers(&mut self, now: Instant) {
        if let Some(list) = self.speakers.poll_change(now) {
            debug!(speakers = ?list, "active speakers");
            self.broadcast(
                None,
                ServerMessage::ActiveSpeakers {
                    participant_ids: list.iter().map(ToString::to_string).collect(),
                },
            );
        }
    }

    fn refused(&mut self, who: &ParticipantId, code: ErrorCode) {
        if let Some(p) = self.participants.get(who) {
            self.outputs
                .push_back(RoomOutput::Event(RoomEvent::Refused {
                    participant: who.clone(),
                    identity: p.identity.clone(),
                    code,
                }));
        }
    }

    fn signal(&mut self, to: &ParticipantId, message: ServerMessage) {
        self.outputs.push_back(RoomOutput::Signal {
            to: to.clone(),
            message,
        });
    }

    fn signal_error(&mut self, to: &ParticipantId, code: ErrorCode, message: impl Into<String>) {
        let message = message.into();
        debug!(?code, %message, "request refused");
        self.signal(to, ServerMessage::error(code, message));
    }

    fn broadcast(&mut self, except: Option<&ParticipantId>, message: ServerMessage) {
        let targets: Vec<ParticipantId> = self
            .participants
            .keys()
            .filter(|id| Some(*id) != except)
            .cloned()
            .collect();
        for to in targets {
            self.signal(&to, message.clone());
        }
    }

    /// Tells the others that a participant's info changed.
    fn broadcast_update(&mut self, id: &ParticipantId) {
        if let Some(info) = self.participants.get(id).map(|p| p.info()) {
            self.broadcast(
                Some(id),
                ServerMessage::ParticipantUpdated { participant: info },
            );
        }
    }
}

/// One packet written to one subscriber connection.
#[derive(Clone, Copy)]
struct Forwarded<'a> {
    pt: Pt,
    out: Outgoing,
    payload: &'a Arc<[u8]>,
    marker: bool,
    ext_vals: &'a ExtensionValues,
    nackable: bool,
    arrived: Instant,
    /// How many times to send it (see `DownloadLoss`).
    copies: u8,
}

impl Forwarded<'_> {
    /// Writes it on the send stream of `mid`, with the VP8 picture ids
    /// rewritten where a layer switch needs it (the only time the payload
    /// is copied).
    fn to(self, rtc: &mut str0m::Rtc, mid: Mid) {
        let payload = if self.out.picture_ids == vp8::PictureIdOffset::default() {
            self.payload.clone()
        } else {
            let mut copy = self.payload.to_vec();
            self.out.picture_ids.apply(&mut copy);
            copy.into()
        };
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return;
        };
        let write = |payload| {
            RtpWrite::new(
                self.pt,
                self.out.seq,
                self.out.timestamp,
                self.arrived,
                payload,
            )
            .marker(self.marker)
            .ext_vals(self.ext_vals.clone())
            .nackable(self.nackable)
        };
        for _ in 1..self.copies {
            stream.write_rtp(write(payload.clone()));
        }
        stream.write_rtp(write(payload));
    }
}

/// The `publish_layers` of each of a participant's simulcast tracks with a
/// layer paused.
fn publish_layers(p: &Participant) -> Vec<ServerMessage> {
    p.published
        .iter()
        .filter(|t| t.layers.iter().any(|l| l.paused_at_publisher))
        .map(participant::PublishedTrack::publish_layers)
        .collect()
}

/// A layer's rid and picture size, as told to subscribers.
type LayerLabel = (Option<Rid>, Option<(u16, u16)>);

/// Most simulcast encodings one track may declare.
const MAX_LAYERS: usize = 4;

/// Refuses a track's simulcast layer list unless it is a short list of
/// distinct, well-formed rids (RFC 8851: alphanumeric) on a video track.
fn check_layers(track: &PublishedTrack) -> Result<(), String> {
    let layers = &track.layers;
    if layers.is_empty() {
        return Ok(());
    }
    if track.kind != TrackKind::Video {
        return Err("only video tracks have simulcast layers".into());
    }
    if layers.len() > MAX_LAYERS {
        return Err(format!("at most {MAX_LAYERS} simulcast layers per track"));
    }
    let well_formed = |rid: &String| {
        (1..=16).contains(&rid.len()) && rid.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !layers.iter().all(well_formed) {
        return Err("a simulcast rid is 1 to 16 letters or digits".into());
    }
    if (1..layers.len()).any(|i| layers[..i].contains(&layers[i])) {
        return Err("simulcast rids must differ".into());
    }
    Ok(())
}

/// A random secret as hex: 128 bits.
/// Whether a frame (its last packet's payload) ends with the end-to-end
/// encryption trailer, after at least the AES-GCM tag.
fn has_e2ee_trailer(payload: &[u8]) -> bool {
    const GCM_TAG: usize = 16;
    payload.len() >= E2EE_TRAILER_LEN + GCM_TAG && payload.ends_with(&E2EE_MAGIC)
}

fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
