//! Calico's confd corpus: for every oneshot case that the etcd datastore can
//! express, derive calico-bgpd's configuration from the case's resources and
//! compare it with the *meaning* of the BIRD configuration confd rendered
//! (peers and their settings, router id, listener, blackholed blocks,
//! reachableBy routes, pool programming and export, communities).
//!
//! The corpus lives next to the repository: `../shared/reference/
//! calico-confd-corpus` (from this crate: `CARGO_MANIFEST_DIR/../../shared/...`);
//! `CALICO_CONFD_CORPUS` overrides the path. A missing corpus fails the test.
//!
//! The daemon cases that only count sessions are derived after each step,
//! and every case's resources, written in Calico's etcd layout, must read
//! back as the same resources as from the YAML.
//!
//! Cases that cannot pass yet are listed in [`KNOWN_GAPS`] with the reason
//! and printed on every run; a listed case that starts passing fails the
//! test so the table stays true.

#[path = "calico_corpus/golden.rs"]
mod golden;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use bgp::calico::resources::{AffinityState, BlockAffinity};
use bgp::calico::{Env, Resources, derive};
use bgp::config::{
    Config, EncapMode, NextHopMode, PasswordSource, ProgramClusterRoutes, TtlMode, ValidatedConfig,
    from_toml, validate,
};
use golden::{Kernel, Meaning, PeerFacts, read_golden};
use ipnet::IpNet;

/// Cases that cannot pass yet: name, (why, the text every mismatch of the
/// case contains, so that a gap case going wrong in any other way still
/// fails). Empty: every case the etcd datastore can express passes.
const KNOWN_GAPS: &[(&str, (&str, &str))] = &[];

fn corpus() -> PathBuf {
    let path = std::env::var_os("CALICO_CONFD_CORPUS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/calico-confd-corpus")
    });
    assert!(
        path.join("cases.json").is_file(),
        "the Calico confd corpus is missing at {} (set CALICO_CONFD_CORPUS to its directory)",
        path.display()
    );
    path
}

fn standard_affinities(cases: &serde_json::Value) -> Vec<BlockAffinity> {
    cases["standard_block_affinities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| BlockAffinity {
            cidr: a["cidr"].as_str().unwrap().parse().unwrap(),
            node: a["host"].as_str().unwrap().to_owned(),
            state: serde_json::from_value::<AffinityState>(a["state"].clone()).unwrap(),
            deleted: false,
        })
        .collect()
}

