//! The whole server in-process, over real loopback sockets: WebSocket
//! signaling and UDP media, with str0m peers standing in for browsers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hotline_auth::Grants;
use hotline_proto::{ClientMessage, ServerMessage, TrackKind};
use hotline_server::config::ServerConfig;
use hotline_server::serve::RunningServer;
use hotline_testkit::SimClient;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{close_of, join_message, next_matching, secret, send, token, Ws};

async fn server() -> RunningServer {
    server_with(|_| {}).await
}

async fn server_with(adjust: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    common::server_with(adjust).await.0
}

async fn connect(server: &RunningServer) -> Ws {
    common::connect(server.http_addr).await
}

/// What a driven client has seen so far.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    participant_id: Option<String>,
    frames: BTreeMap<(String, TrackKind), u64>,
}

/// Runs a [`SimClient`] over real sockets in a task, publishing snapshots.
async fn spawn_client(
    server: &RunningServer,
    room: &str,
    identity: &str,
) -> watch::Receiver<Snapshot> {
    let publisher_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let subscriber_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let publisher_addr = publisher_socket.local_addr().unwrap();
    let subscriber_addr = subscriber_socket.local_addr().unwrap();
    let mut client = SimClient::new(identity, Instant::now(), publisher_addr, subscriber_addr);
    client.join(&token(room, identity, Grants::default(), 3600), room);
    let mut published = false;
    let mut ws = connect(server).await;
    let (tx, rx) = watch::channel(Snapshot::default());
    tokio::spawn(async move {
        let mut pub_buf = vec![0u8; 2048];
        let mut sub_buf = vec![0u8; 2048];
        loop {
            while let Some(message) = client.poll_signal() {
                send(&mut ws, &message).await;
            }
            while let Some(d) = client.poll_transmit() {
                let socket: &UdpSocket = if d.source == publisher_addr {
                    &publisher_socket
                } else {
                    &subscriber_socket
                };
                let _ = socket.send_to(&d.contents, d.destination).await;
            }
            let deadline = client.poll_timeout();
            tokio::select! {
                message = ws.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        let message: ServerMessage = serde_json::from_str(&text).unwrap();
                        let welcomed = matches!(message, ServerMessage::Welcome { .. });
                        client.handle_server_message(message);
                        if welcomed && !published {
                            published = true;
                            client.publish_camera_and_microphone(Instant::now());
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                received = publisher_socket.recv_from(&mut pub_buf) => {
                    if let Ok((n, source)) = received {
                        let d = hotline_testkit::Datagram { source, destination: publisher_addr, contents: pub_buf[..n].to_vec() };
                        client.handle_datagram(Instant::now(), &d);
                    }
                }
                received = subscriber_socket.recv_from(&mut sub_buf) => {
                    if let Ok((n, source)) = received {
                        let d = hotline_testkit::Datagram { source, destination: subscriber_addr, contents: sub_buf[..n].to_vec() };
                        client.handle_datagram(Instant::now(), &d);
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => client.handle_timeout(Instant::now()),
            }
            let snapshot = Snapshot {
                participant_id: client.participant_id.clone(),
                frames: client
                    .participants
                    .keys()
                    .flat_map(|p| {
                        [TrackKind::Audio, TrackKind::Video]
                            .map(|k| ((p.clone(), k), client.frames_from(p, k)))
                    })
                    .collect(),
            };
            if tx.send(snapshot).is_err() {
                return;
            }
        }
    });
    rx
}

async fn wait_for(
    rx: &mut watch::Receiver<Snapshot>,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let result = tokio::time::timeout(Duration::from_secs(10), async {
        rx.wait_for(|s| done(s)).await.map(|s| s.clone())
    })
    .await;
    match result {
        Ok(Ok(s)) => s,
        _ => panic!("timed out waiting for {what}: {:?}", rx.borrow()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_str0m_peers_exchange_media_through_the_server() {
    let server = server().await;
    let mut alice = spawn_client(&server, "loop", "alice").await;
    let mut bob = spawn_client(&server, "loop", "bob").await;
    let a = wait_for(&mut alice, "alice joined", |s| s.participant_id.is_some()).await;
    let b = wait_for(&mut bob, "bob joined", |s| s.participant_id.is_some()).await;
    let (a_id, b_id) = (a.participant_id.unwrap(), b.participant_id.unwrap());
    let got = |from: String| {
        move |s: &Snapshot| {
            s.frames
                .get(&(from.clone(), TrackKind::Video))
                .copied()
                .unwrap_or(0)
                >= 30
                && s.frames
                    .get(&(from.clone(), TrackKind::Audio))
                    .copied()
                    .unwrap_or(0)
                    >= 30
        }
    };
    wait_for(&mut alice, "alice receives bob", got(b_id.clone())).await;
    wait_for(&mut bob, "bob receives alice", got(a_id.clone())).await;
    server.stop();
}

#[tokio::test]
async fn bad_tokens_are_refused_with_their_close_codes() {
    let server = server().await;
    let cases = [
        (
            "forged",
            format!("{}x", token("r", "a", Grants::default(), 60)),
            "r",
            4001,
        ),
        ("garbage", "not-a-token".to_string(), "r", 4001),
        (
            "wrong room",
            token("other", "a", Grants::default(), 60),
            "r",
            4004,
        ),
    ];
    for (what, token, room, code) in cases {
        let mut ws = connect(&server).await;
        send(
            &mut ws,
            &ClientMessage::Join {
                protocol_version: 1,
                token,
                room: room.into(),
            },
        )
        .await;
        assert_eq!(close_of(&mut ws).await.0, code, "{what}");
    }

    // Expired long ago (beyond the leeway).
    let expired = {
        let claims = hotline_auth::Claims {
            sub: "a".into(),
            name: "A".into(),
            room: "r".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            grants: Grants::default(),
        };
        hotline_auth::sign(&claims, &secret())
    };
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::Join {
            protocol_version: 1,
            token: expired,
            room: "r".into(),
        },
    )
    .await;
    assert_eq!(close_of(&mut ws).await, (4002, "token expired".to_string()));

    // Wrong protocol version and a first message that is not a join.
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::Join {
            protocol_version: 99,
            token: "t".into(),
            room: "r".into(),
        },
    )
    .await;
    assert_eq!(close_of(&mut ws).await.0, 4000);
    let mut ws = connect(&server).await;
    send(&mut ws, &ClientMessage::Ping).await;
    assert_eq!(close_of(&mut ws).await.0, 4009);
    server.stop();
}

#[tokio::test]
async fn malformed_and_oversized_messages_get_errors_and_spare_the_others() {
    let server = server().await;
    let mut alice = connect(&server).await;
    send(&mut alice, &join_message("m", "alice")).await;
    let mut bob = connect(&server).await;
    send(&mut bob, &join_message("m", "bob")).await;

    next_matching(&mut alice, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    for junk in [
        "{",
        "[]",
        r#"{"type":"publish_offer","sdp":5}"#,
        r#"{"type":"subscriber_answer","sdp":"v=0 nonsense"}"#,
    ] {
        alice.send(Message::Text(junk.into())).await.unwrap();
        let reply = next_matching(&mut alice, |m| matches!(m, ServerMessage::Error { .. })).await;
        assert!(matches!(reply, ServerMessage::Error { .. }), "{junk}");
    }
    send(
        &mut alice,
        &ClientMessage::PublishOffer {
            sdp: "garbage".into(),
            tracks: vec![],
        },
    )
    .await;
    let reply = next_matching(&mut alice, |m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(matches!(
        reply,
        ServerMessage::Error {
            code: hotline_proto::ErrorCode::InvalidSdp,
            ..
        }
    ));

    // Still alive, and Bob is untouched.
    send(&mut alice, &ClientMessage::Ping).await;
    next_matching(&mut alice, |m| matches!(m, ServerMessage::Pong)).await;
    send(
        &mut bob,
        &ClientMessage::Chat {
            text: "still here".into(),
        },
    )
    .await;
    next_matching(
        &mut alice,
        |m| matches!(m, ServerMessage::Chat { text, .. } if text == "still here"),
    )
    .await;

    // An oversized message closes only that connection, with 1009.
    let huge = format!(r#"{{"type":"chat","text":"{}"}}"#, "x".repeat(100_000));
    alice.send(Message::Text(huge.into())).await.unwrap();
    let (code, _) = close_of(&mut alice).await;
    assert_eq!(code, u16::from(CloseCode::Size));
    let left = next_matching(&mut bob, |m| {
        matches!(m, ServerMessage::ParticipantLeft { .. })
    })
    .await;
    assert!(matches!(left, ServerMessage::ParticipantLeft { .. }));
    send(&mut bob, &ClientMessage::Ping).await;
    next_matching(&mut bob, |m| matches!(m, ServerMessage::Pong)).await;
    server.stop();
}

#[tokio::test]
async fn garbage_datagrams_do_not_disturb_the_server() {
    let server = server().await;
    let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let media: SocketAddr = server.media_addr;
    for i in 0..500u32 {
        let len = (i as usize * 7) % 1200;
        let bytes: Vec<u8> = (0..len).map(|j| (j as u32 * 31 + i) as u8).collect();
        junk.send_to(&bytes, media).await.unwrap();
    }
    let mut ws = connect(&server).await;
    send(&mut ws, &join_message("g", "a")).await;
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.to_text().unwrap().contains("\"welcome\""));
    server.stop();
}

#[tokio::test]
async fn rooms_are_only_those_configured_when_auto_creation_is_off() {
    let server = server_with(|c| {
        c.auto_create_rooms = false;
        c.rooms = vec!["summit".into()];
        c.max_participants_per_room = 1;
    })
    .await;
    let mut unknown = connect(&server).await;
    send(&mut unknown, &join_message("elsewhere", "a")).await;
    assert_eq!(
        close_of(&mut unknown).await,
        (4005, "room not found".to_string())
    );

    let mut first = connect(&server).await;
    send(&mut first, &join_message("summit", "a")).await;
    let welcome = tokio::time::timeout(Duration::from_secs(5), first.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(welcome.to_text().unwrap().contains(r#""type":"welcome""#));

    let mut second = connect(&server).await;
    send(&mut second, &join_message("summit", "b")).await;
    assert_eq!(
        close_of(&mut second).await,
        (4011, "room is full".to_string())
    );
    server.stop();
}

#[tokio::test]
async fn a_dropped_connection_resumes_the_same_session_and_others_see_no_leave() {
    let server = server().await;
    let join = |identity: &str| join_message("resume", identity);
    // Like `next_matching`, and nobody may leave meanwhile.
    async fn next_matching(ws: &mut Ws, want: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        common::next_matching(ws, |m| {
            assert!(
                !matches!(m, ServerMessage::ParticipantLeft { .. }),
                "nobody leaves: {m:?}"
            );
            want(m)
        })
        .await
    }
    let is_welcome = |m: &ServerMessage| matches!(m, ServerMessage::Welcome { .. });

    let mut alice = connect(&server).await;
    send(&mut alice, &join("alice")).await;
    next_matching(&mut alice, is_welcome).await;
    let mut bob = connect(&server).await;
    send(&mut bob, &join("bob")).await;
    let ServerMessage::Welcome {
        participant_id,
        resume_token,
        ..
    } = next_matching(&mut bob, is_welcome).await
    else {
        unreachable!()
    };
    let connection_of = |id: &str, state: hotline_proto::ConnectionState| {
        let id = id.to_string();
        move |m: &ServerMessage| {
            matches!(m, ServerMessage::ParticipantUpdated { participant }
                if participant.participant_id == id && participant.connection == state)
        }
    };

    // The network drops Bob's connection: no close frame.
    drop(bob);
    next_matching(
        &mut alice,
        connection_of(
            &participant_id,
            hotline_proto::ConnectionState::Reconnecting,
        ),
    )
    .await;

    // A wrong token does not take the session.
    let mut thief = connect(&server).await;
    let resume = |token: &str| ClientMessage::Resume {
        protocol_version: 1,
        room: "resume".into(),
        participant_id: participant_id.clone(),
        resume_token: token.into(),
    };
    send(&mut thief, &resume("0000")).await;
    assert_eq!(close_of(&mut thief).await.0, 4015);

    // Bob comes back on a new connection: same participant.
    let mut bob = connect(&server).await;
    send(&mut bob, &resume(&resume_token)).await;
    let resumed = next_matching(&mut bob, |m| matches!(m, ServerMessage::Resumed { .. })).await;
    let ServerMessage::Resumed {
        participant_id: same,
        participants,
    } = resumed
    else {
        unreachable!()
    };
    assert_eq!(same, participant_id);
    assert_eq!(participants.len(), 1, "sees Alice");
    next_matching(
        &mut alice,
        connection_of(&participant_id, hotline_proto::ConnectionState::Connected),
    )
    .await;

    // A second resume replaces the first connection; closing that older one
    // (even cleanly) does not end the session.
    let mut newer = connect(&server).await;
    send(&mut newer, &resume(&resume_token)).await;
    next_matching(&mut newer, |m| matches!(m, ServerMessage::Resumed { .. })).await;
    let _ = bob.close(None).await;
    send(
        &mut newer,
        &ClientMessage::Chat {
            text: "still me".into(),
        },
    )
    .await;
    next_matching(
        &mut alice,
        |m| matches!(m, ServerMessage::Chat { text, .. } if text == "still me"),
    )
    .await;
    server.stop();
}
