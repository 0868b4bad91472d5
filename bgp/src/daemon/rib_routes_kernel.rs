//! Routes other agents put in the kernel table, on their way from the FIB's
//! learning (`fib.learn`, BIRD's `learn`) into the RIB: each is judged with
//! confd's `calico_export_to_bgp_peers()` ([`crate::rib::kernel_export`])
//! under the configuration in force, and judged again after a reload.
//!
//! ```text
//!  FIB: Felix adds 10.244.2.7/32 dev cali1234 metric 1024 ─► kernel_routes
//!     ─► verdict (pools, own blocks, service ranges, who programs IPIP)
//!     ─► Rib::learn_kernel ─► peers (a borrowed address of another node's block)
//!  FIB: Felix deletes it ─► kernel_routes(None) ─► withdrawn
//! ```

use ctl::proto::RouteSource;
use ipnet::IpNet;

use super::RibRoutes;
use crate::config::{ProgramClusterRoutes, ValidatedConfig};
use crate::daemon::routes::{KernelRouteChange, LearnedKernelRoute, Outbound};
use crate::rib::{KernelExportRules, KernelRoute, kernel_export};

/// A route learned from the kernel, as the RIB was last given it.
#[derive(Debug)]
pub(super) struct Learned {
    route: LearnedKernelRoute,
    given: KernelRoute,
    /// Unix time it was learned (BIRD's `show route` time).
    since: u64,
}

/// Whether this daemon programs IPIP pools under `programClusterRoutes`
/// (confd's `policy.ipip`): otherwise Felix does, and its `tunl0` routes are
/// kept off iBGP.
pub(super) fn programs_ipip(cfg: &ValidatedConfig) -> bool {
    matches!(
        cfg.config().fib.program_cluster_routes,
        ProgramClusterRoutes::Enabled | ProgramClusterRoutes::EnabledIpipOnly
    )
}

impl RibRoutes {
    /// The RIB's view of a learned route under the configuration in force.
    fn kernel_route(&self, prefix: IpNet, r: &LearnedKernelRoute) -> KernelRoute {
        let rules = KernelExportRules {
            pools: &self.pools,
            blocks: &self.blocks,
            services: &self.services,
            programs_ipip: self.programs_ipip,
        };
        // confd's apply_communities() runs for every exported route.
        let local = self.local_route(prefix, false);
        KernelRoute {
            metric: r.metric,
            export: kernel_export(prefix, r.device.as_deref(), r.metric, &rules),
            communities: local.communities,
            large_communities: local.large_communities,
        }
    }

    /// Learned routes changed: the RIB takes them, peers get what Calico sends.
    pub(super) fn learn(&mut self, changes: Vec<KernelRouteChange>) -> Vec<Outbound> {
        let mut out = Vec::new();
        for c in changes {
            let prefix = c.prefix.trunc();
            let o = match c.route {
                Some(route) => {
                    let given = self.kernel_route(prefix, &route);
                    let since = ctl::server::unix_now();
                    self.learned.insert(prefix, Learned { route, given: given.clone(), since });
                    self.rib.learn_kernel(prefix, Some(given))
                }
                None if self.learned.remove(&prefix).is_some() => {
                    self.rib.learn_kernel(prefix, None)
                }
                None => continue,
            };
            out.extend(self.carry_out(o));
        }
        out
    }

    /// After a reload: every learned route judged again; the RIB hears of
    /// those whose verdict or communities changed, or of all of them when
    /// it is a new RIB (`fresh`).
    pub(super) fn rejudge_learned(&mut self, fresh: bool) -> Vec<Outbound> {
        let changed: Vec<(IpNet, KernelRoute)> = self
            .learned
            .iter()
            .map(|(p, l)| (*p, self.kernel_route(*p, &l.route)))
            .filter(|(p, k)| fresh || self.learned.get(p).is_some_and(|l| l.given != *k))
            .collect();
        let mut out = Vec::new();
        for (prefix, given) in changed {
            if let Some(l) = self.learned.get_mut(&prefix) {
                l.given = given.clone();
            }
            let o = self.rib.learn_kernel(prefix, Some(given));
            out.extend(self.carry_out(o));
        }
        out
    }

    /// `show routes`' source and time of the learned route of `prefix`.
    pub(super) fn learned_source(&self, prefix: IpNet) -> (RouteSource, u64) {
        let l = self.learned.get(&prefix);
        let device = l.and_then(|l| l.route.device.clone()).unwrap_or_default();
        (RouteSource::Kernel { device }, l.map_or(0, |l| l.since))
    }
}
