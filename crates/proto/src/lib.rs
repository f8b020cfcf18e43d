//! Signaling messages exchanged over the participant's WebSocket.
//!
//! Every type here is part of the public wire format described in
//! `docs/protocol.md`. Messages are JSON objects tagged by `type`.

use serde::{Deserialize, Serialize};

pub mod stats;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// End-to-end encrypted frames end with a trailer: the 12-byte IV, the
/// sender's key id (one byte), and these two bytes. The server checks that
/// every frame it forwards in an encrypted room has them (it cannot check
/// more: it has no key). `docs/security.md` describes the frame format.
pub const E2EE_MAGIC: [u8; 2] = [0xE2, 0xEE];
/// Length of the trailer: IV, key id, magic.
pub const E2EE_TRAILER_LEN: usize = 12 + 1 + E2EE_MAGIC.len();
/// Longest identity key a participant may announce (base64url of a P-256
/// public key in SPKI form is 124 characters).
pub const MAX_IDENTITY_KEY_CHARS: usize = 256;
/// Largest key message one participant sends another.
pub const MAX_KEY_MESSAGE_CHARS: usize = 8192;

/// Largest signaling message accepted, in bytes. SDP for a handful of tracks is
/// a few KiB; anything much larger is abuse.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 4000;

/// What a client may do in a room, as granted by its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub publish: bool,
    pub subscribe: bool,
    pub publish_data: bool,
    /// May read the room's live stats (`GET /api/rooms/ROOM/stats`): for
    /// operators, not participants.
    #[serde(default)]
    pub inspect: bool,
    /// May create scheduled calls (`POST /api/calls`) and manage the ones
    /// it created: an organizer's credential, not an invitation (it opens
    /// no room).
    #[serde(default)]
    pub organize: bool,
    /// May mute or remove others and lock the room (`mute_participant`,
    /// `remove_participant`, `lock_room`).
    #[serde(default)]
    pub host: bool,
    /// An interpreter between these two languages: publishes audio only,
    /// on the channel of either language (`take_channel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpret: Option<[Language; 2]>,
}

impl Grants {
    /// An organizer's credential: creates scheduled calls, opens no room.
    pub fn organizer() -> Grants {
        Grants {
            publish: false,
            subscribe: false,
            publish_data: false,
            inspect: false,
            organize: true,
            host: false,
            interpret: None,
        }
    }
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            publish: true,
            subscribe: true,
            publish_data: true,
            inspect: false,
            organize: false,
            host: false,
            interpret: None,
        }
    }
}

/// A language tag (BCP 47) like `en`, `ru` or `pt-BR`, in its canonical
/// case. Fixed-size, so that grants holding one stay `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language {
    len: u8,
    bytes: [u8; Language::MAX_LEN],
}

impl Language {
    pub const MAX_LEN: usize = 16;

    /// `None` unless it is a language subtag (2 or 3 letters) followed by
    /// subtags of 1 to 8 letters or digits, at most 16 characters in all.
    pub fn parse(tag: &str) -> Option<Language> {
        if tag.len() > Self::MAX_LEN {
            return None;
        }
        let mut canonical = String::with_capacity(tag.len());
        for (i, subtag) in tag.split('-').enumerate() {
            let well_formed = if i == 0 {
                (2..=3).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric())
            };
            if !well_formed {
                return None;
            }
            if i > 0 {
                canonical.push('-');
            }
            // Regions upper case (pt-BR), scripts title case (sr-Latn),
            // the rest lower case.
            match (i, subtag.len()) {
                (0, _) => canonical.push_str(&subtag.to_ascii_lowercase()),
                (_, 2) => canonical.push_str(&subtag.to_ascii_uppercase()),
                (_, 4) => {
                    canonical.push_str(&subtag[..1].to_ascii_uppercase());
                    canonical.push_str(&subtag[1..].to_ascii_lowercase());
                }
                _ => canonical.push_str(&subtag.to_ascii_lowercase()),
            }
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..canonical.len()].copy_from_slice(canonical.as_bytes());
        Some(Language {
            len: canonical.len() as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tag = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Language::parse(&tag).ok_or_else(|| {
            serde::de::Error::custom(format!("`{tag}` is not a language tag like en or pt-BR"))
        })
    }
}

/// The kind of media a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

/// Where a published track comes from; the client lays out tiles by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Camera,
    Microphone,
    Screen,
    ScreenAudio,
    /// An interpreter's voice, on one language's channel: heard only by
    /// those who chose that language, never on the floor.
    Interpretation,
}

