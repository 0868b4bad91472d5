//! The per-prefix part of Calico `BGPFilter` evaluation, compiled for speed:
//! rule prefix tests (`cidr`, `matchOperator`, `prefixLength`) as address
//! bits, a mask and a length range, and a peer's rules narrowed to one
//! attribute set ([`Prepared`]), which is what runs for every route.
//!
//! ```text
//!   cidr 198.18.4.0/24 In {min 24, max 28}   ─►  mask /24, bits, lengths 24..=28
//!   route 198.18.4.128/25                    ─►  bits & mask == rule bits, 24 <= 25 <= 28
//!
//!   Prepared steps  [In 198.18.0.0/24, In 23.4.0.0/16, ..., NotIn 10.0.0.0/8, (any)]
//!   skip            first octets {23, 198}, length >= 16: the leading In/Equal run
//!   route 1.2.3.0/24: first octet 1 is not covered, straight to the NotIn step
//! ```
//!
//! A plan's tests are in its family's width (IPv4: `u32`), the route's
//! prefix is split into bits once per evaluation, and a route whose first
//! octet no prefix of the leading `In`/`Equal` steps covers (the common
//! case: most of a full table matches no rule) passes them with one test.

use std::ops::BitAnd;

use ipnet::IpNet;

use super::filter::{MatchOperator, Verdict};

/// A compiled prefix test: the route's prefix is "within" when its
/// leading bits are the `cidr`'s and its length lies in `lo..=hi`; `Equal`
/// and `In` want within, `NotEqual` and `NotIn` the opposite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct NetMatch {
    v6: bool,
    /// `NotEqual`, `NotIn`.
    negate: bool,
    lo: u8,
    hi: u8,
    /// The `cidr`'s network bits (IPv4 in the low 32 bits) and mask.
    bits: u128,
    mask: u128,
}

/// A prefix's family, address bits (IPv4 in the low 32) and length.
fn prefix_bits(net: IpNet) -> (bool, u128, u8) {
    match net {
        IpNet::V4(n) => (false, u128::from(u32::from(n.addr())), n.prefix_len()),
        IpNet::V6(n) => (true, u128::from(n.addr()), n.prefix_len()),
    }
}

/// The mask of the first `len` bits of a family's address.
fn mask_of(v6: bool, len: u8) -> u128 {
    let (width, family) = if v6 { (128, u128::MAX) } else { (32, u128::from(u32::MAX)) };
    if len == 0 { 0 } else { (u128::MAX << (width - u32::from(len))) & family }
}

impl NetMatch {
    /// `cidr` compared by `op`; `In` and `NotIn` cover lengths
    /// `min_len..=max_len` (from the `cidr`'s own length up).
    pub(super) fn new(cidr: IpNet, op: MatchOperator, min_len: u8, max_len: u8) -> NetMatch {
        let (v6, bits, len) = prefix_bits(cidr);
        let mask = mask_of(v6, len);
        let (lo, hi) = match op {
            MatchOperator::Equal | MatchOperator::NotEqual => (len, len),
            MatchOperator::In | MatchOperator::NotIn => (len.max(min_len), max_len),
        };
        let negate = matches!(op, MatchOperator::NotEqual | MatchOperator::NotIn);
        NetMatch { v6, negate, lo, hi, bits: bits & mask, mask }
    }

    /// Whether `net` passes the test.
    pub(super) fn matches(&self, net: IpNet) -> bool {
        let (v6, bits, len) = prefix_bits(net);
        let within =
            v6 == self.v6 && bits & self.mask == self.bits && self.lo <= len && len <= self.hi;
        within != self.negate
    }
}

/// A step's prefix test in the family's own width (`u32` for IPv4): within
/// when `prefix & mask == bits` and `len - lo <= span` (wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Test<T> {
    bits: T,
    mask: T,
    lo: u8,
    span: u8,
    negate: bool,
}

