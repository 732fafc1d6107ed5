#!/bin/bash
# Guest benchmark: two Linux guests (QEMU TCG) with the famez_bridge module on a famezd fabric.
# Per run it prints the median round trip of a message from one guest's famez-client to the
# other guest's bridge and back (answered in its kernel), next to the plain doorbell round trip
# of the same two guests (ring ioctl, eventfd, ring back), and the median guest-to-server ping
# next to a host famez-client's, then the medians over the runs and their ratios. TCG is slow
# and noisy: compare ratios, not microseconds. Run as root.
# Usage: tests/bench/guest.sh [BUILD_DIR [ROUNDS [RUNS]]]   (defaults: build 200 3)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$src/build}")
rounds=${2:-200}
runs=${3:-3}
. "$src/tests/guest/host.sh"
build_guests

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
all=$(mktemp /tmp/famez-bench-guest.XXXXXX)

printf '%-4s %14s %14s %7s %14s %14s %7s\n' run guest-msg-us doorbell-us ratio \
	guest-ping-us host-ping-us ratio
for run in $(seq "$runs"); do
	rm -f "$dir"/*
	start_famezd
	boot_guest vm0 bench "famez.rounds=$rounds"
	boot_guest vm1 bench "famez.rounds=$rounds"
	for _ in $(seq 1500); do
		guests_done vm0 vm1 && break
		sleep 0.2
	done
	# The host's ping to the same famezd, with the guests powered off.
	cmds=$(for _ in $(seq "$rounds"); do printf 'ping server 5; '; done)
	host=$("$build/src/famez-client/famez-client" -S "$dir/famez.sock" -e "$cmds" |
		sed -n 's/^pong from .* in \([0-9]*\) us$/\1/p' | median)
	kill "$famezd"
	wait "$famezd" 2>/dev/null || true

	msg=$(sed -n 's/^famez-guest: rtt-guest //p' "$dir/vm0.log" | tr -d '\r' | median)
	ping=$(sed -n 's/^famez-guest: rtt-server //p' "$dir/vm0.log" | tr -d '\r' | median)
	bell=$(sed -n 's/^famez-guest: stamp //p' "$dir/vm0.log" | tr -d '\r' |
		awk -v n="$rounds" 'NR == 1 { t0 = $1 } NR == 2 { printf "%d\n", ($1 - t0) / n }')
	[ -n "$bell" ] || bell=-
	echo "$run $msg $bell $ping $host" >>"$all"
	awk -v r="$run" -v m="$msg" -v b="$bell" -v p="$ping" -v h="$host" 'BEGIN {
		printf "%-4s %14s %14s %7.2f %14s %14s %7.2f\n", r, m, b, (b > 0 ? m / b : 0), p, h,
			(h > 0 ? p / h : 0) }'
done
m=$(cut -d' ' -f2 "$all" | median); b=$(cut -d' ' -f3 "$all" | median)
p=$(cut -d' ' -f4 "$all" | median); h=$(cut -d' ' -f5 "$all" | median)
rm -f "$all"
awk -v m="$m" -v b="$b" -v p="$p" -v h="$h" 'BEGIN {
	printf "%-4s %14s %14s %7.2f %14s %14s %7.2f\n", "med", m, b, (b > 0 ? m / b : 0), p, h,
		(h > 0 ? p / h : 0) }'
