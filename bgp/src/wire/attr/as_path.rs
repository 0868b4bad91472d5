//! AS_PATH and AS4_PATH (RFC 4271 §4.3, §5.1.2, §9.1.2.2; RFC 5065 §3, §5
//! confederation segments; RFC 6793 §3, §4.2 2-octet peers and AS4_PATH, §6;
//! RFC 7606 §7.2; RFC 7607 AS 0).
//!
//! ```text
//! The value is a run of segments:
//! +--------------+--------------+---------------------------------------+
//! | segment type | n (1 octet)  | n AS numbers, 2 octets each with an   |
//! | (1 octet)    | n >= 1       | OLD peer, 4 octets with a NEW peer    |
//! +--------------+--------------+---------------------------------------+
//!   1 AS_SET  2 AS_SEQUENCE  3 AS_CONFED_SEQUENCE  4 AS_CONFED_SET
//!
//! AS_PATH (type 2, flags 0x40) uses the session's AS width; AS4_PATH
//! (type 17, flags 0xc0) always uses 4 octets and is only exchanged with an
//! OLD speaker, next to an AS_PATH that has AS_TRANS in place of large ASNs.
//! ```
//!
//! We always hold ASNs as 4 octets: a path from an OLD speaker is rebuilt
//! with [`merge_as4_path`], and [`encode`] puts AS_TRANS back for one.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AS_TRANS, AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send for AS_PATH: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;
/// The flags we send for AS4_PATH: optional transitive.
pub const AS4_FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// Most ASNs one segment can carry (the count is one octet).
const MAX_SEGMENT_ASNS: usize = 255;

/// AS_PATH segment type (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SegmentType {
    /// 1: unordered set of ASes.
    AsSet = 1,
    /// 2: ordered sequence of ASes.
    AsSequence = 2,
    /// 3: ordered sequence of member ASes in the local confederation.
    ConfedSequence = 3,
    /// 4: unordered set of member ASes in the local confederation.
    ConfedSet = 4,
}

impl SegmentType {
    /// The type for a wire value, if defined.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(SegmentType::AsSet),
            2 => Some(SegmentType::AsSequence),
            3 => Some(SegmentType::ConfedSequence),
            4 => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }

    /// Whether this is one of the RFC 5065 confederation types.
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }

    /// Whether the ASes are unordered.
    pub fn is_set(self) -> bool {
        matches!(self, SegmentType::AsSet | SegmentType::ConfedSet)
    }
}

/// One AS_PATH segment; ASNs are always held as 4 octets.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentType,
    /// The ASes, in wire order.
    pub asns: Vec<u32>,
}

impl AsSegment {
    /// A segment of `kind` holding `asns`.
    pub fn new(kind: SegmentType, asns: Vec<u32>) -> Self {
        AsSegment { kind, asns }
    }

    /// This segment's contribution to the path length (RFC 4271 §9.1.2.2 a,
    /// RFC 5065 §5.3).
    fn path_len(&self) -> usize {
        match self.kind {
            SegmentType::AsSequence => self.asns.len(),
            // "an AS_SET counts as 1, no matter how many ASes are in the set".
            SegmentType::AsSet => usize::from(!self.asns.is_empty()),
            // RFC 5065 §5.3: confederation segments are not counted.
            SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
        }
    }
}

