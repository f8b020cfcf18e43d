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
use std::sync::Arc;

use hotline_testkit::Datagram;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{close_of, join_message, next_matching, read_turn_frame, secret, send, token, Ws};

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

/// A simulated browser's two network paths (publisher, subscriber): what
/// arrives for either, and a way to send from either.
struct Link {
    publisher: SocketAddr,
    subscriber: SocketAddr,
    incoming: mpsc::Receiver<Datagram>,
    outgoing: mpsc::Sender<Datagram>,
}

/// Plain UDP: one socket per peer connection.
async fn udp_link() -> Link {
    let (in_tx, incoming) = mpsc::channel(1024);
    let (outgoing, mut out_rx) = mpsc::channel::<Datagram>(1024);
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let local = socket.local_addr().unwrap();
        let (reader, tx) = (socket.clone(), in_tx.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, source)) = reader.recv_from(&mut buf).await {
                let d = Datagram {
                    source,
                    destination: local,
                    contents: buf[..n].to_vec(),
                };
                if tx.send(d).await.is_err() {
                    return;
                }
            }
        });
        sockets.push((local, socket));
    }
    let link = Link {
        publisher: sockets[0].0,
        subscriber: sockets[1].0,
        incoming,
        outgoing,
    };
    tokio::spawn(async move {
        while let Some(d) = out_rx.recv().await {
            if let Some((_, socket)) = sockets.iter().find(|(a, _)| *a == d.source) {
                let _ = socket.send_to(&d.contents, d.destination).await;
            }
        }
    });
    link
}

/// Runs a [`SimClient`] over `link` in a task, publishing snapshots.
async fn spawn_client(
    server: &RunningServer,
    room: &str,
    identity: &str,
) -> watch::Receiver<Snapshot> {
    let link = udp_link().await;
    spawn_client_on(server, room, identity, link).await
}

