//! Member addresses: anything the transport can send to and the wire can carry.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use murmura_core::codec::{DecodeError, DecodeResult, Reader, put_varint};

/// An address a member can be reached at.
///
/// The core never interprets addresses: it only stores them, compares them and
/// hands them back in [`Transmit`](crate::Transmit)s. [`SocketAddr`] is what
/// the tokio runtime uses; `u64` suits a simulator.
///
/// ```
/// use murmura_gossip::Address;
/// use murmura_core::codec::Reader;
/// let addr: std::net::SocketAddr = "127.0.0.1:7946".parse().unwrap();
/// let mut out = Vec::new();
/// addr.encode(&mut out);
/// assert_eq!(std::net::SocketAddr::decode(&mut Reader::new(&out)).unwrap(), addr);
/// ```
pub trait Address: Clone + Eq + Ord + Hash + Debug + Send + Sync + 'static {
    /// Appends the wire form.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads the wire form; never panics on hostile input.
    fn decode(r: &mut Reader<'_>) -> DecodeResult<Self>;
}

impl Address for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, *self);
    }
    fn decode(r: &mut Reader<'_>) -> DecodeResult<Self> {
        r.varint()
    }
}

impl Address for SocketAddr {
    fn encode(&self, out: &mut Vec<u8>) {
        match self.ip() {
            IpAddr::V4(ip) => {
                out.push(4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(6);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&self.port().to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let start = r.clone();
        let result = (|| {
            let ip = match r.u8()? {
                4 => IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)),
                6 => IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "address family",
                        tag: u64::from(tag),
                    });
                }
            };
            Ok(SocketAddr::new(ip, r.u16_le()?))
        })();
        if result.is_err() {
            *r = start;
        }
        result
    }
}
