#!/bin/bash
# famezd under a real systemd --user with its fd store: brings up PEERS peers x V vectors through
# famez.socket (ivshmem mode) and prints the time it took and the CPU the systemd manager spent
# meanwhile (every peer's fds go into the manager's fd store).
# Usage: tests/bench/systemd.sh [BUILD_DIR] [PEERS] [V]
set -euo pipefail
build=$(realpath "${1:-build}")
if [ -z "${FAMEZ_UNIT_DIR:-}" ]; then
	exec "$(dirname "$0")/../integration/systemd-env.sh" "$build/units/famez-user.socket" \
		"$build/units/famez-user.service" "$0" "$build" "${2:-1000}" "${3:-4}"
fi
peers=$2
vectors=$3
printf '[Service]\nEnvironment="FAMEZD_OPTIONS=--mode ivshmem --vectors %s --max-peers %s"\n' \
	"$vectors" "$((peers + 10))" >"$FAMEZ_UNIT_DIR/famez.service.d/options.conf"
systemctl --user daemon-reload
systemctl --user start famez.socket
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }

m0=$(cpu_ms "$FAMEZ_MANAGER_PID")
"$build/tests/famez-load" -S "$XDG_RUNTIME_DIR/famez/famez.sock" --peers "$peers" \
	--vectors "$vectors" --timeout 600 bringup | grep -E '^(bringup_usec|messages_lost) '
m1=$(cpu_ms "$FAMEZ_MANAGER_PID")
echo "manager_cpu_ms $((m1 - m0))"
