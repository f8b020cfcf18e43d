//! What the room core reads of a published RTP payload (the VP8 payload
//! descriptor and frame tag) must never panic on whatever a hostile
//! publisher puts there, and must agree with itself.
#![no_main]

use hotline_sfu::vp8::{is_keyframe_start, Vp8Descriptor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
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
});
