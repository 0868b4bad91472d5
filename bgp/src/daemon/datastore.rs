//! Following Calico's datastore: the owner's side of the etcd source and of
//! the resources file ([`super::datastore_file`]).
//!
//! ```text
//!   EtcdSource --watch (latest snapshot wins)--> Follow::next --Input::Datastore--+
//!   resources file --read at start, on SIGHUP and calico-bgpctl reload-----------+
//!                                                                                 v
//!   owner: calico::configure_resources(contents, local file, env) --valid--> Owner::apply (same diff as SIGHUP)
//!                                                                 --invalid--> refused, running config kept
//! ```
//!
//! The configuration file stays the base of every derivation: it names the
//! node and holds what only the node decides (control socket, FIB table,
//! timers, metrics). Calico's objects give the rest, as confd renders
//! BIRD's files from them. The daemon starts routing only once the
//! datastore gives a configuration that validates ([`file_config`], and
//! for etcd `super::startup`): a node that started with no peers would end
//! its graceful-restart recovery at once and remove the routes a previous
//! run left in the kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{error, info, warn};

use ctl::proto::{ReconfigResult, ReconfigSnapshot, ReloadResult};

use super::Owner;
use super::datastore_file::FileSource;
use crate::calico::{self, ResourceProblem, Resources};
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

/// What the datastore held at one revision, read into resources.
#[derive(Debug)]
pub(super) struct Contents {
    /// The etcd revision, or the read number of a resources file.
    pub(super) revision: i64,
    pub(super) resources: Resources,
    /// Objects that did not parse, left out.
    pub(super) problems: Vec<ResourceProblem>,
}

impl From<&DatastoreSnapshot> for Contents {
    fn from(s: &DatastoreSnapshot) -> Self {
        let (resources, problems) =
            Resources::from_kvs(s.kvs.iter().map(|(k, v)| (k.as_str(), v.as_ref())));
        Contents { revision: s.revision, resources, problems }
    }
}

/// Where the followed resources come from.
#[derive(Debug)]
pub(super) enum Source {
    /// Calico's etcd, watched.
    Etcd {
        /// Kept alive: dropping it stops the source.
        _source: EtcdSource,
        updates: watch::Receiver<Option<DatastoreUpdate>>,
        status: watch::Receiver<DatastoreStatus>,
    },
    /// A resources file, read again on every reload.
    File(FileSource),
}

/// A followed datastore: the source, the base configuration and what was
/// last received and applied.
#[derive(Debug)]
pub struct Follow {
    /// The configuration file as written: the base of every derivation.
    pub(super) local: Config,
    env: calico::Env,
    pub(super) source: Source,
    /// The newest contents received.
    last: Option<Contents>,
    /// Revision in force and the Unix time it was applied.
    applied: Option<(i64, u64)>,
    /// Why the newest contents are not in force.
    refused: Option<String>,
    /// Problems of the newest contents, logged once each.
    problems: BTreeSet<String>,
}

impl Follow {
    /// Follows Calico's etcd from now on (the source is a task of the
    /// runtime), nothing received yet.
    pub(super) fn etcd(settings: EtcdSettings, local: Config, env: calico::Env) -> Follow {
        let source = EtcdSource::spawn(settings);
        let etcd =
            Source::Etcd { updates: source.updates(), status: source.status(), _source: source };
        Follow::new(local, env, etcd)
    }

    fn new(local: Config, env: calico::Env, source: Source) -> Follow {
        Follow {
            local,
            env,
            source,
            last: None,
            applied: None,
            refused: None,
            problems: BTreeSet::new(),
        }
    }

    /// Waits for the next etcd snapshot; never returns for a file, nor once
    /// the etcd source is gone.
    pub(super) async fn next(&mut self) -> DatastoreSnapshot {
        let Source::Etcd { updates, .. } = &mut self.source else {
            return std::future::pending().await;
        };
        loop {
            if updates.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Some(u) = updates.borrow_and_update().as_ref() {
                return u.into();
            }
        }
    }

    /// Notes the problems of a derivation, logging the new ones.
    fn note_problems(&mut self, revision: i64, problems: &[ResourceProblem]) {
        let now: BTreeSet<String> = problems.iter().map(ToString::to_string).collect();
        for p in now.difference(&self.problems) {
            warn!("datastore revision {revision}: ignored: {p}");
        }
        self.problems = now;
    }

