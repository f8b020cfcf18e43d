//! ICE over TCP (RFC 6544): a passive TCP candidate for browsers whose
//! network blocks UDP. Each connection carries RFC 4571 frames (a 16-bit
//! length, then one STUN, DTLS or SRTP packet); this module only frames and
//! unframes, and hands packets to the media worker like datagrams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, warn};

/// Most ICE-TCP connections at once.
const MAX_CONNECTIONS: usize = 1000;
/// Largest frame accepted: media packets fit in a UDP-sized MTU.
const MAX_FRAME: usize = 1500;
/// Packets queued for one connection before new ones are dropped (as UDP
/// would drop them): a slow reader never stalls the media worker.
const SEND_QUEUE: usize = 512;
/// A connection must send its first packet (a STUN check) this soon.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// What the connections tell the media worker.
#[derive(Debug)]
pub enum TcpEvent {
    Opened {
        remote: SocketAddr,
        writer: mpsc::Sender<Vec<u8>>,
    },
    Packet {
        remote: SocketAddr,
        contents: Vec<u8>,
    },
    Closed {
        remote: SocketAddr,
    },
}

/// Accepts ICE-TCP connections until the worker stops listening.
pub async fn accept_loop(listener: TcpListener, events: mpsc::UnboundedSender<TcpEvent>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%remote, "ice-tcp: too many connections, refused");
            continue;
        };
        if events.is_closed() {
            return;
        }
        let events = events.clone();
        tokio::spawn(async move {
            serve_connection(stream, remote, events).await;
            drop(permit);
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    events: mpsc::UnboundedSender<TcpEvent>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(SEND_QUEUE);
    if events
        .send(TcpEvent::Opened { remote, writer: tx })
        .is_err()
    {
        return;
    }
    let write_loop = async move {
        let mut writer = BufWriter::new(writer);
        while let Some(packet) = rx.recv().await {
            let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
            if writer.write_all(&len.to_be_bytes()).await.is_err()
                || writer.write_all(&packet[..len as usize]).await.is_err()
            {
                return;
            }
            // Send what is queued as one write when the queue is empty.
            if rx.is_empty() && writer.flush().await.is_err() {
                return;
            }
        }
    };
    let read_loop = async {
        let mut first = true;
        let mut buf = vec![0u8; MAX_FRAME];
        loop {
            let mut len = [0u8; 2];
            let read = reader.read_exact(&mut len);
            let got = if first {
                match tokio::time::timeout(FIRST_FRAME_TIMEOUT, read).await {
                    Ok(got) => got,
                    Err(_) => return,
                }
            } else {
                read.await
            };
            if got.is_err() {
                return;
            }
            let len = u16::from_be_bytes(len) as usize;
            if len == 0 || len > MAX_FRAME {
                warn!(%remote, len, "ice-tcp: bad frame length, closing");
                return;
            }
            if reader.read_exact(&mut buf[..len]).await.is_err() {
                return;
            }
            first = false;
            let contents = buf[..len].to_vec();
            if events.send(TcpEvent::Packet { remote, contents }).is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = write_loop => {}
        _ = read_loop => {}
    }
    let _ = events.send(TcpEvent::Closed { remote });
}

/// Sends one packet on a connection, dropping it when the queue is full.
pub fn send(writer: &mpsc::Sender<Vec<u8>>, contents: Vec<u8>) {
    let _ = writer.try_send(contents);
}
