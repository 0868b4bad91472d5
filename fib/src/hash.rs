//! A fast, per-process-seeded hasher for the FIB's large maps (1M+ prefixes).
//!
//! std's SipHash costs ~20 ns per `IpNet` and shows up at the top of a 1M-route
//! profile. This is rustc's Fx hash (the `rustc-hash` crate) with a random seed taken
//! once from std's `RandomState`, so collision sets cannot be precomputed offline (keys
//! come from BGP peers). It is not a cryptographic hash; the peers are cluster nodes and
//! top-of-rack routers, and a prefix flood is bounded by max-prefix limits upstream.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use rustc_hash::FxHasher;

/// Builds Fx hashers from the process-wide seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastState;

impl BuildHasher for FastState {
    type Hasher = FxHasher;
    #[inline]
    fn build_hasher(&self) -> FxHasher {
        static SEED: OnceLock<usize> = OnceLock::new();
        FxHasher::with_seed(*SEED.get_or_init(|| RandomState::new().hash_one(0x5eed_u64) as usize))
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
