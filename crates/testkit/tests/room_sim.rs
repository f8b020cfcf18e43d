//! The room core with simulated browsers on a seeded network, in simulated
//! time: seconds of calls in milliseconds, the same on every run.

use std::time::Duration;

use hotline_proto::{ConnectionState, ErrorCode, Grants, TrackKind};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, World};

fn lossy() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        loss: 0.01,
    }
}

fn pid(world: &World, i: usize) -> String {
    world.clients[i].participant_id.clone().expect("joined")
}

/// Whether client `to` decodes audio and video from client `from`.
fn receives(world: &World, to: usize, from: usize, frames: u64) -> bool {
    let from = pid(world, from);
    world.clients[to].frames_from(&from, TrackKind::Video) >= frames
        && world.clients[to].frames_from(&from, TrackKind::Audio) >= frames
}

/// Alice and Bob in a call: Bob publishes (Alice too when `both_publish`),
/// run until the media flows.
fn call(
    seed: u64,
    link: LinkConfig,
    config: RoomConfig,
    both_publish: bool,
) -> (World, usize, usize) {
    let mut world = World::new(seed, link, config);
    let a = world.join("Alice", Grants::default());
    let b = world.join("Bob", Grants::default());
    world.publish(b);
    if both_publish {
        world.publish(a);
    }
    let flowing = world.run_until(Duration::from_secs(5), |w| {
        receives(w, a, b, 30) && (!both_publish || receives(w, b, a, 30))
    });
    assert!(
        flowing,
        "media flows within 5 s: {:?} / {:?}",
        world.clients[a].received, world.clients[b].received
    );
    (world, a, b)
}

#[test]
fn three_peers_see_each_other_late_joiner_catches_up_and_leaver_is_removed() {
    let (mut world, a, b) = call(7, lossy(), RoomConfig::default(), true);

    // Carol joins late: the tracks already published reach her, and video
    // starts at once because the room asks the publishers for a keyframe.
    let c = world.join("Carol", Grants::default());
    let joined_at = world.now;
    assert!(world.run_until(Duration::from_secs(3), |w| {
        let p = |i| pid(w, i);
        w.clients[c].frames_from(&p(a), TrackKind::Video) > 0
            && w.clients[c].frames_from(&p(b), TrackKind::Video) > 0
    }));
    assert!(
        world.now - joined_at < Duration::from_secs(1),
        "late joiner's first video frame after {:?}",
        world.now - joined_at
    );
    world.publish(c);
    assert!(world.run_until(Duration::from_secs(5), |w| {
        receives(w, a, c, 30)
            && receives(w, b, c, 30)
            && receives(w, c, a, 60)
            && receives(w, c, b, 60)
    }));
    for i in [a, b, c] {
        assert_eq!(
            world.clients[i].participants.len(),
            2,
            "{} sees two others",
            world.clients[i].name
        );
    }

    // Bob leaves: he is gone from the others, and so are his tracks.
    let bob = pid(&world, b);
    world.client_mut(b).leave();
    assert!(world.run_until(Duration::from_secs(2), |w| {
        [a, c].iter().all(|&i| {
            !w.clients[i].participants.contains_key(&bob)
                && !w.clients[i].subscribed_publishers().contains(&bob)
        })
    }));
    let frames_then = world.clients[a].frames_from(&pid(&world, c), TrackKind::Video);
    world.run_for(Duration::from_secs(1));
    assert!(
        world.clients[a].frames_from(&pid(&world, c), TrackKind::Video) > frames_then + 20,
        "the call goes on for the others"
    );
    assert_eq!(world.room.participant_count(), 2);
}

#[test]
fn closing_the_tab_removes_the_participant_at_once() {
    let (mut world, a, b) = call(11, LinkConfig::default(), RoomConfig::default(), false);
    let bob = pid(&world, b);
    world.close_tab(b);
    assert!(!world.clients[a].participants.contains_key(&bob));
    assert!(world.run_until(Duration::from_secs(1), |w| w.clients[a]
        .subscribed_publishers()
        .is_empty()));
}

