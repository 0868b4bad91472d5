//! What the daemon starts from, and the wait for Calico's etcd to give a
//! first configuration that runs, with the operator surface already up.
//!
//! ```text
//!   run: Channels --handler--> control socket, BIRD-dialect sockets, metrics (bound first)
//!        Start::Ready(cfg) ------------------------------------------+
//!        Start::Etcd --first_config: snapshots until one derives----+--> routes, Owner (same Channels)
//!                      meanwhile: show status "Waiting for the datastore: <why>",
//!                      BIRD `0013 Reconfiguration in progress`, `check ready` fails,
//!                      systemd's start timeout extended, reload re-reads the file,
//!                      SIGTERM ends the wait
//! ```
//!
//! A node whose Node object is not written yet, or whose etcd is away,
//! would otherwise have no control socket at all: calico-node's liveness
//! probe and an operator could not tell a waiting daemon from a dead one.
//! No session starts before the configuration is known (a node with no
//! peers would end its graceful-restart recovery at once and remove the
//! routes a previous run left in the kernel).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ctl::proto::{CtlError, ErrorKind, ReconfigResult, ReconfigSnapshot, ReloadResult};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use super::control::{self, CtlHandler, DaemonSnapshot, Query};
use super::datastore::Follow;
use super::{Control, Input};
use crate::calico;
use crate::config::{self, Config, EtcdSettings, ValidatedConfig};

/// What the daemon starts from.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "made once, at start")]
pub enum Start {
    /// A configuration to run now: the file, or a resources file read
    /// ([`super::file_config`]), with the datastore followed, if any.
    Ready(ValidatedConfig, Option<Follow>),
    /// Calico's etcd: wait for a first configuration, then follow it.
    Etcd {
        /// Where etcd is and how to authenticate.
        settings: EtcdSettings,
        /// The configuration file as written: the base of every derivation.
        local: Config,
        /// What confd reads from its environment.
        env: calico::Env,
    },
}

impl Start {
    /// The settings that only the file gives (control socket, metrics, log
    /// level): known before any datastore answers.
    pub(super) fn local(&self) -> &Config {
        match self {
            Start::Ready(cfg, _) => cfg.config(),
            Start::Etcd { local, .. } => local,
        }
    }
}

/// The owner's input and query queues and its snapshot channel, made before
/// the owner so that the control socket can answer while it waits.
#[derive(Debug)]
pub(super) struct Channels {
    pub(super) inputs_tx: mpsc::UnboundedSender<Input>,
    pub(super) inputs_rx: mpsc::UnboundedReceiver<Input>,
    pub(super) queries_tx: mpsc::UnboundedSender<Query>,
    pub(super) queries_rx: mpsc::UnboundedReceiver<Query>,
    pub(super) snapshots: watch::Sender<Arc<DaemonSnapshot>>,
}

impl Channels {
    pub(super) fn new() -> Channels {
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        let (queries_tx, queries_rx) = mpsc::unbounded_channel();
        Channels {
            inputs_tx,
            inputs_rx,
            queries_tx,
            queries_rx,
            snapshots: watch::Sender::new(Arc::new(DaemonSnapshot::default())),
        }
    }

    /// The handler answering `calico-bgpctl` and the metrics endpoint.
    pub(super) fn handler(&self) -> CtlHandler {
        CtlHandler::new(self.snapshots.subscribe(), self.inputs_tx.clone(), self.queries_tx.clone())
    }
}

/// How often the waiting daemon says why in its log.
const WAITING_REPORT: Duration = Duration::from_secs(10);

