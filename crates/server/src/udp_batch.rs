//! Sending many datagrams, to many destinations, in few system calls:
//! `sendmmsg` on Linux. An SFU sends the same packet to every subscriber,
//! so a turn of the media worker ends with dozens to hundreds of datagrams
//! to send; one system call each was a third of the forwarding cost.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Datagrams handed to the kernel per call.
const CHUNK: usize = 64;

/// Datagrams waiting to be sent.
#[derive(Default)]
pub struct SendBatch {
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

impl SendBatch {
    pub fn push(&mut self, destination: SocketAddr, contents: Vec<u8>) {
        self.datagrams.push((destination, contents));
    }

    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    /// Sends everything, waiting when the socket's buffer is full. A
    /// datagram the kernel refuses (e.g. an unreachable destination) is
    /// dropped, as the network would.
    pub async fn send(&mut self, socket: &UdpSocket) {
        let mut sent = 0;
        while sent < self.datagrams.len() {
            let pending = &self.datagrams[sent..];
            match socket.try_io(tokio::io::Interest::WRITABLE, || send_some(socket, pending)) {
                Ok(0) => sent += 1,
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if socket.writable().await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::debug!(destination = %pending[0].0, "udp send: {e}");
                    sent += 1;
                }
            }
        }
        self.datagrams.clear();
    }
}

#[cfg(target_os = "linux")]
fn send_some(socket: &UdpSocket, datagrams: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    let chunk = &datagrams[..datagrams.len().min(CHUNK)];
    let addresses: Vec<socket2::SockAddr> = chunk
        .iter()
        .map(|(to, _)| socket2::SockAddr::from(*to))
        .collect();
    let mut iovecs: Vec<libc::iovec> = chunk
        .iter()
        .map(|(_, contents)| libc::iovec {
            iov_base: contents.as_ptr() as *mut libc::c_void,
            iov_len: contents.len(),
        })
        .collect();
    let mut messages: Vec<libc::mmsghdr> = addresses
        .iter()
        .zip(iovecs.iter_mut())
        .map(|(address, iovec)| {
            // SAFETY: an all-zero msghdr is valid (no control data, no flags).
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_name = address.as_ptr() as *mut libc::c_void;
            header.msg_namelen = address.len();
            header.msg_iov = iovec;
            header.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: header,
                msg_len: 0,
            }
        })
        .collect();
    // SAFETY: every pointer in `messages` points into `addresses`, `iovecs`
    // and the datagrams' buffers, which outlive the call; the count matches
    // the array.
    let n = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            messages.as_mut_ptr(),
            messages.len() as libc::c_uint,
            0,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(not(target_os = "linux"))]
fn send_some(socket: &UdpSocket, datagrams: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    let (to, contents) = &datagrams[0];
    socket.try_send_to(contents, *to).map(|_| 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_reaches_every_destination_in_order() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut receivers = Vec::new();
        for _ in 0..3 {
            receivers.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        let mut batch = SendBatch::default();
        // More than one chunk, spread over the receivers.
        for i in 0..150u32 {
            let to = receivers[i as usize % 3].local_addr().unwrap();
            batch.push(to, i.to_be_bytes().to_vec());
        }
        assert_eq!(batch.len(), 150);
        batch.send(&sender).await;
        assert!(batch.is_empty());
        for (r, receiver) in receivers.iter().enumerate() {
            let mut buf = [0u8; 16];
            for k in 0..50u32 {
                let (n, from) = receiver.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, sender.local_addr().unwrap());
                assert_eq!(&buf[..n], &(k * 3 + r as u32).to_be_bytes());
            }
        }
    }
}