/// A track the client publishes, named by the `mid` of its transceiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTrack {
    pub mid: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    #[serde(default)]
    pub muted: bool,
    /// Simulcast: the rids of the encodings this video track is sent in,
    /// lowest quality first. Empty for a single encoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
    /// An interpretation track's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// A track as the other participants see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    pub track_id: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    /// An interpretation track's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// One m-line of a subscriber offer and the track it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedTrack {
    pub mid: String,
    pub track_id: String,
    pub participant_id: String,
    pub kind: TrackKind,
    pub source: TrackSource,
}

/// Whether a participant's connection is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
    Reconnecting,
}

/// A relay the browser may use, in the shape of WebRTC's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// e.g. `turn:203.0.113.5:3478?transport=udp`.
    pub urls: Vec<String>,
    pub username: String,
    /// Short-lived: derived from the username, which carries its expiry.
    pub credential: String,
}

/// A participant as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub participant_id: String,
    pub identity: String,
    pub name: String,
    pub connection: ConnectionState,
    pub tracks: Vec<TrackInfo>,
    /// Its end-to-end encryption identity key, once announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_key: Option<String>,
}

/// Why a participant left the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It said `leave`.
    Left,
    /// Its socket closed (tab closed, navigation).
    Disconnected,
    /// It was silent for longer than the disconnect timeout.
    TimedOut,
    /// The same identity joined again.
    Replaced,
    /// The server stopped.
    ServerShutdown,
    /// A host removed it.
    Removed,
}

/// Messages from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Join {
        protocol_version: u32,
        token: String,
        room: String,
        /// Whether the server estimates this participant's download
        /// bandwidth to choose the video layers it gets (on unless said).
        /// Estimating paces every packet sent to it, which costs CPU; a
        /// client that wants every layer as it comes (a load generator
        /// measuring forwarding) turns it off.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        estimate_bandwidth: bool,
    },
    /// Instead of `join`, after a lost connection: takes the same session
    /// back (same participant, tracks and subscriptions).
    Resume {
        protocol_version: u32,
        room: String,
        participant_id: String,
        resume_token: String,
    },
    PublishOffer {
        sdp: String,
        tracks: Vec<PublishedTrack>,
        /// The client encrypts these tracks end to end (required in an
        /// end-to-end encrypted room).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        e2ee: bool,
    },
    SubscriberAnswer {
        sdp: String,
    },
    UpdateTrack {
        mid: String,
        muted: bool,
    },
    Chat {
        text: String,
    },
    /// The subscriber connection's media path broke (e.g. the address
    /// changed): send a subscriber offer that restarts ICE.
    RestartIce,
    /// The size at which this participant shows a received video track, in
    /// CSS pixels times the device pixel ratio; 0 by 0 when it is not
    /// visible. The server never sends a larger layer than this needs, and
    /// no video at all for a track that is not shown.
    VideoSize {
        track_id: String,
        width: u32,
        height: u32,
    },
    /// Host only: mutes another participant's track (its owner may unmute
    /// it again).
    MuteParticipant {
        participant_id: String,
        track_id: String,
    },
    /// Host only: removes a participant, who may not come back while the
    /// room exists.
    RemoveParticipant {
        participant_id: String,
    },
    /// Host only: while locked, nobody new may join.
    LockRoom {
        locked: bool,
    },
    /// Host only: lets a participant waiting in the lobby into the call.
    AdmitParticipant {
        participant_id: String,
    },
    /// Host only: turns a participant waiting in the lobby away (closed
    /// with 4019; it may knock again by joining again).
    RefuseParticipant {
        participant_id: String,
    },
    /// End-to-end encryption: this participant's identity public key
    /// (base64url), shown to everyone with its participant info. The
    /// server relays it and never holds a private key.
    E2eeIdentity {
        key: String,
    },
    /// End-to-end encryption: an opaque message to one participant (the
    /// sender's media key, encrypted for that participant alone).
    E2eeKeys {
        to: String,
        data: String,
    },
    /// Which interpretation channel to hear besides the floor; `null` for
    /// the floor alone. Takes effect within a packet time.
    Listen {
        language: Option<Language>,
    },
    /// Interpreter only: go live on `language`'s channel (one of the grant's
    /// pair) with the published interpretation track; whoever was live
    /// there goes on standby (a booth handover, with no gap and no overlap).
    TakeChannel {
        language: Language,
    },
    /// Interpreter only: stop being live (the channel falls silent).
    ReleaseChannel,
    /// Host only: with the lobby on, everyone who joins without a host
    /// grant waits until a host admits them. Turning it off admits
    /// everyone waiting.
    SetLobby {
        enabled: bool,
    },
    Ping,
    Leave,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl ClientMessage {
    /// Parses one text frame. Oversized input is refused before parsing.
    pub fn parse(text: &str) -> Result<ClientMessage, ProtocolError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(ProtocolError::TooBig);
        }
        serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }

    /// Message name for logs (never the content: it may hold a token).
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Join { .. } => "join",
            ClientMessage::Resume { .. } => "resume",
            ClientMessage::PublishOffer { .. } => "publish_offer",
            ClientMessage::SubscriberAnswer { .. } => "subscriber_answer",
            ClientMessage::UpdateTrack { .. } => "update_track",
            ClientMessage::Chat { .. } => "chat",
            ClientMessage::RestartIce => "restart_ice",
            ClientMessage::VideoSize { .. } => "video_size",
            ClientMessage::MuteParticipant { .. } => "mute_participant",
            ClientMessage::RemoveParticipant { .. } => "remove_participant",
            ClientMessage::LockRoom { .. } => "lock_room",
            ClientMessage::AdmitParticipant { .. } => "admit_participant",
            ClientMessage::RefuseParticipant { .. } => "refuse_participant",
            ClientMessage::SetLobby { .. } => "set_lobby",
            ClientMessage::Listen { .. } => "listen",
            ClientMessage::E2eeIdentity { .. } => "e2ee_identity",
            ClientMessage::E2eeKeys { .. } => "e2ee_keys",
            ClientMessage::TakeChannel { .. } => "take_channel",
            ClientMessage::ReleaseChannel => "release_channel",
            ClientMessage::Ping => "ping",
            ClientMessage::Leave => "leave",
        }
    }
}

