#!/bin/bash
# Boots two small Linux guests (Debian's kernel, the famez_bridge module, famez-client) on a
# famezd of its own and shows them talking: each is configured by the server at boot, the first
# pings the server and writes to the second with famez-client, the second answers through the
# bridge's text API from its shell. About a minute here (QEMU TCG). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh --test
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "demo: building the guests (module, kernel, initramfs) into build/tests/guest" >&2
tests/guest/build-guest.sh "$PWD" build/tests/guest build/src/famez-client/famez-client >/dev/null

dir=$(mktemp -d /tmp/famez-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

build/src/famezd/famezd --socket "$dir/famez.sock" --bus none >"$dir/famezd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$dir/famez.sock" ] && break; sleep 0.1; done

boot() { # NAME
	qemu-system-x86_64 -M pc -m 256 -nodefaults -display none -no-reboot \
		-kernel build/tests/guest/vmlinuz -initrd build/tests/guest/initrd.gz \
		-append "console=ttyS0 quiet panic=-1 famez.test=pair famez.nodename=$1" \
		-serial "file:$dir/$1.log" \
		-chardev "socket,id=iv,path=$dir/famez.sock" \
		-device ivshmem-doorbell,chardev=iv,vectors=16 >"$dir/$1.qemu" 2>&1 &
	pids+=($!)
}
show() { # NAME: its lines so far, once each
	touch "$dir/$1.shown"
	grep -a '^famez-guest: ' "$dir/$1.log" 2>/dev/null | tail -n +"$(($(wc -l <"$dir/$1.shown") + 1))" |
		tee -a "$dir/$1.shown" | sed "s/^famez-guest: /$1: /" || true
}

echo "demo: booting vm0, then vm1, on famezd ($dir/famez.sock)" >&2
boot vm0
until grep -q 'module loaded' "$dir/vm0.log" 2>/dev/null; do sleep 0.2; done
boot vm1
for _ in $(seq 600); do
	show vm0
	show vm1
	if grep -qs 'famez-guest: done' "$dir/vm0.log" && grep -qs 'famez-guest: done' "$dir/vm1.log"; then
		break
	fi
	sleep 0.2
done
echo "demo: what famezd said:" >&2
cat "$dir/famezd.log"
