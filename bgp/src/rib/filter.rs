//! Calico's `BGPFilter` rules, compiled once and evaluated per route.
//!
//! A peer's `filters` are called in order, as Calico's confd renders them
//! into the BIRD import and export filters (`'bgp_<name>_importFilterV4'()`
//! and so on). Within a filter the first rule whose match fields all hold
//! decides: `Accept` ends the whole BIRD filter with `accept` (the
//! remaining filters and, on export, `calico_export_to_bgp_peers()` are not
//! consulted), `Reject` with `reject`. When no rule of any filter matches,
//! BIRD goes on with what follows the calls: on import `accept`, on export
//! the IP-pool rule ([`super::ExportPolicy`]).
//!
//! ```text
//!   match field        BIRD condition confd renders
//!   cidr + In          net ~ <cidr>            (net ~ [ <cidr>{min,max} ] with prefix_length)
//!   cidr + NotIn       net !~ <cidr>
//!   cidr + Equal       net = <cidr>
//!   cidr + NotEqual    net != <cidr>
//!   source             defined(source) && source ~ [ RTS_BGP ]
//!   interface          defined(ifname) && ifname ~ "<glob>"   (always defined: "" when
//!                                                             the route has no interface)
//!   peer_type          if (is_same_as) / if (!is_same_as) around the rule
//!   communities        (a, b) ~ bgp_community, (a, b, c) ~ bgp_large_community
//!   as_path_prefix     bgp_path ~ [= a b * =]
//!   priority           defined(bgp_local_pref) && bgp_local_pref = 2147483647 - p
//!   operation          add_community: bgp_(large_)community.add; prepend_as_path:
//!                      bgp_path.prepend, last ASN first; set_priority:
//!                      bgp_local_pref = 2147483647 - p
//! ```
//!
//! Evaluation allocates nothing; only applying an accepting rule's
//! operations builds new attributes. The part that runs for every route,
//! the prefix tests of the rules an attribute set leaves, is compiled in
//! `prepared.rs` ([`Prepared`]).
//!
//! A route's interface is BIRD's `ifname`: for a BGP route, the interface
//! its next hop is reached by (`gateway recursive`: the device of the
//! connected subnet or underlay route the next hop resolves through); for
//! a route with no next hop (our blackholed blocks and service ranges, as
//! BIRD's static blackholes) there is none. In Calico's BIRD
//! `defined(ifname)` is always true and `ifname` is then `""`, so a rule
//! `interface: "*"` matches every route and any other glob only routes with
//! an interface.

use std::fmt;
use std::sync::Arc;

use ipnet::IpNet;

use super::policy::local_pref_from_priority;
use super::prepared::NetMatch;
pub use super::prepared::Prepared;
use crate::config::{BgpFilter, CommunityValue, FilterRule};
use crate::wire::attr::PathAttrs;

/// Which way a route crosses the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    Import,
    /// Sent to the peer.
    Export,
}

/// `matchOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOperator {
    /// `net = cidr`.
    Equal,
    /// `net != cidr`.
    NotEqual,
    /// `net ~ cidr` (within it, prefix length bounded).
    In,
    /// `net !~ cidr`.
    NotIn,
}

impl MatchOperator {
    /// Calico's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Equal" => MatchOperator::Equal,
            "NotEqual" => MatchOperator::NotEqual,
            "In" => MatchOperator::In,
            "NotIn" => MatchOperator::NotIn,
            _ => return None,
        })
    }
}

/// `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Accept the route.
    Accept,
    /// Refuse it.
    Reject,
}

impl Action {
    /// Calico's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Accept" => Some(Action::Accept),
            "Reject" => Some(Action::Reject),
            _ => None,
        }
    }
}

/// `peerType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerType {
    /// Only sessions to another AS (`!is_same_as`).
    Ebgp,
    /// Only sessions inside our AS (`is_same_as`).
    Ibgp,
}

impl PeerType {
    /// Calico's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "eBGP" => Some(PeerType::Ebgp),
            "iBGP" => Some(PeerType::Ibgp),
            _ => None,
        }
    }
}