/// Messages from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        protocol_version: u32,
        participant_id: String,
        room: String,
        identity: String,
        name: String,
        grants: Grants,
        participants: Vec<ParticipantInfo>,
        disconnect_timeout_ms: u64,
        /// Secret for `resume`; valid as long as the session.
        resume_token: String,
        /// Whether a host has locked the room.
        #[serde(default)]
        locked: bool,
        /// The room is end-to-end encrypted: encrypt every frame and chat
        /// message, and publish with `e2ee: true`.
        #[serde(default)]
        e2ee: bool,
    },
    /// Instead of `welcome`, when the room has a lobby: the participant
    /// waits until a host admits it (then `welcome` follows, with this
    /// participant id) or refuses it (close 4019). Sent again when
    /// `hosts_present` changes.
    Waiting {
        participant_id: String,
        room: String,
        name: String,
        /// Whether a host is in the call to let it in.
        hosts_present: bool,
    },
    /// To hosts: whether the lobby is on, and who waits in it, longest
    /// waiting first. Sent after `welcome` and `resumed`, and on every
    /// change.
    Lobby {
        enabled: bool,
        waiting: Vec<WaitingParticipant>,
    },
    /// End-to-end encryption: an opaque message from another participant
    /// (see `e2ee_keys`).
    E2eeKeys {
        from: String,
        data: String,
    },
    /// The room's interpretation: its languages, and for each channel who
    /// interprets into it and who is live. Sent after `welcome` and
    /// `resumed` in a room with languages, and to everyone on every change.
    Interpretation {
        languages: Vec<Language>,
        channels: Vec<ChannelInfo>,
    },
    /// The session was taken back after a lost connection. `participants`
    /// is everyone else now in the room.
    Resumed {
        participant_id: String,
        participants: Vec<ParticipantInfo>,
        /// Whether a host has locked the room (it may have changed while
        /// the connection was down).
        #[serde(default)]
        locked: bool,
    },
    PublishAnswer {
        sdp: String,
    },
    SubscriberOffer {
        sdp: String,
        tracks: Vec<SubscribedTrack>,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantUpdated {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: String,
        reason: LeaveReason,
    },
    /// To a participant whose track a host muted: mute it locally too.
    MutedByHost {
        track_id: String,
        /// The track's transceiver mid in the participant's publisher
        /// connection.
        mid: String,
        by: String,
    },
    /// To everyone: a host locked or unlocked the room.
    RoomLocked {
        locked: bool,
        by: String,
    },
    Chat {
        from: String,
        name: String,
        text: String,
        sent_at_ms: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Pong,
    /// Relay (TURN) servers and credentials for this session: sent just
    /// before `welcome` and `resumed`, and again before the credentials
    /// expire. Browsers use the latest ones at their next ICE gathering.
    IceServers {
        ice_servers: Vec<IceServer>,
    },
    /// The server is stopping: calls may go on until `deadline_ms` (Unix ms),
    /// then every connection is closed with 4010.
    ShuttingDown {
        deadline_ms: u64,
    },
    /// Who is speaking now, loudest first (the first is the active speaker);
    /// empty when nobody is. Sent when the list changes.
    ActiveSpeakers {
        participant_ids: Vec<String>,
    },
    /// The connection quality of participants whose quality changed
    /// (including the receiver's own), judged by the server from loss,
    /// jitter and round-trip time on their connections.
    ConnectionQuality {
        participants: Vec<ParticipantQuality>,
    },
    /// Which simulcast layers of one of this participant's published
    /// tracks anyone receives: the client sends only these (the others are
    /// paused with `RTCRtpEncodingParameters.active = false`, saving its
    /// uplink and CPU) until told otherwise.
    PublishLayers {
        mid: String,
        active: Vec<String>,
    },
    /// Which layer of a received video track the server now forwards to
    /// this participant, and why; sent when the choice changes.
    VideoLayer {
        track_id: String,
        /// The simulcast rid forwarded; absent when the video is paused or
        /// the track has a single encoding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<String>,
        /// Whether video is forwarded at all.
        paused: bool,
        /// The forwarded layer's size, as its last keyframe said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        width: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<u32>,
        reason: LayerReason,
        /// Only the layer's base temporal layer is forwarded: a lower frame
        /// rate (a quarter, for L1T3), when not even the full one fits.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        base_frame_rate: bool,
        /// The server's estimate of this participant's download bandwidth,
        /// in kbit/s, when it chose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimate_kbps: Option<u32>,
    },
}

/// One language's interpretation channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    pub language: Language,
    /// The interpreter heard on it now; `null` while it is silent.
    pub live: Option<String>,
    /// Every interpreter whose interpretation track is on this channel
    /// (the booth), live or on standby.
    pub interpreters: Vec<String>,
}

