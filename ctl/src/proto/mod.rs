//! The control protocol spoken on calico-bgpd's Unix socket.
//!
//! # Framing: one JSON document per line
//!
//! ```text
//!  client                                            calico-bgpd
//!    | {"version":1,"request":{"type":"show_peers"}}\n   |
//!    |-------------------------------------------------->|  handler takes a snapshot
//!    | {"version":1,"server_time":1767225600,            |
//!    |  "response":{"type":"peers","data":[...]}}\n      |
//!    |<--------------------------------------------------|  connection closed
//! ```
//!
//! Newline-delimited JSON rather than a length prefix: compact `serde_json`
//! never emits a raw newline (they are escaped inside strings), so a line is a
//! message; an operator can talk to the socket with
//! `echo '{"version":1,"request":{"type":"show_status"}}' | socat - UNIX:/var/run/calico/calico-bgp.ctl`;
//! and the server bounds a request by line length ([`MAX_REQUEST_BYTES`]) before
//! parsing it. One request per connection keeps both sides stateless.
//!
//! # Versioning
//!
//! Both envelopes carry [`PROTOCOL_VERSION`]. Adding an optional field or a new
//! request is backwards compatible and does not bump it: readers ignore unknown
//! fields and every added field has a `#[serde(default)]`. Renaming or removing a
//! field, or changing its meaning, bumps it. A server answers a request whose
//! version is newer than its own with [`ErrorKind::VersionMismatch`], so an old
//! daemon and a new `calico-bgpctl` fail with a message, not a parse error.
//!
//! The JSON of every response is what `calico-bgpctl -o json` prints; its schema
//! is committed under `ctl/tests/golden/schema/` and a test fails on any drift.

mod fib;
mod peer;
mod route;
mod status;

use std::net::IpAddr;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use fib::{FibDiff, FibOp, FibRoute, FibRouteKind, FibSnapshot, FibStats, HistogramSnapshot};
pub use peer::{
    Capabilities, ErrorClass, FamilyCounts, FilterRulePaths, GrPeerState, LastError,
    MessageCounters, MessageCounts, PeerGracefulRestart, PeerSnapshot, PeerType, ProtoState,
    SessionState, TimerSnapshot,
};
pub use route::{
    AsPathSegment, Origin, PathSnapshot, RejectReason, RouteQuery, RouteSnapshot, RouteSource,
    SegmentKind, UnknownAttr,
};
pub use status::{
    AdvertiseAction, AdvertiseRequest, AdvertiseResult, DatastoreView, GrHelping, GrRecovery,
    ReconfigResult, ReconfigSnapshot, ReloadResult, RibSize, StatusSnapshot, UnknownConnect,
};

/// Version of the protocol implemented by this crate (see the module doc).
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads before refusing it.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// An address family as shown to operators (`ipv4` / `ipv6`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of_addr(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The family of a prefix.
    pub fn of_net(net: &IpNet) -> Self {
        match net {
            IpNet::V4(_) => Family::Ipv4,
            IpNet::V6(_) => Family::Ipv6,
        }
    }

    /// `ipv4` / `ipv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// One request of `calico-bgpctl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Every configured peer (`show peers`).
    ShowPeers,
    /// One peer in detail (`show peer ADDRESS`).
    ShowPeer {
        /// The neighbor address.
        address: IpAddr,
    },
    /// Routes in the Loc-RIB with every path (`show routes`).
    ShowRoutes(RouteQuery),
    /// Wanted vs installed kernel routes (`show fib`).
    ShowFib,
    /// Daemon status (`show status`).
    ShowStatus,
    /// Re-read the configuration, as SIGHUP does (`reload`).
    Reload,
    /// Add or withdraw a locally originated prefix (`advertise add|del`).
    Advertise(AdvertiseRequest),
}

