//! NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5) with optional ADD-PATH path
//! identifiers (RFC 7911 §3).
//!
//! ```text
//! +---------------------------+
//! |   Path Identifier (4 octets, only with ADD-PATH)
//! +---------------------------+
//! |   Length (1 octet, bits)  |
//! +---------------------------+
//! |   Prefix (variable)       |   ceil(Length / 8) octets
//! +---------------------------+
//! ```

use ipnet::IpNet;

/// One NLRI entry: a prefix and, when ADD-PATH is in use for its family, its
/// path identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nlri {
    /// The prefix, host bits cleared.
    pub prefix: IpNet,
    /// RFC 7911 path identifier; `None` when ADD-PATH is not negotiated.
    pub path_id: Option<u32>,
}

impl Nlri {
    /// A prefix without a path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri { prefix, path_id: None }
    }

    /// A prefix with a path identifier.
    pub fn with_path_id(prefix: IpNet, path_id: u32) -> Self {
        Nlri { prefix, path_id: Some(path_id) }
    }
}