#[test]
fn silent_participant_shows_reconnecting_then_times_out() {
    let config = RoomConfig {
        disconnect_timeout: Duration::from_secs(20),
        ..RoomConfig::default()
    };
    let (mut world, a, b) = call(3, LinkConfig::default(), config, false);

    let bob = pid(&world, b);
    let died_at = world.now;
    world.client_mut(b).silent = true;
    assert!(world.run_until(Duration::from_secs(10), |w| {
        w.clients[a].participants.get(&bob).map(|p| p.connection)
            == Some(ConnectionState::Reconnecting)
    }));
    let shown_after = world.now - died_at;
    assert!(
        shown_after >= Duration::from_secs(2) && shown_after <= Duration::from_millis(3500),
        "reconnecting shown after {shown_after:?}"
    );
    assert!(world.run_until(Duration::from_secs(30), |w| !w.clients[a]
        .participants
        .contains_key(&bob)));
    let removed_after = world.now - died_at;
    assert!(
        removed_after >= Duration::from_secs(19) && removed_after <= Duration::from_secs(21),
        "removed after {removed_after:?}"
    );
    assert!(world
        .closed
        .iter()
        .any(|(id, r)| id.as_str() == bob && *r == hotline_proto::CloseReason::TimedOut));
}

#[test]
fn a_token_without_publish_can_watch_but_not_publish() {
    let mut world = World::new(5, LinkConfig::default(), RoomConfig::default());
    let a = world.join("Alice", Grants::default());
    let viewer = world.join(
        "Viewer",
        Grants {
            publish: false,
            ..Grants::default()
        },
    );
    world.publish(a);
    world.publish(viewer);
    assert!(world.run_until(Duration::from_secs(5), |w| receives(w, viewer, a, 30)));
    assert_eq!(world.clients[viewer].errors, [ErrorCode::PublishNotAllowed]);
    world.run_for(Duration::from_secs(1));
    assert!(
        world.clients[a].subscribed_publishers().is_empty(),
        "nothing of the viewer reaches Alice"
    );
    assert!(world.clients[a].received.is_empty());
}

#[test]
fn chat_reaches_everyone_and_needs_the_data_grant() {
    let mut world = World::new(9, LinkConfig::default(), RoomConfig::default());
    let a = world.join("Alice", Grants::default());
    let b = world.join("Bob", Grants::default());
    let mute = world.join(
        "Muted",
        Grants {
            publish_data: false,
            ..Grants::default()
        },
    );
    world.client_mut(a).send_chat("  hello  ");
    world.client_mut(mute).send_chat("spam");
    world.client_mut(b).send_chat("");
    world.run_for(Duration::from_millis(100));
    for i in [a, b, mute] {
        assert_eq!(
            world.clients[i].chats,
            [("Alice".to_string(), "hello".to_string())]
        );
    }
    assert_eq!(world.clients[mute].errors, [ErrorCode::DataNotAllowed]);
    assert_eq!(world.clients[b].errors, [ErrorCode::InvalidChat]);
}

#[test]
fn same_identity_joining_again_replaces_the_older_session() {
    let mut world = World::new(1, LinkConfig::default(), RoomConfig::default());
    let first = world.join("Alice", Grants::default());
    let old = pid(&world, first);
    let other = world.join("Bob", Grants::default());
    world.join("Alice", Grants::default());
    assert_eq!(world.room.participant_count(), 2);
    assert!(world
        .closed
        .iter()
        .any(|(id, r)| id.as_str() == old && *r == hotline_proto::CloseReason::Replaced));
    assert!(!world.clients[other].participants.contains_key(&old));
}

