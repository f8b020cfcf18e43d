//! One publisher and N subscribers in simulated time, for profiling the
//! room's forwarding path with a deterministic instruction count:
//! `valgrind --tool=callgrind target/release/examples/forward_profile 50 2`
//! (subscribers, seconds of media), then `callgrind_annotate --inclusive=yes`
//! and look under `Room::handle_datagram` and `Room::poll_output`; the
//! difference between two lengths is the cost of the media alone. Subscribers count
//! packets from their headers (no decryption), so the clients' share of
//! the profile stays small.

use std::time::Duration;

use hotline_proto::{Grants, TrackKind};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, World};

fn main() {
    let subscribers: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let seconds: u64 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let mut world = World::new(7, LinkConfig::default(), RoomConfig::default());
    let publisher = world.join("Publisher", Grants::default());
    let receivers: Vec<usize> = (0..subscribers)
        .map(|i| world.join_with(&format!("S{i}"), Grants::default(), false))
        .collect();
    for &r in &receivers {
        world.client_mut(r).count_headers_only();
    }
    world.publish(publisher);
    let publisher_id = world.clients[publisher]
        .participant_id
        .clone()
        .expect("joined");
    let flowing = world.run_until(Duration::from_secs(10), |w| {
        receivers
            .iter()
            .all(|&r| w.clients[r].frames_from(&publisher_id, TrackKind::Video) > 0)
    });
    assert!(flowing, "media reaches every subscriber");
    for &r in &receivers {
        world.client_mut(r).reset_counters();
    }
    world.run_for(Duration::from_secs(seconds));
    let packets: u64 = receivers
        .iter()
        .flat_map(|&r| world.clients[r].received_streams().map(|(_, c)| c.packets))
        .sum();
    println!(
        "{subscribers} subscribers: {packets} packets forwarded in {seconds} s of simulated time"
    );
}
