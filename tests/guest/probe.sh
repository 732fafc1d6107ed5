# Guest test: what the bridges found at probe. A fabric bridge then stays up until the host's
# message (at most 300 s), for the host to look at it from outside.
. /tests/lib.sh
for b in /sys/bus/pci/drivers/famez_bridge/0000:*; do
	echo "famez-guest: id $(cat "$b/id") server_id $(cat "$b/server_id") vectors $(cat "$b/vectors") fabric $(cat "$b/fabric")"
done
for node in /dev/famez_bridge_*; do
	echo "famez-guest: device $node"
done
[ "$(cat "$d/vectors")" = 0 ] && exit 0
echo "famez-guest: probed"
echo "famez-guest: got $(receive 300)"
