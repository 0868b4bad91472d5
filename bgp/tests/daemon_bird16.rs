//! calico-bgpd's BIRD 1.6 control sockets, against the running daemon:
//! BIRD's own `birdc` 1.6.8 (the client calico-node's liveness probe runs)
//! and a raw client that reads the replies with the rules Calico's tools
//! apply (calico-node `health/bird`, `calicoctl node status`, the
//! CalicoNodeStatus populators). Node a peers with b (Established) and
//! with 10.0.0.3, where nobody answers (Connect / Active).

mod daemon_common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use daemon_common::{BIN, Node, as_eth0, mesh_config};
use interop_tests::{Daemon, Workdir, wait_until};

const BIRDC: &str = "/opt/bird16/usr/sbin/birdc";
const UP: Duration = Duration::from_secs(20);

/// `birdc -s SOCK ARGS` with no terminal: stdout and the exit status.
fn birdc(sock: &Path, args: &[&str]) -> (String, bool) {
    let o = Command::new(BIRDC)
        .arg("-s")
        .arg(sock)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (String::from_utf8_lossy(&o.stdout).into_owned(), o.status.success())
}

/// One reply read as Calico's scanners read it: line by line up to the
/// first line that is no continuation and whose fifth byte is a space.
fn reply(r: &mut impl BufRead) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let mut l = String::new();
        assert!(r.read_line(&mut l).unwrap() > 0, "connection closed after {out:?}");
        let l = l.trim_end_matches('\n').to_owned();
        let end = !l.starts_with(' ') && l.as_bytes().get(4) == Some(&b' ');
        out.push(l);
        if end {
            return out;
        }
    }
}

/// calicoctl's and calico-node's `show protocols` scan: only
/// 0000/0001/2002/1002/continuation lines, the exact heading, BGP rows of
/// six or more fields named `(Global|Node|Mesh)_...`: (peer, state, BGP state).
fn calico_peers(lines: &[String]) -> Vec<(String, String, String)> {
    let mut peers = Vec::new();
    for l in lines {
        let row = if l.starts_with("0000") || l.starts_with("0001") {
            continue;
        } else if let Some(h) = l.strip_prefix("2002-") {
            let words: Vec<&str> = h.split_whitespace().collect();
            assert_eq!(words, ["name", "proto", "table", "state", "since", "info"]);
            continue;
        } else if let Some(r) = l.strip_prefix("1002-") {
            r
        } else if let Some(r) = l.strip_prefix(' ') {
            r
        } else {
            panic!("unexpected output line from BIRD: {l:?}");
        };
        let f: Vec<&str> = row.split_whitespace().collect();
        let named = ["Global_", "Node_", "Mesh_"].iter().any(|p| f[0].starts_with(p));
        if f.len() >= 6 && f[1] == "BGP" && named {
            peers.push((f[0].to_owned(), f[3].to_owned(), f[5].to_owned()));
        }
    }
    peers
}

