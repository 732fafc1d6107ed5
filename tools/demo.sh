#!/bin/bash
# Boots two small Linux guests (Debian's kernel, the famez_bridge module, famez-client) on a
# famezd of its own and shows them talking: each is configured by the server at boot, the first
# pings the server and writes to the second with famez-client, the second answers through the
# bridge's text API from its shell. About half a minute here (QEMU TCG). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$PWD/build

tools/deps.sh --test
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
. tests/guest/host.sh
echo "demo: building the guests (module, kernel, initramfs) into build/tests/guest" >&2
build_guests

show() { # NAME: its lines so far, once each
	touch "$dir/$1.shown"
	grep -a '^famez-guest: ' "$dir/$1.log" 2>/dev/null | tail -n +"$(($(wc -l <"$dir/$1.shown") + 1))" |
		tee -a "$dir/$1.shown" | sed "s/^famez-guest: /$1: /" || true
}

start_famezd
echo "demo: booting vm0, then vm1, on famezd ($dir/famez.sock)" >&2
boot_guest vm0 pair
boot_guest vm1 pair
for _ in $(seq 600); do
	show vm0
	show vm1
	guests_done vm0 vm1 && break
	sleep 0.2
done
echo "demo: what famezd said:" >&2
cat "$dir/famezd.log"
