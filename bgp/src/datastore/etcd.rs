//! The etcd v3 I/O shell: list, watch, re-list, reconnect; publishes snapshots.
//!
//! One tokio task per source. It connects to one endpoint at a time, moving to the
//! next after a failure (the client's own balancing keeps sending requests to a
//! dead endpoint among live ones), lists [`PREFIXES`]
//! at one revision, then watches the range that covers them from the next
//! revision. Each watch response that touches a watched key becomes one
//! [`DatastoreUpdate`]. A watch canceled for compaction is answered with a new list;
//! every other failure with a reconnect after a [`Backoff`] delay, resuming from the
//! last revision seen, so what was written meanwhile arrives as watch events.
//!
//! Requests that should answer promptly (the list, the watch's creation) are bounded
//! by [`REQUEST_TIMEOUT`]: with the endpoint down the client would otherwise wait
//! for it to come back without saying anything. An established watch may be idle
//! for hours; HTTP/2 keep-alives notice a peer that vanished without closing.

use std::convert::Infallible;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use etcd_client::{
    Certificate, Client, ConnectOptions, GetOptions, Identity, KvClient, TlsOptions, WatchOptions,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    Backoff, DatastoreStatus, DatastoreUpdate, KvEvent, KvStore, PREFIXES, covering_range,
    is_watched, prefix_end,
};
use crate::config::{EtcdSettings, SourcedPath};

/// Bound on a list page and on a watch's creation.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
/// Longest reconnect delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(15);
/// Lists answered at once by a compacted watch before the source backs off instead
/// (a list is always newer than the compaction, so more means something is wrong).
const MAX_RELISTS: u32 = 3;
/// Keys per list page: a page of Calico resources stays far below the message limit.
const PAGE: i64 = 500;
/// Largest response accepted (a watch response carries a whole burst of events).
const MAX_MESSAGE: usize = 64 << 20;
/// HTTP/2 ping interval and how long a ping may go unanswered.
const KEEP_ALIVE: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(5));

/// Why a connection to etcd was given up (the source then reconnects).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A TLS file named in the configuration could not be read or used.
    #[error("{key} = {}: {reason}", path.display())]
    TlsFile {
        /// The key or variable that named it.
        key: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An etcd request failed.
    #[error("etcd {during}: {source}")]
    Etcd {
        /// What was being done.
        during: &'static str,
        /// The client's error.
        source: etcd_client::Error,
    },
    /// A request got no answer in time.
    #[error("etcd {during}: no answer within {timeout:?}")]
    Timeout {
        /// What was being done.
        during: &'static str,
        /// The bound.
        timeout: Duration,
    },
    /// etcd canceled the watch for a reason other than compaction.
    #[error("etcd canceled the watch: {0}")]
    WatchCanceled(String),
    /// The watch stream ended.
    #[error("etcd closed the watch stream")]
    WatchClosed,
}

/// A running source: the task and the two channels it publishes on. Dropping it
/// stops the task.
#[derive(Debug)]
pub struct EtcdSource {
    updates: watch::Receiver<Option<DatastoreUpdate>>,
    status: watch::Receiver<DatastoreStatus>,
    task: JoinHandle<()>,
}

impl EtcdSource {
    /// Starts following etcd; must be called inside a tokio runtime. Never fails:
    /// problems (etcd unreachable, a certificate unreadable) show in
    /// [`EtcdSource::status`] and are retried.
    pub fn spawn(settings: EtcdSettings) -> EtcdSource {
        let (updates_tx, updates) = watch::channel(None);
        let (status_tx, status) = watch::channel(DatastoreStatus::starting(SystemTime::now()));
        let task = tokio::spawn(run(settings, updates_tx, status_tx));
        EtcdSource { updates, status, task }
    }

    /// The latest snapshot (`None` until the first list); `changed()` wakes on each.
    pub fn updates(&self) -> watch::Receiver<Option<DatastoreUpdate>> {
        self.updates.clone()
    }

    /// Connection state and counters.
    pub fn status(&self) -> watch::Receiver<DatastoreStatus> {
        self.status.clone()
    }
}

impl Drop for EtcdSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the task owns across reconnects.
struct Follower {
    settings: EtcdSettings,
    store: KvStore,
    /// The store holds a list and the events after it: a watch may resume from it.
    listed: bool,
    backoff: Backoff,
    /// Index into `settings.endpoints` of the one to use next.
    endpoint: usize,
    updates: watch::Sender<Option<DatastoreUpdate>>,
    status: watch::Sender<DatastoreStatus>,
}

