//! One str0m peer connection and the bookkeeping the room needs around it.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Which of a participant's two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PeerRole {
    /// Media from the browser; the browser offers.
    Publisher,
    /// Media to the browser; the server offers.
    Subscriber,
}

/// How a packet travels: UDP datagrams, or RFC 4571 frames on an ICE-TCP
/// connection (for networks that block UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn protocol(self) -> Protocol {
        match self {
            Transport::Udp => Protocol::Udp,
            Transport::Tcp => Protocol::Tcp,
        }
    }
}

/// Where a subscriber's bandwidth estimate starts: enough for a camera's
/// middle layer, so that a call starts sharp and drops only if it must.
const INITIAL_DOWNLINK_ESTIMATE: Bitrate = Bitrate::kbps(1000);

/// A packet leaving the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub transport: Transport,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

pub(crate) struct Peer {
    pub rtc: Rtc,
    /// When str0m next wants `Input::Timeout`; `None` until first polled.
    pub next_timeout: Option<Instant>,
}

impl Peer {
    /// A server-side peer: ICE-lite (the browser always initiates checks, so it
    /// never has to send us its candidates) with the server's host candidates:
    /// UDP, and passive TCP for browsers whose network blocks UDP. With
    /// `estimate`, it estimates the bandwidth of what it sends (from
    /// transport-wide congestion control feedback): a subscriber connection
    /// does, to choose the layers it gets.
    /// `e2ee`: the room is end-to-end encrypted: no RED (it would wrap
    /// encrypted frames), and VP8 the only video codec (the clear bytes of an
    /// encrypted frame are VP8's; H.264 would need NAL-aware handling).
    pub fn new(
        now: Instant,
        estimate: bool,
        e2ee: bool,
        udp: &[SocketAddr],
        tcp: &[SocketAddr],
    ) -> Peer {
        // RTP mode: packets are forwarded as they come, never reassembled
        // into frames and cut up again per subscriber.
        // Opus with RED (redundant audio, RFC 2198) where the browser
        // offers it: forwarded as it comes to subscribers that have it too,
        // cut to its newest frame for the rest (`red`).
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .enable_opus(true, !e2ee)
            .set_stats_interval(Some(crate::quality::STATS_INTERVAL));
        if e2ee {
            config = config
                .enable_h264(false)
                .enable_vp9(false)
                .enable_av1(false);
        }
        if estimate {
            config = config.enable_bwe(Some(INITIAL_DOWNLINK_ESTIMATE));
        }
        if let Some(cert) = crate::dtls::process_certificate() {
            config = config.set_dtls_cert(cert);
        }
        let mut rtc = config.build(now);
        let udp = udp.iter().map(|addr| (addr, Candidate::host(*addr, "udp")));
        let tcp = tcp.iter().map(|addr| {
            let candidate = Candidate::builder()
                .tcp()
                .host(*addr)
                .tcptype(TcpType::Passive)
                .build();
            (addr, candidate)
        });
        for (addr, candidate) in udp.chain(tcp) {
            match candidate {
                Ok(c) => {
                    rtc.add_local_candidate(c);
                }
                Err(e) => tracing::warn!(%addr, "unusable host candidate: {e}"),
            }
        }
        Peer {
            rtc,
            next_timeout: Some(now),
        }
    }

    pub fn receive_input<'a>(
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &'a [u8],
    ) -> Option<Input<'a>> {
        // Bytes that are not STUN, DTLS or (S)RTP(C) are dropped here.
        let contents = contents.try_into().ok()?;
        Some(Input::Receive(
            now,
            Receive {
                proto: transport.protocol(),
                source,
                destination,
                contents,
            },
        ))
    }

    /// Feeds input; an error means the connection is beyond repair.
    pub fn handle_input(&mut self, input: Input) -> Result<(), str0m::RtcError> {
        if !self.rtc.is_alive() {
            return Ok(());
        }
        self.rtc.handle_input(input)
    }

    /// Polls until str0m has nothing more to say before its next timeout.
    /// Transmits go to `transmits`, events to `events`.
    pub fn drain(
        &mut self,
        transmits: &mut Vec<Transmit>,
        events: &mut Vec<Event>,
    ) -> Result<(), str0m::RtcError> {
        while self.rtc.is_alive() {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.next_timeout = Some(t);
                    return Ok(());
                }
                Output::Transmit(t) => transmits.push(Transmit {
                    transport: match t.proto {
                        Protocol::Udp => Transport::Udp,
                        _ => Transport::Tcp,
                    },
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.into(),
                }),
                Output::Event(e) => events.push(e),
            }
        }
        self.next_timeout = None;
        Ok(())
    }
}
