//! STUN messages (RFC 8489) with the TURN methods and attributes (RFC 8656),
//! and TURN ChannelData. Parsing never panics: every length comes from the
//! network and is checked before use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const MAGIC_COOKIE: u32 = 0x2112_A442;
const HEADER_LEN: usize = 20;
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// MESSAGE-INTEGRITY's HMAC-SHA1 value.
const INTEGRITY_LEN: usize = 20;

/// The STUN methods a TURN server handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Binding,
    Allocate,
    Refresh,
    Send,
    Data,
    CreatePermission,
    ChannelBind,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Binding => 0x001,
            Method::Allocate => 0x003,
            Method::Refresh => 0x004,
            Method::Send => 0x006,
            Method::Data => 0x007,
            Method::CreatePermission => 0x008,
            Method::ChannelBind => 0x009,
        }
    }

    fn from_code(code: u16) -> Option<Method> {
        Some(match code {
            0x001 => Method::Binding,
            0x003 => Method::Allocate,
            0x004 => Method::Refresh,
            0x006 => Method::Send,
            0x007 => Method::Data,
            0x008 => Method::CreatePermission,
            0x009 => Method::ChannelBind,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }
}

/// Attribute types this crate reads or writes.
pub mod attr {
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    pub const LIFETIME: u16 = 0x000D;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    pub const EVEN_PORT: u16 = 0x0018;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const DONT_FRAGMENT: u16 = 0x001A;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    pub const SOFTWARE: u16 = 0x8022;
    pub const FINGERPRINT: u16 = 0x8028;
}

/// What kind of packet a TURN client sent, from its first byte (RFC 7983).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Stun,
    ChannelData,
    Other,
}

pub fn classify(bytes: &[u8]) -> PacketKind {
    match bytes.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(0x40..=0x4F) => PacketKind::ChannelData,
        _ => PacketKind::Other,
    }
}

/// Why bytes are not a STUN message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("shorter than its header or its declared length")]
    Truncated,
    #[error("not a STUN message (bad first bits or magic cookie)")]
    NotStun,
    #[error("attribute lengths do not add up")]
    BadAttributes,
    #[error("unknown method {0:#x}")]
    UnknownMethod(u16),
    #[error("FINGERPRINT does not match")]
    BadFingerprint,
}

