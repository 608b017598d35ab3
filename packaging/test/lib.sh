# Helpers shared by the packaging test scripts, to be sourced from bash.

# Prints a step heading, so that a failure in the log is easy to place.
step() {
    printf '== %s\n' "$*"
}

# Prints the message to standard error and exits 1. The EXIT trap of the caller cleans up.
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# Fails unless every named command exists, naming the Debian package that provides it.
# Usage: require_commands "cmd:package" ...
require_commands() {
    local entry missing=()
    for entry in "$@"; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry%%:*} (package ${entry#*:})")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        fail "missing commands: ${missing[*]} (install them with apt-get, or run packaging/test/run-ci-packaging.sh, which does)"
    fi
}

# Prints a TCP port that is free on 127.0.0.1 at the time of the call. A port of the kernel's
# ephemeral range can be taken by someone else before it is bound, so callers bind it soon after.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a command until it succeeds or the deadline passes. Returns the command's last status.
# Usage: wait_until SECONDS COMMAND [ARG...]
wait_until() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            "$@" >/dev/null 2>&1
            return
        fi
        sleep 0.2
    done
}

# Prints the current time in milliseconds since the epoch.
now_ms() {
    date +%s%3N
}

# Sends SIGTERM to one process, waits up to SECONDS for it to end, then sends SIGKILL.
# Returns 0 if it ended on SIGTERM, 1 if it needed SIGKILL.
stop_pid() {
    local pid=$1 seconds=${2:-10}
    kill -TERM "$pid" 2>/dev/null || return 0
    if wait_until "$seconds" pid_gone "$pid"; then
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

# Succeeds when no process has this PID any more (a zombie counts as gone).
pid_gone() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    case $state in
        Z*) return 0 ;;
        *) return 1 ;;
    esac
}
