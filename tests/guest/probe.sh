# Guest test: what the bridge found at probe, then the interrupts the host rings.
for d in /sys/bus/pci/drivers/famez_bridge/0000:*; do
	echo "famez-guest: id $(cat "$d/id") server_id $(cat "$d/server_id") vectors $(cat "$d/vectors") fabric $(cat "$d/fabric")"
done
for dev in /dev/famez_bridge_*; do
	echo "famez-guest: device $dev"
done
d=$(echo /sys/bus/pci/drivers/famez_bridge/0000:* | cut -d' ' -f1)
[ "$(cat "$d/vectors")" = 0 ] && exit 0
echo "famez-guest: interrupts before $(cat "$d/interrupts")"
# At most 60 s for the host to ring us.
i=0
while [ $i -lt 600 ]; do
	case " $(cat "$d/interrupts") " in *" "[1-9]*) break ;; esac
	sleep 0.1
	i=$((i + 1))
done
echo "famez-guest: interrupts $(cat "$d/interrupts")"
