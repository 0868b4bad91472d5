//! The operator surface end to end: two calico-bgpd processes in network
//! namespaces, observed and driven only through `calico-bgpctl` on their
//! control sockets and a raw HTTP scrape of the metrics endpoint.

mod daemon_common;

use std::process::Output;
use std::time::Duration;

use daemon_common::{Node, mesh_config};
use interop_tests::{Workdir, wait_until};

const UP: Duration = Duration::from_secs(20);

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Polls `calico-bgpctl ARGS` on `node` until it succeeds with `needle` in
/// its output; the snapshot it reads trails the daemon by up to 100 ms.
fn wait_ctl(node: &Node, args: &[&str], needle: &str) -> String {
    let mut last = String::new();
    let r = wait_until(UP, &format!("{needle:?} in `calico-bgpctl {}`", args.join(" ")), || {
        let o = node.ctl(args);
        last = text(&o);
        Ok(o.status.success() && String::from_utf8_lossy(&o.stdout).contains(needle))
    });
    if let Err(e) = r {
        panic!("{e}\n{last}\n--- log of {} ---\n{}", node.name, node.log());
    }
    last
}

/// `GET /metrics` over a plain TCP connection from inside `node`'s
/// namespace (bash's /dev/tcp: no HTTP client needed).
fn scrape(node: &Node, addr: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let script = format!(
        "exec 3<>/dev/tcp/{host}/{port} && printf 'GET /metrics HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3"
    );
    node.ns.exec(&["bash", "-c", &script]).unwrap()
}

/// The value of one sample line (`name{labels} value`).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn bgpctl_shows_peers_and_routes_refuses_a_bad_reload_advertises_and_metrics_agree() {
    let wd = Workdir::new("bgpd-ctl").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    interop_tests::veth_pair(&a.ns, &b.ns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    let metrics = "10.0.0.1:9179";
    let a_cfg = format!(
        "{}[metrics]\nlisten = \"{metrics}\"\n",
        mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[("b", "10.0.0.2")])
    );
    a.write_config(&a_cfg);
    b.write_config(&mesh_config("b", "10.0.0.2", &["10.244.2.0/26"], &[("a", "10.0.0.1")]));
    a.start();
    b.start();

    // show peers: the calicoctl table, Established.
    let peers = wait_ctl(&a, &["show", "peers"], "Established");
    assert!(peers.contains("10.0.0.2"), "{peers}");
    assert!(peers.contains("node-to-node mesh"), "{peers}");
    assert!(peers.contains("| up "), "{peers}");
    let json = a.ctl(&["-o", "json", "show", "peers"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["type"], "peers", "{}", text(&json));
    assert_eq!(v["data"][0]["state"], "Established", "{}", text(&json));
    assert_eq!(v["data"][0]["peer_type"], "mesh");

    // show peer: negotiated session details.
    let detail = wait_ctl(&a, &["-o", "json", "show", "peer", "10.0.0.2"], "\"hold_timer\"");
    let start = detail.find('{').unwrap();
    let end = detail.rfind('}').unwrap();
    let d: serde_json::Value = serde_json::from_str(&detail[start..=end]).unwrap();
    assert_eq!(d["data"]["hold_timer"]["period_secs"], 9, "{detail}");
    assert_eq!(d["data"]["remote_id"], "10.0.0.2", "{detail}");
    assert!(d["data"]["messages"]["received"]["open"].as_u64() >= Some(1), "{detail}");
    assert!(d["data"]["negotiated_caps"]["four_octet_as"].as_bool().unwrap(), "{detail}");

    // show routes: b's block via b, and a's own block as local.
    let routes = wait_ctl(&a, &["show", "routes"], "10.244.2.0/26");
    assert!(routes.contains("Mesh_10_0_0_2"), "{routes}");
    assert!(routes.contains("10.244.1.0/26"), "{routes}");
    assert!(routes.contains("local:block"), "{routes}");

    // reload with a broken file: refused naming the key, exit 1, sessions stay up.
    a.write_config(&a_cfg.replace("[node]\n", "[node]\nlocal_as = 0\n"));
    let reload = a.ctl(&["reload"]);
    let out = text(&reload);
    assert_eq!(reload.status.code(), Some(1), "{out}");
    assert!(out.contains("node.local_as"), "{out}");
    let status = wait_ctl(&a, &["-o", "json", "show", "status"], "refused");
    assert!(status.contains("node.local_as"), "{status}");
    let peers = a.ctl(&["show", "peers"]);
    assert!(text(&peers).contains("Established"), "{}", text(&peers));
    assert_eq!(a.count(" down "), 0, "{}", a.log());
    // The good file again: accepted.
    a.write_config(&a_cfg);
    let reload = a.ctl(&["reload"]);
    assert!(reload.status.success(), "{}", text(&reload));

    // advertise add: b receives the new block; del: b loses it.
    let add = a.ctl(&["advertise", "add", "10.244.9.0/26"]);
    assert!(add.status.success(), "{}", text(&add));
    wait_ctl(&b, &["show", "routes", "--peer", "10.0.0.1"], "10.244.9.0/26");
    let outside = a.ctl(&["advertise", "add", "192.0.2.0/24"]);
    assert_eq!(outside.status.code(), Some(1), "{}", text(&outside));
    assert!(text(&outside).contains("ip_pools"), "{}", text(&outside));
    let del = a.ctl(&["advertise", "del", "10.244.9.0/26"]);
    assert!(del.status.success(), "{}", text(&del));
    let r = wait_until(UP, "10.244.9.0/26 withdrawn from b", || {
        let o = b.ctl(&["show", "routes", "10.244.9.0/26"]);
        Ok(o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("10.244.9.0/26"))
    });
    r.unwrap_or_else(|e| panic!("{e}\n{}", b.log()));

    // Metrics: the same state as calico-bgpctl.
    let m = scrape(&a, metrics);
    assert!(m.starts_with("HTTP/1.0 200") || m.starts_with("HTTP/1.1 200"), "{m}");
    let labels = "{peer=\"10.0.0.2\",name=\"Mesh_10_0_0_2\"}";
    assert_eq!(sample(&m, &format!("calico_bgp_peer_up{labels}")), Some(1.0), "{m}");
    assert_eq!(sample(&m, &format!("calico_bgp_peer_flaps_total{labels}")), Some(0.0), "{m}");
    let received = "calico_bgp_peer_prefixes_received{peer=\"10.0.0.2\",name=\"Mesh_10_0_0_2\",family=\"ipv4\"}";
    assert_eq!(sample(&m, received), Some(1.0), "{m}");
    assert_eq!(sample(&m, "calico_bgp_last_reconfig_success"), Some(1.0), "{m}");
    assert!(sample(&m, "calico_bgp_event_loop_lag_seconds").is_some(), "{m}");
    let rib = sample(&m, "calico_bgp_rib_prefixes{family=\"ipv4\"}");
    assert_eq!(rib, Some(2.0), "a's block and b's block\n{m}");

    // The build, as --version names it, in show status and the metrics.
    let version = std::process::Command::new(daemon_common::BIN).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let status = a.ctl(&["show", "status"]);
    assert_eq!(String::from_utf8_lossy(&status.stdout).lines().next(), Some(&*version));
    let (name_version, commit) = version.split_once(" (commit ").unwrap();
    let build_info = format!(
        "calico_bgp_build_info{{version=\"{name_version}\",commit=\"{}\",router_id=\"10.0.0.1\"}}",
        commit.trim_end_matches(')')
    );
    assert_eq!(sample(&m, &build_info), Some(1.0), "{build_info} in\n{m}");

    // SIGTERM: the socket goes away with the daemon.
    assert!(a.stop().success(), "{}", a.log());
    assert!(!a.ctl_socket().exists());
    let gone = a.ctl(&["show", "status"]);
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone));
    assert!(text(&gone).contains("is calico-bgpd running?"), "{}", text(&gone));
}