/// AS_PATH or AS4_PATH: a list of segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path made of one AS_SEQUENCE (empty path when `asns` is empty).
    pub fn from_sequence(asns: Vec<u32>) -> Self {
        if asns.is_empty() {
            AsPath::default()
        } else {
            AsPath { segments: vec![AsSegment::new(SegmentType::AsSequence, asns)] }
        }
    }

    /// Whether any ASN needs 4 octets, so that an OLD (2-octet) peer gets
    /// AS_TRANS in AS_PATH and must also be sent AS4_PATH (RFC 6793 §4.2.2).
    pub fn needs_as4(&self) -> bool {
        self.asns().any(|a| a > u32::from(u16::MAX))
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2 a): each AS in
    /// an AS_SEQUENCE counts 1, an AS_SET counts 1, confederation segments
    /// count 0 (RFC 5065 §5.3).
    pub fn len(&self) -> usize {
        self.segments.iter().map(AsSegment::path_len).sum()
    }

    /// Whether the path has no segments at all (a locally originated route).
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// The neighbouring AS: the first AS of the first AS_SEQUENCE, skipping
    /// leading confederation segments (RFC 5065 §5.3 compares MEDs this way;
    /// RFC 4271 §6.3 checks it against the peer's AS). `None` for an empty
    /// path or one that starts with an AS_SET.
    pub fn first_as(&self) -> Option<u32> {
        let first = self.segments.iter().find(|s| !s.kind.is_confed() && !s.asns.is_empty())?;
        match first.kind {
            SegmentType::AsSequence => first.asns.first().copied(),
            _ => None,
        }
    }

    /// The originating AS: the last AS of the path when it ends with an
    /// AS_SEQUENCE (`None` if it ends with a set or is empty).
    pub fn origin_as(&self) -> Option<u32> {
        let last = self.segments.iter().rev().find(|s| !s.asns.is_empty())?;
        match last.kind {
            SegmentType::AsSequence => last.asns.last().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path, confederation segments
    /// included (the loop check of RFC 4271 §9.1.2 and RFC 5065 §4).
    pub fn contains(&self, asn: u32) -> bool {
        self.asns().any(|a| a == asn)
    }

    /// Prepends `asn` as when advertising to an external peer.
    ///
    /// RFC 4271 §5.1.2: "if the first path segment of the AS_PATH is of type
    /// AS_SEQUENCE, the local system prepends its own AS number as the last
    /// element of the sequence (put it in the leftmost position ...). If the
    /// act of prepending will cause an overflow in the AS_PATH segment (i.e.,
    /// more than 255 ASes), it SHOULD prepend a new segment of type
    /// AS_SEQUENCE"; otherwise (AS_SET first, or empty) a new AS_SEQUENCE is
    /// prepended.
    pub fn prepend(&mut self, asn: u32) {
        match self.segments.first_mut() {
            Some(s) if s.kind == SegmentType::AsSequence && s.asns.len() < MAX_SEGMENT_ASNS => {
                s.asns.insert(0, asn);
            }
            _ => self.segments.insert(0, AsSegment::new(SegmentType::AsSequence, vec![asn])),
        }
    }

    /// The path without confederation segments, as sent to a peer outside
    /// the confederation (RFC 5065 §4: "... removes all AS_CONFED_SEQUENCE
    /// and AS_CONFED_SET path segments").
    pub fn without_confed(&self) -> AsPath {
        AsPath { segments: self.segments.iter().filter(|s| !s.kind.is_confed()).cloned().collect() }
    }

    /// Every ASN in wire order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// Octets the value takes with ASNs of `width` octets, segments of more
    /// than 255 ASes being split.
    fn value_len(&self, width: usize, skip_confed: bool) -> usize {
        self.wire_segments(skip_confed).map(|(_, asns)| 2 + asns.len() * width).sum()
    }

    /// The segments as they go on the wire: empty ones dropped, long ones
    /// split into runs of at most 255.
    fn wire_segments(&self, skip_confed: bool) -> impl Iterator<Item = (SegmentType, &[u32])> {
        self.segments
            .iter()
            .filter(move |s| !(skip_confed && s.kind.is_confed()))
            .flat_map(|s| s.asns.chunks(MAX_SEGMENT_ASNS).map(move |c| (s.kind, c)))
    }
}

impl fmt::Display for AsPath {
    /// As FRR and BIRD print paths: `64512 64513 {64514,64515}`, with
    /// confederation segments as `(65001 65002)` and `[65001,65002]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.segments.iter().filter(|s| !s.asns.is_empty()) {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, sep, close) = match s.kind {
                SegmentType::AsSequence => ("", " ", ""),
                SegmentType::AsSet => ("{", ",", "}"),
                SegmentType::ConfedSequence => ("(", " ", ")"),
                SegmentType::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// An AS path string (configuration, tests) that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid AS path {0:?}")]
pub struct ParseAsPathError(pub String);

impl FromStr for AsPath {
    type Err = ParseAsPathError;

    /// Parses the [`fmt::Display`] form back: `64512 {1,2} (65001 65002) [3,4]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseAsPathError(s.to_owned());
        let mut path = AsPath::default();
        let mut rest = s.trim_start();
        while let Some(c) = rest.chars().next() {
            let bracketed = |kind, close| -> Result<_, ParseAsPathError> {
                // `c` is an ASCII bracket, so slicing past it is on a char boundary.
                let (body, tail) = rest[1..].split_once(close).ok_or_else(err)?;
                Ok((kind, body, tail))
            };
            let (kind, body, tail) = match c {
                '{' => bracketed(SegmentType::AsSet, '}')?,
                '(' => bracketed(SegmentType::ConfedSequence, ')')?,
                '[' => bracketed(SegmentType::ConfedSet, ']')?,
                // A bare sequence runs up to the next bracket.
                _ => {
                    let end = rest.find(['{', '(', '[']).unwrap_or(rest.len());
                    let (body, tail) = rest.split_at(end);
                    (SegmentType::AsSequence, body, tail)
                }
            };
            let asns = body
                .split([' ', ','])
                .filter(|t| !t.is_empty())
                .map(|t| t.parse::<u32>().map_err(|_| err()))
                .collect::<Result<Vec<_>, _>>()?;
            if asns.is_empty() {
                return Err(err());
            }
            path.segments.push(AsSegment::new(kind, asns));
            rest = tail.trim_start();
        }
        Ok(path)
    }
}

/// Why a run of segments is malformed (the reason for the log).
fn parse_segments(value: &[u8], width: usize) -> Result<Vec<AsSegment>, String> {
    let mut segments = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        // RFC 7606 §7.2: "There is an underrun where after the last
        // successfully parsed segment there is only a single octet remaining".
        let &[kind, n, ref tail @ ..] = rest else {
            return Err("a single octet left after the last segment".into());
        };
        let kind = SegmentType::from_u8(kind).ok_or_else(|| format!("segment type {kind}"))?;
        // "It has a Path Segment Length field of zero."
        if n == 0 {
            return Err("zero-length segment".into());
        }
        // "There is an overrun where the Path Segment Length field of the last
        // segment encountered would cause the Attribute Length to be exceeded."
        let Some((asns, tail)) = tail.split_at_checked(usize::from(n) * width) else {
            return Err(format!("segment of {n} ASes overruns the attribute"));
        };
        let asns = if width == 4 {
            asns.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
        } else {
            asns.chunks_exact(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).collect()
        };
        segments.push(AsSegment { kind, asns });
        rest = tail;
    }
    Ok(segments)
}

