//! FIB snapshot: the kernel routes the daemon wants, those it found installed
//! (protocol 12, `bird`), the difference still to apply, and FIB writer stats.

use std::net::IpAddr;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Answer to `show fib`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FibSnapshot {
    /// Routes the daemon wants in the kernel (from the Loc-RIB and the pools' encapsulation).
    pub wanted: Vec<FibRoute>,
    /// Routes of our protocol found in the kernel at the last read.
    pub installed: Vec<FibRoute>,
    /// Operations still needed to make `installed` equal `wanted`, with the
    /// last error when an operation failed.
    pub diff: Vec<FibDiff>,
    /// Counters of the FIB writer.
    pub stats: FibStats,
}

impl FibSnapshot {
    /// Computes `diff` from `wanted` and `installed` (by prefix and table): a
    /// helper for daemons that keep the two lists but not the difference.
    pub fn compute_diff(wanted: &[FibRoute], installed: &[FibRoute]) -> Vec<FibDiff> {
        use std::collections::BTreeMap;
        let key = |r: &FibRoute| (r.table, r.prefix);
        let have: BTreeMap<_, _> = installed.iter().map(|r| (key(r), r)).collect();
        let want: BTreeMap<_, _> = wanted.iter().map(|r| (key(r), r)).collect();
        let mut diff = Vec::new();
        for (k, w) in &want {
            match have.get(k) {
                None => diff.push(FibDiff { op: FibOp::Add, route: (*w).clone(), error: None }),
                Some(h) if *h != *w => {
                    diff.push(FibDiff { op: FibOp::Replace, route: (*w).clone(), error: None })
                }
                Some(_) => {}
            }
        }
        for (k, h) in &have {
            if !want.contains_key(k) {
                diff.push(FibDiff { op: FibOp::Delete, route: (*h).clone(), error: None });
            }
        }
        diff
    }
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FibRoute {
    /// Destination.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// Unicast via gateways, or a blackhole/unreachable route.
    pub kind: FibRouteKind,
    /// Gateway addresses (several for ECMP).
    #[serde(default)]
    pub gateways: Vec<IpAddr>,
    /// Output device (`tunl0` for IPIP, else the interface the gateway resolves on).
    #[serde(default)]
    pub device: Option<String>,
    /// RTNH_F_ONLINK set (IPIP routes via tunl0).
    #[serde(default)]
    pub onlink: bool,
    /// Route metric (priority).
    #[serde(default)]
    pub metric: Option<u32>,
    /// Kernel routing table.
    pub table: u32,
}

/// Kernel route types the daemon installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FibRouteKind {
    /// RTN_UNICAST.
    Unicast,
    /// RTN_BLACKHOLE.
    Blackhole,
    /// RTN_UNREACHABLE.
    Unreachable,
}

/// One pending kernel operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FibDiff {
    /// What must happen.
    pub op: FibOp,
    /// The route to add or replace with, or the one to delete.
    pub route: FibRoute,
    /// Last kernel error for this operation (`File exists`, `Network is unreachable`).
    #[serde(default)]
    pub error: Option<String>,
}

/// Kinds of kernel operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FibOp {
    /// RTM_NEWROUTE with NLM_F_CREATE.
    Add,
    /// RTM_NEWROUTE with NLM_F_REPLACE.
    Replace,
    /// RTM_DELROUTE.
    Delete,
}

impl FibOp {
    /// Every op, one metric series each.
    pub const ALL: [FibOp; 3] = [FibOp::Add, FibOp::Replace, FibOp::Delete];

    /// `add` / `replace` / `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            FibOp::Add => "add",
            FibOp::Replace => "replace",
            FibOp::Delete => "delete",
        }
    }
}

/// FIB writer counters since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FibStats {
    /// Routes currently wanted.
    pub wanted: u64,
    /// Routes currently installed.
    pub installed: u64,
    /// Successful add operations.
    pub adds: u64,
    /// Successful replace operations.
    pub replaces: u64,
    /// Successful delete operations.
    pub deletes: u64,
    /// Failed operations.
    pub errors: u64,
    /// Latency of netlink operations (request to acknowledgement), in seconds.
    #[serde(default)]
    pub latency: HistogramSnapshot,
}

impl FibStats {
    /// The success counter of an op.
    pub fn ops(&self, op: FibOp) -> u64 {
        match op {
            FibOp::Add => self.adds,
            FibOp::Replace => self.replaces,
            FibOp::Delete => self.deletes,
        }
    }
}

/// A classic histogram as Prometheus exposes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistogramSnapshot {
    /// Number of observations.
    pub count: u64,
    /// Sum of the observed values.
    pub sum: f64,
    /// `(upper bound, cumulative count)` pairs, ascending; `+Inf` is implied by `count`.
    pub buckets: Vec<(f64, u64)>,
}

impl HistogramSnapshot {
    /// An empty histogram with these upper bounds.
    pub fn with_bounds(bounds: &[f64]) -> Self {
        HistogramSnapshot { count: 0, sum: 0.0, buckets: bounds.iter().map(|b| (*b, 0)).collect() }
    }

    /// Records one value.
    pub fn observe(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        for (le, n) in &mut self.buckets {
            if v <= *le {
                *n += 1;
            }
        }
    }
}
