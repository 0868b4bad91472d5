//! Codec contexts, and the negotiation that yields them from the two OPENs.
//!
//! What a message looks like on the wire depends on what the two speakers
//! agreed in their OPENs: 2- or 4-octet AS numbers (RFC 6793), path
//! identifiers per family (RFC 7911), the maximum message size (RFC 8654) and
//! IPv6 next hops for IPv4 NLRI (RFC 8950). [`DecodeCtx`] carries that agreement
//! to the decoder and [`EncodeCtx`] to the encoder; nothing in the codec reads global state.
//!
//! [`Negotiated::from_opens`] computes that agreement (and the session
//! parameters the FSM needs: hold time, route refresh, the peer's graceful
//! restart state) from the OPEN we sent and the OPEN we received. A feature
//! that needs both sides is on only if both advertised it; ADD-PATH is
//! decided per direction and family (RFC 7911 §4).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::capability::{AddPathMode, Capability, Fqdn, GracefulRestart, LlgrFamily};
use super::iana::{Afi, AfiSafi, CapabilityCode};
use super::open::OpenMsg;

/// Maximum BGP message size without extended messages (RFC 4271 §4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum BGP message size with extended messages (RFC 8654 §3).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// What the decoder needs to know about the receive direction of one
/// session ([`Negotiated::decode_ctx`]).
///
/// It differs from the send direction's [`EncodeCtx`] only in ADD-PATH,
/// which is negotiated per direction (RFC 7911 §4); the two are distinct
/// types so that one cannot be passed for the other.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeCtx {
    /// Both sides advertised the 4-octet AS capability (RFC 6793 §3): AS_PATH
    /// and AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry a 4-octet path identifier as we receive them (RFC 7911 §3).
    pub add_path: Vec<AfiSafi>,
    /// Both sides advertised extended messages (RFC 8654): 65535-octet limit.
    pub extended_message: bool,
    /// NLRI families for which an IPv6 next hop was agreed (RFC 8950 §3).
    pub extended_next_hop: Vec<AfiSafi>,
    /// The peer is external: governs RFC 7606 checks that differ for eBGP
    /// (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded from eBGP peers).
    pub ebgp: bool,
}

/// What the encoder needs to know about the send direction of one session
/// ([`Negotiated::encode_ctx`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeCtx {
    /// Both sides advertised the 4-octet AS capability (RFC 6793 §3): AS_PATH
    /// and AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families whose NLRI carry a 4-octet path identifier as we send them (RFC 7911 §3).
    pub add_path: Vec<AfiSafi>,
    /// Both sides advertised extended messages (RFC 8654): 65535-octet limit.
    pub extended_message: bool,
    /// NLRI families for which an IPv6 next hop was agreed (RFC 8950 §3).
    pub extended_next_hop: Vec<AfiSafi>,
    /// The peer is external: governs RFC 7606 checks that differ for eBGP
    /// (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded from eBGP peers).
    pub ebgp: bool,
}

/// The methods both contexts share: the field names are the same, only the
/// direction differs.
macro_rules! codec_ctx_methods {
    ($ctx:ident) => {
        impl $ctx {
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
    };
}
codec_ctx_methods!(DecodeCtx);
codec_ctx_methods!(EncodeCtx);

impl DecodeCtx {
    /// The context the peer encodes with what we decode with this one: its
    /// send direction is our receive direction (a test's peer, a fuzz round
    /// trip).
    pub fn peer_encode_ctx(&self) -> EncodeCtx {
        EncodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path.clone(),
            extended_message: self.extended_message,
            extended_next_hop: self.extended_next_hop.clone(),
            ebgp: self.ebgp,
        }
    }
}

impl EncodeCtx {
    /// The context the peer decodes what we encode with this one: its
    /// receive direction is our send direction.
    pub fn peer_decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path.clone(),
            extended_message: self.extended_message,
            extended_next_hop: self.extended_next_hop.clone(),
            ebgp: self.ebgp,
        }
    }
}

