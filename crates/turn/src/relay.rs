//! The relay's state machine (RFC 8656), sans-IO: packets and time in,
//! packets out. It relays to one peer only, Hotline's own media port, so it
//! cannot be used to reach anything else on the network.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::credentials::{long_term_key, CredentialKey, Username, REALM};
use crate::message::{
    attr, classify, ChannelData, Class, Message, MessageBuilder, Method, PacketKind, CHANNELS,
};

/// An allocation lives this long unless refreshed (RFC 8656 section 2.2).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// A nonce is good for this long; then the client is asked to take a new one.
const NONCE_MAX_AGE_SECS: u64 = 600;
/// The only transport a relay offers: UDP (protocol number 17).
const UDP: u8 = 17;
const SOFTWARE: &str = "Hotline relay";

/// Attributes this relay understands; any other below 0x8000 in a request
/// is refused with 420 as the RFC asks.
const KNOWN_ATTRIBUTES: &[u16] = &[
    attr::USERNAME,
    attr::MESSAGE_INTEGRITY,
    attr::CHANNEL_NUMBER,
    attr::LIFETIME,
    attr::XOR_PEER_ADDRESS,
    attr::DATA,
    attr::REALM,
    attr::NONCE,
    attr::REQUESTED_ADDRESS_FAMILY,
    attr::REQUESTED_TRANSPORT,
    // ICE attributes on Binding requests.
    0x0024,
    0x0025,
];

/// How a client reaches the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientTransport {
    Udp,
    /// A TCP connection (its remote address tells it apart).
    Tcp,
    /// A TLS connection.
    Tls,
}

impl ClientTransport {
    pub fn name(self) -> &'static str {
        match self {
            ClientTransport::Udp => "udp",
            ClientTransport::Tcp => "tcp",
            ClientTransport::Tls => "tls",
        }
    }

    /// Streams carry ChannelData padded to four bytes.
    fn is_stream(self) -> bool {
        !matches!(self, ClientTransport::Udp)
    }
}

/// One client of the relay: its transport and address (its "5-tuple").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client {
    pub transport: ClientTransport,
    pub addr: SocketAddr,
}

/// Where relayed packets may go.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Hotline's media address as clients know it (the only peer allowed).
    pub media_announced: SocketAddr,
    /// The same socket as reachable from this host, where relayed packets
    /// are really sent (the announced address may be a NAT's).
    pub media_local: SocketAddr,
    pub max_allocations: usize,
    /// Per username, i.e. per participant session: a browser makes one per
    /// peer connection and relay address, a few more across ICE restarts.
    pub max_allocations_per_user: usize,
}

