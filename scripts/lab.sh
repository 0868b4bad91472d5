#!/usr/bin/env bash
# The main job: builds calico-bgpd, calico-bgpctl and the lab, then starts three
# calico-bgpd nodes with pods and an FRR top-of-rack router in network namespaces
# and leaves them running (interop-tests/src/lab.rs has the topology).
#
#   scripts/lab.sh            same as `scripts/lab.sh up`
#   scripts/lab.sh up         build, start, wait for the sessions, print the report
#   scripts/lab.sh up --datastore
#                             the same, configured from Calico resources in an etcd on
#                             the LAN; then an `etcdctl put` of a new block affinity is
#                             shown reaching the other nodes
#   scripts/lab.sh up --containers
#                             the same, with the nodes and the ToR as containers of the
#                             images scripts/images.sh builds (it runs first)
#   scripts/lab.sh status     print the report again
#   scripts/lab.sh down       stop the lab's daemons (by recorded PID), delete its namespaces
#
# Extra arguments go to the lab (`--state-dir DIR`, `--prefix NAME`, `--timeout SECS`).
# Debug build: on 2 cores it takes a third of the time of a release build, and a
# lab of three nodes does not need the speed.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-up}
[ $# -gt 0 ] && shift

if [ "$(id -u)" != 0 ]; then
    echo "the lab needs root (network namespaces): sudo $0 $cmd $*" >&2
    exit 1
fi

if [ "$cmd" = up ]; then
    need_etcd=false
    case " $* " in *" --datastore "*) need_etcd=true ;; esac
    if ! command -v vtysh >/dev/null || [ ! -x /usr/lib/frr/bgpd ] || ! command -v ping >/dev/null \
        || { $need_etcd && { [ ! -x /usr/bin/etcd ] || ! command -v etcdctl >/dev/null; }; }; then
        echo "==> installing FRR, etcd and ping (Debian packages)"
        bash scripts/install-deps.sh
    fi
    case " $* " in *" --containers "*) bash scripts/images.sh ;; esac
    echo "==> building calico-bgpd, calico-bgpctl and the lab (debug)"
    cargo build --locked -q -p bgp --bin calico-bgpd -p ctl --bin calico-bgpctl \
        -p interop-tests --bin lab
fi
exec cargo run --locked -q -p interop-tests --bin lab -- "$cmd" "$@"
