//! A fast, per-process-seeded hasher for the FIB's large maps (1M+ prefixes).
//!
//! std's SipHash costs ~20 ns per `IpNet` and shows up at the top of a 1M-route
//! profile. This is the FxHash multiply-rotate step with a random seed taken once from
//! std's `RandomState`, so collision sets cannot be precomputed offline (keys come
//! from BGP peers). It is not a cryptographic hash; the peers are cluster nodes and
//! top-of-rack routers, and a prefix flood is bounded by max-prefix limits upstream.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The hasher state.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
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
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Fold the high bits down: hashbrown takes its bucket index from the low bits
        // and its tag from the top seven.
        self.0 ^ (self.0 >> 29)
    }
}

/// Builds [`FastHasher`]s from the process-wide seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastState;

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        static SEED: OnceLock<u64> = OnceLock::new();
        FastHasher(*SEED.get_or_init(|| RandomState::new().hash_one(0x5eed_u64)))
    }
}

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use ipnet::IpNet;

    use super::*;

    #[test]
    fn neighbouring_prefixes_spread_over_buckets() {
        let s = FastState;
        let mut low_bits = std::collections::HashSet::new();
        for i in 0..4096u32 {
            let p: IpNet = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
            low_bits.insert(s.hash_one(p) & 0xfff);
        }
        // A uniform hash fills about 63% of 4096 buckets with 4096 keys.
        assert!(low_bits.len() > 2300, "{}", low_bits.len());
    }

    #[test]
    fn same_key_same_hash() {
        let p: IpNet = "10.244.1.0/26".parse().unwrap();
        assert_eq!(FastState.hash_one(p), FastState.hash_one(p));
    }
}
