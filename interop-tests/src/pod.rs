//! Pods wired the way Calico's CNI plugin wires them.
//!
//! A pod is a namespace joined to its node by one veth pair. Nothing on the pod's
//! link is a real subnet: the pod has a /32 (and /128), and its only route is a
//! default via the link-local gateway 169.254.1.1, which no one owns. The node's
//! end, `cali<hash>`, answers ARP for it by proxy ARP and has the MAC
//! `ee:ee:ee:ee:ee:ee`, so for IPv6 the gateway is that MAC's link-local address.
//! The node reaches the pod by a /32 `scope link` route out of `cali<hash>`, as Felix
//! programs it (`proto 80`, metric 1024: Felix's normal route priority; a lower one
//! would mark a live-migrating VM, which Calico's BIRD advertises on its own); the
//! node's BGP speaker advertises the block the pod's address comes from.
//!
//! ```text
//!   pod namespace                              node namespace
//!  +-------------------------------+  veth  +--------------------------------------+
//!  | eth0  10.244.1.2/32           |--------| cali1a2b3c4d5e6  ee:ee:ee:ee:ee:ee   |
//!  |       fd10:244::1:2/128       |        |   proxy_arp=1, forwarding=1          |
//!  | default via 169.254.1.1 onlink|        | 10.244.1.2/32 dev cali.. scope link  |
//!  |                               |        |   proto 80 metric 1024               |
//!  | default via fe80::ecee:eeff:  |        | fd10:244::1:2/128 dev cali.. (same)  |
//!  |             feee:eeee         |        | 169.254.1.1/32 dev lo (see below)    |
//!  +-------------------------------+        +--------------------------------------+
//! ```
//!
//! Proxy ARP only answers for an address the node could forward out of another
//! interface. A real Calico host has a default route for that; a bare namespace has
//! none, so the node gets `169.254.1.1/32 dev lo` standing in for it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use crate::netns::{Netns, output, run};
use crate::{Result, wait_until};

/// The pods' IPv4 default gateway: link-local, owned by nobody, answered by proxy ARP.
pub const GATEWAY_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// The MAC Calico gives every host end, so that any pod's neighbour entry fits all.
pub const HOST_MAC: &str = "ee:ee:ee:ee:ee:ee";

/// The pods' IPv6 default gateway: the EUI-64 link-local address of [`HOST_MAC`].
pub const GATEWAY_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xecee, 0xeeff, 0xfeee, 0xeeee);

/// A pod: its namespace (deleted on drop) and the node end of its veth.
#[derive(Debug)]
pub struct Pod {
    ns: Netns,
    node_ns: String,
    host_iface: String,
    ipv4: Ipv4Addr,
    ipv6: Option<Ipv6Addr>,
}

impl Pod {
    /// Creates a pod namespace `cbgp-<pid>-<n>-<tag>` on `node` with these addresses.
    pub fn new(node: &Netns, tag: &str, ipv4: Ipv4Addr, ipv6: Option<Ipv6Addr>) -> Result<Pod> {
        Pod::attach(node, Netns::new(tag)?, ipv4, ipv6)
    }

    /// Wires the (new, empty) namespace `ns` to `node` as a pod. On error `ns` is
    /// dropped, which deletes it and with it the veth.
    pub fn attach(node: &Netns, ns: Netns, ipv4: Ipv4Addr, ipv6: Option<Ipv6Addr>) -> Result<Pod> {
        let host_iface = host_iface_name(ns.name());
        run(Command::new("ip").args([
            "link",
            "add",
            &host_iface,
            "netns",
            node.name(),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns.name(),
        ]))?;
        let pod = Pod { ns, node_ns: node.name().to_owned(), host_iface, ipv4, ipv6 };
        pod.wire_node_end(node)?;
        pod.wire_pod_end()?;
        Ok(pod)
    }

