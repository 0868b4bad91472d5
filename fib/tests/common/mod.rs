//! A minimal network-namespace helper for the FIB tests and the benchmark.
//!
//! Namespaces are named `cbgp-fib-<pid>-<n>` so parallel test processes never collide,
//! and are deleted on drop, also when the test panics. Code that opens netlink sockets
//! runs on a thread that has entered the namespace ([`Netns::run`]): sockets belong to
//! the namespace of the thread that created them, and threads it spawns (the tokio
//! workers) start in it too.

#![allow(dead_code)]

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{CloneFlags, setns};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace we created; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

/// Runs a command, panicking with its stderr if it fails.
pub fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Netns {
    /// Creates `cbgp-fib-<pid>-<n>` with `lo` up.
    pub fn new() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("cbgp-fib-{}-{n}", std::process::id());
        sh(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS...`; panics on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        sh(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip -n NS ARGS...`; whether it succeeded.
    pub fn ip_ok(&self, args: &[&str]) -> bool {
        Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `f` on a fresh thread inside the namespace, with a tokio runtime there.
    pub fn run<R: Send + 'static, F>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send + 'static,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            setns(fd, CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Runs the future `f` makes on a 2-worker tokio runtime on a fresh thread inside
    /// the namespace.
    pub fn block_on<R, Fut, F>(&self, f: F) -> R
    where
        R: Send + 'static,
        Fut: std::future::Future<Output = R>,
        F: FnOnce() -> Fut + Send + 'static,
    {
        self.run(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(f())
        })
    }

    /// A typical node: `eth0` (a veth whose peer stays in the namespace) with
    /// 10.0.0.5/24 and fd00::5/64, default routes via 10.0.0.1 and fd00::1.
    pub fn node(&self) {
        self.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
        self.ip(&["addr", "add", "10.0.0.5/24", "dev", "eth0"]);
        self.ip(&["addr", "add", "fd00::5/64", "dev", "eth0", "nodad"]);
        self.ip(&["link", "set", "eth0", "up"]);
        self.ip(&["link", "set", "eth0p", "up"]);
        self.ip(&["route", "add", "default", "via", "10.0.0.1", "dev", "eth0"]);
        self.ip(&["-6", "route", "add", "default", "via", "fd00::1", "dev", "eth0"]);
    }

    /// A stand-in `tunl0`: this kernel has no ipip module ("Unknown device type"), so a
    /// veth renamed `tunl0` carries the IPIP route shape (onlink via the BGP next hop).
    pub fn fake_tunl0(&self) {
        self.ip(&["link", "add", "tunl0", "type", "veth", "peer", "name", "tunl0p"]);
        self.ip(&["link", "set", "tunl0", "up"]);
        self.ip(&["link", "set", "tunl0p", "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}
