#!/bin/bash
# famez's packages in a real Debian 12 booted with systemd as PID 1: builds them
# (dpkg-buildpackage -b from a copy of the tree), checks them with lintian (no error or warning),
# makes a Debian root with mmdebstrap (cached in /var/cache/famez-vmroot), puts the packages and
# tests/packages/vm-test.sh in it, boots it under QEMU (TCG) and reads the verdict from its serial
# console. Run as root; about three minutes here once the root is cached.
# Usage: tests/packages/run.sh [WORKDIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build/packages}
cache=/var/cache/famez-vmroot
deps=(mmdebstrap debhelper dh-dkms lintian dpkg-dev fakeroot e2fsprogs qemu-system-x86)
missing=()
for p in "${deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$work" && mkdir -p "$work/src"
(cd "$src" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) |
	tar -xf - -C "$work/src"
echo "packages: building" >&2
(cd "$work/src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log" >&2; exit 1; }
lintian --pedantic -I "$work"/*.changes >"$work/lintian.log" 2>&1 || true
if grep -E '^(E|W):' "$work/lintian.log" >&2; then
	echo "packages: lintian is not content" >&2
	exit 1
fi

# The root: Debian's own packages, and what famez's packages depend on (the VM has no network).
include=systemd-sysv,linux-image-amd64,dbus,polkitd,udev,kmod,util-linux,libvirt0,libxml2
key=$(echo "$include" | sha256sum | cut -c1-16)
mkdir -p "$cache"
if [ ! -s "$cache/root-$key.tar" ]; then
	echo "packages: making the Debian root (cached in $cache)" >&2
	mmdebstrap --variant=minbase --mode=root --include="$include" bookworm \
		"$cache/root-$key.tmp.tar" </etc/apt/sources.list.d/debian.sources >"$work/mmdebstrap.log" 2>&1 ||
		{ tail -20 "$work/mmdebstrap.log" >&2; exit 1; }
	mv "$cache/root-$key.tmp.tar" "$cache/root-$key.tar"
fi
root=$work/root
mkdir -p "$root" && tar -xf "$cache/root-$key.tar" -C "$root"
echo '/dev/vda / ext4 defaults 0 1' >"$root/etc/fstab"
mkdir -p "$root/root/debs"
cp "$work"/*.deb "$root/root/debs/"
install -m 755 "$src/tests/packages/vm-test.sh" "$root/usr/local/bin/famez-vm-test"
# The exposure of the packaged unit, as systemd-analyze sees it offline: the VM must see the same.
dpkg-deb -x "$work"/famez_*_amd64.deb "$work/famez-deb"
systemd-analyze security --offline=true "$work/famez-deb/lib/systemd/system/famez.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for famez.service: \([0-9.]*\).*/\1/p' >"$root/root/expected-exposure"
[ -s "$root/root/expected-exposure" ] || { echo "packages: no offline exposure" >&2; exit 1; }
cat >"$root/etc/systemd/system/famez-vm-test.service" <<UNIT
[Unit]
Description=famez package test
After=multi-user.target dbus.service polkit.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/famez-vm-test
ExecStartPost=/bin/systemctl --no-block poweroff
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../famez-vm-test.service "$root/etc/systemd/system/multi-user.target.wants/"
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
rm -f "$work/vm.img"
mkfs.ext4 -q -d "$root" "$work/vm.img" 2G

echo "packages: booting the VM" >&2
timeout 600 qemu-system-x86_64 -M pc -m 1024 -nodefaults -display none -no-reboot \
	-kernel "$(ls "$root"/boot/vmlinuz-* | tail -1)" -initrd "$(ls "$root"/boot/initrd.img-* | tail -1)" \
	-append "console=ttyS0 root=/dev/vda rw quiet" -serial "file:$work/console.log" \
	-drive "file=$work/vm.img,format=raw,if=virtio" >"$work/qemu.log" 2>&1 || true
grep -a '^famez-vm: ' "$work/console.log" | tr -d '\r' | tee "$work/verdict.log" >&2
grep -q '^famez-vm: done' "$work/verdict.log" || { echo "packages: the VM test did not finish" >&2; exit 1; }
if grep -q '^famez-vm: FAIL' "$work/verdict.log"; then
	exit 1
fi
echo "packages: all checks passed" >&2
