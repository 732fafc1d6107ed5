#!/bin/bash
# Round trips across linked switches, in one run: a peer of switch a pings a peer of its own
# switch (direct doorbells), a peer of b (one link, routed through famezd) and a peer of c (two
# links), N times each, taking turns. Prints p50/p99 of each and the ratios to the same-switch
# round trip (docs/performance.md).
# Usage: tests/bench/links.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
n=${2:-1000}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
client="$build/src/famez-client/famez-client"

# a - b - c: a and b in subnet 28 (CIDs 100.. and 2148..), c in 29 (100..).
mkdir "$dir/switches.d"
printf '[Switch]\nSocket=%s/a.sock\nSID=28\nLink=16:b:16\n' "$dir" >"$dir/switches.d/a.conf"
printf '[Switch]\nSocket=%s/b.sock\nSID=28\nLink=17:c:16\n' "$dir" >"$dir/switches.d/b.conf"
printf '[Switch]\nSocket=%s/c.sock\nSID=29\n' "$dir" >"$dir/switches.d/c.conf"
"$build/src/famezd/famezd" -S "$dir/famez.sock" --switches-dir "$dir/switches.d" \
	2>"$dir/famezd.log" &
pids+=($!)
for _ in $(seq 200); do grep -q "switch c: listening on" "$dir/famezd.log" && break; sleep 0.05; done

# The ones pinged: configured, then just answering.
for peer in a:a2 b:b1 c:c1; do
	"$client" -S "$dir/${peer%%:*}.sock" -N "${peer#*:}" -e "rfc 5; sleep 3600" \
		>"$dir/${peer#*:}.out" 2>&1 &
	pids+=($!)
done
for peer in a2 b1 c1; do
	for _ in $(seq 200); do grep -q "^configured SID" "$dir/$peer.out" && break; sleep 0.05; done
	grep -q "^configured SID" "$dir/$peer.out" || { echo "links: $peer was not configured" >&2; exit 1; }
done

# Taking turns, so that the machine's mood of the moment weighs on all three alike; the first
# 10 of each warm up.
cmds="rfc 5"
for _ in $(seq $((n + 10))); do cmds="$cmds; ping a2 5; ping 2148,28 5; ping 100,29 5"; done
"$client" -S "$dir/a.sock" -N a1 -e "$cmds" >"$dir/a1.out"

stats() { # FROM: "p50 p99" of the pongs from FROM
	grep -o "pong from $1 in [0-9]* us" "$dir/a1.out" | awk '{print $5}' | tail -n "$n" |
		sort -n | awk -v n="$n" 'NR == int(n / 2) + 1 { p50 = $1 } NR == int(n * 99 / 100) + 1 { p99 = $1 } END { print p50, p99 }'
}
read -r s50 s99 < <(stats 'a2@1')
read -r o50 o99 < <(stats '2148,28')
read -r t50 t99 < <(stats '100,29')

echo "pings $n each"
echo "same_switch_p50_usec $s50"
echo "same_switch_p99_usec $s99"
echo "one_link_p50_usec $o50"
echo "one_link_p99_usec $o99"
echo "two_links_p50_usec $t50"
echo "two_links_p99_usec $t99"
awk -v a="$o50" -v b="$s50" 'BEGIN { printf "ratio_one_link_p50 %.2f\n", a / b }'
awk -v a="$t50" -v b="$s50" 'BEGIN { printf "ratio_two_links_p50 %.2f\n", a / b }'
awk -v a="$o99" -v b="$s99" 'BEGIN { printf "ratio_one_link_p99 %.2f\n", a / b }'
