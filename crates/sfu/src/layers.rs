//! The encodings (simulcast layers) of a published track as the server
//! receives them: how fast each arrives, how large its pictures are, and
//! whether it arrives at all. A track with one encoding has one layer.

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// A gap in a published stream this long (in time, or in packets) is an
/// outage: retransmissions will not fill it in time to be useful.
const OUTAGE_TIME: Duration = Duration::from_millis(250);
const OUTAGE_PACKETS: u64 = 64;

/// A layer that sent nothing for this long has stopped (the publisher's
/// own bandwidth or CPU made it drop the layer, or the track is muted).
const STOPPED_AFTER: Duration = Duration::from_secs(1);

/// Bitrates are measured over windows of this length and smoothed.
const RATE_WINDOW: Duration = Duration::from_millis(500);

/// Measurement windows (10 s) before a layer's rate counts as settled.
const SETTLED_WINDOWS: u32 = 20;

/// What a packet costs on the wire beyond its payload: RTP header and
/// extensions, SRTP tag, UDP and IP headers. Bandwidth estimates count it.
const PACKET_OVERHEAD_BYTES: u64 = 60;

/// One encoding of a published track.
#[derive(Debug)]
pub(crate) struct Layer {
    /// The simulcast rid; `None` for a track with a single encoding.
    pub rid: Option<Rid>,
    /// Picture size, as the latest keyframe said.
    pub size: Option<(u16, u16)>,
    /// Throttles keyframe requests so that many subscribers asking at once
    /// cost the publisher one keyframe.
    pub last_keyframe_request: Option<Instant>,
    /// The server asked the publisher to stop sending it (nobody needs
    /// it: dynacast).
    pub paused_at_publisher: bool,
    /// Since when no subscriber has needed it.
    pub unneeded_since: Option<Instant>,
    /// Highest sequence number received, and when.
    last_packet: Option<(u64, Instant)>,
    rate: RateMeter,
    /// The part of `rate` in the base temporal layer, when the stream has
    /// temporal layers (a quarter of the frame rate in L1T3).
    base_rate: Option<RateMeter>,
}

impl Layer {
    pub fn new(rid: Option<Rid>) -> Layer {
        Layer {
            rid,
            size: None,
            last_keyframe_request: None,
            paused_at_publisher: false,
            unneeded_since: None,
            last_packet: None,
            rate: RateMeter::default(),
            base_rate: None,
        }
    }

    /// Notes a received packet of `bytes` payload, of temporal layer
    /// `temporal` when the stream has them; returns whether it follows an
    /// outage.
    pub fn note_packet(
        &mut self,
        seq: u64,
        bytes: usize,
        temporal: Option<u8>,
        now: Instant,
    ) -> bool {
        let wire = bytes as u64 + PACKET_OVERHEAD_BYTES;
        self.rate.add(wire, now);
        if let Some(tid) = temporal {
            let base = self.base_rate.get_or_insert_with(RateMeter::default);
            base.add(if tid == 0 { wire } else { 0 }, now);
        }
        let outage = match self.last_packet {
            Some((last, at)) if seq > last + 1 => {
                now.saturating_duration_since(at) >= OUTAGE_TIME || seq - last > OUTAGE_PACKETS
            }
            _ => false,
        };
        if self.last_packet.is_none_or(|(last, _)| seq > last) {
            self.last_packet = Some((seq, now));
        }
        outage
    }

    /// The layer's bitrate in bit/s as it arrives; `None` while it is not
    /// arriving (not yet measured, or stopped).
    pub fn bitrate(&self, now: Instant) -> Option<u64> {
        let (_, at) = self.last_packet?;
        if now.saturating_duration_since(at) >= STOPPED_AFTER {
            return None;
        }
        self.rate.smoothed
    }

    /// What the layer would take if a subscriber chose it: its bitrate as
    /// it arrives, or as it was before the server paused it.
    pub fn offered_bitrate(&self, now: Instant) -> Option<u64> {
        match self.bitrate(now) {
            Some(rate) => Some(rate),
            None if self.paused_at_publisher => self.rate.smoothed,
            None => None,
        }
    }

    /// What its base temporal layer alone would take (a lower frame rate);
    /// `None` without temporal layers, or when the layer is not offered.
    pub fn offered_base_bitrate(&self, now: Instant) -> Option<u64> {
        self.offered_bitrate(now)?;
        self.base_rate.as_ref()?.smoothed
    }

    /// Whether the server may pause it at the publisher: its rate has been
    /// measured long enough to be its own (a new layer's first seconds are
    /// mostly its first keyframe), since subscribers choose a paused layer
    /// by the rate it had.
    pub fn pausable(&self) -> bool {
        self.rate.smoothed.is_some() && self.rate.windows >= SETTLED_WINDOWS
    }
}

/// Bytes per window, smoothed across windows: keyframes make single
/// windows of a small layer several times its average.
#[derive(Debug, Default)]
struct RateMeter {
    window_start: Option<Instant>,
    window_bytes: u64,
    smoothed: Option<u64>,
    /// Windows measured so far.
    windows: u32,
}

impl RateMeter {
    fn add(&mut self, bytes: u64, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            let sample = self.window_bytes * 8 * 1_000_000 / elapsed.as_micros().max(1) as u64;
            self.smoothed = Some(match self.smoothed {
                Some(old) => (old * 6 + sample * 4) / 10,
                None => sample,
            });
            self.window_start = Some(now);
            self.window_bytes = 0;
            self.windows = self.windows.saturating_add(1);
        }
        self.window_bytes += bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_or_wide_gap_is_an_outage_a_small_one_is_not() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut layer = Layer::new(None);
        assert!(!layer.note_packet(100, 1000, None, t0));
        assert!(
            !layer.note_packet(103, 1000, None, t0 + ms(10)),
            "a few lost packets: NACK repairs them"
        );
        assert!(
            !layer.note_packet(102, 1000, None, t0 + ms(11)),
            "a late one"
        );
        assert!(
            layer.note_packet(110, 1000, None, t0 + ms(400)),
            "silence of 400 ms"
        );
        assert!(
            layer.note_packet(300, 1000, None, t0 + ms(410)),
            "a burst of 190 lost"
        );
        assert!(
            !layer.note_packet(301, 1000, None, t0 + ms(2000)),
            "no packet lost"
        );
    }

    #[test]
    fn bitrate_is_measured_and_a_stopped_layer_has_none() {
        let t0 = Instant::now();
        let mut layer = Layer::new(Some(Rid::from("h")));
        assert_eq!(layer.bitrate(t0), None);
        // 100 packets a second of 565 bytes payload: 500 kbit/s on the wire.
        for i in 0..300u64 {
            layer.note_packet(i, 565, None, t0 + Duration::from_millis(i * 10));
        }
        let now = t0 + Duration::from_millis(2990);
        let rate = layer.bitrate(now).expect("measured");
        assert!((480_000..=520_000).contains(&rate), "{rate}");
        assert_eq!(layer.bitrate(now + STOPPED_AFTER), None);
    }
}
