//! The etcd v3 datastore source against a real etcd (Debian's etcd-server 3.4):
//! list then watch, deletes, compaction, etcd crashing, a cut connection, garbage
//! values, TLS with client certificates. Each test runs its own etcd on free
//! loopback ports (interop-tests' `etcd` module).
//!
//! `datastore_put_to_update_latency` prints the time from an `etcdctl put` to the
//! update being published (median of a few); nothing here asserts on timing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bgp::config::{EtcdSettings, Password, SourcedPath};
use bgp::datastore::{DatastoreStatus, DatastoreUpdate, EtcdSource, PREFIXES};
use bytes::Bytes;
use interop_tests::Workdir;
use interop_tests::etcd::{Etcd, EtcdTls, TcpGate};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);
const NODE: &str = "/calico/resources/v3/projectcalico.org/nodes/";
const PEER: &str = "/calico/resources/v3/projectcalico.org/bgppeers/";
const POOL: &str = "/calico/resources/v3/projectcalico.org/ippools/";
const AFFINITY: &str = "/calico/ipam/v2/host/node1/ipv4/block/";

fn plain(endpoint: String) -> EtcdSettings {
    EtcdSettings {
        endpoints: vec![endpoint],
        ca_cert_file: None,
        client_cert: None,
        credentials: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Waits for a published update satisfying `pred`; on timeout, panics with the
/// source's status, its snapshot and etcd's log.
async fn wait_update(
    src: &EtcdSource,
    etcd: &Etcd,
    what: &str,
    pred: impl Fn(&DatastoreUpdate) -> bool,
) -> DatastoreUpdate {
    let mut rx = src.updates();
    let found = tokio::time::timeout(WAIT, rx.wait_for(|u| u.as_ref().is_some_and(&pred)))
        .await
        .ok()
        .and_then(|r| r.ok().and_then(|u| u.clone()));
    if let Some(u) = found {
        return u;
    }
    {
        panic!(
            "timed out waiting for {what}\nstatus: {:?}\nsnapshot: {:?}\n{}",
            *src.status().borrow(),
            rx.borrow().as_ref().map(|u| (u.revision, u.snapshot.clone())),
            etcd.log_tail(20)
        )
    }
}

async fn wait_status(
    src: &EtcdSource,
    what: &str,
    pred: impl Fn(&DatastoreStatus) -> bool,
) -> DatastoreStatus {
    let mut rx: watch::Receiver<DatastoreStatus> = src.status();
    if let Ok(Ok(s)) = tokio::time::timeout(WAIT, rx.wait_for(&pred)).await {
        return s.clone();
    }
    panic!("timed out waiting for {what}; status: {:?}", *rx.borrow())
}

/// What etcd holds under the prefixes, read with a separate client.
async fn etcd_contents(endpoint: &str) -> BTreeMap<String, Bytes> {
    let mut c = etcd_client::Client::connect([endpoint], None).await.unwrap();
    let mut all = BTreeMap::new();
    for p in PREFIXES {
        let resp = c.get(p, Some(etcd_client::GetOptions::new().with_prefix())).await.unwrap();
        for kv in resp.kvs() {
            all.insert(kv.key_str().unwrap().to_owned(), Bytes::copy_from_slice(kv.value()));
        }
    }
    all
}

fn value<'a>(u: &'a DatastoreUpdate, key: &str) -> Option<&'a [u8]> {
    u.snapshot.get(key).map(|v| &v[..])
}

