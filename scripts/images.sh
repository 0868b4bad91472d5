#!/usr/bin/env bash
# Builds the container images locally from Debian packages, with no registry pull:
#
#   localhost/calico-bgp-frr:bookworm   FRR from Debian bookworm (bgpd, zebra, vtysh, iproute2)
#   localhost/calico-bgp-base:bookworm  a minimal bookworm root (iproute2) the next one starts from
#   localhost/calico-bgpd:latest        calico-bgpd and calico-bgpctl (release build) on that root
#
#   scripts/images.sh            all three (the Debian ones only when missing)
#   scripts/images.sh frr|bgpd   one of them
#   REBUILD=1 scripts/images.sh  rebuild the Debian roots too
#
# Roots are made by mmdebstrap from this machine's apt sources and imported with
# `podman import`; calico-bgpd's layer is a `podman build` that only copies files.
# Run the images with `--runtime runc` (crun refuses hybrid cgroups) and explicit
# `--ulimit nofile=... --ulimit nproc=...` (the default rlimits are refused here).
set -euo pipefail
cd "$(dirname "$0")/.."

FRR_IMAGE=localhost/calico-bgp-frr:bookworm
BASE_IMAGE=localhost/calico-bgp-base:bookworm
BGPD_IMAGE=localhost/calico-bgpd:latest
what=${1:-all}

need() {
    command -v podman >/dev/null && command -v mmdebstrap >/dev/null && command -v runc >/dev/null \
        || apt-get install -y -q podman mmdebstrap runc uidmap >/dev/null
}

# debian_root IMAGE PACKAGES CMD: a minbase bookworm root with PACKAGES, imported as IMAGE.
debian_root() {
    local image=$1 packages=$2 cmd=$3
    if [ -z "${REBUILD:-}" ] && podman image exists "$image"; then
        return
    fi
    echo "==> building $image (mmdebstrap: $packages)"
    local tmp
    tmp=$(mktemp -d)
    # Documentation, manual pages and translations are left out: nobody reads them
    # in a container, and they are a third of FRR's root.
    mmdebstrap --quiet --variant=minbase --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$tmp/root.tar"
    podman import --quiet --change "CMD $cmd" "$tmp/root.tar" "$image" >/dev/null
    rm -rf "$tmp"
}

frr() {
    debian_root "$FRR_IMAGE" frr,iproute2 '["/usr/lib/frr/bgpd", "--help"]'
}

bgpd() {
    debian_root "$BASE_IMAGE" iproute2 '["/bin/sh"]'
    echo "==> building calico-bgpd and calico-bgpctl (release)"
    cargo build --release --locked -q -p bgp --bin calico-bgpd -p ctl --bin calico-bgpctl
    local ctx
    ctx=$(mktemp -d)
    cp target/release/calico-bgpd target/release/calico-bgpctl "$ctx/"
    # The release profile keeps line tables for profiling; the image does not need them.
    strip --strip-debug "$ctx/calico-bgpd" "$ctx/calico-bgpctl"
    cat >"$ctx/Containerfile" <<EOF
FROM $BASE_IMAGE
COPY calico-bgpd calico-bgpctl /usr/bin/
# The configuration is a volume: mount the directory that holds calico-bgpd.toml.
VOLUME /etc/calico-bgp
ENTRYPOINT ["/usr/bin/calico-bgpd"]
CMD ["--config", "/etc/calico-bgp/calico-bgpd.toml"]
EOF
    echo "==> building $BGPD_IMAGE"
    podman build --quiet --runtime runc -t "$BGPD_IMAGE" "$ctx" >/dev/null
    rm -rf "$ctx"
}

need
case $what in
    all) frr; bgpd ;;
    frr) frr ;;
    bgpd) bgpd ;;
    *) echo "usage: $0 [all|frr|bgpd]" >&2; exit 2 ;;
esac
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'calico-bgp' || true
