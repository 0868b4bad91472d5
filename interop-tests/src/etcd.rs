//! A real etcd (Debian's `etcd-server`, v3.4) for the datastore tests, plus
//! `etcdctl` to write to it and a [`TcpGate`] to cut a client off from it.
//!
//! etcd runs in the test's own namespace on loopback, on two free ports picked at
//! start, or ([`Etcd::start_in`]) inside a namespace on an address of it, where
//! nodes in other namespaces reach it on etcd's standard ports; its data is in
//! the work dir and it is killed by PID. [`Etcd::kill`] and
//! [`Etcd::restart`] keep the data dir and ports, as a crashed and restarted
//! member would. [`EtcdTls::generate`] makes a CA and server and client
//! certificates with the `openssl` CLI, for `--client-cert-auth`, on loopback
//! or ([`Etcd::start_in_tls`]) in a namespace.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::netns::{Netns, run};
use crate::process::{Daemon, STOP_GRACE, write_file};
use crate::{Result, err, wait_until};

/// The etcd server binary.
pub const ETCD: &str = "/usr/bin/etcd";
/// etcd's standard client port, used inside a namespace of its own.
pub const CLIENT_PORT: u16 = 2379;
/// etcd's standard peer port.
pub const PEER_PORT: u16 = 2380;
/// How long etcd gets to answer a health check after starting.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Certificates for an etcd that requires client certificates (all PEM).
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// The CA that signed both certificates.
    pub ca: PathBuf,
    /// etcd's certificate (SAN 127.0.0.1, localhost) and key.
    pub server_cert: PathBuf,
    /// etcd's key.
    pub server_key: PathBuf,
    /// A client certificate signed by the CA.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl EtcdTls {
    /// A fresh CA, server and client certificate (P-256, valid one day) in `dir`.
    pub fn generate(dir: &Path) -> Result<EtcdTls> {
        EtcdTls::generate_for(dir, &[])
    }

    /// [`EtcdTls::generate`], the server certificate also valid for `addrs`
    /// (an etcd listening on a namespace's address).
    pub fn generate_for(dir: &Path, addrs: &[IpAddr]) -> Result<EtcdTls> {
        let p = |n: &str| dir.join(n);
        let s = |p: &PathBuf| p.to_string_lossy().into_owned();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let tls = EtcdTls {
            ca: p("ca.pem"),
            server_cert: p("server.pem"),
            server_key: p("server-key.pem"),
            client_cert: p("client.pem"),
            client_key: p("client-key.pem"),
        };
        let ca_key = p("ca-key.pem");
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", &s(&ca_key), "-out", &s(&tls.ca)],
                &["-days", "1", "-subj", "/CN=cbgp-test-ca"],
            ]
            .concat(),
        )?;
        let extra: String = addrs.iter().map(|a| format!(",IP:{a}")).collect();
        let server_ext = format!(
            "subjectAltName=IP:127.0.0.1,DNS:localhost{extra}\nextendedKeyUsage=serverAuth\n"
        );
        for (name, cert, key, ext) in [
            ("server", &tls.server_cert, &tls.server_key, server_ext.as_str()),
            ("client", &tls.client_cert, &tls.client_key, "extendedKeyUsage=clientAuth\n"),
        ] {
            let csr = p(&format!("{name}.csr"));
            let extfile = p(&format!("{name}.ext"));
            write_file(&extfile, &format!("basicConstraints=CA:FALSE\n{ext}"))?;
            openssl(
                &[
                    &["req"][..],
                    &ec,
                    &["-keyout", &s(key), "-out", &s(&csr)],
                    &["-subj", &format!("/CN=cbgp-test-{name}")],
                ]
                .concat(),
            )?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                &s(&csr),
                "-CA",
                &s(&tls.ca),
                "-CAkey",
                &s(&ca_key),
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &s(&extfile),
                "-out",
                &s(cert),
            ])?;
        }
        Ok(tls)
    }
}

fn openssl(args: &[&str]) -> Result<()> {
    run(Command::new("openssl").args(args)).map(|_| ())
}

