//! `show peers` (calicoctl node status) and `show peer` (birdc show protocols all).

use std::fmt::Write;

use super::{bordered_table, datetime, duration, since};
use crate::proto::{Family, PeerSnapshot, SessionState};

/// The calicoctl node status table, one section per family.
pub fn peers_table(peers: &[PeerSnapshot], now: u64) -> String {
    let mut out = String::from("calico-bgpd is running.\n");
    for (family, title) in [(Family::Ipv4, "IPv4"), (Family::Ipv6, "IPv6")] {
        let _ = write!(out, "\n{title} BGP status\n");
        let rows: Vec<Vec<String>> = peers
            .iter()
            .filter(|p| p.family() == family)
            .map(|p| {
                vec![
                    p.address.to_string(),
                    p.peer_type.as_str().to_owned(),
                    p.proto_state().as_str().to_owned(),
                    since(p.since, now),
                    p.info(),
                ]
            })
            .collect();
        if rows.is_empty() {
            let _ = writeln!(out, "No {title} peers found.");
        } else {
            out.push_str(&bordered_table(
                &["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"],
                &rows,
            ));
        }
    }
    out
}

/// One peer in the shape of `birdc show protocols all NAME`.
pub fn peer_detail(p: &PeerSnapshot, now: u64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<8} {:<8} {:<8} {:<5}  {:<10}  {}",
        p.name,
        "BGP",
        "master",
        p.proto_state().as_str(),
        since(p.since, now),
        p.info()
    );
    let _ = writeln!(o, "  Peer type:        {}", p.peer_type.as_str());
    for c in &p.prefixes {
        let limit = c.limit.map(|l| format!(", limit {l}")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  Routes ({}):    {} received, {} accepted, {} advertised{limit}",
            c.family.as_str(),
            c.received,
            c.accepted,
            c.advertised
        );
    }
    let m = &p.messages;
    let _ = writeln!(o, "  Messages:         {:>10} {:>10}", "received", "sent");
    for (name, r, s) in [
        ("OPEN", m.received.open, m.sent.open),
        ("UPDATE", m.received.update, m.sent.update),
        ("NOTIFICATION", m.received.notification, m.sent.notification),
        ("KEEPALIVE", m.received.keepalive, m.sent.keepalive),
        ("ROUTE-REFRESH", m.received.route_refresh, m.sent.route_refresh),
    ] {
        let _ = writeln!(o, "    {name:<14}  {r:>10} {s:>10}");
    }
    let _ = writeln!(o, "  BGP state:          {}", p.state.as_str());
    let kv = |o: &mut String, k: &str, v: &dyn std::fmt::Display| {
        let _ = writeln!(o, "    {:<18}{v}", format!("{k}:"));
    };
    kv(&mut o, "Neighbor address", &p.address);
    kv(&mut o, "Neighbor port", &p.port);
    kv(&mut o, "Neighbor AS", &p.remote_as);
    if let Some(id) = p.remote_id {
        kv(&mut o, "Neighbor ID", &id);
    }
    kv(&mut o, "Local AS", &p.local_as);
    kv(&mut o, "Local ID", &p.local_id);
    if let Some(caps) = &p.remote_caps {
        kv(&mut o, "Neighbor caps", &caps.words().join(" "));
    }
    let mut session = vec![if p.internal { "internal" } else { "external" }.to_owned()];
    if p.multihop {
        session.push("multihop".into());
    }
    if p.rr_client {
        session.push("route-reflector".into());
    }
    if p.passive {
        session.push("passive".into());
    }
    if let Some(caps) = &p.negotiated_caps {
        session.extend(caps.words());
    }
    kv(&mut o, "Session", &session.join(" "));
    if !p.filters.is_empty() {
        kv(&mut o, "Filters", &p.filters.join(" "));
    }
    for r in &p.filter_rules {
        let rule = format!("{} {}[{}] {}", r.filter, r.list, r.rule, r.action);
        kv(&mut o, "Filter rule", &format!("{rule}: {} paths", r.paths));
    }
    if let Some(a) = p.source_address {
        kv(&mut o, "Source address", &a);
    }
    if let Some(t) = p.hold_timer {
        kv(&mut o, "Hold timer", &format!("{}/{}", t.left_secs, t.period_secs));
    }
    if let Some(t) = p.keepalive_timer {
        kv(&mut o, "Keepalive timer", &format!("{}/{}", t.left_secs, t.period_secs));
    }
    match p.uptime_secs {
        Some(u) if p.state == SessionState::Established => kv(&mut o, "Uptime", &duration(u)),
        _ => kv(&mut o, "Uptime", &"-"),
    }
    kv(&mut o, "Flaps", &p.flaps);
    let gr = &p.graceful_restart;
    let mut gr_text = gr.state.as_str().replace('_', " ");
    if let Some(left) = gr.time_left_secs {
        let _ = write!(gr_text, ", {left} s left");
    }
    if gr.stale_routes > 0 {
        let _ = write!(gr_text, ", {} stale routes", gr.stale_routes);
    }
    kv(&mut o, "Graceful restart", &gr_text);
    if let Some(e) = &p.last_error {
        let at = e.at.map(|t| format!(" (at {})", datetime(t))).unwrap_or_default();
        kv(&mut o, "Last error", &format!("{e}{at}"));
    }
    o
}

/// The peers as BIRD 1.6 `birdc show protocols` prints them (without the
/// reply codes of the raw socket), for scripts written against BIRD:
/// rows are `"%-8s %-8s %-8s %-5s  %-10s  %s"` and the BGP info column is
/// `"%-14s%s"` of the state and the last error (CBIRD nest/proto.c,
/// proto/bgp/bgp.c), trailing spaces included.
pub fn bird_protocols(peers: &[PeerSnapshot], now: u64) -> String {
    let mut o = String::from("name     proto    table    state  since       info\n");
    for p in peers {
        let state = if p.disabled { "Down" } else { p.state.as_str() };
        let error = match (&p.last_error, p.state) {
            (Some(e), s) if s != SessionState::Established => e.to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{:<8} {:<8} {:<8} {:<5}  {:<10}  {state:<14}{error}",
            p.name,
            "BGP",
            "master",
            p.proto_state().as_str(),
            since(p.since, now),
        );
    }
    o
}
