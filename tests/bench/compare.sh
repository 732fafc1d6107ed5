#!/bin/bash
# famezd next to QEMU's ivshmem-server on the same machine, in one run: newcomer join latency,
# server CPU per join and churn at 10, 100 and 400 peers (the median of REPS runs, the servers
# taking turns), bring-up and messages lost, plus famezd's own mailbox ping, D-Bus throughput
# and memory (tests/bench/mem.sh). Prints a table with the ratio famezd/ivshmem-server, and
# famezd's CPU per join+leave against the floor: join-floor (tests/bench/join-floor.c), a
# server making only the system calls the protocol needs, measured the same way in the same run.
# Usage: [REPS=3] [BANDS="10 100 400"] tests/bench/compare.sh [BUILD_DIR]  (QEMU's server: tools/build-ivshmem-server.sh)
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
ref=$(tools/build-ivshmem-server.sh)/ivshmem-server || exit 1
load=$build/tests/famez-load
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

# Starts a server ("famez" or "ref") with V vectors; sets $pid.
start() {
	rm -f "$dir/s.sock"
	if [ "$1" = famez ]; then
		"$build/src/famezd/famezd" --mode ivshmem --bus none -n "$2" -S "$dir/s.sock" \
			2>"$dir/server.log" &
	elif [ "$1" = floor ]; then
		"$build/tests/join-floor" -n "$2" -S "$dir/s.sock" 2>"$dir/server.log" &
	else
		"$ref" -F -S "$dir/s.sock" -l 4M -n "$2" -M "/famez-bench-$$" >"$dir/server.log" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 100); do [ -S "$dir/s.sock" ] && break; sleep 0.02; done
	sleep 0.1
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
bands=${BANDS:-10 100 400} # ivshmem-server's select() stops at 1024 fds: about 500 peers at 1 vector
reps=${REPS:-3}

declare -A v failed
for peers in $bands; do
	rounds=$(( peers >= 400 ? 1000 : 2000 ))
	for rep in $(seq "$reps"); do
		for server in famez ref floor; do
			start $server 1
			before=$(cpu_ns "$pid")
			"$load" -S "$dir/s.sock" --peers "$peers" --rounds $rounds join \
				>"$dir/join.$server" 2>&1
			after=$(cpu_ns "$pid")
			stop
			k=$server.$peers
			if [ -z "$(field join_p50_usec "$dir/join.$server")" ]; then
				# famez-load gave up: a peer never got its whole handshake.
				failed[$k]=$(tail -n 1 "$dir/join.$server")
				continue
			fi
			echo "$(field join_p50_usec "$dir/join.$server")" >>"$dir/$k.p50"
			echo "$(field join_p99_usec "$dir/join.$server")" >>"$dir/$k.p99"
			echo "$(field churn_cycles_per_sec "$dir/join.$server")" >>"$dir/$k.churn"
			# CPU over the peers joining to build up, then the join+leave cycles.
			echo $(( (after - before) / (peers + rounds) / 1000 )) >>"$dir/$k.cpu"
		done
	done
	for server in famez ref floor; do
		for f in p50 p99 churn cpu; do
			if [ -n "${failed[$server.$peers]:-}" ]; then
				v[$server.$peers.$f]=fails
			else
				v[$server.$peers.$f]=$(median <"$dir/$server.$peers.$f")
			fi
		done
	done
done

for server in famez ref; do
	for n in 150 1000; do
		start $server 4
		"$load" -S "$dir/s.sock" --peers $n --vectors 4 --timeout 60 bringup \
			>"$dir/up.$server.$n" 2>&1
		[ "$server" = famez ] && [ $n = 1000 ] &&
			v[famez.rss]=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
		if kill -0 "$pid" 2>/dev/null; then
			v[$server.up$n]=$(field bringup_usec "$dir/up.$server.$n")
			v[$server.lost$n]=$(field messages_lost "$dir/up.$server.$n")
			[ "$(field bringup_complete "$dir/up.$server.$n")" = yes ] || v[$server.up$n]="incomplete"
		else
			v[$server.up$n]="crashed"
			v[$server.lost$n]="all"
		fi
		stop
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf "%-40s %14s %14s %8s\n" "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%F)"
printf "%-40s %14s %14s %8s\n" "" "famezd" "ivshmem-server" "ratio"
for peers in $bands; do
	row "join latency p50, $peers peers (us)" "${v[famez.$peers.p50]}" "${v[ref.$peers.p50]}"
	row "join latency p99, $peers peers (us)" "${v[famez.$peers.p99]}" "${v[ref.$peers.p99]}"
	row "CPU per join+leave, $peers peers (us)" "${v[famez.$peers.cpu]}" "${v[ref.$peers.cpu]}"
	row "  the same, against the floor (us)" "${v[famez.$peers.cpu]}" "${v[floor.$peers.cpu]}"
	row "churn at $peers peers (cycles/s)" "${v[famez.$peers.churn]}" "${v[ref.$peers.churn]}"
done
row "bring-up 150 x 4 (us)" "${v[famez.up150]}" "${v[ref.up150]}"
row "messages lost, 150 x 4" "${v[famez.lost150]}" "${v[ref.lost150]}"
row "bring-up 1000 x 4 (us)" "${v[famez.up1000]}" "${v[ref.up1000]}"
row "messages lost, 1000 x 4" "${v[famez.lost1000]}" "${v[ref.lost1000]}"
echo "famezd RSS once 1000 x 4 peers left: ${v[famez.rss]:-?} KiB"
for k in "${!failed[@]}"; do
	echo "${k%%.*} at ${k#*.} peers: ${failed[$k]}"
done
echo
echo "fabric figures (famezd only):"
tests/bench/ping.sh "$build" 1000
tests/bench/links.sh "$build" 1000
tests/bench/bus.sh "$build" 20000 2>/dev/null
echo
echo "memory (famezd only):"
tests/bench/mem.sh "$build" | tail -n +2
