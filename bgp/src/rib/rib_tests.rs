//! Internal checks of the RIB that the public API cannot see.

use super::*;
use crate::wire::UpdateMsg;

#[test]
fn unknown_peer_update_is_ignored() {
    let mut rib = Rib::new(RibConfig::new(64512, Ipv4Addr::new(10, 0, 0, 1)));
    let upd = crate::wire::update::ParsedUpdate {
        update: UpdateMsg::default(),
        treatment: crate::wire::Treatment::Normal,
        errors: Vec::new(),
        ignored_families: Vec::new(),
        attrs_seen: Default::default(),
    };
    assert!(rib.update(PeerId(9), &upd).is_empty());
    assert!(rib.peer_down(PeerId(9)).is_empty());
    assert!(rib.route_refresh(PeerId(9), AfiSafi::IPV4_UNICAST).is_empty());
}

#[test]
fn origination_interns_one_set_for_many_prefixes() {
    let mut rib = Rib::new(RibConfig::new(64512, Ipv4Addr::new(10, 0, 0, 1)));
    for i in 0..100u32 {
        let p = IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap());
        rib.originate(p, LocalRoute::default());
    }
    assert_eq!((rib.len(), rib.attr_sets()), (100, 1));
    for i in 0..100u32 {
        let p = IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap());
        rib.withdraw_local(p);
    }
    assert_eq!((rib.len(), rib.attr_sets()), (0, 0), "refcounts released every set");
}
