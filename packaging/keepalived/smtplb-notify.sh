#!/bin/sh
# keepalived notify script for an smtplb pair: logs each VRRP state change with logger, as
# tag smtplb-keepalived in facility daemon, and optionally appends it to a file.
#
# Usage: smtplb-notify.sh [--file PATH] TYPE NAME STATE PRIORITY
# keepalived appends the last four arguments: TYPE is INSTANCE or GROUP, STATE is MASTER, BACKUP,
# FAULT or STOP, and PRIORITY is the instance's priority at the time of the change.
set -u

log_file=
if [ "${1:-}" = "--file" ] && [ $# -ge 2 ]; then
    log_file=$2
    shift 2
fi

kind=${1:-unknown}
name=${2:-unknown}
state=${3:-unknown}
priority=${4:-unknown}

level=notice
case $state in
    MASTER) consequence="this host now holds the VIP and receives new SMTP sessions" ;;
    BACKUP) consequence="this host does not hold the VIP and waits to take over" ;;
    FAULT)  consequence="a tracked check failed or an interface is down, so this host released the VIP"
            level=warning ;;
    STOP)   consequence="keepalived is stopping, so this host released the VIP"
            level=warning ;;
    *)      consequence="unknown state" ;;
esac

message="vrrp $(echo "$kind" | tr 'A-Z' 'a-z') $name entered $state (priority $priority): $consequence"

# logger fails where no syslog socket exists (containers, test namespaces). The transition must
# not fail with it, so its error is dropped.
logger -t smtplb-keepalived -p "daemon.$level" -- "$message" 2>/dev/null || true

if [ -n "$log_file" ]; then
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$message" >> "$log_file"
fi
exit 0
