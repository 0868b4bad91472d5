//! calico-bgp: a BGP speaker for Calico-style Kubernetes networks.
//!
//! The crate is split into a pure, Sans-IO core and a thin I/O shell:
//!
//! | module | what | I/O |
//! |---|---|---|
//! | [`wire`] | BGP-4 message codec (RFC 4271 §4 and its extensions) | none |
//! | [`cli`] | `calico-bgpd`'s command line (clap), shared with its manual page | none |
//! | [`config`] | typed TOML configuration, validation, mesh rule, reload diff | reads the file |
//! | [`calico`] | Calico v3 resources, selectors, and the derivation confd performs, giving a `Config` | none |
//! | [`fsm`] | session state machine (RFC 4271 §8), collision resolution (§6.8) | none |
//! | [`net`] | sockets: dial, listen, TCP MD5 (RFC 2385), GTSM (RFC 5082) | sockets |
//! | [`session`] | one tokio task per peer driving the FSM over a connection | tokio |
//! | [`daemon`] | the owner task: config, sessions, listener, reload, routes | tokio |
//! | [`datastore`] | Calico's etcd v3 datastore: list + watch into a key/value snapshot | tokio, etcd |
//! | [`rib`] | Adj-RIBs-In, best path, Loc-RIB, export groups, route reflection, origination | none |
//!
//! Later modules (FSM, RIB, sessions, daemon) follow the same rule: protocol logic is
//! pure and tested by feeding it values; tokio tasks only move bytes and timers.
//!
//! # Supported RFCs (codec)
//!
//! See `docs/rfc-compliance.md` for the section-by-section table and the tests covering
//! each row.
//!
//! - RFC 4271 BGP-4
//! - RFC 1997 communities, RFC 4360 extended communities, RFC 8092 large communities
//! - RFC 4456 route reflection attributes (ORIGINATOR_ID, CLUSTER_LIST)
//! - RFC 4760 multiprotocol extensions, RFC 2545 IPv6 next hops, RFC 8950 IPv6 next hop for IPv4
//! - RFC 5492 capabilities, RFC 2918 route refresh, RFC 7313 enhanced route refresh
//! - RFC 6793 four-octet AS numbers, RFC 7911 ADD-PATH, RFC 8654 extended messages
//! - RFC 4724 graceful restart, RFC 9494 long-lived graceful restart (capability)
//! - draft-walton-bgp-hostname-capability (FQDN capability)
//! - RFC 7606 revised error handling, RFC 9003 shutdown communication, RFC 4486 cease subcodes
//! - RFC 4724/4760 End-of-RIB markers
//! - RFC 9072 extended optional parameters length (OPEN)
//! - RFC 6286 AS-wide unique BGP Identifier
//! - RFC 7607 AS 0 processing
//! - RFC 8538 notification message support for graceful restart (N bit)

pub mod calico;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod datastore;
pub mod fsm;
pub mod net;
pub mod rib;
pub mod session;
pub mod wire;
