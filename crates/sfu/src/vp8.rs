//! The parts of a VP8 RTP payload (RFC 7741) an SFU reads: where a frame
//! starts, whether it is a keyframe, and its picture id. Parsing never
//! panics: payloads come from the network.

/// The payload descriptor at the start of every VP8 RTP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// S bit: the first packet of a partition.
    pub start_of_partition: bool,
    /// Partition index (0 for the first partition of a frame).
    pub partition: u8,
    /// 7- or 15-bit picture id, when present.
    pub picture_id: Option<u16>,
    /// Temporal layer index, when present.
    pub temporal_layer: Option<u8>,
    /// Length of the descriptor in bytes: the VP8 payload follows it.
    pub len: usize,
}

impl Vp8Descriptor {
    /// Parses the descriptor; `None` when the payload is too short for the
    /// fields its flags announce.
    pub fn parse(payload: &[u8]) -> Option<Vp8Descriptor> {
        let first = *payload.first()?;
        let extended = first & 0x80 != 0;
        let mut descriptor = Vp8Descriptor {
            start_of_partition: first & 0x10 != 0,
            partition: first & 0x0f,
            picture_id: None,
            temporal_layer: None,
            len: 1,
        };
        if !extended {
            return Some(descriptor);
        }
        let flags = *payload.get(1)?;
        let mut at = 2;
        if flags & 0x80 != 0 {
            let high = *payload.get(at)?;
            if high & 0x80 != 0 {
                let low = *payload.get(at + 1)?;
                descriptor.picture_id = Some(u16::from(high & 0x7f) << 8 | u16::from(low));
                at += 2;
            } else {
                descriptor.picture_id = Some(u16::from(high));
                at += 1;
            }
        }
        if flags & 0x40 != 0 {
            // TL0PICIDX
            payload.get(at)?;
            at += 1;
        }
        if flags & 0x30 != 0 {
            let tid = *payload.get(at)?;
            if flags & 0x20 != 0 {
                descriptor.temporal_layer = Some(tid >> 6);
            }
            at += 1;
        }
        descriptor.len = at;
        Some(descriptor)
    }

    /// Whether this packet begins a frame.
    pub fn starts_frame(&self) -> bool {
        self.start_of_partition && self.partition == 0
    }
}

/// Whether an RTP payload is the first packet of a VP8 keyframe.
pub fn is_keyframe_start(payload: &[u8]) -> bool {
    let Some(descriptor) = Vp8Descriptor::parse(payload) else {
        return false;
    };
    // In the frame tag that follows, bit 0 is the inverse key-frame flag.
    descriptor.starts_frame() && payload.get(descriptor.len).is_some_and(|tag| tag & 1 == 0)
}

/// Writes a descriptor with a 15-bit picture id: 4 bytes.
pub fn write_descriptor(out: &mut Vec<u8>, starts_frame: bool, picture_id: u16) {
    let picture_id = picture_id & 0x7fff;
    out.push(0x80 | if starts_frame { 0x10 } else { 0 });
    out.push(0x80);
    out.push(0x80 | (picture_id >> 8) as u8);
    out.push(picture_id as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip_and_keyframes() {
        let mut payload = Vec::new();
        write_descriptor(&mut payload, true, 0x1234);
        payload.extend_from_slice(&[0x10, 0, 0, 0x9d, 0x01, 0x2a]);
        let d = Vp8Descriptor::parse(&payload).unwrap();
        assert_eq!(d.picture_id, Some(0x1234));
        assert_eq!(d.len, 4);
        assert!(d.starts_frame());
        assert!(is_keyframe_start(&payload));

        payload[4] = 0x11; // an inter frame
        assert!(!is_keyframe_start(&payload));

        let mut middle = Vec::new();
        write_descriptor(&mut middle, false, 7);
        middle.push(0x10);
        assert!(!is_keyframe_start(&middle));
    }

    #[test]
    fn short_or_odd_payloads_are_refused_not_panicked_on() {
        for bytes in [
            &[][..],
            &[0x80],
            &[0x80, 0x80],
            &[0x80, 0x80, 0x80],
            &[0x80, 0xf0, 0x01, 0x02],
            &[0x90],
        ] {
            let _ = Vp8Descriptor::parse(bytes);
            assert!(!is_keyframe_start(bytes));
        }
        // Without the X bit the descriptor is one byte.
        let d = Vp8Descriptor::parse(&[0x10, 0x10]).unwrap();
        assert_eq!(d.len, 1);
        // 7-bit picture id, TL0PICIDX and a TID byte.
        let d = Vp8Descriptor::parse(&[0x90, 0xe0, 0x05, 0x09, 0x80, 0x10]).unwrap();
        assert_eq!(
            (d.picture_id, d.temporal_layer, d.len),
            (Some(5), Some(2), 5)
        );
    }
}
