//! The configuration file: any text through TOML parsing and validation,
//! which must refuse what it cannot use with a message, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = bgp::config::parse_str(text);
});
