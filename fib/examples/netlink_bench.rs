//! FIB write benchmark in a fresh network namespace (needs root).
//!
//! ```text
//! cargo run -p fib --release --example netlink_bench -- [SIZES]    # default 100000,1000000
//! ```
//!
//! For each size: /32 routes from 10.200.0.0 via 10.99.0.2 dev veth0 proto bird are
//! installed, replaced (gateway 10.99.0.3) and deleted with the batched writer, then
//! installed through the whole `Fib` actor (policy, plan, writer) from a `FibSender`,
//! `ACTOR_RUNS` times (default 3), each in a namespace of its own, so that no run pays
//! for the kernel still freeing the routes of the one before; the table shows the median
//! run and stderr every run. For 100k routes the rtnetlink pipeline (256 in flight) and
//! `ip -batch` run beside them. `BENCH_ONLY_ACTOR=1` runs only the actor rows.
//! Prints a Markdown table (docs/performance.md keeps the figures).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use fib::netlink::Kernel;
use fib::netlink::writer::{RouteWriter, apply_pipelined};
use fib::policy::BestRoute;
use fib::route::{MAIN_TABLE, NextHop, Route, RouteKind};
use fib::{FibConfig, Op};
use ipnet::{IpNet, Ipv4Net};

fn prefix(i: u32) -> IpNet {
    let a = u32::from(Ipv4Addr::new(10, 200, 0, 0)) + i;
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), 32).unwrap())
}

fn routes(n: u32, gw: u8, dev: u32) -> Vec<Route> {
    (0..n)
        .map(|i| Route {
            prefix: prefix(i),
            kind: RouteKind::Via(NextHop {
                gateway: IpAddr::V4(Ipv4Addr::new(10, 99, 0, gw)),
                dev,
                onlink: false,
            }),
            table: MAIN_TABLE,
            metric: 0,
        })
        .collect()
}

struct Row {
    method: String,
    n: u32,
    secs: f64,
    cpu: f64,
}

/// CPU seconds used so far by this process and its reaped children (utime + stime +
/// cutime + cstime from /proc/self/stat, in 1/100 s). Kernel route work happens inside
/// our `sendto`, so it is counted; the figure is less sensitive to other load on the
/// machine than the wall clock.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14 overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    f.get(11..15).map(|v| v.iter().sum::<f64>() / 100.0).unwrap_or(0.0)
}

fn count(ns: &common::Netns) -> usize {
    let out =
        common::sh(Command::new("ip").args(["-n", &ns.name, "route", "show", "proto", "bird"]));
    out.lines().count()
}

