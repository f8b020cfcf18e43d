//! The parts of a VP8 RTP payload (RFC 7741) an SFU reads and rewrites:
//! where a frame starts, whether it is a keyframe and of what size, its
//! picture id and TL0PICIDX. Parsing never panics: payloads come from the
//! network.

/// The payload descriptor at the start of every VP8 RTP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// S bit: the first packet of a partition.
    pub start_of_partition: bool,
    /// Partition index (0 for the first partition of a frame).
    pub partition: u8,
    /// 7- or 15-bit picture id, when present.
    pub picture_id: Option<u16>,
    /// Whether the picture id has 15 bits (else 7).
    pub long_picture_id: bool,
    /// Index of the last base temporal layer frame, when present.
    pub tl0_pic_idx: Option<u8>,
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
            long_picture_id: false,
            tl0_pic_idx: None,
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
                descriptor.long_picture_id = true;
                at += 2;
            } else {
                descriptor.picture_id = Some(u16::from(high));
                at += 1;
            }
        }
        if flags & 0x40 != 0 {
            descriptor.tl0_pic_idx = Some(*payload.get(at)?);
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

/// The width and height a keyframe announces, when `payload` is the first
/// packet of one (RFC 6386 9.1: frame tag, start code, then 14-bit sizes).
pub fn keyframe_size(payload: &[u8]) -> Option<(u16, u16)> {
    if !is_keyframe_start(payload) {
        return None;
    }
    let at = Vp8Descriptor::parse(payload)?.len;
    let header = payload.get(at..at + 10)?;
    if header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    Some((width, height))
}

/// Picture ids and TL0PICIDX as one subscriber sees them: the publisher's
/// plus an offset, so that a switch between simulcast layers (each with its
/// own numbering) looks like one continuous stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PictureIdOffset {
    pub picture_id: u16,
    pub tl0_pic_idx: u8,
}

impl PictureIdOffset {
    /// The offset that makes `next` (a descriptor of the first packet after a
    /// switch) follow `last` (the last one sent) directly.
    pub fn continuing(last: &Vp8Descriptor, next: &Vp8Descriptor) -> PictureIdOffset {
        let picture_id = match (last.picture_id, next.picture_id) {
            (Some(l), Some(n)) => l.wrapping_add(1).wrapping_sub(n) & 0x7fff,
            _ => 0,
        };
        let tl0_pic_idx = match (last.tl0_pic_idx, next.tl0_pic_idx) {
            (Some(l), Some(n)) => l.wrapping_add(1).wrapping_sub(n),
            _ => 0,
        };
        PictureIdOffset {
            picture_id,
            tl0_pic_idx,
        }
    }

    /// `descriptor` with the offset added: what the subscriber sees. A
    /// 7-bit picture id stays 7 bits (wrapping).
    pub fn shift(self, mut descriptor: Vp8Descriptor) -> Vp8Descriptor {
        let mask = if descriptor.long_picture_id {
            0x7fff
        } else {
            0x7f
        };
        descriptor.picture_id = descriptor
            .picture_id
            .map(|p| p.wrapping_add(self.picture_id) & mask);
        descriptor.tl0_pic_idx = descriptor
            .tl0_pic_idx
            .map(|t| t.wrapping_add(self.tl0_pic_idx));
        descriptor
    }

    /// Rewrites the descriptor at the start of `payload` in place and
    /// returns it as sent.
    pub fn apply(self, payload: &mut [u8]) -> Option<Vp8Descriptor> {
        let parsed = Vp8Descriptor::parse(payload)?;
        if self == PictureIdOffset::default() {
            return Some(parsed);
        }
        let sent = self.shift(parsed);
        // The fields sit right after the two flag bytes, in this order; the
        // parse above checked that they are there.
        let mut at = 2;
        if let Some(pid) = sent.picture_id {
            if sent.long_picture_id {
                payload[at] = 0x80 | (pid >> 8) as u8;
                payload[at + 1] = pid as u8;
                at += 2;
            } else {
                payload[at] = pid as u8;
                at += 1;
            }
        }
        if let Some(tl0) = sent.tl0_pic_idx {
            payload[at] = tl0;
        }
        Some(sent)
    }
}

