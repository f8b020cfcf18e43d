//! The TURN relay fed hostile packets: from a client that holds an
//! allocation (with requests signed as the client would sign them, so that
//! the fuzzer reaches past authentication), from strangers, and at the relay
//! socket. Nothing panics, and nothing is relayed anywhere but the media port.
#![no_main]

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_turn::message::{attr, ChannelData, Class, Message, MessageBuilder, Method};
use hotline_turn::{
    Client, ClientTransport, CredentialKey, Output, RelayConfig, RelayPorts, TurnRelay,
};
use libfuzzer_sys::fuzz_target;

const UNIX: u64 = 1_800_000_000;

struct Ports(u16);
impl RelayPorts for Ports {
    fn open(&mut self, _: &Client) -> io::Result<SocketAddr> {
        self.0 = self.0.wrapping_add(1);
        Ok(SocketAddr::from(([127, 0, 0, 1], self.0)))
    }
}

fuzz_target!(|data: &[u8]| {
    let media: SocketAddr = "192.0.2.1:7000".parse().unwrap();
    let media_local: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let key = CredentialKey::new([9; 32]);
    let mut now = Instant::now();
    let mut relay = TurnRelay::new(
        key.clone(),
        RelayConfig {
            media_announced: media,
            media_local,
            max_allocations: 8,
            max_allocations_per_user: 4,
        },
        now,
        UNIX,
    );
    let mut ports = Ports(40000);
    let credentials = key.mint("p0", UNIX, 600);
    let nonce = key.nonce(UNIX);
    let sign = |builder: MessageBuilder| builder.signed(&credentials, &nonce).build();
    let clients = [
        Client { transport: ClientTransport::Udp, addr: "198.51.100.1:5000".parse().unwrap() },
        Client { transport: ClientTransport::Tcp, addr: "198.51.100.2:5000".parse().unwrap() },
    ];
    for client in clients {
        let allocate = MessageBuilder::new(Method::Allocate, Class::Request, [1; 12])
            .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0]);
        relay.handle_client(now, client, &sign(allocate), &mut ports);
    }
    // Chunks: a length byte, a control byte, then the packet.
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(rest[0]).min(rest.len() - 2);
        let control = rest[1];
        let packet = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let client = clients[usize::from(control & 1)];
        match (control >> 1) % 5 {
            0 => relay.handle_client(now, client, packet, &mut ports),
            1 => {
                // Re-signed as the allocation's owner would sign it.
                if let Ok(message) = Message::parse(packet) {
                    let mut builder =
                        MessageBuilder::new(message.method, Class::Request, message.transaction);
                    for (kind, value) in message.attributes() {
                        if ![attr::MESSAGE_INTEGRITY, attr::FINGERPRINT, attr::USERNAME, attr::REALM, attr::NONCE].contains(&kind)
                            && value.len() < 512
                        {
                            builder = builder.attribute(kind, value);
                        }
                    }
                    relay.handle_client(now, client, &sign(builder), &mut ports);
                }
            }
            2 => {
                let relay_addr = SocketAddr::from(([127, 0, 0, 1], 40001 + u16::from(control >> 4 & 1)));
                let from = if control & 0x80 == 0 { media_local } else { "10.0.0.9:1".parse().unwrap() };
                relay.handle_peer(now, relay_addr, from, packet);
            }
            3 => relay.handle_client(now, client, &ChannelData::encode(0x4000, packet, control & 0x40 != 0), &mut ports),
            _ => {
                now += Duration::from_secs(u64::from(control));
                relay.handle_timeout(now);
                if control & 0x20 != 0 {
                    relay.client_closed(client);
                }
            }
        }
        while let Some(output) = relay.poll_output() {
            if let Output::ToPeer { to, .. } = output {
                assert_eq!(to, media_local, "relayed somewhere else");
            }
        }
    }
});
