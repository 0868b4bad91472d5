//! The harness cleans up after itself and builds the lab's topologies.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interop_tests::{Capture, Daemon, Lan, Netns, Workdir, veth_pair, wait_until};

fn netns_exists(name: &str) -> bool {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn namespaces_and_daemons_are_cleaned_up_even_when_the_test_panics() {
    let wd = Workdir::new("cleanup").unwrap();
    let dir = wd.path().to_owned();
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ns = Netns::new("doomed").unwrap();
        let d = Daemon::spawn(&ns, "sleeper", &dir, &["sleep", "300"]).unwrap();
        seen = Some((ns.name().to_owned(), d.pid()));
        panic!("test failure inside the scope");
    }));
    assert!(result.is_err());
    let (name, pid) = seen.unwrap();
    assert!(!netns_exists(&name), "{name} still exists");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} still running");
}

#[test]
fn daemon_stop_reports_exit_and_log_tail_shows_output() {
    let wd = Workdir::new("daemon").unwrap();
    let ns = Netns::new("d").unwrap();
    let mut d = Daemon::spawn(
        &ns,
        "talker",
        wd.path(),
        &["sh", "-c", "echo hello from ns; exec sleep 300"],
    )
    .unwrap();
    wait_until(Duration::from_secs(5), "output", || Ok(d.log_tail(5).contains("hello from ns")))
        .unwrap();
    assert!(d.is_running());
    let st = d.stop(Duration::from_secs(2)).unwrap();
    assert!(!st.success(), "SIGTERM'd sleep reports a signal exit");
    assert!(!d.is_running());
}

#[test]
fn two_lans_joined_by_a_router_reach_each_other_over_ipv4_and_ipv6() {
    // The CrossSubnet shape: n1, n2 on LAN A, n3 on LAN B, a router on both.
    let mut a = Lan::new("a", "10.1.0.0/24", "fd01::/64").unwrap();
    let mut b = Lan::new("b", "10.2.0.0/24", "fd02::/64").unwrap();
    let (n1, n2, n3, rt) = (
        Netns::new("n1").unwrap(),
        Netns::new("n2").unwrap(),
        Netns::new("n3").unwrap(),
        Netns::new("rt").unwrap(),
    );
    let i1 = a.attach(&n1).unwrap();
    let i2 = a.attach(&n2).unwrap();
    let i3 = b.attach(&n3).unwrap();
    let ra = a.attach_host(&rt, 254).unwrap();
    let rb = b.attach_host(&rt, 254).unwrap();
    assert_eq!(ra.v4().to_string(), "10.1.0.254");
    rt.enable_forwarding().unwrap();
    for (n, r) in [(&n1, &ra), (&n2, &ra), (&n3, &rb)] {
        n.add_route("default", r.v4()).unwrap();
        n.add_route("default", r.v6()).unwrap();
    }
    let t = Duration::from_secs(10);
    n1.wait_reachable(i2.v4(), t).unwrap();
    n1.wait_reachable(i3.v4(), t).unwrap();
    n3.wait_reachable(i1.v6(), t).unwrap();
}

#[test]
fn capture_on_a_veth_records_bgp_port_traffic() {
    let wd = Workdir::new("capture").unwrap();
    let (x, y) = (Netns::new("x").unwrap(), Netns::new("y").unwrap());
    let (ix, iy) = veth_pair(&x, &y, &["10.9.0.1/24"], &["10.9.0.2/24"]).unwrap();
    x.wait_reachable(iy.v4(), Duration::from_secs(5)).unwrap();
    let cap = Capture::start(&x, &ix.name, &wd.join("c.pcap")).unwrap();
    // A SYN to port 179 and its RST (nobody listens) are enough to land in the file.
    let _ = x.exec(&["bash", "-c", "exec 3<>/dev/tcp/10.9.0.2/179"]);
    let file = cap.stop().unwrap();
    // 24-octet pcap header plus at least one packet record.
    assert!(std::fs::metadata(&file).unwrap().len() > 24 + 16);
}
