#!/bin/bash
# Runs a test program next to a real libvirtd (qemu:///system) and virtlogd, in a private mount
# namespace with a fresh /run/libvirt, so the machine's own libvirt (if any) is not touched.
# QEMU under libvirt runs as libvirt-qemu (group kvm); both are created if missing, as the
# Debian packages would.
#
# Usage: libvirt-env.sh PROGRAM [ARGS...]
set -euo pipefail

if [ -z "${FAMEZ_LIBVIRT_NAMESPACE:-}" ]; then
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	id libvirt-qemu >/dev/null 2>&1 ||
		useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	# A PID namespace of our own: this shell is its init and reaps what QEMU leaves (libvirt
	# waits for the processes it kills to be gone, and the container's init may not reap).
	exec env FAMEZ_LIBVIRT_NAMESPACE=1 unshare --mount --propagation private --pid --fork \
		--mount-proc "$0" "$@"
fi

mkdir -p /run/libvirt
mount -t tmpfs tmpfs /run/libvirt
pids=()
cleanup() {
	# Test domains a failed test left behind (Check does not run a failed test's teardown).
	for dom in $(virsh -c qemu:///system list --all --name 2>/dev/null | grep '^famez-test-'); do
		virsh -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
		virsh -c qemu:///system undefine "$dom" >/dev/null 2>&1 || true
	done
	# libvirtd may take its time over SIGTERM: give it five seconds, then SIGKILL.
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for _ in $(seq 50); do
		alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

virtlogd >/dev/null 2>&1 &
pids+=($!)
libvirtd >/dev/null 2>&1 &
pids+=($!)
# libvirtd starts in a few seconds; a loaded machine may take far longer.
deadline=$((SECONDS + 120))
until virsh -c qemu:///system version >/dev/null 2>&1 || [ $SECONDS -ge $deadline ]; do
	sleep 0.04
done
virsh -c qemu:///system version >/dev/null || {
	echo "libvirt-env: libvirtd did not start" >&2
	exit 1
}

"$@"
