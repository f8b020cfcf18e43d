//! End-to-end encryption as the room core sees it, in simulated time: it
//! cannot read the frames, but it forwards only frames that carry the
//! encryption trailer, takes media only from clients that declare they
//! encrypt, and relays identity keys and key messages it cannot use.

use std::time::Duration;

use hotline_proto::{ClientMessage, ErrorCode, Grants, TrackKind, E2EE_MAGIC};
use hotline_sfu::{JoinRequest, RoomConfig};
use hotline_testkit::{LinkConfig, SimE2ee, World};

const ENCRYPTING: SimE2ee = SimE2ee {
    declared: true,
    trailer: true,
};

fn pid(world: &World, i: usize) -> String {
    world.clients[i].participant_id.clone().expect("joined")
}

fn encrypted_room() -> World {
    let config = RoomConfig {
        e2ee: true,
        ..RoomConfig::default()
    };
    World::new(31, LinkConfig::default(), config)
}

#[test]
fn only_encrypted_frames_from_clients_that_encrypt_are_forwarded() {
    let mut world = encrypted_room();
    let alice = world.join("Alice", Grants::default());
    let bob = world.join("Bob", Grants::default());
    let plain = world.join("Plain", Grants::default());
    let careless = world.join("Careless", Grants::default());
    assert!(world.clients[alice].room_e2ee, "welcome says so");
    world.client_mut(alice).e2ee = ENCRYPTING;
    world.client_mut(bob).e2ee = ENCRYPTING;
    // Declares encryption but sends frames without the trailer.
    world.client_mut(careless).e2ee = SimE2ee {
        declared: true,
        trailer: false,
    };
    for i in [alice, plain, careless] {
        world.publish(i);
    }
    let alice_id = pid(&world, alice);
    assert!(world.run_until(Duration::from_secs(5), |w| {
        w.clients[bob].frames_from(&alice_id, TrackKind::Video) > 30
            && w.clients[bob].frames_from(&alice_id, TrackKind::Audio) > 30
    }));
    world.run_for(Duration::from_secs(1));

    // Alice's frames arrive as she sent them, trailer and all.
    let frames = world.clients[bob].counters_from(&alice_id, TrackKind::Audio);
    let (_, last) = frames[0].last_payload.clone().expect("a payload was read");
    assert!(last.ends_with(&E2EE_MAGIC));

    // A client that does not declare encryption may not publish.
    assert_eq!(world.clients[plain].errors, [ErrorCode::EncryptionRequired]);
    assert!(world.clients[bob].participants[&pid(&world, plain)]
        .tracks
        .is_empty());

    // Frames without the trailer go nowhere.
    let careless_id = pid(&world, careless);
    assert!(!world.clients[bob].participants[&careless_id]
        .tracks
        .is_empty());
    assert_eq!(
        world.clients[bob].frames_from(&careless_id, TrackKind::Audio),
        0
    );
    assert_eq!(
        world.clients[bob].frames_from(&careless_id, TrackKind::Video),
        0
    );
}

#[test]
fn identity_keys_are_shown_to_everyone_and_key_messages_reach_one_participant() {
    let mut world = encrypted_room();
    let alice = world.join("Alice", Grants::default());
    let bob = world.join("Bob", Grants::default());
    let carol = world.join("Carol", Grants::default());
    let (alice_id, bob_id) = (pid(&world, alice), pid(&world, bob));

    world.client_mut(alice).send(ClientMessage::E2eeIdentity {
        key: "BPub-Key_1".into(),
    });
    world.run_for(Duration::from_millis(100));
    for i in [bob, carol] {
        assert_eq!(
            world.clients[i].participants[&alice_id]
                .identity_key
                .as_deref(),
            Some("BPub-Key_1")
        );
    }
    // A changed key is shown too (the clients warn about it).
    world.client_mut(alice).send(ClientMessage::E2eeIdentity {
        key: "BPub-Key_2".into(),
    });
    world.run_for(Duration::from_millis(100));
    assert_eq!(
        world.clients[bob].participants[&alice_id]
            .identity_key
            .as_deref(),
        Some("BPub-Key_2")
    );
    // Malformed keys are refused.
    for bad in ["", "not base64!", &"A".repeat(300)] {
        world
            .client_mut(carol)
            .send(ClientMessage::E2eeIdentity { key: bad.into() });
    }
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[carol].errors, [ErrorCode::InvalidE2ee; 3]);

    // A key message goes to its addressee only, with who sent it.
    world.client_mut(alice).send(ClientMessage::E2eeKeys {
        to: bob_id.clone(),
        data: "sealed-for-bob".into(),
    });
    world.client_mut(alice).send(ClientMessage::E2eeKeys {
        to: "p-nobody".into(),
        data: "lost".into(),
    });
    world.run_for(Duration::from_millis(100));
    assert_eq!(
        world.clients[bob].e2ee_messages,
        [(alice_id.clone(), "sealed-for-bob".to_string())]
    );
    assert!(world.clients[carol].e2ee_messages.is_empty());
    assert_eq!(world.clients[alice].errors, [ErrorCode::UnknownParticipant]);
}

#[test]
fn the_opening_token_makes_a_room_encrypted_and_none_turns_it_off() {
    let request = |identity: &str, e2ee: bool| JoinRequest {
        identity: identity.into(),
        name: identity.into(),
        grants: Grants::default(),
        estimate_bandwidth: true,
        admitted: false,
        languages: Vec::new(),
        e2ee,
    };
    // A plain room: encryption messages are out of place.
    let mut world = World::new(32, LinkConfig::default(), RoomConfig::default());
    let alice = world.join("Alice", Grants::default());
    assert!(!world.clients[alice].room_e2ee);
    world
        .client_mut(alice)
        .send(ClientMessage::E2eeIdentity { key: "k".into() });
    world.run_for(Duration::from_millis(50));
    assert_eq!(world.clients[alice].errors, [ErrorCode::UnexpectedMessage]);
    // A later token cannot make a room with people in it encrypted (their
    // media is not).
    let now = world.now;
    world.room.join(now, request("late", true)).unwrap();
    world
        .client_mut(alice)
        .send(ClientMessage::E2eeIdentity { key: "k".into() });
    world.run_for(Duration::from_millis(50));
    assert_eq!(
        world.clients[alice].errors,
        [ErrorCode::UnexpectedMessage; 2]
    );

    // A room its first token makes encrypted stays so.
    let mut world = World::new(33, LinkConfig::default(), RoomConfig::default());
    let now = world.now;
    world.room.join(now, request("opener", true)).unwrap();
    let bob = world.join("Bob", Grants::default());
    assert!(world.clients[bob].room_e2ee);
}
