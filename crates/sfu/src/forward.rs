//! RTP-level forwarding: what changes in a published packet on its way to
//! one subscriber. The payload is shared until a rewrite is needed; the
//! header gets the subscriber's payload type, and sequence numbers,
//! timestamps and VP8 picture ids that continue without gaps or jumps from
//! wherever this subscriber started — across simulcast layer switches, each
//! of which the publisher numbers on its own.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use str0m::media::Pt;
use str0m::rtp::{ExtensionValues, SeqNo};

use crate::vp8::{PictureIdOffset, Vp8Descriptor};

/// One published packet, as every subscriber's forwarding sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming {
    pub seq: SeqNo,
    pub timestamp: u32,
    /// Index of the simulcast layer it came on (0 for a single encoding).
    pub layer: usize,
    /// Streams that start only at a keyframe (VP8 video).
    pub gated: bool,
    pub keyframe: bool,
    /// The VP8 payload descriptor, when the payload has one.
    pub descriptor: Option<Vp8Descriptor>,
    /// RTP clock rate of the codec, to turn time into timestamp ticks.
    pub clock_rate: u32,
    pub now: Instant,
}

/// How one packet leaves for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub seq: SeqNo,
    pub timestamp: u32,
    /// Added to the VP8 picture ids; zero when nothing needs rewriting.
    pub picture_ids: PictureIdOffset,
    /// This packet (re)started the stream: packets held while waiting for
    /// it may follow now.
    pub started: bool,
}

/// A packet of the layer a subscriber waits to start on, kept in case it
/// overtook that layer's keyframe on the way in (networks reorder): sent
/// right after the keyframe instead of leaving a hole in it.
#[derive(Debug, Clone)]
pub(crate) struct HeldPacket {
    pub incoming: Incoming,
    pub payload: Arc<[u8]>,
    pub marker: bool,
    pub ext_vals: ExtensionValues,
    /// When the publisher's packet arrived (str0m's send-time reference).
    pub arrived: Instant,
}

/// Most packets held per subscription: a keyframe's packets that overtake
/// its first one are few; anything older is of no use.
const MAX_HELD: usize = 32;

/// Most temporal layers a VP8 stream has (L1T3: 0, 1, 2).
pub(crate) const ALL_TEMPORAL_LAYERS: u8 = u8::MAX;

/// Packets and pictures left out by temporal filtering that a mapping
/// remembers, to number what follows them.
const MAX_SKIPPED: usize = 1024;

/// The forwarding state of one subscription (a down-track).
#[derive(Debug)]
pub(crate) struct Downstream {
    /// The layer to forward; `None` pauses the video. Switches happen at
    /// the target layer's next keyframe.
    pub target: Option<usize>,
    /// The highest temporal layer to forward (`ALL_TEMPORAL_LAYERS`: all).
    pub temporal_target: u8,
    /// The temporal limit in force: it goes down at any frame start, up at
    /// the start of a base-layer frame (which depends on nothing above it).
    temporal: u8,
    /// The layer being forwarded; `None` before the first packet, while
    /// paused, and while waiting for a keyframe after an outage.
    current: Option<usize>,
    /// How the current run of packets is numbered; `None` until its
    /// (re)start at a keyframe.
    mapping: Option<Mapping>,
    /// Highest outgoing sequence number sent, with the timestamp, picture
    /// ids and time of that packet.
    last_out: Option<LastSent>,
    /// The next start is a switch from another layer (or a resume), whose
    /// timestamps must be made to follow the last sent.
    renumber_at_start: bool,
    /// The subscriber's payload type for the publisher's, as last looked up.
    pt: Option<(Pt, OutPayload)>,
    /// Packets of the target layer that came while waiting for its keyframe.
    held: Vec<HeldPacket>,
    /// The numbering before the last switch or restart, for packets of it
    /// that arrive late (networks reorder): their numbers were left free.
    previous: Option<Mapping>,
}

/// How one run of a layer's packets is numbered for the subscriber.
#[derive(Debug, Clone)]
struct Mapping {
    layer: usize,
    first_in: u64,
    first_out: u64,
    highest_in: u64,
    /// Added to the publisher's timestamps (mod 2^32).
    timestamp_offset: u32,
    picture_ids: PictureIdOffset,
    /// Packets left out (temporal layers above the limit), in order: the
    /// ones after them are numbered as if they never were.
    skipped: VecDeque<u64>,
    /// Picture ids of the frames left out, in order, likewise.
    skipped_pictures: VecDeque<u16>,
    /// Below this, packets can no longer be numbered (what was skipped
    /// before it is forgotten).
    floor: u64,
}