/// Decodes an AS_PATH value (2- or 4-octet ASNs by `ctx.four_octet_as`).
///
/// RFC 7606 §7.2: "An AS_PATH is considered malformed if an unrecognized
/// segment type is encountered or if it contains a malformed segment ...
/// SHALL be handled using the approach of "treat-as-withdraw"." RFC 7607 §2:
/// "An UPDATE message that contains the AS number of zero in the AS_PATH
/// ... MUST be considered as malformed". RFC 5065 §5: confederation segments
/// from "a neighbor that is not located in the same confederation" are a
/// malformed AS_PATH; `ctx.ebgp` must therefore be false for confederation
/// peers.
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<AsPath, AttrDefect> {
    let malformed = |why: String| AttrDefect::withdraw(UpdateSubcode::MALFORMED_AS_PATH, why);
    let width = if ctx.four_octet_as { 4 } else { 2 };
    let segments = parse_segments(value, width).map_err(malformed)?;
    let path = AsPath { segments };
    if path.contains(0) {
        return Err(malformed("AS 0 in AS_PATH".into()));
    }
    if ctx.ebgp && path.segments.iter().any(|s| s.kind.is_confed()) {
        return Err(malformed("confederation segment from an external peer".into()));
    }
    Ok(path)
}

/// Decodes an AS4_PATH value.
///
/// RFC 6793 §6: a malformed AS4_PATH (length "not a multiple of two or is
/// too small (i.e., less than 6)", a segment length "either zero or ...
/// inconsistent with the attribute length", an undefined segment type) is
/// handled by "attribute discard"; so is AS 0 (RFC 7607 §2). Confederation
/// segments "MUST NOT be carried in the AS4_PATH ... MUST discard these path
/// segments ... and continue processing": they are dropped here, silently.
/// Whether to use the result at all is [`super::aggregator::reconcile`]'s and
/// the attribute loop's call (never from a NEW speaker).
pub fn decode_as4(value: &[u8]) -> Result<AsPath, AttrDefect> {
    let discard = |why: String| AttrDefect::discard(UpdateSubcode::MALFORMED_AS_PATH, why);
    if value.len() < 6 || value.len() % 2 != 0 {
        return Err(discard(format!("AS4_PATH length {}", value.len())));
    }
    let mut segments = parse_segments(value, 4).map_err(discard)?;
    if segments.iter().any(|s| s.asns.contains(&0)) {
        return Err(discard("AS 0 in AS4_PATH".into()));
    }
    segments.retain(|s| !s.kind.is_confed());
    Ok(AsPath { segments })
}

