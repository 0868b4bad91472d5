//! Our replies read with the rules Calico's tools apply to BIRD's, in every
//! session state and during our graceful-restart recovery. The rules are
//! restated from Calico's source (calico-node `pkg/health` and
//! `pkg/health/bird`, calicoctl `commands/node/status.go`, calico-node
//! `pkg/status/populators`):
//!
//! - readiness (`-bird-ready`): `show protocols` may hold only `0000`,
//!   `0001`, `2002`, `1002` and continuation lines; the heading's words are
//!   exactly `name proto table state since info`; rows of six or more
//!   fields whose proto is `BGP` and whose name matches
//!   `^(Global|Node|Mesh)_(.+)$` are peers, the sixth field their BGP
//!   state; during the start-up window every peer must be `Established`
//!   and `show status` (only `0013`, `0001`, `1000`, `1011`, `0024` and
//!   continuation lines) must hold no `0024`;
//! - liveness (`-bird-live`): `birdcl ... show status` prints text that
//!   starts with `BIRD`;
//! - `calicoctl node status`: the same scan, the peer address from the
//!   name (`_` back to `.` or `:`), the info as fields 6.. joined;
//! - the populators: `show status` lines give the version after `BIRD `,
//!   the router id and the three times; `show protocols all NAME` on the
//!   same connection gives `BGP state:` and `Neighbor address:`; every
//!   `show route` line matches the `via`, `dev`, `blackhole` or
//!   `unreachable` expression, and its protocol is `kernel*`, `static*`,
//!   `direct*` or a peer name.

use regex::Regex;

use super::tests::{T0, peers, routes, status};
use super::*;
use crate::proto::{ErrorClass, GrRecovery, LastError, SessionState};

/// One client connection: replies as text lines, framing state kept.
struct Conn<'a> {
    view: View<'a>,
    enc: Encoder,
}

impl Conn<'_> {
    fn ask(&mut self, line: &str) -> Vec<String> {
        let rs = routes();
        let iface = |_| Some("eth0".to_owned());
        let r = Routes { routes: &rs, iface: &iface };
        let mut out = Vec::new();
        self.enc.encode(&answer(&Command::parse(line), &self.view, Some(&r)), &mut out);
        String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
    }
}

#[derive(Debug)]
struct Peer {
    name: String,
    ip: String,
    state: String,
    since: String,
    bgp_state: String,
    info: String,
}

fn scan_peers(lines: &[String], sep: &str) -> Result<Vec<Peer>, String> {
    let name_re = Regex::new(r"^(Global|Node|Mesh)_(.+)$").unwrap();
    let mut peers = Vec::new();
    for l in lines {
        let row = if l.starts_with("0000") {
            break;
        } else if l.starts_with("0001") {
            continue;
        } else if l.starts_with("2002") {
            let words: Vec<&str> = l[5..].split_whitespace().collect();
            if words != ["name", "proto", "table", "state", "since", "info"] {
                return Err("unknown BIRD table output format".into());
            }
            continue;
        } else if l.starts_with("1002") {
            &l[5..]
        } else if let Some(r) = l.strip_prefix(' ') {
            r
        } else {
            return Err(format!("unexpected output line from BIRD: '{l}'"));
        };
        let c: Vec<&str> = row.split_whitespace().collect();
        if c.len() < 6 || c[1] != "BGP" {
            continue;
        }
        let Some(m) = name_re.captures(c[0]) else { continue };
        peers.push(Peer {
            name: c[0].into(),
            ip: m[2].replace('_', sep),
            state: c[3].into(),
            since: c[4].into(),
            bgp_state: c[5].into(),
            info: c[6..].join(" "),
        });
    }
    Ok(peers)
}

fn gr_in_progress(lines: &[String]) -> Result<bool, String> {
    for l in lines {
        if l.starts_with("0013") {
            break;
        } else if l.starts_with("0024") {
            return Ok(true);
        } else if !["0001", "1000", "1011", " "].iter().any(|p| l.starts_with(p)) {
            return Err(format!("unexpected output line from BIRD: '{l}'"));
        }
    }
    Ok(false)
}

