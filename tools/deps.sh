#!/bin/bash
# Installs the Debian 12 packages famez needs to build (and with --test, to run its tests).
# Only missing packages are installed; nothing is done when all are present.
set -euo pipefail

build=(meson ninja-build pkg-config gcc libsystemd-dev check libvirt-dev libxml2-dev)
test=(qemu-system-x86 systemd dbus-daemon dbus-user-session polkitd util-linux
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	clang libclang-rt-14-dev valgrind
	linux-headers-amd64 busybox-static cpio sparse graphviz)

want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${test[@]}")

missing=()
for pkg in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "famez: missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "famez: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
