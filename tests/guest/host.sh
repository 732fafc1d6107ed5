# Host-side helpers for scripts that boot famez's test guests (tools/demo.sh,
# tests/bench/guest.sh); sourced, with $build (a build directory) set. Everything they start is
# killed, and $dir removed, on exit.
guest_dir=$build/tests/guest
dir=$(mktemp -d /tmp/famez-guests.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

# Builds (or reuses) the module, the kernel and the initramfs.
build_guests() {
	"$(dirname "${BASH_SOURCE[0]}")/build-guest.sh" "$(dirname "${BASH_SOURCE[0]}")/../.." \
		"$guest_dir" "$build/src/famez-client/famez-client" >/dev/null
}

# Starts famezd (fabric mode, no bus) on $dir/famez.sock; its pid in $famezd.
start_famezd() {
	rm -f "$dir/famez.sock"
	"$build/src/famezd/famezd" --socket "$dir/famez.sock" --bus none >"$dir/famezd.log" 2>&1 &
	famezd=$!
	pids+=("$famezd")
	for _ in $(seq 50); do [ -S "$dir/famez.sock" ] && break; sleep 0.1; done
}

# Boots guest NAME running tests/guest/TEST.sh (EXTRA: more kernel parameters); its console
# goes to $dir/NAME.log. Returns once its module is loaded.
boot_guest() { # NAME TEST [EXTRA]
	qemu-system-x86_64 -M pc -m 256 -nodefaults -display none -no-reboot \
		-kernel "$guest_dir/vmlinuz" -initrd "$guest_dir/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 famez.test=$2 famez.nodename=$1 ${3:-}" \
		-serial "file:$dir/$1.log" -chardev "socket,id=iv,path=$dir/famez.sock" \
		-device ivshmem-doorbell,chardev=iv,vectors=16 >"$dir/$1.qemu" 2>&1 &
	pids+=($!)
	for _ in $(seq 600); do grep -qs 'famez-guest: module loaded' "$dir/$1.log" && return; sleep 0.2; done
	echo "guest $1 did not load its module: $(cat "$dir/$1.qemu")" >&2
	return 1
}

# Whether every guest named has powered off its test.
guests_done() { # NAME...
	for g in "$@"; do grep -qs 'famez-guest: done' "$dir/$g.log" || return 1; done
}
