#!/usr/bin/env bash
# End-to-end failover test of an smtplb pair behind a keepalived VIP, built from network
# namespaces that this script creates and deletes again:
#
#   ns client 192.0.2.30 --+
#   ns lb-a   192.0.2.11 --+-- bridge br0 in ns br       VIP 192.0.2.100 on lb-a or lb-b
#   ns lb-b   192.0.2.12 --+
#   ns relay  192.0.2.20 --+   (smtp-sink)
#
# 192.0.2.0/24 is TEST-NET-1 (RFC 5737) and exists only inside these namespaces; no host interface,
# address or route is touched. lb-a and lb-b each run smtplb (listener on VIP:2525, admin endpoint
# on 127.0.0.1:9525 of their own namespace) and keepalived with packaging/keepalived/keepalived.conf,
# whose track script requests smtplb's GET /health. While a client sends mail to the VIP in a
# bounded loop, the script kills smtplb on the master by PID. It measures how long the VIP takes to
# move and how many sessions fail meanwhile.
#
# Usage: packaging/test/failover-netns.sh
#   SMTPLB_JAR    jar to run (default: lb-core/target/smtplb.jar of this checkout)
#   MAX_SESSIONS  maximum client sessions (default 400); the loop also ends after 90 s
# Prints "skipped: <reason>" and exits 0 where network namespaces cannot be created. Exits 1 when
# the VIP does not move, or new sessions do not succeed, within 10 s of the kill.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
# shellcheck source=packaging/test/lib.sh
. "$script_dir/lib.sh"

readonly subnet_prefix=192.0.2
readonly vip=$subnet_prefix.100
readonly smtp_port=2525
readonly admin_port=9525
readonly failover_limit_s=10
readonly max_sessions=${MAX_SESSIONS:-400}
readonly load_deadline_s=90
readonly jar=${SMTPLB_JAR:-$repo_dir/lb-core/target/smtplb.jar}

# Namespace names carry this script's PID, so that parallel runs and leftovers of other tools
# never collide with them.
readonly tag=slbf$$
ns_br=$tag-br
ns_a=$tag-lb-a
ns_b=$tag-lb-b
ns_relay=$tag-relay
ns_client=$tag-client

created_namespaces=()
own_pids=()
started_pid=
work=

