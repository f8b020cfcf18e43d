//! Active speaker and connection quality, in simulated time.

use std::time::Duration;

use hotline_proto::{Grants, Quality};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, World};

fn pid(world: &World, i: usize) -> String {
    world.clients[i].participant_id.clone().expect("joined")
}

/// Three participants who all publish, with their microphones at `levels`.
fn meeting(seed: u64, link: LinkConfig, levels: [i8; 3]) -> World {
    let mut world = World::new(seed, link, RoomConfig::default());
    for (i, name) in ["Ann", "Ben", "Cai"].into_iter().enumerate() {
        world.join(name, Grants::default());
        world.client_mut(i).set_audio_level(levels[i]);
        world.publish(i);
    }
    world
}

/// Whether every participant is told `expected` speak (in that order).
fn everyone_sees(world: &World, expected: &[usize]) -> bool {
    let expected: Vec<String> = expected.iter().map(|i| pid(world, *i)).collect();
    world.clients.iter().all(|c| c.active_speakers == expected)
}

#[test]
fn the_one_who_speaks_is_the_active_speaker_for_everyone() {
    let mut world = meeting(21, LinkConfig::default(), [-20, -127, -127]);
    assert!(
        world.run_until(Duration::from_secs(5), |w| everyone_sees(w, &[0])),
        "{:?}",
        world.clients[1].active_speakers
    );
    // Ann stops, Cai starts: Cai has the floor within a second or so.
    world.client_mut(0).set_audio_level(-127);
    world.client_mut(2).set_audio_level(-25);
    let from = world.now;
    assert!(world.run_until(Duration::from_secs(3), |w| everyone_sees(w, &[2])));
    assert!(
        world.now - from < Duration::from_millis(1500),
        "{:?}",
        world.now - from
    );
}

#[test]
fn a_muted_microphone_never_speaks() {
    let mut world = meeting(22, LinkConfig::default(), [-20, -127, -127]);
    assert!(world.run_until(Duration::from_secs(5), |w| everyone_sees(w, &[0])));
    // Ann mutes; her browser may still send a level (here a loud one).
    world.client_mut(0).mute_microphone(true);
    assert!(world.run_until(Duration::from_secs(2), |w| everyone_sees(w, &[])));
    world.run_for(Duration::from_secs(3));
    assert!(
        everyone_sees(&world, &[]),
        "a muted microphone came back on the list"
    );
    world.client_mut(0).mute_microphone(false);
    assert!(world.run_until(Duration::from_secs(3), |w| everyone_sees(w, &[0])));
}

#[test]
fn connection_quality_follows_loss() {
    let clean = LinkConfig::default();
    let mut world = meeting(23, clean, [-30; 3]);
    let all_are = |w: &World, q: Quality| {
        w.clients
            .iter()
            .all(|c| (0..3).all(|i| c.qualities.get(&pid(w, i)) == Some(&q)))
    };
    assert!(
        world.run_until(Duration::from_secs(8), |w| all_are(w, Quality::Excellent)),
        "{:?}",
        world.clients[0].qualities
    );

    let lossy = LinkConfig {
        loss: 0.12,
        ..LinkConfig::default()
    };
    let mut world = meeting(24, lossy, [-30; 3]);
    assert!(
        world.run_until(Duration::from_secs(12), |w| all_are(w, Quality::Poor)),
        "{:?}",
        world.clients[0].qualities
    );
    // The loss goes away: the indicator comes back up, once the better
    // figures have held for a few reports.
    world.net.link.loss = 0.0;
    let since = world.elapsed();
    assert!(
        world.run_until(Duration::from_secs(20), |w| all_are(w, Quality::Excellent)),
        "{:?}",
        world.clients[0].qualities
    );
    assert!(world.elapsed() - since >= Duration::from_secs(2));
}
