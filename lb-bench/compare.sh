#!/usr/bin/env bash
# Compares smtplb with HAProxy and nginx (stream module) as layer-4 SMTP balancers on one machine.
#
# Every configuration forwards to the same three SmtpSink relays on 127.0.0.1; "direct" sends the same
# sessions to the sinks without a balancer and is the baseline. SmtpLoad alternates the configurations in
# short samples (round r starts with configuration r), so drift on the machine hits all of them alike, and
# reports medians. Balancer CPU time comes from /proc/PID/stat, memory and descriptors per idle connection
# from /proc/PID/status and /proc/PID/fd while SmtpLoad keeps connections open.
#
# Usage: lb-bench/compare.sh [--quick] [--smtplb-variants] [--out FILE] [--skip-build] [--keep-work-dir]
#   --quick            fewer and shorter samples and fewer held connections (under 3 minutes on 2 cores);
#                      writes lb-bench/target/benchmarks-quick.md unless --out is given
#   --smtplb-variants  also measure smtplb with forwarding = copy, and with copy and greeting-failover off,
#                      to show what splicing and greeting inspection cost (adds about half the run time)
#   --out FILE         Markdown report to write (default docs/benchmarks.md, SVG plots beside it)
#   --skip-build       use the jars already in lb-core/target and lb-bench/target
#   --keep-work-dir    keep the generated configurations, logs and raw results
#
# Needs: Java 17, Maven (unless --skip-build), python3, haproxy, nginx with libnginx-mod-stream.
# Environment: MVN_FLAGS (default "-B -q -o"), SMTPLB_JAVA_OPTS and LOAD_JAVA_OPTS (JVM options of the
# balancer and of the load tool; defaults: the options bin/smtplb starts the balancer with, and "-Xmx1g").

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_JAR="$ROOT/lb-bench/target/benchmarks.jar"
SMTPLB_JAR="$ROOT/lb-core/target/smtplb.jar"
NGINX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
MVN_FLAGS=${MVN_FLAGS:--B -q -o}
# Measure the balancer as the launcher runs it: the same heap, GC and direct-memory options.
SMTPLB_JAVA_OPTS=${SMTPLB_JAVA_OPTS:-$(sed -n 's/^default_opts="\(.*\)"$/\1/p' "$ROOT/bin/smtplb")}
LOAD_JAVA_OPTS=${LOAD_JAVA_OPTS:--Xmx1g}

QUICK=0
SMTPLB_VARIANTS=0
SKIP_BUILD=0
KEEP_WORK_DIR=0
OUT=""

declare -a STARTED_PIDS=()
declare -a BALANCERS=()
declare -A BALANCER_PORT=()
declare -A BALANCER_PIDS=()
declare -A NOT_MEASURED=()
WORK=""

log() {
    printf '%s compare: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    printf 'compare: %s\n' "$*" >&2
    exit 1
}

parse_args() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --quick) QUICK=1 ;;
            --smtplb-variants) SMTPLB_VARIANTS=1 ;;
            --skip-build) SKIP_BUILD=1 ;;
            --keep-work-dir) KEEP_WORK_DIR=1 ;;
            --out)
                [[ $# -ge 2 ]] || die "--out: missing value (expected: a Markdown file name)"
                OUT=$2
                shift
                ;;
            -h|--help)
                sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
            *) die "$1: unknown option (expected: --quick, --smtplb-variants, --out FILE, --skip-build, --keep-work-dir)" ;;
        esac
        shift
    done
    if [[ -z "$OUT" ]]; then
        if [[ $QUICK -eq 1 ]]; then OUT="$ROOT/lb-bench/target/benchmarks-quick.md"; else OUT="$ROOT/docs/benchmarks.md"; fi
    fi
}

