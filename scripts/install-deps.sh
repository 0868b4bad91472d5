#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: the real BGP peers the
# interop tests run (FRR, BIRD 2, GoBGP, ExaBGP), capture tools, iproute2.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

need=()
for pair in frr:/usr/lib/frr/bgpd bird2:/usr/sbin/bird gobgpd:/usr/bin/gobgpd \
    exabgp:/usr/sbin/exabgp tcpdump:/usr/bin/tcpdump tshark:/usr/bin/tshark \
    iproute2:/usr/sbin/ip iputils-ping:/usr/bin/ping \
    systemd:/usr/bin/systemd-analyze; do
    pkg=${pair%%:*} bin=${pair#*:}
    [ -x "$bin" ] || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
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
for svc in frr bird gobgpd exabgp; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "installed: ${need[*]}"
