# Guest test, two guests on one fabric: the first (ID 1) sends with famez-client over the bridge
# and waits for the answer; the second answers with FAME-Z's text API from the shell, addressing
# the first by CID,SID.
. /tests/lib.sh
wait_configured
echo "famez-guest: id $(cat "$d/id") link $(cat "$d/link_state") cid $(cat "$d/cid")"
if [ "$(cat "$d/id")" = 1 ]; then
	# Until the other guest is on the fabric (its nodename in its slot).
	i=0
	until grep -q '^2 ' "$d/peers" || [ $i -ge 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sed 's/^/famez-guest: peer /' "$d/peers"
	famez-client -D "$dev" -e "who; ping server 10; send 2 hello from guest 1; sleep 15" >/out 2>&1
	echo "famez-guest: client exit $?"
	sed 's/^/famez-guest: client: /' /out
else
	msg=$(timeout 60 dd if="$dev" bs=512 count=1 2>/dev/null)
	echo "famez-guest: got $msg"
	echo "${msg%%:*}:hello from guest 2" >"$dev" && echo "famez-guest: answered ${msg%%:*}"
fi