/// The value of `source` Calico defines.
pub const SOURCE_REMOTE_PEERS: &str = "RemotePeers";

/// A compiled operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `addCommunity`.
    AddCommunity(CommunityValue),
    /// `prependASPath`: these ASNs end up leftmost, in this order.
    PrependAsPath(Vec<u32>),
    /// `setPriority`.
    SetPriority(u32),
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::AddCommunity(c) => write!(f, "add_community {c}"),
            Operation::PrependAsPath(p) => {
                f.write_str("prepend_as_path")?;
                p.iter().try_for_each(|a| write!(f, " {a}"))
            }
            Operation::SetPriority(p) => write!(f, "set_priority {p}"),
        }
    }
}

/// One compiled rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    net: Option<NetMatch>,
    remote_peers: bool,
    interface: Option<Box<str>>,
    peer_type: Option<PeerType>,
    communities: Box<[CommunityValue]>,
    as_path_prefix: Box<[u32]>,
    local_pref: Option<u32>,
    action: Action,
    operations: Box<[Operation]>,
}

impl Rule {
    /// Compiles a rule of `family_v6`'s family; `None` if it does not
    /// validate (validation refuses such a file first).
    fn compile(r: &FilterRule, family_v6: bool) -> Option<Rule> {
        let net = match (&r.cidr, &r.match_operator) {
            (Some(c), Some(op)) => {
                let cidr: IpNet = c.parse().ok()?;
                if cidr.addr().is_ipv6() != family_v6 {
                    return None;
                }
                let pl = r.prefix_length.unwrap_or_default();
                Some(NetMatch::new(
                    cidr,
                    MatchOperator::parse(op)?,
                    pl.min.unwrap_or(cidr.prefix_len()),
                    pl.max.unwrap_or(cidr.max_prefix_len()),
                ))
            }
            (None, None) => None,
            _ => return None,
        };
        let remote_peers = match r.source.as_deref() {
            None => false,
            Some(SOURCE_REMOTE_PEERS) => true,
            Some(_) => return None,
        };
        let peer_type = match &r.peer_type {
            None => None,
            Some(t) => Some(PeerType::parse(t)?),
        };
        let communities = match &r.communities {
            None => Box::default(),
            Some(m) => m.values.iter().map(|v| v.parse().ok()).collect::<Option<_>>()?,
        };
        let operations = r
            .operations
            .iter()
            .map(|o| match (&o.add_community, &o.prepend_as_path, &o.set_priority) {
                (Some(c), None, None) => c.value.parse().ok().map(Operation::AddCommunity),
                (None, Some(p), None) => Some(Operation::PrependAsPath(p.prefix.clone())),
                (None, None, Some(p)) => Some(Operation::SetPriority(p.value)),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(Rule {
            net,
            remote_peers,
            interface: r.interface.as_deref().map(Into::into),
            peer_type,
            communities,
            as_path_prefix: r.as_path_prefix.clone().into(),
            local_pref: r.priority.map(local_pref_from_priority),
            action: Action::parse(&r.action)?,
            operations,
        })
    }

    /// Whether every match field holds for `route`.
    fn matches(&self, route: &RouteFacts<'_>) -> bool {
        self.net.is_none_or(|n| n.matches(route.prefix)) && self.matches_attrs(route)
    }

    /// Whether every match field but the prefix holds for `route`.
    fn matches_attrs(&self, route: &RouteFacts<'_>) -> bool {
        if let Some(t) = self.peer_type {
            if (t == PeerType::Ibgp) != route.same_as {
                return false;
            }
        }
        if self.remote_peers && !route.learned {
            return false;
        }
        if let Some(g) = &self.interface {
            if !glob(g.as_bytes(), route.interface.unwrap_or("").as_bytes()) {
                return false;
            }
        }
        let a = route.attrs;
        let has = |c: &CommunityValue| match c {
            CommunityValue::Standard(c) => a.communities.contains(c),
            CommunityValue::Large(l) => a.large_communities.contains(l),
        };
        if !self.communities.iter().all(has) {
            return false;
        }
        if !self.as_path_prefix.is_empty() {
            let Some(path) = &a.as_path else { return false };
            let mut asns = path.asns();
            if !self.as_path_prefix.iter().all(|want| asns.next() == Some(*want)) {
                return false;
            }
        }
        if self.local_pref.is_some() && self.local_pref != route.local_pref {
            return false;
        }
        true
    }

    /// `accept` or `reject`.
    pub fn action(&self) -> Action {
        self.action
    }

    /// What an accepted route is changed by.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }
}

/// BIRD's shell-like pattern match (`ifname ~ "eth*"`) as Calico uses it:
/// `*` matches any run of characters, every other character itself (Calico
/// allows no other wildcard in `interface`).
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    // Where the last `*` was, and the text position it now stands for.
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
            }
            Some(&c) if c == s[i] => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

/// A compiled `BGPFilter`: its name and four rule lists.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    name: Box<str>,
    /// Export v4, import v4, export v6, import v6.
    rules: [Box<[Rule]>; 4],
}

