# Guest test: the module is removed and loaded again while the fabric is live; the second
# bridge is configured again and talks. A host peer named "host" pings the server before and
# after: we tell it when we are done.
. /tests/lib.sh
configured() {
	wait_configured
	echo "famez-guest: $1 link $(cat "$d/link_state") cid $(cat "$d/cid")"
}
configured first
# Something in flight when it goes: a ping to the server.
echo server:ping >"$dev"
rmmod famez_bridge && echo "famez-guest: removed"
insmod /famez_bridge.ko nodename=again && echo "famez-guest: loaded again"
d=$(echo /sys/bus/pci/drivers/famez_bridge/0000:* | cut -d' ' -f1)
configured second
echo server:ping >"$dev" && echo "famez-guest: got $(receive 60)"
echo "$(peer_named host):reloaded" >"$dev" && echo "famez-guest: told the host"
