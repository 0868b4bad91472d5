//! The control socket end to end: the server with a fixture handler, the
//! client library and the built `calico-bgpctl` binary.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ctl::client::Client;
use ctl::proto::*;
use ctl::server::{ServerOptions, bind, serve_listener};

/// A server on a socket in a temp dir, on its own runtime thread.
struct TestServer {
    _dir: tempfile::TempDir,
    path: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl TestServer {
    fn start(handler: Fixtures, options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calico-bgp.ctl");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = {
            let _guard = runtime.enter();
            bind(&path, &options).unwrap()
        };
        runtime.spawn(serve_listener(listener, Arc::new(handler), options, std::future::pending()));
        TestServer { _dir: dir, path, _runtime: runtime }
    }

    fn fixtures() -> Self {
        Self::start(Fixtures::default(), ServerOptions::default())
    }

    fn client(&self) -> Client {
        Client::new(&self.path).with_timeout(Duration::from_secs(5))
    }

    fn bgpctl(&self, args: &[&str]) -> (i32, String, String) {
        bgpctl(&self.path, args)
    }
}

fn bgpctl(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calico-bgpctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// One request through the client library.
fn answer(server: &TestServer, request: Request) -> Response {
    server.client().request(request).unwrap().response
}

#[test]
fn socket_is_created_with_mode_0660() {
    let server = TestServer::fixtures();
    let mode = std::fs::metadata(&server.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660);
}

#[test]
fn show_peers_over_the_socket_returns_the_snapshot() {
    let server = TestServer::fixtures();
    assert_eq!(answer(&server, Request::ShowPeers), Response::Peers(peers()));
}

#[test]
fn show_peer_of_unknown_address_is_not_found() {
    let server = TestServer::fixtures();
    let r = answer(&server, Request::ShowPeer { address: "10.9.9.9".parse().unwrap() });
    match r {
        Response::Error(e) => assert_eq!(e.kind, ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn show_routes_applies_family_and_prefix_filters() {
    let server = TestServer::fixtures();
    let q = RouteQuery { family: Some(Family::Ipv6), ..Default::default() };
    let Response::Routes(r) = answer(&server, Request::ShowRoutes(q)) else { panic!() };
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].prefix.to_string(), "fd00:10:244::/122");
    let q = RouteQuery { prefix: Some("172.16.0.0/16".parse().unwrap()), ..Default::default() };
    let Response::Routes(r) = answer(&server, Request::ShowRoutes(q)) else { panic!() };
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].paths.len(), 3);
}