impl<T: Copy + BitAnd<Output = T> + PartialEq> Test<T> {
    /// The test of `n` (`None`: a rule without `cidr`, which any prefix
    /// passes), its bits narrowed by `narrow`.
    fn of(n: Option<NetMatch>, zero: T, narrow: impl Fn(u128) -> T) -> Test<T> {
        // No length is in this empty range (`len - 255` wraps to len + 1).
        let never = Test { bits: zero, mask: zero, lo: u8::MAX, span: 0, negate: false };
        match n {
            // Any prefix: never within, negated.
            None => Test { negate: true, ..never },
            Some(n) if n.lo > n.hi => Test { negate: n.negate, ..never },
            Some(n) => Test {
                bits: narrow(n.bits),
                mask: narrow(n.mask),
                lo: n.lo,
                span: n.hi - n.lo,
                negate: n.negate,
            },
        }
    }

    #[inline]
    fn test(&self, bits: T, len: u8) -> bool {
        let within = (bits & self.mask == self.bits) & (len.wrapping_sub(self.lo) <= self.span);
        within != self.negate
    }
}

/// What a prefix the leading `In`/`Equal` steps cannot match skips. They
/// want a prefix within their `cidr`, so a prefix whose first octet none of
/// those `cidr`s covers, or that is shorter than the shortest length they
/// take, goes straight to the step after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Skip {
    /// First octets of the address some of those `cidr`s cover, as bits.
    octets: [u64; 4],
    lo: u8,
    /// The first step after those (0: nothing to skip).
    skip_to: usize,
}

impl Skip {
    fn new(nets: &[Option<NetMatch>]) -> Skip {
        let wants_within = |n: &Option<NetMatch>| n.is_some_and(|n| !n.negate);
        let skip_to = nets.iter().position(|n| !wants_within(n)).unwrap_or(nets.len());
        let mut s = Skip { octets: [0; 4], lo: u8::MAX, skip_to };
        for n in nets[..skip_to].iter().flatten() {
            let width = if n.v6 { 128 } else { 32 };
            let first = u16::from((n.bits >> (width - 8)) as u8);
            // A `cidr` shorter than 8 bits covers a run of first octets.
            let more = (1u16 << 8u32.saturating_sub(n.mask.count_ones())) - 1;
            for o in first..=first + more {
                s.octets[usize::from(o >> 6)] |= 1 << (o & 63);
            }
            s.lo = s.lo.min(n.lo);
        }
        s
    }

    /// The step to start from for a prefix with first octet `octet`.
    #[inline]
    fn start(&self, octet: u8, len: u8) -> usize {
        let covered = self.octets[usize::from(octet >> 6)] >> (octet & 63) & 1 != 0;
        if covered && len >= self.lo { 0 } else { self.skip_to }
    }
}

/// One family's steps.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Steps<T> {
    tests: Box<[Test<T>]>,
    skip: Skip,
}

impl<T: Copy + BitAnd<Output = T> + PartialEq> Steps<T> {
    fn new(nets: &[Option<NetMatch>], zero: T, narrow: impl Fn(u128) -> T + Copy) -> Steps<T> {
        let tests = nets.iter().map(|&n| Test::of(n, zero, narrow)).collect();
        Steps { tests, skip: Skip::new(nets) }
    }

    /// The first step a prefix of first octet `octet`, bits `bits` and
    /// length `len` passes.
    #[inline]
    fn first(&self, octet: u8, bits: T, len: u8) -> Option<usize> {
        let start = self.skip.start(octet, len);
        let rest = self.tests.get(start..)?;
        rest.iter().position(|t| t.test(bits, len)).map(|i| i + start)
    }
}

/// The steps in the width of their family.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Family {
    V4(Steps<u32>),
    V6(Steps<u128>),
}

/// A peer's rules narrowed to one attribute set (`PeerFilters::prepare`):
/// for each rule left, in order, its prefix test and its verdict.
/// Evaluating it per prefix gives `PeerFilters::evaluate`'s verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    steps: Option<Family>,
    verdicts: Box<[Verdict]>,
}

impl Prepared {
    /// The steps of family `v6`, in order: each rule's prefix test (`None`:
    /// any prefix) and verdict.
    pub(super) fn new(v6: bool, steps: Vec<(Option<NetMatch>, Verdict)>) -> Prepared {
        if steps.is_empty() {
            return Prepared::default();
        }
        let nets: Vec<Option<NetMatch>> = steps.iter().map(|s| s.0).collect();
        let family = if v6 {
            Family::V6(Steps::new(&nets, 0, |b| b))
        } else {
            // IPv4 bits are the low 32.
            Family::V4(Steps::new(&nets, 0, |b| b as u32))
        };
        Prepared { steps: Some(family), verdicts: steps.into_iter().map(|s| s.1).collect() }
    }