/// A running single-member etcd.
#[derive(Debug)]
pub struct Etcd {
    daemon: Option<Daemon>,
    dir: PathBuf,
    /// The namespace etcd (and etcdctl) run in; `None`: the test's own.
    netns: Option<String>,
    /// The address it listens on.
    host: IpAddr,
    client_port: u16,
    peer_port: u16,
    tls: Option<EtcdTls>,
    /// `user:password` for etcdctl once authentication is on.
    user: Option<String>,
    starts: u32,
}

impl Etcd {
    /// Starts etcd with its data and logs under `dir`; with `tls`, clients must
    /// present a certificate signed by its CA. Returns once it answers.
    pub fn start(dir: &Path, tls: Option<EtcdTls>) -> Result<Etcd> {
        let (client_port, peer_port) = free_ports()?;
        let mut etcd = Etcd {
            daemon: None,
            dir: dir.to_owned(),
            netns: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            client_port,
            peer_port,
            tls,
            user: None,
            starts: 0,
        };
        etcd.launch()?;
        Ok(etcd)
    }

    /// Starts etcd (plain HTTP) inside `ns`, listening on `addr` (an address of
    /// `ns`) on ports [`CLIENT_PORT`] and [`PEER_PORT`]; etcdctl runs in `ns` too.
    /// `ns` must outlive the returned value.
    pub fn start_in(dir: &Path, ns: &Netns, addr: IpAddr) -> Result<Etcd> {
        Etcd::start_in_tls(dir, ns, addr, None)
    }

    /// [`Etcd::start_in`], requiring client certificates signed by `tls`'s CA
    /// when given (its server certificate must name `addr`:
    /// [`EtcdTls::generate_for`]).
    pub fn start_in_tls(
        dir: &Path,
        ns: &Netns,
        addr: IpAddr,
        tls: Option<EtcdTls>,
    ) -> Result<Etcd> {
        let mut etcd = Etcd {
            daemon: None,
            dir: dir.to_owned(),
            netns: Some(ns.name().to_owned()),
            host: addr,
            client_port: CLIENT_PORT,
            peer_port: PEER_PORT,
            tls,
            user: None,
            starts: 0,
        };
        etcd.launch()?;
        Ok(etcd)
    }

