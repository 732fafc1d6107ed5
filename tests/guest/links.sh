# Guest test, two guests on linked switches (a - b - c): the one on a (SID 28) writes to the one
# on c (SID 29) by CID,SID, through the switches, and waits for the answer; the one on c answers
# whoever wrote, as read() names it. Both with FAME-Z's text API from the shell.
. /tests/lib.sh
wait_configured
sid=$(cat "$d/sid")
echo "famez-guest: link $(cat "$d/link_state") cid $(cat "$d/cid") sid $sid"
if [ "$sid" = 28 ]; then
	# No switch has SID 99: the write fails, and says why.
	if echo "100,99:nowhere" 2>/tmp/err >"$dev"; then
		echo "famez-guest: unroutable write went through"
	else
		echo "famez-guest: unroutable write refused: $(cat /tmp/err)"
	fi
	# Until the other guest is configured: its CID is unreachable before.
	send_to_c() { echo "100,29:hello across the fabric" 2>/dev/null >"$dev"; }
	wait_until 300 send_to_c && echo "famez-guest: sent across"
	echo "famez-guest: got $(receive 120)"
else
	msg=$(receive 300)
	echo "famez-guest: got $msg"
	echo "${msg%%:*}:hello back" >"$dev" && echo "famez-guest: answered ${msg%%:*}"
fi
echo "famez-guest: counters routed $(cat "$d/routed") route_refused $(cat "$d/route_refused") routed_received $(cat "$d/routed_received")"
