//! RTP-level forwarding: what changes in a published packet on its way to
//! one subscriber. The payload is shared, never copied; the header gets the
//! subscriber's payload type and a sequence number that continues without
//! gaps from wherever this subscriber started.

use str0m::media::Pt;
use str0m::rtp::SeqNo;

/// The forwarding state of one subscription (a down-track).
#[derive(Debug, Default)]
pub(crate) struct Downstream {
    /// Incoming extended sequence number at the last (re)start, and the
    /// outgoing number it got.
    seq_base: Option<(u64, u64)>,
    /// Highest outgoing sequence number sent.
    last_out: Option<u64>,
    /// The subscriber's payload type for the publisher's, as last looked up.
    pt: Option<(Pt, Pt)>,
    /// Video waits for a keyframe: before it, a decoder can do nothing.
    started: bool,
}

/// What to do with one packet for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it with this sequence number.
    Send(SeqNo),
    /// Not yet: video that has not reached a keyframe.
    WaitForKeyframe,
    /// A packet older than where this subscriber (re)started.
    Stale,
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

    /// Decides on a packet. `gated` streams start at a keyframe; `keyframe`
    /// says whether this packet begins one.
    pub fn admit(&mut self, seq: SeqNo, gated: bool, keyframe: bool) -> Verdict {
        let incoming = *seq;
        if !self.started {
            if gated && !keyframe {
                return Verdict::WaitForKeyframe;
            }
            self.started = true;
            // Continue right after the last packet sent, so that the
            // subscriber sees no hole it would ask to be filled; the very
            // first number is below 2^15 so that its rollover counter
            // starts at zero (str0m needs no out-of-band ROC then).
            let next_out = match self.last_out {
                Some(last) => last + 1,
                None => u64::from(rand::random::<u16>() >> 1) + 1,
            };
            self.seq_base = Some((incoming, next_out));
        }
        let Some((first_in, first_out)) = self.seq_base else {
            return Verdict::Stale;
        };
        let Some(delta) = incoming.checked_sub(first_in) else {
            return Verdict::Stale;
        };
        let out = first_out + delta;
        self.last_out = Some(self.last_out.map_or(out, |last| last.max(out)));
        Verdict::Send(SeqNo::from(out))
    }

    /// The publisher's stream broke (an outage upstream): wait for the next
    /// keyframe and carry on from there, without a hole in the numbering.
    pub fn restart_at_keyframe(&mut self) {
        self.started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_starts_at_a_keyframe_and_numbers_continue_without_gaps() {
        let mut d = Downstream::default();
        assert_eq!(
            d.admit(SeqNo::from(70_000), true, false),
            Verdict::WaitForKeyframe
        );
        let Verdict::Send(first) = d.admit(SeqNo::from(70_001), true, true) else {
            panic!("a keyframe starts the stream");
        };
        assert!(*first <= 1 << 15);
        assert_eq!(
            d.admit(SeqNo::from(70_002), true, false),
            Verdict::Send(SeqNo::from(*first + 1))
        );
        // A gap upstream stays a gap (the subscriber asks for it again).
        assert_eq!(
            d.admit(SeqNo::from(70_005), true, false),
            Verdict::Send(SeqNo::from(*first + 4))
        );
        // A late packet from before the start is dropped.
        assert_eq!(d.admit(SeqNo::from(70_000), true, false), Verdict::Stale);
    }

    #[test]
    fn after_an_outage_numbering_continues_from_the_next_keyframe() {
        let mut d = Downstream::default();
        let Verdict::Send(first) = d.admit(SeqNo::from(10), true, true) else {
            panic!("a keyframe starts the stream");
        };
        assert_eq!(
            d.admit(SeqNo::from(11), true, false),
            Verdict::Send(SeqNo::from(*first + 1))
        );
        d.restart_at_keyframe();
        // 600 packets lost upstream; the next ones are not sent until a
        // keyframe, which follows the last packet sent directly.
        assert_eq!(
            d.admit(SeqNo::from(612), true, false),
            Verdict::WaitForKeyframe
        );
        assert_eq!(
            d.admit(SeqNo::from(615), true, true),
            Verdict::Send(SeqNo::from(*first + 2))
        );
        assert_eq!(
            d.admit(SeqNo::from(616), true, false),
            Verdict::Send(SeqNo::from(*first + 3))
        );
        assert_eq!(d.admit(SeqNo::from(611), true, false), Verdict::Stale);
    }

    #[test]
    fn audio_starts_at_once_and_payload_types_are_looked_up_once() {
        let mut d = Downstream::default();
        assert!(matches!(
            d.admit(SeqNo::from(5), false, false),
            Verdict::Send(_)
        ));
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