/// Runs one case; the mismatches, empty when it passes.
fn run_case(
    root: &std::path::Path,
    case: &serde_json::Value,
    affinities: &[BlockAffinity],
) -> Vec<String> {
    let mut resources = Resources::default();
    let mut problems = Vec::new();
    if case["block_affinities"] == "standard" {
        resources.block_affinities.extend_from_slice(affinities);
    }
    let step = &case["steps"][0];
    for action in step["actions"].as_array().unwrap() {
        assert_eq!(action["op"], "apply", "oneshot cases only apply files");
        let text = std::fs::read_to_string(root.join(action["file"].as_str().unwrap())).unwrap();
        let (r, p) = Resources::from_yaml(&text);
        problems.extend(p);
        resources.nodes.extend(r.nodes);
        resources.bgp_configurations.extend(r.bgp_configurations);
        resources.bgp_peers.extend(r.bgp_peers);
        resources.ip_pools.extend(r.ip_pools);
        resources.bgp_filters.extend(r.bgp_filters);
        resources.block_affinities.extend(r.block_affinities);
    }
    let node = case["node_name"].as_str().unwrap();
    let local: Config = from_toml(&format!("[node]\nname = \"{node}\"\n")).unwrap();
    let env = Env::from_vars(
        case["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
    );
    let derived = derive(&resources, &local, &env);
    problems.extend(derived.problems);
    let mut out: Vec<String> = problems.iter().map(|p| format!("problem: {p}")).collect();
    let golden = read_golden(&root.join(step["expect"]["golden"].as_str().unwrap()));
    match validate(derived.config) {
        Ok(v) => out.extend(compare(&meaning_of(&v), &golden)),
        Err(e) => out.push(format!("derived config does not validate: {e}")),
    }
    out
}

/// Our configuration, read as the same facts as a golden.
fn meaning_of(v: &ValidatedConfig) -> Meaning {
    let c = v.config();
    let mut m = Meaning {
        router_id: Some(v.router_id()),
        listen_addresses: c
            .listen
            .addresses
            .iter()
            .copied()
            .filter(|a| !a.is_unspecified())
            .collect(),
        listen_port: Some(c.listen.port),
        blackholes: c.node.blocks.iter().copied().collect(),
        ..Meaning::default()
    };
    for p in v.peers() {
        m.peers.insert(
            p.bird_protocol_name(),
            PeerFacts {
                neighbor: p.address,
                port: p.port,
                remote_as: p.remote_as,
                local_as: p.local_as,
                source: p.source_address,
                ttl_security: match p.ttl {
                    TtlMode::Security { hops } => Some(hops),
                    TtlMode::Multihop(_) => None,
                },
                passive: p.passive,
                rr_cluster_id: if p.rr_client { v.cluster_id() } else { None },
                password: match &p.password {
                    Some(PasswordSource::Inline(pw)) => Some(pw.0.clone()),
                    Some(PasswordSource::File(f)) => Some(format!("<file {}>", f.display())),
                    None => None,
                },
                next_hop: match p.next_hop_mode {
                    NextHopMode::Auto => "auto",
                    NextHopMode::SelfAddr => "self",
                    NextHopMode::Keep => "keep",
                },
                graceful_restart_time: p.graceful_restart.unwrap_or(0),
                allow_local_as: p.allow_local_as,
                filters: called_filters(v, p),
            },
        );
    }
    for p in &c.peers {
        if let Some(gw) = p.reachable_by {
            m.static_routes.insert((IpNet::from(p.address), gw));
        }
    }
    let program = c.fib.program_cluster_routes;
    for pool in &c.ip_pools {
        if pool.disable_bgp_export {
            m.export_rejects.insert(pool.cidr);
        } else {
            m.export_accepts.insert(pool.cidr);
        }
        let programmed = programs(program, pool.ipip_mode, pool.vxlan_mode);
        match pool.cidr {
            IpNet::V4(_) => {
                let Some(subnet) = c.node.ipv4 else { continue };
                let verdict = match (programmed, pool.ipip_mode) {
                    (false, _) => Kernel::Reject,
                    (true, EncapMode::Always) => Kernel::Tunl0,
                    (true, EncapMode::CrossSubnet) => {
                        Kernel::CrossSubnet(IpNet::V4(subnet.trunc()))
                    }
                    (true, EncapMode::Never) => Kernel::Accept,
                };
                m.kernel_v4.insert(pool.cidr, verdict);
            }
            IpNet::V6(_) => {
                if !programmed {
                    m.kernel_v6_rejects.insert(pool.cidr);
                }
            }
        }
    }
    for a in &c.prefix_advertisements {
        m.communities.entry(a.cidr).or_default().extend(a.parsed().map(|v| v.to_string()));
    }
    m
}

/// The filters a peer calls for its family, by the name confd gives each
/// function: a filter with no rule for the family is not called, and a
/// name over 45 characters is cut to 28 and suffixed with `_` and the first
/// 16 hex digits (upper case) of its SHA-256.
fn called_filters(v: &ValidatedConfig, p: &bgp::config::EffectivePeer) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let v4 = p.address.is_ipv4();
    p.filters
        .iter()
        .filter(|name| {
            v.config().filters.iter().any(|f| {
                &f.name == *name
                    && if v4 {
                        !f.import_v4.is_empty() || !f.export_v4.is_empty()
                    } else {
                        !f.import_v6.is_empty() || !f.export_v6.is_empty()
                    }
            })
        })
        .map(|name| {
            if name.len() <= 45 {
                return name.clone();
            }
            let hash = Sha256::digest(name.as_bytes());
            let hex: String = hash[..8].iter().map(|b| format!("{b:02X}")).collect();
            format!("{}_{hex}", &name[..28])
        })
        .collect()
}

/// Whether calico-bgpd's FIB programs a pool under `programClusterRoutes`,
/// with its default settings (VXLAN left to Felix): the FIB policy itself.
fn programs(p: ProgramClusterRoutes, ipip: EncapMode, vxlan: EncapMode) -> bool {
    let mode = |m| match m {
        EncapMode::Never => fib::EncapMode::Never,
        EncapMode::Always => fib::EncapMode::Always,
        EncapMode::CrossSubnet => fib::EncapMode::CrossSubnet,
    };
    let program = match p {
        ProgramClusterRoutes::Enabled => fib::ProgramClusterRoutes::Enabled,
        ProgramClusterRoutes::EnabledNoEncapOnly => fib::ProgramClusterRoutes::EnabledNoEncapOnly,
        ProgramClusterRoutes::EnabledIpipOnly => fib::ProgramClusterRoutes::EnabledIpipOnly,
        ProgramClusterRoutes::Disabled => fib::ProgramClusterRoutes::Disabled,
    };
    let pool = fib::IpPool {
        cidr: "10.0.0.0/8".parse().unwrap(),
        ipip_mode: mode(ipip),
        vxlan_mode: mode(vxlan),
        disable_bgp_export: false,
    };
    program.admits(&pool, false)
}

