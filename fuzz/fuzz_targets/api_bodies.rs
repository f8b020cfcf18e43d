//! HTTP API input: the dev token request body, the Host header that names
//! relay URLs, X-Forwarded-For behind a trusted proxy, and a scheduled
//! call as an organizer sends it (then a party's windows for it). Parsing
//! never panics; what passes is well-formed.
#![no_main]

use std::net::IpAddr;

use hotline_schedule::call::{Call, NewCall};
use hotline_schedule::slots::LocalWindow;
use hotline_server::http::{client_ip, host_name, DevTokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = "2026-11-25T00:00:00Z".parse().unwrap();
    if let Ok(new) = serde_json::from_slice::<NewCall>(data) {
        if let Ok(mut call) = Call::create(new, "org", now) {
            assert!((2..=8).contains(&call.parties.len()));
            let party = call.parties[0].id.clone();
            if let Ok(windows) = serde_json::from_slice::<Vec<LocalWindow>>(data) {
                let before = call.clone();
                if call.set_windows(&party, windows, now).is_err() {
                    assert_eq!(call, before);
                }
                let _ = call.candidates(now);
            }
        }
    }
    if let Ok(request) = DevTokenRequest::parse(data) {
        assert!(!request.name.is_empty() && request.name.chars().count() <= 64);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(host) = host_name(text) {
            assert!(!host.contains('/') && !host.contains('?') && !host.contains(' '));
        }
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let ip = client_ip(proxy, Some(text), &[proxy]);
        assert!(ip == proxy || text.contains(&ip.to_string()) || ip.is_ipv6());
    }
});
