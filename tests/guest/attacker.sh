# Guest test: the bridge against what a local user or a hostile peer may try (what a review of
# the driver as an attacker found): who may open it and rename it, names that are not ASCII, a
# zero-length read(), fabric=1 and a bad nodename=, writers waiting on a busy slot while the
# device goes, and mmap() offsets and a mapping that outlives the device.
. /tests/lib.sh
pci=$(basename "$d")
wait_configured
echo "famez-guest: ready"

# Only root opens the device or renames the bridge; anyone reads what it shows (that one is
# allowed shows that the refusals are the bridge's, not su's).
mkdir -p /etc
echo 'root:x:0:0::/:/bin/sh' >/etc/passwd
echo 'nobody:x:65534:65534::/:/bin/sh' >>/etc/passwd
as_nobody() {
	su nobody -s /bin/sh -c "$1" >/dev/null 2>&1 && echo allowed || echo refused
}
echo "famez-guest: device mode $(stat -c %a "$dev")"
echo "famez-guest: nobody opens the device: $(as_nobody "cat $dev </dev/null")"
echo "famez-guest: nobody renames the bridge: $(as_nobody "echo x >$d/nodename")"
echo "famez-guest: nobody reads the peers: $(as_nobody "cat $d/peers")"
printf 'caf\303\251' >"$d/nodename" 2>/dev/null && r=accepted || r=refused
echo "famez-guest: a nodename that is not ASCII is $r"

# The host peer "hostile" (ID 2) renames itself with bytes that are not ASCII, then writes us.
/bin/bridge-check read-zero "$dev"
echo "famez-guest: peer 2 is $(awk '$1 == 2 { print $2 }' "$d/peers")"
echo "2:checked" >"$dev"

# fabric=1 finds the mailbox too; a nodename= that is not a name is not taken.
rmmod famez_bridge
insmod /famez_bridge.ko fabric=1 nodename=bad:name
d=/sys/bus/pci/drivers/famez_bridge/$pci
dev=$(echo /dev/famez_bridge_* | cut -d' ' -f1)
wait_configured
echo "famez-guest: fabric=1 gives fabric $(cat "$d/fabric") nodename $(cat "$d/nodename")"

# Our own slot looks busy (length 5, never acknowledged): three writers wait for it; the
# device goes, and they must not hold that up.
famez-client -D "$dev" -e "write $(($(cat "$d/id") * 512 + 64)) 5" >/dev/null 2>&1
for i in 1 2 3; do
	(echo "server:waiting $i" >"$dev" 2>/dev/null; echo "famez-guest: writer $i returned $?") &
done
# Writers blocked in write(2) on the device: /proc/PID/syscall starts with 1 (write) and the fd.
writers_waiting() {
	n=0
	for s in /proc/[0-9]*/syscall; do
		read -r nr fd rest <"$s" 2>/dev/null || continue
		[ "$nr" = 1 ] && [ "$(readlink "${s%/syscall}/fd/$((fd))")" = "$dev" ] && n=$((n + 1))
	done
	[ $n -ge 3 ]
}
wait_until 60 writers_waiting && echo "famez-guest: 3 writers wait"
# Centiseconds from /proc/uptime: a fast unbind that crosses a second boundary is still fast.
centis() { read -r up _ </proc/uptime; up=${up%.*}${up#*.}; echo "${up#0}"; }
start=$(centis)
echo "$pci" >/sys/bus/pci/drivers/famez_bridge/unbind
took=$(($(centis) - start))
# A writer that waited would hold the unbind up for its 5 s.
if [ $took -lt 200 ]; then
	echo "famez-guest: unbind with 3 writers waiting took under 2 s"
else
	echo "famez-guest: unbind with 3 writers waiting took $took cs"
fi
wait

# mmap(): offsets, private mappings, past the end; the device goes under a live mapping.
echo "$pci" >/sys/bus/pci/drivers/famez_bridge/bind
dev=$(echo /dev/famez_bridge_* | cut -d' ' -f1)
/bin/bridge-check mmap "$dev" "$pci"
