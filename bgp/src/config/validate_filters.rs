//! Validation of `[[filters]]` and of the names peers list in `filters`,
//! following Calico's own `BGPFilter` validation: each rule's prefix is of
//! its list's family, `cidr` and `match_operator` come together, the
//! enumerations have Calico's spelling, prefix lengths fit the family.

use std::collections::HashMap;

use ipnet::IpNet;

use super::Checker;
use crate::config::{CommunityValue, Config, FilterOperation, FilterRule};

/// Largest `priority` / `set_priority`: LOCAL_PREF `2147483647 - p` stays
/// non-negative, as in BIRD's signed filter arithmetic.
pub(super) const MAX_PRIORITY: u32 = 2_147_483_647;

const OPERATORS: &str = "Equal, NotEqual, In or NotIn";

pub(super) fn check_filters(c: &mut Checker, cfg: &Config) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, f) in cfg.filters.iter().enumerate() {
        if f.name.is_empty() {
            c.err(format!("filters[{i}].name"), "\"\"", "must be non-empty");
        } else if let Some(j) = names.insert(&f.name, i) {
            c.err(format!("filters[{i}].name"), &f.name, format!("duplicate of filters[{j}].name"));
        }
        for (list, rules) in f.rule_lists() {
            let v6 = list.ends_with("v6");
            for (j, r) in rules.iter().enumerate() {
                check_rule(c, &format!("filters[{i}].{list}[{j}]"), r, v6);
            }
        }
    }
    for (i, p) in cfg.peers.iter().enumerate() {
        for (k, name) in p.filters.iter().enumerate() {
            if !names.contains_key(name.as_str()) {
                c.err(format!("peers[{i}].filters[{k}]"), name, "names no [[filters]] entry");
            }
        }
    }
}

fn check_rule(c: &mut Checker, base: &str, r: &FilterRule, v6: bool) {
    let at = |key: &str| format!("{base}.{key}");
    let family = if v6 { "IPv6" } else { "IPv4" };
    let max_len: u8 = if v6 { 128 } else { 32 };
    let mut cidr_len = None;
    if let Some(s) = &r.cidr {
        match s.parse::<IpNet>() {
            Err(_) => {
                c.err(at("cidr"), s, format!("must be an {family} prefix, e.g. \"10.0.0.0/16\""))
            }
            Ok(n) if n.addr().is_ipv6() != v6 => {
                c.err(at("cidr"), s, format!("must be an {family} prefix in this list"))
            }
            Ok(n) => cidr_len = Some(n.prefix_len()),
        }
    }
    let op = r.match_operator.as_deref();
    match (&r.cidr, op) {
        (Some(_), None) => {
            c.err(at("match_operator"), "(unset)", format!("cidr needs one: {OPERATORS}"))
        }
        (None, Some(o)) => c.err(at("cidr"), "(unset)", format!("match_operator {o} needs a cidr")),
        _ => {}
    }
    if let Some(o) = op {
        if !matches!(o, "Equal" | "NotEqual" | "In" | "NotIn") {
            c.err(at("match_operator"), o, format!("allowed: {OPERATORS}"));
        }
    }
    if let Some(pl) = r.prefix_length {
        if !matches!(op, Some("In" | "NotIn")) {
            c.err(at("prefix_length"), "{...}", "applies only with match_operator In or NotIn");
        }
        for (key, v) in [("min", pl.min), ("max", pl.max)] {
            if v.is_some_and(|v| v > max_len) {
                let v = v.unwrap_or_default();
                c.err(
                    at(&format!("prefix_length.{key}")),
                    v,
                    format!("allowed: 0-{max_len} for {family}"),
                );
            }
        }
        let min = pl.min.or(cidr_len);
        if let (Some(min), Some(max)) = (min, pl.max) {
            if min > max {
                c.err(
                    at("prefix_length.min"),
                    min,
                    format!("greater than prefix_length.max {max}"),
                );
            }
        }
    }
    if let Some(s) = &r.source {
        if s != "RemotePeers" {
            c.err(at("source"), s, "allowed: RemotePeers");
        }
    }
    if let Some(i) = &r.interface {
        // Calico's own check: an interface name's characters and `*`, at
        // most 15 (IFNAMSIZ - 1).
        let ok = (1..=15).contains(&i.len())
            && i.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.*-".contains(&b));
        if !ok {
            c.err(
                at("interface"),
                format!("{i:?}"),
                "must be an interface name or glob of 1-15 characters: letters, digits, _ . - \
                 and * (any run), e.g. \"eth*\"",
            );
        }
    }
    if let Some(t) = &r.peer_type {
        if t != "eBGP" && t != "iBGP" {
            c.err(at("peer_type"), t, "allowed: eBGP or iBGP");
        }
    }
    if let Some(m) = &r.communities {
        if m.values.is_empty() {
            c.err(at("communities.values"), "[]", "list at least one community");
        }
        for (k, v) in m.values.iter().enumerate() {
            if let Err(e) = v.parse::<CommunityValue>() {
                c.err(at(&format!("communities.values[{k}]")), v, e);
            }
        }
    }
    for (k, &asn) in r.as_path_prefix.iter().enumerate() {
        if asn == 0 {
            c.err(at(&format!("as_path_prefix[{k}]")), asn, "AS 0 is reserved (RFC 7607)");
        }
    }
    if let Some(p) = r.priority {
        if p > MAX_PRIORITY {
            c.err(at("priority"), p, format!("allowed: 0-{MAX_PRIORITY}"));
        }
    }
    if r.action != "Accept" && r.action != "Reject" {
        c.err(at("action"), &r.action, "allowed: Accept or Reject");
    }
    for (k, o) in r.operations.iter().enumerate() {
        check_operation(c, &at(&format!("operations[{k}]")), o);
    }
}

fn check_operation(c: &mut Checker, base: &str, o: &FilterOperation) {
    let set = [o.add_community.is_some(), o.prepend_as_path.is_some(), o.set_priority.is_some()];
    if set.iter().filter(|s| **s).count() != 1 {
        c.err(base, "{...}", "set exactly one of add_community, prepend_as_path, set_priority");
        return;
    }
    if let Some(a) = &o.add_community {
        if let Err(e) = a.value.parse::<CommunityValue>() {
            c.err(format!("{base}.add_community.value"), &a.value, e);
        }
    }
    if let Some(p) = &o.prepend_as_path {
        if p.prefix.is_empty() {
            c.err(format!("{base}.prepend_as_path.prefix"), "[]", "list at least one AS");
        }
        for (k, &asn) in p.prefix.iter().enumerate() {
            if asn == 0 {
                c.err(
                    format!("{base}.prepend_as_path.prefix[{k}]"),
                    asn,
                    "AS 0 is reserved (RFC 7607)",
                );
            }
        }
    }
    if let Some(p) = o.set_priority {
        if p.value > MAX_PRIORITY {
            c.err(
                format!("{base}.set_priority.value"),
                p.value,
                format!("allowed: 0-{MAX_PRIORITY}"),
            );
        }
    }
}
