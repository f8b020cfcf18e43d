//! `hotline-nfq-delay`: delay and jitter on a real network path, for the browser tests of an
//! impaired network (`client/e2e/impaired.test.mjs`).
//!
//! The test machines' kernel has no `tc netem`, so an iptables `NFQUEUE` rule hands packets to
//! this program instead: it holds each one for `delay ± jitter` ms (uniform, drawn per packet) and
//! then accepts it. Independent delays reorder packets, as jitter on a real path does.
//!
//! ```sh
//! iptables -A INPUT -p udp -j NFQUEUE --queue-num 0
//! hotline-nfq-delay --queue 0 --delay-ms 100 --jitter-ms 30
//! ```
//!
//! It prints one line on stdout once the queue is bound (add the iptables rule after it: a rule
//! with no program bound drops the packets), runs until SIGTERM or SIGINT, then accepts every
//! packet it still holds and prints what it did on stderr.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use nfq::{Message, Queue, Verdict};
use rand::Rng;

const USAGE: &str = "usage: hotline-nfq-delay --queue N --delay-ms D [--jitter-ms J] [--max-held M]

Binds NFQUEUE queue N, holds each packet for D ± J ms (uniform; never below 0) and accepts it.
At most M packets (default 4096) are held at once; beyond that a packet passes at once.
Exits on SIGTERM or SIGINT, accepting what it still holds. Needs CAP_NET_ADMIN.";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    queue: u16,
    delay_ms: u64,
    jitter_ms: u64,
    /// Bounds memory: each held packet keeps its netlink buffer (a few KiB) alive.
    max_held: usize,
}

/// Parses the arguments (without the program name). `Ok(None)` means `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut queue = None;
    let mut delay_ms = None;
    let mut jitter_ms = 0;
    let mut max_held = 4096;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what}: not a number: {value:?}"))
        };
        match flag.as_str() {
            "--queue" => {
                queue = Some(
                    u16::try_from(number("--queue")?)
                        .map_err(|_| "--queue: at most 65535".to_string())?,
                )
            }
            "--delay-ms" => delay_ms = Some(number("--delay-ms")?),
            "--jitter-ms" => jitter_ms = number("--jitter-ms")?,
            "--max-held" => {
                max_held = usize::try_from(number("--max-held")?)
                    .map_err(|_| "--max-held: too large".to_string())?
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    let queue = queue.ok_or("--queue is required")?;
    let delay_ms = delay_ms.ok_or("--delay-ms is required")?;
    // An hour is far beyond any test; the bound keeps `Instant + Duration` from overflowing.
    if delay_ms.saturating_add(jitter_ms) > 3_600_000 {
        return Err("--delay-ms + --jitter-ms: at most one hour".into());
    }
    if max_held == 0 {
        return Err("--max-held: at least 1".into());
    }
    Ok(Some(Config {
        queue,
        delay_ms,
        jitter_ms,
        max_held,
    }))
}

/// One packet's hold time: uniform in `[delay - jitter, delay + jitter]` ms, floored at 0, drawn
/// in microseconds so that the spread is not lumped on whole milliseconds.
fn sample_delay(config: &Config, rng: &mut impl Rng) -> Duration {
    let lo = config.delay_ms.saturating_sub(config.jitter_ms) * 1000;
    let hi = (config.delay_ms + config.jitter_ms) * 1000;
    Duration::from_micros(rng.random_range(lo..=hi))
}

/// An item due at `due`; `seq` keeps items due at the same instant in arrival order.
struct Entry<T> {
    due: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest due first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// Held items, released by due time rather than arrival order (that is what reorders packets).
struct Schedule<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T> Schedule<T> {
    fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    fn push(&mut self, due: Instant, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { due, seq, item });
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.due)
    }

    /// The earliest item if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.heap.peek()?.due <= now {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// Every item, earliest first (for the exit).
    fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.heap.pop().map(|e| e.item))
    }
}

/// What the program did, printed at exit (the test reads it to know packets went through here).
#[derive(Default)]
struct Counters {
    delayed: u64,
    passed_full: u64,
    max_held: usize,
    recv_errors: u64,
    verdict_errors: u64,
}