    /// The client URL (`http://` or `https://<address>:<port>`).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", SocketAddr::new(self.host, self.client_port))
    }

    /// The certificates, when started with TLS.
    pub fn tls(&self) -> Option<&EtcdTls> {
        self.tls.as_ref()
    }

    fn launch(&mut self) -> Result<()> {
        self.starts += 1;
        let data = self.dir.join("etcd-data");
        let client = self.endpoint();
        let peer = format!("http://{}", SocketAddr::new(self.host, self.peer_port));
        let cluster = format!("cbgp={peer}");
        let data = data.to_string_lossy().into_owned();
        let in_ns = self.netns.iter().flat_map(|ns| ["ip", "netns", "exec", ns.as_str()]);
        let mut argv: Vec<String> = in_ns
            .chain([
                ETCD,
                "--name",
                "cbgp",
                "--data-dir",
                &data,
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
                "--initial-cluster",
                &cluster,
            ])
            .map(|s| s.to_string())
            .collect();
        if let Some(t) = &self.tls {
            for (flag, path) in [
                ("--cert-file", &t.server_cert),
                ("--key-file", &t.server_key),
                ("--trusted-ca-file", &t.ca),
            ] {
                argv.push(flag.to_owned());
                argv.push(path.to_string_lossy().into_owned());
            }
            argv.push("--client-cert-auth".to_owned());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let name = format!("etcd-{}", self.starts);
        self.daemon = Some(Daemon::spawn_host(&name, &self.dir, &argv)?);
        wait_until(START_TIMEOUT, "etcd to answer a health check", || {
            self.daemon.as_mut().map(Daemon::check_running).transpose()?;
            Ok(self.ctl(&["endpoint", "health"]).is_ok())
        })
        .map_err(|e| err!("{e}\n{}", self.log_tail(30)))
    }

    /// Turns on etcd's authentication with `root` as the only user; etcdctl here
    /// logs in as root from then on.
    pub fn enable_auth(&mut self, password: &str) -> Result<()> {
        self.ctl(&["user", "add", &format!("root:{password}")])?;
        self.ctl(&["auth", "enable"])?;
        self.user = Some(format!("root:{password}"));
        Ok(())
    }

    /// SIGKILL, as a crash: the data dir stays.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut d) = self.daemon.take() {
            d.signal("KILL")?;
            d.stop(STOP_GRACE)?;
        }
        Ok(())
    }

    /// Starts again on the same data dir and ports (after [`Etcd::kill`]).
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.launch()
    }

    /// Runs `etcdctl` against this etcd (with the client certificate under TLS).
    pub fn ctl(&self, args: &[&str]) -> Result<String> {
        self.ctl_stdin(args, None)
    }

    fn ctl_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String> {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "etcdctl"]);
                c
            }
            None => Command::new("etcdctl"),
        };
        cmd.env("ETCDCTL_API", "3").arg(format!("--endpoints={}", self.endpoint()));
        if let Some(t) = &self.tls {
            cmd.arg(format!("--cacert={}", t.ca.display()))
                .arg(format!("--cert={}", t.client_cert.display()))
                .arg(format!("--key={}", t.client_key.display()));
        }
        if let Some(user) = &self.user {
            cmd.arg(format!("--user={user}"));
        }
        cmd.args(["--command-timeout=5s", "--dial-timeout=2s"]).args(args);
        let Some(input) = stdin else { return run(&mut cmd) };
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| err!("etcdctl {args:?}: {e}"))?;
        if let Some(mut s) = child.stdin.take() {
            s.write_all(input)?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(err!("etcdctl {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `etcdctl put`; returns the revision of the write. The value goes through
    /// stdin, so it may be any bytes.
    pub fn put(&self, key: &str, value: &[u8]) -> Result<i64> {
        let out = self.ctl_stdin(&["put", key, "-w", "json"], Some(value))?;
        header_revision(&out)
    }

    /// `etcdctl del`; returns the revision after it.
    pub fn del(&self, key: &str) -> Result<i64> {
        header_revision(&self.ctl(&["del", key, "-w", "json"])?)
    }

    /// The current revision.
    pub fn revision(&self) -> Result<i64> {
        header_revision(&self.ctl(&["get", "/", "--limit=1", "-w", "json"])?)
    }

    /// `etcdctl compact <revision>`: history before it is gone.
    pub fn compact(&self, revision: i64) -> Result<()> {
        self.ctl(&["compact", &revision.to_string(), "--physical"]).map(|_| ())
    }

    /// The last lines of etcd's output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.daemon.as_ref().map(|d| d.log_tail(lines)).unwrap_or_default()
    }
}

fn header_revision(json: &str) -> Result<i64> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    v["header"]["revision"].as_i64().ok_or_else(|| err!("no header.revision in {json}"))
}

/// Two distinct free loopback ports (held together while picked).
fn free_ports() -> Result<(u16, u16)> {
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// A TCP forwarder on a loopback port that can be closed (live connections cut,
/// new ones refused) and opened again: a network partition between one client and
/// a server that keeps running. Frozen, it holds every byte without closing
/// anything: a peer that vanished without a word.
#[derive(Debug)]
pub struct TcpGate {
    port: u16,
    open: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpGate {
    /// Forwards a new loopback port to `127.0.0.1:target`.
    pub fn new(target: u16) -> Result<TcpGate> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let open = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (o, f, l) = (open.clone(), frozen.clone(), live.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if !o.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let mut live = l.lock().unwrap();
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        live.push(c);
                    }
                }
                pipe(&client, &server, f.clone());
                pipe(&server, &client, f.clone());
            }
        });
        Ok(TcpGate { port, open, frozen, live })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cuts every forwarded connection and refuses new ones until [`TcpGate::open`].
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again (and thaws).
    pub fn open(&self) {
        self.frozen.store(false, Ordering::SeqCst);
        self.open.store(true, Ordering::SeqCst);
    }

    /// Stops forwarding without closing: bytes are held until [`TcpGate::open`].
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either side closes, holding what it
/// read while `frozen`.
fn pipe(from: &TcpStream, to: &TcpStream, frozen: Arc<AtomicBool>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    while frozen.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
