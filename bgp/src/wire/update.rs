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

use bytes::{Bytes, BytesMut};

use super::attr::{MpReach, MpUnreach, PathAttrs};
use super::error::{AttrError, DecodeError, EncodeError, Treatment};
use super::iana::AfiSafi;
use super::negotiate::{DecodeCtx, EncodeCtx};
use super::nlri::Nlri;

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedUpdate {
    /// The message, with discarded attributes removed.
    pub update: UpdateMsg,
    /// The worst treatment over all defects found (Normal if none).
    pub treatment: Treatment,
    /// Every defect found, in the order met.
    pub errors: Vec<AttrError>,
}

impl UpdateMsg {
    /// Decodes an UPDATE body (the octets after the 19-octet header).
    ///
    /// Returns `Err` only for defects whose treatment is session reset; every
    /// other defect is reported in [`ParsedUpdate::errors`].
    pub fn decode(body: &Bytes, ctx: &DecodeCtx) -> Result<ParsedUpdate, DecodeError> {
        todo!("{body:?} {ctx:?}")
    }

    /// Encodes the UPDATE body (without the header).
    pub fn encode_body(&self, ctx: &EncodeCtx, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!("{ctx:?} {buf:?}")
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2).
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
}