#[test]
fn keys_written_before_and_after_start_arrive_with_their_revision() {
    let dir = Workdir::new("ds-list").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    etcd.put(&format!("{NODE}node1"), br#"{"kind":"Node"}"#).unwrap();
    let before = etcd.put(&format!("{AFFINITY}10.0.0.0-26"), br#"{"state":"confirmed"}"#).unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        let first = wait_update(&src, &etcd, "the first list", |_| true).await;
        assert_eq!(first.revision, before);
        assert_eq!(first.snapshot.len(), 2, "{:?}", first.snapshot);
        assert_eq!(value(&first, &format!("{NODE}node1")), Some(&br#"{"kind":"Node"}"#[..]));

        let rev = etcd.put(&format!("{PEER}rr1"), br#"{"kind":"BGPPeer"}"#).unwrap();
        let u =
            wait_update(&src, &etcd, "the peer written after start", |u| u.revision >= rev).await;
        assert_eq!(u.revision, rev);
        assert_eq!(value(&u, &format!("{PEER}rr1")), Some(&br#"{"kind":"BGPPeer"}"#[..]));
        assert_eq!(u.snapshot.len(), 3);
        let status = src.status().borrow().clone();
        assert!(status.connected && status.last_error.is_none(), "{status:?}");
        assert_eq!((status.lists, status.revision, status.keys), (1, rev, 3));
    });
}

#[test]
fn deletes_arrive() {
    let dir = Workdir::new("ds-del").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    let pool = format!("{POOL}default-ipv4-ippool");
    etcd.put(&pool, b"{}").unwrap();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        wait_update(&src, &etcd, "the pool", |u| u.snapshot.contains_key(&pool)).await;
        let rev = etcd.del(&pool).unwrap();
        let u = wait_update(&src, &etcd, "the pool's delete", |u| u.revision >= rev).await;
        assert!(!u.snapshot.contains_key(&pool));
        assert_eq!(u.snapshot.keys().collect::<Vec<_>>(), [&format!("{NODE}node1")]);
    });
}

#[test]
fn garbage_values_pass_through_and_keys_outside_the_prefixes_do_not() {
    let dir = Workdir::new("ds-garbage").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    let garbage: &[u8] = b"\xff\x00not json {{{";
    let node = format!("{NODE}broken");
    etcd.put(&node, garbage).unwrap();
    etcd.put("/calico/resources/v3/projectcalico.org/workloadendpoints/ns/w1", b"{}").unwrap();
    etcd.put("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26", b"{}").unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        let u = wait_update(&src, &etcd, "the list", |_| true).await;
        assert_eq!(u.snapshot.keys().collect::<Vec<_>>(), [&node]);
        assert_eq!(value(&u, &node), Some(garbage));
        // Writes to other keys inside the watched range publish nothing; the next
        // update is the watched key's.
        etcd.put("/calico/resources/v3/projectcalico.org/workloadendpoints/ns/w2", b"{}").unwrap();
        let rev = etcd.put(&format!("{PEER}p1"), b"\x00").unwrap();
        let u = wait_update(&src, &etcd, "the peer", |u| u.revision >= rev).await;
        assert_eq!(u.snapshot.len(), 2, "{:?}", u.snapshot);
        assert_eq!(src.status().borrow().updates, 2);
    });
}

#[test]
fn a_compaction_past_the_watch_forces_a_relist_and_loses_nothing() {
    let dir = Workdir::new("ds-compact").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    let gate = TcpGate::new(etcd_port(&etcd)).unwrap();
    etcd.put(&format!("{NODE}node1"), b"1").unwrap();
    etcd.put(&format!("{NODE}gone"), b"1").unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(format!("http://127.0.0.1:{}", gate.port())));
        let first = wait_update(&src, &etcd, "the first list", |_| true).await;
        gate.close();
        wait_status(&src, "the cut to be noticed", |s| !s.connected).await;
        // Meanwhile: writes, a delete, and a compaction past all of them.
        for i in 0..5 {
            etcd.put(&format!("{PEER}p{i}"), format!("{i}").as_bytes()).unwrap();
        }
        etcd.del(&format!("{NODE}gone")).unwrap();
        let compacted = etcd.put(&format!("{NODE}node1"), b"2").unwrap();
        etcd.compact(compacted).unwrap();
        assert!(compacted > first.revision + 1);
        gate.open();
        let u = wait_update(&src, &etcd, "the re-list", |u| u.revision >= compacted).await;
        let status = src.status().borrow().clone();
        assert_eq!(status.lists, 2, "{status:?}");
        // Keep writing after the re-list: the new watch carries on.
        let last = etcd.put(&format!("{PEER}p9"), b"9").unwrap();
        let u2 =
            wait_update(&src, &etcd, "a write after the re-list", |u| u.revision >= last).await;
        assert!(u.snapshot.len() < u2.snapshot.len());
        assert_eq!(*u2.snapshot, etcd_contents(&etcd.endpoint()).await);
    });
}