# Sets the workload sizes. On 2 cores a full run takes about 6 minutes (8 with --smtplb-variants), a quick
# one under 3.
set_plan() {
    if [[ $QUICK -eq 1 ]]; then
        ROUNDS=2; SAMPLE=2s; WARMUP=1s; HOLD=2000; HOLD_TIME=2s; MODE_NAME=quick
    else
        # 10 s of warm-up: after 3 s, smtplb's C2 compiler still used 1.7 s of CPU during the next 15,000
        # sessions. A balancer runs for months, so the samples should measure its compiled code.
        ROUNDS=5; SAMPLE=4s; WARMUP=10s; HOLD=9000; HOLD_TIME=4s; MODE_NAME=full
    fi
    SESSIONS_CONCURRENCY=32
    SESSIONS_MESSAGE=2KiB
    BULK_CONCURRENCY=6
    BULK_MESSAGE=1MiB
    LATENCY_RATE=1000
    LOAD_THREADS=2
}

check_tools() {
    local missing=()
    command -v java >/dev/null || missing+=("java (apt-get install openjdk-17-jdk-headless)")
    command -v python3 >/dev/null || missing+=("python3 (apt-get install python3)")
    command -v haproxy >/dev/null || missing+=("haproxy (apt-get install haproxy)")
    command -v nginx >/dev/null || missing+=("nginx (apt-get install nginx)")
    [[ -f $NGINX_STREAM_MODULE ]] || missing+=("$NGINX_STREAM_MODULE (apt-get install libnginx-mod-stream)")
    if [[ $SKIP_BUILD -eq 0 ]]; then
        command -v mvn >/dev/null || missing+=("mvn (apt-get install maven)")
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        die "missing tools: ${missing[*]}"
    fi
}

build() {
    if [[ $SKIP_BUILD -eq 1 ]]; then
        return
    fi
    log "building lb-core and lb-bench"
    # shellcheck disable=SC2086 # MVN_FLAGS holds several flags on purpose.
    (cd "$ROOT" && mvn $MVN_FLAGS -pl lb-core,lb-bench -am package -DskipTests)
}

# Raises the descriptor limit to the hard limit (at most 65536): held connections need two descriptors
# each in a balancer and one in the load tool.
# Copies the jars into the work directory, so that a rebuild during the run does not change them under the
# running processes.
snapshot_jars() {
    cp "$BENCH_JAR" "$WORK/benchmarks.jar"
    BENCH_JAR="$WORK/benchmarks.jar"
    if [[ -f $SMTPLB_JAR ]]; then
        cp "$SMTPLB_JAR" "$WORK/smtplb.jar"
        SMTPLB_JAR="$WORK/smtplb.jar"
    fi
}

raise_fd_limit() {
    local hard
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited || $hard -gt 65536 ]]; then hard=65536; fi
    ulimit -n "$hard"
    FD_LIMIT=$(ulimit -n)
    local needed=$((2 * HOLD + 1000))
    if [[ $FD_LIMIT -lt $needed ]]; then
        local fitting=$(((FD_LIMIT - 1000) / 2))
        log "descriptor limit $FD_LIMIT is below $needed, which $HOLD held connections need; holding $fitting"
        HOLD=$fitting
    fi
}

cleanup() {
    local status=$?
    stop_all
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ $KEEP_WORK_DIR -eq 1 || $status -ne 0 ]]; then
            log "work directory kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}

