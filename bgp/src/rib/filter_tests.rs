//! Rule fields one by one, then the `bgpfilter/*` cases of Calico's confd
//! test corpus: each case's `BGPFilter` resources written as `[[filters]]`
//! and judged against what the BIRD filter confd renders for them does.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::wire::attr::{AsPath, Community, LargeCommunity};

#[derive(serde::Deserialize)]
struct File {
    filters: Vec<BgpFilter>,
}

/// The filters of a `[[filters]]` TOML snippet, in order.
fn peer_filters(toml_text: &str) -> PeerFilters {
    let f: File = match toml::from_str(toml_text) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    PeerFilters::new(f.filters.iter().map(|f| Arc::new(Filter::compile(f))).collect())
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn std_comm(a: u16, b: u16) -> Community {
    Community((u32::from(a) << 16) | u32::from(b))
}

fn path(asns: &[u32]) -> Option<AsPath> {
    let mut p = AsPath::default();
    for &a in asns.iter().rev() {
        p.prepend(a);
    }
    Some(p)
}

/// A route judged with the given facts.
struct R {
    prefix: IpNet,
    attrs: PathAttrs,
    learned: bool,
    interface: Option<&'static str>,
    same_as: bool,
    local_pref: Option<u32>,
}

fn learned(prefix: &str) -> R {
    R {
        prefix: net(prefix),
        attrs: PathAttrs::default(),
        learned: true,
        interface: None,
        same_as: true,
        local_pref: None,
    }
}

fn local(prefix: &str) -> R {
    R { learned: false, ..learned(prefix) }
}

impl R {
    fn facts(&self) -> RouteFacts<'_> {
        RouteFacts {
            prefix: self.prefix,
            attrs: &self.attrs,
            learned: self.learned,
            interface: self.interface,
            same_as: self.same_as,
            local_pref: self.local_pref,
        }
    }
    fn via(mut self, i: &'static str) -> R {
        self.interface = Some(i);
        self
    }
    fn ebgp(mut self) -> R {
        self.same_as = false;
        self
    }
    fn comm(mut self, a: u16, b: u16) -> R {
        self.attrs.communities.push(std_comm(a, b));
        self
    }
    fn large(mut self, g: u32, l1: u32, l2: u32) -> R {
        self.attrs.large_communities.push(LargeCommunity {
            global_admin: g,
            local_data1: l1,
            local_data2: l2,
        });
        self
    }
    fn path(mut self, asns: &[u32]) -> R {
        self.attrs.as_path = path(asns);
        self
    }
    fn priority(mut self, p: u32) -> R {
        self.local_pref = Some(local_pref_from_priority(p));
        self
    }
}

fn at(filter: u16, rule: u16) -> RuleRef {
    RuleRef { filter, rule }
}

fn accept(filter: u16, rule: u16) -> Verdict {
    Verdict::Accept(at(filter, rule))
}

fn reject(filter: u16, rule: u16) -> Verdict {
    Verdict::Reject(at(filter, rule))
}

use Direction::{Export, Import};

/// One rule list of one filter, `Accept` when the fields match.
fn single(list: &str, fields: &str) -> PeerFilters {
    peer_filters(&format!(
        "[[filters]]\nname = \"f\"\n[[filters.{list}]]\naction = \"Accept\"\n{fields}\n"
    ))
}

#[test]
fn cidr_operators_follow_birds_net_comparisons() {
    let cases = [
        ("In", "10.1.0.0/16", true),
        ("In", "10.0.0.0/8", true),
        ("In", "10.0.0.0/7", false),
        ("In", "11.0.0.0/16", false),
        ("NotIn", "10.1.0.0/16", false),
        ("NotIn", "11.0.0.0/16", true),
        ("Equal", "10.0.0.0/8", true),
        ("Equal", "10.1.0.0/16", false),
        ("NotEqual", "10.0.0.0/8", false),
        ("NotEqual", "10.1.0.0/16", true),
    ];
    for (op, prefix, hit) in cases {
        let f = single("export_v4", &format!("cidr = \"10.0.0.0/8\"\nmatch_operator = \"{op}\""));
        let v = f.evaluate(Export, &local(prefix).facts());
        assert_eq!(v == accept(0, 0), hit, "{op} {prefix}");
    }
}

