//! Simulcast in simulated time: the server moves a subscriber whose
//! download drops to a lower layer and back up when it recovers, without a
//! gap in what the subscriber receives; it sends no larger layer than the
//! video is shown at, and none for a video not shown.

use std::time::Duration;

use hotline_proto::{Grants, LayerReason, TrackKind};
use hotline_sfu::RoomConfig;
use hotline_testkit::{LinkConfig, VideoShape, World};

/// Layers like the browser client's: quarter, half and full size.
fn layers() -> [(&'static str, VideoShape); 3] {
    let shape = |bitrate_bps, width, height| VideoShape {
        bitrate_bps,
        fps: 30,
        keyframe_interval: Duration::from_secs(3),
        width,
        height,
        temporal_layers: 3,
    };
    [
        ("q", shape(120_000, 320, 180)),
        ("h", shape(400_000, 640, 360)),
        ("f", shape(1_200_000, 1280, 720)),
    ]
}

struct Call {
    world: World,
    publisher_id: String,
    camera: String,
}

/// Client 0 publishes simulcast, client 1 receives it.
fn call(seed: u64) -> Call {
    call_with(seed, true)
}

/// `call`, the subscriber's bandwidth estimated or not.
fn call_with(seed: u64, estimate_bandwidth: bool) -> Call {
    // Jitter reorders the packets of a frame: those that overtake a
    // keyframe's first packet must still reach the subscriber.
    let link = LinkConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(3),
        loss: 0.0,
    };
    let mut world = World::new(seed, link, RoomConfig::default());
    let publisher = world.join("Pat", Grants::default());
    world.client_mut(publisher).set_simulcast(&layers());
    world.publish(publisher);
    world.join_with("Sam", Grants::default(), estimate_bandwidth);
    let publisher_id = world.clients[0].participant_id.clone().expect("joined");
    let flowing = world.run_until(Duration::from_secs(10), |w| {
        w.clients[1].frames_from(&publisher_id, TrackKind::Video) > 30
    });
    assert!(flowing, "video reaches the subscriber");
    let camera = world.clients[1].participants[&publisher_id]
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Video)
        .map(|t| t.track_id.clone())
        .expect("a camera track");
    Call {
        world,
        publisher_id,
        camera,
    }
}

impl Call {
    /// Stops the publisher and lets what is in flight arrive, so that the
    /// subscriber's count of missing packets is final.
    fn settle(&mut self) {
        self.world.clients[0].silent = true;
        self.world.run_for(Duration::from_millis(300));
    }

    /// The rid the server last said it forwards, and the size of the
    /// latest keyframe the subscriber got.
    fn seen(&self) -> (Option<String>, Option<(u16, u16)>) {
        let sub = &self.world.clients[1];
        let rid = sub
            .video_layers
            .get(&self.camera)
            .and_then(|l| l.rid.clone());
        let size = sub.received.get(&self.camera).and_then(|c| c.keyframe_size);
        (rid, size)
    }

    fn wait_for(&mut self, limit: Duration, rid: &str, width: u16) -> Option<Duration> {
        let start = self.world.elapsed();
        let camera = self.camera.clone();
        let rid = rid.to_string();
        self.world
            .run_until(limit, |w| {
                let sub = &w.clients[1];
                sub.video_layers.get(&camera).and_then(|l| l.rid.as_deref()) == Some(&rid)
                    && sub
                        .received
                        .get(&camera)
                        .and_then(|c| c.keyframe_size)
                        .is_some_and(|(w, _)| w == width)
            })
            .then(|| self.world.elapsed() - start)
    }
}

