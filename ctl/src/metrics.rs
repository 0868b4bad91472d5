//! Prometheus metrics rendered from the same snapshots as `calico-bgpctl`,
//! and a small HTTP server for them.
//!
//! Rendering uses the `prometheus-client` crate (the Prometheus project's
//! official Rust client): a [`Collector`] encodes the snapshot taken at scrape
//! time, so the daemon keeps no second set of counters and the two views
//! cannot disagree; the crate does the name, label and float formatting
//! (escaping, `+Inf`, `_total`) that a hand-written encoder would get wrong.
//! The output is the Prometheus text format 0.0.4.
//!
//! HTTP is plain `hyper` 1 (HTTP/1.1 server only): the endpoint has two fixed
//! paths, so a router framework (axum, and the tower stack under it) would add
//! dependencies without removing code. Paths: `/metrics`, and `/livez`
//! (200 while the daemon answers at all).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::proto::{
    FibOp, GrPeerState, PeerSnapshot, ReconfigResult, SessionState, StatusSnapshot,
};
use crate::server::Handler;

/// Everything one scrape renders.
#[derive(Debug, Clone)]
pub struct MetricsSnapshot {
    /// Daemon-wide status.
    pub status: StatusSnapshot,
    /// Every peer.
    pub peers: Vec<PeerSnapshot>,
}

impl MetricsSnapshot {
    /// Takes both snapshots from the handler.
    pub async fn take<H: Handler>(handler: &H) -> Self {
        MetricsSnapshot { status: handler.status().await, peers: handler.peers().await }
    }
}

