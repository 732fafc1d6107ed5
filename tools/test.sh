#!/bin/bash
# Installs what is missing, builds famez and runs every test of the default suites (unit and
# integration), then prints "N passed, N failed". Extra arguments go to meson test, e.g.
# tools/test.sh --suite unit.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh --test || exit 1
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null || exit 1
fi
ninja -C build || exit 1

# QEMU's ivshmem-server, for the tests that check famez-client against it (cached).
if ref=$(tools/build-ivshmem-server.sh); then
	export IVSHMEM_SERVER=$ref/ivshmem-server
else
	echo "famez: could not build QEMU's ivshmem-server; the reference test will be skipped" >&2
fi

meson test -C build --print-errorlogs --no-rebuild "$@"
status=$?
logs=(build/meson-logs/testlog.txt)

# With no arguments, the whole run: also the unit tests under valgrind, and everything again
# built with clang under ASan and UBSan, with a short run of each fuzz target. Set
# FAMEZ_QUICK=1 to skip these (about 5 minutes here).
if [ $# -eq 0 ] && [ -z "${FAMEZ_QUICK:-}" ]; then
	meson test -C build --print-errorlogs --no-rebuild --setup valgrind --suite unit \
		--logbase valgrind || status=1
	logs+=(build/meson-logs/valgrind-valgrind.txt) # --logbase, then the setup name
	if [ ! -f build-sanitize/build.ninja ]; then
		CC=clang meson setup build-sanitize -Dfuzzing=true >/dev/null || exit 1
	fi
	ninja -C build-sanitize || exit 1
	# The guests run the same module and famez-client either way: once is enough.
	meson test -C build-sanitize --print-errorlogs --no-rebuild --no-suite guest || status=1
	logs+=(build-sanitize/meson-logs/testlog.txt)
fi

# One closing line with the count of Check test cases, across every run.
read -r passed failed < <(awk '/^[0-9]+%: Checks: /{
	gsub(",", ""); checks += $3; failures += $5; errors += $7 }
	END { print checks - failures - errors, failures + errors }' "${logs[@]}")
echo "${passed:-0} passed, ${failed:-0} failed"
exit $status