/// Encodes the whole AS_PATH TLV.
///
/// With an OLD peer (`!ctx.four_octet_as`), RFC 6793 §4.2.2: ASNs that do
/// not fit 2 octets are replaced by AS_TRANS; the caller also sends
/// [`encode_as4`] when [`AsPath::needs_as4`]. Segments over 255 ASes are
/// split; empty segments are not written.
pub fn encode(v: &AsPath, ctx: &EncodeCtx, buf: &mut BytesMut) {
    let width = if ctx.four_octet_as { 4 } else { 2 };
    let len = v.value_len(width, false);
    if len > usize::from(u16::MAX) {
        return; // over 16k ASes: cannot be framed, and no real path is that long
    }
    put_attr(buf, FLAGS, AttrType::AS_PATH, len, |b| {
        for (kind, asns) in v.wire_segments(false) {
            b.put_u8(kind as u8);
            b.put_u8(asns.len() as u8);
            for &a in asns {
                if width == 4 {
                    b.put_u32(a);
                } else {
                    b.put_u16(u16::try_from(a).unwrap_or(AS_TRANS));
                }
            }
        }
    });
}

/// Encodes the whole AS4_PATH TLV (4-octet ASNs), for an OLD peer only.
/// Confederation segments are left out: they "MUST NOT be carried in the
/// AS4_PATH attribute" (RFC 6793 §6).
pub fn encode_as4(v: &AsPath, buf: &mut BytesMut) {
    let len = v.value_len(4, true);
    if len > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, AS4_FLAGS, AttrType::AS4_PATH, len, |b| {
        for (kind, asns) in v.wire_segments(true) {
            b.put_u8(kind as u8);
            b.put_u8(asns.len() as u8);
            for &a in asns {
                b.put_u32(a);
            }
        }
    });
}

