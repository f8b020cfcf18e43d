//! A participant's connection quality, from what its two connections
//! report every few seconds (str0m's stats): loss on what it sends (seen by
//! the server) and on what it receives (from its receiver reports), jitter
//! of its audio, and the round-trip time.

use std::time::Duration;

use hotline_proto::Quality;

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
}