    fn wire_node_end(&self, node: &Netns) -> Result<()> {
        let h = &self.host_iface;
        node.ip(&["link", "set", h, "address", HOST_MAC])?;
        for (key, value) in [
            (format!("net.ipv4.conf.{h}.proxy_arp"), "1"),
            // The default 0.8 s random delay would make the first ping of a test flaky.
            (format!("net.ipv4.neigh.{h}.proxy_delay"), "0"),
            (format!("net.ipv4.conf.{h}.forwarding"), "1"),
            (format!("net.ipv6.conf.{h}.forwarding"), "1"),
            // The link-local gateway must answer at once, not after DAD.
            (format!("net.ipv6.conf.{h}.accept_dad"), "0"),
        ] {
            node.sysctl(&key, value)?;
        }
        node.enable_forwarding()?;
        node.ip(&["link", "set", h, "up"])?;
        node.ip(&["route", "replace", &format!("{GATEWAY_V4}/32"), "dev", "lo", "scope", "link"])?;
        let felix = ["proto", "80", "metric", "1024"];
        let v4 = format!("{}/32", self.ipv4);
        node.ip(&[&["route", "replace", &v4, "dev", h, "scope", "link"][..], &felix].concat())?;
        if let Some(v6) = self.ipv6 {
            let v6 = format!("{v6}/128");
            node.ip(&[&["-6", "route", "replace", &v6, "dev", h][..], &felix].concat())?;
        }
        Ok(())
    }

    fn wire_pod_end(&self) -> Result<()> {
        let ns = &self.ns;
        ns.sysctl("net.ipv6.conf.eth0.accept_dad", "0")?;
        ns.ip(&["addr", "add", &format!("{}/32", self.ipv4), "dev", "eth0"])?;
        if let Some(v6) = self.ipv6 {
            ns.ip(&["addr", "add", &format!("{v6}/128"), "dev", "eth0", "nodad"])?;
        }
        ns.ip(&["link", "set", "eth0", "up"])?;
        let gw4 = GATEWAY_V4.to_string();
        ns.ip(&["route", "replace", "default", "via", &gw4, "dev", "eth0", "onlink"])?;
        if self.ipv6.is_some() {
            let gw6 = GATEWAY_V6.to_string();
            ns.ip(&["-6", "route", "replace", "default", "via", &gw6, "dev", "eth0"])?;
        }
        Ok(())
    }

    /// The pod's namespace.
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// The name of the node's namespace.
    pub fn node_ns(&self) -> &str {
        &self.node_ns
    }

    /// The node end of the veth (`cali` + 11 hex digits).
    pub fn host_iface(&self) -> &str {
        &self.host_iface
    }

    /// The pod's IPv4 address.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.ipv4
    }

    /// The pod's IPv6 address, if it has one.
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.ipv6
    }

    /// One ping (1 s deadline) from the pod to `dst`: whether it was answered.
    pub fn ping(&self, dst: IpAddr) -> Result<bool> {
        ping_from(self.ns.name(), dst)
    }

    /// Polls [`Pod::ping`] until `dst` answers or `timeout` passes.
    pub fn wait_ping(&self, dst: IpAddr, timeout: Duration) -> Result<()> {
        wait_until(timeout, &format!("{dst} answering ping from pod {}", self.ipv4), || {
            self.ping(dst)
        })
    }

    /// Leaves the namespace in place (for the lab, whose pods outlive the command)
    /// and returns its name; deleting it is then the caller's job.
    pub fn keep(self) -> String {
        self.ns.keep()
    }
}

/// One ping (1 s deadline) from inside namespace `ns` to `dst`.
pub fn ping_from(ns: &str, dst: IpAddr) -> Result<bool> {
    let out = output(Command::new("ip").args([
        "netns",
        "exec",
        ns,
        "ping",
        "-c1",
        "-W1",
        "-q",
        &dst.to_string(),
    ]))?;
    Ok(out.status.success())
}

/// `cali` and 11 hex digits of a hash of the pod's namespace name: 15 characters,
/// the kernel's limit (IFNAMSIZ - 1), as Calico names it from a hash of the pod id.
pub fn host_iface_name(pod_ns: &str) -> String {
    // FNV-1a 64: stable across releases and std-only (DefaultHasher is neither).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pod_ns.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV alone leaves pods named a/b as cali0837d5.. and cali0837d6..: mix the
    // bits (MurmurHash3's finaliser) so that neighbouring names look unrelated.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    let hex = format!("{h:016x}");
    format!("cali{}", hex.get(..11).unwrap_or(&hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_iface_names_fit_ifnamsiz_and_differ_per_pod() {
        let a = host_iface_name("cbgp-1-2-pod-a");
        let b = host_iface_name("cbgp-1-2-pod-b");
        assert_eq!(a.len(), 15, "{a}");
        assert!(a.starts_with("cali"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, host_iface_name("cbgp-1-2-pod-a"), "stable for one pod");
    }

    #[test]
    fn ipv6_gateway_is_the_link_local_address_of_the_host_mac() {
        assert_eq!(GATEWAY_V6.to_string(), "fe80::ecee:eeff:feee:eeee");
    }
}
