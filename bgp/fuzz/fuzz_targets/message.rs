//! Whole messages: header checks and every message decoder; anything that
//! decodes cleanly must re-encode and decode to the same value.
#![no_main]
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

#[path = "ctx.rs"]
mod ctx;

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else { return };
    let ctx = ctx::ctx_from(b);
    let frame = Bytes::copy_from_slice(rest);
    if let Ok(msg) = bgp::wire::decode_message(&frame, &ctx) {
        if let Some(m) = msg.into_clean_message() {
            let mut buf = BytesMut::new();
            // The peer that sent it encoded with the mirror of our receive view.
            if m.encode(&ctx.peer_encode_ctx(), &mut buf).is_ok() {
                let again = bgp::wire::decode_message(&buf.freeze(), &ctx)
                    .expect("our own encoding decodes")
                    .into_clean_message()
                    .expect("our own encoding is clean");
                assert_eq!(again, m);
            }
        }
    }
});
