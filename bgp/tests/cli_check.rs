//! `calico-bgpd --check` as confd would run it: exit status and messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_calico-bgpd");
const EXAMPLES: [&str; 3] = ["mesh-node.toml", "tor-ebgp-node.toml", "route-reflector.toml"];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples").join(name)
}

/// Writes `text` to a file unique to this test and returns its path.
fn temp_config(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calico-bgpd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{test}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&std::ffi::OsStr]) -> (Output, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[test]
fn every_example_passes_check() {
    for name in EXAMPLES {
        let path = example(name);
        let (out, stdout, stderr) = run(&["--check".as_ref(), path.as_os_str()]);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stdout.contains("configuration is valid"), "{name}: {stdout}");
        assert!(stderr.is_empty(), "{name} warns: {stderr}");
    }
}

#[test]
fn bird_style_p_and_c_flags_check_the_config_file() {
    let path = example("mesh-node.toml");
    let (out, stdout, _) = run(&["-p".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert!(out.status.success());
    assert!(stdout.contains("node worker-1 AS 64512"), "{stdout}");
}

#[test]
fn bad_file_fails_check_naming_every_bad_key() {
    let path = temp_config(
        "bad",
        r#"
        [node]
        name = "n1"
        ipv4 = "10.0.0.1/24"
        [timers]
        hold_time = 2
        [[peers]]
        name = "a"
        address = "10.0.0.9"
        remote_as = 0
        [[peers]]
        name = "b"
        address = "10.0.0.9"
        remote_as = 65000
        "#,
    );
    let (out, _, stderr) = run(&["--check".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: timers.hold_time = 2: "), "{stderr}");
    assert!(stderr.contains("peers[0].remote_as = 0"), "{stderr}");
    assert!(stderr.contains("peers[1].address = 10.0.0.9"), "{stderr}");
    assert!(stderr.contains("3 error(s)"), "{stderr}");
}

#[test]
fn misspelt_key_fails_check_naming_it() {
    let path =
        temp_config("typo", "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\nlocal_asn = 1\n");
    let (out, _, stderr) = run(&["--check".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("local_asn"), "{stderr}");
}

#[test]
fn missing_file_fails_check() {
    let (out, _, stderr) = run(&["--check".as_ref(), "/nonexistent/calico-bgpd.toml".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot read /nonexistent/calico-bgpd.toml"), "{stderr}");
}

#[test]
fn config_flag_refuses_to_start_on_an_invalid_file() {
    // `--config` runs the daemon (tests/daemon_*.rs); a bad file stops it
    // before anything binds.
    let (out, _, stderr) = run(&["--config".as_ref(), "/nonexistent/calico-bgpd.toml".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot read /nonexistent/calico-bgpd.toml"), "{stderr}");
}

#[test]
fn check_names_the_etcd_variable_that_holds_a_bad_value() {
    let path = temp_config(
        "etcd",
        "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n[datastore]\ntype = \"etcdv3\"\n\
         etcd_endpoints = [\"http://127.0.0.1:2379\"]\n",
    );
    let ok = Command::new(BIN).arg("--check").arg(&path).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = Command::new(BIN)
        .arg("--check")
        .arg(&path)
        .env("ETCD_ENDPOINTS", "127.0.0.1:2379")
        .env("ETCD_CERT_FILE", "/etc/calico/etcd-cert")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: ETCD_ENDPOINTS = 127.0.0.1:2379: not an etcd client URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("datastore.etcd_key_file = (unset): ETCD_CERT_FILE is set"),
        "{stderr}"
    );
}

#[test]
fn check_names_the_key_of_a_bad_filter_rule_and_a_missing_filter() {
    let path = temp_config(
        "bad-filter",
        r#"
        [node]
        name = "n1"
        ipv4 = "10.0.0.1/24"
        [[filters]]
        name = "tor-out"
        [[filters.export_v4]]
        action = "Accept"
        [[filters.export_v4]]
        action = "Accept"
        [[filters.export_v4]]
        action = "Accept"
        cidr = "10.0.0.0/33"
        match_operator = "In"
        [[peers]]
        name = "tor"
        address = "10.0.0.254"
        remote_as = 65000
        filters = ["tor-out", "tor-in"]
        "#,
    );
    let (out, _, stderr) = run(&["--check".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("filters[0].export_v4[2].cidr = 10.0.0.0/33: "), "{stderr}");
    assert!(
        stderr.contains("peers[0].filters[1] = tor-in: names no [[filters]] entry"),
        "{stderr}"
    );
}
