//! NOTIFICATION message (RFC 4271 §4.5) with every error code and subcode of
//! RFC 4271, RFC 4486, RFC 6608, RFC 7313, RFC 8538, RFC 9234 and RFC 9384, and
//! the shutdown communication of RFC 9003.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use bytes::Bytes;

use super::iana::{
    CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode,
    UpdateSubcode,
};

/// A NOTIFICATION message: error code, subcode and data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NotificationMsg {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode, meaningful relative to `code`.
    pub subcode: u8,
    /// Data whose meaning depends on the code and subcode.
    pub data: Bytes,
}

impl NotificationMsg {
    /// A NOTIFICATION with raw code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Bytes>) -> Self {
        NotificationMsg { code, subcode, data: data.into() }
    }

    /// Message Header Error.
    pub fn header(subcode: HeaderSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::MESSAGE_HEADER, subcode.0, data)
    }

    /// OPEN Message Error.
    pub fn open(subcode: OpenSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::OPEN_MESSAGE, subcode.0, data)
    }

    /// UPDATE Message Error.
    pub fn update(subcode: UpdateSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::UPDATE_MESSAGE, subcode.0, data)
    }

    /// Hold Timer Expired (no subcode, no data).
    pub fn hold_timer_expired() -> Self {
        Self::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new())
    }

    /// Finite State Machine Error.
    pub fn fsm(subcode: FsmSubcode) -> Self {
        Self::new(ErrorCode::FSM, subcode.0, Bytes::new())
    }

    /// Cease with raw data.
    pub fn cease(subcode: CeaseSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::CEASE, subcode.0, data)
    }

    /// ROUTE-REFRESH Message Error.
    pub fn route_refresh(subcode: RouteRefreshSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::ROUTE_REFRESH, subcode.0, data)
    }

    /// The name of the subcode within its code, if known.
    pub fn subcode_name(&self) -> Option<&'static str> {
        match self.code {
            ErrorCode::MESSAGE_HEADER => HeaderSubcode(self.subcode).name(),
            ErrorCode::OPEN_MESSAGE => OpenSubcode(self.subcode).name(),
            ErrorCode::UPDATE_MESSAGE => UpdateSubcode(self.subcode).name(),
            ErrorCode::FSM => FsmSubcode(self.subcode).name(),
            ErrorCode::CEASE => CeaseSubcode(self.subcode).name(),
            ErrorCode::ROUTE_REFRESH => RouteRefreshSubcode(self.subcode).name(),
            _ => None,
        }
    }
}

impl fmt::Debug for NotificationMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationMsg")
            .field("code", &self.code)
            .field("subcode", &self.subcode)
            .field("data", &self.data)
            .finish()
    }
}

impl fmt::Display for NotificationMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        match self.subcode_name() {
            Some(name) => write!(f, " / {name}"),
            None if self.subcode != 0 => write!(f, " / subcode {}", self.subcode),
            None => Ok(()),
        }
    }
}
