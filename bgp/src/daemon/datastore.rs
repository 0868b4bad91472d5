//! Following Calico's datastore: the owner's side of the etcd source.
//!
//! ```text
//!   EtcdSource --watch (latest snapshot wins)--> Follow::next --Input::Datastore-->
//!   owner: calico::configure(snapshot, local file, env) --valid--> Owner::apply (same diff as SIGHUP)
//!                                                       --invalid--> refused, running config kept
//! ```
//!
//! The configuration file stays the base of every derivation: it names the
//! node and holds what only the node decides (control socket, FIB table,
//! timers, metrics). Calico's objects give the rest, as confd renders
//! BIRD's files from them. The daemon starts only once a first snapshot
//! gives a configuration that validates ([`first_config`]): a node that
//! started with no peers would end its graceful-restart recovery at once and
//! remove the routes a previous run left in the kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{error, info, warn};

use ctl::proto::{ReconfigResult, ReconfigSnapshot, ReloadResult};

use super::{Owner, RouteHandler};
use crate::calico::{self, Configured};
use crate::config::{Config, EtcdSettings, ValidatedConfig};
use crate::datastore::{DatastoreStatus, DatastoreUpdate, EtcdSource};

/// One snapshot of the watched keys, as the owner receives it (recorded
/// with `--record` like every input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatastoreSnapshot {
    /// The datastore revision it is current at.
    pub revision: i64,
    /// Every watched key and its value.
    pub kvs: Arc<BTreeMap<String, Bytes>>,
}

impl From<&DatastoreUpdate> for DatastoreSnapshot {
    fn from(u: &DatastoreUpdate) -> Self {
        DatastoreSnapshot { revision: u.revision, kvs: u.snapshot.clone() }
    }
}

impl DatastoreSnapshot {
    /// The node's configuration from this snapshot on top of `local`.
    pub fn configure(&self, local: &Config, env: &calico::Env) -> Configured {
        calico::configure(self.kvs.iter().map(|(k, v)| (k.as_str(), v.as_ref())), local, env)
    }
}

/// A followed datastore: the source, the base configuration and what was
/// last received and applied.
#[derive(Debug)]
pub struct Follow {
    /// The configuration file as written: the base of every derivation.
    pub(super) local: Config,
    pub(super) env: calico::Env,
    /// Kept alive: dropping it stops the source.
    _source: EtcdSource,
    updates: watch::Receiver<Option<DatastoreUpdate>>,
    status: watch::Receiver<DatastoreStatus>,
    /// The newest snapshot received.
    pub(super) last: Option<DatastoreSnapshot>,
    /// Revision in force and the Unix time it was applied.
    pub(super) applied: Option<(i64, u64)>,
    /// Why the newest snapshot is not in force.
    pub(super) refused: Option<String>,
    /// Problems of the newest snapshot, logged once each.
    pub(super) problems: BTreeSet<String>,
}

impl Follow {
    /// Waits for the next snapshot; never returns once the source is gone.
    pub(super) async fn next(&mut self) -> DatastoreSnapshot {
        loop {
            if self.updates.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Some(u) = self.updates.borrow_and_update().as_ref() {
                return u.into();
            }
        }
    }

    /// Notes the problems of a derivation, logging the new ones.
    pub(super) fn note_problems(&mut self, revision: i64, problems: &[calico::ResourceProblem]) {
        let now: BTreeSet<String> = problems.iter().map(ToString::to_string).collect();
        for p in now.difference(&self.problems) {
            warn!("datastore revision {revision}: ignored: {p}");
        }
        self.problems = now;
    }

    /// What `show status` shows of the datastore.
    pub(super) fn view(&self) -> ctl::proto::DatastoreView {
        let s = self.status.borrow();
        ctl::proto::DatastoreView {
            kind: "etcdv3".into(),
            endpoint: s.endpoint.clone(),
            connected: s.connected,
            revision_seen: self.last.as_ref().map_or(s.revision, |l| l.revision),
            revision_applied: self.applied.map(|(r, _)| r),
            applied_at: self.applied.map(|(_, at)| at),
            refused: self.refused.clone(),
            last_error: s.last_error.clone(),
            last_error_at: s.last_error_at.map(unix),
            problems: self.problems.iter().cloned().collect(),
        }
    }
}

