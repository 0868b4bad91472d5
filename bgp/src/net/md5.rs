//! Socket options no safe wrapper offers: TCP MD5 signatures (RFC 2385) and
//! the IP TTL handling of GTSM (RFC 5082) and multihop sessions.
//!
//! ```text
//!   struct tcp_md5sig (linux/tcp.h), 216 octets:
//!   +-------------------------------+------+--------+--------+---------+----------+
//!   | tcpm_addr: sockaddr_storage   | flags| prefix | keylen | ifindex | key[80]  |
//!   | (128)                         | (1)  | len (1)| (2)    | (4)     | (80)     |
//!   +-------------------------------+------+--------+--------+---------+----------+
//! ```
//!
//! This is the one module of the crate allowed `unsafe`: each block is a
//! `setsockopt(2)` call on a file descriptor borrowed from a live socket,
//! with a pointer to a properly sized, initialised value on our stack.
//! Neither socket2 nor nix wraps `TCP_MD5SIG` or `IP_MINTTL`.
#![allow(unsafe_code, reason = "setsockopt(2) for TCP_MD5SIG and IP_MINTTL; see module docs")]

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

/// "the MD5 digest ... key" is at most 80 octets on Linux (TCP_MD5SIG_MAXKEYLEN).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` from `linux/tcp.h`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is borrowed from a socket the caller holds open; `value`
    // points to `len` initialised octets that outlive the call, and the kernel
    // only reads them.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Sets (or, with an empty `key`, removes) the TCP MD5 key for segments to
/// and from `peer` on `sock`: a listening socket (keys for every peer it
/// accepts from) or a socket about to connect. RFC 2385 §4: "the MD5 digest
/// ... using the ... connection-specific key".
pub fn set_md5_key(sock: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP MD5 key of {} octets; at most {MAX_KEY_LEN}", key.len()),
        ));
    }
    // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                std::ptr::write((&mut sig.addr as *mut libc::sockaddr_storage).cast(), sin);
            }
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: a.octets() },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::write((&mut sig.addr as *mut libc::sockaddr_storage).cast(), sin6);
            }
        }
    }
    sig.keylen = key.len() as u16; // <= 80, checked above
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(sock.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// Sets the TTL (IPv4) or hop limit (IPv6) of outgoing packets.
pub fn set_ttl(sock: &impl AsRawFd, ipv6: bool, ttl: u8) -> io::Result<()> {
    let v = libc::c_int::from(ttl);
    if ipv6 {
        setsockopt(sock.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &v)
    } else {
        setsockopt(sock.as_raw_fd(), libc::IPPROTO_IP, libc::IP_TTL, &v)
    }
}

/// Drops incoming packets whose TTL (hop limit) is below `min`: the receive
/// half of GTSM (RFC 5082 §3: "the TTL ... MUST be ... greater than or equal
/// to 255 - TrustRadius").
pub fn set_min_ttl(sock: &impl AsRawFd, ipv6: bool, min: u8) -> io::Result<()> {
    let v = libc::c_int::from(min);
    if ipv6 {
        setsockopt(sock.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &v)
    } else {
        setsockopt(sock.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MINTTL, &v)
    }
}

/// Makes an IPv6 socket IPv6-only, so that `::` and `0.0.0.0` can both be
/// bound on one port.
pub fn set_v6_only(sock: &impl AsRawFd) -> io::Result<()> {
    let v: libc::c_int = 1;
    setsockopt(sock.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_md5sig_has_the_kernel_layout() {
        // 128 (sockaddr_storage) + 1 + 1 + 2 + 4 + 80
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn md5_key_is_accepted_on_ipv4_and_ipv6_sockets() {
        let v4 = tokio::net::TcpSocket::new_v4().unwrap();
        set_md5_key(&v4, "192.0.2.1".parse().unwrap(), b"secret").unwrap();
        set_md5_key(&v4, "192.0.2.1".parse().unwrap(), b"").unwrap();
        if let Ok(v6) = tokio::net::TcpSocket::new_v6() {
            set_md5_key(&v6, "2001:db8::1".parse().unwrap(), b"secret").unwrap();
        }
    }

    #[test]
    fn overlong_md5_key_is_refused() {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        let err = set_md5_key(&s, "192.0.2.1".parse().unwrap(), &[b'k'; 81]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn gtsm_options_are_accepted() {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        set_ttl(&s, false, 255).unwrap();
        set_min_ttl(&s, false, 254).unwrap();
    }
}
