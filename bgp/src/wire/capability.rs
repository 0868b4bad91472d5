//! Capabilities carried in the OPEN message (RFC 5492 §4), one variant per
//! capability we act on, and the raw bytes of every other one.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```
//!
//! | code | capability | RFC | value |
//! |---|---|---|---|
//! | 1 | Multiprotocol | RFC 4760 §8 | AFI(2) Res(1) SAFI(1) |
//! | 2 | Route Refresh | RFC 2918 §2 | empty |
//! | 5 | Extended Next Hop | RFC 8950 §4 | { NLRI AFI(2) NLRI SAFI(2) NH AFI(2) }* |
//! | 6 | Extended Message | RFC 8654 §3 | empty |
//! | 64 | Graceful Restart | RFC 4724 §3, RFC 8538 §2 | R N 0 0 Time(12) { AFI(2) SAFI(1) Flags(1) }* |
//! | 65 | 4-octet AS | RFC 6793 §3 | AS(4) |
//! | 69 | ADD-PATH | RFC 7911 §4 | { AFI(2) SAFI(1) Send/Receive(1) }* |
//! | 70 | Enhanced Route Refresh | RFC 7313 §3.1 | empty |
//! | 71 | Long-Lived GR | RFC 9494 §2 | { AFI(2) SAFI(1) Flags(1) Stale Time(3) }* |
//! | 73 | FQDN | draft-walton-bgp-hostname-capability | Len(1) Host Len(1) Domain |
//!
//! "If a BGP speaker receives from its peer a capability that it does not
//! itself support or recognize, it MUST ignore that capability" (RFC 5492 §3):
//! such capabilities (including Cisco's pre-standard route refresh, code 128)
//! are kept as [`Capability::Unknown`] so that logs and `show peer` can list
//! them. RFC 5492 defines no subcode for a capability whose value is
//! malformed; like FRR and BIRD we answer OPEN Message Error / Unspecific.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::multi::{length_data, many0};
use nom::number::complete::{be_u8, be_u16, be_u24, be_u32};

use serde::{Deserialize, Serialize};

use super::error::{DecodeError, EncodeError};
use super::iana::{Afi, AfiSafi, CapabilityCode, OpenSubcode, Safi};
use super::notification::NotificationMsg;

/// The ADD-PATH Send/Receive field (RFC 7911 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AddPathMode {
    /// 1: "the sender is able to receive multiple paths from its peer".
    Receive,
    /// 2: "the sender is able to send multiple paths to its peer".
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
        }
    }

    /// Parses the wire value; `None` for anything but 1, 2 or 3.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }

    /// Whether the advertiser can receive multiple paths.
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the advertiser can send multiple paths.
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One family of the Graceful Restart capability (RFC 4724 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrFamily {
    /// The address family.
    pub family: AfiSafi,
    /// F bit: "whether the forwarding state for routes ... has indeed been
    /// preserved during the previous BGP restart".
    pub forwarding: bool,
}

/// The Graceful Restart capability (code 64, RFC 4724 §3, RFC 8538 §2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restart_flag: bool,
    /// N bit (RFC 8538 §2): the sender supports GR for NOTIFICATION messages.
    pub notification_flag: bool,
    /// Restart Time in seconds (12 bits, 0..=4095).
    pub restart_time: u16,
    /// Families for which the sender preserves forwarding state.
    pub families: Vec<GrFamily>,
}

/// One family of the Long-Lived Graceful Restart capability (RFC 9494 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LlgrFamily {
    /// The address family.
    pub family: AfiSafi,
    /// F bit: forwarding state preserved.
    pub forwarding: bool,
    /// Long-lived Stale Time in seconds (24 bits).
    pub stale_time: u32,
}

/// The FQDN capability (code 73, draft-walton-bgp-hostname-capability).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fqdn {
    /// Host name, at most 255 octets.
    pub hostname: String,
    /// Domain name, at most 255 octets; often empty.
    pub domain: String,
}

