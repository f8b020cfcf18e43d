//! Packets over TCP (and TLS) streams, for browsers whose network blocks
//! UDP: ICE over TCP (RFC 6544, each packet framed by RFC 4571's 16-bit
//! length) and TURN over TCP or TLS (STUN and ChannelData frames, which carry
//! their own lengths). This module only frames and unframes; the media
//! worker and the relay see packets as if they were datagrams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

/// Most connections at once, per listener.
const MAX_CONNECTIONS: usize = 1000;
/// Largest frame accepted: a media packet in a UDP-sized MTU, plus a TURN
/// header.
const MAX_FRAME: usize = 1600;
/// Packets queued for one connection before new ones are dropped (as UDP
/// would drop them): a slow reader never stalls a worker.
const SEND_QUEUE: usize = 512;
/// A connection must finish TLS within this time, and then send its first
/// packet within this time again.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How packets are delimited on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A 16-bit length before each packet (ICE-TCP).
    LengthPrefixed,
    /// STUN and TURN ChannelData, delimited by their own headers.
    Turn,
}

/// What the connections tell their worker.
#[derive(Debug)]
pub enum StreamEvent {
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

/// Accepts connections until the worker stops listening; with `tls`, each
/// connection is a TLS session first.
pub async fn accept_loop(
    listener: TcpListener,
    framing: Framing,
    tls: Option<TlsAcceptor>,
    events: mpsc::UnboundedSender<StreamEvent>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%remote, ?framing, "too many stream connections, refused");
            continue;
        };
        if events.is_closed() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let events = events.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, remote, framing, events).await,
                Some(acceptor) => {
                    match tokio::time::timeout(FIRST_FRAME_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, remote, framing, events).await,
                        _ => debug!(%remote, "TLS handshake failed or timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
}

async fn serve_connection<S>(
    stream: S,
    remote: SocketAddr,
    framing: Framing,
    events: mpsc::UnboundedSender<StreamEvent>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(SEND_QUEUE);
    if events
        .send(StreamEvent::Opened { remote, writer: tx })
        .is_err()
    {
        return;
    }
    let write_loop = async move {
        let mut writer = BufWriter::new(writer);
        while let Some(packet) = rx.recv().await {
            let written = match framing {
                Framing::LengthPrefixed => {
                    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
                    writer.write_all(&len.to_be_bytes()).await.is_ok()
                        && writer.write_all(&packet[..len as usize]).await.is_ok()
                }
                Framing::Turn => writer.write_all(&packet).await.is_ok(),
            };
            if !written {
                return;
            }
            // Send what is queued as one write when the queue is empty.
            if rx.is_empty() && writer.flush().await.is_err() {
                return;
            }
        }
    };
    let read_loop = async {
        let mut buf = vec![0u8; MAX_FRAME];
        let first = read_frame(&mut reader, framing, &mut buf);
        let mut next = match tokio::time::timeout(FIRST_FRAME_TIMEOUT, first).await {
            Ok(read) => read,
            Err(_) => return,
        };
        loop {
            let len = match next {
                Ok(len) => len,
                Err(Some(len)) => {
                    warn!(%remote, ?framing, len, "bad frame on a stream, closing");
                    return;
                }
                Err(None) => return,
            };
            let contents = buf[..len].to_vec();
            if events
                .send(StreamEvent::Packet { remote, contents })
                .is_err()
            {
                return;
            }
            next = read_frame(&mut reader, framing, &mut buf).await;
        }
    };
    tokio::select! {
        _ = write_loop => {}
        _ = read_loop => {}
    }
    let _ = events.send(StreamEvent::Closed { remote });
}

/// Reads one frame into the start of `buf`; returns the packet's length.
/// Errors: `Some(len)` for a frame of a bad length, `None` when the stream
/// ended or failed.
async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    framing: Framing,
    buf: &mut [u8],
) -> Result<usize, Option<usize>> {
    match framing {
        Framing::LengthPrefixed => {
            let mut head = [0u8; 2];
            reader.read_exact(&mut head).await.map_err(|_| None)?;
            let len = usize::from(u16::from_be_bytes(head));
            if len == 0 || len > buf.len() {
                return Err(Some(len));
            }
            reader.read_exact(&mut buf[..len]).await.map_err(|_| None)?;
            Ok(len)
        }
        Framing::Turn => {
            reader.read_exact(&mut buf[..4]).await.map_err(|_| None)?;
            let head = [buf[0], buf[1], buf[2], buf[3]];
            let len = hotline_turn::message::stream_frame_len(head).ok_or(Some(0))?;
            if len > buf.len() {
                return Err(Some(len));
            }
            reader
                .read_exact(&mut buf[4..len])
                .await
                .map_err(|_| None)?;
            Ok(len)
        }
    }
}

/// Sends one packet on a connection, dropping it when the queue is full.
pub fn send(writer: &mpsc::Sender<Vec<u8>>, contents: Vec<u8>) {
    let _ = writer.try_send(contents);
}
