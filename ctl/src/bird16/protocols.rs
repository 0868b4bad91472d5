//! `show protocols [all] [NAME]` (BIRD nest/proto.c `proto_cmd_show`,
//! proto/bgp/bgp.c `bgp_get_status` / `bgp_show_proto_info`).
//!
//! The rows Calico's BIRD config makes (`static1`, `kernel1`, `device1`,
//! `direct1`) come first, then one BGP row per session of this socket's
//! family. Rows are `"%-8s %-8s %-8s %-5s  %-10s  %s"`; a BGP row's info is
//! the BGP state padded to 14, then the last error (`Socket: Connection
//! refused`), or only the error when the protocol is `down`. calicoctl and
//! calico-node split rows on whitespace, skip rows with fewer than six
//! fields, and read the sixth as the BGP state.

use std::fmt::Write;

use super::{Line, View, command::pattern_matches, gr_pending, gr_wait};
use crate::proto::{Capabilities, PeerSnapshot, SessionState};
use crate::render::since;

/// The heading calicoctl and calico-node compare word for word.
pub const HEADING: &str = "name     proto    table    state  since       info";

/// The non-BGP protocols of Calico's BIRD config: name, kind, preference,
/// input and output filter.
const BUILTIN: [(&str, &str, u32, &str, &str); 4] = [
    ("static1", "Static", 200, "ACCEPT", "REJECT"),
    ("kernel1", "Kernel", 10, "ACCEPT", "calico_kernel_programming"),
    ("device1", "Device", 240, "ACCEPT", "REJECT"),
    ("direct1", "Direct", 240, "ACCEPT", "REJECT"),
];

/// The reply to `show protocols [all] [NAME]`.
pub fn show_protocols(v: &View<'_>, all: bool, name: Option<&str>) -> Vec<Line> {
    let selected = |n: &str| match name {
        None => true,
        Some(q) => match q.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
            Some(pattern) => pattern_matches(pattern, n),
            None => q == n,
        },
    };
    let mut out = vec![Line::more(2002, HEADING)];
    for (n, kind, pref, input, output) in BUILTIN {
        if !selected(n) {
            continue;
        }
        // The kernel protocol does not sync until the recovery ends.
        let kernel_waits = n == "kernel1" && v.status.graceful_restart.is_some();
        let state = if kernel_waits { "wait" } else { "up" };
        out.push(Line::more(1002, row(n, kind, state, &since(v.status.started_at, v.now), "")));
        if all {
            basic_info(&mut out, v, pref, input, output, kernel_waits.then_some(" waiting"));
            out.push(Line::more(1006, ""));
        }
    }
    for p in v.family_peers().filter(|p| selected(&p.name)) {
        out.push(Line::more(1002, bgp_row(v, p)));
        if all {
            bgp_info(&mut out, v, p);
            out.push(Line::more(1006, ""));
        }
    }
    if out.len() == 1 {
        return vec![match name {
            Some(q) if q.starts_with('"') => Line::last(8003, "No protocols match"),
            Some(q) => Line::last(9002, format!("{q} is not a protocol")),
            None => Line::end(),
        }];
    }
    out.push(Line::end());
    out
}

fn row(name: &str, kind: &str, state: &str, since: &str, info: &str) -> String {
    format!("{name:<8} {kind:<8} {:<8} {state:<5}  {since:<10}  {info}", "master")
}

/// BIRD's protocol state: `down` disabled, `up` Established (`wait` while
/// our recovery holds its exports back), `start` anything else.
fn proto_state(v: &View<'_>, p: &PeerSnapshot) -> &'static str {
    if p.disabled {
        "down"
    } else if p.state != SessionState::Established {
        "start"
    } else if gr_wait(v, p) {
        "wait"
    } else {
        "up"
    }
}

/// BIRD's `bgp_state_dsc`: `Down` when disabled, `Passive` for a passive
/// session with no connection in progress, else the RFC 4271 state name.
fn bgp_state(p: &PeerSnapshot) -> &'static str {
    if p.disabled {
        "Down"
    } else if p.passive && matches!(p.state, SessionState::Idle | SessionState::Active) {
        "Passive"
    } else {
        p.state.as_str()
    }
}

fn bgp_row(v: &View<'_>, p: &PeerSnapshot) -> String {
    let err = match &p.last_error {
        Some(e) if p.state != SessionState::Established => e.to_string(),
        _ => String::new(),
    };
    let info = if p.disabled { err } else { format!("{:<14}{err}", bgp_state(p)) };
    let since = since(p.proto_since.unwrap_or(p.since), v.now);
    row(&p.name, "BGP", proto_state(v, p), &since, &info)
}

