//! Any text as the TOML config file: reading it never panics.
#![no_main]

use hotline_server::config::FileConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = toml::from_str::<FileConfig>(text);
    }
});