async fn run(
    settings: EtcdSettings,
    updates: watch::Sender<Option<DatastoreUpdate>>,
    status: watch::Sender<DatastoreStatus>,
) {
    let mut f = Follower {
        settings,
        store: KvStore::new(),
        listed: false,
        backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
        endpoint: 0,
        updates,
        status,
    };
    let auth = describe(&f.settings);
    loop {
        let endpoint = f.settings.endpoints.get(f.endpoint).cloned().unwrap_or_default();
        f.status.send_modify(|s| s.endpoint.clone_from(&endpoint));
        let Err(e) = f.session(&endpoint).await;
        let text = format!("{} ({endpoint}; {auth})", error_chain(&e));
        f.endpoint = (f.endpoint + 1) % f.settings.endpoints.len().max(1);
        tracing::warn!("etcd datastore: {text}; keeping the last snapshot and reconnecting");
        let now = SystemTime::now();
        f.status.send_modify(|s| {
            if s.connected {
                s.connected = false;
                s.since = now;
            }
            s.last_error = Some(text);
            s.last_error_at = Some(now);
        });
        tokio::time::sleep(f.backoff.next_delay(draw())).await;
    }
}

impl Follower {
    /// One connection: list if needed, then watch until something fails.
    async fn session(&mut self, endpoint: &str) -> Result<Infallible, SourceError> {
        let client = connect(&self.settings, endpoint).await?;
        let mut kv = client.kv_client().max_decoding_message_size(MAX_MESSAGE);
        let mut watcher = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
        let (start, end) = covering_range();
        let mut compacted_in_a_row = 0;
        loop {
            if !self.listed {
                let (entries, revision) = list(&mut kv).await?;
                self.store.replace(entries, revision);
                self.listed = true;
                self.set_connected();
                self.status.send_modify(|s| s.lists += 1);
                tracing::info!(
                    "etcd datastore: listed {} key(s) at revision {revision}",
                    self.store.len()
                );
                self.publish();
            }
            let options = WatchOptions::new()
                .with_range(end.clone())
                .with_start_revision(self.store.revision() + 1);
            let mut stream = bounded_result("watch", watcher.watch(start, Some(options))).await?;
            let mut created = false;
            loop {
                let resp = if created {
                    stream
                        .message()
                        .await
                        .map_err(|source| SourceError::Etcd { during: "watch", source })?
                } else {
                    // Until etcd confirms the watch, silence is a failure.
                    bounded_result("watch", stream.message()).await?
                };
                let resp = resp.ok_or(SourceError::WatchClosed)?;
                created = true;
                if resp.canceled() {
                    if resp.compact_revision() > 0 && compacted_in_a_row < MAX_RELISTS {
                        compacted_in_a_row += 1;
                        tracing::info!(
                            "etcd datastore: revision {} compacted (oldest kept {}): listing again",
                            self.store.revision() + 1,
                            resp.compact_revision()
                        );
                        self.listed = false;
                        break;
                    }
                    self.listed = resp.compact_revision() == 0;
                    return Err(SourceError::WatchCanceled(format!(
                        "{} (compact revision {})",
                        resp.cancel_reason(),
                        resp.compact_revision()
                    )));
                }
                self.set_connected();
                let mut changed = false;
                for event in resp.events() {
                    match kv_event(event) {
                        Some(e) => changed |= self.store.apply(e),
                        None => {
                            let rev = event.kv().map_or(0, |kv| kv.mod_revision());
                            self.store.advance(rev);
                        }
                    }
                }
                if !resp.events().is_empty() {
                    compacted_in_a_row = 0;
                }
                if changed {
                    self.publish();
                }
            }
        }
    }

    fn set_connected(&mut self) {
        if !self.status.borrow().connected {
            self.backoff.reset();
            let now = SystemTime::now();
            self.status.send_modify(|s| {
                s.connected = true;
                s.since = now;
            });
            tracing::info!("etcd datastore: connected");
        }
    }

    fn publish(&self) {
        let update = DatastoreUpdate {
            revision: self.store.revision(),
            snapshot: self.store.snapshot(),
            at: SystemTime::now(),
        };
        let keys = update.snapshot.len();
        let revision = update.revision;
        // Status first: whoever sees the update sees the counters that include it.
        self.status.send_modify(|s| {
            s.revision = revision;
            s.keys = keys;
            s.updates += 1;
        });
        self.updates.send_replace(Some(update));
    }
}

/// A client for `endpoint`, with TLS and credentials. Connecting is lazy: an
/// unreachable etcd shows at the first request.
async fn connect(settings: &EtcdSettings, endpoint: &str) -> Result<Client, SourceError> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(REQUEST_TIMEOUT)
        .with_keep_alive(KEEP_ALIVE.0, KEEP_ALIVE.1)
        .with_keep_alive_while_idle(true)
        // A member cut off from its cluster fails the watch instead of going quiet.
        .with_require_leader(true);
    if let Some(tls) = tls_options(settings).await? {
        options = options.with_tls(tls);
    }
    if let Some((user, password)) = &settings.credentials {
        // etcd's tokens expire (5 minutes by default): a list long after the login
        // logs in again instead of failing.
        options = options.with_user(user.clone(), password.0.clone()).with_auto_token_refresh(true);
    }
    bounded_result("connect", Client::connect([endpoint], Some(options))).await
}

