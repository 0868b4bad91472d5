//! Helpers shared by the integration tests (`mod common;` in each test file): sessions,
//! hex builders and the pcap reader. Each test binary uses a subset, hence `dead_code`.

#![allow(dead_code)]

pub mod pcap;

use bgp::wire::{AfiSafi, DecodeCtx};

pub const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
pub const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

/// The session an UPDATE arrives on.
#[derive(Clone, Copy, Debug)]
pub enum Ctx {
    /// iBGP, 4-octet AS.
    Ibgp,
    /// eBGP, 4-octet AS.
    Ebgp,
    /// iBGP with a 2-octet-AS ("OLD", RFC 6793) peer.
    Old,
    /// iBGP with extended next hop for IPv4 (RFC 8950).
    ExtNh,
    /// iBGP with ADD-PATH receive for IPv4 unicast (RFC 7911).
    AddPath,
}

impl Ctx {
    pub fn get(self) -> DecodeCtx {
        let new = DecodeCtx { four_octet_as: true, ..DecodeCtx::default() };
        match self {
            Ctx::Ibgp => new,
            Ctx::Ebgp => DecodeCtx { ebgp: true, ..new },
            Ctx::Old => DecodeCtx::default(),
            Ctx::ExtNh => DecodeCtx { extended_next_hop: vec![V4], ..new },
            Ctx::AddPath => DecodeCtx { add_path: vec![V4], ..new },
        }
    }
}

pub fn clean(h: &str) -> String {
    h.replace(' ', "")
}

/// One attribute TLV; Extended Length follows the flags.
pub fn attr(flags: u8, ty: u8, value: &str) -> String {
    let v = clean(value);
    let n = v.len() / 2;
    if flags & 0x10 != 0 {
        format!("{flags:02x}{ty:02x}{n:04x}{v}")
    } else {
        format!("{flags:02x}{ty:02x}{n:02x}{v}")
    }
}

/// An UPDATE body from its three fields.
pub fn upd(withdrawn: &str, attrs: &str, nlri: &str) -> String {
    let (w, a) = (clean(withdrawn), clean(attrs));
    format!("{:04x}{w}{:04x}{a}{}", w.len() / 2, a.len() / 2, clean(nlri))
}

pub fn origin() -> String {
    attr(0x40, 1, "00")
}
pub fn as_path() -> String {
    attr(0x40, 2, "0201 0000fde9")
}
pub fn next_hop() -> String {
    attr(0x40, 3, "c0000201")
}
pub const NLRI: &str = "180a0000";
pub fn base() -> String {
    origin() + &as_path() + &next_hop()
}
/// An IPv4 announcement with the base attributes plus `extra`.
pub fn announce(extra: &str) -> String {
    upd("", &(base() + extra), NLRI)
}
pub fn mp_reach_v6() -> String {
    attr(0x80, 14, "0002 01 10 20010db8000000000000000000000001 00 30 20010db80001")
}
pub fn mp_unreach_v6() -> String {
    attr(0x80, 15, "0002 01 30 20010db80001")
}
/// An IPv6 announcement: MP_REACH_NLRI first, then ORIGIN and AS_PATH and `extra`.
pub fn announce_v6(extra: &str) -> String {
    upd("", &(mp_reach_v6() + &origin() + &as_path() + extra), "")
}

/// Every session kind, for property tests.
pub const ALL: [Ctx; 5] = [Ctx::Ibgp, Ctx::Ebgp, Ctx::Old, Ctx::ExtNh, Ctx::AddPath];