fn compare(ours: &Meaning, golden: &Meaning) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what}: ours {a}, confd {b}"));
        }
    };
    check("router id", format!("{:?}", ours.router_id), format!("{:?}", golden.router_id));
    check(
        "listen port",
        format!("{:?}", ours.listen_port),
        format!("{:?}", golden.listen_port.or(Some(179))),
    );
    check(
        "listen addresses",
        format!("{:?}", ours.listen_addresses),
        format!("{:?}", golden.listen_addresses),
    );
    let names = |m: &Meaning| m.peers.keys().cloned().collect::<BTreeSet<_>>();
    check("peer names", format!("{:?}", names(ours)), format!("{:?}", names(golden)));
    for (name, g) in &golden.peers {
        if let Some(o) = ours.peers.get(name) {
            check(&format!("peer {name}"), format!("{o:?}"), format!("{g:?}"));
        }
    }
    check("blackholes", format!("{:?}", ours.blackholes), format!("{:?}", golden.blackholes));
    check(
        "reachableBy routes",
        format!("{:?}", ours.static_routes),
        format!("{:?}", golden.static_routes),
    );
    check("kernel IPv4 pools", format!("{:?}", ours.kernel_v4), format!("{:?}", golden.kernel_v4));
    check(
        "kernel IPv6 rejects",
        format!("{:?}", ours.kernel_v6_rejects),
        format!("{:?}", golden.kernel_v6_rejects),
    );
    check(
        "export rejects",
        format!("{:?}", ours.export_rejects),
        format!("{:?}", golden.export_rejects),
    );
    check(
        "export accepts",
        format!("{:?}", ours.export_accepts),
        format!("{:?}", golden.export_accepts),
    );
    check("communities", format!("{:?}", ours.communities), format!("{:?}", golden.communities));
    out
}

#[test]
fn oneshot_cases_reach_confds_configuration() {
    let root = corpus();
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let affinities = standard_affinities(&cases);
    let known: BTreeMap<&str, (&str, &str)> = KNOWN_GAPS.iter().copied().collect();
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if case["mode"] != "oneshot" {
            continue;
        }
        if case["kdd_only"] == true {
            table.push(format!("skip  {name}: Kubernetes datastore only (Services, Secrets)"));
            continue;
        }
        let mismatches = run_case(&root, case, &affinities);
        match (mismatches.is_empty(), known.get(name)) {
            (true, None) => table.push(format!("pass  {name}")),
            (false, Some((why, marker))) if mismatches.iter().all(|m| m.contains(marker)) => {
                table.push(format!("gap   {name}: {why}"));
            }
            (false, Some(_)) => {
                table.push(format!("FAIL  {name}"));
                failures.push(format!(
                    "{name} (a known gap, but also):\n    {}",
                    mismatches.join("\n    ")
                ));
            }
            (true, Some(_)) => {
                failures.push(format!("{name}: passes now; remove it from KNOWN_GAPS"))
            }
            (false, None) => {
                table.push(format!("FAIL  {name}"));
                failures.push(format!("{name}:\n    {}", mismatches.join("\n    ")));
            }
        }
    }
    println!("calico confd corpus, oneshot cases:\n{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The etcd v3 plural of a kind this test writes.
fn plural(kind: &str) -> Option<&'static str> {
    match kind {
        "Node" => Some("nodes"),
        "BGPConfiguration" => Some("bgpconfigurations"),
        "BGPPeer" => Some("bgppeers"),
        "IPPool" => Some("ippools"),
        "BGPFilter" => Some("bgpfilters"),
        _ => None,
    }
}