/// One parsed STUN message, borrowing the packet it came from.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub method: Method,
    pub class: Class,
    pub transaction: [u8; 12],
    /// `(type, value, offset of the attribute header in the packet)`.
    attributes: Vec<(u16, &'a [u8], usize)>,
    raw: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if bytes.len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let kind = u16::from_be_bytes([bytes[0], bytes[1]]);
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let cookie = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if kind & 0xC000 != 0 || cookie != MAGIC_COOKIE || length % 4 != 0 {
            return Err(ParseError::NotStun);
        }
        let raw = bytes
            .get(..HEADER_LEN + length)
            .ok_or(ParseError::Truncated)?;
        let class = match ((kind >> 7) & 0b10) | ((kind >> 4) & 0b01) {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        };
        let method_code = (kind & 0x000F) | ((kind >> 1) & 0x0070) | ((kind >> 2) & 0x0F80);
        let method =
            Method::from_code(method_code).ok_or(ParseError::UnknownMethod(method_code))?;
        let mut transaction = [0u8; 12];
        transaction.copy_from_slice(&raw[8..20]);

        let mut attributes = Vec::new();
        let mut at = HEADER_LEN;
        while at < raw.len() {
            let head = raw.get(at..at + 4).ok_or(ParseError::BadAttributes)?;
            let kind = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let value = raw
                .get(at + 4..at + 4 + len)
                .ok_or(ParseError::BadAttributes)?;
            attributes.push((kind, value, at));
            at += 4 + len.div_ceil(4) * 4;
        }
        if at != raw.len() {
            return Err(ParseError::BadAttributes);
        }
        let message = Message {
            method,
            class,
            transaction,
            attributes,
            raw,
        };
        if let Some((_, value, offset)) = message.find(attr::FINGERPRINT) {
            let expected = fingerprint(&raw[..offset], offset + 8);
            if value != expected.to_be_bytes() {
                return Err(ParseError::BadFingerprint);
            }
        }
        Ok(message)
    }

    fn find(&self, kind: u16) -> Option<(u16, &'a [u8], usize)> {
        self.attributes.iter().copied().find(|(k, _, _)| *k == kind)
    }

    /// Every attribute, in order: `(type, value)`.
    pub fn attributes(&self) -> impl Iterator<Item = (u16, &'a [u8])> + '_ {
        self.attributes
            .iter()
            .map(|(kind, value, _)| (*kind, *value))
    }

    pub fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.find(kind).map(|(_, value, _)| value)
    }

    pub fn has(&self, kind: u16) -> bool {
        self.find(kind).is_some()
    }

    /// Every attribute of a type, in order (e.g. several XOR-PEER-ADDRESS).
    pub fn all(&self, kind: u16) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.attributes
            .iter()
            .filter(move |(k, _, _)| *k == kind)
            .map(|(_, value, _)| *value)
    }

    /// Attribute types that must be understood (below 0x8000) but are not.
    pub fn unknown_required(&self, known: &[u16]) -> Vec<u16> {
        let mut unknown: Vec<u16> = self
            .attributes
            .iter()
            .map(|(k, _, _)| *k)
            .filter(|k| *k < 0x8000 && !known.contains(k))
            .collect();
        unknown.dedup();
        unknown
    }

    pub fn text(&self, kind: u16) -> Option<&'a str> {
        self.get(kind).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn u32(&self, kind: u16) -> Option<u32> {
        let v = self.get(kind)?;
        Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
    }

    pub fn xor_address(&self, kind: u16) -> Option<SocketAddr> {
        decode_xor_address(self.get(kind)?, &self.transaction)
    }

    /// Every address attribute of a type, decoded (`None` for a bad one).
    pub fn xor_addresses(&self, kind: u16) -> impl Iterator<Item = Option<SocketAddr>> + '_ {
        self.all(kind)
            .map(|value| decode_xor_address(value, &self.transaction))
    }

    /// Checks MESSAGE-INTEGRITY with `key`: `None` when the message has none.
    pub fn integrity_ok(&self, key: &[u8]) -> Option<bool> {
        let (_, value, offset) = self.find(attr::MESSAGE_INTEGRITY)?;
        if value.len() != INTEGRITY_LEN {
            return Some(false);
        }
        let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&with_length(
            &self.raw[..offset],
            offset + 4 + INTEGRITY_LEN,
        ));
        Some(mac.verify_slice(value).is_ok())
    }
}

/// The first `prefix` bytes of a message with the header's length field set
/// as if the message ended at `end` (how MESSAGE-INTEGRITY and FINGERPRINT
/// are computed).
fn with_length(prefix: &[u8], end: usize) -> Vec<u8> {
    let mut copy = prefix.to_vec();
    let length = u16::try_from(end - HEADER_LEN).unwrap_or(u16::MAX);
    copy[2..4].copy_from_slice(&length.to_be_bytes());
    copy
}

fn fingerprint(prefix: &[u8], end: usize) -> u32 {
    crc32fast::hash(&with_length(prefix, end)) ^ FINGERPRINT_XOR
}

