//! A seeded simulated network: every datagram is delayed, jittered or lost
//! by the same random sequence on every run with the same seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How one direction of a link behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    pub delay: Duration,
    pub jitter: Duration,
    /// Probability in 0..=1 that a datagram is dropped.
    pub loss: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
        }
    }
}

/// A datagram in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// A bottleneck on the way to one host, like `tc tbf`: datagrams leave at
/// `rate_bps`, queueing behind each other; one that would wait longer than
/// `max_queue` is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bottleneck {
    pub rate_bps: u64,
    pub max_queue: Duration,
}

pub struct SimNetwork {
    rng: StdRng,
    pub link: LinkConfig,
    /// Bottlenecks by destination host, with when each is next free.
    bottlenecks: std::collections::HashMap<IpAddr, (Bottleneck, Instant)>,
    /// Links that differ from `link`, by the host at one end (both ways).
    impaired: std::collections::HashMap<IpAddr, LinkConfig>,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    packets: std::collections::HashMap<u64, Datagram>,
    next_seq: u64,
    pub sent: u64,
    pub dropped: u64,
}

impl SimNetwork {
    pub fn new(seed: u64, link: LinkConfig) -> SimNetwork {
        SimNetwork {
            rng: StdRng::seed_from_u64(seed),
            link,
            bottlenecks: Default::default(),
            impaired: Default::default(),
            queue: BinaryHeap::new(),
            packets: Default::default(),
            next_seq: 0,
            sent: 0,
            dropped: 0,
        }
    }

    /// Puts a bottleneck on the way to `host`, or takes it away.
    pub fn set_bottleneck(&mut self, now: Instant, host: IpAddr, bottleneck: Option<Bottleneck>) {
        match bottleneck {
            Some(b) => {
                self.bottlenecks.insert(host, (b, now));
            }
            None => {
                self.bottlenecks.remove(&host);
            }
        }
    }

    /// Gives the datagrams to and from `host` their own link, or takes it
    /// away (they follow `link` again).
    pub fn impair_host(&mut self, host: IpAddr, link: Option<LinkConfig>) {
        match link {
            Some(link) => {
                self.impaired.insert(host, link);
            }
            None => {
                self.impaired.remove(&host);
            }
        }
    }

    /// Sends a datagram at `now`; it arrives after the link's delay (and
    /// its wait at a bottleneck), or never.
    pub fn send(&mut self, now: Instant, datagram: Datagram) {
        self.sent += 1;
        let link = self
            .impaired
            .get(&datagram.destination.ip())
            .or_else(|| self.impaired.get(&datagram.source.ip()))
            .copied()
            .unwrap_or(self.link);
        if link.loss > 0.0 && self.rng.random_bool(link.loss.min(1.0)) {
            self.dropped += 1;
            return;
        }
        let mut departs = now;
        if let Some((bottleneck, free_at)) = self.bottlenecks.get_mut(&datagram.destination.ip()) {
            let bits = datagram.contents.len() as u64 * 8;
            let sending = Duration::from_micros(bits * 1_000_000 / bottleneck.rate_bps.max(1));
            let done = (*free_at).max(now) + sending;
            if done - now > bottleneck.max_queue {
                self.dropped += 1;
                return;
            }
            *free_at = done;
            departs = done;
        }
        let jitter = if link.jitter.is_zero() {
            Duration::ZERO
        } else {
            link.jitter.mul_f64(self.rng.random::<f64>())
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.packets.insert(seq, datagram);
        self.queue
            .push(Reverse((departs + link.delay + jitter, seq)));
    }

    /// When the next datagram arrives.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    /// The next datagram due at `now`, if any.
    pub fn poll_arrival(&mut self, now: Instant) -> Option<Datagram> {
        let Reverse((at, seq)) = *self.queue.peek()?;
        if at > now {
            return None;
        }
        self.queue.pop();
        self.packets.remove(&seq)
    }
}
