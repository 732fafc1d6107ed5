# Guest test: a host peer named "ringer" rings every vector of ours. Only the vector that is its
# own ID may land (authenticated doorbells); the message it sends last is the barrier after which
# every ring it sent has been counted.
. /tests/lib.sh
echo "famez-guest: id $(cat "$d/id") server_id $(cat "$d/server_id") vectors $(cat "$d/vectors") fabric $(cat "$d/fabric")"
echo "famez-guest: device $dev"
echo "famez-guest: waiting for the ringer"
ringer=$(peer_named ringer)
echo "famez-guest: ringer $ringer"
# Field N+1 of the interrupts attribute counts vector N.
ringer_rang() {
	[ "$(cut -d' ' -f$((ringer + 1)) "$d/interrupts")" -ge 1 ]
}
wait_until 120 ringer_rang
echo "famez-guest: ringer's vector counted $(cat "$d/interrupts")"
echo "$ringer:rings counted" >"$dev"
echo "famez-guest: got $(receive 120)"
echo "famez-guest: interrupts $(cat "$d/interrupts")"