fn decode_xor_address(value: &[u8], transaction: &[u8; 12]) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let port = u16::from_be_bytes(value.get(2..4)?.try_into().ok()?) ^ (MAGIC_COOKIE >> 16) as u16;
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let ip = match family {
        0x01 => {
            let raw: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            let mut octets = [0u8; 4];
            for i in 0..4 {
                octets[i] = raw[i] ^ cookie[i];
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        0x02 => {
            let raw: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            let mut mask = [0u8; 16];
            mask[..4].copy_from_slice(&cookie);
            mask[4..].copy_from_slice(transaction);
            let mut octets = [0u8; 16];
            for i in 0..16 {
                octets[i] = raw[i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn encode_xor_address(addr: SocketAddr, transaction: &[u8; 12]) -> Vec<u8> {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = addr.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let mut out = vec![0u8];
    match addr.ip() {
        IpAddr::V4(ip) => {
            out.push(0x01);
            out.extend_from_slice(&port.to_be_bytes());
            out.extend(ip.octets().iter().zip(cookie).map(|(a, b)| a ^ b));
        }
        IpAddr::V6(ip) => {
            out.push(0x02);
            out.extend_from_slice(&port.to_be_bytes());
            let mask = cookie.iter().chain(transaction.iter());
            out.extend(ip.octets().iter().zip(mask).map(|(a, b)| a ^ b));
        }
    }
    out
}

/// Builds one STUN message.
pub struct MessageBuilder {
    bytes: Vec<u8>,
    transaction: [u8; 12],
}

impl MessageBuilder {
    pub fn new(method: Method, class: Class, transaction: [u8; 12]) -> MessageBuilder {
        let m = method.code();
        let c = class.bits();
        let kind = (m & 0x000F)
            | ((c & 0b01) << 4)
            | ((m & 0x0070) << 1)
            | ((c & 0b10) << 7)
            | ((m & 0x0F80) << 2);
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&kind.to_be_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        bytes.extend_from_slice(&transaction);
        MessageBuilder { bytes, transaction }
    }

    pub fn attribute(mut self, kind: u16, value: &[u8]) -> MessageBuilder {
        let len = u16::try_from(value.len()).expect("attribute values are small");
        self.bytes.extend_from_slice(&kind.to_be_bytes());
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(value);
        let pad = value.len().div_ceil(4) * 4 - value.len();
        self.bytes.extend(std::iter::repeat_n(0, pad));
        self.set_length();
        self
    }

    pub fn u32(self, kind: u16, value: u32) -> MessageBuilder {
        self.attribute(kind, &value.to_be_bytes())
    }

    pub fn xor_address(self, kind: u16, addr: SocketAddr) -> MessageBuilder {
        let value = encode_xor_address(addr, &self.transaction);
        self.attribute(kind, &value)
    }

    pub fn error(self, code: u16, reason: &str) -> MessageBuilder {
        let mut value = vec![0, 0, (code / 100) as u8, (code % 100) as u8];
        value.extend_from_slice(reason.as_bytes());
        self.attribute(attr::ERROR_CODE, &value)
    }

    /// Adds MESSAGE-INTEGRITY computed with `key`.
    pub fn integrity(self, key: &[u8]) -> MessageBuilder {
        let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&with_length(
            &self.bytes,
            self.bytes.len() + 4 + INTEGRITY_LEN,
        ));
        let value = mac.finalize().into_bytes();
        self.attribute(attr::MESSAGE_INTEGRITY, &value)
    }

    pub fn fingerprint(self) -> MessageBuilder {
        let value = fingerprint(&self.bytes, self.bytes.len() + 8);
        self.u32(attr::FINGERPRINT, value)
    }

    pub fn build(self) -> Vec<u8> {
        self.bytes
    }

    fn set_length(&mut self) {
        let len = u16::try_from(self.bytes.len() - HEADER_LEN).unwrap_or(u16::MAX);
        self.bytes[2..4].copy_from_slice(&len.to_be_bytes());
    }
}

/// A TURN ChannelData message: a channel number, then application data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
}

/// Channel numbers a client may bind (RFC 8656 section 12).
pub const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x4FFF;

impl<'a> ChannelData<'a> {
    /// Parses one ChannelData message at the start of `bytes` (over TCP it
    /// is followed by padding, which is ignored).
    pub fn parse(bytes: &'a [u8]) -> Option<ChannelData<'a>> {
        let channel = u16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?);
        let len = usize::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?));
        if !CHANNELS.contains(&channel) {
            return None;
        }
        Some(ChannelData {
            channel,
            data: bytes.get(4..4 + len)?,
        })
    }

    /// Encodes, padded to a multiple of four bytes when `padded` (TCP).
    pub fn encode(channel: u16, data: &[u8], padded: bool) -> Vec<u8> {
        let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(4 + data.len() + 3);
        out.extend_from_slice(&channel.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&data[..usize::from(len)]);
        if padded {
            let pad = out.len().div_ceil(4) * 4 - out.len();
            out.extend(std::iter::repeat_n(0, pad));
        }
        out
    }
}

/// Length of the next STUN or ChannelData frame on a TCP stream, from its
/// first four bytes (`None` for anything else: the stream is not TURN).
pub fn stream_frame_len(head: [u8; 4]) -> Option<usize> {
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    match classify(&head) {
        PacketKind::Stun => Some(HEADER_LEN + len),
        PacketKind::ChannelData => Some(4 + len.div_ceil(4) * 4),
        PacketKind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: [u8; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    #[test]
    fn a_built_message_parses_back() {
        let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let peer6: SocketAddr = "[2001:db8::1]:3478".parse().unwrap();
        let bytes = MessageBuilder::new(Method::ChannelBind, Class::Request, TX)
            .u32(attr::CHANNEL_NUMBER, 0x4001_0000)
            .xor_address(attr::XOR_PEER_ADDRESS, peer)
            .xor_address(attr::XOR_PEER_ADDRESS, peer6)
            .attribute(attr::USERNAME, b"odd")
            .integrity(b"key")
            .fingerprint()
            .build();
        let message = Message::parse(&bytes).unwrap();
        assert_eq!(message.method, Method::ChannelBind);
        assert_eq!(message.class, Class::Request);
        assert_eq!(message.transaction, TX);
        assert_eq!(message.u32(attr::CHANNEL_NUMBER), Some(0x4001_0000));
        let peers: Vec<_> = message
            .all(attr::XOR_PEER_ADDRESS)
            .map(|v| decode_xor_address(v, &TX).unwrap())
            .collect();
        assert_eq!(peers, vec![peer, peer6]);
        assert_eq!(message.text(attr::USERNAME), Some("odd"));
        assert_eq!(message.integrity_ok(b"key"), Some(true));
        assert_eq!(message.integrity_ok(b"other"), Some(false));
    }

    #[test]
    fn every_method_and_class_round_trips() {
        for method in [
            Method::Binding,
            Method::Allocate,
            Method::Refresh,
            Method::Send,
            Method::Data,
            Method::CreatePermission,
            Method::ChannelBind,
        ] {
            for class in [
                Class::Request,
                Class::Indication,
                Class::Success,
                Class::Error,
            ] {
                let bytes = MessageBuilder::new(method, class, TX).build();
                let message = Message::parse(&bytes).unwrap();
                assert_eq!((message.method, message.class), (method, class));
            }
        }
    }

    /// RFC 5769 section 2.1: a request with USERNAME, MESSAGE-INTEGRITY and
    /// FINGERPRINT whose bytes are given by the RFC.
    #[test]
    fn rfc5769_sample_request_checks_out() {
        let hex = "000100582112a442b7e7a701bc34d686fa87dfae80220010 5354554e20746573\
                   7420636c69656e74 002400046e0001ff 80290008932ff9b151263b36\
                   000600096576746a3a68367659202020 000800149aeaa70cbfd8cb56781ef2b5\
                   b2d3f249c1b571a2 80280004e57a3bcf";
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let message = Message::parse(&bytes).expect("fingerprint matches");
        assert_eq!(message.method, Method::Binding);
        assert_eq!(message.text(attr::USERNAME), Some("evtj:h6vY"));
        assert_eq!(message.integrity_ok(b"VOkJxbRl1RmTxUk/WvJxBt"), Some(true));
    }

    #[test]
    fn truncated_and_foreign_bytes_are_errors() {
        let bytes = MessageBuilder::new(Method::Allocate, Class::Request, TX)
            .u32(attr::LIFETIME, 600)
            .build();
        for cut in 0..bytes.len() {
            assert!(Message::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            Message::parse(&[0x80; 40]).unwrap_err(),
            ParseError::NotStun
        );
        let mut bad = bytes.clone();
        bad[3] = 12; // declares more than the attributes hold
        assert!(Message::parse(&bad).is_err());
    }

    #[test]
    fn a_damaged_fingerprint_is_refused() {
        let mut bytes = MessageBuilder::new(Method::Binding, Class::Request, TX)
            .fingerprint()
            .build();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            Message::parse(&bytes).unwrap_err(),
            ParseError::BadFingerprint
        );
    }

    #[test]
    fn channel_data_round_trips_with_and_without_padding() {
        let udp = ChannelData::encode(0x4001, b"hello", false);
        assert_eq!(udp.len(), 9);
        let tcp = ChannelData::encode(0x4001, b"hello", true);
        assert_eq!(tcp.len(), 12);
        for bytes in [&udp, &tcp] {
            let parsed = ChannelData::parse(bytes).unwrap();
            assert_eq!((parsed.channel, parsed.data), (0x4001, &b"hello"[..]));
        }
        assert_eq!(stream_frame_len(tcp[..4].try_into().unwrap()), Some(12));
        assert!(ChannelData::parse(&[0x40, 0x01, 0, 9, 1]).is_none());
        assert!(ChannelData::parse(&[0x50, 0x01, 0, 0]).is_none());
    }
}
