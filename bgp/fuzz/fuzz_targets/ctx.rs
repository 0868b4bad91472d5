// Shared by the targets: the first input octet picks the negotiated receive context,
// so one corpus exercises 2- and 4-octet AS, ADD-PATH, extended messages,
// extended next hop and eBGP/iBGP rules.
use bgp::wire::{AfiSafi, DecodeCtx};

pub fn ctx_from(b: u8) -> DecodeCtx {
    let families = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];
    DecodeCtx {
        four_octet_as: b & 1 != 0,
        add_path: if b & 2 != 0 { families.to_vec() } else { Vec::new() },
        extended_message: b & 4 != 0,
        extended_next_hop: if b & 8 != 0 { vec![AfiSafi::IPV4_UNICAST] } else { Vec::new() },
        ebgp: b & 16 != 0,
    }
}
