//! Sending many datagrams, to many destinations, in few system calls:
//! `sendmmsg` on Linux. An SFU sends the same packet to every subscriber,
//! so a turn of the media worker ends with dozens to hundreds of datagrams
//! to send; one system call each was a third of the forwarding cost.
//!
//! Consecutive datagrams to one destination of equal length (the packets
//! of one video frame to one subscriber) also go down the kernel's UDP
//! stack as one (UDP generic segmentation offload, `UDP_SEGMENT`), which is
//! cut into datagrams only at the end. Where the kernel refuses that, the
//! batch falls back to one datagram per message.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Messages handed to the kernel per call.
const CHUNK: usize = 64;
/// Most datagrams, and bytes, in one segmented message (the kernel takes
/// up to 64 segments and one IP datagram's worth of bytes).
const MAX_SEGMENTS: usize = 64;
const MAX_SEGMENTED_BYTES: usize = 60_000;

/// Datagrams waiting to be sent.
pub struct SendBatch {
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
    /// Whether runs to one destination are sent segmented (off once the
    /// kernel refuses it).
    segmentation: bool,
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            datagrams: Vec::new(),
            segmentation: cfg!(target_os = "linux"),
        }
    }
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
            let segmentation = self.segmentation;
            match socket.try_io(tokio::io::Interest::WRITABLE, || {
                send_some(socket, pending, segmentation)
            }) {
                Ok(0) => sent += 1,
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if socket.writable().await.is_err() {
                        break;
                    }
                }
                Err(e) if segmentation && refuses_segmentation(&e) => {
                    tracing::info!(
                        "UDP segmentation offload refused ({e}); sending datagrams one by one"
                    );
                    self.segmentation = false;
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

/// Errors with which a kernel or device says it cannot segment.
fn refuses_segmentation(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO) | Some(libc::EINVAL) | Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP)
    )
}

/// How many datagrams from the start of `datagrams` can go as one
/// segmented message: same destination, same length, except that the last
/// may be shorter.
fn run_length(datagrams: &[(SocketAddr, Vec<u8>)]) -> usize {
    let Some((to, first)) = datagrams.first() else {
        return 0;
    };
    let segment = first.len();
    let mut run = 1;
    let mut bytes = segment;
    for (next_to, next) in &datagrams[1..] {
        if next_to != to
            || next.len() > segment
            || run == MAX_SEGMENTS
            || bytes + next.len() > MAX_SEGMENTED_BYTES
        {
            break;
        }
        run += 1;
        bytes += next.len();
        if next.len() < segment {
            break;
        }
    }
    run
}

/// Sends up to [`CHUNK`] messages; returns how many datagrams they held.
#[cfg(target_os = "linux")]
fn send_some(
    socket: &UdpSocket,
    datagrams: &[(SocketAddr, Vec<u8>)],
    segmentation: bool,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    // Plan the messages: runs of datagrams, each with its destination.
    let mut runs: Vec<(usize, usize)> = Vec::with_capacity(CHUNK);
    let mut at = 0;
    while at < datagrams.len() && runs.len() < CHUNK {
        let run = if segmentation {
            run_length(&datagrams[at..])
        } else {
            1
        };
        runs.push((at, run));
        at += run;
    }
    let addresses: Vec<socket2::SockAddr> = runs
        .iter()
        .map(|&(start, _)| socket2::SockAddr::from(datagrams[start].0))
        .collect();
    let iovecs: Vec<libc::iovec> = datagrams[..at]
        .iter()
        .map(|(_, contents)| libc::iovec {
            iov_base: contents.as_ptr() as *mut libc::c_void,
            iov_len: contents.len(),
        })
        .collect();
    // One aligned control buffer per message, for the segment size.
    let mut controls: Vec<[u64; 4]> = vec![[0; 4]; runs.len()];
    let mut messages: Vec<libc::mmsghdr> = Vec::with_capacity(runs.len());
    for (i, &(start, run)) in runs.iter().enumerate() {
        // SAFETY: an all-zero msghdr is valid (no control data, no flags).
        let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
        header.msg_name = addresses[i].as_ptr() as *mut libc::c_void;
        header.msg_namelen = addresses[i].len();
        header.msg_iov = iovecs[start..].as_ptr() as *mut libc::iovec;
        header.msg_iovlen = run;
        if run > 1 {
            let segment = datagrams[start].1.len() as u16;
            header.msg_control = controls[i].as_mut_ptr() as *mut libc::c_void;
            // SAFETY: the control buffer (32 bytes, 8-aligned) holds one
            // cmsghdr with a u16 of data; CMSG_FIRSTHDR points into it.
            unsafe {
                header.msg_controllen =
                    libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) as usize;
                let cmsg = libc::CMSG_FIRSTHDR(&header);
                (*cmsg).cmsg_level = libc::SOL_UDP;
                (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, segment);
            }
        }
        messages.push(libc::mmsghdr {
            msg_hdr: header,
            msg_len: 0,
        });
    }
    // SAFETY: every pointer in `messages` points into `addresses`, `iovecs`,
    // `controls` and the datagrams' buffers, which outlive the call; the
    // count matches the array.
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
    Ok(runs[..n as usize].iter().map(|&(_, run)| run).sum())
}

