//! Golden-text tests of every human table. `UPDATE_GOLDEN=1 cargo test -p ctl`
//! regenerates the files under `ctl/tests/golden/`; review the diff.

mod common;

use common::*;
use ctl::proto::{AdvertiseAction, AdvertiseResult, RouteQuery};
use ctl::render;

#[test]
fn show_peers_matches_calicoctl_node_status() {
    golden("show-peers.txt", &render::peers_table(&peers(), NOW));
}

#[test]
fn show_peers_bird_prints_bird_1_6_protocol_rows() {
    golden("show-peers-bird.txt", &render::bird_protocols(&peers(), NOW));
}

#[test]
fn show_peers_without_ipv6_peers_says_so() {
    golden("show-peers-v4-only.txt", &render::peers_table(&[mesh_up()], NOW));
}

#[test]
fn show_peers_with_no_peers_lists_both_families_empty() {
    golden("show-peers-none.txt", &render::peers_table(&[], NOW));
}

#[test]
fn show_peer_established_lists_caps_timers_counters() {
    golden("show-peer-established.txt", &render::peer_detail(&mesh_up(), NOW));
}

#[test]
fn show_peer_down_shows_last_error_and_gr_state() {
    golden("show-peer-restarting.txt", &render::peer_detail(&rr_client_v6(), NOW));
    golden("show-peer-refused.txt", &render::peer_detail(&global_refused(), NOW));
}

#[test]
fn show_peer_long_lived_stale_shows_state_time_left_and_capability() {
    golden("show-peer-long-lived-stale.txt", &render::peer_detail(&tor_long_lived_stale(), NOW));
}

#[test]
fn show_peer_lists_its_filters_and_paths_per_rule() {
    golden("show-peer-filters.txt", &render::peer_detail(&tor_filtered(), NOW));
}

#[test]
fn show_routes_marks_best_and_why_others_lost() {
    golden("show-routes.txt", &render::routes(&routes(), NOW));
}

#[test]
fn show_routes_filtered_by_peer_keeps_only_its_paths() {
    let q = RouteQuery { peer: Some("10.0.0.5".parse().unwrap()), ..Default::default() };
    golden("show-routes-peer.txt", &render::routes(&q.apply(routes()), NOW));
}

#[test]
fn show_routes_empty_says_so() {
    assert_eq!(render::routes(&[], NOW), "No routes found.\n");
}

#[test]
fn show_fib_shows_wanted_installed_and_difference() {
    golden("show-fib.txt", &render::fib(&fib()));
}

#[test]
fn show_status_running() {
    golden("show-status.txt", &render::status(&status(), NOW));
}

#[test]
fn show_status_during_graceful_restart_recovery() {
    golden("show-status-recovering.txt", &render::status(&status_recovering(), NOW));
}

#[test]
fn show_status_lists_peers_kept_stale_and_long_lived_stale() {
    golden("show-status-helping.txt", &render::status(&status_helping(), NOW));
}

#[test]
fn show_status_says_which_datastore_revision_is_in_force_and_what_is_wrong() {
    golden("show-status-datastore.txt", &render::status(&status_datastore(), NOW));
}

#[test]
fn show_status_says_why_the_daemon_waits_for_the_datastore() {
    let mut s = status_datastore();
    let why = "node.name = n1: no Calico Node of this name in the datastore";
    s.waiting = Some(why.into());
    // Nothing runs yet: no router id, no routes.
    (s.router_id, s.last_reconfig, s.rib) = (std::net::Ipv4Addr::UNSPECIFIED, None, vec![]);
    s.fib = Default::default();
    if let Some(d) = s.datastore.as_mut() {
        (d.revision_applied, d.applied_at) = (None, None);
        d.refused = Some(why.into());
    }
    golden("show-status-waiting.txt", &render::status(&s, NOW));
}

#[test]
fn show_status_counts_the_reads_of_a_resources_file() {
    golden("show-status-datastore-file.txt", &render::status(&status_datastore_file(), NOW));
}

#[test]
fn reload_results_name_peers_and_errors() {
    golden("reload-applied.txt", &render::reload(&reload_ok()));
    golden("reload-refused.txt", &render::reload(&reload_refused()));
}

#[test]
fn advertise_results_read_as_sentences() {
    let prefix = "10.244.7.0/26".parse().unwrap();
    let mut text = String::new();
    for (action, changed) in [
        (AdvertiseAction::Add, true),
        (AdvertiseAction::Add, false),
        (AdvertiseAction::Del, true),
        (AdvertiseAction::Del, false),
    ] {
        text.push_str(&render::advertise(&AdvertiseResult {
            action,
            prefix,
            changed,
            exported_to: 2,
        }));
    }
    golden("advertise.txt", &text);
}
