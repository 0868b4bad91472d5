//! One table row per decision step: two paths that differ in that one field,
//! the expected winner and the reason the loser lost. Then properties: the
//! choice does not depend on the order paths arrived in.

use proptest::prelude::*;

use super::*;

fn base() -> Candidate {
    Candidate {
        local: false,
        kernel: false,
        local_pref: 100,
        as_path_len: 2,
        origin: Origin::Igp,
        med: 0,
        neighbor_as: Some(65001),
        ebgp: false,
        igp_cost: 10,
        router_id: Ipv4Addr::new(10, 0, 0, 5),
        cluster_list_len: 0,
        peer_addr: "192.0.2.5".parse().unwrap(),
        path_id: 0,
    }
}

type Tweak = fn(&mut Candidate);

/// (step name, make the winner, make the loser, expected reason).
const STEPS: &[(&str, Tweak, Tweak, RejectReason)] = &[
    ("local", |c| c.local = true, |_| {}, RejectReason::LocalRoutePreferred),
    ("kernel", |_| {}, |c| c.kernel = true, RejectReason::KernelRouteLower),
    ("local_pref", |c| c.local_pref = 200, |_| {}, RejectReason::LocalPrefLower),
    ("as_path", |_| {}, |c| c.as_path_len = 3, RejectReason::AsPathLonger),
    ("origin", |_| {}, |c| c.origin = Origin::Incomplete, RejectReason::OriginWorse),
    ("med", |c| c.med = 5, |c| c.med = 50, RejectReason::MedHigher),
    ("ebgp", |c| c.ebgp = true, |_| {}, RejectReason::IbgpVsEbgp),
    ("igp_cost", |c| c.igp_cost = 1, |_| {}, RejectReason::IgpCostHigher),
    (
        "router_id",
        |c| c.router_id = Ipv4Addr::new(10, 0, 0, 1),
        |_| {},
        RejectReason::RouterIdHigher,
    ),
    ("cluster_list", |_| {}, |c| c.cluster_list_len = 2, RejectReason::ClusterListLonger),
    (
        "peer_addr",
        |c| c.peer_addr = "192.0.2.1".parse().unwrap(),
        |_| {},
        RejectReason::PeerAddressHigher,
    ),
    ("path_id", |c| c.path_id = 1, |c| c.path_id = 2, RejectReason::PathIdHigher),
];

#[test]
fn each_decision_step_picks_the_rfc_winner_with_its_reason() {
    for (name, win, lose, reason) in STEPS {
        let (mut w, mut l) = (base(), base());
        win(&mut w);
        lose(&mut l);
        assert_eq!(compare(&w, &l), (Ordering::Less, *reason), "step {name}");
        assert_eq!(compare(&l, &w).0, Ordering::Greater, "step {name} reversed");
        // select agrees whatever the order.
        for cands in [[w, l], [l, w]] {
            let s = select(&cands).unwrap();
            assert_eq!(cands[s.best], w, "step {name}");
            let loser = 1 - s.best;
            let multipath = *reason > RejectReason::IgpCostHigher;
            let want = if multipath { None } else { Some(*reason) };
            assert_eq!(s.verdicts[loser], want, "step {name}");
        }
    }
}

#[test]
fn earlier_step_outranks_later_ones() {
    // Higher LOCAL_PREF wins even with a longer path and worse origin.
    let mut a = base();
    a.local_pref = 200;
    a.as_path_len = 9;
    a.origin = Origin::Incomplete;
    assert_eq!(compare(&a, &base()), (Ordering::Less, RejectReason::LocalPrefLower));
}

#[test]
fn med_is_ignored_between_different_neighbour_ases() {
    let mut a = base();
    a.med = 100;
    a.router_id = Ipv4Addr::new(10, 0, 0, 1);
    let mut b = base();
    b.neighbor_as = Some(65002);
    assert_eq!(compare(&a, &b), (Ordering::Less, RejectReason::RouterIdHigher));
}

#[test]
fn missing_neighbour_as_never_compares_med() {
    let mut a = base();
    a.neighbor_as = None;
    a.med = 100;
    a.router_id = Ipv4Addr::new(10, 0, 0, 1);
    let mut b = base();
    b.neighbor_as = None;
    assert_eq!(compare(&a, &b).1, RejectReason::RouterIdHigher);
}

