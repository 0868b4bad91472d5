//! IANA registry values used on the wire: message types, AFI/SAFI, path attribute
//! type codes, capability codes and NOTIFICATION error codes.
//!
//! Values are newtypes over the wire integer rather than closed enums, because
//! every one of these registries grows and the codec must carry values it does
//! not know (RFC 5492 §5: unknown capabilities are kept; RFC 4271 §5: unknown
//! optional transitive attributes are passed on).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! registry {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) { $( $(#[$vmeta:meta])* $konst:ident = $val:expr, $label:expr; )* }
    ) => {
        $(#[$meta])*
        ///
        /// Serialised as the bare wire number, so a recording keeps values
        /// we have no name for.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$vmeta])* pub const $konst: $name = $name($val); )*

            /// The registry's name for this value, if it is one we know.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($label), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                $name(v)
            }
        }
    };
}

registry! {
    /// BGP message type (RFC 4271 §4.1, RFC 2918 §3).
    MessageType(u8) {
        /// RFC 4271 §4.2
        OPEN = 1, "OPEN";
        /// RFC 4271 §4.3
        UPDATE = 2, "UPDATE";
        /// RFC 4271 §4.5
        NOTIFICATION = 3, "NOTIFICATION";
        /// RFC 4271 §4.4
        KEEPALIVE = 4, "KEEPALIVE";
        /// RFC 2918 §3
        ROUTE_REFRESH = 5, "ROUTE-REFRESH";
    }
}

registry! {
    /// Address Family Identifier (IANA "Address Family Numbers").
    Afi(u16) {
        /// IP version 4
        IPV4 = 1, "IPv4";
        /// IP version 6
        IPV6 = 2, "IPv6";
    }
}

registry! {
    /// Subsequent Address Family Identifier (RFC 4760 §6).
    Safi(u8) {
        /// Unicast forwarding
        UNICAST = 1, "unicast";
        /// Multicast forwarding
        MULTICAST = 2, "multicast";
    }
}

/// An (AFI, SAFI) pair: one address family as negotiated and carried by
/// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AfiSafi {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl AfiSafi {
    /// IPv4 unicast, the family RFC 4271 carries without MP_REACH_NLRI.
    pub const IPV4_UNICAST: AfiSafi = AfiSafi::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast.
    pub const IPV6_UNICAST: AfiSafi = AfiSafi::new(Afi::IPV6, Safi::UNICAST);

    /// Pairs an AFI with a SAFI.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        AfiSafi { afi, safi }
    }
}

impl fmt::Debug for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.afi, self.safi)
    }
}

impl fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.afi, self.safi)
    }
}

registry! {
    /// Path attribute type code (IANA "BGP Path Attributes").
    AttrType(u8) {
        /// RFC 4271 §5.1.1
        ORIGIN = 1, "ORIGIN";
        /// RFC 4271 §5.1.2
        AS_PATH = 2, "AS_PATH";
        /// RFC 4271 §5.1.3
        NEXT_HOP = 3, "NEXT_HOP";
        /// RFC 4271 §5.1.4
        MULTI_EXIT_DISC = 4, "MULTI_EXIT_DISC";
        /// RFC 4271 §5.1.5
        LOCAL_PREF = 5, "LOCAL_PREF";
        /// RFC 4271 §5.1.6
        ATOMIC_AGGREGATE = 6, "ATOMIC_AGGREGATE";
        /// RFC 4271 §5.1.7
        AGGREGATOR = 7, "AGGREGATOR";
        /// RFC 1997
        COMMUNITIES = 8, "COMMUNITIES";
        /// RFC 4456 §8
        ORIGINATOR_ID = 9, "ORIGINATOR_ID";
        /// RFC 4456 §8
        CLUSTER_LIST = 10, "CLUSTER_LIST";
        /// RFC 4760 §3
        MP_REACH_NLRI = 14, "MP_REACH_NLRI";
        /// RFC 4760 §4
        MP_UNREACH_NLRI = 15, "MP_UNREACH_NLRI";
        /// RFC 4360 §2
        EXTENDED_COMMUNITIES = 16, "EXTENDED_COMMUNITIES";
        /// RFC 6793 §3
        AS4_PATH = 17, "AS4_PATH";
        /// RFC 6793 §3
        AS4_AGGREGATOR = 18, "AS4_AGGREGATOR";
        /// RFC 8092 §3
        LARGE_COMMUNITIES = 32, "LARGE_COMMUNITY";
    }
}

