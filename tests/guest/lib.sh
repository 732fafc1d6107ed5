# Guest-side helpers for the test scripts (sourced): the first bridge's sysfs folder ($d) and
# device ($dev), and bounded waits for what the host will check.
d=$(echo /sys/bus/pci/drivers/famez_bridge/0000:* | cut -d' ' -f1)
dev=$(echo /dev/famez_bridge_* | cut -d' ' -f1)

# Runs the command given until it succeeds, at most SECONDS (10 tries a second); false if it
# never did.
wait_until() {
	limit=$(($1 * 10))
	shift
	i=0
	until "$@"; do
		[ $i -ge $limit ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

is_configured() {
	[ "$(cat "$d/link_state" 2>/dev/null)" = configured ]
}

# Waits (at most 120 s) until the bridge is configured.
wait_configured() {
	wait_until 120 is_configured
}

# The ID of the peer whose slot names it $1, once it is on the fabric (at most 120 s).
peer_named() {
	wait_until 120 grep -q " $1 " "$d/peers" && awk -v n="$1" '$2 == n { print $1 }' "$d/peers"
}

# One message a read(), at most $1 seconds.
receive() {
	timeout "$1" dd if="$dev" bs=512 count=1 2>/dev/null
}