# Stops every process this script started, newest first: SIGTERM, then SIGKILL after 15 seconds.
stop_all() {
    local i pid deadline
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${STARTED_PIDS[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        deadline=$((SECONDS + 15))
        while kill -0 "$pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    STARTED_PIDS=()
}

# Starts a command in the background with its output in $WORK/NAME.log; sets LAST_PID.
start_background() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
}

# Removes an exited process from the list that stop_all signals, so that a reused PID is never signalled.
forget_pid() {
    local kept=() pid
    for pid in "${STARTED_PIDS[@]}"; do
        [[ $pid == "$1" ]] || kept+=("$pid")
    done
    STARTED_PIDS=("${kept[@]}")
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_file() {
    local file=$1 seconds=$2 pid=${3:-}
    local deadline=$((SECONDS + seconds))
    while [[ ! -s $file ]]; do
        if [[ $SECONDS -ge $deadline ]]; then
            return 1
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
}

load_tool() {
    # shellcheck disable=SC2086 # LOAD_JAVA_OPTS holds several options on purpose.
    java $LOAD_JAVA_OPTS -cp "$BENCH_JAR" io.smtplb.bench.SmtpLoad "$@"
}

start_sinks() {
    SINK_PORTS=()
    local i
    for i in 1 2 3; do
        local sink_command=(java -Xmx256m -cp "$BENCH_JAR" io.smtplb.bench.SmtpSink --port 0
            --port-file "$WORK/sink$i.port")
        record_command "${sink_command[@]}"
        start_background "sink$i" "${sink_command[@]}"
        wait_for_file "$WORK/sink$i.port" 30 "$LAST_PID" || die "sink $i did not start; see $WORK/sink$i.log"
        SINK_PORTS+=("$(cat "$WORK/sink$i.port")")
    done
    log "sinks listen on ports ${SINK_PORTS[*]}"
}

write_haproxy_config() {
    local port=$1 maxconn=$(((FD_LIMIT - 200) / 2))
    {
        echo "global"
        echo "    maxconn $maxconn"
        echo "defaults"
        echo "    mode tcp"
        echo "    timeout connect 5s"
        echo "    timeout client 15m"
        echo "    timeout server 15m"
        echo "frontend bench"
        echo "    bind 127.0.0.1:$port"
        echo "    default_backend sinks"
        echo "backend sinks"
        echo "    balance leastconn"
        local i=1 sink
        for sink in "${SINK_PORTS[@]}"; do
            echo "    server s$i 127.0.0.1:$sink check inter 2s"
            i=$((i + 1))
        done
    } >"$WORK/haproxy.cfg"
}

write_nginx_config() {
    local port=$1
    {
        echo "load_module $NGINX_STREAM_MODULE;"
        echo "daemon off;"
        echo "worker_processes auto;"
        echo "worker_rlimit_nofile $FD_LIMIT;"
        echo "pid $WORK/nginx.pid;"
        echo "error_log $WORK/nginx-error.log warn;"
        echo "events { worker_connections $(((FD_LIMIT - 200) / 2)); }"
        echo "stream {"
        echo "    upstream sinks {"
        echo "        least_conn;"
        local sink
        for sink in "${SINK_PORTS[@]}"; do
            echo "        server 127.0.0.1:$sink;"
        done
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:$port backlog=4096;"
        echo "        proxy_pass sinks;"
        echo "        proxy_connect_timeout 5s;"
        echo "        proxy_timeout 15m;"
        echo "    }"
        echo "}"
    } >"$WORK/nginx.conf"
}

# Writes $WORK/NAME.conf for an smtplb listening on PORT, with the given forwarding mode and greeting-failover.
write_smtplb_config() {
    local name=$1 port=$2 forwarding=$3 failover=$4
    {
        echo "smtplb {"
        echo "  forwarding = $forwarding"
        echo "  listeners { bench { bind = \"127.0.0.1:$port\", pool = sinks } }"
        echo "  pools {"
        echo "    sinks {"
        echo "      balance = least-connections"
        echo "      backends = ["
        local i=1 sink
        for sink in "${SINK_PORTS[@]}"; do
            echo "        { name = s$i, address = \"127.0.0.1:$sink\" }"
            i=$((i + 1))
        done
        echo "      ]"
        echo "      greeting-failover = $failover"
        echo "      health-check { type = tcp }"
        echo "    }"
        echo "  }"
        echo "  admin { bind = \"\" }"
        echo "  access-log { enabled = false }"
        echo "  timeouts { shutdown-drain = 1s }"
        echo "}"
    } >"$WORK/$name.conf"
}

start_haproxy() {
    local port
    port=$(free_port)
    write_haproxy_config "$port"
    record_command haproxy -db -f "$WORK/haproxy.cfg"
    start_background haproxy haproxy -db -f "$WORK/haproxy.cfg"
    register_balancer haproxy "$port" "$LAST_PID"
}

start_nginx() {
    local port master workers
    port=$(free_port)
    write_nginx_config "$port"
    record_command nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
    start_background nginx nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"
    master=$LAST_PID
    if ! wait_for_file "$WORK/nginx.pid" 20 "$master"; then
        not_measured nginx "did not start: $(tail -n 3 "$WORK/nginx.log" "$WORK/nginx-error.log" 2>/dev/null | tr '\n' ' ')"
        return
    fi
    workers=$(wait_for_children "$master" 20)
    register_balancer nginx "$port" "$master+${workers// /+}"
}

start_smtplb() {
    local name=$1 forwarding=$2 failover=$3 port
    if [[ ! -f $SMTPLB_JAR ]] || ! java -jar "$SMTPLB_JAR" --version >/dev/null 2>&1; then
        not_measured "$name" "lb-core/target/smtplb.jar does not run (java -jar ... --version failed)"
        return
    fi
    port=$(free_port)
    write_smtplb_config "$name" "$port" "$forwarding" "$failover"
    # shellcheck disable=SC2086 # SMTPLB_JAVA_OPTS holds several options on purpose.
    record_command java $SMTPLB_JAVA_OPTS -jar "$SMTPLB_JAR" run --config "$WORK/$name.conf"
    # shellcheck disable=SC2086
    start_background "$name" java $SMTPLB_JAVA_OPTS -jar "$SMTPLB_JAR" run --config "$WORK/$name.conf"
    register_balancer "$name" "$port" "$LAST_PID"
}

# Prints the PIDs of a process's children once it has any, space-separated.
wait_for_children() {
    local parent=$1 seconds=$2 children=""
    local deadline=$((SECONDS + seconds))
    while [[ -z $children && $SECONDS -lt $deadline ]]; do
        children=$(ps -o pid= --ppid "$parent" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
        [[ -n $children ]] || sleep 0.1
    done
    echo "$children"
}

register_balancer() {
    BALANCERS+=("$1")
    BALANCER_PORT[$1]=$2
    BALANCER_PIDS[$1]=$3
}

not_measured() {
    NOT_MEASURED[$1]=$2
    log "$1 not measured: $2"
}

# Waits until 20 sessions through a balancer all succeed, which needs its listener up and its relays
# marked healthy.
wait_until_serving() {
    local name=$1 port=${BALANCER_PORT[$1]} deadline=$((SECONDS + 60)) failures
    while [[ $SECONDS -lt $deadline ]]; do
        if ! all_alive "${BALANCER_PIDS[$name]}"; then
            break
        fi
        rm -f "$WORK/ready-$name.jsonl"
        load_tool --target "$name=127.0.0.1:$port" --sessions 20 --concurrency 2 --timeout 5s \
            --json-file "$WORK/ready-$name.jsonl" >/dev/null 2>&1 || true
        failures=$(json_field "$WORK/ready-$name.jsonl" sample failuresTotal)
        if [[ $failures == 0 ]]; then
            log "$name serves on 127.0.0.1:$port (PIDs ${BALANCER_PIDS[$name]})"
            return 0
        fi
        sleep 0.5
    done
    return 1
}

all_alive() {
    local pid
    for pid in ${1//+/ }; do
        kill -0 "$pid" 2>/dev/null || return 1
    done
}

# Prints one field of the last JSON line of a given type in a file, or nothing.
json_field() {
    python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
path, kind, field = sys.argv[1:]
value = None
try:
    with open(path) as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("type") == kind:
                value = record.get(field)
except FileNotFoundError:
    pass
print("" if value is None else value)
EOF
}

start_balancers() {
    start_haproxy
    start_nginx
    start_smtplb smtplb splice on
    if [[ $SMTPLB_VARIANTS -eq 1 ]]; then
        start_smtplb smtplb-copy copy on
        start_smtplb smtplb-copy-nofailover copy off
    fi
    local name serving=()
    for name in "${BALANCERS[@]}"; do
        if wait_until_serving "$name"; then
            serving+=("$name")
        else
            not_measured "$name" "no successful sessions within 60 s; last lines of its log: $(tail -n 3 "$WORK/$name.log" | tr '\n' ' ')"
        fi
    done
    BALANCERS=("${serving[@]}")
}

sum_rss_kib() {
    local pid total=0 rss
    for pid in ${1//+/ }; do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
        total=$((total + rss))
    done
    echo "$total"
}

sum_fds() {
    local pid total=0 count
    for pid in ${1//+/ }; do
        count=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
        total=$((total + count))
    done
    echo "$total"
}

# Prints the live Java heap of an smtplb process in KiB, or nothing for the other balancers. It comes from a
# class histogram: jcmd runs a full collection first, so only reachable objects count. RSS of a JVM also
# counts heap pages that earlier garbage touched, and moves with the heap's high-water mark from run to run.
live_heap_kib() {
    local name=$1 pid=$2
    [[ $name == smtplb* ]] || return 0
    jcmd "$pid" GC.class_histogram 2>/dev/null | awk '$1 == "Total" { printf "%d", $3 / 1024 }'
}

# Keeps idle connections open through each balancer and records its memory and descriptors before and
# while they are open.
measure_idle() {
    local name pids port rss_base fd_base rss_held fd_held heap_base heap_held hold_pid held dropped
    printf 'balancer\trequested\theld\trss_base_kib\trss_held_kib\tfds_base\tfds_held\tdropped\theap_base_kib\theap_held_kib\n' \
        >"$WORK/idle.tsv"
    for name in "${BALANCERS[@]}"; do
        pids=${BALANCER_PIDS[$name]}
        port=${BALANCER_PORT[$name]}
        log "idle: warming $name, then holding $HOLD connections"
        record_command load_tool --target "$name=127.0.0.1:$port" --sessions 2000 --concurrency 16
        load_tool --target "$name=127.0.0.1:$port" --sessions 2000 --concurrency 16 >/dev/null
        sleep 1
        rss_base=$(sum_rss_kib "$pids")
        fd_base=$(sum_fds "$pids")
        heap_base=$(live_heap_kib "$name" "$pids")
        rm -f "$WORK/held-$name"
        local hold_args=(--target "$name=127.0.0.1:$port" --mode hold --hold "$HOLD" --concurrency 200
            --timeout 20s --hold-time "$HOLD_TIME" --ready-file "$WORK/held-$name" --workload idle
            --json-file "$WORK/results.jsonl")
        record_command load_tool "${hold_args[@]}"
        start_background "hold-$name" load_tool "${hold_args[@]}"
        hold_pid=$LAST_PID
        if ! wait_for_file "$WORK/held-$name" 300 "$hold_pid"; then
            not_measured "$name-idle" "holding connections failed; see $WORK/hold-$name.log"
            continue
        fi
        # Let the balancer finish its work on the last greetings before reading its state.
        sleep 1
        rss_held=$(sum_rss_kib "$pids")
        fd_held=$(sum_fds "$pids")
        heap_held=$(live_heap_kib "$name" "$pids")
        wait "$hold_pid" || true
        forget_pid "$hold_pid"
        held=$(cat "$WORK/held-$name")
        dropped=$(json_field "$WORK/results.jsonl" hold-end droppedWhileHeld)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$HOLD" "$held" "$rss_base" "$rss_held" \
            "$fd_base" "$fd_held" "${dropped:-unknown}" "$heap_base" "$heap_held" >>"$WORK/idle.tsv"
        log "idle $name: held $held, RSS $rss_base -> $rss_held KiB, descriptors $fd_base -> $fd_held"
    done
}

run_workload() {
    local workload=$1
    shift
    local targets=(--target "direct=$(direct_addresses)")
    local name
    for name in "${BALANCERS[@]}"; do
        targets+=(--target "$name=127.0.0.1:${BALANCER_PORT[$name]}@${BALANCER_PIDS[$name]}")
    done
    local args=("${targets[@]}" --baseline direct --workload "$workload" --rounds "$ROUNDS" --duration "$SAMPLE"
        --warmup "$WARMUP" --threads "$LOAD_THREADS" --json-file "$WORK/results.jsonl" "$@")
    log "workload $workload: ${#BALANCERS[@]} balancers and direct, $ROUNDS rounds of $SAMPLE"
    record_command load_tool "${args[@]}"
    load_tool "${args[@]}" | tee "$WORK/$workload.txt" | grep -v '^{' >&2
}

direct_addresses() {
    local list="" sink
    for sink in "${SINK_PORTS[@]}"; do
        list+="${list:+,}127.0.0.1:$sink"
    done
    echo "$list"
}

run_workloads() {
    run_workload sessions --mode closed --concurrency "$SESSIONS_CONCURRENCY" --message-size "$SESSIONS_MESSAGE"
    run_workload bulk --mode closed --concurrency "$BULK_CONCURRENCY" --message-size "$BULK_MESSAGE"
    run_workload latency --mode open --rate "$LATENCY_RATE" --message-size "$SESSIONS_MESSAGE"
}

# Appends a command to the list in the report, with the work directory and repository replaced by
# placeholders so that the report carries no path of this machine.
record_command() {
    local text="" arg
    for arg in "$@"; do
        if [[ $arg == load_tool ]]; then
            arg="java $LOAD_JAVA_OPTS -cp lb-bench/target/benchmarks.jar io.smtplb.bench.SmtpLoad"
        fi
        text+="${text:+ }$arg"
    done
    text=${text//$WORK\/benchmarks.jar/lb-bench/target/benchmarks.jar}
    text=${text//$WORK\/smtplb.jar/lb-core/target/smtplb.jar}
    text=${text//$WORK/\$WORK}
    echo "${text//$ROOT\//}" >>"$WORK/commands.txt"
}

# Prints the commit the jars were built from, marked when a module had uncommitted changes.
commit_description() {
    local commit
    commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "none"; return; }
    if [[ -n $(git -C "$ROOT" status --porcelain -- lb-core lb-health lb-bench 2>/dev/null) ]]; then
        commit+=" with uncommitted changes"
    fi
    echo "$commit"
}

collect_environment() {
    {
        echo "mode=$MODE_NAME"
        echo "smtplb_variants=$SMTPLB_VARIANTS"
        echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
        echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
        echo "cores=$(nproc)"
        echo "kernel=$(uname -r)"
        echo "java=$(java -version 2>&1 | head -n 1)"
        echo "haproxy=$(haproxy -v | head -n 1)"
        echo "nginx=$(nginx -v 2>&1)"
        echo "smtplb=$(java -jar "$SMTPLB_JAR" --version 2>/dev/null || echo 'not available')"
        echo "commit=$(commit_description)"
        echo "fd_limit=$FD_LIMIT"
        echo "hold=$HOLD"
        echo "rounds=$ROUNDS"
        echo "sample=$SAMPLE"
        echo "warmup=$WARMUP"
        echo "load_threads=$LOAD_THREADS"
        echo "sessions_concurrency=$SESSIONS_CONCURRENCY"
        echo "sessions_message=$SESSIONS_MESSAGE"
        echo "bulk_concurrency=$BULK_CONCURRENCY"
        echo "bulk_message=$BULK_MESSAGE"
        echo "latency_rate=$LATENCY_RATE"
        echo "smtplb_java_opts=$SMTPLB_JAVA_OPTS"
        echo "load_java_opts=$LOAD_JAVA_OPTS"
        local name
        for name in "${!NOT_MEASURED[@]}"; do
            echo "not_measured.$name=${NOT_MEASURED[$name]//$WORK/\$WORK}"
        done
    } >"$WORK/environment.txt"
    local file
    for file in haproxy.cfg nginx.conf smtplb*.conf; do
        if [[ -f $WORK/$file ]]; then
            sed "s#$WORK#\$WORK#g" "$WORK/$file" >"$WORK/report-$file"
        fi
    done
}

main() {
    parse_args "$@"
    set_plan
    check_tools
    build
    [[ -f $BENCH_JAR ]] || die "$BENCH_JAR is missing (build lb-bench first or drop --skip-build)"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtplb-compare.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    snapshot_jars
    raise_fd_limit
    log "$MODE_NAME run; work directory $WORK; descriptor limit $FD_LIMIT"

    start_sinks
    start_balancers
    measure_idle
    run_workloads
    collect_environment
    stop_all

    python3 "$ROOT/lb-bench/compare-report.py" --work "$WORK" --out "$OUT"
    log "report written to $OUT"
}

main "$@"