#[test]
fn prefix_length_bounds_in_and_not_in() {
    let f = single(
        "export_v4",
        "cidr = \"10.0.0.0/8\"\nmatch_operator = \"In\"\nprefix_length = { min = 16, max = 24 }",
    );
    for (prefix, hit) in [
        ("10.0.0.0/8", false),
        ("10.1.0.0/16", true),
        ("10.1.1.0/24", true),
        ("10.1.1.0/26", false),
    ] {
        assert_eq!(f.evaluate(Export, &local(prefix).facts()) == accept(0, 0), hit, "{prefix}");
    }
    let f = single(
        "export_v4",
        "cidr = \"10.0.0.0/8\"\nmatch_operator = \"NotIn\"\nprefix_length = { max = 16 }",
    );
    assert_eq!(f.evaluate(Export, &local("10.1.1.0/24").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("10.1.0.0/16").facts()), Verdict::NoMatch);
}

#[test]
fn source_remote_peers_matches_only_learned_routes() {
    let f = single("export_v4", "source = \"RemotePeers\"");
    assert_eq!(f.evaluate(Export, &learned("10.0.0.0/24").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").facts()), Verdict::NoMatch);
}

#[test]
fn interface_globs_match_as_birds_ifname_does() {
    for (glob, ifname, hit) in [
        ("eth*", "eth0", true),
        ("eth*", "eth", true),
        ("eth*", "veth0", false),
        ("*.calico", "vxlan.calico", true),
        ("*.calico", "vxlan.calicoX", false),
        ("*eth*", "veth0", true),
        ("e*h*0", "eth0", true),
        ("e*h*0", "eth01", false),
        ("*", "x", true),
        ("eth0", "eth0", true),
        ("eth0", "eth00", false),
        ("eth0", "Eth0", false),
        ("bond0.100", "bond0.100", true),
    ] {
        let f = single("export_v4", &format!("interface = \"{glob}\""));
        let hit_now =
            f.evaluate(Export, &learned("10.0.0.0/24").via(ifname).facts()) == accept(0, 0);
        assert_eq!(hit_now, hit, "{glob} ~ {ifname}");
    }
}

#[test]
fn a_route_without_an_interface_is_birds_empty_ifname() {
    // `defined(ifname)` is always true in BIRD 1.6; a blackhole's (and an
    // unresolved next hop's) `ifname` is "", which only `*` matches.
    for (glob, hit) in [("*", true), ("**", true), ("eth*", false), ("*.calico", false)] {
        let f = single("export_v4", &format!("interface = \"{glob}\""));
        let v = f.evaluate(Export, &local("10.244.0.0/26").facts());
        assert_eq!(v == accept(0, 0), hit, "{glob} ~ \"\"");
        assert_eq!(f.evaluate(Import, &learned("10.9.0.0/24").facts()), Verdict::NoMatch);
    }
}

#[test]
fn interface_is_judged_with_the_other_fields() {
    let f = single(
        "import_v4",
        "interface = \"ens*\"\ncidr = \"10.9.0.0/16\"\nmatch_operator = \"In\"",
    );
    let r = |p: &str, i: &'static str| f.evaluate(Import, &learned(p).via(i).facts());
    assert_eq!(r("10.9.1.0/24", "ens3"), accept(0, 0));
    assert_eq!(r("10.8.1.0/24", "ens3"), Verdict::NoMatch, "prefix outside");
    assert_eq!(r("10.9.1.0/24", "eth0"), Verdict::NoMatch, "other interface");
    // The plan narrowed per attribute set keeps the interface's outcome.
    let facts = learned("10.9.0.0/16").via("eth0");
    assert_eq!(f.prepare(Import, &facts.facts()).evaluate(net("10.9.1.0/24")), Verdict::NoMatch);
    let facts = learned("10.9.0.0/16").via("ens3");
    assert_eq!(f.prepare(Import, &facts.facts()).evaluate(net("10.9.1.0/24")), accept(0, 0));
}

#[test]
fn peer_type_guards_on_the_session_kind() {
    let e = single("import_v4", "peer_type = \"eBGP\"");
    let i = single("import_v4", "peer_type = \"iBGP\"");
    let r = learned("10.0.0.0/24");
    assert_eq!(e.evaluate(Import, &r.facts()), Verdict::NoMatch);
    assert_eq!(i.evaluate(Import, &r.facts()), accept(0, 0));
    let r = r.ebgp();
    assert_eq!(e.evaluate(Import, &r.facts()), accept(0, 0));
    assert_eq!(i.evaluate(Import, &r.facts()), Verdict::NoMatch);
}

#[test]
fn communities_standard_and_large_must_all_be_present() {
    let f = single("import_v4", "communities = { values = [\"65000:1\", \"1:2:3\"] }");
    let r = learned("10.0.0.0/24").comm(65000, 1);
    assert_eq!(f.evaluate(Import, &r.facts()), Verdict::NoMatch);
    let r = r.large(1, 2, 3);
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 0));
}

