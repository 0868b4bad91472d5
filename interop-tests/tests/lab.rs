//! The lab binary end to end, as the README runs it, with its own state dir and
//! namespace prefix so it can run beside a user's lab and other tests.
//!
//! ```text
//!   tor (FRR, AS 65000) .1 ---+--- n1 .11 --- pods a, b
//!                             +--- n2 .12 --- pod c        n1, n2, n3: calico-bgpd,
//!         192.168.1.0/24      +--- n3 .13 --- pod d        AS 64512, full mesh
//! ```
//!
//! Checks: 1. `up` exits 0 once every session is Established, the ToR has the three
//! blocks and same-node pods ping; 2. the daemons outlive `up`; 3. a second `up`
//! says the lab is already up; 4. `status` prints it again; 5. `down` stops every
//! recorded PID, deletes every namespace of the prefix and the state dir.
//!
//! The datastore variant (`up --datastore`): the same sessions and routes with
//! the nodes configured from an etcd on the LAN, and the report shows a block
//! affinity written with `etcdctl put` reaching the other nodes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use interop_tests::lab::{State, pid_is_ours};

const LAB: &str = env!("CARGO_BIN_EXE_lab");

/// The directory holding `lab`, which is where `cargo build` puts calico-bgpd and
/// calico-bgpctl too; builds them when a test run (`-p interop-tests`) did not.
fn bin_dir() -> PathBuf {
    let dir = Path::new(LAB).parent().unwrap().to_path_buf();
    if !dir.join("calico-bgpd").exists() || !dir.join("calico-bgpctl").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", "bgp", "--bin", "calico-bgpd", "-p", "ctl", "--bin"])
            .arg("calico-bgpctl")
            .status()
            .unwrap();
        assert!(st.success(), "building calico-bgpd and calico-bgpctl: {st}");
    }
    dir
}

/// Whether FRR's `show bgp ipv4 unicast` in `text` has a best (`>`) path for
/// `block`: on the block's own line or one of the continuation lines under it
/// (FRR lists a prefix's paths one per line, the network column blank after
/// the first; with every node sending the same third-party next hop the best
/// one need not come first).
fn tor_has_best(text: &str, block: &str) -> bool {
    let first_line = |l: &&str| l.starts_with('*') && l.contains(&format!(" {block} "));
    let mut lines = text.lines().skip_while(|l| !first_line(l));
    let Some(first) = lines.next() else { return false };
    let more = lines.take_while(|l| l.starts_with('*') && l.get(3..4) == Some(" "));
    std::iter::once(first).chain(more).any(|l| l.starts_with("*>") || l.starts_with("*="))
}

struct Lab {
    state_dir: PathBuf,
    prefix: String,
    bin_dir: PathBuf,
}

impl Lab {
    fn run(&self, cmd: &str) -> (Output, String) {
        self.run_with(cmd, &[])
    }

    fn run_with(&self, cmd: &str, extra: &[&str]) -> (Output, String) {
        let out = Command::new(LAB)
            .arg(cmd)
            .args(extra)
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(["--prefix", &self.prefix, "--timeout", "60", "--bin-dir"])
            .arg(&self.bin_dir)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out, text)
    }

    fn namespaces(&self) -> Vec<String> {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&format!("{}-", self.prefix)))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // A failed check must not leave daemons and namespaces behind.
        if self.state_dir.join("lab.state").exists() {
            let (_, text) = self.run("down");
            eprintln!("cleanup: {text}");
        }
    }
}

#[test]
fn lab_up_status_and_down_leave_nothing_behind() {
    let id = std::process::id();
    let lab = Lab {
        state_dir: std::env::temp_dir().join(format!("cbgp-{id}-labtest")),
        prefix: format!("cbgp-{id}-lab"),
        bin_dir: bin_dir(),
    };

    // 1.
    let (out, text) = lab.run("up");
    assert!(out.status.success(), "lab up failed:\n{text}");
    assert!(text.contains("all sessions Established"), "{text}");
    assert!(!text.contains("NOT established"), "{text}");
    for block in ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"] {
        assert!(tor_has_best(&text, block), "ToR lacks {block}:\n{text}");
    }
    // RFC 4271 §5.1.3 third party: every node sends each block via its owner.
    assert!(text.contains("ToR next hops: OK"), "{text}");
    assert!(text.contains("same-node datapath: OK"), "{text}");
    assert!(text.contains("cross-node datapath: "), "{text}");

    // 2.
    let state = State::load(&lab.state_dir).unwrap().expect("lab.state");
    assert_eq!(state.prefix, lab.prefix);
    assert_eq!(state.pids.len(), 5, "3 calico-bgpd + zebra + bgpd: {state:?}");
    for p in &state.pids {
        assert!(pid_is_ours(p.pid, &p.program), "{} (pid {}) died after up", p.label, p.pid);
    }
    assert_eq!(lab.namespaces().len(), state.netns.len(), "{:?}", lab.namespaces());

    // 3.
    let (out, text) = lab.run("up");
    assert!(out.status.success() && text.contains("lab already up"), "{text}");

    // 4.
    let (out, text) = lab.run("status");
    assert!(out.status.success(), "lab status failed:\n{text}");
    for n in ["n1", "n2", "n3"] {
        assert!(text.contains(&format!("=== node {n} ")), "{text}");
    }
    assert!(!text.contains("NOT established") && !text.contains("is not running"), "{text}");

    // 5.
    let (out, text) = lab.run("down");
    assert!(out.status.success(), "lab down failed:\n{text}");
    for p in &state.pids {
        assert!(!pid_is_ours(p.pid, &p.program), "{} (pid {}) survived down", p.label, p.pid);
    }
    assert!(lab.namespaces().is_empty(), "left behind: {:?}", lab.namespaces());
    assert!(!lab.state_dir.exists(), "{} left behind", lab.state_dir.display());
    let (out, text) = lab.run("down");
    assert!(out.status.success() && text.contains("lab is not up"), "{text}");
}