/// SIGINT and SIGTERM, blocked and read from a signalfd: the main loop waits on it next to the
/// queue's socket, so no signal can slip in between checking a flag and going to sleep.
fn signal_fd() -> io::Result<OwnedFd> {
    // SAFETY: plain libc calls on a local sigset_t; the returned fd is checked before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let err = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

fn socket_option(fd: RawFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for writing an int; a non-socket fd just fails.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(value)
}

/// The queue's netlink socket, found among this process's fds: `nfq` 0.2 does not expose it, and
/// without it the loop could not sleep until "a packet came or the next one is due".
fn netfilter_socket() -> Option<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<RawFd>().ok())
        .find(|&fd| {
            socket_option(fd, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
                && socket_option(fd, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
        })
}

/// Waits until one of `fds` is readable or `timeout` passes (`None`: no limit). Returns which fds
/// are readable; an interrupted wait returns none.
fn wait_readable<const N: usize>(fds: [RawFd; N], timeout: Option<Duration>) -> [bool; N] {
    let mut pfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: pfds and ts live across the call; a null sigmask keeps the current one.
    let n = unsafe {
        libc::ppoll(
            pfds.as_mut_ptr(),
            N as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if n <= 0 {
        return [false; N];
    }
    pfds.map(|p| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0)
}

fn accept(queue: &mut Queue, mut msg: Message, counters: &mut Counters) {
    msg.set_verdict(Verdict::Accept);
    if let Err(e) = queue.verdict(msg) {
        counters.verdict_errors += 1;
        if counters.verdict_errors <= 5 {
            eprintln!("hotline-nfq-delay: verdict failed: {e}");
        }
    }
}

/// At most this many packets are read per wake-up before the due ones are released again, so a
/// burst cannot hold up the packets already waiting.
const RECV_BATCH: usize = 256;

fn run(config: &Config) -> io::Result<Counters> {
    let signals = signal_fd()?;
    let mut queue = Queue::open()?;
    queue.bind(config.queue).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("binding NFQUEUE {} (needs root): {e}", config.queue),
        )
    })?;
    // Metadata only: the verdict then releases the kernel's own copy, untouched; the packet's
    // bytes never reach this program, so no packet can be odd enough to trip it up.
    queue.set_copy_range(config.queue, 0)?;
    // Held packets count against the kernel's queue; past it, let packets through rather than
    // adding loss of our own.
    let kernel_max = u32::try_from(config.max_held.saturating_mul(2)).unwrap_or(u32::MAX);
    queue.set_queue_max_len(config.queue, kernel_max)?;
    queue.set_fail_open(config.queue, true)?;
    queue.set_nonblocking(true);
    let nl_fd = netfilter_socket();
    if nl_fd.is_none() {
        eprintln!("hotline-nfq-delay: the queue's socket was not found; polling every millisecond");
    }

    println!(
        "hotline-nfq-delay: queue {} bound, delay {} ± {} ms",
        config.queue, config.delay_ms, config.jitter_ms
    );
    io::stdout().flush()?;

    let mut rng = rand::rng();
    let mut held: Schedule<Message> = Schedule::new();
    let mut counters = Counters::default();
    loop {
        let now = Instant::now();
        while let Some(msg) = held.pop_due(now) {
            accept(&mut queue, msg, &mut counters);
        }

        let mut timeout = held
            .next_due()
            .map(|due| due.saturating_duration_since(now));
        let [packets, signalled] = match nl_fd {
            Some(fd) => wait_readable([fd, signals.as_raw_fd()], timeout),
            None => {
                timeout = Some(timeout.map_or(Duration::from_millis(1), |t| {
                    t.min(Duration::from_millis(1))
                }));
                let [s] = wait_readable([signals.as_raw_fd()], timeout);
                [true, s]
            }
        };
        if signalled {
            break;
        }
        if !packets {
            continue;
        }
        for _ in 0..RECV_BATCH {
            // nfq asserts on the layout of the kernel's netlink messages: should one ever trip,
            // lose that one packet rather than the whole impairment.
            let received = panic::catch_unwind(AssertUnwindSafe(|| queue.recv()));
            match received {
                Ok(Ok(msg)) => {
                    if held.len() >= config.max_held {
                        counters.passed_full += 1;
                        accept(&mut queue, msg, &mut counters);
                    } else {
                        counters.delayed += 1;
                        held.push(Instant::now() + sample_delay(config, &mut rng), msg);
                        counters.max_held = counters.max_held.max(held.len());
                    }
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => {
                    counters.recv_errors += 1;
                    if counters.recv_errors <= 5 {
                        eprintln!("hotline-nfq-delay: receiving from the queue: {e}");
                    }
                    break;
                }
                Err(_) => {
                    counters.recv_errors += 1;
                    break;
                }
            }
        }
    }

    // Nothing stays stranded in the kernel's queue when we go.
    let rest: Vec<Message> = held.drain().collect();
    for msg in rest {
        accept(&mut queue, msg, &mut counters);
    }
    Ok(counters)
}

fn main() {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("hotline-nfq-delay: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    match run(&config) {
        Ok(c) => eprintln!(
            "hotline-nfq-delay: queue {}: {} packets delayed, {} passed at once (full), at most {} held, {} receive errors, {} verdict errors",
            config.queue, c.delayed, c.passed_full, c.max_held, c.recv_errors, c.verdict_errors
        ),
        Err(e) => {
            eprintln!("hotline-nfq-delay: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_flags() {
        assert_eq!(
            parse_args(args("--queue 3 --delay-ms 100 --jitter-ms 30")),
            Ok(Some(Config {
                queue: 3,
                delay_ms: 100,
                jitter_ms: 30,
                max_held: 4096
            }))
        );
        assert_eq!(
            parse_args(args("--delay-ms 5 --queue 0 --max-held 10"))
                .unwrap()
                .unwrap(),
            Config {
                queue: 0,
                delay_ms: 5,
                jitter_ms: 0,
                max_held: 10
            }
        );
        assert_eq!(parse_args(args("--help")), Ok(None));
    }

    #[test]
    fn refuses_bad_flags() {
        for bad in [
            "",
            "--queue 0",
            "--delay-ms 10",
            "--queue 70000 --delay-ms 1",
            "--queue x --delay-ms 1",
            "--queue 0 --delay-ms -1",
            "--queue 0 --delay-ms 1 --max-held 0",
            "--queue 0 --delay-ms 3600000 --jitter-ms 1",
            "--queue 0 --delay-ms",
            "--queue 0 --delay-ms 1 --loss 5",
        ] {
            assert!(parse_args(args(bad)).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn delays_stay_within_delay_plus_or_minus_jitter_and_spread() {
        let config = parse_args(args("--queue 0 --delay-ms 100 --jitter-ms 30"))
            .unwrap()
            .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let samples: Vec<Duration> = (0..10_000)
            .map(|_| sample_delay(&config, &mut rng))
            .collect();
        let (min, max) = (samples.iter().min().unwrap(), samples.iter().max().unwrap());
        assert!(*min >= Duration::from_millis(70) && *max <= Duration::from_millis(130));
        // Uniform: the extremes get close to the bounds, the mean close to the middle.
        assert!(*min < Duration::from_millis(71) && *max > Duration::from_millis(129));
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        assert!(mean > Duration::from_millis(99) && mean < Duration::from_millis(101));
    }

    #[test]
    fn jitter_larger_than_the_delay_floors_at_zero() {
        let config = parse_args(args("--queue 0 --delay-ms 5 --jitter-ms 20"))
            .unwrap()
            .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            assert!(sample_delay(&config, &mut rng) <= Duration::from_millis(25));
        }
    }

    #[test]
    fn releases_by_due_time_not_arrival() {
        let t0 = Instant::now();
        let mut s = Schedule::new();
        s.push(t0 + Duration::from_millis(30), "late");
        s.push(t0 + Duration::from_millis(10), "early");
        s.push(t0 + Duration::from_millis(10), "early, second");
        assert_eq!(s.next_due(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(s.pop_due(t0), None);
        let now = t0 + Duration::from_millis(20);
        assert_eq!(s.pop_due(now), Some("early"));
        assert_eq!(s.pop_due(now), Some("early, second"));
        assert_eq!(s.pop_due(now), None);
        assert_eq!(s.len(), 1);
        s.push(t0, "overdue");
        assert_eq!(s.drain().collect::<Vec<_>>(), ["overdue", "late"]);
        assert_eq!(s.len(), 0);
    }
}
