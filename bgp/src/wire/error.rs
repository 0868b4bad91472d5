//! Codec errors: the NOTIFICATION a decode failure asks for, and the RFC 7606
//! treatment lattice for defects in UPDATE messages.
//!
//! RFC 7606 §2 defines four ways of handling a malformed UPDATE, from mildest
//! to harshest. [`Treatment`] orders them so that folding a message's defects
//! with `max` gives the action to take ("the worst wins", RFC 7606 §5.3 ... "the
//! approach that is the most severe MUST be used").

use std::borrow::Cow;

use bytes::Bytes;

use serde::{Deserialize, Serialize};

use super::iana::{AfiSafi, AttrType, UpdateSubcode};
use super::notification::NotificationMsg;

/// A message that cannot be accepted: carries the NOTIFICATION (code, subcode
/// and the data the RFC says to send back) and a human reason for the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{notification}: {reason}")]
pub struct DecodeError {
    /// What to send to the peer before closing the session.
    pub notification: NotificationMsg,
    /// Why, for logs and `show peer`.
    pub reason: Cow<'static, str>,
}

impl DecodeError {
    /// Pairs a NOTIFICATION with the reason it is sent.
    pub fn new(notification: NotificationMsg, reason: impl Into<Cow<'static, str>>) -> Self {
        DecodeError { notification, reason: reason.into() }
    }
}

/// Something that cannot be encoded as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the negotiated maximum message size.
    #[error("message of {len} octets exceeds the maximum of {max}")]
    TooLong {
        /// Size the message would have had.
        len: usize,
        /// Negotiated maximum (4096, or 65535 with RFC 8654).
        max: usize,
    },
    /// A field does not fit its wire representation.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
}

/// How an UPDATE with a defect is handled (RFC 7606 §2), ordered from mildest
/// to harshest so that `max` picks the one to apply.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Treatment {
    /// No defect.
    #[default]
    Normal,
    /// "attribute discard": the attribute is dropped, the UPDATE is otherwise used.
    AttributeDiscard,
    /// "treat-as-withdraw": every NLRI of the UPDATE is withdrawn.
    TreatAsWithdraw,
    /// "session reset": a NOTIFICATION is sent and the session closed.
    SessionReset,
}

/// What a single attribute decoder reports about a defect, before the
/// attribute loop attaches the attribute type and its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrDefect {
    /// The RFC 7606 treatment for this defect.
    pub treatment: Treatment,
    /// The UPDATE Message Error subcode a session reset would send.
    pub subcode: UpdateSubcode,
    /// Why, for logs.
    pub reason: Cow<'static, str>,
}

impl AttrDefect {
    /// A defect with the given treatment and subcode.
    pub fn new(
        treatment: Treatment,
        subcode: UpdateSubcode,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        AttrDefect { treatment, subcode, reason: reason.into() }
    }

    /// Treat-as-withdraw with `subcode`.
    pub fn withdraw(subcode: UpdateSubcode, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Treatment::TreatAsWithdraw, subcode, reason)
    }

    /// Attribute discard with `subcode`.
    pub fn discard(subcode: UpdateSubcode, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Treatment::AttributeDiscard, subcode, reason)
    }

    /// Session reset with `subcode`.
    pub fn reset(subcode: UpdateSubcode, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Treatment::SessionReset, subcode, reason)
    }
}

/// One defect found in an UPDATE, with everything needed to log it, count it
/// and, if it resets the session, build the NOTIFICATION.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrError {
    /// The attribute at fault (or the attribute found missing).
    pub attr_type: AttrType,
    /// The RFC 7606 treatment.
    pub treatment: Treatment,
    /// UPDATE Message Error subcode.
    pub subcode: UpdateSubcode,
    /// NOTIFICATION data per RFC 4271 §6.3 (usually the whole attribute TLV;
    /// the type code for a missing attribute; empty for Malformed AS_PATH).
    pub data: Bytes,
    /// Family concerned, for AFI/SAFI disable.
    pub family: Option<AfiSafi>,
    /// Why, for logs.
    pub reason: Cow<'static, str>,
}

impl AttrError {
    /// The NOTIFICATION to send if this defect resets the session.
    pub fn notification(&self) -> NotificationMsg {
        NotificationMsg::update(self.subcode, self.data.clone())
    }

    /// The [`DecodeError`] for this defect.
    pub fn into_decode_error(self) -> DecodeError {
        let n = self.notification();
        DecodeError::new(n, format!("{}: {}", self.attr_type, self.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treatments_order_from_mildest_to_harshest() {
        use Treatment::*;
        let mut v = vec![SessionReset, Normal, TreatAsWithdraw, AttributeDiscard];
        v.sort();
        assert_eq!(v, [Normal, AttributeDiscard, TreatAsWithdraw, SessionReset]);
        assert_eq!(AttributeDiscard.max(TreatAsWithdraw), TreatAsWithdraw);
    }
}
