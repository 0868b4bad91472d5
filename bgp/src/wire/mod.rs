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
pub mod error;
pub mod iana;
pub mod negotiate;
pub mod nlri;
pub mod notification;
pub mod pack;
pub mod update;

pub use self::error::{AttrError, DecodeError, EncodeError, Treatment};
pub use self::iana::{Afi, AfiSafi, AttrType, ErrorCode, MessageType, Safi};
pub use self::negotiate::{CodecCtx, DecodeCtx, EncodeCtx};
pub use self::nlri::Nlri;
pub use self::notification::NotificationMsg;
pub use self::update::{ParsedUpdate, UpdateMsg};
