//! Calico `BGPFilter` objects as `[[filters]]` entries: the same rules,
//! field for field, in the spelling the configuration file uses. Which
//! peers call them is decided with the peers (`BGPPeer.filters`, in order;
//! mesh sessions never call filters, as confd renders them).

use crate::calico::resources::bgp_filter::{
    self as calico, BgpFilterRule, FilterAction, MatchOperator, PeerType, RouteSource,
};
use crate::config::{
    AddCommunity, BgpFilter, CommunityMatch, FilterOperation, FilterRule, PrefixLength,
    PrependAsPath, SetPriority,
};

/// The `[[filters]]` entry of the BGPFilter `name`.
pub(super) fn filter(name: &str, f: &calico::BgpFilter) -> BgpFilter {
    let rules = |list: &[BgpFilterRule]| list.iter().map(rule).collect();
    BgpFilter {
        name: name.to_owned(),
        export_v4: rules(&f.spec.export_v4),
        import_v4: rules(&f.spec.import_v4),
        export_v6: rules(&f.spec.export_v6),
        import_v6: rules(&f.spec.import_v6),
    }
}

fn rule(r: &BgpFilterRule) -> FilterRule {
    FilterRule {
        cidr: r.cidr.map(|c| c.to_string()),
        match_operator: r.match_operator.map(|o| {
            match o {
                MatchOperator::Equal => "Equal",
                MatchOperator::NotEqual => "NotEqual",
                MatchOperator::In => "In",
                MatchOperator::NotIn => "NotIn",
            }
            .to_owned()
        }),
        prefix_length: r.prefix_length.map(|p| PrefixLength { min: p.min, max: p.max }),
        source: r.source.map(|RouteSource::RemotePeers| "RemotePeers".to_owned()),
        interface: r.interface.clone(),
        peer_type: r.peer_type.map(|t| {
            match t {
                PeerType::Ebgp => "eBGP",
                PeerType::Ibgp => "iBGP",
            }
            .to_owned()
        }),
        communities: r.communities.as_ref().map(|c| CommunityMatch { values: c.values.clone() }),
        as_path_prefix: r.as_path_prefix.clone(),
        priority: r.priority,
        action: match r.action {
            FilterAction::Accept => "Accept",
            FilterAction::Reject => "Reject",
        }
        .to_owned(),
        operations: r.operations.iter().map(operation).collect(),
    }
}

fn operation(o: &calico::FilterOperation) -> FilterOperation {
    let mut out = FilterOperation::default();
    match o {
        calico::FilterOperation::AddCommunity { value } => {
            out.add_community = Some(AddCommunity { value: value.clone() });
        }
        calico::FilterOperation::PrependAsPath { prefix } => {
            out.prepend_as_path = Some(PrependAsPath { prefix: prefix.clone() });
        }
        calico::FilterOperation::SetPriority { value } => {
            out.set_priority = Some(SetPriority { value: *value });
        }
    }
    out
}
