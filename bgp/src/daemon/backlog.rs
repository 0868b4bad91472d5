//! Outbound UPDATEs to the sessions, bounded per peer: a peer that reads
//! slowly, or stops reading, costs at most its backlog limit in memory and
//! never slows the owner or the other peers.
//!
//! ```text
//!   RibRoutes --Outbound--> dispatch --send_updates--> session (backlog < limit)
//!                                  |
//!                                  +-- over the limit: dropped, peer marked behind
//!   tick: behind and backlog 0 --> RFC 7313 refresh: BoRR, whole table, EoRR
//!                                  (no enhanced route refresh: session restarted)
//! ```
//!
//! The RIB keeps no Adj-RIB-Out per peer (one is computed per export
//! group), so the owner cannot tell which changes a peer missed. Once a
//! behind peer has written everything it was handed, it gets the whole
//! table again between a BoRR and an EoRR: "the receiving speaker MUST
//! ... remove all the routes ... that are still marked as stale" at the
//! EoRR (RFC 7313 §4), which takes care of the withdrawals it missed. A
//! peer without enhanced route refresh could keep a route we withdrew, so
//! its session is restarted instead (Cease / Out of Resources, RFC 4486)
//! and it starts again from a fresh table. A peer that never drains is
//! closed by the Send Hold Timer (RFC 9687) in its session.
//!
//! The other peers are untouched: each message is encoded once per export
//! group and its octets shared, so skipping one peer costs the others
//! nothing, and nothing here waits.

use tracing::{info, warn};

use super::Owner;
use crate::daemon::Outbound;
use crate::session::SessionCmd;
use crate::wire::NotificationMsg;
use crate::wire::iana::CeaseSubcode;
use crate::wire::route_refresh::{RouteRefreshMsg, RouteRefreshSubtype};

impl Owner {
    /// Hands each peer's messages to its Established session, unless its
    /// backlog is over the limit.
    pub(super) fn dispatch(&mut self, out: Vec<Outbound>) {
        for o in out {
            if o.messages.is_empty() {
                continue;
            }
            let Some(slot) = self.peers.get_mut(&o.peer) else { continue };
            let Some(epoch) = slot.established_epoch else { continue };
            if slot.behind || slot.handle.send_updates(epoch, o.messages) {
                continue;
            }
            slot.behind = true;
            warn!(
                peer = %o.peer.address,
                "peer {} ({}): not reading fast enough, {} octets queued: holding back \
                 UPDATEs until it catches up",
                o.peer,
                slot.cfg.bird_protocol_name(),
                slot.handle.backlog()
            );
        }
    }

    /// Sends the table again to each behind peer whose backlog is empty.
    pub(super) fn resync_drained(&mut self) {
        let drained: Vec<_> = self
            .peers
            .iter()
            .filter(|(_, s)| s.behind && s.established_epoch.is_some() && s.handle.backlog() == 0)
            .map(|(k, _)| *k)
            .collect();
        for key in drained {
            let Some(slot) = self.peers.get_mut(&key) else { continue };
            slot.behind = false;
            let name = slot.cfg.bird_protocol_name();
            let Some((up, _)) = slot.session.as_ref() else { continue };
            if !up.negotiated.enhanced_route_refresh {
                warn!(
                    peer = %key.address,
                    "peer {key} ({name}): caught up, but without enhanced route refresh the \
                     withdrawals it missed cannot be replayed: restarting the session"
                );
                let wait =
                    std::time::Duration::from_secs(u64::from(slot.cfg.timers.error_wait_min));
                slot.handle.send(SessionCmd::Stop {
                    notification: NotificationMsg::cease(
                        CeaseSubcode::OUT_OF_RESOURCES,
                        bytes::Bytes::new(),
                    ),
                    restart_after: Some(wait),
                });
                continue;
            }
            info!(
                peer = %key.address,
                "peer {key} ({name}): caught up: sending the table again between BoRR and EoRR"
            );
            let families = up.negotiated.families.clone();
            for family in families {
                let request = RouteRefreshMsg { family, subtype: RouteRefreshSubtype::Normal };
                let out = self.routes.route_refresh(key, request);
                self.dispatch(out);
            }
        }
    }
}
