//! The sans-IO media plane and room core of Hotline.
//!
//! A [`Room`] owns its participants, each with two str0m peer connections
//! (publisher: media from the browser; subscriber: media to the browser), the
//! tracks they publish and the subscriptions of the others to those tracks.
//! Nothing here touches a socket or the clock: the shell passes time, packets
//! and signaling messages in (`handle_*`) and polls what must leave
//! (`poll_output`, `poll_timeout`). Tests drive the same code in simulated time.
//!
//! Vocabulary: a participant *publishes* tracks; the others *subscribe* to
//! them. See `docs/glossary.md`.

mod allocate;
mod dtls;
mod forward;
mod ids;
mod interpret;
mod layers;
mod lobby;
mod participant;
mod peer;
mod quality;
pub mod red;
mod room;
mod speakers;
pub mod vp8;

pub use dtls::process_certificate;
pub use ids::{ParticipantId, TrackId};
pub use peer::{Transmit, Transport};
pub use room::{JoinError, JoinRequest, ResumeError, Room, RoomConfig, RoomEvent, RoomOutput};

use std::sync::Once;

/// Installs str0m's process-wide crypto provider (aws-lc-rs). Idempotent;
/// call it before building any room.
pub fn init_crypto() {
    static INIT: Once = Once::new();
    INIT.call_once(|| dtls::crypto_provider().install_process_default());
}
