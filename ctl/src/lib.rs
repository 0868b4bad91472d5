//! Operator surface of calico-bgp, shared by `calico-bgpd` and `calico-bgpctl`:
//!
//! - [`build_info`]: the version and git commit of this build;
//! - [`cli`]: `calico-bgpctl`'s command line;
//! - [`bird16`]: BIRD 1.6's control-socket dialect, for Calico's tools;
//! - [`proto`]: the typed, versioned request/response protocol of the control
//!   socket and the snapshot types the daemon fills;
//! - [`server`]: the socket server and the one [`server::Handler`] trait the
//!   daemon implements;
//! - [`client`]: the blocking client `calico-bgpctl` uses;
//! - [`render`]: human tables (calicoctl / birdc look-alikes);
//! - [`metrics`]: Prometheus exposition rendered from the same snapshots and a
//!   small HTTP server;
//! - [`health`]: liveness/readiness as calico-node's BIRD probes decide them;
//! - [`sdnotify`]: systemd readiness, reload and watchdog notifications.
#![warn(missing_docs)]

pub mod bird16;
pub mod build_info;
pub mod cli;
pub mod client;
pub mod health;
pub mod metrics;
pub mod proto;
pub mod render;
pub mod sdnotify;
pub mod server;
