//! The node context the decisions read (addresses, underlay routes, tunnel devices) and
//! what a change to it re-decides: every prefix after a pool, switch or tunnel change; only
//! those with a next hop inside a changed subnet after an address or underlay change
//! (`NodeContext::change_to`).

use ipnet::IpNet;

use super::{Fib, FibEvent, Redo};
use crate::netlink::NetlinkError;
use crate::netlink::tunnel::{self, TunnelStatus, VxlanSpec};
use crate::policy::{
    ContextChange, EncapMode, IpPool, NodeContext, TunnelDevs, excluded_interface, static_underlay,
};
use crate::route::IfIndex;

impl Fib {
    /// Whether a state change of link `index` can change the context or our routes.
    pub(super) fn link_matters(&self, index: IfIndex, name: &str) -> bool {
        let t = &self.ctx.tunnels;
        name == tunnel::TUNL0
            || name == tunnel::VXLAN_V4
            || name == tunnel::VXLAN_V6
            || [t.tunl0, t.vxlan_v4, t.vxlan_v6].contains(&Some(index))
            || self.ctx.addrs.iter().any(|a| a.dev == index)
            || self.ctx.underlay.iter().any(|u| u.dev == index)
            || self.dev_refs.contains_key(&index)
    }

    /// Whether interface `dev` is one whose addresses Calico leaves out.
    pub(super) fn excluded(&self, dev: IfIndex) -> bool {
        self.names.get(&dev).is_some_and(|n| excluded_interface(n))
    }

    pub(super) async fn context_event(&mut self, ensure_tunnels: bool) {
        let change = match self.refresh_context(ensure_tunnels).await {
            Ok(c) => c,
            Err(e) => return self.note_error(format!("reading node context: {e}")),
        };
        let prefixes = match &change {
            ContextChange::None => return,
            ContextChange::All => self.redecide_all().await,
            ContextChange::Reach(_) => {
                // A connected subnet or underlay route came or went: only routes with a
                // next hop inside it can change (a docker bridge's address touches none).
                let mut affected: Vec<IpNet> = self
                    .state
                    .best_next_hops()
                    .filter(|(_, hops)| change.affects(hops))
                    .map(|(p, _)| p)
                    .collect();
                affected.sort_unstable();
                let n = affected.len();
                self.apply_prefixes(affected.into_iter().map(|p| (p, Redo::Held))).await;
                n
            }
        };
        tracing::debug!("fib: node context changed ({change:?}); {prefixes} prefix(es) re-decided");
        let _ = self.events.send(FibEvent::ContextChanged { prefixes });
    }

    /// Decides every prefix again; returns how many.
    pub(super) async fn redecide_all(&mut self) -> usize {
        // Prefixes with a best route or a wanted one (adopted routes nothing has
        // spoken about yet stay protected as stale).
        let mut prefixes: Vec<IpNet> = self.state.decided().collect();
        prefixes.sort_unstable();
        let n = prefixes.len();
        self.apply_prefixes(prefixes.into_iter().map(|p| (p, Redo::Held))).await;
        n
    }

    /// Rereads addresses, underlay routes and tunnels; says what changed.
    pub(super) async fn refresh_context(
        &mut self,
        ensure: bool,
    ) -> Result<ContextChange, NetlinkError> {
        // The names first: the addresses of Calico's excluded interfaces are left out.
        let links = self.kernel.dump_links().await?;
        self.names = links.iter().map(|l| (l.index, l.name.clone())).collect();
        let mut addrs = self.kernel.dump_addrs().await?;
        addrs.retain(|a| !self.excluded(a.dev));
        let mut underlay = self.kernel.dump_underlay().await?;
        underlay.extend(static_underlay(&self.cfg.static_routes, &addrs));
        let mut ctx = NodeContext {
            subnets: self.cfg.node_addrs.iter().map(IpNet::trunc).collect(),
            addrs,
            underlay,
            pools: self.cfg.pools.clone(),
            service_ranges: self.cfg.service_ranges.clone(),
            program: self.cfg.program,
            manage_vxlan: self.cfg.manage_vxlan,
            tunnels: TunnelDevs::default(),
            table: self.cfg.table,
        };
        ctx.tunnels = self.tunnels_for(&ctx, links, ensure).await;
        let change = self.ctx.change_to(&ctx);
        self.ctx = ctx;
        if change != ContextChange::None {
            self.recheck_next_hops();
        }
        Ok(change)
    }