#[test]
fn birdc_and_calicos_parsers_read_the_bird_dialect_sockets() {
    let wd = Workdir::new("bgpd-bird16").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    let (ia, _) =
        interop_tests::veth_pair(&a.ns, &b.ns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    as_eth0(&a.ns, &ia.name);
    let (v4, v6) = (a.dir.join("bird.ctl"), a.dir.join("bird6.ctl"));
    // 10.0.0.4 is an explicit eBGP peer nobody answers for: it dials and
    // stays in Connect / Active.
    let cfg = format!(
        "{}[[peers]]\nname = \"tor\"\naddress = \"10.0.0.4\"\nremote_as = 65001\n\
         [graceful_restart]\nstale_time = 10\n\
         [bird_compat]\nipv4_socket = \"{}\"\nipv6_socket = \"{}\"\n",
        mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[("b", "10.0.0.2"), ("c", "10.0.0.3")]),
        v4.display(),
        v6.display()
    );
    a.write_config(&cfg);
    // More networks than `show route` writes at once, so its reply comes
    // in several pieces that must still read as one table.
    let mut b_blocks = vec!["10.244.2.0/26".to_owned()];
    b_blocks.extend((0..960).map(|i| format!("10.244.{}.{}/26", 16 + i / 4, i % 4 * 64)));
    let b_blocks: Vec<&str> = b_blocks.iter().map(String::as_str).collect();
    b.write_config(&mesh_config("b", "10.0.0.2", &b_blocks, &[("a", "10.0.0.1")]));
    a.start();
    b.start();

    // birdc: the liveness probe's check is that stdout starts with BIRD.
    let mut last = (String::new(), false);
    let r = wait_until(UP, "b's route in birdc show route", || {
        last = birdc(&v4, &["show", "route"]);
        Ok(last.0.contains("10.244.2.0/26      via 10.0.0.2 on eth0 [Mesh_10_0_0_2 "))
    });
    if let Err(e) = r {
        panic!("{e}\n{}\n--- log of a ---\n{}", last.0, a.log());
    }
    assert!(last.1, "{}", last.0);
    assert!(last.0.contains("10.244.1.0/26      blackhole [static1 "), "{}", last.0);
    assert!(last.0.contains("* (100/0) [i]"), "{}", last.0);

    let mut count = (String::new(), false);
    let r = wait_until(UP, "all of b's routes in birdc show route count", || {
        count = birdc(&v4, &["show", "route", "count"]);
        Ok(count.0.contains("962 of 962 routes for 962 networks"))
    });
    if let Err(e) = r {
        panic!("{e}\n{}\n--- log of a ---\n{}", count.0, a.log());
    }
    let (table, ok) = birdc(&v4, &["show", "route"]);
    assert!(ok, "{table}");
    let rows = table.lines().filter(|l| l.contains("/26 ")).count();
    assert_eq!(rows, 962, "{table}");

    let (out, ok) = birdc(&v4, &["show", "status"]);
    assert!(ok && out.starts_with("BIRD v0.3.3+birdv1.6.8 ready.\n"), "{out}");
    assert!(out.contains("\nRouter ID is 10.0.0.1\n"), "{out}");
    assert!(out.ends_with("\nDaemon is up and running\n"), "{out}");

    let mut out = String::new();
    let r = wait_until(UP, "Mesh_10_0_0_2 up in birdc show protocols", || {
        out = birdc(&v4, &["show", "protocols"]).0;
        Ok(out.contains("Mesh_10_0_0_2 BGP      master   up     "))
    });
    if let Err(e) = r {
        panic!("{e}\n{out}\n--- log of a ---\n{}", a.log());
    }
    assert!(out.contains("\nname     proto    table    state  since       info\n"), "{out}");
    assert!(out.contains("Mesh_10_0_0_2 BGP      master   up     "), "{out}");
    assert!(out.contains("Established   \n"), "{out}");
    let c =
        out.lines().find(|l| l.starts_with("Mesh_10_0_0_3 ")).unwrap_or_else(|| panic!("{out}"));
    let c: Vec<&str> = c.split_whitespace().collect();
    assert_eq!(c[3], "start", "{out}");
    // 10.0.0.3 sorts after us: Calico's mesh rule makes the session passive.
    assert!(["Idle", "Connect", "Active", "Passive"].contains(&c[5]), "{out}");
    let tor =
        out.lines().find(|l| l.starts_with("Node_10_0_0_4 ")).unwrap_or_else(|| panic!("{out}"));
    let tor: Vec<&str> = tor.split_whitespace().collect();
    assert_eq!(tor[3], "start", "{out}");
    assert!(["Idle", "Connect", "Active"].contains(&tor[5]), "{out}");

    let (out, _) = birdc(&v4, &["show", "protocols", "all", "Mesh_10_0_0_2"]);
    assert!(out.contains("\n  BGP state:          Established\n"), "{out}");
    assert!(out.contains("\n    Neighbor address: 10.0.0.2\n"), "{out}");
    assert!(out.contains("\n    Session:          internal "), "{out}");
    // What b's OPEN offered, in BIRD's words and order.
    let caps = out
        .lines()
        .find(|l| l.starts_with("    Neighbor caps:    "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        caps.contains(" refresh ") && caps.contains(" restart-able ") && caps.contains(" AS4"),
        "{out}"
    );

    let (out, _) = birdc(&v6, &["show", "protocols"]);
    assert!(!out.contains("Mesh_"), "the IPv6 socket lists IPv6 sessions only: {out}");

    // The raw socket, written to before the welcome is read, as
    // calico-node does; several commands on one connection.
    let s = UnixStream::connect(&v4).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut w = s.try_clone().unwrap();
    w.write_all(b"show protocols\r\nshow status\nfoo\nshow protocols all Mesh_10_0_0_2\n").unwrap();
    let mut r = BufReader::new(s);
    let welcome = reply(&mut r);
    assert_eq!(welcome, ["0001 BIRD v0.3.3+birdv1.6.8 ready."]);
    let peers = calico_peers(&reply(&mut r));
    assert_eq!(peers.len(), 3, "{peers:?}");
    assert_eq!(peers[0], ("Mesh_10_0_0_2".into(), "up".into(), "Established".into()));
    let status = reply(&mut r);
    assert!(status.iter().all(|l| !l.starts_with("0024")), "{status:?}");
    assert_eq!(status.last().unwrap(), "0013 Daemon is up and running");
    assert_eq!(reply(&mut r), ["9001 syntax error"]);
    let all = reply(&mut r);
    assert!(all.iter().any(|l| l.contains("BGP state:") && l.contains("Established")), "{all:?}");
    assert_eq!(all.last().unwrap(), "0000 ");

    // A client that asks and never reads holds only its own connection:
    // it writes until the socket buffers are full both ways.
    let stalled = UnixStream::connect(&v4).unwrap();
    let mut w = stalled.try_clone().unwrap();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = written.clone();
    std::thread::spawn(move || {
        while w.write_all(b"show protocols all\n").is_ok() {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let mut prev = 0;
    wait_until(UP, "the stalled client's writes to block", || {
        let n = written.load(std::sync::atomic::Ordering::Relaxed);
        let stuck = n > 0 && n == prev;
        prev = n;
        Ok(stuck)
    })
    .unwrap();
    let (out, ok) = birdc(&v4, &["show", "status"]);
    assert!(ok && out.ends_with("Daemon is up and running\n"), "{out}");
    assert!(a.ctl(&["show", "status"]).status.success());
    drop(stalled);

    a.stop();
    assert!(!v4.exists() && !v6.exists(), "sockets left behind");

    // Started again with its routes still in the kernel, a recovers (RFC
    // 4724): `show status` carries the 0024 block calico-node's readiness
    // checks for, until the recovery ends (here within stale_time, 10 s).
    a.start();
    let mut status = Vec::new();
    let r = wait_until(UP, "0024 in show status", || {
        status = ask(&v4, "show status");
        Ok(status.iter().any(|l| l == "0024-Graceful restart recovery in progress"))
    });
    if let Err(e) = r {
        panic!("{e}\n{status:#?}\n--- log of a ---\n{}", a.log());
    }
    assert!(status.iter().any(|l| l.starts_with("   Waiting for ")), "{status:#?}");
    assert!(status.iter().any(|l| l.starts_with("   Wait timer is ")), "{status:#?}");
    let r = wait_until(UP, "the recovery to end", || {
        status = ask(&v4, "show status");
        Ok(!status.iter().any(|l| l.starts_with("0024")))
    });
    if let Err(e) = r {
        panic!("{e}\n{status:#?}\n--- log of a ---\n{}", a.log());
    }
    a.stop();
}

/// One command on a fresh connection: the reply lines (welcome dropped).
fn ask(sock: &Path, cmd: &str) -> Vec<String> {
    let Ok(s) = UnixStream::connect(sock) else { return Vec::new() };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut w = s.try_clone().unwrap();
    w.write_all(format!("{cmd}\n").as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    reply(&mut r);
    reply(&mut r)
}

/// calico-node's runit service runs `bird -R -s SOCK -d -c FILE` and confd
/// checks with `bird -p -c FILE`: the binary takes both under that name.
#[test]
fn started_as_bird_it_takes_calico_nodes_command_lines() {
    use std::os::unix::process::CommandExt;
    let wd = Workdir::new("bgpd-as-bird").unwrap();
    let a = Node::new(&wd, "a");
    a.ns.ip(&["link", "set", "lo", "up"]).unwrap();
    a.write_config(&mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[]));
    let config = a.config.to_str().unwrap().to_owned();
    let as_bird = |args: &[&str]| Command::new(BIN).arg0("bird").args(args).output().unwrap();
    assert!(as_bird(&["-p", "-c", &config]).status.success());
    let bad = a.dir.join("bad.toml");
    std::fs::write(&bad, "[node]\nname = \"a\"\n").unwrap();
    assert_eq!(as_bird(&["-p", "-c", bad.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(as_bird(&["-u", "bird"]).status.code(), Some(2));

    // Found on PATH as `bird`, as runit's `exec bird ...` finds it.
    let bin = a.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("bird")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let sock = a.dir.join("bird.ctl");
    let argv = ["bird", "-R", "-s", sock.to_str().unwrap(), "-d", "-c", &config];
    let mut d = Daemon::spawn_env(&a.ns, "bird-a", &a.dir, &argv, &[("PATH", &path)]).unwrap();
    let mut out = String::new();
    let r = wait_until(UP, "birdc show status on the -s socket", || {
        d.check_running()?;
        out = birdc(&sock, &["show", "status"]).0;
        Ok(out.ends_with("Daemon is up and running\n"))
    });
    if let Err(e) = r {
        panic!("{e}\n{out}\n{}", d.log_tail(40));
    }
    let (out, _) = birdc(&sock, &["show", "protocols"]);
    assert!(out.contains("\nkernel1  Kernel   master   up     "), "{out}");
    d.stop(Duration::from_secs(8)).unwrap();
}
