//! `calico-bgpd` started by hand: `--version` names the build, and the
//! daemon refuses to run beside another BGP speaker on its port (BIRD
//! inside calico-node, on a Calico node).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_calico-bgpd");

/// The commit `ctl/build.rs` should have found: `HEAD` of the checkout the
/// test runs in, or `unknown` outside one.
fn expected_commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join(".git").exists() {
        return "unknown".into();
    }
    Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

#[test]
fn version_names_the_program_the_version_and_the_commit() {
    for flag in ["--version", "-V"] {
        let out = Command::new(BIN).arg(flag).output().unwrap();
        assert!(out.status.success());
        let expected =
            format!("calico-bgpd {} (commit {})\n", env!("CARGO_PKG_VERSION"), expected_commit());
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }
}

#[test]
fn daemon_refuses_to_start_while_another_process_listens_on_its_port() {
    // The other speaker: any listener on the address and port configured.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("calico-bgpd-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("calico-bgpd.toml");
    std::fs::write(
        &config,
        format!(
            "control_socket = \"{}\"\n[node]\nname = \"n1\"\nipv4 = \"127.0.0.1/8\"\n\
             [listen]\naddresses = [\"127.0.0.1\"]\nport = {port}\n[fib]\nenabled = false\n",
            dir.join("ctl.sock").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("calico-bgpd kept running beside a listener on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("another process already listens on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("BIRD inside calico-node"), "{stderr}");
}