/// Someone waiting in the lobby, as hosts see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingParticipant {
    pub participant_id: String,
    pub identity: String,
    pub name: String,
    /// When it started waiting, Unix ms.
    pub since_ms: u64,
}

/// Why the server forwards the layer it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerReason {
    /// The best layer the publisher sends.
    Best,
    /// The subscriber's bandwidth estimate has no room for a better one
    /// (or for any video, when paused).
    Bandwidth,
    /// The video is shown small: a better layer would not look better.
    Size,
    /// The video is not shown at all.
    Hidden,
}

/// One participant's connection quality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantQuality {
    pub participant_id: String,
    pub quality: Quality,
}

/// How well a participant's connection carries the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Packet loss, jitter or delay high enough to be seen and heard.
    Poor,
    /// Some loss or delay; the call is fine.
    Good,
    Excellent,
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail: no maps with non-string
        // keys, no custom serialisers.
        serde_json::to_string(self).expect("server messages always serialise")
    }
}

/// Codes of `error` messages: the request was refused, the connection stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedMessage,
    UnexpectedMessage,
    PublishNotAllowed,
    DataNotAllowed,
    InvalidSdp,
    InvalidChat,
    UnknownTrack,
    RateLimited,
    /// Something only a host may do.
    HostOnly,
    /// A host named a participant that is not in the room (or, to admit
    /// or refuse, not waiting in its lobby).
    UnknownParticipant,
    /// The room is full: a host cannot admit anyone more.
    RoomFull,
    /// A language the room does not have.
    UnknownLanguage,
    /// Interpretation needs an interpreter's grant and an interpretation
    /// track, on a language of the grant's pair.
    NotAnInterpreter,
    /// The room is end-to-end encrypted and this client does not encrypt.
    EncryptionRequired,
    /// A malformed end-to-end encryption message (identity key or keys).
    InvalidE2ee,
}