    /// What `show status` shows of the datastore.
    pub(super) fn view(&self) -> ctl::proto::DatastoreView {
        let base = match &self.source {
            Source::File(f) => f.view(),
            Source::Etcd { status, .. } => {
                let s = status.borrow();
                ctl::proto::DatastoreView {
                    kind: "etcdv3".into(),
                    endpoint: s.endpoint.clone(),
                    connected: s.connected,
                    revision_seen: s.revision,
                    revision_applied: None,
                    applied_at: None,
                    refused: None,
                    last_error: s.last_error.clone(),
                    last_error_at: s.last_error_at.map(unix),
                    problems: Vec::new(),
                }
            }
        };
        ctl::proto::DatastoreView {
            revision_seen: self.last.as_ref().map_or(base.revision_seen, |l| l.revision),
            revision_applied: self.applied.map(|(r, _)| r),
            applied_at: self.applied.map(|(_, at)| at),
            refused: self.refused.clone(),
            problems: self.problems.iter().cloned().collect(),
            ..base
        }
    }

    /// Takes `contents` as the newest and derives on them with the current
    /// base: the configuration, or why it cannot run (kept as `refused`).
    pub(super) fn derive(&mut self, contents: Contents) -> Result<ValidatedConfig, String> {
        self.last = Some(contents);
        self.derive_last().unwrap_or_else(|| Err("nothing received yet".into()))
    }

    /// Derives on the newest contents with the current base; `None` before
    /// any.
    pub(super) fn derive_last(&mut self) -> Option<Result<ValidatedConfig, String>> {
        let last = self.last.as_ref()?;
        let revision = last.revision;
        let out = calico::configure_resources(
            &last.resources,
            last.problems.clone(),
            &self.local,
            &self.env,
        );
        self.note_problems(revision, &out.problems);
        Some(out.config.map_err(|errors| {
            let why = one_line(&errors);
            self.refused = Some(why.clone());
            why
        }))
    }

    /// The newest contents' revision.
    fn last_revision(&self) -> i64 {
        self.last.as_ref().map_or(0, |l| l.revision)
    }

    /// The newest contents are in force from now.
    pub(super) fn applied_now(&mut self) {
        self.applied = Some((self.last_revision(), ctl::server::unix_now()));
        self.refused = None;
    }
}

/// Validation errors on one line, for logs and `show status`.
fn one_line(errors: &crate::config::ValidationErrors) -> String {
    errors.errors().iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Reads the resources file at `path` and derives the first configuration
/// from it; the errors (the file unreadable or not YAML, or a derived
/// configuration that does not validate) when it cannot run.
pub fn file_config(
    path: PathBuf,
    local: Config,
    env: calico::Env,
) -> Result<(ValidatedConfig, Follow), String> {
    let mut file = FileSource::new(path);
    let contents = file.read(ctl::server::unix_now())?;
    let mut follow = Follow::new(local, env, Source::File(file));
    let cfg = follow.derive(contents)?;
    follow.applied_now();
    if let Source::File(f) = &follow.source {
        for w in cfg.warnings() {
            warn!("datastore: {}: {w}", f.path().display());
        }
        info!("datastore: {} read: {}", f.path().display(), cfg.summary());
    }
    Ok((cfg, follow))
}

impl Owner {
    /// A new snapshot: derived and applied through the same diff as a
    /// reload, or refused with the running configuration kept.
    pub(super) fn on_datastore(&mut self, snapshot: DatastoreSnapshot) {
        let Some(f) = self.follow.as_mut() else { return };
        f.last = Some((&snapshot).into());
        let mut result = super::applied();
        if let Err(errors) = self.apply_followed(&mut result) {
            result.result = ReconfigResult::Refused { errors };
        }
        self.last_reconfig =
            Some(ReconfigSnapshot { at: ctl::server::unix_now(), result: result.result });
    }

    /// A reload (SIGHUP, `calico-bgpctl reload`) while following: the
    /// re-read file is the new base, derived on with the newest snapshot,
    /// or with the resources file read again. A resources file that cannot
    /// be read refuses the reload as a whole.
    pub(super) fn reload_followed(
        &mut self,
        local: Config,
        result: &mut ReloadResult,
    ) -> Result<(), Vec<String>> {
        let Some(f) = self.follow.as_mut() else { return Ok(()) };
        if f.local.datastore != local.datastore {
            warn!("[datastore] takes effect at the next restart");
        }
        if let Source::File(file) = &mut f.source {
            match file.read(ctl::server::unix_now()) {
                Ok(contents) => f.last = Some(contents),
                Err(why) => {
                    error!("datastore: {why}: keeping the running configuration");
                    return Err(vec![why]);
                }
            }
        }
        f.local = local;
        self.apply_followed(result)
    }

    fn apply_followed(&mut self, result: &mut ReloadResult) -> Result<(), Vec<String>> {
        let Some(f) = self.follow.as_mut() else { return Ok(()) };
        let revision = f.last_revision();
        let outcome = match f.derive_last() {
            None => return Ok(()),
            Some(Ok(new)) => self.apply(new, &format!("datastore revision {revision}"), result),
            Some(Err(why)) => Err(vec![why]),
        };
        let Some(f) = self.follow.as_mut() else { return outcome };
        match &outcome {
            Ok(()) => {
                f.applied_now();
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
