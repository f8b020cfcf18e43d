//! `GET /api/rooms/ROOM/stats`: what the server is doing for each
//! participant of a room right now, for operators and tests. It needs a
//! token for that room with the `inspect` grant (`hotline token --inspect`).
//! See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::{ConnectionState, LayerReason, Quality, TrackKind, TrackSource};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomStats {
    pub room: String,
    pub participants: Vec<ParticipantStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantStats {
    pub participant_id: String,
    pub identity: String,
    pub name: String,
    pub connection: ConnectionState,
    /// `None` before its connections first reported.
    pub quality: Option<Quality>,
    pub download: DownloadStats,
    pub published: Vec<PublishedTrackStats>,
    pub subscriptions: Vec<SubscriptionStats>,
}

/// The participant's download (its subscriber connection), as the server
/// sees it when it chooses layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadStats {
    /// The bandwidth estimate; `None` without transport-wide feedback.
    pub estimate_kbps: Option<u32>,
    /// Its receiver reports show a bottleneck's loss: the estimate may take
    /// video below its lowest layers.
    pub congested: bool,
    /// Lossy but not congested: every packet is sent twice.
    pub copies: bool,
    /// Fraction of packets lost, from its receiver reports.
    pub loss: Option<f32>,
    pub rtt_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedTrackStats {
    pub track_id: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    /// Its encodings, lowest first: several for simulcast video.
    pub layers: Vec<PublishedLayerStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedLayerStats {
    pub rid: Option<String>,
    /// What it arrives at, headers included; `None` while nothing arrives.
    pub bitrate_kbps: Option<u32>,
    /// The picture size its keyframes announce.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Paused at the publisher because no subscriber needs it (dynacast).
    pub paused_at_publisher: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionStats {
    pub track_id: String,
    pub publisher_id: String,
    pub kind: TrackKind,
    pub source: TrackSource,
    /// For video: the layer the server forwards and why, as last told to
    /// the subscriber (`video_layer`); `None` before the first choice.
    pub layer: Option<LayerChoice>,
    /// The size the subscriber says it shows the video at.
    pub shown_width: Option<u32>,
    pub shown_height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerChoice {
    /// `None` when paused, or for a single encoding.
    pub rid: Option<String>,
    pub paused: bool,
    pub reason: LayerReason,
    /// Only the base temporal layer (a lower frame rate).
    pub base_frame_rate: bool,
}
