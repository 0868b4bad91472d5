//! Scrapes the metrics endpoint over real HTTP and checks the values against
//! the snapshots it was rendered from.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use common::*;
use ctl::metrics;

fn start() -> (tokio::runtime::Runtime, SocketAddr) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = rt.block_on(metrics::bind("127.0.0.1:0".parse().unwrap())).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(metrics::serve(listener, Arc::new(Fixtures::default()), std::future::pending()));
    (rt, addr)
}

fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head.to_owned(), body.to_owned())
}

/// The value of the sample whose name and labels match `series` exactly.
fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {series} in\n{body}"))
        .parse()
        .unwrap()
}

#[test]
fn scrape_reports_peer_state_prefixes_and_messages() {
    let (_rt, addr) = start();
    let (code, head, body) = get(addr, "/metrics");
    assert_eq!(code, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );

    let mesh = r#"peer="192.168.1.12",name="Mesh_192_168_1_12""#;
    assert_eq!(value(&body, &format!("calico_bgp_peer_up{{{mesh}}}")), 1.0);
    assert_eq!(value(&body, r#"calico_bgp_peer_up{peer="10.0.0.1",name="Global_10_0_0_1"}"#), 0.0);
    assert_eq!(
        value(
            &body,
            &format!(r#"calico_bgp_peer_state{{{mesh},peer_type="mesh",state="Established"}}"#)
        ),
        1.0
    );
    assert_eq!(
        value(&body, &format!(r#"calico_bgp_peer_state{{{mesh},peer_type="mesh",state="Idle"}}"#)),
        0.0
    );
    assert_eq!(value(&body, &format!("calico_bgp_peer_uptime_seconds{{{mesh}}}")), 5025.0);
    assert_eq!(
        value(&body, r#"calico_bgp_peer_flaps_total{peer="fd00:1::13",name="Node_fd00_1__13"}"#),
        4.0
    );
    assert_eq!(
        value(&body, &format!(r#"calico_bgp_peer_prefixes_received{{{mesh},family="ipv4"}}"#)),
        3.0
    );
    assert_eq!(
        value(&body, &format!(r#"calico_bgp_peer_prefixes_advertised{{{mesh},family="ipv4"}}"#)),
        2.0
    );
    assert_eq!(
        value(
            &body,
            &format!(r#"calico_bgp_peer_messages_received_total{{{mesh},type="update"}}"#)
        ),
        7.0
    );
    assert_eq!(
        value(
            &body,
            &format!(r#"calico_bgp_peer_messages_sent_total{{{mesh},type="notification"}}"#)
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            r#"calico_bgp_peer_graceful_restart_state{peer="fd00:1::13",name="Node_fd00_1__13",state="peer_restarting"}"#
        ),
        1.0
    );
    assert_eq!(
        value(&body, r#"calico_bgp_peer_stale_routes{peer="fd00:1::13",name="Node_fd00_1__13"}"#),
        12.0
    );
}

#[test]
fn scrape_reports_rib_fib_and_daemon_values() {
    let (_rt, addr) = start();
    let (_, _, body) = get(addr, "/metrics");
    assert_eq!(value(&body, r#"calico_bgp_rib_prefixes{family="ipv4"}"#), 3.0);
    assert_eq!(value(&body, r#"calico_bgp_rib_paths{family="ipv4"}"#), 6.0);
    assert_eq!(value(&body, "calico_bgp_fib_routes_wanted"), 3.0);
    assert_eq!(value(&body, r#"calico_bgp_fib_operations_total{op="add"}"#), 17.0);
    assert_eq!(value(&body, r#"calico_bgp_fib_operations_total{op="delete"}"#), 5.0);
    assert_eq!(value(&body, "calico_bgp_fib_errors_total"), 1.0);
    // 4 observations: 0.0004, 0.0007 (<= 1 ms), 0.004 (<= 10 ms), 0.2 (> 100 ms).
    assert_eq!(
        value(&body, r#"calico_bgp_fib_operation_duration_seconds_bucket{le="0.001"}"#),
        2.0
    );
    assert_eq!(value(&body, r#"calico_bgp_fib_operation_duration_seconds_bucket{le="0.01"}"#), 3.0);
    assert_eq!(value(&body, r#"calico_bgp_fib_operation_duration_seconds_bucket{le="0.1"}"#), 3.0);
    assert_eq!(value(&body, r#"calico_bgp_fib_operation_duration_seconds_bucket{le="+Inf"}"#), 4.0);
    assert_eq!(value(&body, "calico_bgp_fib_operation_duration_seconds_count"), 4.0);
    assert!((value(&body, "calico_bgp_fib_operation_duration_seconds_sum") - 0.2051).abs() < 1e-9);
    assert_eq!(value(&body, "calico_bgp_event_loop_lag_seconds"), 0.0004);
    assert_eq!(value(&body, "calico_bgp_event_loop_lag_max_seconds"), 0.012);
    assert_eq!(value(&body, "calico_bgp_graceful_restart_recovering"), 0.0);
    assert_eq!(value(&body, "calico_bgp_last_reconfig_success"), 1.0);
    assert_eq!(value(&body, "calico_bgp_uptime_seconds"), 90061.0);
    assert_eq!(value(&body, r#"calico_bgp_unknown_connects_total{source="172.17.0.1"}"#), 3.0);
    assert_eq!(
        value(
            &body,
            r#"calico_bgp_build_info{version="calico-bgpd 0.1.0",commit="0123456789ab",router_id="192.168.1.11"}"#
        ),
        1.0
    );
}

#[test]
fn every_family_has_help_and_type_lines() {
    let (_rt, addr) = start();
    let (_, _, body) = get(addr, "/metrics");
    let types = body.lines().filter(|l| l.starts_with("# TYPE calico_bgp_")).count();
    let helps = body.lines().filter(|l| l.starts_with("# HELP calico_bgp_")).count();
    assert_eq!(types, helps);
    assert!(types >= 25, "{types} families");
}

#[test]
fn graceful_restart_recovery_shows_in_metrics() {
    let snap = metrics::MetricsSnapshot { status: status_recovering(), peers: vec![] };
    let body = metrics::render(snap);
    assert_eq!(value(&body, "calico_bgp_graceful_restart_recovering"), 1.0);
    assert_eq!(value(&body, "calico_bgp_graceful_restart_wait_remaining_seconds"), 215.0);
    assert_eq!(value(&body, "calico_bgp_last_reconfig_success"), 0.0);
}

#[test]
fn long_lived_stale_peer_shows_its_state_and_time_left_in_metrics() {
    let snap = metrics::MetricsSnapshot { status: status(), peers: vec![tor_long_lived_stale()] };
    let body = metrics::render(snap);
    let tor = r#"peer="10.0.0.254",name="Node_10_0_0_254""#;
    let state = |st: &str| {
        value(&body, &format!(r#"calico_bgp_peer_graceful_restart_state{{{tor},state="{st}"}}"#))
    };
    assert_eq!(state("long_lived_stale"), 1.0);
    assert_eq!(state("peer_restarting"), 0.0);
    assert_eq!(
        value(&body, &format!("calico_bgp_peer_graceful_restart_remaining_seconds{{{tor}}}")),
        82_795.0
    );
    assert_eq!(value(&body, &format!("calico_bgp_peer_stale_routes{{{tor}}}")), 3.0);
}

#[test]
fn livez_answers_and_unknown_paths_are_404() {
    let (_rt, addr) = start();
    assert_eq!(get(addr, "/livez").0, 200);
    assert_eq!(get(addr, "/nope").0, 404);
}

#[test]
fn import_and_export_filter_rule_counts_show_in_metrics() {
    let body =
        metrics::render(metrics::MetricsSnapshot { status: status(), peers: vec![tor_filtered()] });
    let peer = r#"peer="10.0.0.254",name="Node_10_0_0_254""#;
    for (labels, paths) in [
        (r#"filter="tor-in",list="import_v4",rule="1",action="reject""#, 7.0),
        (r#"filter="tor-out",list="export_v4",rule="0",action="accept""#, 12.0),
        (r#"filter="tor-out",list="export_v4",rule="2",action="reject""#, 3.0),
    ] {
        let series = format!("calico_bgp_peer_filter_rule_paths{{{peer},{labels}}}");
        assert_eq!(value(&body, &series), paths, "{series}");
    }
}
