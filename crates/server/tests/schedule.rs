//! The scheduled-calls API against a real server and a real database file,
//! on a clock the test moves: negotiation to an agreed time, conflicts
//! between parties, a restart in the middle, and bad input of every kind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hotline_auth::Grants;
use hotline_schedule::view::PartyView;
use hotline_schedule::Clock;
use hotline_server::config::ServerConfig;
use hotline_server::serve::{start, RunningServer};
use serde_json::{json, Value};

mod common;

use common::{http_request, secret, token};

/// A server whose schedule runs on `clock`, with its data in `dir`.
async fn server(dir: &Path, clock: &Arc<Mutex<DateTime<Utc>>>) -> RunningServer {
    server_with_webhook(dir, clock, None).await
}

async fn server_with_webhook(
    dir: &Path,
    clock: &Arc<Mutex<DateTime<Utc>>>,
    webhook: Option<hotline_server::webhook::Webhook>,
) -> RunningServer {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.to_path_buf());
    config.schedule_webhook = webhook;
    let clock = clock.clone();
    config.clock = Clock::new(move || *clock.lock().unwrap());
    config.turn = None;
    // The malformed-input test sends hundreds of requests at once.
    config.http_requests_per_second = 100_000;
    start(config, secret()).await.expect("server starts")
}

fn organizer_token() -> String {
    hotline_auth::TokenRequest {
        room: hotline_auth::ORGANIZER_ROOM.into(),
        identity: "org".into(),
        name: None,
        ttl_secs: 3600,
        languages: Vec::new(),
        e2ee: false,
        grants: Grants::organizer(),
    }
    .mint(&secret(), hotline_server::cli::unix_now())
}