/// Writes a descriptor with a 15-bit picture id (4 bytes), and with
/// `temporal` = (TL0PICIDX, temporal layer) their two bytes too.
pub fn write_descriptor(
    out: &mut Vec<u8>,
    starts_frame: bool,
    picture_id: u16,
    temporal: Option<(u8, u8)>,
) {
    let picture_id = picture_id & 0x7fff;
    out.push(0x80 | if starts_frame { 0x10 } else { 0 });
    out.push(if temporal.is_some() { 0xe0 } else { 0x80 });
    out.push(0x80 | (picture_id >> 8) as u8);
    out.push(picture_id as u8);
    if let Some((tl0_pic_idx, layer)) = temporal {
        out.push(tl0_pic_idx);
        out.push((layer & 0x03) << 6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip_and_keyframes() {
        let mut payload = Vec::new();
        write_descriptor(&mut payload, true, 0x1234, None);
        payload.extend_from_slice(&[0x10, 0, 0, 0x9d, 0x01, 0x2a]);
        let d = Vp8Descriptor::parse(&payload).unwrap();
        assert_eq!(d.picture_id, Some(0x1234));
        assert_eq!(d.len, 4);
        assert!(d.starts_frame());
        assert!(is_keyframe_start(&payload));

        payload[4] = 0x11; // an inter frame
        assert!(!is_keyframe_start(&payload));

        let mut middle = Vec::new();
        write_descriptor(&mut middle, false, 7, None);
        middle.push(0x10);
        assert!(!is_keyframe_start(&middle));
    }

    #[test]
    fn keyframe_sizes_are_read_from_the_frame_header() {
        let mut payload = Vec::new();
        write_descriptor(&mut payload, true, 1, None);
        // Frame tag (keyframe), start code, 1280 x 720 with scale bits set.
        payload.extend_from_slice(&[0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x00, 0x45, 0xd0, 0x82]);
        assert_eq!(keyframe_size(&payload), Some((1280, 720)));
        payload.truncate(payload.len() - 1);
        assert_eq!(keyframe_size(&payload), None, "cut short");
    }

    #[test]
    fn picture_ids_continue_across_a_switch_and_wrap() {
        // Layer A ended at picture id 0x7ffe, TL0PICIDX 255; layer B's
        // keyframe has picture id 40, TL0PICIDX 7.
        let last = Vp8Descriptor::parse(&[0x90, 0xc0, 0xff, 0xfe, 255, 0x00]).unwrap();
        let mut next = vec![0x90, 0xc0, 0x80, 40, 7, 0x00];
        let offset = PictureIdOffset::continuing(&last, &Vp8Descriptor::parse(&next).unwrap());
        let d = offset.apply(&mut next).unwrap();
        assert_eq!((d.picture_id, d.tl0_pic_idx), (Some(0x7fff), Some(0)));
        let mut after = vec![0x90, 0xc0, 0x80, 41, 8, 0x00];
        let d = offset.apply(&mut after).unwrap();
        assert_eq!((d.picture_id, d.tl0_pic_idx), (Some(0), Some(1)));
        assert_eq!(Vp8Descriptor::parse(&after).unwrap().picture_id, Some(0));
        // A 7-bit id stays 7 bits.
        let mut short = vec![0x90, 0x80, 0x05, 0x00];
        let d = PictureIdOffset {
            picture_id: 0x7ffd,
            tl0_pic_idx: 0,
        }
        .apply(&mut short)
        .unwrap();
        assert_eq!(d.picture_id, Some(2));
        assert_eq!(short[2], 2);
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