#[test]
fn as_path_prefix_compares_the_leftmost_asns() {
    let f = single("import_v4", "as_path_prefix = [65000, 65001]");
    for (p, hit) in [
        (&[65000, 65001][..], true),
        (&[65000, 65001, 7][..], true),
        (&[65000][..], false),
        (&[65001, 65000][..], false),
        (&[][..], false),
    ] {
        let r = learned("10.0.0.0/24").path(p);
        assert_eq!(f.evaluate(Import, &r.facts()) == accept(0, 0), hit, "{p:?}");
    }
}

#[test]
fn priority_matches_the_local_pref_it_maps_to() {
    let f = single("export_v4", "priority = 100");
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").priority(100).facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").priority(200).facts()), Verdict::NoMatch);
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").facts()), Verdict::NoMatch);
}

#[test]
fn a_rule_without_match_fields_matches_everything_and_rules_of_the_other_family_never() {
    let f = single("export_v6", "");
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").facts()), Verdict::NoMatch);
    assert_eq!(f.evaluate(Export, &local("fd00::/64").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Import, &local("fd00::/64").facts()), Verdict::NoMatch);
}

#[test]
fn operations_add_communities_prepend_in_order_and_set_priority() {
    let f = single(
        "export_v4",
        r#"operations = [
            { add_community = { value = "65001:200" } },
            { add_community = { value = "65001:300:400" } },
            { prepend_as_path = { prefix = [65000, 65001] } },
            { set_priority = { value = 256 } },
        ]"#,
    );
    let rule = f.rule(Export, false, at(0, 0)).unwrap();
    let mut a = PathAttrs { as_path: path(&[7]), ..PathAttrs::default() };
    apply_operations(rule.operations(), &mut a);
    assert_eq!(a.communities, vec![std_comm(65001, 200)]);
    assert_eq!(a.large_communities.len(), 1);
    assert_eq!(a.as_path.unwrap().asns().collect::<Vec<_>>(), vec![65000, 65001, 7]);
    assert_eq!(a.local_pref, Some(2_147_483_391));
    assert_eq!(f.describe(Export, false, at(0, 0)), "filter f export_v4[0]");
}

// ---- the corpus: bgpfilter/* ------------------------------------------------

