//! Kernel routes as the interop scenarios check them: `ip -j route` parsed into
//! JSON values, polled with deadlines, and dumped in full when a wait fails.
//!
//! ```text
//!  ip -n NS -j -4|-6 route show [proto bird]  ->  Vec<serde_json::Value>
//!  {"dst":"10.244.2.0/26","gateway":"10.0.1.2","dev":"eth0","protocol":"bird","flags":[]}
//! ```

use std::time::Duration;

use serde_json::Value;

use crate::netns::{Iface, Netns};
use crate::{Result, err, wait_until};

/// `-4` or `-6` for a prefix or address written as text.
fn family_of(dst: &str) -> &'static str {
    if dst.contains(':') { "-6" } else { "-4" }
}

/// Renames `iface` to `eth0`, as a real node's uplink is named (the daemon and the
/// scenarios' expected route shapes say `dev eth0`). Taking the link down flushes
/// its IPv6 addresses (`keep_addr_on_down` is 0), so they are put back (`nodad`).
pub fn rename_to_eth0(ns: &Netns, iface: &Iface) -> Result<()> {
    ns.ip(&["link", "set", &iface.name, "down"])?;
    ns.ip(&["link", "set", &iface.name, "name", "eth0"])?;
    for a in iface.addrs.iter().filter(|a| a.addr().is_ipv6()) {
        ns.ip(&["addr", "replace", &a.to_string(), "dev", "eth0", "nodad"])?;
    }
    ns.ip(&["link", "set", "eth0", "up"])?;
    Ok(())
}

/// `ip -j -4|-6 route show proto bird` in `ns` (main table).
pub fn bird_routes(ns: &Netns, v6: bool) -> Result<Vec<Value>> {
    let fam = if v6 { "-6" } else { "-4" };
    let out = ns.ip(&["-j", fam, "route", "show", "proto", "bird"])?;
    Ok(serde_json::from_str(out.trim()).unwrap_or_default())
}

/// The `proto bird` route for exactly `dst` (as `ip` prints it: `10.244.1.0/26`,
/// `fd00:10:244:1::/64`), if there is one.
pub fn bird_route(ns: &Netns, dst: &str) -> Result<Option<Value>> {
    let routes = bird_routes(ns, family_of(dst) == "-6")?;
    Ok(routes.into_iter().find(|r| r["dst"] == dst))
}

/// Every route of both families in every table, for failure messages.
pub fn dump(ns: &Netns) -> String {
    let mut s = format!("# routes in {}\n", ns.name());
    for fam in ["-4", "-6"] {
        s.push_str(&ns.ip(&[fam, "route", "show", "table", "all"]).unwrap_or_else(|e| e.msg));
    }
    s.push_str(&ns.ip(&["-d", "link"]).unwrap_or_default());
    s.push_str(&ns.ip(&["neigh"]).unwrap_or_default());
    s
}

/// Waits until `dst` is in `ns`'s kernel as `proto bird`; returns the route.
pub fn wait_bird_route(ns: &Netns, dst: &str, timeout: Duration) -> Result<Value> {
    let mut found = None;
    wait_until(timeout, &format!("{dst} proto bird in {}", ns.name()), || {
        found = bird_route(ns, dst)?;
        Ok(found.is_some())
    })
    .map_err(|e| err!("{e}\n{}", dump(ns)))?;
    found.ok_or_else(|| err!("unreachable: route vanished"))
}

/// Waits until `ns` has no `proto bird` route for `dst`.
pub fn wait_no_bird_route(ns: &Netns, dst: &str, timeout: Duration) -> Result<()> {
    wait_until(timeout, &format!("{dst} gone from {}", ns.name()), || {
        Ok(bird_route(ns, dst)?.is_none())
    })
    .map_err(|e| err!("{e}\n{}", dump(ns)))
}

/// The route's `flags` (`onlink`, ...).
pub fn flags(r: &Value) -> Vec<String> {
    r["flags"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(Into::into)).collect()
}

/// A multipath route's gateways, or the single gateway.
pub fn gateways(r: &Value) -> Vec<String> {
    if let Some(hops) = r["nexthops"].as_array() {
        return hops.iter().filter_map(|h| h["gateway"].as_str().map(Into::into)).collect();
    }
    r["gateway"].as_str().map(|g| vec![g.to_owned()]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_address_text() {
        assert_eq!(family_of("fd00:10:244::/122"), "-6");
        assert_eq!(family_of("10.244.0.0/26"), "-4");
    }

    #[test]
    fn gateways_of_single_and_multipath_routes() {
        let one: Value = serde_json::json!({"dst":"10.1.0.0/24","gateway":"10.0.0.2"});
        assert_eq!(gateways(&one), ["10.0.0.2"]);
        let many: Value = serde_json::json!({"dst":"10.1.0.0/24","nexthops":[
            {"gateway":"10.0.0.2"},{"gateway":"10.0.0.3"}]});
        assert_eq!(gateways(&many), ["10.0.0.2", "10.0.0.3"]);
        assert!(flags(&one).is_empty());
    }
}
