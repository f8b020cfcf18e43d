//! Identifiers with their own types, so a track id is never passed where a
//! participant id belongs.

use std::fmt;

/// A participant's id within a room: random, unique per session (a rejoin of
/// the same identity gets a new one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(String);

impl ParticipantId {
    pub(crate) fn random() -> ParticipantId {
        ParticipantId(format!(
            "p{:012x}",
            rand::random::<u64>() & 0xffff_ffff_ffff
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A published track: the publisher's id and the mid of its transceiver in
/// the publisher connection, which together never repeat in a room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackId(String);

impl TrackId {
    pub(crate) fn new(publisher: &ParticipantId, mid: &str) -> TrackId {
        TrackId(format!("{publisher}-{mid}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