impl Mapping {
    /// The outgoing number of `seq`; `None` before the mapping began.
    fn number(&self, seq: u64) -> Option<u64> {
        if seq < self.floor {
            return None;
        }
        let delta = seq.checked_sub(self.first_in)?;
        let skipped = self.skipped.partition_point(|&s| s < seq) as u64;
        Some(self.first_out + delta - skipped)
    }

    /// The picture-id offset for a packet of picture `picture_id`: the
    /// mapping's, less the frames skipped before it.
    fn picture_offset(&self, picture_id: Option<u16>) -> PictureIdOffset {
        let Some(id) = picture_id else {
            return self.picture_ids;
        };
        let skipped = self
            .skipped_pictures
            .iter()
            .filter(|&&p| {
                let ahead = id.wrapping_sub(p) & 0x7fff;
                ahead != 0 && ahead < 0x4000
            })
            .count() as u16;
        PictureIdOffset {
            picture_id: self.picture_ids.picture_id.wrapping_sub(skipped),
            ..self.picture_ids
        }
    }

    /// Leaves a packet out. Only packets beyond the highest seen can be:
    /// one that comes late has had its number counted already.
    fn skip(&mut self, seq: u64, picture_id: Option<u16>) {
        if seq <= self.highest_in {
            return;
        }
        self.highest_in = seq;
        self.skipped.push_back(seq);
        if self.skipped.len() > MAX_SKIPPED {
            if let Some(oldest) = self.skipped.pop_front() {
                self.floor = oldest + 1;
            }
        }
        if let Some(id) = picture_id {
            if self.skipped_pictures.back() != Some(&id) {
                self.skipped_pictures.push_back(id);
                if self.skipped_pictures.len() > MAX_SKIPPED {
                    self.skipped_pictures.pop_front();
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct LastSent {
    seq: u64,
    timestamp: u32,
    descriptor: Option<Vp8Descriptor>,
    at: Instant,
}

/// What to do with one packet for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Send(Outgoing),
    /// Not yet: the target layer has not reached a keyframe.
    WaitForKeyframe,
    /// A packet older than where this subscriber (re)started.
    Stale,
    /// A layer this subscriber does not get, or the video is paused.
    NotForwarded,
}

impl Default for Downstream {
    fn default() -> Self {
        Downstream {
            target: Some(0),
            temporal_target: ALL_TEMPORAL_LAYERS,
            temporal: ALL_TEMPORAL_LAYERS,
            current: None,
            mapping: None,
            last_out: None,
            renumber_at_start: false,
            pt: None,
            held: Vec::new(),
            previous: None,
        }
    }
}

/// How a subscriber gets one published payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutPayload {
    /// Its own payload type for it.
    pub pt: Pt,
    /// Redundant audio (RED) to a subscriber without RED: only the primary
    /// frame goes out.
    pub unwrap_red: bool,
}

impl Downstream {
    /// The subscriber's payload type for `incoming`, looked up with `find`
    /// only when it changes.
    pub fn payload_type(
        &mut self,
        incoming: Pt,
        find: impl FnOnce() -> Option<OutPayload>,
    ) -> Option<OutPayload> {
        match self.pt {
            Some((from, to)) if from == incoming => Some(to),
            _ => {
                let to = find()?;
                self.pt = Some((incoming, to));
                Some(to)
            }
        }
    }

    /// The layer being forwarded now.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// Forward `layer` from its next keyframe on, or pause (`None`, at
    /// once). Until that keyframe the current layer goes on, down as well
    /// as up: stopping it would freeze the picture for the time a keyframe
    /// takes to come, which on a lossy link with a long round trip is long.
    pub fn set_target(&mut self, layer: Option<usize>) {
        self.target = layer;
        if layer.is_none() && self.current.is_some() {
            self.retire_mapping();
            self.current = None;
            self.renumber_at_start = self.last_out.is_some();
        }
    }

    /// Keeps the current numbering for late packets, and ends it.
    fn retire_mapping(&mut self) {
        if let Some(mapping) = self.mapping.take() {
            self.previous = Some(mapping);
        }
    }

    /// A late packet of the numbering before the last switch or restart.
    fn late_for_previous(&self, packet: &Incoming) -> Option<Outgoing> {
        let prev = self.previous.as_ref()?;
        let seq = *packet.seq;
        let current_covers = self.current == Some(packet.layer)
            && self.mapping.as_ref().is_some_and(|m| seq >= m.first_in);
        if packet.layer != prev.layer
            || current_covers
            || !(prev.first_in..=prev.highest_in).contains(&seq)
            || prev.skipped.binary_search(&seq).is_ok()
        {
            return None;
        }
        Some(Outgoing {
            seq: SeqNo::from(prev.number(seq)?),
            timestamp: packet.timestamp.wrapping_add(prev.timestamp_offset),
            picture_ids: prev.picture_offset(packet.descriptor.and_then(|d| d.picture_id)),
            started: false,
        })
    }

    /// Decides on a packet.
    pub fn admit(&mut self, packet: &Incoming) -> Verdict {
        if let Some(late) = self.late_for_previous(packet) {
            return Verdict::Send(late);
        }
        let Some(target) = self.target else {
            return Verdict::NotForwarded;
        };
        if self.current != Some(packet.layer) {
            if packet.layer != target {
                return Verdict::NotForwarded;
            }
            if packet.gated && !packet.keyframe {
                return Verdict::WaitForKeyframe;
            }
            if self.current.is_some() {
                self.renumber_at_start = true;
                self.retire_mapping();
            }
            self.current = Some(packet.layer);
        }
        let incoming = *packet.seq;
        let started = self.mapping.is_none();
        if started {
            if packet.gated && !packet.keyframe {
                return Verdict::WaitForKeyframe;
            }
            self.start(packet);
        }
        let descriptor = packet.descriptor;
        if let Some(tid) = descriptor.and_then(|d| d.temporal_layer) {
            if descriptor.is_some_and(|d| d.starts_frame())
                && (self.temporal_target < self.temporal
                    || self.temporal_target > self.temporal && tid == 0)
            {
                self.temporal = self.temporal_target;
            }
            if tid > self.temporal {
                if let Some(mapping) = self.mapping.as_mut() {
                    mapping.skip(incoming, descriptor.and_then(|d| d.picture_id));
                }
                return Verdict::NotForwarded;
            }
        }
        let Some(mapping) = self.mapping.as_mut() else {
            return Verdict::Stale;
        };
        if mapping.skipped.binary_search(&incoming).is_ok() {
            return Verdict::NotForwarded;
        }
        let Some(out) = mapping.number(incoming) else {
            return Verdict::Stale;
        };
        mapping.highest_in = mapping.highest_in.max(incoming);
        let timestamp = packet.timestamp.wrapping_add(mapping.timestamp_offset);
        let picture_ids = mapping.picture_offset(descriptor.and_then(|d| d.picture_id));
        if self.last_out.is_none_or(|last| out > last.seq) {
            self.last_out = Some(LastSent {
                seq: out,
                timestamp,
                descriptor: descriptor.map(|d| picture_ids.shift(d)),
                at: packet.now,
            });
        }
        Verdict::Send(Outgoing {
            seq: SeqNo::from(out),
            timestamp,
            picture_ids,
            started,
        })
    }

    /// Keeps a packet that got `WaitForKeyframe`, in case it belongs after
    /// the keyframe that has not come yet.
    pub fn hold(&mut self, packet: HeldPacket) {
        if self.held.len() == MAX_HELD {
            self.held.remove(0);
        }
        self.held.push(packet);
    }

    /// After a (re)start at `keyframe`: the held packets of its layer that
    /// come after it, in order, to send now. The rest are dropped.
    pub fn release_held(&mut self, keyframe: &Incoming) -> Vec<HeldPacket> {
        let mut after: Vec<HeldPacket> = std::mem::take(&mut self.held)
            .into_iter()
            .filter(|h| h.incoming.layer == keyframe.layer && *h.incoming.seq > *keyframe.seq)
            .collect();
        after.sort_by_key(|h| *h.incoming.seq);
        after
    }

    /// Numbers a (re)start: sequence numbers continue right after the last
    /// packet sent, so that the subscriber sees no hole it would ask to be
    /// filled, and picture ids right after the last picture; after a switch
    /// (or a resume) timestamps advance by the time that passed, after an
    /// outage of the same stream they go on as the publisher's do.
    fn start(&mut self, packet: &Incoming) {
        let next_out = match self.last_out {
            Some(last) => last.seq + 1,
            // The very first number is below 2^15 so that its rollover
            // counter starts at zero (str0m needs no out-of-band ROC then).
            None => u64::from(rand::random::<u16>() >> 1) + 1,
        };
        let renumber = std::mem::take(&mut self.renumber_at_start);
        let mut timestamp_offset = self.previous.as_ref().map_or(0, |p| p.timestamp_offset);
        let mut picture_ids = PictureIdOffset::default();
        if let Some(last) = self.last_out {
            if renumber {
                let elapsed = packet.now.saturating_duration_since(last.at);
                let ticks =
                    (elapsed.as_micros() * u128::from(packet.clock_rate) / 1_000_000) as u32;
                timestamp_offset = last
                    .timestamp
                    .wrapping_add(ticks.max(1))
                    .wrapping_sub(packet.timestamp);
            }
            if let (Some(last), Some(next)) = (last.descriptor, packet.descriptor) {
                picture_ids = PictureIdOffset::continuing(&last, &next);
            }
        }
        self.mapping = Some(Mapping {
            layer: packet.layer,
            first_in: *packet.seq,
            first_out: next_out,
            highest_in: *packet.seq,
            timestamp_offset,
            picture_ids,
            skipped: VecDeque::new(),
            skipped_pictures: VecDeque::new(),
            floor: 0,
        });
    }

    /// The publisher's stream broke (an outage upstream): wait for the next
    /// keyframe and carry on from there, without a hole in the numbering.
    pub fn restart_at_keyframe(&mut self) {
        self.retire_mapping();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Packets of one layer: VP8 with 15-bit picture ids, 90 kHz.
    struct Stream {
        layer: usize,
        seq: u64,
        timestamp: u32,
        picture_id: u16,
    }

    impl Stream {
        fn packet(&self, keyframe: bool, now: Instant) -> Incoming {
            let mut payload = Vec::new();
            crate::vp8::write_descriptor(&mut payload, true, self.picture_id, None);
            Incoming {
                seq: SeqNo::from(self.seq),
                timestamp: self.timestamp,
                layer: self.layer,
                gated: true,
                keyframe,
                descriptor: Vp8Descriptor::parse(&payload),
                clock_rate: 90_000,
                now,
            }
        }

        /// The next frame (one packet each), 33 ms later.
        fn advance(&mut self) {
            self.seq += 1;
            self.timestamp = self.timestamp.wrapping_add(3000);
            self.picture_id = (self.picture_id + 1) & 0x7fff;
        }
    }

    fn sent(v: Verdict) -> Outgoing {
        match v {
            Verdict::Send(out) => out,
            other => panic!("expected a packet to send, got {other:?}"),
        }
    }

    #[test]
    fn video_starts_at_a_keyframe_and_numbers_continue_without_gaps() {
        let t0 = Instant::now();
        let mut d = Downstream::default();
        let mut s = Stream {
            layer: 0,
            seq: 70_000,
            timestamp: 5,
            picture_id: 9,
        };
        assert_eq!(d.admit(&s.packet(false, t0)), Verdict::WaitForKeyframe);
        s.advance();
        let first = sent(d.admit(&s.packet(true, t0)));
        assert!(*first.seq <= 1 << 15);
        assert_eq!(
            first.timestamp, s.timestamp,
            "no switch: timestamps as sent"
        );
        assert_eq!(first.picture_ids, PictureIdOffset::default());
        s.advance();
        assert_eq!(
            sent(d.admit(&s.packet(false, t0))).seq,
            SeqNo::from(*first.seq + 1)
        );
        // A gap upstream stays a gap (the subscriber asks for it again).
        s.seq += 3;
        assert_eq!(
            sent(d.admit(&s.packet(false, t0))).seq,
            SeqNo::from(*first.seq + 4)
        );
        // A late packet from before the start is dropped.
        s.seq = 70_000;
        assert_eq!(d.admit(&s.packet(false, t0)), Verdict::Stale);
    }

    #[test]
    fn after_an_outage_numbering_continues_from_the_next_keyframe() {
        let t0 = Instant::now();
        let mut d = Downstream::default();
        let mut s = Stream {
            layer: 0,
            seq: 10,
            timestamp: 0,
            picture_id: 0,
        };
        let first = sent(d.admit(&s.packet(true, t0)));
        d.restart_at_keyframe();
        // 600 packets lost upstream; the next ones wait for a keyframe,
        // which follows the last packet sent directly.
        s.seq += 602;
        assert_eq!(d.admit(&s.packet(false, t0)), Verdict::WaitForKeyframe);
        s.seq += 3;
        let after = sent(d.admit(&s.packet(true, t0)));
        assert_eq!(after.seq, SeqNo::from(*first.seq + 1));
        assert_eq!(after.timestamp, s.timestamp, "same stream, same timestamps");
        s.seq -= 4;
        assert_eq!(d.admit(&s.packet(false, t0)), Verdict::Stale);
    }

    #[test]
    fn a_layer_switch_waits_for_a_keyframe_and_leaves_no_gap_or_jump() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Downstream::default();
        d.set_target(Some(2));
        let mut high = Stream {
            layer: 2,
            seq: 40_000,
            timestamp: 1_000_000,
            picture_id: 0x7ff0,
        };
        let mut low = Stream {
            layer: 0,
            seq: 65_530,
            timestamp: 4_000_000_000,
            picture_id: 300,
        };
        assert_eq!(d.admit(&low.packet(true, t0)), Verdict::NotForwarded);
        sent(d.admit(&high.packet(true, t0)));
        for i in 1..20 {
            high.advance();
            sent(d.admit(&high.packet(false, t0 + ms(33 * i))));
        }
        // Down to the low layer: the high one goes on until the low one's
        // keyframe, which gets the very next numbers.
        d.set_target(Some(0));
        low.advance();
        assert_eq!(
            d.admit(&low.packet(false, t0 + ms(660))),
            Verdict::WaitForKeyframe
        );
        high.advance();
        let last = sent(d.admit(&high.packet(false, t0 + ms(660))));
        let last_picture_id = high.picture_id;
        low.advance();
        let switched = sent(d.admit(&low.packet(true, t0 + ms(693))));
        assert_eq!(*switched.seq, *last.seq + 1);
        assert_eq!(switched.timestamp.wrapping_sub(last.timestamp), 33 * 90);
        let shifted = switched
            .picture_ids
            .shift(low.packet(true, t0).descriptor.unwrap());
        assert_eq!(shifted.picture_id, Some((last_picture_id + 1) & 0x7fff));
        // The old layer's next packets are not forwarded any more; the new
        // one's follow on (sequence numbers wrap upstream, not downstream).
        high.advance();
        assert_eq!(
            d.admit(&high.packet(false, t0 + ms(700))),
            Verdict::NotForwarded
        );
        low.advance();
        let next = sent(d.admit(&low.packet(false, t0 + ms(726))));
        assert_eq!(*next.seq, *switched.seq + 1);
        assert_eq!(next.timestamp.wrapping_sub(switched.timestamp), 3000);

        // Paused, then resumed on the high layer: no gap either.
        d.set_target(None);
        low.advance();
        assert_eq!(
            d.admit(&low.packet(true, t0 + ms(760))),
            Verdict::NotForwarded
        );
        d.set_target(Some(2));
        high.advance();
        let resumed = sent(d.admit(&high.packet(true, t0 + ms(2000))));
        assert_eq!(*resumed.seq, *next.seq + 1);
        assert!(resumed.timestamp.wrapping_sub(next.timestamp) >= 90 * 1200);
    }

    #[test]
    fn reordered_packets_around_a_switch_keep_their_places() {
        let t0 = Instant::now();
        let mut d = Downstream::default();
        let mut low = Stream {
            layer: 0,
            seq: 1000,
            timestamp: 0,
            picture_id: 1,
        };
        let mut high = Stream {
            layer: 1,
            seq: 5000,
            timestamp: 0,
            picture_id: 1,
        };
        let first = sent(d.admit(&low.packet(true, t0)));
        low.seq += 2;
        let third = sent(d.admit(&low.packet(false, t0)));
        assert_eq!(*third.seq, *first.seq + 2);

        // Up: the second packet of the high keyframe overtakes the first.
        d.set_target(Some(1));
        high.seq += 1;
        let overtaking = high.packet(false, t0);
        assert_eq!(d.admit(&overtaking), Verdict::WaitForKeyframe);
        d.hold(HeldPacket {
            incoming: overtaking,
            payload: Arc::from(&[0u8][..]),
            marker: true,
            ext_vals: ExtensionValues::default(),
            arrived: t0,
        });
        high.seq -= 1;
        let key = high.packet(true, t0);
        let switched = sent(d.admit(&key));
        assert!(switched.started);
        assert_eq!(*switched.seq, *third.seq + 1);
        let held = d.release_held(&key);
        assert_eq!(held.len(), 1);
        assert_eq!(
            sent(d.admit(&held[0].incoming)).seq,
            SeqNo::from(*switched.seq + 1)
        );

        // The low layer's second packet, late: its number was left free.
        low.seq -= 1;
        let late = sent(d.admit(&low.packet(false, t0)));
        assert_eq!(*late.seq, *first.seq + 1);
        assert!(!late.started);
        // Beyond what the low layer had sent: nothing.
        low.seq += 5;
        assert_eq!(d.admit(&low.packet(false, t0)), Verdict::NotForwarded);
    }

    /// One-packet frames of an L1T3 stream: temporal layers 0, 2, 1, 2, …
    fn l1t3(n: u64, t0: Instant) -> Incoming {
        let tid = [0u8, 2, 1, 2][(n % 4) as usize];
        let picture_id = (100 + n) as u16 & 0x7fff;
        let payload = [
            0x90,
            0xe0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            (n / 4) as u8,
            tid << 6,
        ];
        Incoming {
            seq: SeqNo::from(5000 + n),
            timestamp: (n * 3000) as u32,
            layer: 0,
            gated: true,
            keyframe: n == 0,
            descriptor: Vp8Descriptor::parse(&payload),
            clock_rate: 90_000,
            now: t0 + Duration::from_millis(33 * n),
        }
    }

    /// Sequence numbers and picture ids as the subscriber sees them.
    fn seen(out: Outgoing, packet: &Incoming) -> (u64, u16) {
        let picture = out.picture_ids.shift(packet.descriptor.unwrap());
        (*out.seq, picture.picture_id.unwrap())
    }

    #[test]
    fn a_lower_frame_rate_leaves_no_gap_in_numbers_or_picture_ids() {
        let t0 = Instant::now();
        let mut d = Downstream::default();
        let mut sent = Vec::new();
        for n in 0..8 {
            let p = l1t3(n, t0);
            sent.push(seen(self::sent(d.admit(&p)), &p));
        }
        // Base layer only: frames 8, 12, 16 go, the others do not; the
        // limit takes effect at the next frame.
        d.temporal_target = 0;
        for n in 8..20 {
            let p = l1t3(n, t0);
            match d.admit(&p) {
                Verdict::Send(out) => {
                    assert_eq!(n % 4, 0, "frame {n} is not base layer");
                    sent.push(seen(out, &p));
                }
                Verdict::NotForwarded => assert_ne!(n % 4, 0, "frame {n} is base layer"),
                other => panic!("{other:?}"),
            }
        }
        // Back to all layers: from the next base-layer frame on.
        d.temporal_target = ALL_TEMPORAL_LAYERS;
        for n in 20..24 {
            let p = l1t3(n, t0);
            sent.push(seen(self::sent(d.admit(&p)), &p));
        }
        // A late packet of a skipped frame stays out.
        assert_eq!(d.admit(&l1t3(13, t0)), Verdict::NotForwarded);
        let numbers: Vec<u64> = sent.iter().map(|s| s.0).collect();
        let pictures: Vec<u16> = sent.iter().map(|s| s.1).collect();
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
        assert!(
            pictures.windows(2).all(|w| w[1] == w[0] + 1),
            "{pictures:?}"
        );
        assert_eq!(sent.len(), 8 + 3 + 4);
    }

    #[test]
    fn audio_starts_at_once_and_payload_types_are_looked_up_once() {
        let t0 = Instant::now();
        let mut d = Downstream::default();
        let audio = Incoming {
            seq: SeqNo::from(5),
            timestamp: 960,
            layer: 0,
            gated: false,
            keyframe: false,
            descriptor: None,
            clock_rate: 48_000,
            now: t0,
        };
        assert!(matches!(d.admit(&audio), Verdict::Send(_)));
        let mut lookups = 0;
        for _ in 0..3 {
            let out = OutPayload {
                pt: Pt::from(109),
                unwrap_red: false,
            };
            let pt = d.payload_type(Pt::from(111), || {
                lookups += 1;
                Some(out)
            });
            assert_eq!(pt, Some(out));
        }
        assert_eq!(lookups, 1);
    }
}