#[test]
fn a_session_whose_media_never_connects_is_removed_and_audited() {
    let mut world = World::new(13, LinkConfig::default(), RoomConfig::default());
    let a = world.join("Alice", Grants::default());
    let b = world.join("Bob", Grants::default());
    world.client_mut(b).media_blocked = true;
    world.publish(a);
    let bob = pid(&world, b);
    let start = world.now;
    assert!(world.run_until(Duration::from_secs(40), |w| !w.clients[a]
        .participants
        .contains_key(&bob)));
    let after = world.now - start;
    assert!(
        // str0m's DTLS handshake may time out a little before the room's own
        // 30 s limit: either way the session ends as a media failure.
        after >= Duration::from_secs(10) && after <= Duration::from_secs(31),
        "removed after {after:?}: {:?} {:?}",
        world.closed,
        world.events
    );
    assert!(world
        .closed
        .iter()
        .any(|(id, r)| id.as_str() == bob && *r == hotline_proto::CloseReason::MediaFailed));
    assert_eq!(world.room.participant_count(), 1, "Alice stays");

    use hotline_sfu::RoomEvent;
    let joined = world
        .events
        .iter()
        .filter(|e| matches!(e, RoomEvent::Joined { .. }))
        .count();
    let published = world
        .events
        .iter()
        .filter(|e| matches!(e, RoomEvent::Published { .. }))
        .count();
    assert_eq!((joined, published), (2, 2));
    assert!(world.events.iter().any(|e| matches!(
        e,
        RoomEvent::Left { identity, media_failed: true, .. } if identity == "bob"
    )));
}

#[test]
fn a_lost_signaling_connection_resumes_the_same_session() {
    let (mut world, a, b) = call(17, lossy(), RoomConfig::default(), true);
    let bob = pid(&world, b);

    world.lose_signaling(b);
    assert_eq!(
        world.clients[a].participants[&bob].connection,
        ConnectionState::Reconnecting,
        "shown as reconnecting at once"
    );
    // A participant joining meanwhile: Bob's missed messages come with the resume.
    let c = world.join("Carol", Grants::default());
    world.publish(c);
    world.run_for(Duration::from_secs(2));
    let frames_before = world.clients[a].frames_from(&bob, TrackKind::Video);
    assert!(
        frames_before > 60,
        "media kept flowing while signaling was down"
    );

    assert!(world.resume(b));
    assert_eq!(world.clients[b].resumed, 1);
    assert_eq!(
        world.clients[a].participants[&bob].connection,
        ConnectionState::Connected
    );
    assert!(
        world.clients[b].participants.contains_key(&pid(&world, c)),
        "resumed sees Carol"
    );
    assert!(
        world.run_until(Duration::from_secs(5), |w| receives(w, b, c, 30)),
        "and gets her media"
    );
    assert!(world.clients[a].left.is_empty(), "no leave was ever seen");
    assert_eq!(world.room.participant_count(), 3);
}

#[test]
fn resume_is_refused_with_a_wrong_token_or_after_the_timeout() {
    let config = RoomConfig {
        disconnect_timeout: Duration::from_secs(10),
        ..RoomConfig::default()
    };
    let mut world = World::new(19, LinkConfig::default(), config);
    let a = world.join("Alice", Grants::default());
    world.join("Bob", Grants::default());
    let alice = world.ids[a].clone().unwrap();
    world.lose_signaling(a);
    assert!(world
        .room
        .resume(world.now, &alice, "not-the-token")
        .is_err());
    world.client_mut(a).silent = true;
    world.run_for(Duration::from_secs(11));
    assert!(!world.resume(a), "the session is gone after the timeout");
}

#[test]
fn an_ice_restart_keeps_media_flowing() {
    let (mut world, a, b) = call(23, lossy(), RoomConfig::default(), false);
    let bob = pid(&world, b);
    let before = world.clients[a].frames_from(&bob, TrackKind::Video);
    world.client_mut(a).restart_ice();
    world.run_for(Duration::from_millis(100));
    assert!(
        world.clients[a].errors.is_empty(),
        "{:?}",
        world.clients[a].errors
    );
    assert!(world.run_until(Duration::from_secs(5), |w| {
        w.clients[a].frames_from(&bob, TrackKind::Video) > before + 60
    }));
    assert!(world.clients[a].left.is_empty());
}