/// What `birdcl -s SOCK show status` prints: each line without its code,
/// or without its continuation space; nothing for `0000`.
fn birdcl(welcome_and_reply: &[String]) -> String {
    let mut out = String::new();
    for l in welcome_and_reply {
        if l.starts_with("0000") {
            continue;
        }
        out.push_str(l.strip_prefix(' ').unwrap_or_else(|| &l[5..]));
        out.push('\n');
    }
    out
}

/// Every rule of the module documentation, on one node state.
fn check_all(s: &StatusSnapshot, ps: &[PeerSnapshot], expect_ready: bool) {
    let view = View { family: Family::Ipv4, status: s, peers: ps, now: T0 + 600 };
    let welcome = {
        let mut out = Vec::new();
        Encoder::default().encode(&[super::welcome()], &mut out);
        String::from_utf8(out).unwrap().trim_end().to_owned()
    };

    // Readiness, calicoctl node status.
    let mut c = Conn { view, enc: Encoder::default() };
    let mut lines = vec![welcome.clone()];
    lines.extend(c.ask("show protocols"));
    let scanned = scan_peers(&lines, ".").unwrap();
    let enabled: Vec<&PeerSnapshot> = ps.iter().filter(|p| !p.disabled).collect();
    assert_eq!(scanned.len(), enabled.len(), "disabled rows have five fields: {lines:#?}");
    for (got, p) in scanned.iter().zip(&enabled) {
        assert_eq!(got.ip, p.address.to_string());
        assert!(got.since.len() == 8 || got.since.len() == 10, "{got:?}");
        assert!(["up", "start", "wait"].contains(&got.state.as_str()), "{got:?}");
        if p.state == SessionState::Established {
            assert_eq!((got.bgp_state.as_str(), got.info.as_str()), ("Established", ""));
        }
        if let Some(e) = p.last_error.as_ref().filter(|_| p.state != SessionState::Established) {
            assert_eq!(got.info, e.to_string(), "{got:?}");
        }
    }
    let mut c = Conn { view, enc: Encoder::default() };
    let gr = gr_in_progress(&c.ask("show status")).unwrap();
    let all_up = scanned.iter().all(|p| p.bgp_state == "Established");
    assert_eq!(scanned.is_empty() || (all_up && !gr), expect_ready, "{scanned:#?} gr={gr}");

    // Liveness.
    let mut c = Conn { view, enc: Encoder::default() };
    let mut lines = vec![welcome.clone()];
    lines.extend(c.ask("show status"));
    assert!(birdcl(&lines).starts_with("BIRD"), "{}", birdcl(&lines));

    // The status populator.
    let (mut version, mut router_id, mut times) = (None, None, 0);
    for l in &lines {
        if l.starts_with("0013") {
            break;
        }
        let text = match l.strip_prefix(' ') {
            Some(t) => t,
            None if ["0001", "1000", "1011", "0024"].iter().any(|p| l.starts_with(p)) => &l[5..],
            None => panic!("unexpected output line from BIRD: {l}"),
        };
        if let Some(v) = text.strip_prefix("BIRD v").filter(|_| !text.contains("ready")) {
            version = Some(format!("v{v}"));
        } else if let Some(id) = text.strip_prefix("Router ID is ") {
            router_id = Some(id.to_owned());
        } else if ["Current server time is ", "Last reboot on ", "Last reconfiguration on "]
            .iter()
            .any(|p| text.starts_with(p))
        {
            times += 1;
        }
    }
    assert_eq!(version.as_deref(), Some(VERSION));
    assert_eq!(router_id, Some(s.router_id.to_string()));
    assert_eq!(times, 3);

    // The peers populator: one connection, `show protocols all NAME` each.
    let mut c = Conn { view, enc: Encoder::default() };
    let states = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Close"];
    let scanned = scan_peers(&c.ask("show protocols"), ".").unwrap();
    for p in &scanned {
        let (mut bgp_state, mut address) = (None, None);
        for l in c.ask(&format!("show protocols all {}", p.name)) {
            if l.starts_with("0000") {
                break;
            }
            if l.contains("BGP state:") {
                bgp_state = Some(l.replace("BGP state:", " ").trim().to_owned());
            } else if l.contains("Neighbor address:") {
                address = Some(l.replace("Neighbor address:", " ").trim().to_owned());
            }
        }
        let bgp_state = bgp_state.unwrap();
        assert_eq!(bgp_state, p.bgp_state);
        assert!(states.contains(&bgp_state.as_str()) || bgp_state == "Passive", "{bgp_state}");
        assert_eq!(address.as_deref(), Some(p.ip.as_str()));
    }

    // The route populator.
    let via = Regex::new(
        r"(?P<dest>\S*)\s*via\s(?P<gateway>\S*)\s*on\s(?P<iface>.*)\s\[(?P<from>\S*)\s.*\].*",
    )
    .unwrap();
    let dev = Regex::new(r"(?P<dest>\S*)\s*dev\s(?P<iface>.*)\s\[(?P<from>\S*)\s.*\].*").unwrap();
    let bh = Regex::new(r"(?P<dest>\S*)\s*blackhole\s\[(?P<from>\S*)\s.*\].*").unwrap();
    let un = Regex::new(r"(?P<dest>\S*)\s*unreachable\s\[(?P<from>\S*)\s.*\].*").unwrap();
    let name_re = Regex::new(r"^(Global|Node|Mesh)_(.+)$").unwrap();
    let mut c = Conn { view, enc: Encoder::default() };
    let mut previous = String::new();
    let mut n = 0;
    for l in c.ask("show route") {
        let row = if l.starts_with("0000") {
            break;
        } else if let Some(r) = l.strip_prefix("1007-").or_else(|| l.strip_prefix(' ')) {
            r.to_owned()
        } else {
            panic!("unexpected output line from BIRD: {l}");
        };
        let re = [(" via ", &via), (" dev ", &dev), (" blackhole ", &bh), (" unreachable ", &un)]
            .into_iter()
            .find(|(w, _)| row.contains(w))
            .unwrap_or_else(|| panic!("no expression for {row:?}"))
            .1;
        let m = re.captures(&row).unwrap_or_else(|| panic!("Failed to parse ({row})"));
        let dest = if m["dest"].is_empty() { previous.clone() } else { m["dest"].to_owned() };
        assert!(!dest.is_empty(), "{row}");
        let from = &m["from"];
        assert!(
            ["kernel", "static", "direct"].iter().any(|p| from.starts_with(p))
                || name_re.is_match(from),
            "{from}"
        );
        previous = dest;
        n += 1;
    }
    assert_eq!(n, 6);
}

