#!/usr/bin/env bash
# Checks the calico-bgp Debian package (scripts/package.sh) the way a node
# gets it, as root:
#
#   scripts/test-package.sh target/debian/calico-bgp_<version>_amd64.deb
#
# 1. The archive: files, modes, the conffile, manual pages, `--version` of
#    both programs, the example configuration passes `--check`, and both
#    units pass `systemd-analyze verify` among the package's own files.
# 2. A real install on a throw-away copy of this machine (an overlay of /
#    with its writes in memory, in a private mount namespace): the README's
#    "Install on a node" commands, run as written where they can be (no
#    systemd runs here: `systemctl enable --now` enables the unit, and the
#    daemon is then started with the unit's own ExecStartPre/ExecStart and
#    Group=, in a network namespace with a second node peering with it);
#    `calico-bgpctl show peers` as a member of the calico-bgp group, refused
#    to a non-member; what the maintainer scripts ask of systemd (recorded,
#    never a start); purge removing what the package created and keeping a
#    calico-bgp group that existed before it.
#
# Exits non-zero on the first failed check, with what was seen.
set -euo pipefail

fail() {
    echo "test-package: FAIL: $*" >&2
    exit 1
}
ok() { echo "  ok: $*"; }

# ---------------------------------------------------------------------------
# Inside the private mount namespace (the script runs itself again there).
# ---------------------------------------------------------------------------
if [ "${1:-}" = --inside ]; then
    work=$2 deb=$3 readme_block=$4 ns1=$5 ns2=$6
    root=$work/root
    pids=$work/pids
    mkdir -p "$work/upper"
    mount -t tmpfs tmpfs "$work/upper"
    mkdir -p "$work/upper/u" "$work/upper/w" "$root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper/u,workdir=$work/upper/w" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    # A /run and /tmp of its own: /run/calico here is not the host's.
    mount -t tmpfs tmpfs "$root/run"
    mount -t tmpfs tmpfs "$root/tmp"

    # A clean environment, as a root shell on a node would have.
    in_root() {
        chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
    }
    # What the maintainer scripts ask of systemd, recorded by stand-ins in
    # place of systemctl and deb-systemd-invoke (this is a copy: the real
    # ones come back after). The scripts talk to systemd at all only while
    # /run/systemd/system exists.
    record_systemd() {
        mkdir -p "$root/run/systemd/system"
        : >"$root/run/systemd-calls"
        for c in systemctl deb-systemd-invoke; do
            mv "$root/usr/bin/$c" "$root/usr/bin/$c.real"
            printf '#!/bin/sh\necho "%s $*" >>/run/systemd-calls\n' "$c" >"$root/usr/bin/$c"
            chmod 755 "$root/usr/bin/$c"
        done
    }
    stop_recording() {
        rm -rf "$root/run/systemd/system"
        for c in systemctl deb-systemd-invoke; do
            mv "$root/usr/bin/$c.real" "$root/usr/bin/$c"
        done
    }
    calls() { cat "$root/run/systemd-calls"; }

    # Runs a command of the installed package as the unit would: root with
    # the unit's Group=, in node NS's network namespace.
    as_unit() {
        local ns=$1
        shift
        nsenter --net="/run/netns/$ns" chroot "$root" /usr/bin/env -i LANG=C.UTF-8 \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            setpriv --regid=calico-bgp --clear-groups "$@"
    }
    # The same in the background, logging to LOG; the PID is the daemon's
    # (every step execs the next).
    start_unit() {
        local ns=$1 log=$2
        shift 2
        (exec nsenter --net="/run/netns/$ns" chroot "$root" /usr/bin/env -i LANG=C.UTF-8 \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            setpriv --regid=calico-bgp --clear-groups "$@") >"$log" 2>&1 &
        echo $! >>"$pids"
    }
    unit_line() { # KEY of the installed calico-bgpd.service, one line
        sed -n "s/^$1=//p" "$root/usr/lib/systemd/system/calico-bgpd.service"
    }
    # Polls CMD... until its output holds NEEDLE (30 s).
    wait_for() {
        local what=$1 needle=$2 out="" i
        shift 2
        for i in $(seq 1 300); do
            out=$("$@" 2>&1 || true)
            case $out in *"$needle"*) return 0 ;; esac
            sleep 0.1
        done
        echo "$out" >&2
        for f in "$work"/node-*.log; do
            echo "--- $f" >&2
            tail -n 30 "$f" >&2
        done
        fail "$what: no \"$needle\" after 30 s"
    }

    echo "==> install into a copy of this machine"
    mkdir -p "$root/tmp/src/target/debian"
    cp "$deb" "$root/tmp/src/target/debian/"
    in_root useradd --no-create-home --shell /bin/sh --user-group alice
    record_systemd

    # The README's commands, in order. Each line is run as written (sudo
    # dropped: this is a root shell) unless it needs what this copy lacks.
    started=0
    while IFS= read -r line; do
        cmd=${line%%  #*}
        cmd=$(echo "$cmd" | sed -e 's/^sudo //' -e 's/[[:space:]]*$//')
        [ -n "$cmd" ] || continue
        echo "\$ $cmd"
        case $cmd in
        scripts/package.sh*)
            # Built before this test ran: the package under test.
            ;;
        "apt install ./target/debian/calico-bgp_"*)
            in_root sh -c "cd /tmp/src && ${cmd/apt install/apt-get install -y -q}" >"$work/apt.log" 2>&1 ||
                { cat "$work/apt.log" >&2; fail "$cmd"; }
            [ "$(in_root dpkg-query -W -f '${Status}' calico-bgp)" = "install ok installed" ] ||
                fail "calico-bgp is not installed after: $cmd"
            ok "installed with apt"
            if calls | grep -E ' (start|enable|restart|try-restart|reload-or-restart)( |$)' >/dev/null; then
                fail "a first install must not enable or start anything; the scripts asked: $(calls)"
            fi
            ok "first install asks systemd only for: $(calls | tr '\n' ';')"
            [ -z "$(ls "$root/etc/systemd/system/multi-user.target.wants/" 2>/dev/null | grep calico)" ] ||
                fail "the unit is enabled by the install"
            in_root getent group calico-bgp >/dev/null || fail "no calico-bgp group after install"
            ok "group calico-bgp created; no unit enabled"
            stop_recording
            ;;
        "sudoedit /etc/calico-bgp/calico-bgpd.toml" | "editor /etc/calico-bgp/calico-bgpd.toml")
            # The example is used as shipped: the lab below is built to its
            # addresses (node-1 192.168.1.11, peer node-2 192.168.1.12).
            ;;
        "calico-bgpd --check /etc/calico-bgp/calico-bgpd.toml")
            out=$(in_root $cmd 2>&1) || fail "$cmd: $out"
            case $out in *"configuration is valid"*) ;; *) fail "$cmd: $out" ;; esac
            ok "$out"
            ;;
        "systemctl enable --now calico-bgpd")
            in_root $cmd >"$work/systemctl.log" 2>&1 || true
            [ -L "$root/etc/systemd/system/multi-user.target.wants/calico-bgpd.service" ] ||
                { cat "$work/systemctl.log" >&2; fail "$cmd did not enable the unit"; }
            ok "enabled (systemctl: $(tr '\n' ' ' <"$work/systemctl.log"))"
            # What systemd would start, as it would start it.
            pre=$(unit_line ExecStartPre)
            start=$(unit_line ExecStart)
            [ "$(unit_line Group)" = calico-bgp ] || fail "unit has no Group=calico-bgp"
            as_unit "$ns1" $pre >"$work/node-1.check" 2>&1 || { cat "$work/node-1.check" >&2; fail "ExecStartPre: $pre"; }
            start_unit "$ns1" "$work/node-1.log" $start
            # node-2: the same package, the example with the two nodes swapped.
            sed -e 's/"node-1"/"node-X"/; s/"node-2"/"node-1"/; s/"node-X"/"node-2"/' \
                -e 's/192\.168\.1\.11/192.168.1.XX/; s/192\.168\.1\.12/192.168.1.11/; s/192\.168\.1\.XX/192.168.1.12/' \
                -e 's#10\.244\.1\.0/26#10.244.2.0/26#' \
                -e 's#/var/run/calico/calico-bgp.ctl#/run/calico/node-2.ctl#' \
                "$root/etc/calico-bgp/calico-bgpd.toml" >"$root/tmp/node-2.toml"
            start_unit "$ns2" "$work/node-2.log" /usr/sbin/calico-bgpd --config /tmp/node-2.toml
            wait_for "control socket" calico-bgp.ctl in_root ls /run/calico
            sock=$(in_root stat -c '%G %a' /run/calico/calico-bgp.ctl)
            [ "$sock" = "calico-bgp 660" ] || fail "control socket is '$sock', want 'calico-bgp 660'"
            ok "control socket /run/calico/calico-bgp.ctl: group calico-bgp, mode 0660"
            started=1
            ;;
        'adduser "$USER" calico-bgp')
            in_root env USER=alice sh -c "$cmd" >/dev/null || fail "$cmd"
            ok "alice is in calico-bgp: $(in_root id -nG alice)"
            ;;
        "calico-bgpctl show peers")
            [ $started = 1 ] || fail "README checks the peers before starting the daemon"
            wait_for "alice's $cmd" Established \
                in_root setpriv --reuid=alice --regid=alice --init-groups $cmd
            in_root setpriv --reuid=alice --regid=alice --init-groups $cmd
            ok "alice (member of calico-bgp) sees the session to node-2 Established"
            ;;
        *)
            fail "README line not covered by this test (add it here): $line"
            ;;
        esac
    done <"$readme_block"
    [ $started = 1 ] || fail "the README never starts the daemon"

    out=$(in_root setpriv --reuid=nobody --regid=nogroup --clear-groups calico-bgpctl show peers 2>&1) &&
        fail "a non-member could use the control socket: $out"
    case $out in *"Permission denied"*) ok "a non-member is refused: $out" ;; *) fail "non-member: $out" ;; esac

    status=$(in_root calico-bgpctl show status)
    version=$(in_root calico-bgpd --version)
    [ "$(echo "$status" | head -n1)" = "$version" ] ||
        fail "show status says '$(echo "$status" | head -n1)', --version '$version'"
    ok "show status names the build: $version"
    wait_for "node-2's block in node-1's kernel" "10.244.2.0/26 via 192.168.1.12" \
        ip -n "$ns1" route show proto bird
    ok "node-2's block is routed in node-1's kernel: $(ip -n "$ns1" route show proto bird | tr '\n' ';')"

    # Stop both daemons (SIGTERM, as systemd would) before removing.
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$pids"
    while read -r pid; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done <"$pids"
    : >"$pids"

    echo "==> upgrade (the same version again) and purge"
    record_systemd
    in_root dpkg -i "/tmp/src/target/debian/$(basename "$deb")" >/dev/null
    calls | grep -q 'deb-systemd-invoke try-restart calico-bgpd.service' ||
        fail "an upgrade should restart a running daemon (try-restart); asked: $(calls)"
    if calls | grep -E ' (start|enable) ' >/dev/null; then fail "an upgrade started or enabled: $(calls)"; fi
    ok "upgrade asks systemd only for: $(calls | tr '\n' ';')"
    stop_recording

    # alice leaves the group (the README put them in it): a group
    # with members is kept on purge, with a message.
    in_root gpasswd -d alice calico-bgp >/dev/null
    in_root dpkg --purge calico-bgp >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail purge; }
    for gone in /etc/calico-bgp /usr/sbin/calico-bgpd /usr/bin/calico-bgpctl /var/lib/calico-bgp \
        /usr/lib/systemd/system/calico-bgpd.service \
        /etc/systemd/system/multi-user.target.wants/calico-bgpd.service; do
        [ ! -e "$root$gone" ] && [ ! -L "$root$gone" ] || fail "purge left $gone"
    done
    in_root getent group calico-bgp >/dev/null && fail "purge left the calico-bgp group it created"
    ok "purge removed the files, the enablement symlink, the group it created"

    in_root addgroup --system --quiet calico-bgp
    in_root dpkg -i "/tmp/src/target/debian/$(basename "$deb")" >/dev/null
    in_root dpkg --purge calico-bgp >/dev/null 2>&1
    in_root getent group calico-bgp >/dev/null || fail "purge removed a calico-bgp group it had not created"
    ok "purge keeps a calico-bgp group that existed before the install"
    exit 0
