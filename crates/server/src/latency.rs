//! How long the media worker holds a packet: from reading a datagram off
//! the socket to the kernel taking the forwarded copies. Kept as a small
//! log-scaled histogram and logged every few seconds while media flows, so
//! that operators and the benchmark see what forwarding adds.

use std::time::{Duration, Instant};

/// Four buckets per power of two of microseconds, up to ~30 s.
const SUB_BUCKETS: usize = 4;
const BUCKETS: usize = 24 * SUB_BUCKETS;
/// How often the figures are logged (and start afresh).
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
    total: u64,
    max: Duration,
    since: Instant,
}

impl LatencyHistogram {
    pub fn new(now: Instant) -> LatencyHistogram {
        LatencyHistogram {
            counts: [0; BUCKETS],
            total: 0,
            max: Duration::ZERO,
            since: now,
        }
    }

    pub fn record(&mut self, latency: Duration) {
        self.counts[bucket(latency)] += 1;
        self.total += 1;
        self.max = self.max.max(latency);
    }

    /// The upper bound of the bucket holding the `p`-quantile (0..=1).
    pub fn quantile(&self, p: f64) -> Duration {
        let rank = ((self.total as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// The figures of the last period, when it is over and anything was
    /// recorded; the histogram starts afresh.
    pub fn poll_report(&mut self, now: Instant) -> Option<Report> {
        if now.saturating_duration_since(self.since) < REPORT_EVERY {
            return None;
        }
        let report = (self.total > 0).then(|| Report {
            batches: self.total,
            p50: self.quantile(0.5),
            p99: self.quantile(0.99),
            max: self.max,
        });
        *self = LatencyHistogram::new(now);
        report
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub batches: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Buckets 0..=3 hold 0..=3 µs; above, four buckets per power of two.
fn bucket(latency: Duration) -> usize {
    let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
    if us < 4 {
        return us as usize;
    }
    let power = 63 - us.leading_zeros() as usize;
    // The two bits below the leading one pick the sub-bucket.
    let sub = ((us >> (power - 2)) & 0b11) as usize;
    (4 + (power - 2) * SUB_BUCKETS + sub).min(BUCKETS - 1)
}

/// The largest latency a bucket holds.
fn upper_bound(bucket: usize) -> Duration {
    if bucket < 4 {
        return Duration::from_micros(bucket as u64);
    }
    let power = (bucket - 4) / SUB_BUCKETS + 2;
    let sub = ((bucket - 4) % SUB_BUCKETS) as u64;
    Duration::from_micros(((0b101 + sub) << (power - 2)) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_quarter_of_a_power_of_two() {
        let t0 = Instant::now();
        let mut h = LatencyHistogram::new(t0);
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((500.0..=500.0 * 1.25).contains(&p50), "{p50}");
        assert!((990.0..=1000.0).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), Duration::from_micros(1000));
        assert!(h.poll_report(t0 + Duration::from_secs(1)).is_none());
        let report = h.poll_report(t0 + REPORT_EVERY).unwrap();
        assert_eq!(report.batches, 1000);
        assert!(
            h.poll_report(t0 + REPORT_EVERY * 2).is_none(),
            "nothing since"
        );
    }

    #[test]
    fn every_latency_lands_in_a_bucket_whose_bound_covers_it() {
        for us in [
            0u64, 1, 2, 3, 4, 5, 7, 8, 100, 1023, 1024, 65_000, 10_000_000,
        ] {
            let d = Duration::from_micros(us);
            let b = bucket(d);
            assert!(
                upper_bound(b) >= d,
                "{us} µs in bucket {b} bounded by {:?}",
                upper_bound(b)
            );
            if b > 0 {
                assert!(upper_bound(b - 1) < d, "{us}");
            }
        }
    }
}