fn new_call() -> Value {
    json!({
        "title": "Strategic stability talks",
        "duration_minutes": 60,
        "languages": ["ru", "en"],
        "e2ee_required": true,
        "parties": [
            {"name": "Moscow", "time_zone": "Europe/Moscow", "members": [
                {"name": "Principal M", "role": "principal"},
                {"name": "Interpreter M", "role": "interpreter", "languages": ["ru", "en"]}
            ]},
            {"name": "Washington", "time_zone": "America/New_York", "members": [
                {"name": "Principal W", "role": "principal"},
                {"name": "Observer W", "role": "observer"}
            ]}
        ]
    })
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let (status, text) = http_request(addr, method, path, bearer, Some(&body.to_string())).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn view(addr: SocketAddr, link: &str) -> PartyView {
    let (status, text) = common::http_get(addr, &format!("/api/parties/{}", key(link)), None).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn key(link: &str) -> &str {
    link.trim_start_matches("/party/")
}

async fn create(addr: SocketAddr) -> (String, String, String) {
    let (status, created) = send(
        addr,
        "POST",
        "/api/calls",
        Some(&organizer_token()),
        &new_call(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let link = |i: usize| created["parties"][i]["link"].as_str().unwrap().to_string();
    (
        created["call_id"].as_str().unwrap().to_string(),
        link(0),
        link(1),
    )
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("hotline-schedule-test-{}", rand::random::<u64>()))
}

#[tokio::test]
async fn two_parties_agree_a_time_across_a_restart_and_conflicts_lose_nothing() {
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let first = server(&dir, &clock).await;
    let addr = first.http_addr;
    let (call_id, moscow, washington) = create(addr).await;

    // Moscow can 16:00-19:00 on 3 December (13-16 UTC).
    let m = view(addr, &moscow).await;
    assert_eq!(m.parties.len(), 2);
    assert!(m.slots.is_empty(), "no slots before both said");
    let windows = json!({"version": m.version, "windows": [{"start": "2026-12-03T16:00:00", "end": "2026-12-03T19:00:00"}]});
    let (status, body) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/windows", key(&moscow)),
        None,
        &windows,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The server restarts in the middle of the negotiation: nothing is lost.
    first.stop();
    let second = server(&dir, &clock).await;
    let addr = second.http_addr;
    let m = view(addr, &moscow).await;
    assert_eq!(m.windows.len(), 1, "Moscow's windows survived the restart");

    // Washington can 09:00-12:00 (14-17 UTC): slots 14:00 to 15:00 UTC.
    let w = view(addr, &washington).await;
    assert_eq!(w.version, m.version, "one version for the whole call");
    let windows = json!({"version": w.version, "windows": [{"start": "2026-12-03T09:00:00", "end": "2026-12-03T12:00:00"}]});
    let (status, body) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/windows", key(&washington)),
        None,
        &windows,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let w: PartyView = serde_json::from_value(body).unwrap();
    let starts: Vec<String> = w.slots.iter().map(|s| s.start.to_rfc3339()).collect();
    assert_eq!(
        starts.first().map(String::as_str),
        Some("2026-12-03T14:00:00+00:00")
    );
    assert_eq!(
        starts.last().map(String::as_str),
        Some("2026-12-03T15:00:00+00:00")
    );
    // Each slot is shown in both parties' local time.
    let first_slot = &w.slots[0];
    let moscow_local = first_slot
        .local
        .iter()
        .find(|l| l.party_id == m.party_id)
        .unwrap();
    let washington_local = first_slot
        .local
        .iter()
        .find(|l| l.party_id == w.party_id)
        .unwrap();
    assert_eq!(moscow_local.start, "2026-12-03T17:00:00+03:00");
    assert_eq!(washington_local.start, "2026-12-03T09:00:00-05:00");
    assert_eq!(washington_local.zone, "EST");

    // Moscow, with a stale version, tries to accept: conflict, nothing
    // changes, and after reloading it succeeds.
    let slot = "2026-12-03T14:30:00Z";
    let stale = json!({"version": m.version, "start": slot});
    let (status, body) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/acceptance", key(&moscow)),
        None,
        &stale,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("reload"), "{body}");
    let m = view(addr, &moscow).await;
    assert_eq!(m.windows.len(), 1);
    let accept = |version: u64| json!({"version": version, "start": slot});
    let (status, body) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/acceptance", key(&moscow)),
        None,
        &accept(m.version),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let w = view(addr, &washington).await;
    assert!(w.agreed.is_none());
    let (status, body) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/acceptance", key(&washington)),
        None,
        &accept(w.version),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let w: PartyView = serde_json::from_value(body).unwrap();
    let agreed = w.agreed.expect("agreed");
    assert_eq!(agreed.start.to_rfc3339(), "2026-12-03T14:30:00+00:00");
    assert_eq!(
        view(addr, &moscow).await.agreed.map(|a| a.start),
        Some(agreed.start)
    );

    // The agenda: an item each, accepted by the other; one reordered.
    let item = |party: &str, version: u64, title: &str| {
        let path = format!("/api/parties/{}/agenda", key(party));
        (path, json!({"version": version, "title": title}))
    };
    let (path, body) = item(&moscow, w.version, "Arms control");
    let (status, v) = send(addr, "POST", &path, None, &body).await;
    assert_eq!(status, 200, "{v}");
    let (path, body) = item(&washington, v["version"].as_u64().unwrap(), "Trade");
    let (status, v) = send(addr, "POST", &path, None, &body).await;
    assert_eq!(status, 200, "{v}");
    let ids: Vec<String> = v["agenda"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_str().unwrap().to_string())
        .collect();
    let accept_item = json!({"version": v["version"], "accept": true});
    let (status, v) = send(
        addr,
        "PUT",
        &format!(
            "/api/parties/{}/agenda/{}/acceptance",
            key(&washington),
            ids[0]
        ),
        None,
        &accept_item,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["agenda"][0]["agreed"], json!(true));
    assert_eq!(v["agenda"][1]["agreed"], json!(false));
    let order = json!({"version": v["version"], "item_ids": [ids[1], ids[0]]});
    let (status, v) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/agenda/order", key(&moscow)),
        None,
        &order,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["agenda"][0]["title"], json!("Trade"));

    // Held back: the public page says no time until both approve.
    let public = format!("/api/calls/{call_id}/public");
    let (status, text) = common::http_get(addr, &public, None).await;
    assert_eq!(status, 200);
    let planned: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(planned["status"], json!("planned"));
    assert_eq!(planned["start"], Value::Null);
    assert!(
        !text.contains("2026-12-03") && !text.contains("14:30"),
        "{text}"
    );
    let approve = |version: &Value| json!({"version": version, "approve": true});
    let (status, v) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/release", key(&moscow)),
        None,
        &approve(&v["version"]),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        serde_json::from_str::<Value>(&common::http_get(addr, &public, None).await.1).unwrap()
            ["status"],
        json!("planned")
    );
    let (status, v) = send(
        addr,
        "PUT",
        &format!("/api/parties/{}/release", key(&washington)),
        None,
        &approve(&v["version"]),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["release"]["released"], json!(true));
    let scheduled: Value =
        serde_json::from_str(&common::http_get(addr, &public, None).await.1).unwrap();
    assert_eq!(scheduled["status"], json!("scheduled"));
    assert_eq!(scheduled["start"], json!("2026-12-03T14:30:00Z"));
    let w = view(addr, &washington).await;

    // Personal links: each party sees its own members' only.
    assert_eq!(w.members.len(), 2);
    assert!(view(addr, &moscow)
        .await
        .members
        .iter()
        .all(|m| m.name.ends_with(" M")));
    let member_key = |name: &str| {
        let m = w.members.iter().find(|m| m.name == name).unwrap();
        m.link.trim_start_matches("/join/").to_string()
    };
    let (principal, observer) = (member_key("Principal W"), member_key("Observer W"));
    let (status, text) = common::http_get(addr, &format!("/api/members/{principal}"), None).await;
    assert_eq!(status, 200, "{text}");
    let member: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(member["agreed"]["start"], json!("2026-12-03T14:30:00Z"));
    assert_eq!(member["join_opens"], json!("2026-12-03T14:15:00Z"));
    let tampered = format!("{}x", &principal[..principal.len() - 1]);
    assert_eq!(
        common::http_get(addr, &format!("/api/members/{tampered}"), None)
            .await
            .0,
        404
    );
    // Too early: told when, in the member's own time.
    let token_of = |key: &str| format!("/api/members/{key}/token");
    let (status, body) = send(addr, "POST", &token_of(&principal), None, &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Thu 3 Dec 09:15 EST"),
        "{body}"
    );
    // The calendar invitation, in Washington's time.
    let (status, ics) =
        common::http_get(addr, &format!("/api/members/{principal}/invite.ics"), None).await;
    assert_eq!(status, 200, "{ics}");
    assert!(
        ics.contains("DTSTART;TZID=America/New_York:20261203T093000"),
        "{ics}"
    );
    // (Long lines are folded: a line break and a space.)
    let unfolded = ics.replace("\r\n ", "");
    assert!(
        unfolded.contains(&format!("URL:http://x/join/{principal}\r\n")),
        "{ics}"
    );
    // 15 minutes before: tokens for the call's room, with the role's grants.
    *clock.lock().unwrap() = "2026-12-03T14:16:00Z".parse().unwrap();
    let verify = |token: &Value| {
        hotline_auth::verify(
            token.as_str().unwrap(),
            &secret(),
            hotline_server::cli::unix_now(),
        )
        .unwrap()
    };
    let (status, body) = send(addr, "POST", &token_of(&principal), None, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify(&body["token"]);
    assert_eq!(claims.room, format!("call-{call_id}"));
    assert_eq!(claims.name, "Principal W");
    assert!(claims.grants.publish);
    let (_, body) = send(addr, "POST", &token_of(&observer), None, &json!({})).await;
    assert!(
        !verify(&body["token"]).grants.publish,
        "an observer does not publish"
    );
    // After the end: told it ended.
    *clock.lock().unwrap() = "2026-12-03T15:31:00Z".parse().unwrap();
    let (status, body) = send(addr, "POST", &token_of(&principal), None, &json!({})).await;
    assert_eq!(status, 409);
    assert!(body["error"].as_str().unwrap().contains("ended"), "{body}");

    // The organizer replaces Washington's link: the old one stops working.
    let (status, body) = send(
        addr,
        "POST",
        &format!("/api/calls/{call_id}/parties/{}/link", w.party_id),
        Some(&organizer_token()),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        common::http_get(addr, &format!("/api/parties/{}", key(&washington)), None).await;
    assert_eq!(status, 404);
    let replaced = body["link"].as_str().unwrap().to_string();
    assert_eq!(
        view(addr, &replaced).await.agreed.map(|a| a.start),
        Some(agreed.start)
    );
    second.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn bad_requests_are_refused_in_words_and_never_answered_with_5xx() {
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let server = server(&dir, &clock).await;
    let addr = server.http_addr;
    let organizer = organizer_token();

    // Who may create calls.
    let (status, _) = send(addr, "POST", "/api/calls", None, &new_call()).await;
    assert_eq!(status, 401);
    let participant = token("board", "alice", Grants::default(), 60);
    let (status, body) = send(addr, "POST", "/api/calls", Some(&participant), &new_call()).await;
    assert_eq!(status, 403, "{body}");

    // Organizer credentials for the asking exist only in --dev mode.
    let (status, _) = http_request(addr, "POST", "/api/dev/organizer-token", None, Some("")).await;
    assert_eq!(status, 404);

    // What a call may be.
    let mut bad_zone = new_call();
    bad_zone["parties"][1]["time_zone"] = json!("America/Atlantis");
    let (status, body) = send(addr, "POST", "/api/calls", Some(&organizer), &bad_zone).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("not a time zone"),
        "{body}"
    );
    let mut unknown_field = new_call();
    unknown_field["owner"] = json!("me");
    assert_eq!(
        send(addr, "POST", "/api/calls", Some(&organizer), &unknown_field)
            .await
            .0,
        400
    );
    let mut long_title = new_call();
    long_title["title"] = json!("x".repeat(1000));
    assert_eq!(
        send(addr, "POST", "/api/calls", Some(&organizer), &long_title)
            .await
            .0,
        400
    );
    let (status, _) = http_request(
        addr,
        "POST",
        "/api/calls",
        Some(&organizer),
        Some(&"[".repeat(100_000)),
    )
    .await;
    assert!((400..500).contains(&status), "oversized body: {status}");

    let (_, moscow, _) = create(addr).await;
    let path = format!("/api/parties/{}/windows", key(&moscow));
    let version = view(addr, &moscow).await.version;
    for (windows, says) in [
        (
            json!([{"start": "2026-12-03T19:00:00", "end": "2026-12-03T16:00:00"}]),
            "ends before it starts",
        ),
        (
            json!([{"start": "2026-01-03T16:00:00", "end": "2026-01-03T19:00:00"}]),
            "in the past",
        ),
        (
            json!([{"start": "2026-12-03 16:00", "end": "2026-12-03T19:00:00"}]),
            "not valid",
        ),
    ] {
        let (status, body) = send(
            addr,
            "PUT",
            &path,
            None,
            &json!({"version": version, "windows": windows}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    assert!(
        view(addr, &moscow).await.windows.is_empty(),
        "nothing partial stored"
    );
    let (status, _) = common::http_get(addr, "/api/parties/not-a-real-link", None).await;
    assert_eq!(status, 404);

    // Malformed input of many shapes at every operation: never a 5xx.
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "null",
        "true",
        "-1",
        "1e309",
        "18446744073709551616",
        "\"version\"",
        "\"windows\"",
        "\"start\"",
        "\"2026-12-03T16:00:00\"",
        "\"2026-02-30T25:61:00\"",
        "\"\\u0000\"",
        "\"Europe/Moscow\"",
        "\"parties\"",
        "\"time_zone\"",
        "\"duration_minutes\"",
        "0",
    ];
    let operations = [
        ("POST", "/api/calls".to_string(), Some(organizer.clone())),
        ("PUT", path.clone(), None),
        (
            "PUT",
            format!("/api/parties/{}/acceptance", key(&moscow)),
            None,
        ),
        (
            "POST",
            "/api/calls/x/parties/y/link".to_string(),
            Some(organizer.clone()),
        ),
        (
            "POST",
            format!("/api/parties/{}/agenda", key(&moscow)),
            None,
        ),
        (
            "PUT",
            format!("/api/parties/{}/agenda/order", key(&moscow)),
            None,
        ),
        (
            "PUT",
            format!("/api/parties/{}/agenda/x/acceptance", key(&moscow)),
            None,
        ),
        (
            "PUT",
            format!("/api/parties/{}/release", key(&moscow)),
            None,
        ),
    ];
    for i in 0..400 {
        let (method, path, bearer) = &operations[i % operations.len()];
        let body: String = (0..(next() % 24))
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let (status, text) = http_request(addr, method, path, bearer.as_deref(), Some(&body)).await;
        assert!(
            status < 500,
            "{method} {path} {body:?} answered {status}: {text}"
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_openapi_document_matches_what_the_server_answers() {
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let server = server(&dir, &clock).await;
    let addr = server.http_addr;
    let (status, text) = common::http_get(addr, "/api/openapi.json", None).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");
    let organizer = organizer_token();
    // Every documented operation is served: an empty body or unknown ids
    // are answered with one of its documented statuses and a JSON error.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path
                .replace("{key}", "nokey")
                .replace("{call}", "x")
                .replace("{party}", "y");
            let (status, body) = http_request(
                addr,
                &method.to_uppercase(),
                &concrete,
                Some(&organizer),
                Some("{}"),
            )
            .await;
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{method} {path}: {status} is not documented: {body}"
            );
            let error: Value =
                serde_json::from_str(&body).unwrap_or_else(|_| panic!("{method} {path}: {body}"));
            assert!(error["error"].is_string(), "{method} {path}: {body}");
            operations += 1;
        }
    }
    assert_eq!(operations, 13);
    // What a real negotiation returns has every field the document requires.
    let (_, moscow, _) = create(addr).await;
    let (_, text) = common::http_get(addr, &format!("/api/parties/{}", key(&moscow)), None).await;
    let view: Value = serde_json::from_str(&text).unwrap();
    for field in doc["components"]["schemas"]["PartyView"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(
            view.get(field.as_str().unwrap()).is_some(),
            "the view lacks {field}"
        );
    }
    let (_, created) = send(addr, "POST", "/api/calls", Some(&organizer), &new_call()).await;
    for field in doc["components"]["schemas"]["CreatedCall"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(
            created.get(field.as_str().unwrap()).is_some(),
            "the created call lacks {field}"
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_announcement_reaches_the_webhook_signed_once_every_party_approves() {
    use hotline_server::webhook::Webhook;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A receiver on loopback that answers 204 and hands over each request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/hotline", listener.local_addr().unwrap());
    let (tx, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            loop {
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            let _ = tcp
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await;
            let _ = tx.send(String::from_utf8_lossy(&request).to_string());
        }
    });
    let hook_secret = "receiver-shared-secret-0123";
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let server =
        server_with_webhook(&dir, &clock, Some(Webhook::new(&url, hook_secret).unwrap())).await;
    let addr = server.http_addr;
    let (call_id, moscow, washington) = create(addr).await;
    let mut version = view(addr, &moscow).await.version;
    let put = |party: String, what: &'static str, body: Value| {
        let path = format!("/api/parties/{}/{what}", key(&party));
        async move {
            let (status, v) = send(addr, "PUT", &path, None, &body).await;
            assert_eq!(status, 200, "{v}");
            v["version"].as_u64().unwrap()
        }
    };
    for (party, from, to) in [(&moscow, "16", "19"), (&washington, "09", "12")] {
        let windows = json!([{"start": format!("2026-12-03T{from}:00:00"), "end": format!("2026-12-03T{to}:00:00")}]);
        version = put(
            party.clone(),
            "windows",
            json!({"version": version, "windows": windows}),
        )
        .await;
    }
    for party in [&moscow, &washington] {
        version = put(
            party.clone(),
            "acceptance",
            json!({"version": version, "start": "2026-12-03T14:00:00Z"}),
        )
        .await;
    }
    version = put(
        moscow.clone(),
        "release",
        json!({"version": version, "approve": true}),
    )
    .await;
    put(
        washington.clone(),
        "release",
        json!({"version": version, "approve": true}),
    )
    .await;

    let request = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .expect("the webhook is called")
        .unwrap();
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("POST /hooks/hotline HTTP/1.1"), "{head}");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    };
    let timestamp: u64 = header("x-hotline-timestamp").parse().unwrap();
    assert_eq!(
        header("x-hotline-signature"),
        Webhook::signature(hook_secret, timestamp, body.as_bytes())
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["event"], json!("call.announced"));
    assert_eq!(event["call_id"], json!(call_id));
    assert_eq!(event["call"]["start"], json!("2026-12-03T14:00:00Z"));
    // Only the approval that announced it calls the webhook.
    assert!(received.try_recv().is_err());
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// A call created and agreed for 3 December, 14:30-15:30 UTC: its id and
/// the parties' links (Moscow, Washington).
async fn agreed_call(addr: SocketAddr) -> (String, String, String) {
    let (call_id, moscow, washington) = create(addr).await;
    for (link, start, end) in [
        (&moscow, "2026-12-03T16:00:00", "2026-12-03T19:00:00"),
        (&washington, "2026-12-03T09:00:00", "2026-12-03T12:00:00"),
    ] {
        let version = view(addr, link).await.version;
        let windows = json!({"version": version, "windows": [{"start": start, "end": end}]});
        let path = format!("/api/parties/{}/windows", key(link));
        let (status, body) = send(addr, "PUT", &path, None, &windows).await;
        assert_eq!(status, 200, "{body}");
    }
    for link in [&moscow, &washington] {
        let version = view(addr, link).await.version;
        let accept = json!({"version": version, "start": "2026-12-03T14:30:00Z"});
        let path = format!("/api/parties/{}/acceptance", key(link));
        let (status, body) = send(addr, "PUT", &path, None, &accept).await;
        assert_eq!(status, 200, "{body}");
    }
    (call_id, moscow, washington)
}

/// A member's `join` message, with a token from its personal link.
async fn member_join(addr: SocketAddr, member_key: &str) -> hotline_proto::ClientMessage {
    let path = format!("/api/members/{member_key}/token");
    let (status, body) = send(addr, "POST", &path, None, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    hotline_proto::ClientMessage::Join {
        protocol_version: hotline_proto::PROTOCOL_VERSION,
        token: body["token"].as_str().unwrap().into(),
        room: body["room"].as_str().unwrap().into(),
        estimate_bandwidth: true,
    }
}

#[tokio::test]
async fn members_wait_until_a_principal_admits_them_and_stay_admitted_across_a_restart() {
    use hotline_proto::{ClientMessage, ServerMessage};
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let first = server(&dir, &clock).await;
    let addr = first.http_addr;
    let (_, _, washington) = agreed_call(addr).await;
    *clock.lock().unwrap() = "2026-12-03T14:20:00Z".parse().unwrap();
    let w = view(addr, &washington).await;
    let member_key = |name: &str| {
        let m = w.members.iter().find(|m| m.name == name).unwrap();
        m.link.trim_start_matches("/join/").to_string()
    };
    let (principal, observer) = (member_key("Principal W"), member_key("Observer W"));

    // The observer comes first: it waits, and no host is there yet.
    let mut waiting = common::connect(addr).await;
    common::send(&mut waiting, &member_join(addr, &observer).await).await;
    let first_answer = common::next_matching(&mut waiting, |_| true).await;
    assert!(
        matches!(
            first_answer,
            ServerMessage::Waiting {
                hosts_present: false,
                ..
            }
        ),
        "{first_answer:?}"
    );

    // The principal, a host, comes straight in and sees it waiting.
    let mut host = common::connect(addr).await;
    common::send(&mut host, &member_join(addr, &principal).await).await;
    common::next_matching(&mut host, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    let ServerMessage::Lobby {
        enabled,
        waiting: in_lobby,
    } = common::next_matching(
        &mut host,
        |m| matches!(m, ServerMessage::Lobby { waiting, .. } if !waiting.is_empty()),
    )
    .await
    else {
        unreachable!()
    };
    assert!(enabled);
    assert_eq!(in_lobby.len(), 1);
    assert_eq!(in_lobby[0].name, "Observer W");
    common::next_matching(&mut waiting, |m| {
        matches!(
            m,
            ServerMessage::Waiting {
                hosts_present: true,
                ..
            }
        )
    })
    .await;
    let admit = ClientMessage::AdmitParticipant {
        participant_id: in_lobby[0].participant_id.clone(),
    };
    common::send(&mut host, &admit).await;
    let welcome =
        common::next_matching(&mut waiting, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    let ServerMessage::Welcome { participant_id, .. } = welcome else {
        unreachable!()
    };
    assert_eq!(participant_id, in_lobby[0].participant_id);

    // After a restart, the observer, admitted once, goes straight in.
    drop((waiting, host));
    first.stop();
    let second = server(&dir, &clock).await;
    let addr = second.http_addr;
    let mut again = common::connect(addr).await;
    common::send(&mut again, &member_join(addr, &observer).await).await;
    let first_answer = common::next_matching(&mut again, |_| true).await;
    assert!(
        matches!(first_answer, ServerMessage::Welcome { .. }),
        "{first_answer:?}"
    );
    second.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_public_page_says_the_same_before_and_after_agreement_until_release() {
    let dir = temp_dir();
    let clock = Arc::new(Mutex::new(
        "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
    ));
    let server = server(&dir, &clock).await;
    let addr = server.http_addr;
    // The whole answer, head and body, but its Date header.
    let public = |call_id: String| async move {
        let path = format!("/api/calls/{call_id}/public");
        let (status, head, body) = common::http_exchange(addr, "GET", &path, None, None).await;
        assert_eq!(status, 200, "{body}");
        let head: Vec<String> = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
            .map(str::to_string)
            .collect();
        (head, body)
    };
    let (not_agreed, _, _) = create(addr).await;
    let (agreed, moscow, washington) = agreed_call(addr).await;
    assert!(view(addr, &moscow).await.agreed.is_some());
    assert_eq!(public(not_agreed).await, public(agreed.clone()).await);

    // Released: now it says when.
    for link in [&moscow, &washington] {
        let version = view(addr, link).await.version;
        let path = format!("/api/parties/{}/release", key(link));
        let approve = json!({"version": version, "approve": true});
        let (status, body) = send(addr, "PUT", &path, None, &approve).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, body) = public(agreed).await;
    assert!(body.contains("2026-12-03T14:30:00Z"), "{body}");
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}