    /// Looks up the tunnel devices the pools need; with `ensure` (start, pool change) or
    /// when one is missing, creates or fixes the ones this daemon manages
    /// (`manage_tunl0`, `manage_vxlan`). Link events only look up: fixing a device raises
    /// a link event of its own, which must not loop. Devices Felix owns are only looked
    /// up, never created, changed or deleted.
    pub(super) async fn tunnels_for(
        &mut self,
        ctx: &NodeContext,
        links: Vec<crate::netlink::Link>,
        ensure: bool,
    ) -> TunnelDevs {
        let used = |f: fn(&IpPool) -> bool| {
            ctx.pools.iter().any(|p| f(p) && ctx.program.admits(p, ctx.manage_vxlan))
        };
        let need_ipip = used(|p| p.ipip_mode != EncapMode::Never && matches!(p.cidr, IpNet::V4(_)));
        let need_vxlan = used(|p| p.vxlan_mode != EncapMode::Never);
        let mut devs = TunnelDevs::default();
        let mut statuses = Vec::new();
        self.links = links.iter().map(|l| (l.index, (l.up, l.mtu))).collect();
        let mtu_of = |dev| links.iter().find(|l| l.index == dev).map(|l| l.mtu).unwrap_or(1500);
        if need_ipip {
            let existing = links.iter().find(|l| l.name == tunnel::TUNL0);
            let st = if let (false, Some(l)) = (ensure, existing) {
                TunnelStatus::Ready { index: l.index, mtu: l.mtu }
            } else if self.cfg.manage_tunl0 {
                let uplink_mtu = ctx
                    .addrs
                    .iter()
                    .find(|a| matches!(a.net, IpNet::V4(_)))
                    .map(|a| mtu_of(a.dev))
                    .unwrap_or(1500);
                tunnel::ensure_ipip(&self.kernel, uplink_mtu).await
            } else {
                match existing {
                    Some(l) => TunnelStatus::Ready { index: l.index, mtu: l.mtu },
                    None => TunnelStatus::Failed {
                        device: tunnel::TUNL0.into(),
                        reason: "absent (Felix creates it; fib.manage_tunl0 = true on a node \
                                 without Felix); IPIP routes go in unencapsulated until it exists"
                            .into(),
                    },
                }
            };
            // Once per change, not at every address or link event.
            match &st {
                TunnelStatus::Unsupported { reason, .. } | TunnelStatus::Failed { reason, .. }
                    if !self.tunnels.contains(&st) =>
                {
                    tracing::warn!("fib: tunl0 unavailable: {reason}");
                }
                _ => {}
            }
            devs.tunl0 = st.index();
            statuses.push(st);
        }
        if need_vxlan {
            for ip in self.cfg.node_addrs.iter().map(IpNet::addr).collect::<Vec<_>>() {
                let Some(reach) = ctx.reach(ip) else { continue };
                let spec = VxlanSpec::calico(ip, reach.dev, mtu_of(reach.dev));
                let existing = links.iter().find(|l| l.name == spec.name);
                let st = if let (false, Some(l)) = (ensure, existing) {
                    TunnelStatus::Ready { index: l.index, mtu: l.mtu }
                } else {
                    tunnel::ensure_vxlan(&self.kernel, &spec).await
                };
                if ip.is_ipv4() {
                    devs.vxlan_v4 = st.index();
                } else {
                    devs.vxlan_v6 = st.index();
                }
                statuses.push(st);
            }
        }
        self.tunnels = statuses;
        devs
    }
}
