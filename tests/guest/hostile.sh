# Guest test: a host peer writes garbage into its slot and rings us thousands of times; we
# count it, and the honest message that follows still gets through.
. /tests/lib.sh
wait_configured
echo "famez-guest: ready"
echo "famez-guest: got $(timeout 90 dd if="$dev" bs=512 count=1 2>/dev/null)"
echo "famez-guest: counters malformed $(cat "$d/malformed") spurious $(cat "$d/spurious") dropped $(cat "$d/dropped")"
echo "famez-guest: interrupts $(cat "$d/interrupts")"
