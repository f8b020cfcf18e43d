//! RFC 2198 redundant audio (RED): each packet carries the previous
//! frame(s) of Opus again besides its own, so that a lost packet is filled
//! in from the next one. Publishers that negotiated RED send it; the room
//! forwards it as it is to subscribers that negotiated it too, and the
//! primary (newest) frame alone to those that did not.

/// Where the primary frame lies in a RED payload: after the headers (4
/// bytes per redundant block, 1 for the primary) and the redundant blocks.
/// `None` for a payload that is not well-formed RED (headers running past
/// the end, blocks longer than the payload), which is then not forwarded to
/// a subscriber without RED: better a lost packet than noise.
pub fn primary_range(payload: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut at = 0;
    let mut redundant = 0usize;
    loop {
        let first = *payload.get(at)?;
        if first & 0x80 == 0 {
            // The primary's header: F bit clear, the payload type only.
            at += 1;
            break;
        }
        // F, block payload type (7 bits), timestamp offset (14 bits),
        // block length (10 bits).
        let header = payload.get(at..at + 4)?;
        let length = (usize::from(header[2] & 0x03) << 8) | usize::from(header[3]);
        redundant += length;
        at += 4;
    }
    let start = at + redundant;
    (start <= payload.len()).then_some(start..payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_follows_the_headers_and_the_redundant_blocks() {
        // One redundant block of 3 bytes (PT 111, offset 960), then the
        // primary (PT 111) of 4 bytes.
        let offset: u16 = 960;
        let payload = [
            0x80 | 111,
            (offset >> 6) as u8,
            ((offset & 0x3f) << 2) as u8,
            3,
            111,
            b'r',
            b'r',
            b'r',
            b'p',
            b'p',
            b'p',
            b'p',
        ];
        let range = primary_range(&payload).expect("well-formed");
        assert_eq!(&payload[range], b"pppp");
    }

    #[test]
    fn a_primary_alone_and_an_empty_primary() {
        assert_eq!(primary_range(&[111, 1, 2]), Some(1..3));
        assert_eq!(primary_range(&[111]), Some(1..1));
    }

    #[test]
    fn malformed_red_is_refused() {
        // No primary header.
        assert_eq!(primary_range(&[]), None);
        assert_eq!(primary_range(&[0x80 | 111, 0, 0]), None);
        // A redundant block longer than what follows.
        assert_eq!(primary_range(&[0x80 | 111, 0, 0, 9, 111, 1, 2]), None);
        // Long block lengths use the top two bits of the third byte.
        assert_eq!(primary_range(&[0x80 | 111, 0, 0x01, 0, 111]), None);
    }
}
