//! `calico-bgpd --calico-resources FILE --node NAME --print-config`: the
//! configuration derived from Calico resources, printed as TOML or JSON,
//! with refused resources and validation errors on stderr.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_calico-bgpd");

/// Writes `text` to a file unique to this test and returns its path.
fn temp_file(test: &str, ext: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calico-bgpd-calico-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{test}.{ext}"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).env_remove("CALICO_ROUTER_ID").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const RESOURCES: &str = r#"
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata:
  name: default
spec:
  asNumber: 64567
  listenPort: 150
---
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-master
spec:
  bgp:
    ipv4Address: 10.192.0.2/16
---
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-node-1
spec:
  bgp:
    ipv4Address: 10.192.0.3/16
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata:
  name: tor
spec:
  peerIP: 10.192.255.1
  asNumber: 65001
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata:
  name: broken
spec:
  peerIP: 10.0.0.1
  asNumber: many
"#;

#[test]
fn print_config_derives_toml_that_loads_back_and_reports_refused_resources() {
    let path = temp_file("toml", "yaml", RESOURCES);
    let (ok, stdout, stderr) = run(&[
        "--calico-resources",
        path.to_str().unwrap(),
        "--node",
        "kube-master",
        "--print-config",
    ]);
    assert!(ok, "{stderr}");
    let cfg = bgp::config::parse_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let c = cfg.config();
    assert_eq!(c.node.local_as, 64567);
    assert_eq!(c.listen.port, 150);
    assert_eq!(c.mesh.nodes[0].name, "kube-node-1");
    let names: Vec<String> = cfg.peers().iter().map(|p| p.bird_protocol_name()).collect();
    assert_eq!(names, ["Mesh_10_192_0_3", "Global_10_192_255_1"]);
    assert!(stderr.contains("problem: document 5 (BGPPeer broken)"), "{stderr}");
}

#[test]
fn print_config_as_json_and_local_settings_from_config() {
    let path = temp_file("json", "yaml", RESOURCES);
    let local = temp_file(
        "json-local",
        "toml",
        "log_level = \"warn\"\ncontrol_socket = \"/tmp/x.ctl\"\n[node]\nname = \"kube-node-1\"\n[fib]\ntable = 100\n",
    );
    let (ok, stdout, stderr) = run(&[
        "--calico-resources",
        path.to_str().unwrap(),
        "--config",
        local.to_str().unwrap(),
        "--print-config",
        "-o",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["node"]["name"], "kube-node-1");
    assert_eq!(v["node"]["ipv4"], "10.192.0.3/16");
    assert_eq!(v["fib"]["table"], 100);
    assert_eq!(v["control_socket"], "/tmp/x.ctl");
    assert_eq!(v["log_level"], "warn");
}

#[test]
fn print_config_fails_when_the_derived_config_does_not_validate() {
    // A node without BGP addresses: no address, no router id.
    let path = temp_file(
        "invalid",
        "yaml",
        "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: bare\n",
    );
    let (ok, _, stderr) =
        run(&["--calico-resources", path.to_str().unwrap(), "--node", "bare", "--print-config"]);
    assert!(!ok);
    assert!(stderr.contains("error: node.ipv4"), "{stderr}");
    assert!(stderr.contains("the derived configuration is invalid"), "{stderr}");
}

#[test]
fn calico_router_id_comes_from_the_environment() {
    let path = temp_file("router-id", "yaml", RESOURCES);
    let out = Command::new(BIN)
        .args(["--calico-resources", path.to_str().unwrap(), "--node", "kube-master"])
        .arg("--print-config")
        .env("CALICO_ROUTER_ID", "hash")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("router_id = \"hash\""), "{stdout}");
}

#[test]
fn check_of_a_file_datastore_derives_and_validates_the_resources_file() {
    let resources = temp_file("check-ds", "yaml", RESOURCES);
    let config = temp_file(
        "check-ds",
        "toml",
        &format!(
            "[node]\nname = \"kube-master\"\n[datastore]\ntype = \"file\"\npath = \"{}\"\n",
            resources.display()
        ),
    );
    let (ok, stdout, stderr) = run(&["--check", config.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid with"), "{stdout}");
    assert!(stderr.contains("bgppeers") || stderr.contains("broken"), "{stderr}");

    let missing = temp_file(
        "check-ds-missing",
        "toml",
        "[node]\nname = \"kube-node-9\"\n[datastore]\ntype = \"file\"\npath = \"/nonexistent/r.yaml\"\n",
    );
    let (ok, _, stderr) = run(&["--check", missing.to_str().unwrap()]);
    assert!(!ok && stderr.contains("/nonexistent/r.yaml"), "{stderr}");

    let no_node = temp_file(
        "check-ds-no-node",
        "toml",
        &format!(
            "[node]\nname = \"kube-node-9\"\n[datastore]\ntype = \"file\"\npath = \"{}\"\n",
            resources.display()
        ),
    );
    let (ok, _, stderr) = run(&["--check", no_node.to_str().unwrap()]);
    assert!(!ok && stderr.contains("node.name"), "{stderr}");
}
