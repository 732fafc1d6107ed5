# Guest test: two fabric devices, each on another switch of one famezd. Each bridge is configured
# by its own switch, with that switch's SID; then each takes one message from a host peer of its
# own switch (at most 300 s), which the host sends once it saw both bridges from outside.
. /tests/lib.sh
for b in /sys/bus/pci/drivers/famez_bridge/0000:*; do
	d=$b # the bridge wait_configured looks at
	slot=${b##*:}
	slot=${slot%.*}
	wait_configured
	echo "famez-guest: bridge $slot link $(cat "$b/link_state") cid $(cat "$b/cid") sid $(cat "$b/sid") pfm_cid $(cat "$b/pfm_cid") pfm_sid $(cat "$b/pfm_sid")"
done
for node in /dev/famez_bridge_*; do
	echo "famez-guest: device $node"
done
echo "famez-guest: waiting for the host"
for node in /dev/famez_bridge_*; do
	dev=$node # the device receive reads
	echo "famez-guest: ${node#/dev/famez_bridge_} got $(receive 300)"
done
