//! A small multiplicative hasher (the "Fx" hash of rustc) for the RIB's
//! prefix and attribute maps.
//!
//! The default SipHash costs more than the rest of a prefix lookup; Fx costs
//! a rotate, a xor and a multiply per word. It is not DoS-resistant, which is
//! acceptable here: keys come from configured, authenticated BGP neighbours,
//! and a fixed seed keeps iteration order (and so the order of a table dump)
//! deterministic, which the pure core promises.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier rustc uses (a 64-bit odd constant with good bit spread).
const K: u64 = 0x517c_c1b7_2722_0a95;

/// Fx hasher state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A product's low bits depend only on the factors' low bits, and
        // a /24's address has eight zero low bits: hashbrown takes the
        // bucket from the low bits, so without this rotate 750k /24s fall
        // into a few thousand buckets. The high bits mix every input bit
        // (rustc-hash 2 rotates the same way).
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` with the Fx hasher.
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    #[test]
    fn aligned_prefixes_spread_over_the_low_bits() {
        // hashbrown's bucket index is the low bits of the hash.
        let b = BuildHasherDefault::<FxHasher>::default();
        let mut seen = std::collections::HashSet::new();
        for j in 0..100_000u32 {
            let p = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0100_0000 + (j << 8)), 24);
            seen.insert(b.hash_one(p.unwrap()) & 0xf_ffff);
        }
        assert!(seen.len() > 90_000, "only {} distinct buckets of 2^20", seen.len());
    }

    #[test]
    fn neighbouring_prefixes_hash_apart() {
        let b = BuildHasherDefault::<FxHasher>::default();
        let a: ipnet::Ipv4Net = "10.0.0.0/24".parse().unwrap();
        let c: ipnet::Ipv4Net = "10.0.1.0/24".parse().unwrap();
        let d: ipnet::Ipv4Net = "10.0.0.0/25".parse().unwrap();
        assert_ne!(b.hash_one(a), b.hash_one(c));
        assert_ne!(b.hash_one(a), b.hash_one(d));
        // Deterministic: the same key hashes the same in every process.
        assert_eq!(b.hash_one(a), BuildHasherDefault::<FxHasher>::default().hash_one(a));
    }
}