#[test]
fn a_host_mutes_removes_and_locks_and_nobody_else_can() {
    use hotline_proto::{ClientMessage, CloseReason};
    use hotline_sfu::{JoinError, JoinRequest};
    let mut world = World::new(12, LinkConfig::default(), RoomConfig::default());
    let host = world.join(
        "Hana",
        Grants {
            host: true,
            ..Grants::default()
        },
    );
    let a = world.join("Alice", Grants::default());
    let b = world.join("Bob", Grants::default());
    world.publish(a);
    world.publish(b);
    assert!(world.run_until(Duration::from_secs(5), |w| {
        receives(w, host, a, 30) && receives(w, host, b, 30)
    }));
    let (a_id, b_id) = (pid(&world, a), pid(&world, b));

    // A guest cannot.
    world.client_mut(b).send(ClientMessage::RemoveParticipant {
        participant_id: a_id.clone(),
    });
    world.run_for(Duration::from_millis(200));
    assert_eq!(world.clients[b].errors, [ErrorCode::HostOnly]);
    assert!(world.room.participant_ids().any(|p| p.as_str() == a_id));

    // The host mutes Alice's microphone: she is told, everyone sees it
    // muted, and it is no longer forwarded.
    let microphone = world.clients[host].participants[&a_id]
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Audio)
        .map(|t| t.track_id.clone())
        .unwrap();
    world.client_mut(host).send(ClientMessage::MuteParticipant {
        participant_id: a_id.clone(),
        track_id: microphone.clone(),
    });
    world.run_for(Duration::from_millis(300));
    assert_eq!(
        world.clients[a].muted_by_host,
        std::slice::from_ref(&microphone)
    );
    let seen_muted = |w: &World, to: usize| {
        w.clients[to].participants[&a_id]
            .tracks
            .iter()
            .any(|t| t.track_id == microphone && t.muted)
    };
    assert!(seen_muted(&world, host) && seen_muted(&world, b));
    let heard = world.clients[b].frames_from(&a_id, TrackKind::Audio);
    world.run_for(Duration::from_secs(1));
    assert_eq!(
        world.clients[b].frames_from(&a_id, TrackKind::Audio),
        heard,
        "not forwarded"
    );

    // The host removes Bob, who may not come back.
    world
        .client_mut(host)
        .send(ClientMessage::RemoveParticipant {
            participant_id: b_id.clone(),
        });
    world.run_for(Duration::from_millis(200));
    assert!(world
        .closed
        .iter()
        .any(|(id, reason)| id.as_str() == b_id && *reason == CloseReason::Removed));
    let again = |identity: &str, grants: Grants| JoinRequest {
        estimate_bandwidth: true,
        identity: identity.to_string(),
        name: identity.to_string(),
        grants,
        admitted: false,
        languages: Vec::new(),
        e2ee: false,
    };
    let now = world.now;
    assert!(matches!(
        world.room.join(now, again("bob", Grants::default())),
        Err(JoinError::Removed)
    ));

    // The host locks the room: everyone is told, nobody new gets in (a
    // host does), until it is unlocked.
    world
        .client_mut(host)
        .send(ClientMessage::LockRoom { locked: true });
    world.run_for(Duration::from_millis(200));
    assert_eq!(world.clients[a].room_locked, Some(true));
    assert!(matches!(
        world.room.join(now, again("carol", Grants::default())),
        Err(JoinError::Locked)
    ));
    let co_host = Grants {
        host: true,
        ..Grants::default()
    };
    assert!(world.room.join(now, again("hugo", co_host)).is_ok());
    world
        .client_mut(host)
        .send(ClientMessage::LockRoom { locked: false });
    world.run_for(Duration::from_millis(200));
    assert!(world
        .room
        .join(world.now, again("carol", Grants::default()))
        .is_ok());
}

