#!/bin/bash
# famez-fm's discovery and configuration time (docs/performance.md): N switches in a line, all
# ManagedBy=external, M famez-clients spread over them round robin, then famez-fm --time on
# the first switch, R times (each pass configures and routes everything again). Prints the
# components found, the requests and the times of each pass, and their median. FM_SUBNETS=1
# runs it with --subnets (a subnet per switch, MSDTs and MPRTs written too).
# Usage: tests/bench/fm.sh [BUILD_DIR] [N] [M] [R]
set -euo pipefail
build=${1:-build}
n=${2:-3}
m=${3:-4}
runs=${4:-5}
clients_per_switch=$(((m + n - 1) / n + 1)) # room for famez-fm on the first
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
client="$build/src/famez-client/famez-client"
fm="$build/src/famez-client/famez-fm"
link=$((clients_per_switch + 2)) # the first link port: to the switch before
next=$((link + 1))               # to the switch after

if ((n > 16)); then
	echo "fm: at most 16 switches in a line (a directed path has 16 ports)" >&2
	exit 2
fi
mkdir "$dir/switches.d"
for i in $(seq "$n"); do
	{
		printf '[Switch]\nSocket=%s/s%d.sock\nMaxPeers=%d\nManagedBy=external\n' "$dir" "$i" \
			"$clients_per_switch"
		((i < n)) && printf 'Link=%d:s%d:%d\n' "$next" $((i + 1)) "$link"
	} >"$dir/switches.d/s$i.conf"
done
"$build/src/famezd/famezd" -S "$dir/famez.sock" --bus none --switches-dir "$dir/switches.d" \
	2>"$dir/famezd.log" &
pids+=($!)
for _ in $(seq 200); do grep -q "switch s$n: listening on" "$dir/famezd.log" && break; sleep 0.05; done

for j in $(seq "$m"); do
	sw=$(((j - 1) % n + 1))
	"$client" -S "$dir/s$sw.sock" -N "c$j" -e "sleep 3600" >"$dir/c$j.out" 2>&1 &
	pids+=($!)
done
for j in $(seq "$m"); do
	for _ in $(seq 200); do grep -q "^fabric nodename" "$dir/c$j.out" && break; sleep 0.05; done
done

echo "famez-fm: $n switches in a line, $m clients (and the manager), $runs passes${FM_SUBNETS:+, a subnet per switch}"
totals=()
for r in $(seq "$runs"); do
	"$fm" -S "$dir/s1.sock" --cids 100-4095 --sid 28 --time ${FM_VERBOSE:+-v} \
		${FM_SUBNETS:+--subnets} >"$dir/fm.out" 2>"$dir/fm.err" ||
		{ cat "$dir/fm.out" "$dir/fm.err" >&2; exit 1; }
	line=$(grep '^time: ' "$dir/fm.out")
	summary=$(grep '^fabric: ' "$dir/fm.out")
	d=$(sed -E 's/.*discovery ([0-9]+) us.*/\1/' <<<"$line")
	t=$(sed -E 's/.*routes ([0-9]+) us.*/\1/' <<<"$line")
	totals+=($((d + t)))
	echo "pass $r: $summary; $line"
	[ -n "${FM_VERBOSE:-}" ] && cp "$dir/fm.err" "/tmp/fm-pass$r.err"
done
median=$(printf '%s\n' "${totals[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
echo "median discovery + configuration + routes: $median us"
