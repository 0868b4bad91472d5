//! The BGP Identifier (RFC 4271 §4.2, RFC 6286) of this node.
//!
//! Three ways to choose it, as Calico does (`CALICO_ROUTER_ID`):
//!
//! | `node.router_id` | identifier |
//! |---|---|
//! | `"node-ipv4"` (default) | the address of `node.ipv4` |
//! | `"hash"` | [`hashed_router_id`] of `node.name` |
//! | `"192.0.2.1"` | that address |
//!
//! # The hash
//!
//! Calico's confd computes `CALICO_ROUTER_ID=hash` as the first four bytes of
//! SHA-256 over the UTF-8 node name, read as an IPv4 address, with the first
//! octet lowered by 32 when it is above 223 so the identifier is never a
//! class D/E address (which several BGP stacks refuse):
//!
//! ```text
//!   [a, b, c, d] = sha256(name)[0..4]
//!   id = (a > 223 ? a - 32 : a).b.c.d        "kube-master" -> 25.79.212.8
//! ```
//!
//! A mixed cluster of BIRD and calico-bgpd nodes therefore gives each node
//! the same identifier whichever daemon runs on it. The result may be any
//! unicast-looking address, including 0.x.x.x; an all-zero one is refused by
//! validation (RFC 6286 §2.1). Collisions follow the birthday bound over
//! 2^32 values.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the router id is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum RouterIdSpec {
    /// `"node-ipv4"`: the address part of `node.ipv4`.
    #[default]
    NodeIpv4,
    /// `"hash"`: [`hashed_router_id`] of the node name.
    Hash,
    /// A literal IPv4 address.
    Explicit(Ipv4Addr),
}

impl fmt::Display for RouterIdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouterIdSpec::NodeIpv4 => f.write_str("node-ipv4"),
            RouterIdSpec::Hash => f.write_str("hash"),
            RouterIdSpec::Explicit(a) => a.fmt(f),
        }
    }
}

impl FromStr for RouterIdSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "node-ipv4" => Ok(RouterIdSpec::NodeIpv4),
            "hash" => Ok(RouterIdSpec::Hash),
            other => other.parse().map(RouterIdSpec::Explicit).map_err(|_| {
                format!("router_id `{other}`: expected \"node-ipv4\", \"hash\" or an IPv4 address")
            }),
        }
    }
}

impl TryFrom<String> for RouterIdSpec {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<RouterIdSpec> for String {
    fn from(r: RouterIdSpec) -> String {
        r.to_string()
    }
}

/// The router id derived from a node name, exactly as Calico's confd does:
/// the first four bytes of SHA-256 of the name, first octet minus 32 when
/// above 223.
pub fn hashed_router_id(node_name: &str) -> Ipv4Addr {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(node_name.as_bytes());
    let [a, b, c, d] = [digest[0], digest[1], digest[2], digest[3]];
    Ipv4Addr::new(if a > 223 { a - 32 } else { a }, b, c, d)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn hashed_router_id_is_calicos_sha256_of_the_node_name() {
        // SHA-256("kube-master") starts 19 4f d4 08.
        assert_eq!(hashed_router_id("kube-master"), Ipv4Addr::new(25, 79, 212, 8));
        assert_eq!(hashed_router_id("worker-1"), Ipv4Addr::new(19, 2, 159, 158));
    }

    #[test]
    fn hashed_router_id_lowers_a_class_d_or_e_first_octet_by_32() {
        // SHA-256("n13") starts with 244 (0xf4), SHA-256("") with 227 (0xe3).
        assert_eq!(hashed_router_id("n13"), Ipv4Addr::new(212, 245, 13, 237));
        assert_eq!(hashed_router_id(""), Ipv4Addr::new(195, 176, 196, 66));
    }

    #[test]
    fn router_id_spec_parses_keywords_and_addresses() {
        assert_eq!("node-ipv4".parse(), Ok(RouterIdSpec::NodeIpv4));
        assert_eq!("hash".parse(), Ok(RouterIdSpec::Hash));
        assert_eq!("192.0.2.1".parse(), Ok(RouterIdSpec::Explicit(Ipv4Addr::new(192, 0, 2, 1))));
        assert!("2001:db8::1".parse::<RouterIdSpec>().is_err());
        assert!("from-ipv4".parse::<RouterIdSpec>().is_err());
    }

    proptest! {
        #[test]
        fn hashed_router_id_is_never_class_d_or_e(name in ".*") {
            let id = hashed_router_id(&name);
            prop_assert!(id.octets()[0] <= 223);
            prop_assert_eq!(id, hashed_router_id(&name));
        }

        #[test]
        fn router_id_spec_round_trips_through_its_string(a in any::<u32>(), kind in 0u8..3) {
            let spec = match kind {
                0 => RouterIdSpec::NodeIpv4,
                1 => RouterIdSpec::Hash,
                _ => RouterIdSpec::Explicit(Ipv4Addr::from(a)),
            };
            prop_assert_eq!(spec.to_string().parse::<RouterIdSpec>(), Ok(spec));
        }
    }
}
