//! The embedded TURN relay (RFC 8656) for browsers whose network lets
//! nothing through but a TCP port or a UDP port to one address.
//!
//! - [`message`]: STUN and ChannelData encoding and parsing.
//! - [`credentials`]: short-lived credentials derived from the server secret.
//! - [`relay`]: the sans-IO relay; it relays only to Hotline's media port.
//!
//! The sockets live in the server crate (`hotline-server`'s `turn` module).

pub mod credentials;
pub mod message;
pub mod relay;

pub use credentials::{CredentialKey, Credentials};
pub use relay::{
    Client, ClientTransport, Output, RelayConfig, RelayEvent, RelayPorts, ReleaseReason, TurnRelay,
};