fi

# ---------------------------------------------------------------------------
# Outside: the archive, then the install in a private mount namespace.
# ---------------------------------------------------------------------------
deb=$(realpath "${1:?usage: scripts/test-package.sh PATH.deb}")
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || fail "run as root (namespaces, chroot, dpkg)"

work=$(mktemp -d /tmp/calico-bgp-pkgtest.XXXXXX)
ns1=cbgp-pkg-$$-n1 ns2=cbgp-pkg-$$-n2
cleanup() {
    # By PID only: other tests on this machine run calico-bgpd too.
    if [ -s "$work/pids" ]; then
        while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$work/pids"
    fi
    ip netns del "$ns1" 2>/dev/null || true
    ip netns del "$ns2" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "==> the archive: $deb"
x=$work/x
dpkg-deb -x "$deb" "$x"
dpkg-deb -e "$deb" "$work/control"
for f in usr/sbin/calico-bgpd usr/bin/calico-bgpctl \
    usr/lib/systemd/system/calico-bgpd.service usr/lib/systemd/system/calico-bgpd-rr.service \
    etc/calico-bgp/calico-bgpd.toml usr/share/man/man8/calico-bgpd.8.gz \
    usr/share/man/man8/calico-bgpctl.8.gz usr/share/man/man8/calico-bgpctl-show-peers.8.gz \
    usr/share/doc/calico-bgp/copyright usr/share/doc/calico-bgp/operations.md \
    usr/share/doc/calico-bgp/configuration.md; do
    [ -e "$x/$f" ] || fail "missing /$f"
done
ok "binaries, units, conffile, manual pages, docs"
grep -qx /etc/calico-bgp/calico-bgpd.toml "$work/control/conffiles" ||
    fail "/etc/calico-bgp/calico-bgpd.toml is not a conffile: $(cat "$work/control/conffiles")"
[ "$(stat -c %a "$x/etc/calico-bgp/calico-bgpd.toml")" = 640 ] || fail "conffile is not 0640"
ok "conffile /etc/calico-bgp/calico-bgpd.toml, mode 0640"
man_text=$(zcat "$x/usr/share/man/man8/calico-bgpctl-show-peers.8.gz")
case $man_text in *calicoctl*) ;; *) fail "calico-bgpctl-show-peers(8) lacks the subcommand's help" ;; esac
ok "manual pages from the programs' help"

