//! Network namespaces, veth pairs and bridged LANs, all created with `ip(8)`.
//!
//! Topologies the tests and the lab build from these:
//!
//! ```text
//!  point to point                 shared LAN (one subnet)            CrossSubnet
//!  +----+  veth  +----+      +----+ +----+ +----+                 LAN A        LAN B
//!  | a  |--------| b  |      | n1 | | n2 | | n3 |              n1 n2 n3      n4 n5
//!  +----+        +----+      +-+--+ +-+--+ +-+--+                \ | /  +--+  \ /
//!                              |      |      |     "switch"       [br0]-|rt|-[br0]
//!                            +-+------+------+-+   namespace            +--+
//!                            |       br0       |
//!                            +-----------------+
//! ```
//!
//! Everything lives in namespaces named `cbgp-<pid>-<n>-<tag>`, so traffic never leaves
//! them and concurrent tests never collide. Drop deletes the namespace; daemons must
//! be dropped first (declare them after the namespace), and any process still inside
//! is killed by PID as a safety net.

use std::net::IpAddr;
use std::process::{Command, Output};
use std::time::Duration;

use ipnet::IpNet;

use crate::{Result, err, wait_until};

/// Runs a command and returns its stdout, or an error carrying the command line,
/// exit status and stderr.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        return Err(err!(
            "{:?} failed ({}): {}{}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command and returns its output whatever the exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output().map_err(|e| err!("spawning {cmd:?}: {e}"))
}

