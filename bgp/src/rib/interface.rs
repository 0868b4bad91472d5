//! The interface a route leaves by, as Calico's BIRD filters see it
//! (`ifname`, BGPFilter `interface`).
//!
//! BIRD resolves a BGP next hop recursively (`gateway recursive`) and gives
//! the route the interface of what it resolves through: the connected
//! subnet's device, or the underlay route's. Here the kernel side reports
//! that device with the next hop's reachability
//! ([`super::Rib::nexthop_reachability`]); each attribute set carries the
//! interface of its next hop as an [`IfaceId`], so the routes stay small and
//! everything cached per set (import verdicts, export plans and results)
//! still depends on the set alone. When a next hop's interface changes, the
//! paths through it are judged again from what their peers sent, as a
//! filter change judges them, and the export groups see the difference.
//!
//! ```text
//!   FIB: next hop 10.0.0.254 reachable on eth0 ─► NhState { iface: Some(#1) }
//!   UPDATE via 10.0.0.254 ─► StoredAttrs { next_hop, iface: Some(#1), .. }
//!   filters: ifname = names[#1] = "eth0"   (no next hop, or unreachable: "")
//! ```

use std::num::NonZeroU32;

use super::hash::FxHashMap;

/// An interned interface name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct IfaceId(NonZeroU32);

/// Interface names by id. Names are kept for the RIB's life: a node has a
/// handful of devices that carry BGP next hops.
#[derive(Debug, Default)]
pub(super) struct Interfaces {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, IfaceId>,
}

impl Interfaces {
    /// The id of `name`, interning it on first sight.
    pub(super) fn id(&mut self, name: &str) -> IfaceId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        self.names.push(name.into());
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let id = IfaceId(NonZeroU32::MIN.saturating_add(n - 1));
        self.ids.insert(name.into(), id);
        id
    }

    /// The name behind `id`.
    pub(super) fn name(&self, id: IfaceId) -> &str {
        self.names.get(id.0.get() as usize - 1).map_or("", |n| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_interned_once_and_read_back() {
        let mut i = Interfaces::default();
        let eth = i.id("eth0");
        let ens = i.id("ens3");
        assert_ne!(eth, ens);
        assert_eq!(i.id("eth0"), eth);
        assert_eq!((i.name(eth), i.name(ens)), ("eth0", "ens3"));
    }
}
