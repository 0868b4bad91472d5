//! RFC 7606 (revised UPDATE error handling), rule by rule, as a table.
//!
//! Each row is an UPDATE body in hex, the session it arrives on, and what
//! must happen: normal processing, a treatment with the attribute and
//! subcode at fault, or a session reset with its NOTIFICATION subcode (and
//! data where RFC 4271 §6.3 fixes it). Rows cover RFC 7606 §3 a–j, §4, §5,
//! §7.1–§7.11, RFC 6793 §6, RFC 7607, RFC 7911, RFC 8092 and RFC 8950.
//!
//! Property tests (round-trips, random bytes) are in `update_props.rs`.

mod common;

use bgp::wire::attr::{AsPath, Origin};
use bgp::wire::iana::UpdateSubcode;
use bgp::wire::{AfiSafi, AttrType, ErrorCode, Treatment, UpdateMsg};
use bytes::Bytes;
use common::*;

/// What must happen.
#[derive(Clone, Debug)]
enum Want {
    /// No defect.
    Normal,
    /// No defect; an MP attribute of this family is ignored.
    Ignored(AfiSafi),
    /// The worst treatment is `.0`, and attribute `.1` has a defect with that
    /// treatment and subcode `.2`.
    Treat(Treatment, AttrType, UpdateSubcode),
    /// As `Treat`, and the defect's data is `.3` (hex).
    TreatData(Treatment, AttrType, UpdateSubcode, &'static str),
    /// Session reset with this UPDATE Message Error subcode.
    Reset(UpdateSubcode),
    /// Session reset with this subcode and NOTIFICATION data (hex).
    ResetData(UpdateSubcode, &'static str),
}

struct Row {
    rule: &'static str,
    what: &'static str,
    ctx: Ctx,
    body: String,
    want: Want,
}
fn rows() -> Vec<Row> {
    use Ctx::*;
    use Treatment::{AttributeDiscard as Discard, TreatAsWithdraw as Taw};
    use Want::*;
    let s = UpdateSubcode::MALFORMED_ATTRIBUTE_LIST;
    let flags = UpdateSubcode::ATTRIBUTE_FLAGS_ERROR;
    let len = UpdateSubcode::ATTRIBUTE_LENGTH_ERROR;
    let missing = UpdateSubcode::MISSING_WELL_KNOWN_ATTRIBUTE;
    let opt = UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR;
    let net = UpdateSubcode::INVALID_NETWORK_FIELD;
    let aspath = UpdateSubcode::MALFORMED_AS_PATH;
    let nh = UpdateSubcode::INVALID_NEXT_HOP_ATTRIBUTE;
    let r = |rule, what, ctx, body: String, want| Row { rule, what, ctx, body, want };
    vec![
        // ---- Baseline --------------------------------------------------------
        r("RFC 4271 §4.3", "IPv4 announcement", Ibgp, announce(""), Normal),
        r("RFC 4271 §4.3", "IPv4 withdrawal only", Ibgp, upd(NLRI, "", ""), Normal),
        r("RFC 4724 §2", "IPv4 End-of-RIB", Ibgp, upd("", "", ""), Normal),
        r("RFC 4760 §3", "IPv6 announcement in MP_REACH_NLRI", Ibgp, announce_v6(""), Normal),
        r("RFC 4760 §4", "IPv6 withdrawal alone", Ibgp, upd("", &mp_unreach_v6(), ""), Normal),
        // ---- Body framing (RFC 4271 §6.3, RFC 7606 §4, §5.3) ------------------
        r(
            "RFC 4271 §6.3",
            "Withdrawn Routes Length overruns",
            Ibgp,
            clean("0009 180a0000 0000"),
            Reset(s),
        ),
        r(
            "RFC 4271 §6.3",
            "Total Path Attribute Length overruns",
            Ibgp,
            clean("0000 0010") + &origin(),
            Reset(s),
        ),
        r(
            "RFC 4271 §6.3",
            "body shorter than the two length fields",
            Ibgp,
            clean("000000"),
            Reset(s),
        ),
        r(
            "RFC 7606 §5.3",
            "NLRI prefix length 33",
            Ibgp,
            upd("", &base(), "210a00000000"),
            Reset(net),
        ),
        r(
            "RFC 7606 §5.3",
            "NLRI prefix overruns the field",
            Ibgp,
            upd("", &base(), "180a00"),
            Reset(net),
        ),
        r(
            "RFC 7606 §3.i",
            "Withdrawn prefix length 40",
            Ibgp,
            upd("280a000000", "", ""),
            Reset(net),
        ),
        r(
            "RFC 7606 §5.3",
            "host bits set in a prefix are accepted",
            Ibgp,
            upd("", &base(), "0f0a01"),
            Normal,
        ),
        r("RFC 7911 §3", "ADD-PATH NLRI", AddPath, upd("", &base(), "00000001 180a0000"), Normal),
        r(
            "RFC 7911 §3",
            "ADD-PATH path identifier truncated",
            AddPath,
            upd("", &base(), "000000"),
            Reset(net),
        ),
        r("RFC 7911 §3", "ADD-PATH withdrawal", AddPath, upd("00000005 180a0000", "", ""), Normal),
        // ---- §4 attribute framing ----------------------------------------------
        r(
            "RFC 7606 §4",
            "attribute overruns the list; the body NLRI are located by the Total Attribute Length",
            Ibgp,
            upd("", &(base() + "c0080c00000001"), NLRI),
            Treat(Taw, AttrType::COMMUNITIES, len),
        ),
        r(
            "RFC 7606 §4, §3.j",
            "attribute overruns the list, no NLRI and no MP attribute located",
            Ibgp,
            upd(NLRI, &(base() + "c0080c00000001"), ""),
            Reset(len),
        ),
        r(
            "RFC 7606 §4",
            "two octets left: no room for an attribute header",
            Ibgp,
            upd("", &(base() + "4001"), NLRI),
            Treat(Taw, AttrType::ORIGIN, s),
        ),
        r(
            "RFC 7606 §4, §3.j",
            "two octets left, no NLRI and no MP attribute located",
            Ibgp,
            upd("", &(base() + "4001"), ""),
            Reset(s),
        ),
        r(
            "RFC 7606 §4",
            "Extended Length header cut after three octets",
            Ibgp,
            upd("", &(base() + "d02000"), NLRI),
            Treat(Taw, AttrType(0x20), s),
        ),
        r(
            "RFC 7606 §4, §5.1",
            "overrun after MP_REACH_NLRI was located",
            Ibgp,
            upd("", &(mp_reach_v6() + &origin() + &as_path() + "c0080c00000001"), ""),
            Treat(Taw, AttrType::COMMUNITIES, len),
        ),
        r(
            "RFC 7606 §4",
            "Extended Length on a short attribute is fine",
            Ibgp,
            upd("", &(attr(0x50, 1, "00") + &as_path() + &next_hop()), NLRI),
            Normal,
        ),
        // ---- §3.c flags --------------------------------------------------------
        r(
            "RFC 7606 §3.c",
            "ORIGIN flagged optional",
            Ibgp,
            upd("", &(attr(0xc0, 1, "00") + &as_path() + &next_hop()), NLRI),
            TreatData(Taw, AttrType::ORIGIN, flags, "c0010100"),
        ),
        r(
            "RFC 7606 §3.c",
            "AS_PATH flagged optional transitive",
            Ibgp,
            upd("", &(origin() + &attr(0xc0, 2, "02010000fde9") + &next_hop()), NLRI),
            Treat(Taw, AttrType::AS_PATH, flags),
        ),
        r(
            "RFC 7606 §3.c",
            "NEXT_HOP flagged optional non-transitive",
            Ibgp,
            upd("", &(origin() + &as_path() + &attr(0x80, 3, "c0000201")), NLRI),
            Treat(Taw, AttrType::NEXT_HOP, flags),
        ),
        r(
            "RFC 7606 §3.c",
            "MED flagged well-known",
            Ibgp,
            announce(&attr(0x40, 4, "00000000")),
            Treat(Taw, AttrType::MULTI_EXIT_DISC, flags),
        ),
        r(
            "RFC 7606 §3.c",
            "LOCAL_PREF flagged optional",
            Ibgp,
            announce(&attr(0x80, 5, "00000064")),
            Treat(Taw, AttrType::LOCAL_PREF, flags),
        ),
        r(
            "RFC 7606 §3.c, §7.6",
            "ATOMIC_AGGREGATE flagged optional",
            Ibgp,
            announce(&attr(0x80, 6, "")),
            Treat(Discard, AttrType::ATOMIC_AGGREGATE, flags),
        ),
        r(
            "RFC 7606 §3.c, §7.7",
            "AGGREGATOR flagged well-known",
            Ibgp,
            announce(&attr(0x40, 7, "0000fde9 c0000201")),
            Treat(Discard, AttrType::AGGREGATOR, flags),
        ),
        r(
            "RFC 7606 §3.c",
            "COMMUNITIES flagged non-transitive",
            Ibgp,
            announce(&attr(0x80, 8, "fde90064")),
            Treat(Taw, AttrType::COMMUNITIES, flags),
        ),
        r(
            "RFC 7606 §3.c, §7.11",
            "MP_REACH_NLRI flagged transitive",
            Ibgp,
            upd(
                "",
                &(attr(0xc0, 14, "0002 01 10 20010db8000000000000000000000001 00")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Reset(flags),
        ),
        r(
            "RFC 7606 §3.c",
            "Partial bit on a well-known attribute is not a category conflict",
            Ibgp,
            upd("", &(attr(0x60, 1, "00") + &as_path() + &next_hop()), NLRI),
            Normal,
        ),
        // ---- §3.d missing well-known mandatory ----------------------------------
        r(
            "RFC 7606 §3.d",
            "ORIGIN missing",
            Ibgp,
            upd("", &(as_path() + &next_hop()), NLRI),
            TreatData(Taw, AttrType::ORIGIN, missing, "01"),
        ),
        r(
            "RFC 7606 §3.d",
            "AS_PATH missing",
            Ibgp,
            upd("", &(origin() + &next_hop()), NLRI),
            TreatData(Taw, AttrType::AS_PATH, missing, "02"),
        ),
        r(
            "RFC 7606 §3.d",
            "NEXT_HOP missing with IPv4 NLRI",
            Ibgp,
            upd("", &(origin() + &as_path()), NLRI),
            TreatData(Taw, AttrType::NEXT_HOP, missing, "03"),
        ),
        r("RFC 7606 §3.d", "NEXT_HOP not needed for MP_REACH_NLRI", Ibgp, announce_v6(""), Normal),
        r(
            "RFC 7606 §3.d",
            "ORIGIN missing with MP_REACH_NLRI",
            Ibgp,
            upd("", &(mp_reach_v6() + &as_path()), ""),
            Treat(Taw, AttrType::ORIGIN, missing),
        ),
        r(
            "RFC 7606 §3.d",
            "nothing mandatory in a withdrawal",
            Ibgp,
            upd("", &mp_unreach_v6(), ""),
            Normal,
        ),
        // ---- §3.g duplicates -----------------------------------------------------
        r(
            "RFC 7606 §3.g",
            "ORIGIN twice: first kept",
            Ibgp,
            announce(&attr(0x40, 1, "02")),
            Treat(Discard, AttrType::ORIGIN, s),
        ),
        r(
            "RFC 7606 §3.g",
            "COMMUNITIES twice: first kept",
            Ibgp,
            announce(&(attr(0xc0, 8, "fde90064") + &attr(0xc0, 8, "fde90065"))),
            Treat(Discard, AttrType::COMMUNITIES, s),
        ),
        r("RFC 7606 §3.g", "MP_REACH_NLRI twice", Ibgp, announce_v6(&mp_reach_v6()), Reset(s)),
        r(
            "RFC 7606 §3.g",
            "MP_UNREACH_NLRI twice",
            Ibgp,
            upd("", &(mp_unreach_v6() + &mp_unreach_v6()), ""),
            Reset(s),
        ),
        // ---- §3.h the harshest wins ------------------------------------------------
        r(
            "RFC 7606 §3.h",
            "discard and treat-as-withdraw: treat-as-withdraw",
            Ibgp,
            upd("", &(attr(0x40, 1, "07") + &as_path() + &next_hop() + &attr(0x40, 6, "00")), NLRI),
            Treat(Taw, AttrType::ORIGIN, UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE),
        ),
        r(
            "RFC 7606 §3.h",
            "treat-as-withdraw and reset: reset",
            Ibgp,
            upd(
                "",
                &(attr(0x40, 1, "07") + &as_path() + &next_hop() + &attr(0x40, 0x63, "")),
                NLRI,
            ),
            Reset(UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE),
        ),
        // ---- §3.j / §5.1: MP attributes must be parsed for treat-as-withdraw -----
        r(
            "RFC 7606 §3.j",
            "malformed MP_REACH_NLRI cannot be treated as withdraw",
            Ibgp,
            upd("", &(attr(0x80, 14, "0002 01 10 2001") + &origin() + &as_path()), ""),
            Reset(opt),
        ),
        // ---- §7.1 ORIGIN ----------------------------------------------------------
        r(
            "RFC 7606 §7.1",
            "ORIGIN length 2",
            Ibgp,
            upd("", &(attr(0x40, 1, "0000") + &as_path() + &next_hop()), NLRI),
            Treat(Taw, AttrType::ORIGIN, len),
        ),
        r(
            "RFC 7606 §7.1",
            "ORIGIN value 3",
            Ibgp,
            upd("", &(attr(0x40, 1, "03") + &as_path() + &next_hop()), NLRI),
            Treat(Taw, AttrType::ORIGIN, UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE),
        ),
        // ---- §7.2 AS_PATH -----------------------------------------------------------
        r(
            "RFC 7606 §7.2",
            "segment overruns the attribute",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "0202 0000fde9") + &next_hop()), NLRI),
            TreatData(Taw, AttrType::AS_PATH, aspath, ""),
        ),
        r(
            "RFC 7606 §7.2",
            "unknown segment type 5",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "0501 0000fde9") + &next_hop()), NLRI),
            Treat(Taw, AttrType::AS_PATH, aspath),
        ),
        r(
            "RFC 7606 §7.2",
            "zero-length segment",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "0200") + &next_hop()), NLRI),
            Treat(Taw, AttrType::AS_PATH, aspath),
        ),
        r(
            "RFC 7606 §7.2",
            "2-octet AS_PATH on a 4-octet session",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "0201 fde9") + &next_hop()), NLRI),
            Treat(Taw, AttrType::AS_PATH, aspath),
        ),
        r(
            "RFC 7607 §2",
            "AS 0 in AS_PATH",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "0202 0000fde9 00000000") + &next_hop()), NLRI),
            Treat(Taw, AttrType::AS_PATH, aspath),
        ),
        r(
            "RFC 4271 §5.1.2",
            "empty AS_PATH (iBGP origination) is valid",
            Ibgp,
            upd("", &(origin() + &attr(0x40, 2, "") + &next_hop()), NLRI),
            Normal,
        ),
        r(
            "RFC 5065 §3",
            "confederation segments decode",
            Ibgp,
            upd(
                "",
                &(origin() + &attr(0x40, 2, "0301 0000fde8 0201 0000fde9") + &next_hop()),
                NLRI,
            ),
            Normal,
        ),
        // ---- §7.3 NEXT_HOP -------------------------------------------------------------
        r(
            "RFC 7606 §7.3",
            "NEXT_HOP length 5",
            Ibgp,
            upd("", &(origin() + &as_path() + &attr(0x40, 3, "c000020100")), NLRI),
            Treat(Taw, AttrType::NEXT_HOP, len),
        ),
        r(
            "RFC 7606 §7.3",
            "NEXT_HOP 0.0.0.0",
            Ibgp,
            upd("", &(origin() + &as_path() + &attr(0x40, 3, "00000000")), NLRI),
            Treat(Taw, AttrType::NEXT_HOP, nh),
        ),
        r(
            "RFC 7606 §7.3",
            "NEXT_HOP multicast",
            Ibgp,
            upd("", &(origin() + &as_path() + &attr(0x40, 3, "e0000001")), NLRI),
            Treat(Taw, AttrType::NEXT_HOP, nh),
        ),
        r(
            "RFC 7606 §7.3",
            "NEXT_HOP loopback",
            Ibgp,
            upd("", &(origin() + &as_path() + &attr(0x40, 3, "7f000001")), NLRI),
            Treat(Taw, AttrType::NEXT_HOP, nh),
        ),
        r(
            "RFC 4760 §3",
            "malformed NEXT_HOP ignored when only MP NLRI",
            Ibgp,
            announce_v6(&attr(0x40, 3, "c00002")),
            Normal,
        ),
        // ---- §7.4 MED, §7.5 LOCAL_PREF, §7.6 ATOMIC_AGGREGATE, §7.7 AGGREGATOR -------
        r(
            "RFC 7606 §7.4",
            "MED length 3",
            Ibgp,
            announce(&attr(0x80, 4, "000000")),
            Treat(Taw, AttrType::MULTI_EXIT_DISC, len),
        ),
        r(
            "RFC 7606 §7.5",
            "LOCAL_PREF length 3 from iBGP",
            Ibgp,
            announce(&attr(0x40, 5, "000064")),
            Treat(Taw, AttrType::LOCAL_PREF, len),
        ),
        r(
            "RFC 7606 §7.5",
            "LOCAL_PREF from eBGP is discarded",
            Ebgp,
            announce(&attr(0x40, 5, "00000064")),
            Treat(Discard, AttrType::LOCAL_PREF, s),
        ),
        r(
            "RFC 7606 §7.6",
            "ATOMIC_AGGREGATE length 1",
            Ibgp,
            announce(&attr(0x40, 6, "00")),
            Treat(Discard, AttrType::ATOMIC_AGGREGATE, len),
        ),
        r(
            "RFC 7606 §7.7",
            "AGGREGATOR length 7 on a 4-octet session",
            Ibgp,
            announce(&attr(0xc0, 7, "0000fde9 c00002")),
            Treat(Discard, AttrType::AGGREGATOR, len),
        ),
        r(
            "RFC 7606 §7.7",
            "AGGREGATOR length 8 on a 2-octet session",
            Old,
            upd(
                "",
                &(origin()
                    + &attr(0x40, 2, "0201 fde9")
                    + &next_hop()
                    + &attr(0xc0, 7, "0000fde9 c0000201")),
                NLRI,
            ),
            Treat(Discard, AttrType::AGGREGATOR, len),
        ),
        r(
            "RFC 7607 §2",
            "AGGREGATOR with AS 0",
            Ibgp,
            announce(&attr(0xc0, 7, "00000000 c0000201")),
            Treat(Discard, AttrType::AGGREGATOR, opt),
        ),
        // ---- §7.8 COMMUNITIES, §7.9 ORIGINATOR_ID, §7.10 CLUSTER_LIST -----------------
        r(
            "RFC 7606 §7.8",
            "COMMUNITIES length 5",
            Ibgp,
            announce(&attr(0xc0, 8, "fde9006400")),
            Treat(Taw, AttrType::COMMUNITIES, len),
        ),
        r(
            "RFC 7606 §7.8",
            "COMMUNITIES length 0",
            Ibgp,
            announce(&attr(0xc0, 8, "")),
            Treat(Taw, AttrType::COMMUNITIES, len),
        ),
        r(
            "RFC 7606 §7.9",
            "ORIGINATOR_ID length 5",
            Ibgp,
            announce(&attr(0x80, 9, "0a00000100")),
            Treat(Taw, AttrType::ORIGINATOR_ID, len),
        ),
        r(
            "RFC 7606 §7.9",
            "ORIGINATOR_ID from eBGP is discarded",
            Ebgp,
            announce(&attr(0x80, 9, "0a000001")),
            Treat(Discard, AttrType::ORIGINATOR_ID, opt),
        ),
        r(
            "RFC 7606 §7.10",
            "CLUSTER_LIST length 6",
            Ibgp,
            announce(&attr(0x80, 10, "0a0000010a00")),
            Treat(Taw, AttrType::CLUSTER_LIST, len),
        ),
        r(
            "RFC 7606 §7.10",
            "CLUSTER_LIST from eBGP is discarded",
            Ebgp,
            announce(&attr(0x80, 10, "0a000001")),
            Treat(Discard, AttrType::CLUSTER_LIST, opt),
        ),
        // ---- §7.11 MP_REACH_NLRI / MP_UNREACH_NLRI -----------------------------------
        r(
            "RFC 7606 §7.11",
            "IPv4 next hop of 5 octets",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0001 01 05 c000020100 00 180a0000") + &origin() + &as_path()),
                "",
            ),
            Reset(opt),
        ),
        r(
            "RFC 7606 §7.11",
            "IPv6 next hop of 4 octets",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0002 01 04 c0000201 00 3020010db80001") + &origin() + &as_path()),
                "",
            ),
            Reset(opt),
        ),
        r(
            "RFC 7606 §7.11",
            "MP_REACH_NLRI of two octets",
            Ibgp,
            upd("", &(attr(0x80, 14, "0002") + &origin() + &as_path()), ""),
            Reset(opt),
        ),
        r(
            "RFC 4760 §7, RFC 7606 §5.3",
            "MP_REACH_NLRI prefix length 129",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0002 01 10 20010db8000000000000000000000001 00 81 20010db8")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Reset(opt),
        ),
        r(
            "RFC 7606 §7.11",
            "MP_UNREACH_NLRI of one octet",
            Ibgp,
            upd("", &attr(0x80, 15, "00"), ""),
            Reset(opt),
        ),
        r(
            "RFC 4760 §7, RFC 7606 §5.3",
            "MP_UNREACH_NLRI prefix overruns",
            Ibgp,
            upd("", &attr(0x80, 15, "0002 01 40 20010db8"), ""),
            Reset(opt),
        ),
        r(
            "RFC 4760 §7",
            "MP_REACH_NLRI of a family we do not carry",
            Ibgp,
            upd("", &(attr(0x80, 14, "0019 46 04 c0000201 00 ffff") + &origin() + &as_path()), ""),
            Ignored(AfiSafi::new(bgp::wire::Afi(25), bgp::wire::Safi(70))),
        ),
        r(
            "RFC 4760 §7",
            "MP_UNREACH_NLRI of a family we do not carry",
            Ibgp,
            upd("", &attr(0x80, 15, "0001 80 ffff"), ""),
            Ignored(AfiSafi::new(bgp::wire::Afi::IPV4, bgp::wire::Safi(128))),
        ),
        r(
            "RFC 4271 §6.3, RFC 7606 §7.11",
            "IPv6 next hop unspecified",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0002 01 10 00000000000000000000000000000000 00 30 20010db80001")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Treat(Taw, AttrType::MP_REACH_NLRI, opt),
        ),
        r(
            "RFC 2545 §3",
            "IPv6 next hop with link-local",
            Ibgp,
            upd(
                "",
                &(attr(
                    0x80,
                    14,
                    "0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001",
                ) + &origin()
                    + &as_path()),
                "",
            ),
            Normal,
        ),
        r(
            "RFC 4760 §3",
            "non-zero Reserved octet is ignored",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0002 01 10 20010db8000000000000000000000001 07 30 20010db80001")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Normal,
        ),
        // ---- RFC 8950 -----------------------------------------------------------------
        r(
            "RFC 8950 §3",
            "IPv6 next hop for IPv4 NLRI, negotiated",
            ExtNh,
            upd(
                "",
                &(attr(0x80, 14, "0001 01 10 20010db8000000000000000000000001 00 180a0000")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Normal,
        ),
        r(
            "RFC 8950 §3",
            "IPv6 next hop for IPv4 NLRI, not negotiated",
            Ibgp,
            upd(
                "",
                &(attr(0x80, 14, "0001 01 10 20010db8000000000000000000000001 00 180a0000")
                    + &origin()
                    + &as_path()),
                "",
            ),
            Reset(opt),
        ),
        // ---- Extended and large communities --------------------------------------------
        r(
            "RFC 7606 §7.14",
            "EXTENDED_COMMUNITIES length 7",
            Ibgp,
            announce(&attr(0xc0, 16, "00020000fde900")),
            Treat(Taw, AttrType::EXTENDED_COMMUNITIES, len),
        ),
        r(
            "RFC 8092 §6",
            "LARGE_COMMUNITY length 13",
            Ibgp,
            announce(&attr(0xc0, 32, "0000fde9 00000001 00000002 00")),
            Treat(Taw, AttrType::LARGE_COMMUNITIES, len),
        ),
        r(
            "RFC 8092 §5",
            "LARGE_COMMUNITY duplicates are fine",
            Ibgp,
            announce(&attr(0xc0, 32, "0000fde9 00000001 00000002 0000fde9 00000001 00000002")),
            Normal,
        ),
        // ---- RFC 6793 -------------------------------------------------------------------
        r(
            "RFC 6793 §6",
            "AS4_PATH of odd length",
            Old,
            upd(
                "",
                &(origin()
                    + &attr(0x40, 2, "0201 5ba0")
                    + &next_hop()
                    + &attr(0xc0, 17, "0201 fa56ea")),
                NLRI,
            ),
            Treat(Discard, AttrType::AS4_PATH, aspath),
        ),
        r(
            "RFC 6793 §6",
            "AS4_PATH with AS 0",
            Old,
            upd(
                "",
                &(origin()
                    + &attr(0x40, 2, "0201 5ba0")
                    + &next_hop()
                    + &attr(0xc0, 17, "0201 00000000")),
                NLRI,
            ),
            Treat(Discard, AttrType::AS4_PATH, aspath),
        ),
        r(
            "RFC 6793 §6",
            "AS4_AGGREGATOR of 6 octets",
            Old,
            upd(
                "",
                &(origin()
                    + &attr(0x40, 2, "0201 5ba0")
                    + &next_hop()
                    + &attr(0xc0, 18, "5ba0c0000201")),
                NLRI,
            ),
            Treat(Discard, AttrType::AS4_AGGREGATOR, len),
        ),
        r(
            "RFC 6793 §3",
            "AS4_PATH from a 4-octet speaker is discarded",
            Ibgp,
            announce(&attr(0xc0, 17, "0201 fa56ea01")),
            Treat(Discard, AttrType::AS4_PATH, opt),
        ),
        r(
            "RFC 6793 §4.2.3",
            "AS_TRANS path with AS4_PATH merges",
            Old,
            upd(
                "",
                &(origin()
                    + &attr(0x40, 2, "0202 fde9 5ba0")
                    + &next_hop()
                    + &attr(0xc0, 17, "0201 fa56ea01")),
                NLRI,
            ),
            Normal,
        ),
        // ---- RFC 4271 §5 / §6.3 unknown attributes --------------------------------------
        r(
            "RFC 4271 §6.3",
            "unknown well-known attribute",
            Ibgp,
            announce(&attr(0x40, 0x63, "0102")),
            ResetData(UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, "4063020102"),
        ),
        r(
            "RFC 4271 §5",
            "unknown optional transitive is kept",
            Ibgp,
            announce(&attr(0xc0, 0x63, "0102")),
            Normal,
        ),
        r(
            "RFC 4271 §5",
            "unknown optional non-transitive is dropped",
            Ibgp,
            announce(&attr(0x80, 0x63, "0102")),
            Normal,
        ),
        r(
            "RFC 4271 §5",
            "unknown optional transitive of length 0",
            Ibgp,
            announce(&attr(0xe0, 0x63, "")),
            Normal,
        ),
    ]
}

