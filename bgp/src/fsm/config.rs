//! What the FSM needs to know about one peer, and the OPEN checks that depend
//! on it: RFC 4271 §6.2 (Bad Peer AS), RFC 6286 §2.2 (Bad BGP Identifier) and
//! RFC 5492 §3 (Unsupported Capability).
//!
//! The reconnect knobs are the ones Calico sets on BIRD: `connect delay time`
//! (wait before the first dial, listening meanwhile), `connect retry time`
//! (between dials) and `error wait time min,max` (how long to stay Idle after
//! an error, doubling on each repeated error), with BIRD's `error forget
//! time` deciding when errors count as repeated.

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::BytesMut;

use crate::wire::iana::{AfiSafi, OpenSubcode};
use crate::wire::{Capability, DecodeError, Negotiated, NotificationMsg, OpenMsg};

/// Configuration of one peer's FSM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Our AS number.
    pub local_as: u32,
    /// The AS the peer must announce (Bad Peer AS otherwise).
    pub peer_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we propose, in seconds: 0, or at least 3 (1 and 2 are sent
    /// as 3, since "An implementation MUST reject Hold Time values of one or
    /// two seconds", RFC 4271 §6.2).
    pub hold_time: u16,
    /// Keepalive interval we want, in seconds (BIRD `keepalive time`,
    /// Calico `keepaliveTime`); `None`: a third of the negotiated hold time.
    /// Never more than that third, whatever is configured: "a reasonable
    /// maximum time between KEEPALIVE messages would be one third of the
    /// Hold Time interval" (RFC 4271 §4.4), and a longer interval would let
    /// the peer's hold timer expire between two keepalives.
    pub keepalive_time: Option<u16>,
    /// SendHoldTime in seconds (RFC 9687; 0: off); `None`: the default of
    /// [`super::send_hold::send_hold_time`].
    pub send_hold_time: Option<u16>,
    /// The "large value" the HoldTimer gets in OpenSent: "A HoldTimer value of
    /// 4 minutes is suggested" (RFC 4271 §8.2.2).
    pub open_hold_time: Duration,
    /// Capabilities we advertise. The 4-octet AS capability is added if
    /// missing (RFC 6793 §3).
    pub capabilities: Vec<Capability>,
    /// Capabilities the peer must also advertise, or get OPEN Message Error /
    /// Unsupported Capability. A Multiprotocol entry requires that family;
    /// any other entry requires a capability of the same code.
    pub required_capabilities: Vec<Capability>,
    /// Never dial; only accept the peer's connection (BIRD `passive on`,
    /// Calico's rule for the mesh peer with the greater IP).
    pub passive: bool,
    /// DelayOpen (RFC 4271 §8.1.1): after TCP comes up, wait this long for the
    /// peer's OPEN before sending ours.
    pub delay_open: Option<Duration>,
    /// Wait before the first dial after a start (BIRD `connect delay time`);
    /// zero dials at once.
    pub connect_delay: Duration,
    /// Interval between dials, and how long a dial may take (BIRD `connect
    /// retry time`, RFC 4271 ConnectRetryTime).
    pub connect_retry: Duration,
    /// Error wait after the first error (BIRD `error wait time` minimum).
    pub error_wait_min: Duration,
    /// Ceiling of the doubling error wait (BIRD `error wait time` maximum).
    pub error_wait_max: Duration,
    /// An error this long after the previous one starts the error wait again
    /// from the minimum (BIRD `error forget time`): a session that stayed up
    /// that long was not flapping.
    pub error_forget: Duration,
}

