//! Interpretation channels in the room core, in simulated time: each
//! listener hears the floor and the live interpreter of the language it
//! chose, and nothing of the other channels; a change of channel takes
//! effect at the next packet; a booth hands over with no overlap.

use std::time::Duration;

use hotline_proto::{ClientMessage, ErrorCode, Grants, Language, TrackKind};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, World};

/// One audio packet's time.
const PACKET: Duration = Duration::from_millis(20);

fn lang(tag: &str) -> Language {
    Language::parse(tag).unwrap()
}

fn interpreter(a: &str, b: &str) -> Grants {
    Grants {
        interpret: Some([lang(a), lang(b)]),
        ..Grants::default()
    }
}

fn pid(world: &World, i: usize) -> String {
    world.clients[i].participant_id.clone().expect("joined")
}

fn audio(world: &World, to: usize, from: usize) -> u64 {
    world.clients[to].frames_from(&pid(world, from), TrackKind::Audio)
}

/// A room with Russian, English and French channels: a speaker on the
/// floor, an English and a French interpreter, and a listener.
fn summit() -> (World, [usize; 4]) {
    let config = RoomConfig {
        languages: vec![lang("ru"), lang("en"), lang("fr")],
        ..RoomConfig::default()
    };
    let mut world = World::new(21, LinkConfig::default(), config);
    let speaker = world.join("Speaker", Grants::default());
    let english = world.join("English", interpreter("ru", "en"));
    let french = world.join("French", interpreter("ru", "fr"));
    let listener = world.join("Listener", Grants::default());
    world.publish(speaker);
    world.publish_interpretation(english, "en");
    world.publish_interpretation(french, "fr");
    assert!(world.run_until(Duration::from_secs(5), |w| {
        w.clients[listener].subscribed_publishers().len() == 3
            && w.clients[listener]
                .channels
                .iter()
                .all(|c| c.language == lang("ru") || c.live.is_some())
    }));
    (world, [speaker, english, french, listener])
}

#[test]
fn a_listener_hears_the_floor_and_the_channel_it_chose_and_nothing_else() {
    let (mut world, [speaker, english, french, listener]) = summit();
    // The floor alone, until it chooses.
    world.run_for(Duration::from_secs(1));
    assert!(audio(&world, listener, speaker) > 30);
    assert_eq!(audio(&world, listener, english), 0);
    assert_eq!(audio(&world, listener, french), 0);
    // Interpreters' voices never reach the floor: the speaker hears none.
    assert_eq!(audio(&world, speaker, english), 0);
    assert_eq!(audio(&world, speaker, french), 0);

    world.client_mut(listener).send(ClientMessage::Listen {
        language: Some(lang("en")),
    });
    let floor = audio(&world, listener, speaker);
    world.run_for(Duration::from_secs(1));
    assert!(audio(&world, listener, english) > 40, "English heard");
    assert_eq!(audio(&world, listener, french), 0, "no French");
    assert!(
        audio(&world, listener, speaker) > floor + 40,
        "the floor still"
    );

    // A channel the room does not have is refused.
    world.client_mut(listener).send(ClientMessage::Listen {
        language: Some(lang("de")),
    });
    world.run_for(Duration::from_millis(100));
    assert_eq!(world.clients[listener].errors, [ErrorCode::UnknownLanguage]);

    // Back to the floor alone: nothing more of the English channel.
    world
        .client_mut(listener)
        .send(ClientMessage::Listen { language: None });
    world.run_for(Duration::from_millis(100));
    let heard = audio(&world, listener, english);
    world.run_for(Duration::from_secs(1));
    assert_eq!(audio(&world, listener, english), heard);
}

