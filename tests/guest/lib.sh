# Guest-side helpers for the test scripts (sourced): the first bridge's sysfs folder ($d) and
# device ($dev), and a wait for the server's configuration.
d=$(echo /sys/bus/pci/drivers/famez_bridge/0000:* | cut -d' ' -f1)
dev=$(echo /dev/famez_bridge_* | cut -d' ' -f1)

# Waits (at most 60 s) until the bridge is configured.
wait_configured() {
	i=0
	while [ "$(cat "$d/link_state" 2>/dev/null)" != configured ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
