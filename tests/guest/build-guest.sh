#!/bin/bash
# Builds what famez's guest tests boot, into OUT (reused while its inputs are unchanged):
# the famez_bridge module for the newest kernel whose headers are installed, built with W=1 and
# sparse (C=1) and refused if either says anything; that kernel's vmlinuz, taken from Debian's
# linux-image package without installing it; an initramfs of busybox, the module, famez-client
# with the libraries it links, bridge-check, and the guest side of the tests (init, tests/*.sh).
# Usage: build-guest.sh SOURCE_ROOT OUT FAMEZ_CLIENT
set -euo pipefail
src=$(realpath "$1") out=$2 client=$(realpath "$3")
mkdir -p "$out"
cd "$out"

kver=$(for d in /lib/modules/*/build; do [ -d "$d" ] && basename "$(dirname "$d")"; done |
	sort -V | tail -n 1)
if [ -z "$kver" ]; then
	echo "build-guest: no kernel headers in /lib/modules/*/build (apt-get install linux-headers-amd64)" >&2
	exit 1
fi

# The module, from a copy (kbuild writes next to the sources).
rm -rf module && cp -r "$src/contrib/linux/famez_bridge" module
if ! make -C module KDIR="/lib/modules/$kver/build" W=1 C=1 >module-build.log 2>&1; then
	cat module-build.log >&2
	exit 1
fi
if grep -E 'warning|error' module-build.log >&2; then
	echo "build-guest: famez_bridge is not clean under W=1 C=1" >&2
	exit 1
fi

# The kernel those headers belong to.
if [ ! -s "vmlinuz-$kver" ]; then
	rm -rf kimg ./*.deb
	apt-get download -q "linux-image-$kver" >/dev/null 2>&1 ||
		apt-get download -q "linux-image-$kver-unsigned" >/dev/null
	dpkg-deb -x linux-image-*.deb kimg
	cp "kimg/boot/vmlinuz-$kver" "vmlinuz-$kver.tmp" && mv "vmlinuz-$kver.tmp" "vmlinuz-$kver"
	rm -rf kimg ./*.deb
fi
ln -sf "vmlinuz-$kver" vmlinuz

# The initramfs.
rm -rf root && mkdir -p root/bin root/sbin root/proc root/sys root/dev root/tests
cp /bin/busybox root/bin/busybox
cp module/famez_bridge.ko root/
cp "$client" root/bin/famez-client
ln -s famez-client root/bin/famez-fm
# What busybox cannot do to the device (a zero-length read, mmap), static: no libraries needed.
gcc -static -O2 -Wall -Wextra -Werror -I"$src/contrib/linux/famez_bridge/include/uapi" \
	-o root/bin/bridge-check "$src/tests/guest/bridge-check.c"
for lib in $(ldd "$client" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "root$(dirname "$lib")"
	cp -L "$lib" "root$lib"
done
[ -e root/lib64 ] || ln -s lib root/lib64
cp "$src/tests/guest/init" root/init
cp "$src/tests/guest/"*.sh root/tests/
rm -f root/tests/build-guest.sh root/tests/host.sh
chmod 755 root/init
(cd root && find . | cpio -o -H newc --quiet | gzip -1) >initrd.gz.tmp
mv initrd.gz.tmp initrd.gz
echo "$kver"