#[test]
fn slow_handler_answers_timeout_instead_of_hanging() {
    let options =
        ServerOptions { request_timeout: Duration::from_millis(200), ..Default::default() };
    let server = TestServer::start(
        Fixtures { delay: Duration::from_secs(30), ..Default::default() },
        options,
    );
    let started = Instant::now();
    let r = answer(&server, Request::ShowPeers);
    assert!(started.elapsed() < Duration::from_secs(5));
    match r {
        Response::Error(e) => {
            assert_eq!(e.kind, ErrorKind::Timeout);
            assert!(e.message.contains("show_peers"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_silent_client_does_not_block_others() {
    let server = TestServer::fixtures();
    // Connect and never send anything; hold the connection open.
    let _idle: Vec<UnixStream> =
        (0..4).map(|_| UnixStream::connect(&server.path).unwrap()).collect();
    let started = Instant::now();
    assert!(matches!(answer(&server, Request::ShowStatus), Response::Status(_)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn garbage_and_newer_versions_get_typed_errors() {
    let server = TestServer::fixtures();
    let raw = |line: &str| -> ResponseEnvelope {
        let mut s = UnixStream::connect(&server.path).unwrap();
        s.write_all(line.as_bytes()).unwrap();
        let mut out = String::new();
        BufReader::new(&s).read_line(&mut out).unwrap();
        serde_json::from_str(&out).unwrap()
    };
    let r = raw("hello\n").response;
    assert!(matches!(r, Response::Error(CtlError { kind: ErrorKind::InvalidRequest, .. })));
    let r = raw("{\"version\":99,\"request\":{\"type\":\"show_status\"}}\n").response;
    assert!(matches!(r, Response::Error(CtlError { kind: ErrorKind::VersionMismatch, .. })));
    // A request without newline is still read when the client half-closes.
    let mut s = UnixStream::connect(&server.path).unwrap();
    s.write_all(b"{\"version\":1,\"request\":{\"type\":\"show_fib\"}}").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    BufReader::new(&s).read_line(&mut out).unwrap();
    let env: ResponseEnvelope = serde_json::from_str(&out).unwrap();
    assert!(matches!(env.response, Response::Fib(_)));
}

#[test]
fn oversized_request_is_refused() {
    let server = TestServer::fixtures();
    let mut s = UnixStream::connect(&server.path).unwrap();
    let big = vec![b'x'; MAX_REQUEST_BYTES + 10];
    // The server may stop reading once it has enough: ignore a broken pipe.
    let _ = s.write_all(&big);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = String::new();
    BufReader::new(&s).read_line(&mut out).unwrap();
    let env: ResponseEnvelope = serde_json::from_str(&out).unwrap();
    assert!(matches!(
        env.response,
        Response::Error(CtlError { kind: ErrorKind::InvalidRequest, .. })
    ));
}

#[test]
fn bind_replaces_a_stale_socket_but_not_a_live_one() {
    let server = TestServer::fixtures();
    let err = bind(&server.path, &ServerOptions::default()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);

    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("stale.ctl");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    bind(&stale, &ServerOptions::default()).unwrap();
}

#[test]
fn advertise_add_then_del_changes_state_once() {
    let server = TestServer::fixtures();
    let ask = |action| {
        let r = answer(
            &server,
            Request::Advertise(AdvertiseRequest {
                action,
                prefix: "10.244.7.0/26".parse().unwrap(),
            }),
        );
        let Response::Advertise(a) = r else { panic!("{r:?}") };
        a.changed
    };
    assert!(ask(AdvertiseAction::Add));
    assert!(!ask(AdvertiseAction::Add));
    assert!(ask(AdvertiseAction::Del));
    assert!(!ask(AdvertiseAction::Del));
}

// ----- the binary -----

/// The server stamps `server_time` with its real clock, later than the
/// fixtures' NOW, so only cells independent of it are pinned here (the full
/// table is pinned by the golden test of the renderer).
#[test]
fn bgpctl_show_peers_prints_the_calicoctl_table() {
    let server = TestServer::fixtures();
    let (code, out, err) = server.bgpctl(&["show", "peers"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("calico-bgpd is running.\n\nIPv4 BGP status\n+--"), "{out}");
    assert!(
        out.contains("| 10.0.0.1     | global            | start | 2025-12-29 | Active Socket: Connection refused |"),
        "{out}"
    );
    assert!(out.contains("IPv6 BGP status"), "{out}");
}

#[test]
fn bgpctl_show_peers_bird_prints_protocol_rows() {
    let server = TestServer::fixtures();
    let (code, out, _) = server.bgpctl(&["show", "peers", "--bird"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("name     proto    table    state  since       info\n"), "{out}");
    // calicoctl splits BGP rows on whitespace: column 6 is the BGP state.
    let row = out.lines().find(|l| l.starts_with("Global_10_0_0_1 ")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[..6], ["Global_10_0_0_1", "BGP", "master", "start", "2025-12-29", "Active"]);
    assert_eq!(cols[6..].join(" "), "Socket: Connection refused");
}

#[test]
fn bgpctl_json_output_is_the_response_document() {
    let server = TestServer::fixtures();
    for args in [
        &["show", "peers"][..],
        &["show", "peer", "192.168.1.12"],
        &["show", "routes", "--family", "ipv4"],
        &["show", "routes", "172.16.0.0/16", "--peer", "10.0.0.5"],
        &["show", "fib"],
        &["show", "status"],
        &["reload"],
        &["advertise", "add", "10.244.7.0/26"],
    ] {
        let mut with_json = vec!["-o", "json"];
        with_json.extend_from_slice(args);
        let (code, out, err) = server.bgpctl(&with_json);
        assert_eq!(code, 0, "{args:?}: {err}");
        let r: Response = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(!matches!(r, Response::Error(_)), "{args:?}: {r:?}");
    }
}

#[test]
fn bgpctl_routes_filter_by_peer_on_the_command_line() {
    let server = TestServer::fixtures();
    let (code, out, _) = server.bgpctl(&["-o", "json", "show", "routes", "--peer", "10.0.0.5"]);
    assert_eq!(code, 0);
    let Response::Routes(r) = serde_json::from_str(&out).unwrap() else { panic!() };
    assert_eq!(r.len(), 1);
    assert!(r[0].paths.iter().all(|p| p.source.peer() == Some("10.0.0.5".parse().unwrap())));
}

#[test]
fn bgpctl_refused_reload_exits_1_with_the_reason() {
    let server = TestServer::start(
        Fixtures { refuse_reload: true, ..Default::default() },
        ServerOptions::default(),
    );
    let (code, out, _) = server.bgpctl(&["reload"]);
    assert_eq!(code, 1);
    assert!(out.contains("duplicate of peers[0].address"), "{out}");
    let (code, _, _) = TestServer::fixtures().bgpctl(&["reload"]);
    assert_eq!(code, 0);
}

#[test]
fn bgpctl_unknown_peer_exits_1_with_a_message() {
    let server = TestServer::fixtures();
    let (code, out, err) = server.bgpctl(&["show", "peer", "10.9.9.9"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("no peer with address 10.9.9.9"), "{err}");
}

#[test]
fn bgpctl_without_daemon_exits_2_naming_socket_and_errno() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calico-bgp.ctl");
    let (code, out, err) = bgpctl(&path, &["show", "status"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("ENOENT"), "{err}");
    assert!(err.contains("is calico-bgpd running?"), "{err}");
}

#[test]
fn bgpctl_without_permission_names_eacces() {
    if is_root() {
        // root bypasses file modes; the errno text is covered by the client unit tests.
        return;
    }
    let server = TestServer::fixtures();
    std::fs::set_permissions(&server.path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, _, err) = server.bgpctl(&["show", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("EACCES"), "{err}");
}

fn is_root() -> bool {
    // Real uid from /proc, to avoid a libc dependency for one call.
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn bgpctl_rejects_bad_arguments_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = bgpctl(&dir.path().join("x"), &["show", "routes", "--family", "ipv5"]);
    assert_eq!(code, 2);
    assert!(err.contains("ipv5"), "{err}");
}

#[test]
fn bgpctl_check_live_and_ready_follow_calico_node_rules() {
    let server = TestServer::fixtures();
    let (code, out, _) = server.bgpctl(&["check", "live"]);
    assert_eq!((code, out.as_str()), (0, "calico-bgpd is live\n"));
    // One mesh peer is Established: ready once the start-up window is over.
    let (code, out, _) = server.bgpctl(&["check", "ready"]);
    assert_eq!((code, out.as_str()), (0, "calico-bgpd is ready\n"));
    let (code, _, err) = server.bgpctl(&["check", "ready", "--strict"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("not ready: BGP not established with 10.0.0.1,192.168.1.1,fd00:1::13"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = bgpctl(&dir.path().join("none"), &["check", "live"]);
    assert_eq!(code, 2);
}