/// A capability advertised in an OPEN (RFC 5492).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Code 1 (RFC 4760 §8): the sender handles this family.
    Multiprotocol(AfiSafi),
    /// Code 2 (RFC 2918 §2).
    RouteRefresh,
    /// Code 5 (RFC 8950 §4): (NLRI family, next-hop AFI) pairs the sender accepts.
    ExtendedNextHop(Vec<(AfiSafi, Afi)>),
    /// Code 6 (RFC 8654 §3).
    ExtendedMessage,
    /// Code 64 (RFC 4724 §3).
    GracefulRestart(GracefulRestart),
    /// Code 65 (RFC 6793 §3): the sender's real AS number.
    FourOctetAs(u32),
    /// Code 69 (RFC 7911 §4).
    AddPath(Vec<(AfiSafi, AddPathMode)>),
    /// Code 70 (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Code 71 (RFC 9494 §2).
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// Code 73 (draft-walton-bgp-hostname-capability).
    Fqdn(Fqdn),
    /// Any other capability, value kept raw.
    Unknown {
        /// Capability code.
        code: CapabilityCode,
        /// Capability value.
        value: Bytes,
    },
}

/// nom at the leaves with the unit error: every failure here means the same
/// thing (malformed capability) and is mapped once, in [`malformed`].
type PResult<'a, O> = nom::IResult<&'a [u8], O, ()>;

fn malformed(code: u8, why: &'static str) -> DecodeError {
    DecodeError::new(
        NotificationMsg::open(OpenSubcode::UNSPECIFIC, Bytes::new()),
        format!("malformed capability {}: {why}", CapabilityCode(code)),
    )
}

/// Runs `parser` over the whole value; trailing octets are an error.
fn all<'a, O>(
    code: u8,
    value: &'a [u8],
    mut parser: impl Parser<&'a [u8], Output = O, Error = ()>,
) -> Result<O, DecodeError> {
    match parser.parse(value) {
        Ok(([], out)) => Ok(out),
        Ok(_) => Err(malformed(code, "trailing octets")),
        Err(_) => Err(malformed(code, "truncated value")),
    }
}

fn afi_safi(i: &[u8]) -> PResult<'_, AfiSafi> {
    (be_u16, be_u8).map(|(afi, safi)| AfiSafi::new(Afi(afi), Safi(safi))).parse(i)
}

/// A field with a one-octet length prefix.
fn len8(i: &[u8]) -> PResult<'_, &[u8]> {
    length_data(be_u8).parse(i)
}