registry! {
    /// Capability code (IANA "Capability Codes", RFC 5492).
    CapabilityCode(u8) {
        /// RFC 4760 §8
        MULTIPROTOCOL = 1, "multiprotocol";
        /// RFC 2918 §2
        ROUTE_REFRESH = 2, "route-refresh";
        /// RFC 8950 §3
        EXTENDED_NEXT_HOP = 5, "extended-next-hop";
        /// RFC 8654 §3
        EXTENDED_MESSAGE = 6, "extended-message";
        /// RFC 4724 §3
        GRACEFUL_RESTART = 64, "graceful-restart";
        /// RFC 6793 §3
        FOUR_OCTET_AS = 65, "4-octet-as";
        /// RFC 7911 §4
        ADD_PATH = 69, "add-path";
        /// RFC 7313 §3.1
        ENHANCED_ROUTE_REFRESH = 70, "enhanced-route-refresh";
        /// RFC 9494 §2
        LONG_LIVED_GRACEFUL_RESTART = 71, "long-lived-graceful-restart";
        /// draft-walton-bgp-hostname-capability
        FQDN = 73, "fqdn";
        /// Cisco's pre-standard route refresh (RFC 2918 code before assignment)
        ROUTE_REFRESH_CISCO = 128, "route-refresh-cisco";
    }
}

registry! {
    /// NOTIFICATION error code (RFC 4271 §4.5, RFC 7313 §5, RFC 9687).
    ErrorCode(u8) {
        /// RFC 4271 §6.1
        MESSAGE_HEADER = 1, "Message Header Error";
        /// RFC 4271 §6.2
        OPEN_MESSAGE = 2, "OPEN Message Error";
        /// RFC 4271 §6.3
        UPDATE_MESSAGE = 3, "UPDATE Message Error";
        /// RFC 4271 §6.5
        HOLD_TIMER_EXPIRED = 4, "Hold Timer Expired";
        /// RFC 4271 §6.6, RFC 6608
        FSM = 5, "Finite State Machine Error";
        /// RFC 4271 §6.7, RFC 4486
        CEASE = 6, "Cease";
        /// RFC 7313 §5
        ROUTE_REFRESH = 7, "ROUTE-REFRESH Message Error";
        /// RFC 9687
        SEND_HOLD_TIMER_EXPIRED = 8, "Send Hold Timer Expired";
    }
}

registry! {
    /// Message Header Error subcodes (RFC 4271 §4.5).
    HeaderSubcode(u8) {
        /// The marker is not all ones.
        CONNECTION_NOT_SYNCHRONIZED = 1, "Connection Not Synchronized";
        /// Length out of range for the message type.
        BAD_MESSAGE_LENGTH = 2, "Bad Message Length";
        /// Type code not recognised.
        BAD_MESSAGE_TYPE = 3, "Bad Message Type";
    }
}

registry! {
    /// OPEN Message Error subcodes (RFC 4271 §4.5, RFC 5492 §3, RFC 9234 §4.2).
    OpenSubcode(u8) {
        /// No more specific subcode applies; RFC 5492 leaves malformed
        /// capabilities here, as FRR and BIRD do.
        UNSPECIFIC = 0, "Unspecific";
        /// Version number not supported.
        UNSUPPORTED_VERSION_NUMBER = 1, "Unsupported Version Number";
        /// Peer AS not as configured.
        BAD_PEER_AS = 2, "Bad Peer AS";
        /// BGP Identifier not a valid unicast address, or equal to ours.
        BAD_BGP_IDENTIFIER = 3, "Bad BGP Identifier";
        /// Optional parameter not recognised.
        UNSUPPORTED_OPTIONAL_PARAMETER = 4, "Unsupported Optional Parameter";
        /// Hold time of 1 or 2 seconds, or refused by local policy.
        UNACCEPTABLE_HOLD_TIME = 6, "Unacceptable Hold Time";
        /// A required capability is missing (RFC 5492 §3).
        UNSUPPORTED_CAPABILITY = 7, "Unsupported Capability";
        /// BGP role mismatch (RFC 9234 §4.2).
        ROLE_MISMATCH = 11, "Role Mismatch";
    }
}

