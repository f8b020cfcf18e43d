//! A room with two participants (one a host) and one waiting in the lobby,
//! with or without interpretation and end-to-end encryption, fed arbitrary
//! datagrams (as if from a participant's address and from strangers) and
//! arbitrary signaling text from the host and the waiter: nothing panics,
//! and the room keeps both participants.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_proto::{ClientMessage, Grants};
use hotline_sfu::{JoinRequest, Room, RoomConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hotline_sfu::init_crypto();
    let server: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let now = Instant::now();
    let config = RoomConfig {
        candidates: vec![server],
        lobby: true,
        // The first byte picks whether the room has interpretation and
        // end-to-end encryption, so that both paths are fuzzed.
        languages: match data.first() {
            Some(b) if b & 1 == 1 => ["ru", "en"]
                .iter()
                .filter_map(|l| hotline_proto::Language::parse(l))
                .collect(),
            _ => Vec::new(),
        },
        e2ee: data.first().is_some_and(|b| b & 2 == 2),
        ..RoomConfig::default()
    };
    let mut room = Room::new("fuzz", config, now, 0);
    let join = |identity: &str, host: bool| JoinRequest {
        estimate_bandwidth: true,
        identity: identity.into(),
        name: identity.into(),
        grants: Grants {
            host,
            ..Grants::default()
        },
        admitted: identity == "bob",
    languages: Vec::new(),
    e2ee: false,
    };
    let alice = room.join(now, join("alice", true)).expect("space");
    let bob = room.join(now, join("bob", false)).expect("space");
    let carol = room.join(now, join("carol", false)).expect("space");

    // The input is split into chunks: the first byte of each says what it is.
    let mut t = now;
    for chunk in data.split(|b| *b == 0xff) {
        let Some((&kind, rest)) = chunk.split_first() else {
            continue;
        };
        // At most 3 ms a chunk: inputs stay well inside the 20 s silence timeout.
        t += Duration::from_millis(u64::from(kind & 0x03));
        match kind >> 4 {
            0..=9 => {
                let source = SocketAddr::from(([10, 1, 0, kind >> 4], 1000));
                room.handle_datagram(t, hotline_sfu::Transport::Udp, source, server, rest);
            }
            10..=13 => {
                if let Ok(message) = std::str::from_utf8(rest).map(ClientMessage::parse) {
                    if let Ok(message) = message {
                        if !matches!(message, ClientMessage::Leave) {
                            let from = if kind >> 4 < 12 { &alice } else { &carol };
                            room.handle_signal(t, from, message);
                        }
                    }
                }
            }
            _ => room.handle_timeout(t),
        }
        while room.poll_output().is_some() {}
    }
    let ids: Vec<_> = room.participant_ids().collect();
    assert!(ids.contains(&&alice) && ids.contains(&&bob));
});