#[test]
fn etcd_killed_and_restarted_keeps_the_snapshot_and_catches_up() {
    let dir = Workdir::new("ds-restart").unwrap();
    let mut etcd = Etcd::start(dir.path(), None).unwrap();
    etcd.put(&format!("{NODE}node1"), b"1").unwrap();
    let rt = runtime();
    let src = rt.block_on(async { EtcdSource::spawn(plain(etcd.endpoint())) });
    let first = rt.block_on(wait_update(&src, &etcd, "the first list", |_| true));
    etcd.kill().unwrap();
    let down = rt.block_on(wait_status(&src, "the crash to be reported", |s| {
        !s.connected && s.last_error.is_some()
    }));
    eprintln!("while etcd is down: {:?}", down.last_error);
    assert_eq!(src.updates().borrow().as_ref(), Some(&first), "the last snapshot is kept");
    etcd.restart().unwrap();
    let written = etcd.put(&format!("{PEER}p1"), b"1").unwrap();
    let u = rt.block_on(wait_update(&src, &etcd, "the catch-up", |u| u.revision >= written));
    assert_eq!(*u.snapshot, rt.block_on(etcd_contents(&etcd.endpoint())));
    let status = src.status().borrow().clone();
    assert!(status.connected, "{status:?}");
    assert_eq!(status.lists, 1, "resumed the watch, no re-list: {status:?}");
    drop(src);
}

#[test]
fn tls_with_client_certificates_connects_and_fails_clearly_without_them() {
    let dir = Workdir::new("ds-tls").unwrap();
    let tls = EtcdTls::generate(dir.path()).unwrap();
    let etcd = Etcd::start(dir.path(), Some(tls.clone())).unwrap();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    let sourced = |path: &std::path::Path, key| SourcedPath { path: path.to_owned(), key };
    let with_cert = EtcdSettings {
        endpoints: vec![etcd.endpoint()],
        ca_cert_file: Some(sourced(&tls.ca, "ETCD_CA_CERT_FILE")),
        client_cert: Some((
            sourced(&tls.client_cert, "ETCD_CERT_FILE"),
            sourced(&tls.client_key, "ETCD_KEY_FILE"),
        )),
        credentials: None,
    };
    let without_cert = EtcdSettings { client_cert: None, ..with_cert.clone() };
    let missing_key = EtcdSettings {
        client_cert: Some((
            sourced(&tls.client_cert, "ETCD_CERT_FILE"),
            sourced(&dir.join("nope.pem"), "ETCD_KEY_FILE"),
        )),
        ..with_cert.clone()
    };
    runtime().block_on(async {
        let src = EtcdSource::spawn(with_cert);
        let u = wait_update(&src, &etcd, "the list over TLS", |_| true).await;
        assert_eq!(u.snapshot.len(), 1);

        let refused = EtcdSource::spawn(without_cert);
        let s = wait_status(&refused, "the refusal", |s| s.last_error.is_some()).await;
        eprintln!("without a client certificate: {:?}", s.last_error);
        assert!(!s.connected && refused.updates().borrow().is_none(), "{s:?}");
        let e = s.last_error.unwrap();
        assert!(e.contains("TLS without a client certificate"), "{e}");

        let unreadable = EtcdSource::spawn(missing_key);
        let s = wait_status(&unreadable, "the unreadable key", |s| s.last_error.is_some()).await;
        let e = s.last_error.unwrap();
        assert!(e.contains("ETCD_KEY_FILE") && e.contains("nope.pem"), "{e}");
    });
}

