//! The tokio shell around Hotline's room core: configuration, the media
//! worker that owns the UDP socket and the rooms, HTTP and WebSocket
//! signaling, and the embedded web client.

pub mod audit;
pub mod cli;
pub mod config;
pub mod http;
pub mod latency;
pub mod limits;
pub mod loadtest;
pub mod media;
pub mod schedule_api;
pub mod serve;
pub mod signaling;
pub mod stream;
pub mod turn;
pub mod udp_batch;
pub mod web;
pub mod webhook;