/// Opens relay sockets for the state machine.
pub trait RelayPorts {
    /// Binds a new UDP socket for `client`'s allocation; returns its local address.
    fn open(&mut self, client: &Client) -> io::Result<SocketAddr>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    ToClient {
        client: Client,
        bytes: Vec<u8>,
    },
    /// Send `bytes` from the relay socket bound at `relay` to `to`.
    ToPeer {
        relay: SocketAddr,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Event(RelayEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEvent {
    Allocated {
        client: Client,
        relay: SocketAddr,
        user: String,
    },
    /// The allocation is gone: close its socket.
    Released {
        client: Client,
        relay: SocketAddr,
        user: String,
        reason: ReleaseReason,
    },
    /// A request was refused (for logs, at debug level: clients retry).
    Refused {
        client: Client,
        method: Method,
        code: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// The client let it expire.
    Expired,
    /// The client asked (a Refresh with lifetime 0).
    Deallocated,
    /// The client's TCP or TLS connection closed.
    ClientGone,
}

struct Allocation {
    relay: SocketAddr,
    username: String,
    user: String,
    expires: Instant,
    permission_until: Option<Instant>,
    channel: Option<(u16, Instant)>,
    /// The Allocate transaction and its answer, for retransmissions.
    created_by: ([u8; 12], Vec<u8>),
}

impl Allocation {
    fn permitted(&self, now: Instant) -> bool {
        self.permission_until.is_some_and(|until| until > now)
    }

    fn channel(&self, now: Instant) -> Option<u16> {
        self.channel
            .filter(|(_, until)| *until > now)
            .map(|(channel, _)| channel)
    }
}

/// A refused request: its error code and reason phrase.
struct Refusal {
    code: u16,
    reason: &'static str,
    /// Whether to add REALM and NONCE (401 and 438).
    challenge: bool,
}

fn refuse(code: u16, reason: &'static str) -> Refusal {
    Refusal {
        code,
        reason,
        challenge: false,
    }
}

fn challenge(code: u16, reason: &'static str) -> Refusal {
    Refusal {
        code,
        reason,
        challenge: true,
    }
}

/// The relay.
pub struct TurnRelay {
    key: CredentialKey,
    config: RelayConfig,
    /// Unix time at `started`, so that Unix seconds follow the given clock.
    started: (Instant, u64),
    allocations: HashMap<Client, Allocation>,
    by_relay: HashMap<SocketAddr, Client>,
    per_user: HashMap<String, usize>,
    /// No allocation expires before this; may be early (after a refresh or
    /// a release), never late. Kept so that the shell's loop, which asks on
    /// every packet, does not scan every allocation.
    next_expiry: Option<Instant>,
    outputs: VecDeque<Output>,
}

impl TurnRelay {
    pub fn new(key: CredentialKey, config: RelayConfig, now: Instant, unix_now: u64) -> TurnRelay {
        TurnRelay {
            key,
            config,
            started: (now, unix_now),
            allocations: HashMap::new(),
            by_relay: HashMap::new(),
            per_user: HashMap::new(),
            next_expiry: None,
            outputs: VecDeque::new(),
        }
    }

    pub fn allocations(&self) -> usize {
        self.allocations.len()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`TurnRelay::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_expiry
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<Client> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.expires <= now)
            .map(|(client, _)| *client)
            .collect();
        for client in expired {
            self.release(client, ReleaseReason::Expired);
        }
        self.next_expiry = self.allocations.values().map(|a| a.expires).min();
    }

    /// A stream client went away: its allocation goes with it.
    pub fn client_closed(&mut self, client: Client) {
        if self.allocations.contains_key(&client) {
            self.release(client, ReleaseReason::ClientGone);
        }
    }

    /// A packet from a client (STUN or ChannelData).
    pub fn handle_client(
        &mut self,
        now: Instant,
        client: Client,
        bytes: &[u8],
        ports: &mut dyn RelayPorts,
    ) {
        match classify(bytes) {
            PacketKind::ChannelData => {
                let Some(frame) = ChannelData::parse(bytes) else {
                    return;
                };
                let Some(allocation) = self.allocations.get(&client) else {
                    return;
                };
                if allocation.channel(now) == Some(frame.channel) && allocation.permitted(now) {
                    self.outputs.push_back(Output::ToPeer {
                        relay: allocation.relay,
                        to: self.config.media_local,
                        bytes: frame.data.to_vec(),
                    });
                }
            }
            PacketKind::Stun => {
                let Ok(message) = Message::parse(bytes) else {
                    return;
                };
                match (message.class, message.method) {
                    (Class::Indication, Method::Send) => {
                        self.send_indication(now, client, &message)
                    }
                    (Class::Request, _) => self.request(now, client, &message, ports),
                    _ => {}
                }
            }
            PacketKind::Other => {}
        }
    }

    /// A packet that arrived at the relay socket bound at `relay`.
    pub fn handle_peer(&mut self, now: Instant, relay: SocketAddr, from: SocketAddr, bytes: &[u8]) {
        if from != self.config.media_local {
            return;
        }
        let Some(client) = self.by_relay.get(&relay).copied() else {
            return;
        };
        let Some(allocation) = self.allocations.get(&client) else {
            return;
        };
        if !allocation.permitted(now) {
            return;
        }
        let bytes = match allocation.channel(now) {
            Some(channel) => ChannelData::encode(channel, bytes, client.transport.is_stream()),
            None => MessageBuilder::new(Method::Data, Class::Indication, rand::random())
                .xor_address(attr::XOR_PEER_ADDRESS, self.config.media_announced)
                .attribute(attr::DATA, bytes)
                .build(),
        };
        self.outputs.push_back(Output::ToClient { client, bytes });
    }

    fn unix_now(&self, now: Instant) -> u64 {
        self.started.1 + now.saturating_duration_since(self.started.0).as_secs()
    }

    fn send_indication(&mut self, now: Instant, client: Client, message: &Message) {
        let (Some(allocation), Some(peer), Some(data)) = (
            self.allocations.get(&client),
            message.xor_address(attr::XOR_PEER_ADDRESS),
            message.get(attr::DATA),
        ) else {
            return;
        };
        if peer == self.config.media_announced && allocation.permitted(now) {
            self.outputs.push_back(Output::ToPeer {
                relay: allocation.relay,
                to: self.config.media_local,
                bytes: data.to_vec(),
            });
        }
    }

    fn request(
        &mut self,
        now: Instant,
        client: Client,
        message: &Message,
        ports: &mut dyn RelayPorts,
    ) {
        let fingerprint = message.has(attr::FINGERPRINT);
        let respond = |builder: MessageBuilder, key: Option<&[u8]>| {
            let builder = builder.attribute(attr::SOFTWARE, SOFTWARE.as_bytes());
            let builder = match key {
                Some(key) => builder.integrity(key),
                None => builder,
            };
            if fingerprint {
                builder.fingerprint().build()
            } else {
                builder.build()
            }
        };
        if message.method == Method::Binding {
            let bytes = respond(
                MessageBuilder::new(Method::Binding, Class::Success, message.transaction)
                    .xor_address(attr::XOR_MAPPED_ADDRESS, client.addr),
                None,
            );
            self.outputs.push_back(Output::ToClient { client, bytes });
            return;
        }
        if let Some(existing) = self.allocations.get(&client) {
            if message.method == Method::Allocate && existing.created_by.0 == message.transaction {
                // A retransmission: the same answer again, as first sent.
                let bytes = existing.created_by.1.clone();
                self.outputs.push_back(Output::ToClient { client, bytes });
                return;
            }
        }
        let unknown = message.unknown_required(KNOWN_ATTRIBUTES);
        let result = if !unknown.is_empty() {
            Err((refuse(420, "Unknown Attribute"), None))
        } else {
            match self.authenticate(now, client, message) {
                Err(refusal) => Err((refusal, None)),
                Ok(auth) => {
                    let outcome = match message.method {
                        Method::Allocate => self.allocate(now, client, message, &auth, ports),
                        Method::Refresh => self.refresh(now, client, message),
                        Method::CreatePermission => self.create_permission(now, client, message),
                        Method::ChannelBind => self.channel_bind(now, client, message),
                        _ => Err(refuse(400, "Bad Request")),
                    };
                    match outcome {
                        Ok(builder) => Ok((builder, auth.key)),
                        Err(refusal) => Err((refusal, Some(auth.key))),
                    }
                }
            }
        };
        let bytes = match result {
            Ok((builder, key)) => {
                let bytes = respond(builder, Some(&key));
                if message.method == Method::Allocate {
                    if let Some(allocation) = self.allocations.get_mut(&client) {
                        allocation.created_by = (message.transaction, bytes.clone());
                    }
                }
                bytes
            }
            Err((refusal, key)) => {
                self.outputs.push_back(Output::Event(RelayEvent::Refused {
                    client,
                    method: message.method,
                    code: refusal.code,
                }));
                let mut builder =
                    MessageBuilder::new(message.method, Class::Error, message.transaction)
                        .error(refusal.code, refusal.reason);
                if refusal.code == 420 {
                    let list: Vec<u8> = unknown.iter().flat_map(|k| k.to_be_bytes()).collect();
                    builder = builder.attribute(attr::UNKNOWN_ATTRIBUTES, &list);
                }
                if refusal.challenge {
                    builder = builder
                        .attribute(attr::REALM, REALM.as_bytes())
                        .attribute(attr::NONCE, self.key.nonce(self.unix_now(now)).as_bytes());
                }
                respond(builder, key.as_ref().map(|k| &k[..]))
            }
        };
        self.outputs.push_back(Output::ToClient { client, bytes });
    }

    /// The long-term credential mechanism (RFC 8489 section 9.2), with
    /// passwords derived from the username.
    fn authenticate(
        &self,
        now: Instant,
        client: Client,
        message: &Message,
    ) -> Result<Auth, Refusal> {
        if !message.has(attr::MESSAGE_INTEGRITY) {
            return Err(challenge(401, "Unauthorized"));
        }
        let (Some(username), Some(realm), Some(nonce)) = (
            message.text(attr::USERNAME),
            message.text(attr::REALM),
            message.text(attr::NONCE),
        ) else {
            return Err(refuse(400, "Bad Request"));
        };
        let unix_now = self.unix_now(now);
        if !self.key.nonce_fresh(nonce, unix_now, NONCE_MAX_AGE_SECS) {
            return Err(challenge(438, "Stale Nonce"));
        }
        let Some(parsed) = Username::parse(username) else {
            return Err(challenge(401, "Unauthorized"));
        };
        if realm != REALM {
            return Err(challenge(401, "Unauthorized"));
        }
        let key = long_term_key(username, &self.key.password(username));
        if message.integrity_ok(&key) != Some(true) {
            return Err(challenge(401, "Unauthorized"));
        }
        match self.allocations.get(&client) {
            // A new allocation needs a credential still valid; an existing
            // one is kept alive with the credential that made it.
            None if message.method == Method::Allocate && parsed.expires < unix_now => {
                Err(challenge(401, "Unauthorized"))
            }
            None if message.method != Method::Allocate => Err(refuse(437, "Allocation Mismatch")),
            Some(allocation) if allocation.username != username => {
                Err(refuse(441, "Wrong Credentials"))
            }
            _ => Ok(Auth {
                username: username.to_owned(),
                user: parsed.user.to_owned(),
                key,
            }),
        }
    }

    fn allocate(
        &mut self,
        now: Instant,
        client: Client,
        message: &Message,
        auth: &Auth,
        ports: &mut dyn RelayPorts,
    ) -> Result<MessageBuilder, Refusal> {
        if self.allocations.contains_key(&client) {
            return Err(refuse(437, "Allocation Mismatch"));
        }
        match message.get(attr::REQUESTED_TRANSPORT) {
            None => return Err(refuse(400, "Bad Request")),
            Some(value) if value.first() != Some(&UDP) => {
                return Err(refuse(442, "Unsupported Transport Protocol"))
            }
            _ => {}
        }
        if let Some(family) = message.get(attr::REQUESTED_ADDRESS_FAMILY) {
            let wanted = if self.config.media_announced.is_ipv4() {
                0x01
            } else {
                0x02
            };
            if family.first() != Some(&wanted) {
                return Err(refuse(440, "Address Family not Supported"));
            }
        }
        let used = self.per_user.get(&auth.username).copied().unwrap_or(0);
        if self.allocations.len() >= self.config.max_allocations
            || used >= self.config.max_allocations_per_user
        {
            return Err(refuse(486, "Allocation Quota Reached"));
        }
        let relay = ports
            .open(&client)
            .map_err(|_| refuse(508, "Insufficient Capacity"))?;
        let lifetime = lifetime(message).unwrap_or(DEFAULT_LIFETIME);
        let expires = now + lifetime;
        self.next_expiry = Some(self.next_expiry.map_or(expires, |next| next.min(expires)));
        self.allocations.insert(
            client,
            Allocation {
                relay,
                username: auth.username.clone(),
                user: auth.user.clone(),
                expires,
                permission_until: None,
                channel: None,
                created_by: (message.transaction, Vec::new()),
            },
        );
        self.by_relay.insert(relay, client);
        *self.per_user.entry(auth.username.clone()).or_default() += 1;
        self.outputs.push_back(Output::Event(RelayEvent::Allocated {
            client,
            relay,
            user: auth.user.clone(),
        }));
        let relayed = SocketAddr::new(self.config.media_announced.ip(), relay.port());
        Ok(
            MessageBuilder::new(Method::Allocate, Class::Success, message.transaction)
                .xor_address(attr::XOR_RELAYED_ADDRESS, relayed)
                .u32(attr::LIFETIME, lifetime.as_secs() as u32)
                .xor_address(attr::XOR_MAPPED_ADDRESS, client.addr),
        )
    }

    fn refresh(
        &mut self,
        now: Instant,
        client: Client,
        message: &Message,
    ) -> Result<MessageBuilder, Refusal> {
        let requested = message.u32(attr::LIFETIME);
        let granted = if requested == Some(0) {
            self.release(client, ReleaseReason::Deallocated);
            Duration::ZERO
        } else {
            let lifetime = lifetime(message).unwrap_or(DEFAULT_LIFETIME);
            if let Some(allocation) = self.allocations.get_mut(&client) {
                allocation.expires = now + lifetime;
            }
            lifetime
        };
        Ok(
            MessageBuilder::new(Method::Refresh, Class::Success, message.transaction)
                .u32(attr::LIFETIME, granted.as_secs() as u32),
        )
    }

    fn create_permission(
        &mut self,
        now: Instant,
        client: Client,
        message: &Message,
    ) -> Result<MessageBuilder, Refusal> {
        let mut any = false;
        for peer in message.xor_addresses(attr::XOR_PEER_ADDRESS) {
            match peer {
                Some(peer) if peer.ip() == self.config.media_announced.ip() => any = true,
                Some(_) => return Err(refuse(403, "Forbidden")),
                None => return Err(refuse(400, "Bad Request")),
            }
        }
        if !any {
            return Err(refuse(400, "Bad Request"));
        }
        if let Some(allocation) = self.allocations.get_mut(&client) {
            allocation.permission_until = Some(now + PERMISSION_LIFETIME);
        }
        Ok(MessageBuilder::new(
            Method::CreatePermission,
            Class::Success,
            message.transaction,
        ))
    }

    fn channel_bind(
        &mut self,
        now: Instant,
        client: Client,
        message: &Message,
    ) -> Result<MessageBuilder, Refusal> {
        let channel = message
            .u32(attr::CHANNEL_NUMBER)
            .map(|v| (v >> 16) as u16)
            .filter(|c| CHANNELS.contains(c))
            .ok_or(refuse(400, "Bad Request"))?;
        match message.xor_address(attr::XOR_PEER_ADDRESS) {
            None => return Err(refuse(400, "Bad Request")),
            Some(peer) if peer != self.config.media_announced => {
                return Err(refuse(403, "Forbidden"))
            }
            Some(_) => {}
        }
        let Some(allocation) = self.allocations.get_mut(&client) else {
            return Err(refuse(437, "Allocation Mismatch"));
        };
        if allocation
            .channel
            .is_some_and(|(bound, _)| bound != channel)
        {
            return Err(refuse(400, "Bad Request"));
        }
        allocation.channel = Some((channel, now + CHANNEL_LIFETIME));
        allocation.permission_until = Some(now + PERMISSION_LIFETIME);
        Ok(MessageBuilder::new(
            Method::ChannelBind,
            Class::Success,
            message.transaction,
        ))
    }

    fn release(&mut self, client: Client, reason: ReleaseReason) {
        let Some(allocation) = self.allocations.remove(&client) else {
            return;
        };
        self.by_relay.remove(&allocation.relay);
        if let Some(count) = self.per_user.get_mut(&allocation.username) {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(&allocation.username);
            }
        }
        self.outputs.push_back(Output::Event(RelayEvent::Released {
            client,
            relay: allocation.relay,
            user: allocation.user,
            reason,
        }));
    }
}

struct Auth {
    username: String,
    user: String,
    key: [u8; 16],
}

/// The lifetime a request asks for, within the RFC's bounds.
fn lifetime(message: &Message) -> Option<Duration> {
    let asked = Duration::from_secs(u64::from(message.u32(attr::LIFETIME)?));
    Some(asked.clamp(DEFAULT_LIFETIME, MAX_LIFETIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;

    const UNIX: u64 = 1_800_000_000;

    struct Ports(u16);
    impl RelayPorts for Ports {
        fn open(&mut self, _: &Client) -> io::Result<SocketAddr> {
            self.0 += 1;
            Ok(SocketAddr::from(([127, 0, 0, 1], self.0)))
        }
    }

    /// A relay and a client speaking to it, in simulated time.
    struct Rig {
        relay: TurnRelay,
        ports: Ports,
        now: Instant,
        key: CredentialKey,
        client: Client,
        nonce: String,
    }

    fn media() -> SocketAddr {
        "203.0.113.5:7000".parse().unwrap()
    }
    fn media_local() -> SocketAddr {
        "10.0.0.5:7000".parse().unwrap()
    }

    fn rig(transport: ClientTransport) -> Rig {
        let key = CredentialKey::new([3; 32]);
        let now = Instant::now();
        let config = RelayConfig {
            media_announced: media(),
            media_local: media_local(),
            max_allocations: 100,
            max_allocations_per_user: 2,
        };
        Rig {
            relay: TurnRelay::new(key.clone(), config, now, UNIX),
            ports: Ports(40000),
            now,
            key,
            client: Client {
                transport,
                addr: "198.51.100.9:5555".parse().unwrap(),
            },
            nonce: String::new(),
        }
    }

    impl Rig {
        fn credentials(&self) -> Credentials {
            self.key.mint("p0123456789ab", UNIX, 600)
        }

        fn send(&mut self, bytes: &[u8]) -> Vec<Output> {
            self.relay
                .handle_client(self.now, self.client, bytes, &mut self.ports);
            std::iter::from_fn(|| self.relay.poll_output()).collect()
        }

        /// Sends a request signed with `credentials`; returns the answer's bytes.
        fn request(
            &mut self,
            method: Method,
            credentials: &Credentials,
            add: impl FnOnce(MessageBuilder) -> MessageBuilder,
        ) -> Vec<u8> {
            let builder = add(MessageBuilder::new(method, Class::Request, rand::random()))
                .signed(credentials, &self.nonce)
                .fingerprint();
            self.answer(&builder.build())
        }

        fn answer(&mut self, request: &[u8]) -> Vec<u8> {
            let outputs = self.send(request);
            outputs
                .into_iter()
                .find_map(|o| match o {
                    Output::ToClient { bytes, .. } => Some(bytes),
                    _ => None,
                })
                .expect("an answer")
        }

        /// The 401 dance: an unsigned Allocate, then a signed one.
        fn allocate(&mut self) -> Vec<u8> {
            let first = MessageBuilder::new(Method::Allocate, Class::Request, rand::random())
                .attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
                .build();
            let answer = self.answer(&first);
            let answer = Message::parse(&answer).unwrap();
            assert_eq!(error_code(&answer), Some(401));
            assert_eq!(answer.text(attr::REALM), Some(REALM));
            self.nonce = answer.text(attr::NONCE).unwrap().to_owned();
            let credentials = self.credentials();
            self.request(Method::Allocate, &credentials, |b| {
                b.attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
            })
        }

        fn permit_and_bind(&mut self, channel: Option<u16>) {
            let credentials = self.credentials();
            let answer = self.request(Method::CreatePermission, &credentials, |b| {
                b.xor_address(attr::XOR_PEER_ADDRESS, media())
            });
            assert_eq!(Message::parse(&answer).unwrap().class, Class::Success);
            if let Some(channel) = channel {
                let answer = self.request(Method::ChannelBind, &credentials, |b| {
                    b.u32(attr::CHANNEL_NUMBER, u32::from(channel) << 16)
                        .xor_address(attr::XOR_PEER_ADDRESS, media())
                });
                assert_eq!(Message::parse(&answer).unwrap().class, Class::Success);
            }
        }
    }

    fn error_code(message: &Message) -> Option<u16> {
        let value = message.get(attr::ERROR_CODE)?;
        Some(u16::from(value[2]) * 100 + u16::from(value[3]))
    }

    fn relayed(answer: &[u8]) -> SocketAddr {
        let message = Message::parse(answer).unwrap();
        assert_eq!(message.class, Class::Success, "{:?}", error_code(&message));
        message.xor_address(attr::XOR_RELAYED_ADDRESS).unwrap()
    }

    #[test]
    fn allocates_after_the_challenge_and_answers_retransmissions_alike() {
        let mut rig = rig(ClientTransport::Udp);
        let credentials = rig.credentials();
        let answer = rig.allocate();
        let message = Message::parse(&answer).unwrap();
        let key = long_term_key(&credentials.username, &credentials.password);
        assert_eq!(message.integrity_ok(&key), Some(true));
        assert_eq!(relayed(&answer), "203.0.113.5:40001".parse().unwrap());
        assert_eq!(
            message.xor_address(attr::XOR_MAPPED_ADDRESS),
            Some(rig.client.addr)
        );
        assert_eq!(message.u32(attr::LIFETIME), Some(600));
        assert_eq!(rig.relay.allocations(), 1);

        // The same request again (a lost answer): the same answer, no second relay.
        let request = MessageBuilder::new(Method::Allocate, Class::Request, message.transaction)
            .attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
            .signed(&credentials, &rig.nonce)
            .fingerprint()
            .build();
        let answer_again = rig.answer(&request);
        assert_eq!(answer_again, answer);
        assert_eq!(rig.relay.allocations(), 1);
        // A new Allocate on the same 5-tuple is a mismatch.
        let again = rig.request(Method::Allocate, &credentials, |b| {
            b.attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
        });
        assert_eq!(error_code(&Message::parse(&again).unwrap()), Some(437));
    }

    #[test]
    fn bad_expired_or_stale_credentials_are_refused() {
        let mut rig = rig(ClientTransport::Udp);
        rig.nonce = rig.key.nonce(UNIX);
        let code = |rig: &mut Rig, credentials: &Credentials| {
            let answer = rig.request(Method::Allocate, credentials, |b| {
                b.attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
            });
            error_code(&Message::parse(&answer).unwrap())
        };
        let mut wrong = rig.credentials();
        wrong.password = "not it".into();
        assert_eq!(code(&mut rig, &wrong), Some(401));
        let forged = CredentialKey::new([4; 32]).mint("p0123456789ab", UNIX, 600);
        assert_eq!(code(&mut rig, &forged), Some(401));
        let expired = rig.key.mint("p0123456789ab", UNIX - 700, 600);
        assert_eq!(code(&mut rig, &expired), Some(401));
        let good = rig.credentials();
        rig.nonce = rig.key.nonce(UNIX - NONCE_MAX_AGE_SECS);
        assert_eq!(code(&mut rig, &good), Some(438));
        rig.nonce = rig.key.nonce(UNIX);
        assert_eq!(code(&mut rig, &good), None);
        assert_eq!(rig.relay.allocations(), 1);
    }

    #[test]
    fn relays_only_to_the_media_port_with_a_permission() {
        let mut rig = rig(ClientTransport::Udp);
        let relay = SocketAddr::from(([127, 0, 0, 1], relayed(&rig.allocate()).port()));
        let credentials = rig.credentials();
        // Anywhere else is forbidden: the relay is not a way into the network.
        for elsewhere in ["203.0.113.6:7000", "10.0.0.5:7000", "127.0.0.1:22"] {
            let answer = rig.request(Method::CreatePermission, &credentials, |b| {
                b.xor_address(attr::XOR_PEER_ADDRESS, elsewhere.parse().unwrap())
            });
            assert_eq!(error_code(&Message::parse(&answer).unwrap()), Some(403));
        }
        let send = MessageBuilder::new(Method::Send, Class::Indication, rand::random())
            .xor_address(attr::XOR_PEER_ADDRESS, media())
            .attribute(attr::DATA, b"check")
            .build();
        assert!(rig.send(&send).is_empty(), "no permission yet");
        rig.relay
            .handle_peer(rig.now, relay, media_local(), b"early");
        assert!(rig.relay.poll_output().is_none());

        rig.permit_and_bind(None);
        assert_eq!(
            rig.send(&send),
            vec![Output::ToPeer {
                relay,
                to: media_local(),
                bytes: b"check".to_vec()
            }]
        );
        rig.relay
            .handle_peer(rig.now, relay, media_local(), b"reply");
        let Some(Output::ToClient { bytes, .. }) = rig.relay.poll_output() else {
            panic!("a data indication")
        };
        let data = Message::parse(&bytes).unwrap();
        assert_eq!((data.method, data.class), (Method::Data, Class::Indication));
        assert_eq!(data.xor_address(attr::XOR_PEER_ADDRESS), Some(media()));
        assert_eq!(data.get(attr::DATA), Some(&b"reply"[..]));
        // From anyone but the media port: dropped.
        rig.relay
            .handle_peer(rig.now, relay, "10.0.0.9:7000".parse().unwrap(), b"x");
        assert!(rig.relay.poll_output().is_none());

        // Permissions expire.
        rig.now += PERMISSION_LIFETIME;
        assert!(rig.send(&send).is_empty());
    }

    #[test]
    fn channels_carry_data_both_ways_padded_on_streams() {
        for (transport, padded_len) in [(ClientTransport::Udp, 7), (ClientTransport::Tcp, 8)] {
            let mut rig = rig(transport);
            let relay = SocketAddr::from(([127, 0, 0, 1], relayed(&rig.allocate()).port()));
            rig.permit_and_bind(Some(0x4000));
            let out = rig.send(&ChannelData::encode(
                0x4000,
                b"rtp",
                transport != ClientTransport::Udp,
            ));
            assert_eq!(
                out,
                vec![Output::ToPeer {
                    relay,
                    to: media_local(),
                    bytes: b"rtp".to_vec()
                }]
            );
            assert!(rig
                .send(&ChannelData::encode(0x4001, b"rtp", false))
                .is_empty());
            rig.relay.handle_peer(rig.now, relay, media_local(), b"rtp");
            let Some(Output::ToClient { bytes, .. }) = rig.relay.poll_output() else {
                panic!("channel data")
            };
            assert_eq!(bytes.len(), padded_len);
            assert_eq!(ChannelData::parse(&bytes).unwrap().data, b"rtp");
            // Another channel number for the same peer is refused.
            let credentials = rig.credentials();
            let answer = rig.request(Method::ChannelBind, &credentials, |b| {
                b.u32(attr::CHANNEL_NUMBER, 0x4002 << 16)
                    .xor_address(attr::XOR_PEER_ADDRESS, media())
            });
            assert_eq!(error_code(&Message::parse(&answer).unwrap()), Some(400));
        }
    }

    #[test]
    fn allocations_end_on_refresh_zero_expiry_or_closed_connection() {
        let released = |rig: &mut Rig| {
            std::iter::from_fn(|| rig.relay.poll_output()).find_map(|o| match o {
                Output::Event(RelayEvent::Released { reason, .. }) => Some(reason),
                _ => None,
            })
        };
        let mut rig = rig(ClientTransport::Udp);
        rig.allocate();
        let credentials = rig.credentials();
        let answer = rig.request(Method::Refresh, &credentials, |b| b.u32(attr::LIFETIME, 0));
        assert_eq!(
            Message::parse(&answer).unwrap().u32(attr::LIFETIME),
            Some(0)
        );
        assert_eq!(rig.relay.allocations(), 0);

        rig.allocate();
        while rig.relay.poll_output().is_some() {}
        // Refreshed with an expired credential: the allocation it made lives on.
        rig.now += Duration::from_secs(590);
        rig.nonce = rig.key.nonce(UNIX + 590);
        let answer = rig.request(Method::Refresh, &credentials, |b| {
            b.u32(attr::LIFETIME, 600)
        });
        assert_eq!(Message::parse(&answer).unwrap().class, Class::Success);
        rig.now += Duration::from_secs(590);
        rig.relay.handle_timeout(rig.now);
        assert_eq!(released(&mut rig), None);
        assert_eq!(
            rig.relay.poll_timeout(),
            Some(rig.now + Duration::from_secs(10))
        );
        rig.now += Duration::from_secs(10);
        rig.relay.handle_timeout(rig.now);
        assert_eq!(released(&mut rig), Some(ReleaseReason::Expired));

        let mut rig = self::rig(ClientTransport::Tcp);
        rig.allocate();
        rig.relay.client_closed(rig.client);
        assert_eq!(released(&mut rig), Some(ReleaseReason::ClientGone));
        assert_eq!(rig.relay.allocations(), 0);
    }

    #[test]
    fn quotas_unknown_attributes_and_wrong_transport_are_refused() {
        let mut rig = rig(ClientTransport::Udp);
        rig.allocate();
        let credentials = rig.credentials();
        let code = |rig: &mut Rig, add: fn(MessageBuilder) -> MessageBuilder| {
            let answer = rig.request(Method::Allocate, &credentials, add);
            error_code(&Message::parse(&answer).unwrap())
        };
        rig.client.addr.set_port(5556);
        assert_eq!(
            code(&mut rig, |b| b
                .attribute(attr::REQUESTED_TRANSPORT, &[6, 0, 0, 0])),
            Some(442)
        );
        assert_eq!(code(&mut rig, |b| b), Some(400));
        assert_eq!(
            code(&mut rig, |b| b
                .attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])
                .attribute(attr::DONT_FRAGMENT, &[])),
            Some(420)
        );
        assert_eq!(
            code(&mut rig, |b| b
                .attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])),
            None
        );
        rig.client.addr.set_port(5557);
        // Two per user in this rig.
        assert_eq!(
            code(&mut rig, |b| b
                .attribute(attr::REQUESTED_TRANSPORT, &[UDP, 0, 0, 0])),
            Some(486)
        );
        // Requests on an allocation that is not there.
        let answer = rig.request(Method::Refresh, &credentials, |b| {
            b.u32(attr::LIFETIME, 600)
        });
        assert_eq!(error_code(&Message::parse(&answer).unwrap()), Some(437));
    }

    #[test]
    fn binding_requests_get_the_mapped_address_and_junk_gets_nothing() {
        let mut rig = rig(ClientTransport::Udp);
        let request = MessageBuilder::new(Method::Binding, Class::Request, [9; 12]).build();
        let answer = rig.answer(&request);
        let answer = Message::parse(&answer).unwrap();
        assert_eq!(
            answer.xor_address(attr::XOR_MAPPED_ADDRESS),
            Some(rig.client.addr)
        );
        for junk in [
            &[][..],
            &[0u8; 3],
            &[0x40, 0, 0, 1, 9],
            &[0x80; 64],
            &[1; 20],
        ] {
            assert!(rig.send(junk).is_empty());
        }
    }
}