/// Why a signaling connection is closed; each maps to a WebSocket close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    Left,
    MessageTooBig,
    UnsupportedVersion,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
    WrongRoom,
    RoomNotFound,
    Replaced,
    TimedOut,
    JoinTimedOut,
    ExpectedJoin,
    ShuttingDown,
    RoomFull,
    MediaFailed,
    ServerFull,
    TooManyMessages,
    SessionNotFound,
    /// The room ended on a server fault (a bug, contained to that room):
    /// join again, and a new room starts.
    RoomFailed,
    /// A host removed this participant (or this identity, earlier).
    Removed,
    /// A host locked the room: nobody new may join.
    RoomLocked,
    /// A host did not let this participant in from the lobby.
    Refused,
}

impl CloseReason {
    /// The WebSocket close code (docs/protocol.md, "Close codes").
    pub fn code(self) -> u16 {
        match self {
            CloseReason::Left => 1000,
            CloseReason::MessageTooBig => 1009,
            CloseReason::UnsupportedVersion => 4000,
            CloseReason::InvalidToken => 4001,
            CloseReason::TokenExpired => 4002,
            CloseReason::TokenNotYetValid => 4003,
            CloseReason::WrongRoom => 4004,
            CloseReason::RoomNotFound => 4005,
            CloseReason::Replaced => 4006,
            CloseReason::TimedOut => 4007,
            CloseReason::JoinTimedOut => 4008,
            CloseReason::ExpectedJoin => 4009,
            CloseReason::ShuttingDown => 4010,
            CloseReason::RoomFull => 4011,
            CloseReason::MediaFailed => 4012,
            CloseReason::ServerFull => 4013,
            CloseReason::TooManyMessages => 4014,
            CloseReason::SessionNotFound => 4015,
            CloseReason::RoomFailed => 4016,
            CloseReason::Removed => 4017,
            CloseReason::RoomLocked => 4018,
            CloseReason::Refused => 4019,
        }
    }

    /// The close reason text, short enough for a close frame (123 bytes).
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::Left => "left",
            CloseReason::MessageTooBig => "message too big",
            CloseReason::UnsupportedVersion => "unsupported protocol version",
            CloseReason::InvalidToken => "invalid token",
            CloseReason::TokenExpired => "token expired",
            CloseReason::TokenNotYetValid => "token not yet valid",
            CloseReason::WrongRoom => "token is for another room",
            CloseReason::RoomNotFound => "room not found",
            CloseReason::Replaced => "replaced by a newer session",
            CloseReason::TimedOut => "session timed out",
            CloseReason::JoinTimedOut => "join timed out",
            CloseReason::ExpectedJoin => "expected join",
            CloseReason::ShuttingDown => "server shutting down",
            CloseReason::RoomFull => "room is full",
            CloseReason::MediaFailed => "media connection failed",
            CloseReason::ServerFull => "server has too many rooms",
            CloseReason::TooManyMessages => "too many messages",
            CloseReason::SessionNotFound => "session cannot be resumed",
            CloseReason::RoomFailed => "the call was restarted after a server error",
            CloseReason::Removed => "removed by a host",
            CloseReason::RoomLocked => "room is locked",
            CloseReason::Refused => "a host did not let you in",
        }
    }
}