#[test]
fn datastore_put_to_update_latency() {
    let dir = Workdir::new("ds-latency").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        wait_update(&src, &etcd, "the first list", |_| true).await;
        let mut rx = src.updates();
        let mut samples = Vec::new();
        let mut after_ack = Vec::new();
        for i in 0..7 {
            let key = format!("{NODE}n{i}");
            // The clock starts before etcdctl is spawned, as an operator's write would.
            let start = Instant::now();
            let rev = etcd.put(&key, b"{}").unwrap();
            let acked = start.elapsed();
            rx.wait_for(|u| u.as_ref().is_some_and(|u| u.revision >= rev)).await.unwrap();
            let published = start.elapsed();
            samples.push(published);
            after_ack.push(published.saturating_sub(acked));
        }
        // etcdctl's own cost, measured alone, to tell the two apart.
        let mut ctl_only = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            etcd.ctl(&["get", "/x"]).unwrap();
            ctl_only.push(start.elapsed());
        }
        samples.sort();
        after_ack.sort();
        ctl_only.sort();
        println!(
            "etcdctl put -> update published: median {:?} (min {:?}, max {:?}); \
             after etcdctl returned: median {:?}; an etcdctl get alone: median {:?}",
            samples[samples.len() / 2],
            samples[0],
            samples[samples.len() - 1],
            after_ack[after_ack.len() / 2],
            ctl_only[ctl_only.len() / 2]
        );
    });
}

#[test]
fn an_unreachable_etcd_is_retried_until_it_answers() {
    let dir = Workdir::new("ds-unreach").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    let gate = TcpGate::new(etcd_port(&etcd)).unwrap();
    gate.close();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(format!("http://127.0.0.1:{}", gate.port())));
        let s = wait_status(&src, "the first failure", |s| s.last_error.is_some()).await;
        eprintln!("while unreachable: {:?}", s.last_error);
        assert!(!s.connected && src.updates().borrow().is_none(), "{s:?}");
        gate.open();
        let u = wait_update(&src, &etcd, "the list once reachable", |_| true).await;
        assert_eq!(u.snapshot.len(), 1);
        assert!(src.status().borrow().connected);
    });
}

#[test]
fn a_dead_endpoint_among_several_is_passed_over() {
    let dir = Workdir::new("ds-multi").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    // A port nothing listens on (bound, then released).
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    runtime().block_on(async {
        let settings = EtcdSettings {
            endpoints: vec![format!("http://127.0.0.1:{dead}"), etcd.endpoint()],
            ..plain(etcd.endpoint())
        };
        let src = EtcdSource::spawn(settings);
        let u = wait_update(&src, &etcd, "the list through the live endpoint", |_| true).await;
        assert_eq!(u.snapshot.len(), 1);
        assert_eq!(src.status().borrow().endpoint, etcd.endpoint());
        let rev = etcd.put(&format!("{PEER}p1"), b"{}").unwrap();
        wait_update(&src, &etcd, "a watch event", |u| u.revision >= rev).await;
    });
}