cleanup() {
    local status=$? pid ns
    set +e
    if [ -n "$work" ]; then
        touch "$work/stop-load"
    fi
    for pid in "${own_pids[@]}"; do
        stop_pid "$pid" 5
    done
    for ns in "${created_namespaces[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ "$status" -ne 0 ] && [ -n "$work" ]; then
        for log in "$work"/*.log; do
            [ -f "$log" ] || continue
            echo "-- last lines of $(basename "$log"):"
            tail -n 15 "$log"
        done
    fi
    if [ -n "$work" ]; then
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
    echo "skipped: $*"
    exit 0
}

# Runs a command inside a namespace.
in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

check_prerequisites() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (running as $(id -un))"
    command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"

    local probe=$tag-probe error
    if ! error=$(ip netns add "$probe" 2>&1); then
        skip "ip netns add is not permitted here: $error"
    fi
    ip netns del "$probe"

    if ! command -v keepalived >/dev/null 2>&1; then
        echo "keepalived is not installed; installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q keepalived >/dev/null \
            || fail "apt-get install keepalived: failed"
    fi
    require_commands keepalived:keepalived swaks:swaks smtp-sink:postfix curl:curl java:default-jre-headless
    [ -f "$jar" ] || fail "smtplb jar: $jar not found (expected: built by mvn package, or set SMTPLB_JAR)"
}

add_namespace() {
    ip netns add "$1"
    created_namespaces+=("$1")
    in_ns "$1" ip link set lo up
}

# Connects a namespace to the bridge with a veth pair that is created inside the bridge's
# namespace, so that neither end ever appears in the host's namespace.
attach_host() {
    local ns=$1 port=$2 address=$3
    add_namespace "$ns"
    ip -n "$ns_br" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$ns_br" link set "$port" master br0 up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
}

build_network() {
    step "network namespaces on $subnet_prefix.0/24"
    add_namespace "$ns_br"
    ip -n "$ns_br" link add br0 type bridge
    ip -n "$ns_br" link set br0 up
    attach_host "$ns_a" p-lb-a "$subnet_prefix.11"
    attach_host "$ns_b" p-lb-b "$subnet_prefix.12"
    attach_host "$ns_relay" p-relay "$subnet_prefix.20"
    attach_host "$ns_client" p-client "$subnet_prefix.30"
    # What the package's sysctl file sets on a real host: the backup binds the VIP before it owns it.
    in_ns "$ns_a" sysctl -qw net.ipv4.ip_nonlocal_bind=1
    in_ns "$ns_b" sysctl -qw net.ipv4.ip_nonlocal_bind=1
}

start_relay() {
    mkdir -p "$work/sink"
    chown nobody "$work/sink"
    ip netns exec "$ns_relay" smtp-sink -u nobody -h relay.failover.test -D "$work/sink/dump" \
        "$subnet_prefix.20:$smtp_port" 256 > "$work/relay.log" 2>&1 &
    own_pids+=($!)
}

write_smtplb_config() {
    local name=$1
    cat > "$work/$name.conf" <<EOF
smtplb {
  listeners {
    smtp {
      bind = "$vip:$smtp_port"
      pool = relays
      allow = ["$subnet_prefix.0/24"]
    }
  }
  pools {
    relays {
      backends = [
        { name = relay1, address = "$subnet_prefix.20:$smtp_port" }
      ]
    }
  }
  admin.bind = "127.0.0.1:$admin_port"
}
EOF
}

# Starts smtplb in a namespace and stores its PID in started_pid. `ip netns exec` and the launcher
# both exec their command, so the PID is the JVM's.
start_smtplb() {
    local ns=$1 name=$2
    write_smtplb_config "$name"
    SMTPLB_JAR=$jar ip netns exec "$ns" "$repo_dir/bin/smtplb" run --config "$work/$name.conf" \
        > "$work/smtplb-$name.log" 2>&1 &
    started_pid=$!
    own_pids+=("$started_pid")
}

health_ok_in() {
    in_ns "$1" curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$admin_port/health"
}

# Waits until smtplb in a namespace reports healthy, and fails at once if it exits.
wait_healthy() {
    local ns=$1 name=$2 pid=$3 seconds=$4
    wait_until "$seconds" eval "health_ok_in $ns || pid_gone $pid" || true
    pid_gone "$pid" && fail "smtplb $name: exited during start-up"
    health_ok_in "$ns" || fail "smtplb $name: GET /health not 200 within $seconds s"
}

# Writes keepalived.conf for one host from the packaged template. The notify script is copied to
# a root-owned directory, because enable_script_security rejects scripts in writable paths.
write_keepalived_config() {
    local name=$1 router_id=$2 priority=$3 self=$4 peer=$5
    mkdir -p "$work/$name"
    sed -e "s|@ROUTER_ID@|$router_id|" -e "s|@INTERFACE@|eth0|g" -e "s|@VIRTUAL_ROUTER_ID@|51|" \
        -e "s|@PRIORITY@|$priority|" -e "s|@SELF_IP@|$self|" -e "s|@PEER_IP@|$peer|" \
        -e "s|@VIP@|$vip/24|" \
        -e "s|@NOTIFY_SCRIPT@|$work/bin/smtplb-notify.sh --file $work/notify-$name.txt|" \
        "$repo_dir/packaging/keepalived/keepalived.conf" > "$work/$name/keepalived.conf"
    if grep -v '^[[:space:]]*#' "$work/$name/keepalived.conf" | grep '@[A-Z_]*@'; then
        fail "keepalived.conf for $name: placeholders left after substitution"
    fi
    # The notify script runs as the template's script_user (nobody).
    touch "$work/notify-$name.txt"
    chown nobody "$work/notify-$name.txt"
    # NOTE: no `keepalived -t` here: keepalived 2.2.7 ends its config test with SIGTERM whenever
    # script_user is set. Errors show up in the keepalived log when it starts.
}

start_keepalived() {
    local ns=$1 name=$2
    ip netns exec "$ns" keepalived --dont-fork --log-console --log-detail --vrrp --no-syslog \
        -f "$work/$name/keepalived.conf" -p "$work/$name/keepalived.pid" -r "$work/$name/vrrp.pid" \
        > "$work/keepalived-$name.log" 2>&1 &
    own_pids+=($!)
}

vip_on() {
    ip -n "$1" -4 addr show dev eth0 | grep -q " $vip/"
}

# One client session: prints "start_ms end_ms exit_status" for the session log.
client_session() {
    local started status=0
    started=$(now_ms)
    in_ns "$ns_client" swaks --server "$vip" --port "$smtp_port" --helo client.failover.test \
        --from sender@failover.test --to recipient@failover.test \
        --header "Subject: failover-$started" --timeout 5 > /dev/null 2>&1 || status=$?
    echo "$started $(now_ms) $status"
}

# Sends sessions one after another until the stop file appears, MAX_SESSIONS are sent or the
# load deadline passes.
client_load() {
    local count=0 deadline=$((SECONDS + load_deadline_s))
    while [ ! -e "$work/stop-load" ] && [ "$count" -lt "$max_sessions" ] && [ "$SECONDS" -lt "$deadline" ]; do
        client_session >> "$work/sessions.txt"
        count=$((count + 1))
    done
}

# Counts sessions with exit status 0 that started at or after the given time in milliseconds.
successes_since() {
    awk -v t="$1" '$1 >= t && $3 == 0 { n++ } END { print n + 0 }' "$work/sessions.txt"
}

at_least_successes_since() {
    [ "$(successes_since "$1")" -ge "$2" ]
}

report() {
    local kill_ms=$1 vip_moved_ms=$2
    awk -v kill="$kill_ms" -v moved="$vip_moved_ms" '
        { total++ }
        $3 != 0 { failed++ }
        $1 < kill && $3 == 0 { last_ok_before = $2 }
        $1 >= kill && $3 == 0 && first_ok_after == "" { first_ok_after = $2 }
        $1 >= kill && $3 == 0 { ok_after++ }
        END {
            printf "sessions: %d, failed: %d, succeeded after the kill: %d\n", total, failed, ok_after
            printf "VIP moved %d ms after the kill\n", moved - kill
            printf "first session completed after the kill: %d ms after it\n", first_ok_after - kill
            printf "gap between the last good session before and the first after: %d ms\n", first_ok_after - last_ok_before
        }' "$work/sessions.txt"
}

main() {
    local pid_a pid_b load_pid kill_ms vip_moved_ms ok_before late_failures
    check_prerequisites
    work=$(mktemp -d /run/smtplb-failover.XXXXXX)
    chmod 0755 "$work"
    mkdir -p "$work/bin"
    install -m 0755 "$repo_dir/packaging/keepalived/smtplb-notify.sh" "$work/bin/smtplb-notify.sh"

    build_network
    start_relay

    step "smtplb in $ns_a and $ns_b"
    start_smtplb "$ns_a" a
    pid_a=$started_pid
    start_smtplb "$ns_b" b
    pid_b=$started_pid
    wait_healthy "$ns_a" a "$pid_a" 90
    wait_healthy "$ns_b" b "$pid_b" 30

    step "keepalived pair"
    write_keepalived_config a lb-a 150 "$subnet_prefix.11" "$subnet_prefix.12"
    write_keepalived_config b lb-b 100 "$subnet_prefix.12" "$subnet_prefix.11"
    start_keepalived "$ns_a" a
    start_keepalived "$ns_b" b
    wait_until 20 vip_on "$ns_a" || fail "VIP $vip: not on lb-a within 20 s"
    vip_on "$ns_b" && fail "VIP $vip: on both lb-a and lb-b"
    echo "VIP $vip is on lb-a"

    step "client load (at most $max_sessions sessions, $load_deadline_s s)"
    : > "$work/sessions.txt"
    client_load &
    load_pid=$!
    own_pids+=("$load_pid")
    wait_until 30 at_least_successes_since 0 5 || fail "client: fewer than 5 sessions through the VIP succeeded within 30 s"

    step "kill smtplb on lb-a (pid $pid_a)"
    kill_ms=$(now_ms)
    kill -KILL "$pid_a"
    # Reaps the job here, so that bash prints no "Killed" notice in the middle of the output.
    { wait "$pid_a"; } 2>/dev/null || true
    wait_until "$failover_limit_s" vip_on "$ns_b" || fail "VIP $vip: not on lb-b within $failover_limit_s s of the kill"
    vip_moved_ms=$(now_ms)
    wait_until "$failover_limit_s" at_least_successes_since "$kill_ms" 1 \
        || fail "client: no session succeeded within $failover_limit_s s of the kill"
    wait_until 30 at_least_successes_since "$kill_ms" 10 || fail "client: fewer than 10 sessions succeeded after the failover"

    touch "$work/stop-load"
    wait "$load_pid" || true

    step "result"
    report "$kill_ms" "$vip_moved_ms"
    vip_on "$ns_a" && fail "VIP $vip: still on lb-a after the failover"
    # A session that started after the first good one on lb-b must not fail: the VIP stays put.
    late_failures=$(awk -v kill="$kill_ms" '$1 >= kill && $3 == 0 && !t { t = $2 } t && $1 > t && $3 != 0 { n++ } END { print n + 0 }' "$work/sessions.txt")
    [ "$late_failures" -eq 0 ] || fail "sessions failed after the failover had completed: $late_failures (expected: 0)"
    ok_before=$(awk -v kill="$kill_ms" '$1 < kill && $3 == 0 { n++ } END { print n + 0 }' "$work/sessions.txt")
    echo "succeeded before the kill: $ok_before"
    echo "keepalived transitions:"
    cat "$work/notify-a.txt" "$work/notify-b.txt" | sort | sed 's/^/  /'
    grep -q 'entered FAULT' "$work/notify-a.txt" || fail "lb-a notify log: no FAULT transition"
    grep -q 'entered MASTER' "$work/notify-b.txt" || fail "lb-b notify log: no MASTER transition"
    echo "failover-netns: passed"
}

main "$@"
