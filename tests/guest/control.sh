# Guest test: the bridge as a Gen-Z component, on a switch whose fabric an external manager
# configures (famezd --managed-by=external). Its control space in sysfs; directed messages with
# FAME-Z's text API: a control read of itself (answered back along the way it came) and of the
# switch; then, once the host (a manager) gave it its IDs with control writes, what they
# changed, a routed write its SSDT refuses here and one it lets through (the switch has no route
# either), and a directed write the switch refuses once our own directed write disabled the
# relay from our port.
. /tests/lib.sh
c=$d/control
core=$c/core@0x0
iface=$c/interface0@0x1000
# Byte $2 (a decimal offset) of file $1, as two hex digits.
byte() {
	od -A n -t x1 -j "$2" -N 1 "$1" | tr -d ' '
}
id=$(cat "$d/id")
wait_until 120 grep -q '^up$' "$d/link_state"
echo "famez-guest: core size $(stat -c %s "$core") read $(wc -c <"$core") type $(byte "$core" 0)$(byte "$core" 1) cclass $(byte "$core" 24) maxinterface $(byte "$core" 26) cstate $(byte "$core" 8)"
echo "famez-guest: files $(ls "$c" | tr '\n' ' ')"
echo "famez-guest: tables $(wc -c <"$c/ssdt@0x40000") $(wc -c <"$c/msdt@0x80000") cdt $(wc -c <"$c/component_destination_table@0x400")"
# Its switch answered our Peer-Attribute (with no IDs: nobody configured it).
wait_until 60 test "$(byte "$iface" 60)" != 00
echo "famez-guest: interface istate $(byte "$iface" 8) peer class $(byte "$iface" 54) port $(byte "$iface" 52) cstate $(byte "$iface" 60)"

echo "dr:$id:CTL-Read Offset=0x18,Length=4,Tag=11" >"$dev" && echo "famez-guest: directed to itself: $(receive 60)"
echo "dr::CTL-Read Offset=0x0,Length=8,Tag=12" >"$dev" && echo "famez-guest: directed to the switch: $(receive 60)"

echo "famez-guest: waiting for the host"
wait_until 300 grep -q '^28$' "$d/sid"
# The host's last request (its eighth, our own was the first) is answered.
wait_until 120 test "$(cat "$d/control_requests")" -ge 9
echo "famez-guest: configured link $(cat "$d/link_state") cid $(cat "$d/cid") sid $(cat "$d/sid") cstate $(byte "$core" 8) maxinterface $(byte "$core" 26)"
echo "famez-guest: ssdt 1 $(od -A n -t x1 -j 4 -N 4 "$c/ssdt@0x40000" | tr -d ' ') 2000 $(od -A n -t x1 -j 8000 -N 4 "$c/ssdt@0x40000" | tr -d ' ')"

# The manager wrote one SSDT entry, for CID 2000: nowhere else to route to in our subnet.
if err=$( { echo "2001,28:nowhere" >"$dev"; } 2>&1); then
	echo "famez-guest: unrouted write went through"
else
	echo "famez-guest: unrouted write refused: $err"
fi
if err=$( { echo "2000,28:somewhere" >"$dev"; } 2>&1); then
	echo "famez-guest: routed write went through"
else
	echo "famez-guest: routed write refused by the switch: $err"
fi
# IngressDREnb of the switch's interface $id (our port): bit 51 of its word at +0x8.
off=$(printf '0x%x' $((0x100e + id * 0x200)))
echo "dr::CTL-Write Offset=$off,Data=00,Tag=13" >"$dev" && echo "famez-guest: relay off: $(receive 60)"
if err=$( { echo "dr::ping" >"$dev"; } 2>&1); then
	echo "famez-guest: directed write went through"
else
	echo "famez-guest: directed write refused: $err"
fi
echo "famez-guest: counters control_requests $(cat "$d/control_requests") control_refused $(cat "$d/control_refused") directed $(cat "$d/directed") directed_received $(cat "$d/directed_received") route_missing $(cat "$d/route_missing") route_refused $(cat "$d/route_refused") malformed $(cat "$d/malformed")"
