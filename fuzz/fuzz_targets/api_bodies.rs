//! HTTP API input: the dev token request body and the Host header that
//! names relay URLs. Parsing never panics; what passes is well-formed.
#![no_main]

use hotline_server::http::{host_name, DevTokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = DevTokenRequest::parse(data) {
        assert!(!request.name.is_empty() && request.name.chars().count() <= 64);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(host) = host_name(text) {
            assert!(!host.contains('/') && !host.contains('?') && !host.contains(' '));
        }
    }
});
