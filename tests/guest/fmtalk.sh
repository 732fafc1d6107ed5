# Guest test, a guest a fabric manager inside another guest configures (fm.sh): up and waiting in
# C-CFG, then configured by it (its CID and SID in sysfs), then told by it whom to talk to, or
# talked to: it answers whoever wrote.
. /tests/lib.sh
wait_until 120 grep -q '^up$' "$d/link_state"
echo "famez-guest: ready"
wait_until 600 is_configured
echo "famez-guest: configured cid $(cat "$d/cid") sid $(cat "$d/sid")"
msg=$(receive 300)
echo "famez-guest: got $msg"
case "${msg#*:}" in
"go "*)
	to=${msg#*:go }
	echo "$to:hello across" >"$dev" && echo "famez-guest: sent to $to"
	echo "famez-guest: got $(receive 120)"
	;;
*)
	echo "${msg%%:*}:hello back" >"$dev" && echo "famez-guest: answered ${msg%%:*}"
	;;
esac
echo "famez-guest: counters routed $(cat "$d/routed") routed_received $(cat "$d/routed_received") route_missing $(cat "$d/route_missing")"
