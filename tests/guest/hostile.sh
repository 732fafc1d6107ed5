# Guest test: a host peer named "hostile" writes garbage into its slot and rings us thousands of
# times with nothing in it; we count it, and the honest message that follows still gets through.
# The bridge acknowledges each malformed message (the host waits for that before the next); once
# the empty rings were counted we tell the host, and its honest message comes after.
. /tests/lib.sh
wait_configured
echo "famez-guest: ready"
hostile=$(peer_named hostile)
some_spurious() {
	[ "$(cat "$d/spurious")" -ge 1 ]
}
wait_until 300 some_spurious
echo "$hostile:empty rings counted" >"$dev"
echo "famez-guest: got $(receive 120)"
echo "famez-guest: counters malformed $(cat "$d/malformed") spurious $(cat "$d/spurious") dropped $(cat "$d/dropped")"
echo "famez-guest: interrupts $(cat "$d/interrupts")"
