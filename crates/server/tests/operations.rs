//! Operating the server: health and readiness, graceful shutdown, limits,
//! and the audit log.

use std::path::Path;
use std::time::Duration;

use futures_util::SinkExt;
use hotline_proto::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{
    close_of, http_get, join_message, next_matching, send, server_with, try_connect as connect,
};

const TOKEN_MARKER: &str = "operations-test-identity";

async fn close_code(ws: &mut common::Ws) -> u16 {
    close_of(ws).await.0
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[tokio::test]
async fn graceful_shutdown_tells_clients_lets_the_call_finish_and_audits() {
    let (server, dir) = server_with(|_| {}).await;
    let addr = server.http_addr;
    assert_eq!(http_get(addr, "/healthz", None).await.0, 200);
    assert_eq!(http_get(addr, "/readyz", None).await.0, 200);

    let mut alice = connect(addr).await.unwrap();
    send(&mut alice, &join_message("ops", TOKEN_MARKER)).await;
    next_matching(&mut alice, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    let mut forged = connect(addr).await.unwrap();
    let mut bad = join_message("ops", "mallory");
    if let ClientMessage::Join { token, .. } = &mut bad {
        token.push('x');
    }
    send(&mut forged, &bad).await;
    assert_eq!(close_code(&mut forged).await, 4001);

    let stopping = tokio::spawn(server.shutdown(Duration::from_secs(2)));
    let notice = next_matching(&mut alice, |m| {
        matches!(m, ServerMessage::ShuttingDown { .. })
    })
    .await;
    let ServerMessage::ShuttingDown { deadline_ms } = notice else {
        unreachable!()
    };
    assert!(deadline_ms > hotline_server::cli::unix_now() * 1000);
    // Not ready, but alive, and the call goes on meanwhile.
    assert_eq!(http_get(addr, "/readyz", None).await.0, 503);
    assert_eq!(http_get(addr, "/healthz", None).await.0, 200);
    send(&mut alice, &ClientMessage::Ping).await;
    next_matching(&mut alice, |m| matches!(m, ServerMessage::Pong)).await;
    // New joins are refused.
    let mut late = connect(addr).await.unwrap();
    send(&mut late, &join_message("ops", "late")).await;
    assert_eq!(close_code(&mut late).await, 4010);
    // At the deadline the call is closed, and the server stops.
    assert_eq!(close_code(&mut alice).await, 4010);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown finishes")
        .unwrap();

    let lines = audit_lines(&dir);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    for want in [
        "server_started",
        "join",
        "token_refused",
        "leave",
        "server_stopped",
    ] {
        assert!(events.contains(&want), "{want} in {events:?}");
    }
    let join = lines.iter().find(|l| l["event"] == "join").unwrap();
    assert_eq!(join["identity"], TOKEN_MARKER);
    assert_eq!(join["ip"], "127.0.0.1");
    assert_eq!(join["grants"]["publish"], true);
    let text = std::fs::read_to_string(dir.join("audit.log")).unwrap();
    assert!(!text.contains("eyJ"), "no token in the audit log");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_flooding_connection_is_slowed_then_closed_and_others_are_spared() {
    let (server, dir) = server_with(|_| {}).await;
    let mut bob = connect(server.http_addr).await.unwrap();
    send(&mut bob, &join_message("flood", "bob")).await;
    next_matching(&mut bob, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    let mut flooder = connect(server.http_addr).await.unwrap();
    send(&mut flooder, &join_message("flood", "flooder")).await;
    next_matching(&mut flooder, |m| matches!(m, ServerMessage::Welcome { .. })).await;

    for _ in 0..60 {
        send(&mut flooder, &ClientMessage::Ping).await;
    }
    next_matching(&mut flooder, |m| {
        matches!(
            m,
            ServerMessage::Error {
                code: hotline_proto::ErrorCode::RateLimited,
                ..
            }
        )
    })
    .await;
    for _ in 0..200 {
        if flooder
            .send(Message::Text(r#"{"type":"ping"}"#.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(close_code(&mut flooder).await, 4014);
    next_matching(&mut bob, |m| {
        matches!(m, ServerMessage::ParticipantLeft { .. })
    })
    .await;
    send(&mut bob, &ClientMessage::Ping).await;
    next_matching(&mut bob, |m| matches!(m, ServerMessage::Pong)).await;
    server.stop();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn websocket_connects_from_one_address_are_rate_limited() {
    let (server, dir) = server_with(|c| c.websocket_connects_per_second = 2).await;
    let mut refused = 0;
    let mut open = Vec::new();
    for _ in 0..12 {
        match connect(server.http_addr).await {
            Ok(ws) => open.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 429);
                refused += 1;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert!(open.len() >= 4, "the burst is allowed: {}", open.len());
    assert!(refused >= 6, "the rest is refused: {refused}");
    server.stop();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn rooms_beyond_the_server_limit_are_refused() {
    let (server, dir) = server_with(|c| c.max_rooms = 1).await;
    let mut first = connect(server.http_addr).await.unwrap();
    send(&mut first, &join_message("one", "a")).await;
    next_matching(&mut first, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    let mut second = connect(server.http_addr).await.unwrap();
    send(&mut second, &join_message("two", "b")).await;
    assert_eq!(close_code(&mut second).await, 4013);
    let mut same_room = connect(server.http_addr).await.unwrap();
    send(&mut same_room, &join_message("one", "c")).await;
    next_matching(&mut same_room, |m| {
        matches!(m, ServerMessage::Welcome { .. })
    })
    .await;
    server.stop();
    std::fs::remove_dir_all(dir).unwrap();
}
