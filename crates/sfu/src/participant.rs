//! A participant: its two connections, what it publishes and what it receives.

use std::time::Instant;

use hotline_proto::{
    ConnectionState, Grants, Language, ParticipantInfo, SubscribedTrack, TrackInfo, TrackKind,
    TrackSource,
};
use str0m::change::SdpPendingOffer;
use str0m::format::PayloadParams;
use str0m::media::{Mid, Pt, Rid};

use crate::allocate::Decision;
use crate::forward::Downstream;
use crate::ids::{ParticipantId, TrackId};
use crate::layers::Layer;
use crate::peer::Peer;

/// A track this participant publishes (an up-track, from its browser).
pub(crate) struct PublishedTrack {
    pub id: TrackId,
    /// The transceiver's mid in the publisher connection.
    pub mid: Mid,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub muted: bool,
    /// A host muted it: not forwarded until its owner unmutes it.
    pub host_muted: bool,
    /// The codec of the payload type last seen on this track.
    pub params: Option<(Pt, PayloadParams)>,
    /// Its encodings, lowest quality first: several for simulcast video.
    pub layers: Vec<Layer>,
    /// An interpretation track's channel.
    pub channel: Option<Language>,
    /// In an encrypted room, a frame of it came without encryption (it was
    /// dropped, and said once in the log).
    pub unencrypted: bool,
}

impl PublishedTrack {
    /// Tells the publisher which of its simulcast layers to send.
    pub fn publish_layers(&self) -> hotline_proto::ServerMessage {
        hotline_proto::ServerMessage::PublishLayers {
            mid: self.mid.to_string(),
            active: self
                .layers
                .iter()
                .filter(|l| !l.paused_at_publisher)
                .filter_map(|l| Some(l.rid?.to_string()))
                .collect(),
        }
    }

    /// The index of the layer with this rid (`None` for a single encoding).
    pub fn layer_index(&self, rid: Option<Rid>) -> Option<usize> {
        match self.layers.as_slice() {
            [single] if single.rid.is_none() => Some(0),
            layers => layers.iter().position(|l| l.rid.is_some() && l.rid == rid),
        }
    }
}

/// Where a subscription stands in the subscriber connection's negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionState {
    /// Wants an m-line in the next offer.
    ToOpen,
    /// Offered with this mid, answer pending.
    Negotiating(Mid),
    /// Media flows on this mid.
    Open(Mid),
    /// The track is gone; its m-line must be stopped in the next offer.
    ToStop(Mid),
    /// Stopped in the offer in flight; removed once answered.
    NegotiatingStop(Mid),
}

/// One track of another participant that this participant receives (a
/// down-track).
pub(crate) struct Subscription {
    pub track: TrackId,
    pub publisher: ParticipantId,
    pub kind: TrackKind,
    pub source: TrackSource,
    pub state: SubscriptionState,
    pub downstream: Downstream,
    /// The size the subscriber shows this video at, when it said.
    pub shown_at: Option<(u32, u32)>,
    /// The layer decision last told to the subscriber.
    pub announced: Option<Decision>,
    /// Not above the current layer before this (after the estimate forced
    /// it down).
    pub held_down_until: Option<Instant>,
}

impl Subscription {
    /// A subscription not yet negotiated.
    pub fn new(
        track: TrackId,
        publisher: ParticipantId,
        kind: TrackKind,
        source: TrackSource,
    ) -> Subscription {
        Subscription {
            track,
            publisher,
            kind,
            source,
            state: SubscriptionState::ToOpen,
            downstream: Downstream::default(),
            shown_at: None,
            announced: None,
            held_down_until: None,
        }
    }

    /// The mid on which media is (or will be) written.
    pub fn live_mid(&self) -> Option<Mid> {
        match self.state {
            SubscriptionState::Negotiating(m) | SubscriptionState::Open(m) => Some(m),
            _ => None,
        }
    }
}

pub(crate) struct Participant {
    pub id: ParticipantId,
    pub identity: String,
    pub name: String,
    pub grants: Grants,
    pub span: tracing::Span,
    pub connection: ConnectionState,
    /// Last signaling message seen: the heartbeat that tells us it is alive.
    pub last_seen: Instant,
    pub joined_at: Instant,
    /// Whether the subscriber connection has come up at least once.
    pub media_connected: bool,
    /// Created on the first `publish_offer` (never without the publish grant).
    pub publisher: Option<Peer>,
    pub subscriber: Peer,
    /// Whether the subscriber connection's data channel has been offered
    /// (it goes into the first offer only).
    pub offered_channel: bool,
    /// Packets were written to the subscriber connection and await the
    /// room's next release (it is in the room's `to_release` list).
    pub written_unreleased: bool,
    /// The download bandwidth estimate of its subscriber connection, bit/s.
    pub downlink_estimate: Option<u64>,
    /// Whether its subscriber connection gives transport-wide feedback.
    pub estimates_bandwidth: bool,
    /// What its bandwidth estimator was last told to look for.
    pub probe: Option<crate::allocate::Probe>,
    /// What its connections last reported, for its connection quality.
    pub health: crate::quality::LinkHealth,
    /// What its receiver reports say of its download's loss: congested,
    /// or lossy enough to send every packet twice.
    pub download_loss: crate::quality::DownloadLoss,
    pub published: Vec<PublishedTrack>,
    pub subscriptions: Vec<Subscription>,
    /// The subscriber offer in flight; at most one at a time.
    pub pending_offer: Option<SdpPendingOffer>,
    /// The message that carried it, sent again when the session resumes
    /// (the first copy may have been lost with the connection).
    pub offer_in_flight: Option<hotline_proto::ServerMessage>,
    /// The next subscriber offer must restart ICE.
    pub ice_restart_wanted: bool,
    /// Secret that lets a new signaling connection take this session over.
    pub resume_token: String,
    /// The interpretation channel it hears besides the floor; `None` for
    /// the floor alone.
    pub listening: Option<Language>,
    /// Its end-to-end encryption identity public key, as it announced it.
    pub identity_key: Option<String>,
}

impl Participant {
    pub fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            participant_id: self.id.to_string(),
            identity: self.identity.clone(),
            name: self.name.clone(),
            connection: self.connection,
            tracks: self
                .published
                .iter()
                .map(|t| TrackInfo {
                    track_id: t.id.to_string(),
                    kind: t.kind,
                    source: t.source,
                    muted: t.muted,
                    language: t.channel,
                })
                .collect(),
            identity_key: self.identity_key.clone(),
        }
    }

    /// The m-line to track map sent with a subscriber offer.
    pub fn subscribed_tracks(&self) -> Vec<SubscribedTrack> {
        self.subscriptions
            .iter()
            .filter_map(|s| {
                Some(SubscribedTrack {
                    mid: s.live_mid()?.to_string(),
                    track_id: s.track.to_string(),
                    participant_id: s.publisher.to_string(),
                    kind: s.kind,
                    source: s.source,
                })
            })
            .collect()
    }

    pub fn peer_mut(&mut self, role: crate::peer::PeerRole) -> Option<&mut Peer> {
        match role {
            crate::peer::PeerRole::Publisher => self.publisher.as_mut(),
            crate::peer::PeerRole::Subscriber => Some(&mut self.subscriber),
        }
    }
}
