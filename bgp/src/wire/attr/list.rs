//! The path attribute list of an UPDATE (RFC 4271 §4.3, §5, §6.3) and the
//! revised error handling of RFC 7606 §3–§5, applied in one ordered pass.
//!
//! ```text
//! +---------------+---------------+-------------------+------------------+
//! | Attr. Flags   | Attr. Type    | Length (1 or 2)   | Value ...        |  repeated until
//! +---------------+---------------+-------------------+------------------+  Total Path
//!                                                                           Attribute Length
//! ```
//!
//! For each TLV, in wire order:
//!
//! 1. framing (RFC 7606 §4): the TLV must fit the block. If not, nothing
//!    after it can be read: treat-as-withdraw if the MP attributes were
//!    already located (they "SHALL be encoded as the very first path
//!    attribute", §5.1), otherwise session reset (§3.j);
//! 2. duplicates (§3.g): MP_REACH_NLRI / MP_UNREACH_NLRI twice is a session
//!    reset, any other attribute keeps its first copy;
//! 3. flags (§3.c): Optional/Transitive bits that conflict with the type make
//!    the attribute malformed, with that attribute's own treatment;
//! 4. the per-attribute decoder (§7), or for unknown types RFC 4271 §5/§6.3:
//!    unknown well-known → session reset, unknown optional → kept if
//!    transitive, dropped if not.
//!
//! After the loop: missing well-known mandatory attributes (§3.d) and the
//! AS4_PATH / AS4_AGGREGATOR merge of RFC 6793 §4.2.3. The worst treatment
//! wins (§3.h).

use std::fmt;
use std::net::Ipv4Addr;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::mp_reach::MpDecoded;
use super::{
    AttrDefect, AttrFlags, MpReach, MpUnreach, PathAttrs, aggregator, as_path, atomic_aggregate,
    cluster_list, community, ext_community, large_community, local_pref, med, mp_reach, mp_unreach,
    next_hop, origin, originator_id, unknown,
};
use crate::wire::error::{AttrError, Treatment};
use crate::wire::iana::{AfiSafi, AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// A set of attribute type codes (256 bits): which attributes an UPDATE
/// carried, for duplicate detection and for `show` output.
///
/// Serialised as the ascending list of type codes (`[1, 2, 3]`), which a
/// reader of a recording can check against the message, rather than as the
/// four bit words.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "Vec<AttrType>", from = "Vec<AttrType>")]
pub struct AttrTypeSet([u64; 4]);

impl AttrTypeSet {
    /// The empty set.
    pub const fn new() -> Self {
        AttrTypeSet([0; 4])
    }

    /// Adds `t`; returns whether it was absent.
    #[inline]
    pub fn insert(&mut self, t: AttrType) -> bool {
        let (w, b) = (usize::from(t.0 >> 6), t.0 & 63);
        let had = self.0[w] & (1 << b) != 0;
        self.0[w] |= 1 << b;
        !had
    }

    /// Whether `t` is in the set.
    #[inline]
    pub fn contains(&self, t: AttrType) -> bool {
        self.0[usize::from(t.0 >> 6)] & (1 << (t.0 & 63)) != 0
    }

    /// Number of types in the set.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The types in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = AttrType> + '_ {
        (0..=255u8).map(AttrType).filter(|t| self.contains(*t))
    }
}

impl From<AttrTypeSet> for Vec<AttrType> {
    fn from(set: AttrTypeSet) -> Self {
        set.iter().collect()
    }
}

impl From<Vec<AttrType>> for AttrTypeSet {
    fn from(types: Vec<AttrType>) -> Self {
        let mut set = AttrTypeSet::new();
        for t in types {
            set.insert(t);
        }
        set
    }
}

