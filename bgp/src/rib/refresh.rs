//! Enhanced route refresh from the receiving side (RFC 7313 §4): a peer's
//! BoRR marks its routes of the family stale, what it re-advertises loses
//! the mark, and its EoRR (or our upper bound on the wait) removes what is
//! still stale: routes the peer no longer has and did not withdraw.
//!
//! ```text
//!   BoRR ─► paths of (peer, family) STALE, RefreshStale timer started
//!   UPDATEs ─► a re-advertised path loses STALE (engine: Upsert)
//!   EoRR or the timer ─► stale paths of (peer, family) removed
//! ```
//!
//! The mark is the one graceful restart uses, so a peer that is both in a
//! graceful restart and refreshing has one notion of "not refreshed yet":
//! whichever of End-of-RIB and EoRR comes first removes it.

use std::time::Duration;

use super::graceful::{GrTimer, GrTimerAction, GrTimerKind};
use super::table::STALE;
use super::types::{Output, PeerId};
use super::{Rib, family_of};
use crate::wire::AfiSafi;

impl Rib {
    /// The peer's BoRR for `family`: "it MUST mark all the routes with the
    /// given AFI and SAFI, previously received from that peer, as stale
    /// routes" (RFC 7313 §4). `bound` is how long the stale routes may wait
    /// for the EoRR (the RFC's locally configurable upper bound); a second
    /// BoRR restarts the wait. Ignored for a family not on the session, and
    /// from a peer that did not negotiate enhanced route refresh (its
    /// markers mean nothing on that session).
    pub fn begin_route_refresh(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        bound: Duration,
    ) -> Output {
        let Some(&slot) = self.slots.get(&peer) else {
            return Output::default();
        };
        let negotiated = self.peers[slot as usize]
            .as_ref()
            .is_some_and(|e| e.info.enhanced_route_refresh && e.info.families.contains(&family));
        if !negotiated {
            return Output::default();
        }
        let v6 = family == AfiSafi::IPV6_UNICAST;
        for (prefix, id) in self.table.family(v6) {
            debug_assert_eq!(family_of(prefix), family);
            for p in self.table.paths_mut(id).as_mut_slice() {
                if p.src == slot {
                    p.flags |= STALE;
                }
            }
        }
        if !self.refreshing.contains(&(peer, family)) {
            self.refreshing.push((peer, family));
        }
        let t = GrTimer { peer, family, kind: GrTimerKind::RefreshStale };
        self.out.gr_timers.push(GrTimerAction::Start(t, bound));
        self.finish()
    }

    /// The peer's EoRR for `family`: "the BGP speaker MUST immediately
    /// remove all the routes from the peer that are still marked as stale
    /// for that address family" (RFC 7313 §4). An EoRR without a BoRR
    /// before it is ignored, as the RFC allows.
    pub fn end_route_refresh(&mut self, peer: PeerId, family: AfiSafi) -> Output {
        if self.stop_refresh(peer, family) {
            if let Some(&slot) = self.slots.get(&peer) {
                self.sweep(slot, family);
            }
        }
        self.finish()
    }

    /// The RefreshStale timer of `(peer, family)` expired: the EoRR did not
    /// come within the bound, and the routes still stale go (RFC 7313 §4:
    /// "Once the upper bound is reached ... MUST remove all the stale
    /// routes").
    pub(super) fn route_refresh_expired(&mut self, peer: PeerId, family: AfiSafi) {
        let Some(i) = self.refreshing.iter().position(|r| *r == (peer, family)) else {
            return;
        };
        self.refreshing.swap_remove(i);
        if let Some(&slot) = self.slots.get(&peer) {
            self.sweep(slot, family);
        }
    }

    /// Ends a refresh of `(peer, family)` in progress (its timer stops);
    /// whether there was one.
    fn stop_refresh(&mut self, peer: PeerId, family: AfiSafi) -> bool {
        let Some(i) = self.refreshing.iter().position(|r| *r == (peer, family)) else {
            return false;
        };
        self.refreshing.swap_remove(i);
        let t = GrTimer { peer, family, kind: GrTimerKind::RefreshStale };
        self.out.gr_timers.push(GrTimerAction::Stop(t));
        true
    }

    /// The session of `peer` ended: its refreshes end with it (what is
    /// stale is then withdrawn with the rest, or kept by graceful restart).
    pub(super) fn forget_refreshes(&mut self, peer: PeerId) {
        let fams: Vec<AfiSafi> =
            self.refreshing.iter().filter(|(p, _)| *p == peer).map(|(_, f)| *f).collect();
        for f in fams {
            self.stop_refresh(peer, f);
        }
    }
}