registry! {
    /// UPDATE Message Error subcodes (RFC 4271 §4.5).
    UpdateSubcode(u8) {
        /// Attribute list or NLRI fields do not add up.
        MALFORMED_ATTRIBUTE_LIST = 1, "Malformed Attribute List";
        /// A well-known attribute we do not recognise.
        UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2, "Unrecognized Well-known Attribute";
        /// A mandatory well-known attribute is absent.
        MISSING_WELL_KNOWN_ATTRIBUTE = 3, "Missing Well-known Attribute";
        /// Flags conflict with the attribute type.
        ATTRIBUTE_FLAGS_ERROR = 4, "Attribute Flags Error";
        /// Length conflicts with the attribute type.
        ATTRIBUTE_LENGTH_ERROR = 5, "Attribute Length Error";
        /// ORIGIN value undefined.
        INVALID_ORIGIN_ATTRIBUTE = 6, "Invalid ORIGIN Attribute";
        /// NEXT_HOP syntactically or semantically invalid.
        INVALID_NEXT_HOP_ATTRIBUTE = 8, "Invalid NEXT_HOP Attribute";
        /// An optional attribute failed its checks.
        OPTIONAL_ATTRIBUTE_ERROR = 9, "Optional Attribute Error";
        /// NLRI field syntactically incorrect.
        INVALID_NETWORK_FIELD = 10, "Invalid Network Field";
        /// AS_PATH syntactically incorrect.
        MALFORMED_AS_PATH = 11, "Malformed AS_PATH";
    }
}

registry! {
    /// Finite State Machine Error subcodes (RFC 6608 §3).
    FsmSubcode(u8) {
        /// No further detail.
        UNSPECIFIED = 0, "Unspecified Error";
        /// Unexpected message in OpenSent.
        UNEXPECTED_MESSAGE_IN_OPENSENT = 1, "Receive Unexpected Message in OpenSent State";
        /// Unexpected message in OpenConfirm.
        UNEXPECTED_MESSAGE_IN_OPENCONFIRM = 2, "Receive Unexpected Message in OpenConfirm State";
        /// Unexpected message in Established.
        UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3, "Receive Unexpected Message in Established State";
    }
}

registry! {
    /// Cease subcodes (RFC 4486 §4, RFC 8538 §5, RFC 9384 §2).
    CeaseSubcode(u8) {
        /// Maximum number of prefixes reached.
        MAXIMUM_PREFIXES_REACHED = 1, "Maximum Number of Prefixes Reached";
        /// Administrative shutdown (may carry a shutdown communication, RFC 9003).
        ADMINISTRATIVE_SHUTDOWN = 2, "Administrative Shutdown";
        /// Peer de-configured.
        PEER_DECONFIGURED = 3, "Peer De-configured";
        /// Administrative reset (may carry a shutdown communication, RFC 9003).
        ADMINISTRATIVE_RESET = 4, "Administrative Reset";
        /// Connection rejected.
        CONNECTION_REJECTED = 5, "Connection Rejected";
        /// Other configuration change.
        OTHER_CONFIGURATION_CHANGE = 6, "Other Configuration Change";
        /// Connection collision resolution (RFC 4271 §6.8).
        CONNECTION_COLLISION_RESOLUTION = 7, "Connection Collision Resolution";
        /// Out of resources.
        OUT_OF_RESOURCES = 8, "Out of Resources";
        /// Hard reset (RFC 8538).
        HARD_RESET = 9, "Hard Reset";
        /// BFD down (RFC 9384).
        BFD_DOWN = 10, "BFD Down";
    }
}

registry! {
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    RouteRefreshSubcode(u8) {
        /// Length of a ROUTE-REFRESH message other than 23.
        INVALID_MESSAGE_LENGTH = 1, "Invalid Message Length";
    }
}

/// The AS number a 4-octet speaker puts in 2-octet fields (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_print_their_registry_name() {
        assert_eq!(AttrType::AS_PATH.to_string(), "AS_PATH");
        assert_eq!(format!("{:?}", AttrType(99)), "AttrType(99)");
        assert_eq!(AfiSafi::IPV6_UNICAST.to_string(), "IPv6/unicast");
        assert_eq!(ErrorCode::CEASE.name(), Some("Cease"));
    }
}
