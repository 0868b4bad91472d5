use super::*;

#[test]
fn batch_lines_give_their_prefix_count() {
    let l = "2026-12-02T00:10:11.123456Z DEBUG fib: batch applied prefixes=32768 took=1.2s";
    assert_eq!(batch_prefixes(l), Some(32768));
    assert_eq!(batch_prefixes("INFO fib: converged; removing stale routes"), None);
}

#[test]
fn stat_times_are_read_after_the_name() {
    let stat = "42 (tokio (w) 1) S 1 42 42 0 -1 4194560 10 0 0 0 250 75 0 0 20 0 9 0";
    assert_eq!(stat_ticks(stat), Some((250, 75)));
    assert_eq!(stat_nice(stat), Some(0));
    assert_eq!(stat_ticks("42 (x) S 1"), None);
}

#[test]
fn metric_values_are_found_by_exact_name() {
    let text = "# HELP x\ncalico_bgp_event_loop_lag_seconds 0.5\n\
                calico_bgp_event_loop_lag_max_seconds 0.125\n";
    assert_eq!(metric(text, "calico_bgp_event_loop_lag_max_seconds"), Some(0.125));
    assert_eq!(metric(text, "calico_bgp_event_loop_lag"), None);
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
    assert_eq!(percentile(&v, 50), Duration::from_millis(50));
    assert_eq!(percentile(&v, 99), Duration::from_millis(99));
    assert_eq!(percentile(&v[..1], 99), Duration::from_millis(1));
    assert_eq!(percentile(&[], 50), Duration::ZERO);
}

#[test]
fn probes_are_filed_by_when_they_were_sent() {
    let t = Instant::now();
    let at = |ms| t + Duration::from_millis(ms);
    // warm-up, idle, in flight, FIB only, after (never arrives)
    let sent = [at(0), at(10), at(110), at(210), at(310)];
    let got: HashMap<u32, Instant> =
        [(0, at(1)), (1, at(12)), (2, at(150)), (3, at(215))].into_iter().collect();
    let w = windows(&sent, &got, at(100), at(200), at(300));
    let by = |x| w.iter().find(|l| l.window == x).cloned().unwrap();
    assert_eq!(by(Window::Idle).max, Duration::from_millis(2));
    assert_eq!(by(Window::InFlight).p50, Duration::from_millis(40));
    assert_eq!(by(Window::FibOnly).p99, Duration::from_millis(5));
    assert_eq!((by(Window::After).sent, by(Window::After).lost), (1, 1));
    assert_eq!(w.iter().map(|l| l.sent).sum::<usize>(), 4);
}

#[test]
fn bulk_and_probe_prefixes_are_told_apart() {
    let p = |s: &str| s.parse::<IpNet>().unwrap();
    assert!(matches!(classify(&p("10.0.0.0/32"), 10), Kind::Bulk));
    assert!(matches!(classify(&p("10.0.0.10/32"), 10), Kind::Other));
    assert!(matches!(classify(&p("10.255.1.2/32"), 10), Kind::Probe(258)));
    assert!(matches!(classify(&p("10.0.0.0/24"), 10), Kind::Other));
}

#[test]
fn bulk_buffers_hold_every_prefix_in_whole_messages() {
    let bufs = bulk_buffers(20_000).unwrap();
    let ctx = encode_ctx(true).peer_decode_ctx();
    let mut n = 0;
    for b in &bufs {
        let mut rest = &b[..];
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            let body = Bytes::copy_from_slice(&rest[19..len]);
            n += UpdateMsg::decode(&body, &ctx).unwrap().announcements().count();
            rest = &rest[len..];
        }
    }
    assert_eq!(n, 20_000);
}

#[test]
fn bird_exported_count_is_read_from_the_channel_routes_line() {
    let text = "kipv4      Kernel     master4    up     22:40:01.123\n  Channel ipv4\n    \
                State:          UP\n    Routes:         0 imported, 200100 exported, 0 preferred\n";
    assert_eq!(speaker::exported(text), Some(200_100));
    assert_eq!(speaker::exported("kipv4 Kernel master4 up"), None);
}