/// Rebuilds the 4-octet path of a route from an OLD speaker (RFC 6793 §4.2.3).
///
/// "If the number of AS numbers in the AS_PATH attribute is less than the
/// number of AS numbers in the AS4_PATH attribute, then the AS4_PATH
/// attribute SHALL be ignored, and the AS_PATH attribute SHALL be taken as
/// the AS path information." Otherwise the path is the leading ASes of
/// AS_PATH that the OLD speakers added, followed by AS4_PATH. Counting is
/// that of [`AsPath::len`] (a set counts 1, confederation segments 0), so a
/// leading AS_SET or confederation segment is taken whole.
pub fn merge_as4_path(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let (n, n4) = (as_path.len(), as4_path.len());
    if n < n4 {
        return as_path.clone();
    }
    let mut keep = n - n4;
    let mut out: Vec<AsSegment> =
        Vec::with_capacity(as_path.segments.len() + as4_path.segments.len());
    for s in &as_path.segments {
        if keep == 0 {
            break;
        }
        match s.kind {
            SegmentType::AsSequence => {
                let take = keep.min(s.asns.len());
                out.push(AsSegment::new(s.kind, s.asns[..take].to_vec()));
                keep -= take;
            }
            _ => {
                keep -= s.path_len();
                out.push(s.clone());
            }
        }
    }
    let mut tail = as4_path.segments.iter().filter(|s| !s.asns.is_empty()).peekable();
    // Joining the two halves of one AS_SEQUENCE keeps the path as the
    // originator built it (and as FRR's aspath_reconcile_as4 shows it).
    match (out.last_mut(), tail.peek()) {
        (Some(last), Some(next))
            if last.kind == SegmentType::AsSequence && next.kind == SegmentType::AsSequence =>
        {
            last.asns.extend_from_slice(&next.asns);
            tail.next();
        }
        _ => {}
    }
    out.extend(tail.cloned());
    out.retain(|s| !s.asns.is_empty());
    AsPath { segments: out }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    use SegmentType::*;

    fn path(s: &str) -> AsPath {
        s.parse().unwrap()
    }

    fn seg(kind: SegmentType, asns: &[u32]) -> AsSegment {
        AsSegment::new(kind, asns.to_vec())
    }

    #[test]
    fn four_octet_as_path_golden_vector_decodes_and_encodes() {
        // 64512 4200000001 {64514,64515}, as FRR sends it to a NEW peer.
        let bytes = hex("40 02 14 02 02 0000fc00 fa56ea01 01 02 0000fc02 0000fc03");
        let p = AsPath {
            segments: vec![seg(AsSequence, &[64512, 4_200_000_001]), seg(AsSet, &[64514, 64515])],
        };
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(p.clone()));
        assert_eq!(encoded(|b| encode(&p, &ibgp(), b)), bytes);
        assert_eq!(p.to_string(), "64512 4200000001 {64514,64515}");
    }

    #[test]
    fn two_octet_as_path_golden_vector_decodes_and_encodes() {
        let bytes = hex("40 02 08 02 03 fde8 fde9 fdea");
        let p = AsPath::from_sequence(vec![65000, 65001, 65002]);
        assert_eq!(decode(split_tlv(&bytes).2, &two_octet()), Ok(p.clone()));
        assert_eq!(encoded(|b| encode(&p, &two_octet(), b)), bytes);
    }

    #[test]
    fn empty_as_path_from_ibgp_is_valid() {
        // A locally originated route sent over iBGP has a zero-length AS_PATH.
        assert_eq!(decode(&[], &ibgp()), Ok(AsPath::default()));
        assert_eq!(encoded(|b| encode(&AsPath::default(), &ibgp(), b)), hex("40 02 00"));
    }

    #[test]
    fn four_octet_asns_become_as_trans_for_a_two_octet_peer() {
        let p = AsPath::from_sequence(vec![65000, 4_200_000_001]);
        assert!(p.needs_as4());
        assert!(!AsPath::from_sequence(vec![65000]).needs_as4());
        assert_eq!(encoded(|b| encode(&p, &two_octet(), b)), hex("40 02 06 02 02 fde8 5ba0"));
        assert_eq!(encoded(|b| encode_as4(&p, b)), hex("c0 11 0a 02 02 0000fde8 fa56ea01"));
    }

    #[test]
    fn confed_segments_decode_and_encode() {
        let bytes = hex("40 02 16 03 02 0000fde9 0000fdea 04 01 0000fdeb 02 01 0000fde8");
        let p = path("(65001 65002) [65003] 65000");
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(p.clone()));
        assert_eq!(encoded(|b| encode(&p, &ibgp(), b)), bytes);
        assert_eq!(p.len(), 1, "confederation segments count 0");
        assert_eq!(p.first_as(), Some(65000));
        assert_eq!(p.without_confed(), path("65000"));
    }

    #[test]
    fn confed_segments_are_left_out_of_as4_path() {
        let p = path("(65001) 4200000001");
        assert_eq!(encoded(|b| encode_as4(&p, b)), hex("c0 11 06 02 01 fa56ea01"));
    }

    #[test]
    fn as_path_segment_overrun_treated_as_withdraw() {
        let e = decode(&hex("02 03 0000fde8 0000fde9"), &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
    }

    #[test]
    fn as_path_single_trailing_octet_treated_as_withdraw() {
        let e = decode(&hex("02 01 0000fde8 02"), &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
    }

    #[test]
    fn as_path_zero_length_segment_treated_as_withdraw() {
        let e = decode(&hex("02 00"), &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
    }

    #[test]
    fn as_path_unknown_segment_type_treated_as_withdraw() {
        for t in [0u8, 5, 255] {
            let e = decode(&[t, 1, 0, 0, 0xfd, 0xe8], &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
        }
    }

    #[test]
    fn as_path_with_as_zero_treated_as_withdraw() {
        for (v, ctx) in [(hex("02 02 0000fde8 00000000"), ibgp()), (hex("01 01 0000"), two_octet())]
        {
            let e = decode(&v, &ctx).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
        }
    }

    #[test]
    fn confed_segment_from_ebgp_treated_as_withdraw() {
        let e = decode(&hex("03 01 0000fde9"), &ebgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::MALFORMED_AS_PATH);
    }

    #[test]
    fn two_octet_width_mismatch_is_an_overrun() {
        // A 4-octet encoding read as 2-octet: the segment says 1 AS, leaving 2 octets.
        assert!(decode(&hex("02 01 0000fde8"), &two_octet()).is_err());
    }

    #[test]
    fn malformed_as4_path_discarded() {
        for v in [
            hex(""),                    // too short
            hex("02 01 0000"),          // shorter than 6
            hex("02 01 0000fde8 00"),   // odd length
            hex("02 02 0000fde8 0000"), // overrun
            hex("02 00 0000fde8"),      // zero-length segment
            hex("07 01 0000fde8"),      // unknown type
            hex("02 01 00000000"),      // AS 0
        ] {
            let e = decode_as4(&v).unwrap_err();
            assert_eq!(e.treatment, Treatment::AttributeDiscard, "{v:02x?}");
        }
    }

    #[test]
    fn confed_segments_in_as4_path_are_dropped() {
        let v = hex("03 01 0000fde9 02 01 fa56ea01");
        assert_eq!(decode_as4(&v), Ok(path("4200000001")));
    }

    #[test]
    fn as4_path_merges_onto_the_leading_two_octet_ases() {
        // An OLD speaker 65001 prepended itself to a path carrying 4-byte ASes.
        let as_path = path("65001 23456 23456 65000");
        let as4 = path("4200000001 4200000002 65000");
        assert_eq!(merge_as4_path(&as_path, &as4), path("65001 4200000001 4200000002 65000"));
    }

    #[test]
    fn as4_path_longer_than_as_path_is_ignored() {
        let as_path = path("23456");
        let as4 = path("4200000001 4200000002");
        assert_eq!(merge_as4_path(&as_path, &as4), as_path);
    }

    #[test]
    fn as4_path_merge_takes_a_leading_set_whole() {
        let as_path = path("{1,2} 65001 23456");
        let as4 = path("4200000001");
        assert_eq!(merge_as4_path(&as_path, &as4), path("{1,2} 65001 4200000001"));
        assert_eq!(merge_as4_path(&path("1 2"), &path("1 2")), path("1 2"));
    }

    #[test]
    fn path_length_counts_sets_once_and_confeds_zero() {
        assert_eq!(path("1 2 3 {4,5,6} (7 8) [9]").len(), 4);
        assert_eq!(AsPath::default().len(), 0);
        assert!(AsPath::default().is_empty());
    }

    #[test]
    fn first_and_origin_as() {
        assert_eq!(path("(7) 1 2 3").first_as(), Some(1));
        assert_eq!(path("{1,2} 3").first_as(), None);
        assert_eq!(path("1 2 3").origin_as(), Some(3));
        assert_eq!(path("1 {2,3}").origin_as(), None);
        assert_eq!(AsPath::default().first_as(), None);
    }

    #[test]
    fn contains_sees_every_segment() {
        let p = path("1 {2,3} (4) [5]");
        assert!([1, 2, 3, 4, 5].iter().all(|&a| p.contains(a)));
        assert!(!p.contains(6));
    }

    #[test]
    fn prepend_follows_rfc4271_5_1_2() {
        let mut p = path("2 3");
        p.prepend(1);
        assert_eq!(p, path("1 2 3"));
        let mut p = path("{2,3}");
        p.prepend(1);
        assert_eq!(p.segments, vec![seg(AsSequence, &[1]), seg(AsSet, &[2, 3])]);
        let mut p = AsPath::default();
        p.prepend(1);
        assert_eq!(p, path("1"));
        let mut p = AsPath::from_sequence((1..=255).collect());
        p.prepend(7);
        assert_eq!(p.segments.len(), 2, "a full segment gets a new one in front");
        assert_eq!(p.first_as(), Some(7));
    }

    #[test]
    fn long_sequences_are_split_into_255_as_segments() {
        let p = AsPath::from_sequence((1..=300).collect());
        let out = encoded(|b| encode(&p, &ibgp(), b));
        let got = decode(split_tlv(&out).2, &ibgp()).unwrap();
        assert_eq!(got.segments.len(), 2);
        assert_eq!(got.segments[0].asns.len(), 255);
        assert_eq!(got.asns().collect::<Vec<_>>(), (1..=300).collect::<Vec<_>>());
        assert_eq!(got.len(), 300);
    }

    #[test]
    fn as_path_display_parses_back() {
        for s in ["", "64512", "64512 64513 {64514,64515}", "(65001 65002) [65003,65004] 1 {2}"] {
            assert_eq!(path(s).to_string(), s);
        }
        for bad in ["{1,2", "1 x", "{}", "(1 2"] {
            assert!(bad.parse::<AsPath>().is_err(), "{bad}");
        }
    }

    fn p_str(segments: &[AsSegment]) -> String {
        AsPath { segments: segments.to_vec() }.to_string()
    }

    fn segment(max_as: u32, confed: bool) -> impl Strategy<Value = AsSegment> {
        let kinds = if confed {
            prop::sample::select(vec![AsSet, AsSequence, ConfedSequence, ConfedSet])
        } else {
            prop::sample::select(vec![AsSet, AsSequence])
        };
        (kinds, prop::collection::vec(1..=max_as, 1..=255)).prop_map(|(k, a)| AsSegment::new(k, a))
    }

    fn as_path(max_as: u32, confed: bool) -> impl Strategy<Value = AsPath> {
        prop::collection::vec(segment(max_as, confed), 0..5)
            .prop_map(|segments| AsPath { segments })
    }

    proptest! {
        #[test]
        fn four_octet_as_path_round_trips(p in as_path(u32::MAX, true)) {
            let out = encoded(|b| encode(&p, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(p));
        }

        #[test]
        fn two_octet_as_path_round_trips(p in as_path(65535, true)) {
            let out = encoded(|b| encode(&p, &two_octet(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &two_octet()), Ok(p));
        }

        #[test]
        fn as4_path_round_trips(p in as_path(u32::MAX, false)) {
            prop_assume!(!p.is_empty());
            let out = encoded(|b| encode_as4(&p, b));
            prop_assert_eq!(decode_as4(split_tlv(&out).2), Ok(p));
        }

        #[test]
        fn old_speaker_path_with_as4_path_merges_back(p in as_path(u32::MAX, false)) {
            // What an OLD speaker receives from us, then sends back unchanged.
            let two = encoded(|b| encode(&p, &two_octet(), b));
            let as_path = decode(split_tlv(&two).2, &two_octet()).unwrap();
            let merged = if p.needs_as4() {
                let four = encoded(|b| encode_as4(&p, b));
                merge_as4_path(&as_path, &decode_as4(split_tlv(&four).2).unwrap())
            } else {
                as_path
            };
            prop_assert_eq!(merged.asns().collect::<Vec<_>>(), p.asns().collect::<Vec<_>>());
            prop_assert_eq!(merged.len(), p.len());
        }

        #[test]
        fn as_path_display_round_trips(p in as_path(u32::MAX, true)) {
            // Text cannot show where one AS_SEQUENCE ends and the next begins.
            let mut joined: Vec<AsSegment> = Vec::new();
            for s in p.segments {
                match joined.last_mut() {
                    Some(l) if l.kind == AsSequence && s.kind == AsSequence => l.asns.extend(s.asns),
                    _ => joined.push(s),
                }
            }
            prop_assert_eq!(p_str(&joined).parse::<AsPath>(), Ok(AsPath { segments: joined }));
        }

        #[test]
        fn as_path_decode_never_panics(v in prop::collection::vec(any::<u8>(), 0..64), four in any::<bool>()) {
            let ctx = if four { ibgp() } else { two_octet() };
            let _ = decode(&v, &ctx);
            let _ = decode_as4(&v);
        }
    }
}
