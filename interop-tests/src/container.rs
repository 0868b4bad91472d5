//! Daemons as podman containers, attached to the network namespaces the
//! harness made (`--network ns:/run/netns/NAME`), so topologies, kernel
//! checks and captures work as they do for daemons started with `ip netns
//! exec`.
//!
//! The images are built locally from Debian packages by `scripts/images.sh`
//! (no registry pull). This machine's facts: crun refuses its hybrid
//! cgroups, so containers run with `--runtime runc`; podman's default
//! rlimits are refused, so `--ulimit` values are explicit. Each container
//! gets a name unique to the test process; it is removed with `--rm` when
//! it exits and by name when its [`crate::Daemon`] is dropped, never by
//! image or pattern.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::netns::{Netns, output};
use crate::{Result, err};

/// FRR 8.4 from Debian bookworm.
pub const FRR_IMAGE: &str = "localhost/calico-bgp-frr:bookworm";

/// calico-bgpd and calico-bgpctl (release build) on a minimal bookworm root.
pub const BGPD_IMAGE: &str = "localhost/calico-bgpd:latest";

/// The capabilities a container runs with. calico-bgpd gets what its
/// systemd unit keeps: routes, links and TCP-MD5 keys (`NET_ADMIN`) and
/// port 179 (`NET_BIND_SERVICE`), every other one dropped (it opens no raw
/// socket, and GTSM's `IP_MINTTL` needs none). FRR keeps podman's defaults
/// plus those its privilege code refuses to start without (`NET_ADMIN`,
/// `NET_RAW`, `SYS_ADMIN`).
fn caps(image: &str) -> &'static [&'static str] {
    if image == FRR_IMAGE {
        &["--cap-add=NET_ADMIN,NET_RAW,SYS_ADMIN"]
    } else {
        &["--cap-drop=all", "--cap-add=NET_ADMIN,NET_BIND_SERVICE"]
    }
}

/// Whether `image` exists in local storage (tests that need one skip, with a
/// message, when `scripts/images.sh` was not run).
pub fn image_exists(image: &str) -> bool {
    Command::new("podman").args(["image", "exists", image]).status().is_ok_and(|s| s.success())
}

/// A container name unique to this test process: `cbgp-PID-N-what`.
pub fn unique_name(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("cbgp-{}-{n}-{what}", std::process::id())
}

/// `podman run` of `argv` in `image`, in the foreground (the client proxies
/// signals to the container), named `name`, in `ns`, with each of `dirs`
/// mounted at its own path; removed when it exits.
pub fn run_command(ns: &Netns, name: &str, image: &str, dirs: &[&Path], argv: &[&str]) -> Command {
    let mut c = Command::new("podman");
    c.args(["run", "--rm"]);
    run_args(&mut c, ns, name, image, dirs, argv);
    c
}

/// Starts `argv` in a detached container that outlives this process (the
/// lab's daemons); [`remove`] stops it.
pub fn start_detached(
    ns: &Netns,
    name: &str,
    image: &str,
    dirs: &[&Path],
    argv: &[&str],
) -> Result<()> {
    let mut c = Command::new("podman");
    c.args(["run", "--detach"]);
    run_args(&mut c, ns, name, image, dirs, argv);
    let out = output(&mut c)?;
    if !out.status.success() {
        return Err(err!("podman run {name}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// Whether the container `name` exists and runs.
pub fn is_running(name: &str) -> bool {
    output(Command::new("podman").args(["inspect", "--format", "{{.State.Running}}", name]))
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "true")
}

fn run_args(c: &mut Command, ns: &Netns, name: &str, image: &str, dirs: &[&Path], argv: &[&str]) {
    c.args(["--name", name, "--runtime", "runc"])
        .args(ulimits())
        .arg(format!("--network=ns:/run/netns/{}", ns.name()))
        .args(caps(image));
    for d in dirs {
        c.arg("-v").arg(format!("{0}:{0}", d.display()));
    }
    c.args(["--entrypoint", argv.first().copied().unwrap_or("/bin/sh"), image]);
    c.args(argv.iter().skip(1));
}

/// Runs `argv` in a throwaway container of `image` (no network) and
/// returns its stdout.
pub fn run_once(image: &str, argv: &[&str]) -> Result<String> {
    let (prog, args) = argv.split_first().ok_or_else(|| err!("run_once: empty argv"))?;
    let out = output(
        Command::new("podman")
            .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
            .args(ulimits())
            .args(["--entrypoint", prog, image])
            .args(args),
    )?;
    if !out.status.success() {
        return Err(err!("podman run {image} {argv:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `--ulimit` for open files and processes: this process's own hard limits,
/// at most 16384 (podman's defaults are higher than this machine allows,
/// runc refuses to raise a limit, and here it refused 65536 processes even
/// under a higher hard limit).
fn ulimits() -> [String; 4] {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let hard = |name: &str| {
        limits
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l[name.len()..].split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1024)
            .min(16384)
    };
    let (files, procs) = (hard("Max open files"), hard("Max processes"));
    [
        "--ulimit".into(),
        format!("nofile={files}:{files}"),
        "--ulimit".into(),
        format!("nproc={procs}:{procs}"),
    ]
}

/// `uid:gid` of the frr user inside [`FRR_IMAGE`] (not the host's: a
/// directory FRR writes in is chowned to these), asked of the image once.
pub fn frr_owner() -> Result<String> {
    static OWNER: std::sync::OnceLock<Result<String>> = std::sync::OnceLock::new();
    OWNER
        .get_or_init(|| {
            let ids = run_once(FRR_IMAGE, &["sh", "-c", "echo $(id -u frr):$(id -g frr)"])?;
            Ok(ids.trim().to_owned())
        })
        .clone()
}

/// Sends `sig` to the container's main process.
pub fn kill(name: &str, sig: &str) -> Result<()> {
    let out = output(Command::new("podman").args(["kill", "--signal", sig, name]))?;
    if !out.status.success() {
        return Err(err!("podman kill -s {sig} {name}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// Stops the container (SIGTERM, then SIGKILL after `grace_secs`) and
/// removes it; nothing if it is gone already.
pub fn remove(name: &str, grace_secs: u64) {
    let _ = output(Command::new("podman").args(["stop", "-t", &grace_secs.to_string(), name]));
    let _ = output(Command::new("podman").args(["rm", "-f", "--ignore", name]));
}
