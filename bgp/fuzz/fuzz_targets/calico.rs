//! Calico's objects as the datastore hands them over: any bytes under a
//! watched key (the first byte picks which one), and any text as the YAML
//! `calicoctl apply -f` takes, through parsing and the derivation; a bad
//! object must be a problem with its key, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 6] = [
    "/calico/resources/v3/projectcalico.org/nodes/n1",
    "/calico/resources/v3/projectcalico.org/bgpconfigurations/default",
    "/calico/resources/v3/projectcalico.org/bgppeers/p1",
    "/calico/resources/v3/projectcalico.org/bgpfilters/f1",
    "/calico/resources/v3/projectcalico.org/ippools/pool1",
    "/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26",
];

const NODE: &[u8] = br#"{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"n1"},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24"}}}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, value)) = data.split_first() else { return };
    let key = KEYS[usize::from(pick) % KEYS.len()];
    let local = bgp::config::from_toml("[node]\nname = \"n1\"\n").expect("a name-only file");
    let env = bgp::calico::Env::default();
    let kvs = [(KEYS[0], NODE), (key, value)];
    let _ = bgp::calico::configure(kvs.iter().map(|(k, v)| (*k, *v)), &local, &env);
    if let Ok(text) = std::str::from_utf8(value) {
        let (resources, _) = bgp::calico::Resources::from_yaml(text);
        let _ = bgp::calico::derive(&resources, &local, &env);
    }
});
