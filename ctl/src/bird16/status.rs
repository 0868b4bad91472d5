//! `show status` (BIRD nest/cmds.c `cmd_show_status`, nest/proto.c
//! `graceful_restart_show_status`): version, router id, the three times in
//! `YYYY-MM-DD HH:MM:SS`, the `0024` block while our own graceful-restart
//! recovery runs (calico-node's readiness fails while it is there), and
//! the `0013` result line (`Reconfiguration in progress` while the
//! datastore's first configuration is awaited).

use super::{Line, VERSION, View};
use crate::proto::ReconfigResult;
use crate::render::datetime;

/// The reply to `show status`.
pub fn show_status(v: &View<'_>) -> Vec<Line> {
    let s = v.status;
    // BIRD's "last reconfiguration" is when the running configuration was
    // loaded: a refused reload leaves it as it was.
    let reconfigured = match &s.last_reconfig {
        Some(r) if r.result == ReconfigResult::Applied => r.at,
        _ => s.started_at,
    };
    let mut out = vec![
        Line::more(1000, format!("BIRD {VERSION}")),
        Line::more(1011, format!("Router ID is {}", s.router_id)),
        Line::more(1011, format!("Current server time is {}", datetime(v.now))),
        Line::more(1011, format!("Last reboot on {}", datetime(s.started_at))),
        Line::more(1011, format!("Last reconfiguration on {}", datetime(reconfigured))),
    ];
    if let Some(gr) = &s.graceful_restart {
        let waiting = v.family_peers().filter(|p| super::gr_pending(v, p)).count();
        out.push(Line::more(24, "Graceful restart recovery in progress"));
        out.push(Line::more(24, format!("  Waiting for {waiting} protocols to recover")));
        out.push(Line::more(
            24,
            format!("  Wait timer is {}/{}", gr.wait_left_secs, gr.wait_total_secs),
        ));
    }
    // BIRD's three answers; while the datastore's first configuration is
    // awaited, the configuration is being loaded.
    let state = match (s.shutting_down, s.waiting.is_some()) {
        (true, _) => "Shutdown in progress",
        (false, true) => "Reconfiguration in progress",
        (false, false) => "Daemon is up and running",
    };
    out.push(Line::last(13, state));
    out
}
