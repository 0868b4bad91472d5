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
        self.hash
    }
}

/// A `HashMap` with the Fx hasher.
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

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
