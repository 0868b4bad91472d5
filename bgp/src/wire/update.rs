//! UPDATE message (RFC 4271 §4.3) with ADD-PATH NLRI (RFC 7911), the RFC 7606
//! treatment of malformed UPDATEs, and End-of-RIB markers (RFC 4724 §2).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Decoding returns `Err` only when the session must be reset; every milder
//! defect comes back in [`ParsedUpdate`] with its treatment, and the
//! [`ParsedUpdate::withdrawals`] / [`ParsedUpdate::announcements`] iterators
//! already apply it, so the RIB cannot forget to.

use bytes::{BufMut, Bytes, BytesMut};

use serde::{Deserialize, Serialize};

use super::attr::list::{AttrTypeSet, decode_attrs_for, encode_attrs};
use super::attr::{MpNextHop, MpReach, MpUnreach, PathAttrs, patch_len};
use super::error::{AttrError, DecodeError, EncodeError, Treatment};
use super::iana::{AfiSafi, UpdateSubcode};
use super::negotiate::{DecodeCtx, EncodeCtx};
use super::nlri::{self, Nlri};
use super::notification::NotificationMsg;

/// Octets of the message header (marker, length, type) that precede the body.
const HEADER_OCTETS: usize = 19;

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateMsg {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes other than MP_REACH_NLRI / MP_UNREACH_NLRI.
    pub attrs: PathAttrs,
    /// MP_REACH_NLRI, if present.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, if present.
    pub mp_unreach: Option<MpUnreach>,
    /// Reachable IPv4 unicast NLRI.
    pub nlri: Vec<Nlri>,
}

/// A decoded UPDATE together with what RFC 7606 says to do with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedUpdate {
    /// The message, with discarded attributes removed.
    pub update: UpdateMsg,
    /// The worst treatment over all defects found (Normal if none).
    pub treatment: Treatment,
    /// Every defect found, in the order met.
    pub errors: Vec<AttrError>,
    /// Families of MP_REACH_NLRI / MP_UNREACH_NLRI we do not carry; their
    /// NLRI were skipped (reported, not an error).
    pub ignored_families: Vec<AfiSafi>,
    /// Every attribute type the message carried, malformed ones included.
    pub attrs_seen: AttrTypeSet,
}

/// A session-reset error for the body framing.
fn reset(subcode: UpdateSubcode, reason: impl Into<std::borrow::Cow<'static, str>>) -> DecodeError {
    DecodeError::new(NotificationMsg::update(subcode, Bytes::new()), reason)
}

/// Splits a 2-octet length-prefixed field off `body[at..]`; returns the
/// field's range.
fn field(body: &[u8], at: usize) -> Option<(usize, usize)> {
    let len = match body.get(at..at + 2) {
        Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
        _ => return None,
    };
    let start = at + 2;
    (start + len <= body.len()).then_some((start, start + len))
}

impl UpdateMsg {
    /// Decodes an UPDATE body (the octets after the 19-octet header).
    ///
    /// Returns `Err` only for defects whose treatment is session reset; every
    /// other defect is reported in [`ParsedUpdate::errors`].
    pub fn decode(body: &Bytes, ctx: &DecodeCtx) -> Result<ParsedUpdate, DecodeError> {
        // RFC 4271 §6.3: "If the Withdrawn Routes Length or Total Attribute
        // Length is too large (i.e., if Withdrawn Routes Length + Total
        // Attribute Length + 23 exceeds the message Length), then the Error
        // Subcode MUST be set to Malformed Attribute List." RFC 7606 §4 keeps
        // this a session reset: the NLRI cannot be located.
        let (w0, w1) = field(body, 0).ok_or_else(|| {
            reset(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "Withdrawn Routes Length overruns")
        })?;
        let (a0, a1) = field(body, w1).ok_or_else(|| {
            reset(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "Total Path Attribute Length overruns")
        })?;
        // RFC 7606 §5.3 / §3.i: a Withdrawn Routes or NLRI field that cannot
        // be parsed cannot be treated as withdraw (§3.j), so it resets.
        let v4 = AfiSafi::IPV4_UNICAST;
        let withdrawn = nlri::decode(&body[w0..w1], v4, ctx).map_err(|e| {
            reset(UpdateSubcode::INVALID_NETWORK_FIELD, format!("Withdrawn Routes: {e}"))
        })?;
        let nlri = nlri::decode(&body[a1..], v4, ctx)
            .map_err(|e| reset(UpdateSubcode::INVALID_NETWORK_FIELD, format!("NLRI: {e}")))?;

        let d = decode_attrs_for(&body.slice(a0..a1), ctx, !nlri.is_empty());
        if d.treatment == Treatment::SessionReset {
            if let Some(e) = d.worst() {
                return Err(e.clone().into_decode_error());
            }
        }
        Ok(ParsedUpdate {
            update: UpdateMsg {
                withdrawn,
                attrs: d.attrs,
                mp_reach: d.mp_reach,
                mp_unreach: d.mp_unreach,
                nlri,
            },
            treatment: d.treatment,
            errors: d.errors,
            ignored_families: d.ignored_families,
            attrs_seen: d.attrs_seen,
        })
    }

