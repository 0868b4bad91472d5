//! OPEN bodies: optional parameters (RFC 5492, RFC 9072) and capabilities.
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let _ = bgp::wire::open::OpenMsg::decode(&body);
});
