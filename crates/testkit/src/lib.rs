//! Test tools for Hotline: [`SimClient`], a str0m peer that behaves like a
//! browser running the Hotline client (two peer connections, the signaling
//! protocol, synthetic Opus and VP8 media at the RTP level); [`SimNetwork`], a seeded network
//! with delay, jitter and loss; and [`World`], which runs a room core and its
//! clients in simulated time.
//!
//! Everything is sans-IO, so the same client also drives real sockets (the
//! in-process server tests, and the load generator of `hotline loadtest`).

mod client;
pub mod media;
mod net;
mod world;

pub use client::{SimClient, SimE2ee};
pub use media::{MediaCounter, VideoShape};
pub use net::{Bottleneck, Datagram, LinkConfig, SimNetwork};
pub use world::World;
