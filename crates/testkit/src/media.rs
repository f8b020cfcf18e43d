//! Synthetic media at the RTP level, shaped like a browser's, and what a
//! receiver counts of it.
//!
//! Every packet ends with the time it was sent (microseconds since a clock
//! origin the sender and receiver share, big-endian), so that a receiver in
//! the same process measures one-way delay. The rest of a video payload is a
//! valid VP8 payload descriptor and frame tag, so that a server finds frame
//! starts and keyframes as in a browser's stream.

use std::time::{Duration, Instant};

use hotline_proto::TrackKind;
use hotline_sfu::vp8;

/// Largest payload of one video packet, well under a 1200-byte MTU.
const MAX_VIDEO_PAYLOAD: usize = 1100;
/// Bytes of the send timestamp at the end of every payload.
const STAMP_LEN: usize = 8;
/// An Opus packet of a 32 kbit/s voice stream every 20 ms.
const AUDIO_PAYLOAD: usize = 80;
pub(crate) const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// How far back a counter tells a duplicate from a late packet.
const SEEN_WINDOW: u64 = 1024;

/// A gap between two decoded video frames longer than this is a freeze.
pub const FREEZE_GAP: Duration = Duration::from_millis(500);

/// What the synthetic camera sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoShape {
    pub bitrate_bps: u32,
    pub fps: u32,
    /// A keyframe this often even unasked, as real encoders do.
    pub keyframe_interval: Duration,
    /// The picture size its keyframes announce.
    pub width: u16,
    pub height: u16,
    /// Temporal layers, as in L1T3 (3) or none (1): frames of layers 0,
    /// 2, 1, 2 in turn, marked in the payload descriptor.
    pub temporal_layers: u8,
}

impl Default for VideoShape {
    fn default() -> Self {
        VideoShape {
            bitrate_bps: 300_000,
            fps: 30,
            keyframe_interval: Duration::from_secs(3),
            width: 640,
            height: 360,
            temporal_layers: 1,
        }
    }
}

impl VideoShape {
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps.max(1)
    }

    /// Bytes of one frame: keyframes are four times an inter frame, and
    /// inter frames vary a little in size, like real video.
    fn frame_len(&self, key: bool, n: u64) -> usize {
        let average = (self.bitrate_bps / 8 / self.fps.max(1)) as usize;
        let len = if key {
            average * 4
        } else {
            average * (90 + (n % 7) as usize * 3) / 100
        };
        len.max(64)
    }
}

/// One RTP packet to send: payload and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPacket {
    pub payload: Vec<u8>,
    pub marker: bool,
    /// RTP timestamp, in the codec's clock rate.
    pub rtp_time: u32,
}

/// Microseconds since `origin`, as carried in a payload.
pub fn stamp(origin: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(origin).as_micros() as u64
}

/// The send time at the end of a payload, if it has room for one.
pub fn read_stamp(payload: &[u8]) -> Option<u64> {
    let tail = payload.len().checked_sub(STAMP_LEN)?;
    Some(u64::from_be_bytes(payload[tail..].try_into().ok()?))
}

/// One 20 ms Opus packet.
pub fn audio_packet(n: u64, sent_us: u64) -> SyntheticPacket {
    let mut payload = vec![0x5a; AUDIO_PAYLOAD];
    // TOC byte: CELT fullband 20 ms, one frame.
    payload[0] = 0xfc;
    payload[AUDIO_PAYLOAD - STAMP_LEN..].copy_from_slice(&sent_us.to_be_bytes());
    SyntheticPacket {
        payload,
        marker: false,
        rtp_time: (n * 960) as u32,
    }
}

/// A RED (RFC 2198) packet of `primary`, with `previous` (the frame sent
/// before it) as the one redundant block; `codec_pt` is the payload type of
/// both frames (Opus).
pub fn red_packet(
    codec_pt: u8,
    primary: &SyntheticPacket,
    previous: Option<&SyntheticPacket>,
) -> SyntheticPacket {
    let mut payload = Vec::with_capacity(5 + primary.payload.len() * 2);
    if let Some(previous) = previous {
        let offset = primary.rtp_time.wrapping_sub(previous.rtp_time) & 0x3fff;
        let length = previous.payload.len() & 0x3ff;
        payload.extend_from_slice(&[
            0x80 | codec_pt,
            (offset >> 6) as u8,
            ((offset & 0x3f) << 2) as u8 | (length >> 8) as u8,
            length as u8,
        ]);
    }
    payload.push(codec_pt & 0x7f);
    if let Some(previous) = previous {
        payload.extend_from_slice(&previous.payload);
    }
    payload.extend_from_slice(&primary.payload);
    SyntheticPacket {
        payload,
        marker: primary.marker,
        rtp_time: primary.rtp_time,
    }
}

