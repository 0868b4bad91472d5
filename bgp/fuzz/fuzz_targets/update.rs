//! UPDATE bodies under every negotiated context: RFC 7606 handling must never
//! panic, and a treat-as-withdraw result must still list the withdrawals.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

#[path = "ctx.rs"]
mod ctx;

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else { return };
    let ctx = ctx::ctx_from(b);
    let body = Bytes::copy_from_slice(rest);
    if let Ok(parsed) = bgp::wire::UpdateMsg::decode(&body, &ctx) {
        let _ = parsed.withdrawals().count();
        let _ = parsed.announcements().count();
    }
});