/// The CA and client identity, read from their files now (a renewed certificate is
/// picked up at the next reconnect), by `tokio::fs`: a slow mount (a secrets volume)
/// delays this connect, not the runtime's other tasks.
async fn tls_options(settings: &EtcdSettings) -> Result<Option<TlsOptions>, SourceError> {
    if settings.ca_cert_file.is_none() && settings.client_cert.is_none() {
        return Ok(None);
    }
    let mut tls = TlsOptions::new();
    if let Some(ca) = &settings.ca_cert_file {
        tls = tls.ca_certificate(Certificate::from_pem(read_pem(ca).await?));
    }
    if let Some((cert, key)) = &settings.client_cert {
        tls = tls.identity(Identity::from_pem(read_pem(cert).await?, read_pem(key).await?));
    }
    Ok(Some(tls))
}

async fn read_pem(file: &SourcedPath) -> Result<Vec<u8>, SourceError> {
    let bad =
        |reason: String| SourceError::TlsFile { key: file.key, path: file.path.clone(), reason };
    let pem = tokio::fs::read(&file.path).await.map_err(|e| bad(format!("cannot read: {e}")))?;
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(bad("not PEM (no -----BEGIN line)".to_owned()));
    }
    Ok(pem)
}

/// Every prefix at one revision: the first page fixes it, the rest are read at it.
async fn list(kv: &mut KvClient) -> Result<(Vec<(String, Bytes)>, i64), SourceError> {
    let mut revision = 0;
    let mut entries = Vec::new();
    for prefix in PREFIXES {
        let end = prefix_end(prefix);
        let mut from = prefix.as_bytes().to_vec();
        loop {
            let mut options = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
            if revision > 0 {
                options = options.with_revision(revision);
            }
            let mut resp = bounded_result("list", kv.get(from.clone(), Some(options))).await?;
            if revision == 0 {
                revision = resp.header().map(|h| h.revision()).unwrap_or(0);
            }
            let more = resp.more();
            let kvs = resp.take_kvs();
            let Some(last) = kvs.last() else { break };
            from = last.key().to_vec();
            from.push(0);
            for kv in kvs {
                let (key, value) = kv.into_key_value();
                match String::from_utf8(key) {
                    Ok(key) => entries.push((key, Bytes::from(value))),
                    Err(e) => skip_key(e.as_bytes()),
                }
            }
            if !more {
                break;
            }
        }
    }
    Ok((entries, revision))
}

/// A watch event on a watched key, or `None` (another key under the covering range,
/// a key that is not UTF-8, an event kind this client does not know).
fn kv_event(event: &etcd_client::Event) -> Option<KvEvent> {
    let kv = event.kv()?;
    let key = match std::str::from_utf8(kv.key()) {
        Ok(k) => k,
        Err(_) => {
            skip_key(kv.key());
            return None;
        }
    };
    if !is_watched(key) {
        return None;
    }
    let mod_revision = kv.mod_revision();
    // 0 = PUT, 1 = DELETE in etcd's mvccpb.Event.EventType.
    match event.0.r#type {
        0 => Some(KvEvent::Put {
            key: key.to_owned(),
            value: Bytes::copy_from_slice(kv.value()),
            mod_revision,
        }),
        1 => Some(KvEvent::Delete { key: key.to_owned(), mod_revision }),
        other => {
            tracing::warn!("etcd datastore: {key}: unknown event type {other}, skipped");
            None
        }
    }
}

fn skip_key(key: &[u8]) {
    tracing::warn!("etcd datastore: key {:?} is not UTF-8, skipped", String::from_utf8_lossy(key));
}

async fn bounded_result<T>(
    during: &'static str,
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, SourceError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Err(_) => Err(SourceError::Timeout { during, timeout: REQUEST_TIMEOUT }),
        Ok(r) => r.map_err(|source| SourceError::Etcd { during, source }),
    }
}

/// How the source authenticates, appended to every error with the endpoint: a
/// server that drops the connection (a refused client certificate looks like that
/// to the client) is then read next to what was offered.
fn describe(settings: &EtcdSettings) -> String {
    let tls = match (&settings.ca_cert_file, &settings.client_cert) {
        (None, None) => "no TLS",
        (Some(_), None) => "TLS without a client certificate",
        (_, Some(_)) => "TLS with a client certificate",
    };
    let user = if settings.credentials.is_some() { ", etcd user" } else { "" };
    format!("{tls}{user}")
}

/// The error and its causes on one line: the client's top-level message alone
/// ("transport error") does not say a certificate was refused.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// A uniform draw in `[0, 1)` for the backoff's jitter, from the std hasher's
/// per-process random keys: nodes restarting together draw differently.
fn draw() -> f64 {
    let h = std::collections::hash_map::RandomState::new().hash_one(SystemTime::now());
    (h >> 11) as f64 / (1u64 << 53) as f64
}
