#!/bin/bash
# Ping round trip famez-client <-> famezd (fabric mode) over N pings, next to the eventfd
# ping-pong floor between two processes measured in the same run. Prints p50/p99 and the ratios.
# Usage: tests/bench/ping.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
n=${2:-1000}
dir=$(mktemp -d)
trap 'kill $famezd 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT

"$build/src/famezd/famezd" -S "$dir/famez.sock" 2>"$dir/famezd.log" &
famezd=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/famezd.log" && break; sleep 0.05; done

cmds="ping server 5"
for _ in $(seq $((n - 1 + 10))); do cmds="$cmds; ping server 5"; done
"$build/src/famez-client/famez-client" -S "$dir/famez.sock" -e "$cmds" >"$dir/client.out"
# The first 10 pings warm up.
grep -o 'pong from Z-switch@[0-9]* in [0-9]* us' "$dir/client.out" | awk '{print $5}' |
	tail -n "$n" | sort -n >"$dir/rtt"

floor=$("$build/tests/eventfd-floor" "$n")
fp50=$(echo "$floor" | awk '/floor_p50_usec/{print $2}')
fp99=$(echo "$floor" | awk '/floor_p99_usec/{print $2}')
p50=$(awk -v n="$n" 'NR == int(n / 2) + 1' "$dir/rtt")
p99=$(awk -v n="$n" 'NR == int(n * 99 / 100) + 1' "$dir/rtt")

echo "pings $n"
echo "ping_p50_usec $p50"
echo "ping_p99_usec $p99"
echo "floor_p50_usec $fp50"
echo "floor_p99_usec $fp99"
awk -v a="$p50" -v b="$fp50" 'BEGIN { printf "ratio_p50 %.2f\n", a / b }'
awk -v a="$p99" -v b="$fp99" 'BEGIN { printf "ratio_p99 %.2f\n", a / b }'
