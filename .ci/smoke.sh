#!/usr/bin/env bash
# Shell-level smoke test: bin/smtplb run in front of two Postfix smtp-sink relays.
# swaks and Postfix's smtp-source send mail through it, and every message must reach a relay.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() {
  local port=$1
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "smoke: nothing listens on 127.0.0.1:$port after 20 s" >&2
  return 1
}

sink1=$(free_port); sink2=$(free_port); listen=$(free_port); admin=$(free_port)
mkdir -p "$work/sink1" "$work/sink2"
# smtp-sink refuses to run as root without -u; the unprivileged user writes the message dumps.
sink_user=()
if [ "$(id -u)" -eq 0 ]; then
  sink_user=(-u nobody)
  chmod 755 "$work"
  chmod 777 "$work/sink1" "$work/sink2"
fi
smtp-sink "${sink_user[@]}" -d "$work/sink1/%M." "127.0.0.1:$sink1" 50 & pids+=($!)
smtp-sink "${sink_user[@]}" -d "$work/sink2/%M." "127.0.0.1:$sink2" 50 & pids+=($!)

cat > "$work/smtplb.conf" <<CONF
smtplb {
  hostname = "smoke.test"
  listeners { smtp { bind = "127.0.0.1:$listen", pool = sinks } }
  pools {
    sinks {
      balance = weighted-round-robin
      backends = [
        { name = sink1, address = "127.0.0.1:$sink1" }
        { name = sink2, address = "127.0.0.1:$sink2" }
      ]
    }
  }
  admin { bind = "127.0.0.1:$admin" }
}
CONF

bin/smtplb check --config "$work/smtplb.conf" > "$work/check.out"
bin/smtplb run --config "$work/smtplb.conf" > "$work/smtplb.log" 2>&1 & lb=$!; pids+=("$lb")
wait_for_port "$listen"

for i in $(seq 10); do
  swaks --silent 2 --server "127.0.0.1:$listen" --from "printer$i@devices.test" --to ops@example.test \
        --header "Subject: smoke $i" --body "smoke body $i"
done
smtp-source -s 4 -m 40 -c -f source@devices.test -t ops@example.test "127.0.0.1:$listen" > /dev/null

# smtp-sink writes each dump when the transaction ends; allow a moment for the last ones.
count=0
for _ in $(seq 50); do
  count=$(find "$work/sink1" "$work/sink2" -type f | wc -l)
  [ "$count" -ge 50 ] && break
  sleep 0.1
done
in1=$(find "$work/sink1" -type f | wc -l); in2=$(find "$work/sink2" -type f | wc -l)
echo "smoke: $count of 50 messages reached the relays (sink1 $in1, sink2 $in2)"
[ "$count" -eq 50 ] || { echo "smoke: FAILED, smtplb log follows" >&2; cat "$work/smtplb.log" >&2; exit 1; }
[ "$in1" -gt 0 ] && [ "$in2" -gt 0 ] || { echo "smoke: FAILED, one relay got nothing" >&2; exit 1; }
grep -l "smoke 7" "$work"/sink*/* > /dev/null || { echo "smoke: FAILED, message 'smoke 7' not found" >&2; exit 1; }

kill -TERM "$lb"
for _ in $(seq 100); do kill -0 "$lb" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$lb" 2>/dev/null; then echo "smoke: FAILED, smtplb still running 10 s after SIGTERM" >&2; exit 1; fi
grep -q "stopped" "$work/smtplb.log" || { echo "smoke: FAILED, no 'stopped' line after SIGTERM" >&2; exit 1; }
echo "smoke: passed"