#[test]
fn switching_channel_takes_effect_at_the_next_packet() {
    let (mut world, [_, english, french, listener]) = summit();
    world.client_mut(listener).send(ClientMessage::Listen {
        language: Some(lang("en")),
    });
    world.run_for(Duration::from_secs(1));

    let switched_at = world.now;
    world.client_mut(listener).send(ClientMessage::Listen {
        language: Some(lang("fr")),
    });
    let english_then = audio(&world, listener, english);
    let french_then = audio(&world, listener, french);
    // French comes with the next packet: within a packet time of the
    // switch, plus the way from interpreter to server to listener.
    let way = 2 * LinkConfig::default().delay;
    assert!(
        world.run_until(PACKET + way + Duration::from_millis(2), |w| {
            audio(w, listener, french) > french_then
        })
    );
    assert!(world.now - switched_at <= PACKET + way + Duration::from_millis(2));
    // English stops: at most what was already on its way.
    world.run_for(Duration::from_secs(1));
    let in_flight = (way.as_millis() / PACKET.as_millis()) as u64 + 1;
    assert!(
        audio(&world, listener, english) <= english_then + in_flight,
        "{} after {english_then}",
        audio(&world, listener, english)
    );
}

#[test]
fn a_booth_hands_over_without_two_interpreters_heard_at_once() {
    let (mut world, [_, english, _, listener]) = summit();
    let relief = world.join("Relief", interpreter("en", "ru"));
    world.publish_interpretation(relief, "en");
    world.client_mut(listener).send(ClientMessage::Listen {
        language: Some(lang("en")),
    });
    assert!(world.run_until(Duration::from_secs(5), |w| {
        w.clients[listener].subscribed_publishers().len() == 4
    }));
    world.run_for(Duration::from_secs(1));
    // On standby: not heard, and the room says who is live.
    assert!(audio(&world, listener, english) > 40);
    assert_eq!(audio(&world, listener, relief), 0);
    let channel = |w: &World| {
        w.clients[listener]
            .channels
            .iter()
            .find(|c| c.language == lang("en"))
            .cloned()
            .unwrap()
    };
    assert_eq!(channel(&world).live, Some(pid(&world, english)));
    assert_eq!(channel(&world).interpreters.len(), 2);

    // A non-interpreter cannot take a channel.
    world.client_mut(listener).send(ClientMessage::TakeChannel {
        language: lang("en"),
    });
    world.run_for(Duration::from_millis(50));
    assert_eq!(
        world.clients[listener].errors,
        [ErrorCode::NotAnInterpreter]
    );

    // The relief takes over. Step by step, the listener never gets the
    // outgoing interpreter after the incoming one, and the gap between
    // them is at most a packet.
    world.client_mut(relief).send(ClientMessage::TakeChannel {
        language: lang("en"),
    });
    let mut last_outgoing = (audio(&world, listener, english), world.now);
    let mut first_incoming = None;
    let until = world.now + Duration::from_secs(2);
    while world.now < until {
        world.progress();
        let outgoing = audio(&world, listener, english);
        let incoming = audio(&world, listener, relief);
        if outgoing > last_outgoing.0 {
            assert!(first_incoming.is_none(), "both interpreters heard at once");
            last_outgoing = (outgoing, world.now);
        }
        if incoming > 0 && first_incoming.is_none() {
            first_incoming = Some(world.now);
        }
    }
    let first_incoming = first_incoming.expect("the relief is heard");
    assert!(first_incoming - last_outgoing.1 <= PACKET + Duration::from_millis(2));
    assert!(audio(&world, listener, relief) > 80);
    assert_eq!(channel(&world).live, Some(pid(&world, relief)));

    // The live interpreter leaves: the channel falls silent, and says so.
    world.close_tab(relief);
    world.run_for(Duration::from_millis(100));
    assert_eq!(channel(&world).live, None);
}

#[test]
fn only_interpreters_publish_interpretation_and_they_publish_nothing_else() {
    let config = RoomConfig {
        languages: vec![lang("ru"), lang("en")],
        ..RoomConfig::default()
    };
    let mut world = World::new(22, LinkConfig::default(), config);
    let guest = world.join("Guest", Grants::default());
    let english = world.join("English", interpreter("ru", "en"));
    world.publish_interpretation(guest, "en");
    world.publish(english);
    world.run_for(Duration::from_millis(200));
    assert_eq!(world.clients[guest].errors, [ErrorCode::PublishNotAllowed]);
    assert_eq!(
        world.clients[english].errors,
        [ErrorCode::PublishNotAllowed]
    );
}