/// What two speakers agreed in their OPENs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    /// Hold time in seconds: the smaller proposal, 0 or at least 3.
    pub hold_time: u16,
    /// Keepalive interval in seconds: a third of the hold time (0: none).
    pub keepalive: u16,
    /// Families both sides support, in the order we advertised them.
    pub families: Vec<AfiSafi>,
    /// Both advertised the 4-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// Families whose NLRI we receive with path identifiers (RFC 7911).
    pub add_path_rx: Vec<AfiSafi>,
    /// Families whose NLRI we send with path identifiers (RFC 7911).
    pub add_path_tx: Vec<AfiSafi>,
    /// Both advertised extended messages (RFC 8654).
    pub extended_message: bool,
    /// NLRI families for which both accept an IPv6 next hop (RFC 8950).
    pub extended_next_hop: Vec<AfiSafi>,
    /// Both advertised route refresh (RFC 2918; the peer may use code 128).
    pub route_refresh: bool,
    /// Both advertised enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability (RFC 4724), last instance.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// The peer's Long-Lived Graceful Restart families (RFC 9494).
    pub peer_llgr: Option<Vec<LlgrFamily>>,
    /// The peer's host and domain name (FQDN capability).
    pub peer_fqdn: Option<Fqdn>,
    /// Every capability the peer's OPEN carried, as sent (BIRD's
    /// `Neighbor caps:`; the fields above are what both sides agreed).
    #[serde(default)]
    pub peer_capabilities: Vec<Capability>,
    /// The peer's AS number (4-octet capability value if present).
    pub peer_asn: u32,
    /// The peer's BGP Identifier.
    pub peer_bgp_id: Ipv4Addr,
    /// The session is external.
    pub ebgp: bool,
}

/// The families an OPEN advertises. A speaker that sends no Multiprotocol
/// capability is a plain RFC 4271 speaker, which carries IPv4 unicast only
/// (RFC 4760 §8 applies to those that do).
fn advertised_families(open: &OpenMsg) -> Vec<AfiSafi> {
    let mp = open.multiprotocol();
    if mp.is_empty() { vec![AfiSafi::IPV4_UNICAST] } else { mp }
}

/// The ADD-PATH mode per family; a later entry for a family replaces an
/// earlier one.
fn add_path_modes(open: &OpenMsg) -> Vec<(AfiSafi, AddPathMode)> {
    let mut out: Vec<(AfiSafi, AddPathMode)> = Vec::new();
    for c in &open.capabilities {
        if let Capability::AddPath(entries) = c {
            for &(family, mode) in entries {
                out.retain(|(f, _)| *f != family);
                out.push((family, mode));
            }
        }
    }
    out
}