/// bgpfilter/communities_and_operations: `(65000, 100) ~ bgp_community`
/// then `bgp_local_pref = 2147483391`; export adds (65001, 200) and
/// prepends 65000; a trailing bare `reject`.
#[test]
fn corpus_communities_and_operations() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-communities-ops"
        [[filters.import_v4]]
        action = "Accept"
        communities = { values = ["65000:100"] }
        operations = [{ set_priority = { value = 256 } }]
        [[filters.import_v4]]
        action = "Reject"
        [[filters.export_v4]]
        action = "Accept"
        communities = { values = ["65000:42"] }
        operations = [{ add_community = { value = "65001:200" } }, { prepend_as_path = { prefix = [65000] } }]
        [[filters.export_v4]]
        action = "Reject"
        "#,
    );
    let r = learned("10.9.0.0/24").comm(65000, 100);
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 0));
    let mut a = r.attrs.clone();
    apply_operations(f.rule(Import, false, at(0, 0)).unwrap().operations(), &mut a);
    assert_eq!(a.local_pref, Some(2_147_483_391));
    assert_eq!(f.evaluate(Import, &learned("10.9.0.0/24").facts()), reject(0, 1));
    let r = local("10.244.0.0/26").comm(65000, 42).path(&[]);
    assert_eq!(f.evaluate(Export, &r.facts()), accept(0, 0));
    let mut a = r.attrs.clone();
    apply_operations(f.rule(Export, false, at(0, 0)).unwrap().operations(), &mut a);
    assert!(a.communities.contains(&std_comm(65001, 200)));
    assert_eq!(a.as_path.unwrap().asns().collect::<Vec<_>>(), vec![65000]);
    assert_eq!(f.evaluate(Export, &local("10.244.0.0/26").facts()), reject(0, 1));
}

/// bgpfilter/as_path_and_priority: `bgp_path ~ [= 65000 * =]` comes first,
/// so a path 65000 65001 takes priority 100, never 200; export matches
/// `bgp_local_pref = 2147483547` and prepends 65001 then 65000.
#[test]
fn corpus_as_path_and_priority() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-aspath-prio"
        [[filters.import_v4]]
        action = "Accept"
        as_path_prefix = [65000]
        operations = [{ set_priority = { value = 100 } }]
        [[filters.import_v4]]
        action = "Accept"
        as_path_prefix = [65000, 65001]
        operations = [{ set_priority = { value = 200 } }]
        [[filters.import_v4]]
        action = "Accept"
        [[filters.export_v4]]
        action = "Accept"
        priority = 100
        operations = [{ add_community = { value = "65000:100" } }]
        [[filters.export_v4]]
        action = "Accept"
        priority = 200
        operations = [{ prepend_as_path = { prefix = [65000, 65001] } }]
        [[filters.export_v4]]
        action = "Reject"
        "#,
    );
    let r = learned("10.9.0.0/24").path(&[65000, 65001]);
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 0));
    assert_eq!(f.evaluate(Import, &learned("10.9.0.0/24").path(&[1]).facts()), accept(0, 2));
    let r = learned("10.9.0.0/24").path(&[7]).priority(200);
    assert_eq!(f.evaluate(Export, &r.facts()), accept(0, 1));
    let mut a = r.attrs.clone();
    apply_operations(f.rule(Export, false, at(0, 1)).unwrap().operations(), &mut a);
    assert_eq!(a.as_path.unwrap().asns().collect::<Vec<_>>(), vec![65000, 65001, 7]);
    assert_eq!(f.evaluate(Export, &local("10.244.0.0/26").priority(1024).facts()), reject(0, 2));
}

/// bgpfilter/peer_type: rendered with `(bool is_same_as)` and called with
/// `true` on the iBGP sessions of the case.
#[test]
fn corpus_peer_type() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-peertype"
        [[filters.export_v4]]
        action = "Accept"
        peer_type = "eBGP"
        match_operator = "In"
        cidr = "10.0.0.0/8"
        [[filters.export_v4]]
        action = "Reject"
        peer_type = "iBGP"
        match_operator = "In"
        cidr = "172.16.0.0/12"
        [[filters.export_v4]]
        action = "Reject"
        [[filters.import_v4]]
        action = "Accept"
        peer_type = "iBGP"
        communities = { values = ["65000:100"] }
        operations = [{ set_priority = { value = 100 } }]
        [[filters.import_v4]]
        action = "Accept"
        "#,
    );
    assert_eq!(f.evaluate(Export, &local("10.1.0.0/26").facts()), reject(0, 2));
    assert_eq!(f.evaluate(Export, &local("10.1.0.0/26").ebgp().facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("172.16.1.0/26").facts()), reject(0, 1));
    assert_eq!(f.evaluate(Import, &learned("1.0.0.0/24").comm(65000, 100).facts()), accept(0, 0));
    let r = learned("1.0.0.0/24").comm(65000, 100).ebgp();
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 1));
}

