//! The files under `deploy/`: both systemd units pass `systemd-analyze
//! verify` without a warning, keep their hardening, and the example
//! configurations (the package's conffile, the route reflector's) are valid
//! for the daemon.

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)
}

const UNITS: [&str; 2] = ["calico-bgpd.service", "calico-bgpd-rr.service"];

/// A throw-away root with the host's system units (for the targets ours
/// depend on), a stand-in `calico-bgpd` executable, `/bin/kill`, and the
/// units under test. `verify` checks that every Exec*= binary exists, and the
/// daemon is not installed on a build machine.
fn verify_root(units: &[(&str, String)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let sys = r.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&sys).unwrap();
    let host_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .iter()
        .find(|d| Path::new(d).join("multi-user.target").exists())
        .expect("no system units on this host: install the Debian package systemd");
    for entry in std::fs::read_dir(host_units).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Targets, slices and sockets are what the dependency graph needs.
        if [".target", ".slice", ".socket", ".service", ".mount"].iter().any(|s| name.ends_with(s))
            && entry.file_type().unwrap().is_file()
        {
            std::fs::copy(entry.path(), sys.join(&*name)).unwrap();
        }
    }
    for (dir, exe) in [("usr/sbin", "calico-bgpd"), ("bin", "kill")] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
        std::fs::copy("/bin/true", r.join(dir).join(exe)).unwrap();
    }
    let etc = r.join("etc/systemd/system");
    std::fs::create_dir_all(&etc).unwrap();
    for (name, text) in units {
        std::fs::write(etc.join(name), text).unwrap();
    }
    root
}

fn systemd_analyze(args: &[&str], root: &Path) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(format!("--root={}", root.display()))
        .output()
        .expect("systemd-analyze missing: run scripts/install-deps.sh (Debian package systemd)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn verify(units: &[(&str, String)]) -> (bool, String) {
    let root = verify_root(units);
    // The manual pages named by Documentation= come with the package, whose
    // own test checks them (scripts/test-package.sh).
    let mut args = vec!["verify", "--man=no"];
    args.extend(units.iter().map(|(n, _)| *n));
    systemd_analyze(&args, root.path())
}

fn unit_text(name: &str) -> String {
    std::fs::read_to_string(deploy(name)).unwrap()
}

#[test]
fn both_units_pass_systemd_analyze_verify_without_warnings() {
    let units: Vec<_> = UNITS.iter().map(|n| (*n, unit_text(n))).collect();
    let (ok, out) = verify(&units);
    assert!(ok && out.trim().is_empty(), "systemd-analyze verify:\n{out}");
}

#[test]
fn verify_catches_a_misspelt_key() {
    // Guards the test above: a typo must produce output, or it proves nothing.
    let bad = unit_text("calico-bgpd.service").replace("WatchdogSec=", "WatchdogSecs=");
    let (_, out) = verify(&[("calico-bgpd.service", bad)]);
    assert!(out.contains("Unknown key"), "{out}");
}

#[test]
fn units_keep_the_service_contract() {
    for name in UNITS {
        let text = unit_text(name);
        for line in [
            "Type=notify",
            "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure",
            "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
            "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            // The control socket's group: its members may use calico-bgpctl.
            "Group=calico-bgp",
        ] {
            assert!(text.lines().any(|l| l == line), "{name} lacks {line}");
        }
        assert!(text.lines().any(|l| l.starts_with("WatchdogSec=")), "{name} lacks WatchdogSec");
        assert!(
            text.lines().any(|l| l.starts_with("ExecStart=/usr/sbin/calico-bgpd --config ")),
            "{name}: ExecStart is not the packaged binary"
        );
        // BIRD runs inside calico-node, where no Conflicts= can see it; the
        // daemon refuses to start beside it instead.
        assert!(
            !text.lines().any(|l| l.starts_with("Conflicts=") && l.contains("bird")),
            "{name}: Conflicts= with a bird unit"
        );
    }
}

#[test]
fn packaged_example_configuration_is_valid_for_the_daemon() {
    // /etc/calico-bgp/calico-bgpd.toml in the Debian package.
    let text = std::fs::read_to_string(deploy("calico-bgpd.toml")).unwrap();
    let config = bgp::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.config().control_socket, Path::new(ctl::client::DEFAULT_SOCKET));
}

#[test]
fn units_are_well_hardened_by_systemd_analyze_security() {
    for name in UNITS {
        let root = verify_root(&[(name, unit_text(name))]);
        let (_, out) = systemd_analyze(&["security", "--offline=yes", name], root.path());
        let level: f64 = out
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
        // 0 is fully locked down, 10 is unprotected; a network daemon that
        // writes routes cannot reach 0, but must stay in systemd's "OK" band.
        assert!(level <= 3.0, "{name} exposure {level}:\n{out}");
    }
}

#[test]
fn route_reflector_example_is_a_valid_daemon_config() {
    let text = std::fs::read_to_string(deploy("route-reflector.toml")).unwrap();
    let config = bgp::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let summary = format!("{config:?}");
    assert!(summary.contains("244.0.0.1"), "cluster id not applied");
}