#[test]
fn lab_in_containers_routes_like_the_host_lab_and_down_removes_every_container() {
    use interop_tests::container;
    for image in [container::BGPD_IMAGE, container::FRR_IMAGE] {
        assert!(container::image_exists(image), "{image} is missing: run scripts/images.sh");
    }
    let id = std::process::id();
    let lab = Lab {
        state_dir: std::env::temp_dir().join(format!("cbgp-{id}-labct")),
        prefix: format!("cbgp-{id}-labc"),
        bin_dir: bin_dir(),
    };
    let (out, text) = lab.run_with("up", &["--containers"]);
    assert!(out.status.success(), "lab up --containers failed:\n{text}");
    assert!(text.contains("all sessions Established"), "{text}");
    for block in ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"] {
        assert!(tor_has_best(&text, block), "ToR lacks {block}:\n{text}");
    }
    assert!(text.contains("ToR next hops: OK"), "{text}");
    assert!(text.contains("same-node datapath: OK"), "{text}");
    let state = State::load(&lab.state_dir).unwrap().expect("lab.state");
    assert!(state.pids.is_empty(), "{state:?}");
    let names: Vec<&str> = state.containers.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names.len(), 5, "3 calico-bgpd + zebra + bgpd: {state:?}");
    for n in &names {
        assert!(container::is_running(n), "{n} is not running after up");
    }

    let (out, text) = lab.run("down");
    assert!(out.status.success(), "lab down failed:\n{text}");
    for n in &names {
        let exists = std::process::Command::new("podman")
            .args(["container", "exists", n])
            .status()
            .is_ok_and(|s| s.success());
        assert!(!exists, "container {n} survived down");
    }
    assert!(lab.namespaces().is_empty(), "left behind: {:?}", lab.namespaces());
}

#[test]
fn a_failed_up_removes_what_it_built_and_leaves_foreign_namespaces_alone() {
    use interop_tests::Netns;
    use interop_tests::lab::{self, Options};

    let id = std::process::id();
    let opts = Options {
        state_dir: std::env::temp_dir().join(format!("cbgp-{id}-labfail")),
        prefix: format!("cbgp-{id}-labf"),
        bin_dir: bin_dir(),
        timeout: std::time::Duration::from_secs(10),
        datastore: false,
        containers: false,
    };
    // Someone else's namespace where the lab wants its ToR.
    let foreign = Netns::named(&format!("{}-tor", opts.prefix)).unwrap();
    let mut out = Vec::new();
    let e = lab::up(&opts, &mut out).unwrap_err();
    let text = String::from_utf8_lossy(&out);
    assert!(e.msg.contains("ip netns del"), "{e}");
    assert!(text.contains("removing what was built"), "{text}");
    assert!(!opts.state_dir.exists(), "{} left behind", opts.state_dir.display());
    let lab = Lab {
        state_dir: opts.state_dir.clone(),
        prefix: opts.prefix.clone(),
        bin_dir: opts.bin_dir,
    };
    assert_eq!(lab.namespaces(), [foreign.name()], "only the foreign one remains");
}

#[test]
fn lab_with_datastore_follows_etcd_and_shows_a_new_affinity_reaching_the_others() {
    let id = std::process::id();
    let lab = Lab {
        state_dir: std::env::temp_dir().join(format!("cbgp-{id}-labds")),
        prefix: format!("cbgp-{id}-labd"),
        bin_dir: bin_dir(),
    };

    let (out, text) = lab.run_with("up", &["--datastore"]);
    assert!(out.status.success(), "lab up --datastore failed:\n{text}");
    assert!(text.contains("all sessions Established"), "{text}");
    for block in ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"] {
        assert!(tor_has_best(&text, block), "ToR lacks {block}:\n{text}");
    }
    assert!(text.contains("=== datastore (etcd http://192.168.1.100:2379"), "{text}");
    assert!(text.contains("/calico/resources/v3/projectcalico.org/bgppeers/tor"), "{text}");
    // The demonstration: n1 blackholes the new block, n2 and n3 route it via n1.
    let demo = text.split("=== datastore demonstration").nth(1).unwrap_or_default();
    assert!(demo.contains("n1: blackhole 10.244.4.0/26"), "{text}");
    for n in ["n2", "n3"] {
        assert!(demo.contains(&format!("{n}: 10.244.4.0/26 via 192.168.1.11")), "{text}");
    }
    assert!(demo.contains("datastore demonstration: OK"), "{text}");

    let state = State::load(&lab.state_dir).unwrap().expect("lab.state");
    assert_eq!(state.datastore.as_deref(), Some("http://192.168.1.100:2379"));
    assert_eq!(state.pids.len(), 6, "etcd + 3 calico-bgpd + zebra + bgpd: {state:?}");
    let nodes = std::fs::read_to_string(lab.state_dir.join("n1/calico-bgpd.toml")).unwrap();
    assert!(!nodes.contains("ipv4") && nodes.contains("etcdv3"), "{nodes}");

    let (out, text) = lab.run("status");
    assert!(out.status.success(), "lab status failed:\n{text}");
    assert!(text.contains("=== datastore (etcd"), "{text}");

    let (out, text) = lab.run("down");
    assert!(out.status.success(), "lab down failed:\n{text}");
    for p in &state.pids {
        assert!(!pid_is_ours(p.pid, &p.program), "{} (pid {}) survived down", p.label, p.pid);
    }
    assert!(lab.namespaces().is_empty(), "left behind: {:?}", lab.namespaces());
}