#[cfg(not(target_os = "linux"))]
fn send_some(
    socket: &UdpSocket,
    datagrams: &[(SocketAddr, Vec<u8>)],
    _segmentation: bool,
) -> io::Result<usize> {
    let (to, contents) = &datagrams[0];
    socket.try_send_to(contents, *to).map(|_| 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `batch` and checks that each receiver gets its datagrams,
    /// whole and in order.
    async fn sends_intact(datagrams: Vec<(usize, Vec<u8>)>, receivers: usize) {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut sockets = Vec::new();
        for _ in 0..receivers {
            sockets.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        }
        let mut batch = SendBatch::default();
        for (to, contents) in &datagrams {
            batch.push(sockets[*to].local_addr().unwrap(), contents.clone());
        }
        assert_eq!(batch.len(), datagrams.len());
        batch.send(&sender).await;
        assert!(batch.is_empty());
        // This kernel segments; a refusal would have turned it off.
        assert_eq!(batch.segmentation, cfg!(target_os = "linux"));
        let mut buf = vec![0u8; 2048];
        for (to, contents) in &datagrams {
            let (n, from) = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                sockets[*to].recv_from(&mut buf),
            )
            .await
            .expect("every datagram arrives")
            .unwrap();
            assert_eq!(from, sender.local_addr().unwrap());
            assert_eq!(&buf[..n], &contents[..]);
        }
    }

    fn datagram(tag: u32, len: usize) -> Vec<u8> {
        let mut d = vec![(tag % 251) as u8; len];
        d[..4].copy_from_slice(&tag.to_be_bytes());
        d
    }

    #[tokio::test]
    async fn datagrams_to_many_destinations_arrive_in_order() {
        // More than one call's worth, interleaved over three receivers.
        let datagrams = (0..150u32)
            .map(|i| ((i % 3) as usize, datagram(i, 8)))
            .collect();
        sends_intact(datagrams, 3).await;
    }

    #[tokio::test]
    async fn runs_to_one_destination_are_cut_back_into_the_same_datagrams() {
        let mut datagrams = Vec::new();
        let mut tag = 0;
        let mut push = |to: usize, len: usize, datagrams: &mut Vec<(usize, Vec<u8>)>| {
            tag += 1;
            datagrams.push((to, datagram(tag, len)));
        };
        // A frame of equal packets and a shorter last one, to receiver 0.
        for _ in 0..6 {
            push(0, 1150, &mut datagrams);
        }
        push(0, 700, &mut datagrams);
        // Growing sizes (no run), then a run longer than one message.
        push(1, 300, &mut datagrams);
        push(1, 400, &mut datagrams);
        for _ in 0..70 {
            push(1, 1000, &mut datagrams);
        }
        // A run broken by another destination.
        push(0, 900, &mut datagrams);
        push(1, 900, &mut datagrams);
        push(0, 900, &mut datagrams);
        sends_intact(datagrams, 2).await;
    }

    #[test]
    fn runs_stop_at_a_new_destination_a_longer_datagram_or_a_short_last_one() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let d = |to, len| (to, vec![0u8; len]);
        assert_eq!(run_length(&[d(a, 10), d(a, 10), d(a, 5), d(a, 5)]), 3);
        assert_eq!(run_length(&[d(a, 10), d(a, 11)]), 1);
        assert_eq!(run_length(&[d(a, 10), d(b, 10)]), 1);
        assert_eq!(run_length(&vec![d(a, 100); 100]), MAX_SEGMENTS);
        assert_eq!(
            run_length(&vec![d(a, 1200); 64]),
            MAX_SEGMENTED_BYTES / 1200
        );
        assert_eq!(run_length(&[]), 0);
    }
}
