#!/bin/bash
# SendInterrupt calls/s from one C client next to a no-op Peer.Ping, on a private bus with
# famezd and one famez-client peer. Usage: tests/bench/bus.sh [BUILD_DIR] [CALLS]
set -euo pipefail
build=${1:-build}
calls=${2:-20000}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT

dbus-daemon --session --address="unix:path=$dir/bus" --nofork --nopidfile &
pids+=($!)
export DBUS_SESSION_BUS_ADDRESS=unix:path=$dir/bus
for _ in $(seq 100); do [ -S "$dir/bus" ] && break; sleep 0.02; done
"$build/src/famezd/famezd" --bus user -S "$dir/famez.sock" 2>"$dir/famezd.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$dir/famezd.log" && break; sleep 0.05; done
"$build/src/famez-client/famez-client" -S "$dir/famez.sock" -e "sleep 600" >/dev/null &
pids+=($!)
sleep 0.3
"$build/tests/bus-throughput" --user 1 "$calls"
