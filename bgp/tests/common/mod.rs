//! Helpers shared by the integration tests (`mod common;` in each test file).
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod pcap;
