//! Identifiers with their own types, so a track id is never passed where a
//! participant id belongs.

use std::fmt;

/// A participant's id within a room: random, unique per session (a rejoin of
/// the same identity gets a new one). "p" and 12 hex digits, kept inline:
/// ids are copied and compared for every forwarded packet.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId([u8; 13]);

impl fmt::Debug for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParticipantId({})", self.as_str())
    }
}

impl ParticipantId {
    pub(crate) fn random() -> ParticipantId {
        let text = format!("p{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        let mut bytes = [0u8; 13];
        bytes.copy_from_slice(text.as_bytes());
        ParticipantId(bytes)
    }

    /// Reads an id sent back by a client; `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<ParticipantId> {
        let valid = text.len() == 13
            && text.starts_with('p')
            && text[1..].bytes().all(|b| b.is_ascii_hexdigit());
        let mut bytes = [0u8; 13];
        valid.then(|| {
            bytes.copy_from_slice(text.as_bytes());
            ParticipantId(bytes)
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII ever goes in (see `random` and `parse`).
        std::str::from_utf8(&self.0).unwrap_or("p????????????")
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_and_junk_does_not() {
        let id = ParticipantId::random();
        assert_eq!(ParticipantId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "p",
            "x0123456789ab",
            "p0123456789abc",
            "p0123456789ag",
            "p01234567890ü",
        ] {
            assert_eq!(ParticipantId::parse(bad), None, "{bad:?}");
        }
    }
}