/// A network namespace we created; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `cbgp-<pid>-<n>-<tag>` with `lo` up. Keep `tag` short and free of spaces.
    pub fn new(tag: &str) -> Result<Netns> {
        let name = format!("{}-{tag}", crate::unique_name());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Creates a namespace with exactly this name (the lab's fixed, readable names),
    /// with `lo` up. Fails if it exists.
    pub fn named(name: &str) -> Result<Netns> {
        run(Command::new("ip").args(["netns", "add", name]))?;
        let ns = Netns { name: name.to_owned() };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Leaves the namespace in place (the lab's outlive the command that made them)
    /// and returns its name; deleting it is then the caller's job.
    pub fn keep(self) -> String {
        let name = self.name.clone();
        std::mem::forget(self);
        name
    }

    /// The namespace's name (as `ip netns` knows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Command` that will run `program` inside the namespace (`ip netns exec`, which
    /// execs in place, so the child's PID is the program's PID).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `argv` inside the namespace; stdout on success, an error with stderr otherwise.
    pub fn exec(&self, argv: &[&str]) -> Result<String> {
        let (prog, args) = argv.split_first().ok_or_else(|| err!("exec: empty argv"))?;
        run(self.command(prog).args(args))
    }

    /// `ip -n NS ARGS...`.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Sets a sysctl inside the namespace (`net.*` sysctls are per namespace).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec(&["sysctl", "-q", "-w", &format!("{key}={value}")]).map(drop)
    }

    /// Turns the namespace into a router for IPv4 and IPv6.
    pub fn enable_forwarding(&self) -> Result<()> {
        self.sysctl("net.ipv4.ip_forward", "1")?;
        self.sysctl("net.ipv6.conf.all.forwarding", "1")
    }

    /// Adds an address; IPv6 ones get `nodad` so they are usable at once.
    pub fn add_addr(&self, iface: &str, addr: &IpNet) -> Result<()> {
        let a = addr.to_string();
        let mut args = vec!["addr", "add", a.as_str(), "dev", iface];
        if matches!(addr, IpNet::V6(_)) {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// `ip route replace DST via GW` (use `"default"` for DST).
    pub fn add_route(&self, dst: &str, via: IpAddr) -> Result<()> {
        let fam = if via.is_ipv4() { "-4" } else { "-6" };
        self.ip(&[fam, "route", "replace", dst, "via", &via.to_string()]).map(drop)
    }

    /// The kernel routing table (main) as `ip route` prints it, both families.
    pub fn routes(&self) -> Result<String> {
        Ok(format!(
            "{}{}",
            self.ip(&["-4", "route", "show", "table", "main"])?,
            self.ip(&["-6", "route", "show", "table", "main"])?
        ))
    }

    /// Whether the kernel's main table has a route for exactly `prefix`.
    pub fn has_kernel_route(&self, prefix: &IpNet) -> Result<bool> {
        let fam = if matches!(prefix, IpNet::V4(_)) { "-4" } else { "-6" };
        let out = self.ip(&[fam, "route", "show", "exact", &prefix.trunc().to_string()])?;
        Ok(!out.trim().is_empty())
    }

    /// Polls `ping` until `addr` answers: veth carrier, bridge ports and IPv6 neighbour
    /// discovery all take a moment after link up.
    pub fn wait_reachable(&self, addr: IpAddr, timeout: Duration) -> Result<()> {
        let a = addr.to_string();
        wait_until(timeout, &format!("{a} reachable from {}", self.name), || {
            let out = output(self.command("ping").args(["-c1", "-W1", "-q", &a]))?;
            Ok(out.status.success())
        })
    }

    /// PIDs of processes still inside the namespace.
    pub fn pids(&self) -> Vec<u32> {
        run(Command::new("ip").args(["netns", "pids", &self.name]))
            .map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Safety net only: daemons are normally stopped (by PID) before this runs.
        for pid in self.pids() {
            eprintln!("netns {}: killing leftover pid {pid}", self.name);
            let _ = output(Command::new("kill").args(["-KILL", &pid.to_string()]));
        }
        if let Err(e) = run(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("deleting netns {}: {e}", self.name);
        }
    }
}

/// One end of a link: the namespace it is in, its name and its addresses.
#[derive(Debug, Clone)]
pub struct Iface {
    /// Namespace name.
    pub ns: String,
    /// Interface name inside that namespace.
    pub name: String,
    /// Addresses configured on it (with prefix length).
    pub addrs: Vec<IpNet>,
}

impl Iface {
    /// The first IPv4 address.
    pub fn ipv4(&self) -> Option<IpAddr> {
        self.addrs.iter().find(|a| a.addr().is_ipv4()).map(IpNet::addr)
    }

    /// The first IPv6 address.
    pub fn ipv6(&self) -> Option<IpAddr> {
        self.addrs.iter().find(|a| a.addr().is_ipv6()).map(IpNet::addr)
    }

    /// The first IPv4 address; panics with a clear message when there is none (test setup).
    pub fn v4(&self) -> IpAddr {
        self.ipv4().unwrap_or_else(|| panic!("{}/{} has no IPv4 address", self.ns, self.name))
    }

    /// The first IPv6 address; panics with a clear message when there is none (test setup).
    pub fn v6(&self) -> IpAddr {
        self.ipv6().unwrap_or_else(|| panic!("{}/{} has no IPv6 address", self.ns, self.name))
    }
}

fn parse_addrs(addrs: &[&str]) -> Result<Vec<IpNet>> {
    addrs.iter().map(|a| a.parse().map_err(|e| err!("bad address {a:?}: {e}"))).collect()
}

/// Creates a veth between `a` and `b` (created directly inside both namespaces, so the
/// names only need to be unique there), sets addresses like `"10.0.0.1/24"` or
/// `"fd00::1/64"` on each end and brings both up.
pub fn veth_pair(a: &Netns, b: &Netns, addr_a: &[&str], addr_b: &[&str]) -> Result<(Iface, Iface)> {
    let n = crate::next_id();
    let (name_a, name_b) = (format!("veth{n}a"), format!("veth{n}b"));
    let (addrs_a, addrs_b) = (parse_addrs(addr_a)?, parse_addrs(addr_b)?);
    run(Command::new("ip").args([
        "link",
        "add",
        &name_a,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        &name_b,
        "netns",
        b.name(),
    ]))?;
    for (ns, name, addrs) in [(a, &name_a, &addrs_a), (b, &name_b, &addrs_b)] {
        for addr in addrs {
            ns.add_addr(name, addr)?;
        }
        ns.ip(&["link", "set", name, "up"])?;
    }
    Ok((
        Iface { ns: a.name().to_owned(), name: name_a, addrs: addrs_a },
        Iface { ns: b.name().to_owned(), name: name_b, addrs: addrs_b },
    ))
}

/// A shared L2 segment: a bridge `br0` in its own "switch" namespace, one veth per
/// attached node. Addresses are handed out from the given subnets in attach order
/// (host 1, 2, ...) unless a host number is given.
#[derive(Debug)]
pub struct Lan {
    switch: Netns,
    v4: Option<IpNet>,
    v6: Option<IpNet>,
    next_host: u32,
    ports: u32,
}

impl Lan {
    /// Creates the switch namespace and its bridge. `v4`/`v6` are subnets like
    /// `"10.0.1.0/24"` and `"fd00:1::/64"`; either may be empty for a single-family LAN.
    pub fn new(tag: &str, v4: &str, v6: &str) -> Result<Lan> {
        let parse = |s: &str| -> Result<Option<IpNet>> {
            if s.is_empty() {
                return Ok(None);
            }
            s.parse().map(|n: IpNet| Some(n.trunc())).map_err(|e| err!("bad subnet {s:?}: {e}"))
        };
        let (v4, v6) = (parse(v4)?, parse(v6)?);
        let switch = Netns::new(&format!("{tag}-sw"))?;
        // No STP and no forward delay: ports forward as soon as they are up.
        switch.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ])?;
        switch.ip(&["link", "set", "br0", "up"])?;
        Ok(Lan { switch, v4, v6, next_host: 1, ports: 0 })
    }

    /// Attaches `node` with the next free host numbers; returns the node's interface.
    pub fn attach(&mut self, node: &Netns) -> Result<Iface> {
        let host = self.next_host;
        self.attach_host(node, host)
    }

    /// Attaches `node` as host number `host` in both subnets (e.g. 254 for a router).
    pub fn attach_host(&mut self, node: &Netns, host: u32) -> Result<Iface> {
        self.next_host = self.next_host.max(host + 1);
        let mut addrs = Vec::new();
        for net in [self.v4, self.v6].into_iter().flatten() {
            addrs.push(host_addr(&net, host)?);
        }
        let port = format!("p{}", self.ports);
        self.ports += 1;
        let name = format!("lan{}", crate::next_id());
        run(Command::new("ip").args([
            "link",
            "add",
            &port,
            "netns",
            self.switch.name(),
            "type",
            "veth",
            "peer",
            "name",
            &name,
            "netns",
            node.name(),
        ]))?;
        self.switch.ip(&["link", "set", &port, "master", "br0", "up"])?;
        for a in &addrs {
            node.add_addr(&name, a)?;
        }
        node.ip(&["link", "set", &name, "up"])?;
        Ok(Iface { ns: node.name().to_owned(), name, addrs })
    }

    /// The switch namespace (capture on `br0` there to see every node's traffic).
    pub fn switch(&self) -> &Netns {
        &self.switch
    }
}

/// The `host`-th address of `net`, keeping its prefix length.
fn host_addr(net: &IpNet, host: u32) -> Result<IpNet> {
    let addr = match net {
        IpNet::V4(n) => {
            let base = u32::from(n.network());
            IpAddr::V4(base.checked_add(host).ok_or_else(|| err!("host {host} overflows"))?.into())
        }
        IpNet::V6(n) => IpAddr::V6((u128::from(n.network()) + u128::from(host)).into()),
    };
    if !net.contains(&addr) {
        return Err(err!("host {host} is outside {net}"));
    }
    IpNet::new(addr, net.prefix_len()).map_err(|e| err!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_keep_the_subnet_prefix_length() {
        let v4: IpNet = "10.0.1.0/24".parse().unwrap();
        assert_eq!(host_addr(&v4, 5).unwrap().to_string(), "10.0.1.5/24");
        let v6: IpNet = "fd00:1::/64".parse().unwrap();
        assert_eq!(host_addr(&v6, 254).unwrap().to_string(), "fd00:1::fe/64");
        assert!(host_addr(&v4, 256).is_err());
    }
}