fn list_index(dir: Direction, v6: bool) -> usize {
    usize::from(dir == Direction::Import) + 2 * usize::from(v6)
}

impl Filter {
    /// Compiles a validated filter; rules that do not validate are left
    /// out (validation refuses such a file before it gets here).
    pub fn compile(f: &BgpFilter) -> Filter {
        let list =
            |rules: &[FilterRule], v6| rules.iter().filter_map(|r| Rule::compile(r, v6)).collect();
        Filter {
            name: f.name.as_str().into(),
            rules: [
                list(&f.export_v4, false),
                list(&f.import_v4, false),
                list(&f.export_v6, true),
                list(&f.import_v6, true),
            ],
        }
    }

    /// The filter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rules for one direction and family.
    pub fn rules(&self, dir: Direction, v6: bool) -> &[Rule] {
        &self.rules[list_index(dir, v6)]
    }
}

/// What a rule is judged on.
#[derive(Clone, Copy, Debug)]
pub struct RouteFacts<'a> {
    /// The route's prefix.
    pub prefix: IpNet,
    /// Its attributes.
    pub attrs: &'a PathAttrs,
    /// Learned from a BGP peer (BIRD `source = RTS_BGP`), not originated here.
    pub learned: bool,
    /// The interface the route leaves by (BIRD `ifname`); `None` where it
    /// has none, which rules see as BIRD's `""`.
    pub interface: Option<&'a str>,
    /// The session is internal (Calico's `is_same_as` argument).
    pub same_as: bool,
    /// The route's LOCAL_PREF as BIRD's filter sees it (`bgp_local_pref`).
    pub local_pref: Option<u32>,
}

/// Which rule decided: the position of the filter in the peer's list and
/// of the rule in that filter's list for the direction and family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    /// Index into the peer's `filters`.
    pub filter: u16,
    /// Index into the filter's rule list.
    pub rule: u16,
}

/// The outcome of a peer's filters for one route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A rule accepted it.
    Accept(RuleRef),
    /// A rule rejected it.
    Reject(RuleRef),
    /// No rule of any filter matched: what follows the calls decides.
    NoMatch,
}

/// A peer's filters, in the order it lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PeerFilters(Arc<[Arc<Filter>]>);

impl PeerFilters {
    /// The filters, in order.
    pub fn new(filters: Vec<Arc<Filter>>) -> Self {
        PeerFilters(filters.into())
    }

    /// No filter at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The filters, in order.
    pub fn filters(&self) -> &[Arc<Filter>] {
        &self.0
    }

    /// Whether some filter has rules for this direction and family.
    pub fn any_rules(&self, dir: Direction, v6: bool) -> bool {
        self.0.iter().any(|f| !f.rules(dir, v6).is_empty())
    }

