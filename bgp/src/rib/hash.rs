//! The RIB's prefix and attribute maps use rustc's "Fx" hash (the
//! `rustc-hash` crate) instead of std's SipHash.
//!
//! SipHash costs more than the rest of a prefix lookup; Fx costs a rotate, a
//! xor and a multiply per word. It is not DoS-resistant, which is acceptable
//! here: keys come from configured, authenticated BGP neighbours, and a fixed
//! seed keeps iteration order (and so the order of a table dump)
//! deterministic, which the pure core promises. rustc-hash 2 rotates the
//! product before use, which matters: a /24 has eight zero low bits and
//! hashbrown takes the bucket from the low bits (the tests below hold it to
//! that).

/// A `HashMap` and a `HashSet` with the Fx hasher.
pub(crate) use rustc_hash::{FxHashMap, FxHashSet};

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use rustc_hash::FxBuildHasher;

    #[test]
    fn aligned_prefixes_spread_over_the_low_bits() {
        // hashbrown's bucket index is the low bits of the hash.
        let b = FxBuildHasher;
        let mut seen = std::collections::HashSet::new();
        for j in 0..100_000u32 {
            let p = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0100_0000 + (j << 8)), 24);
            seen.insert(b.hash_one(p.unwrap()) & 0xf_ffff);
        }
        assert!(seen.len() > 90_000, "only {} distinct buckets of 2^20", seen.len());
    }

    #[test]
    fn neighbouring_prefixes_hash_apart() {
        let b = FxBuildHasher;
        let a: ipnet::Ipv4Net = "10.0.0.0/24".parse().unwrap();
        let c: ipnet::Ipv4Net = "10.0.1.0/24".parse().unwrap();
        let d: ipnet::Ipv4Net = "10.0.0.0/25".parse().unwrap();
        assert_ne!(b.hash_one(a), b.hash_one(c));
        assert_ne!(b.hash_one(a), b.hash_one(d));
        // Deterministic: the same key hashes the same in every process.
        assert_eq!(b.hash_one(a), FxBuildHasher.hash_one(a));
    }
}