commit=unknown
if [ -e .git ] && head=$(git rev-parse --short=12 HEAD 2>/dev/null); then commit=$head; fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
for prog in usr/sbin/calico-bgpd usr/bin/calico-bgpctl; do
    got=$("$x/$prog" --version)
    want="$(basename "$prog") $version (commit $commit)"
    [ "$got" = "$want" ] || fail "$prog --version: '$got', want '$want'"
done
ok "--version: $("$x/usr/sbin/calico-bgpd" --version), $("$x/usr/bin/calico-bgpctl" --version)"
out=$("$x/usr/sbin/calico-bgpd" --check "$x/etc/calico-bgp/calico-bgpd.toml" 2>&1) ||
    fail "the shipped configuration fails --check: $out"
ok "the shipped configuration passes --check"

# systemd-analyze verify among the package's files: the host's targets for
# the dependency graph, and the binaries ExecStart= names.
vroot=$work/verify
mkdir -p "$vroot/usr/lib/systemd/system" "$vroot/bin"
for u in /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice; do
    [ -f "$u" ] && cp "$u" "$vroot/usr/lib/systemd/system/"
done
cp -a "$x/." "$vroot/"
cp /bin/kill "$vroot/bin/"
# Documentation=man:... is checked too: man looks in the package.
out=$(MANPATH="$vroot/usr/share/man" systemd-analyze verify --root="$vroot" \
    calico-bgpd.service calico-bgpd-rr.service 2>&1) ||
    fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for u in calico-bgpd.service calico-bgpd-rr.service; do
    grep -qx Group=calico-bgp "$x/usr/lib/systemd/system/$u" || fail "$u lacks Group=calico-bgp"
    grep -q '^ExecStart=/usr/sbin/calico-bgpd ' "$x/usr/lib/systemd/system/$u" || fail "$u: ExecStart"
    grep -q '^Conflicts=.*bird' "$x/usr/lib/systemd/system/$u" &&
        fail "$u conflicts with a bird unit, which cannot see calico-node's BIRD"
done
ok "both units pass systemd-analyze verify; Group=calico-bgp; ExecStart=/usr/sbin/calico-bgpd"

# The README's commands, from its "Install on a node" section.
readme_block=$work/readme.sh
awk '/^## Install on a node/ { s = 1; next }
     s && /^## / { exit }
     s && /^```sh$/ { c = 1; next }
     c && /^```$/ { exit }
     c { print }' README.md >"$readme_block"
[ -s "$readme_block" ] || fail "README.md has no \"## Install on a node\" section with a sh block"

# Two nodes on one LAN, as the shipped example expects them.
ip netns add "$ns1"
ip netns add "$ns2"
ip link add "cbgp$$a" netns "$ns1" type veth peer name "cbgp$$b" netns "$ns2"
ip -n "$ns1" link set "cbgp$$a" name eth0
ip -n "$ns2" link set "cbgp$$b" name eth0
ip -n "$ns1" addr add 192.168.1.11/24 dev eth0
ip -n "$ns2" addr add 192.168.1.12/24 dev eth0
for ns in "$ns1" "$ns2"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
done

unshare --mount --propagation private bash "$0" --inside "$work" "$deb" "$readme_block" "$ns1" "$ns2"
echo "test-package: all checks passed"