/// systemd's side of `Type=notify` with a watchdog: READY=1 once the
/// listeners are up, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then
/// READY=1 around a SIGHUP, STOPPING=1 on SIGTERM.
#[test]
fn sd_notify_sequence_follows_start_watchdog_reload_and_stop() {
    use std::os::unix::net::UnixDatagram;

    let wd = Workdir::new("bgpd-notify").unwrap();
    let mut a = Node::new(&wd, "a");
    a.ns.ip(&["link", "set", "lo", "up"]).unwrap();
    a.write_config(&mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[]));
    let path = a.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let config = a.config.to_str().unwrap().to_owned();
    let d = interop_tests::Daemon::spawn_env(
        &a.ns,
        "bgpd-a-1",
        &a.dir,
        &[daemon_common::BIN, "--config", &config],
        &[("NOTIFY_SOCKET", path.to_str().unwrap()), ("WATCHDOG_USEC", "400000")],
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let mut recv = || {
        let n = sock.recv(&mut buf).unwrap_or_else(|e| panic!("no notification: {e}"));
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(recv(), "READY=1\n");
    // The control socket is bound before READY=1.
    assert!(a.ctl_socket().exists());
    assert_eq!(recv(), "WATCHDOG=1\n");
    assert_eq!(recv(), "WATCHDOG=1\n");
    d.signal("HUP").unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.starts_with("RELOADING=1\nMONOTONIC_USEC=")) {
        seen.push(recv());
    }
    let after: Vec<String> = (0..3).map(|_| recv()).collect();
    assert!(after.iter().any(|m| m == "READY=1\n"), "{seen:?} {after:?}");
    d.signal("TERM").unwrap();
    let mut rest = Vec::new();
    while !rest.iter().any(|m: &String| m == "STOPPING=1\n") {
        rest.push(recv());
    }
    a.daemon = Some(d);
    assert!(a.stop().success(), "{}", a.log());
}