#[test]
fn a_lobby_holds_guests_until_a_host_admits_or_refuses_them() {
    use hotline_proto::{ClientMessage, CloseReason};
    use hotline_sfu::{JoinRequest, RoomEvent};
    let config = RoomConfig {
        lobby: true,
        ..RoomConfig::default()
    };
    let mut world = World::new(13, LinkConfig::default(), config);
    let host_grants = Grants {
        host: true,
        ..Grants::default()
    };
    let waiting_id = |w: &World, i: usize| w.ids[i].as_ref().expect("has a session").to_string();

    // Alice comes before any host: she waits, and is told nobody can let
    // her in yet.
    let a = world.join("Alice", Grants::default());
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[a].waiting, Some(false));
    assert_eq!(world.clients[a].participant_id, None, "no welcome");
    let a_id = waiting_id(&world, a);

    // The host comes straight in and sees her waiting; she hears a host
    // is there. She sees nobody in the call, and may not do anything.
    let host = world.join("Hana", host_grants);
    world.publish(host);
    world.run_for(Duration::from_millis(200));
    assert_eq!(
        world.clients[host].lobby,
        Some((true, vec!["Alice".into()]))
    );
    assert!(world.clients[host].participants.is_empty());
    assert_eq!(world.clients[a].waiting, Some(true));
    assert!(world.clients[a].participants.is_empty());
    world.client_mut(a).send_chat("let me in");
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[a].errors, [ErrorCode::UnexpectedMessage]);
    assert!(world.clients[host].chats.is_empty());

    // Bob waits too; Alice cannot admit him (she is not in, and not a host).
    let b = world.join("Bob", Grants::default());
    let b_id = waiting_id(&world, b);
    world.run_for(Duration::from_millis(100));
    assert_eq!(
        world.clients[host].lobby,
        Some((true, vec!["Alice".into(), "Bob".into()]))
    );

    // The host admits Alice: she is welcomed and the two see each other.
    world
        .client_mut(host)
        .send(ClientMessage::AdmitParticipant {
            participant_id: a_id.clone(),
        });
    world.run_for(Duration::from_millis(100));
    assert_eq!(pid(&world, a), a_id, "welcomed with the waiting id");
    assert_eq!(world.clients[a].waiting, None);
    world.publish(a);
    assert!(world.run_until(Duration::from_secs(5), |w| {
        receives(w, host, a, 30) && receives(w, a, host, 30)
    }));
    assert!(world.events.iter().any(|e| matches!(e,
        RoomEvent::Admitted { identity, .. } if identity == "alice")));

    // A guest cannot admit or refuse; the host refuses Bob, who is told.
    world.client_mut(a).send(ClientMessage::AdmitParticipant {
        participant_id: b_id.clone(),
    });
    world.run_for(Duration::from_millis(100));
    assert_eq!(
        world.clients[a].errors,
        [ErrorCode::UnexpectedMessage, ErrorCode::HostOnly]
    );
    world
        .client_mut(host)
        .send(ClientMessage::RefuseParticipant {
            participant_id: b_id.clone(),
        });
    world.run_for(Duration::from_millis(100));
    assert!(world
        .closed
        .iter()
        .any(|(id, reason)| id.as_str() == b_id && *reason == CloseReason::Refused));
    assert_eq!(world.clients[b].participant_id, None);
    assert!(!world.clients[a].participants.contains_key(&b_id));
    assert_eq!(world.clients[host].lobby, Some((true, vec![])));
    // Admitting someone no longer waiting is an error, not a crash.
    world
        .client_mut(host)
        .send(ClientMessage::AdmitParticipant {
            participant_id: b_id.clone(),
        });
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[host].errors, [ErrorCode::UnknownParticipant]);

    // Alice, once admitted, comes back without waiting (a reload).
    let now = world.now;
    let knocks = |w: &World| {
        w.events
            .iter()
            .filter(|e| matches!(e, RoomEvent::Knocked { .. }))
            .count()
    };
    let before = knocks(&world);
    let again = |identity: &str| JoinRequest {
        estimate_bandwidth: true,
        identity: identity.to_string(),
        name: identity.to_string(),
        grants: Grants::default(),
        admitted: false,
        languages: Vec::new(),
        e2ee: false,
    };
    world.room.join(now, again("alice")).expect("in");
    assert_eq!(knocks(&world), before);

    // Carol waits; her connection breaks: she is out of the lobby.
    let c = world.join("Carol", Grants::default());
    world.run_for(Duration::from_millis(100));
    assert_eq!(
        world.clients[host].lobby,
        Some((true, vec!["Carol".into()]))
    );
    world.lose_signaling(c);
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[host].lobby, Some((true, vec![])));

    // Dave waits; the host turns the lobby off, which lets him in.
    let d = world.join("Dave", Grants::default());
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[d].waiting, Some(true));
    world
        .client_mut(host)
        .send(ClientMessage::SetLobby { enabled: false });
    world.run_for(Duration::from_millis(100));
    assert!(world.clients[d].participant_id.is_some(), "welcomed");
    assert_eq!(world.clients[host].lobby, Some((false, vec![])));
    assert_eq!(knocks(&world), before + 2);
}