/// The packets of video frame `n`: a VP8 descriptor with picture id on each,
/// the frame tag (and for keyframes start code and size) on the first, the
/// marker bit on the last.
pub fn video_frame(shape: &VideoShape, n: u64, key: bool, sent_us: u64) -> Vec<SyntheticPacket> {
    let len = shape.frame_len(key, n);
    let rtp_time = (n * 90_000 / u64::from(shape.fps.max(1))) as u32;
    let picture_id = (n & 0x7fff) as u16;
    let temporal = (shape.temporal_layers > 1).then(|| {
        // L1T3's pattern (fewer layers take its lower part).
        let layer = [0u8, 2, 1, 2][(n % 4) as usize].min(shape.temporal_layers - 1);
        ((n / 4) as u8, layer)
    });
    let descriptor_len = if temporal.is_some() { 6 } else { 4 };
    let chunk = MAX_VIDEO_PAYLOAD - descriptor_len - STAMP_LEN;
    let count = len.div_ceil(chunk).max(1);
    let mut packets = Vec::with_capacity(count);
    for i in 0..count {
        let body = if i + 1 == count {
            len - chunk * (count - 1)
        } else {
            chunk
        };
        let mut payload = Vec::with_capacity(descriptor_len + body + STAMP_LEN);
        vp8::write_descriptor(&mut payload, i == 0, picture_id, temporal);
        let start = payload.len();
        payload.resize(start + body, 0x5a);
        if i == 0 {
            let [w0, w1] = shape.width.to_le_bytes();
            let [h0, h1] = shape.height.to_le_bytes();
            let tag: &[u8] = if key {
                // Frame tag (P = 0: key, show_frame), start code, size.
                &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, w0, w1, h0, h1]
            } else {
                &[0x11, 0x02, 0x00]
            };
            let n = tag.len().min(body);
            payload[start..start + n].copy_from_slice(&tag[..n]);
        }
        payload.extend_from_slice(&sent_us.to_be_bytes());
        packets.push(SyntheticPacket {
            payload,
            marker: i + 1 == count,
            rtp_time,
        });
    }
    packets
}

/// What arrived on one received stream (one SSRC): counted from RTP headers
/// and, where the payload was decrypted, from the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaCounter {
    pub packets: u64,
    pub bytes: u64,
    /// Audio packets, or video frames (marker bits).
    pub frames: u64,
    pub keyframes: u64,
    /// The picture size of the latest keyframe in stream order (a late
    /// retransmission of an earlier one does not count).
    pub keyframe_size: Option<(u16, u16)>,
    /// Extended sequence number of the keyframe `keyframe_size` is from.
    keyframe_seq: u64,
    /// Extended sequence number of the packet counted last, if it was.
    last_counted: Option<u64>,
    /// Packets whose sequence number came after a higher one.
    pub out_of_order: u64,
    /// Gaps between video frames longer than [`FREEZE_GAP`].
    pub freezes: u64,
    /// Packets that came again (a retransmission of one that was not lost,
    /// or a sender's padding made of old packets): not counted otherwise.
    pub duplicates: u64,
    /// Which of the last `SEEN_WINDOW` sequence numbers arrived.
    seen: [u64; SEEN_WINDOW as usize / 64],
    /// Extended sequence number of the first packet counted.
    first_seq: Option<u64>,
    /// Highest extended sequence number seen, also before a reset; 0 before
    /// the first packet (numbers start one cycle up, so that a packet
    /// reordered before the first one does not go below zero).
    highest_seq: u64,
    last_frame_at: Option<Instant>,
    /// One-way delays in microseconds, of packets whose payload was read.
    pub delays_us: Vec<u32>,
    /// The payload type and payload of the packet read last.
    pub last_payload: Option<(u8, std::sync::Arc<[u8]>)>,
}

