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

# One closing line with the count of Check test cases, across every suite that ran.
log=build/meson-logs/testlog.txt
read -r passed failed < <(awk '/^[0-9]+%: Checks: /{
	gsub(",", ""); checks += $3; failures += $5; errors += $7 }
	END { print checks - failures - errors, failures + errors }' "$log")
echo "${passed:-0} passed, ${failed:-0} failed"
exit $status
