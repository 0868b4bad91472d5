//! `show fib`: wanted, installed, and the difference, in `ip route` notation.

use std::fmt::Write;

use crate::proto::{FibOp, FibRoute, FibRouteKind, FibSnapshot};

/// Renders the FIB snapshot.
pub fn fib(f: &FibSnapshot) -> String {
    let mut o = String::new();
    let s = &f.stats;
    let _ = writeln!(
        o,
        "FIB: {} wanted, {} installed, {} pending; since start {} added, {} replaced, {} deleted, {} errors",
        f.wanted.len(),
        f.installed.len(),
        f.diff.len(),
        s.adds,
        s.replaces,
        s.deletes,
        s.errors
    );
    for (title, list) in [("Wanted", &f.wanted), ("Installed", &f.installed)] {
        let _ = writeln!(o, "\n{title}:");
        if list.is_empty() {
            o.push_str("  (none)\n");
        }
        for r in list.iter() {
            let _ = writeln!(o, "  {}", route(r));
        }
    }
    o.push_str("\nDifference:\n");
    if f.diff.is_empty() {
        o.push_str("  none: the kernel matches\n");
    }
    for d in &f.diff {
        let sign = match d.op {
            FibOp::Add => '+',
            FibOp::Replace => '~',
            FibOp::Delete => '-',
        };
        let _ = write!(o, "  {sign} {:<7} {}", d.op.as_str(), route(&d.route));
        if let Some(e) = &d.error {
            let _ = write!(o, "  (failed: {e})");
        }
        o.push('\n');
    }
    o
}

/// One route as `ip route` prints it.
fn route(r: &FibRoute) -> String {
    let mut s = match r.kind {
        FibRouteKind::Unicast => r.prefix.to_string(),
        FibRouteKind::Blackhole => format!("blackhole {}", r.prefix),
        FibRouteKind::Unreachable => format!("unreachable {}", r.prefix),
    };
    match r.gateways.as_slice() {
        [] => {}
        [gw] => {
            let _ = write!(s, " via {gw}");
        }
        gws => {
            for gw in gws {
                let _ = write!(s, " nexthop via {gw}");
            }
        }
    }
    if let Some(dev) = &r.device {
        let _ = write!(s, " dev {dev}");
    }
    s.push_str(" proto bird");
    if let Some(m) = r.metric {
        let _ = write!(s, " metric {m}");
    }
    if r.onlink {
        s.push_str(" onlink");
    }
    if r.table != 254 {
        let _ = write!(s, " table {}", r.table);
    }
    s
}
