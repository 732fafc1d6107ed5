# Guest test: a host peer named "hostile" first rings us for a message its slot names for
# another peer (byte 111, as a ring that comes late finds one): the bridge leaves it alone and
# counts the ring spurious; we tell the host, which then takes it back. It writes garbage into
# its slot and rings us thousands of times with nothing in it; we count it, and the honest
# message that follows still gets through. The bridge acknowledges each malformed message (the
# host waits for that before the next); once the empty rings were counted we tell the host, and
# its honest message comes after.
. /tests/lib.sh
wait_configured
echo "famez-guest: ready"
hostile=$(peer_named hostile)
spurious_at_least() {
	[ "$(cat "$d/spurious")" -ge "$1" ]
}
wait_until 300 spurious_at_least 1
echo "$hostile:left alone" >"$dev"
wait_until 300 spurious_at_least 2
echo "$hostile:empty rings counted" >"$dev"
echo "famez-guest: got $(receive 120)"
echo "famez-guest: counters malformed $(cat "$d/malformed") spurious $(cat "$d/spurious") dropped $(cat "$d/dropped")"
echo "famez-guest: interrupts $(cat "$d/interrupts")"