impl fmt::Debug for AttrTypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The outcome of decoding an attribute list: what could be used, and what
/// was wrong with the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedAttrs {
    /// The attributes, without the discarded or malformed ones.
    pub attrs: PathAttrs,
    /// MP_REACH_NLRI of a family we carry.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI of a family we carry.
    pub mp_unreach: Option<MpUnreach>,
    /// Families of MP_REACH_NLRI / MP_UNREACH_NLRI we do not carry (ignored).
    pub ignored_families: Vec<AfiSafi>,
    /// Every defect, in the order met.
    pub errors: Vec<AttrError>,
    /// The worst treatment over `errors` (RFC 7606 §3.h).
    pub treatment: Treatment,
    /// Every attribute type met, including malformed and duplicate ones.
    pub attrs_seen: AttrTypeSet,
}

impl DecodedAttrs {
    fn record(&mut self, attr_type: AttrType, d: AttrDefect, data: Bytes, family: Option<AfiSafi>) {
        self.treatment = self.treatment.max(d.treatment);
        self.errors.push(AttrError {
            attr_type,
            treatment: d.treatment,
            subcode: d.subcode,
            data,
            family,
            reason: d.reason,
        });
    }

    /// The first defect with the worst treatment: the one whose NOTIFICATION
    /// is sent when the session is reset.
    pub fn worst(&self) -> Option<&AttrError> {
        self.errors.iter().find(|e| e.treatment == self.treatment)
    }

    /// Whether an MP_REACH_NLRI or MP_UNREACH_NLRI was found (of any family).
    fn mp_located(&self) -> bool {
        self.attrs_seen.contains(AttrType::MP_REACH_NLRI)
            || self.attrs_seen.contains(AttrType::MP_UNREACH_NLRI)
    }
}

/// Decodes a path attribute block as for an UPDATE with no NLRI in its body
/// (so NEXT_HOP is not required). Never panics, whatever `block` holds.
pub fn decode_attrs(block: &Bytes, ctx: &DecodeCtx) -> DecodedAttrs {
    decode_attrs_for(block, ctx, false)
}

/// Decodes a path attribute block. `body_nlri` says whether the UPDATE
/// carries IPv4 NLRI in its body, which makes NEXT_HOP mandatory (RFC 4271
/// §5.1.3) and otherwise ignorable (RFC 4760 §3).
pub fn decode_attrs_for(block: &Bytes, ctx: &DecodeCtx, body_nlri: bool) -> DecodedAttrs {
    let mut out = DecodedAttrs::default();
    let data: &[u8] = block;
    let mut i = 0;
    while i < data.len() {
        let rest = &data[i..];
        let (flags, ty, hdr, len) = match rest {
            [f, t, l, ..] if f & AttrFlags::EXTENDED_LENGTH == 0 => (*f, *t, 3, usize::from(*l)),
            [f, t, h, l, ..] => (*f, *t, 4, usize::from(u16::from_be_bytes([*h, *l]))),
            _ => {
                // RFC 7606 §4: "fewer than three octets remain (or fewer than
                // four octets, if the Attribute Flags field has the Extended
                // Length bit set) when beginning to parse the attribute".
                framing_error(
                    &mut out,
                    block,
                    i,
                    UpdateSubcode::MALFORMED_ATTRIBUTE_LIST,
                    body_nlri,
                );
                break;
            }
        };
        let ty = AttrType(ty);
        if hdr + len > rest.len() {
            // RFC 7606 §4: "the length of the last encountered path attribute
            // would cause the Total Attribute Length to be exceeded".
            framing_error(&mut out, block, i, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR, body_nlri);
            break;
        }
        let tlv = block.slice(i..i + hdr + len);
        let value = &rest[hdr..hdr + len];
        i += hdr + len;

        if !out.attrs_seen.insert(ty) {
            // RFC 7606 §3.g: "If the MP_REACH_NLRI attribute or the
            // MP_UNREACH_NLRI attribute appears more than once in the UPDATE
            // message, then a NOTIFICATION message MUST be sent with the Error
            // Subcode 'Malformed Attribute List'. If any other attribute ...
            // appears more than once ..., then all the occurrences of the
            // attribute other than the first one SHALL be discarded".
            let d = if ty == AttrType::MP_REACH_NLRI || ty == AttrType::MP_UNREACH_NLRI {
                AttrDefect::reset(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "repeated")
            } else {
                AttrDefect::discard(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "repeated")
            };
            out.record(ty, d, tlv, None);
            if out.treatment == Treatment::SessionReset {
                break;
            }
            continue;
        }

        dispatch(&mut out, AttrFlags(flags), ty, value, tlv, block, ctx, body_nlri);
        if out.treatment == Treatment::SessionReset {
            // Nothing after a reset matters, and the first reset's
            // NOTIFICATION is the one to send.
            return out;
        }
    }
    if out.treatment < Treatment::SessionReset {
        check_mandatory(&mut out, body_nlri);
        if !ctx.four_octet_as {
            merge_as4(&mut out.attrs);
        }
    }
    out
}

