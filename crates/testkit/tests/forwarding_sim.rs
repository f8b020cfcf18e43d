//! RTP-level forwarding in simulated time: loss repaired by retransmission,
//! keyframe requests throttled, sequence numbers without holes.

use std::time::Duration;

use hotline_proto::{Grants, TrackKind};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, World};

fn pid(world: &World, i: usize) -> String {
    world.clients[i].participant_id.clone().expect("joined")
}

/// A room where client 0 publishes and `subscribers` others receive it,
/// run until every subscriber gets video.
fn room(seed: u64, link: LinkConfig, subscribers: usize) -> World {
    let mut world = World::new(seed, link, RoomConfig::default());
    let publisher = world.join("Pat", Grants::default());
    world.publish(publisher);
    for i in 0..subscribers {
        world.join(&format!("Sub{i}"), Grants::default());
    }
    let flowing = world.run_until(Duration::from_secs(10), |w| {
        let from = pid(w, publisher);
        (1..=subscribers).all(|s| w.clients[s].frames_from(&from, TrackKind::Video) > 10)
    });
    assert!(flowing, "video reaches every subscriber");
    world
}

#[test]
fn five_percent_loss_is_repaired_by_retransmission() {
    let link = LinkConfig {
        delay: Duration::from_millis(25),
        jitter: Duration::from_millis(5),
        loss: 0.05,
    };
    let mut world = room(11, link, 2);
    for s in 1..=2 {
        world.client_mut(s).reset_counters();
    }
    world.run_for(Duration::from_secs(20));
    let from = pid(&world, 0);
    for s in 1..=2 {
        let video = world.clients[s].counters_from(&from, TrackKind::Video);
        let video = video[0];
        // Each packet crossed two lossy links (to the server and on to the
        // subscriber); without repair about 10 % would be missing.
        assert!(video.expected() > 600, "{video:?}");
        let missing = video.lost() as f64 / video.expected() as f64;
        assert!(
            missing < 0.01,
            "{:.2} % of video packets never arrived",
            missing * 100.0
        );
        assert!(video.out_of_order > 0, "repairs arrive late, out of order");
        // Audio is not retransmitted: its loss shows.
        let audio = world.clients[s].counters_from(&from, TrackKind::Audio)[0];
        assert!(audio.lost() > 0);
    }
}

#[test]
fn a_keyframe_request_storm_reaches_the_publisher_once_per_interval() {
    let mut world = room(12, LinkConfig::default(), 10);
    let before = world.clients[0].keyframe_requests;
    // Ten subscribers ask every 50 ms for two seconds: 400 requests.
    for _ in 0..40 {
        for s in 1..=10 {
            world.client_mut(s).request_keyframes();
        }
        world.run_for(Duration::from_millis(50));
    }
    let reached = world.clients[0].keyframe_requests - before;
    // One per 500 ms interval of the room's throttle, and at least one.
    assert!(
        (1..=5).contains(&reached),
        "{reached} keyframe requests reached the publisher"
    );
}

#[test]
fn after_an_outage_upstream_subscribers_resume_at_a_keyframe_without_a_hole() {
    let mut world = room(13, LinkConfig::default(), 2);
    world.client_mut(1).reset_counters();
    world.run_for(Duration::from_secs(1));
    // The publisher's network drops everything for four seconds; its
    // camera goes on, so the stream that comes back has a hole longer than
    // the publisher keeps for retransmission (str0m: 3 s).
    world.client_mut(0).offline = true;
    world.run_for(Duration::from_secs(4));
    world.client_mut(0).offline = false;
    let from = pid(&world, 0);
    let keyframes_before = world.clients[1].counters_from(&from, TrackKind::Video)[0].keyframes;
    world.run_for(Duration::from_secs(2));
    let video = world.clients[1].counters_from(&from, TrackKind::Video)[0];
    // The room asked for a keyframe at once and numbered the next packets
    // right after the last ones sent: the subscriber sees no gap it would
    // ask to be filled, and nothing is lost.
    assert!(video.keyframes > keyframes_before, "{video:?}");
    assert_eq!(video.lost(), 0, "{video:?}");
    assert_eq!(video.freezes, 1, "one freeze: the outage itself");
}

#[test]
fn redundant_audio_reaches_who_has_it_and_its_newest_frame_the_rest() {
    let mut world = World::new(31, LinkConfig::default(), RoomConfig::default());
    let publisher = world.join_with_redundant_audio("Pat", Grants::default());
    world.publish(publisher);
    let with_red = world.join_with_redundant_audio("Rita", Grants::default());
    let without = world.join("Sam", Grants::default());
    let from = pid(&world, publisher);
    let flowing = world.run_until(Duration::from_secs(10), |w| {
        [with_red, without]
            .iter()
            .all(|&s| w.clients[s].frames_from(&from, TrackKind::Audio) > 50)
    });
    assert!(flowing, "audio reaches both");
    let audio = |w: &World, s: usize| {
        w.clients[s]
            .received
            .values()
            .find(|c| c.frames > 50 && c.last_payload.as_ref().is_some_and(|(_, p)| p.len() < 200))
            .cloned()
            .expect("an audio stream")
    };
    // Opus frames of the synthetic publisher start with this TOC byte.
    const TOC: u8 = 0xfc;
    let plain = audio(&world, without);
    let (_, payload) = plain.last_payload.clone().unwrap();
    assert_eq!(payload[0], TOC, "a plain Opus frame: {payload:?}");
    let red = audio(&world, with_red);
    let (_, red_payload) = red.last_payload.clone().unwrap();
    // One redundant block (4-byte header), the primary's header, the
    // previous frame, then the very frame the other subscriber got.
    assert_eq!(red_payload[0] & 0x80, 0x80, "RED: {red_payload:?}");
    assert_eq!(red_payload.len(), 5 + 2 * payload.len());
    assert_eq!(red_payload[5], TOC);
    // Nothing lost or mangled on the way: every packet counted, each
    // with its send time read from the end of its payload.
    for counter in [&plain, &red] {
        assert_eq!(counter.lost(), 0, "{counter:?}");
        assert!(counter.delays_us.len() as u64 >= counter.frames / 2);
    }
}