fn etcd_port(etcd: &Etcd) -> u16 {
    etcd.endpoint().rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn etcd_users_authenticate_with_a_password() {
    let dir = Workdir::new("ds-auth").unwrap();
    let mut etcd = Etcd::start(dir.path(), None).unwrap();
    etcd.enable_auth("s3cret").unwrap();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    let with = |password: &str| EtcdSettings {
        credentials: Some(("root".to_owned(), Password(password.to_owned()))),
        ..plain(etcd.endpoint())
    };
    runtime().block_on(async {
        let src = EtcdSource::spawn(with("s3cret"));
        wait_update(&src, &etcd, "the list as root", |_| true).await;
        let rev = etcd.put(&format!("{PEER}p1"), b"{}").unwrap();
        wait_update(&src, &etcd, "a watch event as root", |u| u.revision >= rev).await;

        let refused = EtcdSource::spawn(with("wrong"));
        let s = wait_status(&refused, "the refusal", |s| s.last_error.is_some()).await;
        let e = s.last_error.unwrap();
        assert!(e.contains("authentication failed"), "{e}");
    });
}

#[test]
fn a_list_larger_than_a_page_is_read_whole() {
    let dir = Workdir::new("ds-pages").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    runtime().block_on(async {
        let mut c = etcd_client::Client::connect([etcd.endpoint()], None).await.unwrap();
        // 1,234 block affinities over several nodes: more than two list pages.
        for i in 0..1234u32 {
            let key = format!(
                "/calico/ipam/v2/host/node{}/ipv4/block/10.{}.{}.0-26",
                i % 7,
                i / 256,
                i % 256
            );
            c.put(key, r#"{"state":"confirmed","deleted":false}"#, None).await.unwrap();
        }
        c.put(format!("{NODE}node1"), "{}", None).await.unwrap();
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        let u = wait_update(&src, &etcd, "the list", |_| true).await;
        assert_eq!(u.snapshot.len(), 1235);
        assert_eq!(u.revision, etcd.revision().unwrap());
        assert_eq!(*u.snapshot, etcd_contents(&etcd.endpoint()).await);
    });
}

#[test]
fn an_etcd_that_goes_silent_is_noticed_by_keep_alives() {
    let dir = Workdir::new("ds-silent").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    let gate = TcpGate::new(etcd_port(&etcd)).unwrap();
    etcd.put(&format!("{NODE}node1"), b"{}").unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(format!("http://127.0.0.1:{}", gate.port())));
        wait_update(&src, &etcd, "the first list", |_| true).await;
        // An event through the watch: it is established, only pings can tell now.
        let rev = etcd.put(&format!("{NODE}node2"), b"{}").unwrap();
        wait_update(&src, &etcd, "a watch event", |u| u.revision >= rev).await;
        gate.freeze();
        let frozen_at = Instant::now();
        let mut rx = src.status();
        // HTTP/2 pings every 10 s, 5 s to answer: well within a minute.
        let noticed = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|s| !s.connected))
            .await
            .is_ok();
        let status = rx.borrow().clone();
        assert!(noticed, "a silent etcd went unnoticed: {status:?}");
        eprintln!("silence noticed after {:?}: {:?}", frozen_at.elapsed(), status.last_error);
        let rev = etcd.put(&format!("{PEER}p1"), b"{}").unwrap();
        gate.open();
        wait_update(&src, &etcd, "the catch-up after the silence", |u| u.revision >= rev).await;
    });
}

#[test]
fn a_transaction_of_several_keys_is_one_update() {
    let dir = Workdir::new("ds-txn").unwrap();
    let etcd = Etcd::start(dir.path(), None).unwrap();
    runtime().block_on(async {
        let src = EtcdSource::spawn(plain(etcd.endpoint()));
        wait_update(&src, &etcd, "the first (empty) list", |_| true).await;
        let before = src.status().borrow().updates;
        let mut c = etcd_client::Client::connect([etcd.endpoint()], None).await.unwrap();
        let puts: Vec<etcd_client::TxnOp> =
            (0..3).map(|i| etcd_client::TxnOp::put(format!("{PEER}p{i}"), "{}", None)).collect();
        let resp = c.txn(etcd_client::Txn::new().and_then(puts)).await.unwrap();
        let rev = resp.header().unwrap().revision();
        let u = wait_update(&src, &etcd, "the transaction", |u| u.revision >= rev).await;
        assert_eq!(u.snapshot.len(), 3);
        assert_eq!(src.status().borrow().updates, before + 1, "one update for one revision");
    });
}
