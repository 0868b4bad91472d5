//! Connection collision detection and resolution (RFC 4271 §6.8, RFC 6286
//! §2.3), as a pure function.
//!
//! ```text
//!   us (id A) ---- outbound: we dialed ---->  peer (id B)
//!   us (id A) <--- inbound: the peer dialed -- peer (id B)
//!
//!   OPEN arrives on one while the other is in OpenConfirm:
//!     keep the connection dialed by the higher BGP Identifier
//!     (equal identifiers, RFC 6286 §2.3: by the larger AS)
//!   ... while the other is Established: close the new one
//! ```

use std::net::Ipv4Addr;

use super::action::Direction;
use super::state::State;

/// Which connection collision resolution closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collision {
    /// No collision (yet): the existing connection is not in OpenConfirm or
    /// Established.
    None,
    /// Close the existing connection; the new one continues.
    CloseExisting,
    /// Close the connection the OPEN just arrived on.
    CloseNew,
}

/// One speaker's identity for collision resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Speaker {
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// AS number.
    pub asn: u32,
}

/// Decides a collision when an OPEN from `remote` arrives on the connection
/// `new` while `existing` is in `existing_state`.
///
/// "Upon receipt of an OPEN message, the local system MUST examine all of its
/// connections that are in the OpenConfirm state." A connection in OpenSent
/// is not examined: we would need the peer's BGP Identifier "by means outside
/// of the protocol"; it will be, once its own OPEN arrives.
pub fn resolve_collision(
    local: Speaker,
    remote: Speaker,
    existing: Direction,
    existing_state: State,
    new: Direction,
) -> Collision {
    match existing_state {
        // "Unless allowed via configuration, a connection collision with an
        // existing BGP connection that is in the Established state causes
        // closing of the newly created connection."
        State::Established => Collision::CloseNew,
        State::OpenConfirm if existing != new => {
            // "Comparing BGP Identifiers is done by converting them to host
            // byte order and treating them as 4-octet unsigned integers."
            let (l, r) = (u32::from(local.bgp_id), u32::from(remote.bgp_id));
            // "If the value of the local BGP Identifier is less than the
            // remote one, the local system closes the BGP connection that
            // already exists ..., and accepts the BGP connection initiated by
            // the remote system." So the connection dialed by the higher
            // identifier survives; RFC 6286 §2.3: "If the BGP Identifiers of
            // the peers involved in the connection collision are identical,
            // then the connection initiated by the BGP speaker with the
            // larger AS number is preserved."
            let keep = if l != r {
                if l > r { Direction::Outbound } else { Direction::Inbound }
            } else if local.asn != remote.asn {
                if local.asn > remote.asn { Direction::Outbound } else { Direction::Inbound }
            } else {
                // Same identifier and AS: check_bgp_id refuses this OPEN
                // anyway; keep what we have.
                existing
            };
            if keep == existing { Collision::CloseNew } else { Collision::CloseExisting }
        }
        State::OpenConfirm | State::Idle | State::Connect | State::Active | State::OpenSent => {
            Collision::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(id: [u8; 4], asn: u32) -> Speaker {
        Speaker { bgp_id: Ipv4Addr::from(id), asn }
    }

    #[test]
    fn collision_keeps_connection_of_higher_bgp_id() {
        let low = sp([10, 0, 0, 1], 65000);
        let high = sp([10, 0, 0, 2], 65000);
        // We are higher: our outbound connection survives, whichever is new.
        assert_eq!(
            resolve_collision(
                high,
                low,
                Direction::Inbound,
                State::OpenConfirm,
                Direction::Outbound
            ),
            Collision::CloseExisting
        );
        assert_eq!(
            resolve_collision(
                high,
                low,
                Direction::Outbound,
                State::OpenConfirm,
                Direction::Inbound
            ),
            Collision::CloseNew
        );
        // We are lower: the peer's (inbound) connection survives.
        assert_eq!(
            resolve_collision(
                low,
                high,
                Direction::Outbound,
                State::OpenConfirm,
                Direction::Inbound
            ),
            Collision::CloseExisting
        );
        assert_eq!(
            resolve_collision(
                low,
                high,
                Direction::Inbound,
                State::OpenConfirm,
                Direction::Outbound
            ),
            Collision::CloseNew
        );
    }

    #[test]
    fn identifiers_compare_as_unsigned_integers() {
        // 128.0.0.1 > 10.0.0.1 as u32 (a signed compare would say otherwise).
        let high = sp([128, 0, 0, 1], 1);
        let low = sp([10, 0, 0, 1], 1);
        assert_eq!(
            resolve_collision(
                high,
                low,
                Direction::Outbound,
                State::OpenConfirm,
                Direction::Inbound
            ),
            Collision::CloseNew
        );
    }

    #[test]
    fn equal_identifiers_keep_connection_of_larger_as() {
        let us = sp([10, 0, 0, 1], 65001);
        let peer = sp([10, 0, 0, 1], 65002);
        assert_eq!(
            resolve_collision(
                us,
                peer,
                Direction::Outbound,
                State::OpenConfirm,
                Direction::Inbound
            ),
            Collision::CloseExisting
        );
    }

    #[test]
    fn established_connection_always_wins() {
        let low = sp([10, 0, 0, 1], 65000);
        let high = sp([10, 0, 0, 2], 65000);
        for (l, r) in [(low, high), (high, low)] {
            assert_eq!(
                resolve_collision(
                    l,
                    r,
                    Direction::Outbound,
                    State::Established,
                    Direction::Inbound
                ),
                Collision::CloseNew
            );
        }
    }

    #[test]
    fn connection_in_open_sent_is_not_examined() {
        let low = sp([10, 0, 0, 1], 65000);
        let high = sp([10, 0, 0, 2], 65000);
        for s in [State::Idle, State::Connect, State::Active, State::OpenSent] {
            assert_eq!(
                resolve_collision(low, high, Direction::Outbound, s, Direction::Inbound),
                Collision::None
            );
        }
    }
}
