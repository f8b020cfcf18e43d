//! What a new peer connection costs, with a DTLS certificate made for it
//! versus the process-wide one the room core uses, measured side by side;
//! and a whole join (two connections, the first subscriber offer).
//! `cargo bench -p hotline-sfu --bench peer_setup` prints the figures and
//! writes them to `bench/results/peer_setup.json`.

use std::time::{Duration, Instant};

use hotline_proto::Grants;
use hotline_sfu::{JoinRequest, Room, RoomConfig};
use str0m::Rtc;

const ROUNDS: usize = 5;
const PER_ROUND: usize = 100;

fn per_op(f: &mut dyn FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..PER_ROUND {
        f();
    }
    start.elapsed() / PER_ROUND as u32
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    hotline_sfu::init_crypto();
    let now = Instant::now();
    let shared = str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .expect("a certificate");
    let (mut fresh, mut reused, mut joins) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved rounds: machine noise hits every variant alike.
    for round in 0..ROUNDS {
        fresh.push(per_op(&mut || {
            std::hint::black_box(Rtc::builder().set_ice_lite(true).build(now));
        }));
        reused.push(per_op(&mut || {
            std::hint::black_box(
                Rtc::builder()
                    .set_ice_lite(true)
                    .set_dtls_cert(shared.clone())
                    .build(now),
            );
        }));
        let config = RoomConfig {
            candidates: vec!["10.0.0.1:5000".parse().unwrap()],
            max_participants: PER_ROUND + 1,
            ..RoomConfig::default()
        };
        let mut room = Room::new("bench", config, now, 0);
        let mut i = 0;
        joins.push(per_op(&mut || {
            i += 1;
            let req = JoinRequest {
                estimate_bandwidth: true,
                identity: format!("p{round}-{i}"),
                name: "P".into(),
                grants: Grants::default(),
                admitted: false,
                languages: Vec::new(),
                e2ee: false,
            };
            room.join(now, req).expect("space");
            while room.poll_output().is_some() {}
        }));
    }
    let (fresh, reused, join) = (median(fresh), median(reused), median(joins));
    let ratio = fresh.as_secs_f64() / reused.as_secs_f64();
    println!(
        "peer connection, own certificate:    {:>9.1} µs",
        fresh.as_secs_f64() * 1e6
    );
    println!(
        "peer connection, shared certificate: {:>9.1} µs",
        reused.as_secs_f64() * 1e6
    );
    println!("ratio own/shared:                    {ratio:>9.1}x");
    println!(
        "join (room core, shared certificate): {:>8.1} µs",
        join.as_secs_f64() * 1e6
    );
    let json = format!(
        "{{\"rounds\":{ROUNDS},\"per_round\":{PER_ROUND},\"rtc_own_cert_us\":{:.1},\"rtc_shared_cert_us\":{:.1},\"ratio_own_over_shared\":{ratio:.2},\"join_us\":{:.1}}}\n",
        fresh.as_secs_f64() * 1e6,
        reused.as_secs_f64() * 1e6,
        join.as_secs_f64() * 1e6
    );
    let out = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/results/peer_setup.json"
    );
    std::fs::write(out, json).expect("writing the results");
    println!("written to bench/results/peer_setup.json");
}