/// bgpfilter/large_community: `(65000, 100, 200) ~ bgp_large_community`,
/// import adds (65001, 300, 400).
#[test]
fn corpus_large_community() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-large-comm"
        [[filters.import_v6]]
        action = "Accept"
        communities = { values = ["65000:100:200"] }
        operations = [{ add_community = { value = "65001:300:400" } }]
        [[filters.import_v6]]
        action = "Reject"
        "#,
    );
    let r = learned("fd00:1::/64").large(65000, 100, 200);
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 0));
    let mut a = r.attrs.clone();
    apply_operations(f.rule(Import, true, at(0, 0)).unwrap().operations(), &mut a);
    assert_eq!(a.large_communities.len(), 2);
    assert_eq!(f.evaluate(Import, &learned("fd00:1::/64").facts()), reject(0, 1));
}

/// bgpfilter/kubevirt_live_migration: export rules guarded by
/// `!is_same_as` match elevated priorities only towards eBGP peers.
#[test]
fn corpus_kubevirt_live_migration() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "kubevirt-lm"
        [[filters.export_v4]]
        action = "Accept"
        peer_type = "eBGP"
        priority = 100
        operations = [{ add_community = { value = "65000:100" } }]
        [[filters.export_v4]]
        action = "Accept"
        peer_type = "eBGP"
        priority = 200
        operations = [{ add_community = { value = "65000:200" } }, { prepend_as_path = { prefix = [65000] } }]
        [[filters.export_v4]]
        action = "Reject"
        [[filters.import_v4]]
        action = "Accept"
        communities = { values = ["65000:100"] }
        operations = [{ set_priority = { value = 100 } }]
        [[filters.import_v4]]
        action = "Accept"
        as_path_prefix = [65000]
        operations = [{ set_priority = { value = 200 } }]
        [[filters.import_v4]]
        action = "Accept"
        "#,
    );
    let vm = local("10.244.1.7/32").priority(100).ebgp();
    assert_eq!(f.evaluate(Export, &vm.facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("10.244.1.7/32").priority(100).facts()), reject(0, 2));
    let moved = local("10.244.1.7/32").priority(200).ebgp();
    assert_eq!(f.evaluate(Export, &moved.facts()), accept(0, 1));
    let r = learned("10.244.1.7/32").path(&[65000]).ebgp();
    assert_eq!(f.evaluate(Import, &r.facts()), accept(0, 1));
}

/// bgpfilter/match_interface, bgpfilter/single_filter/global_peer:
/// `net !~ 77.0.0.0/16 && ifname ~ "eth0"`; `net != 9000:1::0/64`.
#[test]
fn corpus_match_interface() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-match-interface"
        [[filters.export_v4]]
        action = "Accept"
        interface = "eth0"
        match_operator = "NotIn"
        cidr = "77.0.0.0/16"
        [[filters.export_v4]]
        action = "Reject"
        source = "RemotePeers"
        match_operator = "In"
        cidr = "77.1.0.0/16"
        [[filters.export_v4]]
        action = "Accept"
        source = "RemotePeers"
        [[filters.export_v4]]
        action = "Reject"
        [[filters.export_v6]]
        action = "Accept"
        match_operator = "In"
        cidr = "9000::0/64"
        [[filters.export_v6]]
        action = "Reject"
        interface = "eth*"
        source = "RemotePeers"
        match_operator = "NotEqual"
        cidr = "9000:1::0/64"
        [[filters.export_v6]]
        action = "Accept"
        source = "RemotePeers"
        [[filters.export_v6]]
        action = "Reject"
        "#,
    );
    assert_eq!(f.evaluate(Export, &local("10.0.0.0/24").via("eth0").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("77.0.1.0/24").via("eth0").facts()), reject(0, 3));
    assert_eq!(f.evaluate(Export, &learned("77.1.1.0/24").facts()), reject(0, 1));
    assert_eq!(f.evaluate(Export, &learned("78.0.0.0/24").facts()), accept(0, 2));
    assert_eq!(f.evaluate(Export, &learned("9000::/64").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &learned("9000:1::/64").via("eth1").facts()), accept(0, 2));
    assert_eq!(f.evaluate(Export, &learned("9000:2::/64").via("eth1").facts()), reject(0, 1));
}

