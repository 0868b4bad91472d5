//! Liveness and readiness as calico-node's `-bird-live` / `-bird-ready`
//! probes decide them (calico `node/pkg/health/health.go`), computed from the
//! snapshots so `calico-bgpctl check ready` can replace those probes.
//!
//! - live: the daemon answers `show status` (the probe's own timeout applies),
//!   also while it waits for the datastore's first configuration;
//! - not ready while it waits for that configuration;
//! - ready, strict (the first minutes after the node started): every peer is
//!   Established and graceful-restart recovery is over;
//! - ready, relaxed (later): at least one peer is Established, or there are no
//!   peers at all.

use std::net::IpAddr;

use crate::proto::{PeerSnapshot, SessionState, StatusSnapshot};

/// Why the node is not ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// Sessions not Established (calico-node's message wording).
    #[error("BGP not established with {}", join(.0))]
    NotEstablished(Vec<IpAddr>),
    /// Our own graceful-restart recovery is still running.
    #[error("graceful restart recovery in progress ({0} s left)")]
    GracefulRestart(u32),
    /// The daemon is shutting down.
    #[error("shutdown in progress")]
    ShuttingDown,
    /// No configuration yet: the datastore has not given one that runs.
    #[error("waiting for the datastore: {0}")]
    WaitingForDatastore(String),
}

fn join(addrs: &[IpAddr]) -> String {
    addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// Readiness of the node; `strict` during the start-up window.
pub fn readiness(
    status: &StatusSnapshot,
    peers: &[PeerSnapshot],
    strict: bool,
) -> Result<(), NotReady> {
    if status.shutting_down {
        return Err(NotReady::ShuttingDown);
    }
    if let Some(why) = &status.waiting {
        return Err(NotReady::WaitingForDatastore(why.clone()));
    }
    let down: Vec<IpAddr> = peers
        .iter()
        .filter(|p| !p.disabled && p.state != SessionState::Established)
        .map(|p| p.address)
        .collect();
    if strict {
        if let Some(gr) = &status.graceful_restart {
            return Err(NotReady::GracefulRestart(gr.wait_left_secs));
        }
        if !down.is_empty() {
            return Err(NotReady::NotEstablished(down));
        }
        return Ok(());
    }
    let established = peers.iter().any(|p| p.state == SessionState::Established);
    if peers.iter().all(|p| p.disabled) || established {
        Ok(())
    } else {
        Err(NotReady::NotEstablished(down))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{
        FibStats, GrRecovery, PeerGracefulRestart, PeerType, ProtoState, StatusSnapshot,
    };

    fn status() -> StatusSnapshot {
        StatusSnapshot {
            version: "t".into(),
            commit: "t".into(),
            router_id: "10.0.0.1".parse().unwrap(),
            started_at: 0,
            uptime_secs: 0,
            last_reconfig: None,
            graceful_restart: None,
            graceful_restart_helping: vec![],
            shutting_down: false,
            rib: vec![],
            fib: FibStats::default(),
            event_loop_lag_secs: 0.0,
            event_loop_lag_max_secs: 0.0,
            unknown_connects: vec![],
            datastore: None,
            waiting: None,
        }
    }

    fn peer(addr: &str, state: SessionState) -> PeerSnapshot {
        PeerSnapshot {
            address: addr.parse().unwrap(),
            port: 179,
            name: "p".into(),
            peer_type: PeerType::Mesh,
            state,
            disabled: false,
            passive: false,
            since: 0,
            proto_since: None,
            last_error: None,
            local_as: 64512,
            remote_as: 64512,
            local_id: "10.0.0.1".parse().unwrap(),
            remote_id: None,
            source_address: None,
            internal: true,
            multihop: true,
            rr_client: false,
            remote_caps: None,
            negotiated_caps: None,
            hold_timer: None,
            keepalive_timer: None,
            prefixes: vec![],
            messages: Default::default(),
            flaps: 0,
            uptime_secs: None,
            graceful_restart: PeerGracefulRestart::default(),
            filters: Vec::new(),
            filter_rules: Vec::new(),
        }
    }

    #[test]
    fn zero_peers_is_ready() {
        assert_eq!(readiness(&status(), &[], true), Ok(()));
        assert_eq!(readiness(&status(), &[], false), Ok(()));
    }

    #[test]
    fn strict_needs_every_peer_and_names_the_missing_ones() {
        let peers = [
            peer("10.0.0.2", SessionState::Established),
            peer("10.0.0.3", SessionState::Active),
            peer("fd00::4", SessionState::Connect),
        ];
        let err = readiness(&status(), &peers, true).unwrap_err();
        assert_eq!(err.to_string(), "BGP not established with 10.0.0.3,fd00::4");
        assert_eq!(readiness(&status(), &peers, false), Ok(()));
        assert_eq!(peers[1].proto_state(), ProtoState::Start);
    }

    #[test]
    fn relaxed_needs_one_established_peer() {
        let peers = [peer("10.0.0.3", SessionState::Active)];
        assert!(readiness(&status(), &peers, false).is_err());
    }

    #[test]
    fn strict_waits_for_graceful_restart_recovery() {
        let mut s = status();
        s.graceful_restart =
            Some(GrRecovery { waiting_for: vec![], wait_left_secs: 215, wait_total_secs: 240 });
        let peers = [peer("10.0.0.2", SessionState::Established)];
        assert_eq!(readiness(&s, &peers, true), Err(NotReady::GracefulRestart(215)));
        assert_eq!(readiness(&s, &peers, false), Ok(()));
    }

    #[test]
    fn shutting_down_is_never_ready() {
        let mut s = status();
        s.shutting_down = true;
        assert_eq!(readiness(&s, &[], false), Err(NotReady::ShuttingDown));
    }

    #[test]
    fn a_daemon_waiting_for_the_datastore_is_not_ready() {
        let s = StatusSnapshot { waiting: Some("no Calico Node n1".into()), ..status() };
        let e = readiness(&s, &[], false).unwrap_err();
        assert_eq!(e.to_string(), "waiting for the datastore: no Calico Node n1");
    }
}