/// §4 framing error at offset `at`; `body_nlri`: the UPDATE carries NLRI
/// in its body.
fn framing_error(
    out: &mut DecodedAttrs,
    block: &Bytes,
    at: usize,
    subcode: UpdateSubcode,
    body_nlri: bool,
) {
    let ty = AttrType(block.get(at + 1).copied().unwrap_or(0));
    // §4: in either case "the 'treat-as-withdraw' approach MUST be used ...
    // and the Total Attribute Length MUST be relied upon to enable the
    // beginning of the NLRI field to be located". So NLRI in the body are
    // located whatever the attributes hold. Without them, §3.j applies: "in
    // order to use the approach of 'treat-as-withdraw', the entire NLRI
    // field and/or the MP_REACH_NLRI and MP_UNREACH_NLRI attributes need to
    // be successfully parsed ... If this is not possible, ... the 'session
    // reset' approach ... MUST be followed". An MP attribute may hide in
    // the unreadable rest unless one was already found: senders put it
    // first (§5.1), and a second one would be a reset.
    let d = if body_nlri || out.mp_located() {
        AttrDefect::withdraw(subcode, "attribute overruns the attribute list")
    } else {
        AttrDefect::reset(subcode, "attribute overruns the attribute list")
    };
    out.record(ty, d, block.slice(at..), None);
}

/// How RFC 7606 §7 treats attribute `ty` when it is malformed in a way its
/// decoder never sees (conflicting flags, §3.c).
fn malformed_treatment(ty: AttrType, ctx: &DecodeCtx) -> Treatment {
    match ty {
        // §7.6, §7.7, RFC 6793 §6: "attribute discard".
        AttrType::ATOMIC_AGGREGATE
        | AttrType::AGGREGATOR
        | AttrType::AS4_PATH
        | AttrType::AS4_AGGREGATOR => Treatment::AttributeDiscard,
        // §7.5, §7.9, §7.10: these have no business on an eBGP session and are
        // discarded whatever their shape.
        AttrType::LOCAL_PREF | AttrType::ORIGINATOR_ID | AttrType::CLUSTER_LIST if ctx.ebgp => {
            Treatment::AttributeDiscard
        }
        // §7.11: we choose session reset over AFI/SAFI disable.
        AttrType::MP_REACH_NLRI | AttrType::MP_UNREACH_NLRI => Treatment::SessionReset,
        _ => Treatment::TreatAsWithdraw,
    }
}

/// The flags RFC 4271 / RFC 4760 / RFC 6793 give attribute `ty`, or `None`
/// for a type we do not recognise.
fn expected_flags(ty: AttrType) -> Option<AttrFlags> {
    Some(match ty {
        AttrType::ORIGIN => origin::FLAGS,
        AttrType::AS_PATH => as_path::FLAGS,
        AttrType::NEXT_HOP => next_hop::FLAGS,
        AttrType::MULTI_EXIT_DISC => med::FLAGS,
        AttrType::LOCAL_PREF => local_pref::FLAGS,
        AttrType::ATOMIC_AGGREGATE => atomic_aggregate::FLAGS,
        AttrType::AGGREGATOR => aggregator::FLAGS,
        AttrType::COMMUNITIES => community::FLAGS,
        AttrType::ORIGINATOR_ID => originator_id::FLAGS,
        AttrType::CLUSTER_LIST => cluster_list::FLAGS,
        AttrType::MP_REACH_NLRI => mp_reach::FLAGS,
        AttrType::MP_UNREACH_NLRI => mp_unreach::FLAGS,
        AttrType::EXTENDED_COMMUNITIES => ext_community::FLAGS,
        AttrType::AS4_PATH => as_path::AS4_FLAGS,
        AttrType::AS4_AGGREGATOR => aggregator::FLAGS,
        AttrType::LARGE_COMMUNITIES => large_community::FLAGS,
        _ => return None,
    })
}

