# Guest test, the fabric manager inside a guest: two switches a - b, both waiting for an external
# manager; this guest is on a, another guest on a and one on b are up before it boots. famez-fm,
# through this guest's bridge, discovers and configures all of it; then this guest tells the
# other one on a (by the CID,SID famez-fm gave it, along the routes it wrote) the CID,SID of the
# one on b, and those two talk.
. /tests/lib.sh
wait_until 120 grep -q '^up$' "$d/link_state"
echo "famez-guest: manager up"
out=$(famez-fm --device "$dev" --cids 100-199 --sid 28 --time 2>&1)
rc=$?
echo "$out" | sed 's/^/famez-guest: fm: /'
echo "famez-guest: fm exit $rc"
echo "famez-guest: manager link $(cat "$d/link_state") cid $(cat "$d/cid") sid $(cat "$d/sid")"
# The two other bridges: one port from our switch, and two (behind the link).
near=$(echo "$out" | sed -n 's/^component dr:[0-9]* Bridge \([0-9]*,[0-9]*\) .*/\1/p')
far=$(echo "$out" | sed -n 's/^component dr:[0-9]*\.[0-9]* Bridge \([0-9]*,[0-9]*\) .*/\1/p')
echo "famez-guest: near $near far $far"
echo "$near:go $far" >"$dev" && echo "famez-guest: told $near"
