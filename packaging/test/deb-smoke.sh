#!/usr/bin/env bash
# Smoke test of the smtplb Debian package. It inspects the .deb that `mvn package` built, installs
# it and runs smtplb the way its systemd unit would. It then relays mail through smtplb to a Postfix
# smtp-sink on loopback, reloads and stops smtplb, and removes and purges the package.
#
# Usage: packaging/test/deb-smoke.sh [PACKAGE.deb]
#   Without an argument it takes the newest packaging/target/smtplb_*_amd64.deb. Builds nothing.
# Needs root, dpkg, swaks, smtp-sink (postfix), curl and python3; lintian is used when installed.
# Exits 0 when every check passed, 1 otherwise. All traffic stays on 127.0.0.1.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
# shellcheck source=packaging/test/lib.sh
. "$script_dir/lib.sh"

unit=/lib/systemd/system/smtplb.service
installed_conf=/etc/smtplb/smtplb.conf

work=
service_pid=
sink_pid=
installed_by_us=false
private_tmp=false
remove_perf_data=false

cleanup() {
    local status=$?
    set +e
    if [ -n "$service_pid" ]; then
        stop_pid "$service_pid" 45
    fi
    if [ -n "$sink_pid" ]; then
        stop_pid "$sink_pid" 5
    fi
    if [ "$status" -ne 0 ] && [ -n "$work" ] && [ -f "$work/smtplb.log" ]; then
        echo "-- last lines of the smtplb output:"
        tail -n 40 "$work/smtplb.log"
    fi
    if [ "$installed_by_us" = true ]; then
        dpkg --purge smtplb >/dev/null 2>&1
    fi
    if [ -n "$work" ]; then
        rm -rf "$work"
    fi
    # The JVM of the service leaves this directory when /tmp is shared, and purge deletes its owner.
    if [ "$remove_perf_data" = true ]; then
        rm -rf /tmp/hsperfdata_smtplb
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

find_package() {
    if [ $# -gt 0 ]; then
        printf '%s\n' "$1"
        return
    fi
    ls -t "$repo_dir"/packaging/target/smtplb_*_amd64.deb 2>/dev/null | head -n 1
}

# Checks the control fields and the file list of the package, and that the jar carries the
# x86-64 epoll library that makes the package amd64.
inspect_package() {
    local deb=$1 path

    step "inspect $(basename "$deb")"
    dpkg-deb -I "$deb" > "$work/info.txt"
    dpkg-deb -c "$deb" > "$work/contents.txt"
    cat "$work/info.txt"

    [ "$(dpkg-deb -f "$deb" Package)" = smtplb ] || fail "Package: $(dpkg-deb -f "$deb" Package) (expected: smtplb)"
    [ "$(dpkg-deb -f "$deb" Architecture)" = amd64 ] || fail "Architecture: $(dpkg-deb -f "$deb" Architecture) (expected: amd64)"
    dpkg-deb -f "$deb" Depends | grep -q 'java17-runtime-headless' \
        || fail "Depends: $(dpkg-deb -f "$deb" Depends) (expected: a Java 17 runtime)"

    for path in ./usr/share/smtplb/smtplb.jar ./usr/bin/smtplb ./etc/smtplb/smtplb.conf ./etc/default/smtplb \
        ./lib/systemd/system/smtplb.service ./usr/lib/sysctl.d/60-smtplb.conf \
        ./usr/share/smtplb/keepalived/keepalived.conf ./usr/share/smtplb/keepalived/smtplb-notify.sh; do
        grep -q " $path\$" "$work/contents.txt" || fail "package file $path: missing"
    done
    grep -q '^-rwxr-xr-x .* \./usr/bin/smtplb$' "$work/contents.txt" \
        || fail "mode of /usr/bin/smtplb: $(grep ' ./usr/bin/smtplb$' "$work/contents.txt" | cut -c1-10) (expected: -rwxr-xr-x)"

    dpkg-deb -e "$deb" "$work/control"
    grep -qx /etc/smtplb/smtplb.conf "$work/control/conffiles" || fail "conffiles: /etc/smtplb/smtplb.conf missing"

    dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/smtplb/smtplb.jar > "$work/smtplb.jar"
    python3 - "$work/smtplb.jar" <<'EOF' || fail "smtplb.jar: META-INF/native/libnetty_transport_native_epoll_x86_64.so missing"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sys.exit(0 if "META-INF/native/libnetty_transport_native_epoll_x86_64.so" in names else 1)
EOF
    echo "files: $(grep -vc '/$' "$work/contents.txt"), jar: $(stat -c %s "$work/smtplb.jar") bytes, epoll library for x86-64 present"
}

# Prints lintian's findings, which never fail the test.
run_lintian() {
    local deb=$1
    if ! command -v lintian >/dev/null 2>&1; then
        echo "lintian: not installed, skipped"
        return
    fi
    step "lintian"
    lintian --tag-display-limit 0 "$deb" > "$work/lintian.txt" 2>&1 || true
    grep -v '^running with root privileges' "$work/lintian.txt" || true
    echo "lintian: $(grep -c '^E:' "$work/lintian.txt") errors, $(grep -c '^W:' "$work/lintian.txt") warnings (reported, not failed on)"
}

install_package() {
    local deb=$1 started

    if dpkg-query -W -f='${Status}' smtplb 2>/dev/null | grep -q 'installed\|config-files'; then
        fail "package smtplb: already present on this machine (expected: absent; remove it with dpkg --purge smtplb first)"
    fi

    step "install"
    started=$(now_ms)
    installed_by_us=true
    if ! dpkg -i "$deb" > "$work/dpkg-install.log" 2>&1; then
        echo "dpkg -i left dependencies open; completing with apt-get -f install"
        DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q >> "$work/dpkg-install.log" 2>&1 \
            || { cat "$work/dpkg-install.log"; fail "apt-get -f install: failed"; }
    fi
    dpkg-query -W -f='${Status}' smtplb | grep -q 'install ok installed' \
        || { cat "$work/dpkg-install.log"; fail "package state: $(dpkg-query -W -f='${Status}' smtplb) (expected: install ok installed)"; }
    echo "installed in $(( $(now_ms) - started )) ms"
}

check_installation() {
    local uid shell home conf_mode

    step "check the installed files and the service account"
    uid=$(id -u smtplb) || fail "user smtplb: missing after install"
    [ "$uid" -lt 1000 ] || fail "uid of smtplb: $uid (expected: a system uid below 1000)"
    shell=$(getent passwd smtplb | cut -d: -f7)
    home=$(getent passwd smtplb | cut -d: -f6)
    [ "$shell" = /usr/sbin/nologin ] || fail "login shell of smtplb: $shell (expected: /usr/sbin/nologin)"
    [ "$home" = /nonexistent ] || fail "home of smtplb: $home (expected: /nonexistent)"

    conf_mode=$(stat -c '%a %U:%G' "$installed_conf")
    [ "$conf_mode" = "640 root:smtplb" ] || fail "mode of $installed_conf: $conf_mode (expected: 640 root:smtplb)"
    dpkg-query -W -f='${Conffiles}\n' smtplb | grep -q "$installed_conf" || fail "conffile $installed_conf: not registered"

    /usr/bin/smtplb --version > "$work/version.txt" 2>&1 || { cat "$work/version.txt"; fail "smtplb --version: failed"; }
    echo "smtplb --version: $(head -n 1 "$work/version.txt")"

    if command -v systemd-analyze >/dev/null 2>&1; then
        systemd-analyze verify "$unit" > "$work/verify.txt" 2>&1 || { cat "$work/verify.txt"; fail "systemd-analyze verify $unit: failed"; }
        echo "systemd-analyze verify: no findings"
    fi
}

# Prints the value of a [Service] key of the installed unit.
unit_value() {
    sed -n "s/^$1=//p" "$unit" | head -n 1
}

# Prints the unit's LimitNOFILE, or this shell's hard limit where that is lower and cannot be raised
# (a sandbox without CAP_SYS_RESOURCE).
open_file_limit() {
    local wanted
    wanted=$(unit_value LimitNOFILE)
    if (ulimit -n "$wanted") 2>/dev/null; then
        echo "$wanted"
    else
        ulimit -Hn
    fi
}

# Succeeds where this shell may create a mount namespace with its own /tmp, as PrivateTmp does.
private_tmp_possible() {
    unshare --mount --propagation private -- sh -c 'mount -t tmpfs tmpfs /tmp' 2>/dev/null
}

# Runs a command the way the unit runs ExecStart: as the unit's user and group, with the unit's
# ambient capabilities and open-file limit, the environment of its EnvironmentFile and, where
# possible, an empty private /tmp. The other sandboxing options (ProtectSystem, ...) need systemd
# and are not reproduced.
run_as_service() {
    local user group caps cap_args=()
    user=$(unit_value User)
    group=$(unit_value Group)
    caps=$(unit_value AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ \+/,/g')
    if command -v setpriv >/dev/null 2>&1; then
        if [ -n "$caps" ]; then
            cap_args=(--inh-caps="$caps" --ambient-caps="$caps")
        fi
        set -- setpriv --reuid="$user" --regid="$group" --init-groups "${cap_args[@]}" --no-new-privs -- "$@"
    else
        set -- runuser -u "$user" -- "$@"
    fi
    if [ "$private_tmp" = true ]; then
        set -- unshare --mount --propagation private -- \
            sh -c 'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"' private-tmp "$@"
    fi
    ulimit -n "$nofile"
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        bash -c 'set -a; [ -r /etc/default/smtplb ] && . /etc/default/smtplb; set +a; exec "$@"' smtplb-env "$@"
}

# The unit's ExecStart or ExecReload command line with the test configuration in place of the
# installed one.
unit_command() {
    local line
    line=$(sed -n "s/^$1=//p" "$unit" | grep -F "$installed_conf" | head -n 1)
    [ -n "$line" ] || fail "$unit: no $1 line that names $installed_conf"
    printf '%s\n' "${line//$installed_conf/$work/smtplb.conf}"
}

write_test_config() {
    cat > "$work/smtplb.conf" <<EOF
# Written by deb-smoke.sh: one listener, one pool with the smtp-sink relay, all on loopback.
smtplb {
  listeners {
    smoke {
      bind = "127.0.0.1:$lb_port"
      pool = sink
    }
  }
  pools {
    sink {
      backends = [
        { name = sink1, address = "127.0.0.1:$sink_port" }
      ]
    }
  }
  admin.bind = "127.0.0.1:$admin_port"
}
EOF
    chown root:smtplb "$work/smtplb.conf"
    chmod 0640 "$work/smtplb.conf"
}

start_sink() {
    mkdir -p "$work/sink"
    chown nobody "$work/sink"
    smtp-sink -u nobody -h sink.smoke.test -D "$work/sink/dump" "127.0.0.1:$sink_port" 64 > "$work/sink.log" 2>&1 &
    sink_pid=$!
    wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$sink_port" || fail "smtp-sink on 127.0.0.1:$sink_port: not listening after 10 s"
}

health_ok() {
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$admin_port/health"
}

# Succeeds when smtplb reports healthy or has exited, so that a crash ends the wait at once.
healthy_or_exited() {
    health_ok || pid_gone "$service_pid"
}

start_service() {
    local command started

    command=$(unit_command ExecStart)
    nofile=$(open_file_limit)
    step "start: $command"
    if [ "$nofile" != "$(unit_value LimitNOFILE)" ]; then
        echo "note: open files limited to $nofile here (the unit sets $(unit_value LimitNOFILE); raising needs CAP_SYS_RESOURCE)"
    fi
    started=$(now_ms)
    # shellcheck disable=SC2086
    (run_as_service $command) > "$work/smtplb.log" 2>&1 &
    service_pid=$!
    wait_until 90 healthy_or_exited || true
    pid_gone "$service_pid" && fail "smtplb: exited during start-up (see its output below)"
    health_ok || fail "GET http://127.0.0.1:$admin_port/health: not 200 after 90 s"
    startup_ms=$(( $(now_ms) - started ))
    echo "healthy after $startup_ms ms (pid $service_pid, user $(ps -o user= -p "$service_pid"))"
}

# Sends one message through smtplb and waits until smtp-sink has stored it.
relay_message() {
    local label=$1 token started status=0
    token="smtplb-smoke-$label-$RANDOM$RANDOM"
    started=$(now_ms)
    swaks --server 127.0.0.1 --port "$lb_port" --helo client.smoke.test \
        --from sender@smoke.test --to recipient@smoke.test \
        --header "Subject: $token" --body "smtplb package smoke test, $label" \
        --timeout 30 > "$work/swaks-$label.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$work/swaks-$label.log"
        fail "swaks through 127.0.0.1:$lb_port ($label): exit status $status (expected: 0)"
    fi
    grep -q '^<-  220 sink.smoke.test' "$work/swaks-$label.log" \
        || { cat "$work/swaks-$label.log"; fail "greeting ($label): not the relay's 220 sink.smoke.test line"; }
    wait_until 10 grep -q "$token" "$work/sink/dump" \
        || fail "relay dump $work/sink/dump: message $token not stored within 10 s"
    echo "$label: relayed in $(( $(now_ms) - started )) ms, stored by smtp-sink"
}

show_metrics() {
    if curl -fsS --max-time 5 "http://127.0.0.1:$admin_port/metrics" > "$work/metrics.txt" 2>/dev/null; then
        echo "metrics: $(grep -c '^smtplb_' "$work/metrics.txt") smtplb_ samples, e.g.:"
        grep -E '^smtplb_(backend_up|listener_connections_total)' "$work/metrics.txt" | head -n 4 || true
    else
        echo "metrics: GET /metrics did not return 200 (not checked further)"
    fi
}

# Does what the unit's ExecReload lines do: check the configuration, then send SIGHUP.
reload_service() {
    local check
    check=$(unit_command ExecReload)
    nofile=$(open_file_limit)
    step "reload: $check, then SIGHUP"
    # shellcheck disable=SC2086
    (run_as_service $check) > "$work/check.log" 2>&1 || { cat "$work/check.log"; fail "$check: failed"; }
    kill -HUP "$service_pid"
    wait_until 10 health_ok || fail "GET /health after SIGHUP: not 200 within 10 s"
    pid_gone "$service_pid" && fail "smtplb: exited after SIGHUP"
    return 0
}

stop_service() {
    local started status timeout
    timeout=$(unit_value TimeoutStopSec)
    timeout=${timeout%s}
    step "stop: SIGTERM to pid $service_pid"
    started=$(now_ms)
    kill -TERM "$service_pid"
    wait_until "$timeout" pid_gone "$service_pid" || fail "smtplb: still running ${timeout} s after SIGTERM (TimeoutStopSec)"
    status=0
    wait "$service_pid" || status=$?
    service_pid=
    [ "$status" -eq 0 ] || fail "exit status after SIGTERM: $status (expected: 0)"
    echo "stopped in $(( $(now_ms) - started )) ms with exit status 0"
}

remove_and_purge() {
    step "remove"
    dpkg -r smtplb > "$work/dpkg-remove.log" 2>&1 || { cat "$work/dpkg-remove.log"; fail "dpkg -r smtplb: failed"; }
    [ ! -e /usr/bin/smtplb ] || fail "/usr/bin/smtplb: still present after dpkg -r"
    [ ! -e /usr/share/smtplb/smtplb.jar ] || fail "/usr/share/smtplb/smtplb.jar: still present after dpkg -r"
    [ -f "$installed_conf" ] || fail "$installed_conf: removed by dpkg -r (expected: kept until purge)"

    step "purge"
    dpkg --purge smtplb > "$work/dpkg-purge.log" 2>&1 || { cat "$work/dpkg-purge.log"; fail "dpkg --purge smtplb: failed"; }
    installed_by_us=false
private_tmp=false
remove_perf_data=false
    [ ! -e /etc/smtplb ] || fail "/etc/smtplb: still present after purge"
    [ ! -e /etc/default/smtplb ] || fail "/etc/default/smtplb: still present after purge"
    ! getent passwd smtplb >/dev/null || fail "user smtplb: still present after purge"
    ! dpkg-query -W smtplb >/dev/null 2>&1 || fail "package smtplb: still known to dpkg after purge"
    echo "removed and purged: no files, conffiles or account left"
}

main() {
    local deb
    [ "$(id -u)" -eq 0 ] || fail "user: $(id -un) (expected: root, to install packages)"
    require_commands dpkg-deb:dpkg swaks:swaks smtp-sink:postfix curl:curl python3:python3

    deb=$(find_package "$@")
    [ -n "$deb" ] && [ -f "$deb" ] || fail "package: ${deb:-packaging/target/smtplb_*_amd64.deb} not found (expected: built by mvn package)"
    # Not under /tmp, which the service gets a private copy of.
    work=$(mktemp -d /run/smtplb-deb-smoke.XXXXXX)
    chmod 0755 "$work"
    private_tmp=false
    if private_tmp_possible; then
        private_tmp=true
    else
        echo "note: no mount namespace for a private /tmp here; smtplb shares this host's /tmp"
        [ -e /tmp/hsperfdata_smtplb ] || remove_perf_data=true
    fi

    inspect_package "$deb"
    run_lintian "$deb"
    install_package "$deb"
    check_installation

    lb_port=$(free_port)
    sink_port=$(free_port)
    admin_port=$(free_port)
    write_test_config
    start_sink
    start_service
    relay_message first
    show_metrics
    reload_service
    relay_message after-reload
    stop_service
    remove_and_purge

    echo "deb-smoke: passed (start-up to healthy ${startup_ms} ms)"
}

main "$@"