/// A client message that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("message larger than {MAX_MESSAGE_BYTES} bytes")]
    TooBig,
    #[error("malformed message: {0}")]
    Malformed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips_with_snake_case_tag() {
        let text = r#"{"type":"join","protocol_version":1,"token":"t","room":"r"}"#;
        let msg = ClientMessage::parse(text).unwrap();
        assert_eq!(
            msg,
            ClientMessage::Join {
                protocol_version: 1,
                token: "t".into(),
                room: "r".into(),
                estimate_bandwidth: true,
            }
        );
        assert_eq!(msg.kind(), "join");
    }

    #[test]
    fn unit_messages_parse_without_fields() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"ping"}"#).unwrap(),
            ClientMessage::Ping
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"leave"}"#).unwrap(),
            ClientMessage::Leave
        );
    }

    #[test]
    fn publish_offer_tracks_default_unmuted() {
        let text = r#"{"type":"publish_offer","sdp":"v=0","tracks":[{"mid":"0","kind":"video","source":"camera"}]}"#;
        let ClientMessage::PublishOffer { tracks, .. } = ClientMessage::parse(text).unwrap() else {
            panic!("wrong variant");
        };
        assert_eq!(tracks[0].source, TrackSource::Camera);
        assert!(!tracks[0].muted);
    }

    #[test]
    fn malformed_and_unknown_messages_are_errors() {
        for bad in [
            "",
            "null",
            "{}",
            r#"{"type":"nope"}"#,
            r#"{"type":"chat"}"#,
            r#"{"type":"chat","text":"x","extra":1}"#,
            r#"{"type":"update_track","mid":"0","muted":"yes"}"#,
        ] {
            assert!(
                matches!(ClientMessage::parse(bad), Err(ProtocolError::Malformed(_))),
                "{bad:?} parsed"
            );
        }
    }

    #[test]
    fn language_tags_are_checked_and_put_in_canonical_case() {
        assert_eq!(Language::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Language::parse("pt-br").unwrap().as_str(), "pt-BR");
        assert_eq!(
            Language::parse("sr-latn-rs").unwrap().as_str(),
            "sr-Latn-RS"
        );
        for bad in [
            "",
            "e",
            "english",
            "1a",
            "en-",
            "en--us",
            "en_US",
            "en-toolongsubtag",
            "zh-Hant-TW-extra-x",
        ] {
            assert!(Language::parse(bad).is_none(), "{bad} accepted");
        }
        let grants: Grants = serde_json::from_str(
            r#"{"publish":true,"subscribe":true,"publish_data":true,"interpret":["ru","EN"]}"#,
        )
        .unwrap();
        assert_eq!(
            grants
                .interpret
                .map(|[a, b]| [a.as_str().to_string(), b.as_str().to_string()]),
            Some(["ru".to_string(), "en".to_string()])
        );
        assert!(serde_json::from_str::<Grants>(
            r#"{"publish":true,"subscribe":true,"publish_data":true,"interpret":["ru","<script>"]}"#
        )
        .is_err());
    }

    #[test]
    fn oversized_message_is_refused_before_parsing() {
        let text = format!(
            r#"{{"type":"chat","text":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(ClientMessage::parse(&text), Err(ProtocolError::TooBig));
    }

    #[test]
    fn server_messages_use_documented_names() {
        let json = ServerMessage::ParticipantLeft {
            participant_id: "p1".into(),
            reason: LeaveReason::TimedOut,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"participant_left","participant_id":"p1","reason":"timed_out"}"#
        );
        let json = ServerMessage::error(ErrorCode::PublishNotAllowed, "no").to_json();
        assert!(json.contains(r#""code":"publish_not_allowed""#));
        // Shaped like RTCIceServer so that the browser takes it as it is.
        let json = ServerMessage::IceServers {
            ice_servers: vec![IceServer {
                urls: vec!["turn:192.0.2.1:3478?transport=udp".into()],
                username: "1800000000:p1".into(),
                credential: "c".into(),
            }],
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"ice_servers","ice_servers":[{"urls":["turn:192.0.2.1:3478?transport=udp"],"username":"1800000000:p1","credential":"c"}]}"#
        );
    }

    #[test]
    fn close_codes_are_application_codes_except_standard_ones() {
        assert_eq!(CloseReason::Left.code(), 1000);
        assert_eq!(CloseReason::MessageTooBig.code(), 1009);
        assert_eq!(CloseReason::InvalidToken.code(), 4001);
        for r in [
            CloseReason::UnsupportedVersion,
            CloseReason::InvalidToken,
            CloseReason::TokenExpired,
            CloseReason::TokenNotYetValid,
            CloseReason::WrongRoom,
            CloseReason::RoomNotFound,
            CloseReason::Replaced,
            CloseReason::TimedOut,
            CloseReason::JoinTimedOut,
            CloseReason::ExpectedJoin,
            CloseReason::ShuttingDown,
            CloseReason::RoomFull,
            CloseReason::MediaFailed,
            CloseReason::ServerFull,
            CloseReason::TooManyMessages,
            CloseReason::SessionNotFound,
            CloseReason::RoomFailed,
            CloseReason::Removed,
            CloseReason::RoomLocked,
            CloseReason::Refused,
        ] {
            assert!((4000..5000).contains(&r.code()));
            assert!(r.text().len() <= 123);
        }
    }
}