async fn spawn_client_on(
    server: &RunningServer,
    room: &str,
    identity: &str,
    mut link: Link,
) -> watch::Receiver<Snapshot> {
    let mut client = SimClient::new(identity, Instant::now(), link.publisher, link.subscriber);
    client.join(&token(room, identity, Grants::default(), 3600), room);
    let mut published = false;
    let mut ws = connect(server).await;
    let (tx, rx) = watch::channel(Snapshot::default());
    tokio::spawn(async move {
        loop {
            while let Some(message) = client.poll_signal() {
                send(&mut ws, &message).await;
            }
            while let Some(d) = client.poll_transmit() {
                let _ = link.outgoing.send(d).await;
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
                Some(d) = link.incoming.recv() => client.handle_datagram(Instant::now(), &d),
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
                estimate_bandwidth: true,
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
            languages: Vec::new(),
            e2ee: false,
        };
        hotline_auth::sign(&claims, &secret())
    };
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &ClientMessage::Join {
            estimate_bandwidth: true,
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
            estimate_bandwidth: true,
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
            e2ee: false,
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
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Welcome { .. })).await;
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
    next_matching(&mut first, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    // A scheduled call's room exists anyway (a member without the host
    // grant waits in its lobby).
    let mut scheduled = connect(&server).await;
    send(&mut scheduled, &join_message("call-x1y2", "m")).await;
    next_matching(&mut scheduled, |m| {
        matches!(m, ServerMessage::Waiting { .. })
    })
    .await;

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
        ..
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

/// The relay's answer to one request on a TURN-over-TCP stream.
async fn turn_exchange(stream: &mut tokio::net::TcpStream, request: &[u8]) -> Vec<u8> {
    use tokio::io::AsyncWriteExt;
    stream.write_all(request).await.unwrap();
    read_turn_frame(stream).await.expect("a TURN frame")
}

/// Allocates on the relay over TCP as a browser does (challenge, then signed
/// request) and binds a channel to the media port; returns the relayed address.
async fn allocate_over_tcp(
    stream: &mut tokio::net::TcpStream,
    credentials: &hotline_turn::Credentials,
    media: SocketAddr,
) -> SocketAddr {
    use hotline_turn::credentials::long_term_key;
    use hotline_turn::message::{attr, Class, Message, MessageBuilder, Method};
    let allocate = || {
        MessageBuilder::new(Method::Allocate, Class::Request, rand::random())
            .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
    };
    let challenge = turn_exchange(stream, &allocate().build()).await;
    let nonce = Message::parse(&challenge)
        .unwrap()
        .text(attr::NONCE)
        .unwrap()
        .to_owned();
    let answer = turn_exchange(stream, &allocate().signed(credentials, &nonce).build()).await;
    let answer = Message::parse(&answer).unwrap();
    assert_eq!(answer.class, Class::Success, "allocated");
    let key = long_term_key(&credentials.username, &credentials.password);
    assert_eq!(answer.integrity_ok(&key), Some(true));
    let relayed = answer.xor_address(attr::XOR_RELAYED_ADDRESS).unwrap();
    let bind = MessageBuilder::new(Method::ChannelBind, Class::Request, rand::random())
        .u32(attr::CHANNEL_NUMBER, 0x4000 << 16)
        .xor_address(attr::XOR_PEER_ADDRESS, media)
        .signed(credentials, &nonce);
    let answer = turn_exchange(stream, &bind.build()).await;
    assert_eq!(
        Message::parse(&answer).unwrap().class,
        Class::Success,
        "channel bound"
    );
    relayed
}

/// Both peer connections through the relay, over TCP: the only path of a
/// browser whose network blocks UDP and all but one TCP port.
async fn relay_link(server: &RunningServer, identity: &str) -> Link {
    use hotline_turn::message::ChannelData;
    use tokio::io::AsyncWriteExt;
    let turn = server.turn_addr.expect("the relay runs");
    let credentials = hotline_server::turn::credential_key(&secret()).mint(
        identity,
        hotline_server::cli::unix_now(),
        600,
    );
    let (in_tx, incoming) = mpsc::channel(1024);
    let (outgoing, mut out_rx) = mpsc::channel::<Datagram>(1024);
    let mut writers = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(turn).await.unwrap();
        let relayed = allocate_over_tcp(&mut stream, &credentials, server.media_addr).await;
        let (mut reader, writer) = stream.into_split();
        let (tx, media) = (in_tx.clone(), server.media_addr);
        tokio::spawn(async move {
            while let Some(frame) = read_turn_frame(&mut reader).await {
                if let Some(data) = ChannelData::parse(&frame) {
                    let d = Datagram {
                        source: media,
                        destination: relayed,
                        contents: data.data.to_vec(),
                    };
                    if tx.send(d).await.is_err() {
                        return;
                    }
                }
            }
        });
        writers.push((relayed, writer));
    }
    let link = Link {
        publisher: writers[0].0,
        subscriber: writers[1].0,
        incoming,
        outgoing,
    };
    let media = server.media_addr;
    tokio::spawn(async move {
        while let Some(d) = out_rx.recv().await {
            if d.destination != media {
                continue; // the relay reaches the media port only
            }
            if let Some((_, writer)) = writers.iter_mut().find(|(a, _)| *a == d.source) {
                let frame = ChannelData::encode(0x4000, &d.contents, true);
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
            }
        }
    });
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_can_only_reach_the_relay_over_tcp_is_in_the_call() {
    let server = server().await;
    let mut alice = spawn_client(&server, "relayed", "alice").await;
    let link = relay_link(&server, "bob").await;
    let mut bob = spawn_client_on(&server, "relayed", "bob", link).await;
    let a = wait_for(&mut alice, "alice joined", |s| s.participant_id.is_some()).await;
    let b = wait_for(&mut bob, "bob joined", |s| s.participant_id.is_some()).await;
    let (a_id, b_id) = (a.participant_id.unwrap(), b.participant_id.unwrap());
    let got = |from: String| {
        move |s: &Snapshot| {
            [TrackKind::Video, TrackKind::Audio]
                .iter()
                .all(|k| s.frames.get(&(from.clone(), *k)).copied().unwrap_or(0) >= 30)
        }
    };
    wait_for(
        &mut alice,
        "alice receives bob through the relay",
        got(b_id),
    )
    .await;
    wait_for(&mut bob, "bob receives alice through the relay", got(a_id)).await;
    server.stop();
}

#[tokio::test]
async fn relay_credentials_come_before_welcome_and_only_reach_the_media_port() {
    use hotline_turn::message::{attr, Class, Message, MessageBuilder, Method};
    use hotline_turn::Credentials;
    let server = server().await;
    let turn = server.turn_addr.unwrap();
    let mut ws = connect(&server).await;
    send(&mut ws, &join_message("creds", "carol")).await;
    let first = next_matching(&mut ws, |_| true).await;
    let ServerMessage::IceServers { ice_servers } = first else {
        panic!("relays before welcome, got {first:?}");
    };
    let welcome = next_matching(&mut ws, |_| true).await;
    let ServerMessage::Welcome { participant_id, .. } = welcome else {
        panic!("welcome next, got {welcome:?}");
    };
    let relay = &ice_servers[0];
    assert_eq!(
        relay.urls,
        vec![
            format!("turn:{turn}?transport=udp"),
            format!("turn:{turn}?transport=tcp")
        ]
    );
    assert!(relay.username.ends_with(&format!(":{participant_id}")));
    let expires: u64 = relay.username.split(':').next().unwrap().parse().unwrap();
    let now = hotline_server::cli::unix_now();
    assert!(expires > now && expires <= now + 600, "short-lived");

    // Over UDP with those credentials: allocated; a permission for anything
    // but the media port is refused.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let exchange = |request: Vec<u8>| {
        let socket = &socket;
        async move {
            socket.send_to(&request, turn).await.unwrap();
            let mut buf = vec![0u8; 2048];
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
                .await
                .expect("the relay answers")
                .unwrap();
            buf.truncate(n);
            buf
        }
    };
    let allocate = || {
        MessageBuilder::new(Method::Allocate, Class::Request, rand::random())
            .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
    };
    let challenge = exchange(allocate().build()).await;
    let nonce = Message::parse(&challenge)
        .unwrap()
        .text(attr::NONCE)
        .unwrap()
        .to_owned();
    let credentials = Credentials {
        username: relay.username.clone(),
        password: relay.credential.clone(),
    };
    let signed = |b: MessageBuilder| b.signed(&credentials, &nonce).build();
    let code = |answer: &[u8]| {
        let message = Message::parse(answer).unwrap();
        message
            .get(attr::ERROR_CODE)
            .map(|v| u16::from(v[2]) * 100 + u16::from(v[3]))
    };
    assert_eq!(code(&exchange(signed(allocate())).await), None);
    let other_host: SocketAddr = "127.0.0.2:22".parse().unwrap();
    for (peer, expected) in [(other_host, Some(403)), (server.media_addr, None)] {
        let request = MessageBuilder::new(Method::CreatePermission, Class::Request, rand::random())
            .xor_address(attr::XOR_PEER_ADDRESS, peer);
        assert_eq!(code(&exchange(signed(request)).await), expected, "{peer}");
    }
    // Permissions are per address (RFC 8656), but data only goes to the
    // media port: a channel to any other port of this host is refused.
    for (peer, expected) in [(server.http_addr, Some(403)), (server.media_addr, None)] {
        let request = MessageBuilder::new(Method::ChannelBind, Class::Request, rand::random())
            .u32(attr::CHANNEL_NUMBER, 0x4000 << 16)
            .xor_address(attr::XOR_PEER_ADDRESS, peer);
        assert_eq!(code(&exchange(signed(request)).await), expected, "{peer}");
    }
    // Someone else's password does not open the relay.
    let stranger = Credentials {
        password: "guessed".into(),
        ..credentials.clone()
    };
    let request = allocate().signed(&stranger, &nonce).build();
    let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    other.send_to(&request, turn).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let (n, _) = other.recv_from(&mut buf).await.unwrap();
    assert_eq!(code(&buf[..n]), Some(401));
    server.stop();
}

#[tokio::test]
async fn without_the_relay_no_credentials_are_sent() {
    let server = server_with(|c| c.turn = None).await;
    assert!(server.turn_addr.is_none());
    let mut ws = connect(&server).await;
    send(&mut ws, &join_message("norelay", "dave")).await;
    let first = next_matching(&mut ws, |_| true).await;
    assert!(matches!(first, ServerMessage::Welcome { .. }), "{first:?}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_stats_show_each_subscribers_layer_and_need_the_inspect_grant() {
    use hotline_proto::stats::RoomStats;
    let server = server().await;
    let addr = server.http_addr;
    let mut alice = spawn_client(&server, "watched", "alice").await;
    let mut bob = spawn_client(&server, "watched", "bob").await;
    let a = wait_for(&mut alice, "alice joined", |s| s.participant_id.is_some()).await;
    let a_id = a.participant_id.unwrap();
    wait_for(&mut bob, "bob receives alice's video", |s| {
        s.frames
            .get(&(a_id.clone(), TrackKind::Video))
            .copied()
            .unwrap_or(0)
            >= 30
    })
    .await;

    let inspect = Grants {
        inspect: true,
        ..Grants::default()
    };
    let path = "/api/rooms/watched/stats";
    // No token, a participant's token, another room's inspect token.
    let (status, body) = common::http_get(addr, path, None).await;
    assert_eq!(status, 401, "{body}");
    let participant = token("watched", "carol", Grants::default(), 60);
    assert_eq!(
        common::http_get(addr, path, Some(&participant)).await.0,
        403
    );
    let elsewhere = token("other", "ops", inspect, 60);
    assert_eq!(common::http_get(addr, path, Some(&elsewhere)).await.0, 403);
    assert_eq!(
        common::http_get(addr, path, Some("not.a.token")).await.0,
        401
    );
    // A room nobody is in.
    let (status, _) = common::http_get(addr, "/api/rooms/other/stats", Some(&elsewhere)).await;
    assert_eq!(status, 404);

    let ops = token("watched", "ops", inspect, 60);
    let (status, body) = common::http_get(addr, path, Some(&ops)).await;
    assert_eq!(status, 200, "{body}");
    let stats: RoomStats = serde_json::from_str(&body).expect("stats JSON");
    assert_eq!(stats.room, "watched");
    assert_eq!(stats.participants.len(), 2);
    let alice_stats = stats
        .participants
        .iter()
        .find(|p| p.participant_id == a_id)
        .expect("alice listed");
    let camera = alice_stats
        .published
        .iter()
        .find(|t| t.kind == TrackKind::Video)
        .expect("alice's camera");
    assert!(
        camera.layers[0].bitrate_kbps.is_some_and(|k| k > 0),
        "{camera:?}"
    );
    let bob_stats = stats
        .participants
        .iter()
        .find(|p| p.participant_id != a_id)
        .expect("bob listed");
    let watching = bob_stats
        .subscriptions
        .iter()
        .find(|s| s.track_id == camera.track_id)
        .expect("bob's subscription to alice's camera");
    let layer = watching.layer.as_ref().expect("a layer chosen");
    assert!(!layer.paused, "{layer:?}");
    server.stop();
}
