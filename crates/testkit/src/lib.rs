//! Test tools for Hotline: [`SimClient`], a str0m peer that behaves like a
//! browser running the Hotline client (two peer connections, the signaling
//! protocol, synthetic Opus and VP8 media); [`SimNetwork`], a seeded network
//! with delay, jitter and loss; and [`World`], which runs a room core and its
//! clients in simulated time.
//!
//! Everything is sans-IO, so the same client also drives real sockets (the
//! in-process server tests, and later the load generator).

mod client;
mod net;
mod world;

pub use client::{MediaCounter, SimClient};
pub use net::{Datagram, LinkConfig, SimNetwork};
pub use world::World;
