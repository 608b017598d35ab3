#!/usr/bin/env bash
# Runs the packaging tests after `mvn package` (or `mvn verify`) has built the .deb: the package
# smoke test, then the keepalived failover test in network namespaces. A test that exceeds its time
# limit gets SIGTERM, which runs its own cleanup, and SIGKILL 30 s later.
#
# Usage: packaging/test/run-ci-packaging.sh
# Exits 1 if either test failed. A failover test that prints "skipped:" (no permission for network
# namespaces) counts as skipped, not failed.
set -uo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
readonly smoke_limit_s=300
readonly failover_limit_s=420

passed=0
failed=0
skipped=0

# Installs the Debian packages whose commands are missing, because CI machines start without them.
install_missing_tools() {
    local entry packages=()
    for entry in swaks:swaks smtp-sink:postfix keepalived:keepalived curl:curl ip:iproute2 python3:python3; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || packages+=("${entry#*:}")
    done
    [ ${#packages[@]} -eq 0 ] && return 0
    echo "installing missing packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The postfix package prompts for a mail setup type. "No configuration" leaves its system instance idle.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" > /dev/null
}

# Runs one test script under a time limit and counts its outcome.
run_test() {
    local name=$1 limit=$2 started status output
    shift 2
    echo "=== $name (limit ${limit} s)"
    output=$(mktemp)
    started=$SECONDS
    timeout --kill-after=30 "$limit" bash "$@" 2>&1 | tee "$output"
    status=${PIPESTATUS[0]}
    if [ "$status" -eq 0 ] && grep -q '^skipped:' "$output"; then
        skipped=$((skipped + 1))
        echo "=== $name: skipped after $((SECONDS - started)) s"
    elif [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "=== $name: passed in $((SECONDS - started)) s"
    else
        failed=$((failed + 1))
        [ "$status" -eq 124 ] && echo "=== $name: timed out after ${limit} s"
        echo "=== $name: FAILED with exit status $status after $((SECONDS - started)) s"
    fi
    rm -f "$output"
}

install_missing_tools || echo "apt-get install failed; the tests name what is missing"
run_test deb-smoke "$smoke_limit_s" "$script_dir/deb-smoke.sh"
run_test failover-netns "$failover_limit_s" "$script_dir/failover-netns.sh"

echo "packaging: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
