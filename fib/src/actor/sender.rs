//! [`FibSender`], the RIB's handle on the FIB task: route changes go into the
//! coalescing log ([`super::pending`]), everything else over the control channel.
//! No method waits for the kernel.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use super::{Control, FibConfig, FibEvent, FibRoutes, FibStatus, NextHopReach, Pending};
use crate::learn::LearnedChange;
use crate::policy::{BestRoute, StaticRoute};

/// The RIB's handle on the FIB. Cheap to clone; no method waits for the kernel.
#[derive(Clone)]
pub struct FibSender {
    pub(super) pending: Arc<Mutex<Pending>>,
    pub(super) notify: Arc<Notify>,
    pub(super) ctrl: mpsc::UnboundedSender<Control>,
    pub(super) events: broadcast::Sender<FibEvent>,
}

impl std::fmt::Debug for FibSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FibSender").finish_non_exhaustive()
    }
}

impl FibSender {
    fn push(&self, prefix: IpNet, change: Option<BestRoute>) {
        // A poisoned lock only means another sender panicked mid-push; the log is
        // still a valid log.
        let first =
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(prefix.trunc(), change);
        // The task takes the whole log at once, so only the change that makes it
        // non-empty needs to wake it; the rest of a burst costs an append.
        if first {
            self.notify.notify_one();
        }
    }

    /// Several changes at once (`None`: the prefix has no best route any more), under
    /// one lock: what the RIB hands over per UPDATE.
    pub fn apply<I>(&self, changes: I)
    where
        I: IntoIterator<Item = (IpNet, Option<BestRoute>)>,
    {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut first = false;
        for (prefix, change) in changes {
            first |= p.push(prefix.trunc(), change);
        }
        drop(p);
        if first {
            self.notify.notify_one();
        }
    }

    /// A new or changed best route. Replaces any change still pending for the prefix.
    pub fn update(&self, best: BestRoute) {
        self.push(best.prefix, Some(best));
    }

    /// The prefix has no best route any more.
    pub fn withdraw(&self, prefix: IpNet) {
        self.push(prefix, None);
    }

    /// Routing has converged (End-of-RIB from every peer): adopted routes that nothing
    /// wants may now be deleted.
    pub fn converged(&self) {
        let _ = self.ctrl.send(Control::Converged);
    }

    /// A reload: new pools, service ranges, `programClusterRoutes` or node addresses
    /// are taken and every route is decided again (a mode switch rewrites routes in
    /// place). The table and the `manage_*` opt-ins are read at start and kept.
    pub fn reconfigure(&self, cfg: FibConfig) {
        let _ = self.ctrl.send(Control::Reconfigure(cfg));
    }

    /// New static routes to peers: next hops are resolved again through them.
    pub fn set_static_routes(&self, statics: Vec<StaticRoute>) {
        let _ = self.ctrl.send(Control::SetStaticRoutes(statics));
    }

    /// Waits until every change sent before this call has been written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.ctrl.send(Control::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The FIB's state.
    pub async fn status(&self) -> Option<FibStatus> {
        let (tx, rx) = oneshot::channel();
        self.ctrl.send(Control::Status(tx)).ok()?;
        rx.await.ok()
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FibEvent> {
        self.events.subscribe()
    }

    /// Starts (`add`) and stops (`remove`) tracking next hops: each added one
    /// is reported at once on the [`FibSender::watch_next_hops`] stream, and
    /// again whenever an address or underlay change alters its reachability.
    pub fn track(&self, add: Vec<IpAddr>, remove: Vec<IpAddr>) {
        let _ = self.ctrl.send(Control::Track(add, remove));
    }

    /// The stream of [`NextHopReach`] reports (one consumer: a later call
    /// replaces the earlier stream).
    pub fn watch_next_hops(&self) -> mpsc::UnboundedReceiver<NextHopReach> {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.ctrl.send(Control::WatchNextHops(tx));
        rx
    }

    /// The stream of learned-route changes (with [`FibConfig::learn`]): the whole set
    /// first, then each change as the kernel reports it. One consumer: a later call
    /// replaces the earlier stream.
    pub fn watch_learned(&self) -> mpsc::UnboundedReceiver<Vec<LearnedChange>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.ctrl.send(Control::WatchLearned(tx));
        rx
    }

    /// Wanted and installed routes (`show fib`).
    pub async fn routes(&self) -> Option<FibRoutes> {
        let (tx, rx) = oneshot::channel();
        self.ctrl.send(Control::Routes(tx)).ok()?;
        rx.await.ok()
    }

    /// Stops the task; routes stay in the kernel.
    pub fn stop(&self) {
        let _ = self.ctrl.send(Control::Stop);
    }
}