fn extended_next_hops(open: &OpenMsg) -> Vec<(AfiSafi, Afi)> {
    open.capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::ExtendedNextHop(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn route_refresh(open: &OpenMsg) -> bool {
    open.has_capability(CapabilityCode::ROUTE_REFRESH)
        || open.has_capability(CapabilityCode::ROUTE_REFRESH_CISCO)
}

impl Negotiated {
    /// Negotiates from the OPEN we sent (`local`) and the OPEN we received
    /// (`remote`), both already validated.
    pub fn from_opens(local: &OpenMsg, remote: &OpenMsg, ebgp: bool) -> Negotiated {
        // "a BGP speaker MUST calculate the value of the Hold Timer by using
        // the smaller of its configured Hold Time and the Hold Time received
        // in the OPEN message. The Hold Time MUST be either zero or at least
        // three seconds." (RFC 4271 §4.2) Validation refuses 1 and 2 from the
        // peer; the clamp guards a local configuration that slipped through.
        let hold_time = match local.hold_time.min(remote.hold_time) {
            1 | 2 => 3,
            h => h,
        };

        let theirs = advertised_families(remote);
        let families: Vec<AfiSafi> =
            advertised_families(local).into_iter().filter(|f| theirs.contains(f)).collect();

        // RFC 7911 §4: we may receive multiple paths for a family when we
        // said Receive (or Both) and the peer said Send (or Both); sending is
        // the mirror image.
        let (ours_ap, theirs_ap) = (add_path_modes(local), add_path_modes(remote));
        let mode_of = |modes: &[(AfiSafi, AddPathMode)], f: AfiSafi| {
            modes.iter().find(|(g, _)| *g == f).map(|(_, m)| *m)
        };
        let mut add_path_rx = Vec::new();
        let mut add_path_tx = Vec::new();
        for &f in &families {
            if let (Some(ours), Some(theirs)) = (mode_of(&ours_ap, f), mode_of(&theirs_ap, f)) {
                if ours.receives() && theirs.sends() {
                    add_path_rx.push(f);
                }
                if ours.sends() && theirs.receives() {
                    add_path_tx.push(f);
                }
            }
        }

        let their_enh = extended_next_hops(remote);
        let mut extended_next_hop = Vec::new();
        for pair in extended_next_hops(local) {
            if their_enh.contains(&pair)
                && families.contains(&pair.0)
                && !extended_next_hop.contains(&pair.0)
            {
                extended_next_hop.push(pair.0);
            }
        }

        let both = |code| local.has_capability(code) && remote.has_capability(code);
        Negotiated {
            hold_time,
            keepalive: hold_time / 3,
            four_octet_as: local.four_octet_as().is_some() && remote.four_octet_as().is_some(),
            // "A BGP speaker MAY send BGP Extended Messages to a peer only if
            // the BGP Extended Message Capability was received from that
            // peer" (RFC 8654 §4); we also require having sent it, so that
            // both directions share one limit, as FRR and BIRD do.
            extended_message: both(CapabilityCode::EXTENDED_MESSAGE),
            route_refresh: route_refresh(local) && route_refresh(remote),
            enhanced_route_refresh: both(CapabilityCode::ENHANCED_ROUTE_REFRESH),
            peer_graceful_restart: remote.graceful_restart().cloned(),
            peer_llgr: remote.llgr().map(<[LlgrFamily]>::to_vec),
            peer_fqdn: remote.capabilities.iter().rev().find_map(|c| match c {
                Capability::Fqdn(f) => Some(f.clone()),
                _ => None,
            }),
            peer_capabilities: remote.capabilities.clone(),
            peer_asn: remote.asn(),
            peer_bgp_id: remote.bgp_id,
            families,
            add_path_rx,
            add_path_tx,
            extended_next_hop,
            ebgp,
        }
    }

    /// The context for decoding what the peer sends.
    pub fn decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_rx.clone(),
            extended_message: self.extended_message,
            extended_next_hop: self.extended_next_hop.clone(),
            ebgp: self.ebgp,
        }
    }

    /// The context for encoding what we send.
    pub fn encode_ctx(&self) -> EncodeCtx {
        EncodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_tx.clone(),
            extended_message: self.extended_message,
            extended_next_hop: self.extended_next_hop.clone(),
            ebgp: self.ebgp,
        }
    }

    /// Whether the peer said it preserved forwarding state for `family` across
    /// its restart (the F bit of its Graceful Restart capability, RFC 4724 §3).
    pub fn forwarding_preserved(&self, family: AfiSafi) -> bool {
        self.peer_graceful_restart
            .as_ref()
            .is_some_and(|gr| gr.families.iter().any(|f| f.family == family && f.forwarding))
    }

    /// The peer's host name, if it sent the FQDN capability.
    pub fn peer_hostname(&self) -> Option<&str> {
        self.peer_fqdn.as_ref().map(|f| f.hostname.as_str())
    }

    /// Largest message, header included, for either direction.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::capability::GrFamily;
    use crate::wire::capability::tests::arb_capability;

    fn open(asn: u32, hold: u16, caps: Vec<Capability>) -> OpenMsg {
        OpenMsg::new(asn, hold, Ipv4Addr::new(192, 0, 2, asn as u8), caps)
    }

    fn mp(f: AfiSafi) -> Capability {
        Capability::Multiprotocol(f)
    }

    #[test]
    fn hold_time_is_the_smaller_and_keepalive_a_third() {
        let n = Negotiated::from_opens(&open(1, 90, vec![]), &open(2, 180, vec![]), true);
        assert_eq!((n.hold_time, n.keepalive), (90, 30));
        let n = Negotiated::from_opens(&open(1, 90, vec![]), &open(2, 0, vec![]), true);
        assert_eq!((n.hold_time, n.keepalive), (0, 0));
        let n = Negotiated::from_opens(&open(1, 2, vec![]), &open(2, 90, vec![]), true);
        assert_eq!(n.hold_time, 3);
    }

    #[test]
    fn families_are_the_intersection_with_ipv4_unicast_implied() {
        let local = open(1, 90, vec![mp(AfiSafi::IPV4_UNICAST), mp(AfiSafi::IPV6_UNICAST)]);
        let n = Negotiated::from_opens(&local, &open(2, 90, vec![mp(AfiSafi::IPV6_UNICAST)]), true);
        assert_eq!(n.families, vec![AfiSafi::IPV6_UNICAST]);
        let n = Negotiated::from_opens(&local, &open(2, 90, vec![]), true);
        assert_eq!(n.families, vec![AfiSafi::IPV4_UNICAST]);
    }

    #[test]
    fn add_path_is_decided_per_direction() {
        let v4 = AfiSafi::IPV4_UNICAST;
        let v6 = AfiSafi::IPV6_UNICAST;
        let local = open(
            1,
            90,
            vec![
                mp(v4),
                mp(v6),
                Capability::AddPath(vec![(v4, AddPathMode::Receive), (v6, AddPathMode::Both)]),
            ],
        );
        let remote = open(
            2,
            90,
            vec![
                mp(v4),
                mp(v6),
                Capability::AddPath(vec![(v4, AddPathMode::Both), (v6, AddPathMode::Receive)]),
            ],
        );
        let n = Negotiated::from_opens(&local, &remote, false);
        assert_eq!(n.add_path_rx, vec![v4]);
        assert_eq!(n.add_path_tx, vec![v6]);
        assert!(n.decode_ctx().add_path(v4) && !n.decode_ctx().add_path(v6));
        assert!(n.encode_ctx().add_path(v6) && !n.encode_ctx().add_path(v4));
    }

    #[test]
    fn features_need_both_sides() {
        let full = vec![
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::ExtendedNextHop(vec![(AfiSafi::IPV4_UNICAST, Afi::IPV6)]),
        ];
        let n =
            Negotiated::from_opens(&open(1, 90, full.clone()), &open(2, 90, full.clone()), true);
        assert!(n.four_octet_as && n.route_refresh && n.enhanced_route_refresh);
        assert!(n.extended_message);
        assert_eq!(n.max_message_len(), MAX_EXTENDED_MESSAGE_LEN);
        assert_eq!(n.decode_ctx().max_message_len(), MAX_EXTENDED_MESSAGE_LEN);
        assert_eq!(n.extended_next_hop, vec![AfiSafi::IPV4_UNICAST]);
        assert!(n.encode_ctx().extended_next_hop(AfiSafi::IPV4_UNICAST));

        let mut two_octet = open(2, 90, vec![]);
        two_octet.capabilities.clear();
        let n = Negotiated::from_opens(&open(1, 90, full), &two_octet, true);
        assert!(!n.four_octet_as && !n.route_refresh && !n.extended_message);
        assert!(n.extended_next_hop.is_empty());
        assert_eq!(n.max_message_len(), MAX_MESSAGE_LEN);
    }

    #[test]
    fn cisco_route_refresh_code_counts_as_route_refresh() {
        let cisco = Capability::Unknown {
            code: CapabilityCode::ROUTE_REFRESH_CISCO,
            value: bytes::Bytes::new(),
        };
        let n = Negotiated::from_opens(
            &open(1, 90, vec![Capability::RouteRefresh]),
            &open(2, 90, vec![cisco]),
            true,
        );
        assert!(n.route_refresh);
    }

    #[test]
    fn peer_graceful_restart_last_instance_wins_and_gives_forwarding_state() {
        let gr = |t, fwd| {
            Capability::GracefulRestart(GracefulRestart {
                restart_time: t,
                families: vec![GrFamily { family: AfiSafi::IPV4_UNICAST, forwarding: fwd }],
                ..GracefulRestart::default()
            })
        };
        let remote = open(2, 90, vec![gr(60, false), gr(120, true)]);
        let n = Negotiated::from_opens(&open(1, 90, vec![]), &remote, true);
        assert_eq!(n.peer_graceful_restart.as_ref().map(|g| g.restart_time), Some(120));
        assert!(n.forwarding_preserved(AfiSafi::IPV4_UNICAST));
        assert!(!n.forwarding_preserved(AfiSafi::IPV6_UNICAST));
    }

    #[test]
    fn peer_identity_and_hostname_are_kept() {
        let remote = open(
            4_200_000_000,
            90,
            vec![
                Capability::Fqdn(Fqdn { hostname: "node2".into(), domain: "cluster".into() }),
                Capability::LongLivedGracefulRestart(vec![]),
            ],
        );
        let n = Negotiated::from_opens(&open(1, 90, vec![]), &remote, true);
        assert_eq!(n.peer_asn, 4_200_000_000);
        assert_eq!(n.peer_hostname(), Some("node2"));
        assert_eq!(n.peer_llgr, Some(vec![]));
        assert!(n.decode_ctx().ebgp);
    }

    proptest! {
        #[test]
        fn negotiation_is_consistent(
            local_caps in prop::collection::vec(arb_capability(), 0..12),
            remote_caps in prop::collection::vec(arb_capability(), 0..12),
            hold_a in any::<u16>(),
            hold_b in any::<u16>(),
        ) {
            let local = open(1, hold_a, local_caps);
            let remote = open(2, hold_b, remote_caps);
            let n = Negotiated::from_opens(&local, &remote, false);
            prop_assert!(n.hold_time == 0 || n.hold_time >= 3);
            prop_assert_eq!(n.keepalive, n.hold_time / 3);
            for f in n.add_path_rx.iter().chain(&n.add_path_tx).chain(&n.extended_next_hop) {
                prop_assert!(n.families.contains(f));
            }
            // Swapping sides swaps the ADD-PATH directions and nothing else.
            let m = Negotiated::from_opens(&remote, &local, false);
            let mut a = n.add_path_rx.clone();
            let mut b = m.add_path_tx.clone();
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
            prop_assert_eq!(n.four_octet_as, m.four_octet_as);
            prop_assert_eq!(n.extended_message, m.extended_message);
            prop_assert_eq!(n.hold_time, m.hold_time);
        }
    }
}
