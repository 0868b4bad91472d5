//! A daemon running inside a namespace, in the foreground, owned by the test.
//!
//! Daemons are started in the foreground (`bird -f`, FRR without `-d`, ...) so the
//! test holds the child and knows its PID; nothing is ever killed by name. Drop sends
//! SIGTERM, waits up to a deadline, then SIGKILLs that PID.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::netns::{Netns, output};
use crate::{Result, err};

/// How long a stopping daemon gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// A child process started with `ip netns exec`, with stdout/stderr in files.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    logs: Vec<PathBuf>,
    status: Option<ExitStatus>,
    /// The podman container the process is the client of, if any.
    container: Option<String>,
}

impl Daemon {
    /// Starts `argv` inside `ns`; its output goes to `<dir>/<name>.stdout` / `.stderr`.
    pub fn spawn(ns: &Netns, name: &str, dir: &Path, argv: &[&str]) -> Result<Daemon> {
        Self::spawn_env(ns, name, dir, argv, &[])
    }

    /// Like [`Daemon::spawn`], with extra environment variables.
    pub fn spawn_env(
        ns: &Netns,
        name: &str,
        dir: &Path,
        argv: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Daemon> {
        let (prog, args) = argv.split_first().ok_or_else(|| err!("spawn {name}: empty argv"))?;
        let mut cmd: Command = ns.command(prog);
        cmd.args(args).envs(env.iter().copied());
        Self::start(name, dir, cmd)
    }

    /// Starts `argv` in the test's own namespace (a daemon that only listens on
    /// loopback, such as etcd, needs none of its own).
    pub fn spawn_host(name: &str, dir: &Path, argv: &[&str]) -> Result<Daemon> {
        let (prog, args) = argv.split_first().ok_or_else(|| err!("spawn {name}: empty argv"))?;
        let mut cmd = Command::new(prog);
        cmd.args(args);
        Self::start(name, dir, cmd)
    }

    fn start(name: &str, dir: &Path, mut cmd: Command) -> Result<Daemon> {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        cmd.stdin(Stdio::null()).stdout(File::create(&stdout)?).stderr(File::create(&stderr)?);
        let child = cmd.spawn().map_err(|e| err!("spawning {name} ({cmd:?}): {e}"))?;
        Ok(Daemon {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            logs: Vec::new(),
            status: None,
            container: None,
        })
    }

    /// Starts `argv` in a container of `image` attached to `ns`, with `dir`
    /// and `more` mounted at their own paths; the `podman run` client is
    /// the process held, its output the container's.
    pub fn spawn_container(
        ns: &Netns,
        name: &str,
        dir: &Path,
        image: &str,
        more: &[&Path],
        argv: &[&str],
    ) -> Result<Daemon> {
        let container = crate::container::unique_name(name);
        let mut dirs = vec![dir];
        dirs.extend_from_slice(more);
        let cmd = crate::container::run_command(ns, &container, image, &dirs, argv);
        let mut d = Self::start(name, dir, cmd)?;
        d.container = Some(container);
        Ok(d)
    }

    /// The container's name, for a daemon started by [`Daemon::spawn_container`].
    pub fn container(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// Also shows this log file (the daemon's own log) in [`Daemon::log_tail`].
    pub fn with_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.logs.push(path.into());
        self
    }

    /// The daemon's name as given to `spawn`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PID (that of the program itself: `ip netns exec` execs in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(st)) => {
                self.status = Some(st);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// An error unless the daemon is still running; the error has its log tail.
    pub fn check_running(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        Err(err!("{} exited ({:?}):\n{}", self.name, self.status, self.log_tail(30)).fatal())
    }

    /// Sends a signal by PID (`kill -s SIG PID`), or to the container's
    /// main process (`podman kill`).
    pub fn signal(&self, sig: &str) -> Result<()> {
        if let Some(c) = &self.container {
            return crate::container::kill(c, sig);
        }
        let out = output(Command::new("kill").args(["-s", sig, &self.pid().to_string()]))?;
        if !out.status.success() {
            return Err(err!(
                "kill -s {sig} {}: {}",
                self.pid(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        if let Some(c) = &self.container {
            // podman stops the container; its client then exits.
            crate::container::remove(c, grace.as_secs().max(1));
        }
        if self.is_running() {
            let _ = self.signal("TERM");
            let deadline = Instant::now() + grace;
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.is_running() {
                let _ = self.child.kill();
            }
        }
        let st = self.child.wait()?;
        self.status = Some(st);
        Ok(st)
    }

    /// The last `lines` lines of stdout, stderr and each extra log, labelled.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut s = String::new();
        for path in [&self.stdout, &self.stderr].into_iter().chain(&self.logs) {
            let t = tail(path, lines);
            if !t.trim().is_empty() {
                s.push_str(&format!("--- {} ({}) ---\n{t}\n", self.name, path.display()));
            }
        }
        s
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.stop(STOP_GRACE);
    }
}

/// Whether this process runs as root (effective uid 0): the benchmarks and
/// their tests build network namespaces.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uid = s.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            uid.split_whitespace().nth(1).map(|e| e == "0")
        })
        .unwrap_or(false)
}

/// calico-bgpd of the build profile of `beside` (a binary of this package),
/// built into the same target directory: a test run of `-p interop-tests`
/// does not build the bgp package's binaries, and a stale daemon would be
/// measured otherwise. A no-op when it is up to date.
pub fn calico_bgpd_beside(beside: &Path) -> Result<PathBuf> {
    let dir = beside.parent().ok_or_else(|| err!("{} has no directory", beside.display()))?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "bgp", "--bin", "calico-bgpd", "--manifest-path"])
        .arg(&manifest);
    if let Some(target) = dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let st = cmd.status().map_err(|e| err!("running cargo: {e}"))?;
    if !st.success() {
        return Err(err!("building calico-bgpd: {st}"));
    }
    Ok(dir.join("calico-bgpd"))
}

/// A `kB` field (`VmHWM:`, `VmRSS:`) of `/proc/PID/status`, in KiB.
pub fn status_kib(pid: u32, key: &str) -> Result<u64> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let s = std::fs::read_to_string(&path).map_err(|e| err!("{}: {e}", path.display()))?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| err!("no {key} in {}", path.display()))
}

/// The last `lines` lines of a file (reads at most the last 64 KiB).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Writes `contents` to `path`, with the path in the error.
pub fn write_file(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| err!("writing {}: {e}", path.display()))
}

/// Writes an executable `#!/bin/sh` script.
pub fn write_script(path: &Path, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    write_file(path, &format!("#!/bin/sh\n{body}\n"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}
