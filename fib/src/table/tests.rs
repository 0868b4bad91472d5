use std::net::IpAddr;

use super::*;
use crate::route::MAIN_TABLE;

use crate::route::via as r;

fn held(t: &PrefixTable, prefix: &IpNet) -> Vec<Route> {
    let mut v = Vec::new();
    t.held_into(prefix, &mut v);
    v
}

fn best(prefix: IpNet, nh: &str) -> BestRoute {
    BestRoute {
        prefix,
        next_hops: vec![nh.parse::<IpAddr>().unwrap()],
        local_block: false,
        priority: 0,
    }
}

#[test]
fn the_kernel_model_keeps_one_route_per_prefix_and_metric() {
    let mut t = PrefixTable::new(MAIN_TABLE);
    let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
    let a2 = r("10.244.1.0/26", "10.0.0.8", 2, 0);
    let b = r("10.244.1.0/26", "10.0.0.7", 2, 10);
    t.hold(&a);
    t.hold(&a2);
    assert_eq!(held(&t, &a.prefix), vec![a2.clone()]);
    t.hold(&b);
    assert_eq!(t.held_routes(), 2);
    assert_eq!(held(&t, &a.prefix), vec![a2.clone(), b.clone()]);
    t.forget(&a.prefix, 0);
    assert_eq!(held(&t, &a.prefix), vec![b.clone()]);
    t.forget(&a.prefix, 10);
    assert!(!t.is_held(&a.prefix) && t.held_routes() == 0);
    t.forget(&a.prefix, 10);
    assert_eq!(t.held_routes(), 0);
    assert!(t.prefixes().next().is_none(), "an empty prefix keeps no slot");
}

#[test]
fn a_table_through_one_next_hop_interns_one_route_of_each_kind() {
    let mut t = PrefixTable::new(MAIN_TABLE);
    for i in 0..1000u32 {
        let p = IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap());
        t.set_best(&p, Some(best(p, "192.168.10.2")));
        let want = Route { prefix: p, ..r("10.0.0.0/24", "192.168.10.2", 3, 0) };
        assert_eq!(t.set_want(&p, Some(&want)), None);
        t.hold(&want);
    }
    assert_eq!((t.bests(), t.wants(), t.held_routes()), (1000, 1000, 1000));
    assert_eq!(t.interned(), (1, 1, 1));
    let p: IpNet = "10.0.5.0/24".parse().unwrap();
    assert_eq!(t.best(&p), Some(best(p, "192.168.10.2")));
    assert_eq!(t.want(&p).map(|w| w.prefix), Some(p));
    assert_eq!(t.wanted_routes().len(), 1000);
    assert_eq!(t.all_held().len(), 1000);
}

#[test]
fn an_interned_route_goes_with_its_last_prefix() {
    let mut t = PrefixTable::new(MAIN_TABLE);
    let (p, q): (IpNet, IpNet) = ("10.0.1.0/24".parse().unwrap(), "fd00::/64".parse().unwrap());
    t.set_best(&p, Some(best(p, "192.168.10.2")));
    t.set_best(&q, Some(best(q, "192.168.10.3")));
    assert_eq!(t.interned().0, 2);
    t.set_best(&p, Some(best(p, "192.168.10.3")));
    assert_eq!(t.interned().0, 1, "both share the second next hop now");
    t.set_best(&p, None);
    t.set_best(&q, None);
    assert_eq!((t.bests(), t.interned().0), (0, 0));
    // A freed handle is taken again by the next new value.
    t.set_best(&p, Some(best(p, "192.168.10.9")));
    assert_eq!(t.best(&p), Some(best(p, "192.168.10.9")));
    assert_eq!(t.best(&q), None);
}

#[test]
fn the_wanted_route_replaced_is_returned_and_counts_follow() {
    let mut t = PrefixTable::new(MAIN_TABLE);
    let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
    let b = r("10.244.1.0/26", "10.0.0.8", 2, 0);
    assert_eq!(t.set_want(&a.prefix, Some(&a)), None);
    assert_eq!(t.set_want(&a.prefix, Some(&b)), Some(a.clone()));
    assert!(t.is_wanted(&a.prefix) && t.wants() == 1);
    assert_eq!(t.set_want(&a.prefix, None), Some(b));
    assert_eq!(t.wants(), 0);
}

#[test]
fn forgetting_every_held_route_keeps_the_wanted_ones() {
    let mut t = PrefixTable::new(MAIN_TABLE);
    let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
    let c = r("10.244.2.0/26", "10.0.0.7", 2, 0);
    t.set_want(&a.prefix, Some(&a));
    t.hold(&a);
    t.hold(&c);
    t.forget_all_held();
    assert_eq!(t.held_routes(), 0);
    assert!(!t.is_held(&a.prefix) && t.is_wanted(&a.prefix));
    assert_eq!(t.prefixes().collect::<Vec<_>>(), vec![a.prefix]);
}
