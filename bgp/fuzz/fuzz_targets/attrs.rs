//! The path attribute block alone.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

#[path = "ctx.rs"]
mod ctx;

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else { return };
    let ctx = ctx::ctx_from(b);
    let block = Bytes::copy_from_slice(rest);
    let _ = bgp::wire::attr::decode_attrs(&block, &ctx);
});
