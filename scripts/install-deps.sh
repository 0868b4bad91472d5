#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine (12 or
# later, with git and sudo): the Rust toolchain rust-toolchain.toml pins
# (rustup, with rustfmt and clippy), the C toolchain and protoc the crates'
# build scripts run, what packaging and its test use, and the real BGP peers
# the interop tests run (FRR, BIRD 2, GoBGP, ExaBGP), capture tools, iproute2, and
# podman, runc and mmdebstrap for the container images (scripts/images.sh).
# Idempotent: does nothing when everything is already there.
#
# A toolchain installed here lands in ~/.cargo/bin: `. ~/.cargo/env` (the
# test command does) or log in again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
    if [ $apt_updated = 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- C toolchain and build tools ----------------------------------------------
# gcc for ring (rustls) and g++ for libFuzzer (cc crate), protoc and the
# well-known .proto files for etcd-client's generated gRPC code, git for
# ctl/build.rs (the commit in --version), curl for rustup's installer. No
# crate links a system library through pkg-config.
build=()
for pair in build-essential:/usr/bin/g++ protobuf-compiler:/usr/bin/protoc \
    libprotobuf-dev:/usr/include/google/protobuf/descriptor.proto git:/usr/bin/git \
    curl:/usr/bin/curl ca-certificates:/etc/ssl/certs/ca-certificates.crt; do
    pkg=${pair%%:*} bin=${pair#*:}
    [ -e "$bin" ] || build+=("$pkg")
done
if [ ${#build[@]} -gt 0 ]; then
    echo "installing build tools: ${build[*]}"
    apt_install "${build[@]}"
fi

# --- Rust ---------------------------------------------------------------------
# The toolchain rust-toolchain.toml pins; rustup picks it in this tree.
RUST_CHANNEL=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
# "1.95.0" -> 1095000, to compare versions.
version_number() { echo "$1" | awk -F. '{ printf "%d", $1 * 1000000 + $2 * 1000 + $3 }'; }
rustc_new_enough() {
    local v
    v=$(rustc --version 2>/dev/null | awk '{ print $2 }' | cut -d- -f1) || return 1
    [ -n "$v" ] && [ "$(version_number "$v")" -ge "$(version_number "$RUST_CHANNEL")" ]
}
install_pinned_toolchain() {
    # Offline when it is installed already: `rustup toolchain install`
    # would ask the network about updates.
    if rustup run "$RUST_CHANNEL" rustfmt --version >/dev/null 2>&1 &&
        rustup run "$RUST_CHANNEL" cargo clippy --version >/dev/null 2>&1; then
        return 0
    fi
    rustup toolchain install "$RUST_CHANNEL" --profile minimal --component rustfmt,clippy
}
if command -v rustup >/dev/null; then
    install_pinned_toolchain
elif command -v cargo >/dev/null && rustc_new_enough; then
    echo "using $(cargo --version) from $(command -v cargo) (no rustup: rust-toolchain.toml is not applied)"
else
    echo "cargo is missing or older than $RUST_CHANNEL: installing rustup and Rust $RUST_CHANNEL"
    if curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --quiet --profile minimal --default-toolchain none; then
        . "$HOME/.cargo/env"
        install_pinned_toolchain
    else
        # No way to rustup's servers: Debian's own toolchain, when it is at
        # least the pinned version (bookworm-security carries cargo-web and
        # rustc-web 1.96). It has no rustfmt or clippy: it builds and
        # packages, but the test command's lint steps need rustup.
        candidate=$(apt-cache policy cargo-web 2>/dev/null | awk '/Candidate:/ { print $2 }' | cut -d+ -f1)
        if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] &&
            [ "$(version_number "$candidate")" -ge "$(version_number "$RUST_CHANNEL")" ]; then
            echo "rustup could not be installed; using Debian's cargo-web $candidate (no rustfmt, no clippy)"
            apt_install cargo-web rustc-web
        else
            echo "error: cannot install Rust $RUST_CHANNEL: rustup's installer failed and Debian has no cargo-web >= $RUST_CHANNEL" >&2
            exit 1
        fi
    fi
fi

# --- test dependencies --------------------------------------------------------
need=()
for pair in frr:/usr/lib/frr/bgpd bird2:/usr/sbin/bird gobgpd:/usr/bin/gobgpd \
    exabgp:/usr/sbin/exabgp tcpdump:/usr/bin/tcpdump tshark:/usr/bin/tshark \
    iproute2:/usr/sbin/ip iputils-ping:/usr/bin/ping \
    systemd:/usr/bin/systemd-analyze etcd-server:/usr/bin/etcd etcd-client:/usr/bin/etcdctl \
    openssl:/usr/bin/openssl adduser:/usr/sbin/addgroup man-db:/usr/bin/man \
    util-linux:/usr/bin/setpriv podman:/usr/bin/podman runc:/usr/sbin/runc \
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
    (cd "$tmp" && apt-get download -qq bird >/dev/null && $SUDO dpkg-deb -x bird_*.deb "$BIRD16_DIR")
    rm -rf "$tmp"
    echo "unpacked BIRD 1.6 into $BIRD16_DIR"
}

if [ ${#need[@]} -eq 0 ]; then
    bird16
    echo "all test dependencies present"
    exit 0
fi

echo "installing: ${need[*]}"
# tshark asks whether non-root users may capture; preseed "no".
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
apt_install "${need[@]}"
# The Debian packages start system daemons; the tests run their own in
# namespaces, so stop the host-wide ones (ignore failures: no systemd in CI).
for svc in frr bird gobgpd exabgp etcd; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
echo "installed: ${need[*]}"
bird16
