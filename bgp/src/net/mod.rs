//! Sockets for BGP sessions: dialing a peer from the configured source
//! address, binding the listeners, and the per-peer options (TCP MD5,
//! RFC 2385; TTL security, RFC 5082, or multihop TTL).
//!
//! ```text
//!   dial:    socket -> bind(source, 0) -> MD5 key(peer) -> TTL / MINTTL -> connect
//!   listen:  socket -> SO_REUSEADDR (+ IPV6_V6ONLY) -> bind -> listen
//!            MD5 keys are added per configured peer on each listener
//!   accept:  TTL / MINTTL of the matched peer set on the accepted socket
//! ```
//!
//! The kernel drops a segment with a wrong or missing signature silently
//! (no RST), so a key mismatch shows only as a connect timeout and in the
//! `TcpExtTCPMD5*` counters of `nstat`.

pub mod md5;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::config::{PasswordSource, TtlMode};

/// Socket options of one peer.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PeerSockOpts {
    /// TCP MD5 key (RFC 2385), 1-80 octets.
    pub md5_key: Option<Vec<u8>>,
    /// TTL handling; `None` leaves the kernel default.
    pub ttl: Option<TtlMode>,
}

impl std::fmt::Debug for PeerSockOpts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerSockOpts")
            .field("md5_key", &self.md5_key.as_ref().map(|_| "<redacted>"))
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Reads a TCP MD5 password: inline, or from a file with one trailing
/// newline stripped (`echo key > file` adds one that is not part of the key).
pub fn read_password(src: &PasswordSource) -> io::Result<Vec<u8>> {
    let key = match src {
        PasswordSource::Inline(p) => p.0.as_bytes().to_vec(),
        PasswordSource::File(path) => {
            let mut bytes = std::fs::read(path)?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            bytes
        }
    };
    if key.is_empty() || key.len() > md5::MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TCP MD5 key of {} octets; RFC 2385 keys here are 1-80", key.len()),
        ));
    }
    Ok(key)
}

/// Applies the TTL handling of `ttl` to a socket towards a peer of family
/// `ipv6`: GTSM sends with TTL 255 and drops anything that crossed more than
/// `hops - 1` routers; multihop just sets the outgoing TTL.
pub fn apply_ttl(sock: &impl AsRawFd, ipv6: bool, ttl: TtlMode) -> io::Result<()> {
    match ttl {
        TtlMode::Multihop(t) => md5::set_ttl(sock, ipv6, t),
        TtlMode::Security { hops } => {
            // RFC 5082 §3: "the TTL ... set to 255" on transmit, and accept
            // only TTL >= 256 - hops (hops = 1: directly connected, 255).
            md5::set_ttl(sock, ipv6, 255)?;
            md5::set_min_ttl(sock, ipv6, gtsm_min_ttl(hops))
        }
    }
}

/// The lowest TTL GTSM accepts from a peer `hops` away: 256 - hops (a
/// directly connected peer, one hop, must arrive with 255).
pub fn gtsm_min_ttl(hops: u8) -> u8 {
    255u8.saturating_sub(hops.saturating_sub(1))
}

/// The TTL floor a listening socket can enforce for every peer that may
/// connect to it: with every one of them on GTSM, the lowest of their floors;
/// with any other (or none), no floor (0). On a listener the kernel checks
/// the floor on the SYN, so spoofed connections from afar are refused before
/// the handshake rather than after accept (RFC 5082 §3); each accepted socket
/// still gets its own peer's floor.
pub fn listener_min_ttl(peers: impl IntoIterator<Item = TtlMode>) -> u8 {
    let mut floor: Option<u8> = None;
    for t in peers {
        match t {
            TtlMode::Security { hops } => {
                let f = gtsm_min_ttl(hops);
                floor = Some(floor.map_or(f, |m| m.min(f)));
            }
            TtlMode::Multihop(_) => return 0,
        }
    }
    floor.unwrap_or(0)
}

/// Dials `remote` from `source` (any local address when `None`) with the
/// peer's socket options.
pub async fn dial(
    remote: SocketAddr,
    source: Option<IpAddr>,
    opts: &PeerSockOpts,
) -> io::Result<TcpStream> {
    let ipv6 = remote.is_ipv6();
    let sock = if ipv6 { TcpSocket::new_v6()? } else { TcpSocket::new_v4()? };
    if let Some(src) = source {
        // A source of the other family cannot be bound; dial without it
        // rather than fail forever.
        if src.is_ipv6() == ipv6 {
            sock.bind(SocketAddr::new(src, 0))?;
        }
    }
    if let Some(key) = &opts.md5_key {
        // "Set the key before connect" (the SYN is already signed).
        md5::set_md5_key(&sock, remote.ip(), key)?;
    }
    if let Some(ttl) = opts.ttl {
        apply_ttl(&sock, ipv6, ttl)?;
    }
    let stream = sock.connect(remote).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Binds a listening socket on `addr`, IPv6-only for an IPv6 address so the
/// IPv4 and IPv6 wildcards can share a port.
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = if addr.is_ipv6() { TcpSocket::new_v6()? } else { TcpSocket::new_v4()? };
    sock.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        md5::set_v6_only(&sock)?;
    }
    sock.bind(addr)?;
    sock.listen(128)
}

/// The address a peer is known by: an IPv4 peer reaching an IPv6 socket
/// shows as `::ffff:a.b.c.d`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Password;

    #[test]
    fn password_file_loses_one_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("cbgp-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("key");
        std::fs::write(&f, "s3cret\n").unwrap();
        assert_eq!(read_password(&PasswordSource::File(f.clone())).unwrap(), b"s3cret");
        std::fs::write(&f, "s3cret\n\n").unwrap();
        assert_eq!(read_password(&PasswordSource::File(f)).unwrap(), b"s3cret\n");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn inline_password_is_used_as_is() {
        let src = PasswordSource::Inline(Password("k y".into()));
        assert_eq!(read_password(&src).unwrap(), b"k y");
    }

    #[test]
    fn empty_password_is_refused() {
        assert!(read_password(&PasswordSource::Inline(Password(String::new()))).is_err());
    }

    #[test]
    fn listener_floor_is_the_lowest_gtsm_floor_and_only_when_every_peer_uses_gtsm() {
        let gtsm = |hops| TtlMode::Security { hops };
        assert_eq!(listener_min_ttl([gtsm(1), gtsm(1)]), 255);
        assert_eq!(listener_min_ttl([gtsm(1), gtsm(3)]), 253);
        assert_eq!(listener_min_ttl([gtsm(1), TtlMode::Multihop(64)]), 0);
        assert_eq!(listener_min_ttl([]), 0);
    }

    #[test]
    fn gtsm_one_hop_accepts_only_ttl_255() {
        assert_eq!(gtsm_min_ttl(1), 255);
        assert_eq!(gtsm_min_ttl(2), 254);
        assert_eq!(gtsm_min_ttl(0), 255);
        let s = TcpSocket::new_v4().unwrap();
        apply_ttl(&s, false, TtlMode::Security { hops: 1 }).unwrap();
    }

    #[tokio::test]
    async fn ipv4_and_ipv6_wildcards_share_a_port() {
        let v4 = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = v4.local_addr().unwrap().port();
        if let Ok(v6) = bind_listener(SocketAddr::new("::1".parse().unwrap(), port)) {
            assert_eq!(v6.local_addr().unwrap().port(), port);
        }
    }
}
