//! The BGP-4 wire codec: bytes in, typed messages out, and back.
//!
//! Pure: no tokio, no clock, no sockets. Every decoder works on one message
//! that [`header`] framing has already cut out, so parsers never see a partial
//! message. nom stays at the leaves and never appears in a public signature.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker (16 octets of 0xff)          |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

#![warn(missing_docs)]

pub mod attr;
pub mod capability;
pub mod error;
pub mod framing;
pub mod header;
pub mod iana;
pub mod keepalive;
pub mod message;
pub mod negotiate;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod pack;
pub mod route_refresh;
pub mod update;

pub use self::capability::{AddPathMode, Capability};
pub use self::error::{AttrError, DecodeError, EncodeError, Treatment};
pub use self::framing::{BgpCodec, CodecError};
pub use self::header::HEADER_LEN;
pub use self::iana::{Afi, AfiSafi, AttrType, ErrorCode, MessageType, Safi};
pub use self::message::{Message, ParsedMessage, decode_message};
pub use self::negotiate::{DecodeCtx, EncodeCtx, Negotiated};
pub use self::nlri::Nlri;
pub use self::notification::NotificationMsg;
pub use self::open::OpenMsg;
pub use self::route_refresh::{RouteRefreshMsg, RouteRefreshSubtype};
pub use self::update::{ParsedUpdate, UpdateMsg};
