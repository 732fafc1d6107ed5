#!/bin/bash
# Runs a test program next to a real systemd manager: `systemd --user`, made to believe systemd
# is booted inside a private mount namespace, with the user flavour of famez.socket and
# famez.service installed. The program gets XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS and
# FAMEZ_UNIT_DIR (where the units are; the test may edit them and daemon-reload).
#
# With --switch-socket, the user flavour of famez-switch@.socket too.
#
# Usage: systemd-env.sh [--switch-socket UNIT] SOCKET_UNIT SERVICE_UNIT PROGRAM [ARGS...]
set -euo pipefail

if [ -z "${FAMEZ_SYSTEMD_NAMESPACE:-}" ]; then
	exec env FAMEZ_SYSTEMD_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
fi

switch_socket_unit=
if [ "$1" = --switch-socket ]; then
	switch_socket_unit=$2
	shift 2
fi
socket_unit=$1
service_unit=$2
shift 2
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/system
export XDG_RUNTIME_DIR
XDG_RUNTIME_DIR=$(mktemp -d /tmp/famez-systemd.XXXXXX)
chmod 700 "$XDG_RUNTIME_DIR"
export FAMEZ_UNIT_DIR=$XDG_RUNTIME_DIR/systemd/user
mkdir -p "$FAMEZ_UNIT_DIR"
cp "$socket_unit" "$FAMEZ_UNIT_DIR/famez.socket"
cp "$service_unit" "$FAMEZ_UNIT_DIR/famez.service"
[ -z "$switch_socket_unit" ] || cp "$switch_socket_unit" "$FAMEZ_UNIT_DIR/famez-switch@.socket"
# No journald here: famezd's log goes to a file the test can read ($FAMEZ_LOG).
export FAMEZ_LOG=$XDG_RUNTIME_DIR/famezd.log
mkdir -p "$FAMEZ_UNIT_DIR/famez.service.d"
# A sanitizer build's leak check needs ptrace, which the unit's system call filter denies (the
# check would fail every clean exit): famezd's leaks are checked where it runs outside systemd.
printf '[Service]\nStandardOutput=append:%s\nStandardError=append:%s\nEnvironment=ASAN_OPTIONS=%s\n' \
	"$FAMEZ_LOG" "$FAMEZ_LOG" "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	>"$FAMEZ_UNIT_DIR/famez.service.d/test.conf"

manager=
cleanup() {
	[ -n "$manager" ] && kill "$manager" 2>/dev/null && wait "$manager" 2>/dev/null
	# FAMEZ_KEEP_LOGS=DIR keeps famezd's and the manager's logs for a look afterwards.
	[ -n "${FAMEZ_KEEP_LOGS:-}" ] && mkdir -p "$FAMEZ_KEEP_LOGS" &&
		cp "$FAMEZ_LOG" "$XDG_RUNTIME_DIR/manager.log" "$FAMEZ_KEEP_LOGS/" 2>/dev/null
	rm -rf "$XDG_RUNTIME_DIR"
}
trap cleanup EXIT

/lib/systemd/systemd --user --log-target=console --log-level=${FAMEZ_MANAGER_LOG_LEVEL:-warning} \
	>"$XDG_RUNTIME_DIR/manager.log" 2>&1 &
manager=$!
# It starts in well under a second; a loaded machine may take far longer.
deadline=$((SECONDS + 60))
until [ -S "$XDG_RUNTIME_DIR/systemd/private" ] || [ $SECONDS -ge $deadline ]; do sleep 0.02; done
[ -S "$XDG_RUNTIME_DIR/systemd/private" ] || {
	echo "systemd-env: systemd --user did not start:" >&2
	cat "$XDG_RUNTIME_DIR/manager.log" >&2
	exit 1
}
export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
systemctl --user start dbus.socket
export FAMEZ_MANAGER_PID=$manager

"$@"
