//! A participant's connection quality, from what its two connections
//! report every few seconds (str0m's stats): loss on what it sends (seen by
//! the server) and on what it receives (from its receiver reports), jitter
//! of its audio, and the round-trip time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use hotline_proto::Quality;
use str0m::media::Mid;

/// How often str0m reports stats for each connection.
pub(crate) const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// The latest figures of one participant's connections.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LinkHealth {
    /// Fraction of the participant's packets lost on the way to the server.
    pub upload_loss: Option<f32>,
    /// Fraction of the server's packets lost on the way to the participant.
    pub download_loss: Option<f32>,
    pub rtt: Option<Duration>,
    /// Interarrival jitter of the participant's audio at the server.
    pub jitter: Option<Duration>,
    /// The quality last announced.
    pub announced: Option<Quality>,
    /// A better quality seen in this many reports in a row, not announced
    /// yet.
    better_for: u8,
}

/// A better quality is announced only once it holds for this many reports
/// in a row (each connection reports every 2 s), so that a link on a
/// boundary does not flip the indicator every few seconds; a worse one is
/// announced at once.
const BETTER_AFTER_REPORTS: u8 = 3;

impl LinkHealth {
    /// The quality these figures amount to; `None` before any came in.
    pub fn quality(&self) -> Option<Quality> {
        let loss = self
            .upload_loss
            .into_iter()
            .chain(self.download_loss)
            .reduce(f32::max);
        if loss.is_none() && self.rtt.is_none() && self.jitter.is_none() {
            return None;
        }
        let loss = loss.unwrap_or(0.0);
        let rtt = self.rtt.unwrap_or_default();
        let jitter = self.jitter.unwrap_or_default();
        let ms = Duration::from_millis;
        Some(if loss < 0.02 && rtt < ms(150) && jitter < ms(30) {
            Quality::Excellent
        } else if loss < 0.08 && rtt < ms(400) && jitter < ms(60) {
            Quality::Good
        } else {
            Quality::Poor
        })
    }

    /// The quality to announce, when it differs from the last announced.
    pub fn poll_change(&mut self) -> Option<Quality> {
        let quality = self.quality()?;
        let better = self.announced.is_some_and(|announced| quality > announced);
        if self.announced == Some(quality) || better && self.better_for + 1 < BETTER_AFTER_REPORTS {
            self.better_for = if better { self.better_for + 1 } else { 0 };
            return None;
        }
        self.better_for = 0;
        self.announced = Some(quality);
        Some(quality)
    }
}

/// Loss on a participant's video download, from the cumulative counters of
/// its receiver reports (packets lost, highest sequence number) per stream,
/// over the last few stats intervals.
///
/// It tells a congested download from a lossy or jittery one, either of
/// which can make the delay-based bandwidth estimate collapse: a bottleneck
/// that cannot carry what is sent drops a large share of it, while random
/// loss stays at its rate and a reordering link loses nothing. Receivers
/// count differently: Chromium never lowers the cumulative loss it reports,
/// so packets it got by retransmission still count as lost (the loss is the
/// link's), while str0m's count falls again as they arrive. One interval
/// alone is noisy: a report counts as lost what is merely late.
#[derive(Debug, Default)]
pub(crate) struct ReportedLoss {
    /// Per stream: cumulative packets lost and highest extended sequence
    /// number, as last reported.
    last: HashMap<Mid, (u64, u64)>,
    /// Packets lost and expected since the interval began.
    lost: i64,
    expected: u64,
    /// The same for the last intervals in which packets were expected.
    recent: VecDeque<(i64, u64)>,
}

/// Intervals the loss is measured over (of `STATS_INTERVAL` each).
const LOSS_INTERVALS: usize = 3;

impl ReportedLoss {
    /// The counters of one stream's latest receiver report.
    pub fn record(&mut self, mid: Mid, packets_lost: u64, highest_sequence: u64) {
        if let Some((lost, highest)) = self.last.insert(mid, (packets_lost, highest_sequence)) {
            // The cumulative loss falls when late packets (retransmissions)
            // arrive after a report counted them lost.
            self.lost += packets_lost as i64 - lost as i64;
            self.expected += highest_sequence.saturating_sub(highest);
        }
    }

    /// Ends an interval: the fraction of the packets expected in the last
    /// few that stayed lost; `None` when none were expected.
    pub fn finish_interval(&mut self) -> Option<f32> {
        if self.expected > 0 {
            if self.recent.len() == LOSS_INTERVALS {
                self.recent.pop_front();
            }
            self.recent.push_back((self.lost, self.expected));
        }
        self.lost = 0;
        self.expected = 0;
        let (lost, expected) = self
            .recent
            .iter()
            .fold((0, 0), |(l, e), &(lost, expected)| (l + lost, e + expected));
        fraction(lost, expected)
    }

    /// The fraction lost in the last interval in which packets were
    /// expected.
    pub fn latest(&self) -> Option<f32> {
        self.recent
            .back()
            .and_then(|&(lost, expected)| fraction(lost, expected))
    }
}

fn fraction(lost: i64, expected: u64) -> Option<f32> {
    (expected > 0).then(|| (lost.max(0) as f32 / expected as f32).min(1.0))
}

