//! What the room core reads and rewrites of a published RTP payload (the
//! VP8 payload descriptor, frame tag and keyframe header; the RED headers
//! of redundant audio) must never panic on whatever a hostile publisher
//! puts there, and must agree with itself.
#![no_main]

use hotline_sfu::red::primary_range;
use hotline_sfu::vp8::{is_keyframe_start, keyframe_size, PictureIdOffset, Vp8Descriptor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    if let Some(primary) = primary_range(payload) {
        // The primary is the payload's tail, after at least its header.
        assert!(primary.start >= 1 && primary.start <= payload.len());
        assert_eq!(primary.end, payload.len());
    }
    let keyframe = is_keyframe_start(payload);
    match Vp8Descriptor::parse(payload) {
        Some(d) => {
            assert!(d.len >= 1 && d.len <= payload.len());
            if keyframe {
                assert!(d.starts_frame() && d.len < payload.len());
            }
        }
        None => assert!(!keyframe),
    }
    if keyframe_size(payload).is_some() {
        assert!(keyframe);
    }
    // Rewriting picture ids keeps the descriptor's shape.
    let mut copy = payload.to_vec();
    let offset = PictureIdOffset {
        picture_id: 0x4321,
        tl0_pic_idx: 99,
    };
    if let Some(sent) = offset.apply(&mut copy) {
        let reparsed = Vp8Descriptor::parse(&copy).expect("still a descriptor");
        assert_eq!(reparsed, sent);
        assert_eq!(copy.len(), payload.len());
        assert_eq!(copy[sent.len..], payload[sent.len..]);
    }
});