/// A namespace with veth0 (10.99.0.1/24) up, and veth0's ifindex.
fn fresh_ns() -> (common::Netns, u32) {
    let ns = common::Netns::new();
    ns.ip(&["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "veth0"]);
    ns.ip(&["link", "set", "veth0", "up"]);
    ns.ip(&["link", "set", "veth1", "up"]);
    let dev: u32 = ns
        .ip(&["-j", "link", "show", "veth0"])
        .split("\"ifindex\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (ns, dev)
}

fn main() {
    let sizes: Vec<u32> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("size"))
        .collect();
    let (ns, dev) = fresh_ns();
    let mut rows = Vec::new();
    let time = |rows: &mut Vec<Row>, method: &str, n: u32, f: &mut dyn FnMut()| {
        let c = cpu();
        let t = Instant::now();
        f();
        let secs = t.elapsed().as_secs_f64();
        let cpu_s = cpu() - c;
        eprintln!(
            "{method:<40} {n:>8} {secs:>7.3} s {:>9.0}/s cpu {cpu_s:.2} s",
            f64::from(n) / secs
        );
        rows.push(Row { method: method.into(), n, secs, cpu: cpu_s });
    };

    for &n in &sizes {
        let add: Vec<Op> = routes(n, 2, dev).into_iter().map(Op::Replace).collect();
        let rep: Vec<Op> = routes(n, 3, dev).into_iter().map(Op::Replace).collect();
        let del: Vec<Op> = routes(n, 3, dev).into_iter().map(Op::Delete).collect();
        let only_actor = std::env::var_os("BENCH_ONLY_ACTOR").is_some();
        // Batched writer (what the Fib uses).
        let add2 = add.clone();
        let r = if only_actor {
            Vec::new()
        } else {
            let add = add2;
            ns.run(move || {
                let mut w = RouteWriter::open().unwrap();
                let mut out = Vec::new();
                for (label, ops) in [("install", &add), ("replace", &rep), ("delete", &del)] {
                    let (c, t) = (cpu(), Instant::now());
                    let rep = w.apply(ops);
                    assert!(
                        rep.failed.is_empty() && !rep.lost,
                        "{label}: {:?}",
                        rep.failed.first()
                    );
                    out.push((label, t.elapsed().as_secs_f64(), cpu() - c));
                }
                out
            })
        };
        for (label, secs, cpu) in r {
            eprintln!(
                "batched writer {label:<25} {n:>8} {secs:>7.3} s {:>9.0}/s cpu {cpu:.2} s",
                f64::from(n) / secs
            );
            rows.push(Row { method: format!("batched writer, {label}"), n, secs, cpu });
        }
        assert_eq!(count(&ns), 0);

        // The whole actor: FibSender -> policy -> plan -> writer, in fresh namespaces.
        let runs: usize =
            std::env::var("ACTOR_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
        let mut actor_runs: Vec<(f64, f64)> = Vec::new();
        for run in 0..runs {
            let (ans, _) = fresh_ns();
            let r = actor_install(&ans, n);
            assert_eq!(count(&ans), n as usize);
            eprintln!(
                "{:<40} {n:>8} {:>7.3} s {:>9.0}/s cpu {:.2} s",
                "Fib actor, install",
                r.0,
                f64::from(n) / r.0,
                r.1
            );
            actor_runs.push(r);
            // Flushed before the namespace goes: a namespace deleted with 1M routes is
            // torn down by a kernel worker in the background, on the next run's time.
            // Timed on the last run: the actor's routes removed the way an operator would.
            let mut flushed = Vec::new();
            time(&mut flushed, "ip route flush proto bird", n, &mut || {
                common::sh(
                    Command::new("ip").args(["-n", &ans.name, "route", "flush", "proto", "bird"]),
                );
            });
            if run + 1 == runs {
                rows.extend(flushed);
            }
        }
        actor_runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (secs, cpu_s) = actor_runs[actor_runs.len() / 2];
        let flush = rows.pop();
        rows.push(Row {
            method: format!("Fib actor (sender → kernel), install, median of {runs}"),
            n,
            secs,
            cpu: cpu_s,
        });
        rows.extend(flush);

        if n <= 100_000 && !only_actor {
            let add2 = add.clone();
            let del2: Vec<Op> = routes(n, 2, dev).into_iter().map(Op::Delete).collect();
            let r = ns.block_on(move || async move {
                let k = Kernel::open().unwrap();
                let (c, t) = (cpu(), Instant::now());
                let a = apply_pipelined(&k.handle, &add2, 256).await;
                let ra = (t.elapsed().as_secs_f64(), cpu() - c);
                let (c, t) = (cpu(), Instant::now());
                let d = apply_pipelined(&k.handle, &del2, 256).await;
                let rd = (t.elapsed().as_secs_f64(), cpu() - c);
                assert!(a.failed.is_empty() && d.failed.is_empty());
                (ra, rd)
            });
            for (label, (secs, cpu)) in [("install", r.0), ("delete", r.1)] {
                eprintln!(
                    "rtnetlink pipelined {label:<20} {n:>8} {secs:>7.3} s {:>9.0}/s cpu {cpu:.2} s",
                    f64::from(n) / secs
                );
                rows.push(Row {
                    method: format!("rtnetlink, 256 in flight, {label}"),
                    n,
                    secs,
                    cpu,
                });
            }
            let dir = std::env::temp_dir();
            let addf = dir.join(format!("cbgp-fib-bench-{}-add", std::process::id()));
            let delf = dir.join(format!("cbgp-fib-bench-{}-del", std::process::id()));
            let mut a = String::new();
            let mut d = String::new();
            for i in 0..n {
                let p = prefix(i);
                let _ = writeln!(a, "route add {p} via 10.99.0.2 dev veth0 proto 12");
                let _ = writeln!(d, "route del {p} proto 12");
            }
            std::fs::write(&addf, a).unwrap();
            std::fs::write(&delf, d).unwrap();
            for (label, f) in [("install", &addf), ("delete", &delf)] {
                time(&mut rows, &format!("ip -batch, {label}"), n, &mut || {
                    common::sh(Command::new("ip").args(["-n", &ns.name, "-batch"]).arg(f));
                });
            }
            let _ = std::fs::remove_file(addf);
            let _ = std::fs::remove_file(delf);
        }
    }
    println!("| method | routes | wall s | routes/s | CPU s |\n|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.3} | {:.0} | {:.2} |",
            r.method,
            r.n,
            r.secs,
            f64::from(r.n) / r.secs,
            r.cpu
        );
    }
}

/// 1M (or `n`) `FibSender::update` calls from another task until `flush()` returns:
/// (wall seconds, CPU seconds of the process meanwhile).
fn actor_install(ns: &common::Netns, n: u32) -> (f64, f64) {
    let c = cpu();
    let secs = ns.block_on(move || async move {
        let cfg = FibConfig {
            manage_vxlan: false,
            manage_tunl0: false,
            resync_every: Duration::from_secs(3600),
            ..FibConfig::default()
        };
        let (fib, task) = fib::Fib::start(cfg).unwrap();
        fib.flush().await;
        let t = Instant::now();
        for i in 0..n {
            fib.update(BestRoute {
                prefix: prefix(i),
                next_hops: vec![IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2))],
                local_block: false,
                priority: 0,
            });
        }
        let sent = t.elapsed();
        fib.flush().await;
        let secs = t.elapsed().as_secs_f64();
        eprintln!("  (the sender finished its {n} updates after {sent:?})");
        let st = fib.status().await.unwrap();
        assert_eq!(st.failed_ops, 0, "{:?}", st.last_error);
        fib.stop();
        let _ = task.await;
        secs
    });
    // CPU includes the task's start-up dumps; the wall time does not.
    (secs, cpu() - c)
}
