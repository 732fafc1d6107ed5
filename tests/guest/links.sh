# Guest test, two guests on linked switches (a - b - c): once the host says go, the one on a (SID
# 28) writes to the one on c (SID 29) by CID,SID, through the switches, and waits for the answer;
# the one on c answers whoever wrote, as read() names it. Both with FAME-Z's text API from the
# shell.
. /tests/lib.sh
wait_configured
sid=$(cat "$d/sid")
echo "famez-guest: link $(cat "$d/link_state") cid $(cat "$d/cid") sid $sid"
if [ "$sid" = 28 ]; then
	echo "famez-guest: waiting for the host"
	echo "famez-guest: host said $(receive 300)"
	# No switch has SID 99: the write fails, and says why.
	if err=$( { echo "100,99:nowhere" >"$dev"; } 2>&1); then
		echo "famez-guest: unroutable write went through"
	else
		echo "famez-guest: unroutable write refused: $err"
	fi
	echo "100,29:hello across the fabric" >"$dev" && echo "famez-guest: sent across"
	echo "famez-guest: got $(receive 120)"
else
	msg=$(receive 300)
	echo "famez-guest: got $msg"
	echo "${msg%%:*}:hello back" >"$dev" && echo "famez-guest: answered ${msg%%:*}"
fi
echo "famez-guest: counters routed $(cat "$d/routed") route_refused $(cat "$d/route_refused") routed_received $(cat "$d/routed_received")"