/// Reported video loss that shows a download is congested. Random loss of
/// 10 % (as the lossy-network tests have) shows as up to 10 % (Chromium
/// counts packets it got by retransmission as lost); a bottleneck below
/// what is sent drops more. A link only a little too slow for the lowest
/// layers loses less than this and is not detected.
const CONGESTION_LOSS: f32 = 0.15;

/// How long a download counts as congested after the last report that
/// showed it: longer than the allocator's step-down hold, so that a link too
/// slow for the lowest layers does not get them back each time the loss
/// stops.
const CONGESTION_HOLD: Duration = Duration::from_secs(20);

/// Reported video loss from which a download that is not congested gets
/// every packet twice.
const LOSSY: f32 = 0.03;

/// Loss that still shows while every packet is sent twice (both copies
/// lost: about the square of the link's loss) that keeps the copies coming.
const LOSSY_WITH_COPIES: f32 = 0.005;

/// How long copies are sent after the last report that asked for them.
const LOSSY_HOLD: Duration = Duration::from_secs(60);

/// What a subscriber's reported loss says about its download, and what the
/// room does about it:
/// - congested: the bandwidth estimate is believed even below the lowest
///   layers (lower frame rates, paused video);
/// - lossy but not congested: each packet is sent twice, back to back. The
///   receiver's SRTP replay check drops the second copy when the first
///   arrived, so only lost packets are filled in, a round trip sooner than a
///   retransmission could, and for audio, which is not retransmitted.
#[derive(Debug, Default)]
pub(crate) struct DownloadLoss {
    reported: ReportedLoss,
    congested_until: Option<Instant>,
    copies_until: Option<Instant>,
    /// Whether copies were on at the end of the last interval.
    copies_announced: bool,
}

/// A change of what the room does about a download's loss, to log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LossChange {
    Congested { loss: f32 },
    CopiesOn { loss: f32 },
    CopiesOff,
}

impl DownloadLoss {
    /// The counters of one video stream's latest receiver report.
    pub fn record(&mut self, mid: Mid, packets_lost: u64, highest_sequence: u64) {
        self.reported.record(mid, packets_lost, highest_sequence);
    }

    /// Ends a stats interval and decides again.
    pub fn finish_interval(&mut self, now: Instant) -> Option<LossChange> {
        let copies_before = self.copies_announced;
        // (Without video nothing is decided, and copies lapse silently.)
        let loss = self.reported.finish_interval()?;
        let mut change = None;
        if loss >= CONGESTION_LOSS {
            if !self.congested(now) {
                change = Some(LossChange::Congested { loss });
            }
            self.congested_until = Some(now + CONGESTION_HOLD);
            // More packets would make it worse.
            self.copies_until = None;
        } else if !self.congested(now) {
            let lossy = if copies_before {
                loss >= LOSSY_WITH_COPIES
            } else {
                // One lossy interval is enough to start: the sooner copies
                // come, the fewer frames wait a round trip for a resend. But
                // not one with a bottleneck's loss: that may be the start of
                // congestion, which copies would make worse.
                let latest = self.reported.latest().unwrap_or(0.0);
                loss.max(latest) >= LOSSY && latest < CONGESTION_LOSS
            };
            if lossy {
                if !copies_before {
                    change = Some(LossChange::CopiesOn { loss });
                }
                self.copies_until = Some(now + LOSSY_HOLD);
            }
        }
        self.copies_announced = self.copies(now);
        if copies_before && !self.copies_announced && change.is_none() {
            change = Some(LossChange::CopiesOff);
        }
        change
    }

    pub fn congested(&self, now: Instant) -> bool {
        self.congested_until.is_some_and(|until| now < until)
    }

