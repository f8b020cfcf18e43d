//! HTTP API input: the dev token request body, the Host header that names
//! relay URLs, and X-Forwarded-For behind a trusted proxy. Parsing never
//! panics; what passes is well-formed.
#![no_main]

use std::net::IpAddr;

use hotline_server::http::{client_ip, host_name, DevTokenRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
