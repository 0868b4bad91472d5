//! `show status` (birdc show status plus our own numbers), `reload` and `advertise`.

use std::fmt::Write;

use super::{clock, datetime, duration};
use crate::proto::{
    AdvertiseAction, AdvertiseResult, DatastoreView, ReconfigResult, ReloadResult, StatusSnapshot,
};

/// Renders `show status`.
pub fn status(s: &StatusSnapshot, now: u64) -> String {
    let mut o = String::new();
    // A daemon older than the commit field sends none.
    let _ = match s.commit.as_str() {
        "" => writeln!(o, "{}", s.version),
        commit => writeln!(o, "{} (commit {commit})", s.version),
    };
    let _ = writeln!(o, "Router ID is {}", s.router_id);
    let _ = writeln!(o, "Current server time is {}", datetime(now));
    let _ =
        writeln!(o, "Last reboot on {} (up {})", datetime(s.started_at), duration(s.uptime_secs));
    match &s.last_reconfig {
        None => {}
        Some(r) => {
            let _ = write!(o, "Last reconfiguration on {}", datetime(r.at));
            match &r.result {
                ReconfigResult::Applied => o.push_str(": applied\n"),
                ReconfigResult::Refused { errors } => {
                    let _ = writeln!(o, ": refused, previous configuration kept");
                    for e in errors {
                        let _ = writeln!(o, "  {e}");
                    }
                }
            }
        }
    }
    if let Some(d) = &s.datastore {
        datastore(&mut o, d, s.waiting.is_some());
    }
    if let Some(gr) = &s.graceful_restart {
        o.push_str("Graceful restart recovery in progress\n");
        let _ = writeln!(
            o,
            "  Waiting for {} protocols to recover: {}",
            gr.waiting_for.len(),
            gr.waiting_for.join(" ")
        );
        let _ = writeln!(o, "  Wait timer is {}/{}", gr.wait_left_secs, gr.wait_total_secs);
    }
    for h in &s.graceful_restart_helping {
        let _ = write!(
            o,
            "Graceful restart: keeping routes of {}: {}",
            h.peer,
            h.state.as_str().replace('_', " ")
        );
        if let Some(left) = h.time_left_secs {
            let _ = write!(o, ", {left} s left");
        }
        let _ = writeln!(o, ", {} stale routes", h.stale_routes);
    }
    for r in &s.rib {
        let _ =
            writeln!(o, "RIB {}: {} prefixes, {} paths", r.family.as_str(), r.prefixes, r.paths);
    }
    let f = &s.fib;
    let _ = writeln!(
        o,
        "FIB: {} wanted, {} installed, {} errors since start",
        f.wanted, f.installed, f.errors
    );
    let _ = writeln!(
        o,
        "Event loop lag: {:.1} ms (max {:.1} ms)",
        s.event_loop_lag_secs * 1e3,
        s.event_loop_lag_max_secs * 1e3
    );
    for u in &s.unknown_connects {
        let _ = writeln!(
            o,
            "Refused {} connection(s) from {} (last at {}): not a configured neighbor; \
             check the IP autodetection of that node",
            u.count,
            u.source,
            clock(u.last)
        );
    }
    match (&s.waiting, s.shutting_down) {
        (_, true) => o.push_str("Shutdown in progress\n"),
        (Some(why), false) => {
            let _ = writeln!(o, "Waiting for the datastore: {why}");
        }
        (None, false) => o.push_str("Daemon is up and running\n"),
    }
    o
}

/// Where the configuration comes from: the datastore, the revision in
/// force and what is wrong with the newest one.
///
/// A resources file (`kind` `file`) has no revisions: each good read of it
/// counts as one, and "connected" means its last read succeeded.
///
/// While `waiting`, no configuration runs yet: a refused revision keeps
/// nothing.
fn datastore(o: &mut String, d: &DatastoreView, waiting: bool) {
    let (revision, newest) = if d.kind == "file" {
        let state = if d.connected { "" } else { " (its last read failed)" };
        let _ = writeln!(o, "Configuration from datastore file {}{state}", d.endpoint);
        ("Read", "read")
    } else {
        let link = if d.connected { "connected to" } else { "not connected, trying" };
        let _ = writeln!(o, "Configuration from datastore {} ({link} {})", d.kind, d.endpoint);
        ("Revision", "revision")
    };
    match (d.revision_applied, d.applied_at) {
        (Some(rev), Some(at)) => {
            let _ = writeln!(o, "  {revision} {rev} applied on {}", datetime(at));
        }
        _ => {
            let _ = writeln!(o, "  No {newest} applied yet");
        }
    }
    if d.revision_applied != Some(d.revision_seen) && d.revision_seen > 0 {
        let _ = writeln!(o, "  Newest {newest} seen: {}", d.revision_seen);
    }
    match (&d.refused, waiting) {
        (Some(why), false) => {
            let _ = writeln!(o, "  Newest {newest} refused, previous configuration kept: {why}");
        }
        (Some(why), true) => {
            let _ = writeln!(o, "  Newest {newest} cannot run: {why}");
        }
        (None, _) => {}
    }
    if let (Some(e), Some(at)) = (&d.last_error, d.last_error_at) {
        let _ = writeln!(o, "  Last datastore error at {}: {e}", datetime(at));
    }
    for p in &d.problems {
        let _ = writeln!(o, "  Ignored: {p}");
    }
}

/// Renders the answer to `reload`.
pub fn reload(r: &ReloadResult) -> String {
    let mut o = String::new();
    match &r.result {
        ReconfigResult::Applied => o.push_str("Reconfigured.\n"),
        ReconfigResult::Refused { errors } => {
            o.push_str("Reconfiguration refused; the previous configuration stays in effect:\n");
            for e in errors {
                let _ = writeln!(o, "  {e}");
            }
        }
    }
    for (what, list) in [
        ("added", &r.peers_added),
        ("removed", &r.peers_removed),
        ("restarted", &r.peers_restarted),
        ("updated in place", &r.peers_updated),
    ] {
        if !list.is_empty() {
            let _ = writeln!(o, "Peers {what}: {}", list.join(" "));
        }
    }
    o
}

/// Renders the answer to `advertise`.
pub fn advertise(r: &AdvertiseResult) -> String {
    match (r.action, r.changed) {
        (AdvertiseAction::Add, true) => {
            format!("Advertising {} to {} peer(s).\n", r.prefix, r.exported_to)
        }
        (AdvertiseAction::Add, false) => format!("{} was already advertised.\n", r.prefix),
        (AdvertiseAction::Del, true) => {
            format!("Withdrew {} from {} peer(s).\n", r.prefix, r.exported_to)
        }
        (AdvertiseAction::Del, false) => format!("{} was not advertised.\n", r.prefix),
    }
}