impl MediaCounter {
    /// Counts a packet from its header fields. Packets from before the
    /// counters were reset (late retransmissions) are not counted.
    pub fn count_header(
        &mut self,
        now: Instant,
        kind: TrackKind,
        seq: u16,
        marker: bool,
        len: usize,
    ) {
        self.last_counted = None;
        match self.first_seq {
            None => {
                let extended = match self.highest_seq {
                    0 => u64::from(seq) + 0x1_0000,
                    highest => extend_seq(highest, seq),
                };
                if self.highest_seq != 0 && extended <= self.highest_seq {
                    return;
                }
                self.first_seq = Some(extended);
                self.highest_seq = extended;
                self.last_counted = Some(extended);
                self.seen = Default::default();
                self.mark_seen(extended);
            }
            Some(first) => {
                let extended = extend_seq(self.highest_seq, seq);
                if extended < first {
                    return;
                }
                if extended > self.highest_seq {
                    for passed in (self.highest_seq + 1..extended).take(SEEN_WINDOW as usize) {
                        self.forget_seen(passed);
                    }
                    self.highest_seq = extended;
                    self.mark_seen(extended);
                } else if self.highest_seq - extended < SEEN_WINDOW && self.was_seen(extended) {
                    self.duplicates += 1;
                    return;
                } else {
                    self.mark_seen(extended);
                    self.out_of_order += 1;
                }
                self.last_counted = Some(extended);
            }
        }
        self.packets += 1;
        self.bytes += len as u64;
        if kind == TrackKind::Audio || marker {
            self.frames += 1;
        }
        if kind == TrackKind::Video && marker {
            if self
                .last_frame_at
                .is_some_and(|at| now.saturating_duration_since(at) > FREEZE_GAP)
            {
                self.freezes += 1;
            }
            self.last_frame_at = Some(now);
        }
    }

    /// Reads what a decrypted payload tells: keyframes, and the delay of
    /// packets that end a frame (a server that repacketizes frames keeps
    /// only a frame's end where the sender put it).
    pub fn read_payload(
        &mut self,
        origin: Instant,
        now: Instant,
        kind: TrackKind,
        marker: bool,
        payload: &[u8],
    ) {
        if kind == TrackKind::Video && vp8::is_keyframe_start(payload) {
            self.keyframes += 1;
            if let Some(seq) = self.last_counted.filter(|&seq| seq > self.keyframe_seq) {
                if let Some(size) = vp8::keyframe_size(payload) {
                    self.keyframe_size = Some(size);
                    self.keyframe_seq = seq;
                }
            }
        }
        if kind == TrackKind::Audio || marker {
            if let Some(sent) = read_stamp(payload) {
                let delay = stamp(origin, now).saturating_sub(sent);
                self.delays_us.push(delay.min(u64::from(u32::MAX)) as u32);
            }
        }
    }

    fn mark_seen(&mut self, seq: u64) {
        let bit = seq % SEEN_WINDOW;
        self.seen[(bit / 64) as usize] |= 1 << (bit % 64);
    }

    fn forget_seen(&mut self, seq: u64) {
        let bit = seq % SEEN_WINDOW;
        self.seen[(bit / 64) as usize] &= !(1 << (bit % 64));
    }

