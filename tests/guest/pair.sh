# Guest test, two guests on one fabric: the first (ID 1) sends with famez-client over the bridge
# and waits for the answer; the second answers with FAME-Z's text API from the shell, addressing
# the first by CID,SID.
. /tests/lib.sh
wait_configured
echo "famez-guest: id $(cat "$d/id") link $(cat "$d/link_state") cid $(cat "$d/cid")"
if [ "$(cat "$d/id")" = 1 ]; then
	# Until the other guest is on the fabric and configured (its CID in its slot).
	other_configured() {
		awk '$1 == 2 && $4 > 0 { found = 1 } END { exit !found }' "$d/peers"
	}
	wait_until 300 other_configured
	sed 's/^/famez-guest: peer /' "$d/peers"
	famez-client -D "$dev" -e "who; ping server 60; send 2 hello from guest 1; wait-msg 1 120" >/out 2>&1
	echo "famez-guest: client exit $?"
	sed 's/^/famez-guest: client: /' /out
else
	msg=$(receive 300)
	echo "famez-guest: got $msg"
	echo "${msg%%:*}:hello from guest 2" >"$dev" && echo "famez-guest: answered ${msg%%:*}"
fi
