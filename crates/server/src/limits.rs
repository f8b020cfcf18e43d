//! Rate limits that keep one client (or one flood) from starving the others.
//! They guard the HTTP and signaling paths only; the media path takes no lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            last: now,
            rate,
            burst,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }
}

/// Entries kept before idle ones are dropped: bounds memory under a flood
/// from many addresses.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// One token bucket per client address.
#[derive(Debug)]
pub struct PerIpLimiter {
    what: &'static str,
    rate: f64,
    burst: f64,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    buckets: HashMap<IpAddr, TokenBucket>,
    /// Refusals since the last log line, and when that was: refusals are
    /// summarised, never logged one by one.
    refused: u64,
    last_report: Option<Instant>,
}

impl PerIpLimiter {
    pub fn new(what: &'static str, per_second: u32) -> PerIpLimiter {
        let rate = f64::from(per_second.max(1));
        PerIpLimiter {
            what,
            rate,
            burst: rate * 2.0,
            state: Mutex::new(LimiterState::default()),
        }
    }

    /// Whether `ip` may go ahead now.
    pub fn check(&self, ip: IpAddr, now: Instant) -> bool {
        // A poisoned lock only means another request panicked mid-update;
        // the buckets are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.buckets.len() >= MAX_TRACKED_ADDRESSES && !state.buckets.contains_key(&ip) {
            state.buckets.retain(|_, b| !b.is_full(now));
            if state.buckets.len() >= MAX_TRACKED_ADDRESSES {
                // A flood from more addresses than we track: forget them all
                // rather than grow. They get fresh buckets, memory stays bounded.
                warn!(
                    what = self.what,
                    "rate limit: too many client addresses, state reset"
                );
                state.buckets.clear();
            }
        }
        let (rate, burst) = (self.rate, self.burst);
        let allowed = state
            .buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::new(rate, burst, now))
            .try_take(now);
        if !allowed {
            state.refused += 1;
            let due = state
                .last_report
                .is_none_or(|at| now >= at + Duration::from_secs(10));
            if due {
                warn!(what = self.what, refused = state.refused, last_ip = %ip, "rate limit: requests refused");
                state.refused = 0;
                state.last_report = Some(now);
            }
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 20.0, t0);
        assert_eq!((0..30).filter(|_| b.try_take(t0)).count(), 20);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..30).filter(|_| b.try_take(t1)).count(), 5);
    }

    #[test]
    fn limiter_keeps_addresses_apart_and_bounded() {
        let limiter = PerIpLimiter::new("test", 1);
        let now = Instant::now();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        assert!(limiter.check(a, now) && limiter.check(a, now));
        assert!(!limiter.check(a, now));
        assert!(limiter.check(b, now), "another address is not affected");
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            limiter.check(IpAddr::from(i.to_be_bytes()), now + Duration::from_secs(60));
        }
        let tracked = limiter.state.lock().unwrap().buckets.len();
        assert!(tracked <= MAX_TRACKED_ADDRESSES + 1, "{tracked}");
    }
}