    /// Runs the filters in order over `route`; first matching rule wins.
    pub fn evaluate(&self, dir: Direction, route: &RouteFacts<'_>) -> Verdict {
        let v6 = route.prefix.addr().is_ipv6();
        for (fi, f) in self.0.iter().enumerate() {
            for (ri, r) in f.rules(dir, v6).iter().enumerate() {
                if r.matches(route) {
                    let at = RuleRef {
                        filter: u16::try_from(fi).unwrap_or(u16::MAX),
                        rule: u16::try_from(ri).unwrap_or(u16::MAX),
                    };
                    return match r.action {
                        Action::Accept => Verdict::Accept(at),
                        Action::Reject => Verdict::Reject(at),
                    };
                }
            }
        }
        Verdict::NoMatch
    }

    /// The rules that can still match routes with `route`'s attributes,
    /// judged on every field but the prefix (whose family alone is used),
    /// up to the first that matches whatever the prefix: what is left to
    /// check per prefix for every route sharing these attributes.
    pub fn prepare(&self, dir: Direction, route: &RouteFacts<'_>) -> Prepared {
        let v6 = route.prefix.addr().is_ipv6();
        let mut steps = Vec::new();
        for (fi, f) in self.0.iter().enumerate() {
            for (ri, r) in f.rules(dir, v6).iter().enumerate() {
                if !r.matches_attrs(route) {
                    continue;
                }
                let at = RuleRef {
                    filter: u16::try_from(fi).unwrap_or(u16::MAX),
                    rule: u16::try_from(ri).unwrap_or(u16::MAX),
                };
                let verdict = match r.action {
                    Action::Accept => Verdict::Accept(at),
                    Action::Reject => Verdict::Reject(at),
                };
                steps.push((r.net, verdict));
                if r.net.is_none() {
                    break;
                }
            }
            if steps.last().is_some_and(|s| s.0.is_none()) {
                break;
            }
        }
        Prepared::new(v6, steps)
    }

    /// The rule `at` names, for `dir` and the family of `v6`.
    pub fn rule(&self, dir: Direction, v6: bool, at: RuleRef) -> Option<&Rule> {
        self.0.get(usize::from(at.filter))?.rules(dir, v6).get(usize::from(at.rule))
    }

    /// `filter <name> <list>[<rule>]` for `show routes` and logs.
    pub fn describe(&self, dir: Direction, v6: bool, at: RuleRef) -> String {
        let name = self.0.get(usize::from(at.filter)).map_or("?", |f| f.name());
        format!("filter {name} {}[{}]", list_name(dir, v6), at.rule)
    }
}

/// The key of a rule list: `export_v4`, `import_v4`, `export_v6`, `import_v6`.
pub fn list_name(dir: Direction, v6: bool) -> &'static str {
    match (dir, v6) {
        (Direction::Export, false) => "export_v4",
        (Direction::Import, false) => "import_v4",
        (Direction::Export, true) => "export_v6",
        (Direction::Import, true) => "import_v6",
    }
}

/// What an import rule did to a received path, kept with its attributes
/// so that `show routes` can name the rule and a reload can judge the
/// path again from what was received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportMark {
    /// The rule that decided.
    pub rule: RuleRef,
    /// Its action.
    pub action: Action,
    /// The attributes as received, when the rule's operations changed them
    /// (the stored attributes are then the changed ones).
    pub received: Option<Box<PathAttrs>>,
}

/// Applies `ops` to `attrs` the way BIRD runs the rendered statements.
pub fn apply_operations(ops: &[Operation], attrs: &mut PathAttrs) {
    for op in ops {
        match op {
            Operation::AddCommunity(CommunityValue::Standard(c)) => {
                // BIRD's clist.add leaves a present value where it is.
                if !attrs.communities.contains(c) {
                    attrs.communities.push(*c);
                }
            }
            Operation::AddCommunity(CommunityValue::Large(l)) => {
                if !attrs.large_communities.contains(l) {
                    attrs.large_communities.push(*l);
                }
            }
            Operation::PrependAsPath(asns) => {
                // confd prepends the last ASN first, so the list reads
                // left to right in the result.
                let path = attrs.as_path.get_or_insert_with(Default::default);
                for &a in asns.iter().rev() {
                    path.prepend(a);
                }
            }
            Operation::SetPriority(p) => attrs.local_pref = Some(local_pref_from_priority(*p)),
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