/// Splits the value of a Capabilities optional parameter (type 2) into its
/// capabilities, in order.
pub fn decode_capabilities(param: &Bytes) -> Result<Vec<Capability>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = &param[..];
    while !rest.is_empty() {
        let tlv: PResult<'_, (u8, &[u8])> = (be_u8, len8).parse(rest);
        let Ok((next, (code, value))) = tlv else {
            return Err(malformed(rest.first().copied().unwrap_or(0), "length overruns parameter"));
        };
        out.push(Capability::decode(code, &param.slice_ref(value))?);
        rest = next;
    }
    Ok(out)
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol(_) => CapabilityCode::MULTIPROTOCOL,
            Capability::RouteRefresh => CapabilityCode::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => CapabilityCode::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => CapabilityCode::EXTENDED_MESSAGE,
            Capability::GracefulRestart(_) => CapabilityCode::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => CapabilityCode::FOUR_OCTET_AS,
            Capability::AddPath(_) => CapabilityCode::ADD_PATH,
            Capability::EnhancedRouteRefresh => CapabilityCode::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart(_) => CapabilityCode::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn(_) => CapabilityCode::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes one capability from its code and value (a slice of the
    /// received message, so unknown values are kept without copying).
    pub fn decode(code: u8, value: &Bytes) -> Result<Capability, DecodeError> {
        let v = &value[..];
        let unknown = || Capability::Unknown { code: CapabilityCode(code), value: value.clone() };
        let empty = |cap: Capability| {
            if v.is_empty() { Ok(cap) } else { Err(malformed(code, "value must be empty")) }
        };
        match CapabilityCode(code) {
            CapabilityCode::MULTIPROTOCOL => {
                all(code, v, (be_u16, be_u8, be_u8)).map(|(afi, _reserved, safi)| {
                    Capability::Multiprotocol(AfiSafi::new(Afi(afi), Safi(safi)))
                })
            }
            CapabilityCode::ROUTE_REFRESH => empty(Capability::RouteRefresh),
            CapabilityCode::EXTENDED_MESSAGE => empty(Capability::ExtendedMessage),
            CapabilityCode::ENHANCED_ROUTE_REFRESH => empty(Capability::EnhancedRouteRefresh),
            CapabilityCode::FOUR_OCTET_AS => all(code, v, be_u32).map(Capability::FourOctetAs),
            CapabilityCode::EXTENDED_NEXT_HOP => {
                let tuples = all(code, v, many0((be_u16, be_u16, be_u16)))?;
                let mut out = Vec::with_capacity(tuples.len());
                for (afi, safi, nh_afi) in tuples {
                    // The SAFI field is two octets here but every SAFI is one;
                    // a value we cannot hold is kept raw rather than refused.
                    let Ok(safi) = u8::try_from(safi) else { return Ok(unknown()) };
                    out.push((AfiSafi::new(Afi(afi), Safi(safi)), Afi(nh_afi)));
                }
                Ok(Capability::ExtendedNextHop(out))
            }
            CapabilityCode::GRACEFUL_RESTART => {
                let fam = (afi_safi, be_u8)
                    .map(|(family, flags)| GrFamily { family, forwarding: flags & 0x80 != 0 });
                let (head, families) = all(code, v, (be_u16, many0(fam)))?;
                Ok(Capability::GracefulRestart(GracefulRestart {
                    restart_flag: head & 0x8000 != 0,
                    notification_flag: head & 0x4000 != 0,
                    restart_time: head & 0x0fff,
                    families,
                }))
            }
            CapabilityCode::ADD_PATH => {
                let tuples = all(code, v, many0((afi_safi, be_u8)))?;
                let mut out = Vec::with_capacity(tuples.len());
                for (family, mode) in tuples {
                    // "If any other value is received, then the capability
                    // SHOULD be treated as not understood and ignored." (RFC 7911 §4)
                    let Some(mode) = AddPathMode::from_u8(mode) else { return Ok(unknown()) };
                    out.push((family, mode));
                }
                Ok(Capability::AddPath(out))
            }
            CapabilityCode::LONG_LIVED_GRACEFUL_RESTART => {
                let fam = (afi_safi, be_u8, be_u24).map(|(family, flags, stale_time)| LlgrFamily {
                    family,
                    forwarding: flags & 0x80 != 0,
                    stale_time,
                });
                all(code, v, many0(fam)).map(Capability::LongLivedGracefulRestart)
            }
            CapabilityCode::FQDN => {
                let (rest, host) =
                    len8(v).map_err(|_| malformed(code, "host name overruns value"))?;
                // FRR before 7.x could omit the domain-name length when the
                // domain was empty; treat its absence as an empty domain.
                let domain: &[u8] = if rest.is_empty() { &[] } else { all(code, rest, len8)? };
                match (std::str::from_utf8(host), std::str::from_utf8(domain)) {
                    (Ok(h), Ok(d)) => {
                        Ok(Capability::Fqdn(Fqdn { hostname: h.to_owned(), domain: d.to_owned() }))
                    }
                    // Cosmetic: never reset a session over a host name.
                    _ => Ok(unknown()),
                }
            }
            _ => Ok(unknown()),
        }
    }

    /// Encodes the value (without code and length).
    fn encode_value(&self, v: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Capability::Multiprotocol(f) => {
                v.put_u16(f.afi.0);
                v.put_u8(0);
                v.put_u8(f.safi.0);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop(tuples) => {
                for (f, nh) in tuples {
                    v.put_u16(f.afi.0);
                    v.put_u16(u16::from(f.safi.0));
                    v.put_u16(nh.0);
                }
            }
            Capability::GracefulRestart(gr) => {
                if gr.restart_time > 0x0fff {
                    return Err(EncodeError::Invalid("GR restart time exceeds 4095 s".into()));
                }
                let mut head = gr.restart_time;
                if gr.restart_flag {
                    head |= 0x8000;
                }
                if gr.notification_flag {
                    head |= 0x4000;
                }
                v.put_u16(head);
                for f in &gr.families {
                    v.put_u16(f.family.afi.0);
                    v.put_u8(f.family.safi.0);
                    v.put_u8(if f.forwarding { 0x80 } else { 0 });
                }
            }
            Capability::FourOctetAs(asn) => v.put_u32(*asn),
            Capability::AddPath(tuples) => {
                for (f, mode) in tuples {
                    v.put_u16(f.afi.0);
                    v.put_u8(f.safi.0);
                    v.put_u8(mode.to_u8());
                }
            }
            Capability::LongLivedGracefulRestart(fams) => {
                for f in fams {
                    if f.stale_time > 0x00ff_ffff {
                        return Err(EncodeError::Invalid("LLGR stale time exceeds 24 bits".into()));
                    }
                    v.put_u16(f.family.afi.0);
                    v.put_u8(f.family.safi.0);
                    v.put_u8(if f.forwarding { 0x80 } else { 0 });
                    v.put_slice(&f.stale_time.to_be_bytes()[1..]);
                }
            }
            Capability::Fqdn(fqdn) => {
                for part in [&fqdn.hostname, &fqdn.domain] {
                    let len = u8::try_from(part.len())
                        .map_err(|_| EncodeError::Invalid("FQDN part over 255 octets".into()))?;
                    v.put_u8(len);
                    v.put_slice(part.as_bytes());
                }
            }
            Capability::Unknown { value, .. } => v.put_slice(value),
        }
        Ok(())
    }

    /// Appends the capability TLV (code, length, value) to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let mut value = Vec::new();
        self.encode_value(&mut value)?;
        let len = u8::try_from(value.len()).map_err(|_| {
            EncodeError::Invalid(format!("capability {} value over 255 octets", self.code()).into())
        })?;
        buf.put_u8(self.code().0);
        buf.put_u8(len);
        buf.put_slice(&value);
        Ok(())
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Multiprotocol(fam) => write!(f, "multiprotocol {fam}"),
            Capability::FourOctetAs(asn) => write!(f, "4-octet-as {asn}"),
            Capability::Fqdn(q) if q.domain.is_empty() => write!(f, "fqdn {}", q.hostname),
            Capability::Fqdn(q) => write!(f, "fqdn {}.{}", q.hostname, q.domain),
            Capability::Unknown { code, value } => {
                write!(f, "capability {} ({} octets)", code.0, value.len())
            }
            other => write!(f, "{}", other.code()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::iana::ErrorCode;

    fn decode_hex(h: &str) -> Result<Vec<Capability>, DecodeError> {
        decode_capabilities(&Bytes::from(hex::decode(h.replace(' ', "")).unwrap()))
    }

    fn encode_all(caps: &[Capability]) -> String {
        let mut buf = BytesMut::new();
        for c in caps {
            c.encode(&mut buf).unwrap();
        }
        hex::encode(buf)
    }

    /// The capabilities of an FRR 8.4 OPEN (hand-made): MP IPv4 and IPv6
    /// unicast, route refresh (2 and 128), enhanced route refresh, 4-octet AS
    /// 65001, ADD-PATH IPv4 receive, FQDN "node1", GR 120 s, empty LLGR.
    const FRR_CAPS: &str = "01 04 0001 00 01 \
                            01 04 0002 00 01 \
                            80 00 \
                            02 00 \
                            46 00 \
                            41 04 0000fde9 \
                            45 04 0001 01 01 \
                            49 07 05 6e6f646531 00 \
                            40 02 4078 \
                            47 00";

    #[test]
    fn frr_capabilities_decode() {
        let caps = decode_hex(FRR_CAPS).unwrap();
        assert_eq!(
            caps,
            vec![
                Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
                Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
                Capability::Unknown { code: CapabilityCode(128), value: Bytes::new() },
                Capability::RouteRefresh,
                Capability::EnhancedRouteRefresh,
                Capability::FourOctetAs(65001),
                Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Receive)]),
                Capability::Fqdn(Fqdn { hostname: "node1".into(), domain: String::new() }),
                Capability::GracefulRestart(GracefulRestart {
                    restart_flag: false,
                    notification_flag: true,
                    restart_time: 120,
                    families: vec![],
                }),
                Capability::LongLivedGracefulRestart(vec![]),
            ]
        );
        assert_eq!(encode_all(&caps), FRR_CAPS.replace(' ', ""));
    }

    #[test]
    fn graceful_restart_families_carry_the_forwarding_bit() {
        let caps = decode_hex("40 0a 8078 0001 01 80 0002 01 00").unwrap();
        let Capability::GracefulRestart(gr) = &caps[0] else { panic!("{caps:?}") };
        assert!(gr.restart_flag && !gr.notification_flag);
        assert_eq!(gr.restart_time, 120);
        assert_eq!(
            gr.families,
            vec![
                GrFamily { family: AfiSafi::IPV4_UNICAST, forwarding: true },
                GrFamily { family: AfiSafi::IPV6_UNICAST, forwarding: false },
            ]
        );
    }

    #[test]
    fn llgr_and_extended_next_hop_round_trip() {
        let h = "47 07 0001 01 80 000e10 05 06 0001 0001 0002";
        let caps = decode_hex(h).unwrap();
        assert_eq!(
            caps,
            vec![
                Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                    family: AfiSafi::IPV4_UNICAST,
                    forwarding: true,
                    stale_time: 3600,
                }]),
                Capability::ExtendedNextHop(vec![(AfiSafi::IPV4_UNICAST, Afi::IPV6)]),
            ]
        );
        assert_eq!(encode_all(&caps), h.replace(' ', ""));
    }

    #[test]
    fn malformed_capability_is_open_error_unspecific() {
        for h in [
            "01 03 000100",
            "41 02 0001",
            "02 01 00",
            "40 03 007800",
            "45 03 000101",
            "47 06 000101800000",
        ] {
            let e = decode_hex(h).unwrap_err();
            assert_eq!(e.notification.code, ErrorCode::OPEN_MESSAGE, "{h}");
            assert_eq!(e.notification.subcode, 0, "{h}");
        }
    }

    #[test]
    fn capability_length_overrunning_the_parameter_is_malformed() {
        assert_eq!(decode_hex("41 04 0000").unwrap_err().notification.subcode, 0);
        assert!(decode_hex("41").is_err());
    }

    #[test]
    fn add_path_with_bad_mode_is_ignored_as_unknown() {
        let caps = decode_hex("45 04 0001 01 04").unwrap();
        assert!(matches!(&caps[0], Capability::Unknown { code: CapabilityCode::ADD_PATH, .. }));
    }

    #[test]
    fn fqdn_without_domain_length_is_accepted() {
        let caps = decode_hex("49 03 02 6869").unwrap();
        assert_eq!(
            caps,
            vec![Capability::Fqdn(Fqdn { hostname: "hi".into(), domain: String::new() })]
        );
    }

    #[test]
    fn unknown_capability_is_kept_raw() {
        let caps = decode_hex("4a 02 abcd").unwrap();
        assert_eq!(
            caps,
            vec![Capability::Unknown {
                code: CapabilityCode(0x4a),
                value: Bytes::from_static(&[0xab, 0xcd])
            }]
        );
        assert_eq!(encode_all(&caps), "4a02abcd");
    }

    #[test]
    fn capabilities_display_for_show_peer() {
        let caps = decode_hex(FRR_CAPS).unwrap();
        let shown: Vec<String> = caps.iter().map(ToString::to_string).collect();
        assert_eq!(shown[0], "multiprotocol IPv4/unicast");
        assert_eq!(shown[2], "capability 128 (0 octets)");
        assert_eq!(shown[3], "route-refresh");
        assert_eq!(shown[5], "4-octet-as 65001");
        assert_eq!(shown[7], "fqdn node1");
    }

    #[test]
    fn oversized_values_refuse_to_encode() {
        let gr = Capability::GracefulRestart(GracefulRestart {
            restart_time: 4096,
            ..Default::default()
        });
        assert!(gr.encode(&mut BytesMut::new()).is_err());
        let fqdn = Capability::Fqdn(Fqdn { hostname: "x".repeat(256), domain: String::new() });
        assert!(fqdn.encode(&mut BytesMut::new()).is_err());
    }

    fn arb_family() -> impl Strategy<Value = AfiSafi> {
        (any::<u16>(), any::<u8>()).prop_map(|(a, s)| AfiSafi::new(Afi(a), Safi(s)))
    }

    pub(crate) fn arb_capability() -> impl Strategy<Value = Capability> {
        let mode = prop_oneof![
            Just(AddPathMode::Receive),
            Just(AddPathMode::Send),
            Just(AddPathMode::Both)
        ];
        prop_oneof![
            arb_family().prop_map(Capability::Multiprotocol),
            Just(Capability::RouteRefresh),
            Just(Capability::ExtendedMessage),
            Just(Capability::EnhancedRouteRefresh),
            any::<u32>().prop_map(Capability::FourOctetAs),
            prop::collection::vec((arb_family(), any::<u16>().prop_map(Afi)), 0..5)
                .prop_map(Capability::ExtendedNextHop),
            (
                any::<bool>(),
                any::<bool>(),
                0u16..4096,
                prop::collection::vec((arb_family(), any::<bool>()), 0..5)
            )
                .prop_map(|(r, n, t, f)| Capability::GracefulRestart(
                    GracefulRestart {
                        restart_flag: r,
                        notification_flag: n,
                        restart_time: t,
                        families: f
                            .into_iter()
                            .map(|(family, forwarding)| GrFamily { family, forwarding })
                            .collect(),
                    }
                )),
            prop::collection::vec((arb_family(), mode), 0..5).prop_map(Capability::AddPath),
            prop::collection::vec((arb_family(), any::<bool>(), 0u32..0x100_0000), 0..5).prop_map(
                |v| {
                    Capability::LongLivedGracefulRestart(
                        v.into_iter()
                            .map(|(family, forwarding, stale_time)| LlgrFamily {
                                family,
                                forwarding,
                                stale_time,
                            })
                            .collect(),
                    )
                }
            ),
            ("[a-z0-9-]{0,30}", "[a-z0-9.]{0,30}")
                .prop_map(|(hostname, domain)| Capability::Fqdn(Fqdn { hostname, domain })),
            (
                prop::sample::select(vec![3u8, 4, 7, 66, 128, 200]),
                prop::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(code, v)| Capability::Unknown {
                    code: CapabilityCode(code),
                    value: v.into()
                }),
        ]
    }

    proptest! {
        #[test]
        fn capabilities_round_trip(caps in prop::collection::vec(arb_capability(), 0..6)) {
            let mut buf = BytesMut::new();
            for c in &caps {
                c.encode(&mut buf).unwrap();
            }
            prop_assert_eq!(decode_capabilities(&buf.freeze()).unwrap(), caps);
        }

        #[test]
        fn arbitrary_capability_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_capabilities(&Bytes::from(bytes));
        }
    }
}