/// Validation errors on one line, for logs and `show status`.
pub(super) fn one_line(errors: &crate::config::ValidationErrors) -> String {
    errors.errors().iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// How often a daemon still waiting for its first configuration says why.
const WAITING_REPORT: Duration = Duration::from_secs(10);

/// Starts following the datastore and waits for the first snapshot whose
/// configuration validates; every other one is logged with the reason.
/// Must run inside the runtime (the source is a task of it).
pub async fn first_config(
    settings: EtcdSettings,
    local: Config,
    env: calico::Env,
) -> (ValidatedConfig, Follow) {
    let source = EtcdSource::spawn(settings);
    let mut follow = Follow {
        local,
        env,
        updates: source.updates(),
        status: source.status(),
        _source: source,
        last: None,
        applied: None,
        refused: None,
        problems: BTreeSet::new(),
    };
    info!("datastore: waiting for the first snapshot of Calico's resources");
    loop {
        let snap = tokio::select! {
            s = follow.next() => s,
            () = tokio::time::sleep(WAITING_REPORT) => {
                let s = follow.status.borrow().clone();
                match (&s.last_error, s.connected) {
                    (Some(e), false) => warn!("datastore: still waiting ({}): {e}", s.endpoint),
                    _ => info!("datastore: still waiting for a first snapshot ({})", s.endpoint),
                }
                continue;
            }
        };
        let out = snap.configure(&follow.local, &follow.env);
        follow.note_problems(snap.revision, &out.problems);
        let revision = snap.revision;
        follow.last = Some(snap);
        match out.config {
            Ok(cfg) => {
                follow.applied = Some((revision, unix(SystemTime::now())));
                follow.refused = None;
                info!("datastore: revision {revision} applied: {}", cfg.summary());
                return (cfg, follow);
            }
            Err(errors) => {
                let why = one_line(&errors);
                error!("datastore revision {revision}: cannot run this configuration yet: {why}");
                follow.refused = Some(why);
            }
        }
    }
}

impl<R: RouteHandler> Owner<R> {
    /// A new snapshot: derived and applied through the same diff as a
    /// reload, or refused with the running configuration kept.
    pub(super) fn on_datastore(&mut self, snapshot: DatastoreSnapshot) {
        let Some(f) = self.follow.as_mut() else { return };
        f.last = Some(snapshot);
        let mut result = super::applied();
        if let Err(errors) = self.apply_followed(&mut result) {
            result.result = ReconfigResult::Refused { errors };
        }
        self.last_reconfig =
            Some(ReconfigSnapshot { at: ctl::server::unix_now(), result: result.result });
    }

    /// A reload (SIGHUP, `calico-bgpctl reload`) while following: the
    /// re-read file is the new base, derived on with the newest snapshot.
    pub(super) fn reload_followed(
        &mut self,
        local: Config,
        result: &mut ReloadResult,
    ) -> Result<(), Vec<String>> {
        let Some(f) = self.follow.as_mut() else { return Ok(()) };
        if f.local.datastore != local.datastore {
            warn!("[datastore] takes effect at the next restart");
        }
        f.local = local;
        self.apply_followed(result)
    }

    fn apply_followed(&mut self, result: &mut ReloadResult) -> Result<(), Vec<String>> {
        let Some(f) = self.follow.as_mut() else { return Ok(()) };
        let Some(snapshot) = f.last.clone() else { return Ok(()) };
        let revision = snapshot.revision;
        let out = snapshot.configure(&f.local, &f.env);
        f.note_problems(revision, &out.problems);
        let outcome = match out.config {
            Ok(new) => self.apply(new, &format!("datastore revision {revision}"), result),
            Err(errors) => Err(errors.errors().iter().map(ToString::to_string).collect()),
        };
        let Some(f) = self.follow.as_mut() else { return outcome };
        match &outcome {
            Ok(()) => {
                f.applied = Some((revision, ctl::server::unix_now()));
                f.refused = None;
                info!("datastore: revision {revision} applied");
            }
            Err(errors) => {
                let why = errors.join("; ");
                error!(
                    "datastore revision {revision} refused, keeping the running configuration: {why}"
                );
                f.refused = Some(why);
            }
        }
        outcome
    }
}