    /// Whether each packet goes out twice.
    pub fn copies(&self, now: Instant) -> bool {
        self.copies_until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_delay_and_jitter_each_lower_the_quality() {
        let ms = Duration::from_millis;
        let mut h = LinkHealth::default();
        assert_eq!(h.poll_change(), None, "nothing known yet");
        h.rtt = Some(ms(40));
        h.upload_loss = Some(0.0);
        assert_eq!(h.poll_change(), Some(Quality::Excellent));
        assert_eq!(h.poll_change(), None, "announced once");
        h.download_loss = Some(0.05);
        assert_eq!(h.poll_change(), Some(Quality::Good));
        h.download_loss = Some(0.12);
        assert_eq!(h.poll_change(), Some(Quality::Poor), "worse: at once");
        h.download_loss = Some(0.0);
        for _ in 1..BETTER_AFTER_REPORTS {
            assert_eq!(h.poll_change(), None, "better: not yet");
        }
        assert_eq!(h.poll_change(), Some(Quality::Excellent));
        // A better report between worse ones does not count up.
        h.download_loss = Some(0.12);
        assert_eq!(h.poll_change(), Some(Quality::Poor));
        h.download_loss = Some(0.0);
        assert_eq!(h.poll_change(), None);
        h.download_loss = Some(0.12);
        assert_eq!(h.poll_change(), None, "still poor");
        h.download_loss = Some(0.0);
        assert_eq!(h.poll_change(), None, "counting starts again");
        h.download_loss = Some(0.0);
        h.rtt = Some(ms(500));
        assert_eq!(h.quality(), Some(Quality::Poor));
        h.rtt = Some(ms(40));
        h.jitter = Some(ms(45));
        assert_eq!(h.quality(), Some(Quality::Good));
    }

    #[test]
    fn reported_loss_is_counted_over_the_last_intervals() {
        let mut loss = ReportedLoss::default();
        let (a, b) = (Mid::from("0"), Mid::from("1"));
        // The first report of a stream is its starting point.
        loss.record(a, 5, 1000);
        assert_eq!(loss.finish_interval(), None);
        loss.record(a, 15, 1100);
        loss.record(b, 0, 50);
        loss.record(b, 0, 150);
        assert_eq!(loss.finish_interval(), Some(0.05));
        // Retransmissions arrived after the last report counted them lost
        // (a receiver that lowers its count).
        loss.record(a, 10, 1200);
        assert_eq!(loss.finish_interval(), Some(5.0 / 300.0));
        // An interval without reports changes nothing.
        assert_eq!(loss.finish_interval(), Some(5.0 / 300.0));
        // The oldest interval is forgotten once three more came.
        loss.record(a, 10, 1300);
        loss.finish_interval();
        loss.record(a, 10, 1400);
        assert_eq!(loss.finish_interval(), Some(0.0));
    }

    #[test]
    fn congestion_and_lossy_links_are_told_apart_by_how_much_is_lost() {
        let start = Instant::now();
        let mut download = DownloadLoss::default();
        let mid = Mid::from("0");
        let mut highest = 0;
        let mut lost = 0;
        let mut interval = |d: &mut DownloadLoss, at: Duration, lost_now: u64| {
            highest += 100;
            lost += lost_now;
            d.record(mid, lost, highest);
            d.finish_interval(start + at)
        };
        assert_eq!(interval(&mut download, Duration::ZERO, 0), None);
        // 10 % random loss: copies, not congestion.
        let mut at = Duration::from_secs(2);
        assert_eq!(
            interval(&mut download, at, 10),
            Some(LossChange::CopiesOn { loss: 0.1 })
        );
        assert!(download.copies(start + at) && !download.congested(start + at));
        // With copies about 1 % still shows: they stay on, past the hold.
        for _ in 0..40 {
            at += Duration::from_secs(2);
            assert_eq!(interval(&mut download, at, 1), None);
        }
        assert!(download.copies(start + at));
        // A bottleneck: congested, and no copies.
        at += Duration::from_secs(2);
        let change = interval(&mut download, at, 80);
        assert!(
            matches!(change, Some(LossChange::Congested { .. })),
            "{change:?}"
        );
        assert!(download.congested(start + at) && !download.copies(start + at));
        // The congestion is remembered for a while after the loss stops.
        for _ in 0..5 {
            at += Duration::from_secs(2);
            interval(&mut download, at, 0);
        }
        assert!(download.congested(start + at));
        at += CONGESTION_HOLD;
        assert!(!download.congested(start + at));
    }

    #[test]
    fn copies_stop_a_while_after_the_loss_does() {
        let start = Instant::now();
        let mut download = DownloadLoss::default();
        let mid = Mid::from("0");
        download.record(mid, 0, 0);
        download.record(mid, 5, 100);
        assert!(matches!(
            download.finish_interval(start),
            Some(LossChange::CopiesOn { .. })
        ));
        let mut at = start;
        let mut highest = 100;
        let mut off = None;
        for _ in 0..40 {
            at += Duration::from_secs(2);
            highest += 100;
            download.record(mid, 5, highest);
            if let Some(change) = download.finish_interval(at) {
                off = Some((change, at - start));
                break;
            }
        }
        let (change, after) = off.expect("copies stop");
        assert_eq!(change, LossChange::CopiesOff);
        // The hold runs from the last interval whose loss was measured
        // together with the lossy one.
        let measured_with_it = STATS_INTERVAL * (LOSS_INTERVALS as u32 - 1);
        assert!(
            after >= LOSSY_HOLD && after <= LOSSY_HOLD + measured_with_it + STATS_INTERVAL,
            "{after:?}"
        );
    }

    #[test]
    fn the_start_of_congestion_does_not_start_copies() {
        let start = Instant::now();
        let mut download = DownloadLoss::default();
        let mid = Mid::from("0");
        download.record(mid, 0, 0);
        for (i, lost) in [0, 0, 0, 40].into_iter().enumerate() {
            download.record(mid, lost, 100 * (i as u64 + 1));
            // The last: 40 % lost in one interval, 10 % over the last three.
            assert_eq!(
                download.finish_interval(start + STATS_INTERVAL * i as u32),
                None
            );
        }
        assert!(!download.copies(start + STATS_INTERVAL * 4));
        download.record(mid, 80, 500);
        let change = download.finish_interval(start + STATS_INTERVAL * 4);
        assert!(
            matches!(change, Some(LossChange::Congested { .. })),
            "{change:?}"
        );
    }
}