/// Renders the Prometheus text exposition of a snapshot.
pub fn render(snapshot: MetricsSnapshot) -> String {
    let mut registry = Registry::with_prefix("calico_bgp");
    registry.register_collector(Box::new(SnapshotCollector(snapshot)));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct SnapshotCollector(MetricsSnapshot);

type Labels = Vec<(&'static str, String)>;

/// One family of gauge or counter samples.
fn family<M: EncodeMetric>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in samples {
        metric.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A metric without labels.
fn single<M: EncodeMetric>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: M,
) -> Result<(), std::fmt::Error> {
    let kind = metric.metric_type();
    metric.encode(enc.encode_descriptor(name, help, None, kind)?)
}

fn gauge<N>(v: N) -> ConstGauge<N> {
    ConstGauge::new(v)
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn peer_labels(p: &PeerSnapshot) -> Labels {
    vec![("peer", p.address.to_string()), ("name", p.name.clone())]
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let s = &self.0.status;
        let peers = &self.0.peers;

        family(
            &mut e,
            "build_info",
            "Daemon version, git commit and router id (value always 1).",
            Gauge,
            [(
                vec![
                    ("version", s.version.clone()),
                    ("commit", s.commit.clone()),
                    ("router_id", s.router_id.to_string()),
                ],
                gauge(1i64),
            )],
        )?;
        single(
            &mut e,
            "uptime_seconds",
            "Seconds since the daemon started.",
            gauge(s.uptime_secs as i64),
        )?;

        // --- per peer ---
        family(
            &mut e,
            "peer_state",
            "1 for the peer's current RFC 4271 FSM state, 0 for the others.",
            Gauge,
            peers.iter().flat_map(|p| {
                SessionState::ALL.iter().map(move |st| {
                    let mut l = peer_labels(p);
                    l.push(("peer_type", p.peer_type.label().to_owned()));
                    l.push(("state", st.as_str().to_owned()));
                    (l, gauge(i64::from(p.state == *st)))
                })
            }),
        )?;
        family(
            &mut e,
            "peer_up",
            "1 when the session is Established.",
            Gauge,
            peers
                .iter()
                .map(|p| (peer_labels(p), gauge(i64::from(p.state == SessionState::Established)))),
        )?;
        family(
            &mut e,
            "peer_uptime_seconds",
            "Seconds the session has been Established (0 when it is not).",
            Gauge,
            peers.iter().map(|p| (peer_labels(p), gauge(p.uptime_secs.unwrap_or(0) as i64))),
        )?;
        family(
            &mut e,
            "peer_flaps",
            "Times the session left Established.",
            Counter,
            peers.iter().map(|p| (peer_labels(p), counter(p.flaps))),
        )?;
        for (name, help, pick) in [
            (
                "peer_prefixes_received",
                "Prefixes received from the peer (Adj-RIB-In).",
                (|c: &crate::proto::FamilyCounts| c.received) as fn(&_) -> u64,
            ),
            ("peer_prefixes_accepted", "Prefixes accepted by import policy.", |c| c.accepted),
            ("peer_prefixes_advertised", "Prefixes advertised to the peer.", |c| c.advertised),
        ] {
            family(
                &mut e,
                name,
                help,
                Gauge,
                peers.iter().flat_map(|p| {
                    p.prefixes.iter().map(move |c| {
                        let mut l = peer_labels(p);
                        l.push(("family", c.family.as_str().to_owned()));
                        (l, gauge(pick(c) as i64))
                    })
                }),
            )?;
        }
        family(
            &mut e,
            "peer_filter_rule_paths",
            "Paths a filter rule (Calico BGPFilter) judged: import rules (list import_v4/v6), \
             paths held from the peer; export rules (export_v4/v6), paths to it.",
            Gauge,
            peers.iter().flat_map(|p| {
                p.filter_rules.iter().map(move |r| {
                    let mut l = peer_labels(p);
                    l.push(("filter", r.filter.clone()));
                    l.push(("list", r.list.clone()));
                    l.push(("rule", r.rule.to_string()));
                    l.push(("action", r.action.clone()));
                    (l, gauge(r.paths as i64))
                })
            }),
        )?;
        for (name, help, sent) in [
            ("peer_messages_received", "BGP messages received, by type.", false),
            ("peer_messages_sent", "BGP messages sent, by type.", true),
        ] {
            family(
                &mut e,
                name,
                help,
                Counter,
                peers.iter().flat_map(|p| {
                    let m = if sent { p.messages.sent } else { p.messages.received };
                    [
                        ("open", m.open),
                        ("update", m.update),
                        ("notification", m.notification),
                        ("keepalive", m.keepalive),
                        ("route_refresh", m.route_refresh),
                    ]
                    .into_iter()
                    .map(move |(t, v)| {
                        let mut l = peer_labels(p);
                        l.push(("type", t.to_owned()));
                        (l, counter(v))
                    })
                }),
            )?;
        }
        family(
            &mut e,
            "peer_graceful_restart_state",
            "1 for the peer's current graceful-restart state, 0 for the others.",
            Gauge,
            peers.iter().flat_map(|p| {
                GrPeerState::ALL.iter().map(move |st| {
                    let mut l = peer_labels(p);
                    l.push(("state", st.as_str().to_owned()));
                    (l, gauge(i64::from(p.graceful_restart.state == *st)))
                })
            }),
        )?;
        family(
            &mut e,
            "peer_graceful_restart_remaining_seconds",
            "Seconds left of the peer's restart, long-lived stale or End-of-RIB wait \
             (0 when none runs).",
            Gauge,
            peers.iter().map(|p| {
                (peer_labels(p), gauge(i64::from(p.graceful_restart.time_left_secs.unwrap_or(0))))
            }),
        )?;
        family(
            &mut e,
            "peer_stale_routes",
            "Routes of the peer kept stale during its graceful restart.",
            Gauge,
            peers.iter().map(|p| (peer_labels(p), gauge(p.graceful_restart.stale_routes as i64))),
        )?;

        // --- RIB / FIB ---
        family(
            &mut e,
            "rib_prefixes",
            "Prefixes in the Loc-RIB.",
            Gauge,
            s.rib.iter().map(|r| {
                (vec![("family", r.family.as_str().to_owned())], gauge(r.prefixes as i64))
            }),
        )?;
        family(
            &mut e,
            "rib_paths",
            "Paths in the Loc-RIB over all prefixes.",
            Gauge,
            s.rib
                .iter()
                .map(|r| (vec![("family", r.family.as_str().to_owned())], gauge(r.paths as i64))),
        )?;
        single(
            &mut e,
            "fib_routes_wanted",
            "Kernel routes the daemon wants.",
            gauge(s.fib.wanted as i64),
        )?;
        single(
            &mut e,
            "fib_routes_installed",
            "Kernel routes of protocol bird installed.",
            gauge(s.fib.installed as i64),
        )?;
        family(
            &mut e,
            "fib_operations",
            "Successful kernel route operations, by operation.",
            Counter,
            FibOp::ALL
                .iter()
                .map(|op| (vec![("op", op.as_str().to_owned())], counter(s.fib.ops(*op)))),
        )?;
        single(&mut e, "fib_errors", "Failed kernel route operations.", counter(s.fib.errors))?;
        {
            let h = &s.fib.latency;
            let mut m = e.encode_descriptor(
                "fib_operation_duration_seconds",
                "Netlink request to acknowledgement time of kernel route operations.",
                None,
                MetricType::Histogram,
            )?;
            // The snapshot's buckets are cumulative; the encoder wants per-bucket counts.
            let mut prev = 0;
            let buckets: Vec<(f64, u64)> = h
                .buckets
                .iter()
                .map(|(le, n)| {
                    let d = n.saturating_sub(prev);
                    prev = *n;
                    (*le, d)
                })
                .collect();
            m.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)?;
        }

        // --- daemon ---
        single(
            &mut e,
            "graceful_restart_recovering",
            "1 while the daemon waits for End-of-RIB after its own restart (kernel sync deferred).",
            gauge(i64::from(s.graceful_restart.is_some())),
        )?;
        single(
            &mut e,
            "graceful_restart_wait_remaining_seconds",
            "Seconds left of the graceful-restart wait (0 when not recovering).",
            gauge(s.graceful_restart.as_ref().map_or(0, |g| i64::from(g.wait_left_secs))),
        )?;
        single(
            &mut e,
            "event_loop_lag_seconds",
            "How late the last periodic tick of the event loop ran.",
            gauge(s.event_loop_lag_secs),
        )?;
        single(
            &mut e,
            "event_loop_lag_max_seconds",
            "Largest event-loop lag since start.",
            gauge(s.event_loop_lag_max_secs),
        )?;
        if let Some(r) = &s.last_reconfig {
            single(
                &mut e,
                "last_reconfig_success",
                "1 if the last configuration load was applied, 0 if refused.",
                gauge(i64::from(r.result == ReconfigResult::Applied)),
            )?;
            single(
                &mut e,
                "last_reconfig_timestamp_seconds",
                "Unix time of the last configuration load.",
                gauge(r.at as i64),
            )?;
        }
        family(
            &mut e,
            "unknown_connects",
            "Inbound connections refused because the source is not a configured neighbor.",
            Counter,
            s.unknown_connects
                .iter()
                .map(|u| (vec![("source", u.source.to_string())], counter(u.count))),
        )?;
        Ok(())
    }
}

/// Binds the metrics listener (the daemon does this only when the listen
/// address is configured: metrics are off by default).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `/metrics` and `/livez` until `shutdown` completes. Each scrape
/// takes fresh snapshots; a handler slower than 5 s gives a 503.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => {
                    // EMFILE and similar: back off, keep the listener.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(respond(&*handler, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            // A broken scrape connection concerns only that scraper.
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
        });
    }
}

async fn respond<H: Handler, B>(handler: &H, req: Request<B>) -> Response<Full<Bytes>> {
    let reply = |code: StatusCode, ctype: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = code;
        r.headers_mut()
            .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(ctype));
        r
    };
    match req.uri().path() {
        "/metrics" => {
            match tokio::time::timeout(Duration::from_secs(5), MetricsSnapshot::take(handler)).await
            {
                Ok(snap) => {
                    reply(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", render(snap))
                }
                Err(_) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "daemon did not produce a snapshot within 5 s\n".into(),
                ),
            }
        }
        "/livez" => match tokio::time::timeout(Duration::from_secs(5), handler.status()).await {
            Ok(_) => reply(StatusCode::OK, "text/plain", "ok\n".into()),
            Err(_) => {
                reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "event loop stuck\n".into())
            }
        },
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "try /metrics\n".into()),
    }
}
