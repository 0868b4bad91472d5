use super::*;

const YAML: &str = r#"
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata:
  name: default
spec:
  asNumber: 64567
---
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-master
  labels:
    route-reflector: yes
    rack: 7
spec:
  bgp:
    ipv4Address: 10.192.0.2/16
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata:
  name: broken
spec:
  peerIP: 10.0.0.1
  asNumber: not-a-number
---
kind: Service
apiVersion: v1
metadata:
  name: svc
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata:
  name: pool
spec:
  cidr: 192.168.0.0/16
"#;

#[test]
fn yaml_documents_dispatch_on_kind_and_a_bad_one_is_a_problem() {
    let (r, problems) = Resources::from_yaml(YAML);
    assert_eq!(r.nodes.len(), 1);
    assert_eq!(r.ip_pools.len(), 1);
    assert!(r.bgp_peers.is_empty());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].key.contains("document 3 (BGPPeer broken)"), "{}", problems[0]);
    assert!(problems[0].reason.contains("not-a-number"), "{}", problems[0]);
    assert!(problems[1].to_string().contains("kind Service"), "{}", problems[1]);
}

#[test]
fn a_null_spec_is_an_empty_spec() {
    let (r, problems) = Resources::from_yaml(
        "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata:\n  name: default\nspec:\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(r.bgp_configurations["default"].spec, BgpConfigurationSpec::default());
}

#[test]
fn yaml_1_1_boolean_labels_read_as_true() {
    let (r, _) = Resources::from_yaml(YAML);
    let labels = &r.nodes["kube-master"].metadata.labels;
    assert_eq!(labels["route-reflector"], "true");
    assert_eq!(labels["rack"], "7");
}

#[test]
fn etcd_keys_are_read_by_plural_and_affinities_by_host() {
    let node = br#"{"kind":"Node","apiVersion":"projectcalico.org/v3",
        "metadata":{"name":"n1"},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24"}}}"#;
    let kvs: Vec<(&str, &[u8])> = vec![
        ("/calico/resources/v3/projectcalico.org/nodes/n1", node),
        ("/calico/resources/v3/projectcalico.org/bgppeers/p", b"{not json"),
        (
            "/calico/resources/v3/projectcalico.org/ippools/x",
            br#"{"metadata":{"name":"y"},"spec":{"cidr":"10.0.0.0/8"}}"#,
        ),
        ("/calico/resources/v3/projectcalico.org/networkpolicies/np", b"{}"),
        ("/calico/felix/v1/host/n1/config", b"whatever"),
        (
            "/calico/ipam/v2/host/n1/ipv4/block/10.0.0.0-26",
            br#"{"state":"confirmed","deleted":false}"#,
        ),
        ("/calico/ipam/v2/host/n1/ipv6/block/fd00::-122", b""),
        ("/calico/ipam/v2/host/n1/ipv4/block/fd00::-122", b""),
        ("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26", b"{}"),
    ];
    let (r, problems) = Resources::from_kvs(kvs);
    assert_eq!(r.nodes["n1"].ipv4(), Some("10.0.0.1/24".parse().unwrap()));
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/calico/resources/v3/projectcalico.org/bgppeers/p",
            "/calico/resources/v3/projectcalico.org/ippools/x",
            "/calico/ipam/v2/host/n1/ipv4/block/fd00::-122",
        ]
    );
    assert_eq!(r.block_affinities.len(), 2);
    assert_eq!(r.block_affinities[0].state, AffinityState::Confirmed);
    assert_eq!(r.block_affinities[1].cidr, "fd00::/122".parse::<ipnet::IpNet>().unwrap());
    assert_eq!(r.block_affinities[1].state, AffinityState::Implicit);
}

#[test]
fn kdd_block_affinity_documents_are_read() {
    let (r, problems) = Resources::from_yaml(
        "kind: BlockAffinity\napiVersion: crd.projectcalico.org/v1\nmetadata:\n  name: a\n\
         spec:\n  cidr: 10.0.0.0/30\n  node: kube-master\n  state: pending\n  deleted: \"false\"\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(r.block_affinities[0].state, AffinityState::Pending);
}

#[test]
fn a_resources_file_with_a_syntax_error_is_refused_whole() {
    let text = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: n1\n---\n\
                kind: [unclosed\n";
    let e = Resources::from_yaml_file(text).unwrap_err();
    assert!(e.key.starts_with("document 2"), "{e}");
    // The offline reader keeps what came before and reports the rest.
    let (r, problems) = Resources::from_yaml(text);
    assert_eq!((r.nodes.len(), problems.len()), (1, 1));
}

#[test]
fn a_resources_file_with_a_bad_object_keeps_the_others() {
    let text = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: n1\n---\n\
                kind: IPPool\napiVersion: projectcalico.org/v3\nmetadata:\n  name: p\n\
                spec:\n  cidr: not-a-cidr\n";
    let (r, problems) = Resources::from_yaml_file(text).unwrap();
    assert_eq!(r.nodes.len(), 1);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].key.contains("IPPool p"), "{}", problems[0]);
}