#[test]
fn etcd_layout_reads_the_same_resources_as_the_yaml() {
    let root = corpus();
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let affinities = standard_affinities(&cases);
    for case in cases["cases"].as_array().unwrap() {
        if case["mode"] != "oneshot" || case["kdd_only"] == true {
            continue;
        }
        let file = case["steps"][0]["actions"][0]["file"].as_str().unwrap();
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let (mut from_yaml, problems) = Resources::from_yaml(&text);
        assert!(problems.is_empty(), "{file}: {problems:?}");
        // The same objects as Calico stores them in etcd: JSON under their keys.
        let mut kvs: Vec<(String, Vec<u8>)> = Vec::new();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let mut v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
            if v.is_null() {
                continue;
            }
            // calicoctl reads YAML 1.1, so a label written `yes` is stored as "true".
            if let Some(labels) = v.pointer_mut("/metadata/labels").and_then(|l| l.as_object_mut())
            {
                for value in labels.values_mut() {
                    if value == "yes" {
                        *value = "true".into();
                    }
                }
            }
            let plural = plural(v["kind"].as_str().unwrap()).unwrap();
            let name = v["metadata"]["name"].as_str().unwrap();
            let key = format!("/calico/resources/v3/projectcalico.org/{plural}/{name}");
            kvs.push((key, serde_json::to_vec(&v).unwrap()));
        }
        for a in &affinities {
            let family = if a.cidr.addr().is_ipv4() { "ipv4" } else { "ipv6" };
            let key = format!(
                "/calico/ipam/v2/host/{}/{family}/block/{}",
                a.node,
                a.cidr.to_string().replace('/', "-")
            );
            let state = serde_json::json!({"state": match a.state {
                AffinityState::Implicit => "",
                AffinityState::Confirmed => "confirmed",
                AffinityState::Pending => "pending",
                AffinityState::PendingDeletion => "pendingDeletion",
            }, "deleted": a.deleted});
            kvs.push((key, serde_json::to_vec(&state).unwrap()));
        }
        kvs.push(("/calico/felix/v2/no-region/host/kube-master/config".into(), b"x".to_vec()));
        let (from_etcd, problems) =
            Resources::from_kvs(kvs.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
        assert!(problems.is_empty(), "{file}: {problems:?}");
        from_yaml.block_affinities.extend_from_slice(&affinities);
        assert_eq!(from_etcd, from_yaml, "{file}");
    }
}

/// Applies a YAML file's resources over `into` (whole objects replaced).
fn apply(into: &mut Resources, text: &str) {
    let (r, problems) = Resources::from_yaml(text);
    assert!(problems.is_empty(), "{problems:?}");
    into.nodes.extend(r.nodes);
    into.bgp_configurations.extend(r.bgp_configurations);
    into.bgp_peers.extend(r.bgp_peers);
    into.ip_pools.extend(r.ip_pools);
    into.bgp_filters.extend(r.bgp_filters);
    into.block_affinities.extend(r.block_affinities);
}

#[test]
fn daemon_peering_counts_follow_each_step() {
    let root = corpus();
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let mut ran = Vec::new();
    for case in cases["cases"].as_array().unwrap() {
        let steps = case["steps"].as_array().unwrap();
        let counted = steps.iter().all(|s| s["expect"]["peering_count"].is_u64());
        if case["mode"] != "daemon" || case["kdd_only"] == true || !counted {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let node = case["node_name"].as_str().unwrap();
        let local: Config = from_toml(&format!("[node]\nname = \"{node}\"\n")).unwrap();
        let mut resources = Resources::default();
        for step in steps {
            for action in step["actions"].as_array().unwrap() {
                match action["op"].as_str().unwrap() {
                    "apply" | "upsert" => apply(
                        &mut resources,
                        &std::fs::read_to_string(root.join(action["file"].as_str().unwrap()))
                            .unwrap(),
                    ),
                    // Writing an object back unchanged changes nothing derived.
                    "update_unchanged" => {}
                    "delete" if action["kind"] == "Node" => {
                        resources.nodes.remove(action["name"].as_str().unwrap());
                    }
                    other => panic!("{name}: step op {other} is not handled by this test"),
                }
            }
            let derived = derive(&resources, &local, &Env::default());
            assert!(derived.problems.is_empty(), "{name}: {:?}", derived.problems);
            let v = validate(derived.config).unwrap_or_else(|e| panic!("{name}: {e}"));
            // bird.cfg holds the IPv4 sessions.
            let count = v.peers().iter().filter(|p| p.address.is_ipv4()).count() as u64;
            assert_eq!(
                count,
                step["expect"]["peering_count"].as_u64().unwrap(),
                "{name} step {}",
                step["step"]
            );
        }
        ran.push(name);
    }
    println!("daemon cases checked by peering count: {ran:?}");
    assert!(!ran.is_empty());
}