#[test]
fn a_subscriber_whose_link_drops_gets_the_low_layer_and_the_high_one_back() {
    let mut call = call(21);
    let up = call.wait_for(Duration::from_secs(20), "f", 1280);
    assert!(
        up.is_some(),
        "the full layer on an open link: {:?}",
        call.seen()
    );
    call.world.client_mut(1).reset_counters();

    call.world.limit_download(1, Some(300_000));
    // str0m reports its estimate smoothed over 3 s: seconds, not
    // milliseconds.
    let down = call.wait_for(Duration::from_secs(10), "q", 320);
    let layer = call.world.clients[1].video_layers[&call.camera].clone();
    assert!(down.is_some(), "the low layer at 300 kbit/s: {layer:?}");
    assert_eq!(layer.reason, LayerReason::Bandwidth);
    // Chosen for an estimate far below what the full layer takes.
    assert!(layer.estimate_kbps.is_some_and(|e| e < 800), "{layer:?}");
    // Nothing larger while the link is capped, at least while a step down
    // holds (8 s): the estimate recovering above the link does not bounce
    // the video back up into it. (After that it may try again: str0m's
    // estimate sometimes overshoots a capped link, 1 run in 20 here.)
    for _ in 0..14 {
        call.world.run_for(Duration::from_millis(500));
        let (rid, size) = call.seen();
        assert!(rid.is_none() || rid.as_deref() == Some("q"), "{rid:?}");
        assert_eq!(size, Some((320, 180)));
    }

    call.world.limit_download(1, None);
    let back = call.wait_for(Duration::from_secs(40), "f", 1280);
    assert!(
        back.is_some(),
        "the full layer back after recovery: {:?}",
        call.seen()
    );
    println!(
        "down to q in {:?}, back to f in {:?} of simulated time",
        down.unwrap(),
        back.unwrap()
    );

    // One stream all along (≥ 10 s at 30 frames a second), each switch at
    // a keyframe. (That switches leave no gap is the next test's.)
    let counter = &call.world.clients[1].received[&call.camera];
    assert!(counter.expected() > 250, "{counter:?}");
    assert!(counter.keyframes >= 2, "each switch starts at a keyframe");
}

#[test]
fn layer_switches_leave_no_gap_in_sequence_numbers() {
    let mut call = call(22);
    assert!(call.wait_for(Duration::from_secs(20), "f", 1280).is_some());
    call.world.client_mut(1).reset_counters();
    // Switch by shown size (no loss on the link): down, further down, up.
    let camera = call.camera.clone();
    for (width, height, rid, size) in [
        (640, 360, "h", 640),
        (300, 170, "q", 320),
        (1280, 720, "f", 1280),
    ] {
        call.world.client_mut(1).show_video(&camera, width, height);
        assert!(
            call.wait_for(Duration::from_secs(5), rid, size).is_some(),
            "{rid} for a video shown at {width}x{height}: {:?}",
            call.seen()
        );
        let layer = &call.world.clients[1].video_layers[&camera];
        let expected = if rid == "f" {
            LayerReason::Best
        } else {
            LayerReason::Size
        };
        assert_eq!(layer.reason, expected);
    }
    call.world.run_for(Duration::from_secs(1));
    call.settle();
    let counter = &call.world.clients[1].received[&camera];
    assert_eq!(counter.lost(), 0, "{counter:?}");
    assert!(counter.keyframes >= 3, "{counter:?}");
}

#[test]
fn a_video_not_shown_is_paused_and_resumes_when_shown() {
    let mut call = call(23);
    let camera = call.camera.clone();
    call.world.client_mut(1).show_video(&camera, 0, 0);
    let paused = call.world.run_until(Duration::from_secs(2), |w| {
        w.clients[1]
            .video_layers
            .get(&camera)
            .is_some_and(|l| l.paused && l.reason == LayerReason::Hidden)
    });
    assert!(paused);
    call.world.run_for(Duration::from_millis(200));
    let before = call.world.clients[1].frames_from(&call.publisher_id, TrackKind::Video);
    call.world.run_for(Duration::from_secs(2));
    let during = call.world.clients[1].frames_from(&call.publisher_id, TrackKind::Video);
    assert_eq!(during, before, "no video while hidden");
    call.world.client_mut(1).show_video(&camera, 1280, 720);
    assert!(call.wait_for(Duration::from_secs(5), "f", 1280).is_some());
    // A size for a track that is gone (or never was) is no error to show.
    call.world
        .client_mut(1)
        .show_video("p0000000000000-9", 640, 360);
    call.settle();
    assert!(
        call.world.clients[1].errors.is_empty(),
        "{:?}",
        call.world.clients[1].errors
    );
    let counter = &call.world.clients[1].received[&camera];
    assert_eq!(counter.lost(), 0, "the pause left no gap: {counter:?}");
}

