//! `lab`: the README's main job. Starts three calico-bgpd nodes with pods and an FRR
//! ToR in network namespaces and leaves them running (see `interop_tests::lab`).
//!
//! ```text
//! lab [up|status|down] [--datastore] [--containers] [--state-dir DIR] [--prefix NAME] [--bin-dir DIR] [--timeout SECS]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use interop_tests::lab::{self, Options, Up};

const USAGE: &str = "\
usage: lab [up|status|down] [options]

  up       build the lab, wait for every BGP session, print the report (default)
  status   print the report of the running lab again
  down     stop the lab's daemons (by recorded PID) and delete its namespaces

options:
  --datastore       up: add an etcd and configure the nodes from Calico's resources in it
  --containers      up: run the nodes and the ToR as containers of the images scripts/images.sh
                    builds (localhost/calico-bgpd, localhost/calico-bgp-frr)
  --state-dir DIR   configs, logs, sockets, lab.state  (default /tmp/calico-bgp-lab, env CBGP_LAB_DIR)
  --prefix NAME     namespace name prefix               (default cbgp-lab, env CBGP_LAB_PREFIX)
  --bin-dir DIR     where calico-bgpd and calico-bgpctl are (default: beside this program)
  --timeout SECS    how long `up` waits for the sessions (default 60)

Needs root (network namespaces).";

fn main() -> ExitCode {
    let (cmd, opts) = match parse(std::env::args().skip(1).collect()) {
        Ok(v) => v,
        Err(e) if e == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lab: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let result = match cmd.as_str() {
        "up" => lab::up(&opts, &mut out).map(|u| {
            if u == Up::Started {
                let _ = explore_hints(&opts, &mut out);
            }
            true
        }),
        "status" => lab::status(&opts, &mut out),
        "down" => lab::down(&opts, &mut out).map(|()| true),
        _ => unreachable!("parse only returns known commands"),
    };
    let _ = out.flush();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("lab {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: Vec<String>) -> Result<(String, Options), String> {
    let mut opts = Options::from_defaults().map_err(|e| e.to_string())?;
    if let Some(d) = std::env::var_os("CBGP_LAB_DIR") {
        opts.state_dir = d.into();
    }
    if let Ok(p) = std::env::var("CBGP_LAB_PREFIX") {
        opts.prefix = p;
    }
    let mut cmd = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "up" | "status" | "down" if cmd.is_none() => cmd = Some(a),
            "--state-dir" => opts.state_dir = PathBuf::from(value(&a)?),
            "--prefix" => opts.prefix = value(&a)?,
            "--bin-dir" => opts.bin_dir = PathBuf::from(value(&a)?),
            "--datastore" => opts.datastore = true,
            "--containers" => opts.containers = true,
            "--timeout" => {
                let v = value(&a)?;
                let secs =
                    v.parse().map_err(|_| format!("--timeout {v}: not a number of seconds"))?;
                opts.timeout = Duration::from_secs(secs);
            }
            "-h" | "--help" => return Err("help".into()),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    // Namespace names become `ip netns` file names and interface-name hashes.
    if opts.prefix.is_empty()
        || !opts.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("--prefix {:?}: use letters, digits, - and _", opts.prefix));
    }
    Ok((cmd.unwrap_or_else(|| "up".into()), opts))
}

fn explore_hints(opts: &Options, out: &mut dyn Write) -> std::io::Result<()> {
    let dir = opts.state_dir.display();
    let ctl = opts.bin_dir.join("calico-bgpctl");
    writeln!(out, "\nThe lab keeps running. To explore:")?;
    writeln!(out, "  ip netns exec {}-n1 bash              # a shell on node n1", opts.prefix)?;
    writeln!(out, "  ip netns exec {}-n1-a ping 10.244.1.2 # from pod a", opts.prefix)?;
    writeln!(out, "  {} --socket {dir}/n1/calico-bgp.ctl show peers", ctl.display())?;
    writeln!(out, "  vtysh --vty_socket {dir}/tor -c 'show bgp summary'")?;
    writeln!(out, "  less {dir}/n1/calico-bgpd.log")?;
    if opts.datastore {
        writeln!(
            out,
            "  ip netns exec {}-etcd etcdctl --endpoints={} get /calico --prefix",
            opts.prefix,
            lab::datastore::endpoint()
        )?;
    }
    writeln!(out, "  scripts/lab.sh status | scripts/lab.sh down")?;
    Ok(())
}
