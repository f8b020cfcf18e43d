//! Smoke test of the load generator (`hotline loadtest`) against an
//! in-process server: a few peers for a few seconds, and the figures must
//! add up. The benchmark itself lives in `bench/`, outside the suite.

use std::time::Duration;

use hotline_loadgen::{LoadConfig, Report, Target};
use hotline_testkit::VideoShape;

mod common;

async fn load(room: &str, adjust: impl FnOnce(&mut LoadConfig)) -> Report {
    let (server, _dir) = common::server_with(|c| c.websocket_connects_per_second = 1000).await;
    let mut config = LoadConfig {
        target: Target::Hotline,
        url: format!("http://{}", server.http_addr),
        room: room.to_string(),
        rooms: 1,
        publishers: 2,
        subscribers: 3,
        all_to_all: false,
        duration: Duration::from_secs(3),
        video: VideoShape {
            bitrate_bps: 300_000,
            ..VideoShape::default()
        },
        count_headers_only: false,
        estimate_bandwidth: false,
        simulcast: false,
        secret: Some(common::secret()),
        server_pid: Some(std::process::id()),
        setup_timeout: Duration::from_secs(30),
        join_rate: 50,
        progress: false,
    };
    adjust(&mut config);
    tokio::task::spawn_blocking(move || hotline_loadgen::run(config))
        .await
        .unwrap()
        .expect("the load test runs")
}

/// Every receiver counts about what the publishers sent in the window:
/// packets in flight at its edges make the only difference.
fn assert_counted_right(report: &Report, receivers_per_publisher: u64) {
    assert!(report.ok, "{report}");
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(
        report.subscriber_streams, report.expected_streams,
        "{report}"
    );
    assert_eq!(report.audio_streams, report.expected_streams, "{report}");
    let expected = report.packets_sent * receivers_per_publisher;
    let ratio = report.packets_received as f64 / expected as f64;
    assert!(
        (0.9..1.1).contains(&ratio),
        "received/expected = {ratio}\n{report}"
    );
    assert!(report.loss_pct < 1.0, "{report}");
    assert!(report.delay_ms.samples > 0, "{report}");
    assert!(
        report.delay_ms.p50 > 0.0 && report.delay_ms.p50 < 100.0,
        "{report}"
    );
    assert!(
        report.server.is_some_and(|s| s.cpu_s_per_s > 0.0),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_and_subscribers_are_counted_right() {
    let report = load("smoke", |_| {}).await;
    assert_eq!(report.expected_streams, 6);
    assert_counted_right(&report, 3);
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "subscriber_streams",
        "packets_sent",
        "packets_received",
        "loss_pct",
        "freezes",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert!(json["delay_ms"]["p99"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_counting_counts_the_same_and_samples_delay() {
    let full = load("full", |_| {}).await;
    let cheap = load("cheap", |c| c.count_headers_only = true).await;
    assert_counted_right(&cheap, 3);
    // Decrypting only a sample of frame ends still gives a delay, from
    // fewer samples.
    assert!(
        cheap.delay_ms.samples * 4 < full.delay_ms.samples,
        "{cheap}\n{full}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_to_all_rooms_receive_each_other() {
    let report = load("meeting", |c| {
        c.rooms = 2;
        c.publishers = 3;
        c.subscribers = 0;
        c.all_to_all = true;
    })
    .await;
    // Two rooms of three: each participant receives the other two.
    assert_eq!(report.expected_streams, 12);
    assert_counted_right(&report, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_publishers_reach_estimating_subscribers() {
    let report = load("simulcast", |c| {
        c.publishers = 1;
        c.subscribers = 2;
        c.simulcast = true;
        c.estimate_bandwidth = true;
        c.video.bitrate_bps = 600_000;
        c.video.width = 1280;
        c.video.height = 720;
    })
    .await;
    assert!(report.ok, "{report}");
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(
        report.subscriber_streams, report.expected_streams,
        "{report}"
    );
    assert!(report.loss_pct < 1.0, "{report}");
    // Each subscriber gets one of the three layers, not all of them.
    assert!(
        report.packets_received < report.packets_sent * 2,
        "{report}"
    );
}