/// Starts following etcd and waits for the first snapshot whose
/// configuration validates, answering the control socket meanwhile; `None`
/// when SIGTERM (or SIGINT) came first. `path` is the file a reload
/// re-reads.
pub(super) async fn first_config(
    settings: EtcdSettings,
    local: Config,
    env: calico::Env,
    path: &Path,
    ch: &mut Channels,
) -> Option<(ValidatedConfig, Follow)> {
    let mut follow = Follow::etcd(settings, local, env);
    let mut wait = Waiting {
        started_at: ctl::server::unix_now(),
        why: "no snapshot of Calico's resources yet".to_owned(),
        last_reconfig: None,
    };
    info!("datastore: waiting for the first snapshot of Calico's resources");
    let mut refresh = tokio::time::interval(control::REFRESH);
    let mut report = tokio::time::interval(WAITING_REPORT);
    report.tick().await;
    loop {
        wait.publish(ch, &follow);
        tokio::select! {
            snap = follow.next() => {
                let revision = snap.revision;
                match follow.derive((&snap).into()) {
                    Ok(cfg) => {
                        follow.applied_now();
                        for w in cfg.warnings() {
                            warn!("datastore revision {revision}: {w}");
                        }
                        info!("datastore: revision {revision} applied: {}", cfg.summary());
                        return Some((cfg, follow));
                    }
                    Err(why) => {
                        error!("datastore revision {revision}: cannot run this configuration yet: {why}");
                        wait.why = why;
                    }
                }
            }
            Some(input) = ch.inputs_rx.recv() => match input {
                Input::Shutdown => {
                    info!("stopped while waiting for the datastore");
                    return None;
                }
                Input::Reload => {
                    if let Ok(cfg) = wait.reload(path, &mut follow) {
                        return Some((cfg, follow));
                    }
                }
                Input::Control(Control::Reload { reply }) => {
                    let outcome = wait.reload(path, &mut follow);
                    let result = match &outcome {
                        Ok(cfg) => ReloadResult {
                            result: ReconfigResult::Applied,
                            peers_added: cfg.peers().iter().map(|p| p.bird_protocol_name()).collect(),
                            ..super::applied()
                        },
                        Err(errors) => ReloadResult {
                            result: ReconfigResult::Refused { errors: errors.clone() },
                            ..super::applied()
                        },
                    };
                    let _ = reply.send(result);
                    if let Ok(cfg) = outcome {
                        return Some((cfg, follow));
                    }
                }
                Input::Control(Control::Advertise { reply, .. }) => {
                    let why = format!("waiting for the datastore: {}", wait.why);
                    let _ = reply.send(Err(CtlError::new(ErrorKind::Unavailable, why)));
                }
                // No session, listener or FIB runs yet.
                Input::Session(_)
                | Input::Refused { .. }
                | Input::NextHop { .. }
                | Input::KernelRoutes(_)
                | Input::Datastore(_) => {}
            },
            Some(q) = ch.queries_rx.recv() => match q {
                Query::Routes { reply, .. } => {
                    let _ = reply.send(Vec::new());
                }
                Query::Table { reply } => {
                    let _ = reply.send(Arc::default());
                }
                Query::Fib { reply } => {
                    let _ = reply.send(Arc::default());
                }
            },
            _ = refresh.tick() => {}
            _ = report.tick() => {
                // Waiting is start-up: systemd's start timeout must not end it.
                if let Err(e) = ctl::sdnotify::extend_timeout(3 * WAITING_REPORT) {
                    warn!("sd_notify EXTEND_TIMEOUT_USEC: {e}");
                }
                let view = follow.view();
                match (&view.last_error, view.connected) {
                    (Some(e), false) => warn!("datastore: still waiting ({}): {e}", view.endpoint),
                    _ => info!("datastore: still waiting ({}): {}", view.endpoint, wait.why),
                }
            }
        }
    }
}

/// The waiting daemon's own state.
struct Waiting {
    started_at: u64,
    /// Why no configuration runs yet.
    why: String,
    /// The last reload while waiting.
    last_reconfig: Option<ReconfigSnapshot>,
}

impl Waiting {
    /// Publishes the status `show status`, the BIRD-dialect sockets and the
    /// metrics answer with.
    fn publish(&self, ch: &Channels, follow: &Follow) {
        let now = ctl::server::unix_now();
        let status = ctl::proto::StatusSnapshot {
            started_at: self.started_at,
            uptime_secs: now.saturating_sub(self.started_at),
            last_reconfig: self.last_reconfig.clone(),
            datastore: Some(Box::new(follow.view())),
            waiting: Some(self.why.clone()),
            ..control::starting_status()
        };
        let changed = ch.snapshots.borrow().status.as_ref().and_then(|s| s.waiting.as_ref())
            != Some(&self.why);
        if changed {
            let text = format!("waiting for the datastore: {}", self.why);
            if let Err(e) = ctl::sdnotify::status(&text) {
                warn!("sd_notify STATUS: {e}");
            }
        }
        ch.snapshots
            .send_replace(Arc::new(DaemonSnapshot { status: Some(status), ..Default::default() }));
    }

    /// SIGHUP or `calico-bgpctl reload` while waiting: the file read again
    /// and derived on the newest snapshot; the configuration when it runs.
    fn reload(&mut self, path: &Path, follow: &mut Follow) -> Result<ValidatedConfig, Vec<String>> {
        info!("reloading {} while waiting for the datastore", path.display());
        let outcome = match config::load_unvalidated(path) {
            Err(e) => Err(vec![format!("{}: error: {e}", path.display())]),
            Ok(local) => {
                follow.local = local;
                match follow.derive_last() {
                    None => Err(vec![format!("waiting for the datastore: {}", self.why)]),
                    Some(Ok(cfg)) => {
                        follow.applied_now();
                        Ok(cfg)
                    }
                    Some(Err(why)) => {
                        self.why.clone_from(&why);
                        Err(vec![why])
                    }
                }
            }
        };
        let result = match &outcome {
            Ok(_) => ReconfigResult::Applied,
            Err(errors) => {
                for e in errors {
                    error!("reload refused: {e}");
                }
                ReconfigResult::Refused { errors: errors.clone() }
            }
        };
        self.last_reconfig = Some(ReconfigSnapshot { at: ctl::server::unix_now(), result });
        outcome
    }
}