impl Request {
    /// Short name used in logs and timeouts (`show_peers`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Request::ShowPeers => "show_peers",
            Request::ShowPeer { .. } => "show_peer",
            Request::ShowRoutes(_) => "show_routes",
            Request::ShowFib => "show_fib",
            Request::ShowStatus => "show_status",
            Request::Reload => "reload",
            Request::Advertise(_) => "advertise",
        }
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::ShowPeers`].
    Peers(Vec<PeerSnapshot>),
    /// Answer to [`Request::ShowPeer`].
    Peer(Box<PeerSnapshot>),
    /// Answer to [`Request::ShowRoutes`].
    Routes(Vec<RouteSnapshot>),
    /// Answer to [`Request::ShowFib`].
    Fib(FibSnapshot),
    /// Answer to [`Request::ShowStatus`].
    Status(StatusSnapshot),
    /// Answer to [`Request::Reload`].
    Reload(ReloadResult),
    /// Answer to [`Request::Advertise`].
    Advertise(AdvertiseResult),
    /// The request failed.
    Error(CtlError),
}

/// What a client sends: one line of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestEnvelope {
    /// [`PROTOCOL_VERSION`] of the client.
    pub version: u32,
    /// The request.
    pub request: Request,
}

impl RequestEnvelope {
    /// Wraps a request with this crate's protocol version.
    pub fn new(request: Request) -> Self {
        RequestEnvelope { version: PROTOCOL_VERSION, request }
    }
}

/// What the server answers: one line of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResponseEnvelope {
    /// [`PROTOCOL_VERSION`] of the server.
    pub version: u32,
    /// The server's clock (Unix seconds) when it answered; relative times such
    /// as SINCE are rendered against it, not against the client's clock.
    pub server_time: u64,
    /// The answer.
    pub response: Response,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{message}")]
pub struct CtlError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// A sentence for the operator.
    pub message: String,
}

impl CtlError {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CtlError { kind, message: message.into() }
    }

    /// `show peer` of an address that is not a configured neighbor.
    pub fn no_such_peer(address: IpAddr) -> Self {
        CtlError::new(ErrorKind::NotFound, format!("no peer with address {address}"))
    }
}

/// Classes of [`CtlError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The named peer, prefix or object does not exist.
    NotFound,
    /// The request was malformed or named an invalid value.
    InvalidRequest,
    /// The client speaks a newer protocol version than the server.
    VersionMismatch,
    /// The daemon did not answer within the request timeout.
    Timeout,
    /// The daemon is shutting down or otherwise cannot serve the request.
    Unavailable,
    /// The daemon failed while serving the request.
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_envelope_is_one_line_of_tagged_json() {
        let env = RequestEnvelope::new(Request::ShowPeer { address: "10.0.0.1".parse().unwrap() });
        let text = serde_json::to_string(&env).unwrap();
        assert_eq!(text, r#"{"version":1,"request":{"type":"show_peer","address":"10.0.0.1"}}"#);
        assert_eq!(serde_json::from_str::<RequestEnvelope>(&text).unwrap(), env);
    }

    #[test]
    fn unit_requests_need_only_their_type() {
        let env: RequestEnvelope =
            serde_json::from_str(r#"{"version":1,"request":{"type":"show_status"}}"#).unwrap();
        assert_eq!(env.request, Request::ShowStatus);
    }

    #[test]
    fn route_query_fields_are_optional_on_the_wire() {
        let env: RequestEnvelope =
            serde_json::from_str(r#"{"version":1,"request":{"type":"show_routes"}}"#).unwrap();
        assert_eq!(env.request, Request::ShowRoutes(RouteQuery::default()));
    }

    #[test]
    fn unknown_fields_from_a_newer_peer_are_ignored() {
        let env: RequestEnvelope = serde_json::from_str(
            r#"{"version":1,"extra":true,"request":{"type":"show_fib","new_flag":3}}"#,
        )
        .unwrap();
        assert_eq!(env.request, Request::ShowFib);
    }

    #[test]
    fn error_response_carries_kind_and_message() {
        let r = Response::Error(CtlError::no_such_peer("fd00::1".parse().unwrap()));
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"type":"error","data":{"kind":"not_found","message":"no peer with address fd00::1"}}"#
        );
    }
}
