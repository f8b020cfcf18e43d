//! Any text from a WebSocket: parsing never panics, and what parses
//! serialises back to something that parses the same.
#![no_main]

use hotline_proto::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = ClientMessage::parse(text) {
        let again = serde_json_round_trip(&message);
        assert_eq!(again, message);
    }
});

fn serde_json_round_trip(message: &ClientMessage) -> ClientMessage {
    let text = hotline_proto_json(message);
    ClientMessage::parse(&text).expect("own output parses")
}

fn hotline_proto_json(message: &ClientMessage) -> String {
    // ClientMessage derives Serialize; the server never sends it, tests do.
    serde_json::to_string(message).expect("serialises")
}