/// bgpfilter/multi_filter/explicit_peer: two filters called in order; the
/// first one's trailing `reject` ends the filter before the second is called.
#[test]
fn corpus_multi_filter_order() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-1"
        [[filters.import_v4]]
        action = "Accept"
        match_operator = "In"
        cidr = "44.0.0.0/16"
        [[filters.import_v4]]
        action = "Reject"
        source = "RemotePeers"
        match_operator = "In"
        cidr = "44.1.0.0/16"
        [[filters.import_v4]]
        action = "Accept"
        source = "RemotePeers"
        [[filters.import_v4]]
        action = "Reject"
        [[filters]]
        name = "test-filter-2"
        [[filters.import_v4]]
        action = "Accept"
        match_operator = "In"
        cidr = "44.2.0.0/16"
        "#,
    );
    assert_eq!(f.evaluate(Import, &learned("44.0.1.0/24").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Import, &learned("44.1.1.0/24").facts()), reject(0, 1));
    // Every learned route is accepted by the first filter's third rule:
    // the second filter's rule is never reached on import.
    assert_eq!(f.evaluate(Import, &learned("44.2.1.0/24").facts()), accept(0, 2));
    assert_eq!(f.describe(Import, false, at(1, 0)), "filter test-filter-2 import_v4[0]");
}

/// bgpfilter/export_only/global_peer, bgpfilter/import_only/global_peer:
/// the last rule has match fields, so a route none matches falls through
/// (on export, to `calico_export_to_bgp_peers`).
#[test]
fn corpus_export_only_falls_through_without_a_bare_last_rule() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "export-only-filter"
        [[filters.export_v4]]
        action = "Accept"
        match_operator = "In"
        cidr = "44.0.0.0/16"
        [[filters.export_v4]]
        action = "Reject"
        source = "RemotePeers"
        match_operator = "In"
        cidr = "44.1.0.0/16"
        [[filters.export_v4]]
        action = "Accept"
        source = "RemotePeers"
        [[filters.export_v4]]
        action = "Reject"
        interface = "*.calico"
        "#,
    );
    assert_eq!(f.evaluate(Export, &local("10.244.0.0/26").facts()), Verdict::NoMatch);
    assert_eq!(f.evaluate(Export, &local("10.244.0.0/26").via("a.calico").facts()), reject(0, 3));
    assert_eq!(f.evaluate(Import, &learned("10.244.0.0/26").facts()), Verdict::NoMatch);
}

/// bgpfilter/match_source: only `source ~ [ RTS_BGP ]`.
#[test]
fn corpus_match_source() {
    let f = peer_filters(
        r#"
        [[filters]]
        name = "test-filter-match-source"
        [[filters.export_v4]]
        action = "Accept"
        source = "RemotePeers"
        [[filters.export_v4]]
        action = "Reject"
        "#,
    );
    assert_eq!(f.evaluate(Export, &learned("10.0.0.0/24").facts()), accept(0, 0));
    assert_eq!(f.evaluate(Export, &local("10.244.0.0/26").facts()), reject(0, 1));
}

// ---- properties -------------------------------------------------------------

