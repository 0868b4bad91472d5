//! Codec contexts, and the negotiation that yields them from the two OPENs.
//!
//! What a message looks like on the wire depends on what the two speakers
//! agreed in their OPENs: 2- or 4-octet AS numbers (RFC 6793), path
//! identifiers per family (RFC 7911), the maximum message size (RFC 8654) and
//! IPv6 next hops for IPv4 NLRI (RFC 8950). [`CodecCtx`] carries that agreement
//! to the decoder and encoder; nothing in the codec reads global state.

use super::iana::AfiSafi;

/// Maximum BGP message size without extended messages (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum BGP message size with extended messages (RFC 8654 §3).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Everything the codec needs to know about one direction of one session.
///
/// The decoder uses the receive view, the encoder the send view; they differ
/// only in ADD-PATH, which is negotiated per direction (RFC 7911 §4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodecCtx {
    /// Both sides advertised the 4-octet AS capability (RFC 6793 §3): AS_PATH
    /// and AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry a 4-octet path identifier in this direction (RFC 7911 §3).
    pub add_path: Vec<AfiSafi>,
    /// Both sides advertised extended messages (RFC 8654): 65535-octet limit.
    pub extended_message: bool,
    /// NLRI families for which an IPv6 next hop was agreed (RFC 8950 §3).
    pub extended_next_hop: Vec<AfiSafi>,
    /// The peer is external: governs RFC 7606 checks that differ for eBGP
    /// (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded from eBGP peers).
    pub ebgp: bool,
}

/// Context used by the decoder (receive direction).
pub type DecodeCtx = CodecCtx;
/// Context used by the encoder (send direction).
pub type EncodeCtx = CodecCtx;

impl CodecCtx {
    /// Whether NLRI of `family` carry path identifiers.
    #[inline]
    pub fn add_path(&self, family: AfiSafi) -> bool {
        self.add_path.contains(&family)
    }

    /// Whether an IPv6 next hop is acceptable for NLRI of `family`.
    #[inline]
    pub fn extended_next_hop(&self, family: AfiSafi) -> bool {
        self.extended_next_hop.contains(&family)
    }

    /// Largest message, header included, that may be sent or received.
    #[inline]
    pub fn max_message_len(&self) -> usize {
        if self.extended_message { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN }
    }
}