    fn was_seen(&self, seq: u64) -> bool {
        let bit = seq % SEEN_WINDOW;
        self.seen[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    /// Packets the sender sent in the span seen so far.
    pub fn expected(&self) -> u64 {
        self.first_seq
            .map_or(0, |first| self.highest_seq - first + 1)
    }

    /// Packets never received (duplicates do not make up for them).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.packets)
    }

    /// Forgets what was counted, keeping the sequence position, so that a
    /// measurement can start after set-up.
    pub fn reset(&mut self) {
        *self = MediaCounter {
            highest_seq: self.highest_seq,
            last_frame_at: self.last_frame_at,
            keyframe_size: self.keyframe_size,
            keyframe_seq: self.keyframe_seq,
            ..MediaCounter::default()
        };
    }
}

/// The extended sequence number closest to `highest` whose low 16 bits are `seq`.
fn extend_seq(highest: u64, seq: u16) -> u64 {
    let base = highest & !0xffff;
    let candidates = [
        base.wrapping_sub(0x1_0000) | u64::from(seq),
        base | u64::from(seq),
        (base + 0x1_0000) | u64::from(seq),
    ];
    candidates
        .into_iter()
        .filter(|c| *c < u64::MAX - 0x2_0000)
        .min_by_key(|c| c.abs_diff(highest))
        .unwrap_or(base | u64::from(seq))
}

/// The RTP header fields a receiver counts from, read without decrypting:
/// SRTP leaves the header in the clear. `None` for anything but RTP.
pub fn peek_rtp(datagram: &[u8]) -> Option<RtpPeek> {
    if datagram.len() < 12 || datagram[0] >> 6 != 2 {
        return None;
    }
    // RTCP packet types 192..=223 share the first byte's version bits.
    if (192..=223).contains(&datagram[1]) {
        return None;
    }
    Some(RtpPeek {
        marker: datagram[1] & 0x80 != 0,
        seq: u16::from_be_bytes([datagram[2], datagram[3]]),
        ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPeek {
    pub marker: bool,
    pub seq: u16,
    pub ssrc: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_frames_have_the_shape_asked_for() {
        let shape = VideoShape {
            bitrate_bps: 1_500_000,
            fps: 30,
            keyframe_interval: Duration::from_secs(2),
            width: 1280,
            height: 720,
            temporal_layers: 3,
        };
        let key = video_frame(&shape, 0, true, 42);
        assert!(vp8::is_keyframe_start(&key[0].payload));
        assert_eq!(vp8::keyframe_size(&key[0].payload), Some((1280, 720)));
        assert!(key.last().unwrap().marker);
        assert!(key[..key.len() - 1].iter().all(|p| !p.marker));
        assert!(key.iter().all(|p| p.payload.len() <= MAX_VIDEO_PAYLOAD));
        assert!(key.iter().all(|p| read_stamp(&p.payload) == Some(42)));

        // A second of inter frames is close to the bitrate.
        let bytes: usize = (1..=30)
            .flat_map(|n| video_frame(&shape, n, false, 0))
            .map(|p| p.payload.len())
            .sum();
        let bits = bytes as f64 * 8.0;
        assert!((1_300_000.0..1_700_000.0).contains(&bits), "{bits}");
        let inter = video_frame(&shape, 1, false, 0);
        assert!(!vp8::is_keyframe_start(&inter[0].payload));
        assert_eq!(inter[0].rtp_time, 3000);
    }

    #[test]
    fn counter_sees_loss_reordering_wrap_and_freezes() {
        let t0 = Instant::now();
        let mut c = MediaCounter::default();
        let mut at = t0;
        for seq in [65533u16, 65534, 65535, 1, 0, 2, 5] {
            at += Duration::from_millis(33);
            c.count_header(at, TrackKind::Video, seq, true, 100);
        }
        // 65533..=5 spans 9 numbers; 7 arrived; 0 came after 1.
        assert_eq!(
            (c.expected(), c.packets, c.lost(), c.out_of_order),
            (9, 7, 2, 1)
        );
        c.count_header(
            at + Duration::from_millis(700),
            TrackKind::Video,
            6,
            true,
            100,
        );
        assert_eq!(c.freezes, 1);
        c.reset();
        // A late retransmission from before the reset is not counted.
        c.count_header(at, TrackKind::Video, 4, false, 100);
        assert_eq!(c.packets, 0);
        for seq in [8, 4, 10, 9] {
            c.count_header(at, TrackKind::Video, seq, false, 100);
        }
        assert_eq!(
            (c.expected(), c.packets, c.lost(), c.out_of_order),
            (3, 3, 0, 1)
        );
        // The same packets again (padding made of old ones): not counted,
        // neither as packets nor as frames, and they hide no loss.
        for seq in [9, 10, 8] {
            c.count_header(at, TrackKind::Video, seq, true, 100);
        }
        assert_eq!((c.packets, c.frames, c.duplicates), (3, 0, 3));
        c.count_header(at, TrackKind::Video, 12, true, 100);
        assert_eq!((c.lost(), c.duplicates), (1, 3));
    }

    #[test]
    fn peek_tells_rtp_from_rtcp() {
        let mut rtp = [0u8; 12];
        rtp[0] = 0x80;
        rtp[1] = 0x80 | 96;
        rtp[2..4].copy_from_slice(&513u16.to_be_bytes());
        rtp[8..12].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(
            peek_rtp(&rtp),
            Some(RtpPeek {
                marker: true,
                seq: 513,
                ssrc: 7
            })
        );
        rtp[1] = 200; // sender report
        assert_eq!(peek_rtp(&rtp), None);
        assert_eq!(peek_rtp(&[0x16, 0xfe, 0xfd]), None); // DTLS
    }
}