impl PeerConfig {
    /// A peer with Calico's defaults: hold time 240 s, connect delay 2 s,
    /// connect retry 5 s, error wait 5 s doubling to 30 s, forgotten after
    /// 300 s; advertising IPv4 unicast, route refresh, enhanced route refresh
    /// and 4-octet AS.
    pub fn new(local_as: u32, peer_as: u32, router_id: Ipv4Addr) -> Self {
        PeerConfig {
            local_as,
            peer_as,
            router_id,
            hold_time: 240,
            keepalive_time: None,
            send_hold_time: None,
            open_hold_time: Duration::from_secs(240),
            capabilities: vec![
                Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::EnhancedRouteRefresh,
                Capability::FourOctetAs(local_as),
            ],
            required_capabilities: Vec::new(),
            passive: false,
            delay_open: None,
            connect_delay: Duration::from_secs(2),
            connect_retry: Duration::from_secs(5),
            error_wait_min: Duration::from_secs(5),
            error_wait_max: Duration::from_secs(30),
            error_forget: Duration::from_secs(300),
        }
    }

    /// Whether we are a restarting speaker: the Graceful Restart capability
    /// we advertise has the R bit (RFC 4724 §3).
    pub fn restarting(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::GracefulRestart(g) if g.restart_flag))
    }

    /// Whether the peer is internal (same AS).
    pub fn internal(&self) -> bool {
        self.local_as == self.peer_as
    }

    /// The OPEN we send.
    pub fn local_open(&self) -> OpenMsg {
        let hold = match self.hold_time {
            1 | 2 => 3,
            h => h,
        };
        OpenMsg::new(self.local_as, hold, self.router_id, self.capabilities.clone())
    }

    /// Checks a received OPEN against RFC 4271 §6.2 and this configuration,
    /// and negotiates the session from it and `local` (the OPEN we sent).
    pub fn check_open(&self, local: &OpenMsg, open: &OpenMsg) -> Result<Negotiated, DecodeError> {
        open.validate()?;
        open.check_peer_as(self.peer_as)?;
        open.check_bgp_id(self.router_id, self.internal())?;
        self.check_required(open)?;
        let mut n = Negotiated::from_opens(local, open, !self.internal());
        n.keepalive = self.keepalive_for(n.hold_time);
        Ok(n)
    }

    /// The keepalive interval for a negotiated hold time: the configured
    /// one, capped at a third of the hold time; 0 (none) when the hold time
    /// is 0 ("If the value of the Hold Time field is zero, then periodic
    /// KEEPALIVE messages MUST NOT be sent", RFC 4271 §4.4).
    pub fn keepalive_for(&self, hold_time: u16) -> u16 {
        let third = hold_time / 3;
        match self.keepalive_time {
            // A hold time of 3 still gets a 1 s keepalive; 0 configured is
            // refused by validation but treated as unset here.
            Some(k) if k > 0 => k.min(third),
            _ => third,
        }
    }

    /// "If a BGP speaker that supports a certain capability determines that
    /// its peer doesn't support this capability, the speaker MAY send a
    /// NOTIFICATION message to the peer and terminate peering ... The Data
    /// field of the NOTIFICATION message MUST list the set of capabilities
    /// that cause the speaker to send the message. Each such capability is
    /// encoded in the same way as it would be encoded in the OPEN message."
    /// (RFC 5492 §3)
    fn check_required(&self, open: &OpenMsg) -> Result<(), DecodeError> {
        // A speaker without Multiprotocol capabilities carries IPv4 unicast
        // only (RFC 4760 §8 does not apply to it), as in negotiation.
        let mut families = open.multiprotocol();
        if families.is_empty() {
            families.push(AfiSafi::IPV4_UNICAST);
        }
        let missing: Vec<&Capability> = self
            .required_capabilities
            .iter()
            .filter(|req| match req {
                Capability::Multiprotocol(f) => !families.contains(f),
                other => !open.has_capability(other.code()),
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut data = BytesMut::new();
        let mut names = Vec::with_capacity(missing.len());
        for cap in &missing {
            // A capability too long to encode cannot be listed; the code and
            // subcode still tell the peer what is wrong.
            let _ = cap.encode(&mut data);
            names.push(cap.to_string());
        }
        Err(DecodeError::new(
            NotificationMsg::open(OpenSubcode::UNSUPPORTED_CAPABILITY, data.freeze()),
            format!("peer lacks required capability: {}", names.join(", ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::iana::ErrorCode;

    fn cfg() -> PeerConfig {
        PeerConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1))
    }

    fn peer_open(caps: Vec<Capability>) -> OpenMsg {
        OpenMsg::new(65002, 90, Ipv4Addr::new(10, 0, 0, 2), caps)
    }

    #[test]
    fn missing_required_family_is_unsupported_capability_with_the_capability_as_data() {
        let mut c = cfg();
        c.required_capabilities = vec![Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)];
        let err = c
            .check_open(
                &c.local_open(),
                &peer_open(vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)]),
            )
            .unwrap_err();
        assert_eq!(err.notification.code, ErrorCode::OPEN_MESSAGE);
        assert_eq!(err.notification.subcode, OpenSubcode::UNSUPPORTED_CAPABILITY.0);
        // code 1, length 4, AFI 2, reserved, SAFI 1
        assert_eq!(hex::encode(&err.notification.data), "010400020001");
    }

    #[test]
    fn required_ipv4_unicast_is_implied_without_multiprotocol() {
        let mut c = cfg();
        c.required_capabilities = vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)];
        assert!(c.check_open(&c.local_open(), &peer_open(Vec::new())).is_ok());
    }

    #[test]
    fn missing_four_octet_as_lists_our_capability() {
        let mut c = cfg();
        c.required_capabilities = vec![Capability::FourOctetAs(65001)];
        let mut open = peer_open(Vec::new());
        open.capabilities.clear();
        let err = c.check_open(&c.local_open(), &open).unwrap_err();
        assert_eq!(hex::encode(&err.notification.data), "41040000fde9");
    }

    #[test]
    fn wrong_peer_as_is_bad_peer_as() {
        let c = cfg();
        let open = OpenMsg::new(65003, 90, Ipv4Addr::new(10, 0, 0, 2), Vec::new());
        let err = c.check_open(&c.local_open(), &open).unwrap_err();
        assert_eq!(err.notification.subcode, OpenSubcode::BAD_PEER_AS.0);
    }

    #[test]
    fn ibgp_peer_with_our_identifier_is_bad_bgp_identifier() {
        let c = PeerConfig::new(65001, 65001, Ipv4Addr::new(10, 0, 0, 1));
        let open = OpenMsg::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1), Vec::new());
        let err = c.check_open(&c.local_open(), &open).unwrap_err();
        assert_eq!(err.notification.subcode, OpenSubcode::BAD_BGP_IDENTIFIER.0);
    }

    #[test]
    fn configured_keepalive_is_used_but_never_above_a_third_of_the_negotiated_hold_time() {
        let mut c = cfg();
        c.keepalive_time = Some(10);
        // Peer proposes 90: a third is 30, so the configured 10 stands.
        let n = c.check_open(&c.local_open(), &peer_open(Vec::new())).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (90, 10));
        // Peer proposes 9: capped at 3.
        let open = OpenMsg::new(65002, 9, Ipv4Addr::new(10, 0, 0, 2), Vec::new());
        let n = c.check_open(&c.local_open(), &open).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (9, 3));
        // Hold time 0: no keepalives at all.
        let open = OpenMsg::new(65002, 0, Ipv4Addr::new(10, 0, 0, 2), Vec::new());
        assert_eq!(c.check_open(&c.local_open(), &open).unwrap().keepalive, 0);
        // Unset: a third of what was negotiated.
        c.keepalive_time = None;
        assert_eq!(c.keepalive_for(90), 30);
        assert_eq!(c.keepalive_for(3), 1);
    }

    #[test]
    fn local_hold_time_of_two_is_sent_as_three() {
        let mut c = cfg();
        c.hold_time = 2;
        assert_eq!(c.local_open().hold_time, 3);
    }
}