fn arb_rule() -> impl Strategy<Value = FilterRule> {
    let op = prop::sample::select(vec!["Equal", "NotEqual", "In", "NotIn", "Bogus"]);
    let cidr =
        (any::<u32>(), 0u8..=33).prop_map(|(a, l)| format!("{}/{l}", std::net::Ipv4Addr::from(a)));
    (
        prop::option::of((cidr, op)),
        prop::option::of((prop::option::of(0u8..40), prop::option::of(0u8..40))),
        prop::option::of(prop::sample::select(vec!["RemotePeers", "x"])),
        prop::option::of(prop::sample::select(vec!["eth*", "*", "?", "a?*b", ""])),
        prop::option::of(prop::sample::select(vec!["eBGP", "iBGP"])),
        prop::collection::vec(0u32..4, 0..3),
        prop::option::of(0u32..3),
        prop::sample::select(vec!["Accept", "Reject"]),
    )
        .prop_map(|(net, pl, source, interface, peer_type, asp, priority, action)| {
            FilterRule {
                cidr: net.as_ref().map(|n| n.0.clone()),
                match_operator: net.map(|n| n.1.to_owned()),
                prefix_length: pl.map(|(min, max)| crate::config::PrefixLength { min, max }),
                source: source.map(str::to_owned),
                interface: interface.map(str::to_owned),
                peer_type: peer_type.map(str::to_owned),
                communities: None,
                as_path_prefix: asp,
                priority,
                action: action.to_owned(),
                operations: Vec::new(),
            }
        })
}