#[test]
fn deterministic_med_resolves_the_classic_cycle() {
    // a beats b on MED (same AS), b beats c on router id, c beats a on
    // router id: pairwise elimination would depend on arrival order.
    let mut a = base();
    a.med = 1;
    a.router_id = Ipv4Addr::new(10, 0, 0, 3);
    let mut b = base();
    b.med = 2;
    b.router_id = Ipv4Addr::new(10, 0, 0, 1);
    let mut c = base();
    c.neighbor_as = Some(65002);
    c.router_id = Ipv4Addr::new(10, 0, 0, 2);
    let orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]];
    for o in orders {
        let s = select(&o).unwrap();
        // Group 65001's winner is a (MED); a vs c without MED: c's lower id wins.
        assert_eq!(o[s.best], c);
        let bi = o.iter().position(|x| *x == b).unwrap();
        assert_eq!(s.verdicts[bi], Some(RejectReason::MedHigher), "lost inside its group");
    }
}

#[test]
fn multipath_set_is_equal_up_to_igp_cost() {
    let a = base();
    let mut b = base();
    b.router_id = Ipv4Addr::new(10, 0, 0, 9);
    b.peer_addr = "192.0.2.9".parse().unwrap();
    let mut c = base();
    c.igp_cost = 20;
    let s = select(&[a, b, c]).unwrap();
    assert_eq!(s.best, 0);
    assert!(s.is_multipath(0) && s.is_multipath(1));
    assert_eq!(s.verdicts[2], Some(RejectReason::IgpCostHigher));
}

#[test]
fn no_candidates_no_selection() {
    assert_eq!(select(&[]), None);
}

#[test]
fn ineligible_reasons_sort_after_decision_reasons() {
    assert!(RejectReason::NextHopUnreachable.is_ineligible());
    assert!(RejectReason::ClusterLoop.is_ineligible());
    assert!(!RejectReason::PathIdHigher.is_ineligible());
    assert_eq!(RejectReason::AsLoop.to_string(), "AS loop");
}

fn arb_candidate() -> impl Strategy<Value = Candidate> {
    (
        (any::<bool>(), prop_oneof![Just(100u32), Just(200)], 0usize..3, 0u8..3),
        (0u32..3, prop_oneof![Just(None), Just(Some(1u32)), Just(Some(2))], any::<bool>(), 0u32..3),
        (0u8..3, 0usize..2, 0u8..4, 0u32..3),
    )
        .prop_map(|((local, lp, len, origin), (med, nas, ebgp, cost), (rid, cl, addr, id))| {
            Candidate {
                local,
                kernel: false,
                local_pref: lp,
                as_path_len: len,
                origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(origin)],
                med,
                neighbor_as: nas,
                ebgp,
                igp_cost: cost,
                router_id: Ipv4Addr::new(10, 0, 0, rid),
                cluster_list_len: cl,
                peer_addr: IpAddr::from([192, 0, 2, addr]),
                path_id: id,
            }
        })
}

proptest! {
    #[test]
    fn best_path_does_not_depend_on_arrival_order(
        cands in proptest::collection::vec(arb_candidate(), 1..8),
        seed in any::<u64>(),
    ) {
        // Paths are unique per (peer, path id) in a RIB.
        let mut cands = cands;
        cands.sort_by_key(|c| (c.peer_addr, c.path_id));
        cands.dedup_by_key(|c| (c.peer_addr, c.path_id));
        let s = select(&cands).unwrap();
        let mut shuffled = cands.clone();
        // A cheap deterministic shuffle from the seed.
        let n = shuffled.len();
        let mut x = seed;
        for i in (1..n).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        let t = select(&shuffled).unwrap();
        prop_assert_eq!(cands[s.best], shuffled[t.best]);
        for (i, c) in cands.iter().enumerate() {
            let j = shuffled.iter().position(|d| d == c).unwrap();
            prop_assert_eq!(s.verdicts[i], t.verdicts[j]);
        }
    }

    #[test]
    fn comparison_is_antisymmetric(a in arb_candidate(), b in arb_candidate()) {
        prop_assert_eq!(compare(&a, &b).0, compare(&b, &a).0.reverse());
    }

    #[test]
    fn comparison_is_transitive_within_one_neighbour_as(
        a in arb_candidate(), b in arb_candidate(), c in arb_candidate(),
    ) {
        let (mut a, mut b, mut c) = (a, b, c);
        a.neighbor_as = Some(1); b.neighbor_as = Some(1); c.neighbor_as = Some(1);
        if compare(&a, &b).0.is_le() && compare(&b, &c).0.is_le() {
            prop_assert!(compare(&a, &c).0.is_le());
        }
    }
}