    /// The verdict for a route to `prefix` with the prepared attributes.
    pub fn evaluate(&self, prefix: IpNet) -> Verdict {
        let len = prefix.prefix_len();
        let first = match (&self.steps, prefix) {
            (None, _) => None,
            (Some(Family::V4(s)), IpNet::V4(n)) => {
                let a = u32::from(n.addr());
                s.first((a >> 24) as u8, a, len)
            }
            (Some(Family::V6(s)), IpNet::V6(n)) => {
                let a = u128::from(n.addr());
                s.first((a >> 120) as u8, a, len)
            }
            // A prefix of another family is within none of the rules':
            // the first negated test (or rule without `cidr`) decides.
            (Some(Family::V4(Steps { tests, .. })), IpNet::V6(_)) => {
                tests.iter().position(|t| t.negate)
            }
            (Some(Family::V6(Steps { tests, .. })), IpNet::V4(_)) => {
                tests.iter().position(|t| t.negate)
            }
        };
        first.and_then(|i| self.verdicts.get(i).copied()).unwrap_or(Verdict::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::filter::RuleRef;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn step(cidr: &str, op: MatchOperator, rule: u16) -> (Option<NetMatch>, Verdict) {
        let n = net(cidr);
        let m = NetMatch::new(n, op, 0, n.max_prefix_len());
        (Some(m), Verdict::Reject(RuleRef { filter: 0, rule }))
    }

    #[test]
    fn the_leading_in_and_equal_steps_are_skipped_by_first_octet_and_length() {
        let steps = [
            step("198.18.0.0/24", MatchOperator::In, 0),
            step("23.4.0.0/16", MatchOperator::Equal, 1),
            step("8.0.0.0/6", MatchOperator::In, 2),
            step("10.0.0.0/8", MatchOperator::NotIn, 3),
            step("198.19.0.0/16", MatchOperator::In, 4),
        ];
        let skip = Skip::new(&steps.map(|s| s.0));
        let covered: Vec<u16> = (0..256)
            .filter(|&o| skip.octets[o / 64] >> (o % 64) & 1 != 0)
            .map(|o| o as u16)
            .collect();
        assert_eq!(covered, [8, 9, 10, 11, 23, 198]);
        assert_eq!((skip.lo, skip.skip_to), (6, 3));
        let p = Prepared::new(false, steps.to_vec());
        let rule = |r| Verdict::Reject(RuleRef { filter: 0, rule: r });
        assert_eq!(p.evaluate(net("198.18.0.128/25")), rule(0));
        assert_eq!(p.evaluate(net("23.4.0.0/16")), rule(1));
        assert_eq!(p.evaluate(net("11.0.0.0/24")), rule(2));
        assert_eq!(p.evaluate(net("10.1.0.0/16")), rule(2));
        // Not covered: straight to the NotIn step.
        assert_eq!(p.evaluate(net("1.2.3.0/24")), rule(3));
        assert_eq!(p.evaluate(net("198.19.1.0/24")), rule(3), "covered, within no cidr");
        assert_eq!(p.evaluate(net("0.0.0.0/0")), rule(3), "shorter than any");
        let all = Skip::new(&[step("0.0.0.0/0", MatchOperator::In, 0).0]);
        assert_eq!(all.octets, [u64::MAX; 4]);
    }

    #[test]
    fn a_prefix_of_the_other_family_is_within_no_cidr() {
        let steps = vec![
            step("10.0.0.0/8", MatchOperator::In, 0),
            step("10.0.0.0/8", MatchOperator::NotIn, 1),
        ];
        let p = Prepared::new(false, steps);
        assert_eq!(p.evaluate(net("fd00::/64")), Verdict::Reject(RuleRef { filter: 0, rule: 1 }));
        let accept = Verdict::Accept(RuleRef { filter: 0, rule: 0 });
        let any = Prepared::new(true, vec![(None, accept)]);
        assert_eq!(any.evaluate(net("10.0.0.0/8")), accept, "a rule without cidr takes any");
    }
}