/// Stores `r` in `slot`, or records its defect.
fn put<T>(
    out: &mut DecodedAttrs,
    ty: AttrType,
    tlv: Bytes,
    r: Result<T, AttrDefect>,
    set: impl FnOnce(&mut PathAttrs, T),
) {
    match r {
        Ok(v) => set(&mut out.attrs, v),
        Err(d) => {
            // RFC 4271 §6.3 sends the erroneous attribute as data, except for
            // Malformed AS_PATH, which names none.
            let data =
                if d.subcode == UpdateSubcode::MALFORMED_AS_PATH { Bytes::new() } else { tlv };
            out.record(ty, d, data, None);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    out: &mut DecodedAttrs,
    flags: AttrFlags,
    ty: AttrType,
    value: &[u8],
    tlv: Bytes,
    block: &Bytes,
    ctx: &DecodeCtx,
    body_nlri: bool,
) {
    let Some(expected) = expected_flags(ty) else {
        return unrecognized(out, flags, ty, value, tlv, block);
    };
    // RFC 7606 §3.c: "If the value of either the Optional or Transitive bits
    // in the Attribute Flags is in conflict with their specified values, then
    // the attribute MUST be treated as malformed and the 'treat-as-withdraw'
    // approach used, unless the specification for the attribute mandates
    // different handling for incorrect Attribute Flags."
    if flags.category() != expected.category() {
        let d = AttrDefect::new(
            malformed_treatment(ty, ctx),
            UpdateSubcode::ATTRIBUTE_FLAGS_ERROR,
            format!("flags {:#04x}, expected {:#04x}", flags.0, expected.0),
        );
        return out.record(ty, d, tlv, None);
    }
    match ty {
        AttrType::ORIGIN => {
            put(out, ty, tlv, origin::decode(value, ctx), |a, v| a.origin = Some(v))
        }
        AttrType::AS_PATH => {
            put(out, ty, tlv, as_path::decode(value, ctx), |a, v| a.as_path = Some(v))
        }
        AttrType::NEXT_HOP => {
            // RFC 4760 §3: an UPDATE with no NLRI outside MP_REACH_NLRI
            // "SHOULD NOT carry the NEXT_HOP attribute. If such a message
            // contains the NEXT_HOP attribute, the BGP speaker that receives
            // the message SHOULD ignore this attribute."
            if body_nlri {
                put(out, ty, tlv, next_hop::decode(value, ctx), |a, v| a.next_hop = Some(v));
            }
        }
        AttrType::MULTI_EXIT_DISC => {
            put(out, ty, tlv, med::decode(value, ctx), |a, v| a.med = Some(v))
        }
        AttrType::LOCAL_PREF => {
            put(out, ty, tlv, local_pref::decode(value, ctx), |a, v| a.local_pref = Some(v))
        }
        AttrType::ATOMIC_AGGREGATE => {
            put(out, ty, tlv, atomic_aggregate::decode(value, ctx), |a, ()| {
                a.atomic_aggregate = true
            })
        }
        AttrType::AGGREGATOR => {
            put(out, ty, tlv, aggregator::decode(value, ctx), |a, v| a.aggregator = Some(v))
        }
        AttrType::COMMUNITIES => {
            put(out, ty, tlv, community::decode(value, ctx), |a, v| a.communities = v)
        }
        AttrType::ORIGINATOR_ID => {
            put(out, ty, tlv, originator_id::decode(value, ctx), |a, v| a.originator_id = Some(v))
        }
        AttrType::CLUSTER_LIST => {
            put(out, ty, tlv, cluster_list::decode(value, ctx), |a, v| a.cluster_list = Some(v))
        }
        AttrType::EXTENDED_COMMUNITIES => {
            put(out, ty, tlv, ext_community::decode(value, ctx), |a, v| a.ext_communities = v)
        }
        AttrType::LARGE_COMMUNITIES => {
            put(out, ty, tlv, large_community::decode(value, ctx), |a, v| a.large_communities = v)
        }
        AttrType::AS4_PATH | AttrType::AS4_AGGREGATOR if ctx.four_octet_as => {
            // RFC 6793 §3: NEW speakers exchange 4-octet AS_PATH / AGGREGATOR
            // and never AS4_*; one received from a NEW speaker is discarded.
            let d = AttrDefect::discard(
                UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
                "AS4 attribute from a 4-octet-AS peer",
            );
            out.record(ty, d, tlv, None);
        }
        AttrType::AS4_PATH => {
            put(out, ty, tlv, as_path::decode_as4(value), |a, v| a.as4_path = Some(v))
        }
        AttrType::AS4_AGGREGATOR => {
            put(out, ty, tlv, aggregator::decode_as4(value), |a, v| a.as4_aggregator = Some(v))
        }
        AttrType::MP_REACH_NLRI => match mp_reach::decode(value, ctx) {
            Ok(MpDecoded::Family(r)) => {
                if let Err(d) = r.check_next_hop() {
                    out.record(ty, d, tlv, Some(r.family));
                }
                out.mp_reach = Some(r);
            }
            Ok(MpDecoded::Ignored(f)) => out.ignored_families.push(f),
            Err(d) => {
                let f = mp_reach::family_at(value);
                out.record(ty, d, tlv, f);
            }
        },
        AttrType::MP_UNREACH_NLRI => match mp_unreach::decode(value, ctx) {
            Ok(MpDecoded::Family(u)) => out.mp_unreach = Some(u),
            Ok(MpDecoded::Ignored(f)) => out.ignored_families.push(f),
            Err(d) => {
                let f = mp_reach::family_at(value);
                out.record(ty, d, tlv, f);
            }
        },
        _ => unrecognized(out, flags, ty, value, tlv, block),
    }
}

/// RFC 4271 §5 and §6.3 for attribute types we do not know.
fn unrecognized(
    out: &mut DecodedAttrs,
    flags: AttrFlags,
    ty: AttrType,
    value: &[u8],
    tlv: Bytes,
    block: &Bytes,
) {
    if !flags.optional() {
        // §6.3: "If any of the well-known attributes are not recognized, then
        // the Error Subcode MUST be set to Unrecognized Well-known Attribute.
        // The Data field MUST contain the unrecognized attribute (type,
        // length, and value)." RFC 7606 keeps this a session reset.
        let d = AttrDefect::reset(UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, "unknown type");
        out.record(ty, d, tlv, None);
    } else if flags.transitive() {
        // §5: unrecognized transitive optional attributes are passed on
        // (the Partial bit is set when they are re-advertised).
        out.attrs.unknown.push(unknown::from_bytes(flags, ty, block.slice_ref(value)));
    }
    // §5: "If an optional non-transitive attribute is unrecognized, it is
    // quietly ignored."
}

/// RFC 7606 §3.d: "If any of the well-known mandatory attributes are not
/// present in an UPDATE message, then 'treat-as-withdraw' MUST be used."
/// ORIGIN and AS_PATH are mandatory whenever the UPDATE announces a route;
/// NEXT_HOP only for NLRI in the body (RFC 4760 §3 moved it into
/// MP_REACH_NLRI for everything else). A withdrawal-only UPDATE or an
/// End-of-RIB needs none of them.
fn check_mandatory(out: &mut DecodedAttrs, body_nlri: bool) {
    let mp_nlri = out.mp_reach.as_ref().is_some_and(|r| !r.nlri.is_empty());
    if !body_nlri && !mp_nlri {
        return;
    }
    let a = &out.attrs;
    let mut missing = Vec::new();
    // An attribute that was present but malformed already has its own
    // defect; only count the ones never seen.
    if a.origin.is_none() && !out.attrs_seen.contains(AttrType::ORIGIN) {
        missing.push(AttrType::ORIGIN);
    }
    if a.as_path.is_none() && !out.attrs_seen.contains(AttrType::AS_PATH) {
        missing.push(AttrType::AS_PATH);
    }
    if body_nlri && a.next_hop.is_none() && !out.attrs_seen.contains(AttrType::NEXT_HOP) {
        missing.push(AttrType::NEXT_HOP);
    }
    for ty in missing {
        // §6.3: "the Data field contains the attribute type code of the
        // missing, well-known attribute."
        let d = AttrDefect::withdraw(UpdateSubcode::MISSING_WELL_KNOWN_ATTRIBUTE, "missing");
        out.record(ty, d, Bytes::copy_from_slice(&[ty.0]), None);
    }
}

/// RFC 6793 §4.2.3, for a session with a 2-octet-AS ("OLD") peer: rebuild
/// the true path from AS_PATH and AS4_PATH, and the true aggregator from
/// AGGREGATOR and AS4_AGGREGATOR. The AS4 fields are consumed, so interned
/// attribute sets compare equal however the path arrived.
fn merge_as4(a: &mut PathAttrs) {
    let (agg, use_as4_path) = aggregator::reconcile(a.aggregator, a.as4_aggregator.take());
    a.aggregator = agg;
    if let Some(p4) = a.as4_path.take() {
        if let (true, Some(p)) = (use_as4_path, &a.as_path) {
            a.as_path = Some(as_path::merge_as4_path(p, &p4));
        }
    }
}

/// Encodes a path attribute block: MP_REACH_NLRI and MP_UNREACH_NLRI first
/// (RFC 7606 §5.1: they "SHALL be encoded as the very first path attribute"),
/// then the others in ascending type order (RFC 4271 §5: "SHOULD order path
/// attributes ... in ascending order of attribute type"), unknown attributes
/// interleaved by type.
///
/// Towards a 2-octet-AS peer (`!ctx.four_octet_as`) AS4_PATH and
/// AS4_AGGREGATOR are derived from AS_PATH and AGGREGATOR (RFC 6793 §4.2.2);
/// the `as4_*` fields of `attrs` are not sent.
pub fn encode_attrs(
    attrs: &PathAttrs,
    mp_reach: Option<&MpReach>,
    mp_unreach: Option<&MpUnreach>,
    ctx: &EncodeCtx,
    buf: &mut BytesMut,
) {
    if let Some(r) = mp_reach {
        mp_reach::encode(r, ctx, buf);
    }
    if let Some(u) = mp_unreach {
        mp_unreach::encode(u, ctx, buf);
    }
    encode_path_attrs(attrs, attrs.next_hop, ctx, buf);
}

/// Encodes everything but the MP attributes, with `nh` as NEXT_HOP.
pub(crate) fn encode_path_attrs(
    attrs: &PathAttrs,
    nh: Option<Ipv4Addr>,
    ctx: &EncodeCtx,
    buf: &mut BytesMut,
) {
    let mut unknown = attrs.unknown.iter().peekable();
    // Unknown attributes go between the known ones by type code; `t` is a
    // u16 so that 256 flushes them all.
    let mut flush_below = |t: u16, buf: &mut BytesMut| {
        while let Some(u) = unknown.next_if(|u| u16::from(u.attr_type.0) < t) {
            unknown::encode(u, buf);
        }
    };
    flush_below(AttrType::ORIGIN.0.into(), buf);
    if let Some(v) = &attrs.origin {
        origin::encode(v, ctx, buf);
    }
    flush_below(AttrType::AS_PATH.0.into(), buf);
    if let Some(v) = &attrs.as_path {
        as_path::encode(v, ctx, buf);
    }
    if let Some(v) = &nh {
        next_hop::encode(v, ctx, buf);
    }
    if let Some(v) = &attrs.med {
        med::encode(v, ctx, buf);
    }
    if let Some(v) = &attrs.local_pref {
        local_pref::encode(v, ctx, buf);
    }
    if attrs.atomic_aggregate {
        atomic_aggregate::encode(&(), ctx, buf);
    }
    if let Some(v) = &attrs.aggregator {
        aggregator::encode(v, ctx, buf);
    }
    community::encode(&attrs.communities, ctx, buf);
    if let Some(v) = &attrs.originator_id {
        originator_id::encode(v, ctx, buf);
    }
    if let Some(v) = &attrs.cluster_list {
        cluster_list::encode(v, ctx, buf);
    }
    flush_below(AttrType::EXTENDED_COMMUNITIES.0.into(), buf);
    ext_community::encode(&attrs.ext_communities, ctx, buf);
    if !ctx.four_octet_as {
        // RFC 6793 §4.2.2: "... if the AS_PATH contains an AS number that
        // cannot be represented in two octets, the AS4_PATH attribute SHALL
        // be included"; same for AGGREGATOR and AS4_AGGREGATOR.
        if let Some(p) = attrs.as_path.as_ref().filter(|p| p.needs_as4()) {
            as_path::encode_as4(p, buf);
        }
        if let Some(a) = attrs.aggregator.as_ref().filter(|a| a.needs_as4()) {
            aggregator::encode_as4(a, buf);
        }
    }
    flush_below(AttrType::LARGE_COMMUNITIES.0.into(), buf);
    large_community::encode(&attrs.large_communities, ctx, buf);
    flush_below(256, buf);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::attr::{Aggregator, AsPath, Community, MpNextHop, Origin, UnknownAttr};
    use crate::wire::nlri::Nlri;

    fn new_ctx() -> DecodeCtx {
        DecodeCtx { four_octet_as: true, ..DecodeCtx::default() }
    }

    fn types_in(block: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 3 <= block.len() {
            let ext = block[i] & AttrFlags::EXTENDED_LENGTH != 0;
            out.push(block[i + 1]);
            let (hdr, len) = if ext {
                (4, usize::from(u16::from_be_bytes([block[i + 2], block[i + 3]])))
            } else {
                (3, usize::from(block[i + 2]))
            };
            i += hdr + len;
        }
        out
    }

    fn unknown(ty: u8) -> UnknownAttr {
        UnknownAttr {
            flags: AttrFlags::OPTIONAL_TRANSITIVE,
            attr_type: AttrType(ty),
            value: Bytes::from_static(&[1]),
        }
    }

    fn ibgp_attrs() -> PathAttrs {
        PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
            local_pref: Some(100),
            communities: vec![Community(0xfde9_0064)],
            ..PathAttrs::default()
        }
    }

    // An iBGP block as FRR sends it for a locally originated route: ORIGIN
    // IGP, empty AS_PATH, NEXT_HOP 10.0.0.1, LOCAL_PREF 100, COMMUNITIES
    // 65001:100.
    const IBGP_BLOCK: &str = "40010100 400200 4003040a000001 40050400000064 c00804fde90064";

    #[test]
    fn ibgp_block_golden_decodes_and_encodes() {
        let block = Bytes::from(hex::decode(IBGP_BLOCK.replace(' ', "")).unwrap());
        let d = decode_attrs_for(&block, &new_ctx(), true);
        assert_eq!(d.treatment, Treatment::Normal, "{:?}", d.errors);
        assert_eq!(d.attrs, ibgp_attrs());
        assert_eq!(d.attrs_seen.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2, 3, 5, 8]);
        let mut buf = BytesMut::new();
        encode_attrs(&d.attrs, None, None, &new_ctx().peer_encode_ctx(), &mut buf);
        assert_eq!(hex::encode(&buf), IBGP_BLOCK.replace(' ', ""));
    }

    #[test]
    fn mp_attributes_are_encoded_first_then_ascending_types() {
        let reach = MpReach {
            family: AfiSafi::IPV6_UNICAST,
            next_hop: MpNextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
            nlri: vec![Nlri::new("2001:db8:1::/48".parse().unwrap())],
        };
        let unreach = MpUnreach { family: AfiSafi::IPV6_UNICAST, withdrawn: vec![] };
        let attrs = PathAttrs {
            next_hop: None,
            unknown: vec![unknown(0), unknown(11), unknown(20), unknown(40), unknown(255)],
            ..ibgp_attrs()
        };
        let mut buf = BytesMut::new();
        encode_attrs(&attrs, Some(&reach), Some(&unreach), &new_ctx().peer_encode_ctx(), &mut buf);
        assert_eq!(types_in(&buf), [14, 15, 0, 1, 2, 5, 8, 11, 20, 40, 255]);
    }

    #[test]
    fn two_octet_peer_gets_as4_path_and_as4_aggregator() {
        let attrs = PathAttrs {
            as_path: Some(AsPath::from_sequence(vec![4_200_000_001])),
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(10, 0, 0, 1),
            }),
            ..ibgp_attrs()
        };
        let old = DecodeCtx::default();
        let mut buf = BytesMut::new();
        encode_attrs(&attrs, None, None, &old.peer_encode_ctx(), &mut buf);
        assert_eq!(types_in(&buf), [1, 2, 3, 5, 7, 8, 17, 18]);
        let d = decode_attrs_for(&buf.freeze(), &old, true);
        assert_eq!(d.treatment, Treatment::Normal, "{:?}", d.errors);
        assert_eq!(d.attrs, attrs, "merged back by RFC 6793 §4.2.3");
        // A 4-octet peer gets neither.
        let mut buf = BytesMut::new();
        encode_attrs(&attrs, None, None, &new_ctx().peer_encode_ctx(), &mut buf);
        assert_eq!(types_in(&buf), [1, 2, 3, 5, 7, 8]);
    }

    #[test]
    fn attr_type_set_covers_all_codes() {
        let mut s = AttrTypeSet::new();
        assert!(s.is_empty());
        for t in [0u8, 63, 64, 127, 128, 255] {
            assert!(s.insert(AttrType(t)));
            assert!(!s.insert(AttrType(t)));
        }
        assert_eq!(s.len(), 6);
        assert!(s.contains(AttrType(255)) && !s.contains(AttrType(254)));
        assert_eq!(s.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 63, 64, 127, 128, 255]);
        assert_eq!(format!("{:?}", AttrTypeSet::new()), "{}");
    }

    #[test]
    fn first_reset_is_the_one_reported() {
        // Unknown well-known type 99, then an overrun: the loop stops at the first.
        let block = Bytes::from(hex::decode("40630040010a00").unwrap());
        let d = decode_attrs(&block, &new_ctx());
        assert_eq!(d.treatment, Treatment::SessionReset);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.worst().unwrap().subcode, UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE);
    }

    #[test]
    fn unknown_attribute_value_is_a_slice_of_the_message() {
        let block = Bytes::from(hex::decode("c06302010240010100").unwrap());
        let d = decode_attrs(&block, &new_ctx());
        let u = &d.attrs.unknown[0];
        assert_eq!(u.value.as_ptr(), block[3..].as_ptr(), "no copy");
    }

    proptest! {
        #[test]
        fn arbitrary_blocks_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128),
                                        four: bool, ebgp: bool, body_nlri: bool) {
            let ctx = DecodeCtx { four_octet_as: four, ebgp, ..DecodeCtx::default() };
            let d = decode_attrs_for(&Bytes::from(data), &ctx, body_nlri);
            prop_assert_eq!(d.treatment, d.errors.iter().map(|e| e.treatment).max().unwrap_or_default());
        }
    }
}
