//! A participant's connection quality, from what its two connections
//! report every few seconds (str0m's stats): loss on what it sends (seen by
//! the server) and on what it receives (from its receiver reports), jitter
//! of its audio, and the round-trip time.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

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
        (expected > 0).then(|| (lost.max(0) as f32 / expected as f32).min(1.0))
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
}