#[test]
fn layers_nobody_receives_are_paused_at_the_publisher_and_resumed_when_needed() {
    // Layers follow the shown size only: what is measured is how fast a
    // paused layer comes back, not how fast an estimate grows.
    let mut call = call_with(24, false);
    let camera = call.camera.clone();
    // Shown small: only the quarter layer is needed.
    call.world.client_mut(1).show_video(&camera, 320, 180);
    assert!(call.wait_for(Duration::from_secs(5), "q", 320).is_some());
    // (Not in a layer's first 10 s: its rate is not settled before.)
    let paused = call.world.run_until(Duration::from_secs(15), |w| {
        w.clients[0]
            .publish_layers
            .values()
            .any(|active| active == &["q".to_string()])
    });
    assert!(
        paused,
        "h and f paused: {:?}",
        call.world.clients[0].publish_layers
    );
    // The publisher really stopped them: it sends about the quarter layer
    // and audio only.
    call.world.client_mut(0).reset_counters();
    call.world.run_for(Duration::from_secs(2));
    let sent = call.world.clients[0].packets_sent;
    assert!(sent < 250, "{sent} packets in 2 s");

    // Shown large again: the full layer comes back, from a keyframe.
    call.world.client_mut(1).show_video(&camera, 1280, 720);
    let back = call.wait_for(Duration::from_secs(5), "f", 1280);
    assert!(back.is_some(), "{:?}", call.seen());
    assert!(call.world.clients[0]
        .publish_layers
        .values()
        .any(|active| active.iter().any(|rid| rid == "f")));
    println!("full layer back {:?} after it was asked for", back.unwrap());
    call.settle();
    let counter = &call.world.clients[1].received[&camera];
    assert_eq!(counter.lost(), 0, "{counter:?}");
}

#[test]
fn a_link_too_slow_for_the_lowest_layer_gets_a_lower_frame_rate() {
    let mut call = call(25);
    let camera = call.camera.clone();
    let publisher_id = call.publisher_id.clone();
    // 130 kbit/s: audio (~55 k) and the quarter layer (~140 k) do not fit,
    // its base temporal layer (a quarter of the frames) does.
    call.world.limit_download(1, Some(130_000));
    let slower = call.world.run_until(Duration::from_secs(30), |w| {
        w.clients[1]
            .video_layers
            .get(&camera)
            .is_some_and(|l| l.rid.as_deref() == Some("q") && l.base_frame_rate)
    });
    assert!(
        slower,
        "{:?}",
        call.world.clients[1].video_layers.get(&camera)
    );
    // Frames keep coming, at about a quarter of 30 per second.
    call.world.run_for(Duration::from_secs(2));
    let before = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video);
    call.world.run_for(Duration::from_secs(4));
    let frames = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video) - before;
    assert!((16..=40).contains(&frames), "{frames} frames in 4 s");

    // The cap lifted: the full frame rate (and larger layers) again.
    call.world.limit_download(1, None);
    let back = call.world.run_until(Duration::from_secs(30), |w| {
        w.clients[1]
            .video_layers
            .get(&camera)
            .is_some_and(|l| !l.base_frame_rate && !l.paused)
    });
    assert!(
        back,
        "{:?}",
        call.world.clients[1].video_layers.get(&camera)
    );
    let before = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video);
    call.world.run_for(Duration::from_secs(2));
    let frames = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video) - before;
    assert!(frames >= 50, "{frames} frames in 2 s");
}

#[test]
fn a_lossy_jittery_link_keeps_the_full_frame_rate() {
    let mut call = call(26);
    let camera = call.camera.clone();
    let publisher_id = call.publisher_id.clone();
    assert!(call.wait_for(Duration::from_secs(20), "f", 1280).is_some());
    // 10 % loss and 100 ± 30 ms both ways, packets reordered by the
    // jitter: str0m's delay-based estimate reads this as congestion and
    // falls below what the quarter layer takes. But the subscriber reports
    // no more loss than a lossy link's (retransmission repairs most), so
    // the download is not taken for congested. (The 130 kbit/s test shows
    // the opposite case.)
    call.world.impair_client(
        1,
        Some(LinkConfig {
            delay: Duration::from_millis(70),
            jitter: Duration::from_millis(60),
            loss: 0.10,
        }),
    );
    call.world.run_for(Duration::from_secs(5));
    let before = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video);
    for _ in 0..40 {
        call.world.run_for(Duration::from_millis(500));
        let layer = call.world.clients[1].video_layers[&camera].clone();
        assert!(
            !layer.paused && !layer.base_frame_rate,
            "a lower frame rate on a link that is not congested: {layer:?}"
        );
    }
    let frames = call.world.clients[1].frames_from(&publisher_id, TrackKind::Video) - before;
    // 30 frames a second for 20 s, some still being repaired at the end.
    assert!(frames >= 540, "{frames} frames in 20 s");
    println!("{frames} frames in 20 s");
}
