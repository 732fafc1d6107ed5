# Guest test: a host peer writes garbage into its slot and rings us thousands of times; we
# count it, and the honest message that follows still gets through.
d=$(echo /sys/bus/pci/drivers/famez_bridge/0000:* | cut -d' ' -f1)
dev=$(echo /dev/famez_bridge_* | cut -d' ' -f1)
i=0
while [ "$(cat "$d/link_state")" != configured ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "famez-guest: ready"
echo "famez-guest: got $(timeout 90 dd if="$dev" bs=512 count=1 2>/dev/null)"
echo "famez-guest: counters malformed $(cat "$d/malformed") spurious $(cat "$d/spurious") dropped $(cat "$d/dropped")"
echo "famez-guest: interrupts $(cat "$d/interrupts")"
