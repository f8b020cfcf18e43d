//! RTP-level forwarding: what changes in a published packet on its way to
//! one subscriber. The payload is shared until a rewrite is needed; the
//! header gets the subscriber's payload type, and sequence numbers,
//! timestamps and VP8 picture ids that continue without gaps or jumps from
//! wherever this subscriber started — across simulcast layer switches, each
//! of which the publisher numbers on its own.

use std::time::Instant;

use str0m::media::Pt;
use str0m::rtp::SeqNo;

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
}

/// The forwarding state of one subscription (a down-track).
#[derive(Debug)]
pub(crate) struct Downstream {
    /// The layer to forward; `None` pauses the video. Switches happen at
    /// the target layer's next keyframe.
    pub target: Option<usize>,
    /// The layer being forwarded; `None` before the first packet, while
    /// paused, and while waiting for a keyframe after an outage.
    current: Option<usize>,
    /// Incoming extended sequence number at the last (re)start, and the
    /// outgoing number it got.
    seq_base: Option<(u64, u64)>,
    /// Highest outgoing sequence number sent, with the timestamp, picture
    /// ids and time of that packet.
    last_out: Option<LastSent>,
    /// Added to the publisher's timestamps (mod 2^32).
    timestamp_offset: u32,
    picture_ids: PictureIdOffset,
    /// The next start is a switch from another layer (or a resume), whose
    /// timestamps and picture ids must be made to follow the last sent.
    renumber_at_start: bool,
    /// The subscriber's payload type for the publisher's, as last looked up.
    pt: Option<(Pt, Pt)>,
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
            current: None,
            seq_base: None,
            last_out: None,
            timestamp_offset: 0,
            picture_ids: PictureIdOffset::default(),
            renumber_at_start: false,
            pt: None,
        }
    }
}

impl Downstream {
    /// The subscriber's payload type for `incoming`, looked up with `find`
    /// only when it changes.
    pub fn payload_type(&mut self, incoming: Pt, find: impl FnOnce() -> Option<Pt>) -> Option<Pt> {
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

    /// Forward `layer` from its next keyframe on, or pause (`None`). Going
    /// down stops the current layer at once: it is too much for the link,
    /// and every packet more of it would be lost or delay the keyframe the
    /// switch waits for.
    pub fn set_target(&mut self, layer: Option<usize>) {
        self.target = layer;
        let lower = match (layer, self.current) {
            (Some(new), Some(current)) => new < current,
            (None, Some(_)) => true,
            _ => false,
        };
        if lower {
            self.current = None;
            self.renumber_at_start = self.last_out.is_some();
        }
    }

    /// Decides on a packet.
    pub fn admit(&mut self, packet: &Incoming) -> Verdict {
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
            }
            self.current = Some(packet.layer);
            self.seq_base = None;
        }
        let incoming = *packet.seq;
        if self.seq_base.is_none() {
            if packet.gated && !packet.keyframe {
                return Verdict::WaitForKeyframe;
            }
            self.start(packet);
        }
        let Some((first_in, first_out)) = self.seq_base else {
            return Verdict::Stale;
        };
        let Some(delta) = incoming.checked_sub(first_in) else {
            return Verdict::Stale;
        };
        let out = first_out + delta;
        let timestamp = packet.timestamp.wrapping_add(self.timestamp_offset);
        let sent_descriptor = packet.descriptor.map(|d| self.picture_ids.shift(d));
        if self.last_out.is_none_or(|last| out > last.seq) {
            self.last_out = Some(LastSent {
                seq: out,
                timestamp,
                descriptor: sent_descriptor,
                at: packet.now,
            });
        }
        Verdict::Send(Outgoing {
            seq: SeqNo::from(out),
            timestamp,
            picture_ids: self.picture_ids,
        })
    }

    /// Numbers a (re)start: sequence numbers continue right after the last
    /// packet sent, so that the subscriber sees no hole it would ask to be
    /// filled; after a switch, timestamps advance by the time that passed
    /// and picture ids by one.
    fn start(&mut self, packet: &Incoming) {
        let next_out = match self.last_out {
            Some(last) => last.seq + 1,
            // The very first number is below 2^15 so that its rollover
            // counter starts at zero (str0m needs no out-of-band ROC then).
            None => u64::from(rand::random::<u16>() >> 1) + 1,
        };
        self.seq_base = Some((*packet.seq, next_out));
        if !std::mem::take(&mut self.renumber_at_start) {
            return;
        }
        let Some(last) = self.last_out else {
            return;
        };
        let elapsed = packet.now.saturating_duration_since(last.at);
        let ticks = (elapsed.as_micros() * u128::from(packet.clock_rate) / 1_000_000) as u32;
        self.timestamp_offset = last
            .timestamp
            .wrapping_add(ticks.max(1))
            .wrapping_sub(packet.timestamp);
        self.picture_ids = match (last.descriptor, packet.descriptor) {
            (Some(last), Some(next)) => PictureIdOffset::continuing(&last, &next),
            _ => PictureIdOffset::default(),
        };
    }

    /// The publisher's stream broke (an outage upstream): wait for the next
    /// keyframe and carry on from there, without a hole in the numbering.
    pub fn restart_at_keyframe(&mut self) {
        self.seq_base = None;
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
            crate::vp8::write_descriptor(&mut payload, true, self.picture_id);
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
        // Down to the low layer: the high one stops at once (the link has
        // no room for it), the low one starts at its keyframe with the very
        // next numbers.
        high.advance();
        let last = sent(d.admit(&high.packet(false, t0 + ms(660))));
        let last_picture_id = high.picture_id;
        d.set_target(Some(0));
        high.advance();
        assert_eq!(
            d.admit(&high.packet(false, t0 + ms(693))),
            Verdict::NotForwarded
        );
        low.advance();
        assert_eq!(
            d.admit(&low.packet(false, t0 + ms(693))),
            Verdict::WaitForKeyframe
        );
        low.advance();
        let switched = sent(d.admit(&low.packet(true, t0 + ms(693))));
        assert_eq!(*switched.seq, *last.seq + 1);
        assert_eq!(switched.timestamp.wrapping_sub(last.timestamp), 33 * 90);
        let shifted = switched
            .picture_ids
            .shift(low.packet(true, t0).descriptor.unwrap());
        assert_eq!(shifted.picture_id, Some((last_picture_id + 1) & 0x7fff));
        // The old layer's late packets are not forwarded any more; the new
        // one's follow on (sequence numbers wrap upstream, not downstream).
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
            let pt = d.payload_type(Pt::from(111), || {
                lookups += 1;
                Some(Pt::from(109))
            });
            assert_eq!(pt, Some(Pt::from(109)));
        }
        assert_eq!(lookups, 1);
    }
}