    /// Encodes the UPDATE body (without the header).
    ///
    /// Fails with [`EncodeError::TooLong`] when the whole message would
    /// exceed `ctx.max_message_len()`; `buf` is then left as it was.
    pub fn encode_body(&self, ctx: &EncodeCtx, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let max = ctx.max_message_len();
        let v4 = AfiSafi::IPV4_UNICAST;
        // Check what could overflow a 2-octet length before writing anything.
        let rough = HEADER_OCTETS
            + 4
            + nlri::encoded_len_all(&self.withdrawn, v4, ctx)
            + nlri::encoded_len_all(&self.nlri, v4, ctx)
            + self.mp_reach.as_ref().map_or(0, |r| r.value_len(ctx))
            + self.mp_unreach.as_ref().map_or(0, |u| u.value_len(ctx));
        if rough > max {
            return Err(EncodeError::TooLong { len: rough, max });
        }
        let start = buf.len();
        let at = buf.len();
        buf.put_u16(0);
        nlri::encode_all(&self.withdrawn, v4, ctx, buf);
        patch_len(buf, at);
        let at = buf.len();
        buf.put_u16(0);
        encode_attrs(&self.attrs, self.mp_reach.as_ref(), self.mp_unreach.as_ref(), ctx, buf);
        let len = HEADER_OCTETS + buf.len() - start + nlri::encoded_len_all(&self.nlri, v4, ctx);
        if len > max {
            buf.truncate(start);
            return Err(EncodeError::TooLong { len, max });
        }
        patch_len(buf, at);
        nlri::encode_all(&self.nlri, v4, ctx, buf);
        Ok(())
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE for
    /// IPv4 unicast, an UPDATE with only an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(family: AfiSafi) -> Self {
        if family == AfiSafi::IPV4_UNICAST {
            UpdateMsg::default()
        } else {
            UpdateMsg {
                mp_unreach: Some(MpUnreach { family, withdrawn: Vec::new() }),
                ..UpdateMsg::default()
            }
        }
    }

    /// The family this UPDATE is the End-of-RIB marker of, if it is one.
    pub fn is_end_of_rib(&self) -> Option<AfiSafi> {
        let empty = self.withdrawn.is_empty()
            && self.nlri.is_empty()
            && self.mp_reach.is_none()
            && self.attrs == PathAttrs::default();
        match &self.mp_unreach {
            _ if !empty => None,
            None => Some(AfiSafi::IPV4_UNICAST),
            Some(u) if u.withdrawn.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// The next hop for NLRI of `family`: MP_REACH_NLRI's if it carries that
    /// family, else NEXT_HOP for IPv4 unicast.
    pub fn next_hop(&self, family: AfiSafi) -> Option<MpNextHop> {
        match &self.mp_reach {
            Some(r) if r.family == family => Some(r.next_hop),
            _ if family == AfiSafi::IPV4_UNICAST => self.attrs.next_hop.map(MpNextHop::Ipv4),
            _ => None,
        }
    }

    /// Every withdrawn NLRI with its family (body and MP_UNREACH_NLRI).
    pub fn withdrawn_nlri(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let v4 = self.withdrawn.iter().map(|n| (AfiSafi::IPV4_UNICAST, n));
        let mp = self.mp_unreach.iter().flat_map(|u| u.withdrawn.iter().map(|n| (u.family, n)));
        v4.chain(mp)
    }

    /// Every announced NLRI with its family (body and MP_REACH_NLRI).
    pub fn announced_nlri(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let v4 = self.nlri.iter().map(|n| (AfiSafi::IPV4_UNICAST, n));
        let mp = self.mp_reach.iter().flat_map(|r| r.nlri.iter().map(|n| (r.family, n)));
        v4.chain(mp)
    }
}

impl ParsedUpdate {
    /// Whether RFC 7606 turns the announcements into withdrawals.
    fn withdraws_all(&self) -> bool {
        self.treatment >= Treatment::TreatAsWithdraw
    }

    /// The NLRI the RIB must remove: those withdrawn, plus, under
    /// treat-as-withdraw, every NLRI announced (RFC 7606 §2: "the UPDATE
    /// message ... MUST be handled as though all contained routes had been
    /// withdrawn").
    pub fn withdrawals(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let extra = if self.withdraws_all() { Some(self.update.announced_nlri()) } else { None };
        self.update.withdrawn_nlri().chain(extra.into_iter().flatten())
    }

    /// The NLRI the RIB may install; none under treat-as-withdraw.
    pub fn announcements(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let ok = if self.withdraws_all() { None } else { Some(self.update.announced_nlri()) };
        ok.into_iter().flatten()
    }

    /// The next hop for NLRI of `family`; see [`UpdateMsg::next_hop`].
    pub fn next_hop(&self, family: AfiSafi) -> Option<MpNextHop> {
        self.update.next_hop(family)
    }

    /// The family this UPDATE is the End-of-RIB marker of, if it is one.
    pub fn is_end_of_rib(&self) -> Option<AfiSafi> {
        if self.errors.is_empty() && self.ignored_families.is_empty() {
            self.update.is_end_of_rib()
        } else {
            None
        }
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
