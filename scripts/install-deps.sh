#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: the real BGP peers the
# interop tests run (FRR, BIRD 2, GoBGP, ExaBGP), capture tools, iproute2, and
# podman, runc and mmdebstrap for the container images (scripts/images.sh).
# Idempotent: does nothing when everything is already there.
set -euo pipefail

need=()
for pair in frr:/usr/lib/frr/bgpd bird2:/usr/sbin/bird gobgpd:/usr/bin/gobgpd \
    exabgp:/usr/sbin/exabgp tcpdump:/usr/bin/tcpdump tshark:/usr/bin/tshark \
    iproute2:/usr/sbin/ip iputils-ping:/usr/bin/ping \
    systemd:/usr/bin/systemd-analyze etcd-server:/usr/bin/etcd etcd-client:/usr/bin/etcdctl \
    protobuf-compiler:/usr/bin/protoc libprotobuf-dev:/usr/include/google/protobuf/descriptor.proto \
    openssl:/usr/bin/openssl podman:/usr/bin/podman runc:/usr/sbin/runc \
    mmdebstrap:/usr/bin/mmdebstrap uidmap:/usr/bin/newuidmap; do
    pkg=${pair%%:*} bin=${pair#*:}
    [ -e "$bin" ] || need+=("$pkg")
done

# BIRD 1.6's client, unpacked (not installed: Debian's `bird` conflicts with
# `bird2`); its `birdc` prints what Calico's `birdcl` prints.
BIRD16_DIR=${BIRD16_DIR:-/opt/bird16}
bird16() {
    [ -x "$BIRD16_DIR/usr/sbin/birdc" ] && return 0
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq bird >/dev/null && dpkg-deb -x bird_*.deb "$BIRD16_DIR")
    rm -rf "$tmp"
    echo "unpacked BIRD 1.6 into $BIRD16_DIR"
}

if [ ${#need[@]} -eq 0 ]; then
    bird16
    echo "all test dependencies present"
    exit 0
fi

echo "installing: ${need[*]}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; preseed "no".
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start system daemons; the tests run their own in
# namespaces, so stop the host-wide ones (ignore failures: no systemd in CI).
for svc in frr bird gobgpd exabgp etcd; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "installed: ${need[*]}"
bird16
