//! The lab's datastore variant (`lab up --datastore`): an etcd on the LAN holds
//! Calico's v3 resources and block affinities, and each node's TOML only names
//! the node and the etcd endpoint; calico-bgpd derives the rest and follows it.
//!
//! ```text
//!  etcd .100 (<prefix>-etcd, :2379)   Nodes n1..n3 (bgp.ipv4Address), IPPool 10.244.0.0/16,
//!                                     BGPConfiguration default (AS 64512, mesh on),
//!                                     BGPPeer tor (192.168.1.1, AS 65000, global),
//!                                     one confirmed affinity per node
//! ```
//!
//! After the sessions are up, `demonstrate` writes a new block affinity for n1
//! with `etcdctl put` and prints how long it took to reach n2 and n3 as a route.

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{NODE_ASN, NODES, NodeSpec, Options, POOL, Recorder, TOR_ASN, TOR_IP};
use crate::calico::{self, Kv};
use crate::etcd::{CLIENT_PORT, ETCD, PEER_PORT, START_TIMEOUT};
use crate::netns::{Netns, run};
use crate::process::tail;
use crate::{Result, err, wait_until};

/// etcd's address on the LAN.
pub const ETCD_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 100);
/// The block the demonstration gives n1 at run time.
pub const NEW_BLOCK: &str = "10.244.4.0/26";

/// The etcd client URL the nodes use.
pub fn endpoint() -> String {
    format!("http://{ETCD_IP}:{CLIENT_PORT}")
}

fn etcd_dir(opts: &Options) -> PathBuf {
    opts.state_dir.join("etcd")
}

/// A node's whole TOML in the datastore variant.
pub fn node_config(opts: &Options, me: &NodeSpec) -> String {
    format!(
        "# Lab node {name}: everything but the name comes from Calico's etcd datastore.\n\
         log_level = \"info\"\n\
         control_socket = \"{sock}\"\n\n\
         [node]\nname = \"{name}\"\n\n\
         [datastore]\ntype = \"etcdv3\"\netcd_endpoints = [\"{endpoint}\"]\n",
        name = me.name,
        sock = opts.node_dir(me.name).join("calico-bgp.ctl").display(),
        endpoint = endpoint(),
    )
}

/// The resources the lab starts with.
pub fn resources() -> Vec<Kv> {
    let mut kvs = vec![
        calico::bgp_configuration_default(NODE_ASN, true),
        calico::ip_pool("default-ipv4-ippool", POOL),
        calico::bgp_peer("tor", &TOR_IP.to_string(), TOR_ASN, None),
    ];
    for n in &NODES {
        kvs.push(calico::node(n.name, &format!("{}/24", n.ip), &[]));
        kvs.push(calico::affinity(n.name, n.block));
    }
    kvs
}

/// `etcdctl ARGS` inside the etcd namespace.
pub fn etcdctl(opts: &Options, args: &[&str]) -> Result<String> {
    run(Command::new("ip")
        .args(["netns", "exec", &opts.ns("etcd"), "etcdctl"])
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", endpoint()))
        .args(["--command-timeout=5s", "--dial-timeout=2s"])
        .args(args))
}

/// Starts etcd in `ns` in its own session (it outlives `lab up`), records it,
/// waits for it to answer and writes [`resources`].
pub(super) fn start_etcd(opts: &Options, ns: &Netns, rec: &mut Recorder) -> Result<()> {
    let dir = etcd_dir(opts);
    std::fs::create_dir_all(&dir)?;
    let log = File::create(dir.join("etcd.log"))?;
    let client = endpoint();
    let peer = format!("http://{ETCD_IP}:{PEER_PORT}");
    let mut child = Command::new("setsid")
        .args(["ip", "netns", "exec", ns.name(), ETCD, "--name", "lab", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
        .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
        .args(["--initial-cluster", &format!("lab={peer}")])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| err!("starting etcd: {e}"))?;
    let pid = child.id();
    rec.pid("etcd", pid, ETCD)?;
    rec.datastore(&client)?;
    wait_until(START_TIMEOUT, "etcd to answer a health check", || {
        // The child's exit status, not /proc: while `setsid` and `ip netns
        // exec` exec their way to etcd, the command line can read empty.
        if child.try_wait().is_ok_and(|status| status.is_some()) {
            return Err(err!("etcd exited:\n{}", tail(&dir.join("etcd.log"), 20)).fatal());
        }
        Ok(etcdctl(opts, &["endpoint", "health"]).is_ok())
    })?;
    for kv in resources() {
        etcdctl(opts, &["put", &kv.key, &kv.value])?;
    }
    Ok(())
}

/// The datastore part of the report: etcd's endpoint and the keys it holds.
pub(super) fn report(opts: &Options, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "=== datastore (etcd {}, netns {}) ===", endpoint(), opts.ns("etcd"))?;
    writeln!(out, "$ etcdctl get /calico --prefix --keys-only")?;
    let keys = etcdctl(opts, &["get", "/calico", "--prefix", "--keys-only"])
        .unwrap_or_else(|e| format!("{e}\n"));
    for k in keys.lines().filter(|l| !l.is_empty()) {
        writeln!(out, "  {k}")?;
    }
    writeln!(out, "$ calico-bgpctl show status   (the datastore lines, per node)")?;
    for n in &NODES {
        let sock = opts.node_dir(n.name).join("calico-bgp.ctl");
        let status = run(Command::new(opts.bin("calico-bgpctl"))
            .arg("--socket")
            .arg(&sock)
            .args(["--timeout", "3", "show", "status"]))
        .unwrap_or_else(|e| format!("Configuration from: not available ({e})\n"));
        let lines = status
            .lines()
            .skip_while(|l| !l.starts_with("Configuration from"))
            .take_while(|l| !l.starts_with("RIB "));
        for l in lines {
            writeln!(out, "  {}: {l}", n.name)?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Writes an affinity of n1 for [`NEW_BLOCK`] and waits until n2 and n3 route
/// it via n1 and n1 blackholes it, printing each time from the put.
pub(super) fn demonstrate(opts: &Options, out: &mut dyn Write) -> Result<()> {
    let n1 = &NODES[0];
    let kv = calico::affinity(n1.name, NEW_BLOCK);
    writeln!(out, "=== datastore demonstration: a new block affinity for {} ===", n1.name)?;
    writeln!(out, "$ etcdctl put {} '{}'", kv.key, kv.value)?;
    let start = Instant::now();
    etcdctl(opts, &["put", &kv.key, &kv.value])?;
    for n in &NODES {
        let ns = opts.ns(n.name);
        let want = if n.name == n1.name { "blackhole" } else { "via" };
        let mut route = String::new();
        wait_until(opts.timeout, &format!("{NEW_BLOCK} on {}", n.name), || {
            route = run(Command::new("ip").args(["-n", &ns, "-4", "route", "show", NEW_BLOCK]))?
                .trim()
                .to_owned();
            Ok(route.contains("proto bird") && route.contains(want))
        })?;
        writeln!(
            out,
            "  {}: {route}   ({:.0} ms after the put)",
            n.name,
            start.elapsed().as_secs_f64() * 1000.0
        )?;
    }
    writeln!(out, "datastore demonstration: OK")?;
    Ok(())
}