#[test]
fn rfc7606_table() {
    let rows = rows();
    assert!(rows.len() >= 50, "{} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let body = Bytes::from(hex::decode(&row.body).expect("row hex"));
        let ctx = row.ctx.get();
        let got = UpdateMsg::decode(&body, &ctx);
        let ok = match (&row.want, &got) {
            (Want::Normal, Ok(p)) => {
                p.treatment == Treatment::Normal && p.ignored_families.is_empty()
            }
            (Want::Ignored(f), Ok(p)) => {
                p.treatment == Treatment::Normal && p.ignored_families == [*f]
            }
            (Want::Treat(t, a, s), Ok(p)) => {
                p.treatment == *t
                    && p.errors
                        .iter()
                        .any(|e| e.attr_type == *a && e.subcode == *s && e.treatment == *t)
            }
            (Want::TreatData(t, a, s, d), Ok(p)) => {
                p.treatment == *t
                    && p.errors.iter().any(|e| {
                        e.attr_type == *a
                            && e.subcode == *s
                            && e.treatment == *t
                            && hex::encode(&e.data) == *d
                    })
            }
            (Want::Reset(s), Err(e)) => {
                e.notification.code == ErrorCode::UPDATE_MESSAGE && e.notification.subcode == s.0
            }
            (Want::ResetData(s, d), Err(e)) => {
                e.notification.code == ErrorCode::UPDATE_MESSAGE
                    && e.notification.subcode == s.0
                    && hex::encode(&e.notification.data) == *d
            }
            _ => false,
        };
        if !ok {
            failures
                .push(format!("{} — {}: want {:?}, got {:#?}", row.rule, row.what, row.want, got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn duplicate_keeps_the_first_occurrence() {
    let body = Bytes::from(hex::decode(announce(&attr(0x40, 1, "02"))).unwrap());
    let p = UpdateMsg::decode(&body, &Ctx::Ibgp.get()).unwrap();
    assert_eq!(p.update.attrs.origin, Some(Origin::Igp));
    assert_eq!(p.announcements().count(), 1, "attribute discard keeps the routes");
}

#[test]
fn ebgp_local_pref_is_dropped_but_routes_kept() {
    let body = Bytes::from(hex::decode(announce(&attr(0x40, 5, "00000064"))).unwrap());
    let p = UpdateMsg::decode(&body, &Ctx::Ebgp.get()).unwrap();
    assert_eq!(p.update.attrs.local_pref, None);
    assert_eq!(p.announcements().count(), 1);
}

#[test]
fn as4_path_from_old_speaker_is_merged_into_as_path() {
    let attrs = origin()
        + &attr(0x40, 2, "0202 fde9 5ba0")
        + &next_hop()
        + &attr(0xc0, 17, "0201 fa56ea01");
    let body = Bytes::from(hex::decode(upd("", &attrs, NLRI)).unwrap());
    let p = UpdateMsg::decode(&body, &Ctx::Old.get()).unwrap();
    assert_eq!(p.update.attrs.as_path, Some(AsPath::from_sequence(vec![65001, 4_200_000_001])));
    assert_eq!(p.update.attrs.as4_path, None);
}

#[test]
fn unknown_transitive_attribute_is_kept_as_received() {
    let body = Bytes::from(hex::decode(announce(&attr(0xc0, 0x63, "0102"))).unwrap());
    let p = UpdateMsg::decode(&body, &Ctx::Ibgp.get()).unwrap();
    assert_eq!(p.update.attrs.unknown.len(), 1);
    assert_eq!(p.update.attrs.unknown[0].attr_type, AttrType(0x63));
    assert_eq!(&p.update.attrs.unknown[0].value[..], &[1, 2]);
    assert!(p.attrs_seen.contains(AttrType(0x63)));
}

#[test]
fn treat_as_withdraw_withdraws_mp_nlri_too() {
    let body = Bytes::from(hex::decode(upd("", &(mp_reach_v6() + &as_path()), "")).unwrap());
    let p = UpdateMsg::decode(&body, &Ctx::Ibgp.get()).unwrap();
    assert_eq!(p.treatment, Treatment::TreatAsWithdraw);
    assert_eq!(p.announcements().count(), 0);
    let w: Vec<_> = p.withdrawals().map(|(f, n)| (f, n.prefix.to_string())).collect();
    assert_eq!(w, [(V6, "2001:db8:1::/48".to_owned())]);
}