proptest! {
    #[test]
    fn compiled_prefix_match_agrees_with_ipnet(
        c in any::<u32>(), cl in 0u8..=32, p in any::<u32>(), pl in 0u8..=32,
        v6 in any::<bool>(), min in 0u8..=32, max in 0u8..=32,
    ) {
        let mk = |a: u32, l: u8| -> IpNet {
            if v6 {
                IpNet::new(std::net::Ipv6Addr::from(u128::from(a) << 96).into(), l * 4).unwrap()
            } else {
                IpNet::new(std::net::Ipv4Addr::from(a).into(), l).unwrap()
            }
        };
        let (cidr, pfx) = (mk(c, cl).trunc(), mk(p, pl).trunc());
        let scale = if v6 { 4 } else { 1 };
        let (min, max) = (min * scale, max * scale);
        for op in [MatchOperator::Equal, MatchOperator::NotEqual, MatchOperator::In, MatchOperator::NotIn] {
            let within = cidr.contains(&pfx) && (min..=max).contains(&pfx.prefix_len());
            let want = match op {
                MatchOperator::Equal => pfx == cidr,
                MatchOperator::NotEqual => pfx != cidr,
                MatchOperator::In => within,
                MatchOperator::NotIn => !within,
            };
            prop_assert_eq!(NetMatch::new(cidr, op, min, max).matches(pfx), want, "{:?} {} {}", op, cidr, pfx);
        }
        // Another family never matches In, always NotIn.
        let other = if v6 { net("10.0.0.0/8") } else { net("fd00::/8") };
        prop_assert!(!NetMatch::new(cidr, MatchOperator::In, 0, 128).matches(other));
    }

    /// Rules whose prefixes lie close together (so the prepared plan's
    /// envelope is narrow) judge routes inside and around them as the
    /// rules one by one do.
    #[test]
    fn prepared_plans_agree_with_the_rules_for_nearby_prefixes(
        rules in prop::collection::vec(
            (
                prop::option::of((0u8..8, 20u8..=26, prop::sample::select(vec!["Equal", "NotEqual", "In", "NotIn"]))),
                prop::option::of((prop::option::of(16u8..=32), prop::option::of(16u8..=32))),
                any::<bool>(),
            ),
            0..8,
        ),
        routes in prop::collection::vec((0u8..16, any::<u8>(), 8u8..=32), 1..16),
    ) {
        // Each rule's own prefix and one more specific are judged too.
        let own: Vec<IpNet> = rules
            .iter()
            .filter_map(|r| r.0)
            .flat_map(|(third, len, _)| {
                let n = net(&format!("10.0.{third}.0/{len}")).trunc();
                [n, IpNet::new(n.addr(), len + 2).unwrap()]
            })
            .collect();
        let rules = rules.into_iter().map(|(net, pl, accept)| FilterRule {
            cidr: net.map(|(third, len, _)| format!("10.0.{third}.0/{len}")),
            match_operator: net.map(|(_, _, op)| op.to_owned()),
            prefix_length: net.and(pl).map(|(min, max)| crate::config::PrefixLength { min, max }),
            action: if accept { "Accept" } else { "Reject" }.to_owned(),
            ..FilterRule::default()
        });
        let bf = BgpFilter { name: "p".into(), import_v4: rules.collect(), ..BgpFilter::default() };
        let f = PeerFilters::new(vec![Arc::new(Filter::compile(&bf))]);
        let attrs = PathAttrs::default();
        let any = learned("0.0.0.0/0");
        let plan = f.prepare(Import, &any.facts());
        let far = [net("1.2.3.0/24"), net("0.0.0.0/0"), net("10.0.0.0/8"), net("255.255.255.255/32")];
        let near = routes.into_iter().map(|(third, last, len)| {
            IpNet::new(std::net::Ipv4Addr::new(10, 0, third, last).into(), len).unwrap().trunc()
        });
        for prefix in near.chain(far).chain(own) {
            let facts = RouteFacts {
                prefix, attrs: &attrs, learned: true, interface: None, same_as: true, local_pref: None,
            };
            prop_assert_eq!(plan.evaluate(prefix), f.evaluate(Import, &facts), "{}", prefix);
        }
    }

    #[test]
    fn evaluation_never_panics_and_is_deterministic(
        rules in prop::collection::vec(arb_rule(), 0..20),
        addr in any::<u32>(),
        len in 0u8..=32,
        asns in prop::collection::vec(0u32..4, 0..4),
        is_learned in any::<bool>(),
        same_as in any::<bool>(),
        ifname in prop::option::of(prop::sample::select(vec!["eth0", "a.calico", ""])),
    ) {
        let bf = BgpFilter { name: "p".into(), export_v4: rules, ..BgpFilter::default() };
        let f = PeerFilters::new(vec![Arc::new(Filter::compile(&bf))]);
        let prefix = IpNet::new(std::net::Ipv4Addr::from(addr).into(), len).unwrap().trunc();
        let attrs = PathAttrs { as_path: path(&asns), ..PathAttrs::default() };
        let facts = RouteFacts {
            prefix, attrs: &attrs, learned: is_learned, interface: ifname, same_as,
            local_pref: Some(local_pref_from_priority(1)),
        };
        let v = f.evaluate(Export, &facts);
        prop_assert_eq!(v, f.evaluate(Export, &facts));
        prop_assert_eq!(v, f.prepare(Export, &facts).evaluate(prefix), "prepared plan agrees");
        if let Verdict::Accept(r) | Verdict::Reject(r) = v {
            prop_assert!(f.rule(Export, false, r).is_some());
        }
    }

    #[test]
    fn glob_agrees_with_birds_recursive_patmatch(p in "[a*]{0,6}", s in "[ab]{0,6}") {
        /// The definition: `*` is any run, else characters compare equal.
        fn patmatch(p: &[u8], s: &[u8]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((b'*', rest)) => (0..=s.len()).any(|k| patmatch(rest, &s[k..])),
                Some((c, rest)) => s.first() == Some(c) && patmatch(rest, &s[1..]),
            }
        }
        prop_assert_eq!(glob(p.as_bytes(), s.as_bytes()), patmatch(p.as_bytes(), s.as_bytes()));
        prop_assert!(glob(b"*", s.as_bytes()));
        prop_assert!(glob(s.as_bytes(), s.as_bytes()));
    }
}