fn with_state(i: usize, state: SessionState) -> Vec<PeerSnapshot> {
    let mut ps = peers();
    ps[i].state = state;
    ps
}

#[test]
fn every_session_state_reads_as_calico_expects() {
    let s = status();
    for state in SessionState::ALL {
        let mut ps = with_state(0, state);
        ps[1].state = SessionState::Established;
        check_all(&s, &ps, state == SessionState::Established);
    }
}

#[test]
fn errors_passive_and_disabled_sessions_read_as_calico_expects() {
    let s = status();
    let mut ps = with_state(1, SessionState::Active);
    ps[1].last_error = Some(LastError {
        class: ErrorClass::Socket,
        message: "Connection refused".into(),
        at: None,
    });
    check_all(&s, &ps, false);
    let mut ps = with_state(1, SessionState::Idle);
    ps[1].last_error =
        Some(LastError { class: ErrorClass::BgpError, message: "Bad peer AS".into(), at: None });
    check_all(&s, &ps, false);
    let mut ps = with_state(1, SessionState::Active);
    ps[1].passive = true;
    check_all(&s, &ps, false);
    // The disabled peer is skipped; with the others up the node is ready.
    let ps = with_state(1, SessionState::Established);
    check_all(&s, &ps, true);
}

#[test]
fn recovery_keeps_the_node_not_ready() {
    let mut s = status();
    s.graceful_restart = Some(GrRecovery {
        waiting_for: vec!["192.168.1.12".into()],
        wait_left_secs: 200,
        wait_total_secs: 240,
    });
    let ps = with_state(1, SessionState::Established);
    check_all(&s, &ps, false);
}
