#!/bin/bash
# famezd's resident memory (docs/performance.md): idle, with peers connected (famez-load
# bringup --rss-of: at the end of the bring-up, and 1.5 s later, once famezd has trimmed what the
# burst's queues took), after they all left, and its peak; per peer-vector beyond the idle base
# and how it grows from 100 to 1000 peers, both with the settled figure. One switch in ivshmem mode (4 vectors), then 4
# switches of 250 peers each (ivshmem mode, 4 vectors) in one famezd.
# Usage: tests/bench/mem.sh [BUILD_DIR]
set -uo pipefail
build=${1:-build}
load=$build/tests/famez-load
famezd=$build/src/famezd/famezd
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return; sleep 0.02; done; }

# One famezd with one ivshmem switch, PEERS x 4: "idle connected settled left peak" in KiB.
one() {
	rm -f "$dir/s.sock"
	"$famezd" --mode ivshmem --bus none -n 4 -S "$dir/s.sock" 2>"$dir/server.log" &
	local pid=$!
	wait_socket "$dir/s.sock"
	local idle
	idle=$(status VmRSS $pid)
	"$load" -S "$dir/s.sock" --peers "$1" --vectors 4 --timeout 120 --rss-of $pid \
		--settle 1500 bringup >"$dir/one.out" 2>&1
	echo "$idle $(field server_rss_kb "$dir/one.out") $(field server_settled_rss_kb "$dir/one.out")" \
		"$(status VmRSS $pid) $(status VmHWM $pid)"
	kill $pid
	wait $pid 2>/dev/null
}

per_pv() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) / n }'; }

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%F)"
read -r i100 b100 c100 l100 p100 < <(one 100)
read -r i1000 b1000 c1000 l1000 p1000 < <(one 1000)
printf "%-52s %10s\n" "one switch, ivshmem mode, 4 vectors" "KiB"
printf "%-52s %10s\n" "idle" "$i1000"
printf "%-52s %10s\n" "100 x 4 connected, end of bring-up / settled" "$b100 / $c100"
printf "%-52s %10s\n" "1000 x 4 connected, end of bring-up / settled" "$b1000 / $c1000"
printf "%-52s %10s\n" "1000 x 4, after they left" "$l1000"
printf "%-52s %10s\n" "1000 x 4, peak" "$p1000"
printf "%-52s %10s\n" "KiB per peer-vector beyond idle, 100 x 4" "$(per_pv "$i100" "$c100" 400)"
printf "%-52s %10s\n" "KiB per peer-vector beyond idle, 1000 x 4" "$(per_pv "$i1000" "$c1000" 4000)"
printf "%-52s %10s\n" "growth beyond idle, 1000 / 100 peers (linear: 10)" \
	"$(awk -v a=$((c1000 - i1000)) -v b=$((c100 - i100)) 'BEGIN { printf "%.1f", a / b }')"

# Four switches of 250 peers each, all in one famezd.
mkdir -p "$dir/switches.d"
for s in 1 2 3 4; do
	printf '[Switch]\nMode=ivshmem\nVectors=4\nSocket=%s/s%d.sock\n' "$dir" $s \
		>"$dir/switches.d/s$s.conf"
done
"$famezd" --mode ivshmem -n 4 --bus none -S "$dir/default.sock" --switches-dir "$dir/switches.d" \
	2>"$dir/server.log" &
pid=$!
for s in 1 2 3 4; do wait_socket "$dir/s$s.sock"; done
idle=$(status VmRSS $pid)
for s in 1 2 3 4; do
	"$load" -S "$dir/s$s.sock" --peers 250 --vectors 4 --timeout 120 --rss-of $pid \
		--settle 1500 bringup >"$dir/four.$s.out" 2>&1 &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null
conn=$(for s in 1 2 3 4; do field server_settled_rss_kb "$dir/four.$s.out"; done | sort -n | tail -n 1)
printf "%-52s %10s\n" "4 switches x 250 x 4 (ivshmem mode), idle" "$idle"
printf "%-52s %10s\n" "4 x 250 x 4, connected and settled (largest seen)" "$conn"
printf "%-52s %10s\n" "4 x 250 x 4, after they left" "$(status VmRSS $pid)"
printf "%-52s %10s\n" "4 x 250 x 4, peak" "$(status VmHWM $pid)"
printf "%-52s %10s\n" "KiB per peer-vector beyond idle, 4 x 250 x 4" "$(per_pv "$idle" "$conn" 4000)"
for s in 1 2 3 4; do
	[ "$(field messages_lost "$dir/four.$s.out")" = 0 ] || echo "switch s$s: $(tail -n 3 "$dir/four.$s.out")"
done
kill $pid