/// BIRD's `proto_show_basic_info` without the route change statistics,
/// which this daemon does not count.
fn basic_info(
    out: &mut Vec<Line>,
    v: &View<'_>,
    pref: u32,
    input: &str,
    output: &str,
    gr: Option<&str>,
) {
    out.push(Line::more(1006, format!("  Preference:     {pref}")));
    out.push(Line::more(1006, format!("  Input filter:   {input}")));
    out.push(Line::more(1006, format!("  Output filter:  {output}")));
    if v.status.graceful_restart.is_some() {
        out.push(Line::more(1006, format!("  GR recovery:   {}", gr.unwrap_or(""))));
    }
}

fn bgp_info(out: &mut Vec<Line>, v: &View<'_>, p: &PeerSnapshot) {
    let kv = |k: &str, val: &dyn std::fmt::Display| {
        Line::more(1006, format!("    {:<18}{val}", format!("{k}:")))
    };
    out.push(Line::more(1006, "  Description:    Connection to BGP peer"));
    let mut gr = String::new();
    if gr_pending(v, p) {
        gr.push_str(" pending");
    }
    if gr_wait(v, p) {
        gr.push_str(" waiting");
    }
    basic_info(out, v, 100, "(unnamed)", "(unnamed)", Some(&gr));
    if !p.disabled {
        let counts = p.prefixes.iter().find(|c| c.family == v.family);
        let (imported, exported, preferred) =
            counts.map_or((0, 0, 0), |c| (c.accepted, c.advertised, c.best));
        out.push(Line::more(
            1006,
            format!(
                "  Routes:         {imported} imported, {exported} exported, {preferred} preferred"
            ),
        ));
    }
    out.push(Line::more(1006, format!("  BGP state:          {}", bgp_state(p))));
    out.push(kv("Neighbor address", &p.address));
    out.push(kv("Neighbor AS", &p.remote_as));
    if p.state == SessionState::Established && !p.disabled {
        if let Some(id) = p.remote_id {
            out.push(kv("Neighbor ID", &id));
        }
        if let Some(caps) = &p.remote_caps {
            out.push(Line::more(1006, format!("    Neighbor caps:   {}", neighbor_caps(caps))));
        }
        out.push(kv("Session", &session(p)));
        if let Some(a) = p.source_address {
            out.push(kv("Source address", &a));
        }
        for (k, t) in [("Hold timer", p.hold_timer), ("Keepalive timer", p.keepalive_timer)] {
            if let Some(t) = t {
                out.push(kv(k, &format!("{}/{}", t.left_secs, t.period_secs)));
            }
        }
    }
    if let Some(e) = p.last_error.as_ref().filter(|_| p.state != SessionState::Established) {
        out.push(kv("Last error", e));
    }
}

/// The words of BIRD's `Neighbor caps:`, each with its leading space.
fn neighbor_caps(c: &Capabilities) -> String {
    let mut s = String::new();
    let flags = [
        (c.route_refresh, " refresh"),
        (c.enhanced_route_refresh, " enhanced-refresh"),
        (c.graceful_restart_time.is_some(), " restart-able"),
        (c.long_lived_stale_time.is_some(), " llgr-able"),
        (c.four_octet_as, " AS4"),
        (!c.add_path_rx.is_empty(), " add-path-rx"),
        (!c.add_path_tx.is_empty(), " add-path-tx"),
        (c.extended_message, " ext-messages"),
    ];
    for (on, word) in flags {
        if on {
            s.push_str(word);
        }
    }
    s
}

/// BIRD's `Session:` line.
fn session(p: &PeerSnapshot) -> String {
    let mut s = String::from(if p.internal { "internal" } else { "external" });
    let n = p.negotiated_caps.clone().unwrap_or_default();
    let flags = [
        (p.multihop, " multihop"),
        (p.rr_client, " route-reflector"),
        (n.four_octet_as, " AS4"),
        (!n.add_path_rx.is_empty(), " add-path-rx"),
        (!n.add_path_tx.is_empty(), " add-path-tx"),
        (n.extended_message, " ext-messages"),
    ];
    for (on, word) in flags {
        if on {
            let _ = write!(s, "{word}");
        }
    }
    s
}
